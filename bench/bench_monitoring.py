"""``make bench``: monitoring ingest throughput and arrival → alert stored → pushed (issue 7).

Reports, on SQLite (a file, WAL, ``synchronous=FULL``) and — when PostgreSQL
binaries are installed — on a throwaway PostgreSQL cluster, with the machine's
load average printed next to the numbers:

1. *ingest*: device batches (of 100 and of 500 readings, spread over 10
   monitored sessions) through ``monitoring.service.ingest_batch`` — request
   parsing into the Pydantic schema, validation, set-based insert, one audit
   row per batch, alert evaluation, commit — observations per second of wall
   time;
2. *arrival → stored → pushed, in process*: 50 sessions monitored at once,
   each with 10 minutes of 1 Hz history and a subscriber that listens through
   the real push (``push.waker``, in its own event loop, as the SSE stream
   does) and re-reads the stored rows (``service.live``, in a worker thread,
   read-only, with the stream's fallback interval) when woken; 30 rounds
   of one reading per session, stored one after the other through the
   service; 10 sessions are desaturating, so their SpO2 alert is raised during
   the run and updated by every later reading. *stored* = committed;
   *pushed* = the subscriber's re-read returned the new observation (and the
   alert). p50 / p95 / p99 / max.
3. *arrival → stored → pushed, over HTTP*: the real web app served by uvicorn
   in a subprocess; the same 50 sessions each with an open live chart (the
   SSE stream ``/sessions/{id}/monitoring/stream``, read by an HTTP client);
   for ``TICKS`` seconds every session's monitor takes one reading a second
   (50 readings/s in all), posted to the batch API at the session's own
   offset, either every 5 s (the last five readings: 10 requests/s, as a
   gateway forwarding its monitors' numerics) or every second (one reading:
   50 requests/s). *stored* = the API answered; *pushed* = the chart's stream
   delivered the newest observation and — for the desaturating sessions — the
   alert. The server process's CPU per reading is printed: above ~1 s of CPU
   per second the one process cannot keep up and the latencies measure its
   queue.

Goals (issue 7): ≥ 5,000 observations/s ingest; p99 < 100 ms from arrival to
alert stored and pushed with 50 sessions. Speed is never asserted in tests.
The sessions are inserted straight into the tables (no assessment), so the
rules needing a baseline are skipped; the others run as in the clinic.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from exoneb.accounts import service as accounts
from exoneb.core import migrate, transaction
from exoneb.core.clock import FrozenClock
from exoneb.core.config import Settings
from exoneb.core.context import SYSTEM, Actor
from exoneb.core.db import make_engine, make_session_factory
from exoneb.monitoring import (
    escalation_gate,  # noqa: F401  (the enrolment guard _setup needs)
    push,
)
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.pages import PG_FALLBACK_S, POLL_S
from exoneb.monitoring.schemas import ObservationBatchIn, ObservationIn
from exoneb.patients import service as patients
from exoneb.patients.schemas import ConsentCreate, EnrolmentCreate, PatientCreate
from exoneb.sessions.models import SessionTransition, TherapySession

ROOT = Path(__file__).resolve().parent.parent
INGEST = ((100, 100), (500, 40))  # (readings per device batch, batches), over INGEST_SESSIONS
INGEST_SESSIONS = 10
SESSIONS = int(os.environ.get("EXONEB_BENCH_SESSIONS", "50"))
DESATURATING = max(1, SESSIONS // 5)  # every 5th session: SpO2 86 % from 20 s before the live run
HISTORY_S = 600
TICKS = 30  # seconds of live readings (one per session per second)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USERNAME, PASSWORD = "benchnurse", "bench password 1"


Setup = tuple[Settings, "sessionmaker[DbSession]", Actor, list[int], FrozenClock]


def _settings(url: str) -> Settings:
    return Settings(environment="test", database_url=url, cheap_password_hashing=True)  # type: ignore[call-arg]


def _setup(url: str, sessions: int, t0: datetime = T0) -> Setup:
    migrate.upgrade(url)
    settings = _settings(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FrozenClock(t0)
    with transaction.action(factory, actor=SYSTEM, clock=clock) as ctx:
        site = accounts.create_site(ctx=ctx, code="B1", name="Bench", time_zone="UTC")
        user = accounts.create_user(
            ctx=ctx, settings=settings, username=USERNAME, full_name="Bench Nurse",
            role="physician", site_id=site.id, password=PASSWORD,
        )  # fmt: skip
        actor = accounts.actor_for(user)
    ids = []
    with transaction.action(factory, actor=actor, clock=clock) as ctx:
        for i in range(sessions):
            p = patients.create_patient(ctx=ctx, data=PatientCreate(
                mrn=f"B-{i}", family_name="Bench", given_name=f"P{i}", birth_date=date(1960, 1, 1),
                sex="female", height_cm=165, weight_kg=60))  # fmt: skip
            patients.record_consent(ctx=ctx, patient_id=p.id, data=ConsentCreate(
                document_version="ICF 1", consent_date=date(2026, 1, 1)))  # fmt: skip
            e = patients.enrol(ctx=ctx, settings=settings, patient_id=p.id, data=EnrolmentCreate(
                protocol_id="demo-exo-01", arm_code="DL1", authorisation_kind="IND",
                authorisation_number="IND-1", ethics_approval="EC-1"))  # fmt: skip
            s = TherapySession(
                patient_id=p.id, enrolment_id=e.id, protocol_id=e.protocol_id,
                protocol_version=e.protocol_version, arm_code=e.arm_code, state="monitoring",
                planned_for=t0, created_at=t0, created_by="bench", updated_at=t0,
                updated_by="bench",
            )  # fmt: skip
            ctx.db.add(s)
            ctx.db.flush()
            for state, at in (("inhaling", t0 - timedelta(minutes=10)), ("monitoring", t0)):
                ctx.db.add(SessionTransition(session_id=s.id, to_state=state, at=at,
                                             actor_name="bench"))  # fmt: skip
            ids.append(s.id)
    return settings, factory, actor, ids, clock


def _batch(start: datetime, n: int, spo2: float = 96.0) -> ObservationBatchIn:
    return ObservationBatchIn(device_id="bench-ox", observations=[
        ObservationIn(observed_at=start + timedelta(seconds=k), spo2_pct=spo2,
                      heart_rate_per_min=80.0) for k in range(n)
    ])  # fmt: skip


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} CPUs"


def bench_ingest(url: str, size: int, batches: int) -> float:
    """Device batches of ``size`` readings, round-robin over the sessions; observations/s."""
    settings, factory, actor, ids, clock = _setup(url, INGEST_SESSIONS)
    clock.advance(timedelta(seconds=size * batches + 60))
    raw = [  # what the devices send, as JSON: parsing it is part of the work measured
        _batch(T0 + timedelta(seconds=(b // len(ids)) * size), size).model_dump_json()
        for b in range(batches)
    ]
    started = time.perf_counter()
    for b, body in enumerate(raw):
        data = ObservationBatchIn.model_validate_json(body)
        with transaction.action(factory, actor=actor, clock=clock) as ctx:
            monitoring.ingest_batch(
                ctx=ctx, settings=settings, session_id=ids[b % len(ids)], data=data
            )
    return size * batches / (time.perf_counter() - started)


# --- arrival → stored → pushed, over the real web app --------------------------------------


def serve(url: str, port: int) -> None:
    """The web app on ``url`` (real clock), for the push bench: ``bench_monitoring.py --serve``."""
    import uvicorn

    from exoneb.web.app import create_app

    app = create_app(_settings(url))
    profile = os.environ.get("EXONEB_BENCH_PROFILE")  # a file: cProfile the server into it
    if not profile:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
        return
    import cProfile

    with cProfile.Profile() as p:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    p.dump_stats(profile)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Charts:
    """What the 50 live charts received, and when (perf_counter seconds)."""

    def __init__(self) -> None:
        self.observation_seen: dict[int, float] = {}
        self.alert_events: dict[int, list[tuple[float, set[int]]]] = defaultdict(list)
        self.listening: set[int] = set()

    async def read(self, client: httpx.AsyncClient, session_id: int) -> None:
        try:
            await self._read(client, session_id)
        except httpx.HTTPError as exc:  # a chart whose stream broke: its readings never arrive
            print(f"  the live chart of session {session_id} broke: {type(exc).__name__}")

    async def _read(self, client: httpx.AsyncClient, session_id: int) -> None:
        url = f"/sessions/{session_id}/monitoring/stream"
        async with client.stream("GET", url) as response:
            event = ""
            async for line in response.aiter_lines():
                now = time.perf_counter()
                if line == ": woke by listening":
                    self.listening.add(session_id)
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "observations":
                    for o in json.loads(line[6:]):
                        self.observation_seen.setdefault(o["id"], now)
                elif line.startswith("data: ") and event == "alerts":
                    ids = {a["id"] for a in json.loads(line[6:])}
                    self.alert_events[session_id].append((now, ids))


async def _push_run(
    base: str, ids: list[int], desaturating: set[int], server_pid: int, every_s: int, seconds: int
) -> dict[str, list[float]]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": USERNAME, "password": PASSWORD}
        )
        login.raise_for_status()
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        charts = _Charts()
        readers = []
        for sid in ids:  # the charts are opened one after the other, as staff open them
            readers.append(asyncio.create_task(charts.read(client, sid)))
            deadline = time.perf_counter() + 30
            while sid not in charts.listening and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
        sent: list[tuple[int, float, float, int, list[int]]] = []  # sid, sent, stored, obs, alerts
        failed: list[str] = []  # readings the server refused or dropped (reported, not hidden)

        async def post(sid: int) -> None:
            spo2 = 86.0 if sid in desaturating else 96.0
            now = datetime.now(UTC)  # the device's last ``every_s`` 1 Hz readings
            readings = [
                {"observed_at": (now - timedelta(seconds=every_s - 1 - k)).isoformat(),
                 "spo2_pct": spo2, "heart_rate_per_min": 80.0} for k in range(every_s)
            ]  # fmt: skip
            body = {"device_id": "bench-ox", "observations": readings}
            t = time.perf_counter()
            try:
                r = await client.post(
                    f"/api/v1/sessions/{sid}/observations/batch", json=body, headers=headers
                )
            except httpx.HTTPError as exc:
                failed.append(f"{type(exc).__name__}")
                return
            if r.status_code != 201:
                failed.append(f"HTTP {r.status_code}: {r.text[:120]}")
                return
            out = r.json()
            sent.append((sid, t, time.perf_counter(), out["last_id"], out["alerts_raised"]))

        posts = []
        cpu_before = _cpu_s(server_pid)
        start = time.perf_counter() + 0.2
        for tick in range(seconds // every_s):
            for i, sid in enumerate(ids):  # each device at its own offset within its period
                at = start + (tick + i / len(ids)) * every_s
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                posts.append(asyncio.create_task(post(sid)))
        await asyncio.gather(*posts)
        await asyncio.sleep(2.0)  # the last pushes
        server_cpu_s = _cpu_s(server_pid) - cpu_before
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    out: dict[str, list[float]] = defaultdict(list)
    out["failed"] = [float(len(failed))]
    if failed:
        print(f"  {len(failed)} of {len(failed) + len(sent)} readings failed, e.g. {failed[0]}")
    out["server CPU per reading"] = [server_cpu_s / max(1, len(sent) * every_s)]
    alerting: set[int] = set()  # sessions whose SpO2 alert has been raised
    for sid, t, stored, obs_id, raised in sorted(sent, key=lambda x: x[1]):
        out["stored"].append(stored - t)
        seen = charts.observation_seen.get(obs_id)
        out["observation pushed"].append((seen - t) if seen is not None else float("inf"))
        if raised:
            alerting.add(sid)
        if sid in alerting:  # this reading raised or updated the alert: the chart's next alerts
            later = [at for at, alert_ids in charts.alert_events[sid] if at >= t and alert_ids]
            out["alert pushed"].append((min(later) - t) if later else float("inf"))
    return out


def bench_push(url: str, every_s: int = 1, seconds: int = TICKS) -> dict[str, list[float]]:
    """50 sessions with live charts, 1 Hz readings posted every ``every_s`` s; latencies in s."""
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(seconds=HISTORY_S + 2)
    settings, factory, actor, ids, clock = _setup(url, SESSIONS, t0)
    clock.advance(timedelta(seconds=HISTORY_S + 2))
    desaturating = {sid for i, sid in enumerate(ids) if i % (SESSIONS // DESATURATING) == 0}
    for sid in ids:
        with transaction.action(factory, actor=actor, clock=clock) as ctx:
            low = sid in desaturating
            history = (
                _batch(t0, HISTORY_S - 20).observations
                + _batch(
                    t0 + timedelta(seconds=HISTORY_S - 20), 20, 86.0 if low else 96.0
                ).observations
            )
            monitoring.ingest_batch(ctx=ctx, settings=settings, session_id=sid,
                                    data=ObservationBatchIn(device_id="bench-ox",
                                                            observations=history))  # fmt: skip
    with served(url) as (base, pid, logged):
        out = asyncio.run(_push_run(base, ids, desaturating, pid, every_s, seconds))
    errors = [line for line in logged if line.startswith("unhandled error")]
    if errors:
        print(f"  the server logged {len(errors)} unhandled errors, e.g. {errors[0].strip()}")
    return out


@contextmanager
def served(url: str, env: Mapping[str, str] | None = None) -> Iterator[tuple[str, int, list[str]]]:
    """The web app on ``url`` in a subprocess (``--serve``), ready, until the block ends.

    Yields its base URL, its pid (for its CPU) and a list that holds the lines
    it wrote to stderr once it has stopped (its logged errors, for the report).
    """
    port = _free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed below) the server's errors
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, str(port)], cwd=ROOT, env=env, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    logged: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base, server.pid, logged
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.seek(0)
        logged.extend(log.read().splitlines())
        log.close()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_push_in_process(url: str) -> dict[str, list[float]]:
    """The same 50 sessions, one reading at a time through the service, each chart a real waker.

    Isolates the push from the web server's capacity: every reading is stored
    (``ingest_batch``, committed), then the session's subscriber — listening
    through :func:`exoneb.monitoring.push.waker` in its own event loop, as the
    SSE stream does — wakes and re-reads the stored rows (``service.live``);
    *pushed* is when that re-read returns the new observation (and the alert).
    """
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(seconds=HISTORY_S + 2)
    settings, factory, actor, ids, clock = _setup(url, SESSIONS, t0)
    clock.advance(timedelta(seconds=HISTORY_S + 2))
    desaturating = {sid for i, sid in enumerate(ids) if i % (SESSIONS // DESATURATING) == 0}
    for sid in ids:
        low = sid in desaturating
        history = (
            _batch(t0, HISTORY_S - 20).observations
            + _batch(t0 + timedelta(seconds=HISTORY_S - 20), 20, 86.0 if low else 96.0).observations
        )
        with transaction.action(factory, actor=actor, clock=clock) as ctx:
            monitoring.ingest_batch(ctx=ctx, settings=settings, session_id=sid,
                                    data=ObservationBatchIn(device_id="bench-ox",
                                                            observations=history))  # fmt: skip
    seen: dict[int, tuple[float, int, int]] = {}  # session → (time, last observation id, alerts)
    ready = threading.Event()
    arrived = threading.Condition()
    stop = threading.Event()

    # As the SSE stream does: the re-read in a worker thread (the event loop keeps receiving
    # notifications), read-only, and the stream's own fallback interval between wakes.
    fallback_s = POLL_S if url.startswith("sqlite") else PG_FALLBACK_S

    def reread(sid: int, last_id: int, since: datetime | None) -> monitoring.LiveUpdate:
        with transaction.action(factory, actor=actor, clock=clock, read_only=True) as ctx:
            return monitoring.live(ctx=ctx, session_id=sid, after_id=last_id, since=since)

    async def subscriber(sid: int, listening: list[int]) -> None:
        async with push.waker(settings.database_url, sid) as waker:
            listening.append(sid)
            last_id, since = 0, None
            while not stop.is_set():
                update = await asyncio.to_thread(reread, sid, last_id, since)
                last_id, since = update.last_id, update.since
                with arrived:
                    seen[sid] = (time.perf_counter(), last_id, len(update.alerts))
                    arrived.notify_all()
                await waker.wait(fallback_s)

    async def subscribers() -> None:
        listening: list[int] = []
        tasks = [asyncio.create_task(subscriber(sid, listening)) for sid in ids]
        while len(listening) < len(ids):
            await asyncio.sleep(0.01)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)

    thread = threading.Thread(target=lambda: asyncio.run(subscribers()), daemon=True)
    thread.start()
    ready.wait(60)
    time.sleep(0.5)
    out: dict[str, list[float]] = defaultdict(list)
    alerting: set[int] = set()
    for _tick in range(TICKS):
        for sid in ids:
            spo2 = 86.0 if sid in desaturating else 96.0
            clock.advance(timedelta(milliseconds=20))
            data = _batch(clock.now() - timedelta(seconds=1), 1, spo2)
            t = time.perf_counter()
            with transaction.action(factory, actor=actor, clock=clock) as ctx:
                new_ids, raised = monitoring.ingest_batch(
                    ctx=ctx, settings=settings, session_id=sid, data=data
                )
            stored = time.perf_counter()
            alerting.update([sid] if raised else [])
            with arrived:  # until the subscriber's re-read has the new row
                arrived.wait_for(
                    lambda sid=sid, first=new_ids[0]: seen.get(sid, (0, 0, 0))[1] >= first,
                    timeout=10,
                )
                at, _, alerts = seen.get(sid, (float("inf"), 0, 0))
            out["stored"].append(stored - t)
            out["observation pushed"].append(at - t)
            if sid in alerting:
                out["alert pushed"].append((at - t) if alerts else float("inf"))
    stop.set()
    thread.join(30)
    return out


def _q(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    if len(ms) < 2:
        return "no samples"
    q = statistics.quantiles(ms, n=100, method="inclusive")
    lost = sum(1 for v in ms if v == float("inf"))
    tail = f", {lost} never pushed" if lost else ""
    return (
        f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {ms[-1]:.1f} ms "
        f"(n={len(ms)}{tail})"
    )


def _report(name: str, url_of: dict[str, str]) -> None:
    for size, batches in INGEST:
        before = _load()
        rate = bench_ingest(url_of[f"ingest{size}"], size, batches)
        print(
            f"{name}: ingest {rate:,.0f} observations/s (device batches of {size}, {batches} "
            f"batches over {INGEST_SESSIONS} sessions) [{before}]",
            flush=True,
        )
    before = _load()
    out = bench_push_in_process(url_of["inproc"])
    print(f"{name}: {SESSIONS} sessions, each chart a push subscriber (waker + re-read) in this "
          f"process, readings stored one after the other through the service for {TICKS} "
          f"rounds [{before} before, {_load()} after]:")  # fmt: skip
    for what in ("stored", "observation pushed", "alert pushed"):
        print(f"  arrival → {what}: {_q(out[what])}", flush=True)
    for every_s, seconds in POST_EVERY_S:
        before = _load()
        out = bench_push(url_of[f"push{every_s}"], every_s, seconds)
        print(f"{name}: {SESSIONS} sessions with open live charts, 1 reading/s each, posted "
              f"every {every_s} s for {seconds} s ({SESSIONS / every_s:g} requests/s) "
              f"[{before} before, {_load()} after]:")  # fmt: skip
        for what in ("stored", "observation pushed", "alert pushed"):
            print(f"  arrival → {what}: {_q(out[what])}", flush=True)
        cpu_ms = out["server CPU per reading"][0] * 1000
        print(f"  server process CPU (user + system, requests and streams) per reading: "
              f"{cpu_ms:.1f} ms", flush=True)  # fmt: skip


#: (post every … s, for … s): a gateway forwarding each monitor's readings every 5 s (60 s
#: of it: 600 requests, 120 of them updating an alert); every reading on its own (30 s).
POST_EVERY_S = ((5, 60), (1, TICKS))
DATABASES = ("ingest100", "ingest500", "inproc", *(f"push{e}" for e, _ in POST_EVERY_S))


@contextmanager
def throwaway_postgres(databases: tuple[str, ...]) -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster (scripts/postgres.sh) with ``databases``; its server URL.

    ``None`` when PostgreSQL is skipped (``EXONEB_BENCH_SKIP_POSTGRES``) or not
    installed. The cluster is stopped on exit, whatever happens.
    """
    if os.environ.get("EXONEB_BENCH_SKIP_POSTGRES"):
        yield None
        return
    try:
        subprocess.run(["initdb", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        print("PostgreSQL: initdb not found; skipped")
        yield None
        return
    pgdir = tempfile.mkdtemp(prefix="exoneb-bench-pg.")
    script = str(ROOT / "scripts" / "postgres.sh")
    try:
        base = subprocess.run([script, "start", pgdir], capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
        server = base.rsplit("/", 1)[0]
        admin = make_engine(server + "/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for db in databases:
                conn.execute(text(f"CREATE DATABASE {db}"))
        admin.dispose()
        yield server
    finally:
        subprocess.run([script, "stop", pgdir], capture_output=True, check=False)


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        _report("SQLite", {d: f"sqlite:///{tmp}/{d}.db" for d in DATABASES})
    with throwaway_postgres(DATABASES) as server:
        if server is not None:
            _report("PostgreSQL", {d: f"{server}/{d}" for d in DATABASES})


if __name__ == "__main__":
    sys.exit(main())
