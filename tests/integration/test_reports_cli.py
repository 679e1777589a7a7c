"""``exoneb export fhir|csv``: runs as a named staff account, permission-checked and audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from exoneb.accounts.permissions import Role
from exoneb.cli import _register, app
from exoneb.core.audit import AuditEvent
from exoneb.core.config import get_settings
from exoneb.reports import fhir, tables

from .conftest import PASSWORD, World
from .test_reports_service import signed_session


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner on the world's database, with the staff password in the environment."""
    monkeypatch.setenv("EXONEB_DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("EXONEB_CHEAP_PASSWORD_HASHING", "true")
    monkeypatch.setenv("EXONEB_EXPORT_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


def test_export_fhir_and_csv_as_a_coordinator(cli: CliRunner, world: World, tmp_path: Path) -> None:
    signed_session(world)
    user = world.users[Role.COORDINATOR].username
    out = tmp_path / "bundle.json"
    done = cli.invoke(app, ["export", "fhir", "--user", user, "--protocol", "demo-exo-01",
                            "--out", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.output
    bundle = json.loads(out.read_text())
    assert fhir.validate(bundle) == []
    table = cli.invoke(app, ["export", "csv", "--user", user, "--table", "sessions",
                             "--protocol", "demo-exo-01"])  # fmt: skip
    assert table.exit_code == 0, table.output
    header = next(csv.reader(io.StringIO(table.stdout)))
    assert header == [c.name for c in tables.DICTIONARY["sessions"]]
    with world.factory() as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.action.like("export.%"))).all()
    assert [(r.action, r.actor_username) for r in rows] == [
        ("export.fhir", user), ("export.csv", user)]  # fmt: skip


def test_export_refused_for_a_nurse_and_for_a_wrong_password(
    cli: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    nurse = world.users[Role.NURSE].username
    refused = cli.invoke(app, ["export", "fhir", "--user", nurse, "--protocol", "demo-exo-01"])
    assert refused.exit_code == 1
    assert "may not do this (data.export)" in refused.output
    monkeypatch.setenv("EXONEB_EXPORT_PASSWORD", "wrong")
    coordinator = world.users[Role.COORDINATOR].username
    wrong = cli.invoke(app, ["export", "fhir", "--user", coordinator, "--patient", "1"])
    assert wrong.exit_code == 1
    assert "wrong password" in wrong.output
    both = cli.invoke(app, ["export", "fhir", "--user", coordinator])
    assert both.exit_code == 2
