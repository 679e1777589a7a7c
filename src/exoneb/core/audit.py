"""The append-only, hash-chained audit trail (21 CFR 11.10(e) style).

Every create, change, signature, void, login, failed login, permission refusal
and export writes one :class:`AuditEvent` in the same transaction as the change
it describes, so a change without its audit row cannot be committed.

Tamper evidence has three layers:

* database triggers (created by the first migration) refuse ``UPDATE`` and
  ``DELETE`` on ``audit_event`` on SQLite and PostgreSQL;
* each row stores ``prev_hash`` (the previous row's ``row_hash``) and its own
  ``row_hash`` = SHA-256 over its canonical content, its ``seq`` and
  ``prev_hash``; :func:`verify_chain` walks the rows and names the first one
  that was edited, deleted or moved;
* no foreign key points from the audit table to data rows (nor back with a
  cascade), so removing a data row can never remove its history.

Rows are numbered by ``seq`` (1, 2, 3, …) under a lock — ``BEGIN IMMEDIATE`` on
SQLite, a transaction-scoped advisory lock on PostgreSQL — so concurrent
writers cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import Session as DbSession

from exoneb.core.context import Ctx
from exoneb.core.db import Base, UTCDateTime

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x45584F4E  # "EXON": serialises appends on PostgreSQL


class AuditEvent(Base):
    """One immutable audit row. Deliberately no foreign keys."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_patient_id", "patient_id"),
        Index("ix_audit_event_actor_username", "actor_username"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    entity_version: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


def canonical_json(value: Mapping[str, Any] | None) -> str | None:
    """Stable JSON text (sorted keys, ISO dates) so hashes are reproducible."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def compute_hash(row: AuditEvent) -> str:
    """SHA-256 over everything a row says, including its position and predecessor."""
    content = {
        "seq": row.seq,
        "occurred_at": row.occurred_at.astimezone(UTC).isoformat(),
        "actor_user_id": row.actor_user_id,
        "actor_username": row.actor_username,
        "actor_role": row.actor_role,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "entity_version": row.entity_version,
        "patient_id": row.patient_id,
        "before": row.before,
        "after": row.after,
        "reason": row.reason,
        "ip": row.ip,
        "prev_hash": row.prev_hash,
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


_LOCKED_IN = "exoneb.audit.chain_locked_in"  # DbSession.info: the transaction holding the lock


def lock_chain(db: DbSession) -> None:
    """Hold the audit chain's lock until the transaction ends (taken by every audited write).

    Writers that append to the chain are serialised from this point to their
    commit; a caller that must not run alongside another writer (the alert
    state of a session, read and rewritten with each reading) takes it
    explicitly instead of relying on having written its audit row first.
    Re-entrant within a transaction.
    """
    if db.get_bind().dialect.name == "postgresql":
        txn = db.get_transaction()
        if txn is not None and db.info.get(_LOCKED_IN) is txn:
            return  # held since earlier in this transaction: spare the round trip
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        db.info[_LOCKED_IN] = txn
    # SQLite: the transaction already began with BEGIN IMMEDIATE (see core.db).


def record(
    *,
    ctx: Ctx,
    action: str,
    entity_type: str | None = None,
    entity_id: object | None = None,
    entity_version: int | None = None,
    patient_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one audit row for ``action`` in the caller's transaction."""
    return append(
        db=ctx.db,
        occurred_at=ctx.clock.now(),
        actor_user_id=ctx.actor.user_id,
        actor_username=ctx.actor.username,
        actor_role=ctx.actor.role,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        entity_version=entity_version,
        patient_id=patient_id,
        before=canonical_json(before),
        after=canonical_json(after),
        reason=reason,
        ip=ctx.ip,
    )


def append(*, db: DbSession, **fields: Any) -> AuditEvent:
    """Lock the chain, link the new row to the last one and insert it."""
    lock_chain(db)
    last = db.execute(
        select(AuditEvent.seq, AuditEvent.row_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    row = AuditEvent(seq=seq, prev_hash=prev_hash, row_hash="", **fields)
    row.row_hash = compute_hash(row)
    db.add(row)
    db.flush()
    return row


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Result of :func:`verify_chain`: ``ok`` or the first bad row and why."""

    ok: bool
    rows_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


def _iter_rows(db: DbSession) -> Iterator[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=500)
    yield from db.scalars(stmt)


def verify_chain(db: DbSession) -> ChainReport:
    """Walk the chain in ``seq`` order and report the first edited, deleted or moved row."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for row in _iter_rows(db):
        if row.seq != expected_seq:
            return ChainReport(
                ok=False,
                rows_checked=checked,
                first_bad_seq=expected_seq,
                problem=f"row {expected_seq} is missing (deleted); next row present is {row.seq}",
            )
        if row.prev_hash != prev_hash:
            return ChainReport(
                ok=False,
                rows_checked=checked,
                first_bad_seq=row.seq,
                problem=f"row {row.seq} does not link to row {row.seq - 1} "
                "(a row before it was deleted, replaced or reordered)",
            )
        if compute_hash(row) != row.row_hash:
            return ChainReport(
                ok=False,
                rows_checked=checked,
                first_bad_seq=row.seq,
                problem=f"row {row.seq} was edited after it was written (hash mismatch)",
            )
        prev_hash, expected_seq, checked = row.row_hash, expected_seq + 1, checked + 1
    return ChainReport(ok=True, rows_checked=checked)
