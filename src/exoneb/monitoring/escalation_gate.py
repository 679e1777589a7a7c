"""Which dose levels are open for enrolment: the signed decisions, replayed.

Kept apart from :mod:`exoneb.monitoring.escalation_service`: this module
reads only the decisions and holds tables and applies the pure rules of
:mod:`exoneb.monitoring.escalation_decisions`. It registers
:func:`enrolment_guard` with the enrolment service
(:func:`exoneb.patients.service.register_enrolment_guard`) at import, so that
lower layer refuses an enrolment at a closed level or in a paused cohort
without importing this step.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from exoneb.core.context import Ctx
from exoneb.monitoring.escalation_decisions import (
    Decision,
    DecisionStep,
    EscalationState,
    replay,
)
from exoneb.monitoring.escalation_models import EscalationDecision
from exoneb.monitoring.models import CourseHold
from exoneb.patients import service as patients
from exoneb.protocols.schema import ProtocolFile

__all__ = [
    "cohort_pause_message",
    "decisions_of",
    "enrolment_guard",
    "gate_message",
    "state_of",
    "step_of",
]


def decisions_of(db: DbSession, protocol_id: str) -> Sequence[EscalationDecision]:
    """The protocol's decisions in the order they were taken."""
    return db.scalars(
        select(EscalationDecision)
        .where(EscalationDecision.protocol_id == protocol_id)
        .order_by(EscalationDecision.sequence)
    ).all()


def step_of(row: EscalationDecision) -> DecisionStep:
    """A stored decision as the pure layer's step."""
    return DecisionStep(Decision(row.decision), row.level_number, row.mtd_level)


def state_of(db: DbSession, protocol: ProtocolFile) -> EscalationState:
    """Where the protocol's escalation stands (level 1 open before any decision)."""
    levels = protocol.escalation_levels()
    return replay([step_of(r) for r in decisions_of(db, protocol.id)], top=len(levels))


def gate_message(db: DbSession, protocol: ProtocolFile, arm_code: str) -> str | None:
    """Why enrolment at ``arm_code`` is refused now, or ``None`` when it may go ahead.

    Only dose levels of a protocol whose ``escalation.gate_enrolment`` is on are
    gated; other arms (e.g. a placebo or comparator arm) never are.
    """
    section = protocol.escalation
    if section is None or not section.gates_enrolment() or arm_code not in section.levels:
        return None
    state = state_of(db, protocol)
    number = section.level_numbers()[arm_code]
    if number in state.open_levels:
        return None
    codes = {n: code for code, n in section.level_numbers().items()}
    if state.closed:
        why = (
            "was stopped"
            if state.stopped
            else f"is complete (MTD declared at {codes.get(state.mtd_level or 0, '?')})"
        )
        return (
            f"Dose level {arm_code} is not open for enrolment: the escalation of protocol "
            f"{protocol.id} {why}, so no dose level is open (escalation.gate_enrolment)."
        )
    opened = ", ".join(codes[n] for n in state.open_levels)
    return (
        f"Dose level {arm_code} is not open for enrolment. Open now: {opened} — levels open "
        f"only by a signed escalation decision (protocol {protocol.id}, "
        "escalation.gate_enrolment)."
    )


def cohort_pause_message(db: DbSession, protocol_id: str, arm_code: str) -> str | None:
    """Why enrolment in a paused cohort is refused now, or ``None`` when it is not paused.

    clinical.md §4.5: a related SAE "pauses enrolment pending DMC review". A pause
    (from a stopping rule or placed by hand) holds enrolment in its arm whatever
    ``escalation.gate_enrolment`` says, until a physician or coordinator lifts it.
    """
    pause = db.scalars(
        select(CourseHold)
        .where(
            CourseHold.scope == "cohort",
            CourseHold.status == "active",
            CourseHold.protocol_id == protocol_id,
            CourseHold.arm_code == arm_code,
        )
        .order_by(CourseHold.created_at)
        .limit(1)
    ).first()
    if pause is None:
        return None
    return (
        f"Enrolment in {protocol_id} {arm_code} is paused since "
        f"{pause.created_at:%Y-%m-%d %H:%M} UTC ({pause.created_by}): {pause.reason} "
        "It resumes when a physician or coordinator lifts the pause after review."
    )


def enrolment_guard(ctx: Ctx, protocol: ProtocolFile, arm_code: str) -> str | None:
    """Why enrolment at ``arm_code`` is refused now: a closed dose level, else a paused cohort."""
    return gate_message(ctx.db, protocol, arm_code) or cohort_pause_message(
        ctx.db, protocol.id, arm_code
    )


patients.register_enrolment_guard(enrolment_guard)
