"""An in-memory lot inventory that applies every lifecycle rule: the model behind the service.

:class:`Inventory` holds lots and their vials and offers one method per user
action (receive, release, quarantine, reject, recall, expire, record storage,
thaw, refreeze, prepare a dose, discard). Each method either refuses with a
:class:`~exoneb.preparation.errors.PreparationError` and changes nothing, or
changes the state and appends exactly one :class:`InventoryEvent` — the pure
counterpart of the service's "one audit row per mutation".

Volumes are kept in whole microlitres internally so the balance
``received = on hand + dispensed + discarded`` holds exactly, not just to
floating-point precision. Vials are single-use aliquots
(``reference/clinical.md`` §2.4): once product is drawn from a vial, the vial
is *used* and whatever is left in it is counted as discarded.

The service will keep the same state in tables and call the same rules
(:mod:`~exoneb.preparation.lifecycle`, :mod:`~exoneb.preparation.release`);
this class lets the rules be exercised as a whole, without a database, by the
Hypothesis state machine of ``reference/reliability.md`` §6 item 4.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from exoneb.preparation.checks import preparation_use_by
from exoneb.preparation.errors import (
    DuplicateRecord,
    FefoOrderViolated,
    InsufficientVolume,
    InvalidInput,
    LotExpired,
    LotTransitionRefused,
    RefreezeRefused,
    ReleaseRefused,
    ThawLimitReached,
    UnknownRecord,
)
from exoneb.preparation.lifecycle import (
    ExcursionJudgement,
    HoldPolicy,
    LotOffer,
    LotStatus,
    TemperatureReading,
    VialStatus,
    check_lot_transition,
    check_vial_transition,
    fefo_order,
    judge_storage,
    lot_usability_error,
    require_aware,
    within_hold,
)
from exoneb.preparation.release import (
    CertificateOfAnalysis,
    ReleaseCriteria,
    ReleaseEvaluation,
    evaluate_release,
)

__all__ = [
    "Balance",
    "Dispense",
    "Draw",
    "Inventory",
    "InventoryEvent",
    "LotView",
    "VialView",
]

_UL_PER_ML = 1000


def _to_ul(volume_ml: float) -> int:
    return round(volume_ml * _UL_PER_ML)


def _to_ml(volume_ul: int) -> float:
    return volume_ul / _UL_PER_ML


def _reason(reason: str, action: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput(f"Give a reason to {action} the lot.")
    return text


@dataclass(frozen=True, slots=True)
class InventoryEvent:
    """One mutation, as the audit trail will record it."""

    action: str
    lot_id: str
    at: datetime
    detail: str
    vial_id: str | None = None


@dataclass(frozen=True, slots=True)
class LotView:
    """A read-only snapshot of a lot."""

    lot_id: str
    status: LotStatus
    expires_at: datetime
    certificate: CertificateOfAnalysis
    reasons: tuple[str, ...]
    vial_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VialView:
    """A read-only snapshot of a vial."""

    vial_id: str
    lot_id: str
    status: VialStatus
    volume_ml: float
    thaw_count: int
    thawed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Draw:
    """Stock drawn from one vial for a dose."""

    vial_id: str
    lot_id: str
    volume_ml: float
    remainder_discarded_ml: float
    thawed_at: datetime


@dataclass(frozen=True, slots=True)
class Dispense:
    """The stock drawn for one preparation, vial by vial (FEFO order)."""

    volume_ml: float
    draws: tuple[Draw, ...]
    prepared_at: datetime
    use_by: datetime


@dataclass(frozen=True, slots=True)
class Balance:
    """Volumes (mL) and vial counts; ``received = on hand + dispensed + discarded``."""

    received_ml: float
    on_hand_ml: float
    dispensed_ml: float
    discarded_ml: float
    vials: Mapping[VialStatus, int]


@dataclass(slots=True)
class _Lot:
    lot_id: str
    coa: CertificateOfAnalysis
    status: LotStatus = LotStatus.QUARANTINE
    reasons: list[str] = field(default_factory=list)
    vial_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Vial:
    vial_id: str
    lot_id: str
    volume_ul: int
    status: VialStatus = VialStatus.IN_STOCK
    thaw_count: int = 0
    thawed_at: datetime | None = None


class Inventory:
    """Lots and vials of one product, with every lifecycle rule applied.

    Parameters
    ----------
    hold : HoldPolicy, optional
        Hold time after thawing (default 2 h at room temperature).
    criteria : ReleaseCriteria, optional
        Release criteria used by :meth:`release` (reference defaults).
    """

    def __init__(
        self, *, hold: HoldPolicy | None = None, criteria: ReleaseCriteria | None = None
    ) -> None:
        self.hold = hold if hold is not None else HoldPolicy()
        self.criteria = criteria if criteria is not None else ReleaseCriteria()
        self._lots: dict[str, _Lot] = {}
        self._vials: dict[str, _Vial] = {}
        self._received_ul = 0
        self._dispensed_ul = 0
        self._discarded_ul = 0
        self.events: list[InventoryEvent] = []

    # ----------------------------------------------------------------- queries
    def lot(self, lot_id: str) -> LotView:
        """Snapshot of a lot (:class:`UnknownRecord` if there is none)."""
        lot = self._lot(lot_id)
        return LotView(
            lot.lot_id,
            lot.status,
            lot.coa.expires_at,
            lot.coa,
            tuple(lot.reasons),
            tuple(lot.vial_ids),
        )

    def vial(self, vial_id: str) -> VialView:
        """Snapshot of a vial (:class:`UnknownRecord` if there is none)."""
        v = self._vial(vial_id)
        return VialView(
            v.vial_id, v.lot_id, v.status, _to_ml(v.volume_ul), v.thaw_count, v.thawed_at
        )

    def lots(self) -> list[LotView]:
        """Every lot, in the order received."""
        return [self.lot(lot_id) for lot_id in self._lots]

    def vials(self, lot_id: str | None = None) -> list[VialView]:
        """Every vial, or those of one lot."""
        return [
            self.vial(v.vial_id)
            for v in self._vials.values()
            if lot_id is None or v.lot_id == lot_id
        ]

    def fefo(self, now: datetime) -> list[LotOffer]:
        """Usable lots with frozen stock, first-expiry-first-out (first = thaw next)."""
        return fefo_order(
            [
                (lot.lot_id, lot.status, lot.coa.expires_at, self._in_stock(lot.lot_id))
                for lot in self._lots.values()
            ],
            now,
        )

    def usable_thawed(self, now: datetime) -> list[VialView]:
        """Thawed vials that may be drawn now: lot usable and vial within its hold time."""
        return [self.vial(v.vial_id) for v in self._drawable(now)]

    def balance(self) -> Balance:
        """Volumes and vial counts; the balance always closes."""
        on_hand = sum(
            v.volume_ul
            for v in self._vials.values()
            if v.status in (VialStatus.IN_STOCK, VialStatus.THAWED)
        )
        counts = dict.fromkeys(VialStatus, 0)
        for v in self._vials.values():
            counts[v.status] += 1
        return Balance(
            _to_ml(self._received_ul),
            _to_ml(on_hand),
            _to_ml(self._dispensed_ul),
            _to_ml(self._discarded_ul),
            counts,
        )

    # --------------------------------------------------------------- lot moves
    def receive_lot(self, lot_id: str, coa: CertificateOfAnalysis, now: datetime) -> LotView:
        """Record a new lot and its vials; it starts in quarantine awaiting release."""
        require_aware(now, "The receipt time")
        lot_id = lot_id.strip()
        if not lot_id:
            raise InvalidInput("A lot needs an identifier.")
        if lot_id in self._lots:
            raise DuplicateRecord(f"Lot {lot_id} has already been received.")
        lot = _Lot(lot_id, coa)
        per_vial = _to_ul(coa.volume_per_vial_ml)
        for n in range(1, coa.vial_count + 1):
            vial = _Vial(f"{lot_id}-V{n:03d}", lot_id, per_vial)
            self._vials[vial.vial_id] = vial
            lot.vial_ids.append(vial.vial_id)
        self._lots[lot_id] = lot
        self._received_ul += per_vial * coa.vial_count
        self._event(
            "lot.receive",
            lot_id,
            now,
            f"{coa.vial_count} vial(s) × {coa.volume_per_vial_ml:g} mL, into quarantine",
        )
        return self.lot(lot_id)

    def release(self, lot_id: str, now: datetime) -> ReleaseEvaluation:
        """Release a quarantined lot whose certificate meets every criterion, if in date."""
        lot = self._lot(lot_id)
        check_lot_transition(lot_id, lot.status, LotStatus.RELEASED)
        evaluation = evaluate_release(lot.coa, self.criteria)
        if not evaluation.releasable:
            raise ReleaseRefused(f"Lot {lot_id}: {evaluation.summary()}")
        if require_aware(now, "The release time") >= lot.coa.expires_at:
            raise LotExpired(f"Lot {lot_id} is past its expiry and cannot be released.")
        lot.status = LotStatus.RELEASED
        self._event("lot.release", lot_id, now, evaluation.summary())
        return evaluation

    def quarantine(self, lot_id: str, reason: str, now: datetime) -> None:
        """Put a released lot back into quarantine (e.g. after an excursion), with a reason."""
        self._move(lot_id, LotStatus.QUARANTINE, _reason(reason, "quarantine"), now)

    def reject(self, lot_id: str, reason: str, now: datetime) -> None:
        """Reject a quarantined lot at release, with a reason."""
        self._move(lot_id, LotStatus.REJECTED, _reason(reason, "reject"), now)

    def recall(self, lot_id: str, reason: str, now: datetime) -> None:
        """Recall a released lot, with a reason; none of its vials may be used again."""
        self._move(lot_id, LotStatus.RECALLED, _reason(reason, "recall"), now)

    def expire(self, lot_id: str, now: datetime) -> None:
        """Mark a lot expired once its expiry has passed."""
        lot = self._lot(lot_id)
        check_lot_transition(lot_id, lot.status, LotStatus.EXPIRED)
        if require_aware(now, "The time") < lot.coa.expires_at:
            raise LotTransitionRefused(
                f"Lot {lot_id} does not expire until {lot.coa.expires_at:%Y-%m-%d %H:%M %Z}."
            )
        self._move(lot_id, LotStatus.EXPIRED, "past its expiry", now)

    def record_storage(
        self, lot_id: str, readings: Iterable[TemperatureReading], now: datetime
    ) -> ExcursionJudgement:
        """Judge storage readings; an excursion quarantines a released lot.

        A lot already in quarantine stays there, and the excursion is added to
        its reasons so the release decision sees it. Readings within range
        change nothing and record no event.
        """
        lot = self._lot(lot_id)
        judgement = judge_storage(lot.coa.storage, readings)
        if judgement.acceptable:
            return judgement
        if lot.status is LotStatus.RELEASED:
            self._move(lot_id, LotStatus.QUARANTINE, judgement.message, now)
        else:
            lot.reasons.append(judgement.message)
            self._event("lot.storage_excursion", lot_id, now, judgement.message)
        return judgement

    # -------------------------------------------------------------- vial moves
    def thaw_vial(
        self, now: datetime, *, lot_id: str | None = None, vial_id: str | None = None
    ) -> VialView:
        """Thaw one vial from the first-expiring usable lot (FEFO).

        Parameters
        ----------
        now : datetime
            Thaw start.
        lot_id, vial_id : str, optional
            The lot or the vial the pharmacist picked; refused unless it belongs
            to the lot FEFO offers first. With neither, the FEFO lot's first
            vial that may still be thawed is used.
        """
        require_aware(now, "The thaw start")
        if vial_id is not None:
            vial = self._vial(vial_id)
            if lot_id is not None and lot_id != vial.lot_id:
                raise InvalidInput(f"Vial {vial_id} belongs to lot {vial.lot_id}, not {lot_id}.")
            lot_id = vial.lot_id
        if lot_id is not None:
            lot = self._lot(lot_id)
            error = lot_usability_error(lot_id, lot.status, lot.coa.expires_at, now)
            if error is not None:
                raise error
        offers = self.fefo(now)
        if lot_id is not None and all(o.lot_id != lot_id for o in offers):
            raise ThawLimitReached(
                f"Lot {lot_id} has no vial left in stock that may be thawed (all are used, "
                "discarded, thawed already or at their certificate's thaw limit)."
            )
        if not offers:
            raise InsufficientVolume(
                "No released, in-date lot has a vial in stock. Receive or release a lot first."
            )
        first = offers[0]
        if lot_id is None:
            lot_id = first.lot_id
        elif lot_id != first.lot_id:
            raise FefoOrderViolated(
                f"Lot {first.lot_id} expires first ({first.expires_at:%Y-%m-%d}); "
                f"thaw from it before lot {lot_id}."
            )
        lot = self._lot(lot_id)
        if vial_id is None:
            # The lot is on offer, so it has at least one vial that may be thawed.
            vial = next(
                self._vials[v]
                for v in lot.vial_ids
                if self._vials[v].status is VialStatus.IN_STOCK
                and self._vials[v].thaw_count < lot.coa.max_thaw_cycles
            )
        else:
            vial = self._vial(vial_id)
        check_vial_transition(vial.vial_id, vial.status, VialStatus.THAWED)
        if vial.thaw_count >= lot.coa.max_thaw_cycles:
            raise ThawLimitReached(
                f"Vial {vial.vial_id} has been thawed {vial.thaw_count} time(s); its certificate "
                f"allows {lot.coa.max_thaw_cycles}. Discard it."
            )
        vial.status = VialStatus.THAWED
        vial.thaw_count += 1
        vial.thawed_at = now
        self._event("vial.thaw", lot_id, now, f"thaw {vial.thaw_count}", vial.vial_id)
        return self.vial(vial.vial_id)

    def refreeze(self, vial_id: str, now: datetime) -> VialView:
        """Return a thawed vial to frozen stock — only if its certificate allows another thaw."""
        vial = self._vial(vial_id)
        lot = self._lot(vial.lot_id)
        check_vial_transition(vial_id, vial.status, VialStatus.IN_STOCK)
        if vial.thaw_count >= lot.coa.max_thaw_cycles:
            raise RefreezeRefused(
                f"Vial {vial_id} may not be refrozen: its certificate allows "
                f"{lot.coa.max_thaw_cycles} thaw(s) and it has had {vial.thaw_count}. "
                "Use it within its hold time or discard it."
            )
        assert vial.thawed_at is not None  # a thawed vial always has its thaw time
        if not within_hold(vial.thawed_at, require_aware(now, "The time"), self.hold):
            raise RefreezeRefused(
                f"Vial {vial_id} is past its hold time after thawing; discard it."
            )
        vial.status = VialStatus.IN_STOCK
        vial.thawed_at = None
        self._event("vial.refreeze", vial.lot_id, now, "back to frozen stock", vial_id)
        return self.vial(vial_id)

    def discard(self, vial_id: str, reason: str, now: datetime) -> VialView:
        """Discard a vial in stock or thawed (e.g. past its hold time), with a reason."""
        require_aware(now, "The time")
        vial = self._vial(vial_id)
        text = reason.strip()
        if not text:
            raise InvalidInput("Give a reason to discard the vial.")
        check_vial_transition(vial_id, vial.status, VialStatus.DISCARDED)
        self._discarded_ul += vial.volume_ul
        detail = f"{_to_ml(vial.volume_ul):g} mL discarded: {text}"
        vial.volume_ul = 0
        vial.status = VialStatus.DISCARDED
        self._event("vial.discard", vial.lot_id, now, detail, vial_id)
        return self.vial(vial_id)

    def prepare_dose(self, volume_ml: float, now: datetime) -> Dispense:
        """Draw ``volume_ml`` of stock from thawed vials that may be used now.

        Vials are drawn in FEFO order (lot expiry, then thaw time). Each vial
        drawn becomes *used*; what is left in the last one is discarded
        (single-use aliquots). Vials of a lot that is no longer usable, or past
        their hold time, are never drawn.

        Raises
        ------
        InvalidInput
            ``volume_ml`` is not positive.
        InsufficientVolume
            The usable thawed vials hold less than ``volume_ml``.
        """
        require_aware(now, "The preparation time")
        needed = _to_ul(volume_ml) if math.isfinite(volume_ml) else 0
        if needed <= 0:
            raise InvalidInput(f"The stock volume must be more than 0 mL (got {volume_ml}).")
        usable = self._drawable(now)
        available = sum(v.volume_ul for v in usable)
        if available < needed:
            stale = [
                v.vial_id
                for v in self._vials.values()
                if v.status is VialStatus.THAWED and v not in usable
            ]
            hint = (
                f" Thawed vial(s) that may not be used ({', '.join(stale)}) must be discarded."
                if stale
                else ""
            )
            raise InsufficientVolume(
                f"The dose needs {_to_ml(needed):.2f} mL of stock but the thawed vials that may "
                f"be used hold {_to_ml(available):.2f} mL. Thaw another vial.{hint}"
            )
        draws: list[Draw] = []
        remaining = needed
        for vial in usable:
            if remaining == 0:
                break
            take = min(remaining, vial.volume_ul)
            left = vial.volume_ul - take
            remaining -= take
            assert vial.thawed_at is not None
            draws.append(
                Draw(vial.vial_id, vial.lot_id, _to_ml(take), _to_ml(left), vial.thawed_at)
            )
            self._dispensed_ul += take
            self._discarded_ul += left
            vial.volume_ul = 0
            vial.status = VialStatus.USED
        use_by = preparation_use_by(
            prepared_at=now, thaw_started_at=[d.thawed_at for d in draws], policy=self.hold
        )
        dispense = Dispense(_to_ml(needed), tuple(draws), now, use_by)
        self._event(
            "dose.prepare",
            draws[0].lot_id,
            now,
            f"{_to_ml(needed):g} mL from "
            + ", ".join(f"{d.vial_id} ({d.volume_ml:g} mL)" for d in draws),
        )
        return dispense

    # ---------------------------------------------------------------- helpers
    def _lot(self, lot_id: str) -> _Lot:
        try:
            return self._lots[lot_id]
        except KeyError:
            raise UnknownRecord(f"There is no lot {lot_id} in the inventory.") from None

    def _vial(self, vial_id: str) -> _Vial:
        try:
            return self._vials[vial_id]
        except KeyError:
            raise UnknownRecord(f"There is no vial {vial_id} in the inventory.") from None

    def _in_stock(self, lot_id: str) -> int:
        lot = self._lots[lot_id]
        return sum(
            1
            for v in lot.vial_ids
            if self._vials[v].status is VialStatus.IN_STOCK
            and self._vials[v].thaw_count < lot.coa.max_thaw_cycles
        )

    def _drawable(self, now: datetime) -> list[_Vial]:
        result = []
        for vial in self._vials.values():
            if vial.status is not VialStatus.THAWED or vial.thawed_at is None:
                continue
            lot = self._lots[vial.lot_id]
            if lot_usability_error(lot.lot_id, lot.status, lot.coa.expires_at, now) is not None:
                continue
            if now < vial.thawed_at or not within_hold(vial.thawed_at, now, self.hold):
                continue
            result.append(vial)
        return sorted(
            result,
            key=lambda v: (
                self._lots[v.lot_id].coa.expires_at,
                v.lot_id,
                v.thawed_at,
                v.vial_id,
            ),
        )

    def _move(self, lot_id: str, target: LotStatus, reason: str, now: datetime) -> None:
        require_aware(now, "The time")
        lot = self._lot(lot_id)
        check_lot_transition(lot_id, lot.status, target)
        lot.status = target
        lot.reasons.append(reason)
        self._event(f"lot.{target.value}", lot_id, now, reason)

    def _event(
        self, action: str, lot_id: str, at: datetime, detail: str, vial_id: str | None = None
    ) -> None:
        self.events.append(InventoryEvent(action, lot_id, at, detail, vial_id))
