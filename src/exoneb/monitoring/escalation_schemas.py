"""Request and response models of the dose-escalation page and API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from exoneb.monitoring.escalation_decisions import Decision
from exoneb.monitoring.escalation_dlt import DltVerdict


class EscalationDecisionIn(BaseModel):
    """A signed decision at an open dose level.

    ``decisions_seen`` is the number of decisions the decider saw (the table
    moves on with each decision, so a decision taken on an old table is refused
    as stale). ``reason`` is required when the decision differs from the 3+3
    recommendation; ``mtd_level`` (an arm code) only with ``mtd``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    level: str = Field(min_length=1, max_length=40, description="Arm code of the open level.")
    decision: Decision
    mtd_level: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=4000)
    decisions_seen: int = Field(ge=0)
    password: str = Field(min_length=1, description="Your password: the e-signature.")


class DltReviewIn(BaseModel):
    """A physician's signed review of one DLT candidate (a stopping-rule hold).

    ``reviews_seen`` is how many reviews of this candidate the reviewer saw (a
    review taken on an outdated view is refused as stale). ``reason`` is
    required for "not a DLT" and when a review replaces an earlier one.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    hold_id: int = Field(ge=1, description="The DLT candidate: the hold the stopping rule placed.")
    verdict: DltVerdict
    reason: str | None = Field(default=None, max_length=4000)
    reviews_seen: int = Field(ge=0)
    password: str = Field(min_length=1, description="Your password: the e-signature.")


class DltCandidateOut(BaseModel):
    """A DLT candidate of a subject and its latest review (``verdict`` null: awaiting review)."""

    hold_id: int
    rule_id: str | None
    reason: str
    raised_at: datetime
    after_window: bool
    adverse_event_id: int | None
    url: str | None
    reviews: int
    verdict: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None


class DltReviewOut(BaseModel):
    """A recorded, signed review of a DLT candidate."""

    id: int
    hold_id: int
    sequence: int
    patient_id: int
    arm_code: str
    adverse_event_id: int | None
    candidate_reason: str
    verdict: str
    verdict_label: str
    reason: str | None
    reviewed_at: datetime
    reviewed_by: str
    signed_by: str | None
    signed_at: datetime | None
    signature_meaning: str | None
    signature_valid: bool


class EscalationSubjectOut(BaseModel):
    """One subject of a dose level (identified only when at your site).

    ``dlt`` is a DLT confirmed by a physician; ``dlt_pending`` counts the
    candidates still awaiting review; ``in_dlt_window`` says the subject's DLT
    window (``dlt_window_ends_at``) is still running.
    """

    patient_id: int | None
    label: str
    session_id: int | None
    session_state: str | None
    treated: bool
    evaluable: bool
    dlt: bool
    dlt_reason: str | None
    dlt_adverse_event_id: int | None
    dlt_url: str | None
    first_dose_at: datetime | None
    dlt_window_ends_at: datetime | None
    in_dlt_window: bool
    dlt_pending: int
    candidates: list[DltCandidateOut]


class EscalationPauseOut(BaseModel):
    """A pause of the cohort at this level (stopping rule or by hand)."""

    hold_id: int
    status: str
    origin: str
    rule_id: str | None
    reason: str
    placed_at: datetime
    placed_by: str
    lifted_at: datetime | None
    lifted_by: str | None


class EscalationLevelOut(BaseModel):
    """One dose level: its cohort, DLTs, pauses and whether it is open for enrolment."""

    level: int
    arm_code: str
    label: str
    enrolled: int
    treated: int
    evaluable: int
    dlts: int
    dlt_pending: int
    open: bool
    subjects: list[EscalationSubjectOut]
    pauses: list[EscalationPauseOut]


class EscalationDecisionOut(BaseModel):
    """A recorded, signed decision."""

    id: int
    sequence: int
    level: int
    arm_code: str
    decision: str
    decision_label: str
    mtd_level: int | None
    reason: str | None
    recommended_action: str | None
    recommendation_reason: str | None
    follows_recommendation: bool
    open_levels_after: list[str]
    decided_at: datetime
    decided_by: str
    signed_by: str | None
    signed_at: datetime | None
    signature_meaning: str | None
    signature_valid: bool


class EscalationDetailOut(BaseModel):
    """The 3+3 table, the recommendation (decision support), the decisions and open levels.

    ``action``, ``next_level``, ``mtd_level``, ``reason`` and ``source`` keep
    their earlier meaning. Per level, ``treated`` counts the subjects dosed and
    ``evaluable`` those evaluable for DLT (the DLT window completed without a
    confirmed DLT, or a confirmed DLT): the 3+3 recommendation counts the
    evaluable ones, and is withheld (``action`` null, ``reason`` naming the
    subject) while a DLT candidate awaits a physician's review.
    """

    protocol_id: str
    protocol_version: str | None
    levels: list[EscalationLevelOut]
    action: str | None
    next_level: int | None
    mtd_level: int | None
    reason: str | None
    source: str | None
    design_source: str | None
    gate_enrolment: bool
    gate_source: str | None
    dlt_window_days: int | None
    dlt_window_source: str | None
    open_levels: list[str]
    closed: bool
    decided_mtd_level: int | None
    decisions_seen: int
    decisions: list[EscalationDecisionOut]
    disclaimer: str
