"""Lot and vial lifecycle, hold time, storage excursions and FEFO (reference/clinical.md §2.4).

Transition tests restate the expected graph independently of the tables in
``lifecycle.py`` and try every (from, to) pair.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta, timezone

import pytest

from exoneb.preparation.rules import (
    LOT_TRANSITIONS,
    VIAL_TRANSITIONS,
    HoldPolicy,
    InvalidInput,
    LotExpired,
    LotQuarantined,
    LotRecalled,
    LotRejected,
    LotStatus,
    LotTransitionRefused,
    StorageRange,
    TemperatureReading,
    VialStatus,
    VialTransitionRefused,
    check_lot_transition,
    check_vial_transition,
    fefo_order,
    hold_deadline,
    judge_storage,
    lot_usability_error,
    within_hold,
)

from .factories import T0

L = LotStatus
V = VialStatus

EXPECTED_LOT_MOVES = {
    (L.QUARANTINE, L.RELEASED),
    (L.QUARANTINE, L.REJECTED),
    (L.QUARANTINE, L.EXPIRED),
    (L.QUARANTINE, L.RECALLED),  # a recall notice also closes a lot held or not yet released
    (L.RELEASED, L.RECALLED),
    (L.RELEASED, L.QUARANTINE),
    (L.RELEASED, L.EXPIRED),
}
EXPECTED_VIAL_MOVES = {
    (V.IN_STOCK, V.THAWED),
    (V.IN_STOCK, V.DISCARDED),
    (V.THAWED, V.USED),
    (V.THAWED, V.DISCARDED),
    (V.THAWED, V.IN_STOCK),  # refreeze, further limited by the certificate
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(L, L)))
def test_every_lot_move_is_allowed_or_refused_as_specified(source: L, target: L) -> None:
    """Issue 5: quarantine → released | rejected; recall; expiry; the rest final."""
    assert (target in LOT_TRANSITIONS[source]) is ((source, target) in EXPECTED_LOT_MOVES)
    if (source, target) in EXPECTED_LOT_MOVES:
        check_lot_transition("EV-1", source, target)
    else:
        with pytest.raises(LotTransitionRefused) as info:
            check_lot_transition("EV-1", source, target)
        assert info.value.code == "lot.transition_refused"
        assert "EV-1" in info.value.message


@pytest.mark.parametrize(("source", "target"), list(itertools.product(V, V)))
def test_every_vial_move_is_allowed_or_refused_as_specified(source: V, target: V) -> None:
    """§2.4: single-use aliquots; a used or discarded vial is never handled again."""
    assert (target in VIAL_TRANSITIONS[source]) is ((source, target) in EXPECTED_VIAL_MOVES)
    if (source, target) in EXPECTED_VIAL_MOVES:
        check_vial_transition("EV-1-V001", source, target)
    else:
        with pytest.raises(VialTransitionRefused) as info:
            check_vial_transition("EV-1-V001", source, target)
        assert info.value.code == "vial.transition_refused"


def test_final_lot_statuses_say_the_status_can_no_longer_change() -> None:
    """A pharmacist reading the refusal learns the lot is closed, not that they clicked wrong."""
    with pytest.raises(LotTransitionRefused, match="can no longer change"):
        check_lot_transition("EV-1", L.RECALLED, L.RELEASED)
    with pytest.raises(LotTransitionRefused, match="only become"):
        check_lot_transition("EV-1", L.RELEASED, L.REJECTED)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (L.QUARANTINE, LotQuarantined),
        (L.REJECTED, LotRejected),
        (L.RECALLED, LotRecalled),
        (L.EXPIRED, LotExpired),
    ],
)
def test_only_a_released_in_date_lot_is_usable(status: L, error: type[Exception]) -> None:
    """§7 product checks: lot released, not quarantined/rejected/recalled/expired."""
    expires = T0 + timedelta(days=30)
    assert lot_usability_error("EV-1", L.RELEASED, expires, T0) is None
    found = lot_usability_error("EV-1", status, expires, T0)
    assert type(found) is error


def test_expiry_is_judged_from_the_date_at_the_boundary() -> None:
    """§2.4 'check lot expiry against the CoA': usable up to, not at, the expiry instant."""
    expires = T0 + timedelta(days=1)
    just_before = expires - timedelta(microseconds=1)
    assert lot_usability_error("EV-1", L.RELEASED, expires, just_before) is None
    assert isinstance(lot_usability_error("EV-1", L.RELEASED, expires, expires), LotExpired)


def test_a_recall_is_reported_before_expiry() -> None:
    """The more urgent reason wins when both apply."""
    found = lot_usability_error("EV-1", L.RECALLED, T0, T0 + timedelta(days=1))
    assert isinstance(found, LotRecalled)


def test_hold_time_boundary_is_inclusive_at_two_hours() -> None:
    """§2.4 [design default]: ≤2 h at room temperature after thawing."""
    policy = HoldPolicy()
    assert policy.max_hold == timedelta(hours=2)
    assert hold_deadline(T0, policy) == T0 + timedelta(hours=2)
    assert within_hold(T0, T0 + timedelta(hours=2), policy)
    assert not within_hold(T0, T0 + timedelta(hours=2, microseconds=1), policy)


def test_hold_time_is_a_parameter() -> None:
    """§2.4: ≤4 h at 2–8 °C, or the sponsor's stability data."""
    cold = HoldPolicy(max_hold=timedelta(hours=4), condition="2–8 °C", source="sponsor")
    assert within_hold(T0, T0 + timedelta(hours=3), cold)
    assert not within_hold(T0, T0 + timedelta(hours=3), HoldPolicy())
    with pytest.raises(InvalidInput):
        HoldPolicy(max_hold=timedelta(0))


def test_naive_times_are_refused() -> None:
    """Every stored time is an aware UTC instant; a naive one is ambiguous."""
    with pytest.raises(InvalidInput, match="time zone"):
        within_hold(T0, datetime(2026, 3, 2, 9, 0), HoldPolicy())
    with pytest.raises(InvalidInput):
        lot_usability_error("EV-1", L.RELEASED, T0, datetime(2026, 3, 2))


def test_hold_time_compares_instants_across_time_zones() -> None:
    """A thaw recorded in UTC and a check made in local time are compared as instants."""
    cet = timezone(timedelta(hours=1))
    assert within_hold(T0, (T0 + timedelta(hours=2)).astimezone(cet), HoldPolicy())


def reading(minutes: int, temperature_c: float) -> TemperatureReading:
    return TemperatureReading(T0 + timedelta(minutes=minutes), temperature_c, timedelta(minutes=5))


def test_storage_within_range_including_its_ends_is_acceptable() -> None:
    """§2.4: −80 °C storage; the certified range is closed."""
    judgement = judge_storage(
        StorageRange(-90.0, -60.0), [reading(0, -80.0), reading(5, -60.0), reading(10, -90.0)]
    )
    assert judgement.acceptable
    assert judgement.excursions == ()


def test_an_excursion_is_reported_with_its_worst_reading_and_quarantine_advice() -> None:
    """§2.4: storage temperature changes EV size and counts; no tolerance is assumed."""
    judgement = judge_storage(
        StorageRange(-90.0, -60.0),
        [reading(0, -80.0), reading(5, -59.5), reading(10, -40.0), reading(15, -95.0)],
    )
    assert not judgement.acceptable
    assert [r.temperature_c for r in judgement.excursions] == [-59.5, -40.0, -95.0]
    assert "worst -40 °C" in judgement.message
    assert "Quarantine" in judgement.message
    assert "0:15:00" in judgement.message  # three readings of 5 minutes


def test_an_unreadable_temperature_is_an_excursion() -> None:
    """A NaN from the logger proves nothing about the storage."""
    judgement = judge_storage(StorageRange(-90.0, -60.0), [reading(0, math.nan)])
    assert not judgement.acceptable


def test_fefo_offers_usable_lots_with_stock_earliest_expiry_first() -> None:
    """Issue 5: lots offered first-expiry-first-out with their expiry shown."""
    day = timedelta(days=1)
    lots = [
        ("EV-C", L.RELEASED, T0 + 30 * day, 2),
        ("EV-A", L.RELEASED, T0 + 10 * day, 1),
        ("EV-B", L.RELEASED, T0 + 10 * day, 3),  # same expiry: stable order by lot id
        ("EV-Q", L.QUARANTINE, T0 + 1 * day, 5),
        ("EV-R", L.RECALLED, T0 + 2 * day, 5),
        ("EV-X", L.RELEASED, T0, 5),  # expires now
        ("EV-E", L.RELEASED, T0 + 3 * day, 0),  # no stock
    ]
    offers = fefo_order(lots, T0)
    assert [o.lot_id for o in offers] == ["EV-A", "EV-B", "EV-C"]
    assert [o.expires_at for o in offers] == [T0 + 10 * day, T0 + 10 * day, T0 + 30 * day]
    assert [o.vials_in_stock for o in offers] == [1, 3, 2]
