"""Who counts in the 3+3 table: the DLT window and the review of DLT candidates (pure).

clinical.md §1.2 (IPF EV 3+3: DLT window to day 28) and §4.2/§4.5 (a stopping
rule's toxicity is a *candidate* DLT, escalated to the physician).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exoneb.monitoring.escalation_dlt import DltVerdict, evaluate_subject

DOSE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=28)


def _at(days: float, *verdicts: DltVerdict | None) -> tuple[bool, bool, bool, int]:
    s = evaluate_subject(first_dose_at=DOSE, window=WINDOW, now=DOSE + timedelta(days=days),
                         verdicts=verdicts)  # fmt: skip
    return s.in_window, s.evaluable, s.dlt, s.pending


def test_a_subject_without_candidates_counts_once_the_window_is_over() -> None:
    assert _at(27.9) == (True, False, False, 0)
    assert _at(28) == (False, True, False, 0)  # the window is [dose, dose + 28 d)
    s = evaluate_subject(first_dose_at=DOSE, window=WINDOW, now=DOSE, verdicts=[])
    assert s.window_ends_at == DOSE + WINDOW


def test_a_confirmed_dlt_counts_at_once_even_with_another_candidate_pending() -> None:
    assert _at(2, DltVerdict.DLT) == (True, True, True, 0)
    assert _at(2, DltVerdict.DLT, None) == (True, True, True, 1)


def test_a_pending_candidate_keeps_the_subject_out_of_the_table_after_the_window() -> None:
    assert _at(40, None) == (False, False, False, 1)


def test_a_rejected_candidate_is_no_dlt_and_the_window_still_applies() -> None:
    assert _at(3, DltVerdict.NOT_DLT) == (True, False, False, 0)
    assert _at(30, DltVerdict.NOT_DLT) == (False, True, False, 0)


def test_not_dosed_is_not_treated_and_the_window_must_be_positive() -> None:
    s = evaluate_subject(first_dose_at=None, window=WINDOW, now=DOSE, verdicts=[])
    assert (s.treated, s.evaluable, s.window_ends_at) == (False, False, None)
    with pytest.raises(ValueError, match="positive"):
        evaluate_subject(first_dose_at=DOSE, window=timedelta(0), now=DOSE, verdicts=[])
