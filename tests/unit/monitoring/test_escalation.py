"""3+3 dose escalation against the textbook table (reference/clinical.md §4.5)."""

from __future__ import annotations

import pytest

from exoneb.monitoring.escalation import (
    CohortLevel,
    EscalationAction,
    recommend_3plus3,
)


def table(*cohorts: tuple[int, int], levels: int = 4) -> list[CohortLevel]:
    """Cohorts as (treated, DLTs) from level 1; remaining levels untreated."""
    rows = [CohortLevel(i + 1, n, d) for i, (n, d) in enumerate(cohorts)]
    rows += [CohortLevel(i + 1, 0, 0) for i in range(len(cohorts), levels)]
    return rows


@pytest.mark.parametrize(
    ("cohorts", "action", "level", "mtd"),
    [
        # The textbook rows.
        ([(3, 0)], EscalationAction.ESCALATE, 2, None),  # 0/3 → escalate
        ([(3, 1)], EscalationAction.EXPAND, 1, None),  # 1/3 → 3 more at the same dose
        ([(6, 1)], EscalationAction.ESCALATE, 2, None),  # 1/6 → escalate
        ([(6, 0)], EscalationAction.ESCALATE, 2, None),  # 0/6 → escalate
        ([(6, 1), (3, 2)], EscalationAction.MTD, None, 1),  # ≥ 2/3 → MTD = previous level
        ([(6, 1), (6, 2)], EscalationAction.MTD, None, 1),  # ≥ 2/6 → MTD = previous level
        ([(3, 0), (6, 1), (6, 3)], EscalationAction.MTD, None, 2),
        # Previous level with only 3 subjects: expand it to 6 before calling it the MTD.
        ([(3, 0), (3, 2)], EscalationAction.DE_ESCALATE, 1, None),
        ([(6, 0), (3, 0), (3, 3)], EscalationAction.DE_ESCALATE, 2, None),
        # First level too toxic: no MTD.
        ([(3, 2)], EscalationAction.STOP, None, None),
        ([(6, 2)], EscalationAction.STOP, None, None),
        # Cohorts still filling.
        ([], EscalationAction.ENROL, 1, None),
        ([(2, 0)], EscalationAction.ENROL, 1, None),
        ([(3, 0), (5, 1)], EscalationAction.ENROL, 2, None),
        ([(2, 2)], EscalationAction.STOP, None, None),  # 2 DLTs already exceed, even at 2/2
        # After de-escalation the lower level fills up, then decides.
        ([(3, 0), (4, 0), (3, 2)], EscalationAction.ENROL, 2, None),
        ([(3, 0), (3, 1), (3, 2)], EscalationAction.EXPAND, 2, None),
        ([(3, 0), (6, 2), (3, 2)], EscalationAction.DE_ESCALATE, 1, None),
    ],
)
def test_textbook_cases(
    cohorts: list[tuple[int, int]], action: EscalationAction, level: int | None, mtd: int | None
) -> None:
    rec = recommend_3plus3(table(*cohorts))
    assert (rec.action, rec.level, rec.mtd_level) == (action, level, mtd), rec.reason
    assert "§4.5" in rec.source


def test_highest_level_is_confirmed_on_6_then_declared_the_mtd() -> None:
    top_on_3 = recommend_3plus3(table((3, 0), (3, 0), levels=2))
    assert (top_on_3.action, top_on_3.level) == (EscalationAction.EXPAND, 2)
    top_on_6 = recommend_3plus3(table((3, 0), (6, 1), levels=2))
    assert (top_on_6.action, top_on_6.mtd_level) == (EscalationAction.MTD, 2)


def test_reason_names_the_counts() -> None:
    rec = recommend_3plus3(table((6, 1), (3, 2)))
    assert "level 2: 2/3 DLT" in rec.reason
    assert "level 1: 1/6 DLT" in rec.reason


@pytest.mark.parametrize(("treated", "dlts"), [(3, 4), (-1, 0)])
def test_impossible_counts_are_refused(treated: int, dlts: int) -> None:
    with pytest.raises(ValueError, match="DLTs"):
        CohortLevel(1, treated, dlts)


def test_more_than_six_at_a_level_is_outside_the_table() -> None:
    with pytest.raises(ValueError, match="7 evaluable subjects, more than the 6"):
        CohortLevel(1, 7, 0)


def test_levels_must_be_consecutive_and_filled_in_order() -> None:
    with pytest.raises(ValueError, match="consecutively"):
        recommend_3plus3([CohortLevel(1, 3, 0), CohortLevel(3, 0, 0)])
    with pytest.raises(ValueError, match="fewer than 3"):
        recommend_3plus3(table((2, 0), (3, 0)))
