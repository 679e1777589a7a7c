"""The assessment page of a session: measurements, care check, history, decision, signature.

Plain forms (boosted by htmx as everywhere else): each form posts, the service
records and computes, and the page comes back with z-scores, flags and the
decision panel. A refused form renders again with the message next to the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from exoneb.accounts.permissions import Action
from exoneb.assessment import service
from exoneb.assessment.schemas import (
    AmendIn,
    CareIn,
    HistoryIn,
    OverrideIn,
    ScalesIn,
    SignIn,
    SpirometryIn,
    Versioned,
    VitalsIn,
)
from exoneb.assessment.spirometry_terms import Ethnicity
from exoneb.core.context import Ctx
from exoneb.core.errors import InvalidInput
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import act_in_action, parse, submit
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)

OUTCOME_LABELS = {
    "cleared": "Cleared",
    "ineligible": "Not eligible",
    "needs_review": "Needs review",
}


def _page(
    request: Request,
    auth: Auth,
    session_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.action() as ctx:
        data = service.page(ctx=ctx, settings=auth.state.settings, session_id=session_id)
    context: dict[str, Any] = {
        "p": data, "a": data.assessment, "errors": dict(errors or {}),
        "values": dict(values or {}), "outcomes": OUTCOME_LABELS,
        "may_record": auth.can(Action.ASSESSMENT_RECORD),
        "may_sign": auth.can(Action.ASSESSMENT_SIGN),
        "may_override": auth.can(Action.ASSESSMENT_OVERRIDE),
        "may_amend": auth.can(Action.ASSESSMENT_AMEND),
        "manoeuvre_rows": MANOEUVRE_ROWS,
        "ethnicities": [(e.value, e.value.replace("-", " ").capitalize()) for e in Ethnicity],
    }  # fmt: skip
    return render(request, "assessment/page.html", context, auth=auth, status_code=status_code)


@router.get("/sessions/{session_id}/assessment")
def show(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The assessment page."""
    return _page(request, auth, session_id)


def _act(
    request: Request,
    auth: Auth,
    session_id: int,
    form: Mapping[str, str],
    run: Callable[[Ctx], object],
) -> Response:
    return act_in_action(
        auth.action,
        run,
        done_url=f"/sessions/{session_id}/assessment",
        again=lambda errors, status: _page(request, auth, session_id, errors, form, status),
    )


def _submit(
    request: Request,
    auth: Auth,
    session_id: int,
    form: Mapping[str, str],
    model: type[M],
    data: Mapping[str, Any],
    run: Callable[[Ctx, M], object],
) -> Response:
    return submit(
        model,
        data,
        auth.action,
        run,
        done_url=f"/sessions/{session_id}/assessment",
        again=lambda errors, status: _page(request, auth, session_id, errors, form, status),
    )


@router.post("/sessions/{session_id}/assessment/start")
def start(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Start the draft assessment."""
    return _act(
        request, auth, session_id, form, lambda ctx: service.start(ctx=ctx, session_id=session_id)
    )


MANOEUVRE_ROWS = 8
"""ATS/ERS 2019 allows up to eight manoeuvres per test; the form offers that many rows."""
_MANOEUVRE_FLAGS = ("fev1_acceptable", "fvc_acceptable", "fev1_usable", "fvc_usable")


def _spirometry_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The spirometry form as :class:`SpirometryIn` data.

    Manoeuvre rows are named ``manoeuvres.<i>.<field>`` so a validation error's
    location (``manoeuvres.0.fev1_l``) is the name of the input it belongs to.
    A row counts only when a volume was typed in it; its unticked checkboxes are
    an explicit "no" (browsers send nothing for them), never a missing value.
    """
    data: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("manoeuvres.")}
    rows: list[dict[str, Any]] = []
    for i in range(MANOEUVRE_ROWS):
        prefix = f"manoeuvres.{i}."
        fev1, fvc = form.get(prefix + "fev1_l", ""), form.get(prefix + "fvc_l", "")
        if not (fev1 or fvc):
            continue
        row: dict[str, Any] = {"fev1_l": fev1 or None, "fvc_l": fvc or None}
        row.update({flag: form.get(prefix + flag) == "on" for flag in _MANOEUVRE_FLAGS})
        rows.append(row)
    data["manoeuvres"] = rows or None
    return data


@router.post("/sessions/{session_id}/assessment/spirometry")
def spirometry(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record a spirometry test; the page shows its z-scores, interpretation and quality grade."""
    return _submit(
        request, auth, session_id, form, SpirometryIn, _spirometry_data(form),
        lambda ctx, d: service.record_spirometry(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/assessment/spirometry/preview")
def spirometry_preview(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Scores and interpretation as the values are typed (htmx); nothing is stored."""
    data, errors = parse(SpirometryIn, _spirometry_data(form))
    preview = None
    if data is not None:
        try:
            with auth.action() as ctx:
                preview = service.preview_spirometry(ctx=ctx, session_id=session_id, data=data)
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
    context = {"preview": preview, "errors": errors}
    return render(request, "assessment/preview.html", context, auth=auth)


@router.post("/sessions/{session_id}/assessment/vitals")
def vitals(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record the vital signs; the page shows their flags."""
    return _submit(
        request, auth, session_id, form, VitalsIn, form,
        lambda ctx, d: service.record_vitals(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/assessment/scales")
def scales(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record the CAT items (by domain), the mMRC grade and the six-minute walk."""
    items = {k[4:]: v for k, v in form.items() if k.startswith("cat_") and v != ""}
    walk = {k[5:]: v for k, v in form.items() if k.startswith("walk.") and v != ""}
    data: dict[str, Any] = {
        "version": form.get("version", ""),
        "mmrc_grade": form.get("mmrc_grade", ""),
        "cat_items": items or None,
        # the walk counts once anything of it was typed; its distance is then required
        "walk": walk or None,
    }
    return _submit(
        request, auth, session_id, form, ScalesIn, data,
        lambda ctx, d: service.record_scales(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.post("/sessions/{session_id}/assessment/care")
def care(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record whether each prescribed medicine is taken as prescribed."""
    ids = sorted({int(k[6:]) for k in form if k.startswith("taken_") and k[6:].isdigit()})
    answers = [
        {
            "care_id": i,
            "taken_as_prescribed": _yes_no(form.get(f"taken_{i}")),
            "stopped_for_this_therapy": form.get(f"stopped_{i}") == "on",
            "last_changed_on": form.get(f"changed_{i}") or None,
        }
        for i in ids
    ]
    data = {
        "version": form.get("version", ""),
        "none_prescribed": form.get("none_prescribed") == "on",
        "answers": answers,
    }
    return _submit(
        request, auth, session_id, form, CareIn, data,
        lambda ctx, d: service.record_care(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


def _answer(kind: str, text: str) -> Any:
    if text == "":
        return None
    if kind == "boolean":
        return _yes_no(text)
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text


@router.post("/sessions/{session_id}/assessment/history")
def history(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record the answers to the history questions (a blank answer is "unknown")."""
    kinds = {k[2:]: v for k, v in form.items() if k.startswith("t_")}
    answers = {name: _answer(kind, form.get(f"h_{name}", "")) for name, kind in kinds.items()}
    data = {"version": form.get("version", ""), "answers": answers}
    return _submit(
        request, auth, session_id, form, HistoryIn, data,
        lambda ctx, d: service.record_history(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/assessment/decision")
def decide(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Compute the eligibility decision."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, Versioned, form,
        lambda ctx, d: service.decide(ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/assessment/override")
def override(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Override the computed outcome (physician; reason required)."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, OverrideIn, form,
        lambda ctx, d: service.override(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/assessment/sign")
def sign(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Sign the decision (physician; password re-entered)."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, {k: v for k, v in form.items() if k != "password"}, SignIn,
        form, lambda ctx, d: service.sign(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/assessment/amend")
def amend(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Amend a signed assessment (physician; reason required)."""
    return _submit(
        request, auth, session_id, form, AmendIn, form,
        lambda ctx, d: service.amend(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip
