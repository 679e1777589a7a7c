"""Hypothesis state machine over the lot inventory (reference/reliability.md §6 item 4).

Rules: receive_lot, release, quarantine, reject, recall, thaw_vial, refreeze,
prepare_dose(volume), discard, advance_clock, expire.

Invariants (§6.4, issue 5):

- on hand ≥ 0 (every vial's volume ≥ 0);
- received = on hand + dispensed + discarded, in volume (exact, µL) and in vials;
- no dose drawn from an expired, quarantined, rejected or recalled lot;
- FEFO respected: every thaw comes from the first-expiring usable lot with stock;
- no vial drawn past its hold time after thawing;
- one event per successful mutation, none for a refusal.

Each rule restates independently, from the read-only views, whether the action
should succeed, and checks the inventory agrees — so the machine fails if the
rules refuse something legal as well as if they allow something illegal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from exoneb.preparation.rules import (
    Dispense,
    HoldPolicy,
    Inventory,
    LotStatus,
    PreparationError,
    VialStatus,
    VialView,
    evaluate_release,
)

from .factories import T0, make_coa

HOLD = HoldPolicy()
REASONS = st.sampled_from(["deviation report", "recall notice", "", "  "])


def ul(volume_ml: float) -> int:
    return round(volume_ml * 1000)


class InventoryMachine(RuleBasedStateMachine):
    """The pure inventory under random sequences of pharmacy actions."""

    def __init__(self) -> None:
        super().__init__()
        self.inv = Inventory(hold=HOLD)
        self.now: datetime = T0
        self.lot_ids: list[str] = []
        self.mutations = 0

    # ------------------------------------------------------------ independent oracle
    def usable(self, lot_id: str) -> bool:
        lot = self.inv.lot(lot_id)
        return lot.status is LotStatus.RELEASED and self.now < lot.expires_at

    def thawable(self) -> list[VialView]:
        return [
            v
            for v in self.inv.vials()
            if v.status is VialStatus.IN_STOCK
            and v.thaw_count < self.inv.lot(v.lot_id).certificate.max_thaw_cycles
            and self.usable(v.lot_id)
        ]

    def drawable(self) -> list[VialView]:
        return [
            v
            for v in self.inv.vials()
            if v.status is VialStatus.THAWED
            and v.thawed_at is not None
            and self.usable(v.lot_id)
            and v.thawed_at <= self.now <= v.thawed_at + HOLD.max_hold
        ]

    def attempt(self, action: str, expected: bool, fn: object) -> object:
        """Run ``fn``; it must succeed iff ``expected``; count successful mutations."""
        assert callable(fn)
        before = len(self.inv.events)
        try:
            result = fn()
        except PreparationError:
            assert not expected, f"{action} was refused but the oracle allows it"
            assert len(self.inv.events) == before, f"a refused {action} left an event"
            return None
        assert expected, f"{action} succeeded but the oracle forbids it"
        self.mutations += 1
        return result

    # --------------------------------------------------------------------- rules
    @initialize()
    def first_lot(self) -> None:
        """Start with one released lot so that thaws and doses are reached early."""
        self.receive_lot(expiry_hours=48, vials=2, volume=1.0, good=True, thaws=2)
        self.attempt("release", True, lambda: self.inv.release("EV-01", self.now))

    @precondition(lambda self: len(self.lot_ids) < 5)
    @rule(
        expiry_hours=st.integers(1, 240),
        vials=st.integers(1, 3),
        volume=st.sampled_from([0.5, 1.0, 1.5]),
        good=st.sampled_from([True, True, True, False]),
        thaws=st.integers(1, 2),
    )
    def receive_lot(
        self, expiry_hours: int, vials: int, volume: float, good: bool, thaws: int
    ) -> None:
        lot_id = f"EV-{len(self.lot_ids) + 1:02d}"
        coa = make_coa(
            expires_at=self.now + timedelta(hours=expiry_hours),
            vial_count=vials,
            volume_per_vial_ml=volume,
            max_thaw_cycles=thaws,
            endotoxin_eu_per_ml=0.1 if good else 0.9,
        )
        self.attempt("receive", True, lambda: self.inv.receive_lot(lot_id, coa, self.now))
        self.lot_ids.append(lot_id)

    @precondition(lambda self: self.lot_ids)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        lot_id = data.draw(st.sampled_from(self.lot_ids))
        lot = self.inv.lot(lot_id)
        expected = (
            lot.status is LotStatus.QUARANTINE
            and evaluate_release(lot.certificate).releasable
            and self.now < lot.expires_at
        )
        self.attempt("release", expected, lambda: self.inv.release(lot_id, self.now))

    @precondition(lambda self: self.lot_ids)
    @rule(data=st.data(), reason=REASONS)
    def quarantine(self, data: st.DataObject, reason: str) -> None:
        lot_id = data.draw(st.sampled_from(self.lot_ids))
        expected = self.inv.lot(lot_id).status is LotStatus.RELEASED and bool(reason.strip())
        self.attempt("quarantine", expected, lambda: self.inv.quarantine(lot_id, reason, self.now))

    @precondition(lambda self: self.lot_ids)
    @rule(data=st.data(), reason=REASONS)
    def reject(self, data: st.DataObject, reason: str) -> None:
        lot_id = data.draw(st.sampled_from(self.lot_ids))
        expected = self.inv.lot(lot_id).status is LotStatus.QUARANTINE and bool(reason.strip())
        self.attempt("reject", expected, lambda: self.inv.reject(lot_id, reason, self.now))

    @precondition(lambda self: self.lot_ids)
    @rule(data=st.data(), reason=REASONS)
    def recall(self, data: st.DataObject, reason: str) -> None:
        lot_id = data.draw(st.sampled_from(self.lot_ids))
        status = self.inv.lot(lot_id).status
        expected = status in (LotStatus.RELEASED, LotStatus.QUARANTINE) and bool(reason.strip())
        self.attempt("recall", expected, lambda: self.inv.recall(lot_id, reason, self.now))

    @precondition(lambda self: self.lot_ids)
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        lot_id = data.draw(st.sampled_from(self.lot_ids))
        lot = self.inv.lot(lot_id)
        expected = (
            lot.status in (LotStatus.QUARANTINE, LotStatus.RELEASED) and self.now >= lot.expires_at
        )
        self.attempt("expire", expected, lambda: self.inv.expire(lot_id, self.now))

    @rule(data=st.data(), pick=st.booleans())
    def thaw_vial(self, data: st.DataObject, pick: bool) -> None:
        candidates = self.thawable()
        first_expiry = min((self.inv.lot(v.lot_id).expires_at for v in candidates), default=None)
        lot_id = data.draw(st.sampled_from(self.lot_ids)) if pick and self.lot_ids else None
        if lot_id is None:
            expected = bool(candidates)
        else:
            fefo_lots = sorted(
                {v.lot_id for v in candidates},
                key=lambda i: (self.inv.lot(i).expires_at, i),
            )
            expected = bool(fefo_lots) and fefo_lots[0] == lot_id
        vial = self.attempt("thaw", expected, lambda: self.inv.thaw_vial(self.now, lot_id=lot_id))
        if isinstance(vial, VialView):
            # FEFO: the thawed vial's lot is the earliest-expiring usable lot with stock.
            assert self.inv.lot(vial.lot_id).expires_at == first_expiry
            assert self.usable(vial.lot_id)
            assert vial.thaw_count <= self.inv.lot(vial.lot_id).certificate.max_thaw_cycles
            assert vial.thawed_at == self.now

    @rule(data=st.data())
    def refreeze(self, data: st.DataObject) -> None:
        thawed = [v for v in self.inv.vials() if v.status is VialStatus.THAWED]
        if not thawed:
            return
        vial = data.draw(st.sampled_from(thawed))
        assert vial.thawed_at is not None
        expected = (
            vial.thaw_count < self.inv.lot(vial.lot_id).certificate.max_thaw_cycles
            and self.now <= vial.thawed_at + HOLD.max_hold
        )
        self.attempt("refreeze", expected, lambda: self.inv.refreeze(vial.vial_id, self.now))

    @rule(volume=st.sampled_from([0.05, 0.4, 0.75, 1.0, 1.6, 2.5]))
    def prepare_dose(self, volume: float) -> None:
        drawable = self.drawable()
        expected = sum(ul(v.volume_ml) for v in drawable) >= ul(volume)
        before = {v.vial_id: v for v in drawable}
        dispense = self.attempt(
            "prepare", expected, lambda: self.inv.prepare_dose(volume, self.now)
        )
        if dispense is None:
            return
        assert isinstance(dispense, Dispense)
        assert sum(ul(d.volume_ml) for d in dispense.draws) == ul(volume)
        expiries = []
        for draw in dispense.draws:
            # No dose from an expired, quarantined, rejected or recalled lot,
            # and no vial past its hold time.
            assert draw.vial_id in before
            assert self.usable(draw.lot_id)
            assert self.now <= draw.thawed_at + HOLD.max_hold
            assert self.inv.vial(draw.vial_id).status is VialStatus.USED
            expiries.append(self.inv.lot(draw.lot_id).expires_at)
        assert expiries == sorted(expiries)  # drawn first-expiry-first-out
        assert dispense.use_by == min(d.thawed_at for d in dispense.draws) + HOLD.max_hold

    @rule(data=st.data(), reason=st.sampled_from(["past hold time", "cracked vial", ""]))
    def discard(self, data: st.DataObject, reason: str) -> None:
        vials = self.inv.vials()
        if not vials:
            return
        vial = data.draw(st.sampled_from(vials))
        expected = vial.status in (VialStatus.IN_STOCK, VialStatus.THAWED) and bool(reason)
        self.attempt("discard", expected, lambda: self.inv.discard(vial.vial_id, reason, self.now))

    @rule(minutes=st.sampled_from([1, 10, 30, 119, 120, 121, 600, 2880]))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    # ---------------------------------------------------------------- invariants
    @invariant()
    def nothing_negative(self) -> None:
        assert all(v.volume_ml >= 0 for v in self.inv.vials())
        balance = self.inv.balance()
        assert balance.on_hand_ml >= 0
        assert balance.dispensed_ml >= 0
        assert balance.discarded_ml >= 0

    @invariant()
    def inventory_balances(self) -> None:
        balance = self.inv.balance()
        assert ul(balance.received_ml) == (
            ul(balance.on_hand_ml) + ul(balance.dispensed_ml) + ul(balance.discarded_ml)
        )
        received_vials = sum(self.inv.lot(i).certificate.vial_count for i in self.lot_ids)
        assert sum(balance.vials.values()) == received_vials
        on_hand = sum(
            ul(v.volume_ml)
            for v in self.inv.vials()
            if v.status in (VialStatus.IN_STOCK, VialStatus.THAWED)
        )
        assert ul(balance.on_hand_ml) == on_hand
        used_or_gone = [
            v for v in self.inv.vials() if v.status in (VialStatus.USED, VialStatus.DISCARDED)
        ]
        assert all(v.volume_ml == 0 for v in used_or_gone)

    @invariant()
    def one_event_per_mutation(self) -> None:
        assert len(self.inv.events) == self.mutations

    @invariant()
    def fefo_offers_are_usable_and_sorted(self) -> None:
        offers = self.inv.fefo(self.now)
        assert all(self.usable(o.lot_id) for o in offers)
        assert [(o.expires_at, o.lot_id) for o in offers] == sorted(
            (o.expires_at, o.lot_id) for o in offers
        )
        assert {o.lot_id for o in offers} == {v.lot_id for v in self.thawable()}

    @invariant()
    def certificates_that_fail_are_never_released(self) -> None:
        for lot_id in self.lot_ids:
            lot = self.inv.lot(lot_id)
            if not evaluate_release(lot.certificate).releasable:
                assert lot.status is not LotStatus.RELEASED


TestInventoryMachine = InventoryMachine.TestCase
