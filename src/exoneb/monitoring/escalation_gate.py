"""Which dose levels are open for enrolment: the signed decisions, replayed.

Kept apart from :mod:`exoneb.monitoring.escalation_service`: this module
reads only the decisions and holds tables and applies the pure rules of
:mod:`exoneb.monitoring.escalation_decisions`. It registers
:func:`enrolment_guard` with the enrolment service
(:func:`exoneb.patients.service.register_enrolment_guard`) at import, so that
lower layer refuses an enrolment at a closed level or in a paused cohort
without importing this step; and :func:`planning_guard` with the session
service (:func:`exoneb.sessions.service.register_plan_guard`), which refuses
planning another session for a subject of a paused cohort or of a dose
escalation stopped by a signed decision.
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
from exoneb.patients.models import Enrolment
from exoneb.protocols.schema import ProtocolFile
from exoneb.sessions import service as sessions

__all__ = [
    "cohort_pause_message",
    "decisions_of",
    "enrolment_guard",
    "gate_message",
    "planning_guard",
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


def _active_pause(db: DbSession, protocol_id: str, arm_code: str) -> CourseHold | None:
    return db.scalars(
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


def cohort_pause_message(
    db: DbSession, protocol_id: str, arm_code: str, what: str = "Enrolment in"
) -> str | None:
    """Why enrolment (or ``what``) in a paused cohort is refused now, or ``None``.

    clinical.md §4.5: a related SAE "pauses enrolment pending DMC review". A pause
    (from a stopping rule or placed by hand) holds enrolment in its arm whatever
    ``escalation.gate_enrolment`` says, until a physician or coordinator lifts it.
    """
    pause = _active_pause(db, protocol_id, arm_code)
    if pause is None:
        return None
    return (
        f"{what} {protocol_id} {arm_code} is paused since "
        f"{pause.created_at:%Y-%m-%d %H:%M} UTC ({pause.created_by}): {pause.reason} "
        "It resumes when a physician or coordinator lifts the pause after review."
    )


def stop_message(db: DbSession, protocol_id: str, arm_code: str) -> str | None:
    """Why no further session may be planned at ``arm_code``: the escalation was stopped.

    A stop decision means even the lowest level exceeds the MTD (clinical.md §4.5:
    "≥ 2/3 or ≥ 2/6: dose exceeds the MTD"), so no dose level of the escalation may
    be given again. Read from the signed decision alone (its cohort snapshot lists
    the escalation's levels), so arms outside the escalation are not affected.
    """
    stop = db.scalars(
        select(EscalationDecision)
        .where(EscalationDecision.protocol_id == protocol_id, EscalationDecision.decision == "stop")
        .order_by(EscalationDecision.sequence)
        .limit(1)
    ).first()
    if stop is None or arm_code not in {c.get("arm_code") for c in stop.cohort}:
        return None
    return (
        f"No further session can be planned at {arm_code}: the dose escalation of "
        f"{protocol_id} was stopped by {stop.decided_by} on {stop.decided_at:%Y-%m-%d %H:%M} UTC"
        f"{f' ({stop.reason})' if stop.reason else ''}."
    )


def enrolment_guard(ctx: Ctx, protocol: ProtocolFile, arm_code: str) -> str | None:
    """Why enrolment at ``arm_code`` is refused now: a closed dose level, else a paused cohort."""
    return gate_message(ctx.db, protocol, arm_code) or cohort_pause_message(
        ctx.db, protocol.id, arm_code
    )


def planning_guard(ctx: Ctx, enrolment: Enrolment) -> str | None:
    """Why no session may be planned on ``enrolment`` now: a stopped escalation, a paused cohort.

    A cohort pause already holds dosing (``verified → inhaling``, the monitoring
    fact provider); refusing the plan says so before anyone assesses or prepares.
    """
    return stop_message(ctx.db, enrolment.protocol_id, enrolment.arm_code) or (
        cohort_pause_message(
            ctx.db, enrolment.protocol_id, enrolment.arm_code, "Dosing (planning a session) in"
        )
    )


patients.register_enrolment_guard(enrolment_guard)
sessions.register_plan_guard(planning_guard)
