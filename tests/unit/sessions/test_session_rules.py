"""The session state machine as pure rules: moves, guards, abort, extension hooks."""

from __future__ import annotations

import itertools

import pytest

from exoneb.sessions import rules
from exoneb.sessions.rules import FINAL_STATES, SessionFacts, State

ALL_SIGNED = frozenset({"assessment", "preparation", "inhalation", "monitoring"})


def facts(state: State, **kw: object) -> SessionFacts:
    values: dict[str, object] = {
        "consent_current": True,
        "authorisation_active": True,
        "signed_steps": ALL_SIGNED,
        "eligibility": "cleared",
        "flags": {
            "verified_by_second_person": True,
            "inhalation_supervisor_present": True,
            "inhalation_started": True,
            "inhalation_stopped": True,
        },
    }
    values.update(kw)
    return SessionFacts(state=state, **values)  # type: ignore[arg-type]


def test_happy_path_reaches_discharge_when_every_guard_is_met() -> None:
    path = [
        State.PLANNED,
        State.ASSESSED,
        State.CLEARED,
        State.PREPARED,
        State.VERIFIED,
        State.INHALING,
        State.MONITORING,
        State.DISCHARGED,
    ]
    for source, target in itertools.pairwise(path):
        assert rules.check(facts(source), target) == []


def test_skipping_a_step_is_refused() -> None:
    assert rules.check(facts(State.PLANNED), State.PREPARED) == [
        "A session cannot go from planned to prepared."
    ]


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_final_states_cannot_change(state: State) -> None:
    assert rules.targets(state) == frozenset()
    assert "can no longer change" in rules.check(facts(state), State.ABORTED, reason="x")[0]


@pytest.mark.parametrize("state", sorted(set(State) - FINAL_STATES))
def test_abort_needs_a_reason_from_every_open_state(state: State) -> None:
    assert rules.check(facts(state), State.ABORTED, reason="  ") == [
        "Give a reason for aborting the session."
    ]
    assert rules.check(facts(state), State.ABORTED, reason="patient unwell") == []


def test_unsigned_step_blocks_and_says_why() -> None:
    blocked = rules.check(facts(State.PLANNED, signed_steps=frozenset()), State.ASSESSED)
    assert blocked == ["The assessment record is not signed yet."]


def test_eligibility_decides_between_cleared_and_ineligible() -> None:
    undecided = facts(State.ASSESSED, eligibility=None)
    assert rules.check(undecided, State.CLEARED)
    assert rules.check(undecided, State.INELIGIBLE)
    assert rules.check(facts(State.ASSESSED, eligibility="ineligible"), State.INELIGIBLE) == []


def test_regulatory_gate_rechecked_before_inhaling() -> None:
    assert rules.check(facts(State.VERIFIED, consent_current=False), State.INHALING)
    assert rules.check(facts(State.VERIFIED, authorisation_active=False), State.INHALING)


def test_inhaling_needs_a_supervisor_and_a_started_run_monitoring_a_stopped_one() -> None:
    assert rules.check(facts(State.VERIFIED, flags={}), State.INHALING) == [
        "No trained supervisor is recorded as present.",
        "The nebulization has not been started.",
    ]
    assert rules.check(facts(State.INHALING, flags={}), State.MONITORING) == [
        "The nebulization has not been stopped."
    ]


def test_second_person_check_before_verified() -> None:
    assert rules.check(facts(State.PREPARED, flags={}), State.VERIFIED)


def test_options_list_blockers_and_abort() -> None:
    opts = rules.options(facts(State.PLANNED, signed_steps=frozenset()))
    assert [(o.target, o.allowed) for o in opts] == [(State.ASSESSED, False), (State.ABORTED, True)]


def test_registered_guard_applies_and_rejects_non_transitions() -> None:
    def lot_in_date(f: SessionFacts) -> str | None:
        return None if f.flags.get("lot_in_date") else "The lot is out of date."

    rules.register_guard(State.CLEARED, State.PREPARED, lot_in_date)
    try:
        assert "The lot is out of date." in rules.check(facts(State.CLEARED), State.PREPARED)
        flags = {**facts(State.CLEARED).flags, "lot_in_date": True}
        assert rules.check(facts(State.CLEARED, flags=flags), State.PREPARED) == []
        with pytest.raises(ValueError, match="not a transition"):
            rules.register_guard(State.PLANNED, State.DISCHARGED, lot_in_date)
    finally:
        rules._GUARDS[(State.CLEARED, State.PREPARED)].remove(lot_in_date)


def test_can_plan_needs_consent_and_authorisation() -> None:
    assert rules.can_plan(consent_current=True, authorisation_active=True) == []
    assert len(rules.can_plan(consent_current=False, authorisation_active=False)) == 2


@pytest.mark.parametrize(("source", "target"), [(State.PREPARED, State.VERIFIED),
                                                (State.VERIFIED, State.INHALING)])  # fmt: skip
def test_a_dose_no_longer_usable_blocks_verification_and_inhalation(
    source: State, target: State
) -> None:
    """Preparation sets prepared_dose_usable=False for an expired, discarded or recalled dose."""
    flags = {"verified_by_second_person": True, "prepared_dose_usable": False}
    blockers = rules.check(facts(source, flags=flags), target)
    assert (
        "The prepared dose is past its use-by, was discarded, or its lot was recalled or "
        "quarantined; prepare a new dose."
    ) in blockers
    flags["prepared_dose_usable"] = True
    assert not any("prepared dose" in b for b in rules.check(facts(source, flags=flags), target))


def test_a_held_course_blocks_inhalation() -> None:
    """Monitoring sets course_on_hold while a stopping rule holds the course or the cohort."""
    held = rules.check(facts(State.VERIFIED, flags={"course_on_hold": True}), State.INHALING)
    assert any("on hold" in b for b in held)
    free = rules.check(facts(State.VERIFIED, flags={"course_on_hold": False}), State.INHALING)
    assert not any("on hold" in b for b in free)
