"""Runtime configuration, read only from ``EXONEB_*`` environment variables.

Defaults work out of the box for a developer (`make run`); the few defaults
that would be unsafe on a real ward (cheap password hashing, the published demo
password, cookies without ``Secure``) are refused when ``EXONEB_ENVIRONMENT`` is
anything other than ``development`` or ``test``, so a production deployment
cannot start with them by accident.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from exoneb.core.zones import DEFAULT_TIME_ZONE, site_zone

DEFAULT_DEMO_PASSWORD = "exoneb-demo-2026"
"""Printed at start by ``exoneb demo``; refused outside development."""

PROTOCOLS_DIR = Path(__file__).resolve().parent.parent / "protocols" / "files"


class Settings(BaseSettings):
    """All settings of one exoneb process; see the field descriptions."""

    model_config = SettingsConfigDict(env_prefix="EXONEB_", env_ignore_empty=True, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///./exoneb.db",
        description="SQLAlchemy URL; postgres:// URLs are rewritten to postgresql+psycopg://.",
    )
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    idle_timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    absolute_timeout_hours: int = Field(default=12, ge=1, le=72)
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins for one username within the window → lockout."
    )
    login_ip_max_failures: int = Field(default=30, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    cheap_password_hashing: bool = Field(
        default=False, description="argon2 CHEAPEST profile: only for tests."
    )
    secure_cookies: bool = Field(
        default=False,
        description="Always set Secure on cookies (behind a TLS-terminating proxy).",
    )
    demo_password: str = DEFAULT_DEMO_PASSWORD
    protocols_dir: Path = PROTOCOLS_DIR
    information_dir: Path | None = Field(
        default=None,
        description="The clinic's own patient-information files (<lang>/leaflet.md, "
        "<lang>/contact.md); they replace or add to the shipped leaflets.",
    )
    site_time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        description="IANA time zone (e.g. Europe/London) given to a site created without one "
        "and to the sites that existed before sites had a zone (migration 0013).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    access_log: bool = Field(
        default=False,
        description="Log every request line; off by default because URLs can carry "
        "patient names (searches).",
    )
    hl7_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Run the MLLP listener for bedside monitors (HL7 v2 ORU^R01) inside "
        "`exoneb serve` on this port; unset: none (run `exoneb monitor-gateway` instead).",
    )
    hl7_host: str = Field(
        default="127.0.0.1",
        description="Address the in-server MLLP listener binds to (loopback unless the "
        "monitors' network is trusted: MLLP has no authentication or encryption).",
    )
    hl7_user: str | None = Field(
        default=None,
        description="Username the in-server gateway acts as (a nurse or physician account of "
        "the site; every message is audited under it). Required with EXONEB_HL7_PORT.",
    )
    trusted_origins: list[str] = Field(
        default_factory=list,
        description="Extra origins allowed to send state-changing requests (besides the host).",
    )

    @field_validator("database_url", mode="before")
    @classmethod
    def _rewrite_postgres_scheme(cls, value: object) -> object:
        """Accept the ``postgres://`` URLs hosting platforms hand out."""
        if isinstance(value, str):
            for prefix in ("postgres://", "postgresql://"):
                if value.startswith(prefix):
                    return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("information_dir")
    @classmethod
    def _information_dir_exists(cls, value: Path | None) -> Path | None:
        """A mistyped folder would otherwise show patients an error page, not the leaflet."""
        if value is not None and not value.is_dir():
            raise ValueError(f"EXONEB_INFORMATION_DIR {value} is not a folder")
        return value

    @field_validator("site_time_zone")
    @classmethod
    def _site_time_zone_is_known(cls, value: str) -> str:
        """An unknown zone would shift every next-day call; refuse it at start."""
        try:
            site_zone(value)
        except ValueError as exc:
            raise ValueError(f"EXONEB_SITE_TIME_ZONE: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _hl7_listener_needs_an_account(self) -> Settings:
        """Every received message is audited under a named account: no listener without one."""
        if self.hl7_port is not None and not (self.hl7_user or "").strip():
            raise ValueError(
                "EXONEB_HL7_PORT needs EXONEB_HL7_USER (the account the gateway acts as)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        """Refuse development-only shortcuts on a real deployment."""
        if self.environment in ("development", "test"):
            return self
        problems = []
        if self.cheap_password_hashing:
            problems.append("EXONEB_CHEAP_PASSWORD_HASHING must be off")
        if self.demo_password == DEFAULT_DEMO_PASSWORD:
            problems.append("EXONEB_DEMO_PASSWORD must not be the published default")
        if not self.secure_cookies:
            problems.append("EXONEB_SECURE_COOKIES must be on (serve over HTTPS)")
        if problems:
            raise ValueError(f"Refusing to start in {self.environment}: " + "; ".join(problems))
        return self

    @property
    def is_sqlite(self) -> bool:
        """True when the database is an SQLite file."""
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
