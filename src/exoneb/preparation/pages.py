"""Pages for step 2: the lot register, a lot, its recall list, and a session's dose preparation.

Plain forms (boosted by htmx as everywhere else): each form posts, the
service acts, and the page comes back. A refused form renders the page again
with the rule's sentence at the top (role=alert) and next to the field when
the refusal names one. Buttons are shown only to roles that may use them; the
service checks again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from exoneb.accounts.permissions import Action
from exoneb.core.context import Ctx
from exoneb.preparation import service
from exoneb.preparation.label import label_pdf, qr_payload, qr_svg
from exoneb.preparation.schemas import (
    DiscardPreparationIn,
    ExcursionIn,
    LotReceiveIn,
    PlaceboPrepareIn,
    PlanIn,
    PrepareIn,
    ProductLotIn,
    ProductPlanIn,
    ProductPrepareIn,
    ProductReleaseIn,
    Reasoned,
    RejectIn,
    ReleaseIn,
    SalineLotIn,
    ThawIn,
    VerifyIn,
    Versioned,
)
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import act_in_action, submit
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)
Renderer = Callable[[dict[str, str], dict[str, str], int], Response]

MARKERS = ("CD9", "CD63", "CD81", "TSG101", "calnexin")
SECRET_FIELDS = frozenset({"password", "csrf_token"})


def _utc(form: Mapping[str, str], *names: str) -> dict[str, str]:
    """Times typed in a datetime-local field are UTC (the label says so): mark them as such."""
    data = dict(form)
    for name in names:
        value = data.get(name, "")
        if value and not value.endswith("Z") and "+" not in value[10:]:
            data[name] = value + "+00:00"
    return data


def _keep(form: Mapping[str, str]) -> dict[str, str]:
    """The values to show again in a refused form (never the password)."""
    return {k: v for k, v in form.items() if k not in SECRET_FIELDS}


def _act(
    form: Mapping[str, str],
    auth: Auth,
    redirect: str,
    again: Renderer,
    run: Callable[[Ctx], object],
) -> Response:
    return act_in_action(
        auth.action, run, done_url=redirect,
        again=lambda errors, code: again(errors, _keep(form), code),
    )  # fmt: skip


def _submit(
    form: Mapping[str, str],
    data: Mapping[str, Any],
    model: type[M],
    auth: Auth,
    redirect: str,
    again: Renderer,
    run: Callable[[Ctx, M], object],
) -> Response:
    return submit(
        model, data, auth.action, run, done_url=redirect,
        again=lambda errors, code: again(errors, _keep(form), code),
    )  # fmt: skip


# --- the lot register ------------------------------------------------------------------------


def _register(
    request: Request,
    auth: Auth,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.action() as ctx:
        now = ctx.clock.now()
        lots = [service.lot_view(lot, now=now) for lot in service.lots(ctx=ctx)]
        fefo = [lot.id for lot, _ in service.fefo(ctx=ctx)]
    context = {
        "lots": lots, "fefo": fefo, "errors": dict(errors or {}), "values": dict(values or {}),
        "markers": MARKERS, "may_receive": auth.can(Action.LOT_RECEIVE),
        "may_inventory": auth.can(Action.INVENTORY_RECORD),
        "protocols": service.protocol_ids(auth.state.settings),
    }  # fmt: skip
    return render(request, "preparation/lots.html", context, auth=auth, status_code=status_code)


@router.get("/lots")
def register(request: Request, auth: AuthDep) -> Response:
    """The lot register: first expiry first, with expiry and status."""
    return _register(request, auth)


def _register_again(request: Request, auth: Auth) -> Renderer:
    return lambda errors, values, code: _register(request, auth, errors, values, code)


@router.post("/lots")
def receive(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Receive an exosome lot with its certificate of analysis."""
    data: dict[str, Any] = {
        k: v for k, v in _utc(form, "expires_at").items() if not k.startswith("marker_")
    }
    data["markers"] = {
        m: form[f"marker_{m}"] == "positive" for m in MARKERS if form.get(f"marker_{m}")
    }
    settings = auth.state.settings
    return _submit(
        form, data, LotReceiveIn, auth, "/lots", _register_again(request, auth),
        lambda ctx, d: service.receive_lot(ctx=ctx, settings=settings, data=d),
    )  # fmt: skip


@router.post("/lots/saline")
def receive_saline(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Record a saline (diluent) lot."""
    return _submit(
        form, _utc(form, "expires_at"), SalineLotIn, auth, "/lots", _register_again(request, auth),
        lambda ctx, d: service.receive_saline_lot(ctx=ctx, data=d),
    )  # fmt: skip


@router.post("/lots/product")
def receive_product(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Receive a drug (solution or inhaler) or cell-product lot by its label."""
    settings = auth.state.settings
    data = {k: v for k, v in _utc(form, "expires_at").items() if k != "form"}
    return _submit(
        form, data, ProductLotIn, auth, "/lots", _register_again(request, auth),
        lambda ctx, d: service.receive_product_lot(ctx=ctx, settings=settings, data=d),
    )  # fmt: skip


@router.post("/lots/thaw")
def thaw_next(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Thaw the next vial (first expiry first, or of the lot named)."""
    settings = auth.state.settings
    back = form.get("back") or "/lots"
    if not back.startswith("/"):
        back = "/lots"
    return _submit(
        form, {k: v for k, v in form.items() if k != "back"}, ThawIn, auth, back,
        _register_again(request, auth),
        lambda ctx, d: service.thaw_vial(ctx=ctx, settings=settings, data=d),
    )  # fmt: skip


# --- one lot ---------------------------------------------------------------------------------


def _lot_page(
    request: Request,
    auth: Auth,
    lot_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.action() as ctx:
        detail = service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)
    context = {
        "d": detail, "lot": detail["lot"], "errors": dict(errors or {}),
        "values": dict(values or {}),
        "may_release": auth.can(Action.LOT_RELEASE), "may_recall": auth.can(Action.LOT_RECALL),
        "may_inventory": auth.can(Action.INVENTORY_RECORD),
    }  # fmt: skip
    return render(request, "preparation/lot.html", context, auth=auth, status_code=status_code)


def _lot_again(request: Request, auth: Auth, lot_id: int) -> Renderer:
    return lambda errors, values, code: _lot_page(request, auth, lot_id, errors, values, code)


@router.get("/lots/{lot_id}")
def lot(request: Request, lot_id: int, auth: AuthDep) -> Response:
    """A lot: certificate, release checklist, decisions, vials, balance, movements."""
    return _lot_page(request, auth, lot_id)


@router.post("/lots/{lot_id}/release")
def release(request: Request, lot_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Release the lot (e-signature)."""
    settings = auth.state.settings
    return _submit(
        form, form, ReleaseIn, auth, f"/lots/{lot_id}", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.release_lot(ctx=ctx, settings=settings, lot_id=lot_id, data=d),
    )  # fmt: skip


LABEL_CHECKS = ("batch_matches", "expiry_matches", "identity_matches")


@router.post("/lots/{lot_id}/release/label")
def release_product(request: Request, lot_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Release a drug or cell lot against its label (three confirmations, e-signature).

    A box left unticked is sent as "not confirmed", so the refusal lists the
    checklist rather than a bare "required".
    """
    settings = auth.state.settings
    data = dict(form) | {k: "true" if form.get(k) else "false" for k in LABEL_CHECKS}
    return _submit(
        form, data, ProductReleaseIn, auth, f"/lots/{lot_id}", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.release_product_lot(
            ctx=ctx, settings=settings, lot_id=lot_id, data=d),
    )  # fmt: skip


@router.post("/lots/{lot_id}/reject")
def reject(request: Request, lot_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Reject the lot with a reason (e-signature)."""
    settings = auth.state.settings
    return _submit(
        form, form, RejectIn, auth, f"/lots/{lot_id}", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.reject_lot(ctx=ctx, settings=settings, lot_id=lot_id, data=d),
    )  # fmt: skip


@router.post("/lots/{lot_id}/quarantine")
def quarantine(request: Request, lot_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Hold the lot in quarantine with a reason."""
    return _submit(
        form, form, Reasoned, auth, f"/lots/{lot_id}", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.quarantine_lot(ctx=ctx, lot_id=lot_id, data=d),
    )  # fmt: skip


@router.post("/lots/{lot_id}/recall")
def recall(request: Request, lot_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Recall the lot; the recall list opens at once."""
    return _submit(
        form, form, Reasoned, auth, f"/lots/{lot_id}/recall", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.recall_lot(ctx=ctx, lot_id=lot_id, data=d),
    )  # fmt: skip


@router.post("/lots/{lot_id}/storage")
def storage(request: Request, lot_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record a storage-temperature reading."""
    return _submit(
        form, _utc(form, "recorded_at"), ExcursionIn, auth, f"/lots/{lot_id}",
        _lot_again(request, auth, lot_id),
        lambda ctx, d: service.record_storage(ctx=ctx, lot_id=lot_id, data=d),
    )  # fmt: skip


@router.post("/lots/{lot_id}/vials/{vial_id}/discard")
def discard_vial(
    request: Request, lot_id: int, vial_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Discard a vial with a reason."""
    return _submit(
        form, form, Reasoned, auth, f"/lots/{lot_id}", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.discard_vial(ctx=ctx, vial_id=vial_id, data=d),
    )  # fmt: skip


@router.post("/lots/{lot_id}/vials/{vial_id}/refreeze")
def refreeze_vial(
    request: Request, lot_id: int, vial_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Return a thawed vial to frozen stock (when its certificate allows another thaw)."""
    settings = auth.state.settings
    return _submit(
        form, form, Versioned, auth, f"/lots/{lot_id}", _lot_again(request, auth, lot_id),
        lambda ctx, d: service.refreeze_vial(
            ctx=ctx, settings=settings, vial_id=vial_id, data=d),
    )  # fmt: skip


@router.get("/lots/{lot_id}/recall")
def recall_page(request: Request, lot_id: int, auth: AuthDep) -> Response:
    """Every preparation, session and patient that received the lot (audited)."""
    with auth.action() as ctx:
        now = ctx.clock.now()
        lot_view = service.lot_view(service.get_lot(ctx=ctx, lot_id=lot_id), now=now)
        rows = [dataclasses.asdict(r) for r in service.recall_report(ctx=ctx, lot_id=lot_id)]
    context = {"lot": lot_view, "rows": rows}
    return render(request, "preparation/recall.html", context, auth=auth)


@router.get("/lots/{lot_id}/recall.csv")
def recall_csv(lot_id: int, auth: AuthDep) -> Response:
    """The recall list as CSV (audited)."""
    with auth.action() as ctx:
        text = service.recall_csv(ctx=ctx, lot_id=lot_id)
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="exoneb-recall-lot-{lot_id}.csv"'},
    )


# --- a session's preparation -------------------------------------------------------------------


def _prep_page(
    request: Request,
    auth: Auth,
    session_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    values = dict(values or {})
    lot_id = _int(values.get("lot_id"))
    plan_in = PlanIn(lot_id=lot_id, nebulizer_key=values.get("nebulizer_key") or "aerogen-solo")
    product_in = ProductPlanIn(
        lot_id=lot_id, device_key=values.get("device_key") or None,
        saline_lot_id=_int(values.get("saline_lot_id")),
    )  # fmt: skip
    with auth.action() as ctx:
        data = service.page(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=plan_in,
            product=product_in,
        )  # fmt: skip
    qr = None
    if data["preparation"] is not None:
        p = data["preparation"]
        qr = qr_svg(
            qr_payload(
                {"label_code": p["label_code"], "mrn": data["patient"]["mrn"],
                 "lot": p["lot_number"], "dose": p["dose_text"], "stock_ml": p["stock_ml"],
                 "saline_ml": p["saline_ml"], "fill_ml": p["fill_ml"], "use_by": p["use_by"],
                 "blinded": data["blinded_product_name"] is not None}
            )
        )  # fmt: skip
    context = {
        "v": data, "p": data["preparation"], "draft": data["draft"], "qr": qr,
        "errors": dict(errors or {}), "values": values,
        "may_prepare": auth.can(Action.PREPARATION_RECORD),
        "may_verify": auth.can(Action.PREPARATION_VERIFY),
        "may_thaw": auth.can(Action.INVENTORY_RECORD),
    }  # fmt: skip
    return render(request, "preparation/session.html", context, auth=auth, status_code=status_code)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _prep_again(request: Request, auth: Auth, session_id: int) -> Renderer:
    return lambda errors, values, code: _prep_page(request, auth, session_id, errors, values, code)


@router.get("/sessions/{session_id}/preparation")
def preparation(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The session's dose: the checks and arithmetic, then the label and the verification."""
    keys = ("lot_id", "nebulizer_key", "device_key", "saline_lot_id")
    values = {k: v for k, v in request.query_params.items() if k in keys}
    return _prep_page(request, auth, session_id, values=values)


@router.post("/sessions/{session_id}/preparation")
def prepare(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Prepare the dose and sign it."""
    settings = auth.state.settings
    return _submit(
        form, _with_appearance(form), PrepareIn, auth, f"/sessions/{session_id}/preparation",
        _prep_again(request, auth, session_id),
        lambda ctx, d: service.prepare(ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


def _with_appearance(form: Mapping[str, str]) -> dict[str, str]:
    data = dict(form)
    data["appearance_ok"] = {"yes": "true", "no": "false"}.get(form.get("appearance_ok", ""), "")
    return data


@router.post("/sessions/{session_id}/preparation/product")
def prepare_product(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Prepare a comparator dose (drug or cells) and sign it."""
    settings = auth.state.settings
    return _submit(
        form, _with_appearance(form), ProductPrepareIn, auth,
        f"/sessions/{session_id}/preparation", _prep_again(request, auth, session_id),
        lambda ctx, d: service.prepare_product(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/preparation/placebo")
def prepare_placebo(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Prepare a saline placebo (the arm's fill of saline) and sign it."""
    settings = auth.state.settings
    return _submit(
        form, _with_appearance(form), PlaceboPrepareIn, auth,
        f"/sessions/{session_id}/preparation", _prep_again(request, auth, session_id),
        lambda ctx, d: service.prepare_placebo(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/preparation/thaw")
def thaw_for_session(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Thaw a vial (first expiry first) from the preparation page."""
    settings = auth.state.settings
    return _submit(
        form, form, ThawIn, auth, f"/sessions/{session_id}/preparation",
        _prep_again(request, auth, session_id),
        lambda ctx, d: service.thaw_vial(ctx=ctx, settings=settings, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/preparation/verify")
def verify(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """The second person verifies the dose and signs."""
    settings = auth.state.settings
    return _submit(
        form, form, VerifyIn, auth, f"/sessions/{session_id}/preparation",
        _prep_again(request, auth, session_id),
        lambda ctx, d: service.verify(ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/preparation/discard")
def discard_dose(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Discard the made dose with a reason."""
    return _submit(
        form, form, DiscardPreparationIn, auth, f"/sessions/{session_id}/preparation",
        _prep_again(request, auth, session_id),
        lambda ctx, d: service.discard_preparation(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.get("/sessions/{session_id}/preparation/label.pdf")
def label(session_id: int, auth: AuthDep) -> Response:
    """The printable label (PDF with a QR code)."""
    with auth.action() as ctx:
        fields = service.label(ctx=ctx, settings=auth.state.settings, session_id=session_id)
    return Response(
        content=label_pdf(fields),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{fields["label_code"]}.pdf"'},
    )
