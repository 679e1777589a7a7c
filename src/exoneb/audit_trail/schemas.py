"""Filters and rows of the audit viewer."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AuditFilter(BaseModel):
    """What to show: by user, patient and date range (inclusive, UTC dates)."""

    username: str | None = Field(default=None, max_length=80)
    patient_id: int | None = Field(default=None, ge=1)
    date_from: date | None = None
    date_to: date | None = None
    limit: int = Field(default=200, ge=1, le=5000)

    @field_validator("username", "patient_id", "date_from", "date_to", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        """Empty form fields mean "any"."""
        return None if isinstance(value, str) and not value.strip() else value


class AuditRow(BaseModel):
    """One audit row as shown and exported."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    occurred_at: datetime
    actor_username: str
    actor_role: str
    action: str
    entity_type: str | None
    entity_id: str | None
    entity_version: int | None
    patient_id: int | None
    before: str | None
    after: str | None
    reason: str | None
    ip: str | None
    row_hash: str
