"""Hypothesis state machine through the session service, on SQLite and PostgreSQL.

Random sequences of step records, moves (some with a stale version) and aborts:
the stored state, its history rows and its audit rows always agree with a
simple model, and every stored move is an edge of the DESIGN.md graph.
"""

from __future__ import annotations

import uuid

from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent
from exoneb.core.context import Ctx
from exoneb.core.errors import RuleViolation, StaleEdit
from exoneb.sessions import rules
from exoneb.sessions import service as sessions
from exoneb.sessions.models import SessionTransition, TherapySession
from exoneb.sessions.rules import FINAL_STATES, TRANSITIONS, State

from .conftest import World
from .factories import planned_session

STEPS = ("assessment", "preparation", "inhalation", "monitoring")
reasons = st.sampled_from(["", "  ", "patient unwell", "device fault"])


def legal(source: State, target: State) -> bool:
    """The graph of DESIGN.md: forward moves, or abort from any non-final state."""
    if source in FINAL_STATES:
        return False
    return target in TRANSITIONS.get(source, frozenset()) or target is State.ABORTED


def test_service_state_machine(world: World) -> None:
    granted: dict[int, set[str]] = {}
    reached: set[State] = set()

    def provider(ctx: Ctx, session: TherapySession) -> sessions.FactContribution:
        flags = granted.get(session.id, set())
        return sessions.FactContribution(
            signed_steps=frozenset(flags & set(STEPS)),
            eligibility="ineligible"
            if "ineligible" in flags
            else ("cleared" if "cleared" in flags else None),
            flags={"verified_by_second_person": "second_person" in flags},
        )

    class ServiceMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            _, self.session_id = planned_session(world, f"SM-{uuid.uuid4().hex[:10]}")
            granted[self.session_id] = set()
            self.state, self.version, self.moves = State.PLANNED, 1, 0

        @rule(fact=st.sampled_from([*STEPS, "cleared", "ineligible", "second_person"]))
        def record_step(self, fact: str) -> None:
            granted[self.session_id].add(fact)

        @rule(data=st.data(), reason=reasons, stale=st.sampled_from([False, False, True]))
        def move(self, data: st.DataObject, reason: str, stale: bool) -> None:
            # Mostly moves the graph offers now, sometimes any state at all.
            offered = sorted(rules.targets(self.state)) or list(State)
            goal = data.draw(st.one_of(st.sampled_from(offered), st.sampled_from(list(State))))
            version = self.version - 1 if stale else self.version
            try:
                with world.action(Role.PHYSICIAN) as ctx:
                    moved = sessions.move(
                        ctx=ctx,
                        session_id=self.session_id,
                        target=goal,
                        version=version,
                        reason=reason or None,
                    )
            except StaleEdit:
                assert stale
                return
            except RuleViolation:
                assert not stale
                return
            assert not stale
            assert legal(self.state, goal)
            self.state, self.version, self.moves = State(moved.state), moved.version, self.moves + 1
            reached.add(self.state)

        @invariant()
        def stored_history_and_audit_agree(self) -> None:
            with world.factory() as db:
                stored = db.get(TherapySession, self.session_id)
                assert stored is not None
                assert stored.state == self.state.value
                history = db.scalars(
                    select(SessionTransition)
                    .where(SessionTransition.session_id == self.session_id)
                    .order_by(SessionTransition.id)
                ).all()
                audited = db.scalar(
                    select(func.count()).where(
                        AuditEvent.entity_type == "therapy_session",
                        AuditEvent.entity_id == str(self.session_id),
                        AuditEvent.action.in_(
                            ["session.plan", "session.transition", "session.abort"]
                        ),
                    )
                )
            assert len(history) == self.moves + 1
            assert audited == self.moves + 1
            for step in history[1:]:
                assert legal(State(step.from_state), State(step.to_state))

    sessions.register_fact_provider(provider)
    try:
        run_state_machine_as_test(
            ServiceMachine,
            settings=hsettings(max_examples=25, stateful_step_count=15, deadline=None),
        )
    finally:
        sessions._FACT_PROVIDERS.remove(provider)
    # The machine really explored: it moved forward and aborted, not only refused.
    assert {State.ASSESSED, State.ABORTED} <= reached, reached
