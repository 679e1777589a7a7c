"""Migrations: upgrade → no drift → downgrade → upgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from exoneb.core import migrate
from exoneb.core.db import make_engine


def test_round_trip_without_drift(db_url: str) -> None:
    assert migrate.drift(db_url) == []
    migrate.downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(db_url)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert migrate.head_revision() >= "0007"
        assert {"audit_event", "patient", "therapy_session", "assessment"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    assert migrate.drift(db_url) == []


def test_audit_table_has_no_foreign_keys(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert inspect(engine).get_foreign_keys("audit_event") == []
    finally:
        engine.dispose()
