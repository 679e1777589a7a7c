"""Step 2 actions: receive and release lots, keep the vial inventory, prepare and verify doses.

Each function checks the permission, applies the pure rules of
:mod:`exoneb.preparation.rules`, writes its rows, an inventory event where a
lot or a vial moves, and one audit row, all inside the caller's transaction
(``ctx.db``). The rules raise the domain errors themselves (they are part of
``core.errors``), so a refusal rolls everything back and reaches the user as a
409 or 422 with the sentence the rule wrote.

Concurrency. Two preparations must never draw the same vial or the same
volume. Every vial row that an action is about to change is read with
``SELECT … FOR UPDATE`` (PostgreSQL: the second transaction waits, then sees
the vial already *used* and leaves it alone); on SQLite every transaction
starts ``BEGIN IMMEDIATE`` (``core.db``), so writers run one after the other.
The vial's optimistic ``version`` column catches anything else as a 409. The
session row is locked too, so one session cannot get two doses at once.

At import this module connects step 2 to the session state machine with a
fact provider: a signed preparation → ``"preparation"`` in ``signed_steps``;
its second-person check → the ``verified_by_second_person`` flag; whether the
dose may still be given → ``prepared_dose_usable``, which the pure session
rules read to keep a session from being verified or starting to inhale on a
dose that expired, was discarded, or whose lot was recalled or quarantined
after it was made.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import or_, select

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import MATRIX, Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import DomainError, InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.dosimetry import nebulizer_catalog
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.preparation import products, rules
from exoneb.preparation.errors import WrongProductForArm
from exoneb.preparation.handoff import HandoffDoseUnit, VerifiedDose
from exoneb.preparation.models import (
    DosePreparation,
    InventoryEvent,
    LotRelease,
    LotReleaseResult,
    PreparationDraw,
    ProductLot,
    ProductVial,
)
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
from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State
from exoneb.sessions.service import FactContribution, register_fact_provider

EXOSOME, SALINE = "exosome", "saline"
PREPARED, VERIFIED, DISCARDED = "prepared", "verified", "discarded"
ACTIVE = (PREPARED, VERIFIED)
LOT_RECORD, PREP_RECORD, VIAL_RECORD = "product_lot", "dose_preparation", "product_vial"
UL_PER_ML = 1000

L, V = rules.LotStatus, rules.VialStatus

#: Who may verify: the permission matrix is the one place this is set (the pure rule's
#: default, ``rules.DEFAULT_VERIFIER_ROLES``, names the same clinical roles).
VERIFIER_ROLES = frozenset(role.value for role in MATRIX[Action.PREPARATION_VERIFY])

#: Session states in which a dose may be prepared (again, once a dose was discarded).
PREPARABLE = frozenset({State.CLEARED, State.PREPARED, State.VERIFIED})


# --- helpers -----------------------------------------------------------------------------


def _who(ctx: Ctx) -> str:
    return ctx.actor.full_name or ctx.actor.username


def _ul(volume_ml: float) -> int:
    return round(volume_ml * UL_PER_ML)


def _ml(volume_ul: int) -> float:
    return volume_ul / UL_PER_ML


def _label(lot: ProductLot) -> str:
    """How a lot is named in messages: its number, and the maker when it is not obvious."""
    return f"{lot.lot_number} ({lot.manufacturer})"


def _check_version(record: Any, version: int, what: str) -> None:
    if record.version != version:
        raise StaleEdit(
            record=what,
            changed_by=record.updated_by,
            changed_at=record.updated_at,
            version=record.version,
        )


def _touch(ctx: Ctx, record: Any) -> None:
    record.updated_at = ctx.clock.now()
    record.updated_by = _who(ctx)


def _protocol(settings: Settings, protocol_id: str | None) -> ProtocolFile:
    protocol = registry.get(settings.protocols_dir, protocol_id) if protocol_id else None
    if protocol is None:
        raise InvalidInput(f"There is no protocol {protocol_id!r}.", field="protocol_id")
    return protocol


def protocol_ids(settings: Settings) -> list[str]:
    """The protocols whose release criteria a lot may be judged against."""
    return sorted(registry.load_all(settings.protocols_dir))


def _audit(
    ctx: Ctx,
    action: str,
    record_type: str,
    record: Any,
    *,
    patient_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    audit.record(
        ctx=ctx,
        action=action,
        entity_type=record_type,
        entity_id=record.id,
        entity_version=getattr(record, "version", None),
        patient_id=patient_id,
        before=before,
        after=after,
        reason=reason,
    )


def _event(
    ctx: Ctx,
    lot: ProductLot,
    action: str,
    *,
    vial: ProductVial | None = None,
    preparation: DosePreparation | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    volume_ul: int | None = None,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> InventoryEvent:
    event = InventoryEvent(
        lot_id=lot.id,
        vial_id=None if vial is None else vial.id,
        preparation_id=None if preparation is None else preparation.id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        volume_ul=volume_ul,
        reason=reason,
        detail=None if detail is None else dict(detail),
        at=ctx.clock.now(),
        actor_user_id=ctx.actor.user_id,
        actor_name=_who(ctx),
    )
    ctx.db.add(event)
    return event


def _lot(ctx: Ctx, lot_id: int, *, lock: bool = False) -> ProductLot:
    """A lot of the actor's site (another site's lot is "not found", so ids cannot be probed)."""
    query = select(ProductLot).where(ProductLot.id == lot_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    lot = ctx.db.scalars(query).first()
    if lot is None or lot.site_id != ctx.actor.site_id:
        raise NotFound("No lot with this id at your site.")
    return lot


def _vials(ctx: Ctx, lot_id: int, *, lock: bool = False) -> list[ProductVial]:
    query = select(ProductVial).where(ProductVial.lot_id == lot_id).order_by(ProductVial.number)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(ctx.db.scalars(query))


def certificate(lot: ProductLot) -> rules.CertificateOfAnalysis:
    """The lot's certificate of analysis as the pure rules read it."""
    window = None
    if lot.size_window_low_nm is not None and lot.size_window_high_nm is not None:
        window = (lot.size_window_low_nm, lot.size_window_high_nm)
    return rules.CertificateOfAnalysis(
        manufacturer=lot.manufacturer,
        lot_number=lot.lot_number,
        certificate_id=lot.certificate_id or "",
        expires_at=lot.expires_at,
        storage=rules.StorageRange(
            lot.storage_min_c if lot.storage_min_c is not None else -273.0,
            lot.storage_max_c if lot.storage_max_c is not None else 100.0,
        ),
        vial_count=lot.vial_count,
        volume_per_vial_ml=lot.volume_per_vial_ml,
        labelled_particles_per_ml=lot.labelled_particles_per_ml,
        certified_particles_per_ml=lot.certified_particles_per_ml,
        concentration_method=lot.concentration_method,
        size_mode_nm=lot.size_mode_nm,
        size_window_nm=window,
        size_within_window_percent=lot.size_within_window_percent,
        protein_ug_per_ml=lot.protein_ug_per_ml,
        particle_protein_ratio_per_ug=lot.particle_protein_ratio_per_ug,
        markers=dict(lot.markers or {}),
        sterility=None if lot.sterility is None else rules.QualitativeResult(lot.sterility),
        endotoxin_eu_per_ml=lot.endotoxin_eu_per_ml,
        mycoplasma=None if lot.mycoplasma is None else rules.QualitativeResult(lot.mycoplasma),
        cell_tissue=lot.cell_tissue,
        donor_code=lot.donor_code,
        passage=lot.passage,
        cell_bank_id=lot.cell_bank_id,
        max_thaw_cycles=lot.max_thaw_cycles,
    )


def _usability(lot: ProductLot, now: datetime) -> rules.LotNotUsable | None:
    return rules.lot_usability_error(_label(lot), L(lot.status), lot.expires_at, now)


def _snapshot(lot: ProductLot) -> dict[str, Any]:
    return {"status": lot.status, "status_reason": lot.status_reason, "version": lot.version}


def _move_lot(ctx: Ctx, lot: ProductLot, target: rules.LotStatus, reason: str) -> str:
    """Move a lot's status (checked against the lifecycle table); returns the old status."""
    rules.check_lot_transition(_label(lot), L(lot.status), target)
    old = lot.status
    lot.status, lot.status_reason = target.value, reason
    _touch(ctx, lot)
    return old


# --- lots: receive -----------------------------------------------------------------------


def receive_lot(*, ctx: Ctx, settings: Settings, data: LotReceiveIn) -> ProductLot:
    """Record an exosome lot and its certificate; it starts in quarantine, one row per vial."""
    authorize(ctx=ctx, action=Action.LOT_RECEIVE)
    _protocol(settings, data.protocol_id)
    if data.expires_at.tzinfo is None:
        raise InvalidInput("Give the expiry with its time zone.", field="expires_at")
    if data.storage_min_c > data.storage_max_c:
        raise InvalidInput(
            "The storage range is reversed; give the lower temperature first.",
            field="storage_min_c",
        )
    if (data.size_window_low_nm is None) != (data.size_window_high_nm is None):
        raise InvalidInput(
            "Give both ends of the size window, or neither.", field="size_window_high_nm"
        )
    now, who = ctx.clock.now(), _who(ctx)
    values = data.model_dump()
    lot = ProductLot(
        **values,
        site_id=ctx.actor.site_id,
        kind=EXOSOME,
        status=L.QUARANTINE.value,
        status_reason="received: awaiting release",
        received_at=now,
        received_by=who,
        updated_at=now,
        updated_by=who,
    )
    certificate(lot)  # the pure rules refuse an impossible certificate (422) before any row
    _duplicate_check(ctx, EXOSOME, data.manufacturer, data.lot_number)
    ctx.db.add(lot)
    ctx.db.flush()
    per_vial = _ul(data.volume_per_vial_ml)
    _add_vials(ctx, lot, data.vial_count, per_vial, "V")
    _event(
        ctx,
        lot,
        "lot.receive",
        to_status=lot.status,
        volume_ul=per_vial * data.vial_count,
        detail={"vials": data.vial_count, "volume_per_vial_ml": data.volume_per_vial_ml},
    )
    _audit(ctx, "lot.receive", LOT_RECORD, lot, after=_lot_record(lot))
    return lot


def _add_vials(ctx: Ctx, lot: ProductLot, count: int, per_vial_ul: int, prefix: str) -> None:
    """One in-stock inventory row per vial, ampoule or inhaler of a received lot."""
    now, who = ctx.clock.now(), _who(ctx)
    for n in range(1, count + 1):
        ctx.db.add(
            ProductVial(
                lot_id=lot.id,
                number=n,
                code=f"{lot.lot_number}-{prefix}{n:03d}-{lot.id}",
                status=V.IN_STOCK.value,
                initial_ul=per_vial_ul,
                remaining_ul=per_vial_ul,
                used_ul=0,
                discarded_ul=0,
                thaw_count=0,
                updated_at=now,
                updated_by=who,
            )
        )
    ctx.db.flush()


def receive_saline_lot(*, ctx: Ctx, data: SalineLotIn) -> ProductLot:
    """Record a saline (diluent) lot by its label.

    Saline is a licensed medicinal product released by its manufacturer, so it
    is recorded as released on receipt (no certificate is judged); its expiry
    and a recall still block its use, and every preparation names its lot
    (``reference/clinical.md`` §2.6: "dilution lot (saline lot)").
    """
    authorize(ctx=ctx, action=Action.LOT_RECEIVE)
    if data.expires_at.tzinfo is None:
        raise InvalidInput("Give the expiry with its time zone.", field="expires_at")
    now, who = ctx.clock.now(), _who(ctx)
    if data.expires_at <= now:
        raise RuleViolation(f"Saline lot {data.lot_number} is already past its expiry.")
    _duplicate_check(ctx, SALINE, data.manufacturer, data.lot_number)
    lot = ProductLot(
        site_id=ctx.actor.site_id,
        kind=SALINE,
        product_name=data.product_name,
        manufacturer=data.manufacturer,
        lot_number=data.lot_number,
        expires_at=data.expires_at,
        vial_count=data.container_count,
        volume_per_vial_ml=data.volume_per_container_ml,
        max_thaw_cycles=1,
        markers={},
        status=L.RELEASED.value,
        status_reason="licensed diluent: released on receipt",
        received_at=now,
        received_by=who,
        released_at=now,
        released_by=who,
        updated_at=now,
        updated_by=who,
    )
    ctx.db.add(lot)
    ctx.db.flush()
    _event(ctx, lot, "lot.receive", to_status=lot.status, detail={"kind": SALINE})
    _audit(ctx, "lot.receive", LOT_RECORD, lot, after=_lot_record(lot))
    return lot


def _duplicate_check(ctx: Ctx, kind: str, manufacturer: str, lot_number: str) -> None:
    found = ctx.db.scalars(
        select(ProductLot.id).where(
            ProductLot.kind == kind,
            ProductLot.manufacturer == manufacturer,
            ProductLot.lot_number == lot_number,
        )
    ).first()
    if found is not None:
        raise rules.DuplicateRecord(
            f"Lot {lot_number} of {manufacturer} has already been received; open it instead."
        )


def _lot_record(lot: ProductLot) -> dict[str, Any]:
    return {
        c.key: audit_value(getattr(lot, c.key))
        for c in ProductLot.__table__.columns
        if c.key not in {"id", "updated_at", "updated_by", "version"}
    }


def audit_value(value: Any) -> Any:
    """A JSON-ready value for audit rows and views (datetimes as ISO text)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- lots: release, reject, quarantine, recall, storage ----------------------------------


def evaluate(*, ctx: Ctx, settings: Settings, lot_id: int) -> rules.ReleaseEvaluation:
    """The release checklist of a lot against its protocol's criteria (nothing stored)."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    lot = _lot(ctx, lot_id)
    if lot.kind != EXOSOME:
        raise RuleViolation("A saline lot has no certificate to judge; it is released on receipt.")
    return rules.evaluate_release(
        certificate(lot), _protocol(settings, lot.protocol_id).release_criteria()
    )


def _decide(
    ctx: Ctx,
    settings: Settings,
    lot: ProductLot,
    decision: str,
    *,
    password: str,
    reason: str | None,
    evaluation: rules.ReleaseEvaluation | None = None,
) -> tuple[LotRelease, rules.ReleaseEvaluation]:
    protocol = _protocol(settings, lot.protocol_id)
    if evaluation is None:
        evaluation = rules.evaluate_release(certificate(lot), protocol.release_criteria())
    results = [dataclasses.asdict(r) | {"outcome": r.outcome.value} for r in evaluation.results]
    content = {
        "lot_id": lot.id,
        "lot_number": lot.lot_number,
        "certificate_id": lot.certificate_id,
        "decision": decision,
        "protocol": {"id": protocol.id, "version": protocol.version},
        "results": results,
        "reason": reason,
    }
    signature = accounts.sign(
        ctx=ctx,
        settings=settings,
        record_type=LOT_RECORD,
        record_id=lot.id,
        record_version=lot.version,
        content=content,
        meaning="approved" if decision == "released" else "reviewed",
        password=password,
    )
    now = ctx.clock.now()
    release = LotRelease(
        lot_id=lot.id,
        decision=decision,
        releasable=evaluation.releasable,
        summary=evaluation.summary(),
        reason=reason,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        decided_at=now,
        decided_by_id=ctx.actor.user_id,
        decided_by=_who(ctx),
        signature_id=signature.id,
    )
    ctx.db.add(release)
    ctx.db.flush()
    for position, r in enumerate(evaluation.results):
        ctx.db.add(
            LotReleaseResult(
                release_id=release.id,
                position=position,
                key=r.key,
                label=r.label,
                outcome=r.outcome.value,
                measured=r.measured,
                limit_text=r.limit,
                source=r.source,
            )
        )
    return release, evaluation


def _log_move(
    ctx: Ctx,
    lot: ProductLot,
    action: str,
    before: Mapping[str, Any],
    *,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """The inventory event and the audit row of a lot status change."""
    ctx.db.flush()
    _event(
        ctx,
        lot,
        action,
        from_status=before["status"],
        to_status=lot.status,
        reason=reason,
        detail=detail,
    )
    _audit(
        ctx,
        action,
        LOT_RECORD,
        lot,
        before=before,
        after=_snapshot(lot) | dict(detail or {}),
        reason=reason,
    )


def _hold(
    ctx: Ctx, lot_id: int, data: Reasoned, target: rules.LotStatus, action: str
) -> ProductLot:
    lot = _lot(ctx, lot_id, lock=True)
    _check_version(lot, data.version, "lot")
    reason = data.reason.strip()
    before = _snapshot(lot)
    _move_lot(ctx, lot, target, reason)
    _log_move(ctx, lot, action, before, reason=reason)
    return lot


def _lot_to_decide(ctx: Ctx, lot_id: int, version: int, target: rules.LotStatus) -> ProductLot:
    """The exosome lot a release or rejection is about, locked, at the version the user saw."""
    lot = _lot(ctx, lot_id, lock=True)
    _check_version(lot, version, "lot")
    if lot.kind == SALINE:
        raise RuleViolation(
            "A saline lot is released on receipt, not on a certificate; recall it if needed."
        )
    if lot.kind != EXOSOME:
        raise RuleViolation(
            f"A {lot.kind} lot is released against its label (release_product_lot), not on an "
            "exosome certificate."
        )
    rules.check_lot_transition(_label(lot), L(lot.status), target)
    return lot


def release_lot(*, ctx: Ctx, settings: Settings, lot_id: int, data: ReleaseIn) -> ProductLot:
    """Release a quarantined lot whose certificate meets every criterion (e-signature)."""
    authorize(ctx=ctx, action=Action.LOT_RELEASE)
    lot = _lot_to_decide(ctx, lot_id, data.version, L.RELEASED)
    now = ctx.clock.now()
    evaluation = rules.evaluate_release(
        certificate(lot), _protocol(settings, lot.protocol_id).release_criteria()
    )
    if not evaluation.releasable:
        raise rules.ReleaseRefused(f"Lot {_label(lot)}: {evaluation.summary()}")
    if now >= lot.expires_at:
        raise rules.LotExpired(f"Lot {_label(lot)} is past its expiry and cannot be released.")
    release, _ = _decide(ctx, settings, lot, "released", password=data.password, reason=None)
    before = _snapshot(lot)
    _move_lot(ctx, lot, L.RELEASED, evaluation.summary())
    lot.released_at, lot.released_by = now, _who(ctx)
    _log_move(ctx, lot, "lot.release", before, detail={"release_id": release.id})
    return lot


def reject_lot(*, ctx: Ctx, settings: Settings, lot_id: int, data: RejectIn) -> ProductLot:
    """Reject a quarantined lot with a reason (e-signature); the checklist is stored with it."""
    authorize(ctx=ctx, action=Action.LOT_RELEASE)
    lot = _lot_to_decide(ctx, lot_id, data.version, L.REJECTED)
    reason = data.reason.strip()
    release, _ = _decide(ctx, settings, lot, "rejected", password=data.password, reason=reason)
    before = _snapshot(lot)
    _move_lot(ctx, lot, L.REJECTED, reason)
    _log_move(ctx, lot, "lot.reject", before, reason=reason, detail={"release_id": release.id})
    return lot


def quarantine_lot(*, ctx: Ctx, lot_id: int, data: Reasoned) -> ProductLot:
    """Hold a released lot in quarantine, with a reason (e.g. a deviation under review)."""
    authorize(ctx=ctx, action=Action.LOT_RELEASE)
    return _hold(ctx, lot_id, data, L.QUARANTINE, "lot.quarantine")


def recall_lot(*, ctx: Ctx, lot_id: int, data: Reasoned) -> ProductLot:
    """Recall a lot, with a reason; none of it may be used again (its doses are blocked too)."""
    authorize(ctx=ctx, action=Action.LOT_RECALL)
    return _hold(ctx, lot_id, data, L.RECALLED, "lot.recall")


def record_storage(*, ctx: Ctx, lot_id: int, data: ExcursionIn) -> rules.ExcursionJudgement:
    """Record a storage-temperature reading; one outside the certified range quarantines the lot.

    A reading inside the range is recorded too (the storage log is part of the
    lot record, ``reference/clinical.md`` §2.6).
    """
    authorize(ctx=ctx, action=Action.INVENTORY_RECORD)
    lot = _lot(ctx, lot_id, lock=True)
    if lot.kind != EXOSOME:
        raise RuleViolation("Storage temperatures are recorded for exosome lots only.")
    if data.recorded_at.tzinfo is None:
        raise InvalidInput("Give the reading time with its time zone.", field="recorded_at")
    if data.recorded_at > ctx.clock.now() + timedelta(minutes=5):
        raise InvalidInput("The reading time is in the future.", field="recorded_at")
    reading = rules.TemperatureReading(
        data.recorded_at, data.temperature_c, timedelta(minutes=data.duration_min)
    )
    judgement = rules.judge_storage(certificate(lot).storage, [reading])
    before = _snapshot(lot)
    detail = {
        "recorded_at": data.recorded_at.isoformat(),
        "temperature_c": data.temperature_c,
        "duration_min": data.duration_min,
        "note": data.note,
        "judgement": judgement.message,
    }
    action = "lot.storage_reading" if judgement.acceptable else "lot.excursion"
    if not judgement.acceptable and lot.status == L.RELEASED.value:
        _move_lot(ctx, lot, L.QUARANTINE, judgement.message)
    elif not judgement.acceptable:
        _touch(ctx, lot)
    reason = None if judgement.acceptable else judgement.message
    _log_move(ctx, lot, action, before, reason=reason, detail=detail)
    return judgement


# --- vials: thaw, discard ----------------------------------------------------------------


def _thawable(lot: ProductLot, vials: Sequence[ProductVial]) -> list[ProductVial]:
    return [v for v in vials if v.status == V.IN_STOCK.value and v.thaw_count < lot.max_thaw_cycles]


def _site_exosome_lots(ctx: Ctx) -> list[ProductLot]:
    return list(
        ctx.db.scalars(
            select(ProductLot)
            .where(ProductLot.kind == EXOSOME, ProductLot.site_id == ctx.actor.site_id)
            .order_by(ProductLot.expires_at, ProductLot.id)
        )
    )


def fefo(*, ctx: Ctx) -> list[tuple[ProductLot, rules.LotOffer]]:
    """Usable exosome lots with a vial that may be thawed, first-expiry-first-out."""
    lots = {_label(lot): lot for lot in _site_exosome_lots(ctx)}
    offers = rules.fefo_order(
        [
            (name, L(lot.status), lot.expires_at, len(_thawable(lot, _vials(ctx, lot.id))))
            for name, lot in lots.items()
        ],
        ctx.clock.now(),
    )
    return [(lots[o.lot_id], o) for o in offers]


def thaw_vial(*, ctx: Ctx, settings: Settings, data: ThawIn) -> ProductVial:
    """Thaw one vial, from the lot that expires first (FEFO); records the thaw start and method."""
    authorize(ctx=ctx, action=Action.INVENTORY_RECORD)
    now = ctx.clock.now()
    lot: ProductLot | None = None
    vial: ProductVial | None = None
    if data.vial_id is not None:
        vial = _locked_vial(ctx, data.vial_id)
        lot = _lot(ctx, vial.lot_id)
        if data.lot_id is not None and data.lot_id != lot.id:
            raise InvalidInput(
                f"Vial {vial.code} belongs to lot {_label(lot)}, not to the lot chosen.",
                field="vial_id",
            )
    elif data.lot_id is not None:
        lot = _lot(ctx, data.lot_id)
    if lot is not None:
        if lot.kind != EXOSOME:
            raise RuleViolation("Only exosome vials are thawed.")
        error = _usability(lot, now)
        if error is not None:
            raise error
    offers = fefo(ctx=ctx)
    if lot is not None and all(o.id != lot.id for o, _ in offers):
        raise rules.ThawLimitReached(
            f"Lot {_label(lot)} has no vial left in stock that may be thawed (all are used, "
            "discarded, thawed already or at their certificate's thaw limit)."
        )
    if not offers:
        raise rules.InsufficientVolume(
            "No released, in-date lot has a vial in stock. Receive or release a lot first."
        )
    first, offer = offers[0]
    if lot is None:
        lot = first
    elif lot.id != first.id:
        raise rules.FefoOrderViolated(
            f"Lot {_label(first)} expires first ({offer.expires_at:%Y-%m-%d}); thaw from it "
            f"before lot {_label(lot)}."
        )
    if vial is None:
        candidates = _thawable(lot, _vials(ctx, lot.id, lock=True))
        if not candidates:  # another thaw took the last one while we looked
            raise rules.ThawLimitReached(f"Lot {_label(lot)} has no vial left to thaw.")
        vial = candidates[0]
    rules.check_vial_transition(vial.code, V(vial.status), V.THAWED)
    if vial.thaw_count >= lot.max_thaw_cycles:
        raise rules.ThawLimitReached(
            f"Vial {vial.code} has been thawed {vial.thaw_count} time(s); its certificate "
            f"allows {lot.max_thaw_cycles}. Discard it."
        )
    before: dict[str, Any] = {"status": vial.status, "thaw_count": vial.thaw_count}
    vial.status, vial.thaw_count = V.THAWED.value, vial.thaw_count + 1
    vial.thawed_at, vial.thaw_method = now, data.method.strip()
    _touch(ctx, vial)
    ctx.db.flush()
    deadline = rules.hold_deadline(now, _lot_hold(settings, lot))
    _event(
        ctx,
        lot,
        "vial.thaw",
        vial=vial,
        from_status=before["status"],
        to_status=vial.status,
        detail={
            "thaw_count": vial.thaw_count,
            "method": vial.thaw_method,
            "use_by": deadline.isoformat(),
        },
    )
    _audit(
        ctx,
        "vial.thaw",
        VIAL_RECORD,
        vial,
        before=before,
        after={
            "status": vial.status,
            "thaw_count": vial.thaw_count,
            "thawed_at": now.isoformat(),
            "method": vial.thaw_method,
        },
    )
    return vial


def _lot_hold(settings: Settings, lot: ProductLot) -> rules.HoldPolicy:
    """The hold policy of the lot's protocol (the default when the protocol file is gone)."""
    protocol = registry.get(settings.protocols_dir, lot.protocol_id or "")
    return rules.HoldPolicy() if protocol is None else protocol.hold_policy()


def _locked_vial(ctx: Ctx, vial_id: int) -> ProductVial:
    vial = ctx.db.scalars(
        select(ProductVial)
        .where(ProductVial.id == vial_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if vial is None:
        raise NotFound("No vial with this id.")
    _lot(ctx, vial.lot_id)  # site check
    return vial


def refreeze_vial(*, ctx: Ctx, settings: Settings, vial_id: int, data: Versioned) -> ProductVial:
    """Return a thawed vial to frozen stock — only when its certificate allows another thaw.

    ``reference/clinical.md`` §2.4: no refreezing unless the certificate's
    stability data validate more than one thaw; a vial past its hold time is
    discarded instead.
    """
    authorize(ctx=ctx, action=Action.INVENTORY_RECORD)
    vial = _locked_vial(ctx, vial_id)
    _check_version(vial, data.version, "vial")
    lot = _lot(ctx, vial.lot_id)
    rules.check_vial_transition(vial.code, V(vial.status), V.IN_STOCK)
    if vial.thaw_count >= lot.max_thaw_cycles:
        raise rules.RefreezeRefused(
            f"Vial {vial.code} may not be refrozen: its certificate allows "
            f"{lot.max_thaw_cycles} thaw(s) and it has had {vial.thaw_count}. "
            "Use it within its hold time or discard it."
        )
    assert vial.thawed_at is not None
    if not rules.within_hold(vial.thawed_at, ctx.clock.now(), _lot_hold(settings, lot)):
        raise rules.RefreezeRefused(f"Vial {vial.code} is past its hold time; discard it.")
    before: dict[str, Any] = {"status": vial.status, "thawed_at": vial.thawed_at.isoformat()}
    vial.status, vial.thawed_at = V.IN_STOCK.value, None
    _touch(ctx, vial)
    ctx.db.flush()
    _event(
        ctx,
        lot,
        "vial.refreeze",
        vial=vial,
        from_status=before["status"],
        to_status=vial.status,
        detail={"thaw_count": vial.thaw_count},
    )
    _audit(
        ctx,
        "vial.refreeze",
        VIAL_RECORD,
        vial,
        before=before,
        after={"status": vial.status, "thaw_count": vial.thaw_count},
    )
    return vial


def discard_vial(*, ctx: Ctx, vial_id: int, data: Reasoned) -> ProductVial:
    """Discard a vial in stock or thawed (e.g. past its hold time), with a reason."""
    authorize(ctx=ctx, action=Action.INVENTORY_RECORD)
    vial = _locked_vial(ctx, vial_id)
    _check_version(vial, data.version, "vial")
    lot = _lot(ctx, vial.lot_id)
    reason = data.reason.strip()
    rules.check_vial_transition(vial.code, V(vial.status), V.DISCARDED)
    before: dict[str, Any] = {"status": vial.status, "remaining_ul": vial.remaining_ul}
    volume = vial.remaining_ul
    vial.discarded_ul += volume
    vial.remaining_ul = 0
    vial.status = V.DISCARDED.value
    _touch(ctx, vial)
    ctx.db.flush()
    _event(
        ctx,
        lot,
        "vial.discard",
        vial=vial,
        from_status=before["status"],
        to_status=vial.status,
        volume_ul=volume,
        reason=reason,
    )
    _audit(
        ctx,
        "vial.discard",
        VIAL_RECORD,
        vial,
        before=before,
        after={"status": vial.status, "discarded_ul": vial.discarded_ul},
        reason=reason,
    )
    return vial


# --- the balance ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class LotBalance:
    """Volumes of one lot (mL) and vials by status; received = in stock + used + discarded."""

    received_ml: float
    in_stock_ml: float
    used_ml: float
    discarded_ml: float
    vials: dict[str, int]

    @property
    def balanced(self) -> bool:
        """True when every microlitre received is accounted for."""
        return _ul(self.received_ml) == _ul(self.in_stock_ml + self.used_ml + self.discarded_ml)


def balance_of(vials: Sequence[ProductVial]) -> LotBalance:
    """The balance of a lot's vials (summed in whole microlitres, so it closes exactly)."""
    counts = {s.value: 0 for s in V}
    for v in vials:
        counts[v.status] += 1
    return LotBalance(
        received_ml=_ml(sum(v.initial_ul for v in vials)),
        in_stock_ml=_ml(sum(v.remaining_ul for v in vials)),
        used_ml=_ml(sum(v.used_ul for v in vials)),
        discarded_ml=_ml(sum(v.discarded_ul for v in vials)),
        vials=counts,
    )


# --- preparation: the checks, the arithmetic, the draw -------------------------------------


@dataclasses.dataclass(frozen=True)
class Draft:
    """Everything a preparation would use now, with every check (the preview and the action)."""

    checks: tuple[rules.Check, ...]
    plan: rules.DosePlan | None
    lot: ProductLot | None
    vials: tuple[ProductVial, ...]
    device: rules.NebulizerFill | None
    protocol: ProtocolFile
    dose_particles: float | None
    fill_ml: float | None
    hold: rules.HoldPolicy

    @property
    def blockers(self) -> tuple[str, ...]:
        """The messages of the failed checks."""
        return rules.Checklist(self.checks).blockers

    def require(self) -> None:
        """Raise the first failed check's error."""
        rules.Checklist(self.checks).require_all()


def _fail(key: str, error: rules.PreparationError) -> rules.Check:
    return rules.Check(key, error.message, error)


def _lock_session(ctx: Ctx, session_id: int) -> TherapySession:
    session = ctx.db.scalars(
        select(TherapySession)
        .where(TherapySession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if session is None:
        raise NotFound("No such session.")
    patients.load_visible(ctx, session.patient_id)
    return session


def _session(ctx: Ctx, session_id: int) -> TherapySession:
    session = ctx.db.get(TherapySession, session_id)
    if session is None:
        raise NotFound("No such session.")
    patients.load_visible(ctx, session.patient_id)
    return session


def active_preparation(db_or_ctx: Any, session_id: int) -> DosePreparation | None:
    """The session's preparation that is prepared or verified (at most one), if any."""
    db = getattr(db_or_ctx, "db", db_or_ctx)
    found: DosePreparation | None = db.scalars(
        select(DosePreparation)
        .where(DosePreparation.session_id == session_id, DosePreparation.status.in_(ACTIVE))
        .order_by(DosePreparation.id.desc())
        .limit(1)
    ).first()
    return found


def _eligibility(ctx: Ctx, session: TherapySession) -> rules.Check:
    facts = sessions.facts_for(ctx=ctx, session=session)
    check = rules.check_eligibility(
        rules.EligibilityFacts(
            cleared=facts.eligibility == "cleared", signed="assessment" in facts.signed_steps
        )
    )
    if check.passed and State(session.state) not in PREPARABLE:
        return _fail(
            "eligibility",
            rules.EligibilityNotCleared(
                f"The session is {session.state}; a dose is prepared only for a session that "
                "has been cleared for dosing."
            ),
        )
    return check


def _no_other_dose(ctx: Ctx, session: TherapySession) -> list[rules.Check]:
    """A failed check when the session already has a dose made (one active dose per session)."""
    existing = active_preparation(ctx, session.id)
    if existing is None:
        return []
    return [
        _fail(
            "existing",
            rules.DuplicateRecord(
                f"This session already has a {existing.status} dose "
                f"({existing.label_code}). Discard it with a reason before preparing another."
            ),
        )
    ]


def _choose_lot(ctx: Ctx, lot_id: int | None, now: datetime) -> ProductLot | rules.Check:
    """The lot asked for, or FEFO: the first usable lot with a thawed vial, else the first one."""
    if lot_id is not None:
        lot = _lot(ctx, lot_id)
        if lot.kind != EXOSOME:
            raise InvalidInput("Choose an exosome lot for the stock.", field="lot_id")
        return lot
    usable = [lot for lot in _site_exosome_lots(ctx) if _usability(lot, now) is None]
    for lot in usable:
        if any(v.status == V.THAWED.value for v in _vials(ctx, lot.id)):
            return lot
    if usable:
        return usable[0]
    return _fail(
        "lot",
        rules.LotNotUsable(
            "No released, in-date exosome lot is available. Receive and release a lot first."
        ),
    )


def _draft(
    ctx: Ctx, settings: Settings, session: TherapySession, data: PlanIn, *, lock: bool
) -> Draft:
    now = ctx.clock.now()
    protocol = _protocol(settings, session.protocol_id)
    hold = protocol.hold_policy()
    checks: list[rules.Check] = [_eligibility(ctx, session)]
    checks.extend(_no_other_dose(ctx, session))
    arm = protocol.arm(session.arm_code)
    dose = arm.dose_particles if arm is not None else None
    fill = arm.fill_volume_ml if arm is not None else None
    if dose is None or fill is None:
        checks.append(
            _fail(
                "dose_level",
                rules.DoseNotPreparable(
                    f"Dose level {session.arm_code} of protocol {protocol.id} gives no dose in "
                    "particles or no fill volume, so no dose can be prepared for it."
                ),
            )
        )
    allowed = {
        kind
        for r in protocol.regimens().values()
        if r.carries_vesicles
        for kind in r.allowed_device_kinds
    }
    device = rules.nebulizer_fill(data.nebulizer_key, allowed)
    chosen = _choose_lot(ctx, data.lot_id, now)
    lot = chosen if isinstance(chosen, ProductLot) else None
    vials: list[ProductVial] = []
    plan: rules.DosePlan | None = None
    if isinstance(chosen, rules.Check):
        checks.append(chosen)
    if lot is not None:
        checks.append(rules.check_lot(_label(lot), L(lot.status), lot.expires_at, now))
        thawed = [v for v in _vials(ctx, lot.id, lock=lock) if v.status == V.THAWED.value]
        holds = [
            (v, rules.check_vial_hold(v.code, v.thawed_at, now, hold))
            for v in thawed
            if v.thawed_at is not None
        ]
        vials = [v for v, c in holds if c.passed]
        if not thawed:
            checks.append(
                _fail(
                    "hold_time",
                    rules.InsufficientVolume(
                        f"No vial of lot {_label(lot)} is thawed. Thaw a vial (first expiry "
                        "first) before preparing the dose."
                    ),
                )
            )
        elif not vials:
            checks.append(next(c for _, c in holds if not c.passed))
        else:
            checks.extend(c for _, c in holds if c.passed)
        if dose is not None and fill is not None and lot.certified_particles_per_ml:
            try:
                plan = rules.plan_dose(
                    dose_particles=dose,
                    certified_particles_per_ml=lot.certified_particles_per_ml,
                    fill_ml=fill,
                    device=device,
                    **protocol.dose_arguments(),
                )
            except rules.PreparationError as exc:
                checks.append(_fail("dose", exc))
            else:
                checks.append(rules.Check("dose", "The dose arithmetic is within the limits."))
                if vials:
                    available = _ml(sum(v.remaining_ul for v in vials))
                    checks.append(rules.check_volume(plan.stock_ml, available))
        elif lot.certified_particles_per_ml in (None, 0):
            checks.append(
                _fail(
                    "dose",
                    rules.DoseNotPreparable(
                        f"Lot {_label(lot)} has no certified concentration on its certificate."
                    ),
                )
            )
    return Draft(
        checks=tuple(checks),
        plan=plan,
        lot=lot,
        vials=tuple(vials),
        device=device,
        protocol=protocol,
        dose_particles=dose,
        fill_ml=fill,
        hold=hold,
    )


def plan(*, ctx: Ctx, settings: Settings, session_id: int, data: PlanIn) -> Draft:
    """What a preparation would use now, with every block and the arithmetic (nothing stored)."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    session = _session(ctx, session_id)
    return _draft(ctx, settings, session, data, lock=False)


def _saline(ctx: Ctx, saline_lot_id: int, now: datetime) -> ProductLot:
    saline = _lot(ctx, saline_lot_id)
    if saline.kind != SALINE:
        raise InvalidInput("Choose a saline lot for the diluent.", field="saline_lot_id")
    error = _usability(saline, now)
    if error is not None:
        raise error
    return saline


def prepare(*, ctx: Ctx, settings: Settings, session_id: int, data: PrepareIn) -> DosePreparation:
    """Prepare the session's dose from thawed vials and sign it ("performed").

    Every check of :func:`plan` must pass, the appearance check is recorded,
    the stock is drawn from the thawed vial(s) in hold (earliest thaw first;
    each vial drawn is *used*, the rest of it discarded: single-use aliquots,
    ``reference/clinical.md`` §2.4), and the preparer signs with their password.
    """
    authorize(ctx=ctx, action=Action.PREPARATION_RECORD)
    session = _lock_session(ctx, session_id)
    now = ctx.clock.now()
    draft = _draft(ctx, settings, session, data, lock=True)
    draft.require()
    assert draft.lot is not None
    assert draft.plan is not None
    assert draft.device is not None
    saline = _saline(ctx, data.saline_lot_id, now)
    rules.check_appearance(draft.vials[0].code, data.appearance_ok).require()
    lot, dose_plan = draft.lot, draft.plan
    draws: list[tuple[ProductVial, int, int]] = []
    remaining = _ul(dose_plan.stock_ml)
    for vial in sorted(draft.vials, key=lambda v: (v.thawed_at or now, v.number)):
        if remaining == 0:
            break
        take = min(remaining, vial.remaining_ul)
        draws.append((vial, take, vial.remaining_ul - take))
        remaining -= take
    if remaining:  # check_volume passed, so this is a race the locks should have prevented
        raise rules.InsufficientVolume("The thawed vials no longer hold enough stock.")
    thaws = [v.thawed_at for v, _, _ in draws if v.thawed_at is not None]
    use_by = rules.preparation_use_by(prepared_at=now, thaw_started_at=thaws, policy=draft.hold)
    who = _who(ctx)
    p = DosePreparation(
        session_id=session.id,
        patient_id=session.patient_id,
        lot_id=lot.id,
        saline_lot_id=saline.id,
        status=PREPARED,
        protocol_id=draft.protocol.id,
        protocol_version=draft.protocol.version,
        arm_code=session.arm_code,
        nebulizer_key=data.nebulizer_key,
        nebulizer_name=draft.device.name,
        min_fill_ml=draft.device.min_fill_ml,
        max_fill_ml=draft.device.max_fill_ml,
        residual_ml=draft.device.residual_ml,
        compensate_residual=dose_plan.residual_compensated,
        prescribed_particles=dose_plan.prescribed_particles,
        target_particles=dose_plan.target_particles,
        certified_particles_per_ml=dose_plan.certified_particles_per_ml,
        stock_exact_ml=dose_plan.stock_exact_ml,
        stock_ml=dose_plan.stock_ml,
        saline_ml=dose_plan.saline_ml,
        fill_ml=dose_plan.fill_ml,
        loaded_particles=dose_plan.loaded_particles,
        expected_emitted_particles=dose_plan.expected_emitted_particles,
        deviation_fraction=dose_plan.deviation_fraction,
        steps=list(dose_plan.steps),
        checks=[{"key": c.key, "message": c.message} for c in draft.checks]
        + [{"key": "appearance", "message": "No visible particles or aggregates."}],
        appearance_ok=True,
        appearance_note=data.appearance_note,
        thaw_started_at=min(thaws),
        prepared_at=now,
        use_by=use_by,
        label_code=f"EXN-{secrets.token_hex(5).upper()}",
        prepared_by_id=ctx.actor.user_id,
        prepared_by=who,
        updated_at=now,
        updated_by=who,
    )
    ctx.db.add(p)
    ctx.db.flush()
    for vial, _, _ in draws:
        rules.check_vial_transition(vial.code, V(vial.status), V.USED)
    return _draw_and_sign(ctx, settings, p, lot, draws, data.password)


def _draw_and_sign(
    ctx: Ctx,
    settings: Settings,
    p: DosePreparation,
    lot: ProductLot,
    draws: Sequence[tuple[ProductVial, int, int]],
    password: str,
) -> DosePreparation:
    """Draw (vial, µL taken, µL left and discarded) for a new preparation, then sign and audit.

    Each vial drawn is *used* and its rest discarded (single-use aliquots,
    ``reference/clinical.md`` §2.4), one inventory event per vial; the preparer
    signs ("performed") what :func:`signed_content` lists.
    """
    now = ctx.clock.now()
    for vial, take, left in draws:
        ctx.db.add(
            PreparationDraw(
                preparation_id=p.id,
                vial_id=vial.id,
                volume_ul=take,
                remainder_discarded_ul=left,
                thawed_at=vial.thawed_at or now,
            )
        )
        from_status = vial.status
        vial.used_ul += take
        vial.discarded_ul += left
        vial.remaining_ul = 0
        vial.status = V.USED.value
        _touch(ctx, vial)
        _event(
            ctx,
            lot,
            "vial.use",
            vial=vial,
            preparation=p,
            from_status=from_status,
            to_status=V.USED.value,
            volume_ul=take,
            detail={"remainder_discarded_ul": left, "label_code": p.label_code},
        )
    ctx.db.flush()
    signature = accounts.sign(
        ctx=ctx,
        settings=settings,
        record_type=PREP_RECORD,
        record_id=p.id,
        record_version=p.version,
        content=signed_content(p),
        meaning="performed",
        password=password,
        patient_id=p.patient_id,
    )
    p.signature_id = signature.id
    ctx.db.flush()
    _audit(
        ctx,
        "preparation.prepare",
        PREP_RECORD,
        p,
        patient_id=p.patient_id,
        after=signed_content(p) | {"signature_id": signature.id},
    )
    return p


def signed_content(p: DosePreparation) -> dict[str, Any]:
    """What the preparer's signature covers: the inputs, the arithmetic and the label."""
    return {
        "preparation_id": p.id,
        "session_id": p.session_id,
        "patient_id": p.patient_id,
        "lot_id": p.lot_id,
        "saline_lot_id": p.saline_lot_id,
        "protocol": {"id": p.protocol_id, "version": p.protocol_version},
        "arm": p.arm_code,
        "nebulizer_key": p.nebulizer_key,
        "prescribed_particles": p.prescribed_particles,
        "target_particles": p.target_particles,
        "certified_particles_per_ml": p.certified_particles_per_ml,
        "stock_ml": p.stock_ml,
        "saline_ml": p.saline_ml,
        "fill_ml": p.fill_ml,
        "loaded_particles": p.loaded_particles,
        "steps": p.steps,
        "appearance_ok": p.appearance_ok,
        "thaw_started_at": p.thaw_started_at.isoformat(),
        "prepared_at": p.prepared_at.isoformat(),
        "use_by": p.use_by.isoformat(),
        "label_code": p.label_code,
    } | (
        {}
        if p.dose_unit is None
        else {"dose_amount": p.dose_amount, "dose_unit": p.dose_unit, "actuations": p.actuations}
    )


def _dose_usable(ctx: Ctx, p: DosePreparation, now: datetime) -> rules.Checklist:
    """A made dose may still be given: in date, and neither of its lots recalled or held."""
    checks = [rules.check_prepared_dose_in_date(p.use_by, now)]
    for lot_id in (p.lot_id, p.saline_lot_id):
        if lot_id is None:  # an inhaler dose is not diluted
            continue
        lot = ctx.db.get(ProductLot, lot_id)
        assert lot is not None
        if lot.status in (L.RECALLED.value, L.QUARANTINE.value, L.REJECTED.value):
            error = _usability(lot, now)
            assert error is not None
            checks.append(_fail("lot", error))
    return rules.Checklist(tuple(checks))


def verify(*, ctx: Ctx, settings: Settings, session_id: int, data: VerifyIn) -> DosePreparation:
    """A second person — another user with a verifying role — checks the dose and signs."""
    authorize(ctx=ctx, action=Action.PREPARATION_VERIFY)
    session = _lock_session(ctx, session_id)
    p = active_preparation(ctx, session.id)
    if p is None:
        raise NotFound("This session has no prepared dose to verify.")
    _check_version(p, data.version, "preparation")
    if p.status != PREPARED:
        raise RuleViolation(f"This dose is already {p.status}.")
    rules.check_second_person(
        prepared_by=str(p.prepared_by_id),
        verified_by=str(ctx.actor.user_id),
        verifier_roles=[ctx.actor.role],
        allowed_roles=VERIFIER_ROLES,
    ).require()
    now = ctx.clock.now()
    _dose_usable(ctx, p, now).require_all()
    signature = accounts.sign(
        ctx=ctx,
        settings=settings,
        record_type=PREP_RECORD,
        record_id=p.id,
        record_version=p.version,
        content=signed_content(p),
        meaning="verified",
        password=data.password,
        patient_id=p.patient_id,
    )
    p.status, p.verified_at, p.verified_by = VERIFIED, now, _who(ctx)
    p.verified_by_id, p.verification_signature_id = ctx.actor.user_id, signature.id
    _touch(ctx, p)
    ctx.db.flush()
    _audit(
        ctx,
        "preparation.verify",
        PREP_RECORD,
        p,
        patient_id=p.patient_id,
        before={"status": PREPARED},
        after={"status": VERIFIED, "signature_id": signature.id},
    )
    return p


def discard_preparation(
    *, ctx: Ctx, session_id: int, data: DiscardPreparationIn
) -> DosePreparation:
    """Discard a made dose that will not be given (with a reason); a new one may then be made."""
    authorize(ctx=ctx, action=Action.PREPARATION_RECORD)
    session = _lock_session(ctx, session_id)
    if State(session.state) not in PREPARABLE:
        raise RuleViolation(f"The session is {session.state}; its dose can no longer change.")
    p = active_preparation(ctx, session.id)
    if p is None:
        raise NotFound("This session has no prepared dose.")
    _check_version(p, data.version, "preparation")
    reason = data.reason.strip()
    before = {"status": p.status}
    p.status, p.discarded_at, p.discarded_by, p.discard_reason = (
        DISCARDED,
        ctx.clock.now(),
        _who(ctx),
        reason,
    )
    _touch(ctx, p)
    ctx.db.flush()
    _audit(
        ctx,
        "preparation.discard",
        PREP_RECORD,
        p,
        patient_id=p.patient_id,
        before=before,
        after={"status": DISCARDED},
        reason=reason,
    )
    return p


# --- comparator products: drug and cell lots, their release and their doses --------------


def _product_problem(data: ProductLotIn) -> tuple[str, str] | None:
    """The first missing or contradictory label field of a drug/cell lot, as (field, message)."""
    if data.kind == products.CELLS:
        if data.strength_unit != products.CELLS or data.strength_per_ml is None:
            return "strength_per_ml", "A cell product gives its concentration in cells/mL."
        if data.volume_per_unit_ml is None:
            return "volume_per_unit_ml", "Give the volume per vial of the cell product."
        return None
    if data.dosage_form is None:
        return "dosage_form", "Say whether the drug is a solution for nebulization or an inhaler."
    if data.dosage_form == products.INHALER:
        if data.emitted_dose_ug is None or data.actuations_per_unit is None:
            return (
                "emitted_dose_ug",
                "An inhaler needs its emitted dose per actuation (µg) and actuations per device.",
            )
        return None
    if data.strength_per_ml is None or data.strength_unit not in ("mg", "ug"):
        return "strength_per_ml", "A drug solution gives its strength in mg/mL or µg/mL."
    if data.volume_per_unit_ml is None:
        return "volume_per_unit_ml", "Give the volume per ampoule or vial of the solution."
    return None


def receive_product_lot(*, ctx: Ctx, settings: Settings, data: ProductLotIn) -> ProductLot:
    """Record a drug (solution or inhaler) or cell-product lot; it starts in quarantine.

    One inventory row per ampoule, vial or inhaler (``ProductVial``); an
    inhaler's row holds no volume (it is dispensed whole, its actuations are
    counted on the lot).
    """
    authorize(ctx=ctx, action=Action.LOT_RECEIVE)
    _protocol(settings, data.protocol_id)
    if data.expires_at.tzinfo is None:
        raise InvalidInput("Give the expiry with its time zone.", field="expires_at")
    problem = _product_problem(data)
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])
    _duplicate_check(ctx, data.kind, data.manufacturer, data.lot_number)
    now, who = ctx.clock.now(), _who(ctx)
    inhaler = data.dosage_form == products.INHALER
    per_unit_ml = 0.0 if inhaler else float(data.volume_per_unit_ml or 0.0)
    values = data.model_dump(exclude={"kind", "unit_count", "volume_per_unit_ml"})
    lot = ProductLot(
        **values,
        site_id=ctx.actor.site_id,
        kind=data.kind,
        vial_count=data.unit_count,
        volume_per_vial_ml=per_unit_ml,
        max_thaw_cycles=1,
        markers={},
        status=L.QUARANTINE.value,
        status_reason="received: awaiting the pharmacist's label check",
        received_at=now,
        received_by=who,
        updated_at=now,
        updated_by=who,
    )
    ctx.db.add(lot)
    ctx.db.flush()
    per_unit_ul = _ul(per_unit_ml)
    _add_vials(ctx, lot, data.unit_count, per_unit_ul, "U")
    _event(
        ctx,
        lot,
        "lot.receive",
        to_status=lot.status,
        volume_ul=per_unit_ul * data.unit_count,
        detail={"kind": data.kind, "units": data.unit_count, "dosage_form": data.dosage_form},
    )
    _audit(ctx, "lot.receive", LOT_RECORD, lot, after=_lot_record(lot))
    return lot


def release_product_lot(
    *, ctx: Ctx, settings: Settings, lot_id: int, data: ProductReleaseIn
) -> ProductLot:
    """Release a drug or cell lot: the pharmacist confirms batch, expiry and identity (e-signature).

    Every confirmation is a criterion of the stored checklist; one not given
    refuses the release with the checklist's summary.
    """
    authorize(ctx=ctx, action=Action.LOT_RELEASE)
    lot = _lot(ctx, lot_id, lock=True)
    _check_version(lot, data.version, "lot")
    if lot.kind not in (products.DRUG, products.CELLS):
        raise RuleViolation(f"A {lot.kind} lot is not released against its label here.")
    rules.check_lot_transition(_label(lot), L(lot.status), L.RELEASED)
    now = ctx.clock.now()
    evaluation = products.label_release(
        lot_number=lot.lot_number,
        product_name=lot.product_name,
        expiry_text=f"{lot.expires_at:%Y-%m-%d}",
        batch=data.batch_matches,
        expiry=data.expiry_matches,
        identity=data.identity_matches,
    )
    if not evaluation.releasable:
        raise rules.ReleaseRefused(f"Lot {_label(lot)}: {evaluation.summary()}")
    if now >= lot.expires_at:
        raise rules.LotExpired(f"Lot {_label(lot)} is past its expiry and cannot be released.")
    release, _ = _decide(
        ctx, settings, lot, "released", password=data.password, reason=None, evaluation=evaluation
    )
    before = _snapshot(lot)
    _move_lot(ctx, lot, L.RELEASED, evaluation.summary())
    lot.released_at, lot.released_by = now, _who(ctx)
    _log_move(ctx, lot, "lot.release", before, detail={"release_id": release.id})
    return lot


#: What a session's arm is prepared from: an exosome lot, a comparator product, or saline alone.
MODE_EXOSOME, MODE_PRODUCT, MODE_PLACEBO = "exosome", "product", "placebo"


def arm_mode(protocol: ProtocolFile, arm_code: str) -> str:
    """How the arm's dose is made: ``exosome`` (particles), ``product`` (mg/µg/cells) or
    ``placebo`` (a vehicle-only arm: saline to the fill volume)."""
    if protocol.arm_is_vehicle_only(arm_code):
        return MODE_PLACEBO
    dose = protocol.arm_dose(arm_code)
    if dose is not None and dose[1] != "particles":
        return MODE_PRODUCT
    return MODE_EXOSOME


def _arm_product_dose(protocol: ProtocolFile, arm_code: str) -> tuple[float, str, float | None]:
    """The arm's comparator dose, its unit and fill; refused for a particle arm or none."""
    dose = protocol.arm_dose(arm_code)
    if dose is None:
        raise rules.DoseNotPreparable(
            f"Dose level {arm_code} of protocol {protocol.id} gives no dose, so none can be "
            "prepared for it."
        )
    amount, unit = dose
    if unit == "particles":
        raise WrongProductForArm(
            f"Arm {arm_code} is dosed in particles: prepare it from an exosome lot."
        )
    regimen = protocol.arm_regimen(arm_code)
    if regimen is not None:
        products.check_arm_unit(
            arm_unit=unit, regimen_unit=regimen.dose_unit.value, regimen_name=regimen.name
        )
    arm = protocol.arm(arm_code)
    return amount, unit, None if arm is None else arm.fill_volume_ml


@dataclasses.dataclass(frozen=True)
class ProductDraft:
    """A comparator or placebo dose as it would be made now: every check and the arithmetic.

    The preview (page, ``…/preparation/product/plan``) and the action
    (:func:`prepare_product`, :func:`prepare_placebo`) build the same draft, so
    the page lists exactly the blocks the action would raise.
    """

    mode: str
    checks: tuple[rules.Check, ...]
    plan: products.ProductDosePlan | None
    lot: ProductLot | None
    saline: ProductLot | None
    device_key: str | None
    device: rules.NebulizerFill | None
    inhaler: bool
    draws: tuple[tuple[ProductVial, int], ...]
    protocol: ProtocolFile
    dose_amount: float | None
    dose_unit: str | None
    fill_ml: float | None
    allowed_device_kinds: frozenset[str]

    @property
    def blockers(self) -> tuple[str, ...]:
        """The messages of the failed checks."""
        return rules.Checklist(self.checks).blockers

    def require(self) -> None:
        """Raise the first failed check's error."""
        rules.Checklist(self.checks).require_all()


def _as_check(key: str, error: DomainError) -> rules.Check:
    """A refusal as a failed check (a core error keeps its message and its field)."""
    if isinstance(error, rules.PreparationError):
        return _fail(key, error)
    field = getattr(error, "field", None)
    wrapped = rules.InvalidInput(error.message, field=field) if field else None
    return _fail(key, wrapped or rules.DoseNotPreparable(error.message))


def _usable_lots(ctx: Ctx, kind: str, now: datetime) -> list[ProductLot]:
    """The site's usable lots of a kind, first expiry first."""
    return [lot for lot in lots(ctx=ctx, kind=kind) if _usability(lot, now) is None]


def _device_for(
    key: str | None, allowed: frozenset[str], *, inhaler_ok: bool
) -> tuple[str, bool, rules.NebulizerFill]:
    """The catalog device chosen (or the first the regimen allows): key, inhaler?, limits."""
    catalog = nebulizer_catalog()
    if key is None:
        choices = sorted(
            (s for s in catalog.values() if s.kind in allowed and (inhaler_ok or not s.is_inhaler)),
            key=lambda s: (s.is_inhaler, s.name),
        )
        if not choices:
            raise InvalidInput("The arm's regimen allows no catalog device.", field="device_key")
        key = choices[0].id
    spec = catalog.get(key)
    if spec is None or spec.kind not in allowed:
        raise InvalidInput(
            f"{key!r} is not a catalog device this arm's regimen allows "
            f"({', '.join(sorted(allowed))}).",
            field="device_key",
        )
    if spec.is_inhaler:
        return key, True, rules.NebulizerFill(spec.name, 1.0, 1.0)  # no reservoir
    return key, False, rules.nebulizer_fill(key, allowed)


def _product_draft(
    ctx: Ctx, settings: Settings, session: TherapySession, data: ProductPlanIn, *, lock: bool
) -> ProductDraft:
    """Everything a comparator or placebo preparation would use now, with every check."""
    now = ctx.clock.now()
    protocol = _protocol(settings, session.protocol_id)
    mode = arm_mode(protocol, session.arm_code)
    regimen = protocol.arm_regimen(session.arm_code)
    allowed = frozenset() if regimen is None else frozenset(regimen.allowed_device_kinds)
    checks: list[rules.Check] = [_eligibility(ctx, session)]
    checks.extend(_no_other_dose(ctx, session))
    draft: dict[str, Any] = {
        "mode": mode, "plan": None, "lot": None, "saline": None, "device_key": None,
        "device": None, "inhaler": False, "draws": (), "protocol": protocol,
        "dose_amount": None, "dose_unit": None, "fill_ml": None, "allowed_device_kinds": allowed,
    }  # fmt: skip

    def done() -> ProductDraft:
        return ProductDraft(checks=tuple(checks), **draft)

    if mode == MODE_EXOSOME:
        checks.append(
            _fail(
                "dose_level",
                WrongProductForArm(
                    f"Arm {session.arm_code} is dosed in particles: prepare it from an exosome lot."
                ),
            )
        )
        return done()
    try:
        key, inhaler, device = _device_for(
            data.device_key, allowed, inhaler_ok=mode == MODE_PRODUCT
        )
    except DomainError as exc:
        checks.append(_as_check("device", exc))
        return done()
    draft |= {"device_key": key, "inhaler": inhaler, "device": device}
    args = protocol.dose_arguments()  # residual compensation is for particle doses only
    step = args.get("volume_step_ml", 0.01)
    if mode == MODE_PLACEBO:
        arm = protocol.arm(session.arm_code)
        fill = None if arm is None else arm.fill_volume_ml
        draft |= {"fill_ml": fill, "dose_amount": 0.0, "dose_unit": "particles"}
        saline = _saline_choice(ctx, data.saline_lot_id or data.lot_id, now, checks)
        draft |= {"saline": saline, "lot": saline}
        if saline is None or fill is None:
            return done()
        try:
            plan = products.plan_vehicle(
                fill_ml=fill, device=device, saline_lot=_label(saline), volume_step_ml=step
            )
        except DomainError as exc:
            checks.append(_as_check("dose", exc))
            return done()
        checks.append(rules.Check("dose", "The placebo fill is within the nebulizer's limits."))
        draft["plan"] = plan
        return done()
    try:
        amount, unit, fill = _arm_product_dose(protocol, session.arm_code)
    except DomainError as exc:
        checks.append(_as_check("dose_level", exc))
        return done()
    draft |= {"dose_amount": amount, "dose_unit": unit, "fill_ml": None if inhaler else fill}
    kind = products.CELLS if unit == products.CELLS else products.DRUG
    lot: ProductLot | None = None
    if data.lot_id is not None:
        lot = _lot(ctx, data.lot_id)
    else:
        candidates = [
            c for c in _usable_lots(ctx, kind, now)
            if kind == products.CELLS
            or c.dosage_form == (products.INHALER if inhaler else products.SOLUTION)
        ]  # fmt: skip
        lot = candidates[0] if candidates else None
    if lot is None:
        what = "cell-product" if kind == products.CELLS else (
            "inhaler" if inhaler else "drug solution")  # fmt: skip
        checks.append(
            _fail(
                "lot",
                rules.LotNotUsable(
                    f"No released, in-date {what} lot is available. Receive and release one "
                    "first (Product lots)."
                ),
            )
        )
        return done()
    draft["lot"] = lot
    try:
        products.check_product_for_arm(
            arm_unit=unit,
            lot_kind=lot.kind,
            dosage_form=lot.dosage_form,
            lot_unit=lot.strength_unit if lot.dosage_form != products.INHALER else "ug",
            inhaler=inhaler,
        )
    except DomainError as exc:
        checks.append(_as_check("lot", exc))
        return done()
    checks.append(rules.check_lot(_label(lot), L(lot.status), lot.expires_at, now))
    stock = [v for v in _vials(ctx, lot.id, lock=lock) if v.status == V.IN_STOCK.value]
    try:
        if inhaler:
            plan = products.plan_actuations(
                dose_amount=amount,
                dose_unit=unit,
                emitted_dose_ug=float(lot.emitted_dose_ug or 0.0),
                actuations_available=int(lot.actuations_per_unit or 0),
            )
        else:
            if fill is None:
                raise rules.DoseNotPreparable(f"Arm {session.arm_code} gives no fill volume.")
            plan = products.plan_volume_dose(
                dose_amount=amount,
                dose_unit=unit,
                strength_per_ml=float(lot.strength_per_ml or 0.0),
                strength_unit=str(lot.strength_unit),
                fill_ml=fill,
                device=device,
                volume_step_ml=step,
                max_rounding_deviation=args.get("max_rounding_deviation", 0.05),
            )
    except DomainError as exc:
        checks.append(_as_check("dose", exc))
        return done()
    draft["plan"] = plan
    checks.append(rules.Check("dose", "The dose arithmetic is within the limits."))
    if inhaler:
        if not stock:
            checks.append(
                _fail(
                    "volume",
                    rules.InsufficientVolume(f"No inhaler of lot {_label(lot)} is left in stock."),
                )
            )
        else:
            draft["draws"] = ((stock[0], 0),)
        return done()
    volume = rules.check_volume(plan.product_ml, _ml(sum(v.remaining_ul for v in stock)))
    checks.append(volume)
    if volume.passed:
        draws, remaining = [], _ul(plan.product_ml)
        for vial in stock:
            if remaining == 0:
                break
            take = min(remaining, vial.remaining_ul)
            draws.append((vial, take))
            remaining -= take
        draft["draws"] = tuple(draws)
    saline = _saline_choice(ctx, data.saline_lot_id, now, checks)
    draft["saline"] = saline
    return done()


def _saline_choice(
    ctx: Ctx, saline_lot_id: int | None, now: datetime, checks: list[rules.Check]
) -> ProductLot | None:
    """The saline lot named (checked), or the first usable one; a failed check when none."""
    if saline_lot_id is not None:
        try:
            saline = _saline(ctx, saline_lot_id, now)
        except DomainError as exc:
            checks.append(_as_check("saline", exc))
            return None
    else:
        usable = _usable_lots(ctx, SALINE, now)
        if not usable:
            checks.append(
                _fail(
                    "saline",
                    rules.LotNotUsable(
                        "No saline lot is in date and released. Record a saline lot first."
                    ),
                )
            )
            return None
        saline = usable[0]
    checks.append(rules.Check("saline", f"Saline lot {_label(saline)} is usable."))
    return saline


def product_plan(
    *, ctx: Ctx, settings: Settings, session_id: int, data: ProductPlanIn
) -> ProductDraft:
    """What a comparator or placebo preparation would use now (nothing stored)."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    session = _session(ctx, session_id)
    return _product_draft(ctx, settings, session, data, lock=False)


def prepare_product(
    *, ctx: Ctx, settings: Settings, session_id: int, data: ProductPrepareIn
) -> DosePreparation:
    """Prepare and sign a comparator dose: a drug by nebulizer or inhaler, or a cell product.

    The same blocks as an exosome dose (session cleared, no other active dose,
    lot released and in date, enough stock) and the same second-person
    verification (:func:`verify`). Nebulized: volume of product = dose ÷
    strength, diluent (saline) to the arm's fill. Inhaler: actuations = dose ÷
    emitted dose per actuation, refused unless whole; one inhaler is dispensed.
    """
    authorize(ctx=ctx, action=Action.PREPARATION_RECORD)
    session = _lock_session(ctx, session_id)
    plan_in = ProductPlanIn(
        lot_id=data.lot_id, device_key=data.device_key, saline_lot_id=data.saline_lot_id
    )
    draft = _product_draft(ctx, settings, session, plan_in, lock=True)
    if draft.mode == MODE_PLACEBO:
        raise WrongProductForArm(
            f"Arm {session.arm_code} is a saline placebo: prepare it as a placebo (saline only)."
        )
    draft.require()
    if not draft.inhaler and draft.saline is None:
        raise InvalidInput("Choose a saline lot for the diluent.", field="saline_lot_id")
    return _record_product(ctx, settings, session, draft, data)


def prepare_placebo(
    *, ctx: Ctx, settings: Settings, session_id: int, data: PlaceboPrepareIn
) -> DosePreparation:
    """Prepare and sign a saline placebo: the arm's fill volume of normal saline, no dose.

    Only for an arm whose regimen is vehicle-only (saline nebulization). The
    dose is made, signed, verified by a second person and handed over like
    any other (0 particles), so the session workflow is the same in every arm.
    """
    authorize(ctx=ctx, action=Action.PREPARATION_RECORD)
    session = _lock_session(ctx, session_id)
    plan_in = ProductPlanIn(device_key=data.device_key, saline_lot_id=data.saline_lot_id)
    draft = _product_draft(ctx, settings, session, plan_in, lock=True)
    if draft.mode != MODE_PLACEBO:
        raise WrongProductForArm(
            f"Arm {session.arm_code} is not a placebo arm: its dose is made from its own product."
        )
    draft.require()
    return _record_product(ctx, settings, session, draft, data)


def _record_product(
    ctx: Ctx,
    settings: Settings,
    session: TherapySession,
    draft: ProductDraft,
    data: ProductPrepareIn | PlaceboPrepareIn,
) -> DosePreparation:
    """Store, draw and sign a comparator or placebo dose whose draft passed every check."""
    assert draft.lot is not None
    assert draft.plan is not None
    assert draft.device is not None
    assert draft.device_key is not None
    now = ctx.clock.now()
    lot, plan = draft.lot, draft.plan
    spec = nebulizer_catalog()[draft.device_key]
    placebo = draft.mode == MODE_PLACEBO
    what = _label(lot) if not draft.draws else draft.draws[0][0].code
    rules.check_appearance(what, data.appearance_ok).require()
    hold = draft.protocol.hold_policy()
    use_by = rules.preparation_use_by(prepared_at=now, thaw_started_at=[now], policy=hold)
    use_by = min(use_by, lot.expires_at)
    if draft.saline is not None:
        use_by = min(use_by, draft.saline.expires_at)
    who = _who(ctx)
    p = DosePreparation(
        session_id=session.id,
        patient_id=session.patient_id,
        lot_id=lot.id,
        saline_lot_id=None if draft.saline is None else draft.saline.id,
        status=PREPARED,
        protocol_id=draft.protocol.id,
        protocol_version=draft.protocol.version,
        arm_code=session.arm_code,
        nebulizer_key=draft.device_key,
        nebulizer_name=spec.name,
        min_fill_ml=draft.device.min_fill_ml,
        max_fill_ml=draft.device.max_fill_ml,
        residual_ml=spec.residual_ml,
        compensate_residual=False,
        # a comparator or placebo dose carries no vesicles: the particle columns are 0
        prescribed_particles=0.0,
        target_particles=0.0,
        certified_particles_per_ml=0.0,
        stock_exact_ml=plan.product_ml,
        stock_ml=plan.product_ml,
        saline_ml=plan.diluent_ml,
        fill_ml=plan.fill_ml,
        loaded_particles=0.0,
        expected_emitted_particles=0.0,
        deviation_fraction=plan.deviation_fraction,
        # a placebo keeps dose_unit NULL: it hands over 0 particles, like a vesicle-free fill
        dose_amount=None if placebo else plan.loaded_amount,
        dose_unit=None if placebo else plan.dose_unit,
        actuations=plan.actuations,
        steps=list(plan.steps),
        checks=[{"key": c.key, "message": c.message} for c in draft.checks]
        + [
            {
                "key": "appearance",
                "message": "Saline clear, container intact."
                if placebo
                else "Product checked against its label.",
            }
        ],
        appearance_ok=True,
        appearance_note=data.appearance_note,
        thaw_started_at=now,
        prepared_at=now,
        use_by=use_by,
        label_code=f"EXN-{secrets.token_hex(5).upper()}",
        prepared_by_id=ctx.actor.user_id,
        prepared_by=who,
        updated_at=now,
        updated_by=who,
    )
    ctx.db.add(p)
    ctx.db.flush()
    # a drug ampoule or inhaler is not frozen: it goes from stock to used when opened
    opened = [(vial, take, vial.remaining_ul - take) for vial, take in draft.draws]
    return _draw_and_sign(ctx, settings, p, lot, opened, data.password)


# --- the hand-over to inhalation ---------------------------------------------------------


def _handoff(db: Any, p: DosePreparation, *, verified: bool) -> VerifiedDose:
    lot = db.get(ProductLot, p.lot_id)
    return VerifiedDose(
        preparation_id=p.id,
        session_id=p.session_id,
        lot_id=p.lot_id,
        lot_number=lot.lot_number,
        product_name=lot.product_name,
        dose_level=p.arm_code,
        dose_particles=p.loaded_particles,
        # an exosome dose counts particles; a comparator dose its own unit (0 particles)
        dose_amount=p.loaded_particles if p.dose_unit is None else p.dose_amount,
        dose_unit=cast(HandoffDoseUnit, p.dose_unit or "particles"),
        concentration_particles_per_ml=p.certified_particles_per_ml,
        stock_volume_ml=p.stock_ml,
        saline_volume_ml=p.saline_ml,
        fill_volume_ml=p.fill_ml,
        nebulizer_key=p.nebulizer_key,
        prepared_by=p.prepared_by,
        prepared_at=p.prepared_at,
        use_by=p.use_by,
        verified_by=(p.verified_by or "") if verified else "",
        verified_at=(p.verified_at or p.prepared_at) if verified else p.prepared_at,
    )


def verified_dose(db_or_ctx: Any, session_id: int) -> VerifiedDose | None:
    """The session's dose as verified by a second person, or ``None`` if there is none.

    Accepts a :class:`~exoneb.core.context.Ctx` or a database session. No
    permission check and no audit row: the caller (the inhalation step) reads
    it inside its own, already authorised, action. A discarded dose is never
    returned. Whether the dose is still in date is the caller's check at the
    time of use (``use_by``); the session guards check it too.
    """
    db = getattr(db_or_ctx, "db", db_or_ctx)
    p = active_preparation(db, session_id)
    if p is None or p.status != VERIFIED:
        return None
    return _handoff(db, p, verified=True)


def prepared_dose(db_or_ctx: Any, session_id: int) -> VerifiedDose | None:
    """The session's prepared (signed) dose, verified or not, or ``None``.

    For a dose not yet verified, ``verified_by`` is ``""`` and ``verified_at``
    repeats ``prepared_at``: use :func:`verified_dose` whenever the second
    person's check matters.
    """
    db = getattr(db_or_ctx, "db", db_or_ctx)
    p = active_preparation(db, session_id)
    if p is None:
        return None
    return _handoff(db, p, verified=p.status == VERIFIED)


# --- the session state machine -----------------------------------------------------------


def preparation_facts(ctx: Ctx, session: TherapySession) -> FactContribution:
    """Session facts: a signed dose, its second-person check, and whether it is still usable."""
    p = active_preparation(ctx, session.id)
    if p is None:
        # A dose was made and discarded, and no new one yet: it may not be verified or
        # inhaled. A session with no dose at all has no flag (the other guards block it).
        made = ctx.db.scalar(
            select(DosePreparation.id).where(DosePreparation.session_id == session.id).limit(1)
        )
        return FactContribution(flags={} if made is None else {"prepared_dose_usable": False})
    usable = _dose_usable(ctx, p, ctx.clock.now()).passed
    return FactContribution(
        signed_steps=frozenset({"preparation"}) if p.signature_id is not None else frozenset(),
        flags={"verified_by_second_person": p.status == VERIFIED, "prepared_dose_usable": usable},
    )


# The guard that reads ``prepared_dose_usable`` is a pure session rule (sessions/rules.py),
# so the state machine does not depend on which modules happen to be imported.
register_fact_provider(preparation_facts)


# --- reads ---------------------------------------------------------------------------------


def lots(*, ctx: Ctx, kind: str | None = None) -> list[ProductLot]:
    """The site's lots, first expiry first (the register)."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    query = select(ProductLot).where(ProductLot.site_id == ctx.actor.site_id)
    if kind is not None:
        query = query.where(ProductLot.kind == kind)
    return list(ctx.db.scalars(query.order_by(ProductLot.expires_at, ProductLot.id)))


def get_lot(*, ctx: Ctx, lot_id: int) -> ProductLot:
    """One lot of the actor's site."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    return _lot(ctx, lot_id)


def vials_of(*, ctx: Ctx, lot_id: int) -> list[ProductVial]:
    """A lot's vials, by number."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    _lot(ctx, lot_id)
    return _vials(ctx, lot_id)


def events_of(*, ctx: Ctx, lot_id: int) -> list[InventoryEvent]:
    """Every movement of a lot and its vials, oldest first."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    _lot(ctx, lot_id)
    return list(
        ctx.db.scalars(
            select(InventoryEvent)
            .where(InventoryEvent.lot_id == lot_id)
            .order_by(InventoryEvent.at, InventoryEvent.id)
        )
    )


def releases_of(*, ctx: Ctx, lot_id: int) -> list[tuple[LotRelease, list[LotReleaseResult]]]:
    """Every release/rejection decision of a lot with its checklist, oldest first."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    _lot(ctx, lot_id)
    decisions = ctx.db.scalars(
        select(LotRelease).where(LotRelease.lot_id == lot_id).order_by(LotRelease.id)
    ).all()
    return [
        (
            d,
            list(
                ctx.db.scalars(
                    select(LotReleaseResult)
                    .where(LotReleaseResult.release_id == d.id)
                    .order_by(LotReleaseResult.position)
                )
            ),
        )
        for d in decisions
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class RecallRow:
    """One preparation that used a lot: the session and the patient who received it."""

    preparation_id: int
    label_code: str
    preparation_status: str
    role: str  # "stock" | "diluent"
    prepared_at: datetime
    prepared_by: str
    verified_by: str | None
    stock_ml: float
    saline_ml: float
    session_id: int
    session_state: str
    patient_id: int
    mrn: str
    patient_name: str
    birth_date: str


def recall_report(*, ctx: Ctx, lot_id: int) -> list[RecallRow]:
    """Every preparation, session and patient that received the lot (audited: it lists patients).

    Patients of another site are not listed (they are not visible here); the
    other site's own register lists them.
    """
    authorize(ctx=ctx, action=Action.LOT_READ)
    lot = _lot(ctx, lot_id)
    rows = ctx.db.execute(
        select(DosePreparation, TherapySession, Patient)
        .join(TherapySession, TherapySession.id == DosePreparation.session_id)
        .join(Patient, Patient.id == DosePreparation.patient_id)
        .where(
            or_(DosePreparation.lot_id == lot.id, DosePreparation.saline_lot_id == lot.id),
            Patient.site_id == ctx.actor.site_id,
        )
        .order_by(DosePreparation.prepared_at, DosePreparation.id)
    ).all()
    report = [
        RecallRow(
            preparation_id=p.id,
            label_code=p.label_code,
            preparation_status=p.status,
            role=_recall_role(p, lot),
            prepared_at=p.prepared_at,
            prepared_by=p.prepared_by,
            verified_by=p.verified_by,
            stock_ml=p.stock_ml,
            saline_ml=p.saline_ml,
            session_id=s.id,
            session_state=s.state,
            patient_id=pt.id,
            mrn=pt.mrn,
            patient_name=f"{pt.family_name}, {pt.given_name}",
            birth_date=pt.birth_date.isoformat(),
        )
        for p, s, pt in rows
    ]
    _audit(
        ctx,
        "lot.recall_report",
        LOT_RECORD,
        lot,
        after={"preparations": len(report), "patients": sorted({r.patient_id for r in report})},
    )
    return report


def _recall_role(p: DosePreparation, lot: ProductLot) -> str:
    """How the lot went into the dose: stock (product), diluent, or the placebo itself."""
    if p.lot_id == lot.id and p.saline_lot_id == lot.id:
        return "placebo"
    return "stock" if p.lot_id == lot.id else "diluent"


def session_preparations(*, ctx: Ctx, session_id: int) -> list[DosePreparation]:
    """Every preparation of a session (discarded ones too), newest first."""
    return list(
        ctx.db.scalars(
            select(DosePreparation)
            .where(DosePreparation.session_id == session_id)
            .order_by(DosePreparation.id.desc())
        )
    )


def draws_of(*, ctx: Ctx, preparation_id: int) -> list[tuple[PreparationDraw, ProductVial]]:
    """The vials a preparation was drawn from."""
    return [
        (d, v)
        for d, v in ctx.db.execute(
            select(PreparationDraw, ProductVial)
            .join(ProductVial, ProductVial.id == PreparationDraw.vial_id)
            .where(PreparationDraw.preparation_id == preparation_id)
            .order_by(PreparationDraw.id)
        ).all()
    ]


# --- views (what the API and the pages show) ------------------------------------------------


def _columns(record: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        c.key: getattr(record, c.key) for c in type(record).__table__.columns if c.key not in skip
    }


def _sci(value: float) -> str:
    """A large count as ``2.00 × 10⁹`` (the pages' ``sci`` filter writes the same)."""
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa} × 10^{int(exponent)}"


def strength_text(lot: ProductLot) -> str:
    """What one mL or one actuation of the lot holds, in its own unit (never as particles
    for a drug or cell product)."""
    if lot.kind == EXOSOME:
        conc = lot.certified_particles_per_ml
        return "—" if conc is None else f"{_sci(conc)} particles/mL (certified)"
    if lot.kind == SALINE:
        return "sodium chloride 0.9 % (vehicle, no active product)"
    if lot.dosage_form == products.INHALER:
        return (
            f"{lot.emitted_dose_ug or 0:g} µg per actuation (ex-actuator), "
            f"{lot.actuations_per_unit or 0} actuations per inhaler"
        )
    if lot.strength_per_ml is None or lot.strength_unit is None:
        return "—"
    if lot.strength_unit == products.CELLS:
        return f"{_sci(lot.strength_per_ml)} cells/mL"
    return f"{lot.strength_per_ml:g} {products.unit_text(lot.strength_unit)}/mL solution"


def units_text(lot: ProductLot) -> str:
    """How the lot came: vials, ampoules, containers or inhalers, and their volume."""
    n = lot.vial_count
    if lot.kind == SALINE:
        return f"{n} container(s) × {lot.volume_per_vial_ml:g} mL"
    if lot.kind == products.DRUG and lot.dosage_form == products.INHALER:
        return f"{n} inhaler(s)"
    noun = "ampoule(s)" if lot.kind == products.DRUG else "vial(s)"
    return f"{n} {noun} × {lot.volume_per_vial_ml:g} mL"


def lot_view(lot: ProductLot, *, now: datetime) -> dict[str, Any]:
    """A lot as the register and the API show it, with whether it may be used now."""
    error = _usability(lot, now)
    return _columns(lot) | {
        "label": _label(lot),
        "strength_text": strength_text(lot),
        "units_text": units_text(lot),
        "usable": error is None,
        "usable_message": "Usable now." if error is None else error.message,
        "days_to_expiry": (lot.expires_at - now).total_seconds() / 86400,
    }


def vial_view(vial: ProductVial, hold: rules.HoldPolicy, *, now: datetime) -> dict[str, Any]:
    """A vial with its volumes in mL and, when thawed, its hold deadline."""
    deadline = None if vial.thawed_at is None else rules.hold_deadline(vial.thawed_at, hold)
    return _columns(vial) | {
        "initial_ml": _ml(vial.initial_ul),
        "remaining_ml": _ml(vial.remaining_ul),
        "used_ml": _ml(vial.used_ul),
        "discarded_ml": _ml(vial.discarded_ul),
        "hold_until": deadline if vial.status == V.THAWED.value else None,
        "past_hold": vial.status == V.THAWED.value and deadline is not None and now > deadline,
    }


def lot_detail(*, ctx: Ctx, settings: Settings, lot_id: int) -> dict[str, Any]:
    """Everything the lot page shows: certificate, checklist, decisions, vials, balance, events."""
    authorize(ctx=ctx, action=Action.LOT_READ)
    lot = _lot(ctx, lot_id)
    now = ctx.clock.now()
    vials = _vials(ctx, lot.id)
    hold = _lot_hold(settings, lot)
    evaluation = None
    if lot.kind == EXOSOME:
        criteria = _protocol(settings, lot.protocol_id).release_criteria()
        ev = rules.evaluate_release(certificate(lot), criteria)
        evaluation = {
            "releasable": ev.releasable,
            "summary": ev.summary(),
            "results": [dataclasses.asdict(r) | {"outcome": r.outcome.value} for r in ev.results],
        }
    decisions = [
        _columns(d) | {"results": [_columns(r) for r in results]}
        for d, results in releases_of(ctx=ctx, lot_id=lot.id)
    ]
    b = balance_of(vials)
    return {
        "lot": lot_view(lot, now=now),
        "evaluation": evaluation,
        "releases": decisions,
        "vials": [vial_view(v, hold, now=now) for v in vials],
        "balance": dataclasses.asdict(b) | {"balanced": b.balanced},
        "events": [_columns(e) for e in events_of(ctx=ctx, lot_id=lot.id)],
        "hold": {
            "max_hold_min": hold.max_hold.total_seconds() / 60,
            "condition": hold.condition,
            "source": hold.source,
        },
        "next": [s.value for s in sorted(rules.LOT_TRANSITIONS[L(lot.status)])],
    }


def preparation_view(ctx: Ctx, p: DosePreparation) -> dict[str, Any]:
    """A made dose with its lots, the vials it came from and whether it may still be given."""
    lot = ctx.db.get(ProductLot, p.lot_id)
    saline = None if p.saline_lot_id is None else ctx.db.get(ProductLot, p.saline_lot_id)
    assert lot is not None
    usable = _dose_usable(ctx, p, ctx.clock.now())
    return _columns(p) | {
        "lot_number": lot.lot_number,
        "lot_label": _label(lot),
        "product_name": lot.product_name,
        "lot_expires_at": lot.expires_at,
        "saline_lot_number": None if saline is None else saline.lot_number,
        "saline_lot_label": "none (inhaler: not diluted)" if saline is None else _label(saline),
        "mode": _mode_of(p, lot),
        "dose_text": dose_text(p, lot),
        "draws": [
            {
                "vial_id": v.id,
                "vial_code": v.code,
                "volume_ml": _ml(d.volume_ul),
                "remainder_discarded_ml": _ml(d.remainder_discarded_ul),
                "thawed_at": d.thawed_at,
            }
            for d, v in draws_of(ctx=ctx, preparation_id=p.id)
        ],
        "usable": usable.passed,
        "usable_blockers": list(usable.blockers),
    }


def _mode_of(p: DosePreparation, lot: ProductLot) -> str:
    if lot.kind == SALINE:
        return MODE_PLACEBO
    return MODE_EXOSOME if p.dose_unit is None else MODE_PRODUCT


def dose_text(p: DosePreparation, lot: ProductLot) -> str:
    """The made dose in words with its unit, as the page and the label print it."""
    if lot.kind == SALINE:
        return f"placebo: {p.fill_ml:.2f} mL normal saline, no active product"
    if p.dose_unit is None:
        return f"{rules.format_particles(p.loaded_particles)} particles"
    amount = f"{p.dose_amount or 0.0:g} {products.unit_text(p.dose_unit)}"
    return amount if p.actuations is None else f"{amount} = {p.actuations} actuation(s)"


def product_draft_view(draft: ProductDraft) -> dict[str, Any]:
    """The comparator/placebo preview: checks, blockers, the arithmetic, what would be used."""
    plan = draft.plan
    unit = draft.dose_unit
    if draft.mode == MODE_PLACEBO:
        text = "none — saline only (placebo)"
    elif draft.dose_amount is None or unit is None:
        text = "—"
    else:
        text = f"{draft.dose_amount:g} {products.unit_text(unit)}"
    return {
        "mode": draft.mode,
        "checks": [{"key": c.key, "passed": c.passed, "message": c.message} for c in draft.checks],
        "blockers": list(draft.blockers),
        "plan": None if plan is None else dataclasses.asdict(plan),
        "lot_id": None if draft.lot is None else draft.lot.id,
        "lot_label": None if draft.lot is None else _label(draft.lot),
        "saline_lot_id": None if draft.saline is None else draft.saline.id,
        "saline_lot_label": None if draft.saline is None else _label(draft.saline),
        "device_key": draft.device_key,
        "device_name": None if draft.device is None else draft.device.name,
        "inhaler": draft.inhaler,
        "units": [v.code for v, _ in draft.draws],
        "dose_amount": draft.dose_amount,
        "dose_unit": unit,
        "dose_text": text,
        "fill_ml": draft.fill_ml,
        "protocol": {"id": draft.protocol.id, "version": draft.protocol.version},
    }


def _device_choices(allowed: frozenset[str], *, inhalers: bool) -> list[dict[str, Any]]:
    """Catalog devices of the kinds a regimen allows (nebulizers first), for the form."""
    return [
        {"key": s.id, "name": s.name, "kind": s.kind, "residual_ml": s.residual_ml,
         "inhaler": s.is_inhaler}
        for s in sorted(nebulizer_catalog().values(), key=lambda s: (s.is_inhaler, s.name))
        if s.kind in allowed and (inhalers or not s.is_inhaler)
    ]  # fmt: skip


def draft_view(draft: Draft) -> dict[str, Any]:
    """The preview: every check, the blockers, and the arithmetic when it could be worked out."""
    return {
        "checks": [{"key": c.key, "passed": c.passed, "message": c.message} for c in draft.checks],
        "blockers": list(draft.blockers),
        "plan": None if draft.plan is None else dataclasses.asdict(draft.plan),
        "lot_id": None if draft.lot is None else draft.lot.id,
        "lot_label": None if draft.lot is None else _label(draft.lot),
        "vials": [v.code for v in draft.vials],
        "device": None if draft.device is None else dataclasses.asdict(draft.device),
        "dose_particles": draft.dose_particles,
        "dose_text": "—"
        if draft.dose_particles is None
        else rules.format_particles(draft.dose_particles),
        "fill_ml": draft.fill_ml,
        "protocol": {"id": draft.protocol.id, "version": draft.protocol.version},
        "hold": {
            "max_hold_min": draft.hold.max_hold.total_seconds() / 60,
            "condition": draft.hold.condition,
            "source": draft.hold.source,
        },
    }


def page(
    *,
    ctx: Ctx,
    settings: Settings,
    session_id: int,
    data: PlanIn | None = None,
    product: ProductPlanIn | None = None,
) -> dict[str, Any]:
    """The session's preparation page (an audited read of the patient record)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session = _session(ctx, session_id)
    patient = patients.load_visible(ctx, session.patient_id)
    p = active_preparation(ctx, session.id)
    audit.record(
        ctx=ctx,
        action="preparation.read",
        entity_type="therapy_session",
        entity_id=session.id,
        entity_version=session.version,
        patient_id=session.patient_id,
    )
    protocol = _protocol(settings, session.protocol_id)
    mode = arm_mode(protocol, session.arm_code)
    regimen = protocol.arm_regimen(session.arm_code)
    draft = product_draft = None
    if p is None and mode == MODE_EXOSOME:
        draft = draft_view(_draft(ctx, settings, session, data or PlanIn(), lock=False))
    elif p is None:
        product_draft = product_draft_view(
            _product_draft(ctx, settings, session, product or ProductPlanIn(), lock=False)
        )
    allowed = {
        kind
        for r in protocol.regimens().values()
        if r.carries_vesicles
        for kind in r.allowed_device_kinds
    }
    arm_kinds = frozenset() if regimen is None else frozenset(regimen.allowed_device_kinds)
    arm = protocol.arm(session.arm_code)
    now = ctx.clock.now()
    product_lots: list[dict[str, Any]] = []
    if mode == MODE_PRODUCT:
        dose = protocol.arm_dose(session.arm_code)
        kind = products.CELLS if dose is not None and dose[1] == products.CELLS else products.DRUG
        product_lots = [lot_view(lot, now=now) for lot in _usable_lots(ctx, kind, now)]
    return {
        "session": {
            "id": session.id,
            "state": session.state,
            "arm_code": session.arm_code,
            "protocol_id": session.protocol_id,
            "version": session.version,
        },
        "mode": mode,
        "regimen": None
        if regimen is None
        else {"id": regimen.id, "name": regimen.name, "delivers": regimen.delivers},
        "arm_label": None if arm is None else arm.label,
        "blinded_product_name": protocol.blinded_product_name(),
        "product_draft": product_draft,
        "devices": _device_choices(arm_kinds, inhalers=mode == MODE_PRODUCT),
        "product_lots": product_lots,
        "patient": {
            "id": patient.id,
            "mrn": patient.mrn,
            "name": f"{patient.family_name}, {patient.given_name}",
            "birth_date": patient.birth_date.isoformat(),
        },
        "preparation": None if p is None else preparation_view(ctx, p),
        "draft": draft,
        "history": [
            {
                "id": x.id,
                "status": x.status,
                "label_code": x.label_code,
                "prepared_at": x.prepared_at,
                "discard_reason": x.discard_reason,
            }
            for x in session_preparations(ctx=ctx, session_id=session.id)
        ],
        "nebulizers": [dataclasses.asdict(c) for c in rules.nebulizer_choices(allowed)],
        "fill_limits_source": rules.FILL_LIMITS_SOURCE,
        "exosome_lots": [lot_view(lot, now=ctx.clock.now()) for lot, _ in fefo(ctx=ctx)],
        "thawed_lots": [
            lot_view(lot, now=ctx.clock.now())
            for lot in _site_exosome_lots(ctx)
            if any(v.status == V.THAWED.value for v in _vials(ctx, lot.id))
        ],
        "saline_lots": [
            lot_view(lot, now=ctx.clock.now())
            for lot in lots(ctx=ctx, kind=SALINE)
            if _usability(lot, ctx.clock.now()) is None
        ],
    }


def label(*, ctx: Ctx, settings: Settings, session_id: int) -> dict[str, Any]:
    """What the printed label of the session's dose says (an audited read).

    In a blinded protocol (``preparation.blinded_product_name``) the label names
    the blinded product and ``blinded`` tells the printer to leave out what
    would reveal the arm: lot numbers, the dose and the stock/saline split.
    """
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session = _session(ctx, session_id)
    p = active_preparation(ctx, session.id)
    if p is None:
        raise NotFound("This session has no prepared dose to label.")
    patient = patients.load_visible(ctx, session.patient_id)
    view = preparation_view(ctx, p)
    _audit(ctx, "preparation.label", PREP_RECORD, p, patient_id=p.patient_id)
    protocol = registry.get(settings.protocols_dir, p.protocol_id)
    blinded = None if protocol is None else protocol.blinded_product_name()
    return {
        "blinded": blinded is not None,
        "dose_text": view["dose_text"],
        "inhaler": p.actuations is not None,
        "label_code": p.label_code,
        "patient": f"{patient.family_name}, {patient.given_name}",
        "mrn": patient.mrn,
        "birth_date": patient.birth_date.isoformat(),
        "session_id": session.id,
        "dose_level": p.arm_code,
        "product": view["product_name"] if blinded is None else blinded,
        "lot": view["lot_number"],
        "lot_expires_at": view["lot_expires_at"],
        "saline_lot": view["saline_lot_number"],
        "dose": view["dose_text"],
        "stock_ml": p.stock_ml,
        "saline_ml": p.saline_ml,
        "fill_ml": p.fill_ml,
        "nebulizer": p.nebulizer_name,
        "prepared_by": p.prepared_by,
        "prepared_at": p.prepared_at,
        "use_by": p.use_by,
        "verified_by": p.verified_by,
        "verified_at": p.verified_at,
        "status": p.status,
    }


RECALL_COLUMNS = (
    "preparation_id",
    "label_code",
    "preparation_status",
    "role",
    "prepared_at",
    "prepared_by",
    "verified_by",
    "stock_ml",
    "saline_ml",
    "session_id",
    "session_state",
    "patient_id",
    "mrn",
    "patient_name",
    "birth_date",
)


def recall_csv(*, ctx: Ctx, lot_id: int) -> str:
    """The recall list as CSV (one row per preparation; audited like the page)."""
    rows = recall_report(ctx=ctx, lot_id=lot_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RECALL_COLUMNS)
    for r in rows:
        writer.writerow([_csv_cell(audit_value(getattr(r, c))) for c in RECALL_COLUMNS])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
