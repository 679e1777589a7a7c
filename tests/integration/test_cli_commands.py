"""The command line: db upgrade and check, user add, demo, audit verify, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from exoneb.accounts.models import User
from exoneb.cli import _register, app
from exoneb.core.audit import AuditEvent
from exoneb.core.config import get_settings
from exoneb.core.db import make_engine, make_session_factory


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner pointed at a fresh, migrated database."""
    monkeypatch.setenv("EXONEB_DATABASE_URL", db_url)
    monkeypatch.setenv("EXONEB_CHEAP_PASSWORD_HASHING", "true")
    monkeypatch.setenv("EXONEB_DEMO_PASSWORD", "demo password for tests")
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


def _count(db_url: str, stmt) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as db:
            return int(db.scalar(stmt) or 0)
    finally:
        engine.dispose()


def test_db_upgrade_and_check(cli: CliRunner) -> None:
    upgraded = cli.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    checked = cli.invoke(app, ["db", "check"])
    assert checked.exit_code == 0
    assert "No drift" in checked.output


def test_user_add_creates_an_audited_account(cli: CliRunner, db_url: str) -> None:
    result = cli.invoke(
        app, ["user", "add", "n.nurse", "--role", "nurse", "--name", "Nia Nurse", "--site", "S9",
              "--password", "a long enough password"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created n.nurse (nurse) at site S9." in result.output
    assert _count(db_url, select(func.count(User.id))) == 1
    actions = {"site.create", "user.create"}
    assert _count(db_url, select(func.count()).where(AuditEvent.action.in_(actions))) == 2
    again = cli.invoke(
        app, ["user", "add", "n.nurse", "--role", "nurse", "--name", "X", "--site", "S9",
              "--password", "a long enough password"],
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already taken" in again.output
    weak = cli.invoke(
        app, ["user", "add", "other", "--role", "auditor", "--name", "O", "--site", "S9",
              "--password", "short"],
    )  # fmt: skip
    assert weak.exit_code == 1
    assert "at least 10 characters" in weak.output


def test_demo_seeds_once_and_prints_logins(cli: CliRunner, db_url: str) -> None:
    first = cli.invoke(app, ["demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    for username in ("admin", "dr.demo", "nurse", "pharmacist", "coordinator", "auditor"):
        assert username in first.output
    assert "from EXONEB_DEMO_PASSWORD" in first.output
    assert _count(db_url, select(func.count(User.id))) == 6
    second = cli.invoke(app, ["demo", "--if-empty"])
    assert second.exit_code == 0
    assert _count(db_url, select(func.count(User.id))) == 6
    refused = cli.invoke(app, ["demo"])
    assert refused.exit_code == 1
    verify = cli.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 0
    assert "hash chain intact" in verify.output
