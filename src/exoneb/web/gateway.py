"""The MLLP listener for bedside monitors inside the web server (``exoneb serve --hl7-port``).

Why inside: on SQLite the live push reaches only the streams of the process
that committed (:mod:`exoneb.monitoring.push`), so a gateway in its own process
(``exoneb monitor-gateway``) reaches the charts only at their 5 s fallback
re-read. Run in the web server's process, the commit of each message wakes the
charts of its session at once. On PostgreSQL either form pushes at once
(``pg_notify``); the separate process keeps the listener apart from the web
server's restarts.

The listener shares the server's event loop and database engine; each message
is stored in a worker thread of its own small pool (the loop never waits for
the database), one transaction per message, and a connection's ACKs go back
in the order of its messages (:class:`~exoneb.monitoring.gateway.MllpGateway`).
It starts with the app (the account named by ``EXONEB_HL7_USER`` is checked
first: the server refuses to start without a valid one) and stops with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from exoneb.core import transaction
from exoneb.core.context import SYSTEM, Actor
from exoneb.monitoring import hl7_service
from exoneb.monitoring.gateway import MllpGateway
from exoneb.web.state import AppState

log = logging.getLogger("exoneb.gateway")

#: Threads storing messages. SQLite writes one transaction at a time anyway; on
#: PostgreSQL a few let messages of different monitors be stored side by side.
WORKERS = 4


def _actor(state: AppState, username: str) -> Actor:
    with transaction.action(state.factory, actor=SYSTEM, clock=state.clock, ip="startup") as ctx:
        return hl7_service.gateway_actor(ctx=ctx, username=username)


@asynccontextmanager
async def hl7_listener(state: AppState) -> AsyncIterator[MllpGateway | None]:
    """The in-server gateway while the app runs (``None`` when ``hl7_port`` is not set)."""
    settings = state.settings
    if settings.hl7_port is None:
        yield None
        return
    assert settings.hl7_user is not None  # Settings refuses a port without a user
    actor = await asyncio.to_thread(_actor, state, settings.hl7_user)
    handle, keep = hl7_service.gateway_handlers(state.factory, settings, actor, state.clock)
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="exoneb-hl7")
    gateway = MllpGateway(
        handle, keep, host=settings.hl7_host, port=settings.hl7_port, executor=pool
    )
    try:
        port = await gateway.start()
        log.warning(
            "exoneb monitor gateway: MLLP on %s:%s as %s", settings.hl7_host, port, actor.username
        )
        yield gateway
    finally:
        await gateway.stop()
        await asyncio.to_thread(pool.shutdown, True)
