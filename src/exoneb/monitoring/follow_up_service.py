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
  attempt by attempt;
* :func:`give_up_follow_up` / :func:`review_follow_up` — a call that never
  reaches the patient ends (the protocol's last attempt, or staff stop with a
  reason) and stays listed until a physician records what was done instead.

This is decision support for trained staff, not medical advice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from exoneb.accounts import service as accounts
from exoneb.accounts.models import Site
from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.clock import as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.core.zones import local_label, site_zone
from exoneb.monitoring import service
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.follow_up import (
    CallOutcome,
    CallState,
    CallStatus,
    FollowUpAttemptIn,
    ReviewIn,
    call_state,
    give_up_reason,
)
from exoneb.monitoring.models import (
    AdverseEventRecord,
    AlertRecord,
    FollowUpAttempt,
    FollowUpCall,
    FollowUpReview,
    RescueMedication,
)
from exoneb.monitoring.rescue import RescueGiven, drug_class
from exoneb.monitoring.schemas import (
    FollowUpAttemptRequest,
    FollowUpGiveUpRequest,
    FollowUpReviewRequest,
    RescueMedicationIn,
)
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
    """A follow-up call with its patient, its site's zone and where it stands now."""

    call: FollowUpCall
    patient_name: str
    patient_mrn: str
    state: CallState
    attempts: Sequence[FollowUpAttempt]
    time_zone: ZoneInfo
    review: FollowUpReview | None = None

    def local(self, at: datetime | None) -> str:
        """``at`` on the site's clocks with the zone (``2026-03-30 10:00 BST``); "—" if none."""
        return site_time(at, self.time_zone)


def site_time(at: datetime | None, zone: ZoneInfo) -> str:
    """A stored instant as the site's clocks show it, with the zone; "—" if none."""
    return "—" if at is None else local_label(as_utc(at), zone)


def session_time_zone(*, ctx: Ctx, session_id: int) -> ZoneInfo:
    """The zone of the site of a session's patient (read with the page that shows it)."""
    _, patient = service._session(ctx, session_id)
    return accounts.site_time_zone(ctx=ctx, site_id=patient.site_id)


def _params(settings: Settings, protocol_id: str) -> DischargeParameters:
    return service._protocol(settings, protocol_id).discharge_parameters()


#: The order of the list: calls given up and not reviewed first, then the ones to work.
STATE_ORDER = {CallState.NEEDS_REVIEW: 0, CallState.OVERDUE: 1, CallState.DUE: 2,
               CallState.UPCOMING: 3, CallState.DONE: 4}  # fmt: skip


def follow_up_calls(*, ctx: Ctx, settings: Settings, include_done: bool = True) -> list[CallRow]:
    """The follow-up calls of the user's site: given up (to review), overdue, due, upcoming, done.

    A call given up stays at the top until a physician reviews it. Opening the
    list is an audited read (it names patients).
    """
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    stmt = (
        select(FollowUpCall, Patient, TherapySession.protocol_id, Site.time_zone)
        .join(Patient, Patient.id == FollowUpCall.patient_id)
        .join(Site, Site.id == Patient.site_id)
        .join(TherapySession, TherapySession.id == FollowUpCall.session_id)
        .order_by(FollowUpCall.due_at, FollowUpCall.id)
    )
    if ctx.actor.site_id is not None:
        stmt = stmt.where(Patient.site_id == ctx.actor.site_id)
    if not include_done:
        stmt = stmt.where(
            FollowUpCall.status.in_((CallStatus.OPEN.value, CallStatus.GAVE_UP.value))
        )
    now = ctx.clock.now()
    rows = []
    for call, patient, protocol_id, zone_name in ctx.db.execute(stmt):
        params = _params(settings, protocol_id)
        rows.append(CallRow(
            call=call, patient_name=f"{patient.given_name} {patient.family_name}",
            patient_mrn=patient.mrn,
            state=call_state(as_utc(call.due_at), CallStatus(call.status), now, params),
            attempts=attempts_of(ctx=ctx, call_id=call.id), time_zone=site_zone(zone_name),
            review=review_of(ctx=ctx, call_id=call.id),
        ))  # fmt: skip
    rows.sort(key=lambda r: (STATE_ORDER[r.state], as_utc(r.call.due_at)))
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


def review_of(*, ctx: Ctx, call_id: int) -> FollowUpReview | None:
    """The physician's review of a given-up call, if any (no permission check, no audit)."""
    return ctx.db.scalars(select(FollowUpReview).where(FollowUpReview.call_id == call_id)).first()


def user_time_zone(*, ctx: Ctx) -> ZoneInfo:
    """The zone of the user's site: times typed on the follow-up page are read in it."""
    if ctx.actor.site_id is None:
        return site_zone("UTC")
    return accounts.site_time_zone(ctx=ctx, site_id=ctx.actor.site_id)


def _call_for_update(ctx: Ctx, call_id: int, version: int) -> FollowUpCall:
    """The call, visible to the user, at the version they loaded (else 404 / 409)."""
    call = ctx.db.get(FollowUpCall, call_id)
    if call is None:
        raise NotFound("No such follow-up call.")
    patients.load_visible(ctx, call.patient_id)
    if call.version != version:
        raise StaleEdit(
            record="follow-up call", changed_by=call.completed_by or call.scheduled_by,
            changed_at=call.completed_at or call.scheduled_at, version=call.version,
        )  # fmt: skip
    return call


def _open_call(ctx: Ctx, call_id: int, version: int) -> tuple[FollowUpCall, TherapySession]:
    """An open call of a discharged session (and the session), at the version the user loaded."""
    call = _call_for_update(ctx, call_id, version)
    if call.status == CallStatus.DONE:
        raise RuleViolation(f"This call was already completed by {call.completed_by}.")
    if call.status != CallStatus.OPEN:
        raise RuleViolation(
            f"This call was given up by {call.completed_by} ({call.gave_up_reason}); "
            "it waits for a physician's review, not for another attempt."
        )
    session, _ = service._session(ctx, call.session_id)
    if session.state != State.DISCHARGED.value:
        raise RuleViolation("The session is not discharged; its follow-up call is not open yet.")
    return call, session


def _state(call: FollowUpCall) -> dict[str, Any]:
    return {"status": call.status, "due_at": as_utc(call.due_at).isoformat()}


def _give_up(ctx: Ctx, call: FollowUpCall, reason: str) -> None:
    """Close an open call unreached: it waits for a physician's review."""
    call.status, call.gave_up_reason = CallStatus.GAVE_UP.value, reason
    call.completed_at, call.completed_by_id = ctx.clock.now(), ctx.actor.user_id
    call.completed_by = service._who(ctx)


def record_follow_up_attempt(
    *, ctx: Ctx, settings: Settings, call_id: int, data: FollowUpAttemptRequest
) -> tuple[FollowUpCall, FollowUpAttempt]:
    """Record one call attempt: reached (with symptoms or not) closes it; not reached reschedules,
    and the protocol's last attempt not reached closes it as given up, for a physician's review.

    Symptoms reported are not graded here: the page links to recording an
    adverse event on the session, which a clinician grades (CTCAE).
    """
    authorize(ctx=ctx, action=Action.FOLLOW_UP_RECORD)
    call, session = _open_call(ctx, call_id, data.version)
    record = service.discharge_record(ctx=ctx, session_id=call.session_id)
    discharged_at = as_utc(record.discharged_at) if record else as_utc(call.scheduled_at)
    now = ctx.clock.now()
    params = _params(settings, session.protocol_id)
    number = call.attempts + 1
    try:
        attempt = FollowUpAttemptIn(
            outcome=data.outcome,
            called_at=now if data.called_at is None else as_utc(data.called_at),
            symptoms_reported=data.symptoms_reported, symptoms=data.symptoms,
            retry_at=None if data.retry_at is None else as_utc(data.retry_at),
        ).checked(now, discharged_at, params, number)  # fmt: skip
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
    before = _state(call)
    call.attempts = number
    if attempt.outcome is CallOutcome.REACHED:
        call.status, call.symptoms_reported = CallStatus.DONE.value, attempt.symptoms_reported
        call.completed_at, call.completed_by_id, call.completed_by = now, ctx.actor.user_id, who
    elif attempt.retry_at is None:  # the protocol's last attempt: the calls stop here
        limit = params.follow_up_max_attempts
        _give_up(ctx, call, f"Not reached after {number} attempts (the protocol's maximum, "
                            f"follow_up_max_attempts = {limit}).")  # fmt: skip
    else:
        call.due_at = attempt.retry_at
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="follow_up.record", entity_type="monitoring_follow_up_call",
        entity_id=call.id, entity_version=call.version, patient_id=call.patient_id,
        before=before,
        after={**_state(call), "attempt_id": row.id, "attempt": number, "outcome": row.outcome,
               "called_at": row.called_at, "symptoms_reported": row.symptoms_reported,
               "symptoms": row.symptoms, "gave_up_reason": call.gave_up_reason},
        reason=row.note,
    )  # fmt: skip
    return call, row


def give_up_follow_up(*, ctx: Ctx, call_id: int, data: FollowUpGiveUpRequest) -> FollowUpCall:
    """Stop calling before the protocol's last attempt, with a reason; a physician then reviews."""
    authorize(ctx=ctx, action=Action.FOLLOW_UP_RECORD)
    call, _ = _open_call(ctx, call_id, data.version)
    try:
        reason = give_up_reason(data.reason)
    except ValueError as exc:
        raise service._invalid(exc, "reason") from exc
    before = _state(call)
    _give_up(ctx, call, f"Stopped after {call.attempts} attempt(s): {reason}")
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="follow_up.give_up", entity_type="monitoring_follow_up_call",
        entity_id=call.id, entity_version=call.version, patient_id=call.patient_id,
        before=before, after={**_state(call), "attempts": call.attempts,
                              "gave_up_reason": call.gave_up_reason},
        reason=reason,
    )  # fmt: skip
    return call


def review_follow_up(
    *, ctx: Ctx, call_id: int, data: FollowUpReviewRequest
) -> tuple[FollowUpCall, FollowUpReview]:
    """A physician records what was done about a call given up; the call leaves the review list."""
    authorize(ctx=ctx, action=Action.FOLLOW_UP_REVIEW)
    call = _call_for_update(ctx, call_id, data.version)
    if call.status != CallStatus.GAVE_UP:
        done = review_of(ctx=ctx, call_id=call.id)
        raise RuleViolation(
            f"This call was already reviewed by {done.reviewed_by}." if done
            else "Only a call given up is reviewed; this one is "
            f"{CallStatus(call.status).value.replace('_', ' ')}."
        )  # fmt: skip
    try:
        review = ReviewIn(data.action, data.note).checked()
    except ValueError as exc:
        raise service._invalid(exc, "note") from exc
    now, who = ctx.clock.now(), service._who(ctx)
    row = FollowUpReview(
        call_id=call.id, session_id=call.session_id, patient_id=call.patient_id,
        action=review.action.value, note=review.note, reviewed_at=now,
        reviewed_by_id=ctx.actor.user_id, reviewed_by=who,
    )  # fmt: skip
    ctx.db.add(row)
    before = _state(call)
    call.status = CallStatus.REVIEWED.value
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="follow_up.review", entity_type="monitoring_follow_up_call",
        entity_id=call.id, entity_version=call.version, patient_id=call.patient_id,
        before=before, after={**_state(call), "review_id": row.id, "action": row.action,
                              "note": row.note},
        reason=row.note,
    )  # fmt: skip
    return call, row


def call_view(r: CallRow) -> dict[str, Any]:
    """A listed call as plain data (API): instants in UTC, plus the site's zone."""
    c, review = r.call, r.review
    return {
        "id": c.id, "session_id": c.session_id, "patient_id": c.patient_id,
        "patient_name": r.patient_name, "patient_mrn": r.patient_mrn, "reason": c.reason,
        "first_due_at": c.first_due_at, "due_at": c.due_at, "state": r.state.value,
        "status": c.status, "attempts": c.attempts, "symptoms_reported": c.symptoms_reported,
        "completed_at": c.completed_at, "completed_by": c.completed_by,
        "gave_up_reason": c.gave_up_reason, "time_zone": r.time_zone.key,
        "review_action": review.action if review else None,
        "review_note": review.note if review else None,
        "reviewed_at": review.reviewed_at if review else None,
        "reviewed_by": review.reviewed_by if review else None, "version": c.version,
    }  # fmt: skip
