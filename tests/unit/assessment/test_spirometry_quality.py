"""ATS/ERS 2019 quality: acceptability of manoeuvres and the A–F/U grade per parameter."""

from __future__ import annotations

import pytest

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.quality import (
    Grade,
    Manoeuvre,
    ManoeuvreCriteria,
    assess_manoeuvre,
    grade_parameter,
    grade_test,
    repeatability_limits,
)


def _m(fvc: float, acceptable: bool = True, usable: bool = True, fev1: float = 3.0) -> Manoeuvre:
    return Manoeuvre(
        fev1_l=fev1,
        fvc_l=fvc,
        fev1_acceptable=acceptable,
        fvc_acceptable=acceptable,
        fev1_usable=usable or acceptable,
        fvc_usable=usable or acceptable,
    )


@pytest.mark.parametrize(
    ("fvcs", "grade"),
    [
        ([4.50, 4.40, 4.35], Grade.A),  # spread 0.100
        ([4.50, 4.35, 4.30], Grade.A),  # spread exactly 0.150 (float 0.15000000000000036)
        ([4.50, 4.349, 4.30], Grade.C),  # 0.151
        ([4.50, 4.35], Grade.B),  # 2 acceptable within 0.150
        ([4.50, 4.30], Grade.C),  # exactly 0.200
        ([4.50, 4.299], Grade.D),  # 0.201
        ([4.50, 4.25, 4.0], Grade.D),  # exactly 0.250, 3 acceptable
        ([4.50, 4.249], Grade.E),  # 0.251
        ([4.50], Grade.E),  # only 1 acceptable
    ],
)
def test_grade_by_repeatability_over_6_years(fvcs: list[float], grade: Grade) -> None:
    result = grade_parameter([_m(v) for v in fvcs], "fvc", age=40)
    assert result.grade is grade
    assert result.n_acceptable == len(fvcs)
    assert result.reported_l == max(fvcs)
    assert result.limits_l == (0.150, 0.200, 0.250)


def test_unacceptable_manoeuvres_do_not_count() -> None:
    manoeuvres = [_m(4.50), _m(4.45), _m(5.00, acceptable=False), _m(4.44)]
    result = grade_parameter(manoeuvres, "fvc", age=40)
    assert result.grade is Grade.A
    assert result.n_acceptable == 3
    assert result.n_usable == 4
    assert result.reported_l == 4.50  # the larger unacceptable value is not reported
    assert result.repeatability_l == pytest.approx(0.05)


def test_u_and_f_grades() -> None:
    usable_only = [_m(4.5, acceptable=False, usable=True), _m(4.0, acceptable=False, usable=False)]
    u = grade_parameter(usable_only, "fvc", age=40)
    assert u.grade is Grade.U
    assert u.reported_l == 4.5
    f = grade_parameter([_m(4.5, acceptable=False, usable=False)], "fvc", age=40)
    assert f.grade is Grade.F
    assert f.reported_l is None
    assert grade_parameter([], "fev1", age=40).grade is Grade.F


@pytest.mark.parametrize(
    ("age", "highest", "limits"),
    [
        (40.0, 4.5, (0.150, 0.200, 0.250)),
        (6.01, 1.5, (0.150, 0.200, 0.250)),
        (6.0, 0.9, (0.100, 0.150, 0.200)),  # 10 % = 0.09 < absolute limits
        (5.0, 1.2, (0.120, 0.150, 0.200)),  # 10 % = 0.12 beats 0.100
        (4.0, 1.8, (0.180, 0.180, 0.200)),
    ],
)
def test_repeatability_limits_by_age(
    age: float, highest: float, limits: tuple[float, float, float]
) -> None:
    assert repeatability_limits(age, highest) == pytest.approx(limits)


@pytest.mark.parametrize(
    ("age", "values", "grade"),
    [
        (5.0, [1.20, 1.08, 1.10], Grade.A),  # spread 0.10 ≤ max(0.100, 0.120)
        (5.0, [1.20, 1.08], Grade.B),  # spread 0.12 = 10 % of 1.20
        (5.0, [1.20, 1.07], Grade.C),  # 0.13 > 0.12, ≤ 0.150
        (6.0, [1.00, 0.89], Grade.C),  # 0.11 > 0.100: a child's stricter limit
        (7.0, [1.00, 0.89], Grade.B),  # the same spread is B over 6 y
        (5.0, [1.00, 0.79], Grade.E),  # 0.21 > 0.200
    ],
)
def test_grade_for_young_children(age: float, values: list[float], grade: Grade) -> None:
    manoeuvres = [_m(fvc=v + 0.5, fev1=v) for v in values]
    assert grade_parameter(manoeuvres, "fev1", age=age).grade is grade


def test_fev1_and_fvc_graded_separately_and_reported_from_different_manoeuvres() -> None:
    manoeuvres = [
        Manoeuvre(3.10, 4.30, True, True, True, True),
        Manoeuvre(3.00, 4.50, True, True, True, True),
        Manoeuvre(2.70, 4.45, True, True, True, True),
    ]
    quality = grade_test(manoeuvres, age=50)
    assert quality.fev1.reported_l == 3.10
    assert quality.fvc.reported_l == 4.50
    assert quality.fev1.grade is Grade.A  # 3.10 vs 3.00
    assert quality.fvc.grade is Grade.A  # 4.50 vs 4.45
    assert "≥ 3 acceptable" in quality.fev1.rule


def test_invalid_records_are_refused() -> None:
    with pytest.raises(AssessmentInputError, match="fev1_usable"):
        Manoeuvre(3.0, 4.0, True, True, False, True)
    with pytest.raises(AssessmentInputError, match=r"fvc_l = 4000"):
        Manoeuvre(3.0, 4000, True, True, True, True)
    with pytest.raises(AssessmentInputError, match="parameter"):
        grade_parameter([], "pef", age=40)


# --- acceptability from raw criteria -------------------------------------------------------


def _criteria(**overrides: object) -> ManoeuvreCriteria:
    base: dict[str, object] = {
        "fev1_l": 3.0,
        "fvc_l": 4.0,
        "bev_l": 0.10,
        "fet_s": 8.0,
        "plateau": True,
        "fivc_l": 4.05,
    }
    return ManoeuvreCriteria(**(base | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "fev1_acc", "fev1_use", "fvc_acc", "fvc_use"),
    [
        ({}, True, True, True, True),
        ({"bev_l": 0.200}, True, True, True, True),  # 5 % of 4.0 L = 0.200: at the limit
        ({"bev_l": 0.201}, False, False, False, False),
        ({"fvc_l": 1.5, "fivc_l": 1.5, "bev_l": 0.100}, True, True, True, True),  # 0.100 floor
        ({"fvc_l": 1.5, "fivc_l": 1.5, "bev_l": 0.101}, False, False, False, False),
        ({"faulty_zero_flow": True}, False, False, False, False),
        ({"cough_first_second": True}, False, False, False, False),
        ({"glottic_closure_first_second": True}, False, False, False, False),
        ({"glottic_closure_after_first_second": True}, True, True, False, False),
        ({"leak": True}, False, True, False, True),
        ({"obstructed_mouthpiece": True}, False, True, False, True),
        ({"fivc_l": 4.20}, True, True, True, True),  # FIVC − FVC 0.200 = 5 % of FVC
        ({"fivc_l": 4.25}, False, True, False, True),  # inspiration not maximal
        ({"plateau": False}, True, True, False, True),  # no EOFE: FEV1 still acceptable
        ({"plateau": False, "fet_s": 15.0}, True, True, True, True),
    ],
)
def test_acceptability_and_usability_per_parameter(
    overrides: dict[str, object], fev1_acc: bool, fev1_use: bool, fvc_acc: bool, fvc_use: bool
) -> None:
    m = assess_manoeuvre(_criteria(**overrides), age=40)
    assert (m.fev1_acceptable, m.fev1_usable, m.fvc_acceptable, m.fvc_usable) == (
        fev1_acc,
        fev1_use,
        fvc_acc,
        fvc_use,
    )
    assert bool(m.reasons) is (not (fev1_acc and fvc_acc))
    assert m.criteria == _criteria(**overrides)  # kept, so the status can be recomputed


@pytest.mark.parametrize(
    ("age", "prior", "fvc", "eofe"),
    [
        (40, 4.15, 4.00, True),  # within 0.150 of the largest prior FVC
        (40, 4.16, 4.00, False),
        (40, 3.90, 4.00, True),  # greater than the largest prior
        (5, 1.30, 1.17, True),  # child: within max(0.100, 10 % of 1.30)
        (5, 1.30, 1.16, False),
    ],
)
def test_end_of_expiration_by_fvc_repeatability(
    age: float, prior: float, fvc: float, eofe: bool
) -> None:
    criteria = _criteria(fvc_l=fvc, fev1_l=fvc * 0.8, fivc_l=fvc, plateau=False, fet_s=3.0)
    m = assess_manoeuvre(criteria, age=age, largest_prior_fvc_l=prior)
    assert m.fvc_acceptable is eofe
    assert m.fev1_acceptable
