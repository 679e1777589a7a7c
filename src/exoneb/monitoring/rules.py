"""The monitoring domain rules (step 4), pure: stdlib and NumPy only, no I/O, no clock.

One module per job; this module re-exports their public API so that the
service, pages, API and gateway layers import from one place:

* :mod:`~exoneb.monitoring.observations` — observations and baseline, with units;
* :mod:`~exoneb.monitoring.schedule` — when observations are due, due/overdue at ``now``;
* :mod:`~exoneb.monitoring.alerts` — SpO2, heart-rate and airway alerts (batch, incremental);
* :mod:`~exoneb.monitoring.adverse_events` — CTCAE v5.0 terms and grades, seriousness,
  causality, outcome, reporting deadlines;
* :mod:`~exoneb.monitoring.stopping` — hold the patient / pause the cohort;
* :mod:`~exoneb.monitoring.escalation` — the 3+3 recommendation;
* :mod:`~exoneb.monitoring.discharge` — the discharge checklist;
* :mod:`~exoneb.monitoring.mllp` — MLLP framing of a byte stream;
* :mod:`~exoneb.monitoring.hl7` — HL7 v2 syntax (delimiters, escapes, date/times, error codes);
* :mod:`~exoneb.monitoring.mdc` — the IEEE 11073 codes mapped (SpO2, pulse and heart rate …);
* :mod:`~exoneb.monitoring.pcd01` — ORU^R01 (IHE PCD-01) bytes → readings and observations;
* :mod:`~exoneb.monitoring.ack` — the HL7 ACK (AA / AE / AR, ERR segments);
* :mod:`~exoneb.monitoring.citations` — thresholds carry their sources.

Thresholds are parameters dataclasses whose defaults come from
``reference/clinical.md`` §4, each citing its source (:func:`sources_of`);
protocol files override them.
"""

from __future__ import annotations

from exoneb.monitoring.ack import build_ack
from exoneb.monitoring.adverse_events import (
    CTCAE_VERSION,
    GENERAL_GRADES,
    TERMS,
    Action,
    AdverseEvent,
    Causality,
    CtcaeTerm,
    Outcome,
    ReportingDeadline,
    SeriousnessCriterion,
    TermDefinition,
    grade_problems,
    reporting_deadline,
)
from exoneb.monitoring.alerts import (
    RULE_IDS,
    Alert,
    AlertAdvance,
    AlertEvaluation,
    AlertEvent,
    AlertEventKind,
    AlertParameters,
    AlertTracker,
    Severity,
    advance,
    airway_falls,
    evaluate_alerts,
    step,
    tracker_from_state,
    tracker_state,
)
from exoneb.monitoring.citations import NOT_IN_REFERENCE, sources_of
from exoneb.monitoring.discharge import (
    Attestations,
    ChecklistItem,
    DischargeChecklist,
    DischargeParameters,
    ItemStatus,
    evaluate_discharge,
)
from exoneb.monitoring.escalation import (
    CohortLevel,
    EscalationAction,
    EscalationRecommendation,
    recommend_3plus3,
)
from exoneb.monitoring.hl7 import AckCode, EncodingCharacters, ErrorCode, Hl7Problem
from exoneb.monitoring.mdc import MDC_CODES, MdcMapping, VitalParameter
from exoneb.monitoring.mllp import MllpDecoder, MllpFrame, MllpJunk, encode_frame
from exoneb.monitoring.observations import Baseline, Observation, ObservationSource
from exoneb.monitoring.pcd01 import (
    DeviceReading,
    Hl7Rejection,
    MessageHeader,
    OruR01,
    PatientIdentifier,
    parse_oru_r01,
    to_observations,
)
from exoneb.monitoring.schedule import (
    ObservationKind,
    ObservationSchedule,
    ScheduleContext,
    ScheduledObservation,
    ScheduleParameters,
    SlotState,
    SlotStatus,
    build_schedule,
    schedule_status,
)
from exoneb.monitoring.stopping import (
    STOPPING_RULE_IDS,
    AirwayReading,
    SessionFever,
    StoppingDecision,
    StoppingFacts,
    StoppingParameters,
    StopReason,
    airway_readings,
    evaluate_stopping_rules,
)

__all__ = [
    "CTCAE_VERSION",
    "GENERAL_GRADES",
    "MDC_CODES",
    "NOT_IN_REFERENCE",
    "RULE_IDS",
    "STOPPING_RULE_IDS",
    "TERMS",
    "AckCode",
    "Action",
    "AdverseEvent",
    "AirwayReading",
    "Alert",
    "AlertAdvance",
    "AlertEvaluation",
    "AlertEvent",
    "AlertEventKind",
    "AlertParameters",
    "AlertTracker",
    "Attestations",
    "Baseline",
    "Causality",
    "ChecklistItem",
    "CohortLevel",
    "CtcaeTerm",
    "DeviceReading",
    "DischargeChecklist",
    "DischargeParameters",
    "EncodingCharacters",
    "ErrorCode",
    "EscalationAction",
    "EscalationRecommendation",
    "Hl7Problem",
    "Hl7Rejection",
    "ItemStatus",
    "MdcMapping",
    "MessageHeader",
    "MllpDecoder",
    "MllpFrame",
    "MllpJunk",
    "Observation",
    "ObservationKind",
    "ObservationSchedule",
    "ObservationSource",
    "OruR01",
    "Outcome",
    "PatientIdentifier",
    "ReportingDeadline",
    "ScheduleContext",
    "ScheduleParameters",
    "ScheduledObservation",
    "SeriousnessCriterion",
    "SessionFever",
    "Severity",
    "SlotState",
    "SlotStatus",
    "StopReason",
    "StoppingDecision",
    "StoppingFacts",
    "StoppingParameters",
    "TermDefinition",
    "VitalParameter",
    "advance",
    "airway_falls",
    "airway_readings",
    "build_ack",
    "build_schedule",
    "encode_frame",
    "evaluate_alerts",
    "evaluate_discharge",
    "evaluate_stopping_rules",
    "grade_problems",
    "parse_oru_r01",
    "recommend_3plus3",
    "reporting_deadline",
    "schedule_status",
    "sources_of",
    "step",
    "to_observations",
    "tracker_from_state",
    "tracker_state",
]
