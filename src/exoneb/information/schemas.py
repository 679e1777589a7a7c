"""Response models for the patient-information API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class LeafletRead(BaseModel):
    """A leaflet a consent can record: send its ``language`` (and ``version``) with it."""

    language: str = Field(description="BCP 47 code, e.g. 'en', 'de'.")
    language_name: str
    title: str
    version: str
    date: date
    sha256: str = Field(description="SHA-256 of the leaflet and contact files, as recorded.")
    page_url: str
    pdf_url: str
