"""One transaction per user action, with refusals audited even though the action rolls back.

A permission refusal must leave an audit row, yet the refused action itself
must leave nothing. :func:`action` therefore rolls the action back and writes
the refusal row in a fresh transaction before re-raising.

Races the services' own checks cannot see (two people saving the same record
in the same instant, two registrations of one MRN at once) surface from the
database as a stale-row or unique-constraint error; they become 409 conflicts
here instead of server errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from exoneb.core import audit
from exoneb.core.clock import Clock
from exoneb.core.context import Actor, Ctx
from exoneb.core.db import READ_ONLY, WRITE_WAIT_S, write_gate
from exoneb.core.errors import Busy, Conflict, DuplicateRecord, PermissionDenied

RACE_MESSAGE = (
    "Someone else saved a change to this record at the same moment. "
    "Nothing of yours was saved: reload the page and try again."
)


BUSY_MESSAGE = (
    "The database is busy and could not take this in time. Nothing was saved: "
    "try again in a moment."
)


def _unique_violation(exc: IntegrityError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code == "23505" or "UNIQUE constraint failed" in str(exc.orig)


@contextmanager
def action(
    factory: sessionmaker[DbSession],
    *,
    actor: Actor,
    clock: Clock,
    ip: str | None = None,
    read_only: bool = False,
) -> Iterator[Ctx]:
    """Run the body in one transaction; commit on success, roll back on any error.

    ``read_only``: the body only reads. On SQLite the transaction then does not
    take the write lock (it neither waits for a device's write nor holds one
    up) and any write in it fails; on PostgreSQL nothing changes.
    """
    db = factory()
    bind = db.get_bind()
    gate = None if read_only else _gate(bind)
    if gate is not None and not gate.acquire(timeout=WRITE_WAIT_S):
        db.close()
        raise Busy(BUSY_MESSAGE)
    try:
        try:
            with db.begin():
                if read_only:
                    db.connection(execution_options={READ_ONLY: True})
                yield Ctx(db=db, actor=actor, clock=clock, ip=ip)
        except PermissionDenied as exc:
            _audit_refusal(db, bind, exc, clock, ip, gate_held=gate is not None)
            raise
        except StaleDataError as exc:
            raise Conflict(RACE_MESSAGE) from exc
        except IntegrityError as exc:
            if _unique_violation(exc):
                raise DuplicateRecord(
                    "This record already exists (it was just saved by someone else). "
                    "Search for it instead of entering it again."
                ) from exc
            raise
        except OperationalError as exc:
            _raise_if_busy(exc)
            raise
    finally:
        try:
            db.close()
        finally:
            if gate is not None:
                gate.release()


def _gate(bind: object) -> threading.RLock | None:
    return write_gate(bind) if isinstance(bind, Engine) else None


def _raise_if_busy(exc: OperationalError) -> None:
    if "database is locked" in str(exc.orig):  # SQLite: another process held the lock
        raise Busy(BUSY_MESSAGE) from exc


def _audit_refusal(
    db: DbSession, bind: object, exc: PermissionDenied, clock: Clock, ip: str | None,
    *, gate_held: bool,
) -> None:  # fmt: skip
    """Write the refusal's audit row in a transaction of its own, in the write queue.

    A read-only action (a chart's re-read, the login check) holds no place in
    the queue, so it takes one for this row.
    """
    gate = None if gate_held else _gate(bind)
    if gate is not None and not gate.acquire(timeout=WRITE_WAIT_S):
        raise Busy(BUSY_MESSAGE) from exc
    try:
        with db.begin():
            audit.append(
                db=db,
                occurred_at=clock.now(),
                actor_user_id=exc.user_id,
                actor_username=exc.username,
                actor_role=exc.role,
                action="permission.denied",
                entity_type="permission",
                entity_id=exc.action,
                entity_version=None,
                patient_id=None,
                before=None,
                after=None,
                reason=exc.message,
                ip=ip,
            )
    except OperationalError as locked:
        _raise_if_busy(locked)
        raise
    finally:
        if gate is not None:
            gate.release()
