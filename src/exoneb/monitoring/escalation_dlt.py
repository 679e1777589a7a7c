"""Who counts in the 3+3 table: the DLT observation window and the review of DLT candidates (pure).

A stopping rule marks a toxicity as a *candidate* dose-limiting toxicity
(clinical.md §4.5 [design default]: related CTCAE G≥3, anaphylaxis, bronchospasm
not reversed by SABA, hypoxia G≥2, fever on 2 sessions, related SAE; §4.2:
"escalate to the physician. This is a candidate DLT"). Only a physician's
signed review makes it a DLT, or not. The protocol names the window after the
first dose in which toxicities count (``escalation.dlt_window_days``; the
reference's trials use 28 days, §1.2).

A subject is *evaluable* for the 3+3 table when they had a confirmed DLT, or
completed the window without one and with no candidate still awaiting review.
A subject still in the window, or with a candidate awaiting review, is not
counted yet (neither as a DLT nor as a subject without one).

Decision support, not medical advice: the DMC and the protocol decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["VERDICT_LABELS", "DltVerdict", "SubjectDlt", "evaluate_subject"]


class DltVerdict(StrEnum):
    """The physician's review of one DLT candidate."""

    DLT = "dlt"
    NOT_DLT = "not_dlt"


VERDICT_LABELS: dict[DltVerdict, str] = {
    DltVerdict.DLT: "Confirmed: a dose-limiting toxicity",
    DltVerdict.NOT_DLT: "Not a dose-limiting toxicity",
}


@dataclass(frozen=True, slots=True)
class SubjectDlt:
    """One subject's standing in the 3+3 table."""

    treated: bool
    window_ends_at: datetime | None  # first dose + the protocol's DLT window
    in_window: bool
    dlt: bool  # a candidate confirmed as DLT by a physician
    pending: int  # candidates awaiting the physician's review
    evaluable: bool


def evaluate_subject(
    *,
    first_dose_at: datetime | None,
    window: timedelta,
    now: datetime,
    verdicts: Sequence[DltVerdict | None],
) -> SubjectDlt:
    """The subject's standing from their first dose and the latest verdict on each candidate.

    Parameters
    ----------
    first_dose_at : datetime or None
        When the subject's first session at this level started nebulization
        (``None``: not dosed yet).
    window : timedelta
        The protocol's DLT observation window (must be positive).
    now : datetime
        The current time (same time zone as ``first_dose_at``).
    verdicts : sequence of DltVerdict or None
        One per DLT candidate of the subject: the latest review, or ``None``
        when none yet.
    """
    if window <= timedelta(0):
        raise ValueError("the DLT window must be positive")
    if first_dose_at is None:
        return SubjectDlt(False, None, False, False, 0, False)
    ends = first_dose_at + window
    in_window = now < ends
    dlt = any(v is DltVerdict.DLT for v in verdicts)
    pending = sum(v is None for v in verdicts)
    evaluable = dlt or (not in_window and pending == 0)
    return SubjectDlt(True, ends, in_window, dlt, pending, evaluable)
