"""Dose escalation on both databases: the cohort table, the signed decisions, the gate.

The recommendations are the textbook 3+3 ones of clinical.md §4.5 [unverified]
(0/3 → escalate); the demo protocol gates enrolment by the decisions
(``escalation.gate_enrolment``). Every subject goes through the real steps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from exoneb.accounts.models import Signature
from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent, verify_chain
from exoneb.core.errors import InvalidInput, PermissionDenied, RuleViolation, StaleEdit
from exoneb.monitoring import escalation_service as escalation
from exoneb.monitoring.escalation_models import EscalationDecision
from exoneb.monitoring.escalation_schemas import EscalationDecisionIn
from exoneb.patients import service as patients

from .conftest import PASSWORD, World
from .factories import enrolment_data, patient_data
from .monitoring_world import monitored_session
from .test_monitoring_service import VITALS, _discharge, ae, at_minute, record

P = "demo-exo-01"


def discharged(world: World, mrn: str) -> int:
    """A DL1 subject dosed, observed at 0/15/30 min and discharged: the session id."""
    session_id, end = monitored_session(world, mrn)
    record(world, session_id, **VITALS, observed_at=end)
    for minute in (15, 30):
        at_minute(world, end, minute)
        record(world, session_id, **VITALS, fev1_l=1.25, wheeze=False, stridor=False,
               symptom_grade=0, respiratory_symptoms=False)  # fmt: skip
    _discharge(world, session_id)
    world.clock.advance(timedelta(minutes=5))
    return session_id


def table(world: World, role: Role = Role.COORDINATOR) -> escalation.Escalation:
    with world.action(role) as ctx:
        return escalation.escalation(ctx=ctx, settings=world.settings, protocol_id=P)


def decide(world: World, role: Role = Role.PHYSICIAN, **values: Any) -> int:
    values.setdefault("decisions_seen", len(table(world).decisions))
    values.setdefault("password", PASSWORD)
    with world.action(role) as ctx:
        row = escalation.decide(
            ctx=ctx, settings=world.settings, protocol_id=P, data=EscalationDecisionIn(**values)
        )
        return row.id


def enrol(world: World, mrn: str, arm_code: str) -> None:
    with world.action(Role.COORDINATOR) as ctx:
        patient = patients.create_patient(ctx=ctx, data=patient_data(mrn))
        patients.enrol(ctx=ctx, settings=world.settings, patient_id=patient.id,
                       data=enrolment_data(arm_code=arm_code))  # fmt: skip


def test_three_subjects_without_dlt_recommend_escalation_and_the_signed_decision_opens_dl2(
    world: World,
) -> None:
    for n in (1, 2, 3):
        discharged(world, f"E-{n}")
    e = table(world)
    dl1 = e.levels[0]
    assert (dl1.enrolled, dl1.treated, dl1.evaluable, dl1.dlts) == (3, 3, 3, 0)
    assert [s.label[:3] for s in dl1.subjects] == ["E-1", "E-2", "E-3"]
    assert e.recommendation is not None
    assert (e.recommendation.action.value, e.recommendation.level) == ("escalate", 2)
    assert "clinical.md §4.5" in e.recommendation.source
    assert "[unverified]" in e.recommendation.source
    assert e.open_arm_codes == ("DL1",)

    decision_id = decide(world, level="DL1", decision="escalate")
    e = table(world)
    assert e.open_arm_codes == ("DL2",)
    with world.action(Role.AUDITOR) as ctx:
        view = escalation.view(ctx, e)
    (d,) = view["decisions"]
    assert d["follows_recommendation"]
    assert d["reason"] is None
    assert (d["signed_by"], d["signature_meaning"], d["signature_valid"]) == (
        "Physician One", "approved", True,
    )  # fmt: skip
    assert d["open_levels_after"] == ["DL2"]
    with world.factory() as db:
        sig = db.scalars(select(Signature).where(
            Signature.record_type == "escalation_decision", Signature.record_id == decision_id
        )).one()  # fmt: skip
        assert sig.meaning == "approved"
        row = db.scalars(select(AuditEvent).where(AuditEvent.action == "escalation.decide")).one()
        assert row.entity_id == str(decision_id)
        assert '"decision":"escalate"' in (row.after or "")
        assert verify_chain(db).ok


def test_a_decision_that_differs_from_the_recommendation_needs_a_reason(world: World) -> None:
    e = table(world)  # nobody treated: "start at level 1", no decision recommended
    assert e.recommendation is not None
    assert e.recommendation.action.value == "enrol"
    with pytest.raises(InvalidInput, match="differs from the 3\\+3 recommendation") as refused:
        decide(world, level="DL1", decision="escalate")
    assert refused.value.field == "reason"
    with pytest.raises(InvalidInput), world.action(Role.PHYSICIAN) as ctx:  # a blank reason
        escalation.decide(ctx=ctx, settings=world.settings, protocol_id=P,
                          data=EscalationDecisionIn(level="DL1", decision="escalate",
                                                    reason="   ", decisions_seen=0,
                                                    password=PASSWORD))  # fmt: skip
    assert table(world).decisions == ()
    decide(world, level="DL1", decision="escalate", reason="DMC 2026-01-05: sentinel data")
    (row,) = table(world).decisions
    assert (row.follows_recommendation, row.reason) == (False, "DMC 2026-01-05: sentinel data")
    assert row.recommended_action == "enrol"


def test_wrong_password_stale_table_closed_level_and_closed_escalation(world: World) -> None:
    with pytest.raises(InvalidInput, match="password"):
        decide(world, level="DL1", decision="expand", reason="r", password="wrong")
    with pytest.raises(RuleViolation, match="Level 2 is not open"):
        decide(world, level="DL2", decision="expand", reason="r")
    decide(world, level="DL1", decision="expand", reason="DMC asked for 3 more")
    with pytest.raises(StaleEdit, match="Physician One"):
        decide(world, level="DL1", decision="stop", reason="r", decisions_seen=0)
    with pytest.raises(InvalidInput, match="MTD level"):
        decide(world, level="DL1", decision="mtd", reason="r")
    decide(world, level="DL1", decision="stop", reason="DMC: unacceptable toxicity")
    assert table(world).open_arm_codes == ()
    with pytest.raises(RuleViolation, match="already stopped"):
        decide(world, level="DL1", decision="expand", reason="r")


def test_gated_enrolment_is_refused_with_the_open_levels_named(world: World) -> None:
    with pytest.raises(RuleViolation, match=r"DL2 is not open for enrolment\. Open now: DL1"):
        enrol(world, "G-1", "DL2")
    enrol(world, "G-2", "DL1")
    decide(world, level="DL1", decision="escalate", reason="test: open DL2")
    enrol(world, "G-3", "DL2")
    with pytest.raises(RuleViolation, match="Open now: DL2"):
        enrol(world, "G-4", "DL1")
    decide(world, level="DL2", decision="mtd", mtd_level="DL1", reason="test")
    with pytest.raises(RuleViolation, match="complete \\(MTD declared at DL1\\)"):
        enrol(world, "G-5", "DL2")


def test_a_dlt_links_its_adverse_event_and_a_paused_cohort_cannot_escalate(
    world: World,
) -> None:
    session_id, _ = monitored_session(world, "D-1")
    event = ae(world, session_id, term="dyspnea", grade=3, causality="probable",
               seriousness=["hospitalization"])  # fmt: skip
    e = table(world)
    (subject,) = e.levels[0].subjects
    assert (subject.treated, subject.evaluable, subject.dlt) == (True, True, True)
    assert subject.dlt_adverse_event_id == event["id"]
    assert subject.dlt_url == f"/sessions/{session_id}/monitoring#ae-{event['id']}"
    (pause,) = e.levels[0].active_pauses
    assert pause.rule_id == "related_sae"
    with pytest.raises(RuleViolation, match=r"paused since .* by Nurse One"):
        decide(world, level="DL1", decision="escalate", reason="DMC")
    decide(world, level="DL1", decision="stop", reason="DMC: related SAE at the first level")


def test_only_physicians_decide_and_refusals_are_audited(world: World) -> None:
    for role in (Role.COORDINATOR, Role.NURSE, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            decide(world, role, level="DL1", decision="expand", reason="r")
        with world.factory() as db:
            last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
            assert (last.action, last.entity_id) == ("permission.denied", "escalation.decide")
    assert table(world).decisions == ()


def test_decisions_are_append_only_in_the_database(world: World) -> None:
    decide(world, level="DL1", decision="expand", reason="r")
    for statement in ("UPDATE escalation_decision SET reason = 'edited'",
                      "DELETE FROM escalation_decision"):  # fmt: skip
        with world.factory() as db, pytest.raises(Exception, match="append-only"):
            db.execute(text(statement))  # a BEFORE trigger refuses it on both databases
    with world.factory() as db:
        assert db.scalars(select(EscalationDecision.reason)).all() == ["r"]


def test_an_over_enrolled_level_gets_no_recommendation_but_the_page_still_works(
    world: World,
) -> None:
    for i in range(7):  # over-enrolment happens (e.g. two sites enrol at once)
        discharged(world, f"O-{i}")
    e = table(world)
    assert e.levels[0].evaluable == 7
    assert e.recommendation is None
    assert e.recommendation_problem is not None
    assert "7 evaluable subjects, more than the 6" in e.recommendation_problem


def test_the_gate_is_a_registered_enrolment_guard_and_enrolment_fails_closed_without_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exoneb.monitoring import escalation_gate

    assert escalation_gate.enrolment_guard in patients._ENROLMENT_GUARDS
    monkeypatch.setattr(patients, "_ENROLMENT_GUARDS", [])
    with pytest.raises(RuleViolation, match="monitoring step is not loaded"):
        enrol(world, "N-1", "DL1")
