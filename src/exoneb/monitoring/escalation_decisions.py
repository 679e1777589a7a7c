"""The signed dose-escalation decisions and the dose levels they leave open (pure).

The 3+3 table gives a *recommendation* (:mod:`exoneb.monitoring.escalation`);
the decision is taken by people (the investigator, after the safety review or
DMC the protocol names) and recorded, signed, one after the other. Which dose
levels are open for enrolment follows from those decisions alone, replayed in
order from the start of the study, where only level 1 is open:

=============  ==============================  =========================
decision       taken at open level L           open afterwards
=============  ==============================  =========================
escalate       L below the highest level       L + 1
expand         any                             L (3 more subjects)
de_escalate    L above level 1                 L − 1 (expand it to 6)
mtd            MTD level M ≤ L named           none: escalation complete
stop           any                             none: escalation stopped
=============  ==============================  =========================

After ``mtd`` or ``stop`` no further decision is taken. A decision *follows*
the recommendation when it points where the recommendation points (the same
next level, the same MTD, or stop); any other decision — including one taken
while the recommendation is still "finish the cohort" — needs a written reason.

This is decision support; the DMC and the protocol decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from exoneb.monitoring.escalation import EscalationAction, EscalationRecommendation

__all__ = [
    "Decision",
    "DecisionStep",
    "EscalationState",
    "apply_decision",
    "follows_recommendation",
    "replay",
    "target_level",
]


class Decision(StrEnum):
    """What the investigator decides at the open dose level."""

    ESCALATE = "escalate"
    EXPAND = "expand"
    DE_ESCALATE = "de_escalate"
    MTD = "mtd"
    STOP = "stop"


DECISION_LABELS: dict[Decision, str] = {
    Decision.ESCALATE: "Escalate to the next dose level",
    Decision.EXPAND: "Expand this level (3 more subjects)",
    Decision.DE_ESCALATE: "De-escalate: expand the level below to 6",
    Decision.MTD: "Declare the maximum tolerated dose (MTD)",
    Decision.STOP: "Stop the escalation",
}


@dataclass(frozen=True, slots=True)
class DecisionStep:
    """One decision: taken at open ``level``; ``mtd_level`` only for :attr:`Decision.MTD`."""

    action: Decision
    level: int
    mtd_level: int | None = None


@dataclass(frozen=True, slots=True)
class EscalationState:
    """Where the escalation stands after the decisions so far."""

    open_levels: tuple[int, ...] = (1,)
    closed: bool = False
    mtd_level: int | None = None
    stopped: bool = False


def target_level(step: DecisionStep) -> int | None:
    """The level a decision points at (``None`` for stop)."""
    match step.action:
        case Decision.ESCALATE:
            return step.level + 1
        case Decision.EXPAND:
            return step.level
        case Decision.DE_ESCALATE:
            return step.level - 1
        case Decision.MTD:
            return step.mtd_level
        case _:
            return None


def apply_decision(state: EscalationState, step: DecisionStep, top: int) -> EscalationState:
    """The state after ``step``; ``top`` is the highest dose level of the protocol.

    Raises
    ------
    ValueError
        When the escalation is already closed, the level is not open, or the
        decision has nowhere to go (escalate at the top, de-escalate at level 1,
        an MTD above the level decided at).
    """
    if state.closed:
        ended = (
            "stopped" if state.stopped else f"complete (MTD declared at level {state.mtd_level})"
        )
        raise ValueError(f"The escalation is already {ended}; no further decision is taken.")
    if step.level not in state.open_levels:
        opened = ", ".join(str(n) for n in state.open_levels) or "none"
        raise ValueError(
            f"Level {step.level} is not open; decide at an open level (open: {opened})."
        )
    if step.action is not Decision.MTD and step.mtd_level is not None:
        raise ValueError("An MTD level is given only with the decision to declare the MTD.")
    match step.action:
        case Decision.ESCALATE:
            if step.level >= top:
                raise ValueError(f"Level {step.level} is the highest dose level: nothing above.")
            return EscalationState(open_levels=(step.level + 1,))
        case Decision.EXPAND:
            return EscalationState(open_levels=(step.level,))
        case Decision.DE_ESCALATE:
            if step.level <= 1:
                raise ValueError("Level 1 is the lowest dose level: nothing below.")
            return EscalationState(open_levels=(step.level - 1,))
        case Decision.MTD:
            if step.mtd_level is None or not 1 <= step.mtd_level <= step.level:
                raise ValueError(
                    f"Name the MTD level: a level from 1 to {step.level} (the level decided at)."
                )
            return EscalationState(open_levels=(), closed=True, mtd_level=step.mtd_level)
        case _:
            return EscalationState(open_levels=(), closed=True, stopped=True)


def replay(steps: Sequence[DecisionStep], top: int) -> EscalationState:
    """The state after every decision in order (level 1 open at the start)."""
    state = EscalationState()
    for step in steps:
        state = apply_decision(state, step, top)
    return state


def follows_recommendation(rec: EscalationRecommendation | None, step: DecisionStep) -> bool:
    """Does the decision point where the 3+3 recommendation points?

    "Expand level N" is followed by expanding N when N is open, or by
    de-escalating to N from the level above (the recommendation after a level
    exceeded the MTD). "Finish the cohort" (``enrol``) recommends no decision,
    so every decision then differs from it.
    """
    if rec is None:
        return False
    target = target_level(step)
    match rec.action:
        case EscalationAction.ESCALATE:
            return step.action is Decision.ESCALATE and target == rec.level
        case EscalationAction.EXPAND:
            return step.action in (Decision.EXPAND, Decision.DE_ESCALATE) and target == rec.level
        case EscalationAction.DE_ESCALATE:
            return step.action is Decision.DE_ESCALATE and target == rec.level
        case EscalationAction.MTD:
            return step.action is Decision.MTD and target == rec.mtd_level
        case EscalationAction.STOP:
            return step.action is Decision.STOP
        case _:
            return False
