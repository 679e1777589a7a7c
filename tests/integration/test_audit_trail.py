"""The audit trail is append-only in the database and its hash chain exposes tampering."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from exoneb.accounts.permissions import Role
from exoneb.cli import _register, app
from exoneb.core.audit import verify_chain
from exoneb.core.db import make_engine

from .conftest import World
from .factories import planned_session


def _audited_world(world: World) -> None:
    planned_session(world)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET reason = 'edited' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
    ],
)
def test_update_and_delete_are_refused_by_the_database(world: World, statement: str) -> None:
    engine = world.factory.kw["bind"]
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with world.factory() as db:
        assert db.execute(text("SELECT reason FROM audit_event WHERE seq = 1")).scalar() is None


def _bypass_triggers(conn: Connection) -> None:
    """What an attacker with database access would do first."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("DROP TRIGGER audit_event_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))


def _tamper(world: World, *statements: str) -> None:
    engine = world.factory.kw["bind"]
    with engine.begin() as conn:
        _bypass_triggers(conn)
        for statement in statements:
            conn.execute(text(statement))


def test_intact_chain_verifies(world: World) -> None:
    _audited_world(world)
    with world.factory() as db:
        report = verify_chain(db)
    assert report.ok
    assert report.rows_checked > 10


def test_edited_row_is_found(world: World) -> None:
    _audited_world(world)
    _tamper(world, "UPDATE audit_event SET reason = 'nothing happened' WHERE seq = 5")
    with world.factory() as db:
        report = verify_chain(db)
    assert not report.ok
    assert report.first_bad_seq == 5
    assert "edited" in (report.problem or "")


def test_edited_row_with_recomputed_hash_breaks_the_next_link(world: World) -> None:
    _audited_world(world)
    _tamper(world, "UPDATE audit_event SET row_hash = 'f' || substr(row_hash, 2) WHERE seq = 6")
    with world.factory() as db:
        report = verify_chain(db)
    assert not report.ok
    assert report.first_bad_seq == 6


def test_deleted_row_is_found(world: World) -> None:
    _audited_world(world)
    _tamper(world, "DELETE FROM audit_event WHERE seq = 7")
    with world.factory() as db:
        report = verify_chain(db)
    assert not report.ok
    assert report.first_bad_seq == 7
    assert "missing" in (report.problem or "")


def test_reordered_rows_are_found(world: World) -> None:
    _audited_world(world)
    _tamper(
        world,
        "UPDATE audit_event SET seq = -1 WHERE seq = 8",
        "UPDATE audit_event SET seq = 8 WHERE seq = 9",
        "UPDATE audit_event SET seq = 9 WHERE seq = -1",
    )
    with world.factory() as db:
        report = verify_chain(db)
    assert not report.ok
    assert report.first_bad_seq == 8


def test_cli_audit_verify_reports_tampering(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _audited_world(world)
    monkeypatch.setenv("EXONEB_DATABASE_URL", world.settings.database_url)
    from exoneb.core.config import get_settings

    get_settings.cache_clear()
    _register()
    runner = CliRunner()
    try:
        ok = runner.invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0
        assert "hash chain intact" in ok.output
        _tamper(world, "UPDATE audit_event SET action = 'patient.read' WHERE seq = 3")
        bad = runner.invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1
        assert "first bad row: 3" in bad.output
    finally:
        get_settings.cache_clear()


def test_data_rows_cannot_take_audit_rows_with_them(world: World) -> None:
    """Even a raw delete of a patient (never done by exoneb) leaves its audit rows."""
    patient_id, _ = planned_session(world)
    with world.factory() as db:
        before = db.execute(
            text("SELECT count(*) FROM audit_event WHERE patient_id = :p"), {"p": patient_id}
        ).scalar()
    assert before
    assert before >= 4
    engine = make_engine(world.settings.database_url)
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("DELETE FROM patient WHERE id = :p"), {"p": patient_id})
    engine.dispose()
    with world.action(Role.AUDITOR) as ctx:
        after = ctx.db.execute(
            text("SELECT count(*) FROM audit_event WHERE patient_id = :p"), {"p": patient_id}
        ).scalar()
    assert after == before
