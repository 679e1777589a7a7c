"""Inhalation (step 3) on both databases: register, run, timer, estimates, signature, moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from numpy.testing import assert_allclose
from sqlalchemy import func, select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent, verify_chain
from exoneb.core.errors import DuplicateRecord, PermissionDenied, RuleViolation
from exoneb.dosimetry import deposit
from exoneb.inhalation import models as m
from exoneb.inhalation import rules
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import DeviceIn, RetireIn, SignIn, Versioned
from exoneb.sessions import service as sessions

from .conftest import PASSWORD, World
from .inhalation_helpers import (
    DOSE_PARTICLES,
    FILL_ML,
    StandIn,
    act,
    mesh_device,
    protocol_with_arms,
    set_up,
    stand_in,
    stopped_run,
)

#: The patient of factories.patient_data on the world clock's day (2026-01-05).
PATIENT = {"sex": "female", "age_years": 64.0, "height_cm": 165.0}
#: BREATHING_PRESETS["relaxed-tidal"], written out (the dose engine's defaults).
RELAXED = {"tidal_volume_ml": 500.0, "breaths_per_min": 15.0, "inspiratory_fraction": 0.4,
           "breath_hold_s": 0.0}  # fmt: skip


@pytest.fixture
def fake(world: World) -> Iterator[StandIn]:
    """Steps 1–2 stood in for (see inhalation_helpers)."""
    with stand_in(world) as f:
        yield f


def _state(world: World, session_id: int) -> str:
    with world.factory() as db:
        from exoneb.sessions.models import TherapySession

        s = db.get(TherapySession, session_id)
        assert s is not None
        return s.state


def _view(world: World, session_id: int) -> dict[str, object]:
    with world.action(Role.NURSE) as ctx:
        return inhalation.current_view(ctx=ctx, settings=world.settings, session_id=session_id)


def _actions(world: World) -> list[str]:
    with world.factory() as db:
        return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def _engine(**extra: object) -> dict[str, object]:
    result = deposit(
        nebulizer="aerogen-solo", interface="mouthpiece", fill_ml=FILL_ML,
        dose_particles=DOSE_PARTICLES, **PATIENT, **RELAXED, **extra,  # type: ignore[arg-type]
    )  # fmt: skip
    return result.to_dict()


def _assert_same_as_engine(record: dict[str, object], engine: dict[str, object]) -> None:
    assert record["model"] == engine["model"]
    assert record["model_version"] == engine["model_version"]
    for key in ("fractions_of_loaded", "fractions_of_inhaled"):
        ours, theirs = record[key], engine[key]
        assert isinstance(ours, dict)
        assert isinstance(theirs, dict)
        assert set(ours) == set(theirs)
        for region, value in theirs.items():
            assert_allclose(ours[region], value, rtol=1e-12)
    ours_p, theirs_p = record["particles"], engine["particles"]
    assert isinstance(ours_p, dict)
    assert isinstance(theirs_p, dict)
    for region, value in theirs_p.items():
        assert_allclose(ours_p[region], value, rtol=1e-12)
    gens = record["by_generation"]
    assert isinstance(gens, list)
    assert_allclose(
        [g["fraction_of_inhaled"] for g in gens],
        [g["fraction_of_inhaled"] for g in engine["by_generation"]],  # type: ignore[attr-defined]
        rtol=1e-12,
    )


def test_full_run_with_one_pause_ends_signed_in_monitoring(world: World, fake: StandIn) -> None:
    _, session_id = stopped_run(fake)
    assert _state(world, session_id) == "inhaling"
    view = _view(world, session_id)
    assert view["state"] == "stopped"
    assert view["elapsed_s"] == 8 * 60  # 2 + 6 minutes nebulizing
    assert view["interruption_s"] == 90
    assert [(i["reason"], i["duration_s"]) for i in view["interruptions"]] == [("cough", 90.0)]  # type: ignore[attr-defined]
    # Before the residual volume is measured the step cannot be signed.
    with pytest.raises(RuleViolation, match="residual"), world.action(Role.NURSE) as ctx:
        inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=SignIn(password=PASSWORD, version=view["version"]))  # type: ignore[arg-type]  # fmt: skip
    version = act(world, "residual", session_id, residual_ml=0.4)
    with world.action(Role.NURSE) as ctx:
        run = inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                              data=SignIn(password=PASSWORD, version=version))  # fmt: skip
        assert inhalation.signature_ok(ctx=ctx, run=run) is True
    assert _state(world, session_id) == "monitoring"
    acts = _actions(world)
    for name in ("device.register", "inhalation.set_up", "inhalation.supervisor",
                 "inhalation.start", "inhalation.pause", "inhalation.resume", "inhalation.stop",
                 "inhalation.residual", "record.sign", "inhalation.sign"):  # fmt: skip
        assert name in acts, name
    assert acts.count("session.transition") == 4 + 2  # to verified by the stand-in, then ours
    with world.factory() as db:
        assert verify_chain(db).ok
        events = db.scalars(select(m.RunEvent.action).order_by(m.RunEvent.seq)).all()
    assert list(events) == ["supervisor", "start", "pause", "resume", "stop", "record_residual"]


def test_preview_and_final_estimates_equal_a_direct_engine_call(
    world: World, fake: StandIn
) -> None:
    _, session_id = stopped_run(fake)
    act(world, "residual", session_id, residual_ml=0.4)
    view = _view(world, session_id)
    preview, final = view["preview"], view["final"]
    assert isinstance(preview, dict)
    assert isinstance(final, dict)
    _assert_same_as_engine(preview["record"], _engine())  # catalog residual
    _assert_same_as_engine(final["record"], _engine(residual_ml=0.4))
    assert final["record"]["residual_measured"] is True
    assert preview["record"]["residual_measured"] is False
    assert final["record"]["inputs"]["residual_ml"] == 0.4
    assert final["record"]["inputs"]["sex"] == "female"
    assert final["record"]["statement"] == rules.MODEL_ESTIMATE_STATEMENT
    with world.factory() as db:
        row = db.scalars(select(m.DoseEstimate).where(m.DoseEstimate.stage == "final")).one()
        assert row.lung_particles == final["record"]["particles"]["lung"]
        assert row.lung_intact_particles == final["record"]["particles"]["lung_intact"]
        assert row.model
        assert row.model_version


def test_measured_breathing_is_used_for_the_final_estimate(world: World, fake: StandIn) -> None:
    _, session_id = stopped_run(fake)
    act(world, "residual", session_id, residual_ml=0.2, measured_tidal_volume_ml=650.0,
        measured_breaths_per_min=12.0)  # fmt: skip
    final = _view(world, session_id)["final"]
    assert isinstance(final, dict)
    engine = _engine(residual_ml=0.2) | {}
    measured = deposit(
        nebulizer="aerogen-solo", interface="mouthpiece", fill_ml=FILL_ML, residual_ml=0.2,
        dose_particles=DOSE_PARTICLES, **PATIENT, tidal_volume_ml=650.0, breaths_per_min=12.0,
        inspiratory_fraction=0.4, breath_hold_s=0.0,  # type: ignore[arg-type]
    ).to_dict()  # fmt: skip
    _assert_same_as_engine(final["record"], measured)
    assert final["record"]["breathing_source"] == "measured"
    assert final["record"]["fractions_of_loaded"] != engine["fractions_of_loaded"]


def test_cannot_start_without_a_supervisor_present(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    set_up(world, session_id, mesh_device(world))
    with pytest.raises(rules.SupervisorAbsent):
        act(world, "start", session_id)
    assert _state(world, session_id) == "verified"
    assert _view(world, session_id)["state"] == "not_started"


def test_cannot_start_or_set_up_without_a_verified_preparation(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    device_id = mesh_device(world)
    set_up(world, session_id, device_id)
    act(world, "supervisor", session_id)
    del fake.doses[session_id]  # the verification no longer holds
    with pytest.raises(rules.PreparationNotVerified):
        act(world, "start", session_id)
    with pytest.raises(rules.PreparationNotVerified):
        set_up(world, session_id, device_id)
    assert _state(world, session_id) == "verified"


def test_an_expired_preparation_is_not_nebulized(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    world.clock.advance(timedelta(hours=3))
    with pytest.raises(RuleViolation, match="expired"):
        act(world, "start", session_id)


def test_pause_needs_a_reason_and_words_for_other(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    with pytest.raises(rules.ReasonRequired):
        act(world, "pause", session_id, reason="other", note="  ")
    act(world, "pause", session_id, reason="desaturation")
    assert _view(world, session_id)["state"] == "paused"


def test_a_stopped_run_cannot_resume(world: World, fake: StandIn) -> None:
    _, session_id = stopped_run(fake)
    with pytest.raises(rules.RunAlreadyStopped) as refused:
        act(world, "resume", session_id)
    assert refused.value.status_code == 409


def test_residual_larger_than_the_fill_is_refused(world: World, fake: StandIn) -> None:
    _, session_id = stopped_run(fake)
    with pytest.raises(rules.ResidualExceedsFill) as refused:
        act(world, "residual", session_id, residual_ml=FILL_ML + 0.5)
    assert refused.value.status_code == 422
    with world.factory() as db:
        assert db.scalar(select(func.count()).select_from(m.DoseEstimate).where(
            m.DoseEstimate.stage == "final")) == 0  # fmt: skip
    assert _view(world, session_id)["residual_ml"] is None


def test_the_timer_is_computed_from_stored_events(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    planned = _view(world, session_id)["planned_duration_s"]
    # (fill − catalog residual) / output rate for the Aerogen Solo: (3.0 − 0.1) / 0.38 mL/min.
    assert planned == pytest.approx((3.0 - 0.1) / 0.38 * 60)
    world.clock.advance(timedelta(minutes=3, seconds=10))
    first = _view(world, session_id)
    assert first["elapsed_s"] == 190
    assert first["remaining_s"] == pytest.approx(planned - 190)  # type: ignore[operator]
    act(world, "pause", session_id, reason="patient_request")
    world.clock.advance(timedelta(minutes=5))
    again = _view(world, session_id)  # a reload, minutes later: still 190 s nebulized
    assert again["elapsed_s"] == 190
    assert again["interruption_s"] == 300


def test_stale_version_is_a_409(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    version = set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    from exoneb.core.errors import StaleEdit

    with pytest.raises(StaleEdit), world.action(Role.NURSE) as ctx:
        inhalation.start(ctx=ctx, session_id=session_id, data=Versioned(version=version))


def test_device_of_another_type_than_prepared_for_is_refused(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    jet = mesh_device(world, make="PARI", model="LC Plus", kind="breath-enhanced-jet")
    with pytest.raises(RuleViolation, match="prepared for"):
        set_up(world, session_id, jet)


def test_cumulative_dose_sums_final_estimates_across_sessions(world: World, fake: StandIn) -> None:
    patient_id, first = stopped_run(fake)
    act(world, "residual", first, residual_ml=0.4)
    # A second session of the same patient.
    with world.action(Role.NURSE) as ctx:
        enrolment_id = sessions.get_session(ctx=ctx, session_id=first, refresh=True).enrolment_id
    second = _second_session(world, fake, patient_id, enrolment_id)
    set_up(world, second, mesh_device(world))
    for name in ("supervisor", "start"):
        act(world, name, second)
    world.clock.advance(timedelta(minutes=7))
    act(world, "stop", second, reason="sputtering")
    act(world, "residual", second, residual_ml=0.2)
    one, two = _engine(residual_ml=0.4), _engine(residual_ml=0.2)
    with world.action(Role.PHYSICIAN) as ctx:
        total = inhalation.cumulative_for(ctx=ctx, patient_id=patient_id)
    assert total.sessions_counted == 2
    assert_allclose(total.lung_particles,
                    one["particles"]["lung"] + two["particles"]["lung"], rtol=1e-12)  # type: ignore[index]  # fmt: skip
    assert_allclose(total.alveolar_particles,
                    one["particles"]["alveolar"] + two["particles"]["alveolar"], rtol=1e-12)  # type: ignore[index]  # fmt: skip


def _second_session(world: World, fake: StandIn, patient_id: int, enrolment_id: int) -> int:
    from datetime import UTC, datetime

    from exoneb.sessions.rules import State
    from exoneb.sessions.schemas import SessionPlan

    with world.action(Role.NURSE) as ctx:
        plan = SessionPlan(
            enrolment_id=enrolment_id, planned_for=datetime(2026, 1, 20, 9, tzinfo=UTC)
        )
        s = sessions.plan_session(ctx=ctx, patient_id=patient_id, data=plan)
        session_id = s.id
    any_dose = next(iter(fake.doses.values()))
    from dataclasses import replace

    fake.doses[session_id] = replace(
        any_dose, session_id=session_id, preparation_id=5000 + session_id,
        use_by=world.clock.now() + timedelta(hours=2),
    )  # fmt: skip
    for target in (State.ASSESSED, State.CLEARED, State.PREPARED, State.VERIFIED):
        with world.action(Role.NURSE) as ctx:
            s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
            sessions.move(ctx=ctx, session_id=session_id, target=target, version=s.version)
    return session_id


def test_register_links_the_catalog_and_warns_for_ultrasonic(world: World) -> None:
    mesh_id = mesh_device(world)
    sonic_id = mesh_device(world, make="Generic", model="Ultrasonic 1.7 MHz", kind="ultrasonic",
                           validated_with_product=False)  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        mesh = inhalation.device_view(inhalation.get_device(ctx=ctx, device_id=mesh_id))
        sonic = inhalation.device_view(inhalation.get_device(ctx=ctx, device_id=sonic_id))
    assert mesh["catalog_id"] == "aerogen-solo"
    assert mesh["catalog_match"] == "make and model"
    assert mesh["warnings"] == []
    assert sonic["catalog_id"] == "ultrasonic-generic"
    codes = {w["code"] for w in sonic["warnings"]}
    assert {"device.heat_sensitive_product", "device.not_validated_with_product"} <= codes


def test_register_refuses_duplicates_and_other_roles_and_keeps_retired(world: World) -> None:
    device_id = mesh_device(world, serial_or_lot="SN-1")
    with pytest.raises(DuplicateRecord):
        mesh_device(world, serial_or_lot="SN-1")
    with pytest.raises(PermissionDenied):
        _as_physician(world)
    with pytest.raises(rules.UnknownInterface):  # "mask" alone: valved or open aerosol?
        _mask(world)
    with world.action(Role.ADMINISTRATOR) as ctx:
        retire = RetireIn(reason="mesh worn", version=1)
        retired = inhalation.retire_device(ctx=ctx, device_id=device_id, data=retire)
        assert retired.status == "retired"
        assert [d.id for d in inhalation.devices(ctx=ctx, include_retired=False)] == []
        assert [d.id for d in inhalation.devices(ctx=ctx)] == [device_id]


def _as_physician(world: World) -> None:
    with world.action(Role.PHYSICIAN) as ctx:
        inhalation.register_device(ctx=ctx, data=DeviceIn(
            make="Aerogen", model="Solo", kind="vibrating-mesh", serial_or_lot="SN-2",
            interface="mouthpiece"))  # fmt: skip


def _mask(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        data = DeviceIn.model_construct(
            make="Aerogen", model="Solo", kind="vibrating-mesh", serial_or_lot="SN-3",
            interface="mask", validated_with_product=False, catalog_id=None, note=None,
        )  # fmt: skip
        inhalation.register_device(ctx=ctx, data=data)


PLACEBO_ARM = {"code": "PBO", "label": "Saline placebo, 3 mL", "fill_volume_ml": 3.0,
               "regimen": "saline-nebulization", "source": "mexvt"}  # fmt: skip


def test_saline_arm_shares_the_workflow_with_zero_vesicles(db_url: str, tmp_path: Path) -> None:
    """A placebo arm (clinical.md §1.1: same vehicle, no particles) runs the same session."""
    from .conftest import seed_world

    world = seed_world(db_url, protocols_dir=protocol_with_arms(tmp_path, PLACEBO_ARM))
    try:
        with stand_in(world) as fake:
            patient_id, session_id = fake.verified_session(arm_code="PBO", dose_particles=0.0)
            set_up(world, session_id, mesh_device(world))
            for name in ("supervisor", "start"):
                act(world, name, session_id)
            world.clock.advance(timedelta(minutes=7))
            act(world, "stop", session_id, reason="output_stopped")
            act(world, "residual", session_id, residual_ml=0.3)
            view = _view(world, session_id)
            with world.action(Role.PHYSICIAN) as ctx:
                total = inhalation.cumulative_for(ctx=ctx, patient_id=patient_id)
    finally:
        world.factory.kw["bind"].dispose()
    final = view["final"]
    assert isinstance(final, dict)
    record = final["record"]
    assert view["regimen"]["id"] == "saline-nebulization"  # type: ignore[index]
    assert record["loaded_dose"] == 0.0
    assert record["particles"]["lung"] == 0.0
    assert record["particles"]["lung_intact"] is None
    engine = deposit(nebulizer="aerogen-solo", interface="mouthpiece", fill_ml=FILL_ML,
                     residual_ml=0.3, **PATIENT, **RELAXED)  # type: ignore[arg-type]  # fmt: skip
    assert_allclose(record["fractions_of_loaded"]["alveolar"],
                    engine.to_dict()["fractions_of_loaded"]["alveolar"], rtol=1e-12)  # fmt: skip
    assert any("Saline arm" in a for a in record["assumptions"])
    assert total.sessions_counted == 1  # a placebo session counts, with zero vesicles
    assert total.lung_particles == 0.0
