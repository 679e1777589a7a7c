"""Dose escalation on both databases: the cohort table, the signed decisions, the gate.

The recommendations are the textbook 3+3 ones of clinical.md §4.5 [unverified]
(0/3 → escalate, 1/3 → add 3 more); the demo protocol gates enrolment by the
decisions (``escalation.gate_enrolment``) and sets a 28-day DLT window
(``escalation.dlt_window_days``; clinical.md §1.2: IPF EV 3+3, DLT window to
day 28). A DLT candidate of the stopping rules (§4.5) counts only once a
physician confirms it (§4.2: a candidate DLT goes "to the physician"). Every
subject goes through the real steps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from exoneb.accounts.models import Signature
from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent, verify_chain
from exoneb.core.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    StaleEdit,
)
from exoneb.monitoring import escalation_service as escalation
from exoneb.monitoring.escalation_models import DltReview, EscalationDecision
from exoneb.monitoring.escalation_schemas import DltReviewIn, EscalationDecisionIn
from exoneb.patients import service as patients

from .conftest import PASSWORD, World
from .factories import enrolment_data, patient_data
from .monitoring_world import monitored_session
from .test_monitoring_service import VITALS, _discharge, ae, at_minute, record

P = "demo-exo-01"
WINDOW = timedelta(days=28)  # the demo protocol's escalation.dlt_window_days


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


def past_the_window(world: World) -> None:
    """Let every subject dosed so far complete the DLT window."""
    world.clock.advance(WINDOW + timedelta(minutes=1))


def review(world: World, hold_id: int, verdict: str, role: Role = Role.PHYSICIAN,
           **values: Any) -> int:  # fmt: skip
    """A signed DLT review of the candidate ``hold_id``: the review id."""
    if "reviews_seen" not in values:
        values["reviews_seen"] = candidate(world, hold_id).reviews
    values.setdefault("password", PASSWORD)
    with world.action(role) as ctx:
        data = DltReviewIn(hold_id=hold_id, verdict=verdict, **values)
        row = escalation.review_dlt(ctx=ctx, settings=world.settings, protocol_id=P, data=data)
        return row.id


def candidate(world: World, hold_id: int) -> escalation.Candidate:
    return next(c for lv in table(world).levels for s in lv.subjects for c in s.candidates
                if c.hold_id == hold_id)  # fmt: skip


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
    # Discharged, but inside the 28-day DLT window: treated, not yet evaluable.
    assert (dl1.enrolled, dl1.treated, dl1.evaluable, dl1.dlts) == (3, 3, 0, 0)
    first = dl1.subjects[0]
    assert first.in_dlt_window
    assert first.first_dose_at is not None
    assert first.dlt_window_ends_at == first.first_dose_at + WINDOW
    assert e.recommendation is not None
    assert e.recommendation.action.value == "enrol"
    assert "3 treated at DL1 still in their DLT window" in e.recommendation.reason
    world.clock.advance(WINDOW - timedelta(hours=1))  # the last subject is 1 h short
    assert table(world).levels[0].evaluable < 3
    past_the_window(world)
    e = table(world)
    dl1 = e.levels[0]
    assert (dl1.enrolled, dl1.treated, dl1.evaluable, dl1.dlts) == (3, 3, 3, 0)
    assert not any(s.in_dlt_window for s in dl1.subjects)
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


def test_a_dlt_candidate_withholds_the_advice_until_a_physician_confirms_it(
    world: World,
) -> None:
    session_id, _ = monitored_session(world, "D-1")
    event = ae(world, session_id, term="dyspnea", grade=3, causality="probable",
               seriousness=["hospitalization"])  # fmt: skip
    e = table(world)
    (subject,) = e.levels[0].subjects
    # A candidate of the stopping rules (clinical.md §4.5) is not yet a DLT.
    assert (subject.treated, subject.evaluable, subject.dlt) == (True, False, False)
    assert subject.dlt_pending == len(subject.candidates) >= 1
    cand = subject.candidates[0]
    assert cand.verdict is None
    assert cand.adverse_event_id == event["id"]
    assert cand.url == f"/sessions/{session_id}/monitoring#ae-{event['id']}"
    assert e.recommendation is None
    assert e.recommendation_problem is not None
    assert e.recommendation_problem.startswith("DLT review pending for subject D-1")
    assert e.levels[0].dlts == 0
    for c in subject.candidates:
        review(world, c.hold_id, "dlt")
    e = table(world)
    (subject,) = e.levels[0].subjects
    assert (subject.treated, subject.evaluable, subject.dlt, subject.dlt_pending) == (
        True, True, True, 0,
    )  # fmt: skip
    assert subject.dlt_adverse_event_id == event["id"]
    assert subject.dlt_url == f"/sessions/{session_id}/monitoring#ae-{event['id']}"
    assert e.levels[0].dlts == 1
    assert e.recommendation is not None  # 1 DLT in 1 evaluable: finish the cohort
    (pause,) = e.levels[0].active_pauses
    assert pause.rule_id == "related_sae"
    with pytest.raises(RuleViolation, match=r"paused since .* by Nurse One"):
        decide(world, level="DL1", decision="escalate", reason="DMC")
    decide(world, level="DL1", decision="stop", reason="DMC: related SAE at the first level")


def test_one_confirmed_dlt_in_three_recommends_three_more_and_a_rejected_one_does_not_count(
    world: World,
) -> None:
    sessions = [discharged(world, f"T-{n}") for n in (1, 2, 3)]
    ae(world, sessions[0], term="dyspnea", grade=3, causality="probable")  # related G3
    ae(world, sessions[1], term="dyspnea", grade=3, causality="possible")
    holds = {
        s.label[:3]: [c.hold_id for c in s.candidates] for s in table(world).levels[0].subjects
    }
    assert holds["T-1"]
    assert holds["T-2"]
    assert not holds["T-3"]
    for hold_id in holds["T-1"]:
        review(world, hold_id, "dlt")
    with pytest.raises(InvalidInput, match="not a dose-limiting toxicity") as refused:
        review(world, holds["T-2"][0], "not_dlt")
    assert refused.value.field == "reason"
    e = table(world)
    assert e.recommendation is None
    assert e.recommendation_problem is not None
    assert "DLT review pending for subject T-2" in e.recommendation_problem
    for hold_id in holds["T-2"]:
        review(world, hold_id, "not_dlt", reason="Dyspnoea from a COPD exacerbation, unrelated")
    e = table(world)
    dl1 = e.levels[0]
    # T-1 is evaluable at once (confirmed DLT); T-2 and T-3 when their window ends.
    assert (dl1.treated, dl1.evaluable, dl1.dlts) == (3, 1, 1)
    past_the_window(world)
    e = table(world)
    assert (e.levels[0].evaluable, e.levels[0].dlts) == (3, 1)
    assert e.recommendation is not None
    assert (e.recommendation.action.value, e.recommendation.level) == ("expand", 1)  # 1/3


def test_a_review_is_signed_audited_append_only_and_superseded_only_with_a_reason(
    world: World,
) -> None:
    session_id, _ = monitored_session(world, "R-1")
    ae(world, session_id, term="dyspnea", grade=3, causality="probable")
    hold_id = table(world).levels[0].subjects[0].candidates[0].hold_id
    for role in (Role.COORDINATOR, Role.NURSE, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            review(world, hold_id, "dlt", role=role)
    with pytest.raises(InvalidInput, match="password"):
        review(world, hold_id, "dlt", password="wrong")
    with pytest.raises(NotFound):
        review(world, 999_999, "dlt", reviews_seen=0)
    first = review(world, hold_id, "dlt")
    with pytest.raises(StaleEdit, match="Physician One"):
        review(world, hold_id, "not_dlt", reason="r", reviews_seen=0)
    with pytest.raises(InvalidInput, match="already reviewed by Physician One") as refused:
        review(world, hold_id, "dlt")
    assert refused.value.field == "reason"
    second = review(world, hold_id, "not_dlt", reason="DMC: onset before the first dose")
    cand = candidate(world, hold_id)
    assert (cand.verdict, cand.reviews, cand.reviewed_by) == ("not_dlt", 2, "Physician One")
    assert not table(world).levels[0].subjects[0].dlt
    with world.action(Role.AUDITOR) as ctx:
        db = ctx.db
        rows = db.scalars(select(DltReview).order_by(DltReview.sequence)).all()
        assert [(r.id, r.verdict) for r in rows] == [(first, "dlt"), (second, "not_dlt")]
        view = escalation.dlt_review_view(ctx, rows[1])
        assert (view["signature_meaning"], view["signature_valid"]) == ("reviewed", True)
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "dlt.review")
                            .order_by(AuditEvent.seq)).all()  # fmt: skip
        assert [e.entity_id for e in events] == [str(first), str(second)]
        assert '"verdict":"dlt"' in (events[1].before or "")
        assert verify_chain(db).ok
    for statement in ("UPDATE dlt_review SET verdict = 'dlt'", "DELETE FROM dlt_review"):
        with world.factory() as db, pytest.raises(Exception, match="append-only"):
            db.execute(text(statement))  # a BEFORE trigger refuses it on both databases


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
    past_the_window(world)
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


def test_two_physicians_signing_at_the_same_instant_store_one_decision(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read the same table (no decision yet) and sign: one is stored, the other gets 409.

    On PostgreSQL both decisions pass the service's check on the table they read
    (a barrier holds each until both have read it), so the unique (protocol,
    sequence) index refuses the second; SQLite serialises the two transactions
    (BEGIN IMMEDIATE), so the second reads the first's decision and is refused
    as stale. Either way: exactly one decision, a 409 the physician can act on,
    and an intact audit chain.
    """
    import threading

    from exoneb.accounts import service as accounts
    from exoneb.core.errors import Conflict
    from exoneb.monitoring.escalation_decisions import apply_decision

    with world.action() as ctx:
        second = accounts.create_user(
            ctx=ctx, settings=world.settings, username="physician2", full_name="Physician Two",
            role=Role.PHYSICIAN.value, site_id=world.site_id, password=PASSWORD,
        )  # fmt: skip
    physicians = [world.actor(Role.PHYSICIAN), accounts.actor_for(second)]
    if not world.settings.database_url.startswith("sqlite"):
        both_read = threading.Barrier(2, timeout=20)

        def after_reading(*args: Any, **kwargs: Any) -> Any:
            both_read.wait()  # each has passed the decisions_seen check on the same table
            return apply_decision(*args, **kwargs)

        monkeypatch.setattr(escalation, "apply_decision", after_reading)
    start = threading.Barrier(2, timeout=20)
    outcomes: dict[str, BaseException | int] = {}

    def sign(actor: Any, reason: str) -> None:
        start.wait()
        try:
            with world.action(actor=actor) as ctx:
                row = escalation.decide(ctx=ctx, settings=world.settings, protocol_id=P,
                                        data=EscalationDecisionIn(
                                            level="DL1", decision="expand", reason=reason,
                                            decisions_seen=0, password=PASSWORD))  # fmt: skip
                outcomes[actor.username] = row.id
        except BaseException as exc:
            outcomes[actor.username] = exc

    threads = [threading.Thread(target=sign, args=(a, f"DMC minutes, {a.username}"))
               for a in physicians]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stored = [v for v in outcomes.values() if isinstance(v, int)]
    refused = [v for v in outcomes.values() if isinstance(v, BaseException)]
    assert len(stored) == 1, outcomes
    assert len(refused) == 1, outcomes
    (error,) = refused
    assert isinstance(error, Conflict), repr(error)
    assert error.status_code == 409
    message = str(error).lower()
    assert "reload" in message
    if world.settings.database_url.startswith("sqlite"):  # serialised: the second read it
        assert isinstance(error, StaleEdit)
        assert "changed by physician" in message
    else:  # both passed the check: the unique (protocol, sequence) index decided
        assert not isinstance(error, StaleEdit)
        assert "same moment" in message
    (row,) = table(world).decisions
    assert row.id == stored[0]
    with world.factory() as db:
        decided = db.scalars(select(AuditEvent).where(AuditEvent.action == "escalation.decide"))
        assert [e.entity_id for e in decided] == [str(row.id)]
        sigs = db.scalars(select(Signature).where(Signature.record_type == "escalation_decision"))
        assert [s.record_id for s in sigs] == [row.id]
        assert verify_chain(db).ok


def _plan(world: World, patient_id: int, enrolment_id: int) -> int:
    from exoneb.sessions import service as sessions
    from exoneb.sessions.schemas import SessionPlan

    with world.action(Role.NURSE) as ctx:
        plan = SessionPlan(enrolment_id=enrolment_id,
                           planned_for=world.clock.now() + timedelta(days=1))  # fmt: skip
        return sessions.plan_session(ctx=ctx, patient_id=patient_id, data=plan).id


def test_a_paused_cohort_refuses_planning_until_the_pause_is_lifted(world: World) -> None:
    from exoneb.monitoring import service as monitoring
    from exoneb.monitoring.schemas import HoldLiftIn

    from .factories import ready_patient

    waiting = ready_patient(world, "P-2")  # enrolled at DL1 before the pause
    session_id, _ = monitored_session(world, "P-1")
    ae(
        world,
        session_id,
        term="dyspnea",
        grade=3,
        causality="probable",
        seriousness=["hospitalization"],
    )  # related SAE: the cohort pauses (clinical.md §4.5)
    (pause,) = table(world).levels[0].active_pauses
    with pytest.raises(RuleViolation, match=r"Dosing \(planning a session\) in demo-exo-01 DL1 "
                       r"is paused since .*Nurse One"):  # fmt: skip
        _plan(world, *waiting)
    with world.action(Role.PHYSICIAN) as ctx:
        lift = HoldLiftIn(version=pause.version, reason="DMC review done")
        monitoring.lift_hold(ctx=ctx, hold_id=pause.id, data=lift)
    assert _plan(world, *waiting) > 0


def test_a_stopped_escalation_refuses_planning_at_its_levels_not_in_other_arms(
    world: World,
) -> None:
    from .factories import ready_patient

    dl1 = ready_patient(world, "S-1")
    placebo = ready_patient(world, "S-2", arm_code="PBO")
    assert _plan(world, *dl1) > 0  # before the decision
    decide(world, level="DL1", decision="stop", reason="DMC: 2/3 DLT at DL1")
    with pytest.raises(RuleViolation, match=r"No further session can be planned at DL1: the dose "
                       r"escalation of demo-exo-01 was stopped by Physician One"):  # fmt: skip
        _plan(world, *dl1)
    assert _plan(world, *placebo) > 0  # the placebo arm is not a dose level
