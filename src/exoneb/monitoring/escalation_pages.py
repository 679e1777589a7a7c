"""Pages of dose escalation: the protocols that escalate, and one protocol's escalation page.

The page shows, per dose level, the cohort (subjects enrolled, treated,
evaluable for DLT; each subject's DLT with a link to the adverse event that
made it one), the cohort pauses with who placed them and when, the 3+3
recommendation with its reason and source, the signed decisions so far and the
levels they leave open for enrolment. Each DLT candidate shows its adverse
event and its review; physicians review it (a DLT or not) and record the next
decision with their e-signature; everyone else sees why the forms are not
offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from exoneb.accounts.permissions import Action
from exoneb.monitoring import escalation_service as service
from exoneb.monitoring.escalation_decisions import DECISION_LABELS
from exoneb.monitoring.escalation_dlt import VERDICT_LABELS
from exoneb.monitoring.escalation_schemas import DltReviewIn, EscalationDecisionIn
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import submit
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


def _url(protocol_id: str) -> str:
    return f"/protocols/{protocol_id}/escalation"


@router.get("/escalation")
def index(request: Request, auth: AuthDep) -> Response:
    """The protocols with a dose escalation, each linking to its page."""
    with auth.action() as ctx:
        protocols = service.escalation_protocols(ctx=ctx, settings=auth.state.settings)
    rows = [{"id": p.id, "title": p.title, "version": p.version} for p in protocols]
    return render(request, "monitoring/escalation_index.html", {"protocols": rows}, auth=auth)


def _page(
    request: Request, auth: Auth, protocol_id: str,
    errors: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    with auth.action() as ctx:
        e = service.escalation(ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id)
        data = service.view(ctx, e)
    context: dict[str, Any] = {
        "e": data, "title": e.protocol.title, "errors": dict(errors or {}),
        "values": dict(values or {}), "may_decide": auth.can(Action.ESCALATION_DECIDE),
        "level_options": [(c, c) for c in data["open_levels"]],
        "decision_options": [(d.value, label) for d, label in DECISION_LABELS.items()],
        "mtd_options": [(lv["arm_code"], f'{lv["arm_code"]}: {lv["label"]}')
                        for lv in data["levels"]],
        "verdict_options": [(v.value, label) for v, label in VERDICT_LABELS.items()],
        "verdict_labels": {v.value: label for v, label in VERDICT_LABELS.items()},
    }  # fmt: skip
    return render(request, "monitoring/escalation.html", context, auth=auth,
                  status_code=status_code)  # fmt: skip


@router.get("/protocols/{protocol_id}/escalation")
def show(request: Request, protocol_id: str, auth: AuthDep) -> Response:
    """The dose-escalation page of a protocol."""
    return _page(request, auth, protocol_id)


@router.post("/protocols/{protocol_id}/escalation/decisions")
def decide(request: Request, protocol_id: str, auth: AuthDep, form: FormDep) -> Response:
    """Record and sign the decision at the open level (physicians)."""
    values = {k: v for k, v in form.items() if k != "password"}
    return submit(
        EscalationDecisionIn, form, auth.action,
        lambda ctx, data: service.decide(
            ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id, data=data),
        done_url=_url(protocol_id) + "#decisions",
        again=lambda errs, code: _page(request, auth, protocol_id, errs, values, code),
    )  # fmt: skip


@router.post("/protocols/{protocol_id}/escalation/dlt-reviews")
def review_dlt(request: Request, protocol_id: str, auth: AuthDep, form: FormDep) -> Response:
    """Record and sign the review of a DLT candidate (physicians)."""
    values = {k: v for k, v in form.items() if k != "password"}
    return submit(
        DltReviewIn, form, auth.action,
        lambda ctx, data: service.review_dlt(
            ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id, data=data),
        done_url=_url(protocol_id) + f"#candidate-{values.get('hold_id', '')}",
        again=lambda errs, code: _page(request, auth, protocol_id, errs, values, code),
    )  # fmt: skip
