"""``exoneb information check`` and the EXONEB_INFORMATION_DIR setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from exoneb.cli import _register, app
from exoneb.core.config import Settings, get_settings
from exoneb.information.content import Library


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.delenv("EXONEB_INFORMATION_DIR", raising=False)
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


def test_check_lists_each_language_with_version_and_hash(cli: CliRunner) -> None:
    result = cli.invoke(app, ["information", "check"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("en  English  version 1.0 (2026-11-29)  sha256 ")
    assert Library().leaflet("en").sha256[:12] in lines[0]
    assert lines[1].startswith("de  Deutsch  version 1.0")


def test_check_names_the_broken_clinic_file(cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "en" / "contact.md"
    broken.parent.mkdir()
    broken.write_text("---\nlanguage: en\n---\nCall us.\n", encoding="utf-8")
    result = cli.invoke(app, ["information", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{broken}: version: Field required" in result.output


def test_a_missing_information_folder_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a folder"):
        Settings(information_dir=tmp_path / "typo")
    assert Settings(information_dir=tmp_path).information_dir == tmp_path
