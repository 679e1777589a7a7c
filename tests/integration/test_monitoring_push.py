"""The live push (DESIGN "Several app workers"): stored first, then announced through the database.

On PostgreSQL the service's transaction runs ``pg_notify`` and a stream's
waker, LISTENing on its own connection, wakes on the commit; a rollback
announces nothing. On SQLite the waker is the short poll. Assertions are on
the wake *reason*, never on timing: the fallback interval is set far longer
than any test, so "notify" can only come from the notification.
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
            reasons.append(await waker.wait(LONG_S if _postgres(world) else SHORT_S))
        return reasons

    reasons = run_async(scenario())
    if _postgres(world):
        assert reasons == [push.POLLED, push.POLLED, push.NOTIFIED]
    else:
        assert reasons == [push.POLLED, push.POLLED, push.POLLED]  # SQLite: the short poll


def test_alert_handling_is_announced(world: World) -> None:
    if not _postgres(world):
        pytest.skip("SQLite streams poll; nothing is announced")
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


def test_stream_wakes_on_the_commit_and_closes_its_listener(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a real server: the stream says why it woke, then sends the stored row."""
    if not _postgres(world):
        pytest.skip("SQLite streams poll")
    monkeypatch.setattr(pages, "PG_FALLBACK_S", LONG_S)
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
            assert _listeners(world) == 1  # this stream's own LISTEN connection
            _record(world, session_id, 93)
            for line in lines:
                seen.append(line)
                if line.startswith("data: ") and '"spo2_pct": 93' in line:
                    break
        woke = [line for line in seen if line.startswith(": woke by")]
        assert woke == [": woke by listening", ": woke by notify"]
        assert seen.index(": woke by notify") < len(seen) - 1  # the row came after the wake
        deadline = time.monotonic() + LONG_S
        while _listeners(world) and time.monotonic() < deadline:  # closed once the client left
            time.sleep(0.1)
        assert _listeners(world) == 0
