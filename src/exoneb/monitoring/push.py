"""Push of stored monitoring changes to the live chart: stored first, then announced.

DESIGN.md "Several app workers": live updates are *stored first, then
pushed*, and the push crosses workers through the database. The service
transaction that stores an observation or changes an alert calls
:func:`announce`, which takes effect only when that transaction commits — so
nothing is announced that was not stored, and a rollback announces nothing.

* PostgreSQL: :func:`announce` runs ``SELECT pg_notify('exoneb_monitoring',
  '<session id>')`` in the transaction; PostgreSQL delivers it at the commit to
  every worker. Each server process keeps **one** LISTENing connection (the
  :class:`_Listener` of its event loop), opened when the first live stream
  starts and closed when the last one ends, however many charts are open; it
  fans each notification out to the streams of that session only. If the
  connection breaks it reconnects (0.5 s, then up to 5 s apart) and wakes
  every stream once (reason :data:`RELISTENED`), since notifications sent in
  the gap were lost; meanwhile the streams' fallback re-read still runs.
* SQLite (one machine): no notifications in the database. :func:`announce`
  notes the session on the database session, and after the commit the process
  that stored the rows wakes the streams of that session in the same process
  at once (:data:`NOTIFIED`); streams in *other* processes still find the rows
  at their next short poll.

Either way a wake only makes the stream re-read the *stored* rows, so a lost
notification delays the chart by at most the fallback interval and never
loses or invents data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Protocol

import anyio
import psycopg
from sqlalchemy import event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session as DbSession

from exoneb.core.context import Ctx

log = logging.getLogger("exoneb.monitoring.push")

CHANNEL = "exoneb_monitoring"
#: Wake reasons a stream reports (as an SSE comment) after each wait: a commit
#: announced this session; the fallback interval passed; the shared LISTEN
#: connection was re-established (notifications in the gap may be lost: re-read).
NOTIFIED, POLLED, RELISTENED = "notify", "poll", "relisten"
#: How long a new stream waits for the shared LISTEN to take effect before it
#: carries on with the fallback re-read alone (the listener keeps retrying).
LISTEN_WAIT_S = 5.0
RECONNECT_S = (0.5, 5.0)  # first and longest delay between reconnection attempts
_PENDING = "exoneb.monitoring.push.pending"  # key in DbSession.info: sessions to wake (SQLite)


def _key(url: str | URL) -> str:
    """One spelling of a database URL, so the storing side and the streams agree."""
    return make_url(url).render_as_string(hide_password=False)


def announce(ctx: Ctx, session_id: int) -> None:
    """Announce, at the commit of ``ctx``'s transaction, that ``session_id`` has new stored rows.

    Inside the transaction, so a rollback announces nothing.
    """
    if ctx.db.get_bind().dialect.name == "postgresql":
        ctx.db.execute(select(func.pg_notify(CHANNEL, str(session_id))))
    else:
        ctx.db.info.setdefault(_PENDING, set()).add(session_id)


@event.listens_for(DbSession, "after_commit")
def _after_commit(db: DbSession) -> None:
    """SQLite: the transaction is durable now — wake this process's streams of those sessions."""
    pending: set[int] | None = db.info.pop(_PENDING, None)
    if pending:
        _HUB.publish(_key(db.get_bind().engine.url), pending, NOTIFIED)


@event.listens_for(DbSession, "after_rollback")
def _after_rollback(db: DbSession) -> None:
    """A rolled-back transaction announces nothing."""
    db.info.pop(_PENDING, None)


class _Subscriber:
    """One live stream's wake-up flag, set from any thread through its event loop."""

    __slots__ = ("_flag", "loop", "reason")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reason = POLLED
        self._flag = asyncio.Event()

    def wake(self, reason: str) -> None:
        """Thread-safe: mark the stream to wake with ``reason`` (wakes coalesce)."""
        with contextlib.suppress(RuntimeError):  # the stream's loop has already closed
            self.loop.call_soon_threadsafe(self._set, reason)

    def _set(self, reason: str) -> None:
        if not self._flag.is_set():
            self.reason = reason
            self._flag.set()

    async def wait(self, timeout_s: float) -> str:
        """The reason of the next wake, or :data:`POLLED` after ``timeout_s``."""
        try:
            await asyncio.wait_for(self._flag.wait(), timeout_s)
        except TimeoutError:
            return POLLED
        self._flag.clear()
        return self.reason


class _Hub:
    """Every live stream of this process, by database and session (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[tuple[str, int], set[_Subscriber]] = {}

    def add(self, db_key: str, session_id: int, sub: _Subscriber) -> None:
        with self._lock:
            self._subs.setdefault((db_key, session_id), set()).add(sub)

    def remove(self, db_key: str, session_id: int, sub: _Subscriber) -> None:
        with self._lock:
            subs = self._subs.get((db_key, session_id))
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[(db_key, session_id)]

    def publish(self, db_key: str, session_ids: Iterable[int] | None, reason: str) -> None:
        """Wake the streams of ``session_ids`` (every stream of the database when ``None``)."""
        with self._lock:
            if session_ids is None:
                targets = [s for (k, _), subs in self._subs.items() if k == db_key for s in subs]
            else:
                targets = [s for sid in session_ids for s in self._subs.get((db_key, sid), ())]
        for sub in targets:
            sub.wake(reason)


_HUB = _Hub()


class _Listener:
    """The one LISTENing PostgreSQL connection of an event loop, shared by all its streams."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._key = _key(database_url)
        self._users = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def listening(self) -> bool:
        """Whether the shared connection is (being) kept open: some stream uses it."""
        return self._task is not None

    @property
    def idle(self) -> bool:
        """No stream uses this listener any more."""
        return self._users == 0

    async def acquire(self) -> None:
        """Count one more stream; start listening if it is the first. Waits for LISTEN (bounded)."""
        self._users += 1
        if self._task is None:
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name="exoneb-monitoring-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), LISTEN_WAIT_S)

    async def release(self) -> None:
        """Count one stream less; the last one closes the connection."""
        self._users -= 1
        if self._users == 0 and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with anyio.CancelScope(shield=True), contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay_s, first = RECONNECT_S[0], True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(_libpq_url(self._url), autocommit=True)
            except (psycopg.Error, OSError) as exc:
                log.warning("live push: cannot connect to LISTEN (%s); retrying", exc)
            else:
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    if not first:  # notifications sent while we were away are lost: re-read
                        _HUB.publish(self._key, None, RELISTENED)
                    first, delay_s = False, RECONNECT_S[0]
                    async for note in conn.notifies():
                        if note.payload.isdigit():
                            _HUB.publish(self._key, (int(note.payload),), NOTIFIED)
                except (psycopg.Error, OSError) as exc:
                    log.warning("live push: LISTEN connection lost (%s); reconnecting", exc)
                finally:
                    with anyio.CancelScope(shield=True):
                        await conn.close()
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, RECONNECT_S[1])


_LISTENERS: dict[tuple[str, asyncio.AbstractEventLoop], _Listener] = {}


class Waker(Protocol):
    """Waits until a session may have new stored rows, or the fallback interval passes."""

    async def wait(self, timeout_s: float) -> str:
        """Return :data:`NOTIFIED`, :data:`RELISTENED` or :data:`POLLED` (the interval passed)."""
        ...


def _libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://…``) as a libpq connection string."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def waker(database_url: str, session_id: int) -> AsyncIterator[Waker]:
    """The waker for one live stream of ``session_id``; unsubscribed on exit, whatever happens.

    On PostgreSQL the process's shared LISTEN is in effect when this yields
    (unless the database cannot be reached within :data:`LISTEN_WAIT_S`: the
    stream then relies on its fallback re-read while the listener retries).
    """
    loop = asyncio.get_running_loop()
    key = _key(database_url)
    sub = _Subscriber(loop)
    _HUB.add(key, session_id, sub)
    listener = None
    try:
        if make_url(database_url).get_backend_name() == "postgresql":
            listener = _LISTENERS.get((key, loop))
            if listener is None:
                listener = _LISTENERS[(key, loop)] = _Listener(database_url)
            await listener.acquire()
        yield sub
    finally:
        _HUB.remove(key, session_id, sub)
        if listener is not None:
            with anyio.CancelScope(shield=True):  # a client gone away cancels the stream
                await listener.release()
                if listener.idle and _LISTENERS.get((key, loop)) is listener:
                    del _LISTENERS[(key, loop)]


def listening_connections(database_url: str) -> int:
    """How many LISTEN connections this process holds for ``database_url`` (for tests)."""
    key = _key(database_url)
    return sum(1 for (k, _), lst in _LISTENERS.items() if k == key and lst.listening)
