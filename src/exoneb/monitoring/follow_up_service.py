"""Monitoring actions added after the first release: rescue medication and follow-up calls.

Same rules as :mod:`exoneb.monitoring.service` (permission, pure rules, rows,
audit row, the caller's transaction), kept in their own module so the hot
ingest path in ``service.py`` stays small:

* :func:`record_rescue_medication` — a rescue medication given (clinical.md
  §4.2: "apply protocol rescue (SABA)"); its time starts the stopping rule's
  30-minute recovery clock, so the stopping rules are re-evaluated at once;
* :func:`follow_up_calls` / :func:`record_follow_up_attempt` — the next-day
  telephone follow-up scheduled on discharge after a first session
  (clinical.md §4.4), listed for the staff of the patient's site and worked
  attempt by attempt.

This is decision support for trained staff, not medical advice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.clock import as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.monitoring import service
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.follow_up import (
    CallOutcome,
    CallState,
    FollowUpAttemptIn,
    call_state,
)
from exoneb.monitoring.models import (
    AdverseEventRecord,
    AlertRecord,
    FollowUpAttempt,
    FollowUpCall,
    RescueMedication,
)
from exoneb.monitoring.rescue import RescueGiven, drug_class
from exoneb.monitoring.schemas import FollowUpAttemptRequest, RescueMedicationIn
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State

# --- rescue medication -------------------------------------------------------------------


def _rescue_view(row: RescueMedication) -> dict[str, Any]:
    names = ("drug", "drug_other", "drug_class", "dose_amount", "dose_unit", "route",
             "given_at", "given_by", "alert_id", "adverse_event_id", "note")  # fmt: skip
    return {n: getattr(row, n) for n in names}


def record_rescue_medication(
    *, ctx: Ctx, settings: Settings, session_id: int, data: RescueMedicationIn
) -> RescueMedication:
    """Record a rescue medication given in a session; re-run the stopping rules on its time."""
    authorize(ctx=ctx, action=Action.RESCUE_MEDICATION_RECORD)
    session, _ = service._session(ctx, session_id)
    if session.state not in service.OBSERVING:
        raise RuleViolation(
            f"The session is {session.state}; rescue medication is recorded while it is "
            "inhaling or monitoring (after discharge, record an adverse event)."
        )
    now = ctx.clock.now()
    try:
        given = RescueGiven(
            drug=data.drug, dose_amount=data.dose_amount, dose_unit=data.dose_unit,
            route=data.route, given_at=now if data.given_at is None else as_utc(data.given_at),
            drug_other=data.drug_other,
        )  # fmt: skip
        given.check_time(
            now, service.timeline(ctx=ctx, session_id=session.id).nebulization_start_at
        )
    except ValueError as exc:
        raise service._invalid(exc, "given_at") from exc
    if data.alert_id is not None:
        alert = ctx.db.get(AlertRecord, data.alert_id)
        if alert is None or alert.session_id != session.id:
            raise InvalidInput("That alert does not belong to this session.", field="alert_id")
    if data.adverse_event_id is not None:
        event = ctx.db.get(AdverseEventRecord, data.adverse_event_id)
        if event is None or event.session_id != session.id:
            raise InvalidInput(
                "That adverse event does not belong to this session.", field="adverse_event_id"
            )
    who = service._who(ctx)
    row = RescueMedication(
        session_id=session.id, patient_id=session.patient_id, drug=given.drug.value,
        drug_other=(data.drug_other or "").strip() or None, drug_class=drug_class(given.drug),
        dose_amount=given.dose_amount, dose_unit=given.dose_unit.value, route=given.route.value,
        given_at=given.given_at, given_by=(data.given_by or "").strip() or who,
        alert_id=data.alert_id, adverse_event_id=data.adverse_event_id,
        note=(data.note or "").strip() or None, recorded_at=now,
        recorded_by_id=ctx.actor.user_id, recorded_by=who,
    )  # fmt: skip
    ctx.db.add(row)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="rescue_medication.record", entity_type="monitoring_rescue_medication",
        entity_id=row.id, patient_id=session.patient_id, after=_rescue_view(row),
    )  # fmt: skip
    service.apply_stopping_rules(ctx=ctx, settings=settings, session=session)
    return row


def read_rescue(*, ctx: Ctx, session_id: int) -> Sequence[RescueMedication]:
    """A session's rescue medications (an audited read of the patient record)."""
    session = service._read(ctx, session_id, "rescue_medication")
    return service.rescue_of(ctx=ctx, session_id=session.id)


# --- follow-up calls ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class CallRow:
    """A follow-up call with its patient and where it stands now."""

    call: FollowUpCall
    patient_name: str
    patient_mrn: str
    state: CallState
    attempts: Sequence[FollowUpAttempt]


def _params(settings: Settings, protocol_id: str) -> DischargeParameters:
    return service._protocol(settings, protocol_id).discharge_parameters()


def follow_up_calls(*, ctx: Ctx, settings: Settings, include_done: bool = True) -> list[CallRow]:
    """The follow-up calls of the user's site: overdue and due first, then upcoming, then done.

    Opening the list is an audited read (it names patients).
    """
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    stmt = (
        select(FollowUpCall, Patient, TherapySession.protocol_id)
        .join(Patient, Patient.id == FollowUpCall.patient_id)
        .join(TherapySession, TherapySession.id == FollowUpCall.session_id)
        .order_by(FollowUpCall.due_at, FollowUpCall.id)
    )
    if ctx.actor.site_id is not None:
        stmt = stmt.where(Patient.site_id == ctx.actor.site_id)
    if not include_done:
        stmt = stmt.where(FollowUpCall.status == "open")
    now = ctx.clock.now()
    rows = []
    for call, patient, protocol_id in ctx.db.execute(stmt):
        params = _params(settings, protocol_id)
        rows.append(CallRow(
            call=call, patient_name=f"{patient.given_name} {patient.family_name}",
            patient_mrn=patient.mrn,
            state=call_state(as_utc(call.due_at), call.status == "done", now, params),
            attempts=attempts_of(ctx=ctx, call_id=call.id),
        ))  # fmt: skip
    order = {CallState.OVERDUE: 0, CallState.DUE: 1, CallState.UPCOMING: 2, CallState.DONE: 3}
    rows.sort(key=lambda r: (order[r.state], as_utc(r.call.due_at)))
    audit.record(ctx=ctx, action="follow_up.read", entity_type="monitoring_follow_up_call",
                 entity_id=None, after={"calls": len(rows)})  # fmt: skip
    return rows


def attempts_of(*, ctx: Ctx, call_id: int) -> Sequence[FollowUpAttempt]:
    """The attempts of one call, oldest first (no permission check, no audit)."""
    return ctx.db.scalars(
        select(FollowUpAttempt)
        .where(FollowUpAttempt.call_id == call_id)
        .order_by(FollowUpAttempt.called_at, FollowUpAttempt.id)
    ).all()


def record_follow_up_attempt(
    *, ctx: Ctx, settings: Settings, call_id: int, data: FollowUpAttemptRequest
) -> tuple[FollowUpCall, FollowUpAttempt]:
    """Record one call attempt: reached (with symptoms or not) closes it; not reached reschedules.

    Symptoms reported are not graded here: the page links to recording an
    adverse event on the session, which a clinician grades (CTCAE).
    """
    authorize(ctx=ctx, action=Action.FOLLOW_UP_RECORD)
    call = ctx.db.get(FollowUpCall, call_id)
    if call is None:
        raise NotFound("No such follow-up call.")
    patients.load_visible(ctx, call.patient_id)
    if call.version != data.version:
        raise StaleEdit(
            record="follow-up call", changed_by=call.completed_by or call.scheduled_by,
            changed_at=call.completed_at or call.scheduled_at, version=call.version,
        )  # fmt: skip
    if call.status == "done":
        raise RuleViolation(f"This call was already completed by {call.completed_by}.")
    session, _ = service._session(ctx, call.session_id)
    if session.state != State.DISCHARGED.value:
        raise RuleViolation("The session is not discharged; its follow-up call is not open yet.")
    record = service.discharge_record(ctx=ctx, session_id=session.id)
    discharged_at = as_utc(record.discharged_at) if record else as_utc(call.scheduled_at)
    now = ctx.clock.now()
    params = _params(settings, session.protocol_id)
    try:
        attempt = FollowUpAttemptIn(
            outcome=data.outcome,
            called_at=now if data.called_at is None else as_utc(data.called_at),
            symptoms_reported=data.symptoms_reported, symptoms=data.symptoms,
            retry_at=None if data.retry_at is None else as_utc(data.retry_at),
        ).checked(now, discharged_at, params)  # fmt: skip
    except ValueError as exc:
        raise service._invalid(exc, "outcome") from exc
    who = service._who(ctx)
    row = FollowUpAttempt(
        call_id=call.id, session_id=call.session_id, patient_id=call.patient_id,
        called_at=attempt.called_at, outcome=attempt.outcome.value,
        symptoms_reported=attempt.symptoms_reported, symptoms=attempt.symptoms,
        retry_at=attempt.retry_at, note=(data.note or "").strip() or None, recorded_at=now,
        recorded_by_id=ctx.actor.user_id, recorded_by=who,
    )  # fmt: skip
    ctx.db.add(row)
    before = {"status": call.status, "due_at": as_utc(call.due_at).isoformat()}
    call.attempts += 1
    if attempt.outcome is CallOutcome.REACHED:
        call.status, call.symptoms_reported = "done", attempt.symptoms_reported
        call.completed_at, call.completed_by_id, call.completed_by = now, ctx.actor.user_id, who
    else:
        assert attempt.retry_at is not None
        call.due_at = attempt.retry_at
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="follow_up.record", entity_type="monitoring_follow_up_call",
        entity_id=call.id, entity_version=call.version, patient_id=call.patient_id,
        before=before,
        after={"status": call.status, "due_at": as_utc(call.due_at).isoformat(),
               "attempt_id": row.id, "outcome": row.outcome, "called_at": row.called_at,
               "symptoms_reported": row.symptoms_reported, "symptoms": row.symptoms},
        reason=row.note,
    )  # fmt: skip
    return call, row


def call_view(r: CallRow) -> dict[str, Any]:
    """A listed call as plain data (API)."""
    c = r.call
    return {
        "id": c.id, "session_id": c.session_id, "patient_id": c.patient_id,
        "patient_name": r.patient_name, "patient_mrn": r.patient_mrn, "reason": c.reason,
        "first_due_at": c.first_due_at, "due_at": c.due_at, "state": r.state.value,
        "status": c.status, "attempts": c.attempts, "symptoms_reported": c.symptoms_reported,
        "completed_at": c.completed_at, "completed_by": c.completed_by, "version": c.version,
    }  # fmt: skip
