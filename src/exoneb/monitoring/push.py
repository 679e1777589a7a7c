"""Push of stored monitoring changes to the live chart, across app workers.

DESIGN.md "Several app workers": live updates are *stored first, then
pushed*, and the push crosses workers through the database.

* PostgreSQL: the service transaction that stores an observation or changes
  an alert also runs ``SELECT pg_notify('exoneb_monitoring', '<session id>')``
  (:func:`announce`). PostgreSQL delivers a notification only when its
  transaction commits, so nothing is announced that was not stored, and a
  rolled-back transaction announces nothing. Each live stream LISTENs on a
  dedicated connection of its own (:class:`PgWaker`, closed when the stream
  ends or the client goes away) and wakes at once on a notification for its
  session.
* SQLite (one machine, development): no notifications; the stream re-reads
  the stored rows after a short sleep (:class:`PollWaker`).

Either way the notification only *wakes* the stream: the stream then reads
the stored rows, so a missed notification delays the chart by at most the
fallback interval and never loses data.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from exoneb.core.context import Ctx

CHANNEL = "exoneb_monitoring"
#: Wake reasons a stream reports (as an SSE comment) after each wait.
NOTIFIED, POLLED = "notify", "poll"


def announce(ctx: Ctx, session_id: int) -> None:
    """Announce, at the commit of ``ctx``'s transaction, that ``session_id`` has new stored rows.

    A no-op on SQLite, whose streams poll. Inside the transaction, so a
    rollback announces nothing.
    """
    if ctx.db.get_bind().dialect.name == "postgresql":
        ctx.db.execute(select(func.pg_notify(CHANNEL, str(session_id))))


class Waker(Protocol):
    """Waits until a session may have new stored rows, or the fallback interval passes."""

    async def wait(self, timeout_s: float) -> str:
        """Return :data:`NOTIFIED` or :data:`POLLED` (the interval passed)."""
        ...


class PollWaker:
    """SQLite: just the short poll."""

    async def wait(self, timeout_s: float) -> str:
        """Sleep the interval; the caller then re-reads the stored rows."""
        await asyncio.sleep(timeout_s)
        return POLLED


class PgWaker:
    """PostgreSQL: LISTEN on a dedicated connection; wake on this session's notification."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], session_id: int) -> None:
        self._conn = conn
        self._payload = str(session_id)

    async def wait(self, timeout_s: float) -> str:
        """Wake on a notification for this session, else after ``timeout_s`` (the fallback poll)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (left := deadline - loop.time()) > 0:
            async for note in self._conn.notifies(timeout=left, stop_after=1):
                if note.payload == self._payload:
                    return NOTIFIED
        return POLLED


def _libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://…``) as a libpq connection string."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def waker(database_url: str, session_id: int) -> AsyncIterator[Waker]:
    """The waker for one live stream; its PostgreSQL connection is closed on exit, whatever happens.

    LISTEN is in effect when this yields, so a commit after that is never missed.
    """
    if make_url(database_url).get_backend_name() != "postgresql":
        yield PollWaker()
        return
    conn = await psycopg.AsyncConnection.connect(_libpq_url(database_url), autocommit=True)
    try:
        await conn.execute(f"LISTEN {CHANNEL}")
        yield PgWaker(conn, session_id)
    finally:
        with anyio.CancelScope(shield=True):  # a client gone away cancels the stream: still close
            await conn.close()
