"""ERS/ATS 2022 interpretation: each rule at and around its cut-off, with its reasons."""

from __future__ import annotations

import dataclasses

import pytest

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.interpretation import (
    InterpretationConfig,
    Pattern,
    PrismDefinition,
    Severity,
    assess_bronchodilator_response,
    grade_impairment,
    interpret_spirometry,
)
from exoneb.assessment.reference_equations import (
    ReferenceValues,
    ScoredValue,
    centile_value,
    reference_values,
)
from exoneb.assessment.spirometry_panel import SpirometryScores, score_spirometry

EPS = 1e-4


def _scored(parameter: str, z: float, *, age: float = 45.0) -> ScoredValue:
    """A value with exactly the z given (measured placed at that centile)."""
    ref = reference_values(parameter, sex="M", age=age, height_cm=175)
    measured = float(centile_value(z, ref.l, ref.m, ref.s))
    return ScoredValue(ref, measured, z, 100.0 * measured / ref.predicted)


def _scores(
    fev1: float | None = 0.0, fvc: float | None = 0.0, ratio: float | None = 0.0
) -> SpirometryScores:
    refs = tuple(
        reference_values(p, sex="M", age=45, height_cm=175) for p in ("fev1", "fvc", "fev1_fvc")
    )
    return SpirometryScores(
        fev1=None if fev1 is None else _scored("fev1", fev1),
        fvc=None if fvc is None else _scored("fvc", fvc),
        fev1_fvc=None if ratio is None else _scored("fev1_fvc", ratio),
        fef25_75=None,
        references=refs,
    )


# --- severity bands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "expected"),
    [
        (0.0, Severity.WITHIN_NORMAL_LIMITS),
        (-1.645, Severity.WITHIN_NORMAL_LIMITS),
        (-1.645 - EPS, Severity.MILD),
        (-2.5 + EPS, Severity.MILD),
        (-2.5, Severity.MILD),  # boundary into the milder band (pft tests)
        (-2.5 - EPS, Severity.MODERATE),
        (-4.0, Severity.MODERATE),  # boundary into the milder band (pft tests)
        (-4.0 - EPS, Severity.SEVERE),
        (-7.0, Severity.SEVERE),
    ],
)
def test_grade_impairment_bands(z: float, expected: Severity) -> None:
    assert grade_impairment(z) is expected


# --- obstruction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio_z", "expected"),
    [(-1.645, False), (-1.645 + EPS, False), (-1.645 - EPS, True), (-3.0, True), (1.0, False)],
)
def test_obstruction_is_ratio_z_below_minus_1_645(ratio_z: float, expected: bool) -> None:
    reading = interpret_spirometry(_scores(ratio=ratio_z))
    assert reading.obstruction is expected
    finding = next(f for f in reading.findings if f.code == "obstruction")
    assert finding.values["fev1_fvc_z"] == ratio_z
    assert "FEV1/FVC z < -1.645" in finding.rule


@pytest.mark.parametrize(
    ("fev1_z", "severity"),
    [
        (-1.0, Severity.WITHIN_NORMAL_LIMITS),
        (-1.645, Severity.WITHIN_NORMAL_LIMITS),
        (-1.645 - EPS, Severity.MILD),
        (-2.5, Severity.MILD),
        (-2.5 - EPS, Severity.MODERATE),
        (-4.0, Severity.MODERATE),
        (-4.0 - EPS, Severity.SEVERE),
    ],
)
def test_severity_of_obstruction_from_fev1_z(fev1_z: float, severity: Severity) -> None:
    reading = interpret_spirometry(_scores(fev1=fev1_z, ratio=-3.0))
    assert reading.severity is severity
    finding = next(f for f in reading.findings if f.code == "severity")
    assert finding.values["fev1_z"] == fev1_z


def test_obstruction_with_normal_fev1_has_an_explicit_label() -> None:
    reading = interpret_spirometry(_scores(fev1=-1.0, ratio=-2.0))
    assert reading.obstruction is True
    assert reading.severity is Severity.WITHIN_NORMAL_LIMITS
    assert "obstruction, FEV1 within normal range" in reading.labels
    assert "no severity grade" in next(f.rule for f in reading.findings if f.code == "severity")
    custom = InterpretationConfig(obstruction_with_normal_fev1_label="obstruction (FEV1 normal)")
    assert (
        "obstruction (FEV1 normal)"
        in interpret_spirometry(_scores(fev1=-1.0, ratio=-2.0), custom).labels
    )


def test_no_severity_without_obstruction() -> None:
    reading = interpret_spirometry(_scores(fev1=-3.0, fvc=-3.0, ratio=0.0))
    assert reading.obstruction is False
    assert reading.severity is None
    assert not [f for f in reading.findings if f.code == "severity"]


# --- spirometry-only pattern -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fev1", "fvc", "ratio", "pattern"),
    [
        (0.0, 0.0, 0.0, Pattern.NORMAL),
        (-1.645, -1.645, -1.645, Pattern.NORMAL),
        (-2.0, 0.0, -2.0, Pattern.OBSTRUCTION),
        (-2.0, -1.645, -2.0, Pattern.OBSTRUCTION),
        (-3.0, -1.645 - EPS, -2.0, Pattern.OBSTRUCTION_WITH_LOW_FVC),
        (-2.0, -2.0, 0.0, Pattern.POSSIBLE_RESTRICTION),
        (0.0, -1.645 - EPS, -1.0, Pattern.POSSIBLE_RESTRICTION),
        (-1.645 - EPS, -1.0, -1.0, Pattern.NON_SPECIFIC_LOW_FEV1),
        (0.0, 0.0, None, Pattern.INDETERMINATE),
        (0.0, None, 0.0, Pattern.INDETERMINATE),
        (None, 0.0, 0.0, Pattern.INDETERMINATE),
        (None, -2.0, 0.0, Pattern.POSSIBLE_RESTRICTION),
    ],
)
def test_pattern(
    fev1: float | None, fvc: float | None, ratio: float | None, pattern: Pattern
) -> None:
    reading = interpret_spirometry(_scores(fev1, fvc, ratio))
    assert reading.pattern is pattern
    assert pattern.label in reading.labels


def test_possible_restriction_wording_says_tlc_is_needed() -> None:
    label = Pattern.POSSIBLE_RESTRICTION.label
    assert "possible restriction / non-specific pattern" in label
    assert "TLC" in label


def test_missing_ratio_is_not_silently_no_obstruction() -> None:
    reading = interpret_spirometry(_scores(ratio=None))
    assert reading.obstruction is None
    assert reading.prism is None
    assert any("not evaluable" in label for label in reading.labels)


# --- PRISm -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "fev1", "fvc", "ratio", "expected"),
    [
        (PrismDefinition.FEV1_BELOW_LLN, -2.0, 0.0, 0.0, True),
        (PrismDefinition.FEV1_BELOW_LLN, -1.645, 0.0, 0.0, False),
        (PrismDefinition.FEV1_BELOW_LLN, -2.0, 0.0, -1.645, True),
        (PrismDefinition.FEV1_BELOW_LLN, -2.0, 0.0, -1.645 - EPS, False),
        (PrismDefinition.FEV1_AND_FVC_BELOW_LLN, -2.0, 0.0, 0.0, False),
        (PrismDefinition.FEV1_AND_FVC_BELOW_LLN, -2.0, -1.645 - EPS, 0.0, True),
        (PrismDefinition.FEV1_AND_FVC_BELOW_LLN, -2.0, -1.645, 0.0, False),
        (PrismDefinition.FEV1_AND_FVC_BELOW_LLN, -2.0, None, 0.0, None),
        (PrismDefinition.FEV1_BELOW_LLN, None, 0.0, 0.0, None),
    ],
)
def test_prism_lln_definitions(
    definition: PrismDefinition,
    fev1: float | None,
    fvc: float | None,
    ratio: float | None,
    expected: bool | None,
) -> None:
    config = InterpretationConfig(prism_definition=definition)
    reading = interpret_spirometry(_scores(fev1, fvc, ratio), config)
    assert reading.prism is expected
    finding = next(f for f in reading.findings if f.code == "prism")
    assert "PRISm definition" in finding.source


def _with(value: ScoredValue, measured: float) -> ScoredValue:
    return dataclasses.replace(
        value, measured=measured, percent_predicted=100 * measured / value.predicted
    )


@pytest.mark.parametrize(
    ("ratio", "fev1_pct", "expected"),
    [(0.70, 79.9, True), (0.6999, 79.9, False), (0.75, 80.0, False), (0.75, 79.99, True)],
)
def test_prism_fixed_ratio_definition(ratio: float, fev1_pct: float, expected: bool) -> None:
    base = _scores()
    assert base.fev1 is not None
    assert base.fev1_fvc is not None
    scores = dataclasses.replace(
        base,
        fev1=_with(base.fev1, fev1_pct / 100 * base.fev1.predicted),
        fev1_fvc=_with(base.fev1_fvc, ratio),
    )
    config = InterpretationConfig(prism_definition=PrismDefinition.FIXED_RATIO_AND_80_PERCENT)
    assert interpret_spirometry(scores, config).prism is expected


# --- fixed ratio, secondary ----------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "below"), [(0.6999, True), (0.70, False), (0.85, False)])
def test_fixed_ratio_is_only_a_secondary_label(ratio: float, below: bool) -> None:
    base = _scores()
    assert base.fev1_fvc is not None
    scores = dataclasses.replace(base, fev1_fvc=_with(base.fev1_fvc, ratio))
    reading = interpret_spirometry(scores)
    assert reading.below_fixed_ratio is below
    fixed = [f for f in reading.findings if f.code == "fixed_ratio"]
    assert bool(fixed) is below
    if below:
        assert fixed[0].secondary
        assert reading.labels[-1] == fixed[0].label  # listed after the primary reading
        assert reading.obstruction is False  # the ERS/ATS reading ignores the fixed ratio


# --- worked cases of spirometry.md §1.5 ----------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "age", "height", "fev1", "fvc", "equation", "obstruction", "severity", "pattern"),
    [
        ("M", 25, 180, 4.20, 5.40, "gli-global", False, None, Pattern.NORMAL),
        ("F", 25, 165, 3.10, 3.70, "gli-global", False, None, Pattern.NORMAL),
        ("M", 45, 175, 2.80, 4.40, "gli-global", True, Severity.MILD, Pattern.OBSTRUCTION),
        ("M", 45, 175, 2.80, 4.40, "gli-2012", True, Severity.MILD, Pattern.OBSTRUCTION),
        ("F", 40, 165, 2.60, 3.40, "gli-global", False, None, Pattern.NORMAL),
    ],
)
def test_reference_reading_of_computed_cases(
    sex: str,
    age: float,
    height: float,
    fev1: float,
    fvc: float,
    equation: str,
    obstruction: bool,
    severity: Severity | None,
    pattern: Pattern,
) -> None:
    scores = score_spirometry(
        sex=sex,
        age=age,
        height_cm=height,
        fev1=fev1,
        fvc=fvc,
        equation=equation,
        ethnicity="caucasian" if equation == "gli-2012" else None,
    )
    reading = interpret_spirometry(scores)
    assert reading.obstruction is obstruction
    assert reading.severity is severity
    assert reading.pattern is pattern


def test_values_from_different_people_are_refused() -> None:
    scores = _scores()
    other = reference_values("fev1", sex="F", age=45, height_cm=175).score(3.0)
    with pytest.raises(AssessmentInputError, match="one equation for one person"):
        interpret_spirometry(dataclasses.replace(scores, fev1=other))


# --- bronchodilator responsiveness ---------------------------------------------------------


def _pre_with_predicted(fev1: float, fvc: float, predicted: float) -> SpirometryScores:
    """Pre-BD scores whose FEV1 and FVC predicted values are exactly ``predicted``."""
    base = score_spirometry(sex="M", age=45, height_cm=175, fev1=fev1, fvc=fvc)
    assert base.fev1 is not None
    assert base.fvc is not None

    def fix(value: ScoredValue) -> ScoredValue:
        ref: ReferenceValues = dataclasses.replace(value.reference, predicted=predicted)
        return dataclasses.replace(value, reference=ref)

    return dataclasses.replace(base, fev1=fix(base.fev1), fvc=fix(base.fvc))


@pytest.mark.parametrize(
    ("post_fev1", "post_fvc", "positive"),
    [
        (2.40, None, False),  # +0.40 L of 4.0 L predicted = 10 %: not > 10
        (2.41, None, True),  # 10.25 %
        (None, 3.40, False),  # FVC +10 % exactly
        (None, 3.41, True),
        (2.20, 3.41, True),  # FVC alone suffices
        (2.39, 3.39, False),
    ],
)
def test_bdr_more_than_10_percent_of_predicted(
    post_fev1: float | None, post_fvc: float | None, positive: bool
) -> None:
    pre = _pre_with_predicted(fev1=2.0, fvc=3.0, predicted=4.0)
    result = assess_bronchodilator_response(pre, post_fev1=post_fev1, post_fvc=post_fvc)
    assert result.positive is positive
    for change in result.changes:
        assert change.predicted == 4.0
        assert result.finding.values[f"{change.parameter}_change_percent_predicted"] == (
            pytest.approx(100 * (change.post - change.pre) / 4.0)
        )
    assert "> 10 %" in result.finding.rule


def test_bdr_without_post_values_is_not_evaluable() -> None:
    pre = _pre_with_predicted(fev1=2.0, fvc=3.0, predicted=4.0)
    result = assess_bronchodilator_response(pre)
    assert result.positive is None
    assert "not evaluable" in result.finding.label
    with pytest.raises(AssessmentInputError, match="post_fev1"):
        assess_bronchodilator_response(pre, post_fev1=0.0)


def test_bdr_exactly_10_percent_is_not_positive_despite_float_noise() -> None:
    pre = _pre_with_predicted(fev1=1.13, fvc=3.0, predicted=4.0)
    # 100 * (1.53 - 1.13) / 4.0 == 10.000000000000004 in binary floating point
    result = assess_bronchodilator_response(pre, post_fev1=1.53)
    assert result.positive is False
