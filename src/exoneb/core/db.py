"""Database plumbing: the declarative base, the engine factory and UTC timestamps.

SQLite is the embedded default; PostgreSQL is used when ``EXONEB_DATABASE_URL``
points to one. Every table is created by Alembic migrations
(``exoneb.core.migrations``), never by ``create_all`` in production code, so the
naming convention below matters: SQLite batch migrations can only drop or alter
constraints that have stable names.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every exoneb table, carrying the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    converted to UTC and stored naive, then marked UTC again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("exoneb stores only timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes whatever the backend."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WRITE_WAIT_S = 30.0
"""How long a write waits for its turn in this process before it is refused as busy."""

_WRITE_GATES: WeakKeyDictionary[Engine, threading.RLock] = WeakKeyDictionary()


def write_gate(engine: Engine) -> threading.RLock | None:
    """The lock this process's SQLite writers queue on, or ``None`` (PostgreSQL needs none).

    SQLite has one writer at a time. Left to itself a writer that finds the
    lock taken sleeps and retries (SQLite's busy handler: 1, 2, 5 … 100 ms
    steps), so under load a waiting write starts up to 100 ms after the lock
    was freed and may give up at the busy timeout. Writers of this process
    therefore queue on this lock first and start the moment the previous one
    has committed; only writers in other processes (the HL7 gateway, the CLI)
    still meet at SQLite's own lock and its busy timeout.
    """
    if engine.dialect.name != "sqlite":
        return None
    gate = _WRITE_GATES.get(engine)
    if gate is None:
        gate = _WRITE_GATES.setdefault(engine, threading.RLock())
    return gate


READ_ONLY = "exoneb_read_only"
"""Execution option marking a transaction that only reads (see :func:`make_engine`)."""


def _sqlite_on_connect(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below open transactions instead of the
        # sqlite3 module, whose implicit BEGIN is deferred and skips DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return on_connect


def make_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create the engine for ``url`` with exoneb's durability settings.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE``: writers queue
    on the busy timeout instead of failing half-way, which also serialises the
    audit chain's "read last hash, append" step. A transaction opened with the
    :data:`READ_ONLY` execution option (:func:`exoneb.core.transaction.action`
    with ``read_only=True``: login checks, the live charts' re-reads) starts
    with a deferred ``BEGIN`` under ``PRAGMA query_only`` instead: in WAL mode
    readers never wait for the writer, and a write attempted there fails at
    once rather than taking the lock unannounced.

    SQLite connections are pooled (SQLAlchemy's default for a database file,
    ``QueuePool``): opening one costs its PRAGMAs, and closing the last one a
    WAL checkpoint — about 8 ms per transaction with the former ``NullPool``,
    measured as the largest fixed cost of a device batch (docs/monitoring.md,
    "Performance"). The durability settings are unchanged: every connection
    still gets WAL, ``synchronous=FULL``, foreign keys and the busy timeout
    when it is opened, and SQLite checkpoints the WAL by itself as it grows.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_on_connect(busy_timeout_ms))

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            read_only = bool(conn.get_execution_options().get(READ_ONLY))
            if conn.info.get("query_only") is not read_only:  # kept per pooled connection
                conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
                conn.info["query_only"] = read_only
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[DbSession]:
    """Sessions that keep loaded values after commit (pages render after the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    """Wall-clock UTC now; only for defaults where no injected clock is at hand."""
    return datetime.now(UTC)
