"""Pure rules for rescue medication and follow-up calls (clinical.md §4.2, §4.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.follow_up import (
    CallOutcome,
    CallState,
    FollowUpAttemptIn,
    call_due_at,
    call_state,
)
from exoneb.monitoring.rescue import (
    DoseUnit,
    RescueDrug,
    RescueGiven,
    RescueRoute,
    drug_class,
    first_saba_at,
)

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
P = DischargeParameters()


def test_next_day_call_is_due_24_h_after_discharge_with_its_window() -> None:
    due = call_due_at(T0, P)
    assert due == T0 + timedelta(hours=24)  # §4.4 "next-day telephone follow-up"
    assert call_state(due, False, due - timedelta(hours=12, seconds=1), P) is CallState.UPCOMING
    assert call_state(due, False, due - timedelta(hours=12), P) is CallState.DUE
    assert call_state(due, False, due + timedelta(hours=12), P) is CallState.DUE
    assert call_state(due, False, due + timedelta(hours=12, seconds=1), P) is CallState.OVERDUE
    assert call_state(due, True, due + timedelta(days=9), P) is CallState.DONE


def test_attempts_need_what_their_outcome_implies() -> None:
    called = T0 + timedelta(hours=22)
    now = called + timedelta(minutes=1)
    missed = FollowUpAttemptIn(CallOutcome.NOT_REACHED, called).checked(now, T0, P)
    assert missed.retry_at == called + timedelta(hours=2)
    reached = FollowUpAttemptIn(CallOutcome.REACHED, called, False).checked(now, T0, P)
    assert reached.symptoms_reported is False
    for bad, field in (
        (FollowUpAttemptIn(CallOutcome.REACHED, called), "symptoms_reported"),
        (FollowUpAttemptIn(CallOutcome.REACHED, called, True, "  "), "symptoms"),
        (FollowUpAttemptIn(CallOutcome.NOT_REACHED, called, False), "symptoms_reported"),
        (FollowUpAttemptIn(CallOutcome.NOT_REACHED, called, retry_at=called), "retry_at"),
        (FollowUpAttemptIn(CallOutcome.NOT_REACHED, T0 - timedelta(minutes=1)), "called_at"),
        (FollowUpAttemptIn(CallOutcome.NOT_REACHED, now + timedelta(hours=1)), "called_at"),
    ):
        with pytest.raises(ValueError, match=field):
            bad.checked(now, T0, P)


def test_only_the_listed_short_acting_beta2_agonists_start_the_saba_clock() -> None:
    assert {d for d in RescueDrug if drug_class(d) == "saba"} == {
        RescueDrug.SALBUTAMOL, RescueDrug.LEVOSALBUTAMOL, RescueDrug.TERBUTALINE,
    }  # fmt: skip
    given = [("other", T0), ("saba", T0 + timedelta(minutes=5)), ("saba", T0 + timedelta(1))]
    assert first_saba_at(given) == T0 + timedelta(minutes=5)
    assert first_saba_at([("other", T0)]) is None


def test_a_rescue_dose_is_positive_and_other_drugs_are_named() -> None:
    ok = RescueGiven(RescueDrug.SALBUTAMOL, 200, DoseUnit.UG, RescueRoute.INHALED_MDI, T0)
    assert ok.is_saba
    with pytest.raises(ValueError, match="dose_amount"):
        RescueGiven(RescueDrug.SALBUTAMOL, 0, DoseUnit.UG, RescueRoute.INHALED_MDI, T0)
    with pytest.raises(ValueError, match="drug_other"):
        RescueGiven(RescueDrug.OTHER, 1, DoseUnit.MG, RescueRoute.ORAL, T0)
    named = RescueGiven(RescueDrug.OTHER, 1, DoseUnit.MG, RescueRoute.ORAL, T0, "prednisolone")
    assert not named.is_saba
    with pytest.raises(ValueError, match="given_at"):
        ok.check_time(T0 - timedelta(minutes=6), None)
    with pytest.raises(ValueError, match="start of nebulization"):
        ok.check_time(T0, T0 + timedelta(minutes=1))


def test_follow_up_parameters_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="follow_up_after_h"):
        DischargeParameters(follow_up_after_h=0)
    with pytest.raises(ValueError, match="follow_up_grace_h"):
        DischargeParameters(follow_up_grace_h=-1)
