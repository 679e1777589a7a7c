"""Monitoring actions (step 4): observations, alerts, adverse events, holds, discharge.

Each action checks the permission, applies the pure rules of
:mod:`exoneb.monitoring.rules`, writes its rows and its audit row inside the
caller's transaction (``ctx.db``):

* every stored observation is followed, in the same transaction, by an
  evaluation of the protocol's alert rules over the session's stored series;
  an alert is therefore *stored before it is shown*, and every screen (on any
  worker) learns of it by reading the table — on PostgreSQL the same
  transaction also announces it (``pg_notify``, delivered only at the commit,
  :mod:`exoneb.monitoring.push`) to wake the live charts at once;
* recording or changing an adverse event, and an airway reading, re-evaluate
  the stopping rules, which hold the patient's course and, where the protocol
  says so, pause the cohort;
* the HL7 gateway's messages are kept and matched in
  :mod:`exoneb.monitoring.hl7_service`, whose readings go through
  :func:`evaluate_alerts` here like every other observation;
* discharge evaluates the checklist, takes the signer's e-signature and moves
  the session MONITORING → DISCHARGED through the session state machine (the
  fact provider below tells its guard the monitoring step is signed).

Time zero of the observation schedule is the end of nebulization (the session
entering ``monitoring``; clinical.md §4.2 counts spirometry "15–30 min after
the end of nebulization"); adverse-event onsets and ends are shown relative to
the *start* of nebulization (the session entering ``inhaling``). Both are read
from the session's state history.

This is decision support for trained staff, not medical advice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, insert, or_, select, update

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.assessment import service as assessment
from exoneb.core import audit, bulk
from exoneb.core.clock import as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.inhalation import service as inhalation
from exoneb.monitoring import push, rules
from exoneb.monitoring.follow_up import call_due_at
from exoneb.monitoring.models import (
    AdverseEventRecord,
    AlertRecord,
    AlertState,
    CourseHold,
    DischargeRecord,
    FollowUpCall,
    ObservationRecord,
    RescueMedication,
)
from exoneb.monitoring.rescue import first_saba_at
from exoneb.monitoring.schemas import (
    AdverseEventIn,
    AdverseEventReportIn,
    AdverseEventUpdate,
    AlertAckIn,
    AlertResolveIn,
    DischargeIn,
    HoldIn,
    HoldLiftIn,
    ObservationBatchIn,
    ObservationIn,
)
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State
from exoneb.sessions.service import FactContribution, register_fact_provider

#: Sessions in which observations may be recorded (during and after nebulization).
OBSERVING = frozenset({State.INHALING.value, State.MONITORING.value})
OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
ACTIVE, LIFTED = "active", "lifted"
DISCHARGE_MEANING = "performed"
RECORD_TYPE = "session_discharge"  # one per session: the record id is the session id
_MEASURES: tuple[str, ...] = (
    "spo2_pct", "heart_rate_per_min", "resp_rate_per_min", "sbp_mmhg", "dbp_mmhg",
    "temperature_c", "fev1_l", "pef_l_per_min",
)  # fmt: skip
_SOURCES = {
    "manual": rules.ObservationSource.MANUAL,
    "device": rules.ObservationSource.DEVICE,
    "hl7": rules.ObservationSource.DEVICE,
}
_FLAGS = ("respiratory_symptoms", "wheeze", "stridor", "symptom_grade", "signal_ok")
DISCLAIMER = (
    "Decision support for trained staff, not medical advice: this therapy complements and "
    "never replaces the patient's prescribed respiratory care."
)


# --- helpers -----------------------------------------------------------------------------


def _who(ctx: Ctx) -> str:
    return ctx.actor.full_name or ctx.actor.username


def _session(ctx: Ctx, session_id: int) -> tuple[TherapySession, Patient]:
    session = ctx.db.get(TherapySession, session_id)
    if session is None:
        raise NotFound("No such session.")
    return session, patients.load_visible(ctx, session.patient_id)


def _observed_session(ctx: Ctx, session_id: int) -> TherapySession:
    """The session, if its patient is at the user's site: one query, the patient not loaded.

    The per-reading paths (device batches, the live charts' re-reads) need the
    session and the site check only.
    """
    session = ctx.db.scalars(
        select(TherapySession)
        .join(Patient, Patient.id == TherapySession.patient_id)
        .where(TherapySession.id == session_id, Patient.site_id == ctx.actor.site_id)
    ).first()
    if session is None:
        raise NotFound("No such session at your site.")
    return session


def _protocol(settings: Settings, protocol_id: str) -> ProtocolFile:
    """The session's protocol file; its sections give the thresholds (their defaults if absent)."""
    protocol = registry.get(settings.protocols_dir, protocol_id)
    if protocol is None:  # enrolment checked it exists: the file was removed since
        raise RuleViolation(
            f"The protocol file {protocol_id!r} is missing; no threshold is guessed."
        )
    return protocol


def alert_parameters(settings: Settings, protocol_id: str) -> rules.AlertParameters:
    """The protocol's alert thresholds."""
    return _protocol(settings, protocol_id).alert_parameters()


def _invalid(exc: ValueError, default_field: str) -> InvalidInput:
    """A pure-layer ValueError as a 422 naming the field it mentions first."""
    text = str(exc)
    match = re.match(r"^(?:baseline )?([a-z0-9_]+)(?:=| must| is)", text)
    return InvalidInput(text, field=match.group(1) if match else default_field)


@dataclasses.dataclass(frozen=True, slots=True)
class Timeline:
    """When nebulization started (entered ``inhaling``) and ended (entered ``monitoring``)."""

    nebulization_start_at: datetime | None
    nebulization_end_at: datetime | None


def timeline(*, ctx: Ctx, session_id: int) -> Timeline:
    """The session's nebulization start and end, from its state history (latest entry wins)."""
    start = end = None
    for t in sessions.history(ctx=ctx, session_id=session_id):
        if t.to_state == State.INHALING.value:
            start = as_utc(t.at)
        elif t.to_state == State.MONITORING.value:
            end = as_utc(t.at)
    return Timeline(start, end)


def baseline(*, ctx: Ctx, session_id: int) -> rules.Baseline:
    """The pre-session values from the signed assessment (vitals and FEV1)."""
    stored, fev1_l = assessment.baseline_values(ctx=ctx, session_id=session_id)
    vitals = stored or {}
    try:
        return rules.Baseline(
            spo2_pct=vitals.get("spo2_percent"),
            heart_rate_per_min=vitals.get("heart_rate_bpm"),
            resp_rate_per_min=vitals.get("respiratory_rate_per_min"),
            sbp_mmhg=vitals.get("systolic_bp_mmhg"),
            dbp_mmhg=vitals.get("diastolic_bp_mmhg"),
            temperature_c=vitals.get("temperature_c"),
            fev1_l=fev1_l,
            hypercapnia_risk=bool(vitals.get("hypercapnia_risk")),
        )
    except ValueError as exc:  # a stored baseline the rules cannot use: say so, do not guess
        raise RuleViolation(f"The pre-session baseline cannot be used: {exc}") from exc


def _observation(row: ObservationRecord) -> rules.Observation:
    return rules.Observation(
        at=as_utc(row.observed_at), source=_SOURCES[row.source],
        **{m: getattr(row, m) for m in _MEASURES}, **{f: getattr(row, f) for f in _FLAGS},
    )  # fmt: skip


def observations(*, ctx: Ctx, session_id: int) -> Sequence[ObservationRecord]:
    """Every stored observation of a session, in time order (no permission check, no audit)."""
    return ctx.db.scalars(
        select(ObservationRecord)
        .where(ObservationRecord.session_id == session_id)
        .order_by(ObservationRecord.observed_at, ObservationRecord.id)
    ).all()


def _pure_observations(
    ctx: Ctx,
    session_id: int,
    since: datetime | None = None,
    skip_ids: tuple[int, int] | None = None,
) -> list[rules.Observation]:
    """The stored observations as pure ones (plain column reads: the hot path of ingest)."""
    cols = [ObservationRecord.observed_at, ObservationRecord.source]
    cols += [getattr(ObservationRecord, n) for n in (*_MEASURES, *_FLAGS)]
    stmt = select(*cols).where(ObservationRecord.session_id == session_id)
    if since is not None:
        stmt = stmt.where(ObservationRecord.observed_at >= since)
    if skip_ids is not None:
        stmt = stmt.where(~ObservationRecord.id.between(*skip_ids))
    names = (*_MEASURES, *_FLAGS)
    rows = ctx.db.execute(stmt.order_by(ObservationRecord.observed_at, ObservationRecord.id))
    out = []
    for r in rows:
        at, source, *values = r
        assert isinstance(at, datetime)
        assert isinstance(source, str)
        out.append(rules.Observation(
            at=as_utc(at), source=_SOURCES[source], **dict(zip(names, values, strict=True))
        ))  # fmt: skip
    return out


def _check_observing(session: TherapySession) -> None:
    if session.state not in OBSERVING:
        raise RuleViolation(
            f"The session is {session.state}; observations are recorded while it is inhaling "
            "or monitoring."
        )


def _values(
    ctx: Ctx,
    session: TherapySession,
    data: ObservationIn,
    source: str,
    index: int | None,
    device_id: str | None = None,
) -> tuple[dict[str, Any], rules.Observation]:
    """Validate one observation with the pure rules: its column values and its pure form."""
    prefix = "" if index is None else f"observations.{index}."
    now = ctx.clock.now()
    at = as_utc(now if data.observed_at is None else data.observed_at)
    measures = {m: getattr(data, m) for m in _MEASURES} | {f: getattr(data, f) for f in _FLAGS}
    try:
        pure = rules.Observation(at=at, source=_SOURCES[source], **measures)
    except ValueError as exc:
        err = _invalid(exc, "observed_at")
        raise InvalidInput(err.message, field=prefix + err.field) from exc
    if at > now + timedelta(minutes=5):
        raise InvalidInput(
            "The observation time is in the future; check the clock of the device or the entry.",
            field=prefix + "observed_at",
        )
    values = {
        "session_id": session.id, "patient_id": session.patient_id, "observed_at": at,
        "source": source, "device_id": device_id, "hl7_message_id": None, **measures,
        "saba_given": data.saba_given, "note": data.note, "recorded_at": now,
        "recorded_by_id": ctx.actor.user_id, "recorded_by": _who(ctx),
    }  # fmt: skip
    return values, pure


# --- observations ------------------------------------------------------------------------


def record_observation(
    *, ctx: Ctx, settings: Settings, session_id: int, data: ObservationIn
) -> tuple[ObservationRecord, list[AlertRecord]]:
    """Record a manual observation; the alert rules run on the stored series at once."""
    authorize(ctx=ctx, action=Action.OBSERVATION_RECORD)
    session, _ = _session(ctx, session_id)
    _check_observing(session)
    values, pure = _values(ctx, session, data, "manual", None)
    row = ObservationRecord(**values)
    ctx.db.add(row)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="observation.record", entity_type="monitoring_observation",
        entity_id=row.id, patient_id=session.patient_id, after=_observation_view(row),
    )  # fmt: skip
    raised = evaluate_alerts(
        ctx=ctx, settings=settings, session=session, new_from=row.observed_at,
        fresh=([pure], row.id, row.id),
    )  # fmt: skip
    if data.fev1_l is not None or data.pef_l_per_min is not None or data.temperature_c is not None:
        apply_stopping_rules(ctx=ctx, settings=settings, session=session)
    return row, raised


#: Columns of a device reading, in the order :func:`_checked_batch` builds its rows.
_BATCH_COLUMNS: tuple[str, ...] = (
    "session_id", "patient_id", "observed_at", "source", "device_id", "hl7_message_id",
    *_MEASURES, *_FLAGS, "saba_given", "note", "recorded_at", "recorded_by_id", "recorded_by",
)  # fmt: skip
_READINGS = operator.attrgetter(*_MEASURES, *_FLAGS)
# The pure Observation is built positionally on the hot path: fail at import if its fields move.
assert tuple(f.name for f in dataclasses.fields(rules.Observation)) == (
    "at",
    "source",
    *_MEASURES,
    *_FLAGS,
), "rules.Observation's fields changed: update _checked_batch"


def _checked_batch(
    ctx: Ctx, session: TherapySession, data: ObservationBatchIn
) -> tuple[list[tuple[Any, ...]], list[rules.Observation]]:
    """Validate every reading of a device batch with the pure rules: its row and its pure form.

    The same checks and messages as :func:`_values` (a refused reading is named
    ``observations.<index>.<field>``), without a dict per reading.
    """
    now = ctx.clock.now()
    latest = now + timedelta(minutes=5)
    device = rules.ObservationSource.DEVICE
    head = (session.id, session.patient_id)
    tail = (now, ctx.actor.user_id, _who(ctx))
    rows: list[tuple[Any, ...]] = []
    pure: list[rules.Observation] = []
    for i, o in enumerate(data.observations):
        at = as_utc(now if o.observed_at is None else o.observed_at)
        readings = _READINGS(o)
        try:
            p = rules.Observation(at, device, *readings)
        except ValueError as exc:
            err = _invalid(exc, "observed_at")
            raise InvalidInput(err.message, field=f"observations.{i}.{err.field}") from exc
        if at > latest:
            raise InvalidInput(
                "The observation time is in the future; check the clock of the device or the "
                "entry.",
                field=f"observations.{i}.observed_at",
            )
        rows.append((*head, at, "device", data.device_id, None, *readings, o.saba_given, o.note,
                     *tail))  # fmt: skip
        pure.append(p)
    return rows, pure


def ingest_batch(
    *, ctx: Ctx, settings: Settings, session_id: int, data: ObservationBatchIn
) -> tuple[list[int], list[AlertRecord]]:
    """Store a device's batch (all or nothing), then evaluate the alert rules once.

    Returns the ids of the stored observations (in the batch's order) and the
    alerts stored for the first time. One set-based insert of every reading
    (:func:`exoneb.core.bulk.insert_rows`), one audit row for the batch, one
    evaluation of the rules over the new readings and the stored window before
    them — a constant number of statements whatever the batch size.
    """
    authorize(ctx=ctx, action=Action.OBSERVATION_INGEST)
    session = _observed_session(ctx, session_id)
    _check_observing(session)
    rows, fresh = _checked_batch(ctx, session, data)
    ids = bulk.insert_rows(ctx.db, ObservationRecord, _BATCH_COLUMNS, rows)
    audit.record(
        ctx=ctx, action="observation.ingest", entity_type="therapy_session",
        entity_id=session.id, patient_id=session.patient_id,
        after={"device_id": data.device_id, "stored": len(ids), "first_id": min(ids),
               "last_id": max(ids)},
    )  # fmt: skip
    raised = evaluate_alerts(
        ctx=ctx, settings=settings, session=session, new_from=min(o.at for o in fresh),
        fresh=(fresh, min(ids), max(ids)),
    )  # fmt: skip
    if any(o.fev1_l is not None or o.pef_l_per_min is not None for o in fresh):
        apply_stopping_rules(ctx=ctx, settings=settings, session=session)
    return ids, raised


def _observation_view(row: ObservationRecord) -> dict[str, Any]:
    names = ("observed_at", "source", "device_id", *_MEASURES, *_FLAGS, "saba_given", "note")
    return {n: getattr(row, n) for n in names}


# --- alerts ------------------------------------------------------------------------------


def _alert_values(a: rules.Alert) -> dict[str, Any]:
    return {
        "title": a.title, "severity": a.severity.value, "onset_at": a.onset_at,
        "raised_at": a.raised_at, "last_at": a.last_at, "ongoing": a.ongoing,
        "measure": a.measure, "unit": a.unit, "first_value": a.first_value,
        "worst_value": a.worst_value, "baseline_value": a.baseline_value,
        "threshold": a.threshold, "comparison": a.comparison, "sustained_s": a.sustained_s,
        "required_s": a.required_s,
        "suggested_term": None if a.suggested_term is None else a.suggested_term.value,
        "action_text": a.action, "message": a.message, "sources": dict(a.sources),
    }  # fmt: skip


def alerts_of(*, ctx: Ctx, session_id: int) -> Sequence[AlertRecord]:
    """Every stored alert of a session, newest raised first (no permission check, no audit)."""
    return ctx.db.scalars(
        select(AlertRecord)
        .where(AlertRecord.session_id == session_id)
        .order_by(AlertRecord.raised_at.desc(), AlertRecord.id.desc())
    ).all()


#: Part of every state's basis: bump it when a rule's logic changes, so states kept by the
#: previous version are rebuilt instead of continued.
ALERT_STATE_FORMAT = 1


def _basis(b: rules.Baseline, p: rules.AlertParameters) -> str:
    """A digest of what the rules judge with; a stored state computed on another is void."""
    return hashlib.sha256(repr((ALERT_STATE_FORMAT, b, p)).encode()).hexdigest()


def evaluate_alerts(
    *,
    ctx: Ctx,
    settings: Settings,
    session: TherapySession,
    new_from: datetime | None = None,
    fresh: tuple[list[rules.Observation], int, int] | None = None,
) -> list[AlertRecord]:
    """Run the protocol's alert rules on new observations; store the alerts before anyone sees them.

    A run already stored is updated — its worst value, last time and whether it
    is still ongoing — and keeps its handling; a new run is stored as an
    ``open`` alert with one audit row. Returns the alerts stored now for the
    first time.

    How much is read depends on what is known:

    * ``fresh`` = (the pure observations just inserted, their lowest and highest
      id) and a stored :class:`AlertState` on the same baseline and thresholds
      that has seen nothing later than them: the rules continue from that state
      over the new readings alone (:func:`rules.advance`) — a constant amount
      of work per reading, however long the session or an alert has run;
    * otherwise (the session's first reading, a reading older than the latest
      one, an amended baseline, a caller without ``fresh``): the stored series
      is evaluated again from the longest sustain time (plus a minute) before
      ``new_from`` — extended back to the onset of any stored alert still
      overlapping that window and of every open run of the stored state — or
      whole without ``new_from``, and the state is rebuilt from it.

    Both ways give the same alerts (``tests/unit/monitoring/test_alerts.py``
    checks it on random series). The audit chain's lock is held first, so two
    transactions never read and rewrite one session's state at once.
    """
    audit.lock_chain(ctx.db)
    params = alert_parameters(settings, session.protocol_id)
    base = baseline(ctx=ctx, session_id=session.id)
    basis = _basis(base, params)
    state = ctx.db.execute(
        select(
            AlertState.last_at, AlertState.basis, AlertState.tracker, AlertState.alert_ids
        ).where(AlertState.session_id == session.id)
    ).first()  # plain columns, no ORM object: this runs with every reading
    now = ctx.clock.now()
    usable = _usable_state(state, basis, fresh)
    if usable is not None and fresh is not None:
        before, ids = usable
        advanced = rules.advance(before, fresh[0], base, params)
        raised = _store_continued(ctx, session, before, advanced, ids, now)
    else:
        advanced, ids, raised = _evaluate_window(
            ctx, session, base, params, new_from, fresh, now, _open_onsets(state)
        )
    tracker = advanced.tracker
    if tracker.last_at is not None:  # nothing judged yet (no reading): no state to keep
        values = {
            "last_at": tracker.last_at, "basis": basis, "tracker": rules.tracker_state(tracker),
            "alert_ids": {rid: ids[rid] for rid in tracker.raised_onsets()}, "updated_at": now,
        }  # fmt: skip
        if state is None:
            ctx.db.execute(insert(AlertState).values(session_id=session.id, **values))
        else:
            ctx.db.execute(
                update(AlertState).where(AlertState.session_id == session.id).values(**values)
            )
    push.announce(ctx, session.id)  # new observations are stored: wake the live charts
    return raised


def _usable_state(
    state: Row[Any] | None,
    basis: str,
    fresh: tuple[list[rules.Observation], int, int] | None,
) -> tuple[rules.AlertTracker, dict[str, int]] | None:
    """The stored tracker and its alerts' ids, when the new readings can simply continue it."""
    if fresh is None or state is None or state.basis != basis:
        return None
    if min(o.at for o in fresh[0]) < as_utc(state.last_at):
        return None  # a late reading: the runs around it must be evaluated again
    try:
        tracker = rules.tracker_from_state(state.tracker)
        ids = {rid: int(i) for rid, i in state.alert_ids.items()}
    except (AttributeError, KeyError, TypeError, ValueError):  # unreadable: rebuild it
        return None
    if not set(tracker.raised_onsets()) <= set(ids):
        return None  # a raised run without its stored alert: rebuild from the stored rows
    return tracker, ids


def _open_onsets(state: Row[Any] | None) -> list[datetime]:
    """The onsets of the stored state's open runs, raised or not (whatever its basis).

    The window evaluation must reach back to them: a run held on readings
    further apart than the window (a monitor sending every 2 min) would
    otherwise be cut at the window's start and judged not yet sustained.
    """
    if state is None:
        return []
    try:
        return [as_utc(r.onset_at) for r in rules.tracker_from_state(state.tracker).runs.values()]
    except (KeyError, TypeError, ValueError):
        return []


def _update_alert(ctx: Ctx, alert_id: int, alert: rules.Alert, now: datetime) -> None:
    """The rules' new view of a stored alert (worst value, last time, ongoing).

    One UPDATE by id, without loading the row and without counting a version:
    the version counts handling changes only (see :class:`AlertRecord`).
    """
    values = {k: v for k, v in _alert_values(alert).items() if k != "sources"}
    ctx.db.execute(
        update(AlertRecord)
        .where(AlertRecord.id == alert_id)
        .values(**values, updated_at=now)
        .execution_options(synchronize_session="evaluate")
    )


def _insert_alert(
    ctx: Ctx, session: TherapySession, alert: rules.Alert, now: datetime
) -> AlertRecord:
    """Store a newly raised alert, with its audit row."""
    row = AlertRecord(
        session_id=session.id, patient_id=session.patient_id, rule_id=alert.rule_id,
        status=OPEN, protocol_id=session.protocol_id, protocol_version=session.protocol_version,
        stored_at=now, updated_at=now, **_alert_values(alert),
    )  # fmt: skip
    ctx.db.add(row)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="alert.raise", entity_type="monitoring_alert", entity_id=row.id,
        entity_version=row.version, patient_id=session.patient_id,
        after={"rule_id": row.rule_id, "severity": row.severity, "message": row.message,
               "protocol": f"{session.protocol_id} {session.protocol_version}"},
    )  # fmt: skip
    return row


def _store_continued(
    ctx: Ctx,
    session: TherapySession,
    before: rules.AlertTracker,
    advanced: rules.AlertAdvance,
    ids: dict[str, int],
    now: datetime,
) -> list[AlertRecord]:
    """Store what the new readings did, knowing which stored alert each open run is."""
    onsets = before.raised_onsets()
    raised: list[AlertRecord] = []
    for alert in advanced.alerts:
        if onsets.get(alert.rule_id) == alert.onset_at and alert.rule_id in ids:
            _update_alert(ctx, ids[alert.rule_id], alert, now)
            continue
        stored = None
        if before.last_at is not None and alert.onset_at <= before.last_at:
            # A run starting on a reading at the very time of the latest one seen
            # (a resent reading): it may be stored already.
            stored = ctx.db.scalars(
                select(AlertRecord.id).where(
                    AlertRecord.session_id == session.id, AlertRecord.rule_id == alert.rule_id,
                    AlertRecord.onset_at == alert.onset_at,
                ).order_by(AlertRecord.id.desc())
            ).first()  # fmt: skip
        if stored is not None:
            _update_alert(ctx, stored, alert, now)
            ids[alert.rule_id] = stored
            continue
        row = _insert_alert(ctx, session, alert, now)
        ids[alert.rule_id] = row.id
        raised.append(row)
    return raised


def _evaluate_window(
    ctx: Ctx,
    session: TherapySession,
    base: rules.Baseline,
    params: rules.AlertParameters,
    new_from: datetime | None,
    fresh: tuple[list[rules.Observation], int, int] | None,
    now: datetime,
    open_onsets: Sequence[datetime] = (),
) -> tuple[rules.AlertAdvance, dict[str, int], list[AlertRecord]]:
    """Evaluate the stored series (from a window before ``new_from``); match the stored alerts."""
    stored = list(alerts_of(ctx=ctx, session_id=session.id))
    since = None
    if new_from is not None:
        margin = max(params.spo2_sustain_s, params.heart_rate_sustain_s) + 60.0
        since = min([as_utc(new_from) - timedelta(seconds=margin), *open_onsets])
        for s in stored:
            if as_utc(s.last_at) >= since or s.ongoing:
                since = min(since, as_utc(s.onset_at))
    if fresh is None:
        series = _pure_observations(ctx, session.id, since)
    else:
        series = _pure_observations(ctx, session.id, since, skip_ids=(fresh[1], fresh[2]))
        series += fresh[0]
    advanced = rules.advance(rules.AlertTracker(), series, base, params)
    raised: list[AlertRecord] = []
    ids: dict[str, int] = {}
    for alert in advanced.alerts:
        row = next(
            (s for s in stored if s.rule_id == alert.rule_id
             and as_utc(s.onset_at) <= alert.last_at and as_utc(s.last_at) >= alert.onset_at),
            None,
        )  # fmt: skip
        if row is None:
            row = _insert_alert(ctx, session, alert, now)
            stored.append(row)
            raised.append(row)
        elif any(
            _differs(getattr(row, k), v) for k, v in _alert_values(alert).items() if k != "sources"
        ):
            _update_alert(ctx, row.id, alert, now)
        if alert.ongoing:
            ids[alert.rule_id] = row.id
    return advanced, ids, raised


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return as_utc(old) != as_utc(new)
    return bool(old != new)


def _alert(ctx: Ctx, alert_id: int) -> AlertRecord:
    """An alert at the user's site.

    The version the client sent is not compared: the rules update an ongoing
    alert with every new reading (worst value, last time), which must not make
    the nurse's acknowledge form stale. What matters is the handling status,
    checked by the callers; two people handling it in the same instant still
    collide on the row's version (a 409 race message).
    """
    row = ctx.db.get(AlertRecord, alert_id)
    if row is None:
        raise NotFound("No such alert.")
    patients.load_visible(ctx, row.patient_id)
    return row


def acknowledge_alert(*, ctx: Ctx, alert_id: int, data: AlertAckIn) -> AlertRecord:
    """A named staff member acknowledges an open alert (they have seen it and are acting)."""
    authorize(ctx=ctx, action=Action.ALERT_HANDLE)
    row = _alert(ctx, alert_id)
    if row.status != OPEN:
        raise RuleViolation(f"This alert is already {row.status} by {row.acknowledged_by}.")
    now = ctx.clock.now()
    row.status, row.acknowledged_at = ACKNOWLEDGED, now
    row.acknowledged_by_id, row.acknowledged_by = ctx.actor.user_id, _who(ctx)
    row.acknowledge_note = (data.note or "").strip() or None
    row.updated_at = now
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="alert.acknowledge", entity_type="monitoring_alert", entity_id=row.id,
        entity_version=row.version, patient_id=row.patient_id, before={"status": OPEN},
        after={"status": ACKNOWLEDGED}, reason=row.acknowledge_note,
    )  # fmt: skip
    push.announce(ctx, row.session_id)
    return row


def resolve_alert(*, ctx: Ctx, alert_id: int, data: AlertResolveIn) -> AlertRecord:
    """A named staff member resolves an alert, saying what was done (acknowledging it if open)."""
    authorize(ctx=ctx, action=Action.ALERT_HANDLE)
    row = _alert(ctx, alert_id)
    if row.status == RESOLVED:
        raise RuleViolation(f"This alert was already resolved by {row.resolved_by}.")
    now, who, before = ctx.clock.now(), _who(ctx), row.status
    if row.status == OPEN:
        row.acknowledged_at, row.acknowledged_by_id, row.acknowledged_by = (
            now,
            ctx.actor.user_id,
            who,
        )
    row.status, row.resolved_at = RESOLVED, now
    row.resolved_by_id, row.resolved_by = ctx.actor.user_id, who
    row.resolution_note = data.note.strip()
    row.updated_at = now
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="alert.resolve", entity_type="monitoring_alert", entity_id=row.id,
        entity_version=row.version, patient_id=row.patient_id, before={"status": before},
        after={"status": RESOLVED}, reason=row.resolution_note,
    )  # fmt: skip
    push.announce(ctx, row.session_id)
    return row


def open_alerts(*, ctx: Ctx) -> Sequence[AlertRecord]:
    """Alerts not yet resolved at the user's site, most severe and newest first (clinic view)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    stmt = (
        select(AlertRecord)
        .join(Patient, Patient.id == AlertRecord.patient_id)
        .where(AlertRecord.status != RESOLVED)
        .order_by(AlertRecord.severity.desc(), AlertRecord.raised_at.desc())
    )
    if ctx.actor.site_id is not None:
        stmt = stmt.where(Patient.site_id == ctx.actor.site_id)
    return ctx.db.scalars(stmt).all()


# --- adverse events ----------------------------------------------------------------------


def _pure_event(data: AdverseEventIn, now: datetime) -> rules.AdverseEvent:
    onset = now if data.onset_at is None else as_utc(data.onset_at)
    try:
        return rules.AdverseEvent(
            term=data.term, grade=data.grade, onset_at=onset,
            causality=data.causality, end_at=None if data.end_at is None else as_utc(data.end_at),
            other_text=data.other_text, seriousness=frozenset(data.seriousness),
            expected=data.expected,
            aware_at=None if data.aware_at is None else as_utc(data.aware_at),
            action=data.action, outcome=data.outcome, resolved=data.resolved,
        )  # fmt: skip
    except ValueError as exc:
        text = str(exc)
        field = "grade" if "Grade" in text else "other_text" if "Other" in text else "end_at"
        if "aware" in text:
            field = "aware_at"
        elif "onset_at must" in text:
            field = "onset_at"
        raise InvalidInput(text, field=field) from exc


def _stored_event(row: AdverseEventRecord) -> rules.AdverseEvent:
    return rules.AdverseEvent(
        term=rules.CtcaeTerm(row.term), grade=row.grade, onset_at=as_utc(row.onset_at),
        causality=rules.Causality(row.causality),
        end_at=None if row.end_at is None else as_utc(row.end_at), other_text=row.other_text,
        seriousness=frozenset(rules.SeriousnessCriterion(s) for s in row.seriousness),
        expected=row.expected, aware_at=None if row.aware_at is None else as_utc(row.aware_at),
        action=rules.Action(row.action_taken), outcome=rules.Outcome(row.outcome),
        resolved=row.resolved,
    )  # fmt: skip


def _fill_event(row: AdverseEventRecord, data: AdverseEventIn, event: rules.AdverseEvent) -> None:
    row.term, row.other_text = data.term.value, (data.other_text or "").strip() or None
    row.grade, row.description = data.grade, data.description
    row.onset_at, row.end_at, row.aware_at = event.onset_at, event.end_at, event.aware_at
    row.seriousness = sorted(s.value for s in data.seriousness)
    row.serious, row.expected = event.serious, data.expected
    row.causality, row.action_taken = data.causality.value, data.action.value
    row.outcome, row.resolved = data.outcome.value, data.resolved
    deadline = rules.reporting_deadline(event)
    row.report_days = None if deadline is None else deadline.days
    row.report_due_at = None if deadline is None else deadline.due_at
    row.report_basis = None if deadline is None else deadline.basis
    row.expedited_report = None if deadline is None else deadline.expedited_ind_report


def _event_snapshot(row: AdverseEventRecord) -> dict[str, Any]:
    names = ("term", "other_text", "grade", "onset_at", "end_at", "seriousness", "serious",
             "expected", "aware_at", "causality", "action_taken", "outcome", "resolved",
             "report_days", "report_due_at", "reported_at", "report_reference")  # fmt: skip
    return {n: getattr(row, n) for n in names}


def record_adverse_event(
    *, ctx: Ctx, settings: Settings, session_id: int, data: AdverseEventIn
) -> AdverseEventRecord:
    """Record an adverse event graded with CTCAE v5.0; serious ones get a reporting deadline."""
    authorize(ctx=ctx, action=Action.ADVERSE_EVENT_RECORD)
    session, _ = _session(ctx, session_id)
    event = _pure_event(data, ctx.clock.now())
    if data.alert_id is not None:
        alert = ctx.db.get(AlertRecord, data.alert_id)
        if alert is None or alert.session_id != session.id:
            raise InvalidInput("That alert does not belong to this session.", field="alert_id")
    now, who = ctx.clock.now(), _who(ctx)
    row = AdverseEventRecord(
        session_id=session.id, patient_id=session.patient_id, enrolment_id=session.enrolment_id,
        alert_id=data.alert_id, ctcae_version=rules.CTCAE_VERSION,
        nebulization_start_at=timeline(ctx=ctx, session_id=session.id).nebulization_start_at,
        created_at=now, created_by=who, updated_at=now, updated_by=who,
    )  # fmt: skip
    _fill_event(row, data, event)
    ctx.db.add(row)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="adverse_event.record", entity_type="adverse_event", entity_id=row.id,
        entity_version=row.version, patient_id=row.patient_id, after=_event_snapshot(row),
    )  # fmt: skip
    apply_stopping_rules(ctx=ctx, settings=settings, session=session)
    return row


def _event(ctx: Ctx, event_id: int, version: int) -> AdverseEventRecord:
    row = ctx.db.get(AdverseEventRecord, event_id)
    if row is None:
        raise NotFound("No such adverse event.")
    patients.load_visible(ctx, row.patient_id)
    if row.version != version:
        raise StaleEdit(
            record="adverse event", changed_by=row.updated_by, changed_at=row.updated_at,
            version=row.version,
        )  # fmt: skip
    return row


def update_adverse_event(
    *, ctx: Ctx, settings: Settings, event_id: int, data: AdverseEventUpdate
) -> AdverseEventRecord:
    """Regrade, end or follow up an event (reason required; the audit row keeps both versions)."""
    authorize(ctx=ctx, action=Action.ADVERSE_EVENT_RECORD)
    row = _event(ctx, event_id, data.version)
    event = _pure_event(data, ctx.clock.now())
    before = _event_snapshot(row)
    _fill_event(row, data, event)
    row.updated_at, row.updated_by = ctx.clock.now(), _who(ctx)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="adverse_event.update", entity_type="adverse_event", entity_id=row.id,
        entity_version=row.version, patient_id=row.patient_id, before=before,
        after=_event_snapshot(row), reason=data.reason.strip(),
    )  # fmt: skip
    session, _ = _session(ctx, row.session_id)
    apply_stopping_rules(ctx=ctx, settings=settings, session=session)
    return row


def report_adverse_event(
    *, ctx: Ctx, event_id: int, data: AdverseEventReportIn
) -> AdverseEventRecord:
    """Record that a serious event was reported (when, and the report's reference)."""
    authorize(ctx=ctx, action=Action.ADVERSE_EVENT_REPORT)
    row = _event(ctx, event_id, data.version)
    if row.reported_at is not None:
        raise RuleViolation(f"This event was already reported by {row.reported_by}.")
    now = ctx.clock.now()
    reported_at = now if data.reported_at is None else as_utc(data.reported_at)
    if reported_at > now:
        raise InvalidInput("The report time is in the future.", field="reported_at")
    row.reported_at, row.reported_by_id, row.reported_by = reported_at, ctx.actor.user_id, _who(ctx)
    row.report_reference = data.reference.strip()
    row.updated_at, row.updated_by = now, _who(ctx)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="adverse_event.report", entity_type="adverse_event", entity_id=row.id,
        entity_version=row.version, patient_id=row.patient_id,
        after={"reported_at": reported_at, "reference": row.report_reference,
               "due_at": row.report_due_at},
    )  # fmt: skip
    return row


def events_of(*, ctx: Ctx, session_id: int) -> Sequence[AdverseEventRecord]:
    """The adverse events recorded in a session, by onset."""
    return ctx.db.scalars(
        select(AdverseEventRecord)
        .where(AdverseEventRecord.session_id == session_id)
        .order_by(AdverseEventRecord.onset_at, AdverseEventRecord.id)
    ).all()


def event_view(row: AdverseEventRecord, now: datetime) -> dict[str, Any]:
    """An event as the API and the page show it: offsets from nebulization start, deadline."""
    start = None if row.nebulization_start_at is None else as_utc(row.nebulization_start_at)

    def offset(at: datetime | None) -> float | None:
        return None if at is None or start is None else (as_utc(at) - start).total_seconds() / 60

    definition = rules.TERMS[rules.CtcaeTerm(row.term)]
    due = None if row.report_due_at is None else as_utc(row.report_due_at)
    return {
        "id": row.id, "session_id": row.session_id, "patient_id": row.patient_id,
        "alert_id": row.alert_id, "ctcae_version": row.ctcae_version, "term": row.term,
        "term_label": definition.label, "other_text": row.other_text, "grade": row.grade,
        "grade_text": definition.grades.get(row.grade, ""), "description": row.description,
        "onset_at": row.onset_at, "end_at": row.end_at, "nebulization_start_at": start,
        "onset_offset_min": offset(row.onset_at), "end_offset_min": offset(row.end_at),
        "seriousness": list(row.seriousness), "serious": row.serious, "expected": row.expected,
        "aware_at": row.aware_at, "causality": row.causality, "action": row.action_taken,
        "outcome": row.outcome, "resolved": row.resolved, "report_days": row.report_days,
        "report_due_at": row.report_due_at, "report_basis": row.report_basis,
        "report_overdue": due is not None and row.reported_at is None and now > due,
        "reported_at": row.reported_at, "reported_by": row.reported_by,
        "report_reference": row.report_reference, "version": row.version,
    }  # fmt: skip


# --- stopping rules, course holds and cohort pauses --------------------------------------


def _active_holds(ctx: Ctx, session: TherapySession) -> Sequence[CourseHold]:
    return ctx.db.scalars(
        select(CourseHold)
        .where(
            CourseHold.status == ACTIVE,
            or_(
                CourseHold.enrolment_id == session.enrolment_id,
                (CourseHold.scope == "cohort")
                & (CourseHold.protocol_id == session.protocol_id)
                & (CourseHold.arm_code == session.arm_code),
            ),
        )
        .order_by(CourseHold.created_at, CourseHold.id)
    ).all()


def holds_for(*, ctx: Ctx, session_id: int) -> Sequence[CourseHold]:
    """Active holds on this session's course, and active pauses of its cohort."""
    session, _ = _session(ctx, session_id)
    return _active_holds(ctx, session)


def _stopping_facts(ctx: Ctx, session: TherapySession) -> rules.StoppingFacts:
    events = ctx.db.scalars(
        select(AdverseEventRecord).where(AdverseEventRecord.enrolment_id == session.enrolment_id)
    ).all()
    obs = _pure_observations(ctx, session.id)
    saba = saba_given_at(ctx=ctx, session_id=session.id)
    fevers = []
    for other in sessions.sessions_of(ctx=ctx, patient_id=session.patient_id):
        if other.enrolment_id != session.enrolment_id:
            continue
        temps = [r.temperature_c for r in observations(ctx=ctx, session_id=other.id)
                 if r.temperature_c is not None]  # fmt: skip
        fevers.append(rules.SessionFever(str(other.id), max(temps) if temps else None))
    return rules.StoppingFacts(
        adverse_events=[_stored_event(e) for e in events],
        airway_readings=rules.airway_readings(obs, baseline(ctx=ctx, session_id=session.id)),
        saba_given_at=saba, fevers=fevers,
    )  # fmt: skip


def rescue_of(*, ctx: Ctx, session_id: int) -> Sequence[RescueMedication]:
    """The rescue medications of a session by time given (no permission check, no audit)."""
    return ctx.db.scalars(
        select(RescueMedication)
        .where(RescueMedication.session_id == session_id)
        .order_by(RescueMedication.given_at, RescueMedication.id)
    ).all()


def call_of(*, ctx: Ctx, session_id: int) -> FollowUpCall | None:
    """The session's follow-up call, if one was scheduled (no permission check, no audit)."""
    return ctx.db.scalars(select(FollowUpCall).where(FollowUpCall.session_id == session_id)).first()


def saba_given_at(*, ctx: Ctx, session_id: int) -> datetime | None:
    """When the session's first SABA was given: the stopping rule's 30-minute clock (§4.2).

    From the rescue-medication records; observations flagged ``saba_given``
    before revision 0010 (when SABA was a tick box) still count, at their time.
    """
    given = [
        (cls, as_utc(at)) for cls, at in ctx.db.execute(
            select(RescueMedication.drug_class, RescueMedication.given_at)
            .where(RescueMedication.session_id == session_id)
        )
    ]  # fmt: skip
    given += [
        ("saba", as_utc(at)) for at in ctx.db.scalars(
            select(ObservationRecord.observed_at).where(
                ObservationRecord.session_id == session_id,
                ObservationRecord.saba_given.is_(True),
            )
        )
    ]  # fmt: skip
    return first_saba_at(given)


def apply_stopping_rules(
    *, ctx: Ctx, settings: Settings, session: TherapySession
) -> rules.StoppingDecision:
    """Evaluate the protocol's stopping rules; hold the course / pause the cohort when they say so.

    One active hold per (enrolment, rule) and one active pause per (cohort, rule):
    a rule that already holds the course is not recorded twice; a lifted hold
    can be triggered again by a new event. Each new hold writes one audit row.
    """
    params = _protocol(settings, session.protocol_id).stopping_parameters()
    decision = rules.evaluate_stopping_rules(_stopping_facts(ctx, session), ctx.clock.now(), params)
    if not decision.hold_patient:
        return decision
    active = _active_holds(ctx, session)
    for reason in decision.reasons:
        _hold_once(ctx, session, "patient", reason, active)
        if reason.pause_cohort:
            _hold_once(ctx, session, "cohort", reason, active)
    return decision


def _hold_once(
    ctx: Ctx,
    session: TherapySession,
    scope: str,
    reason: rules.StopReason,
    active: Sequence[CourseHold],
) -> None:
    for h in active:
        if h.scope == scope and h.rule_id == reason.rule_id:
            if reason.dlt_candidate and not h.dlt_candidate:
                h.dlt_candidate, h.reason = True, reason.message
            return
    _new_hold(ctx, session, scope, "stopping_rule", reason.rule_id, reason.message,
              reason.dlt_candidate, reason.source)  # fmt: skip


def _new_hold(
    ctx: Ctx,
    session: TherapySession,
    scope: str,
    origin: str,
    rule_id: str | None,
    reason: str,
    dlt: bool,
    source: str | None,
) -> CourseHold:
    hold = CourseHold(
        scope=scope, patient_id=session.patient_id if scope == "patient" else None,
        enrolment_id=session.enrolment_id if scope == "patient" else None,
        session_id=session.id, protocol_id=session.protocol_id, arm_code=session.arm_code,
        origin=origin, rule_id=rule_id, reason=reason, dlt_candidate=dlt, source=source,
        status=ACTIVE, created_at=ctx.clock.now(), created_by=_who(ctx),
    )  # fmt: skip
    ctx.db.add(hold)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="course.hold" if scope == "patient" else "cohort.pause",
        entity_type="course_hold", entity_id=hold.id, entity_version=hold.version,
        patient_id=session.patient_id,
        after={"scope": scope, "origin": origin, "rule_id": rule_id, "reason": reason,
               "cohort": f"{session.protocol_id}/{session.arm_code}", "dlt_candidate": dlt},
    )  # fmt: skip
    return hold


def place_hold(*, ctx: Ctx, session_id: int, data: HoldIn) -> CourseHold:
    """A physician or coordinator holds the patient's course (or pauses the cohort) by hand."""
    authorize(ctx=ctx, action=Action.COURSE_HOLD)
    session, _ = _session(ctx, session_id)
    return _new_hold(ctx, session, data.scope, "manual", None, data.reason.strip(), False, None)


def lift_hold(*, ctx: Ctx, hold_id: int, data: HoldLiftIn) -> CourseHold:
    """Lift a hold or pause with a reason (e.g. the DMC review is complete)."""
    authorize(ctx=ctx, action=Action.COURSE_HOLD)
    hold = ctx.db.get(CourseHold, hold_id)
    if hold is None:
        raise NotFound("No such hold.")
    if hold.patient_id is not None:
        patients.load_visible(ctx, hold.patient_id)
    if hold.version != data.version:
        raise StaleEdit(
            record="hold", changed_by=hold.lifted_by or hold.created_by,
            changed_at=hold.lifted_at or hold.created_at, version=hold.version,
        )  # fmt: skip
    if hold.status != ACTIVE:
        raise RuleViolation(f"This hold was already lifted by {hold.lifted_by}.")
    hold.status, hold.lifted_at = LIFTED, ctx.clock.now()
    hold.lifted_by_id, hold.lifted_by = ctx.actor.user_id, _who(ctx)
    hold.lift_reason = data.reason.strip()
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="course.lift", entity_type="course_hold", entity_id=hold.id,
        entity_version=hold.version, patient_id=hold.patient_id, before={"status": ACTIVE},
        after={"status": LIFTED}, reason=hold.lift_reason,
    )  # fmt: skip
    return hold


# --- schedule and discharge --------------------------------------------------------------


def _first_session(
    ctx: Ctx, session: TherapySession, start: datetime | None
) -> tuple[bool, bool, bool]:
    """(first session of the course, dose level changed, lot changed) since the previous one.

    The previous session is the patient's latest earlier session of the same
    enrolment whose nebulization started. The lot is that of each session's
    verified preparation (the dose step 3 nebulized); when either lot cannot
    be read the change cannot be ruled out, so it counts as a change (the
    longer schedule is the safe side).
    """
    earlier: list[tuple[datetime, TherapySession]] = []
    for other in sessions.sessions_of(ctx=ctx, patient_id=session.patient_id):
        if other.id == session.id or other.enrolment_id != session.enrolment_id:
            continue
        t = timeline(ctx=ctx, session_id=other.id).nebulization_start_at
        if t is not None and (start is None or t < start):
            earlier.append((t, other))
    if not earlier:
        return True, False, False
    previous = max(earlier, key=lambda e: e[0])[1]
    this_dose = inhalation.verified_dose(ctx=ctx, session_id=session.id)
    previous_dose = inhalation.verified_dose(ctx=ctx, session_id=previous.id)
    lot_changed = (
        this_dose is None or previous_dose is None or this_dose.lot_id != previous_dose.lot_id
    )
    return False, previous.arm_code != session.arm_code, lot_changed


def schedule_for(
    *, ctx: Ctx, settings: Settings, session: TherapySession
) -> tuple[rules.ObservationSchedule | None, bool]:
    """The observation schedule from the end of nebulization, and whether it is a first session."""
    tl = timeline(ctx=ctx, session_id=session.id)
    first, dose_changed, lot_changed = _first_session(ctx, session, tl.nebulization_start_at)
    if tl.nebulization_end_at is None:
        return None, first
    onsets = tuple(as_utc(e.onset_at) for e in events_of(ctx=ctx, session_id=session.id)
                   if e.grade >= 2)  # fmt: skip
    context = rules.ScheduleContext(
        first_session=first, dose_changed=dose_changed, lot_changed=lot_changed,
        grade2_event_onsets=onsets,
    )  # fmt: skip
    params = _protocol(settings, session.protocol_id).schedule_parameters()
    return rules.build_schedule(tl.nebulization_end_at, context, params), first


def _alerts_item(ctx: Ctx, session_id: int) -> rules.ChecklistItem:
    pending = [a for a in alerts_of(ctx=ctx, session_id=session_id) if a.status == OPEN]
    if pending:
        names = ", ".join(a.title for a in pending)
        return rules.ChecklistItem(
            "alerts_acknowledged", "Every alert acknowledged", rules.ItemStatus.FAIL,
            f"{len(pending)} open: {names}.", "exoneb: an alert is handled by named staff",
        )  # fmt: skip
    return rules.ChecklistItem(
        "alerts_acknowledged", "Every alert acknowledged", rules.ItemStatus.PASS,
        "No open alert.", "exoneb: an alert is handled by named staff",
    )  # fmt: skip


def checklist(
    *,
    ctx: Ctx,
    settings: Settings,
    session_id: int,
    attestations: rules.Attestations | None = None,
    follow_up_at: datetime | None = None,
) -> rules.DischargeChecklist:
    """The discharge checklist now, from the stored observations (plus: alerts acknowledged).

    After a first session the follow-up item passes on the call that discharge
    will schedule: at ``follow_up_at`` if staff chose a time, else the
    protocol's next-day default counted from now.
    """
    session, patient = _session(ctx, session_id)
    schedule, first = schedule_for(ctx=ctx, settings=settings, session=session)
    if schedule is None:
        return rules.DischargeChecklist((
            rules.ChecklistItem("observation_time", "Observation started", rules.ItemStatus.MISSING,
                                "Nebulization has not ended yet."),
        ))  # fmt: skip
    params = _protocol(settings, session.protocol_id).discharge_parameters()
    now = ctx.clock.now()
    result = rules.evaluate_discharge(
        baseline=baseline(ctx=ctx, session_id=session.id),
        observations=_pure_observations(ctx, session.id), schedule=schedule,
        now=now, attestations=attestations or rules.Attestations(),
        first_session=first, params=params,
        follow_up_due_at=as_utc(follow_up_at) if follow_up_at
        else call_due_at(now, params, accounts.site_time_zone(ctx=ctx, site_id=patient.site_id)),
    )  # fmt: skip
    return rules.DischargeChecklist((*result.items, _alerts_item(ctx, session.id)))


def checklist_view(c: rules.DischargeChecklist) -> dict[str, Any]:
    """The checklist as plain data (API, page, signed content)."""
    return {
        "dischargeable": c.dischargeable,
        "items": [{"item_id": i.item_id, "label": i.label, "status": i.status.value,
                   "detail": i.detail, "source": i.source} for i in c.items],
    }  # fmt: skip


def discharge(
    *, ctx: Ctx, settings: Settings, session_id: int, data: DischargeIn
) -> DischargeRecord:
    """Trained staff discharge the patient: checklist met, e-signature, session → discharged."""
    authorize(ctx=ctx, action=Action.SESSION_DISCHARGE)
    session, patient = _session(ctx, session_id)
    if session.state != State.MONITORING.value:
        raise RuleViolation(
            f"The session is {session.state}; only a monitored session is discharged."
        )
    attest = rules.Attestations(
        data.walks_unaided, data.instructions_given, data.follow_up_scheduled
    )
    now, who = ctx.clock.now(), _who(ctx)
    if data.follow_up_at is not None and as_utc(data.follow_up_at) <= now:
        raise InvalidInput("The follow-up call must be due after discharge.", field="follow_up_at")
    result = checklist(
        ctx=ctx, settings=settings, session_id=session_id, attestations=attest,
        follow_up_at=data.follow_up_at,
    )  # fmt: skip
    _, first = schedule_for(ctx=ctx, settings=settings, session=session)
    discharge_params = _protocol(settings, session.protocol_id).discharge_parameters()
    # After a first session the call is always scheduled (protocol default time unless staff
    # chose one); after a later session only when staff ask for one.
    follow_up_at = None if data.follow_up_at is None else as_utc(data.follow_up_at)
    zone = accounts.site_time_zone(ctx=ctx, site_id=patient.site_id)
    if first and follow_up_at is None:
        follow_up_at = call_due_at(now, discharge_params, zone)
    if not result.dischargeable:
        blockers = "; ".join(f"{i.label}: {i.detail}" for i in result.blockers)
        raise RuleViolation(f"Discharge is blocked until every criterion holds — {blockers}")
    view = checklist_view(result)
    params = dataclasses.asdict(discharge_params)
    record = DischargeRecord(
        session_id=session.id, patient_id=patient.id, checklist=view["items"],
        attestations={"walks_unaided": data.walks_unaided,
                      "instructions_given": data.instructions_given,
                      "follow_up_scheduled": data.follow_up_scheduled},
        first_session=first, follow_up_at=follow_up_at, contact=data.contact, note=data.note,
        parameters=params, discharged_at=now,
        discharged_by_id=ctx.actor.user_id, discharged_by=who,
    )  # fmt: skip
    signature = accounts.sign(
        ctx=ctx, settings=settings, record_type=RECORD_TYPE, record_id=session.id,
        record_version=1, content=signed_content(record), meaning=DISCHARGE_MEANING,
        password=data.password, patient_id=patient.id,
    )  # fmt: skip
    record.signature_id = signature.id
    ctx.db.add(record)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="session.discharge", entity_type="discharge_record", entity_id=record.id,
        patient_id=patient.id, after={**signed_content(record), "signature_id": signature.id},
    )  # fmt: skip
    sessions.move(ctx=ctx, session_id=session.id, target=State.DISCHARGED, version=session.version,
                  reason="discharge criteria met; signed")  # fmt: skip
    if follow_up_at is not None:
        _schedule_follow_up(ctx, session, follow_up_at, discharge_params, first, zone.key)
    return record


def _schedule_follow_up(
    ctx: Ctx,
    session: TherapySession,
    due_at: datetime,
    params: rules.DischargeParameters,
    first: bool,
    time_zone: str,
) -> FollowUpCall:
    """Schedule the telephone follow-up: always after a first session (clinical.md §4.4)."""
    now, who = ctx.clock.now(), _who(ctx)
    sources = rules.sources_of(params)
    keep = [name for name in sources if name.startswith("follow_up_")]
    call = FollowUpCall(
        session_id=session.id, patient_id=session.patient_id,
        reason="Next-day telephone follow-up after a first session (clinical.md §4.4)."
        if first else "Follow-up call requested at discharge.",
        first_due_at=due_at, due_at=due_at, status="open", attempts=0,
        parameters={**{k: {"value": getattr(params, k), "source": sources[k]} for k in keep},
                    "time_zone": time_zone},
        scheduled_at=now, scheduled_by=who,
    )  # fmt: skip
    ctx.db.add(call)
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="follow_up.schedule", entity_type="monitoring_follow_up_call",
        entity_id=call.id, entity_version=call.version, patient_id=session.patient_id,
        after={"session_id": session.id, "due_at": due_at.isoformat(), "reason": call.reason},
    )  # fmt: skip
    return call


def signed_content(record: DischargeRecord) -> dict[str, Any]:
    """What the discharge signature covers."""
    return {
        "session_id": record.session_id, "patient_id": record.patient_id,
        "checklist": record.checklist, "attestations": record.attestations,
        "first_session": record.first_session,
        "follow_up_at": None if record.follow_up_at is None
        else as_utc(record.follow_up_at).isoformat(),
        "contact": record.contact, "note": record.note,
    }  # fmt: skip


def discharge_record(*, ctx: Ctx, session_id: int) -> DischargeRecord | None:
    """The session's signed discharge, if any (no permission check, no audit)."""
    return ctx.db.scalars(
        select(DischargeRecord).where(DischargeRecord.session_id == session_id)
    ).first()


# --- reads for the page and the live chart -----------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class MonitoringPage:
    """Everything the monitoring page shows, gathered in one transaction."""

    session: TherapySession
    patient_name: str
    patient_mrn: str
    timeline: Timeline
    baseline: rules.Baseline
    first_session: bool
    schedule: rules.ObservationSchedule | None
    slots: tuple[rules.SlotStatus, ...]
    observations: Sequence[ObservationRecord]
    alerts: Sequence[AlertRecord]
    events: list[dict[str, Any]]
    holds: Sequence[CourseHold]
    checklist: rules.DischargeChecklist
    discharge: DischargeRecord | None
    stopping: rules.StoppingDecision
    not_evaluated: tuple[tuple[str, str], ...]
    rescue: Sequence[RescueMedication] = ()
    follow_up: FollowUpCall | None = None


def page(*, ctx: Ctx, settings: Settings, session_id: int) -> MonitoringPage:
    """The monitoring page of a session (opening it is an audited read)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session, patient = _session(ctx, session_id)
    audit.record(ctx=ctx, action="monitoring.read", entity_type="therapy_session",
                 entity_id=session.id, patient_id=patient.id)  # fmt: skip
    schedule, first = schedule_for(ctx=ctx, settings=settings, session=session)
    pure = _pure_observations(ctx, session.id)
    now = ctx.clock.now()
    base = baseline(ctx=ctx, session_id=session.id)
    protocol = _protocol(settings, session.protocol_id)
    evaluation = rules.evaluate_alerts((), base, protocol.alert_parameters())
    return MonitoringPage(
        session=session, patient_name=f"{patient.given_name} {patient.family_name}",
        patient_mrn=patient.mrn, timeline=timeline(ctx=ctx, session_id=session.id),
        baseline=base, first_session=first, schedule=schedule,
        slots=() if schedule is None else rules.schedule_status(schedule, pure, now),
        observations=observations(ctx=ctx, session_id=session.id),
        alerts=alerts_of(ctx=ctx, session_id=session.id),
        events=[event_view(e, now) for e in events_of(ctx=ctx, session_id=session.id)],
        holds=_active_holds(ctx, session),
        checklist=checklist(ctx=ctx, settings=settings, session_id=session.id),
        discharge=discharge_record(ctx=ctx, session_id=session.id),
        stopping=rules.evaluate_stopping_rules(
            _stopping_facts(ctx, session), now, protocol.stopping_parameters()
        ),
        not_evaluated=evaluation.not_evaluated,
        rescue=rescue_of(ctx=ctx, session_id=session.id),
        follow_up=call_of(ctx=ctx, session_id=session.id),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class LiveUpdate:
    """New observations after ``after_id`` and alerts changed after ``since`` (for the chart)."""

    observations: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    last_id: int
    since: datetime | None
    baseline: dict[str, float | None]


def live(
    *,
    ctx: Ctx,
    session_id: int,
    after_id: int,
    since: datetime | None,
    with_baseline: bool = False,
) -> LiveUpdate:
    """What changed in a session since the chart last asked (a re-read: not audited again)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session = _observed_session(ctx, session_id)
    # Plain columns, not ORM objects: every open chart re-reads with every reading.
    rows = ctx.db.execute(
        select(*_LIVE_OBSERVATION)
        .where(ObservationRecord.session_id == session.id, ObservationRecord.id > after_id)
        .order_by(ObservationRecord.id)
        .limit(2000)
    ).all()
    stmt = select(*_LIVE_ALERT).where(AlertRecord.session_id == session.id)
    if since is not None:
        stmt = stmt.where(AlertRecord.updated_at > since)
    alerts = ctx.db.execute(stmt.order_by(AlertRecord.updated_at)).all()
    newest = max((as_utc(a.updated_at) for a in alerts), default=since)
    return LiveUpdate(
        observations=[
            {"id": r.id, "at": as_utc(r.observed_at).isoformat(), "spo2_pct": r.spo2_pct,
             "heart_rate_per_min": r.heart_rate_per_min, "fev1_l": r.fev1_l}
            for r in rows
        ],
        alerts=[
            {"id": a.id, "rule_id": a.rule_id, "title": a.title, "severity": a.severity,
             "status": a.status, "ongoing": a.ongoing, "message": a.message,
             "raised_at": as_utc(a.raised_at).isoformat(),
             "acknowledged_by": a.acknowledged_by, "resolved_by": a.resolved_by}
            for a in alerts
        ],
        last_id=rows[-1].id if rows else after_id,
        since=newest,
        baseline=_chart_baseline(ctx, session.id) if with_baseline else {},
    )  # fmt: skip


_LIVE_OBSERVATION = tuple(
    getattr(ObservationRecord, c)
    for c in ("id", "observed_at", "spo2_pct", "heart_rate_per_min", "fev1_l")
)
_LIVE_ALERT = tuple(
    getattr(AlertRecord, c)
    for c in ("id", "rule_id", "title", "severity", "status", "ongoing", "message", "raised_at",
              "updated_at", "acknowledged_by", "resolved_by")
)  # fmt: skip


def _chart_baseline(ctx: Ctx, session_id: int) -> dict[str, float | None]:
    b = baseline(ctx=ctx, session_id=session_id)
    return {"spo2_pct": b.spo2_pct, "heart_rate_per_min": b.heart_rate_per_min, "fev1_l": b.fev1_l}


def live_alerts(*, ctx: Ctx, session_id: int) -> Sequence[AlertRecord]:
    """The session's alerts for a panel refresh (a re-read of an open page: not audited again)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session, _ = _session(ctx, session_id)
    return alerts_of(ctx=ctx, session_id=session.id)


def terms() -> list[dict[str, Any]]:
    """The CTCAE v5.0 terms offered, with the definition of each grade (for the AE form)."""
    return [
        {"term": d.term.value, "label": d.label, "soc": d.soc, "meddra_code": d.meddra_code,
         "grades": {str(g): text for g, text in sorted(d.grades.items())}, "note": d.note,
         "source": d.source}
        for d in rules.TERMS.values()
    ]  # fmt: skip


# --- the session state machine -----------------------------------------------------------


def monitoring_facts(ctx: Ctx, session: TherapySession) -> FactContribution:
    """Session facts: the signed discharge (monitoring step signed) and any course hold."""
    flags: dict[str, bool] = {}
    signed: frozenset[str] = frozenset()
    if session.state == State.MONITORING.value and discharge_record(ctx=ctx, session_id=session.id):
        # the record exists only once the checklist held and the discharge was signed
        signed = frozenset({"monitoring"})
    if session.state == State.VERIFIED.value and _active_holds(ctx, session):
        flags["course_on_hold"] = True
    return FactContribution(signed_steps=signed, flags=flags)


register_fact_provider(monitoring_facts)
# The hold itself is a pure session rule on the "course_on_hold" flag (sessions/rules.py),
# so it holds whatever modules happen to be imported.


# --- audited reads for the API -----------------------------------------------------------


def _read(ctx: Ctx, session_id: int, what: str) -> TherapySession:
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session, patient = _session(ctx, session_id)
    audit.record(ctx=ctx, action="monitoring.read", entity_type="therapy_session",
                 entity_id=session.id, patient_id=patient.id, after={"what": what})  # fmt: skip
    return session


def read_observations(*, ctx: Ctx, session_id: int) -> Sequence[ObservationRecord]:
    """A session's observations (an audited read of the patient record)."""
    return observations(ctx=ctx, session_id=_read(ctx, session_id, "observations").id)


def read_alerts(*, ctx: Ctx, session_id: int) -> Sequence[AlertRecord]:
    """A session's alerts, newest first (audited read)."""
    return alerts_of(ctx=ctx, session_id=_read(ctx, session_id, "alerts").id)


def read_events(*, ctx: Ctx, session_id: int) -> list[dict[str, Any]]:
    """A session's adverse events as :func:`event_view` shows them (audited read)."""
    session = _read(ctx, session_id, "adverse_events")
    now = ctx.clock.now()
    return [event_view(e, now) for e in events_of(ctx=ctx, session_id=session.id)]


def read_holds(*, ctx: Ctx, session_id: int) -> Sequence[CourseHold]:
    """Active holds on the session's course and pauses of its cohort (audited read)."""
    return _active_holds(ctx, _read(ctx, session_id, "holds"))


def read_checklist(*, ctx: Ctx, settings: Settings, session_id: int) -> dict[str, Any]:
    """The discharge checklist now, without attestations (audited read)."""
    session = _read(ctx, session_id, "discharge_checklist")
    return checklist_view(checklist(ctx=ctx, settings=settings, session_id=session.id))
