"""When observations are due after inhalation, and which are due or overdue at a given time.

Time zero is the end of nebulization (clinical.md §4.2: spirometry "15–30 min
after the end of nebulization"). The defaults are the [design default] of
clinical.md §4.4:

* first session, or first after a dose or lot change: ≥ 30 min, vitals and
  SpO2 at 0, 15 and 30 min, spirometry/PEF at 15–30 min;
* later sessions: ≥ 15 min with SpO2 and vitals at the end;
* after any grade ≥ 2 event: observation extended to 60–120 min.

Nothing here reads a clock: every status is computed at a ``now`` the caller
passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from exoneb.monitoring.citations import NOT_IN_REFERENCE, cited
from exoneb.monitoring.observations import Observation, require_aware

__all__ = [
    "ObservationKind",
    "ObservationSchedule",
    "ScheduleContext",
    "ScheduleParameters",
    "ScheduledObservation",
    "SlotState",
    "SlotStatus",
    "build_schedule",
    "schedule_status",
]

_S44 = "clinical.md §4.4 [design default]"


class ObservationKind(StrEnum):
    """What a scheduled observation consists of."""

    VITALS = "vitals"  # SpO2, heart rate, respiratory rate, blood pressure
    SPIROMETRY = "spirometry"  # FEV1, or PEF when spirometry is unavailable


@dataclass(frozen=True, slots=True)
class ScheduleParameters:
    """Observation-schedule defaults; each field cites its source (see :func:`sources_of`)."""

    intensive_vitals_min: tuple[int, ...] = cited((0, 15, 30), _S44 + ": 0, 15 and 30 min")
    intensive_spirometry_min: int = cited(15, _S44 + ": spirometry/PEF at 15–30 min")
    intensive_spirometry_window_end_min: int = cited(30, _S44 + ": spirometry/PEF at 15–30 min")
    intensive_minimum_min: int = cited(30, _S44 + ": ≥30 min after a first session or change")
    routine_vitals_min: tuple[int, ...] = cited(
        (0, 15),
        _S44 + ": later sessions SpO2 and vitals at the end (15 min); the 0-min reading is "
        "issue 7's default list (0, 15, 30)",
    )
    routine_minimum_min: int = cited(15, _S44 + ": later sessions ≥15 min")
    extended_after_event_min: int = cited(
        60, _S44 + ": extend to 60–120 min after any G≥2 event (lower bound, counted from onset)"
    )
    extended_interval_min: int = cited(15, NOT_IN_REFERENCE + " (vitals every 15 min)")
    early_tolerance_min: int = cited(5, NOT_IN_REFERENCE + " (reading up to 5 min early counts)")
    grace_min: int = cited(5, NOT_IN_REFERENCE + " (overdue 5 min after the due time)")
    vitals_measures: tuple[str, ...] = cited(
        ("spo2_pct", "heart_rate_per_min", "resp_rate_per_min", "sbp_mmhg", "dbp_mmhg"),
        "clinical.md §4.4: SpO2 and vitals (HR, RR, BP as in the discharge criteria)",
    )

    def __post_init__(self) -> None:
        for name in ("intensive_vitals_min", "routine_vitals_min"):
            times = getattr(self, name)
            if not times or any(t < 0 for t in times) or list(times) != sorted(set(times)):
                raise ValueError(f"{name} must be non-empty, non-negative and increasing")
        if self.intensive_spirometry_window_end_min < self.intensive_spirometry_min:
            raise ValueError("the spirometry window ends before it starts")
        if min(self.extended_interval_min, self.extended_after_event_min) <= 0:
            raise ValueError("extension lengths must be positive")


@dataclass(frozen=True, slots=True)
class ScheduleContext:
    """Facts about the session that decide which schedule applies.

    Attributes
    ----------
    first_session : bool
        The patient's first session of the course.
    dose_changed, lot_changed : bool
        First session after a dose or product-lot change.
    grade2_event_onsets : tuple of datetime
        Onsets of adverse events of CTCAE grade ≥ 2 during this session.
    """

    first_session: bool = False
    dose_changed: bool = False
    lot_changed: bool = False
    grade2_event_onsets: tuple[datetime, ...] = ()

    @property
    def intensive(self) -> bool:
        """The ≥ 30-minute schedule applies."""
        return self.first_session or self.dose_changed or self.lot_changed


@dataclass(frozen=True, slots=True)
class ScheduledObservation:
    """One observation the protocol expects.

    ``due_at`` is the nominal time; a reading from ``opens_at`` counts, and the
    slot is overdue after ``late_at``.
    """

    kind: ObservationKind
    due_at: datetime
    opens_at: datetime
    late_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ObservationSchedule:
    """The expected observations and the earliest end of observation."""

    start: datetime
    slots: tuple[ScheduledObservation, ...]
    minimum_end_at: datetime
    reasons: tuple[str, ...]
    vitals_measures: tuple[str, ...]

    def observation_complete(self, now: datetime) -> bool:
        """Whether the minimum observation time has elapsed at ``now``."""
        return require_aware(now, "now") >= self.minimum_end_at


def build_schedule(
    start: datetime,
    context: ScheduleContext,
    params: ScheduleParameters | None = None,
) -> ObservationSchedule:
    """Lay out the observations due after the end of nebulization.

    Parameters
    ----------
    start : datetime
        End of nebulization (time zero), timezone-aware.
    context : ScheduleContext
        First session, dose or lot change, grade ≥ 2 events so far.
    params : ScheduleParameters, optional
        Protocol values; the reference defaults when omitted.

    Returns
    -------
    ObservationSchedule
        Slots in time order. After a grade ≥ 2 event the observation runs at
        least ``extended_after_event_min`` past the event's onset (an event at
        minute 50 must not be followed by only 10 minutes of watching), with
        vitals every ``extended_interval_min`` from the onset.
    """
    p = params or ScheduleParameters()
    require_aware(start, "start")
    tol = timedelta(minutes=p.early_tolerance_min)
    grace = timedelta(minutes=p.grace_min)

    def vitals(at: datetime, reason: str) -> ScheduledObservation:
        return ScheduledObservation(ObservationKind.VITALS, at, at - tol, at + grace, reason)

    reasons: list[str] = []
    slots: list[ScheduledObservation] = []
    if context.intensive:
        why = [
            label
            for flag, label in (
                (context.first_session, "first session"),
                (context.dose_changed, "dose change"),
                (context.lot_changed, "lot change"),
            )
            if flag
        ]
        reasons.append(f"≥ {p.intensive_minimum_min} min observation: {', '.join(why)}.")
        slots += [vitals(start + timedelta(minutes=m), "protocol") for m in p.intensive_vitals_min]
        due = start + timedelta(minutes=p.intensive_spirometry_min)
        slots.append(
            ScheduledObservation(
                ObservationKind.SPIROMETRY,
                due,
                due - tol,
                start + timedelta(minutes=p.intensive_spirometry_window_end_min),
                "airway check after a first session or change (clinical.md §4.2)",
            )
        )
        end = start + timedelta(minutes=p.intensive_minimum_min)
    else:
        reasons.append(f"≥ {p.routine_minimum_min} min observation: later session.")
        slots += [vitals(start + timedelta(minutes=m), "protocol") for m in p.routine_vitals_min]
        end = start + timedelta(minutes=p.routine_minimum_min)

    step = timedelta(minutes=p.extended_interval_min)
    for onset in sorted(
        require_aware(o, "grade2_event_onsets") for o in context.grade2_event_onsets
    ):
        event_end = max(onset, start) + timedelta(minutes=p.extended_after_event_min)
        reasons.append(
            f"Extended to {event_end - start} after the end of nebulization: grade ≥ 2 event at "
            f"{onset.isoformat()}."
        )
        end = max(end, event_end)
        at = max(onset, start) + step
        while at <= event_end:
            # Skip if an existing vitals slot already covers this time.
            if not any(
                s.kind is ObservationKind.VITALS and abs(s.due_at - at) <= grace for s in slots
            ):
                slots.append(vitals(at, "extended after a grade ≥ 2 event"))
            at += step
    slots.sort(key=lambda s: (s.due_at, s.kind))
    return ObservationSchedule(start, tuple(slots), end, tuple(reasons), p.vitals_measures)


class SlotState(StrEnum):
    """Where a scheduled observation stands at ``now``."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class SlotStatus:
    """A scheduled observation with its state and what is still missing."""

    slot: ScheduledObservation
    state: SlotState
    missing: tuple[str, ...]


def _missing(
    slot: ScheduledObservation, window: Sequence[Observation], vitals: Sequence[str]
) -> tuple[str, ...]:
    if slot.kind is ObservationKind.SPIROMETRY:
        if any(o.has("fev1_l") or o.has("pef_l_per_min") for o in window):
            return ()
        return ("fev1_l or pef_l_per_min",)
    return tuple(m for m in vitals if not any(o.has(m) for o in window))


def schedule_status(
    schedule: ObservationSchedule,
    observations: Sequence[Observation],
    now: datetime,
) -> tuple[SlotStatus, ...]:
    """State of every slot at ``now``: upcoming, due, overdue or done.

    A slot is done when, within its window and no later than ``now``, every
    required measure has been recorded (each may come from a different
    observation, e.g. SpO2 from the monitor and blood pressure by hand).
    Readings after ``now`` are ignored, so the answer for a past ``now`` is
    what staff saw then.

    Parameters
    ----------
    schedule : ObservationSchedule
        From :func:`build_schedule`.
    observations : sequence of Observation
        Everything recorded for the session, in any order.
    now : datetime
        The time to evaluate at.

    Returns
    -------
    tuple of SlotStatus
        In the order of ``schedule.slots``.
    """
    require_aware(now, "now")
    out: list[SlotStatus] = []
    for slot in schedule.slots:
        window = [o for o in observations if slot.opens_at <= o.at <= min(slot.late_at, now)]
        missing = _missing(slot, window, schedule.vitals_measures)
        if not missing:
            state = SlotState.DONE
        elif now > slot.late_at:
            state = SlotState.OVERDUE
        elif now >= slot.opens_at:
            state = SlotState.DUE
        else:
            state = SlotState.UPCOMING
        out.append(SlotStatus(slot, state, missing))
    return tuple(out)
