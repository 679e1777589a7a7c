"""Request and response models of the assessment API (and the service's inputs).

Every edit carries the assessment's ``version`` as loaded by the client, so a
stale edit is a 409 naming who changed the assessment first. Ranges that need
the clinical rules (heights, spirometry values, vital-sign plausibility) are
checked by the pure rules and come back as 422 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OxygenSourceName = Literal["room_air", "flow", "fio2"]
Outcome = Literal["cleared", "ineligible"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Versioned(_In):
    """Any edit: the assessment version the client loaded."""

    version: int = Field(ge=1)


class ManoeuvreIn(_In):
    """One forced expiratory manoeuvre with its acceptability/usability per parameter."""

    fev1_l: float = Field(gt=0, le=10)
    fvc_l: float = Field(gt=0, le=12)
    fev1_acceptable: bool
    fvc_acceptable: bool
    fev1_usable: bool
    fvc_usable: bool
    reasons: list[str] = Field(default_factory=list, max_length=20)


class SpirometryIn(Versioned):
    """One spirometry test: the largest acceptable FEV1 and FVC, and optionally the manoeuvres."""

    kind: Literal["pre", "post_bd"] = "pre"
    fev1_l: float | None = Field(default=None, gt=0, le=10)
    fvc_l: float | None = Field(default=None, gt=0, le=12)
    fef25_75_l_s: float | None = Field(default=None, gt=0, le=15)
    height_cm: float | None = Field(default=None, gt=0, le=260)
    equation: Literal["gli-global", "gli-2012"] = "gli-global"
    ethnicity: str | None = Field(default=None, max_length=40)
    test_date: date | None = None
    manoeuvres: list[ManoeuvreIn] | None = Field(default=None, max_length=8)


class VitalsIn(Versioned):
    """Vital signs; any may be left out (the rules needing it then report it missing)."""

    spo2_percent: float | None = None
    oxygen_source: OxygenSourceName | None = None
    oxygen_flow_l_min: float | None = None
    fio2: float | None = None
    heart_rate_bpm: float | None = None
    respiratory_rate_per_min: float | None = None
    systolic_bp_mmhg: float | None = None
    diastolic_bp_mmhg: float | None = None
    temperature_c: float | None = None
    weight_kg: float | None = None
    height_cm: float | None = None


class WalkIn(_In):
    """A six-minute walk test."""

    distance_m: float
    oxygen_source: OxygenSourceName = "room_air"
    oxygen_flow_l_min: float | None = None
    spo2_baseline_percent: float | None = None
    spo2_nadir_percent: float | None = None
    borg_before: float | None = None
    borg_after: float | None = None


class ScalesIn(Versioned):
    """CAT items by domain (0–5 each), mMRC grade, six-minute walk; each optional."""

    cat_items: dict[str, int] | None = None
    mmrc_grade: int | None = None
    mmrc_version: str = "mMRC 0-4"
    walk: WalkIn | None = None


class CareAnswerIn(_In):
    """What the patient reports about one prescribed medicine today."""

    care_id: int
    taken_as_prescribed: bool | None = None
    stopped_for_this_therapy: bool = False
    last_changed_on: date | None = None


class CareIn(Versioned):
    """The complementary-care check: an answer per prescribed medicine, or none prescribed."""

    none_prescribed: bool = False
    answers: list[CareAnswerIn] = Field(default_factory=list, max_length=50)


FactAnswer = bool | float | date | str | None


class HistoryIn(Versioned):
    """Answers to the history questions the rules read (fact name → value; null = unknown)."""

    answers: dict[str, FactAnswer] = Field(max_length=100)


class OverrideIn(Versioned):
    """A physician's override of the computed outcome."""

    outcome: Outcome
    reason: str = Field(min_length=3, max_length=2000)


class SignIn(Versioned):
    """Sign the decision (meaning "approved"); the password is re-entered."""

    password: str = Field(min_length=1, max_length=200)


class AmendIn(Versioned):
    """Amend a signed assessment: a new version; the signed one stays."""

    reason: str = Field(min_length=3, max_length=2000)


class AssessmentOut(BaseModel):
    """An assessment version with its measurements and its decision."""

    id: int
    session_id: int
    patient_id: int
    record_version: int
    status: str
    version: int
    supersedes_id: int | None
    amend_reason: str | None
    history: dict[str, Any]
    care_check: dict[str, Any] | None
    spirometry: dict[str, dict[str, Any]]
    vitals: dict[str, Any] | None
    scales: dict[str, Any] | None
    rule_set: dict[str, Any] | None
    decision: dict[str, Any] | None
    computed_outcome: str | None
    outcome: str | None
    override: dict[str, Any] | None
    baseline_fev1_l: float | None
    signed_at: datetime | None
    signed_by: str | None
    signature_valid: bool | None
    updated_at: datetime
    updated_by: str
