"""Discharge checklist (reference/clinical.md §4.4 [design default]): blocked until every
criterion holds; missing data is never a pass."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exoneb.monitoring.discharge import (
    Attestations,
    DischargeParameters,
    ItemStatus,
    evaluate_discharge,
)
from exoneb.monitoring.observations import Baseline, Observation
from exoneb.monitoring.schedule import ScheduleContext, build_schedule

from .factories import BASELINE, at, man

GOOD_VITALS: dict[str, Any] = {
    "spo2_pct": 95.0,
    "heart_rate_per_min": 85.0,
    "resp_rate_per_min": 17.0,
    "sbp_mmhg": 125.0,
    "dbp_mmhg": 82.0,
}
GOOD_EXAM: dict[str, Any] = {"wheeze": False, "stridor": False, "symptom_grade": 1}
ALL_CONFIRMED = Attestations(walks_unaided=True, instructions_given=True, follow_up_scheduled=True)
FIRST = build_schedule(at(), ScheduleContext(first_session=True))


def good_session() -> list[Observation]:
    """Everything a first session needs, recorded on time."""
    return [
        man(0, **GOOD_VITALS),
        man(15, **GOOD_VITALS),
        man(20, fev1_l=1.9),  # 95 % of 2.0
        man(30, **GOOD_VITALS, **GOOD_EXAM),
    ]


def check(
    observations: list[Observation],
    *,
    minute: float = 31,
    baseline: Baseline = BASELINE,
    attestations: Attestations = ALL_CONFIRMED,
    first_session: bool = True,
    schedule: Any = FIRST,
) -> dict[str, ItemStatus]:
    checklist = evaluate_discharge(
        baseline=baseline,
        observations=observations,
        schedule=schedule,
        now=at(minutes=minute),
        attestations=attestations,
        first_session=first_session,
    )
    statuses = {i.item_id: i.status for i in checklist.items}
    assert checklist.dischargeable is all(
        s in (ItemStatus.PASS, ItemStatus.NOT_REQUIRED) for s in statuses.values()
    )
    return statuses


def blockers(statuses: dict[str, ItemStatus]) -> set[str]:
    return {k for k, s in statuses.items() if s not in (ItemStatus.PASS, ItemStatus.NOT_REQUIRED)}


def test_a_good_first_session_is_dischargeable() -> None:
    assert blockers(check(good_session())) == set()


def test_not_before_the_minimum_observation_time() -> None:
    obs = [o for o in good_session() if o.at <= at(minutes=29)]
    obs.append(man(29, **GOOD_VITALS, **GOOD_EXAM))
    assert "observation_time" in blockers(check(obs, minute=29.5))


def test_a_missed_scheduled_observation_blocks() -> None:
    obs = [o for o in good_session() if o.at != at(minutes=15)]
    assert blockers(check(obs)) == {"scheduled_observations"}


@pytest.mark.parametrize(("spo2", "ok"), [(94.0, True), (93.9, False)])
def test_spo2_back_to_baseline_minus_2(spo2: float, ok: bool) -> None:
    obs = [*good_session(), man(30.5, spo2_pct=spo2)]
    assert ("spo2" not in blockers(check(obs))) is ok


def test_spo2_must_also_be_above_the_floor() -> None:
    # Baseline 91: 89 is within 2 points, but below the 90 % floor.
    baseline = dataclasses.replace(BASELINE, spo2_pct=91.0)
    obs = [*good_session(), man(30.5, spo2_pct=89.0)]
    assert "spo2" in blockers(check(obs, baseline=baseline))
    hypercapnic = dataclasses.replace(baseline, hypercapnia_risk=True)  # floor 88 %
    assert "spo2" not in blockers(check(obs, baseline=hypercapnic))


@pytest.mark.parametrize(
    ("measure", "value", "item", "ok"),
    [
        ("heart_rate_per_min", 96.0, "heart_rate", True),  # baseline 80: +20 %
        ("heart_rate_per_min", 96.5, "heart_rate", False),
        ("heart_rate_per_min", 64.0, "heart_rate", True),  # −20 %
        ("heart_rate_per_min", 63.5, "heart_rate", False),
        ("resp_rate_per_min", 19.2, "resp_rate", True),
        ("resp_rate_per_min", 20.0, "resp_rate", False),
        ("sbp_mmhg", 144.0, "sbp", True),
        ("sbp_mmhg", 145.0, "sbp", False),
        ("dbp_mmhg", 63.0, "dbp", False),
    ],
)
def test_vitals_within_20_percent_of_baseline(
    measure: str, value: float, item: str, ok: bool
) -> None:
    obs = [*good_session(), man(30.5, **{measure: value})]
    assert (item not in blockers(check(obs))) is ok


@pytest.mark.parametrize(("fev1", "ok"), [(1.80, True), (1.79, False)])
def test_fev1_at_least_90_percent_of_pre_dose(fev1: float, ok: bool) -> None:
    obs = [*good_session(), man(30.5, fev1_l=fev1)]
    assert ("airway" not in blockers(check(obs))) is ok


def test_pef_is_used_when_there_is_no_fev1() -> None:
    obs = [o for o in good_session() if o.fev1_l is None] + [man(20, pef_l_per_min=350.0)]
    assert "airway" in blockers(check(obs))  # 87.5 % of 400
    obs[-1] = man(20, pef_l_per_min=360.0)
    assert "airway" not in blockers(check(obs))


@pytest.mark.parametrize("sign", ["wheeze", "stridor"])
def test_wheeze_or_stridor_blocks(sign: str) -> None:
    obs = [*good_session(), man(30.5, **{sign: True})]
    assert blockers(check(obs)) == {f"no_{sign}"}


@pytest.mark.parametrize(("grade", "ok"), [(1, True), (2, False)])
def test_symptoms_at_most_grade_1(grade: int, ok: bool) -> None:
    obs = [*good_session(), man(30.5, symptom_grade=grade)]
    assert ("symptoms" not in blockers(check(obs))) is ok


@pytest.mark.parametrize(
    "missing",
    ["spo2_pct", "heart_rate_per_min", "resp_rate_per_min", "sbp_mmhg", "dbp_mmhg"],
)
def test_missing_baseline_is_never_a_pass(missing: str) -> None:
    baseline = dataclasses.replace(BASELINE, **{missing: None})  # type: ignore[arg-type]
    statuses = check(good_session(), baseline=baseline)
    assert ItemStatus.MISSING in statuses.values()


def test_no_observations_at_all_is_not_dischargeable() -> None:
    statuses = check([], attestations=Attestations())
    assert blockers(statuses) == set(statuses) - {"observation_time"}
    assert all(s is ItemStatus.MISSING for k, s in statuses.items() if k != "observation_time")


def test_unexamined_wheeze_and_ungraded_symptoms_are_missing() -> None:
    obs = [
        man(0, **GOOD_VITALS),
        man(15, **GOOD_VITALS),
        man(20, fev1_l=1.9),
        man(30, **GOOD_VITALS),
    ]
    statuses = check(obs)
    assert {k for k, s in statuses.items() if s is ItemStatus.MISSING} == {
        "no_wheeze",
        "no_stridor",
        "symptoms",
    }


def test_attestations_are_required_and_follow_up_only_after_a_first_session() -> None:
    statuses = check(good_session(), attestations=Attestations(True, True, None))
    assert blockers(statuses) == {"follow_up_scheduled"}
    later = build_schedule(at(), ScheduleContext())
    statuses = check(
        good_session(),
        attestations=Attestations(True, None, None),
        first_session=False,
        schedule=later,
    )
    assert statuses["follow_up_scheduled"] is ItemStatus.NOT_REQUIRED
    assert blockers(statuses) == {"instructions_given"}


def test_spirometry_not_scheduled_and_not_measured_is_not_required() -> None:
    later = build_schedule(at(), ScheduleContext())
    obs = [man(0, **GOOD_VITALS), man(15, **GOOD_VITALS, **GOOD_EXAM)]
    statuses = check(obs, minute=16, first_session=False, schedule=later)
    assert statuses["airway"] is ItemStatus.NOT_REQUIRED
    assert blockers(statuses) == set()
    # …but once measured, it must pass.
    statuses = check([*obs, man(15.5, fev1_l=1.5)], minute=16, first_session=False, schedule=later)
    assert statuses["airway"] is ItemStatus.FAIL


def test_readings_before_the_end_of_nebulization_do_not_count() -> None:
    obs = [man(-5, **GOOD_VITALS, **GOOD_EXAM), *good_session()[1:3]]
    statuses = check(obs)
    assert "scheduled_observations" in blockers(statuses)


def test_items_explain_values_and_cite_sources() -> None:
    checklist = evaluate_discharge(
        baseline=BASELINE,
        observations=good_session(),
        schedule=FIRST,
        now=at(minutes=31),
        attestations=ALL_CONFIRMED,
        first_session=True,
    )
    spo2 = next(i for i in checklist.items if i.item_id == "spo2")
    assert "95 %" in spo2.detail
    assert "needs ≥ 94 %" in spo2.detail
    assert all("clinical.md §4.4" in i.source for i in checklist.items)
    assert DischargeParameters().vitals_tolerance_fraction == 0.20


@given(
    st.sampled_from(
        [
            "spo2_pct",
            "heart_rate_per_min",
            "resp_rate_per_min",
            "sbp_mmhg",
            "dbp_mmhg",
            "fev1_l",
            "wheeze",
            "stridor",
            "symptom_grade",
        ]
    ),
    st.sampled_from(["observation", "baseline"]),
)
def test_any_missing_value_blocks_discharge(field: str, where: str) -> None:
    # Property: remove one recorded value (everywhere it was recorded, or from the
    # baseline) from an otherwise dischargeable session; discharge is then refused.
    obs = good_session()
    baseline = BASELINE
    if where == "baseline" and hasattr(BASELINE, field):
        baseline = dataclasses.replace(BASELINE, **{field: None})  # type: ignore[arg-type]
    else:
        obs = [dataclasses.replace(o, **{field: None}) for o in obs]  # type: ignore[arg-type]
    checklist = evaluate_discharge(
        baseline=baseline,
        observations=obs,
        schedule=FIRST,
        now=at(minutes=31),
        attestations=ALL_CONFIRMED,
        first_session=True,
    )
    assert not checklist.dischargeable
    assert any(i.status is ItemStatus.MISSING for i in checklist.blockers)
