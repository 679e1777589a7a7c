"""Tables for patients, consents, prescribed respiratory care and protocol enrolments.

Nothing here is ever deleted: rows carry a ``status`` and are voided with a
reason. Rows several people edit carry a ``version`` column that SQLAlchemy
also uses as its optimistic-lock counter.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exoneb.core.db import Base, UTCDateTime

LEAFLET_ALL_OR_NONE = (
    "(leaflet_language IS NULL AND leaflet_version IS NULL AND leaflet_sha256 IS NULL) OR "
    "(leaflet_language IS NOT NULL AND leaflet_version IS NOT NULL "
    "AND leaflet_sha256 IS NOT NULL)"
)
"""A consent names its leaflet completely or not at all (also checked by the database)."""


class Patient(Base):
    """A patient registered at one site; the MRN is unique within the site."""

    __tablename__ = "patient"
    __table_args__ = (UniqueConstraint("site_id", "mrn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    mrn: Mapped[str] = mapped_column(String(40))
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    height_cm: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    emergency_contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class Consent(Base):
    """Informed consent: which document version, when, and who took it.

    Consent rows are never edited: a correction is an amendment, a new row
    pointing at the one it ``supersedes`` (which keeps its content, its
    signatures and the status ``superseded``).

    ``leaflet_*`` name the patient-information leaflet the patient was given
    (``exoneb.information``): its language, version and the SHA-256 of its
    text, so the record shows exactly which wording they read. All three are
    set together, or none (consents recorded before leaflets existed).
    """

    __tablename__ = "consent"
    __table_args__ = (CheckConstraint(LEAFLET_ALL_OR_NONE, name="leaflet_all_or_none"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    document_version: Mapped[str] = mapped_column(String(40))
    consent_date: Mapped[date] = mapped_column(Date)
    taken_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    taken_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"))
    amended_by: Mapped[str | None] = mapped_column(String(200))
    leaflet_language: Mapped[str | None] = mapped_column(String(20))
    leaflet_version: Mapped[str | None] = mapped_column(String(20))
    leaflet_sha256: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class PrescribedCare(Base):
    """A medicine the patient's own clinicians prescribed; recorded, never changed by exoneb."""

    __tablename__ = "prescribed_care"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    medicine: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str] = mapped_column(String(100))
    route: Mapped[str] = mapped_column(String(60))
    frequency: Mapped[str] = mapped_column(String(100))
    prescriber: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    void_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class Enrolment(Base):
    """A patient's enrolment in one protocol version, arm or dose level, under an authorisation."""

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    protocol_id: Mapped[str] = mapped_column(String(60))
    protocol_version: Mapped[str] = mapped_column(String(20))
    arm_code: Mapped[str] = mapped_column(String(40))
    authorisation_kind: Mapped[str] = mapped_column(String(10))
    authorisation_number: Mapped[str] = mapped_column(String(60))
    ethics_approval: Mapped[str] = mapped_column(String(100))
    authorisation_valid_until: Mapped[date | None] = mapped_column(Date)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enrolled_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)
