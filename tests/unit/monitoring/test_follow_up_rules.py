"""Pure rules for rescue medication and follow-up calls (clinical.md §4.2, §4.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from exoneb.core.zones import local_instant, local_label, site_zone
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.follow_up import (
    CallOutcome,
    CallState,
    CallStatus,
    FollowUpAttemptIn,
    ReviewAction,
    ReviewIn,
    call_due_at,
    call_state,
    gave_up_after_attempts,
    give_up_reason,
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
OPEN = CallStatus.OPEN
UTC_ZONE, LONDON, NEW_YORK = (site_zone(n) for n in ("UTC", "Europe/London", "America/New_York"))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_next_day_call_is_due_the_next_site_day_at_10_with_its_window() -> None:
    due = call_due_at(T0, P, UTC_ZONE)
    assert due == _at("2026-03-03 10:00")  # §4.4 "next-day"; 10:00 site time (protocol)
    assert call_state(due, OPEN, due - timedelta(hours=12, seconds=1), P) is CallState.UPCOMING
    assert call_state(due, OPEN, due - timedelta(hours=12), P) is CallState.DUE
    assert call_state(due, OPEN, due + timedelta(hours=12), P) is CallState.DUE
    assert call_state(due, OPEN, due + timedelta(hours=12, seconds=1), P) is CallState.OVERDUE
    assert call_state(due, CallStatus.DONE, due + timedelta(days=9), P) is CallState.DONE
    assert call_state(due, CallStatus.GAVE_UP, due, P) is CallState.NEEDS_REVIEW
    assert call_state(due, CallStatus.REVIEWED, due, P) is CallState.DONE


@pytest.mark.parametrize(
    ("zone", "discharged", "due", "label"),
    [
        # Europe/London, late March: clocks 01:00 GMT → 02:00 BST on Sunday 2026-03-29.
        (LONDON, "2026-03-28 15:00", "2026-03-29 09:00", "2026-03-29 10:00 BST"),  # 18 h later
        (LONDON, "2026-03-29 15:00", "2026-03-30 09:00", "2026-03-30 10:00 BST"),
        # Europe/London, late October: clocks 02:00 BST → 01:00 GMT on Sunday 2026-10-25.
        (LONDON, "2026-10-24 15:00", "2026-10-25 10:00", "2026-10-25 10:00 GMT"),  # 19 h later
        (LONDON, "2026-10-25 15:00", "2026-10-26 10:00", "2026-10-26 10:00 GMT"),
        # 23:30 UTC is already the next day in London (00:30 BST): the site's date counts.
        (LONDON, "2026-06-01 23:30", "2026-06-03 09:00", "2026-06-03 10:00 BST"),
        # America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
        (NEW_YORK, "2026-03-07 20:00", "2026-03-08 14:00", "2026-03-08 10:00 EDT"),
        (NEW_YORK, "2026-11-01 03:00", "2026-11-01 15:00", "2026-11-01 10:00 EST"),  # 23:00 EDT
        (UTC_ZONE, "2026-03-28 23:59", "2026-03-29 10:00", "2026-03-29 10:00 UTC"),
    ],
)
def test_next_day_is_a_calendar_day_on_the_site_clocks_across_dst(
    zone: ZoneInfo, discharged: str, due: str, label: str
) -> None:
    at = call_due_at(_at(discharged), P, zone)
    assert at == _at(due)
    assert local_label(at, zone) == label


@pytest.mark.parametrize(
    ("zone", "wall", "discharged", "due", "label"),
    [
        # A wall time the spring change skips moves forward by the jump.
        (LONDON, "01:30", "2026-03-28 12:00", "2026-03-29 01:30", "2026-03-29 02:30 BST"),
        (NEW_YORK, "02:30", "2026-03-07 17:00", "2026-03-08 07:30", "2026-03-08 03:30 EDT"),
        # A wall time the autumn change repeats is the first of the two (summer time).
        (LONDON, "01:30", "2026-10-24 12:00", "2026-10-25 00:30", "2026-10-25 01:30 BST"),
        (NEW_YORK, "01:30", "2026-10-31 17:00", "2026-11-01 05:30", "2026-11-01 01:30 EDT"),
    ],
)
def test_a_local_time_skipped_or_repeated_by_dst_resolves_the_same_way_every_time(
    zone: ZoneInfo, wall: str, discharged: str, due: str, label: str
) -> None:
    params = DischargeParameters(follow_up_local_time=wall)
    at = call_due_at(_at(discharged), params, zone)
    assert at == _at(due)
    assert local_label(at, zone) == label
    assert local_instant(at.astimezone(zone).date(), params.follow_up_wall_time(), zone) == at


def test_site_zones_are_iana_names() -> None:
    assert site_zone("Europe/London").key == "Europe/London"
    for bad in ("BST", "+01:00", "Europe/Londn", "", " UTC", "../etc/passwd"):
        with pytest.raises(ValueError, match=r"IANA|Unknown time zone"):
            site_zone(bad)


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


def test_the_protocols_last_attempt_not_reached_gives_up_without_a_retry() -> None:
    """Default follow_up_max_attempts = 3 (protocol value, not in the reference)."""
    called = T0 + timedelta(hours=22)
    now = called + timedelta(minutes=1)
    assert [gave_up_after_attempts(n, P) for n in (1, 2, 3, 4)] == [False, False, True, True]
    second = FollowUpAttemptIn(CallOutcome.NOT_REACHED, called).checked(now, T0, P, 2)
    assert second.retry_at == called + timedelta(hours=2)
    last = FollowUpAttemptIn(CallOutcome.NOT_REACHED, called).checked(now, T0, P, 3)
    assert last.retry_at is None
    with pytest.raises(
        ValueError, match="retry_at is not for the last attempt: this is attempt 3 of 3"
    ):
        FollowUpAttemptIn(CallOutcome.NOT_REACHED, called, retry_at=now).checked(now, T0, P, 3)
    reached = FollowUpAttemptIn(CallOutcome.REACHED, called, False).checked(now, T0, P, 3)
    assert reached.symptoms_reported is False
    one = DischargeParameters(follow_up_max_attempts=1)
    assert FollowUpAttemptIn(CallOutcome.NOT_REACHED, called).checked(now, T0, one).retry_at is None


def test_stopping_early_needs_a_reason_and_a_review_says_why_when_it_does_nothing() -> None:
    assert give_up_reason("  patient readmitted ") == "patient readmitted"
    with pytest.raises(ValueError, match="reason is needed"):
        give_up_reason("   ")
    assert ReviewIn(ReviewAction.LETTER_SENT).checked() == ReviewIn(ReviewAction.LETTER_SENT)
    assert ReviewIn(ReviewAction.GP_INFORMED, " faxed ").checked().note == "faxed"
    for action in (ReviewAction.NO_ACTION, ReviewAction.CONTACTED_OTHERWISE):
        with pytest.raises(ValueError, match="note is needed"):
            ReviewIn(action, " ").checked()
    assert ReviewIn(ReviewAction.NO_ACTION, "seen in clinic today").checked().note


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
    with pytest.raises(ValueError, match="follow_up_after_days"):
        DischargeParameters(follow_up_after_days=0)
    with pytest.raises(ValueError, match="follow_up_grace_h"):
        DischargeParameters(follow_up_grace_h=-1)
    for attempts in (0, 2.5, True):
        with pytest.raises(ValueError, match="follow_up_max_attempts"):
            DischargeParameters(follow_up_max_attempts=attempts)
    for wall in ("24:00", "9:00", "10am", "10:00:00"):
        with pytest.raises(ValueError, match="follow_up_local_time"):
            DischargeParameters(follow_up_local_time=wall)
