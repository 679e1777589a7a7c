"""The MLLP listener for bedside monitors (IHE PCD-01 over HL7 v2 MLLP, interop.md §3.1).

One asyncio server; each connection gets its own :class:`~exoneb.monitoring.mllp.MllpDecoder`.
Every complete frame is handed to a *handler* (run in a worker thread, since
the database work is synchronous, so the event loop — which may also be the
web server's — never waits for the database) that stores it and returns the
ACK bytes, which are framed and written back before the next frame of that
connection is read — so a sender sees its ACKs in order. Bytes outside a
frame are handed to a *keeper* so they are stored for review too: nothing
received is dropped.

It runs either on its own (``exoneb monitor-gateway``) or inside the web
server's event loop (``exoneb serve --hl7-port``, :mod:`exoneb.web.gateway`).

If the handler itself fails (the database is unreachable), the sender gets an
AE with HL7 error 207 ("application internal error"), so it keeps the message
and retries, instead of an AA for a message that was not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

from exoneb.monitoring.ack import build_ack
from exoneb.monitoring.hl7 import AckCode, ErrorCode, Hl7Problem
from exoneb.monitoring.mllp import MllpDecoder, MllpFrame, encode_frame
from exoneb.monitoring.pcd01 import parse_oru_r01

log = logging.getLogger("exoneb.gateway")
STOP_WAIT_S = 10.0  # on stop, how long the open connections get to finish their message

Handler = Callable[[bytes, str], bytes]
"""(raw message, peer) → ACK bytes; stores the message first."""
Keeper = Callable[[bytes, str, str], None]
"""(bytes outside a frame, reason, peer) → None; stores them for review."""


def internal_error_ack(raw: bytes, reason: str) -> bytes:
    """An AE for a message that could not be stored (the sender should retry)."""
    problem = Hl7Problem(int(ErrorCode.INTERNAL), f"Not stored, retry later: {reason}"[:200])
    return build_ack(
        parse_oru_r01(raw), now=datetime.now(UTC), control_id="EXONEB-ERR",
        code=AckCode.AE, extra_problems=(problem,),
    )  # fmt: skip


class MllpGateway:
    """An MLLP server that stores every message through ``handler`` and answers its ACK."""

    def __init__(
        self, handler: Handler, keeper: Keeper, host: str = "127.0.0.1", port: int = 2575,
        max_frame_bytes: int = 1 << 20, executor: Executor | None = None,
    ) -> None:  # fmt: skip
        self.handler, self.keeper = handler, keeper
        self.host, self.port, self.max_frame_bytes = host, port, max_frame_bytes
        self.executor = executor  # None: the event loop's default thread pool
        self.server: asyncio.Server | None = None
        self._open: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}  # connection → its task

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with ``port=0``), also in ``port``."""
        self.server = await asyncio.start_server(self._connection, self.host, self.port)
        port: int = self.server.sockets[0].getsockname()[1]
        self.port = port
        return port

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self.server is None:
            await self.start()
        assert self.server is not None
        async with self.server:
            await self.server.serve_forever()

    async def stop(self) -> None:
        """Stop accepting connections, close the open ones and the server.

        Monitors keep their connection open for hours: without closing them a
        server shutdown would wait for them. A message being stored when its
        connection closes is still committed; its ACK is lost, so the monitor
        sends it again and gets ``AA`` for the duplicate (stored once).
        """
        if self.server is not None:
            self.server.close()
            for writer in list(self._open):
                writer.close()
            if self._open:  # let each connection finish the message it is storing
                await asyncio.wait(list(self._open.values()), timeout=STOP_WAIT_S)
            await self.server.wait_closed()

    def _handle(self, payload: bytes, peer: str) -> bytes:
        try:
            return self.handler(payload, peer)
        except Exception as exc:  # the sender must retry: never answer AA for a lost message
            log.exception("HL7 message from %s could not be stored", peer)
            return internal_error_ack(payload, type(exc).__name__)

    def _keep(self, data: bytes, reason: str, peer: str) -> None:
        try:
            self.keeper(data, reason, peer)
        except Exception:
            log.exception("unframed bytes from %s could not be stored", peer)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        info = writer.get_extra_info("peername")
        peer = f"{info[0]}:{info[1]}" if isinstance(info, tuple) else str(info)
        decoder = MllpDecoder(self.max_frame_bytes)
        loop = asyncio.get_running_loop()
        pool = self.executor
        task = asyncio.current_task()
        if task is not None:
            self._open[writer] = task
        try:
            while chunk := await reader.read(65536):
                for item in decoder.feed(chunk):
                    if isinstance(item, MllpFrame):
                        ack = await loop.run_in_executor(pool, self._handle, item.payload, peer)
                        writer.write(encode_frame(ack))
                        await writer.drain()
                    else:
                        await loop.run_in_executor(pool, self._keep, item.data, item.reason, peer)
            for junk in decoder.close():
                await loop.run_in_executor(pool, self._keep, junk.data, junk.reason, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("connection from %s ended", peer)
        finally:
            self._open.pop(writer, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
