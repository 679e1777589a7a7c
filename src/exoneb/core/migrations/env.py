"""Alembic environment for exoneb; run through ``exoneb db upgrade`` (see ``core.migrate``).

Every model module must be imported here so autogenerate and the drift check
see its tables. Step packages add one import line when they add tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import exoneb.accounts.models
import exoneb.assessment.models
import exoneb.core.audit
import exoneb.inhalation.models
import exoneb.monitoring.escalation_models
import exoneb.monitoring.models
import exoneb.patients.models
import exoneb.preparation.models
import exoneb.sessions.models  # noqa: F401
from exoneb.core.db import Base, make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys(conn: Connection, on: bool) -> None:
    """Batch migrations rebuild tables; SQLite only allows that with foreign keys off.

    The PRAGMA is ignored inside a transaction, so it goes straight to the driver
    connection, before Alembic begins; afterwards every reference is re-checked.
    """
    driver = conn.connection.driver_connection
    assert driver is not None
    if on:
        problems = driver.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"migration left broken foreign keys: {problems}")
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def run_migrations_online() -> None:
    """Migrate on the given connection, or on a new engine for the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(conn, on=False)
        _run(conn)
        if sqlite:
            _sqlite_foreign_keys(conn, on=True)
    engine.dispose()


run_migrations_online()
