"""The next-day telephone follow-up after a first session: when it is due and where it stands.

clinical.md §4.4 [design default] lists among the discharge criteria "next-day
telephone follow-up scheduled after the first session". exoneb schedules it
when the patient is discharged; staff see the calls of their site due, overdue
and done, and record each attempt.

Times are absolute (UTC); "next day" is ``follow_up_after_h`` hours after
discharge, and a call is worked from ``follow_up_early_h`` before that until
``follow_up_grace_h`` after it (all protocol values, see
:class:`~exoneb.monitoring.discharge.DischargeParameters`). Nothing here reads a
clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.observations import require_aware

__all__ = ["CallOutcome", "CallState", "FollowUpAttemptIn", "call_due_at", "call_state"]


class CallState(StrEnum):
    """Where a follow-up call stands at ``now``."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"


class CallOutcome(StrEnum):
    """What one attempt achieved."""

    REACHED = "reached"
    NOT_REACHED = "not_reached"


def call_due_at(discharged_at: datetime, params: DischargeParameters) -> datetime:
    """When the follow-up call of a session discharged at ``discharged_at`` is due."""
    return require_aware(discharged_at, "discharged_at") + timedelta(hours=params.follow_up_after_h)


def call_state(
    due_at: datetime, done: bool, now: datetime, params: DischargeParameters
) -> CallState:
    """Done, overdue (past the grace time), due (within the window) or upcoming."""
    require_aware(now, "now")
    if done:
        return CallState.DONE
    due = require_aware(due_at, "due_at")
    if now > due + timedelta(hours=params.follow_up_grace_h):
        return CallState.OVERDUE
    if now >= due - timedelta(hours=params.follow_up_early_h):
        return CallState.DUE
    return CallState.UPCOMING


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
        self, now: datetime, discharged_at: datetime, params: DischargeParameters
    ) -> FollowUpAttemptIn:
        """This attempt with its retry time filled in; ValueError naming the field if invalid."""
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
        retry = self.retry_at or self.called_at + timedelta(hours=params.follow_up_retry_h)
        if require_aware(retry, "retry_at") <= self.called_at:
            raise ValueError("retry_at must be after the attempt.")
        return FollowUpAttemptIn(self.outcome, self.called_at, None, None, retry)
