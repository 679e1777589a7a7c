"""CAT, mMRC, modified Borg and the six-minute walk: scoring, bands and invalid items."""

from __future__ import annotations

from typing import Any

import pytest

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.scales import (
    BORG_ANCHORS,
    CatDomain,
    CatImpact,
    MmrcVersion,
    WalkEquation,
    cat_impact,
    score_borg,
    score_cat,
    score_mmrc,
    score_six_minute_walk,
    six_minute_walk_reference,
)
from exoneb.assessment.spirometry_terms import Sex
from exoneb.assessment.vitals import InspiredOxygen

# --- CAT --------------------------------------------------------------------------------------


def _items_summing_to(total: int) -> list[int]:
    """Eight item scores 0–5 that add up to ``total``."""
    items = []
    for _ in range(8):
        item = min(5, total)
        items.append(item)
        total -= item
    assert total == 0
    return items


@pytest.mark.parametrize(
    ("total", "impact"),
    [
        (0, CatImpact.LOW),
        (10, CatImpact.LOW),
        (11, CatImpact.MEDIUM),
        (20, CatImpact.MEDIUM),
        (21, CatImpact.HIGH),
        (30, CatImpact.HIGH),
        (31, CatImpact.VERY_HIGH),
        (40, CatImpact.VERY_HIGH),
    ],
)
def test_cat_total_and_band_boundaries(total: int, impact: CatImpact) -> None:
    score = score_cat(_items_summing_to(total))
    assert score.total == total
    assert score.impact is impact
    assert cat_impact(total) is impact


def test_cat_by_domain_keeps_the_item_scores_in_order() -> None:
    given = {d.value: i % 6 for i, d in enumerate(reversed(list(CatDomain)))}
    score = score_cat(given)
    assert [d for d, _ in score.items] == list(CatDomain)
    assert dict(score.items) == {CatDomain(k): v for k, v in given.items()}
    assert score.total == sum(given.values())
    assert "GSK" in score.source


@pytest.mark.parametrize("bad", [6, -1, 2.5, True, "3", None])
def test_cat_invalid_item_names_its_domain(bad: Any) -> None:
    items: dict[str, Any] = {d.value: 1 for d in CatDomain}
    items["sleep"] = bad
    with pytest.raises(AssessmentInputError) as info:
        score_cat(items)
    assert info.value.field == "cat.sleep"
    assert "0 to 5" in str(info.value)


def test_cat_needs_all_eight_known_items() -> None:
    items: dict[str, int] = {d.value: 1 for d in CatDomain}
    del items["energy"]
    with pytest.raises(AssessmentInputError, match="energy"):
        score_cat(items)
    with pytest.raises(AssessmentInputError, match="8 item scores"):
        score_cat([1] * 7)
    with pytest.raises(AssessmentInputError, match="cough"):
        score_cat({**{d.value: 1 for d in CatDomain}, "wheeze": 2})


# --- mMRC -------------------------------------------------------------------------------------


@pytest.mark.parametrize("grade", [0, 1, 2, 3, 4])
def test_mmrc_grades(grade: int) -> None:
    score = score_mmrc(grade)
    assert score.grade == grade
    assert score.version is MmrcVersion.MMRC_0_4
    assert score.mrc_grade == grade + 1
    assert score.description


@pytest.mark.parametrize("mrc", [1, 2, 3, 4, 5])
def test_mrc_numbering_is_stored_and_converted(mrc: int) -> None:
    score = score_mmrc(mrc, "MRC 1-5")
    assert score.grade == mrc - 1
    assert score.entered == mrc
    assert score.version is MmrcVersion.MRC_1_5
    assert score.description == score_mmrc(mrc - 1).description


@pytest.mark.parametrize(
    ("grade", "version"), [(5, "mMRC 0-4"), (-1, "mMRC 0-4"), (0, "MRC 1-5"), (6, "MRC 1-5")]
)
def test_mmrc_out_of_range(grade: int, version: str) -> None:
    with pytest.raises(AssessmentInputError, match="mmrc_grade"):
        score_mmrc(grade, version)


@pytest.mark.parametrize("bad", [True, 2.0, "2"])
def test_mmrc_not_a_whole_number(bad: Any) -> None:
    with pytest.raises(AssessmentInputError, match="whole number"):
        score_mmrc(bad)


def test_mmrc_unknown_version() -> None:
    with pytest.raises(AssessmentInputError, match="mmrc_version"):
        score_mmrc(2, "eMRCD")


# --- Borg -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_borg_values(value: float) -> None:
    score = score_borg(value)
    assert score.value == float(value)
    assert score.anchor == BORG_ANCHORS[float(value)]


def test_borg_half_point_anchor() -> None:
    assert score_borg(0.5).anchor.startswith("Very, very slight")


@pytest.mark.parametrize("bad", [-0.5, 2.5, 10.5, 11, True, "3"])
def test_borg_invalid(bad: Any) -> None:
    with pytest.raises(AssessmentInputError, match="borg"):
        score_borg(bad)


def test_borg_rpe_value_gets_a_hint() -> None:
    with pytest.raises(AssessmentInputError, match="RPE"):
        score_borg(13)


# --- six-minute walk --------------------------------------------------------------------------


def test_enright_sherrill_worked_example_man() -> None:
    # clinical.md §6.4: a man of 175 cm, 60 y, 80 kg → 573.8 m
    ref = six_minute_walk_reference(sex="M", age_years=60, height_cm=175, weight_kg=80)
    assert ref.predicted_m == pytest.approx(573.75)
    assert ref.lln_m == pytest.approx(573.75 - 153)
    assert ref.equation is WalkEquation.ENRIGHT_SHERRILL_1998
    assert ref.sex is Sex.MALE
    assert "Enright" in ref.source


def test_enright_sherrill_woman() -> None:
    ref = six_minute_walk_reference(sex="F", age_years=60, height_cm=160, weight_kg=65)
    expected = 2.11 * 160 - 2.29 * 65 - 5.78 * 60 + 667
    assert ref.predicted_m == pytest.approx(expected)
    assert ref.predicted_m == pytest.approx(508.95)
    assert ref.lln_m == pytest.approx(expected - 139)


@pytest.mark.parametrize(("age", "ok"), [(40, True), (80, True), (39.9, False), (80.1, False)])
def test_enright_sherrill_age_range(age: float, ok: bool) -> None:
    kwargs: dict[str, Any] = {"sex": "M", "age_years": age, "height_cm": 175, "weight_kg": 80}
    if ok:
        assert six_minute_walk_reference(**kwargs).age_years == age
    else:
        with pytest.raises(AssessmentInputError, match="40–80"):
            six_minute_walk_reference(**kwargs)


def test_enright_sherrill_unknown_equation() -> None:
    with pytest.raises(AssessmentInputError, match="equation"):
        six_minute_walk_reference(
            sex="M", age_years=60, height_cm=175, weight_kg=80, equation="troosters"
        )


def _walk(**kwargs: Any) -> Any:
    base: dict[str, Any] = {
        "distance_m": 450,
        "inspired_oxygen": InspiredOxygen.room_air(),
        "sex": "M",
        "age_years": 60,
        "height_cm": 175,
        "weight_kg": 80,
    }
    return score_six_minute_walk(**{**base, **kwargs})


def test_walk_percent_predicted_and_lln() -> None:
    walk = _walk(distance_m=450)
    assert walk.percent_predicted == pytest.approx(100 * 450 / 573.75)
    assert walk.below_lln is False
    lln = 573.75 - 153
    assert _walk(distance_m=lln).below_lln is False
    assert _walk(distance_m=lln - 0.5).below_lln is True


@pytest.mark.parametrize(
    ("baseline", "nadir", "desaturated"),
    [(96, 92, True), (96, 93, False), (None, 88, True), (None, 89, None), (90, 88, True)],
)
def test_walk_exertional_desaturation(
    baseline: float | None, nadir: float, desaturated: bool | None
) -> None:
    walk = _walk(spo2_baseline_percent=baseline, spo2_nadir_percent=nadir)
    assert walk.exertional_desaturation is desaturated
    assert walk.distance_saturation_product == pytest.approx(450 * nadir / 100)


def test_walk_borg_before_and_after() -> None:
    walk = _walk(borg_before=0.5, borg_after=4)
    assert walk.borg_before is not None
    assert walk.borg_before.value == 0.5
    assert walk.borg_after is not None
    assert walk.borg_after.value == 4.0
    with pytest.raises(AssessmentInputError, match="borg"):
        _walk(borg_after=4.5)


def test_walk_outside_the_equation_is_recorded_without_a_prediction() -> None:
    walk = _walk(age_years=35)
    assert walk.distance_m == 450
    assert walk.reference is None
    assert walk.percent_predicted is None
    assert walk.below_lln is None
    assert "40–80" in walk.notes[0]
    missing = _walk(weight_kg=None)
    assert missing.reference is None
    assert "weight_kg" in missing.notes[0]


def test_walk_invalid_inputs() -> None:
    with pytest.raises(AssessmentInputError, match="distance_m"):
        _walk(distance_m=-1)
    with pytest.raises(AssessmentInputError, match="distance_m"):
        _walk(distance_m=1001)
    with pytest.raises(AssessmentInputError, match="spo2_nadir_percent"):
        _walk(spo2_baseline_percent=92, spo2_nadir_percent=95)
    with pytest.raises(AssessmentInputError, match="spo2_nadir_percent"):
        _walk(spo2_nadir_percent=101)


def test_walk_heart_rate_laps_and_stops() -> None:
    walk = _walk(heart_rate_before_bpm=78, heart_rate_after_bpm=112, laps=15, stops=1)
    assert (walk.heart_rate_before_bpm, walk.heart_rate_after_bpm) == (78.0, 112.0)
    assert (walk.laps, walk.stops) == (15, 1)
    assert _walk().laps is None
    with pytest.raises(AssessmentInputError, match="heart_rate_after_bpm"):
        _walk(heart_rate_after_bpm=300)
    for bad in (-1, 101, 2.5, True):
        with pytest.raises(AssessmentInputError, match="stops"):
            _walk(stops=bad)
