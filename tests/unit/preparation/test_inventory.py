"""The in-memory inventory: receive → release → thaw → prepare, and every refusal on the way.

reference/clinical.md §2.4 (thaw, refreeze, hold time, expiry) and §2.6
(traceability: the events); issue 5 (FEFO, blocks, balance).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from exoneb.preparation.rules import (
    DuplicateRecord,
    FefoOrderViolated,
    InsufficientVolume,
    InvalidInput,
    Inventory,
    LotExpired,
    LotQuarantined,
    LotRecalled,
    LotStatus,
    LotTransitionRefused,
    QualitativeResult,
    RefreezeRefused,
    ReleaseRefused,
    TemperatureReading,
    ThawLimitReached,
    UnknownRecord,
    VialStatus,
    VialTransitionRefused,
)

from .factories import T0, make_coa

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def stocked(**coa: object) -> Inventory:
    """One released lot EV-A of 4 × 1.0 mL at 2.1e9/mL, expiring in 180 days."""
    inv = Inventory()
    inv.receive_lot("EV-A", make_coa(**coa), T0)
    inv.release("EV-A", T0)
    return inv


def test_a_received_lot_waits_in_quarantine_with_its_vials() -> None:
    """Issue 5: receiving records the certificate; release is a separate decision."""
    inv = Inventory()
    lot = inv.receive_lot("EV-A", make_coa(), T0)
    assert lot.status is LotStatus.QUARANTINE
    assert lot.vial_ids == ("EV-A-V001", "EV-A-V002", "EV-A-V003", "EV-A-V004")
    assert {v.status for v in inv.vials()} == {VialStatus.IN_STOCK}
    assert inv.balance().received_ml == pytest.approx(4.0)
    assert inv.fefo(T0) == []  # not offered before release
    with pytest.raises(DuplicateRecord):
        inv.receive_lot("EV-A", make_coa(), T0)
    with pytest.raises(InvalidInput):
        inv.receive_lot("  ", make_coa(), T0)


def test_release_needs_every_criterion_and_an_in_date_lot() -> None:
    """§2.3: a failing or incomplete certificate is refused, and the lot stays in quarantine."""
    inv = Inventory()
    inv.receive_lot("EV-BAD", make_coa(sterility=QualitativeResult.POSITIVE), T0)
    with pytest.raises(ReleaseRefused, match="failed: Sterility") as info:
        inv.release("EV-BAD", T0)
    assert info.value.code == "lot.release_refused"
    assert inv.lot("EV-BAD").status is LotStatus.QUARANTINE
    inv.receive_lot("EV-OLD", make_coa(expires_at=T0 + HOUR), T0)
    with pytest.raises(LotExpired):
        inv.release("EV-OLD", T0 + HOUR)
    evaluation = inv.release("EV-OLD", T0)
    assert evaluation.releasable
    assert inv.lot("EV-OLD").status is LotStatus.RELEASED


def test_reasons_are_required_for_quarantine_reject_and_recall() -> None:
    """Issue 5: 'Quarantine, rejection and recall with reasons.'"""
    inv = stocked()
    for action in (inv.quarantine, inv.recall):
        with pytest.raises(InvalidInput, match="reason"):
            action("EV-A", "  ", T0)
    inv.recall("EV-A", "manufacturer notice 2026-07", T0)
    assert inv.lot("EV-A").reasons == ("manufacturer notice 2026-07",)
    with pytest.raises(LotTransitionRefused):
        inv.reject("EV-A", "too late", T0)


def test_thaw_follows_fefo_and_refuses_a_later_lot() -> None:
    """Issue 5: lots offered first-expiry-first-out."""
    inv = stocked()  # EV-A expires in 180 days
    inv.receive_lot("EV-B", make_coa(expires_at=T0 + 30 * DAY), T0)
    inv.release("EV-B", T0)
    assert [o.lot_id for o in inv.fefo(T0)] == ["EV-B", "EV-A"]
    with pytest.raises(FefoOrderViolated, match="Lot EV-B expires first") as info:
        inv.thaw_vial(T0, lot_id="EV-A")
    assert info.value.code == "inventory.fefo_order"
    with pytest.raises(FefoOrderViolated):
        inv.thaw_vial(T0, vial_id="EV-A-V002")
    vial = inv.thaw_vial(T0)
    assert vial.lot_id == "EV-B"
    assert vial.thaw_count == 1
    assert vial.thawed_at == T0


def test_thaw_refuses_an_unusable_lot_with_its_reason() -> None:
    """Issue 5 blocks: quarantined, recalled, expired."""
    inv = stocked()
    inv.quarantine("EV-A", "temperature log under review", T0)
    with pytest.raises(LotQuarantined):
        inv.thaw_vial(T0, lot_id="EV-A")
    with pytest.raises(InsufficientVolume, match="No released, in-date lot"):
        inv.thaw_vial(T0)
    inv.receive_lot("EV-R", make_coa(), T0)
    inv.release("EV-R", T0)
    inv.recall("EV-R", "recall notice", T0)
    with pytest.raises(LotRecalled):
        inv.thaw_vial(T0, vial_id="EV-R-V001")
    inv.receive_lot("EV-X", make_coa(expires_at=T0 + HOUR), T0)
    inv.release("EV-X", T0)
    with pytest.raises(LotExpired):
        inv.thaw_vial(T0 + HOUR, lot_id="EV-X")


def test_no_refreezing_unless_the_certificate_allows_another_thaw() -> None:
    """§2.4: no refreezing; block use if thawed more than once unless the CoA validates more."""
    inv = stocked()
    vial = inv.thaw_vial(T0)
    with pytest.raises(RefreezeRefused, match="allows 1 thaw") as info:
        inv.refreeze(vial.vial_id, T0 + HOUR)
    assert info.value.code == "vial.refreeze_refused"

    two = stocked(max_thaw_cycles=2, vial_count=1)
    vial = two.thaw_vial(T0)
    with pytest.raises(RefreezeRefused, match="hold time"):
        two.refreeze(vial.vial_id, T0 + 3 * HOUR)
    assert two.refreeze(vial.vial_id, T0 + HOUR).status is VialStatus.IN_STOCK
    again = two.thaw_vial(T0 + 5 * HOUR)
    assert again.thaw_count == 2
    with pytest.raises(RefreezeRefused):
        two.refreeze(vial.vial_id, T0 + 5 * HOUR)


def test_a_vial_at_its_thaw_limit_is_not_thawed_again() -> None:
    """A vial that has used all its thaws is never thawed again, even if recorded in stock.

    The public methods cannot put such a vial back in stock (refreezing is refused);
    the state is forced here as a service rebuilding the inventory from stored rows might.
    """
    inv = stocked(max_thaw_cycles=2, vial_count=2)
    vial = inv.thaw_vial(T0, vial_id="EV-A-V001")
    inv.refreeze(vial.vial_id, T0 + HOUR)
    inv.thaw_vial(T0 + 2 * HOUR, vial_id="EV-A-V001")
    inv._vials[vial.vial_id].status = VialStatus.IN_STOCK
    with pytest.raises(ThawLimitReached, match="thawed 2 time"):
        inv.thaw_vial(T0 + 2 * HOUR, vial_id=vial.vial_id)
    assert inv.thaw_vial(T0 + 2 * HOUR).vial_id == "EV-A-V002"
    assert inv.fefo(T0 + 2 * HOUR) == []
    with pytest.raises(ThawLimitReached, match="no vial left in stock"):
        inv.thaw_vial(T0 + 2 * HOUR, lot_id="EV-A")


def test_a_named_vial_of_the_fefo_lot_is_thawed() -> None:
    """The pharmacist may pick (scan) a vial, as long as its lot is the FEFO lot."""
    inv = stocked()
    with pytest.raises(InvalidInput, match="belongs to lot EV-A"):
        inv.thaw_vial(T0, lot_id="EV-B", vial_id="EV-A-V003")
    assert inv.thaw_vial(T0, vial_id="EV-A-V003").vial_id == "EV-A-V003"
    assert [lot.lot_id for lot in inv.lots()] == ["EV-A"]
    assert [v.vial_id for v in inv.vials("EV-A")][2] == "EV-A-V003"


def test_prepare_leaves_thawed_vials_it_does_not_need() -> None:
    """Only the vials needed are drawn; another thawed vial stays thawed for the next dose."""
    inv = stocked()
    inv.thaw_vial(T0)
    inv.thaw_vial(T0)
    dispense = inv.prepare_dose(0.4, T0)
    assert [d.vial_id for d in dispense.draws] == ["EV-A-V001"]
    assert inv.vial("EV-A-V002").status is VialStatus.THAWED


def test_prepare_draws_from_thawed_vials_and_discards_what_is_left() -> None:
    """§2.4 single-use aliquots: a drawn vial is used; its remainder is waste, not stock."""
    inv = stocked()
    first = inv.thaw_vial(T0)
    second = inv.thaw_vial(T0 + timedelta(minutes=5))
    dispense = inv.prepare_dose(1.4, T0 + 30 * timedelta(minutes=1))
    assert [(d.vial_id, d.volume_ml, d.remainder_discarded_ml) for d in dispense.draws] == [
        (first.vial_id, 1.0, 0.0),
        (second.vial_id, 0.4, 0.6),
    ]
    assert dispense.use_by == T0 + 2 * HOUR  # from the earliest thaw
    assert inv.vial(first.vial_id).status is VialStatus.USED
    balance = inv.balance()
    assert balance.dispensed_ml == pytest.approx(1.4)
    assert balance.discarded_ml == pytest.approx(0.6)
    assert balance.on_hand_ml == pytest.approx(2.0)
    assert balance.vials[VialStatus.USED] == 2
    assert balance.vials[VialStatus.IN_STOCK] == 2


def test_prepare_refuses_vials_past_their_hold_time() -> None:
    """§2.4: hold ≤2 h after thawing; the boundary is inclusive."""
    inv = stocked()
    vial = inv.thaw_vial(T0)
    with pytest.raises(InsufficientVolume, match=f"{vial.vial_id}") as info:
        inv.prepare_dose(0.4, T0 + 2 * HOUR + timedelta(seconds=1))
    assert info.value.code == "inventory.insufficient_volume"
    assert "must be discarded" in info.value.message
    assert inv.prepare_dose(0.4, T0 + 2 * HOUR).volume_ml == pytest.approx(0.4)


def test_prepare_refuses_vials_of_a_lot_recalled_after_thawing() -> None:
    """No dose from a recalled lot, even from a vial already thawed."""
    inv = stocked()
    inv.thaw_vial(T0)
    inv.recall("EV-A", "recall notice", T0 + HOUR)
    with pytest.raises(InsufficientVolume):
        inv.prepare_dose(0.4, T0 + HOUR)
    assert inv.usable_thawed(T0 + HOUR) == []


@pytest.mark.parametrize("volume", [0.0, -0.4, float("nan"), float("inf")])
def test_prepare_refuses_impossible_volumes(volume: float) -> None:
    """Zero, negative or non-numeric volumes never draw anything."""
    inv = stocked()
    inv.thaw_vial(T0)
    with pytest.raises(InvalidInput):
        inv.prepare_dose(volume, T0)


def test_discard_moves_the_volume_to_discarded_and_needs_a_reason() -> None:
    """The balance closes: received = on hand + dispensed + discarded."""
    inv = stocked()
    vial = inv.thaw_vial(T0)
    with pytest.raises(InvalidInput):
        inv.discard(vial.vial_id, "", T0)
    inv.discard(vial.vial_id, "past hold time", T0 + 3 * HOUR)
    with pytest.raises(VialTransitionRefused, match="already discarded"):
        inv.discard(vial.vial_id, "again", T0 + 3 * HOUR)
    balance = inv.balance()
    assert balance.discarded_ml == pytest.approx(1.0)
    assert balance.received_ml == pytest.approx(
        balance.on_hand_ml + balance.dispensed_ml + balance.discarded_ml
    )


def test_a_storage_excursion_quarantines_a_released_lot() -> None:
    """Issue 5: storage-temperature excursions recorded and judged."""
    inv = stocked()
    fine = inv.record_storage("EV-A", [TemperatureReading(T0, -80.0)], T0)
    assert fine.acceptable
    events = len(inv.events)
    judgement = inv.record_storage("EV-A", [TemperatureReading(T0, -20.0)], T0 + HOUR)
    assert not judgement.acceptable
    assert inv.lot("EV-A").status is LotStatus.QUARANTINE
    assert len(inv.events) == events + 1
    inv.record_storage("EV-A", [TemperatureReading(T0, -10.0)], T0 + 2 * HOUR)
    assert inv.lot("EV-A").status is LotStatus.QUARANTINE
    assert len(inv.lot("EV-A").reasons) == 2


def test_expire_only_after_the_expiry() -> None:
    """§2.4: check lot expiry against the CoA."""
    inv = stocked(expires_at=T0 + DAY)
    with pytest.raises(LotTransitionRefused, match="does not expire until"):
        inv.expire("EV-A", T0)
    inv.expire("EV-A", T0 + DAY)
    assert inv.lot("EV-A").status is LotStatus.EXPIRED


def test_one_event_per_mutation_and_none_per_refusal() -> None:
    """reliability.md §6.4: count(audit rows) == count(mutations)."""
    inv = stocked()  # receive + release
    inv.thaw_vial(T0)
    inv.prepare_dose(0.5, T0)
    for bad in (
        lambda: inv.prepare_dose(5.0, T0),
        lambda: inv.release("EV-A", T0),
        lambda: inv.thaw_vial(T0, lot_id="nope"),
    ):
        with pytest.raises((InsufficientVolume, LotTransitionRefused, UnknownRecord)):
            bad()
    assert [e.action for e in inv.events] == [
        "lot.receive",
        "lot.release",
        "vial.thaw",
        "dose.prepare",
    ]
    assert inv.events[2].vial_id == "EV-A-V001"


def test_unknown_records_are_reported() -> None:
    """A mistyped lot or vial number says so."""
    inv = Inventory()
    with pytest.raises(UnknownRecord, match="no lot EV-9"):
        inv.lot("EV-9")
    with pytest.raises(UnknownRecord, match="no vial V-9"):
        inv.vial("V-9")
