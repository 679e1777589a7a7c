"""Hypothesis state machine over the nebulization run: it never reaches an illegal state.

Rules: start (with any facts), pause (with any reason, valid or not), resume,
stop, record a residual (any volume), advance the clock, and try actions with
a time in the past.

Each rule decides independently, from a small model of its own, whether the
action must succeed, and checks the run agrees — so the machine fails if the
run refuses something legal as well as if it allows something illegal.

Invariants:

- the state is one of the four, and the allowed actions are its row of the table;
- elapsed + paused time = wall time since start (up to stop), elapsed ≥ 0 and
  never decreases;
- interruptions do not overlap, lie after the start, and only the last can be open
  (and only while paused);
- a stopped run stays stopped; the residual is never more than the fill;
- replaying the events rebuilds the same run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from exoneb.inhalation.rules import (
    RUN_TRANSITIONS,
    InhalationError,
    InhalationRun,
    PauseReason,
    ReasonRequired,
    ResidualExceedsFill,
    RunAlreadyStopped,
    RunState,
    RunTransitionRefused,
    StartFacts,
    StopReason,
    TimeWentBackwards,
)

from .factories import T0

FILL = 3.0
PAUSE_REASONS = st.one_of(st.none(), st.sampled_from([*PauseReason, "", "tea break"]))
STOP_REASONS = st.one_of(st.none(), st.sampled_from([*StopReason, "", "bored"]))
NOTES = st.sampled_from(["", "  ", "phone call"])


def _valid_reason(
    reason: str | None, note: str, enum: type[PauseReason] | type[StopReason]
) -> bool:
    if reason is None:
        return False
    try:
        parsed = enum(reason)
    except ValueError:
        return False
    return parsed.value != "other" or bool(note.strip())


class RunMachine(RuleBasedStateMachine):
    """A run under random sequences of nurse actions and clock moves."""

    def __init__(self) -> None:
        super().__init__()
        self.run = InhalationRun(fill_ml=FILL, planned_duration=timedelta(minutes=8))
        self.now: datetime = T0
        self.model_state = RunState.NOT_STARTED
        self.last_elapsed = timedelta(0)

    def _expect(self, ok: bool, act: object, refusal: type[InhalationError]) -> None:
        refused: InhalationError | None = None
        try:
            new = act()  # type: ignore[operator]
        except InhalationError as error:
            refused = error
        if refused is not None:
            assert not ok, f"legal action refused: {refused}"
            assert isinstance(refused, refusal), (type(refused), refusal)
            return
        assert ok, "illegal action allowed"
        self.run = new

    @rule(minutes=st.integers(min_value=0, max_value=30))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(verified=st.booleans(), supervised=st.booleans())
    def start(self, verified: bool, supervised: bool) -> None:
        ok = self.model_state is RunState.NOT_STARTED and verified and supervised
        self._expect(
            ok,
            lambda: self.run.start(now=self.now, facts=StartFacts(verified, supervised)),
            RunAlreadyStopped if self.model_state is RunState.STOPPED else InhalationError,
        )
        if ok:
            self.model_state = RunState.RUNNING

    @rule(reason=PAUSE_REASONS, note=NOTES)
    def pause(self, reason: str | None, note: str) -> None:
        legal_state = self.model_state is RunState.RUNNING
        ok = legal_state and _valid_reason(reason, note, PauseReason)
        refusal = ReasonRequired if legal_state else RunTransitionRefused
        self._expect(ok, lambda: self.run.pause(now=self.now, reason=reason, note=note), refusal)
        if ok:
            self.model_state = RunState.PAUSED

    @rule()
    def resume(self) -> None:
        ok = self.model_state is RunState.PAUSED
        self._expect(ok, lambda: self.run.resume(now=self.now), RunTransitionRefused)
        if ok:
            self.model_state = RunState.RUNNING

    @rule(reason=STOP_REASONS, note=NOTES)
    def stop(self, reason: str | None, note: str) -> None:
        legal_state = self.model_state in (RunState.RUNNING, RunState.PAUSED)
        ok = legal_state and _valid_reason(reason, note, StopReason)
        refusal = ReasonRequired if legal_state else RunTransitionRefused
        self._expect(ok, lambda: self.run.stop(now=self.now, reason=reason, note=note), refusal)
        if ok:
            self.model_state = RunState.STOPPED

    @rule(volume=st.floats(min_value=0.0, max_value=2 * FILL))
    def record_residual(self, volume: float) -> None:
        legal_state = self.model_state is RunState.STOPPED
        ok = legal_state and volume <= FILL
        refusal = ResidualExceedsFill if legal_state else RunTransitionRefused
        self._expect(
            ok, lambda: self.run.record_residual(now=self.now, residual_ml=volume), refusal
        )

    @rule(back=st.integers(min_value=1, max_value=600))
    def act_in_the_past(self, back: int) -> None:
        if not self.run.events:
            return
        past = self.run.events[-1].at - timedelta(seconds=back)
        before = self.run
        for act in (
            lambda: self.run.resume(now=past),
            lambda: self.run.pause(now=past, reason="cough"),
            lambda: self.run.stop(now=past, reason="sputtering"),
            lambda: self.run.elapsed(past),
            lambda: self.run.record_residual(now=past, residual_ml=0.0),
        ):
            try:
                act()
            except TimeWentBackwards:
                continue
            raise AssertionError("an action timed before the last event was accepted")
        assert self.run is before

    # ------------------------------------------------------------ invariants
    @invariant()
    def state_matches_the_model_and_the_table(self) -> None:
        assert self.run.state is self.model_state
        assert self.run.allowed_actions == RUN_TRANSITIONS[self.run.state]

    @invariant()
    def time_adds_up(self) -> None:
        elapsed = self.run.elapsed(self.now)
        assert elapsed >= timedelta(0)
        assert elapsed >= self.last_elapsed
        self.last_elapsed = elapsed
        if self.run.started_at is not None:
            end = self.run.stopped_at or self.now
            assert elapsed + self.run.interruption_time(self.now) == end - self.run.started_at

    @invariant()
    def interruptions_are_ordered_and_only_the_last_may_be_open(self) -> None:
        previous_end = self.run.started_at
        for i, pause in enumerate(self.run.interruptions):
            assert previous_end is not None
            assert pause.started_at >= previous_end
            if pause.ended_at is None:
                assert i == len(self.run.interruptions) - 1
                assert self.run.state is RunState.PAUSED
                previous_end = pause.started_at
            else:
                assert pause.ended_at >= pause.started_at
                previous_end = pause.ended_at
        if self.run.state is RunState.PAUSED:
            assert self.run.interruptions
            assert self.run.interruptions[-1].ended_at is None

    @invariant()
    def stopped_runs_keep_their_record(self) -> None:
        if self.run.state is RunState.STOPPED:
            assert self.run.stopped_at is not None
            assert self.run.stop_reason is not None
        else:
            assert self.run.residual_ml is None
        if self.run.residual_ml is not None:
            assert 0 <= self.run.residual_ml <= FILL

    @invariant()
    def replay_rebuilds_the_run(self) -> None:
        again = InhalationRun.replay(
            fill_ml=FILL, planned_duration=self.run.planned_duration, events=self.run.events
        )
        assert again == self.run


RunMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestRunMachine = RunMachine.TestCase
