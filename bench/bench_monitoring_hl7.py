"""``make bench``: bedside monitors over MLLP — arrival → stored (ACK) → alert pushed (issue 7).

The real arrival path of the readings: ``SESSIONS`` simulated bedside monitors,
each on its own persistent MLLP connection to the listener running inside the
web server (``EXONEB_HL7_PORT``, :mod:`exoneb.web.gateway`), each sending one
IHE PCD-01 ORU^R01 (SpO2 + pulse rate) per second at its own offset within the
second, for ``TICKS`` seconds; every session has its live chart open (the SSE
stream ``/sessions/{id}/monitoring/stream``, read by an HTTP client). One
session in five is desaturating (SpO2 86 % for the last 20 s of its history and
during the run), so its SpO2 alerts are raised during the run and updated by
every later reading.

Measured from the moment each monitor sends (its scheduled second, so a
monitor still waiting for its previous ACK counts that wait too):

* *stored* — the monitor has its ACK (``AA``: the message, its readings, the
  alert evaluation and the audit row are committed);
* *observation pushed* — the chart's stream delivered the new observation;
* *alert pushed* — for a desaturating session from the reading that raised its
  alert on: the chart's next ``alerts`` event.

p50 / p95 / p99 / max, the server process's CPU per reading and the machine's
load average are printed. SQLite (a file, WAL) and — when PostgreSQL binaries
are installed — a throwaway PostgreSQL cluster; the listener runs in the web
server process on both. ``--profile`` instead runs the per-message server path
(the gateway's handler: one transaction per message) under cProfile, in this
process, and prints its top costs. Speed is never asserted in tests.

The sessions, their history, the server and the charts' reader come from
``bench_monitoring.py`` (imported, not copied).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from bench_monitoring import (
    DESATURATING,
    HISTORY_S,
    PASSWORD,
    SESSIONS,
    TICKS,
    USERNAME,
    _batch,
    _Charts,
    _cpu_s,
    _free_port,
    _load,
    _q,
    _settings,
    _setup,
    served,
    throwaway_postgres,
)
from exoneb.core import transaction
from exoneb.core.clock import SystemClock
from exoneb.core.context import SYSTEM
from exoneb.core.db import make_engine, make_session_factory
from exoneb.monitoring import hl7_service
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.mllp import MllpDecoder, MllpFrame, encode_frame
from exoneb.monitoring.schemas import ObservationBatchIn

LOW_SPO2, NORMAL_SPO2 = 86.0, 96.0


def oru_r01(mrn: str, at: datetime, spo2_pct: float, control_id: str) -> bytes:
    """An IHE PCD-01 ORU^R01 as a pulse oximeter sends it (interop.md §3.1): SpO2, pulse rate."""
    ts = at.strftime("%Y%m%d%H%M%S+0000")
    device = "0800190000000001^EUI-64"
    return "\r".join([
        f"MSH|^~\\&|MON01^{device}|ICU|NEBSYS|CLINIC|{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6"
        "|||NE|AL",
        f"PID|||{mrn}^^^CLINIC^MR||Bench^P",
        f"OBR|1|||182777000^monitoring of patient^SCT|||{ts}",
        f"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|{spo2_pct:g}|262688^MDC_DIM_PERCENT^MDC"
        f"|||||R|||{ts}||||{device}",
        f"OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|80|264864^MDC_DIM_BEAT_PER_MIN^MDC"
        f"|||||R|||{ts}||||{device}",
    ]).encode()  # fmt: skip


def _seeded(url: str) -> tuple[list[int], set[int], datetime]:
    """``SESSIONS`` monitored sessions with ``HISTORY_S`` of 1 Hz history ending now.

    Returns the session ids (patient MRN ``B-<index>``), the desaturating ones,
    and the time of the first live reading (right after the history, so a
    desaturation continues into the run).
    """
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(seconds=HISTORY_S)
    settings, factory, actor, ids, clock = _setup(url, SESSIONS, t0)
    clock.advance(timedelta(seconds=HISTORY_S))
    desaturating = {sid for i, sid in enumerate(ids) if i % (SESSIONS // DESATURATING) == 0}
    for sid in ids:
        low = LOW_SPO2 if sid in desaturating else NORMAL_SPO2
        history = (
            _batch(t0, HISTORY_S - 20).observations
            + _batch(t0 + timedelta(seconds=HISTORY_S - 20), 20, low).observations
        )
        with transaction.action(factory, actor=actor, clock=clock) as ctx:
            monitoring.ingest_batch(ctx=ctx, settings=settings, session_id=sid,
                                    data=ObservationBatchIn(device_id="bench-ox",
                                                            observations=history))  # fmt: skip
    factory.kw["bind"].dispose()
    return ids, desaturating, now


class _Monitors:
    """The simulated bedside monitors: one persistent MLLP connection each."""

    def __init__(self, port: int, first_at: datetime, desaturating: set[int]) -> None:
        self.port, self.first_at, self.desaturating = port, first_at, desaturating
        # control id → (session, send time, ACK time); failures named, not hidden
        self.sent: dict[str, tuple[int, float, float]] = {}
        self.failed: list[str] = []

    async def run(self, index: int, sid: int, start: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        decoder = MllpDecoder()
        spo2 = LOW_SPO2 if sid in self.desaturating else NORMAL_SPO2
        try:
            for tick in range(TICKS):
                due = start + tick + index / SESSIONS  # each monitor at its own offset
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                control_id = f"B{sid}T{tick}"
                at = self.first_at + timedelta(seconds=tick)
                writer.write(encode_frame(oru_r01(f"B-{index}", at, spo2, control_id)))
                await writer.drain()
                ack = await self._ack(reader, decoder)
                acked = time.perf_counter()
                if b"MSA|AA|" not in ack:
                    self.failed.append(ack.decode(errors="replace").replace("\r", " | ")[:160])
                    continue
                self.sent[control_id] = (sid, due, acked)
        finally:
            writer.close()
            await writer.wait_closed()

    @staticmethod
    async def _ack(reader: asyncio.StreamReader, decoder: MllpDecoder) -> bytes:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("the gateway closed the connection")
            frames = [f for f in decoder.feed(chunk) if isinstance(f, MllpFrame)]
            if frames:  # one message outstanding per monitor: one ACK per read loop
                return frames[0].payload


async def _run(
    base: str, hl7_port: int, ids: list[int], desaturating: set[int], first_at: datetime,
    server_pid: int,
) -> tuple[_Monitors, _Charts, float]:  # fmt: skip
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": USERNAME, "password": PASSWORD}
        )
        login.raise_for_status()
        charts = _Charts()
        readers = []
        for sid in ids:  # the charts are opened one after the other, as staff open them
            readers.append(asyncio.create_task(charts.read(client, sid)))
            deadline = time.perf_counter() + 30
            while sid not in charts.listening and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
        monitors = _Monitors(hl7_port, first_at, desaturating)
        cpu_before = _cpu_s(server_pid)
        start = time.perf_counter() + 0.5
        runs = [monitors.run(i, sid, start) for i, sid in enumerate(ids)]
        outcome = await asyncio.gather(*runs, return_exceptions=True)
        monitors.failed += [f"{type(e).__name__}: {e}" for e in outcome if e is not None]
        await asyncio.sleep(2.0)  # the last pushes
        server_cpu_s = _cpu_s(server_pid) - cpu_before
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return monitors, charts, server_cpu_s


def _latencies(url: str, monitors: _Monitors, charts: _Charts) -> dict[str, list[float]]:
    """Per reading: ACK, observation and alert on the chart, from the stored rows' ids."""
    engine = make_engine(url)
    with engine.connect() as conn:
        obs_of = dict(conn.execute(text(
            "SELECT m.control_id, o.id FROM monitoring_observation o "
            "JOIN monitoring_hl7_message m ON o.hl7_message_id = m.id"
        )).all())  # fmt: skip
        first_alert = dict(conn.execute(text(
            "SELECT session_id, min(raised_at) FROM monitoring_alert GROUP BY session_id"
        )).all())  # fmt: skip
    engine.dispose()
    out: dict[str, list[float]] = defaultdict(list)
    for control_id, (sid, t, acked) in sorted(monitors.sent.items(), key=lambda x: x[1][1]):
        out["stored"].append(acked - t)
        seen = charts.observation_seen.get(obs_of.get(control_id, -1))
        out["observation pushed"].append((seen - t) if seen is not None else float("inf"))
        raised = first_alert.get(sid)
        tick = int(control_id.rsplit("T", 1)[1])
        at = monitors.first_at + timedelta(seconds=tick)
        if raised is not None and _utc(raised) <= at:  # this reading raised or updated it
            # the stream sends a wake's observations, then its alerts: the alert change of this
            # reading comes with or after its observation (not an earlier reading's update)
            after = max(t, seen if seen is not None else float("inf"))
            later = [s for s, alert_ids in charts.alert_events[sid] if s >= after and alert_ids]
            out["alert pushed"].append((min(later) - t) if later else float("inf"))
    return out


def _utc(value: datetime | str) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def bench_mllp(url: str) -> tuple[dict[str, list[float]], int, list[str]]:
    """One run: the server with its in-process listener, the charts, the monitors."""
    ids, desaturating, first_at = _seeded(url)
    hl7_port = _free_port()
    env = os.environ | {"EXONEB_HL7_PORT": str(hl7_port), "EXONEB_HL7_USER": USERNAME}
    with served(url, env) as (base, pid, lines):
        monitors, charts, cpu_s = asyncio.run(
            _run(base, hl7_port, ids, desaturating, first_at, pid)
        )
    logged = "\n".join(lines)
    out = _latencies(url, monitors, charts)
    out["server CPU per reading"] = [cpu_s / max(1, len(monitors.sent))]
    errors = [line for line in logged.splitlines() if line.startswith(("sqlalchemy.", "psycopg."))]
    unstored = logged.count("could not be stored")
    if unstored or errors:
        monitors.failed.insert(
            0,
            f"server: {unstored} messages not stored (answered AE 207), e.g. "
            f"{errors[0][:160] if errors else '?'}",
        )
    return out, len(monitors.sent), monitors.failed


def _report(name: str, url: str) -> None:
    before = _load()
    out, stored, failed = bench_mllp(url)
    print(
        f"{name}: {SESSIONS} bedside monitors over MLLP (listener in the web server), one "
        f"ORU^R01 per second each for {TICKS} s, {SESSIONS} open live charts, "
        f"{DESATURATING} desaturating [{before} before, {_load()} after]:",
        flush=True,
    )
    for problem in failed[:3]:
        print(f"  problem ({len(failed)} in all): {problem}")
    print(f"  readings acknowledged AA: {stored} of {SESSIONS * TICKS}")
    for what in ("stored", "observation pushed", "alert pushed"):
        label = "ACK received" if what == "stored" else what
        print(f"  arrival → {label}: {_q(out[what])}", flush=True)
    cpu_ms = out["server CPU per reading"][0] * 1000
    print(
        f"  server process CPU (user + system: listener, storing, charts' streams) per reading: "
        f"{cpu_ms:.1f} ms",
        flush=True,
    )


def profile(url: str, rounds: int = 10, top: int = 25) -> None:
    """The per-message server path (gateway handler: parse, match, store, alerts, audit, commit).

    In this process under cProfile (the listener's worker threads are not seen
    by cProfile in the server), ``rounds`` messages per session, one after the
    other; prints the top functions by own time and by cumulative time.
    """
    ids, desaturating, first_at = _seeded(url)
    settings = _settings(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction.action(factory, actor=SYSTEM, clock=SystemClock()) as ctx:
        actor = hl7_service.gateway_actor(ctx=ctx, username=USERNAME)
    handle, _ = hl7_service.gateway_handlers(factory, settings, actor, SystemClock())
    messages = [
        oru_r01(f"B-{i}", first_at + timedelta(seconds=k),
                LOW_SPO2 if sid in desaturating else NORMAL_SPO2, f"P{sid}T{k}")
        for k in range(2 * rounds) for i, sid in enumerate(ids)
    ]  # fmt: skip
    half = len(messages) // 2
    before = _load()
    started = time.process_time()
    for raw in messages[:half]:  # without the profiler first: its overhead is large
        handle(raw, "bench")
    plain_ms = (time.process_time() - started) * 1000 / half
    started = time.process_time()
    with cProfile.Profile() as p:
        for raw in messages[half:]:
            handle(raw, "bench")
    cpu_ms = (time.process_time() - started) * 1000 / half
    engine.dispose()
    print(f"profile: {half} messages through the gateway handler: {plain_ms:.1f} ms CPU each, "
          f"then {half} more under cProfile: {cpu_ms:.1f} ms each "
          f"[{before}, {_load()} after]")  # fmt: skip
    stream = io.StringIO()
    stats = pstats.Stats(p, stream=stream)
    stats.sort_stats("tottime").print_stats(top)  # where the time goes, library code included
    stats.sort_stats("cumulative").print_stats(r"exoneb|sqlite3|psycopg", top)  # our call tree
    print(stream.getvalue())


def main() -> None:
    if sys.argv[1:2] == ["--profile"]:
        with tempfile.TemporaryDirectory() as tmp:
            profile(f"sqlite:///{tmp}/profile.db")
        return
    with tempfile.TemporaryDirectory() as tmp:
        _report("SQLite", f"sqlite:///{tmp}/hl7.db")
    with throwaway_postgres(("hl7",)) as server:
        if server is not None:
            _report("PostgreSQL", f"{server}/hl7")


if __name__ == "__main__":
    sys.exit(main())
