"""Sessions through the service: planning gates, moves, abort, history, extension hooks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent
from exoneb.core.context import Ctx
from exoneb.core.errors import RuleViolation, StaleEdit
from exoneb.patients import service as patients
from exoneb.patients.schemas import ConsentCreate
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State
from exoneb.sessions.schemas import SessionPlan

from .conftest import World
from .factories import enrolment_data, patient_data, planned_session

WHEN = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


def test_no_session_without_current_consent(world: World) -> None:
    with world.action(Role.PHYSICIAN) as ctx:
        patient = patients.create_patient(ctx=ctx, data=patient_data())
        enrolment = patients.enrol(
            ctx=ctx, settings=world.settings, patient_id=patient.id, data=enrolment_data()
        )
    plan = SessionPlan(enrolment_id=enrolment.id, planned_for=WHEN)
    with pytest.raises(RuleViolation, match="consent"), world.action(Role.NURSE) as ctx:
        sessions.plan_session(ctx=ctx, patient_id=patient.id, data=plan)
    with world.action(Role.NURSE) as ctx:
        patients.record_consent(
            ctx=ctx,
            patient_id=patient.id,
            data=ConsentCreate(document_version="ICF 1.0", consent_date=date(2026, 1, 5)),
        )
        assert sessions.plan_session(ctx=ctx, patient_id=patient.id, data=plan).state == "planned"


def test_no_session_under_an_expired_authorisation(world: World) -> None:
    with world.action(Role.PHYSICIAN) as ctx:
        patient = patients.create_patient(ctx=ctx, data=patient_data())
        patients.record_consent(
            ctx=ctx,
            patient_id=patient.id,
            data=ConsentCreate(document_version="ICF 1.0", consent_date=date(2026, 1, 5)),
        )
        enrolment = patients.enrol(
            ctx=ctx,
            settings=world.settings,
            patient_id=patient.id,
            data=enrolment_data(authorisation_valid_until=date(2026, 1, 5)),
        )
    world.clock.advance(timedelta(days=1))
    plan = SessionPlan(enrolment_id=enrolment.id, planned_for=WHEN)
    with pytest.raises(RuleViolation, match="authorisation"), world.action(Role.NURSE) as ctx:
        sessions.plan_session(ctx=ctx, patient_id=patient.id, data=plan)


def test_forward_move_blocked_until_the_step_is_signed(world: World) -> None:
    _, session_id = planned_session(world)
    with (
        pytest.raises(RuleViolation, match="assessment record is not signed"),
        world.action(Role.NURSE) as ctx,
    ):
        sessions.move(ctx=ctx, session_id=session_id, target=State.ASSESSED, version=1)


def test_step_package_fact_provider_opens_the_transition(world: World) -> None:
    from exoneb.sessions.service import FactContribution

    def assessment_signed(ctx: Ctx, session: TherapySession) -> FactContribution:
        return FactContribution(signed_steps=frozenset({"assessment"}))

    _, session_id = planned_session(world)
    sessions.register_fact_provider(assessment_signed)
    try:
        with world.action(Role.NURSE) as ctx:
            moved = sessions.move(
                ctx=ctx,
                session_id=session_id,
                target=State.ASSESSED,
                version=1,
                reason="assessment signed",
            )
            assert moved.state == "assessed"
            history = sessions.history(ctx=ctx, session_id=session_id)
    finally:
        sessions._FACT_PROVIDERS.remove(assessment_signed)
    assert [(h.from_state, h.to_state, h.actor_name) for h in history] == [
        (None, "planned", "Nurse One"),
        ("planned", "assessed", "Nurse One"),
    ]


def test_abort_needs_reason_then_freezes_the_session(world: World) -> None:
    _, session_id = planned_session(world)
    with pytest.raises(RuleViolation, match="reason"), world.action(Role.NURSE) as ctx:
        sessions.move(ctx=ctx, session_id=session_id, target=State.ABORTED, version=1, reason=" ")
    with world.action(Role.NURSE) as ctx:
        aborted = sessions.abort(
            ctx=ctx, session_id=session_id, reason="patient feels unwell", version=1
        )
        assert aborted.state == "aborted"
        assert aborted.abort_reason == "patient feels unwell"
    with pytest.raises(RuleViolation, match="no longer change"), world.action(Role.NURSE) as ctx:
        sessions.abort(ctx=ctx, session_id=session_id, reason="again", version=2)
    with world.factory() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.action == "session.abort")).one()
    assert row.reason == "patient feels unwell"


def test_stale_session_move_is_a_conflict(world: World) -> None:
    _, session_id = planned_session(world)
    with world.action(Role.PHYSICIAN) as ctx:
        sessions.abort(ctx=ctx, session_id=session_id, reason="room not free", version=1)
    with pytest.raises(StaleEdit, match="Physician One"), world.action(Role.NURSE) as ctx:
        sessions.abort(ctx=ctx, session_id=session_id, reason="duplicate", version=1)


def test_overview_shows_care_and_options(world: World) -> None:
    _, session_id = planned_session(world)
    with world.action(Role.PHARMACIST) as ctx:
        view = sessions.overview(ctx=ctx, session_id=session_id)
    assert [c.medicine for c in view.care] == ["Tiotropium"]
    assert view.facts.consent_current
    assert view.facts.authorisation_active
    assert [(o.target, o.allowed) for o in view.options] == [
        (State.ASSESSED, False),
        (State.ABORTED, True),
    ]
