"""The next-day telephone follow-up after a first session: when it is due and where it stands.

clinical.md §4.4 [design default] lists among the discharge criteria "next-day
telephone follow-up scheduled after the first session". exoneb schedules it
when the patient is discharged; staff see the calls of their site due, overdue
and done, and record each attempt.

"Next day" is a calendar day *at the site*: the call is due
``follow_up_after_days`` (1) days after the discharge date in the site's time
zone, at ``follow_up_local_time`` (10:00) on the site's clocks — so a patient
discharged at 17:00 is called the next morning, not at 17:00, and the call
stays at 10:00 across a daylight-saving change (see
:func:`exoneb.core.zones.local_instant` for the wall times that a change skips
or repeats). The instants are UTC. A call is worked from
``follow_up_early_h`` before that until ``follow_up_grace_h`` after it.

A call never answered has an end: the ``follow_up_max_attempts``-th attempt
not reaching the patient closes it as *gave up* (staff may also stop earlier,
with a reason), and a given-up call stays listed as needing a clinician's
review until a physician records what was done instead. All of these are
protocol values, see :class:`~exoneb.monitoring.discharge.DischargeParameters`.
Nothing here reads a clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from exoneb.core.zones import local_instant
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.observations import require_aware

__all__ = [
    "REVIEW_LABELS",
    "CallOutcome",
    "CallState",
    "CallStatus",
    "FollowUpAttemptIn",
    "ReviewAction",
    "ReviewIn",
    "call_due_at",
    "call_state",
    "gave_up_after_attempts",
    "give_up_reason",
]


class CallStatus(StrEnum):
    """What is stored: open until reached (done) or given up; a given-up call is then reviewed."""

    OPEN = "open"
    DONE = "done"
    GAVE_UP = "gave_up"
    REVIEWED = "reviewed"


class CallState(StrEnum):
    """Where a follow-up call stands at ``now``."""

    NEEDS_REVIEW = "needs_review"  # given up: a physician records what was done instead
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"  # reached, or given up and reviewed


class CallOutcome(StrEnum):
    """What one attempt achieved."""

    REACHED = "reached"
    NOT_REACHED = "not_reached"


def call_due_at(discharged_at: datetime, params: DischargeParameters, zone: ZoneInfo) -> datetime:
    """When the follow-up call of a session discharged at ``discharged_at`` is due (UTC).

    The discharge date is taken on the site's clocks (``zone``): the call is
    due ``follow_up_after_days`` calendar days later at ``follow_up_local_time``
    site time, however many hours that is.
    """
    local_day = require_aware(discharged_at, "discharged_at").astimezone(zone).date()
    day = local_day + timedelta(days=params.follow_up_after_days)
    return local_instant(day, params.follow_up_wall_time(), zone)


def call_state(
    due_at: datetime, status: CallStatus, now: datetime, params: DischargeParameters
) -> CallState:
    """Needs review (given up), done, overdue (past the grace), due (in the window), upcoming."""
    require_aware(now, "now")
    if status is CallStatus.GAVE_UP:
        return CallState.NEEDS_REVIEW
    if status in (CallStatus.DONE, CallStatus.REVIEWED):
        return CallState.DONE
    due = require_aware(due_at, "due_at")
    if now > due + timedelta(hours=params.follow_up_grace_h):
        return CallState.OVERDUE
    if now >= due - timedelta(hours=params.follow_up_early_h):
        return CallState.DUE
    return CallState.UPCOMING


def gave_up_after_attempts(attempt_number: int, params: DischargeParameters) -> bool:
    """Whether attempt ``attempt_number`` (1, 2, …) not reaching the patient ends the call."""
    return attempt_number >= params.follow_up_max_attempts


def give_up_reason(reason: str | None) -> str:
    """Staff stopping before the protocol's last attempt say why; ValueError naming ``reason``."""
    text = (reason or "").strip()
    if not text:
        raise ValueError(
            "reason is needed: say why the calls stop before the protocol's last attempt "
            "(e.g. patient readmitted, wrong number confirmed)."
        )
    return text


@dataclass(frozen=True, slots=True)
class FollowUpAttemptIn:
    """One call attempt, validated: a reached patient says whether they have symptoms;
    a patient not reached gets a retry time (default ``follow_up_retry_h`` later)."""

    outcome: CallOutcome
    called_at: datetime
    symptoms_reported: bool | None = None
    symptoms: str | None = None
    retry_at: datetime | None = None

    def checked(
        self,
        now: datetime,
        discharged_at: datetime,
        params: DischargeParameters,
        attempt_number: int = 1,
    ) -> FollowUpAttemptIn:
        """This attempt with its retry time filled in; ValueError naming the field if invalid.

        ``attempt_number`` counts this attempt (1 for the first). The last
        attempt the protocol allows gets no retry time: not reaching the patient
        then closes the call as given up (see :func:`gave_up_after_attempts`).
        """
        require_aware(self.called_at, "called_at")
        if self.called_at > require_aware(now, "now") + timedelta(minutes=5):
            raise ValueError("called_at is in the future.")
        if self.called_at < require_aware(discharged_at, "discharged_at"):
            raise ValueError("called_at is before the discharge.")
        text = (self.symptoms or "").strip() or None
        if self.outcome is CallOutcome.REACHED:
            if self.symptoms_reported is None:
                raise ValueError("symptoms_reported is needed: did the patient report symptoms?")
            if self.symptoms_reported and text is None:
                raise ValueError("symptoms is needed: say which symptoms were reported.")
            if self.retry_at is not None:
                raise ValueError("retry_at is only for a patient not reached.")
            return FollowUpAttemptIn(self.outcome, self.called_at, self.symptoms_reported, text)
        if self.symptoms_reported is not None or text is not None:
            raise ValueError("symptoms_reported is only for a patient reached.")
        if gave_up_after_attempts(attempt_number, params):
            if self.retry_at is not None:
                raise ValueError(
                    f"retry_at is not for the last attempt: this is attempt {attempt_number} "
                    f"of {params.follow_up_max_attempts} (the protocol's maximum); not reaching "
                    "the patient closes the call for a clinician's review, so leave it blank."
                )
            return FollowUpAttemptIn(self.outcome, self.called_at)
        retry = self.retry_at or self.called_at + timedelta(hours=params.follow_up_retry_h)
        if require_aware(retry, "retry_at") <= self.called_at:
            raise ValueError("retry_at must be after the attempt.")
        return FollowUpAttemptIn(self.outcome, self.called_at, None, None, retry)


class ReviewAction(StrEnum):
    """What a physician did about a call given up."""

    LETTER_SENT = "letter_sent"
    GP_INFORMED = "gp_informed"
    CONTACTED_OTHERWISE = "contacted_otherwise"
    NO_ACTION = "no_action"


REVIEW_LABELS: dict[ReviewAction, str] = {
    ReviewAction.LETTER_SENT: "Letter sent to the patient",
    ReviewAction.GP_INFORMED: "GP / referring physician informed",
    ReviewAction.CONTACTED_OTHERWISE: "Patient contacted another way",
    ReviewAction.NO_ACTION: "No action",
}

#: Review actions that say too little on their own: the physician writes what and why.
_NOTE_NEEDED = {
    ReviewAction.NO_ACTION: "note is needed: say why no action is taken.",
    ReviewAction.CONTACTED_OTHERWISE: "note is needed: say how the patient was contacted "
    "and what they reported.",
}


@dataclass(frozen=True, slots=True)
class ReviewIn:
    """A physician's review of a call given up: what was done, with a note where it must say why."""

    action: ReviewAction
    note: str | None = None

    def checked(self) -> ReviewIn:
        """This review with its note trimmed; ValueError naming ``note`` when one is needed."""
        text = (self.note or "").strip() or None
        if text is None and self.action in _NOTE_NEEDED:
            raise ValueError(_NOTE_NEEDED[self.action])
        return ReviewIn(self.action, text)
