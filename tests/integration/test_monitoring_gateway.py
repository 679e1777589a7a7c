"""The HL7 gateway over a real MLLP socket on loopback (interop.md §3.1, IHE PCD-01).

Valid, malformed, unknown-patient and duplicate messages, plus bytes outside a
frame: every one is stored, and each frame is answered with its ACK in order.
The same listener inside the web server (``EXONEB_HL7_PORT``): a message sent
to it wakes an open live chart at the commit — asserted on the stream's wake
reason (``: woke by notify``, the fallback re-read set far longer than the
test), never on timing.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.config import Settings
from exoneb.core.errors import InvalidInput
from exoneb.monitoring import pages
from exoneb.monitoring.gateway import MllpGateway
from exoneb.monitoring.hl7_service import gateway_handlers
from exoneb.monitoring.mllp import MllpDecoder, MllpFrame, encode_frame
from exoneb.monitoring.models import AlertRecord, Hl7Message, ObservationRecord
from exoneb.web.app import create_app

from ..e2e.conftest import serve_in_thread
from .asyncio_thread import run_async
from .conftest import PASSWORD, World
from .monitoring_world import hl7_message, monitored_session

LONG_S = 60.0  # the live chart's fallback re-read: a wake before it came from the commit


@contextmanager
def running_gateway(world: World) -> Iterator[int]:
    """The gateway on an ephemeral loopback port, in a thread, acting as the nurse."""
    handle, keep = gateway_handlers(
        world.factory, world.settings, world.actor(Role.NURSE), world.clock
    )
    gateway = MllpGateway(handle, keep, host="127.0.0.1", port=0)
    # The loop runs only in its own thread: the main thread may already have one
    # running (Playwright's sync API keeps one alive once a browser test has run).
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(timeout=10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _acks(sock: socket.socket, count: int) -> list[bytes]:
    decoder, frames = MllpDecoder(), []
    while len(frames) < count:
        chunk = sock.recv(65536)
        assert chunk, "the gateway closed the connection before answering"
        frames += [f.payload for f in decoder.feed(chunk) if isinstance(f, MllpFrame)]
    return frames


def _msa(ack: bytes) -> list[str]:
    segment = next(s for s in ack.split(b"\r") if s.startswith(b"MSA|"))
    return segment.decode().split("|")


def test_messages_over_a_real_mllp_socket(world: World) -> None:
    session_id, _ = monitored_session(world)
    now = world.clock.now()
    valid = hl7_message("MRN-1", now, spo2_pct=97, pulse_per_min=76, control_id="C1")
    low = hl7_message("MRN-1", now + timedelta(seconds=1), spo2_pct=84, control_id="C2")
    still_low = hl7_message("MRN-1", now + timedelta(seconds=31), spo2_pct=84, control_id="C2b")
    unknown = hl7_message("MRN-404", now, control_id="C3")
    malformed = b"MSH|^~\\&|MON01|ICU|NEBSYS|CLINIC|not-a-date||ORU^R01|C4|P|2.6\rPID|||MRN-1"
    with running_gateway(world) as port, socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.settimeout(10)
        # two frames in one write, one frame split across writes, a duplicate, junk between
        sock.sendall(encode_frame(valid) + encode_frame(low) + encode_frame(still_low))
        first = _acks(sock, 3)
        framed = encode_frame(unknown)
        sock.sendall(framed[:20])
        sock.sendall(framed[20:] + b"stray bytes" + encode_frame(malformed) + encode_frame(valid))
        rest = _acks(sock, 3)
    acks = [_msa(a) for a in first + rest]
    assert [(m[1], m[2]) for m in acks if m[2] != "C4"] == [
        ("AA", "C1"), ("AA", "C2"), ("AA", "C2b"), ("AE", "C3"), ("AA", "C1"),
    ]  # fmt: skip
    assert acks[4][1] in {"AE", "AR"}  # the malformed message: an error ACK, and it is kept
    assert b"ERR|" in rest[0]  # the unknown patient is named in an ERR segment
    with world.factory() as db:
        inbox = db.scalars(select(Hl7Message).order_by(Hl7Message.id)).all()
        states = [(m.control_id, m.parse_status, m.match_status, m.review_status) for m in inbox]
        assert states[:4] == [
            ("C1", "parsed", "matched", "none"), ("C2", "parsed", "matched", "none"),
            ("C2b", "parsed", "matched", "none"), ("C3", "parsed", "unknown_patient", "pending"),
        ]  # fmt: skip
        kept = next(m for m in inbox if m.raw == malformed)
        assert kept.review_status == "pending"
        assert ("", "unframed", "not_applicable", "pending") in states
        assert states[-1][:3] == ("C1", "parsed", "duplicate")
        unframed = next(m for m in inbox if m.parse_status == "unframed")
        assert unframed.raw == b"stray bytes"
        obs = db.scalars(
            select(ObservationRecord).where(ObservationRecord.session_id == session_id)
        ).all()
        assert sorted((o.spo2_pct, o.source) for o in obs) == [
            (84.0, "hl7"), (84.0, "hl7"), (97.0, "hl7")
        ]  # fmt: skip
        alerts = db.scalars(select(AlertRecord).where(AlertRecord.session_id == session_id)).all()
        # device samples alert only when sustained 30 s (clinical.md §4.3): C2 + C2b
        assert {a.rule_id for a in alerts} == {"spo2_fall", "spo2_low", "spo2_critical"}


def test_the_listener_inside_the_web_server_wakes_an_open_live_chart(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``EXONEB_HL7_PORT``: the web server's own listener stores the message and wakes its chart.

    On SQLite only the process that committed can wake its streams at once, so
    this is what the in-server listener is for; on PostgreSQL the wake is the
    NOTIFY. Either way the stream says why it woke before it sends the row.
    """
    monkeypatch.setattr(pages, "PG_FALLBACK_S", LONG_S)
    monkeypatch.setattr(pages, "POLL_S", LONG_S)
    session_id, _ = monitored_session(world)
    nurse = world.users[Role.NURSE].username
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        hl7_port = int(probe.getsockname()[1])
    settings = world.settings.model_copy(update={"hl7_port": hl7_port, "hl7_user": nurse})
    app = create_app(settings, clock=world.clock)
    now = world.clock.now()
    first = hl7_message("MRN-1", now, spo2_pct=91, control_id="S1")
    second = hl7_message("MRN-1", now + timedelta(seconds=1), spo2_pct=89, control_id="S2")
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=LONG_S) as client:
        gateway = app.state.hl7_gateway
        assert (gateway.host, gateway.port) == ("127.0.0.1", hl7_port)  # loopback by default
        logged: Any = client.post(
            "/api/v1/auth/login", json={"username": nurse, "password": PASSWORD}
        )
        assert logged.status_code == 200, logged.text
        seen: list[str] = []
        with client.stream("GET", f"/sessions/{session_id}/monitoring/stream") as response:
            lines = response.iter_lines()
            for line in lines:
                seen.append(line)
                if line == ": woke by listening":
                    break
            with socket.create_connection(("127.0.0.1", hl7_port), 10) as sock:
                sock.settimeout(10)
                sock.sendall(encode_frame(first) + encode_frame(second))  # one write, two frames
                acks = [_msa(a) for a in _acks(sock, 2)]
            for line in lines:
                seen.append(line)
                if line.startswith("data: ") and '"spo2_pct": 89' in line:
                    break
    assert [(m[1], m[2]) for m in acks] == [("AA", "S1"), ("AA", "S2")]  # in order
    woke = [line for line in seen if line.startswith(": woke by")]
    assert woke[0] == ": woke by listening"
    assert set(woke[1:]) == {": woke by notify"}  # never the fallback re-read
    assert seen.index(": woke by notify") < len(seen) - 1  # the rows came after the wake
    with world.factory() as db:
        kept = db.scalars(select(Hl7Message).order_by(Hl7Message.id)).all()
        assert [(m.control_id, m.received_by, m.match_status) for m in kept] == [
            ("S1", "Nurse One", "matched"), ("S2", "Nurse One", "matched"),
        ]  # fmt: skip


def test_the_in_server_listener_needs_a_valid_account(world: World) -> None:
    """No anonymous messages: a port without an account, or with one that may not ingest."""
    with pytest.raises(ValidationError, match="EXONEB_HL7_USER"):
        Settings.model_validate(world.settings.model_dump() | {"hl7_port": 2575})
    settings = world.settings.model_copy(
        update={"hl7_port": 0, "hl7_user": world.users[Role.COORDINATOR].username}
    )
    app = create_app(settings, clock=world.clock)

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(InvalidInput, match="may not ingest observations"):
        run_async(start())
