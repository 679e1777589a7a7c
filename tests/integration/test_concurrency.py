"""Concurrent writers: the audit chain stays linear, and races become 409s, not 500s."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from exoneb.accounts.permissions import Role
from exoneb.core import audit
from exoneb.core.audit import verify_chain
from exoneb.core.errors import Conflict, DuplicateRecord
from exoneb.patients import service as patients
from exoneb.patients.schemas import PatientUpdate

from .conftest import World
from .factories import patient_data

# SQLite serialises writers (every transaction begins IMMEDIATE), so these two races
# can only happen on PostgreSQL; the tests run there only.
POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)], indirect=True
)


def test_parallel_audit_appends_keep_one_chain(world: World) -> None:
    def append_many(worker: int) -> None:
        for i in range(10):
            with world.action(Role.NURSE) as ctx:
                audit.record(ctx=ctx, action="test.parallel", entity_id=f"{worker}-{i}")

    with world.factory() as db:
        before = verify_chain(db).rows_checked
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append_many, range(6)))
    with world.factory() as db:
        report = verify_chain(db)
    assert report.ok, report.problem
    assert report.rows_checked == before + 60


@POSTGRES_ONLY
def test_simultaneous_edits_of_one_record_are_a_conflict(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        patient_id = patients.create_patient(ctx=ctx, data=patient_data()).id
    loaded, committed = threading.Event(), threading.Event()
    data = patient_data().model_dump(exclude={"mrn"})
    outcome: list[BaseException] = []

    def slow_editor() -> None:
        try:
            with world.action(Role.NURSE) as ctx:
                patients.load_visible(ctx, patient_id)  # reads version 1
                loaded.set()
                committed.wait(10)
                patients.update_patient(
                    ctx=ctx,
                    patient_id=patient_id,
                    data=PatientUpdate(**data | {"weight_kg": 50}, version=1),
                )
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=slow_editor)
    thread.start()
    loaded.wait(10)
    with world.action(Role.PHYSICIAN) as ctx:
        patients.update_patient(
            ctx=ctx,
            patient_id=patient_id,
            data=PatientUpdate(**data | {"weight_kg": 70}, version=1),
        )
    committed.set()
    thread.join(10)
    assert len(outcome) == 1
    # Either the service's version check or the database's version guard catches it.
    assert isinstance(outcome[0], Conflict)
    assert "reload" in str(outcome[0]).lower()
    with world.action(Role.NURSE) as ctx:
        assert patients.get_patient(ctx=ctx, patient_id=patient_id).weight_kg == 70


@POSTGRES_ONLY
def test_simultaneous_registration_of_one_mrn_is_a_duplicate(world: World) -> None:
    flushed = threading.Event()
    outcome: list[BaseException] = []

    def second_clerk() -> None:
        flushed.wait(10)
        try:
            with world.action(Role.COORDINATOR) as ctx:
                patients.create_patient(ctx=ctx, data=patient_data("RACE-1"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=second_clerk)
    thread.start()
    with world.action(Role.NURSE) as ctx:
        patients.create_patient(ctx=ctx, data=patient_data("RACE-1"))
        flushed.set()
        thread.join(0.5)  # the second insert now waits on the unique index
    thread.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], DuplicateRecord)


def test_a_stale_row_at_flush_becomes_a_conflict(world: World) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    with pytest.raises(Conflict, match="same moment"), world.action(Role.NURSE):
        raise StaleDataError("UPDATE statement on table 'patient' expected to update 1 row(s)")
