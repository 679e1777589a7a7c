"""Monitoring (step 4) on both databases: observations, alerts, adverse events, holds, discharge.

Thresholds are the reference values of clinical.md §4 (the demo protocol's):
SpO2 fall ≥ 4 points or < 90 % sustained 30 s (§4.3), heart rate > 130/min or
> +20 % (§4.3), FEV1 fall ≥ 10 % with symptoms / ≥ 15 % without / ≥ 20 % stop
(§4.2), SAE reporting in 7 or 15 days (§4.5), the §4.5 stopping rules, and the
§4.4 discharge criteria. Baseline: SpO2 95 %, HR 78/min, FEV1 1.30 L.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent, verify_chain
from exoneb.core.db import make_engine, make_session_factory
from exoneb.core.errors import InvalidInput, PermissionDenied, RuleViolation
from exoneb.monitoring import hl7_service
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.models import AlertRecord, Hl7Message, ObservationRecord
from exoneb.monitoring.schemas import (
    AdverseEventIn,
    AdverseEventReportIn,
    AlertAckIn,
    AlertResolveIn,
    DischargeIn,
    HoldLiftIn,
    ObservationBatchIn,
    ObservationIn,
)
from exoneb.patients import service as patients
from exoneb.sessions import service as sessions
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World
from .factories import enrolment_data, patient_data
from .monitoring_world import (
    BASELINE_FEV1_L,
    hl7_message,
    monitored_session,
    move,
    verified_session,
)


def record(world: World, session_id: int, role: Role = Role.NURSE, **values: Any) -> list[str]:
    """Record one manual observation now; the rule ids of the alerts it raised."""
    values.setdefault("observed_at", world.clock.now())
    with world.action(role) as ctx:
        _, raised = monitoring.record_observation(
            ctx=ctx, settings=world.settings, session_id=session_id, data=ObservationIn(**values)
        )
        return [a.rule_id for a in raised]


def ingest(world: World, session_id: int, series: list[tuple[int, dict[str, Any]]]) -> list[str]:
    """Ingest device readings at (seconds from now, values); the rule ids raised."""
    t0 = world.clock.now()
    batch = ObservationBatchIn(
        device_id="oximeter-1",
        observations=[ObservationIn(observed_at=t0 + timedelta(seconds=s), **v) for s, v in series],
    )
    with world.action(Role.NURSE) as ctx:
        _, raised = monitoring.ingest_batch(
            ctx=ctx, settings=world.settings, session_id=session_id, data=batch
        )
        return [a.rule_id for a in raised]


def alerts(world: World, session_id: int) -> list[AlertRecord]:
    with world.action(Role.NURSE) as ctx:
        rows = list(monitoring.alerts_of(ctx=ctx, session_id=session_id))
        ctx.db.expunge_all()
        return rows


# --- alert rules on both sides of their thresholds ---------------------------------------


def test_spo2_fall_of_four_points_alerts_three_does_not(world: World) -> None:
    session_id, _ = monitored_session(world)
    assert record(world, session_id, spo2_pct=92) == []  # 3 points below 95
    world.clock.advance(timedelta(minutes=1))
    assert record(world, session_id, spo2_pct=91) == ["spo2_fall"]  # 4 points, manual = confirmed


def test_device_spo2_below_90_alerts_only_when_sustained_30_s(world: World) -> None:
    session_id, _ = monitored_session(world)
    # 89 % (also a 6-point fall) for 29 s: not yet sustained.
    assert ingest(world, session_id, [(0, {"spo2_pct": 89}), (29, {"spo2_pct": 89})]) == []
    world.clock.advance(timedelta(seconds=30))
    raised = ingest(world, session_id, [(0, {"spo2_pct": 89})])  # now 30 s since onset
    assert sorted(raised) == ["spo2_fall", "spo2_low"]
    stored = {a.rule_id: a for a in alerts(world, session_id)}
    assert stored["spo2_low"].sustained_s == 30
    assert stored["spo2_low"].threshold == 90


def test_device_spo2_at_90_is_not_below_the_floor(world: World) -> None:
    session_id, _ = monitored_session(world)
    raised = ingest(world, session_id, [(s, {"spo2_pct": 90}) for s in range(0, 61, 10)])
    assert "spo2_low" not in raised
    assert raised == ["spo2_fall"]  # 5 points below 95, sustained


def test_poor_signal_samples_are_ignored(world: World) -> None:
    session_id, _ = monitored_session(world)
    series = [(s, {"spo2_pct": 80, "signal_ok": False}) for s in range(0, 61, 10)]
    assert ingest(world, session_id, series) == []


def test_heart_rate_rise_above_20_percent_and_above_130(world: World) -> None:
    session_id, _ = monitored_session(world)
    assert record(world, session_id, heart_rate_per_min=93) == []  # 78 × 1.2 = 93.6
    world.clock.advance(timedelta(minutes=1))
    assert record(world, session_id, heart_rate_per_min=94) == ["heart_rate_rise"]
    world.clock.advance(timedelta(minutes=1))
    assert record(world, session_id, heart_rate_per_min=130) == []  # same run, extended
    world.clock.advance(timedelta(minutes=1))
    assert record(world, session_id, heart_rate_per_min=131) == ["heart_rate_high"]


def test_fev1_fall_thresholds_with_and_without_symptoms(world: World) -> None:
    session_id, _ = monitored_session(world)
    ten = round(BASELINE_FEV1_L * 0.90, 3)  # 1.17 L = 10 % fall
    fifteen = round(BASELINE_FEV1_L * 0.85, 3)  # 1.105 L = 15 % fall
    assert record(world, session_id, fev1_l=ten, respiratory_symptoms=False) == []
    world.clock.advance(timedelta(minutes=1))
    assert record(world, session_id, fev1_l=1.18, respiratory_symptoms=True) == []  # 9.2 %
    world.clock.advance(timedelta(minutes=1))
    assert record(world, session_id, fev1_l=ten, respiratory_symptoms=True) == ["airway_reactivity"]
    other, _ = monitored_session(world, "MRN-2")
    assert record(world, other, fev1_l=fifteen, respiratory_symptoms=False) == ["airway_reactivity"]
    reactivity = alerts(world, other)[0]
    assert reactivity.suggested_term == "bronchospasm"  # the alert suggests the AE


def test_fev1_fall_of_20_percent_stops_the_course(world: World) -> None:
    session_id, _ = monitored_session(world)
    raised = record(world, session_id, fev1_l=round(BASELINE_FEV1_L * 0.80, 3))
    assert sorted(raised) == ["airway_fall_stop", "airway_reactivity"]
    stop = next(a for a in alerts(world, session_id) if a.rule_id == "airway_fall_stop")
    assert stop.severity == "stop"
    with world.action(Role.NURSE) as ctx:
        holds = monitoring.holds_for(ctx=ctx, session_id=session_id)
        assert [(h.scope, h.rule_id) for h in holds] == [("patient", "fev1_fall_20")]
        assert holds[0].dlt_candidate is False  # the 30-minute SABA window has not passed


def test_alerts_are_stored_and_survive_a_restart(world: World, db_url: str) -> None:
    session_id, _ = monitored_session(world)
    record(world, session_id, spo2_pct=84)
    engine = make_engine(db_url)  # a new process: nothing in memory
    try:
        factory = make_session_factory(engine)
        with factory() as db:
            rows = db.scalars(select(AlertRecord).where(AlertRecord.session_id == session_id)).all()
            assert {r.rule_id for r in rows} == {"spo2_fall", "spo2_low", "spo2_critical"}
            assert all(r.status == "open" for r in rows)
    finally:
        engine.dispose()
    with world.action(Role.PHYSICIAN) as ctx:
        assert {a.session_id for a in monitoring.open_alerts(ctx=ctx)} == {session_id}


def test_alert_is_acknowledged_then_resolved_by_named_staff(world: World) -> None:
    session_id, _ = monitored_session(world)
    record(world, session_id, spo2_pct=91)
    alert = alerts(world, session_id)[0]
    world.clock.advance(timedelta(seconds=10))
    record(world, session_id, spo2_pct=90)  # the rules update the ongoing alert (new version)
    with world.action(Role.NURSE) as ctx:
        acked = monitoring.acknowledge_alert(
            ctx=ctx, alert_id=alert.id, data=AlertAckIn(version=alert.version, note="probe ok")
        )
        assert (acked.status, acked.acknowledged_by) == ("acknowledged", "Nurse One")
        version = acked.version
    with pytest.raises(RuleViolation), world.action(Role.NURSE) as ctx:
        monitoring.acknowledge_alert(ctx=ctx, alert_id=alert.id, data=AlertAckIn(version=version))
    with world.action(Role.PHYSICIAN) as ctx:
        done = monitoring.resolve_alert(
            ctx=ctx, alert_id=alert.id, data=AlertResolveIn(version=version, note="recovered")
        )
        assert (done.status, done.resolved_by) == ("resolved", "Physician One")
        assert monitoring.open_alerts(ctx=ctx) == []


def test_batch_ingest_stores_all_with_one_audit_row_and_refuses_a_bad_value(
    world: World,
) -> None:
    session_id, _ = monitored_session(world)
    with world.factory() as db:
        audits = db.scalar(select(func.count()).select_from(AuditEvent))
    ingest(world, session_id, [(s, {"spo2_pct": 96, "heart_rate_per_min": 80}) for s in range(200)])
    with world.factory() as db:
        assert db.scalar(select(func.count()).select_from(ObservationRecord)) == 200
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == audits + 1
    with pytest.raises(InvalidInput) as err:
        ingest(world, session_id, [(0, {"spo2_pct": 96}), (1, {"spo2_pct": 101})])
    assert err.value.field == "observations.1.spo2_pct"
    with world.factory() as db:  # all or nothing
        assert db.scalar(select(func.count()).select_from(ObservationRecord)) == 200


def test_observations_only_while_inhaling_or_monitoring(world: World) -> None:
    session_id = verified_session(world)
    with pytest.raises(RuleViolation, match="verified"):
        record(world, session_id, spo2_pct=95)


# --- adverse events ----------------------------------------------------------------------


def ae(world: World, session_id: int, role: Role = Role.NURSE, **values: Any) -> dict[str, Any]:
    values.setdefault("onset_at", world.clock.now())
    values.setdefault("causality", "possible")
    with world.action(role) as ctx:
        row = monitoring.record_adverse_event(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=AdverseEventIn(**values),
        )  # fmt: skip
        return monitoring.event_view(row, ctx.clock.now())


def test_grade_1_cough_with_onset_relative_to_the_start_of_nebulization(world: World) -> None:
    session_id, _ = monitored_session(world, nebulization_min=10)
    world.clock.advance(timedelta(minutes=5))
    event = ae(world, session_id, term="cough", grade=1)
    assert event["onset_offset_min"] == pytest.approx(15.0)  # 10 min nebulizing + 5
    assert event["grade_text"] == "Mild symptoms; nonprescription intervention indicated"
    assert event["serious"] is False
    assert event["report_due_at"] is None


def test_a_grade_that_does_not_exist_for_the_term_is_refused(world: World) -> None:
    session_id, _ = monitored_session(world)
    with pytest.raises(InvalidInput) as err:
        ae(world, session_id, term="cough", grade=4)  # CTCAE cough has grades 1–3
    assert err.value.field == "grade"
    with pytest.raises(InvalidInput) as err:
        ae(world, session_id, term="other_specify", grade=1)
    assert err.value.field == "other_text"


def test_serious_events_show_7_or_15_day_deadlines_until_reported(world: World) -> None:
    session_id, _ = monitored_session(world)
    onset = world.clock.now()
    hosp = ae(world, session_id, term="dyspnea", grade=3, seriousness=["hospitalization"],
              causality="unrelated")  # fmt: skip
    assert hosp["report_days"] == 15
    assert hosp["report_due_at"] == onset + timedelta(days=15)
    lt = ae(world, session_id, term="bronchospasm", grade=4, causality="unlikely")
    assert lt["serious"]
    assert lt["report_days"] == 7  # grade 4 = life-threatening
    world.clock.advance(timedelta(days=8))
    with world.action(Role.NURSE) as ctx:
        rows = monitoring.events_of(ctx=ctx, session_id=session_id)
        views = [monitoring.event_view(r, ctx.clock.now()) for r in rows]
    assert [v["report_overdue"] for v in views] == [False, True]
    with world.action(Role.COORDINATOR) as ctx:
        reported = monitoring.report_adverse_event(
            ctx=ctx, event_id=lt["id"],
            data=AdverseEventReportIn(version=lt["version"], reference="SAE-0001"),
        )  # fmt: skip
        assert monitoring.event_view(reported, ctx.clock.now())["report_overdue"] is False


# --- stopping rules ----------------------------------------------------------------------


def holds(world: World, session_id: int) -> list[tuple[str, str | None]]:
    with world.action(Role.NURSE) as ctx:
        return [(h.scope, h.rule_id) for h in monitoring.holds_for(ctx=ctx, session_id=session_id)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"term": "dyspnea", "grade": 3, "causality": "possible"}, [("patient", "related_grade3")]),
        ({"term": "dyspnea", "grade": 3, "causality": "unlikely"}, []),
        ({"term": "allergic_reaction", "grade": 2, "causality": "unlikely"},
         [("patient", "allergic_reaction_grade2")]),
        ({"term": "allergic_reaction", "grade": 1, "causality": "probable"}, []),
        ({"term": "anaphylaxis", "grade": 3, "causality": "unrelated"},
         [("patient", "anaphylaxis")]),
        ({"term": "hypoxia", "grade": 2, "causality": "unlikely"},
         [("patient", "hypoxia_grade2_new")]),
    ],
)  # fmt: skip
def test_stopping_rules_hold_the_course(
    world: World, values: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    session_id, _ = monitored_session(world)
    ae(world, session_id, **values)
    assert holds(world, session_id) == expected


def test_related_sae_holds_the_patient_and_pauses_the_cohort(world: World) -> None:
    session_id, _ = monitored_session(world)
    ae(world, session_id, term="cough", grade=2, causality="probable",
       seriousness=["important_medical_event"])  # fmt: skip
    assert sorted(holds(world, session_id)) == [
        ("cohort", "related_sae"),
        ("patient", "related_sae"),
    ]
    with world.action(Role.PHYSICIAN) as ctx:
        pause = next(h for h in monitoring.holds_for(ctx=ctx, session_id=session_id)
                     if h.scope == "cohort")  # fmt: skip
        pause_id, version = pause.id, pause.version
    with pytest.raises(PermissionDenied), world.action(Role.NURSE) as ctx:
        monitoring.lift_hold(
            ctx=ctx, hold_id=pause_id, data=HoldLiftIn(version=version, reason="DMC reviewed")
        )
    with pytest.raises(RuleViolation, match=r"DL1 is paused since .* lifts the pause"):
        _enrol_new(world, "MRN-NEW")  # clinical.md §4.5: the pause holds enrolment too
    with world.action(Role.COORDINATOR) as ctx:
        monitoring.lift_hold(
            ctx=ctx, hold_id=pause_id, data=HoldLiftIn(version=version, reason="DMC reviewed")
        )
    assert holds(world, session_id) == [("patient", "related_sae")]
    _enrol_new(world, "MRN-NEW")


def _enrol_new(world: World, mrn: str) -> None:
    with world.action(Role.COORDINATOR) as ctx:
        patient = patients.create_patient(ctx=ctx, data=patient_data(mrn))
        patients.enrol(
            ctx=ctx, settings=world.settings, patient_id=patient.id, data=enrolment_data()
        )


def test_a_held_course_blocks_nebulization(world: World) -> None:
    session_id = verified_session(world)  # verified, about to inhale
    ae(world, session_id, term="anaphylaxis", grade=3, causality="unrelated")

    def blockers() -> list[str]:
        with world.action(Role.NURSE) as ctx:
            overview = sessions.overview(ctx=ctx, session_id=session_id, refresh=True)
        option = next(o for o in overview.options if o.target is State.INHALING)
        return [b for b in option.blockers if "on hold" in b]

    assert blockers()
    with pytest.raises(RuleViolation, match="on hold"):
        move(world, session_id, State.INHALING)
    with world.action(Role.PHYSICIAN) as ctx:
        hold = monitoring.holds_for(ctx=ctx, session_id=session_id)[0]
        monitoring.lift_hold(
            ctx=ctx, hold_id=hold.id, data=HoldLiftIn(version=hold.version, reason="reviewed")
        )
    assert blockers() == []


# --- schedule and discharge --------------------------------------------------------------

VITALS = {"spo2_pct": 95, "heart_rate_per_min": 80, "resp_rate_per_min": 16, "sbp_mmhg": 130,
          "dbp_mmhg": 80}  # fmt: skip


def at_minute(world: World, end: datetime, minute: float) -> None:
    world.clock.advance(end + timedelta(minutes=minute) - world.clock.now())


def test_due_and_overdue_observations_follow_the_first_session_schedule(world: World) -> None:
    session_id, end = monitored_session(world)
    with world.action(Role.NURSE) as ctx:
        p = monitoring.page(ctx=ctx, settings=world.settings, session_id=session_id)
    assert p.first_session
    assert [(s.slot.kind.value, s.slot.due_at - end) for s in p.slots] == [
        ("vitals", timedelta(0)), ("spirometry", timedelta(minutes=15)),
        ("vitals", timedelta(minutes=15)), ("vitals", timedelta(minutes=30)),
    ]  # fmt: skip
    assert [s.state.value for s in p.slots] == ["due", "upcoming", "upcoming", "upcoming"]
    at_minute(world, end, 6)  # 5 min grace after minute 0
    with world.action(Role.NURSE) as ctx:
        p = monitoring.page(ctx=ctx, settings=world.settings, session_id=session_id)
    assert p.slots[0].state.value == "overdue"
    record(world, session_id, **VITALS, observed_at=end + timedelta(minutes=1))
    with world.action(Role.NURSE) as ctx:
        p = monitoring.page(ctx=ctx, settings=world.settings, session_id=session_id)
    assert p.slots[0].state.value == "done"


def _discharge(world: World, session_id: int, **values: Any) -> None:
    data = {"walks_unaided": True, "instructions_given": True, "follow_up_scheduled": True,
            "follow_up_at": world.clock.now() + timedelta(days=1), "password": PASSWORD,
            **values}  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        monitoring.discharge(
            ctx=ctx, settings=world.settings, session_id=session_id, data=DischargeIn(**data)
        )


def test_discharge_is_blocked_until_the_criteria_hold(world: World) -> None:
    session_id, end = monitored_session(world)
    record(world, session_id, **VITALS, observed_at=end)
    with pytest.raises(RuleViolation, match="Discharge is blocked"):
        _discharge(world, session_id)
    for minute in (15, 30):
        at_minute(world, end, minute)
        record(world, session_id, **VITALS, fev1_l=1.25, wheeze=False, stridor=False,
               symptom_grade=0, respiratory_symptoms=False)  # fmt: skip
    with pytest.raises(RuleViolation, match="Walks unaided"):
        _discharge(world, session_id, walks_unaided=None)
    _discharge(world, session_id)
    with world.action(Role.NURSE) as ctx:
        s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        assert s.state == "discharged"
        rec = monitoring.discharge_record(ctx=ctx, session_id=session_id)
        assert rec is not None
        assert rec.first_session
        assert rec.signature_id
        assert rec.discharged_by == "Nurse One"
    with world.factory() as db:
        assert verify_chain(db).ok


def test_an_open_alert_blocks_discharge(world: World) -> None:
    session_id, end = monitored_session(world)
    for minute in (0, 15, 30):
        at_minute(world, end, minute)
        record(world, session_id, **VITALS, fev1_l=1.25, wheeze=False, stridor=False,
               symptom_grade=0, respiratory_symptoms=False)  # fmt: skip
    world.clock.advance(timedelta(minutes=1))
    record(world, session_id, heart_rate_per_min=95)  # +22 %: alert, then back to normal
    world.clock.advance(timedelta(minutes=1))
    record(world, session_id, **VITALS)
    with pytest.raises(RuleViolation, match="alert"):
        _discharge(world, session_id)
    alert = alerts(world, session_id)[0]
    with world.action(Role.NURSE) as ctx:
        monitoring.acknowledge_alert(
            ctx=ctx, alert_id=alert.id, data=AlertAckIn(version=alert.version)
        )
    _discharge(world, session_id)


# --- the HL7 inbox ------------------------------------------------------------------------


def receive(world: World, raw: bytes) -> hl7_service.Hl7Result:
    with world.action(Role.NURSE) as ctx:
        return hl7_service.receive_hl7(ctx=ctx, settings=world.settings, raw=raw, peer="test")


def test_hl7_messages_are_matched_kept_and_acknowledged(world: World) -> None:
    monitored_session(world)
    now = world.clock.now()
    ok = receive(world, hl7_message("MRN-1", now, spo2_pct=96, pulse_per_min=82))
    assert (ok.ack_code, ok.match_status, ok.observations_stored) == ("AA", "matched", 1)
    dup = receive(world, hl7_message("MRN-1", now, spo2_pct=96, pulse_per_min=82))
    assert (dup.ack_code, dup.match_status, dup.observations_stored) == ("AA", "duplicate", 0)
    unknown = receive(world, hl7_message("NOPE-9", now, control_id="MSG2"))
    assert (unknown.ack_code, unknown.match_status) == ("AE", "unknown_patient")
    bad = receive(world, b"this is not HL7")
    assert bad.ack_code == "AR"
    with world.factory() as db:
        rows = db.scalars(select(Hl7Message).order_by(Hl7Message.id)).all()
        assert [r.review_status for r in rows] == ["none", "none", "pending", "pending"]
        assert rows[3].raw == b"this is not HL7"  # kept, never dropped
        assert b"MSA|AE|MSG2" in rows[2].ack_raw
        obs = db.scalars(select(ObservationRecord)).all()
        assert [(o.source, o.spo2_pct, o.heart_rate_per_min) for o in obs] == [("hl7", 96, 82)]
    with world.action(Role.NURSE) as ctx:
        assert [m.id for m in hl7_service.hl7_inbox(ctx=ctx)] == [
            bad.message_id,
            unknown.message_id,
        ]
        done = hl7_service.review_hl7(
            ctx=ctx, message_id=unknown.message_id, note="monitor attached to the wrong bed"
        )
        assert (done.review_status, done.reviewed_by) == ("reviewed", "Nurse One")
        assert [m.id for m in hl7_service.hl7_inbox(ctx=ctx)] == [bad.message_id]
