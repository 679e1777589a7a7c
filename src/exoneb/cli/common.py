"""Helpers shared by the command modules: one transaction as the ``system`` actor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from exoneb.core import transaction
from exoneb.core.clock import Clock, SystemClock
from exoneb.core.config import get_settings
from exoneb.core.context import SYSTEM, Actor, Ctx
from exoneb.core.db import make_engine, make_session_factory


@contextmanager
def system_action(actor: Actor = SYSTEM, clock: Clock | None = None) -> Iterator[Ctx]:
    """One transaction on the configured database, acting as ``actor`` (on ``clock``)."""
    settings = get_settings()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        with transaction.action(
            make_session_factory(engine), actor=actor, clock=clock or SystemClock(), ip="cli"
        ) as ctx:
            yield ctx
    finally:
        engine.dispose()
