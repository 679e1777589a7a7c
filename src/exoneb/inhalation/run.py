"""The nebulization run: start, pause, resume, stop, and the residual volume at the end.

::

    not_started ──start──▶ running ──pause──▶ paused
                              ▲                 │
                              └────resume───────┘
                 running / paused ──stop──▶ stopped ──record residual──▶ stopped

A run starts only when the prepared dose is verified and a trained supervisor
is present (facts the service gathers and passes in). Every pause needs a reason
(cough, desaturation, patient request, device problem, or other in words), every
stop too (output stopped for a mesh, sputtering for a jet, planned duration
reached, adverse event, other; ``reference/clinical.md`` §3.3 items 4–5). A
stopped run is final: a second nebulization is a new session.

An inhaler run (pMDI, DPI; ``inhaler_kind`` set) uses the same states, with
no reservoir: while running, each actuation is recorded with its technique
checklist (:mod:`exoneb.inhalation.inhaler`), up to the actuations planned;
there is no fill, planned duration or residual volume.

The rules never read a clock. Every action takes ``now`` (an aware datetime)
and refuses a time before the run's last event, so the record cannot be
reordered by a wrong device clock or a replayed request. The run is an
immutable value: each action returns a new run with one more
:class:`RunEvent`, and :meth:`InhalationRun.replay` rebuilds the same run from
stored events — so the state lives on the server and a page reload changes
nothing.

The planned duration comes from the dose engine's device chain
(:func:`planned_duration`): the formula (fill − residual) / output rate, with the
duty cycle for breath-actuated devices, is written once, in ``exoneb.dosimetry``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from exoneb.dosimetry import DosimetryInputError, breathing_pattern, device_chain, interfaces
from exoneb.inhalation.breathing import Breathing
from exoneb.inhalation.devices import DeviceSettings
from exoneb.inhalation.errors import (
    DoseModelRefused,
    InvalidInput,
    PreparationNotVerified,
    ReasonRequired,
    ResidualExceedsFill,
    RunAlreadyStopped,
    RunTransitionRefused,
    SupervisorAbsent,
    TimeWentBackwards,
)
from exoneb.inhalation.inhaler import Technique, check_technique, manoeuvre_for

__all__ = [
    "INHALER_TRANSITIONS",
    "RUN_TRANSITIONS",
    "InhalationRun",
    "Interruption",
    "PauseReason",
    "RunAction",
    "RunEvent",
    "RunState",
    "StartFacts",
    "StopReason",
    "check_residual",
    "planned_duration",
]


class RunState(StrEnum):
    """Where the nebulization run is."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class RunAction(StrEnum):
    """What staff can do to the run (the kinds of :class:`RunEvent`)."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    RECORD_RESIDUAL = "record_residual"
    ACTUATE = "actuate"  # one inhaler actuation, inhaled in one breath


#: The actions each state allows; pages show exactly these buttons.
RUN_TRANSITIONS: Mapping[RunState, frozenset[RunAction]] = MappingProxyType(
    {
        RunState.NOT_STARTED: frozenset({RunAction.START}),
        RunState.RUNNING: frozenset({RunAction.PAUSE, RunAction.STOP}),
        RunState.PAUSED: frozenset({RunAction.RESUME, RunAction.STOP}),
        RunState.STOPPED: frozenset({RunAction.RECORD_RESIDUAL}),
    }
)

#: The same for an inhaler run: actuations while running, no residual volume at the end.
INHALER_TRANSITIONS: Mapping[RunState, frozenset[RunAction]] = MappingProxyType(
    {
        RunState.NOT_STARTED: frozenset({RunAction.START}),
        RunState.RUNNING: frozenset({RunAction.ACTUATE, RunAction.PAUSE, RunAction.STOP}),
        RunState.PAUSED: frozenset({RunAction.RESUME, RunAction.STOP}),
        RunState.STOPPED: frozenset(),
    }
)


class PauseReason(StrEnum):
    """Why nebulization was interrupted (issue 6; ``reference/clinical.md`` §3.3 item 5)."""

    COUGH = "cough"
    DESATURATION = "desaturation"
    PATIENT_REQUEST = "patient_request"
    DEVICE_PROBLEM = "device_problem"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The reason as staff read it."""
        return self.value.replace("_", " ")


class StopReason(StrEnum):
    """Why nebulization ended (``reference/clinical.md`` §3.3 items 4–5)."""

    OUTPUT_STOPPED = "output_stopped"
    SPUTTERING = "sputtering"
    ACTUATIONS_GIVEN = "actuations_given"  # an inhaler run: every planned actuation given
    PLANNED_DURATION_REACHED = "planned_duration_reached"
    ADVERSE_EVENT = "adverse_event"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The reason as staff read it."""
        return self.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class StartFacts:
    """What must be true before the nebulizer is switched on (gathered by the service).

    Attributes
    ----------
    preparation_verified : bool
        The prepared dose was verified by a second person (step 2).
    supervisor_present : bool
        A staff member whose role may supervise inhalation is recorded as present.
    """

    preparation_verified: bool
    supervisor_present: bool


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One recorded action on the run, in order; what the service stores.

    Attributes
    ----------
    action : RunAction
    at : datetime
    reason : str
        The pause or stop reason value (empty for other actions).
    note : str
        Free text (required with reason "other").
    residual_ml : float or None
        With :attr:`RunAction.RECORD_RESIDUAL`.
    technique : Technique or None
        With :attr:`RunAction.ACTUATE`: the checklist of that actuation.
    """

    action: RunAction
    at: datetime
    reason: str = ""
    note: str = ""
    residual_ml: float | None = None
    technique: Technique | None = None


@dataclass(frozen=True, slots=True)
class Interruption:
    """One pause: why, when it began, and when nebulization resumed or stopped.

    Attributes
    ----------
    reason : PauseReason
    note : str
    started_at : datetime
    ended_at : datetime or None
        ``None`` while the run is still paused.
    """

    reason: PauseReason
    note: str
    started_at: datetime
    ended_at: datetime | None = None

    def duration(self, now: datetime) -> timedelta:
        """How long the pause lasted (up to ``now`` while it is still open)."""
        end = self.ended_at if self.ended_at is not None else now
        return end - self.started_at


_Reason = TypeVar("_Reason", PauseReason, StopReason)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput(
            f"The time {now.isoformat()} has no time zone; times must be aware (UTC) so "
            "that runs recorded on different devices line up."
        )
    return now


def _hhmmss(at: datetime) -> str:
    return at.strftime("%H:%M:%S %Z").strip()


def _parse_reason(
    reason_type: type[_Reason], given: _Reason | str | None, note: str, what: str
) -> tuple[_Reason, str]:
    choices = ", ".join(m.value.replace("_", " ") for m in reason_type)
    if given is None or (isinstance(given, str) and not given.strip()):
        raise ReasonRequired(f"Choose why the nebulization is {what}: {choices}.")
    try:
        reason = reason_type(given)
    except ValueError:
        raise ReasonRequired(
            f"{given!r} is not a reason for the nebulization being {what}. Choose one of: "
            f"{choices}."
        ) from None
    clean = note.strip()
    if reason.value == "other" and not clean:
        raise ReasonRequired(
            f"The nebulization is {what} for another reason: describe it in a few words."
        )
    return reason, clean


@dataclass(frozen=True, slots=True)
class InhalationRun:
    """The state of one nebulization run, rebuilt from its events.

    Create a new run with ``InhalationRun(fill_ml=..., planned_duration=...)``
    and move it only through its methods (or :meth:`replay`); each returns a new run.

    Attributes
    ----------
    fill_ml : float
        Volume loaded in the nebulizer (from the verified preparation), mL; 0 for
        an inhaler, which has no reservoir.
    planned_duration : timedelta or None
        From :func:`planned_duration`; ``None`` when not planned.
    state : RunState
    started_at, stopped_at : datetime or None
    stop_reason : StopReason or None
    stop_note : str
    interruptions : tuple of Interruption
        Every pause, in order; at most the last is open (and only while paused).
    residual_ml : float or None
        Volume left in the device after the run, once measured.
    events : tuple of RunEvent
    inhaler_kind : str or None
        ``"pmdi"`` or ``"dpi"`` for an inhaler run; ``None`` for a nebulization.
    actuations_planned : int or None
        An inhaler run's prescribed actuations (no more may be recorded).
    actuations : tuple of Technique
        The actuations given, in order, each with its checklist.
    """

    fill_ml: float
    planned_duration: timedelta | None = None
    state: RunState = RunState.NOT_STARTED
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None
    stop_note: str = ""
    interruptions: tuple[Interruption, ...] = ()
    residual_ml: float | None = None
    events: tuple[RunEvent, ...] = ()
    inhaler_kind: str | None = None
    actuations_planned: int | None = None
    actuations: tuple[Technique, ...] = ()

    def __post_init__(self) -> None:
        if self.inhaler_kind is not None:
            manoeuvre_for(self.inhaler_kind)
            if self.fill_ml != 0 or self.planned_duration is not None:
                raise InvalidInput(
                    "An inhaler has no reservoir: no fill volume and no planned run time."
                )
            if not (isinstance(self.actuations_planned, int) and self.actuations_planned >= 1):
                raise InvalidInput(
                    f"An inhaler run needs the actuations planned (got {self.actuations_planned})."
                )
            return
        if not (math.isfinite(self.fill_ml) and self.fill_ml > 0):
            raise InvalidInput(f"The fill volume must be more than 0 mL (got {self.fill_ml}).")
        if self.planned_duration is not None and self.planned_duration <= timedelta(0):
            raise InvalidInput(
                f"The planned duration must be longer than zero (got {self.planned_duration})."
            )

    # ------------------------------------------------------------------ reading
    @property
    def is_inhaler(self) -> bool:
        """Whether this is an inhaler run (actuations) rather than a nebulization."""
        return self.inhaler_kind is not None

    @property
    def allowed_actions(self) -> frozenset[RunAction]:
        """What can be done now (the buttons to show)."""
        if self.is_inhaler:
            allowed = INHALER_TRANSITIONS[self.state]
            if len(self.actuations) >= (self.actuations_planned or 0):
                allowed = allowed - {RunAction.ACTUATE}
            return allowed
        return RUN_TRANSITIONS[self.state]

    @property
    def last_event_at(self) -> datetime | None:
        """The time of the latest event; no later action may be timed before it."""
        return self.events[-1].at if self.events else None

    def interruption_time(self, now: datetime) -> timedelta:
        """Total time paused so far (the open pause counts up to ``now``)."""
        self._check_time(now)
        end = self.stopped_at if self.stopped_at is not None else now
        return sum((i.duration(end) for i in self.interruptions), timedelta(0))

    def elapsed(self, now: datetime) -> timedelta:
        """Nebulization time so far, pauses excluded (fixed once stopped).

        Raises
        ------
        TimeWentBackwards
            ``now`` is before the run's last event.
        """
        self._check_time(now)
        if self.started_at is None:
            return timedelta(0)
        end = self.stopped_at if self.stopped_at is not None else now
        return end - self.started_at - self.interruption_time(now)

    def remaining(self, now: datetime) -> timedelta | None:
        """Planned minus elapsed nebulization time; negative once the plan is exceeded.

        ``None`` when no duration was planned. It is not clipped at zero so the
        timer can show an overrun.
        """
        if self.planned_duration is None:
            return None
        return self.planned_duration - self.elapsed(now)

    def interruption_durations(self, now: datetime) -> tuple[tuple[Interruption, timedelta], ...]:
        """Every pause with its duration (the open one up to ``now``)."""
        self._check_time(now)
        end = self.stopped_at if self.stopped_at is not None else now
        return tuple((i, i.duration(end)) for i in self.interruptions)

    # ------------------------------------------------------------------ acting
    def start(self, *, now: datetime, facts: StartFacts) -> InhalationRun:
        """Switch the nebulizer on.

        Raises
        ------
        RunAlreadyStopped, RunTransitionRefused
            The run is not waiting to start.
        PreparationNotVerified, SupervisorAbsent
            A precondition of ``facts`` does not hold.
        TimeWentBackwards
        """
        self._check_time(now)
        self._require(RunAction.START, "start")
        if not facts.preparation_verified:
            raise PreparationNotVerified(
                "The prepared dose has not been verified by a second person. Have it checked "
                "before switching the nebulizer on."
            )
        if not facts.supervisor_present:
            raise SupervisorAbsent(
                "No trained supervisor is recorded as present. Record the staff member who "
                "supervises the inhalation before switching the nebulizer on."
            )
        return replace(
            self,
            state=RunState.RUNNING,
            started_at=now,
            events=(*self.events, RunEvent(RunAction.START, now)),
        )

    def pause(
        self, *, now: datetime, reason: PauseReason | str | None, note: str = ""
    ) -> InhalationRun:
        """Interrupt nebulization, with a reason (and words when the reason is "other").

        Raises
        ------
        RunAlreadyStopped, RunTransitionRefused
            The run is not running.
        ReasonRequired
        TimeWentBackwards
        """
        self._check_time(now)
        self._require(RunAction.PAUSE, "pause")
        why, clean = _parse_reason(PauseReason, reason, note, "paused")
        return replace(
            self,
            state=RunState.PAUSED,
            interruptions=(*self.interruptions, Interruption(why, clean, now)),
            events=(*self.events, RunEvent(RunAction.PAUSE, now, why.value, clean)),
        )

    def resume(self, *, now: datetime) -> InhalationRun:
        """Continue after a pause.

        Raises
        ------
        RunAlreadyStopped, RunTransitionRefused
            The run is not paused.
        TimeWentBackwards
        """
        self._check_time(now)
        self._require(RunAction.RESUME, "resume")
        return replace(
            self,
            state=RunState.RUNNING,
            interruptions=self._close_open_pause(now),
            events=(*self.events, RunEvent(RunAction.RESUME, now)),
        )

    def stop(
        self, *, now: datetime, reason: StopReason | str | None, note: str = ""
    ) -> InhalationRun:
        """End nebulization (from running or paused), with a reason.

        Raises
        ------
        RunAlreadyStopped, RunTransitionRefused
            The run has not started or is already stopped.
        ReasonRequired
        TimeWentBackwards
        """
        self._check_time(now)
        self._require(RunAction.STOP, "stop")
        why, clean = _parse_reason(StopReason, reason, note, "stopped")
        return replace(
            self,
            state=RunState.STOPPED,
            stopped_at=now,
            stop_reason=why,
            stop_note=clean,
            interruptions=self._close_open_pause(now),
            events=(*self.events, RunEvent(RunAction.STOP, now, why.value, clean)),
        )

    def actuate(self, *, now: datetime, technique: Technique) -> InhalationRun:
        """Record one inhaler actuation, inhaled in one breath, with its checklist.

        Raises
        ------
        RunTransitionRefused
            Not an inhaler run, not running, or every planned actuation already given.
        RunAlreadyStopped
        InvalidInput
            The checklist is impossible for the device (a spacer on a DPI).
        TimeWentBackwards
        """
        self._check_time(now)
        if self.inhaler_kind is None:
            raise RunTransitionRefused("A nebulization has no actuations to record.")
        if self.state is RunState.RUNNING and len(self.actuations) >= (
            self.actuations_planned or 0
        ):
            raise RunTransitionRefused(
                f"All {self.actuations_planned} planned actuations have been given. Stop the "
                "run; a further dose needs a new prescription and session."
            )
        self._require(RunAction.ACTUATE, "record an actuation")
        checked = check_technique(self.inhaler_kind, technique)
        return replace(
            self,
            actuations=(*self.actuations, checked),
            events=(*self.events, RunEvent(RunAction.ACTUATE, now, technique=checked)),
        )

    def record_residual(self, *, now: datetime, residual_ml: float) -> InhalationRun:
        """Record the volume left in the device after the run (again to correct it).

        Raises
        ------
        RunTransitionRefused
            The run has not been stopped yet.
        InvalidInput
            The volume is negative or not a number.
        ResidualExceedsFill
            The volume is larger than the fill volume.
        TimeWentBackwards
        """
        self._check_time(now)
        if self.is_inhaler:
            raise RunTransitionRefused("An inhaler has no reservoir, so no residual volume.")
        if self.state is not RunState.STOPPED:
            raise RunTransitionRefused(
                "Stop the nebulization before recording the residual volume left in the device."
            )
        volume = check_residual(residual_ml=residual_ml, fill_ml=self.fill_ml)
        return replace(
            self,
            residual_ml=volume,
            events=(*self.events, RunEvent(RunAction.RECORD_RESIDUAL, now, residual_ml=volume)),
        )

    @classmethod
    def replay(
        cls,
        *,
        fill_ml: float,
        planned_duration: timedelta | None,
        events: Iterable[RunEvent],
        inhaler_kind: str | None = None,
        actuations_planned: int | None = None,
    ) -> InhalationRun:
        """Rebuild a run from its stored events, applying every rule again.

        A stored start event is only ever written after its :class:`StartFacts`
        held, so it is replayed with both facts true.
        """
        run = cls(
            fill_ml=fill_ml,
            planned_duration=planned_duration,
            inhaler_kind=inhaler_kind,
            actuations_planned=actuations_planned,
        )
        for event in events:
            if event.action is RunAction.START:
                run = run.start(now=event.at, facts=StartFacts(True, True))
            elif event.action is RunAction.PAUSE:
                run = run.pause(now=event.at, reason=event.reason, note=event.note)
            elif event.action is RunAction.RESUME:
                run = run.resume(now=event.at)
            elif event.action is RunAction.STOP:
                run = run.stop(now=event.at, reason=event.reason, note=event.note)
            elif event.action is RunAction.ACTUATE:
                if event.technique is None:
                    raise InvalidInput("A stored actuation event has no technique checklist.")
                run = run.actuate(now=event.at, technique=event.technique)
            else:
                if event.residual_ml is None:
                    raise InvalidInput("A stored residual-volume event has no volume.")
                run = run.record_residual(now=event.at, residual_ml=event.residual_ml)
        return run

    # ------------------------------------------------------------------ helpers
    def _check_time(self, now: datetime) -> None:
        _aware(now)
        last = self.last_event_at
        if last is not None and now < last:
            raise TimeWentBackwards(
                f"The time given ({_hhmmss(now)}) is before the run's last recorded event "
                f"({self.events[-1].action.value.replace('_', ' ')} at {_hhmmss(last)}). "
                "Check the device clock; events cannot be recorded out of order."
            )

    def _require(self, action: RunAction, verb: str) -> None:
        if action in self.allowed_actions:
            return
        if self.state is RunState.STOPPED:
            stopped = "" if self.stopped_at is None else f" at {_hhmmss(self.stopped_at)}"
            raise RunAlreadyStopped(
                f"The nebulization was stopped{stopped}; a stopped run cannot {verb} again. "
                "A further nebulization needs a new session."
            )
        state = {
            RunState.NOT_STARTED: "has not started yet",
            RunState.RUNNING: "is already running",
            RunState.PAUSED: "is paused",
        }[self.state]
        raise RunTransitionRefused(f"Cannot {verb}: the nebulization {state}.")

    def _close_open_pause(self, now: datetime) -> tuple[Interruption, ...]:
        if self.interruptions and self.interruptions[-1].ended_at is None:
            return (*self.interruptions[:-1], replace(self.interruptions[-1], ended_at=now))
        return self.interruptions


def check_residual(*, residual_ml: float, fill_ml: float) -> float:
    """Check a measured residual volume against the fill and return it.

    Zero up to the whole fill is accepted (a run stopped at once leaves the
    whole fill behind); more than was put in is a measuring or recording error.

    Raises
    ------
    InvalidInput
        Negative or not a number.
    ResidualExceedsFill
    """
    if not (math.isfinite(residual_ml) and residual_ml >= 0):
        raise InvalidInput(
            f"The residual volume must be 0 mL or more (got {residual_ml}). Measure the "
            "liquid left in the nebulizer cup."
        )
    if residual_ml > fill_ml:
        raise ResidualExceedsFill(
            f"The residual volume {residual_ml:g} mL is more than the {fill_ml:g} mL put into "
            "the nebulizer. Measure it again, and check the fill volume recorded in the "
            "preparation."
        )
    return float(residual_ml)


def planned_duration(
    *,
    device: DeviceSettings,
    fill_ml: float,
    breathing: Breathing,
    residual_ml: float | None = None,
) -> timedelta:
    """The planned nebulization time, from the dose engine's device chain.

    (fill − residual) ÷ output rate, divided by the duty cycle for a
    breath-actuated device (``exoneb.dosimetry.nebulizers.device_chain``); the
    residual is the catalog's unless given.

    Raises
    ------
    DoseModelRefused
        The engine refused a value (e.g. a fill smaller than the residual volume).
    """
    spec = device.spec
    try:
        chain = device_chain(
            fill_ml=fill_ml,
            residual_ml=spec.residual_ml if residual_ml is None else residual_ml,
            residual_concentration_factor=spec.residual_concentration_factor,
            device_loss_fraction=spec.device_loss_fraction,
            output_rate_ml_min=spec.output_rate_ml_min,
            delivery=spec.delivery,
            breath_enhancement=spec.breath_enhancement,
            interface_efficiency=interfaces()[spec.interface].efficiency,
            breathing=breathing_pattern(**breathing.engine_arguments()),
        )
    except DosimetryInputError as error:
        raise DoseModelRefused.from_engine(error) from error
    return timedelta(minutes=float(chain.duration_min))
