"""The HL7 inbox of step 4: what the MLLP gateway does with each received message.

Bedside monitors send IHE PCD-01 ORU^R01 messages over MLLP (interop.md §3.1);
the listener (:mod:`exoneb.monitoring.gateway`, run by ``exoneb monitor-gateway``
or inside ``exoneb serve``) hands every complete frame to :func:`receive_hl7`
and every stray byte to :func:`keep_unframed`. Each runs in one transaction
(``ctx.db``) with the gateway account's permission check and audit row:

* the raw bytes are kept whatever happens (parsed or not, matched or not), with
  the problems found and the exact ACK sent, and anything not matched waits in
  the inbox for a named reviewer (:func:`review_hl7`);
* readings of a matched message are stored as ``hl7`` observations and the
  alert rules run on them in the same transaction through
  :func:`exoneb.monitoring.service.evaluate_alerts`, which also announces the
  change to the live charts at the commit (:mod:`exoneb.monitoring.push`).

Kept apart from :mod:`exoneb.monitoring.service` so the arrival path of the
monitors can be read (and profiled) on its own; the alert evaluation stays
there, shared with the manual and device-batch paths.

This is decision support for trained staff, not medical advice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Action, is_allowed
from exoneb.accounts.service import authorize
from exoneb.core import audit, bulk, transaction
from exoneb.core.clock import Clock, as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Actor, Ctx
from exoneb.core.errors import InvalidInput, NotFound, RuleViolation
from exoneb.monitoring import rules, service
from exoneb.monitoring.gateway import Handler, Keeper
from exoneb.monitoring.hl7 import ErrorCode
from exoneb.monitoring.models import Hl7Message, ObservationRecord
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession


@dataclasses.dataclass(frozen=True, slots=True)
class Hl7Result:
    """What the gateway does with one message: the stored inbox row and the ACK to send."""

    message_id: int
    ack: bytes
    ack_code: str
    match_status: str
    observations_stored: int


def _hl7_problem(
    code: ErrorCode, text: str, segment: str = "", field_no: int = 0
) -> rules.Hl7Problem:
    return rules.Hl7Problem(int(code), text, "E", segment, 1 if segment else 0, field_no)


def _match(
    ctx: Ctx, message: rules.OruR01
) -> tuple[str, TherapySession | None, Patient | None, list[rules.Hl7Problem]]:
    """Map PID-3 to a patient (MRN at the gateway user's site) and to their observed session."""
    found: dict[int, Patient] = {}
    for pid in message.patient_ids:
        stmt = select(Patient).where(Patient.mrn == pid.id, Patient.status == "active")
        if ctx.actor.site_id is not None:
            stmt = stmt.where(Patient.site_id == ctx.actor.site_id)
        for p in ctx.db.scalars(stmt):
            found[p.id] = p
    ids = ", ".join(p.id for p in message.patient_ids) or "(none)"
    if not found:
        return "unknown_patient", None, None, [
            _hl7_problem(ErrorCode.UNKNOWN_KEY, f"No patient with identifier {ids} at this site.",
                         "PID", 3)
        ]  # fmt: skip
    if len(found) > 1:
        return "ambiguous", None, None, [
            _hl7_problem(ErrorCode.UNKNOWN_KEY, f"Identifiers {ids} name more than one patient.",
                         "PID", 3)
        ]  # fmt: skip
    patient = next(iter(found.values()))
    observed = [
        s
        for s in sessions.sessions_of(ctx=ctx, patient_id=patient.id)
        if s.state in service.OBSERVING
    ]
    if len(observed) != 1:
        why = (
            "is not inhaling or being monitored"
            if not observed
            else "has several observed sessions"
        )
        return ("no_session" if not observed else "ambiguous"), None, patient, [
            _hl7_problem(ErrorCode.UNKNOWN_KEY, f"Patient {ids} {why} now.", "PID", 3)
        ]  # fmt: skip
    return "matched", observed[0], patient, []


def receive_hl7(*, ctx: Ctx, settings: Settings, raw: bytes, peer: str | None = None) -> Hl7Result:
    """Keep one received HL7 message, store its readings if it maps to a session, build the ACK.

    Never drops a message: whatever the outcome (rejected, unknown patient, no
    observed session, duplicate control id) the raw bytes, the problems and the
    exact ACK sent are stored, and anything not matched is marked for review.
    """
    authorize(ctx=ctx, action=Action.OBSERVATION_INGEST)
    now = ctx.clock.now()
    parsed = rules.parse_oru_r01(raw)
    header = parsed.header
    control_id = header.control_id if header else getattr(parsed, "control_id", "")
    sender = header.sending_application if header else ""
    row = Hl7Message(
        received_at=now, peer=peer, raw=raw, control_id=control_id[:200],
        sending_application=sender[:200],
        message_type=f"{header.message_type}^{header.trigger_event}" if header else "",
        problems=[], patient_identifiers=[], ack_code="", ack_control_id="", ack_raw=b"",
        parse_status="parsed", match_status="not_applicable", review_status="none",
        received_by=service._who(ctx), site_id=_gateway_site(ctx),
    )  # fmt: skip
    extra: list[rules.Hl7Problem] = []
    code: rules.AckCode | None = None
    fresh: list[rules.Observation] = []  # the readings stored, as the alert rules see them
    ids: list[int] = []
    session: TherapySession | None = None
    if isinstance(parsed, rules.Hl7Rejection):
        row.parse_status, row.review_status = "rejected", "pending"
    else:
        row.patient_identifiers = [dataclasses.asdict(p) for p in parsed.patient_ids]
        duplicate = ctx.db.scalars(
            select(Hl7Message.id).where(
                Hl7Message.sending_application == row.sending_application,
                Hl7Message.control_id == row.control_id, Hl7Message.match_status == "matched",
            ).limit(1)
        ).first()  # fmt: skip
        if duplicate is not None and row.control_id:
            # Already stored: accept again (a sender retries when an ACK is lost); store nothing.
            row.match_status, code = "duplicate", rules.AckCode.AA
        else:
            row.match_status, session, patient, extra = _match(ctx, parsed)
            if patient is not None:
                row.patient_id = patient.id
            if session is not None:
                row.session_id = session.id
            if row.match_status != "matched":
                row.review_status = "pending"
    ctx.db.add(row)
    ctx.db.flush()
    if session is not None and isinstance(parsed, rules.OruR01):
        try:
            readings = rules.to_observations(parsed)
        except ValueError as exc:
            readings = ()
            extra.append(_hl7_problem(ErrorCode.DATA_TYPE, f"Reading refused: {exc}", "OBX"))
        fresh = [_pure(o) for o in readings]
        ids = _store_readings(ctx, session, row.id, _equipment(parsed), fresh, now)
        row.observations_stored = len(ids)
        if parsed.ack_code is not rules.AckCode.AA or extra:
            row.review_status = "pending"
    ack_id = f"EXONEB{row.id:010d}"
    ack = rules.build_ack(parsed, now=now, control_id=ack_id, code=code, extra_problems=extra)
    row.ack_raw, row.ack_control_id = ack, ack_id
    row.ack_code = _ack_code(ack)
    row.problems = [dataclasses.asdict(p) for p in (*parsed.problems, *extra)]
    ctx.db.flush()
    audit.record(
        ctx=ctx, action="hl7.receive", entity_type="monitoring_hl7_message", entity_id=row.id,
        patient_id=row.patient_id,
        after={"control_id": row.control_id, "parse": row.parse_status, "match": row.match_status,
               "ack": row.ack_code, "observations": len(ids), "session_id": row.session_id},
    )  # fmt: skip
    if session is not None and ids:
        service.evaluate_alerts(
            ctx=ctx, settings=settings, session=session, new_from=min(o.at for o in fresh),
            fresh=(fresh, min(ids), max(ids)),
        )  # fmt: skip
    return Hl7Result(row.id, ack, row.ack_code, row.match_status, len(ids))


def _pure(reading: rules.Observation) -> rules.Observation:
    """A reading as the alert rules read it back from the table: UTC time, device source."""
    at = as_utc(reading.at)
    if at is reading.at and reading.source is rules.ObservationSource.DEVICE:
        return reading
    return dataclasses.replace(reading, at=at, source=rules.ObservationSource.DEVICE)


def _store_readings(
    ctx: Ctx,
    session: TherapySession,
    message_id: int,
    device_id: str | None,
    readings: Sequence[rules.Observation],
    now: datetime,
) -> list[int]:
    """Store a message's readings in one set-based insert; their ids, in order.

    The same columns and values the device batch stores (``service._BATCH_COLUMNS``,
    :func:`exoneb.core.bulk.insert_rows`) with source ``hl7`` and the inbox row's
    id: one statement per message instead of an ORM object per reading.
    """
    head = (session.id, session.patient_id)
    tail = (False, None, now, ctx.actor.user_id, service._who(ctx))
    rows = [
        (*head, o.at, "hl7", device_id, message_id, *service._READINGS(o), *tail) for o in readings
    ]
    return bulk.insert_rows(ctx.db, ObservationRecord, service._BATCH_COLUMNS, rows)


def _equipment(message: rules.OruR01) -> str | None:
    ids = {r.equipment_id for r in message.readings if r.equipment_id}
    return sorted(ids)[0][:100] if ids else None


def _ack_code(ack: bytes) -> str:
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA|"):
            return segment.split(b"|")[1].decode("ascii")
    return ""


def _gateway_site(ctx: Ctx) -> int:
    """The site a received message belongs to: the gateway account's (every account has one)."""
    if ctx.actor.site_id is None:
        raise RuleViolation(
            "The gateway must run as a staff account of a site (exoneb monitor-gateway --user)."
        )
    return ctx.actor.site_id


def hl7_inbox(*, ctx: Ctx, pending_only: bool = True, limit: int = 100) -> Sequence[Hl7Message]:
    """Received HL7 messages of the user's site, newest first (by default those to review)."""
    authorize(ctx=ctx, action=Action.OBSERVATION_INGEST)
    stmt = select(Hl7Message).order_by(Hl7Message.received_at.desc(), Hl7Message.id.desc())
    if ctx.actor.site_id is not None:
        stmt = stmt.where(Hl7Message.site_id == ctx.actor.site_id)
    if pending_only:
        stmt = stmt.where(Hl7Message.review_status == "pending")
    return ctx.db.scalars(stmt.limit(limit)).all()


def hl7_view(row: Hl7Message) -> dict[str, Any]:
    """An inbox row for the reviewer: the raw message and the ACK as text (CR → newline)."""

    def text(raw: bytes) -> str:
        return raw.decode("utf-8", errors="replace").replace("\r", "\n")

    names = ("id", "received_at", "peer", "control_id", "sending_application", "message_type",
             "parse_status", "match_status", "problems", "patient_identifiers", "session_id",
             "observations_stored", "ack_code", "review_status", "reviewed_by",
             "review_note")  # fmt: skip
    return {n: getattr(row, n) for n in names} | {
        "raw_text": text(row.raw),
        "ack_text": text(row.ack_raw),
    }


def keep_unframed(*, ctx: Ctx, data: bytes, reason: str, peer: str | None = None) -> int:
    """Keep bytes that arrived outside an MLLP frame for review (no ACK can answer them)."""
    authorize(ctx=ctx, action=Action.OBSERVATION_INGEST)
    row = Hl7Message(
        received_at=ctx.clock.now(), peer=peer, raw=data, control_id="", sending_application="",
        message_type="", parse_status="unframed", match_status="not_applicable",
        problems=[{"code": int(ErrorCode.SEGMENT_SEQUENCE), "text": reason, "severity": "E"}],
        patient_identifiers=[], ack_code="", ack_control_id="", ack_raw=b"",
        review_status="pending", received_by=service._who(ctx), site_id=_gateway_site(ctx),
    )  # fmt: skip
    ctx.db.add(row)
    ctx.db.flush()
    audit.record(ctx=ctx, action="hl7.unframed", entity_type="monitoring_hl7_message",
                 entity_id=row.id, after={"bytes": len(data), "reason": reason})  # fmt: skip
    return row.id


def review_hl7(*, ctx: Ctx, message_id: int, note: str) -> Hl7Message:
    """A named staff member marks a kept HL7 message as reviewed, saying what was done."""
    authorize(ctx=ctx, action=Action.OBSERVATION_INGEST)
    row = ctx.db.get(Hl7Message, message_id)
    if row is None or (ctx.actor.site_id is not None and row.site_id != ctx.actor.site_id):
        raise NotFound("No such HL7 message.")
    if row.patient_id is not None:
        patients.load_visible(ctx, row.patient_id)
    if row.review_status != "pending":
        raise RuleViolation(f"This message does not wait for review ({row.review_status}).")
    if not note.strip():
        raise InvalidInput("Say what was done with the message.", field="note")
    row.review_status, row.reviewed_at = "reviewed", ctx.clock.now()
    row.reviewed_by_id, row.reviewed_by = ctx.actor.user_id, service._who(ctx)
    row.review_note = note.strip()
    ctx.db.flush()
    audit.record(ctx=ctx, action="hl7.review", entity_type="monitoring_hl7_message",
                 entity_id=row.id, patient_id=row.patient_id, before={"review_status": "pending"},
                 after={"review_status": "reviewed"}, reason=row.review_note)  # fmt: skip
    return row


# --- the gateway's account and its per-message transactions ------------------------------


def gateway_actor(*, ctx: Ctx, username: str) -> Actor:
    """The account a gateway acts as (``monitor-gateway --user``, ``EXONEB_HL7_USER``).

    An active staff account of a site that may ingest observations: every
    message it receives is audited under that name, and its site decides which
    patients the messages can reach. Checked once, when the gateway starts.
    """
    account = accounts.get_user_by_username(ctx=ctx, username=username)
    if account is None or not account.active:
        raise InvalidInput(f"no active user {username!r}", field="user")
    if not is_allowed(account.role, Action.OBSERVATION_INGEST):
        raise InvalidInput(
            f"{username!r} ({account.role}) may not ingest observations", field="user"
        )
    if account.site_id is None:
        raise InvalidInput(f"{username!r} belongs to no site", field="user")
    return accounts.actor_for(account)


def gateway_handlers(
    factory: sessionmaker[DbSession], settings: Settings, actor: Actor, clock: Clock
) -> tuple[Handler, Keeper]:
    """The gateway's handler and keeper: one transaction per message (or stray bytes), as ``actor``.

    Both are synchronous: the listener runs them in a worker thread.
    """

    def handle(raw: bytes, peer: str) -> bytes:
        with transaction.action(factory, actor=actor, clock=clock, ip=peer) as ctx:
            return receive_hl7(ctx=ctx, settings=settings, raw=raw, peer=peer).ack

    def keep(data: bytes, reason: str, peer: str) -> None:
        with transaction.action(factory, actor=actor, clock=clock, ip=peer) as ctx:
            keep_unframed(ctx=ctx, data=data, reason=reason, peer=peer)

    return handle, keep
