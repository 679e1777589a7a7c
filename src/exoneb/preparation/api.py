"""JSON API for step 2: lots (``/api/v1/lots``…), vials, and a session's dose preparation.

Every edit sends the ``version`` it loaded (409 when stale); a refused role is
a 403 with a ``permission.denied`` audit row; a block (lot not released,
hold time passed, not enough volume, eligibility not cleared, the preparer
verifying their own dose…) is a 409 whose ``detail`` is the sentence the rule
wrote; an impossible value is a 422 naming the field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, status
from starlette.responses import Response

from exoneb.preparation import service
from exoneb.preparation.label import label_pdf
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
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["preparation"])
Json = dict[str, Any]
SESSION = "/sessions/{session_id}/preparation"


@router.get("/lots")
def list_lots(auth: AuthDep, kind: str | None = None) -> list[Json]:
    """The site's lots, first expiry first, each with whether it may be used now."""
    with auth.action() as ctx:
        now = ctx.clock.now()
        return [service.lot_view(lot, now=now) for lot in service.lots(ctx=ctx, kind=kind)]


@router.post("/lots", status_code=status.HTTP_201_CREATED)
def receive(data: LotReceiveIn, auth: AuthDep) -> Json:
    """Receive an exosome lot with its certificate of analysis (into quarantine)."""
    with auth.action() as ctx:
        lot = service.receive_lot(ctx=ctx, settings=auth.state.settings, data=data)
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot.id)


@router.post("/lots/saline", status_code=status.HTTP_201_CREATED)
def receive_saline(data: SalineLotIn, auth: AuthDep) -> Json:
    """Record a saline (diluent) lot by its label (released on receipt)."""
    with auth.action() as ctx:
        lot = service.receive_saline_lot(ctx=ctx, data=data)
        return service.lot_view(lot, now=ctx.clock.now())


@router.post("/lots/product", status_code=status.HTTP_201_CREATED)
def receive_product(data: ProductLotIn, auth: AuthDep) -> Json:
    """Receive a drug (solution or inhaler) or cell-product lot by its label (into quarantine)."""
    with auth.action() as ctx:
        lot = service.receive_product_lot(ctx=ctx, settings=auth.state.settings, data=data)
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot.id)


@router.get("/lots/fefo")
def fefo(auth: AuthDep) -> list[Json]:
    """Usable lots with a vial that may be thawed, first expiry first (thaw from the first)."""
    with auth.action() as ctx:
        now = ctx.clock.now()
        return [service.lot_view(lot, now=now) for lot, _ in service.fefo(ctx=ctx)]


@router.get("/lots/{lot_id}")
def read_lot(lot_id: int, auth: AuthDep) -> Json:
    """A lot: certificate, release checklist, decisions, vials, balance, movements."""
    with auth.action() as ctx:
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)


@router.post("/lots/{lot_id}/release")
def release(lot_id: int, data: ReleaseIn, auth: AuthDep) -> Json:
    """Release the lot (every criterion must pass; e-signature "approved")."""
    with auth.action() as ctx:
        service.release_lot(ctx=ctx, settings=auth.state.settings, lot_id=lot_id, data=data)
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)


@router.post("/lots/{lot_id}/release/label")
def release_product(lot_id: int, data: ProductReleaseIn, auth: AuthDep) -> Json:
    """Release a drug or cell lot: batch, expiry and identity checked against the label (signed)."""
    with auth.action() as ctx:
        service.release_product_lot(ctx=ctx, settings=auth.state.settings, lot_id=lot_id, data=data)
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)


@router.post("/lots/{lot_id}/reject")
def reject(lot_id: int, data: RejectIn, auth: AuthDep) -> Json:
    """Reject the lot with a reason (e-signature "reviewed")."""
    with auth.action() as ctx:
        service.reject_lot(ctx=ctx, settings=auth.state.settings, lot_id=lot_id, data=data)
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)


@router.post("/lots/{lot_id}/quarantine")
def quarantine(lot_id: int, data: Reasoned, auth: AuthDep) -> Json:
    """Hold a released lot in quarantine with a reason."""
    with auth.action() as ctx:
        service.quarantine_lot(ctx=ctx, lot_id=lot_id, data=data)
        return service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)


@router.post("/lots/{lot_id}/recall")
def recall(lot_id: int, data: Reasoned, auth: AuthDep) -> Json:
    """Recall the lot with a reason; returns every preparation, session and patient that had it."""
    with auth.action() as ctx:
        service.recall_lot(ctx=ctx, lot_id=lot_id, data=data)
        rows = service.recall_report(ctx=ctx, lot_id=lot_id)
        detail = service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)
        return detail | {"recall": [dataclasses.asdict(r) for r in rows]}


@router.get("/lots/{lot_id}/recall")
def recall_list(lot_id: int, auth: AuthDep) -> list[Json]:
    """Every preparation, session and patient that received the lot (audited)."""
    with auth.action() as ctx:
        return [dataclasses.asdict(r) for r in service.recall_report(ctx=ctx, lot_id=lot_id)]


@router.get("/lots/{lot_id}/recall.csv", response_class=Response)
def recall_csv(lot_id: int, auth: AuthDep) -> Response:
    """The recall list as CSV (audited)."""
    with auth.action() as ctx:
        text = service.recall_csv(ctx=ctx, lot_id=lot_id)
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="exoneb-recall-lot-{lot_id}.csv"'},
    )


@router.post("/lots/{lot_id}/storage")
def storage(lot_id: int, data: ExcursionIn, auth: AuthDep) -> Json:
    """Record a storage-temperature reading; one outside the range quarantines the lot."""
    with auth.action() as ctx:
        judgement = service.record_storage(ctx=ctx, lot_id=lot_id, data=data)
        detail = service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=lot_id)
        return detail | {
            "judgement": {"acceptable": judgement.acceptable, "message": judgement.message}
        }


@router.post("/vials/thaw", status_code=status.HTTP_201_CREATED)
def thaw(data: ThawIn, auth: AuthDep) -> Json:
    """Thaw one vial (from the first-expiring lot unless a vial of it is named)."""
    with auth.action() as ctx:
        vial = service.thaw_vial(ctx=ctx, settings=auth.state.settings, data=data)
        detail = service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=vial.lot_id)
        return next(v for v in detail["vials"] if v["id"] == vial.id)


@router.post("/vials/{vial_id}/refreeze")
def refreeze(vial_id: int, data: Versioned, auth: AuthDep) -> Json:
    """Return a thawed vial to frozen stock (only when its certificate allows another thaw)."""
    with auth.action() as ctx:
        vial = service.refreeze_vial(
            ctx=ctx, settings=auth.state.settings, vial_id=vial_id, data=data
        )
        detail = service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=vial.lot_id)
        return next(v for v in detail["vials"] if v["id"] == vial.id)


@router.post("/vials/{vial_id}/discard")
def discard(vial_id: int, data: Reasoned, auth: AuthDep) -> Json:
    """Discard a vial in stock or thawed, with a reason."""
    with auth.action() as ctx:
        vial = service.discard_vial(ctx=ctx, vial_id=vial_id, data=data)
        detail = service.lot_detail(ctx=ctx, settings=auth.state.settings, lot_id=vial.lot_id)
        return next(v for v in detail["vials"] if v["id"] == vial.id)


@router.get(SESSION)
def read(session_id: int, auth: AuthDep) -> Json:
    """The session's dose, or what a preparation would use now (checks and arithmetic)."""
    with auth.action() as ctx:
        return service.page(ctx=ctx, settings=auth.state.settings, session_id=session_id)


@router.post(f"{SESSION}/plan")
def plan(session_id: int, data: PlanIn, auth: AuthDep) -> Json:
    """Every check and the arithmetic for a lot and nebulizer, without storing anything."""
    with auth.action() as ctx:
        draft = service.plan(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return service.draft_view(draft)


@router.post(SESSION, status_code=status.HTTP_201_CREATED)
def prepare(session_id: int, data: PrepareIn, auth: AuthDep) -> Json:
    """Prepare the dose from the thawed vial(s) and sign it ("performed")."""
    with auth.action() as ctx:
        p = service.prepare(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return service.preparation_view(ctx, p)


@router.post(f"{SESSION}/product/plan")
def product_plan(session_id: int, data: ProductPlanIn, auth: AuthDep) -> Json:
    """A comparator or placebo arm: every check and the arithmetic, without storing anything."""
    with auth.action() as ctx:
        draft = service.product_plan(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return service.product_draft_view(draft)


@router.post(f"{SESSION}/product", status_code=status.HTTP_201_CREATED)
def prepare_product(session_id: int, data: ProductPrepareIn, auth: AuthDep) -> Json:
    """Prepare a comparator dose (drug by nebulizer or inhaler, or cells) and sign it."""
    with auth.action() as ctx:
        p = service.prepare_product(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return service.preparation_view(ctx, p)


@router.post(f"{SESSION}/placebo", status_code=status.HTTP_201_CREATED)
def prepare_placebo(session_id: int, data: PlaceboPrepareIn, auth: AuthDep) -> Json:
    """Prepare a saline placebo (the arm's fill volume of saline, no dose) and sign it."""
    with auth.action() as ctx:
        p = service.prepare_placebo(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return service.preparation_view(ctx, p)


@router.post(f"{SESSION}/verify")
def verify(session_id: int, data: VerifyIn, auth: AuthDep) -> Json:
    """A second person verifies the dose and signs ("verified")."""
    with auth.action() as ctx:
        p = service.verify(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return service.preparation_view(ctx, p)


@router.post(f"{SESSION}/discard")
def discard_dose(session_id: int, data: DiscardPreparationIn, auth: AuthDep) -> Json:
    """Discard the made dose with a reason (a new one may then be prepared)."""
    with auth.action() as ctx:
        p = service.discard_preparation(ctx=ctx, session_id=session_id, data=data)
        return service.preparation_view(ctx, p)


@router.get(f"{SESSION}/label.pdf", response_class=Response)
def label(session_id: int, auth: AuthDep) -> Response:
    """The printable label (PDF, 100 × 70 mm, with a QR code)."""
    with auth.action() as ctx:
        fields = service.label(ctx=ctx, settings=auth.state.settings, session_id=session_id)
    return Response(
        content=label_pdf(fields),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{fields["label_code"]}.pdf"'},
    )
