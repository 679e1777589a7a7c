"""Tables for step 1: the assessment of a session, its measurements and its decision.

One :class:`Assessment` row per version of a session's assessment. A draft is
filled in (spirometry, vitals, scales, care answers, history answers), the
eligibility decision is computed from the protocol's rules and a physician
signs it. A signed assessment is never edited: an amendment adds a new draft
row that ``supersedes`` it (reason required); the old row keeps its content,
its signature and the status ``amended``.

Computed values are stored with what they came from (equation, lookup-table
version, inputs, rule-set id and version), so a stored record can be read
without re-running the rules. Nothing here points at ``audit_event``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exoneb.core.db import Base, UTCDateTime


class Assessment(Base):
    """One version of a session's assessment: status, answers, decision, signature."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("session_id", "record_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    record_version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per amendment
    status: Mapped[str] = mapped_column(String(20))  # draft | signed | amended
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"))
    amend_reason: Mapped[str | None] = mapped_column(Text)
    # what the clinician answered (history facts; prescribed-care answers)
    history: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    care_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    care_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the eligibility decision
    rule_set_id: Mapped[str | None] = mapped_column(String(60))
    rule_set_version: Mapped[str | None] = mapped_column(String(20))
    rule_set_origin: Mapped[str | None] = mapped_column(String(20))  # protocol | default
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    computed_outcome: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    override_outcome: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    override_by: Mapped[str | None] = mapped_column(String(200))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the pre-session FEV1 the monitoring step compares against
    baseline_fev1_l: Mapped[float | None] = mapped_column(Float)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class SpirometryEntry(Base):
    """One spirometry test of an assessment (pre-session or post-bronchodilator)."""

    __tablename__ = "assessment_spirometry"
    __table_args__ = (UniqueConstraint("assessment_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # pre | post_bd
    test_date: Mapped[str] = mapped_column(String(10))  # ISO date
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    manoeuvres: Mapped[list[Any] | None] = mapped_column(JSON)
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    equation: Mapped[str] = mapped_column(String(20))
    table_version: Mapped[dict[str, Any]] = mapped_column(JSON)
    results: Mapped[dict[str, Any]] = mapped_column(JSON)
    interpretation: Mapped[dict[str, Any]] = mapped_column(JSON)
    fev1_l: Mapped[float | None] = mapped_column(Float)
    fev1_z: Mapped[float | None] = mapped_column(Float)
    fvc_l: Mapped[float | None] = mapped_column(Float)
    fvc_z: Mapped[float | None] = mapped_column(Float)
    fev1_fvc: Mapped[float | None] = mapped_column(Float)
    fev1_fvc_z: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))


class VitalsEntry(Base):
    """The vital signs of an assessment, with the flags they raised."""

    __tablename__ = "assessment_vitals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), unique=True)
    spo2_percent: Mapped[float | None] = mapped_column(Float)
    oxygen_source: Mapped[str | None] = mapped_column(String(20))
    oxygen_flow_l_min: Mapped[float | None] = mapped_column(Float)
    fio2: Mapped[float | None] = mapped_column(Float)
    heart_rate_bpm: Mapped[float | None] = mapped_column(Float)
    respiratory_rate_per_min: Mapped[float | None] = mapped_column(Float)
    systolic_bp_mmhg: Mapped[float | None] = mapped_column(Float)
    diastolic_bp_mmhg: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    bmi: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[list[Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))


class ScalesEntry(Base):
    """The clinical scales of an assessment: CAT, mMRC, six-minute walk (each optional)."""

    __tablename__ = "assessment_scales"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), unique=True)
    cat: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cat_total: Mapped[int | None] = mapped_column(Integer)
    mmrc: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mmrc_grade: Mapped[int | None] = mapped_column(Integer)
    walk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    walk_distance_m: Mapped[float | None] = mapped_column(Float)
    walk_below_lln: Mapped[bool | None] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
