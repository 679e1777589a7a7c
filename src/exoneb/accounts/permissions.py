"""The permission matrix: which role may do which action. Pure data, no I/O.

Services call :func:`is_allowed` (via ``accounts.service.authorize``) before
doing anything; pages only use it to hide buttons. The test suite generates one
case per role × action from :data:`MATRIX`, so changing a cell here changes the
tests with it.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The six staff roles."""

    ADMINISTRATOR = "administrator"
    PHYSICIAN = "physician"
    NURSE = "nurse"  # nurse / respiratory therapist
    PHARMACIST = "pharmacist"  # pharmacist / lab
    COORDINATOR = "coordinator"  # trial coordinator
    AUDITOR = "auditor"  # read-only


ROLE_LABELS: dict[Role, str] = {
    Role.ADMINISTRATOR: "Administrator",
    Role.PHYSICIAN: "Physician",
    Role.NURSE: "Nurse / respiratory therapist",
    Role.PHARMACIST: "Pharmacist / lab",
    Role.COORDINATOR: "Trial coordinator",
    Role.AUDITOR: "Auditor (read-only)",
}


class Action(StrEnum):
    """Every permission-checked action in the backbone."""

    USER_MANAGE = "user.manage"
    PATIENT_READ = "patient.read"
    PATIENT_CREATE = "patient.create"
    PATIENT_UPDATE = "patient.update"
    PATIENT_VOID = "patient.void"
    CONSENT_RECORD = "consent.record"
    CARE_RECORD = "care.record"
    ENROLMENT_CREATE = "enrolment.create"
    SESSION_PLAN = "session.plan"
    SESSION_TRANSITION = "session.transition"
    SESSION_ABORT = "session.abort"
    RECORD_SIGN = "record.sign"
    ASSESSMENT_RECORD = "assessment.record"
    ASSESSMENT_SIGN = "assessment.sign"
    ASSESSMENT_OVERRIDE = "assessment.override"
    ASSESSMENT_AMEND = "assessment.amend"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    # step 2: product lots and dose preparation
    LOT_READ = "lot.read"
    LOT_RECEIVE = "lot.receive"
    LOT_RELEASE = "lot.release"
    LOT_RECALL = "lot.recall"
    INVENTORY_RECORD = "inventory.record"
    PREPARATION_RECORD = "preparation.record"
    PREPARATION_VERIFY = "preparation.verify"
    # step 3: devices and the supervised inhalation
    DEVICE_MANAGE = "device.manage"
    INHALATION_SUPERVISE = "inhalation.supervise"
    # step 4: monitoring, adverse events, stopping rules, discharge
    OBSERVATION_RECORD = "observation.record"
    OBSERVATION_INGEST = "observation.ingest"
    ALERT_HANDLE = "alert.handle"
    ADVERSE_EVENT_RECORD = "adverse_event.record"
    ADVERSE_EVENT_REPORT = "adverse_event.report"
    COURSE_HOLD = "course.hold"
    SESSION_DISCHARGE = "session.discharge"
    ESCALATION_DECIDE = "escalation.decide"  # the signed dose-escalation decision
    RESCUE_MEDICATION_RECORD = "rescue_medication.record"
    FOLLOW_UP_RECORD = "follow_up.record"
    FOLLOW_UP_REVIEW = "follow_up.review"  # what was done about a call given up
    # reports and export
    REPORT_READ = "report.read"
    DATA_EXPORT = "data.export"


_A, _P, _N, _L, _C, _U = (
    Role.ADMINISTRATOR,
    Role.PHYSICIAN,
    Role.NURSE,
    Role.PHARMACIST,
    Role.COORDINATOR,
    Role.AUDITOR,
)

MATRIX: dict[Action, frozenset[Role]] = {
    Action.USER_MANAGE: frozenset({_A}),
    Action.PATIENT_READ: frozenset({_A, _P, _N, _L, _C, _U}),
    Action.PATIENT_CREATE: frozenset({_P, _N, _C}),
    Action.PATIENT_UPDATE: frozenset({_P, _N, _C}),
    Action.PATIENT_VOID: frozenset({_P, _C}),
    Action.CONSENT_RECORD: frozenset({_P, _N, _C}),
    Action.CARE_RECORD: frozenset({_P, _N}),
    Action.ENROLMENT_CREATE: frozenset({_P, _C}),
    Action.SESSION_PLAN: frozenset({_P, _N, _C}),
    Action.SESSION_TRANSITION: frozenset({_P, _N, _L}),
    Action.SESSION_ABORT: frozenset({_P, _N}),
    Action.RECORD_SIGN: frozenset({_P, _N, _L, _C}),
    Action.ASSESSMENT_RECORD: frozenset({_P, _N}),
    Action.ASSESSMENT_SIGN: frozenset({_P}),
    Action.ASSESSMENT_OVERRIDE: frozenset({_P}),
    Action.ASSESSMENT_AMEND: frozenset({_P}),
    Action.AUDIT_READ: frozenset({_A, _U}),
    Action.AUDIT_EXPORT: frozenset({_A, _U}),
    Action.LOT_READ: frozenset({_P, _N, _L, _C, _U}),
    Action.LOT_RECEIVE: frozenset({_L}),
    Action.LOT_RELEASE: frozenset({_L}),
    Action.LOT_RECALL: frozenset({_L, _C}),
    Action.INVENTORY_RECORD: frozenset({_L}),
    Action.PREPARATION_RECORD: frozenset({_L, _N}),
    Action.PREPARATION_VERIFY: frozenset({_L, _N, _P}),
    Action.DEVICE_MANAGE: frozenset({_A, _N}),
    Action.INHALATION_SUPERVISE: frozenset({_P, _N}),
    Action.OBSERVATION_RECORD: frozenset({_P, _N}),
    Action.OBSERVATION_INGEST: frozenset({_P, _N}),
    Action.ALERT_HANDLE: frozenset({_P, _N}),
    Action.ADVERSE_EVENT_RECORD: frozenset({_P, _N}),
    Action.ADVERSE_EVENT_REPORT: frozenset({_P, _C}),
    Action.COURSE_HOLD: frozenset({_P, _C}),
    Action.SESSION_DISCHARGE: frozenset({_P, _N}),
    Action.ESCALATION_DECIDE: frozenset({_P}),  # a medical decision: the investigator signs
    Action.RESCUE_MEDICATION_RECORD: frozenset({_P, _N}),
    Action.FOLLOW_UP_RECORD: frozenset({_P, _N}),
    Action.FOLLOW_UP_REVIEW: frozenset({_P}),  # a clinical decision about an unreached patient
    Action.REPORT_READ: frozenset({_P, _N, _L, _C, _U}),
    Action.DATA_EXPORT: frozenset({_C, _U}),
}
"""Action → roles allowed. Every action appears exactly once."""


def is_allowed(role: str, action: Action) -> bool:
    """True when ``role`` may perform ``action``; unknown roles may do nothing."""
    try:
        return Role(role) in MATRIX[action]
    except ValueError:
        return False


def allowed_actions(role: str) -> frozenset[Action]:
    """Every action the role may perform (for showing buttons)."""
    return frozenset(a for a in Action if is_allowed(role, a))
