"""Migration 0013 on both databases: existing sites get the configured default time zone,
an unknown configured zone stops the upgrade, and given-up calls go back to open on downgrade."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from exoneb.core import migrate
from exoneb.core.db import make_engine


def _sites(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(text("SELECT code, time_zone FROM site"))]
    finally:
        engine.dispose()


def _add_site_before_0013(url: str) -> None:
    migrate.downgrade(url, "0012")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO site (code, name) VALUES ('OLD', 'Old site')"))
    finally:
        engine.dispose()


def test_existing_sites_get_the_configured_default_zone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_site_before_0013(db_url)
    monkeypatch.setenv("EXONEB_SITE_TIME_ZONE", "Europe/London")
    migrate.upgrade(db_url)
    assert _sites(db_url) == [("OLD", "Europe/London")]
    assert migrate.drift(db_url) == []


def test_an_unknown_configured_zone_stops_the_upgrade(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_site_before_0013(db_url)
    monkeypatch.setenv("EXONEB_SITE_TIME_ZONE", "CET+1")
    with pytest.raises(RuntimeError, match="EXONEB_SITE_TIME_ZONE: Unknown time zone 'CET\\+1'"):
        migrate.upgrade(db_url)
    monkeypatch.delenv("EXONEB_SITE_TIME_ZONE")
    migrate.upgrade(db_url)
    assert _sites(db_url) == [("OLD", "UTC")]
