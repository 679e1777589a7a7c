"""The live push (DESIGN "Several app workers"): stored first, then announced at the commit.

On PostgreSQL the service's transaction runs ``pg_notify`` and the process's
one shared LISTEN connection wakes the session's streams on the commit; on
SQLite the process that committed wakes its own streams after the commit. A
rollback announces nothing on either. Assertions are on the wake *reason*,
never on timing: the fallback interval is set far longer than any test, so
"notify" can only come from the announcement.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from exoneb.accounts.permissions import Role
from exoneb.monitoring import pages, push
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.schemas import AlertAckIn, ObservationIn

from ..e2e.conftest import serve_in_thread
from .asyncio_thread import run_async
from .conftest import PASSWORD, World
from .monitoring_world import monitored_session
from .webclient import app_for

LONG_S = 60.0  # the fallback: a wake with reason "notify" before it came from the notification
SHORT_S = 0.3  # for the waits that must end with the fallback


class Boom(Exception):
    """Raised to roll a transaction back."""


def _record(world: World, session_id: int, spo2_pct: float, fail: bool = False) -> None:
    with world.action(Role.NURSE) as ctx:
        monitoring.record_observation(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=ObservationIn(observed_at=world.clock.now(), spo2_pct=spo2_pct),
        )  # fmt: skip
        if fail:
            raise Boom


def _postgres(world: World) -> bool:
    return not world.settings.database_url.startswith("sqlite")


def test_commit_wakes_the_sessions_stream_and_a_rollback_does_not(world: World) -> None:
    session_id, _ = monitored_session(world)

    async def scenario() -> list[str]:
        reasons = []
        async with push.waker(world.settings.database_url, session_id) as waker:
            with pytest.raises(Boom):
                _record(world, session_id, 97, fail=True)
            reasons.append(await waker.wait(SHORT_S))  # rolled back: nothing announced
            with world.action() as ctx:
                push.announce(ctx, session_id + 1)  # another session's commit: not ours
            reasons.append(await waker.wait(SHORT_S))
            _record(world, session_id, 96)
            reasons.append(await waker.wait(LONG_S))
        return reasons

    assert run_async(scenario()) == [push.POLLED, push.POLLED, push.NOTIFIED]


def test_alert_handling_is_announced(world: World) -> None:
    session_id, _ = monitored_session(world)
    with world.action(Role.NURSE) as ctx:
        _, raised = monitoring.record_observation(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=ObservationIn(observed_at=world.clock.now(), spo2_pct=88),
        )  # fmt: skip
        alert_id, version = raised[0].id, raised[0].version

    async def scenario() -> str:
        async with push.waker(world.settings.database_url, session_id) as waker:
            with world.action(Role.NURSE) as ctx:
                ack = AlertAckIn(version=version, note="seen")
                monitoring.acknowledge_alert(ctx=ctx, alert_id=alert_id, data=ack)
            return await waker.wait(LONG_S)

    assert run_async(scenario()) == push.NOTIFIED


def _listeners(world: World) -> int:
    with world.ctx_db() as db:
        return int(
            db.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE query = :q"),
                {"q": f"LISTEN {push.CHANNEL}"},
            )
            or 0
        )


def _wait_listeners(world: World, expected: int) -> int:
    """The LISTEN connections seen by PostgreSQL, once a closed one has had time to leave."""
    deadline = time.monotonic() + LONG_S
    while (n := _listeners(world)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


def test_several_streams_share_one_listener_and_get_only_their_sessions_wakes(
    world: World,
) -> None:
    """Three streams (two on session A, one on B): one LISTEN connection; A's commit wakes A's."""
    a, _ = monitored_session(world, "MRN-A")
    b, _ = monitored_session(world, "MRN-B")
    url = world.settings.database_url

    async def scenario() -> tuple[list[str], list[int]]:
        counts = []
        async with (
            push.waker(url, a) as a1,
            push.waker(url, a) as a2,
            push.waker(url, b) as b1,
        ):
            if _postgres(world):
                counts += [_listeners(world), push.listening_connections(url)]
            _record(world, a, 96)
            reasons = [await a1.wait(LONG_S), await a2.wait(LONG_S), await b1.wait(SHORT_S)]
            with pytest.raises(Boom):
                _record(world, b, 95, fail=True)  # rolled back: B is not woken
            reasons.append(await b1.wait(SHORT_S))
            _record(world, b, 95)
            reasons += [await b1.wait(LONG_S), await a1.wait(SHORT_S)]
        counts.append(push.listening_connections(url))
        return reasons, counts

    reasons, counts = run_async(scenario())
    assert reasons == [
        push.NOTIFIED, push.NOTIFIED, push.POLLED, push.POLLED, push.NOTIFIED, push.POLLED
    ]  # fmt: skip
    if _postgres(world):
        assert counts == [1, 1, 0]  # one shared connection, closed with the last stream
        assert _wait_listeners(world, 0) == 0
    else:
        assert counts == [0]  # SQLite: no database connection is held for the push


def test_listener_reconnects_and_streams_reread(world: World) -> None:
    """The shared LISTEN connection is killed: it comes back, the streams re-read, pushes resume."""
    if not _postgres(world):
        pytest.skip("SQLite has no LISTEN connection")
    session_id, _ = monitored_session(world)
    url = world.settings.database_url

    async def scenario() -> list[str]:
        async with push.waker(url, session_id) as waker:
            with world.ctx_db() as db:
                db.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :q"),
                    {"q": f"LISTEN {push.CHANNEL}"},
                )
            reasons = [await waker.wait(LONG_S)]  # lost notifications: re-read once
            _record(world, session_id, 96)
            reasons.append(await waker.wait(LONG_S))
        return reasons

    assert run_async(scenario()) == [push.RELISTENED, push.NOTIFIED]
    assert _wait_listeners(world, 0) == 0


def test_stream_wakes_on_the_commit_and_closes_its_listener(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a real server: the stream says why it woke, then sends the stored row."""
    monkeypatch.setattr(pages, "PG_FALLBACK_S", LONG_S)
    monkeypatch.setattr(pages, "POLL_S", LONG_S)  # SQLite: only the in-process wake can explain it
    session_id, _ = monitored_session(world)
    with serve_in_thread(app_for(world)) as base, httpx.Client(base_url=base, timeout=LONG_S) as c:
        user = world.users[Role.NURSE]
        logged: Any = c.post(
            "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}
        )
        assert logged.status_code == 200, logged.text
        seen: list[str] = []
        with c.stream("GET", f"/sessions/{session_id}/monitoring/stream") as response:
            lines = response.iter_lines()
            for line in lines:
                seen.append(line)
                if line == ": woke by listening":
                    break
            if _postgres(world):
                assert _listeners(world) == 1  # the process's shared LISTEN connection
            _record(world, session_id, 93)
            for line in lines:
                seen.append(line)
                if line.startswith("data: ") and '"spo2_pct": 93' in line:
                    break
        woke = [line for line in seen if line.startswith(": woke by")]
        assert woke == [": woke by listening", ": woke by notify"]
        assert seen.index(": woke by notify") < len(seen) - 1  # the row came after the wake
        if _postgres(world):  # closed once the client left
            assert _wait_listeners(world, 0) == 0
