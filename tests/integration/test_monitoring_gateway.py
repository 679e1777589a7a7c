"""The HL7 gateway over a real MLLP socket on loopback (interop.md §3.1, IHE PCD-01).

Valid, malformed, unknown-patient and duplicate messages, plus bytes outside a
frame: every one is stored, and each frame is answered with its ACK in order.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.cli.gateway import make_handlers
from exoneb.monitoring.gateway import MllpGateway
from exoneb.monitoring.mllp import MllpDecoder, MllpFrame, encode_frame
from exoneb.monitoring.models import AlertRecord, Hl7Message, ObservationRecord

from .conftest import World
from .monitoring_world import hl7_message, monitored_session


@contextmanager
def running_gateway(world: World) -> Iterator[int]:
    """The gateway on an ephemeral loopback port, in a thread, acting as the nurse."""
    handle, keep = make_handlers(
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
