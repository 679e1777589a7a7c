"""The therapy-session state machine: states, transitions and their guards. Pure code.

::

    planned → assessed → cleared → prepared → verified → inhaling → monitoring → discharged
                      ↘ ineligible
    (any non-final state) → aborted   (with a reason)

The service (``sessions.service``) gathers :class:`SessionFacts` from the
database and asks :func:`check` whether a move is allowed; pages ask
:func:`options` to show what may happen next. Nothing here touches the
database, the web or the clock.

Extension point for the step packages
-------------------------------------
Each step package (``assessment``, ``preparation``, ``inhalation``,
``monitoring``) plugs in at two places:

1. *Facts*: it registers a fact provider with
   ``sessions.service.register_fact_provider`` that reads its own tables and
   returns entries for :attr:`SessionFacts.signed_steps`,
   :attr:`SessionFacts.eligibility` or :attr:`SessionFacts.flags`
   (e.g. ``{"lot_in_date": True}``).
2. *Guards*: it registers pure guard functions with :func:`register_guard`
   for the transitions it governs. A guard receives the facts and returns
   ``None`` (allowed) or a sentence saying what is missing.

The built-in guards below already demand that each step's record is signed,
so until a step package exists its transition stays closed — the backbone
never lets a session skip a step that has no records yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    """Where a therapy session is."""

    PLANNED = "planned"
    ASSESSED = "assessed"
    INELIGIBLE = "ineligible"
    CLEARED = "cleared"
    PREPARED = "prepared"
    VERIFIED = "verified"
    INHALING = "inhaling"
    MONITORING = "monitoring"
    DISCHARGED = "discharged"
    ABORTED = "aborted"


FINAL_STATES = frozenset({State.INELIGIBLE, State.DISCHARGED, State.ABORTED})

TRANSITIONS: dict[State, frozenset[State]] = {
    State.PLANNED: frozenset({State.ASSESSED}),
    State.ASSESSED: frozenset({State.CLEARED, State.INELIGIBLE}),
    State.CLEARED: frozenset({State.PREPARED}),
    State.PREPARED: frozenset({State.VERIFIED}),
    State.VERIFIED: frozenset({State.INHALING}),
    State.INHALING: frozenset({State.MONITORING}),
    State.MONITORING: frozenset({State.DISCHARGED}),
}
"""Forward moves. ``aborted`` is added for every non-final state by :func:`targets`."""

STEPS: tuple[tuple[str, str, State], ...] = (
    ("assessment", "1. Assessment", State.ASSESSED),
    ("preparation", "2. Preparation", State.PREPARED),
    ("inhalation", "3. Inhalation", State.MONITORING),
    ("monitoring", "4. Monitoring", State.DISCHARGED),
)
"""The four steps: key, label, and the state reached when the step is complete."""

STATE_LABELS: dict[State, str] = {
    State.PLANNED: "Planned",
    State.ASSESSED: "Assessed",
    State.INELIGIBLE: "Not eligible today",
    State.CLEARED: "Cleared for dosing",
    State.PREPARED: "Dose prepared",
    State.VERIFIED: "Preparation verified",
    State.INHALING: "Inhaling",
    State.MONITORING: "Monitoring",
    State.DISCHARGED: "Discharged",
    State.ABORTED: "Aborted",
}


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the guards may know about a session, gathered by the service."""

    state: State
    consent_current: bool = False
    authorisation_active: bool = False
    signed_steps: frozenset[str] = frozenset()
    eligibility: str | None = None  # "cleared" | "ineligible" | None (not decided)
    flags: Mapping[str, bool] = field(default_factory=dict)


Guard = Callable[[SessionFacts], str | None]
"""A guard returns ``None`` when the move is allowed, else what is missing."""


def _needs_signed(step: str, label: str) -> Guard:
    def guard(facts: SessionFacts) -> str | None:
        return None if step in facts.signed_steps else f"The {label} record is not signed yet."

    guard.__name__ = f"needs_signed_{step}"
    return guard


def _eligibility_is(value: str) -> Guard:
    def guard(facts: SessionFacts) -> str | None:
        if facts.eligibility == value:
            return None
        return f"The eligibility decision is not '{value}'."

    guard.__name__ = f"eligibility_is_{value}"
    return guard


def _regulatory_gate(facts: SessionFacts) -> str | None:
    if not facts.consent_current:
        return "The patient has no current consent on record."
    if not facts.authorisation_active:
        return "The enrolment has no active regulatory authorisation (IND/CTA and ethics)."
    return None


def _second_person(facts: SessionFacts) -> str | None:
    if facts.flags.get("verified_by_second_person"):
        return None
    return "The preparation must be verified by a second person."


def _flag(name: str, missing: str) -> Guard:
    def guard(facts: SessionFacts) -> str | None:
        return None if facts.flags.get(name) else missing

    guard.__name__ = f"needs_{name}"
    return guard


def _dose_usable(facts: SessionFacts) -> str | None:
    # Set by the preparation step: False once the made dose is past its use-by, was
    # discarded, or its lot was recalled or quarantined after it was made.
    if facts.flags.get("prepared_dose_usable") is False:
        return (
            "The prepared dose is past its use-by, was discarded, or its lot was recalled or "
            "quarantined; prepare a new dose."
        )
    return None


def _course_not_held(facts: SessionFacts) -> str | None:
    # Set by the monitoring step: a stopping rule (or a physician) holds the patient's
    # course or pauses the cohort; lifted only with a reason.
    if facts.flags.get("course_on_hold"):
        return "The patient's course is on hold (or the cohort is paused) by a stopping rule."
    return None


_GUARDS: dict[tuple[State, State], list[Guard]] = {
    (State.PLANNED, State.ASSESSED): [_needs_signed("assessment", "assessment")],
    # The decision counts only while the assessment it belongs to is signed (an amended,
    # unsigned assessment blocks it).
    (State.ASSESSED, State.CLEARED): [
        _needs_signed("assessment", "current assessment"),
        _eligibility_is("cleared"),
    ],
    (State.ASSESSED, State.INELIGIBLE): [
        _needs_signed("assessment", "current assessment"),
        _eligibility_is("ineligible"),
    ],
    (State.CLEARED, State.PREPARED): [_needs_signed("preparation", "dose preparation")],
    (State.PREPARED, State.VERIFIED): [_second_person, _dose_usable],
    # Inhaling means the nebulizer is on, under a trained supervisor recorded as present.
    (State.VERIFIED, State.INHALING): [
        _regulatory_gate,
        _dose_usable,
        _course_not_held,
        _flag("inhalation_supervisor_present", "No trained supervisor is recorded as present."),
        _flag("inhalation_started", "The nebulization has not been started."),
    ],
    (State.INHALING, State.MONITORING): [
        _flag("inhalation_stopped", "The nebulization has not been stopped."),
        _needs_signed("inhalation", "inhalation"),
    ],
    (State.MONITORING, State.DISCHARGED): [_needs_signed("monitoring", "monitoring")],
}


def register_guard(source: State, target: State, guard: Guard) -> None:
    """Add a guard to a forward transition (step packages call this at import)."""
    if target not in TRANSITIONS.get(source, frozenset()):
        raise ValueError(f"{source.value} → {target.value} is not a transition")
    guards = _GUARDS.setdefault((source, target), [])
    if guard not in guards:
        guards.append(guard)


def targets(state: State) -> frozenset[State]:
    """Every state reachable in one move from ``state`` (including ``aborted``)."""
    if state in FINAL_STATES:
        return frozenset()
    return TRANSITIONS.get(state, frozenset()) | {State.ABORTED}


def check(facts: SessionFacts, target: State, *, reason: str | None = None) -> list[str]:
    """Why ``facts.state → target`` is not allowed now; an empty list means it is."""
    if target not in targets(facts.state):
        if facts.state in FINAL_STATES:
            return [f"The session is {facts.state.value}; it can no longer change."]
        return [f"A session cannot go from {facts.state.value} to {target.value}."]
    if target is State.ABORTED:
        return [] if reason and reason.strip() else ["Give a reason for aborting the session."]
    return [msg for g in _GUARDS.get((facts.state, target), []) if (msg := g(facts))]


@dataclass(frozen=True, slots=True)
class Option:
    """One possible next state, and what blocks it (empty when allowed)."""

    target: State
    blockers: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        """True when nothing blocks the move."""
        return not self.blockers


def options(facts: SessionFacts) -> list[Option]:
    """Every next state with its blockers (``aborted`` needs only a reason)."""
    result = []
    for target in sorted(targets(facts.state), key=list(State).index):
        blockers = [] if target is State.ABORTED else check(facts, target)
        result.append(Option(target=target, blockers=tuple(blockers)))
    return result


def can_plan(*, consent_current: bool, authorisation_active: bool) -> list[str]:
    """Why a new session cannot be planned; empty when it can."""
    problems = []
    if not consent_current:
        problems.append("Record the patient's current consent before planning a session.")
    if not authorisation_active:
        problems.append(
            "The enrolment needs an active regulatory authorisation (IND/CTA and ethics)."
        )
    return problems
