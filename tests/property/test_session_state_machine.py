"""Hypothesis state machine over the pure session rules: no sequence reaches an illegal state.

The service-level machine on SQLite and PostgreSQL lives in
``tests/integration/test_session_machine_db.py``.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from exoneb.sessions import rules
from exoneb.sessions.rules import FINAL_STATES, TRANSITIONS, SessionFacts, State

STEPS = ("assessment", "preparation", "inhalation", "monitoring")
facts_strategy = st.builds(
    SessionFacts,
    state=st.just(State.PLANNED),
    consent_current=st.booleans(),
    authorisation_active=st.booleans(),
    signed_steps=st.frozensets(st.sampled_from(STEPS)),
    eligibility=st.sampled_from([None, "cleared", "ineligible"]),
    flags=st.fixed_dictionaries({"verified_by_second_person": st.booleans()}),
)
reasons = st.sampled_from(["", "  ", "patient unwell", "device fault"])


def legal(source: State, target: State) -> bool:
    """The graph of DESIGN.md: forward moves, or abort from any non-final state."""
    if source in FINAL_STATES:
        return False
    return target in TRANSITIONS.get(source, frozenset()) or target is State.ABORTED


def guards_hold(facts: SessionFacts, target: State) -> bool:
    """An independent restatement of what each forward move needs."""
    needs = {
        State.ASSESSED: "assessment" in facts.signed_steps,
        State.CLEARED: "assessment" in facts.signed_steps and facts.eligibility == "cleared",
        State.INELIGIBLE: "assessment" in facts.signed_steps and facts.eligibility == "ineligible",
        State.PREPARED: "preparation" in facts.signed_steps,
        State.VERIFIED: bool(facts.flags.get("verified_by_second_person")),
        State.INHALING: facts.consent_current and facts.authorisation_active,
        State.MONITORING: "inhalation" in facts.signed_steps,
        State.DISCHARGED: "monitoring" in facts.signed_steps,
    }
    return needs.get(target, True)


class PureSessionMachine(RuleBasedStateMachine):
    """The pure rules alone."""

    def __init__(self) -> None:
        super().__init__()
        self.state = State.PLANNED
        self.path = [State.PLANNED]

    @rule(goal=st.sampled_from(list(State)), facts=facts_strategy, reason=reasons)
    def attempt(self, goal: State, facts: SessionFacts, reason: str) -> None:
        current = SessionFacts(
            state=self.state, consent_current=facts.consent_current,
            authorisation_active=facts.authorisation_active, signed_steps=facts.signed_steps,
            eligibility=facts.eligibility, flags=facts.flags,
        )  # fmt: skip
        refused = rules.check(current, goal, reason=reason)
        should_pass = legal(self.state, goal) and (
            bool(reason.strip()) if goal is State.ABORTED else guards_hold(current, goal)
        )
        assert (not refused) == should_pass, (self.state, goal, refused)
        if not refused:
            self.state = goal
            self.path.append(goal)

    @invariant()
    def path_follows_the_graph(self) -> None:
        for source, target in zip(self.path, self.path[1:], strict=False):
            assert legal(source, target)

    @invariant()
    def options_agree_with_check(self) -> None:
        opts = rules.options(SessionFacts(state=self.state))
        assert {o.target for o in opts} == rules.targets(self.state)


PureSessionMachine.TestCase.settings = settings(stateful_step_count=30)
TestPureSessionMachine = PureSessionMachine.TestCase
