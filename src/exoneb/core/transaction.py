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

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from exoneb.core import audit
from exoneb.core.clock import Clock
from exoneb.core.context import Actor, Ctx
from exoneb.core.errors import Conflict, DuplicateRecord, PermissionDenied

RACE_MESSAGE = (
    "Someone else saved a change to this record at the same moment. "
    "Nothing of yours was saved: reload the page and try again."
)


def _unique_violation(exc: IntegrityError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code == "23505" or "UNIQUE constraint failed" in str(exc.orig)


@contextmanager
def action(
    factory: sessionmaker[DbSession], *, actor: Actor, clock: Clock, ip: str | None = None
) -> Iterator[Ctx]:
    """Run the body in one transaction; commit on success, roll back on any error."""
    db = factory()
    try:
        try:
            with db.begin():
                yield Ctx(db=db, actor=actor, clock=clock, ip=ip)
        except PermissionDenied as exc:
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
    finally:
        db.close()
