"""``make bench``: monitoring ingest throughput and alert evaluation latency (issue 7).

Reports, on SQLite (a file, WAL, ``synchronous=FULL``) and — when PostgreSQL
binaries are installed — on a throwaway PostgreSQL cluster:

1. *ingest*: device batches of 1,000 observations into one monitored session
   through ``monitoring.service.ingest_batch`` (validation, insert, one audit
   row, alert evaluation, commit), observations per second of wall time;
2. *alert latency*: 50 sessions monitored at once, each already holding
   10 minutes of 1 Hz readings; every second of simulated time each session
   receives one reading (a few fall below the SpO2 floor), and the time from
   the reading arriving to its transaction committing — observation stored,
   alert rules evaluated, any alert stored — is recorded: p50, p99, max.
   A screen sees a stored alert at its next poll of the stored rows (the live
   chart polls every ``monitoring.pages.POLL_S`` seconds), so "pushed" adds
   at most that interval.

Goals (issue 7): ≥ 5,000 observations/s ingest; p99 < 100 ms from arrival to
alert stored and pushed with 50 sessions. Speed is never asserted in tests.
The sessions are inserted straight into the tables (no assessment), so the
rules needing a baseline are skipped; the others run as in the clinic.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from exoneb.accounts import service as accounts
from exoneb.core import migrate, transaction
from exoneb.core.clock import FrozenClock
from exoneb.core.config import Settings
from exoneb.core.context import SYSTEM, Actor
from exoneb.core.db import make_engine, make_session_factory
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.pages import POLL_S
from exoneb.monitoring.schemas import ObservationBatchIn, ObservationIn
from exoneb.patients import service as patients
from exoneb.patients.schemas import ConsentCreate, EnrolmentCreate, PatientCreate
from exoneb.sessions.models import SessionTransition, TherapySession

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1_000
BATCHES = 20
SESSIONS = 50
HISTORY_S = 600
TICKS = 60
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


Setup = tuple[Settings, "sessionmaker[DbSession]", Actor, list[int], FrozenClock]


def _setup(url: str, sessions: int) -> Setup:
    migrate.upgrade(url)
    settings = Settings(environment="test", database_url=url, cheap_password_hashing=True)  # type: ignore[call-arg]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FrozenClock(T0)
    with transaction.action(factory, actor=SYSTEM, clock=clock) as ctx:
        site = accounts.create_site(ctx=ctx, code="B1", name="Bench")
        user = accounts.create_user(
            ctx=ctx, settings=settings, username="benchnurse", full_name="Bench Nurse",
            role="physician", site_id=site.id, password="bench password 1",
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
                planned_for=T0, created_at=T0, created_by="bench", updated_at=T0,
                updated_by="bench",
            )  # fmt: skip
            ctx.db.add(s)
            ctx.db.flush()
            for state, at in (("inhaling", T0 - timedelta(minutes=10)), ("monitoring", T0)):
                ctx.db.add(SessionTransition(session_id=s.id, to_state=state, at=at,
                                             actor_name="bench"))  # fmt: skip
            ids.append(s.id)
    return settings, factory, actor, ids, clock


def _batch(start: datetime, n: int, spo2: float = 96.0) -> ObservationBatchIn:
    return ObservationBatchIn(device_id="bench-ox", observations=[
        ObservationIn(observed_at=start + timedelta(seconds=k), spo2_pct=spo2,
                      heart_rate_per_min=80.0) for k in range(n)
    ])  # fmt: skip


def bench_ingest(url: str) -> float:
    settings, factory, actor, ids, clock = _setup(url, 1)
    clock.advance(timedelta(seconds=BATCH * BATCHES + 60))
    started = time.perf_counter()
    for b in range(BATCHES):
        with transaction.action(factory, actor=actor, clock=clock) as ctx:
            start = T0 + timedelta(seconds=b * BATCH)
            monitoring.ingest_batch(
                ctx=ctx, settings=settings, session_id=ids[0], data=_batch(start, BATCH)
            )
    return BATCH * BATCHES / (time.perf_counter() - started)


def bench_latency(url: str) -> tuple[list[float], int]:
    settings, factory, actor, ids, clock = _setup(url, SESSIONS)
    clock.advance(timedelta(seconds=HISTORY_S + TICKS + 5))
    for sid in ids:
        with transaction.action(factory, actor=actor, clock=clock) as ctx:
            monitoring.ingest_batch(ctx=ctx, settings=settings, session_id=sid,
                                    data=_batch(T0, HISTORY_S))  # fmt: skip
    latencies, alerts = [], 0
    for tick in range(TICKS):
        at = T0 + timedelta(seconds=HISTORY_S + tick)
        for i, sid in enumerate(ids):
            spo2 = 86.0 if i % 10 == 0 and tick >= 20 else 96.0  # 5 sessions desaturate
            started = time.perf_counter()
            with transaction.action(factory, actor=actor, clock=clock) as ctx:
                _, raised = monitoring.ingest_batch(
                    ctx=ctx, settings=settings, session_id=sid, data=_batch(at, 1, spo2)
                )
            latencies.append((time.perf_counter() - started) * 1000)
            alerts += len(raised)
    return latencies, alerts


def _report(name: str, url: str) -> None:
    rate = bench_ingest(url)
    print(f"{name}: ingest {rate:,.0f} observations/s (batches of {BATCH}, {BATCHES} batches)")
    lat, alerts = bench_latency(url.replace("bench1", "bench2"))
    q = statistics.quantiles(lat, n=100)
    print(
        f"{name}: arrival → stored (+ alert rules, alert stored) with {SESSIONS} sessions, "
        f"{len(lat)} readings, {alerts} alerts raised: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, "
        f"max {max(lat):.1f} ms; a screen sees it at its next poll (≤ {POLL_S:g} s)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _report("SQLite", f"sqlite:///{tmp}/bench1.db")
    if os.environ.get("EXONEB_BENCH_SKIP_POSTGRES"):
        return
    try:
        subprocess.run(["initdb", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        print("PostgreSQL: initdb not found; skipped")
        return
    pgdir = tempfile.mkdtemp(prefix="exoneb-bench-pg.")
    script = str(ROOT / "scripts" / "postgres.sh")
    try:
        base = subprocess.run([script, "start", pgdir], capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
        admin = make_engine(base.rsplit("/", 1)[0] + "/postgres")
        from sqlalchemy import text

        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for db in ("bench1", "bench2"):
                conn.execute(text(f"CREATE DATABASE {db}"))
        admin.dispose()
        _report("PostgreSQL", base.rsplit("/", 1)[0] + "/bench1")
    finally:
        subprocess.run([script, "stop", pgdir], capture_output=True, check=False)


if __name__ == "__main__":
    sys.exit(main())
