"""Request and response models of the monitoring API (and the service's inputs).

Plausibility ranges of the measures (SpO2 0–100 %, temperature 25–45 °C …)
are checked once, by the pure :class:`exoneb.monitoring.observations.Observation`,
and come back as 422 naming the field; these models only fix the shapes.
Every edit of a stored record carries the ``version`` the client loaded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exoneb.monitoring.adverse_events import Action, Causality, CtcaeTerm, Outcome
from exoneb.monitoring.adverse_events import SeriousnessCriterion as Seriousness
from exoneb.monitoring.follow_up import CallOutcome, ReviewAction
from exoneb.monitoring.rescue import DoseUnit, RescueDrug, RescueRoute


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObservationIn(_In):
    """One set of readings; any measure may be left out (not measured ≠ normal)."""

    observed_at: datetime | None = Field(
        default=None,
        description="When the readings were taken (with a UTC offset); now if left out.",
    )
    spo2_pct: float | None = None
    heart_rate_per_min: float | None = None
    resp_rate_per_min: float | None = None
    sbp_mmhg: float | None = None
    dbp_mmhg: float | None = None
    temperature_c: float | None = None
    fev1_l: float | None = None
    pef_l_per_min: float | None = None
    respiratory_symptoms: bool | None = Field(
        default=None,
        description="Cough, chest tightness, dyspnoea or wheeze now; null = not asked.",
    )
    wheeze: bool | None = None
    stridor: bool | None = None
    symptom_grade: int | None = Field(default=None, description="Highest CTCAE grade now (0–5).")
    saba_given: bool = Field(
        default=False,
        description="No longer set here: record rescue medication with "
        "POST /api/v1/sessions/{id}/rescue-medications (drug, dose, route, time).",
    )
    signal_ok: bool = True
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("saba_given")
    @classmethod
    def _no_saba_flag(cls, value: bool) -> bool:
        """A tick box cannot say which drug, how much and when: the stopping rule needs that."""
        if value:
            raise ValueError(
                "Record the rescue medication as a record (drug, dose, route, time given) "
                "with POST /api/v1/sessions/{id}/rescue-medications, not as a flag."
            )
        return value


class ObservationBatchIn(_In):
    """A device's batch: one device id, up to 10,000 observations (any order)."""

    device_id: str = Field(min_length=1, max_length=100)
    observations: list[ObservationIn] = Field(min_length=1, max_length=10_000)


class ObservationOut(BaseModel):
    """A stored observation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    observed_at: datetime
    source: str
    device_id: str | None
    spo2_pct: float | None
    heart_rate_per_min: float | None
    resp_rate_per_min: float | None
    sbp_mmhg: float | None
    dbp_mmhg: float | None
    temperature_c: float | None
    fev1_l: float | None
    pef_l_per_min: float | None
    respiratory_symptoms: bool | None
    wheeze: bool | None
    stridor: bool | None
    symptom_grade: int | None
    saba_given: bool
    signal_ok: bool
    note: str | None
    recorded_at: datetime
    recorded_by: str


class ObservationRecorded(BaseModel):
    """A stored manual observation and the alerts it raised (already stored)."""

    observation: ObservationOut
    alerts_raised: list[AlertOut]


class IngestOut(BaseModel):
    """What a batch stored and the alerts it raised."""

    stored: int
    first_id: int
    last_id: int
    alerts_raised: list[int]


class AlertOut(BaseModel):
    """A stored alert and who handled it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    patient_id: int
    rule_id: str
    title: str
    severity: str
    status: str
    onset_at: datetime
    raised_at: datetime
    last_at: datetime
    ongoing: bool
    measure: str
    unit: str
    first_value: float
    worst_value: float
    baseline_value: float | None
    threshold: float
    comparison: str
    sustained_s: float
    required_s: float
    suggested_term: str | None
    action_text: str
    message: str
    sources: dict[str, Any]
    stored_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_note: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    version: int


class TermOut(BaseModel):
    """A CTCAE v5.0 term with the definition of each grade that exists for it."""

    term: str
    label: str
    soc: str
    meddra_code: int | None
    grades: dict[str, str]
    note: str
    source: str


class Hl7MessageOut(BaseModel):
    """A received HL7 message as kept in the inbox (raw bytes shown as text)."""

    id: int
    received_at: datetime
    peer: str | None
    control_id: str
    sending_application: str
    message_type: str
    parse_status: str
    match_status: str
    problems: list[Any]
    patient_identifiers: list[Any]
    session_id: int | None
    observations_stored: int
    ack_code: str
    review_status: str
    reviewed_by: str | None
    review_note: str | None
    raw_text: str
    ack_text: str


class Hl7ReviewIn(_In):
    """What was done with a message kept for review."""

    note: str = Field(min_length=1, max_length=2000)


class AlertAckIn(_In):
    """Acknowledge an alert: the version loaded (informative) and an optional note."""

    version: int = Field(ge=1)
    note: str | None = Field(default=None, max_length=2000)


class AlertResolveIn(_In):
    """Resolve an alert: what was done (required)."""

    version: int = Field(ge=1)
    note: str = Field(min_length=1, max_length=2000)


class AdverseEventIn(_In):
    """An adverse event graded with CTCAE v5.0."""

    term: CtcaeTerm
    other_text: str | None = Field(default=None, max_length=200)
    grade: int = Field(ge=1, le=5)
    onset_at: datetime | None = Field(default=None, description="Now if left out.")
    end_at: datetime | None = None
    description: str | None = Field(default=None, max_length=4000)
    seriousness: list[Seriousness] = Field(default_factory=list)
    expected: bool | None = None
    aware_at: datetime | None = None
    causality: Causality
    action: Action = Action.NONE
    outcome: Outcome = Outcome.UNKNOWN
    resolved: bool = False
    alert_id: int | None = None


class AdverseEventUpdate(AdverseEventIn):
    """A correction or follow-up of a recorded event (regrade, end, outcome), with a reason."""

    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2000)


class AdverseEventReportIn(_In):
    """The serious event was reported (to the sponsor / regulator): when and the reference."""

    version: int = Field(ge=1)
    reference: str = Field(min_length=1, max_length=200)
    reported_at: datetime | None = None


class AdverseEventOut(BaseModel):
    """A stored adverse event with its times relative to the start of nebulization."""

    id: int
    session_id: int
    patient_id: int
    alert_id: int | None
    ctcae_version: str
    term: str
    term_label: str
    other_text: str | None
    grade: int
    grade_text: str
    description: str | None
    onset_at: datetime
    end_at: datetime | None
    nebulization_start_at: datetime | None
    onset_offset_min: float | None
    end_offset_min: float | None
    seriousness: list[str]
    serious: bool
    expected: bool | None
    aware_at: datetime | None
    causality: str
    action: str
    outcome: str
    resolved: bool
    report_days: int | None
    report_due_at: datetime | None
    report_basis: str | None
    report_overdue: bool
    reported_at: datetime | None
    reported_by: str | None
    report_reference: str | None
    version: int


class HoldIn(_In):
    """A physician or coordinator holds a patient's course or pauses the cohort by hand."""

    scope: Literal["patient", "cohort"] = "patient"
    reason: str = Field(min_length=1, max_length=2000)


class HoldLiftIn(_In):
    """Lift a hold or pause, with the reason (e.g. DMC review completed)."""

    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2000)


class HoldOut(BaseModel):
    """A course hold or cohort pause."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: str
    patient_id: int | None
    enrolment_id: int | None
    session_id: int | None
    protocol_id: str
    arm_code: str
    origin: str
    rule_id: str | None
    reason: str
    dlt_candidate: bool
    source: str | None
    status: str
    created_at: datetime
    created_by: str
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None
    version: int


class DischargeIn(_In):
    """Discharge: the attestations staff confirm, the follow-up, and the signer's password."""

    walks_unaided: bool | None = None
    instructions_given: bool | None = None
    follow_up_scheduled: bool | None = None
    follow_up_at: datetime | None = None
    contact: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    password: str = Field(min_length=1, max_length=200)


class ChecklistItemOut(BaseModel):
    """One discharge criterion as evaluated now."""

    item_id: str
    label: str
    status: str
    detail: str
    source: str


class ChecklistOut(BaseModel):
    """The discharge checklist now."""

    dischargeable: bool
    items: list[ChecklistItemOut]


class DischargeOut(BaseModel):
    """A signed discharge."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    checklist: list[Any]
    attestations: dict[str, Any]
    first_session: bool
    follow_up_at: datetime | None
    contact: str | None
    discharged_at: datetime
    discharged_by: str
    signature_id: int


class RescueMedicationIn(_In):
    """A rescue medication given (e.g. salbutamol 200 µg by inhaler for airway reactivity)."""

    drug: RescueDrug
    drug_other: str | None = Field(default=None, max_length=200)
    dose_amount: float
    dose_unit: DoseUnit
    route: RescueRoute
    given_at: datetime | None = Field(
        default=None, description="When it was given; now if left out."
    )
    given_by: str | None = Field(
        default=None, max_length=200, description="Who gave it; the recording user if left out."
    )
    alert_id: int | None = None
    adverse_event_id: int | None = None
    note: str | None = Field(default=None, max_length=2000)


class RescueMedicationOut(BaseModel):
    """A recorded rescue medication."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    drug: str
    drug_other: str | None
    drug_class: str
    dose_amount: float
    dose_unit: str
    route: str
    given_at: datetime
    given_by: str
    alert_id: int | None
    adverse_event_id: int | None
    note: str | None
    recorded_at: datetime
    recorded_by: str


class FollowUpAttemptRequest(_In):
    """One follow-up call attempt; ``version`` is the call's version the caller loaded."""

    version: int
    outcome: CallOutcome
    called_at: datetime | None = Field(
        default=None, description="When the call was made; now if left out."
    )
    symptoms_reported: bool | None = None
    symptoms: str | None = Field(default=None, max_length=2000)
    retry_at: datetime | None = None
    note: str | None = Field(default=None, max_length=2000)


class FollowUpGiveUpRequest(_In):
    """Stop calling before the protocol's last attempt; the reason is required."""

    version: int
    reason: str | None = Field(default=None, max_length=2000, description="Required: why stop.")


class FollowUpReviewRequest(_In):
    """A physician's review of a call given up: what was done instead."""

    version: int
    action: ReviewAction
    note: str | None = Field(
        default=None, max_length=2000, description="Required for no_action and contacted_otherwise."
    )


class FollowUpCallOut(BaseModel):
    """A follow-up call as listed for staff."""

    id: int
    session_id: int
    patient_id: int
    patient_name: str
    patient_mrn: str
    reason: str
    first_due_at: datetime
    due_at: datetime
    state: str
    status: str
    attempts: int
    symptoms_reported: bool | None
    completed_at: datetime | None
    completed_by: str | None
    gave_up_reason: str | None
    time_zone: str
    review_action: str | None
    review_note: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    version: int
