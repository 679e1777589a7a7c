"""The nebulization run: preconditions, reasons, elapsed time, time order, residual volume."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from exoneb.inhalation.rules import (
    BREATHING_PRESETS,
    DeviceSettings,
    DoseModelRefused,
    InhalationRun,
    InvalidInput,
    PauseReason,
    PreparationNotVerified,
    ReasonRequired,
    ResidualExceedsFill,
    RunAction,
    RunAlreadyStopped,
    RunState,
    RunTransitionRefused,
    StartFacts,
    StopReason,
    SupervisorAbsent,
    TimeWentBackwards,
    planned_duration,
)

from .factories import MESH, READY, RELAXED, T0, minutes, started


def new_run(fill_ml: float = 3.0) -> InhalationRun:
    return InhalationRun(fill_ml=fill_ml, planned_duration=minutes(8))


# ---------------------------------------------------------------- start preconditions
def test_cannot_start_without_a_verified_preparation() -> None:
    with pytest.raises(PreparationNotVerified, match="verified by a second person"):
        new_run().start(
            now=T0, facts=StartFacts(preparation_verified=False, supervisor_present=True)
        )


def test_cannot_start_without_a_supervisor_present() -> None:
    with pytest.raises(SupervisorAbsent, match="supervis"):
        new_run().start(
            now=T0, facts=StartFacts(preparation_verified=True, supervisor_present=False)
        )


def test_start_with_both_facts_runs_and_records_one_event() -> None:
    run = new_run().start(now=T0, facts=READY)
    assert run.state is RunState.RUNNING
    assert run.started_at == T0
    assert [e.action for e in run.events] == [RunAction.START]
    assert run.allowed_actions == {RunAction.PAUSE, RunAction.STOP}


def test_cannot_start_twice() -> None:
    with pytest.raises(RunTransitionRefused, match="already running"):
        started().start(now=T0 + minutes(1), facts=READY)


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        new_run().start(now=datetime(2026, 3, 2, 9, 0), facts=READY)


# ---------------------------------------------------------------- pause and resume
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_pause_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(ReasonRequired, match="cough, desaturation, patient request"):
        started().pause(now=T0 + minutes(1), reason=reason)


def test_an_unknown_pause_reason_is_refused_with_the_choices() -> None:
    with pytest.raises(ReasonRequired, match="device problem"):
        started().pause(now=T0 + minutes(1), reason="tea break")


def test_other_needs_words() -> None:
    with pytest.raises(ReasonRequired, match="describe it"):
        started().pause(now=T0 + minutes(1), reason=PauseReason.OTHER, note="  ")
    run = started().pause(now=T0 + minutes(1), reason="other", note=" phone call ")
    assert run.interruptions[0].note == "phone call"


@pytest.mark.parametrize("reason", list(PauseReason)[:-1])
def test_every_listed_pause_reason_is_accepted_as_enum_or_stored_value(reason: PauseReason) -> None:
    assert started().pause(now=T0, reason=reason).state is RunState.PAUSED
    assert started().pause(now=T0, reason=reason.value).interruptions[0].reason is reason


def test_cannot_pause_before_start_or_while_paused() -> None:
    with pytest.raises(RunTransitionRefused, match="has not started"):
        new_run().pause(now=T0, reason="cough")
    paused = started().pause(now=T0 + minutes(1), reason="cough")
    with pytest.raises(RunTransitionRefused, match="is paused"):
        paused.pause(now=T0 + minutes(2), reason="cough")


def test_cannot_resume_a_running_run() -> None:
    with pytest.raises(RunTransitionRefused, match="already running"):
        started().resume(now=T0 + minutes(1))


def test_elapsed_time_excludes_pauses() -> None:
    run = (
        started()
        .pause(now=T0 + minutes(2), reason="cough")
        .resume(now=T0 + minutes(5))
        .pause(now=T0 + minutes(6), reason=PauseReason.DESATURATION)
    )
    now = T0 + minutes(7)
    assert run.elapsed(now) == minutes(3)  # 2 + 1 minutes nebulizing
    assert run.interruption_time(now) == minutes(4)  # 3 closed + 1 open
    durations = [d for _, d in run.interruption_durations(now)]
    assert durations == [minutes(3), minutes(1)]
    assert run.remaining(now) == minutes(5)


def test_remaining_shows_an_overrun_and_is_none_without_a_plan() -> None:
    assert started().remaining(T0 + minutes(10)) == -minutes(2)
    unplanned = InhalationRun(fill_ml=3.0).start(now=T0, facts=READY)
    assert unplanned.remaining(T0 + minutes(1)) is None


# ---------------------------------------------------------------- stop
def test_stop_needs_a_reason() -> None:
    with pytest.raises(ReasonRequired, match="output stopped, sputtering"):
        started().stop(now=T0 + minutes(8), reason=None)


def test_stop_from_paused_closes_the_open_pause_and_freezes_the_timer() -> None:
    run = (
        started()
        .pause(now=T0 + minutes(4), reason="patient_request")
        .stop(now=T0 + minutes(6), reason=StopReason.ADVERSE_EVENT)
    )
    assert run.state is RunState.STOPPED
    assert run.interruptions[-1].ended_at == T0 + minutes(6)
    assert run.elapsed(T0 + minutes(60)) == minutes(4)
    assert run.interruption_time(T0 + minutes(60)) == minutes(2)
    assert run.allowed_actions == {RunAction.RECORD_RESIDUAL}


@pytest.mark.parametrize(
    "act",
    [
        lambda r: r.resume(now=T0 + minutes(9)),
        lambda r: r.pause(now=T0 + minutes(9), reason="cough"),
        lambda r: r.start(now=T0 + minutes(9), facts=READY),
        lambda r: r.stop(now=T0 + minutes(9), reason="sputtering"),
    ],
    ids=["resume", "pause", "start", "stop"],
)
def test_a_stopped_run_cannot_do_anything_but_record_the_residual(act: object) -> None:
    run = started().stop(now=T0 + minutes(8), reason="output_stopped")
    with pytest.raises(RunAlreadyStopped, match="new session"):
        act(run)  # type: ignore[operator]


def test_cannot_stop_before_start() -> None:
    with pytest.raises(RunTransitionRefused, match="has not started"):
        new_run().stop(now=T0, reason="sputtering")


# ---------------------------------------------------------------- time order
def test_time_going_backwards_is_refused_for_actions_and_readings() -> None:
    run = started().pause(now=T0 + minutes(3), reason="cough")
    with pytest.raises(TimeWentBackwards, match="before the run's last recorded event"):
        run.resume(now=T0 + minutes(2))
    with pytest.raises(TimeWentBackwards):
        run.elapsed(T0 + minutes(1))
    assert run.resume(now=T0 + minutes(3)).state is RunState.RUNNING  # same instant is fine


# ---------------------------------------------------------------- residual volume
def test_residual_larger_than_fill_is_rejected() -> None:
    run = started(fill_ml=3.0).stop(now=T0 + minutes(8), reason="output_stopped")
    with pytest.raises(ResidualExceedsFill, match=r"3\.2 mL is more than the 3 mL"):
        run.record_residual(now=T0 + minutes(9), residual_ml=3.2)


def test_residual_from_zero_to_the_whole_fill_is_recorded_and_can_be_corrected() -> None:
    run = started(fill_ml=3.0).stop(now=T0 + minutes(8), reason="output_stopped")
    run = run.record_residual(now=T0 + minutes(9), residual_ml=3.0)
    run = run.record_residual(now=T0 + minutes(10), residual_ml=0.0)
    assert run.residual_ml == 0.0
    assert [e.residual_ml for e in run.events if e.action is RunAction.RECORD_RESIDUAL] == [
        3.0,
        0.0,
    ]


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf")])
def test_impossible_residuals_are_refused(value: float) -> None:
    run = started().stop(now=T0 + minutes(8), reason="output_stopped")
    with pytest.raises(InvalidInput, match="0 mL or more"):
        run.record_residual(now=T0 + minutes(9), residual_ml=value)


def test_residual_only_after_stop() -> None:
    with pytest.raises(RunTransitionRefused, match="Stop the nebulization"):
        started().record_residual(now=T0 + minutes(1), residual_ml=0.1)


@pytest.mark.parametrize(("fill", "planned"), [(0.0, None), (3.0, timedelta(0))])
def test_a_run_needs_a_positive_fill_and_plan(fill: float, planned: timedelta | None) -> None:
    with pytest.raises(InvalidInput):
        InhalationRun(fill_ml=fill, planned_duration=planned)


# ---------------------------------------------------------------- replay
def test_replaying_the_stored_events_rebuilds_the_same_run() -> None:
    run = (
        started()
        .pause(now=T0 + minutes(2), reason="other", note="nose blow")
        .resume(now=T0 + minutes(3))
        .stop(now=T0 + minutes(9), reason="output_stopped")
        .record_residual(now=T0 + minutes(10), residual_ml=0.1)
    )
    again = InhalationRun.replay(fill_ml=3.0, planned_duration=minutes(8), events=run.events)
    assert again == run


# ---------------------------------------------------------------- planned duration
def test_planned_duration_is_fill_minus_residual_over_output_rate() -> None:
    # Aerogen Solo catalog: residual 0.1 mL, 0.38 mL/min, continuous output.
    got = planned_duration(device=MESH, fill_ml=3.0, breathing=RELAXED)
    assert got == timedelta(minutes=(3.0 - 0.1) / 0.38)
    measured_rate = DeviceSettings(catalog_id="aerogen-solo", output_rate_ml_min=0.5)
    assert planned_duration(device=measured_rate, fill_ml=3.0, breathing=RELAXED) == timedelta(
        minutes=2.9 / 0.5
    )


def test_planned_duration_of_a_breath_enhanced_jet_uses_the_engine_formula() -> None:
    jet = DeviceSettings(catalog_id="pari-lc-plus")
    slow = BREATHING_PRESETS["slow-deep"]
    # Breath-enhanced output: (fill − residual) / rate, independent of breathing.
    assert planned_duration(device=jet, fill_ml=4.0, breathing=slow) == timedelta(
        minutes=(4.0 - 1.0) / 0.45
    )


def test_a_fill_below_the_device_residual_is_refused_with_field_and_range() -> None:
    with pytest.raises(DoseModelRefused, match=r"residual volume \(residual_ml") as caught:
        planned_duration(
            device=DeviceSettings(catalog_id="jet-generic"), fill_ml=0.8, breathing=RELAXED
        )
    assert caught.value.field == "residual_ml"
