"""Schema migrations as functions: upgrade, downgrade, and the model-drift check.

The Alembic scripts live inside the package (``exoneb/core/migrations``) so an
installed exoneb can migrate its own database with ``exoneb db upgrade``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from exoneb.core.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged scripts and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the database at ``url`` down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest revision the packaged scripts define."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def drift(url: str) -> list[Any]:
    """Differences between the models and the migrated schema (empty = no drift)."""
    from exoneb.core.db import Base

    _import_models()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _import_models() -> None:
    """Register every table on ``Base.metadata`` (tooling only; see docs/architecture.md)."""
    import exoneb.accounts.models
    import exoneb.assessment.models
    import exoneb.core.audit
    import exoneb.inhalation.models
    import exoneb.monitoring.models
    import exoneb.patients.models
    import exoneb.preparation.models
    import exoneb.sessions.models  # noqa: F401
