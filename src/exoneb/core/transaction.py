"""One transaction per user action, with refusals audited even though the action rolls back.

A permission refusal must leave an audit row, yet the refused action itself
must leave nothing. :func:`action` therefore rolls the action back and writes
the refusal row in a fresh transaction before re-raising.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from exoneb.core import audit
from exoneb.core.clock import Clock
from exoneb.core.context import Actor, Ctx
from exoneb.core.errors import PermissionDenied


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
    finally:
        db.close()
