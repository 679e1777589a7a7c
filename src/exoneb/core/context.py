"""What every service function receives: the transaction, who acts, and the clock.

Services take ``ctx`` as a keyword-only argument (``create_patient(ctx=…, data=…)``)
so that the same function serves the JSON API, the pages, the CLI and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session as DbSession

from exoneb.core.clock import Clock


@dataclass(frozen=True, slots=True)
class Actor:
    """The logged-in user performing an action (``system`` for CLI maintenance)."""

    user_id: int | None
    username: str
    role: str
    site_id: int | None
    full_name: str = ""


SYSTEM = Actor(user_id=None, username="system", role="system", site_id=None, full_name="exoneb")


@dataclass(frozen=True, slots=True)
class Ctx:
    """One action's context: its database transaction, its actor, its clock and origin."""

    db: DbSession
    actor: Actor
    clock: Clock
    ip: str | None = None
