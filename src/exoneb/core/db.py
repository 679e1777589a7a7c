"""Database plumbing: the declarative base, the engine factory and UTC timestamps.

SQLite is the embedded default; PostgreSQL is used when ``EXONEB_DATABASE_URL``
points to one. Every table is created by Alembic migrations
(``exoneb.core.migrations``), never by ``create_all`` in production code, so the
naming convention below matters: SQLite batch migrations can only drop or alter
constraints that have stable names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    audit chain's "read last hash, append" step.

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
        def _begin_immediate(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[DbSession]:
    """Sessions that keep loaded values after commit (pages render after the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    """Wall-clock UTC now; only for defaults where no injected clock is at hand."""
    return datetime.now(UTC)
