"""One transaction per action: a failure part-way, or a crash, leaves nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from exoneb.accounts.permissions import Role
from exoneb.core import audit
from exoneb.core.audit import AuditEvent
from exoneb.core.db import make_engine
from exoneb.patients import service as patients
from exoneb.patients.models import Patient

from .conftest import World, seed_world
from .factories import patient_data


def _counts(world: World) -> tuple[int, int]:
    with world.factory() as db:
        return (
            db.scalar(select(func.count(Patient.id))) or 0,
            db.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def test_a_change_without_its_audit_row_is_not_saved(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _counts(world)

    def broken_audit(**_: object) -> None:
        raise RuntimeError("audit storage unavailable")

    monkeypatch.setattr(audit, "record", broken_audit)
    with pytest.raises(RuntimeError, match="audit storage"), world.action(Role.NURSE) as ctx:
        patients.create_patient(ctx=ctx, data=patient_data())
    assert _counts(world) == before


def test_sqlite_survives_a_crash_mid_transaction(tmp_path: Path, sqlite_template: Path) -> None:
    """A process killed inside a transaction leaves the committed rows and nothing else."""
    db = tmp_path / "crash.db"
    db.write_bytes(sqlite_template.read_bytes())
    world = seed_world(f"sqlite:///{db}")
    with world.action(Role.NURSE) as ctx:
        patients.create_patient(ctx=ctx, data=patient_data("KEPT-1"))
    world.factory.kw["bind"].dispose()
    child = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from exoneb.patients import service as patients
        from tests.integration.factories import patient_data
        from exoneb.core import transaction
        from exoneb.core.clock import FrozenClock
        from exoneb.core.context import Actor
        from exoneb.core.db import make_engine, make_session_factory
        factory = make_session_factory(make_engine("sqlite:///{db}"))
        actor = Actor(user_id=3, username="nurse1", role="nurse", site_id=1, full_name="Nurse One")
        with transaction.action(factory, actor=actor, clock=FrozenClock()) as ctx:
            patients.create_patient(ctx=ctx, data=patient_data("LOST-1"))
            ctx.db.flush()
            print("flushed", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "flushed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    reopened = make_engine(f"sqlite:///{db}")
    with reopened.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        mrns = set(conn.execute(text("SELECT mrn FROM patient")).scalars())
    reopened.dispose()
    assert mrns == {"KEPT-1"}
