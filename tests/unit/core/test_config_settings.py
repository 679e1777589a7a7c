"""Settings: environment prefix, URL rewriting, insecure defaults refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from exoneb.core.config import DEFAULT_DEMO_PASSWORD, Settings


def test_defaults_work_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXONEB_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///./exoneb.db"
    assert settings.idle_timeout_minutes == 15
    assert settings.absolute_timeout_hours == 12


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXONEB_DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("EXONEB_IDLE_TIMEOUT_MINUTES", "5")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.idle_timeout_minutes == 5


def test_production_refuses_insecure_defaults() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(environment="production", cheap_password_hashing=True)
    message = str(err.value)
    assert "CHEAP_PASSWORD_HASHING" in message
    assert "DEMO_PASSWORD" in message
    assert "SECURE_COOKIES" in message


def test_production_accepts_safe_settings() -> None:
    settings = Settings(
        environment="production",
        demo_password="not-" + DEFAULT_DEMO_PASSWORD,
        secure_cookies=True,
    )
    assert settings.environment == "production"


def test_site_time_zone_is_an_iana_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXONEB_SITE_TIME_ZONE", raising=False)
    assert Settings().site_time_zone == "UTC"
    monkeypatch.setenv("EXONEB_SITE_TIME_ZONE", "Europe/London")
    assert Settings().site_time_zone == "Europe/London"
    monkeypatch.setenv("EXONEB_SITE_TIME_ZONE", "BST")
    with pytest.raises(ValidationError, match="EXONEB_SITE_TIME_ZONE: Unknown time zone 'BST'"):
        Settings()
