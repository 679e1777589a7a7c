"""Tables for step 4: observations, alerts, adverse events, holds, discharge, HL7 inbox.

Every row is written by :mod:`exoneb.monitoring.service` in the transaction of
the user action (or the device message) that caused it, together with its
audit row. Nothing here is ever deleted:

* an observation is stored as received, with its source (manual entry, a JSON
  device batch, or an HL7 message) and who or what recorded it;
* an alert is stored *before* it is shown, so every open screen and the clinic
  overview read the same row; it is acknowledged and resolved by named staff;
* an adverse event keeps its CTCAE term and grade, its times (absolute, plus
  the start of nebulization they are shown against), seriousness, causality,
  action, outcome and — when serious — its reporting deadline until reported;
* a course hold (patient) or cohort pause comes from the stopping rules or a
  physician, and is lifted only with a reason;
* every HL7 message received is kept raw with its parse and match status and
  the exact ACK sent back, so a message the gateway could not use is never lost.

Units are in the column names. Nothing here points at ``audit_event``, and
nothing points into the preparation or inhalation tables (those steps are
separate packages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exoneb.core.db import Base, UTCDateTime


class Hl7Message(Base):
    """One HL7 v2 message received by the gateway, kept raw whatever became of it.

    ``parse_status``: ``parsed`` | ``rejected`` (not parseable: AR/AE).
    ``match_status``: ``matched`` | ``unknown_patient`` | ``no_session`` |
    ``ambiguous`` | ``duplicate`` | ``not_applicable`` (rejected before matching).
    ``review_status``: ``none`` | ``pending`` (a person should look) | ``reviewed``.
    """

    __tablename__ = "monitoring_hl7_message"
    __table_args__ = (
        Index("ix_monitoring_hl7_message_control", "sending_application", "control_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    peer: Mapped[str | None] = mapped_column(String(100))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    control_id: Mapped[str] = mapped_column(String(200), default="")
    sending_application: Mapped[str] = mapped_column(String(200), default="")
    message_type: Mapped[str] = mapped_column(String(20), default="")
    parse_status: Mapped[str] = mapped_column(String(20))
    match_status: Mapped[str] = mapped_column(String(20))
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    patient_identifiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    observations_stored: Mapped[int] = mapped_column(Integer, default=0)
    ack_code: Mapped[str] = mapped_column(String(2))
    ack_control_id: Mapped[str] = mapped_column(String(40))
    ack_raw: Mapped[bytes] = mapped_column(LargeBinary)
    review_status: Mapped[str] = mapped_column(String(20), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_note: Mapped[str | None] = mapped_column(Text)
    received_by: Mapped[str] = mapped_column(String(200))
    # The gateway user's site: PID-3 is matched among that site's patients, and only that
    # site's staff see the message in the inbox or review it (every account has a site).
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)


class ObservationRecord(Base):
    """One time-stamped set of readings after inhalation (any measure may be missing)."""

    __tablename__ = "monitoring_observation"
    __table_args__ = (Index("ix_monitoring_observation_session_at", "session_id", "observed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # manual | device (JSON batch API) | hl7 (bedside monitor via the gateway)
    source: Mapped[str] = mapped_column(String(10))
    device_id: Mapped[str | None] = mapped_column(String(100))
    hl7_message_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_hl7_message.id"))
    spo2_pct: Mapped[float | None] = mapped_column(Float)
    heart_rate_per_min: Mapped[float | None] = mapped_column(Float)
    resp_rate_per_min: Mapped[float | None] = mapped_column(Float)
    sbp_mmhg: Mapped[float | None] = mapped_column(Float)
    dbp_mmhg: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    fev1_l: Mapped[float | None] = mapped_column(Float)
    pef_l_per_min: Mapped[float | None] = mapped_column(Float)
    respiratory_symptoms: Mapped[bool | None] = mapped_column(Boolean)
    wheeze: Mapped[bool | None] = mapped_column(Boolean)
    stridor: Mapped[bool | None] = mapped_column(Boolean)
    symptom_grade: Mapped[int | None] = mapped_column(Integer)
    saba_given: Mapped[bool] = mapped_column(Boolean, default=False)
    signal_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_by: Mapped[str] = mapped_column(String(200))


class AlertRecord(Base):
    """An alert raised by a rule on the stored observations: what, since when, who handled it.

    ``status``: ``open`` → ``acknowledged`` → ``resolved`` (resolving an open
    alert acknowledges it in the same step). ``ongoing`` is whether the
    condition still held on the latest observation that could judge it.
    ``version`` counts the handling changes (acknowledge, resolve), not the
    rules' updates of an ongoing alert's worst value and last time with each
    reading: a device's next reading must not make a nurse's acknowledgement
    a conflict, while two people handling the alert at once still collide.
    """

    __tablename__ = "monitoring_alert"
    __table_args__ = (
        UniqueConstraint("session_id", "rule_id", "onset_at"),
        Index("ix_monitoring_alert_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ongoing: Mapped[bool] = mapped_column(Boolean)
    measure: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    first_value: Mapped[float] = mapped_column(Float)
    worst_value: Mapped[float] = mapped_column(Float)
    baseline_value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    comparison: Mapped[str] = mapped_column(String(2))
    sustained_s: Mapped[float] = mapped_column(Float)
    required_s: Mapped[float] = mapped_column(Float)
    suggested_term: Mapped[str | None] = mapped_column(String(40))
    action_text: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    protocol_id: Mapped[str] = mapped_column(String(60))
    protocol_version: Mapped[str] = mapped_column(String(20))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledge_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class AlertState(Base):
    """Where the alert rules stand for a session: each rule's open run after the latest reading.

    Written in the same transaction as the readings it has seen, so a new
    reading is judged from this row and itself, without re-reading the
    session's series (:func:`exoneb.monitoring.alerts.advance`). ``basis`` is a
    digest of the baseline and thresholds it was computed with: when either
    changes (an amended assessment), or a reading arrives older than
    ``last_at``, the rules run again over the stored series and the row is
    rebuilt. ``alert_ids`` maps each raised open run's rule to its stored
    alert. A cache of the stored rows, not a record: it is never audited.
    """

    __tablename__ = "monitoring_alert_state"

    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), primary_key=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    basis: Mapped[str] = mapped_column(String(64))
    tracker: Mapped[dict[str, Any]] = mapped_column(JSON)
    alert_ids: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdverseEventRecord(Base):
    """An adverse event graded with CTCAE v5.0, with its reporting deadline when serious."""

    __tablename__ = "adverse_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_alert.id"))
    ctcae_version: Mapped[str] = mapped_column(String(10))
    term: Mapped[str] = mapped_column(String(40))
    other_text: Mapped[str | None] = mapped_column(String(200))
    grade: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the start of nebulization the onset and end are shown against (None: not started)
    nebulization_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seriousness: Mapped[list[Any]] = mapped_column(JSON, default=list)
    serious: Mapped[bool] = mapped_column(Boolean)
    expected: Mapped[bool | None] = mapped_column(Boolean)
    aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    causality: Mapped[str] = mapped_column(String(20))
    action_taken: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str] = mapped_column(String(30))
    resolved: Mapped[bool] = mapped_column(Boolean)
    report_days: Mapped[int | None] = mapped_column(Integer)
    report_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_basis: Mapped[str | None] = mapped_column(Text)
    expedited_report: Mapped[bool | None] = mapped_column(Boolean)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reported_by: Mapped[str | None] = mapped_column(String(200))
    report_reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class CourseHold(Base):
    """A hold on a patient's course, or a pause of a cohort (protocol arm), and its lifting.

    ``scope``: ``patient`` (``enrolment_id`` set) or ``cohort`` (``protocol_id`` +
    ``arm_code``). ``origin``: ``stopping_rule`` (``rule_id`` names it) or ``manual``.
    """

    __tablename__ = "course_hold"
    __table_args__ = (Index("ix_course_hold_cohort", "protocol_id", "arm_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id"))
    protocol_id: Mapped[str] = mapped_column(String(60))
    arm_code: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    dlt_candidate: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # active | lifted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class DischargeRecord(Base):
    """The signed discharge of a session: the checklist as evaluated, attestations, follow-up."""

    __tablename__ = "discharge_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    checklist: Mapped[list[Any]] = mapped_column(JSON)
    attestations: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_session: Mapped[bool] = mapped_column(Boolean)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    discharged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discharged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    discharged_by: Mapped[str] = mapped_column(String(200))
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"))


class RescueMedication(Base):
    """A rescue medication given during or after inhalation (e.g. a SABA for airway reactivity).

    A record, not a flag: what (drug, dose and unit, route), when it was given
    and by whom, who recorded it, and optionally the alert or adverse event it
    answered. The stopping rule "not back to ≤ 10 % below baseline within
    30 min after SABA" (clinical.md §4.2) runs its clock from ``given_at`` of
    the session's first SABA. ``drug_class`` (``saba`` | ``other``) is derived
    from the drug by :mod:`exoneb.monitoring.rescue`, never typed in.
    """

    __tablename__ = "monitoring_rescue_medication"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    drug: Mapped[str] = mapped_column(String(40))
    drug_other: Mapped[str | None] = mapped_column(String(200))
    drug_class: Mapped[str] = mapped_column(String(10))
    dose_amount: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(30))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    given_by: Mapped[str] = mapped_column(String(200))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_alert.id"))
    adverse_event_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_event.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_by: Mapped[str] = mapped_column(String(200))


class FollowUpCall(Base):
    """The telephone follow-up call scheduled on discharge after a first session (§4.4).

    ``status``: ``open`` until the patient is reached (``done``) or the calls
    stop (``gave_up``: the protocol's last attempt not reached, or staff
    stopped earlier — ``gave_up_reason`` says which); a given-up call becomes
    ``reviewed`` when a physician records what was done
    (:class:`FollowUpReview`). A call not reached stays open with a new
    ``due_at`` (the retry time); every attempt is a :class:`FollowUpAttempt`
    row. ``completed_*`` name who closed the call (reached or gave up).
    ``parameters`` keeps the protocol values (and their sources) the due time
    was computed with, and the site's time zone.
    """

    __tablename__ = "monitoring_follow_up_call"
    __table_args__ = (Index("ix_monitoring_follow_up_call_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    first_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    symptoms_reported: Mapped[bool | None] = mapped_column(Boolean)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_by: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    completed_by: Mapped[str | None] = mapped_column(String(200))
    gave_up_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class FollowUpReview(Base):
    """A physician's review of a call given up: what was done instead (append-only, one a call)."""

    __tablename__ = "monitoring_follow_up_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("monitoring_follow_up_call.id"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    action: Mapped[str] = mapped_column(String(30))  # letter_sent | gp_informed | …
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_by: Mapped[str] = mapped_column(String(200))


class FollowUpAttempt(Base):
    """One attempt at a follow-up call: reached or not, symptoms reported, retry time."""

    __tablename__ = "monitoring_follow_up_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("monitoring_follow_up_call.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # reached | not_reached
    symptoms_reported: Mapped[bool | None] = mapped_column(Boolean)
    symptoms: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_by: Mapped[str] = mapped_column(String(200))
