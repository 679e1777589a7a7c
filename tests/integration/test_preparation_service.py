"""Step 2 on both databases: lots, release, inventory, dose preparation, second-person check.

Reference values: release criteria of reference/clinical.md §2.3 (sterility
and mycoplasma negative, endotoxin ≤ 0.5 EU/mL, particles within ±20 % of the
label, CD9/CD63/CD81/TSG101 positive, calnexin negative); hold after thaw ≤ 2 h
at room temperature (§2.4); dose level DL1 of the demo protocol = 2.0 × 10^8
particles in 3 mL (§1.1, MEXVT); dose arithmetic: volume = dose ÷
concentration, topped up with saline to the fill volume (§7).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from exoneb.accounts.models import Signature
from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent, verify_chain
from exoneb.core.errors import NotFound, PermissionDenied, RuleViolation
from exoneb.inhalation import service as inhalation
from exoneb.preparation import rules
from exoneb.preparation import service as prep
from exoneb.preparation.handoff import VerifiedDose
from exoneb.preparation.models import LotReleaseResult, ProductVial
from exoneb.preparation.schemas import (
    DiscardPreparationIn,
    ExcursionIn,
    PlanIn,
    Reasoned,
    RejectIn,
    ReleaseIn,
    ThawIn,
    Versioned,
)
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World
from .factories import planned_session
from .prep_factories import (
    cleared_session,
    move,
    prepare,
    received_lot,
    released_lot,
    saline_lot,
    thaw,
    verified_session,
    verify,
)


def _actions(world: World) -> list[str]:
    with world.factory() as db:
        return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _balance(world: World, lot_id: int) -> prep.LotBalance:
    with world.action(Role.PHARMACIST) as ctx:
        return prep.balance_of(prep.vials_of(ctx=ctx, lot_id=lot_id))


def test_full_flow_release_thaw_prepare_verify_hand_over(world: World) -> None:
    lot_id = released_lot(world)
    saline_id = saline_lot(world)
    session_id = cleared_session(world)
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.get_lot(ctx=ctx, lot_id=lot_id)
        assert lot.status == "released"
        ((release, results),) = prep.releases_of(ctx=ctx, lot_id=lot_id)
        assert release.decision == "released"
        assert release.protocol_id == "demo-exo-01"
        assert {r.outcome for r in results} == {"pass"}
        keys = {r.key for r in results}
        assert {"sterility", "mycoplasma", "endotoxin", "particle_content"} <= keys
        assert {"marker:CD9", "marker:CD63", "marker:CD81", "marker:TSG101"} <= keys
        assert release.signature_id is not None
    thaw(world, lot_id)
    with world.action(Role.PHARMACIST) as ctx:
        draft = prep.plan(ctx=ctx, settings=world.settings, session_id=session_id, data=PlanIn())
        assert draft.blockers == ()
        assert draft.plan is not None
        # DL1: 2.0e8 particles ÷ 2.0e9 particles/mL = 0.10 mL; 3.00 − 0.10 = 2.90 mL saline.
        assert draft.plan.stock_ml == pytest.approx(0.10)
        assert draft.plan.saline_ml == pytest.approx(2.90)
        assert draft.plan.fill_ml == pytest.approx(3.0)
        assert any("0.10 mL" in step for step in draft.plan.steps)
    prepare(world, session_id, saline_id)
    with world.action(Role.NURSE) as ctx:
        assert prep.verified_dose(ctx, session_id) is None
        pending = prep.prepared_dose(ctx, session_id)
        assert pending is not None
        assert pending.verified_by == ""
    assert move(world, session_id, State.PREPARED) == "prepared"
    with pytest.raises(RuleViolation, match="second person"):
        move(world, session_id, State.VERIFIED)
    verify(world, session_id)
    assert move(world, session_id, State.VERIFIED) == "verified"
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
    assert isinstance(dose, VerifiedDose)
    assert dose.lot_number == "EV-0001"
    assert dose.dose_level == "DL1"
    assert dose.dose_particles == pytest.approx(2.0e8)
    assert dose.stock_volume_ml == pytest.approx(0.10)
    assert dose.saline_volume_ml == pytest.approx(2.90)
    assert dose.fill_volume_ml == pytest.approx(3.0)
    assert dose.nebulizer_key == "aerogen-solo"
    assert dose.prepared_by == "Pharmacist One"
    assert dose.verified_by == "Nurse One"
    # hold 2 h from the thaw start (reference/clinical.md §2.4)
    assert dose.use_by - dose.prepared_at == timedelta(hours=2)
    with world.action(Role.NURSE) as ctx:  # step 3 reads it through its one seam
        assert inhalation.verified_dose(ctx=ctx, session_id=session_id) == dose
    with world.factory() as db:
        assert prep.verified_dose(db, session_id) == dose  # a plain db session works too
        meanings = set(db.scalars(select(Signature.meaning)))
        assert {"approved", "performed", "verified"} <= meanings
        assert verify_chain(db).ok
    b = _balance(world, lot_id)
    assert (b.received_ml, b.in_stock_ml, b.used_ml, b.discarded_ml) == (4.0, 3.0, 0.1, 0.9)
    assert b.balanced
    assert b.vials == {"in_stock": 3, "thawed": 0, "used": 1, "discarded": 0}
    acts = _actions(world)
    for name in ("lot.receive", "lot.release", "vial.thaw", "preparation.prepare",
                 "preparation.verify", "record.sign"):  # fmt: skip
        assert name in acts


def test_a_failing_certificate_cannot_be_released_and_a_rejection_keeps_its_checklist(
    world: World,
) -> None:
    lot_id = received_lot(world, endotoxin_eu_per_ml=0.6, sterility=None)
    with world.action(Role.PHARMACIST) as ctx:
        evaluation = prep.evaluate(ctx=ctx, settings=world.settings, lot_id=lot_id)
        outcomes = {r.key: r.outcome.value for r in evaluation.results}
        assert outcomes["endotoxin"] == "fail"  # 0.6 > 0.5 EU/mL
        assert outcomes["sterility"] == "missing"  # not reported never passes
        version = prep.get_lot(ctx=ctx, lot_id=lot_id).version
    with (
        pytest.raises(rules.ReleaseRefused, match="Endotoxin") as info,
        world.action(Role.PHARMACIST) as ctx,
    ):
        prep.release_lot(
            ctx=ctx,
            settings=world.settings,
            lot_id=lot_id,
            data=ReleaseIn(version=version, password=PASSWORD),
        )
    assert info.value.status_code == 409
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.reject_lot(
            ctx=ctx,
            settings=world.settings,
            lot_id=lot_id,
            data=RejectIn(version=version, password=PASSWORD, reason="endotoxin out of spec"),
        )
        assert lot.status == "rejected"
        ((release, _results),) = prep.releases_of(ctx=ctx, lot_id=lot_id)
        assert release.decision == "rejected"
        assert release.reason == "endotoxin out of spec"
    with world.factory() as db:
        stored = {r.key: r.outcome for r in db.scalars(select(LotReleaseResult))}
    assert stored["endotoxin"] == "fail"
    assert stored["sterility"] == "missing"


def test_particle_content_outside_twenty_percent_of_label_fails(world: World) -> None:
    # reference/clinical.md §2.3: particle content = labelled amount ±20 % (NTA)
    lot_id = received_lot(world, certified_particles_per_ml=2.5e9)  # +25 %
    with world.action(Role.PHARMACIST) as ctx:
        ev = prep.evaluate(ctx=ctx, settings=world.settings, lot_id=lot_id)
    assert {r.key: r.outcome.value for r in ev.results}["particle_content"] == "fail"


def _prepare_error(world: World, session_id: int, saline_id: int, **extra: object) -> str:
    with pytest.raises(RuleViolation) as info:
        prepare(world, session_id, saline_id, **extra)
    return info.value.message


def test_each_block_has_its_message(world: World) -> None:
    saline_id = saline_lot(world)
    session_id = cleared_session(world)
    # a lot that is only received (quarantine)
    quarantined = received_lot(world, "EV-Q")
    message = _prepare_error(world, session_id, saline_id, lot_id=quarantined)
    assert "quarantine" in message
    # a released lot, no vial thawed yet
    lot_id = released_lot(world, "EV-A")
    assert "Thaw a vial" in _prepare_error(world, session_id, saline_id, lot_id=lot_id)
    # thawed, but the hold time (2 h, reference/clinical.md §2.4) has passed
    thaw(world, lot_id)
    world.clock.advance(timedelta(hours=2, minutes=1))
    message = _prepare_error(world, session_id, saline_id, lot_id=lot_id)
    assert "hold time" in message
    assert "Discard it" in message
    # appearance not acceptable
    world.clock.advance(timedelta(minutes=1))
    thaw(world, lot_id)
    message = _prepare_error(world, session_id, saline_id, lot_id=lot_id, appearance_ok=False)
    assert "visible particles" in message
    # a recalled lot
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.get_lot(ctx=ctx, lot_id=lot_id)
        prep.recall_lot(
            ctx=ctx, lot_id=lot_id, data=Reasoned(version=lot.version, reason="notice 7")
        )
    assert "recalled" in _prepare_error(world, session_id, saline_id, lot_id=lot_id)


def test_expired_lot_and_too_little_volume_are_blocked(world: World) -> None:
    saline_id = saline_lot(world)
    session_id = cleared_session(world)
    soon = world.clock.now() + timedelta(hours=1)
    lot_id = released_lot(world, "EV-SOON", expires_at=soon)
    thaw(world, lot_id)
    world.clock.advance(timedelta(hours=1))
    assert "expired" in _prepare_error(world, session_id, saline_id, lot_id=lot_id)
    # DL1 needs 0.10 mL of a 2.0e9/mL lot; a vial of 0.05 mL is not enough
    small = released_lot(world, "EV-SMALL", volume_per_vial_ml=0.05)
    thaw(world, small)
    message = _prepare_error(world, session_id, saline_id, lot_id=small)
    assert "needs 0.10 mL" in message
    assert "only 0.05 mL" in message


def test_no_dose_before_eligibility_is_cleared_and_signed(world: World) -> None:
    saline_id = saline_lot(world)
    lot_id = released_lot(world)
    thaw(world, lot_id)
    _, session_id = planned_session(world)
    message = _prepare_error(world, session_id, saline_id, lot_id=lot_id)
    assert "not been cleared" in message


def test_the_preparer_cannot_verify_and_roles_are_checked(world: World) -> None:
    saline_id = saline_lot(world)
    lot_id = released_lot(world)
    session_id = cleared_session(world)
    thaw(world, lot_id)
    prepare(world, session_id, saline_id, role=Role.NURSE)  # a nurse may prepare
    with pytest.raises(rules.VerificationRefused, match="cannot verify"):
        verify(world, session_id, role=Role.NURSE)
    with pytest.raises(PermissionDenied):
        verify(world, session_id, role=Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        prepare(world, session_id, saline_id, role=Role.PHYSICIAN)
    verify(world, session_id, role=Role.PHARMACIST)
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
        assert dose is not None
        assert (dose.prepared_by, dose.verified_by) == ("Nurse One", "Pharmacist One")


def test_an_excursion_quarantines_a_released_lot(world: World) -> None:
    lot_id = released_lot(world)
    with world.action(Role.PHARMACIST) as ctx:
        ok = prep.record_storage(
            ctx=ctx,
            lot_id=lot_id,
            data=ExcursionIn(recorded_at=world.clock.now(), temperature_c=-80),
        )
        assert ok.acceptable
        bad = prep.record_storage(
            ctx=ctx,
            lot_id=lot_id,
            data=ExcursionIn(recorded_at=world.clock.now(), temperature_c=-20, duration_min=30),
        )
        assert not bad.acceptable
        assert prep.get_lot(ctx=ctx, lot_id=lot_id).status == "quarantine"
    with pytest.raises(rules.LotQuarantined):
        thaw(world, lot_id)
    assert {"lot.storage_reading", "lot.excursion"} <= set(_actions(world))


def test_thaw_is_first_expiry_first_out(world: World) -> None:
    late = released_lot(world, "EV-LATE", expires_at=datetime(2026, 9, 1, tzinfo=UTC))
    early = released_lot(world, "EV-EARLY", expires_at=datetime(2026, 3, 1, tzinfo=UTC))
    with world.action(Role.PHARMACIST) as ctx:
        offers = prep.fefo(ctx=ctx)
        assert [lot.lot_number for lot, _ in offers] == ["EV-EARLY", "EV-LATE"]
    with pytest.raises(rules.FefoOrderViolated, match="EV-EARLY"):
        thaw(world, late)
    vial_id = thaw(world)
    with world.factory() as db:
        vial = db.get(ProductVial, vial_id)
        assert vial is not None
        assert vial.lot_id == early
        assert vial.thaw_count == 1


def test_recall_lists_every_preparation_session_and_patient_and_blocks_the_dose(
    world: World,
) -> None:
    session_id = verified_session(world)
    with world.action(Role.COORDINATOR) as ctx:
        (lot,) = prep.lots(ctx=ctx, kind="exosome")
        prep.recall_lot(
            ctx=ctx, lot_id=lot.id, data=Reasoned(version=lot.version, reason="sterility alert")
        )
        rows = prep.recall_report(ctx=ctx, lot_id=lot.id)
    assert [(r.session_id, r.mrn, r.role) for r in rows] == [(session_id, "MRN-1", "stock")]
    assert rows[0].patient_name == "Doe, Jane"
    with pytest.raises(RuleViolation, match="recalled"):
        move(world, session_id, State.INHALING)
    assert "lot.recall_report" in _actions(world)


def test_a_dose_past_its_use_by_cannot_be_verified_and_can_be_replaced(world: World) -> None:
    saline_id = saline_lot(world)
    lot_id = released_lot(world)
    session_id = cleared_session(world)
    thaw(world, lot_id)
    prepare(world, session_id, saline_id)
    world.clock.advance(timedelta(hours=2, minutes=1))
    with pytest.raises(rules.HoldTimeExceeded):
        verify(world, session_id)
    with world.action(Role.PHARMACIST) as ctx:
        p = prep.active_preparation(ctx, session_id)
        assert p is not None
        prep.discard_preparation(
            ctx=ctx,
            session_id=session_id,
            data=DiscardPreparationIn(version=p.version, reason="past its use-by"),
        )
    thaw(world, lot_id)
    prepare(world, session_id, saline_id)
    verify(world, session_id)
    b = _balance(world, lot_id)
    assert (b.used_ml, b.discarded_ml, b.in_stock_ml) == (0.2, 1.8, 2.0)
    assert b.balanced


def test_discarded_vials_keep_the_balance_and_refusals_change_nothing(world: World) -> None:
    lot_id = released_lot(world)
    vial_id = thaw(world, lot_id)
    with world.action(Role.PHARMACIST) as ctx:
        vial = ctx.db.get(ProductVial, vial_id)
        assert vial is not None
        prep.discard_vial(
            ctx=ctx, vial_id=vial_id, data=Reasoned(version=vial.version, reason="dropped")
        )
    before = _actions(world)
    with world.factory() as db:
        version = db.get(ProductVial, vial_id).version  # type: ignore[union-attr]
    with pytest.raises(rules.VialTransitionRefused), world.action(Role.PHARMACIST) as ctx:
        prep.discard_vial(ctx=ctx, vial_id=vial_id, data=Reasoned(version=version, reason="again"))
    assert _actions(world) == before
    b = _balance(world, lot_id)
    assert (b.received_ml, b.in_stock_ml, b.used_ml, b.discarded_ml) == (4.0, 3.0, 0.0, 1.0)


def test_another_sites_lot_is_not_found(world: World) -> None:
    lot_id = released_lot(world)
    from exoneb.accounts import service as accounts

    with world.action() as ctx:
        other = accounts.create_site(ctx=ctx, code="S2", name="Site two", time_zone="UTC")
        user = accounts.create_user(
            ctx=ctx, settings=world.settings, username="pharm2", full_name="P Two",
            role="pharmacist", site_id=other.id, password=PASSWORD,
        )  # fmt: skip
    with pytest.raises(NotFound), world.action(actor=accounts.actor_for(user)) as ctx:
        prep.get_lot(ctx=ctx, lot_id=lot_id)


def test_one_audit_row_per_mutation(world: World) -> None:
    lot_id = released_lot(world)
    with world.factory() as db:
        start = db.scalar(select(func.count(AuditEvent.seq)))
    with world.action(Role.PHARMACIST) as ctx:
        prep.thaw_vial(ctx=ctx, settings=world.settings, data=ThawIn(lot_id=lot_id))
    with world.factory() as db:
        assert db.scalar(select(func.count(AuditEvent.seq))) == (start or 0) + 1


def test_two_preparations_never_draw_the_same_vial(world: World) -> None:
    """Concurrent preparations against the last thawed vial: one wins, the other is refused.

    The first preparation is held inside its transaction after it locked the
    vials; the second starts meanwhile and must wait (row lock on PostgreSQL,
    BEGIN IMMEDIATE on SQLite), then finds the vial used.
    """
    saline_id = saline_lot(world)
    lot_id = released_lot(world, vial_count=1)
    first_session = cleared_session(world, "MRN-A")
    second_session = cleared_session(world, "MRN-B")
    thaw(world, lot_id)
    locked, go = threading.Event(), threading.Event()
    real_draft = prep._draft
    outcomes: dict[str, object] = {}

    def held_draft(*args: object, **kwargs: object) -> prep.Draft:
        draft = real_draft(*args, **kwargs)  # type: ignore[arg-type]
        if threading.current_thread().name == "first":
            locked.set()
            go.wait(10)
        return draft

    def run(name: str, session_id: int) -> None:
        try:
            outcomes[name] = prepare(world, session_id, saline_id, lot_id=lot_id)
        except BaseException as exc:
            outcomes[name] = exc

    prep._draft = held_draft  # type: ignore[assignment]
    try:
        first = threading.Thread(target=run, args=("first", first_session), name="first")
        second = threading.Thread(target=run, args=("second", second_session), name="second")
        first.start()
        assert locked.wait(10)
        second.start()
        second.join(0.5)  # the second transaction is now waiting for the first one's lock
        go.set()
        first.join(20)
        second.join(20)
    finally:
        prep._draft = real_draft  # type: ignore[assignment]
    assert isinstance(outcomes["first"], int), outcomes["first"]
    assert isinstance(outcomes["second"], rules.InsufficientVolume), outcomes["second"]
    b = _balance(world, lot_id)
    assert b.used_ml == pytest.approx(0.1)
    assert b.balanced


def _refreeze(world: World, vial_id: int) -> None:
    with world.factory() as db:
        version = db.get(ProductVial, vial_id).version  # type: ignore[union-attr]
    with world.action(Role.PHARMACIST) as ctx:
        prep.refreeze_vial(
            ctx=ctx, settings=world.settings, vial_id=vial_id, data=Versioned(version=version)
        )


def test_refreezing_only_when_the_certificate_allows_another_thaw(world: World) -> None:
    """reference/clinical.md §2.4: no refreezing unless the certificate validates more thaws."""
    single = released_lot(world, "EV-ONE", expires_at=datetime(2026, 3, 1, tzinfo=UTC))
    vial_id = thaw(world, single)
    with pytest.raises(rules.RefreezeRefused, match="allows 1 thaw"):
        _refreeze(world, vial_id)
    twice = released_lot(world, "EV-TWO", max_thaw_cycles=2, vial_count=1)
    with world.action(Role.PHARMACIST) as ctx:  # the single-thaw lot's other vials go first
        for vial in prep.vials_of(ctx=ctx, lot_id=single):
            prep.discard_vial(
                ctx=ctx, vial_id=vial.id, data=Reasoned(version=vial.version, reason="test")
            )
    vial_id = thaw(world, twice)
    _refreeze(world, vial_id)
    assert thaw(world, twice) == vial_id  # thawed a second time
    with pytest.raises(rules.RefreezeRefused):
        _refreeze(world, vial_id)  # two thaws used up
    assert "vial.refreeze" in _actions(world)
    assert _balance(world, twice).balanced


def test_verifier_roles_are_the_matrix_and_match_the_pure_default() -> None:
    """Pharmacist, nurse and physician verify (reference/clinical.md §7 second person)."""
    assert (
        prep.VERIFIER_ROLES == rules.DEFAULT_VERIFIER_ROLES == {"pharmacist", "nurse", "physician"}
    )
