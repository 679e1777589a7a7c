"""SQLite transactions: read-only ones take no lock, writers of one process queue, busy is a 503.

The embedded database has one writer at a time. These tests pin down how
exoneb lives with that (``core/db.py``, ``core/transaction.py``): a read-only
action (login checks, the live charts' re-reads) neither waits for a writer nor
can write; writers of one process queue on an in-process lock instead of
SQLite's sleeping busy handler, so a long write does not make the next one
fail; a write blocked by another process past the busy timeout is refused as
busy with nothing saved — never a server error.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from exoneb.core import migrate, transaction
from exoneb.core.clock import FrozenClock, SystemClock
from exoneb.core.context import SYSTEM
from exoneb.core.db import make_engine, make_session_factory
from exoneb.core.errors import Busy, PermissionDenied


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    e = make_engine(f"sqlite:///{tmp_path / 'tx.db'}", busy_timeout_ms=200)
    with e.begin() as conn:
        conn.execute(text("CREATE TABLE reading (id INTEGER PRIMARY KEY, value REAL)"))
    yield e
    e.dispose()


def act(engine: Engine, *, read_only: bool = False):  # type: ignore[no-untyped-def]
    return transaction.action(
        make_session_factory(engine), actor=SYSTEM, clock=SystemClock(), read_only=read_only
    )


def count(engine: Engine) -> int:
    with act(engine, read_only=True) as ctx:
        return int(ctx.db.scalar(text("SELECT count(*) FROM reading")) or 0)


def test_a_read_only_action_cannot_write(engine: Engine) -> None:
    with pytest.raises(OperationalError, match="readonly"), act(engine, read_only=True) as ctx:
        ctx.db.execute(text("INSERT INTO reading (value) VALUES (1)"))
    with act(engine) as ctx:  # the pooled connection writes again in a write action
        ctx.db.execute(text("INSERT INTO reading (value) VALUES (2)"))
    assert count(engine) == 1


def test_a_read_only_action_does_not_wait_for_a_writer(engine: Engine) -> None:
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with act(engine) as ctx:
            ctx.db.execute(text("INSERT INTO reading (value) VALUES (1)"))
            holding.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert holding.wait(10)
        # The writer holds the write lock (and longer than the 200 ms busy timeout):
        # a reader still reads, at once, what was committed before it.
        assert count(engine) == 0
    finally:
        release.set()
        t.join(10)
    assert count(engine) == 1


def test_writers_of_one_process_queue_instead_of_failing(engine: Engine) -> None:
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with act(engine) as ctx:
            ctx.db.execute(text("INSERT INTO reading (value) VALUES (1)"))
            holding.set()
            release.wait(10)

    def second() -> None:
        try:
            with act(engine) as ctx:
                ctx.db.execute(text("INSERT INTO reading (value) VALUES (2)"))
        except BaseException as exc:  # recorded for the assertion below
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(10)
    b = threading.Thread(target=second)
    b.start()
    b.join(0.6)  # three busy timeouts: without the queue the second write would have failed
    assert b.is_alive()
    release.set()
    a.join(10)
    b.join(10)
    assert errors == []
    assert count(engine) == 2


def test_a_write_blocked_by_another_process_is_refused_as_busy(engine: Engine) -> None:
    path = engine.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)  # the HL7 gateway or the CLI, say
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Busy, match="Nothing was saved"), act(engine) as ctx:
            ctx.db.execute(text("INSERT INTO reading (value) VALUES (1)"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert count(engine) == 0


def test_the_api_answers_busy_with_503_and_retry_after() -> None:
    from fastapi.testclient import TestClient

    from exoneb.core.config import Settings
    from exoneb.web.app import create_app

    app = create_app(
        Settings(environment="test", database_url="sqlite://"),  # type: ignore[call-arg]
        clock=FrozenClock(),
    )

    @app.get("/api/v1/busy-probe")
    def probe() -> None:
        raise Busy(transaction.BUSY_MESSAGE)

    response = TestClient(app).get("/api/v1/busy-probe")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "Nothing was saved" in response.json()["detail"]


def test_a_refused_read_only_action_is_audited_after_a_long_write(tmp_path: Path) -> None:
    # A chart's re-read by a role without the permission, while a device batch holds the
    # write lock longer than the busy timeout: the refusal's audit row queues for its turn
    # and is written; the user gets the refusal (403), not a server error.
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade(url)
    engine = make_engine(url, busy_timeout_ms=200)
    factory = make_session_factory(engine)
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction.action(factory, actor=SYSTEM, clock=SystemClock()) as ctx:
            ctx.db.execute(text("SELECT 1"))
            holding.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert holding.wait(10)
    threading.Timer(0.6, release.set).start()  # three busy timeouts
    refusal = PermissionDenied(
        "Your role may not read this.", action="patient.read", user_id=7, username="aud",
        role="auditor",
    )  # fmt: skip
    with (
        pytest.raises(PermissionDenied),
        transaction.action(factory, actor=SYSTEM, clock=SystemClock(), read_only=True),
    ):
        raise refusal
    t.join(10)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor_username FROM audit_event WHERE action = 'permission.denied'")
        ).all()
    assert [r[0] for r in rows] == ["aud"]
    engine.dispose()
