"""The set-based insert of the ingest hot path stores exactly what the ORM would (both databases).

``exoneb.core.bulk.insert_rows`` bypasses the ORM's per-row work (executemany
on SQLite, COPY on PostgreSQL), so these tests compare what it stores, byte
for byte as the database returns it, with a row the ORM stored from the same
values, and check the ids it hands out and that a rollback removes its rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from exoneb.accounts.permissions import Role
from exoneb.core import bulk
from exoneb.core.errors import InvalidInput
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.models import ObservationRecord
from exoneb.monitoring.schemas import ObservationBatchIn, ObservationIn

from .conftest import World
from .monitoring_world import monitored_session

COLUMNS = monitoring._BATCH_COLUMNS


def _row(session_id: int, patient_id: int, world: World, k: int) -> tuple[Any, ...]:
    at = world.clock.now() - timedelta(seconds=30 - k, microseconds=250_000)
    values = {
        "session_id": session_id, "patient_id": patient_id, "observed_at": at,
        "source": "device", "device_id": "ox-1", "hl7_message_id": None, "spo2_pct": 96.5,
        "heart_rate_per_min": 81.0, "resp_rate_per_min": None, "sbp_mmhg": 120.0,
        "dbp_mmhg": None, "temperature_c": 36.6, "fev1_l": 2.45, "pef_l_per_min": None,
        "respiratory_symptoms": None, "wheeze": False, "stridor": True, "symptom_grade": 1,
        "signal_ok": True, "saba_given": False, "note": "ünïcode note", "recorded_at": at,
        "recorded_by_id": None, "recorded_by": "Nurse N",
    }  # fmt: skip
    assert tuple(values) == COLUMNS
    return tuple(values.values())


def _raw(world: World, ids: list[int]) -> list[tuple[Any, ...]]:
    """The stored values as the database gives them back (timestamps as text on PostgreSQL)."""
    postgres = not world.settings.database_url.startswith("sqlite")
    cols = ", ".join(f"{c}::text" if postgres and c.endswith("_at") else c for c in COLUMNS)
    wanted = ", ".join(str(int(i)) for i in ids)
    sql = f"SELECT {cols} FROM monitoring_observation WHERE id IN ({wanted}) ORDER BY id"
    with world.ctx_db() as db:
        return [tuple(r) for r in db.execute(text(sql))]


def _patient_of(world: World, session_id: int) -> int:
    with world.ctx_db() as db:
        found = db.scalar(
            text("SELECT patient_id FROM therapy_session WHERE id = :s"), {"s": session_id}
        )
    assert isinstance(found, int)
    return found


def test_bulk_rows_are_stored_as_the_orm_stores_them(world: World) -> None:
    session_id, _ = monitored_session(world)
    patient_id = _patient_of(world, session_id)
    rows = [_row(session_id, patient_id, world, k) for k in range(3)]
    with world.ctx_db() as db, db.begin():
        orm = ObservationRecord(**dict(zip(COLUMNS, rows[0], strict=True)))
        db.add(orm)
        db.flush()
        orm_id = orm.id
        ids = bulk.insert_rows(db, ObservationRecord, COLUMNS, rows)
        later = ObservationRecord(**dict(zip(COLUMNS, rows[1], strict=True)))
        db.add(later)
        db.flush()  # the ORM's next id does not collide with the ones handed out
        later_id = later.id
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert min(ids) > orm_id
    assert later_id > max(ids)
    stored = _raw(world, [orm_id, *ids])
    assert stored[1] == stored[0]  # same values, same stored form
    assert [r[2] for r in stored[1:]] == sorted(r[2] for r in stored[1:])  # ids follow row order


def test_a_rolled_back_bulk_insert_leaves_nothing(world: World) -> None:
    session_id, _ = monitored_session(world)
    patient_id = _patient_of(world, session_id)
    with world.ctx_db() as db:
        before = db.scalar(text("SELECT count(*) FROM monitoring_observation"))
    row = _row(session_id, patient_id, world, 0)
    with world.ctx_db() as db:
        transaction = db.begin()
        ids = bulk.insert_rows(db, ObservationRecord, COLUMNS, [row])
        assert len(ids) == 1
        transaction.rollback()
    with world.ctx_db() as db:
        assert db.scalar(text("SELECT count(*) FROM monitoring_observation")) == before


def test_a_batch_reading_out_of_range_is_named_and_nothing_is_stored(world: World) -> None:
    session_id, _ = monitored_session(world)
    with world.ctx_db() as db:
        before = db.scalar(text("SELECT count(*) FROM monitoring_observation"))
    now = world.clock.now()
    batch = ObservationBatchIn(device_id="ox-1", observations=[
        ObservationIn(observed_at=now - timedelta(seconds=2), spo2_pct=97),
        ObservationIn(observed_at=now - timedelta(seconds=1), spo2_pct=101),
    ])  # fmt: skip
    with pytest.raises(InvalidInput) as refused, world.action(Role.NURSE) as ctx:
        monitoring.ingest_batch(ctx=ctx, settings=world.settings, session_id=session_id, data=batch)
    assert refused.value.field == "observations.1.spo2_pct"
    assert "spo2_pct=101" in refused.value.message
    with world.ctx_db() as db:
        assert db.scalar(text("SELECT count(*) FROM monitoring_observation")) == before
