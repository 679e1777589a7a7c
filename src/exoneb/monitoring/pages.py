"""Pages of step 4: the monitoring page of a session, its live chart, the clinic's open alerts.

The monitoring page shows the due and overdue observations, the entry form,
the alerts with acknowledge/resolve, the adverse-event form (with the CTCAE
grade definitions of the chosen term), the holds, and the discharge
checklist with its signature. The live chart reads a server-sent-event
stream of the *stored* rows (observations and alerts), so what it shows is
what every worker has stored; on PostgreSQL a LISTEN/NOTIFY wakes the stream
at the commit, on SQLite the storing process wakes it after the commit and other
processes poll (see :mod:`exoneb.monitoring.push`); when
an alert arrives it also reloads the alert panel. Times on forms are UTC, as everywhere in exoneb.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from exoneb.accounts.permissions import Action
from exoneb.core.context import Ctx
from exoneb.monitoring import follow_up_service, hl7_service, push, service
from exoneb.monitoring.follow_up import REVIEW_LABELS
from exoneb.monitoring.rescue import DRUG_LABELS, RescueRoute
from exoneb.monitoring.schemas import (
    AdverseEventIn,
    AdverseEventReportIn,
    AlertAckIn,
    AlertResolveIn,
    DischargeIn,
    FollowUpAttemptRequest,
    FollowUpGiveUpRequest,
    FollowUpReviewRequest,
    HoldLiftIn,
    ObservationIn,
    RescueMedicationIn,
)
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import act_in_action, submit
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)

#: How often the live stream re-reads the stored rows on SQLite (a commit in this process
#: wakes it at once, including the HL7 listener of ``exoneb serve --hl7-port``; this covers
#: writers in other processes: a separate ``exoneb monitor-gateway``, the CLI). Each open
#: chart re-reads this often, so it is a cost per chart: at 1 s, 50 open charts were 50
#: re-reads a second of the server's CPU (docs/monitoring.md, Performance). On PostgreSQL a
#: notification wakes it at once and the re-read after PG_FALLBACK_S only covers a missed one.
#: STREAM_LIFETIME_S: how long one stream lives (the browser's EventSource reconnects by
#: itself, resuming from the last id).
POLL_S = 5.0
PG_FALLBACK_S = 5.0
STREAM_LIFETIME_S = 300.0

SLOT_LABELS = {"upcoming": "Upcoming", "due": "Due now", "overdue": "Overdue", "done": "Done"}


def _url(session_id: int) -> str:
    return f"/sessions/{session_id}/monitoring"


def _page(
    request: Request,
    auth: Auth,
    session_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.action() as ctx:
        data = service.page(ctx=ctx, settings=auth.state.settings, session_id=session_id)
    terms = service.terms()
    context: dict[str, Any] = {
        "p": data, "errors": dict(errors or {}), "values": dict(values or {}),
        "terms": terms, "slot_labels": SLOT_LABELS,
        "chosen_term": next((t for t in terms if t["term"] == (values or {}).get("term")), None),
        "last_id": data.observations[-1].id if data.observations else 0,
        "may_record": auth.can(Action.OBSERVATION_RECORD),
        "may_handle": auth.can(Action.ALERT_HANDLE),
        "may_ae": auth.can(Action.ADVERSE_EVENT_RECORD),
        "may_report": auth.can(Action.ADVERSE_EVENT_REPORT),
        "may_hold": auth.can(Action.COURSE_HOLD),
        "may_discharge": auth.can(Action.SESSION_DISCHARGE),
        "recent": list(reversed(data.observations[-30:])),
        "alert_options": [(str(a.id), f"{a.title} (#{a.id})") for a in data.alerts],
        "may_rescue": auth.can(Action.RESCUE_MEDICATION_RECORD),
        "rescue_drugs": [(d.value, label) for d, label in DRUG_LABELS.items()],
        "rescue_routes": [(r.value, r.value.replace("_", " ").replace("mdi", "(inhaler)"))
                          for r in RescueRoute],
        "event_options": [(str(e["id"]), f"{e['term_label']} grade {e['grade']} (#{e['id']})")
                          for e in data.events],
    }  # fmt: skip
    return render(request, "monitoring/page.html", context, auth=auth, status_code=status_code)


@router.get("/sessions/{session_id}/monitoring")
def show(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The monitoring page of a session."""
    return _page(request, auth, session_id)


def _act(
    request: Request, auth: Auth, session_id: int, form: Mapping[str, str],
    run: Callable[[Ctx], object], anchor: str = "",
) -> Response:  # fmt: skip
    return act_in_action(
        auth.action,
        run,
        done_url=_url(session_id) + anchor,
        again=lambda errors, status: _page(request, auth, session_id, errors, form, status),
    )


def _submit(
    request: Request, auth: Auth, session_id: int, form: Mapping[str, str], model: type[M],
    data: Mapping[str, Any], run: Callable[[Ctx, M], object], anchor: str = "",
) -> Response:  # fmt: skip
    return submit(
        model, data, auth.action, run, done_url=_url(session_id) + anchor,
        again=lambda errors, status: _page(request, auth, session_id, errors, form, status),
    )  # fmt: skip


def _utc(text: str | None) -> str | None:
    """A ``datetime-local`` value (no offset) is UTC, as every time exoneb shows."""
    if not text:
        return None
    return text if ("+" in text[10:] or text.endswith("Z")) else f"{text}+00:00"


def _tri(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


@router.post("/sessions/{session_id}/monitoring/observations")
def observation(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record a manual observation; the alert rules run on it before the page comes back."""
    data: dict[str, Any] = {
        k: v for k, v in form.items()
        if k in ObservationIn.model_fields and k not in ("observed_at", "saba_given")
        and k not in ("respiratory_symptoms", "wheeze", "stridor")
    }  # fmt: skip
    data["observed_at"] = _utc(form.get("observed_at"))
    for name in ("respiratory_symptoms", "wheeze", "stridor"):
        data[name] = _tri(form.get(name))
    data = {k: v for k, v in data.items() if v is not None}
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, ObservationIn, data,
        lambda ctx, d: service.record_observation(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
        "#observe",
    )  # fmt: skip


@router.post("/sessions/{session_id}/monitoring/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request, session_id: int, alert_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Acknowledge an alert (your name is recorded)."""
    return _submit(
        request, auth, session_id, form, AlertAckIn, form,
        lambda ctx, d: service.acknowledge_alert(ctx=ctx, alert_id=alert_id, data=d), "#alerts",
    )  # fmt: skip


@router.post("/sessions/{session_id}/monitoring/alerts/{alert_id}/resolve")
def resolve(
    request: Request, session_id: int, alert_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Resolve an alert, saying what was done."""
    return _submit(
        request, auth, session_id, form, AlertResolveIn, form,
        lambda ctx, d: service.resolve_alert(ctx=ctx, alert_id=alert_id, data=d), "#alerts",
    )  # fmt: skip


@router.get("/sessions/{session_id}/monitoring/alerts")
def alerts_panel(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The alert panel alone (reloaded by the live chart when an alert is stored)."""
    with auth.action() as ctx:
        rows = service.live_alerts(ctx=ctx, session_id=session_id)
    context = {
        "alerts": rows,
        "session_id": session_id,
        "may_handle": auth.can(Action.ALERT_HANDLE),
    }
    return render(request, "monitoring/alerts.html", context, auth=auth)


@router.get("/monitoring/ctcae-grades")
def grades(request: Request, auth: AuthDep, term: str = "") -> Response:
    """The CTCAE v5.0 grade definitions of one term, as radio buttons for the AE form."""
    definition = next((t for t in service.terms() if t["term"] == term), None)
    return render(request, "monitoring/grades.html", {"t": definition, "values": {}}, auth=auth)


@router.post("/sessions/{session_id}/monitoring/adverse-events")
def adverse_event(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record an adverse event graded with CTCAE v5.0."""
    data: dict[str, Any] = {
        k: v for k, v in form.items()
        if k in ("term", "other_text", "grade", "description", "causality", "action", "outcome",
                 "alert_id") and v != ""
    }  # fmt: skip
    for name in ("onset_at", "end_at", "aware_at"):
        if value := _utc(form.get(name)):
            data[name] = value
    data["seriousness"] = [k[8:] for k, v in form.items() if k.startswith("serious_") and v == "on"]
    data["expected"] = _tri(form.get("expected"))
    data["resolved"] = form.get("resolved") == "on"
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, AdverseEventIn, data,
        lambda ctx, d: service.record_adverse_event(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
        "#events",
    )  # fmt: skip


@router.post("/sessions/{session_id}/monitoring/adverse-events/{event_id}/report")
def report(
    request: Request, session_id: int, event_id: int, auth: AuthDep, form: FormDep
) -> Response:
    """Record that a serious event was reported."""
    data = {k: v for k, v in form.items() if k in ("version", "reference")}
    return _submit(
        request, auth, session_id, form, AdverseEventReportIn, data,
        lambda ctx, d: service.report_adverse_event(ctx=ctx, event_id=event_id, data=d), "#events",
    )  # fmt: skip


@router.post("/sessions/{session_id}/monitoring/holds/{hold_id}/lift")
def lift(request: Request, session_id: int, hold_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Lift a hold or cohort pause, with a reason."""
    return _submit(
        request, auth, session_id, form, HoldLiftIn, form,
        lambda ctx, d: service.lift_hold(ctx=ctx, hold_id=hold_id, data=d), "#holds",
    )  # fmt: skip


@router.post("/sessions/{session_id}/monitoring/discharge")
def discharge(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Discharge: attestations, follow-up and the signer's password."""
    data: dict[str, Any] = {
        name: form.get(name) == "on"
        for name in ("walks_unaided", "instructions_given", "follow_up_scheduled")
    }
    data = {k: v for k, v in data.items() if v} | {
        k: v for k, v in form.items() if k in ("contact", "note", "password") and v != ""
    }
    if value := _utc(form.get("follow_up_at")):
        data["follow_up_at"] = value
    settings = auth.state.settings
    shown = {k: v for k, v in form.items() if k != "password"}
    return _submit(
        request, auth, session_id, shown, DischargeIn, data,
        lambda ctx, d: service.discharge(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
        "#discharge",
    )  # fmt: skip


@router.get("/sessions/{session_id}/monitoring/sheet")
def sheet(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The printable patient sheet: what was done, whom to call, what to watch for."""
    with auth.action() as ctx:
        data = service.page(ctx=ctx, settings=auth.state.settings, session_id=session_id)
        zone = follow_up_service.session_time_zone(ctx=ctx, session_id=session_id)
    # The patient reads their own clock: every time on the sheet in the site's zone, named.
    local = partial(follow_up_service.site_time, zone=zone)
    return render(request, "monitoring/sheet.html", {"p": data, "local": local}, auth=auth)


@router.get("/monitoring")
def overview(request: Request, auth: AuthDep) -> Response:
    """The clinic overview: every alert not yet resolved, most severe first."""
    with auth.action() as ctx:
        rows = service.open_alerts(ctx=ctx)
    return render(request, "monitoring/overview.html", {"alerts": rows}, auth=auth)


def _event(name: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


@router.get("/sessions/{session_id}/monitoring/stream")
async def stream(
    request: Request, session_id: int, auth: AuthDep, after: int = 0, once: bool = False
) -> StreamingResponse:
    """Server-sent events: stored observations (SpO2, HR, FEV1) and alert changes.

    Every worker reads the same stored rows, so the chart on any screen shows
    what has been stored, in the order it was stored. ``after`` resumes from an
    observation id (the browser sends ``Last-Event-ID`` on reconnect).
    """
    resume = request.headers.get("last-event-id", "")
    last_id = int(resume) if resume.isdigit() else after

    def poll(last: int, since: datetime | None, base: bool = False) -> service.LiveUpdate:
        with auth.action(read_only=True) as ctx:
            return service.live(
                ctx=ctx, session_id=session_id, after_id=last, since=since, with_baseline=base
            )

    first = await run_in_threadpool(poll, last_id, None, True)  # 404/403 before the stream starts
    database_url = auth.state.settings.database_url
    interval_s = POLL_S if database_url.startswith("sqlite") else PG_FALLBACK_S

    def chunks(update: service.LiveUpdate) -> list[str]:
        out = []
        if update.observations:
            out.append(_event("observations", update.observations, update.last_id))
        if update.alerts:
            out.append(_event("alerts", update.alerts))
        return out

    async def events() -> AsyncIterator[str]:
        yield _event("baseline", first.baseline)
        for chunk in chunks(first):
            yield chunk
        if once:
            return
        ends_at = time.monotonic() + STREAM_LIFETIME_S
        async with push.waker(database_url, session_id) as waker:
            # Listening now: re-read once, so a row stored before LISTEN took effect is not late.
            update, reason = first, "listening"
            while True:
                update = await run_in_threadpool(poll, update.last_id, update.since)
                yield f": woke by {reason}\n\n"  # an SSE comment: browsers ignore it, tests read it
                for chunk in chunks(update):
                    yield chunk
                if time.monotonic() >= ends_at or await request.is_disconnected():
                    return
                reason = await waker.wait(interval_s)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


HL7_INBOX_URL = "/monitoring/hl7"


def _inbox(
    request: Request, auth: Auth, show_all: bool, errors: Mapping[str, str] | None = None,
    status_code: int = 200, failed_id: int | None = None,
) -> Response:  # fmt: skip
    with auth.action() as ctx:
        rows = [
            hl7_service.hl7_view(r)
            for r in hl7_service.hl7_inbox(ctx=ctx, pending_only=not show_all)
        ]
    context = {
        "messages": rows,
        "show_all": show_all,
        "errors": errors or {},
        "failed_id": failed_id,
    }
    response = render(request, "monitoring/hl7_inbox.html", context, auth=auth)
    response.status_code = status_code
    return response


@router.get(HL7_INBOX_URL)
def hl7_inbox(request: Request, auth: AuthDep, all: bool = False) -> Response:
    """The HL7 inbox: messages kept for review (or all), their parse/match status and ACK."""
    return _inbox(request, auth, all)


@router.post(HL7_INBOX_URL + "/{message_id}/review")
def hl7_review(request: Request, message_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Mark a kept message as reviewed, saying what was done (your name is recorded)."""
    return act_in_action(
        auth.action,
        lambda ctx: hl7_service.review_hl7(
            ctx=ctx, message_id=message_id, note=form.get("note", "")
        ),
        done_url=HL7_INBOX_URL,
        again=lambda errors, code: _inbox(request, auth, False, errors, code, message_id),
    )  # fmt: skip


@router.post("/sessions/{session_id}/monitoring/rescue-medications")
def rescue(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record a rescue medication given (drug, dose, route, time, by whom)."""
    data: dict[str, Any] = {
        k: v for k, v in form.items()
        if k in RescueMedicationIn.model_fields and k != "given_at" and v != ""
    }  # fmt: skip
    if value := _utc(form.get("given_at")):
        data["given_at"] = value
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, RescueMedicationIn, data,
        lambda ctx, d: follow_up_service.record_rescue_medication(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
        "#rescue",
    )  # fmt: skip


FOLLOW_UP_URL = "/monitoring/follow-up"
CALL_LABELS = {
    "needs_review": "Gave up — needs a clinician's review", "overdue": "Overdue",
    "due": "Due now", "upcoming": "Upcoming", "done": "Done",
}  # fmt: skip


def _calls(
    request: Request, auth: Auth, errors: Mapping[str, str] | None = None,
    status_code: int = 200, failed_id: int | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:  # fmt: skip
    with auth.action() as ctx:
        rows = follow_up_service.follow_up_calls(ctx=ctx, settings=auth.state.settings)
        zone = follow_up_service.user_time_zone(ctx=ctx)
    context = {
        "groups": [(key, label, [r for r in rows if r.state.value == key])
                   for key, label in CALL_LABELS.items()],
        "errors": errors or {}, "failed_id": failed_id, "values": dict(values or {}),
        "may_call": auth.can(Action.FOLLOW_UP_RECORD),
        "may_review": auth.can(Action.FOLLOW_UP_REVIEW),
        "review_labels": REVIEW_LABELS, "zone": zone.key,
    }  # fmt: skip
    response = render(request, "monitoring/follow_up.html", context, auth=auth)
    response.status_code = status_code
    return response


def _site_local(text: str | None, zone: ZoneInfo) -> str | None:
    """A ``datetime-local`` value typed on the follow-up page is the site's wall time."""
    if not text:
        return None
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return text  # the schema names the field and says what is wrong
    if naive.tzinfo is not None:
        return text
    return naive.replace(tzinfo=zone).isoformat()


@router.get(FOLLOW_UP_URL)
def follow_up_list(request: Request, auth: AuthDep) -> Response:
    """Follow-up calls of your site: given up (to review), overdue, due now, upcoming, done."""
    return _calls(request, auth)


@router.post(FOLLOW_UP_URL + "/{call_id}/attempts")
def follow_up_attempt(request: Request, call_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record a call attempt: reached (symptoms or not) or not reached (retry time)."""
    data = _given(form, "version", "outcome", "symptoms", "note")
    if (reported := _tri(form.get("symptoms_reported"))) is not None:
        data["symptoms_reported"] = reported
    with auth.action() as ctx:
        zone = follow_up_service.user_time_zone(ctx=ctx)
    for name in ("called_at", "retry_at"):
        if value := _site_local(form.get(name), zone):
            data[name] = value
    settings = auth.state.settings
    return _call_form(
        request, auth, call_id, form, FollowUpAttemptRequest, data,
        lambda ctx, parsed: follow_up_service.record_follow_up_attempt(
            ctx=ctx, settings=settings, call_id=call_id, data=parsed),
    )  # fmt: skip


@router.post(FOLLOW_UP_URL + "/{call_id}/give-up")
def follow_up_give_up(request: Request, call_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Stop calling before the protocol's last attempt, with a reason."""
    return _call_form(
        request, auth, call_id, form, FollowUpGiveUpRequest, _given(form, "version", "reason"),
        lambda ctx, parsed: follow_up_service.give_up_follow_up(
            ctx=ctx, call_id=call_id, data=parsed),
    )  # fmt: skip


@router.post(FOLLOW_UP_URL + "/{call_id}/review")
def follow_up_review(request: Request, call_id: int, auth: AuthDep, form: FormDep) -> Response:
    """A physician records what was done about a call given up."""
    return _call_form(
        request, auth, call_id, form, FollowUpReviewRequest,
        _given(form, "version", "action", "note"),
        lambda ctx, parsed: follow_up_service.review_follow_up(
            ctx=ctx, call_id=call_id, data=parsed),
    )  # fmt: skip


def _given(form: Mapping[str, str], *names: str) -> dict[str, Any]:
    """The named form fields that were filled in."""
    return {k: v for k, v in form.items() if k in names and v != ""}


def _call_form(
    request: Request, auth: Auth, call_id: int, form: Mapping[str, str], model: type[M],
    data: Mapping[str, Any], run: Callable[[Ctx, M], object],
) -> Response:  # fmt: skip
    """Parse and run one follow-up form; on a refusal the list again, the message at the call."""
    return submit(
        model, data, auth.action, run, done_url=FOLLOW_UP_URL,
        again=lambda errs, code: _calls(request, auth, errs, code, call_id, form),
    )  # fmt: skip
