"""Properties of the LMS reference values over the whole input space (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from exoneb.assessment.reference_equations import Z_LIMIT, lms, reference_values, z_score
from exoneb.assessment.spirometry_terms import Ethnicity

sexes = st.sampled_from(["M", "F"])
ages = st.floats(min_value=3.0, max_value=95.0, allow_nan=False)
heights = st.floats(min_value=100.0, max_value=220.0, allow_nan=False)
# (equation, ethnicity, parameter); FEF25-75 is tabulated to 90 y, so it is drawn separately
cases = st.one_of(
    st.tuples(st.just("gli-global"), st.none(), st.sampled_from(["fev1", "fvc", "fev1_fvc"])),
    st.tuples(
        st.just("gli-2012"),
        st.sampled_from([e.value for e in Ethnicity]),
        st.sampled_from(["fev1", "fvc", "fev1_fvc"]),
    ),
)


@given(case=cases, sex=sexes, age=ages, height=heights)
def test_lln_below_predicted_below_uln(
    case: tuple[str, str | None, str], sex: str, age: float, height: float
) -> None:
    equation, ethnicity, parameter = case
    ref = reference_values(
        parameter, sex=sex, age=age, height_cm=height, equation=equation, ethnicity=ethnicity
    )
    assert 0.0 < ref.lln < ref.predicted < ref.uln
    assert abs(ref.z(ref.lln) + Z_LIMIT) < 1e-9
    assert abs(ref.z(ref.uln) - Z_LIMIT) < 1e-9
    assert abs(ref.z(ref.predicted)) < 1e-12


@given(
    case=cases,
    sex=sexes,
    age=ages,
    height=heights,
    percents=st.lists(
        st.integers(min_value=30, max_value=160), min_size=2, max_size=8, unique=True
    ),
)
def test_z_is_strictly_increasing_in_the_measured_value(
    case: tuple[str, str | None, str],
    sex: str,
    age: float,
    height: float,
    percents: list[int],
) -> None:
    equation, ethnicity, parameter = case
    l_, m_, s_ = lms(parameter, sex, age, height, equation, ethnicity)
    measured = np.sort(np.asarray(percents)) / 100.0 * m_  # 30–160 % predicted, 1 % apart
    z = z_score(measured, l_, m_, s_)
    assert np.all(np.diff(z) > 0)


@given(
    sex=sexes,
    age=st.floats(min_value=3.0, max_value=90.0),
    height=heights,
    group=st.sampled_from(list(Ethnicity)),
)
def test_fef25_75_limits_are_ordered(sex: str, age: float, height: float, group: Ethnicity) -> None:
    ref = reference_values(
        "fef25_75", sex=sex, age=age, height_cm=height, equation="gli-2012", ethnicity=group
    )
    assert 0.0 < ref.lln < ref.predicted < ref.uln


@given(sex=sexes, row=st.integers(min_value=13, max_value=380), height=heights)
def test_predicted_is_continuous_at_every_quarter_year_row(
    sex: str, row: int, height: float
) -> None:
    """Interpolation leaves no step at a table row; a floor-row lookup (rspiro) would."""
    age = row / 4
    _, below, _ = lms("fvc", sex, age - 1e-9, height)
    _, at, _ = lms("fvc", sex, age, height)
    assert abs(float(below) / float(at) - 1.0) < 1e-7
