"""Request and response models of the reports and export API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class VerifyIn(BaseModel):
    """A fingerprint typed from a printed report (spaces and case are ignored)."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(min_length=64, max_length=100)


class VerificationOut(BaseModel):
    """Whether a printed copy matches the record now, and when that fingerprint was issued."""

    session_id: int
    given: str
    current: str
    matches: bool
    issued: list[tuple[str, str]]


class ReportOut(BaseModel):
    """A report's content (as hashed), its fingerprint and who generated this copy when."""

    sha256: str
    generated_at_utc: str
    generated_by: str
    report: dict[str, Any]


class CsvExportIn(BaseModel):
    """Which coordinator table of which protocol."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1, max_length=40)
    protocol_id: str = Field(min_length=1, max_length=60)


class FhirExportIn(BaseModel):
    """Export one patient (``patient_id``) or one protocol (``protocol_id``), not both."""

    model_config = ConfigDict(extra="forbid")

    patient_id: int | None = Field(default=None, gt=0)
    protocol_id: str | None = Field(default=None, min_length=1, max_length=60)
