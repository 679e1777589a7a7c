"""Lot and vial lifecycle: statuses, transition tables, thaw, hold time, storage, FEFO.

::

    lot:   quarantine ──release──▶ released ──recall──▶ recalled
               │  ▲                   │
               │  └───quarantine──────┘        (hold a released lot, e.g. after
               ├──reject──▶ rejected             a temperature excursion)
               ├──recall──▶ recalled           (a recall notice for a held lot)
               └──expire──▶ expired ◀──expire── released

    vial:  in_stock ──thaw──▶ thawed ──draw──▶ used
               │  ▲              │
               │  └──refreeze────┘   (only if the certificate allows another thaw)
               └──────▶ discarded ◀──┘

Everything here is pure: times are passed in (``now``), never read from a
clock, so the same rules serve the service, the pages and the tests. The
tables are data so the pages can show "what can happen next" and the tests can
enumerate every allowed and refused move.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from exoneb.preparation.errors import (
    InvalidInput,
    LotExpired,
    LotNotUsable,
    LotQuarantined,
    LotRecalled,
    LotRejected,
    LotTransitionRefused,
    VialTransitionRefused,
)
from exoneb.preparation.release import StorageRange

__all__ = [
    "LOT_TRANSITIONS",
    "VIAL_TRANSITIONS",
    "ExcursionJudgement",
    "HoldPolicy",
    "LotOffer",
    "LotStatus",
    "TemperatureReading",
    "VialStatus",
    "check_lot_transition",
    "check_vial_transition",
    "fefo_order",
    "hold_deadline",
    "judge_storage",
    "lot_usability_error",
    "require_aware",
    "within_hold",
]


class LotStatus(StrEnum):
    """Where a product lot stands."""

    QUARANTINE = "quarantine"
    RELEASED = "released"
    REJECTED = "rejected"
    RECALLED = "recalled"
    EXPIRED = "expired"


class VialStatus(StrEnum):
    """Where one vial of a lot stands."""

    IN_STOCK = "in_stock"
    THAWED = "thawed"
    USED = "used"
    DISCARDED = "discarded"


LOT_TRANSITIONS: dict[LotStatus, frozenset[LotStatus]] = {
    LotStatus.QUARANTINE: frozenset(
        {LotStatus.RELEASED, LotStatus.REJECTED, LotStatus.EXPIRED, LotStatus.RECALLED}
    ),
    LotStatus.RELEASED: frozenset({LotStatus.RECALLED, LotStatus.QUARANTINE, LotStatus.EXPIRED}),
    LotStatus.REJECTED: frozenset(),
    LotStatus.RECALLED: frozenset(),
    LotStatus.EXPIRED: frozenset(),
}
"""Allowed lot moves. Rejected, recalled and expired are final: such a lot is never used.

A recall notice may reach a lot that is in quarantine (held after an excursion, or
not released yet); it is recorded as recalled so that it can never be released.
"""

VIAL_TRANSITIONS: dict[VialStatus, frozenset[VialStatus]] = {
    VialStatus.IN_STOCK: frozenset({VialStatus.THAWED, VialStatus.DISCARDED}),
    VialStatus.THAWED: frozenset({VialStatus.USED, VialStatus.DISCARDED, VialStatus.IN_STOCK}),
    VialStatus.USED: frozenset(),
    VialStatus.DISCARDED: frozenset(),
}
"""Allowed vial moves. ``thawed → in_stock`` is a refreeze, further limited by the certificate."""

_LOT_WORDS = {
    LotStatus.QUARANTINE: "in quarantine",
    LotStatus.RELEASED: "released",
    LotStatus.REJECTED: "rejected",
    LotStatus.RECALLED: "recalled",
    LotStatus.EXPIRED: "expired",
}
_VIAL_WORDS = {
    VialStatus.IN_STOCK: "in frozen stock",
    VialStatus.THAWED: "thawed",
    VialStatus.USED: "used",
    VialStatus.DISCARDED: "discarded",
}


def require_aware(moment: datetime, what: str = "The time") -> datetime:
    """Refuse a naive datetime: every time in exoneb is an aware (UTC) instant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} has no time zone; pass an aware (UTC) datetime.")
    return moment


def check_lot_transition(lot_id: str, current: LotStatus, target: LotStatus) -> None:
    """Raise :class:`LotTransitionRefused` unless ``current → target`` is in the table."""
    if target in LOT_TRANSITIONS[current]:
        return
    if not LOT_TRANSITIONS[current]:
        raise LotTransitionRefused(
            f"Lot {lot_id} is {_LOT_WORDS[current]}; its status can no longer change."
        )
    allowed = ", ".join(sorted(_LOT_WORDS[s] for s in LOT_TRANSITIONS[current]))
    raise LotTransitionRefused(
        f"Lot {lot_id} is {_LOT_WORDS[current]} and cannot become {_LOT_WORDS[target]} "
        f"(from here it can only become: {allowed})."
    )


def check_vial_transition(vial_id: str, current: VialStatus, target: VialStatus) -> None:
    """Raise :class:`VialTransitionRefused` unless ``current → target`` is in the table."""
    if target in VIAL_TRANSITIONS[current]:
        return
    if not VIAL_TRANSITIONS[current]:
        raise VialTransitionRefused(
            f"Vial {vial_id} is already {_VIAL_WORDS[current]}; it cannot be handled again."
        )
    raise VialTransitionRefused(
        f"Vial {vial_id} is {_VIAL_WORDS[current]} and cannot become {_VIAL_WORDS[target]}."
    )


def lot_usability_error(
    lot_id: str, status: LotStatus, expires_at: datetime, now: datetime
) -> LotNotUsable | None:
    """Why the lot may not be used for a dose at ``now``; ``None`` when it may.

    The status is checked first (a recalled lot is reported as recalled even
    if it has also expired, because a recall is the more urgent message).
    Expiry is judged from the date itself, not only from the ``expired``
    status, so a lot nobody has marked expired is still refused after its
    expiry (``now >= expires_at``).
    """
    require_aware(now, "The preparation time")
    if status is LotStatus.RECALLED:
        return LotRecalled(f"Lot {lot_id} has been recalled. Do not use it; use another lot.")
    if status is LotStatus.REJECTED:
        return LotRejected(f"Lot {lot_id} was rejected at release. Do not use it.")
    if status is LotStatus.QUARANTINE:
        return LotQuarantined(
            f"Lot {lot_id} is in quarantine (not released). It can be used only after "
            "a pharmacist releases it."
        )
    if status is LotStatus.EXPIRED or now >= expires_at:
        return LotExpired(
            f"Lot {lot_id} expired on {expires_at:%Y-%m-%d %H:%M %Z}. Use an in-date lot."
        )
    return None


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """How long a thawed vial (and the dose made from it) may wait before use.

    Attributes
    ----------
    max_hold : timedelta
        Maximum time from the start of thawing, inclusive. Default 2 h.
    condition : str
        The storage condition the limit applies to, shown with the limit.
    source : str
        Where the limit comes from.
    """

    max_hold: timedelta = timedelta(hours=2)
    condition: str = "room temperature"
    source: str = (
        "reference/clinical.md §2.4: maximum hold after thaw or dilution ≤2 h at room "
        "temperature (≤4 h at 2–8 °C) pending sponsor stability data [design default]"
    )

    def __post_init__(self) -> None:
        if self.max_hold <= timedelta(0):
            raise InvalidInput("The hold time after thawing must be longer than zero.")


def hold_deadline(thawed_at: datetime, policy: HoldPolicy) -> datetime:
    """The last instant at which a vial thawed at ``thawed_at`` may still be used."""
    return require_aware(thawed_at, "The thaw start") + policy.max_hold


def within_hold(thawed_at: datetime, now: datetime, policy: HoldPolicy) -> bool:
    """True while ``now`` is at or before the hold deadline (the limit is inclusive)."""
    return require_aware(now, "The time") <= hold_deadline(thawed_at, policy)


@dataclass(frozen=True, slots=True)
class TemperatureReading:
    """One storage-temperature reading (or a logged excursion) for a lot's storage."""

    recorded_at: datetime
    temperature_c: float
    duration: timedelta = timedelta(0)  # how long the temperature lasted, if the logger says


@dataclass(frozen=True, slots=True)
class ExcursionJudgement:
    """The judgement of a lot's storage log against its certified storage range.

    Attributes
    ----------
    acceptable : bool
        True when every reading lies inside the range.
    excursions : tuple[TemperatureReading, ...]
        The readings outside the range.
    message : str
        What it means for the lot, in words.
    """

    acceptable: bool
    excursions: tuple[TemperatureReading, ...]
    message: str


def judge_storage(
    storage: StorageRange, readings: Iterable[TemperatureReading]
) -> ExcursionJudgement:
    """Judge storage readings against the certificate's storage range.

    Any reading outside the closed range ``[min_c, max_c]`` is an excursion.
    No tolerance is applied: the reference has no stability data for EVs
    outside their storage range (``reference/clinical.md`` §2.4 — storage
    temperature and freeze-thaw change size and particle counts), so an
    excursion means the lot must be quarantined until the manufacturer or a
    qualified person assesses it. A reading that is not a number is treated
    as an excursion, because an unreadable logger proves nothing.
    """
    excursions = []
    for reading in readings:
        require_aware(reading.recorded_at, "The temperature reading time")
        t = reading.temperature_c
        if not math.isfinite(t) or not storage.min_c <= t <= storage.max_c:
            excursions.append(reading)
    if not excursions:
        return ExcursionJudgement(
            True, (), f"Storage stayed within {storage.min_c:g} to {storage.max_c:g} °C."
        )
    worst = max(
        excursions,
        key=lambda r: (
            math.inf
            if not math.isfinite(r.temperature_c)
            else max(storage.min_c - r.temperature_c, r.temperature_c - storage.max_c)
        ),
    )
    total = sum((r.duration for r in excursions), timedelta(0))
    return ExcursionJudgement(
        False,
        tuple(excursions),
        f"{len(excursions)} storage reading(s) outside {storage.min_c:g} to {storage.max_c:g} °C "
        f"(worst {worst.temperature_c:g} °C at {worst.recorded_at:%Y-%m-%d %H:%M %Z}, "
        f"logged duration {total}). Quarantine the lot until the excursion is assessed.",
    )


@dataclass(frozen=True, slots=True)
class LotOffer:
    """A lot offered for preparation, with what the pharmacist must see."""

    lot_id: str
    expires_at: datetime
    vials_in_stock: int


def fefo_order(
    lots: Sequence[tuple[str, LotStatus, datetime, int]], now: datetime
) -> list[LotOffer]:
    """Usable lots with frozen stock, first-expiry-first-out.

    Parameters
    ----------
    lots : sequence of (lot_id, status, expires_at, vials_in_stock)
        Every lot of the product.
    now : datetime
        The time of the preparation.

    Returns
    -------
    list of LotOffer
        Lots that are released, in date at ``now`` and have at least one vial
        in stock, earliest expiry first (ties broken by lot id so the order is
        stable). The first entry is the lot to thaw from next.
    """
    offers = [
        LotOffer(lot_id, expires_at, in_stock)
        for lot_id, status, expires_at, in_stock in lots
        if in_stock > 0 and lot_usability_error(lot_id, status, expires_at, now) is None
    ]
    return sorted(offers, key=lambda o: (o.expires_at, o.lot_id))
