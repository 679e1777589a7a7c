"""Vital signs: every plausibility boundary, the refusal messages, flags and BMI."""

from __future__ import annotations

import math
from typing import Any

import pytest

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.vitals import (
    PLAUSIBLE_RANGES,
    ImplausibleValueError,
    InspiredOxygen,
    OxygenSource,
    body_mass_index,
    record_vitals,
)

VITAL_FIELDS = [
    "spo2_percent",
    "heart_rate_bpm",
    "respiratory_rate_per_min",
    "systolic_bp_mmhg",
    "diastolic_bp_mmhg",
    "temperature_c",
    "weight_kg",
    "height_cm",
]


def _record(field: str, value: float) -> Any:
    """Record one vital, adding the companions a valid entry needs."""
    kwargs: dict[str, Any] = {field: value}
    if field == "spo2_percent":
        kwargs["inspired_oxygen"] = InspiredOxygen.room_air()
    if field == "systolic_bp_mmhg":
        kwargs["diastolic_bp_mmhg"] = 20.0
    if field == "diastolic_bp_mmhg":
        kwargs["systolic_bp_mmhg"] = 300.0
    return record_vitals(**kwargs)


@pytest.mark.parametrize("field", VITAL_FIELDS)
def test_both_ends_of_each_range_are_accepted(field: str) -> None:
    rng = PLAUSIBLE_RANGES[field]
    assert getattr(_record(field, rng.low), field) == rng.low
    assert getattr(_record(field, rng.high), field) == rng.high


@pytest.mark.parametrize("field", VITAL_FIELDS)
@pytest.mark.parametrize("side", ["below", "above"])
def test_just_outside_each_range_is_refused_with_a_clear_message(field: str, side: str) -> None:
    rng = PLAUSIBLE_RANGES[field]
    value = rng.low - 0.1 if side == "below" else rng.high + 0.1
    with pytest.raises(ImplausibleValueError) as info:
        _record(field, value)
    message = str(info.value)
    assert info.value.field == field
    assert rng.label in message
    assert field in message
    assert repr(value) in message
    assert rng.text in message
    assert isinstance(info.value, AssessmentInputError)


@pytest.mark.parametrize("bad", [math.nan, math.inf, True, "72"])
def test_non_numbers_are_refused(bad: Any) -> None:
    with pytest.raises(ImplausibleValueError, match="Heart rate"):
        record_vitals(heart_rate_bpm=bad)


def test_unit_mistakes_get_a_unit_hint() -> None:
    with pytest.raises(ImplausibleValueError, match="Celsius"):
        record_vitals(temperature_c=98.6)
    with pytest.raises(ImplausibleValueError, match="fraction"):
        InspiredOxygen.fraction(40)
    with pytest.raises(ImplausibleValueError, match="kilograms"):
        record_vitals(weight_kg=400)


def test_inspired_oxygen_forms_and_ranges() -> None:
    assert InspiredOxygen.room_air().source is OxygenSource.ROOM_AIR
    assert not InspiredOxygen.room_air().supplemental
    flow = InspiredOxygen.flow(2)
    assert flow.flow_l_min == 2.0
    assert flow.supplemental
    assert flow.label == "on oxygen 2 L/min"
    assert InspiredOxygen.fraction(0.21).fio2 == 0.21
    assert not InspiredOxygen.fraction(0.21).supplemental
    assert InspiredOxygen.fraction(1.0).supplemental
    assert InspiredOxygen.flow(60).flow_l_min == 60.0
    assert InspiredOxygen.flow(0.1).flow_l_min == 0.1
    for bad_flow in (0.0, 60.1):
        with pytest.raises(ImplausibleValueError, match="Oxygen flow"):
            InspiredOxygen.flow(bad_flow)
    for bad_fio2 in (0.2, 1.01):
        with pytest.raises(ImplausibleValueError, match="FiO2"):
            InspiredOxygen.fraction(bad_fio2)


def test_spo2_needs_its_inspired_oxygen() -> None:
    with pytest.raises(AssessmentInputError, match="inspired_oxygen"):
        record_vitals(spo2_percent=95)
    vitals = record_vitals(spo2_percent=95, inspired_oxygen=InspiredOxygen.flow(2))
    assert vitals.inspired_oxygen == InspiredOxygen.flow(2)


def test_blood_pressure_needs_both_values_in_order() -> None:
    with pytest.raises(AssessmentInputError, match="diastolic_bp_mmhg"):
        record_vitals(systolic_bp_mmhg=120)
    with pytest.raises(AssessmentInputError, match="systolic_bp_mmhg"):
        record_vitals(diastolic_bp_mmhg=80)
    with pytest.raises(AssessmentInputError, match="swapped"):
        record_vitals(systolic_bp_mmhg=80, diastolic_bp_mmhg=120)
    with pytest.raises(AssessmentInputError, match="swapped"):
        record_vitals(systolic_bp_mmhg=90, diastolic_bp_mmhg=90)


def test_nothing_measured_is_none_not_normal() -> None:
    vitals = record_vitals()
    assert vitals.heart_rate_bpm is None
    assert vitals.bmi is None
    assert vitals.flags == ()


def test_bmi() -> None:
    assert body_mass_index(70, 175) == pytest.approx(22.857142857)
    assert record_vitals(weight_kg=70, height_cm=175).bmi == pytest.approx(22.857142857)
    assert record_vitals(weight_kg=70).bmi is None
    with pytest.raises(ImplausibleValueError, match="Height"):
        body_mass_index(70, 1.75)


def _flagged(**kwargs: Any) -> set[str]:
    return {f.field for f in record_vitals(**kwargs).flags}


@pytest.mark.parametrize(
    ("kwargs", "flagged"),
    [
        ({"spo2_percent": 94}, set()),
        ({"spo2_percent": 93.9}, {"spo2_percent"}),
        ({"spo2_percent": 87}, {"spo2_percent"}),
        ({"heart_rate_bpm": 100}, set()),
        ({"heart_rate_bpm": 101}, {"heart_rate_bpm"}),
        ({"heart_rate_bpm": 50}, set()),
        ({"heart_rate_bpm": 49}, {"heart_rate_bpm"}),
        ({"respiratory_rate_per_min": 20}, set()),
        ({"respiratory_rate_per_min": 21}, {"respiratory_rate_per_min"}),
        ({"respiratory_rate_per_min": 12}, set()),
        ({"respiratory_rate_per_min": 11}, {"respiratory_rate_per_min"}),
        ({"systolic_bp_mmhg": 180, "diastolic_bp_mmhg": 100}, set()),
        ({"systolic_bp_mmhg": 181, "diastolic_bp_mmhg": 100}, {"systolic_bp_mmhg"}),
        ({"systolic_bp_mmhg": 150, "diastolic_bp_mmhg": 101}, {"systolic_bp_mmhg"}),
        ({"systolic_bp_mmhg": 90, "diastolic_bp_mmhg": 60}, set()),
        ({"systolic_bp_mmhg": 89, "diastolic_bp_mmhg": 60}, {"systolic_bp_mmhg"}),
        ({"temperature_c": 37.9}, set()),
        ({"temperature_c": 38.0}, {"temperature_c"}),
        ({"temperature_c": 35.0}, set()),
        ({"temperature_c": 34.9}, {"temperature_c"}),
        ({"weight_kg": 57, "height_cm": 175}, set()),  # BMI 18.6
        ({"weight_kg": 56, "height_cm": 175}, {"bmi"}),  # BMI 18.3
        ({"weight_kg": 91, "height_cm": 175}, set()),  # BMI 29.7
        ({"weight_kg": 92, "height_cm": 175}, {"bmi"}),  # BMI 30.0
    ],
)
def test_abnormal_but_possible_values_are_kept_and_flagged(
    kwargs: dict[str, Any], flagged: set[str]
) -> None:
    if "spo2_percent" in kwargs:
        kwargs["inspired_oxygen"] = InspiredOxygen.room_air()
    assert _flagged(**kwargs) == flagged


def test_flag_says_what_and_why() -> None:
    vitals = record_vitals(temperature_c=38.4)
    assert vitals.temperature_c == 38.4
    (flag,) = vitals.flags
    assert flag.value == 38.4
    assert "38.0" in flag.message
    assert "CTCAE" in flag.source
