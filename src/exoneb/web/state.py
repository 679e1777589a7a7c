"""What one running app holds: settings, the database engine and sessions, and the clock."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request

from exoneb.core import transaction
from exoneb.core.clock import Clock
from exoneb.core.config import Settings
from exoneb.core.context import Actor, Ctx

ANONYMOUS = Actor(user_id=None, username="anonymous", role="anonymous", site_id=None)


@dataclass(frozen=True, slots=True)
class AppState:
    """Shared, immutable per-process state (nothing user-visible lives only here)."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[DbSession]
    clock: Clock

    def action(
        self, actor: Actor, ip: str | None, *, read_only: bool = False
    ) -> AbstractContextManager[Ctx]:
        """One transaction for one user action (``read_only``: see :func:`transaction.action`)."""
        return transaction.action(
            self.factory, actor=actor, clock=self.clock, ip=ip, read_only=read_only
        )


def app_state(request: Request) -> AppState:
    """The :class:`AppState` of the app serving ``request``."""
    state: AppState = request.app.state.exoneb
    return state


def client_ip(request: Request) -> str | None:
    """The peer address (no proxy headers are trusted)."""
    return request.client.host if request.client else None
