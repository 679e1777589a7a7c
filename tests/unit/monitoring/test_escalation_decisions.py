"""Open dose levels follow the signed decisions; whether a decision follows the 3+3 advice.

The 3+3 cases are the textbook ones of clinical.md §4.5 [unverified] (0/3 escalate,
1/3 expand, ≥ 2 exceed the MTD, MTD = highest level with ≤ 1/6).
"""

from __future__ import annotations

import pytest

from exoneb.monitoring.escalation import CohortLevel, recommend_3plus3
from exoneb.monitoring.escalation_decisions import (
    Decision,
    DecisionStep,
    EscalationState,
    apply_decision,
    follows_recommendation,
    replay,
)

E, X, D = Decision.ESCALATE, Decision.EXPAND, Decision.DE_ESCALATE
M, S = Decision.MTD, Decision.STOP


def test_level_1_is_open_before_any_decision() -> None:
    assert replay([], top=4) == EscalationState(open_levels=(1,))


def test_a_full_escalation_replayed() -> None:
    steps = [DecisionStep(E, 1), DecisionStep(X, 2), DecisionStep(E, 2), DecisionStep(D, 3),
             DecisionStep(M, 2, mtd_level=2)]  # fmt: skip
    states = [replay(steps[:n], top=4).open_levels for n in range(1, 6)]
    assert states == [(2,), (2,), (3,), (2,), ()]
    final = replay(steps, top=4)
    assert (final.closed, final.mtd_level, final.stopped) == (True, 2, False)


@pytest.mark.parametrize(
    ("state", "step", "message"),
    [
        (EscalationState(), DecisionStep(E, 2), "Level 2 is not open"),
        (EscalationState(open_levels=(4,)), DecisionStep(E, 4), "highest dose level"),
        (EscalationState(), DecisionStep(D, 1), "lowest dose level"),
        (EscalationState(), DecisionStep(M, 1), "Name the MTD level"),
        (EscalationState(open_levels=(2,)), DecisionStep(M, 2, mtd_level=3), "Name the MTD"),
        (EscalationState(), DecisionStep(X, 1, mtd_level=1), "only with the decision"),
        (EscalationState(open_levels=(), closed=True, stopped=True), DecisionStep(E, 1),
         "already stopped"),
        (EscalationState(open_levels=(), closed=True, mtd_level=2), DecisionStep(E, 1),
         "MTD declared at level 2"),
    ],
)  # fmt: skip
def test_impossible_decisions_are_refused(
    state: EscalationState, step: DecisionStep, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        apply_decision(state, step, top=4)


def test_stop_closes_every_level() -> None:
    assert replay([DecisionStep(S, 1)], top=4) == EscalationState((), closed=True, stopped=True)


def _rec(*levels: tuple[int, int]):  # type: ignore[no-untyped-def]
    table = [CohortLevel(n, t, d) for n, (t, d) in enumerate(levels, start=1)]
    return recommend_3plus3(table + [CohortLevel(len(table) + 1 + i, 0, 0) for i in range(2)])


@pytest.mark.parametrize(
    ("table", "step", "follows"),
    [
        (((3, 0),), DecisionStep(E, 1), True),  # 0/3 → escalate
        (((3, 0),), DecisionStep(X, 1), False),
        (((3, 1),), DecisionStep(X, 1), True),  # 1/3 → expand
        (((6, 1),), DecisionStep(E, 1), True),  # 1/6 → escalate
        (((3, 2),), DecisionStep(S, 1), True),  # 2/3 at level 1 → stop
        (((6, 1), (3, 2)), DecisionStep(M, 2, mtd_level=1), True),  # MTD = level 1
        (((6, 1), (3, 2)), DecisionStep(M, 2, mtd_level=2), False),
        (((3, 0), (3, 2)), DecisionStep(D, 2), True),  # expand level 1 to 6
        (((2, 0),), DecisionStep(E, 1), False),  # cohort not complete: any decision differs
    ],
)  # fmt: skip
def test_decision_follows_the_3plus3_recommendation(
    table: tuple[tuple[int, int], ...], step: DecisionStep, follows: bool
) -> None:
    assert follows_recommendation(_rec(*table), step) is follows


def test_no_recommendation_means_every_decision_differs() -> None:
    assert not follows_recommendation(None, DecisionStep(E, 1))
