"""Observation schedule (reference/clinical.md §4.4 [design default]): due times and due/overdue."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from exoneb.monitoring.citations import sources_of
from exoneb.monitoring.schedule import (
    ObservationKind,
    ScheduleContext,
    ScheduleParameters,
    SlotState,
    build_schedule,
    schedule_status,
)

from .factories import T0, at, man

VITALS = {
    "spo2_pct": 96.0,
    "heart_rate_per_min": 80.0,
    "resp_rate_per_min": 16.0,
    "sbp_mmhg": 120.0,
    "dbp_mmhg": 80.0,
}


def minutes(slots: object) -> list[tuple[str, float]]:
    return [(s.kind.value, (s.due_at - T0) / timedelta(minutes=1)) for s in slots]  # type: ignore[attr-defined]


def test_first_session_is_observed_30_min_with_vitals_at_0_15_30_and_spirometry() -> None:
    schedule = build_schedule(T0, ScheduleContext(first_session=True))
    assert minutes(schedule.slots) == [
        ("vitals", 0),
        ("spirometry", 15),
        ("vitals", 15),
        ("vitals", 30),
    ]
    assert schedule.minimum_end_at == at(minutes=30)
    spiro = next(s for s in schedule.slots if s.kind is ObservationKind.SPIROMETRY)
    assert spiro.late_at == at(minutes=30)  # "spirometry/PEF at 15–30 min"


@pytest.mark.parametrize("change", ["dose_changed", "lot_changed"])
def test_dose_or_lot_change_gets_the_first_session_schedule(change: str) -> None:
    context = ScheduleContext(
        dose_changed=change == "dose_changed", lot_changed=change == "lot_changed"
    )
    schedule = build_schedule(T0, context)
    assert schedule.minimum_end_at == at(minutes=30)
    assert "change" in schedule.reasons[0]


def test_later_session_is_observed_15_min() -> None:
    schedule = build_schedule(T0, ScheduleContext())
    assert minutes(schedule.slots) == [("vitals", 0), ("vitals", 15)]
    assert schedule.minimum_end_at == at(minutes=15)


def test_grade_2_event_extends_observation_60_min_from_onset() -> None:
    schedule = build_schedule(T0, ScheduleContext(grade2_event_onsets=(at(minutes=20),)))
    assert schedule.minimum_end_at == at(minutes=80)
    assert minutes(schedule.slots) == [
        ("vitals", 0),
        ("vitals", 15),
        ("vitals", 35),
        ("vitals", 50),
        ("vitals", 65),
        ("vitals", 80),
    ]
    assert "grade ≥ 2" in schedule.reasons[-1]


def test_extension_does_not_duplicate_a_slot_already_planned() -> None:
    schedule = build_schedule(
        T0, ScheduleContext(first_session=True, grade2_event_onsets=(at(minutes=0),))
    )
    vitals = [m for k, m in minutes(schedule.slots) if k == "vitals"]
    assert vitals == [0, 15, 30, 45, 60]


def test_parameters_cite_sources_and_validate() -> None:
    cites = sources_of(ScheduleParameters())
    assert set(cites) == {f.name for f in dataclasses.fields(ScheduleParameters)}
    assert "§4.4" in cites["intensive_vitals_min"]
    assert "[not in reference]" in cites["grace_min"]
    with pytest.raises(ValueError, match="increasing"):
        ScheduleParameters(intensive_vitals_min=(15, 0))


def test_status_moves_from_upcoming_to_due_to_overdue() -> None:
    schedule = build_schedule(T0, ScheduleContext())
    slot15 = 1

    def state(now_min: float) -> SlotState:
        return schedule_status(schedule, [], at(minutes=now_min))[slot15].state

    assert state(9.9) is SlotState.UPCOMING
    assert state(10) is SlotState.DUE  # opens 5 min early
    assert state(20) is SlotState.DUE  # 5 min grace
    assert state(20.1) is SlotState.OVERDUE


def test_slot_is_done_only_when_every_vital_is_recorded() -> None:
    schedule = build_schedule(T0, ScheduleContext())
    partial = [man(15, spo2_pct=96.0, heart_rate_per_min=80.0)]
    status = schedule_status(schedule, partial, at(minutes=16))[1]
    assert status.state is SlotState.DUE
    assert status.missing == ("resp_rate_per_min", "sbp_mmhg", "dbp_mmhg")
    # The rest, by hand two minutes later, completes the slot.
    rest = [*partial, man(17, resp_rate_per_min=16.0, sbp_mmhg=120.0, dbp_mmhg=80.0)]
    assert schedule_status(schedule, rest, at(minutes=18))[1].state is SlotState.DONE


def test_readings_after_now_or_outside_the_window_do_not_count() -> None:
    schedule = build_schedule(T0, ScheduleContext())
    late = [man(21, **VITALS)]
    assert schedule_status(schedule, late, at(minutes=25))[1].state is SlotState.OVERDUE
    future = [man(15, **VITALS)]
    assert schedule_status(schedule, future, at(minutes=14))[1].state is SlotState.DUE


def test_spirometry_slot_accepts_fev1_or_pef() -> None:
    schedule = build_schedule(T0, ScheduleContext(first_session=True))
    idx = [s.slot.kind for s in schedule_status(schedule, [], at(minutes=1))].index(
        ObservationKind.SPIROMETRY
    )
    for obs in (man(25, fev1_l=2.0), man(25, pef_l_per_min=400.0)):
        assert schedule_status(schedule, [obs], at(minutes=26))[idx].state is SlotState.DONE
    assert schedule_status(schedule, [], at(minutes=31))[idx].state is SlotState.OVERDUE


def test_observation_complete_at_minimum_end() -> None:
    schedule = build_schedule(T0, ScheduleContext(first_session=True))
    assert not schedule.observation_complete(at(minutes=29, seconds=59))
    assert schedule.observation_complete(at(minutes=30))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        build_schedule(T0.replace(tzinfo=None), ScheduleContext())
