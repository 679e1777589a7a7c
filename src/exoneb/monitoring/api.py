"""JSON API of step 4 (``/api/v1``): observations, alerts, adverse events, holds, discharge.

Devices post batches to ``/sessions/{id}/observations/batch``; bedside monitors
speaking HL7 use the ``exoneb monitor-gateway`` listener instead. Every edit
of a stored record sends the ``version`` it loaded (409 when stale); a refused
role is a 403 with a ``permission.denied`` audit row; an implausible value is
a 422 naming the field. Decision support for trained staff, not medical advice.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from exoneb.core.context import Ctx
from exoneb.monitoring import follow_up_service, hl7_service, service
from exoneb.monitoring.schemas import (
    AdverseEventIn,
    AdverseEventOut,
    AdverseEventReportIn,
    AdverseEventUpdate,
    AlertAckIn,
    AlertOut,
    AlertResolveIn,
    ChecklistOut,
    DischargeIn,
    DischargeOut,
    FollowUpAttemptRequest,
    FollowUpCallOut,
    FollowUpGiveUpRequest,
    FollowUpReviewRequest,
    Hl7MessageOut,
    Hl7ReviewIn,
    HoldIn,
    HoldLiftIn,
    HoldOut,
    IngestOut,
    ObservationBatchIn,
    ObservationIn,
    ObservationOut,
    ObservationRecorded,
    RescueMedicationIn,
    RescueMedicationOut,
    TermOut,
)
from exoneb.web.deps import Auth, AuthDep

router = APIRouter(tags=["monitoring"])
S = "/sessions/{session_id}"


@router.post(f"{S}/observations", response_model=ObservationRecorded, status_code=201)
def record_observation(session_id: int, data: ObservationIn, auth: AuthDep) -> ObservationRecorded:
    """Record a manual observation; the alerts it raised are already stored."""
    with auth.action() as ctx:
        row, raised = service.record_observation(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return ObservationRecorded(
            observation=ObservationOut.model_validate(row),
            alerts_raised=[AlertOut.model_validate(a) for a in raised],
        )


@router.post(f"{S}/observations/batch", response_model=IngestOut, status_code=201)
def ingest(session_id: int, data: ObservationBatchIn, auth: AuthDep) -> IngestOut:
    """Store a device's batch of observations (all or nothing), then evaluate the alerts once."""
    with auth.action() as ctx:
        ids, raised = service.ingest_batch(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return IngestOut(
            stored=len(ids), first_id=min(ids), last_id=max(ids),
            alerts_raised=[a.id for a in raised],
        )  # fmt: skip


@router.get(f"{S}/observations", response_model=list[ObservationOut])
def observations(session_id: int, auth: AuthDep) -> list[ObservationOut]:
    """The session's observations in time order."""
    with auth.action() as ctx:
        rows = service.read_observations(ctx=ctx, session_id=session_id)
        return [ObservationOut.model_validate(r) for r in rows]


@router.get(f"{S}/alerts", response_model=list[AlertOut])
def session_alerts(session_id: int, auth: AuthDep) -> list[AlertOut]:
    """The session's alerts, newest first, with who acknowledged and resolved them."""
    with auth.action() as ctx:
        return [
            AlertOut.model_validate(a) for a in service.read_alerts(ctx=ctx, session_id=session_id)
        ]


@router.get("/alerts", response_model=list[AlertOut])
def open_alerts(auth: AuthDep) -> list[AlertOut]:
    """Every alert not yet resolved at the user's site (the clinic overview)."""
    with auth.action() as ctx:
        return [AlertOut.model_validate(a) for a in service.open_alerts(ctx=ctx)]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: int, data: AlertAckIn, auth: AuthDep) -> AlertOut:
    """Acknowledge an open alert (your name is recorded)."""
    with auth.action() as ctx:
        return AlertOut.model_validate(
            service.acknowledge_alert(ctx=ctx, alert_id=alert_id, data=data)
        )


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
def resolve(alert_id: int, data: AlertResolveIn, auth: AuthDep) -> AlertOut:
    """Resolve an alert, saying what was done."""
    with auth.action() as ctx:
        return AlertOut.model_validate(service.resolve_alert(ctx=ctx, alert_id=alert_id, data=data))


@router.get("/ctcae/terms", response_model=list[TermOut])
def terms() -> list[TermOut]:
    """The CTCAE v5.0 terms offered and the definition of each of their grades."""
    return [TermOut.model_validate(t) for t in service.terms()]


@router.post(f"{S}/adverse-events", response_model=AdverseEventOut, status_code=201)
def record_event(session_id: int, data: AdverseEventIn, auth: AuthDep) -> AdverseEventOut:
    """Record an adverse event (CTCAE term and grade); serious ones get a reporting deadline."""
    with auth.action() as ctx:
        row = service.record_adverse_event(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return AdverseEventOut.model_validate(service.event_view(row, ctx.clock.now()))


@router.get(f"{S}/adverse-events", response_model=list[AdverseEventOut])
def events(session_id: int, auth: AuthDep) -> list[AdverseEventOut]:
    """The session's adverse events with onset/end relative to the start of nebulization."""
    with auth.action() as ctx:
        return [AdverseEventOut.model_validate(e)
                for e in service.read_events(ctx=ctx, session_id=session_id)]  # fmt: skip


@router.put("/adverse-events/{event_id}", response_model=AdverseEventOut)
def update_event(event_id: int, data: AdverseEventUpdate, auth: AuthDep) -> AdverseEventOut:
    """Regrade, end or follow up an event (reason required)."""
    with auth.action() as ctx:
        row = service.update_adverse_event(
            ctx=ctx, settings=auth.state.settings, event_id=event_id, data=data
        )
        return AdverseEventOut.model_validate(service.event_view(row, ctx.clock.now()))


@router.post("/adverse-events/{event_id}/report", response_model=AdverseEventOut)
def report_event(event_id: int, data: AdverseEventReportIn, auth: AuthDep) -> AdverseEventOut:
    """Record that a serious event was reported (reference and time)."""
    with auth.action() as ctx:
        row = service.report_adverse_event(ctx=ctx, event_id=event_id, data=data)
        return AdverseEventOut.model_validate(service.event_view(row, ctx.clock.now()))


@router.get(f"{S}/holds", response_model=list[HoldOut])
def holds(session_id: int, auth: AuthDep) -> list[HoldOut]:
    """Active holds on the patient's course and pauses of the cohort."""
    with auth.action() as ctx:
        return [
            HoldOut.model_validate(h) for h in service.read_holds(ctx=ctx, session_id=session_id)
        ]


@router.post(f"{S}/holds", response_model=HoldOut, status_code=status.HTTP_201_CREATED)
def place_hold(session_id: int, data: HoldIn, auth: AuthDep) -> HoldOut:
    """Hold the patient's course (or pause the cohort) by hand, with a reason."""
    with auth.action() as ctx:
        return HoldOut.model_validate(service.place_hold(ctx=ctx, session_id=session_id, data=data))


@router.post("/holds/{hold_id}/lift", response_model=HoldOut)
def lift_hold(hold_id: int, data: HoldLiftIn, auth: AuthDep) -> HoldOut:
    """Lift a hold or pause, with a reason."""
    with auth.action() as ctx:
        return HoldOut.model_validate(service.lift_hold(ctx=ctx, hold_id=hold_id, data=data))


@router.get(f"{S}/discharge/checklist", response_model=ChecklistOut)
def checklist(session_id: int, auth: AuthDep) -> ChecklistOut:
    """The discharge checklist evaluated now from the stored observations."""
    with auth.action() as ctx:
        view = service.read_checklist(ctx=ctx, settings=auth.state.settings, session_id=session_id)
        return ChecklistOut.model_validate(view)


@router.post(f"{S}/discharge", response_model=DischargeOut, status_code=201)
def discharge(session_id: int, data: DischargeIn, auth: AuthDep) -> DischargeOut:
    """Discharge (checklist met, password re-entered); the session becomes ``discharged``."""
    with auth.action() as ctx:
        record = service.discharge(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return DischargeOut.model_validate(record)


@router.get("/hl7/inbox", response_model=list[Hl7MessageOut])
def inbox(auth: AuthDep, pending_only: bool = Query(default=True)) -> list[Hl7MessageOut]:
    """HL7 messages received by the gateway (by default those waiting for review)."""
    with auth.action() as ctx:
        rows = hl7_service.hl7_inbox(ctx=ctx, pending_only=pending_only)
        return [Hl7MessageOut.model_validate(hl7_service.hl7_view(r)) for r in rows]


@router.post("/hl7/inbox/{message_id}/review", response_model=Hl7MessageOut)
def review(message_id: int, data: Hl7ReviewIn, auth: AuthDep) -> Hl7MessageOut:
    """Mark a kept message as reviewed, saying what was done (e.g. readings entered by hand)."""
    with auth.action() as ctx:
        row = hl7_service.review_hl7(ctx=ctx, message_id=message_id, note=data.note)
        return Hl7MessageOut.model_validate(hl7_service.hl7_view(row))


@router.post(f"{S}/rescue-medications", response_model=RescueMedicationOut, status_code=201)
def record_rescue(session_id: int, data: RescueMedicationIn, auth: AuthDep) -> RescueMedicationOut:
    """Record a rescue medication given; a SABA starts the stopping rule's 30-minute clock."""
    with auth.action() as ctx:
        row = follow_up_service.record_rescue_medication(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return RescueMedicationOut.model_validate(row)


@router.get(f"{S}/rescue-medications", response_model=list[RescueMedicationOut])
def rescue(session_id: int, auth: AuthDep) -> list[RescueMedicationOut]:
    """The session's rescue medications by time given."""
    with auth.action() as ctx:
        rows = follow_up_service.read_rescue(ctx=ctx, session_id=session_id)
        return [RescueMedicationOut.model_validate(r) for r in rows]


@router.get("/follow-up-calls", response_model=list[FollowUpCallOut])
def follow_up_calls(
    auth: AuthDep, include_done: bool = Query(default=True)
) -> list[FollowUpCallOut]:
    """Follow-up calls of your site: overdue, due, upcoming, then done."""
    with auth.action() as ctx:
        rows = follow_up_service.follow_up_calls(
            ctx=ctx, settings=auth.state.settings, include_done=include_done
        )
        return [FollowUpCallOut.model_validate(follow_up_service.call_view(r)) for r in rows]


@router.post("/follow-up-calls/{call_id}/attempts", response_model=FollowUpCallOut, status_code=201)
def follow_up_attempt(call_id: int, data: FollowUpAttemptRequest, auth: AuthDep) -> FollowUpCallOut:
    """Record one call attempt (reached with or without symptoms, or not reached + retry)."""
    with auth.action() as ctx:
        follow_up_service.record_follow_up_attempt(
            ctx=ctx, settings=auth.state.settings, call_id=call_id, data=data
        )
        return _listed(ctx, auth, call_id)


def _listed(ctx: Ctx, auth: Auth, call_id: int) -> FollowUpCallOut:
    """One call as the list shows it, after a change (the list read is audited)."""
    rows = follow_up_service.follow_up_calls(ctx=ctx, settings=auth.state.settings)
    row = next(r for r in rows if r.call.id == call_id)
    return FollowUpCallOut.model_validate(follow_up_service.call_view(row))


@router.post("/follow-up-calls/{call_id}/give-up", response_model=FollowUpCallOut)
def follow_up_give_up(call_id: int, data: FollowUpGiveUpRequest, auth: AuthDep) -> FollowUpCallOut:
    """Stop calling before the protocol's last attempt (reason required); a physician reviews."""
    with auth.action() as ctx:
        follow_up_service.give_up_follow_up(ctx=ctx, call_id=call_id, data=data)
        return _listed(ctx, auth, call_id)


@router.post("/follow-up-calls/{call_id}/review", response_model=FollowUpCallOut)
def follow_up_review(call_id: int, data: FollowUpReviewRequest, auth: AuthDep) -> FollowUpCallOut:
    """A physician records what was done about a call given up (letter, GP informed, …)."""
    with auth.action() as ctx:
        follow_up_service.review_follow_up(ctx=ctx, call_id=call_id, data=data)
        return _listed(ctx, auth, call_id)
