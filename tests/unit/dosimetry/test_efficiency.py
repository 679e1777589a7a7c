"""Reference tests for ``exoneb.dosimetry.efficiency`` (``dosimetry.md`` §2.3, §2.5, §3.1)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose
from numpy.typing import ArrayLike

from exoneb.dosimetry.efficiency import (
    combine_independent,
    diffusion_breath_hold,
    diffusion_ingham,
    diffusion_turbulent,
    impaction_cai_yu,
    impaction_yeh_schum,
    impaction_zhang,
    sedimentation_pich,
    sedimentation_plug_flow,
    stokes_number,
)
from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.particles import (
    air_viscosity,
    diffusion_coefficient,
    settling_velocity,
    slip_correction,
)

UM = 1e-6
Efficiency = Callable[..., np.ndarray]

#: §2.5 scalar unit-test table: (function, input, expected), 5 decimals.
SCALAR_TABLE: list[tuple[Efficiency, float, float]] = [
    *[
        (impaction_yeh_schum, x, p)
        for x, p in zip(
            [0.01, 0.05, 0.1, 0.2, 0.5, 0.8, 1.0],
            [0.01273, 0.06364, 0.12711, 0.25294, 0.60900, 0.89591, 1.0],
            strict=True,
        )
    ],
    *[
        (diffusion_ingham, x, p)
        for x, p in zip(
            [1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1],
            [0.00317, 0.01489, 0.06330, 0.24900, 0.60478, 0.81036],
            strict=True,
        )
    ],
    *[
        (diffusion_turbulent, x, p)
        for x, p in zip([1e-4, 1e-3, 1e-2], [0.03982, 0.12472, 0.38224], strict=True)
    ],
    *[
        (sedimentation_pich, x, p)
        for x, p in zip(
            [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0],
            [0.00169, 0.01674, 0.08134, 0.15833, 0.43409, 0.66359, 1.0],
            strict=True,
        )
    ],
    *[
        (sedimentation_plug_flow, x, p)
        for x, p in zip(
            [0.01, 0.1, 0.5, 1.0, 2.0], [0.00635, 0.06168, 0.27262, 0.47092, 0.72008], strict=True
        )
    ],
    *[
        (diffusion_breath_hold, x, p)
        for x, p in zip([0.001, 0.01, 0.1], [0.00577, 0.05620, 0.43921], strict=True)
    ],
]

#: 3L-scaled Weibel morphometry used by the §2.5 worked example: gen → (d cm, L cm) (§2.1).
WEIBEL_3L = {0: (1.539, 10.26), 3: (0.479, 0.650), 10: (0.111, 0.393), 16: (0.051, 0.141)}

#: §2.5 worked example: d µm, gen, U cm/s, t ms, St, P_I, ε, P_S, Δ, P_D, P_tot.
WORKED_EXAMPLE = [
    (1, 0, 268.8, 38.17, 5.942e-4, 3.962e-4, 4.389e-5, 7.448e-5, 4.484e-9, 1.755e-5, 4.882e-4),
    (1, 16, 3.7, 37.75, 2.492e-4, 1.661e-4, 1.310e-3, 2.216e-3, 4.039e-6, 1.713e-3, 4.091e-3),
    (3, 3, 346.8, 1.87, 2.014e-2, 1.342e-2, 5.659e-5, 9.603e-5, 6.881e-10, 5.014e-6, 1.352e-2),
    (3, 16, 3.7, 37.75, 2.037e-3, 1.358e-3, 1.071e-2, 1.791e-2, 1.223e-6, 7.619e-4, 1.999e-2),
    (5, 3, 346.8, 1.87, 5.481e-2, 3.653e-2, 1.540e-4, 2.612e-4, 4.045e-10, 3.516e-6, 3.679e-2),
    (5, 10, 50.5, 7.79, 3.441e-2, 2.294e-2, 2.762e-3, 4.661e-3, 3.130e-8, 6.449e-5, 2.755e-2),
    (5, 16, 3.7, 37.75, 5.543e-3, 3.695e-3, 2.914e-2, 4.804e-2, 7.188e-7, 5.318e-4, 5.206e-2),
]

ALL_EFFICIENCIES: list[tuple[Efficiency, str]] = [
    (impaction_yeh_schum, "theta_st"),
    (sedimentation_pich, "epsilon"),
    (sedimentation_plug_flow, "z"),
    (diffusion_ingham, "delta"),
    (diffusion_turbulent, "delta"),
    (diffusion_breath_hold, "x"),
]


@pytest.mark.parametrize(("function", "value", "expected"), SCALAR_TABLE)
def test_scalar_table(function: Efficiency, value: float, expected: float) -> None:
    """§2.5 scalar unit tests for the efficiency functions, printed to 5 decimals."""
    assert_allclose(function(value), expected, atol=5e-6)


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        pytest.param(impaction_yeh_schum, 0.5, 0.6090, id="case6-yeh"),
        pytest.param(diffusion_ingham, 0.01, 0.2490, id="case7-ingham"),
        pytest.param(sedimentation_pich, 0.1, 0.1583, id="case8-pich"),
    ],
)
def test_validation_cases_6_to_8(function: Efficiency, value: float, expected: float) -> None:
    """§3.1 cases #6–#8 (tolerance 1e-4)."""
    assert_allclose(function(value), expected, atol=1e-4)


def _worked_example_row(d_um: float, gen: int) -> dict[str, float]:
    """Evaluate the §2.5 conditions: Q = 30 L/min, ρ = 1000, θ = 30°, φ = 45°, one pass."""
    d = d_um * UM
    tube_d = WEIBEL_3L[gen][0] * 1e-2
    length = WEIBEL_3L[gen][1] * 1e-2
    velocity = 500e-6 / 2**gen / (math.pi * tube_d**2 / 4)
    residence = length / velocity
    st = stokes_number(d, 1000.0, slip_correction(d), velocity, tube_d, air_viscosity())
    eps = 3 * settling_velocity(d, 1000.0) * residence * math.cos(math.pi / 4) / (4 * tube_d)
    delta = diffusion_coefficient(d) * length / (velocity * tube_d**2)
    p_i = impaction_yeh_schum(math.pi / 6 * st)
    p_s = sedimentation_pich(eps)
    p_d = diffusion_ingham(delta)
    return {
        "U": velocity * 100,
        "t": residence * 1e3,
        "St": float(st),
        "P_I": float(p_i),
        "eps": float(eps),
        "P_S": float(p_s),
        "delta": float(delta),
        "P_D": float(p_d),
        "P_tot": float(combine_independent(p_i, p_s, p_d)),
    }


@pytest.mark.parametrize(
    ("d_um", "gen", "u", "t", "st", "p_i", "eps", "p_s", "delta", "p_d", "p_tot"), WORKED_EXAMPLE
)
def test_worked_example(
    d_um: float,
    gen: int,
    u: float,
    t: float,
    st: float,
    p_i: float,
    eps: float,
    p_s: float,
    delta: float,
    p_d: float,
    p_tot: float,
) -> None:
    """§2.5 worked per-generation example (laminar Ingham everywhere), 4 significant figures.

    Also covers §3.1 case #10 (5 µm, gen 3: P_tot 0.0368 ± 1e-3).
    """
    row = _worked_example_row(d_um, gen)
    expected = {"St": st, "P_I": p_i, "eps": eps, "P_S": p_s, "delta": delta, "P_D": p_d}
    for key, value in expected.items():
        assert_allclose(row[key], value, rtol=6e-4, err_msg=key)
    assert_allclose(row["U"], u, atol=0.05)
    assert_allclose(row["t"], t, rtol=3e-3)
    # The printed P_tot combines rounded components (4.882e-4 vs exact 4.8815e-4).
    assert_allclose(row["P_tot"], p_tot, rtol=1.1e-3)


def test_worked_example_trachea_exact_total() -> None:
    """§2.5 note: the exact P_tot for 1 µm in generation 0 is 4.8815e-4."""
    assert_allclose(_worked_example_row(1, 0)["P_tot"], 4.8815e-4, rtol=1e-4)


def test_case_10_total() -> None:
    """§3.1 case #10: Weibel-3L, 30 L/min, 5 µm, gen 3, θ = 30°, φ = 45°: P_tot 0.0368 ± 1e-3."""
    assert_allclose(_worked_example_row(5, 3)["P_tot"], 0.0368, atol=1e-3)


def test_trachea_with_turbulent_switch() -> None:
    """§2.5 note: with the Re > 2000 switch, P_D(1 µm, gen 0) = 2.679e-4 and P_tot = 7.383e-4."""
    row = _worked_example_row(1, 0)
    p_d = diffusion_turbulent(row["delta"])
    assert_allclose(p_d, 2.679e-4, rtol=5e-4)
    assert_allclose(combine_independent(row["P_I"], row["P_S"], p_d), 7.383e-4, rtol=5e-4)


@pytest.mark.parametrize(("d_um", "expected"), [(1, 3.71e-4), (3, 3.04e-3), (5, 8.26e-3)])
def test_stokes_number_in_trachea(d_um: float, expected: float) -> None:
    """§6.2 table: St = ρCd²U/(18μD_t) in a 1.8 cm trachea at U = 1.965 m/s (30 L/min)."""
    d = d_um * UM
    st = stokes_number(d, 1000.0, slip_correction(d), 1.965, 0.018, air_viscosity())
    assert_allclose(st, expected, rtol=2e-3)


@pytest.mark.parametrize(("st", "expected"), [(0.05, 0.050), (0.14, 0.14), (0.27, 0.27)])
def test_case_17_yeh_at_45_degrees(st: float, expected: float) -> None:
    """§3.1 case #17: Yeh with θ = 45° predicts 0.050 / 0.14 / 0.27 at St 0.05 / 0.14 / 0.27."""
    assert_allclose(impaction_yeh_schum(math.pi / 4 * st), expected, atol=5e-3)


def test_yeh_small_argument_limit() -> None:
    """§2.3: for small θSt, P_I ≈ (4/π)·θ·St."""
    x = np.array([1e-8, 1e-6, 1e-4])
    assert_allclose(impaction_yeh_schum(x), 4 / math.pi * x, rtol=1e-7)


@pytest.mark.parametrize(("function", "_field"), ALL_EFFICIENCIES)
def test_zero_input_gives_zero(function: Efficiency, _field: str) -> None:
    """No residence time, no Stokes number: no deposition."""
    assert function(0.0) == 0.0


@pytest.mark.parametrize("function", [impaction_yeh_schum, sedimentation_pich])
def test_saturates_at_one(function: Efficiency) -> None:
    """§2.3: Yeh P_I = 1 for θSt ≥ 1 and Pich P_S = 1 for ε ≥ 1."""
    assert_allclose(function(np.array([1.0, 1.5, 1e6])), 1.0, rtol=0)


def test_turbulent_diffusion_is_capped_at_one() -> None:
    """§2.3: 4√Δ(1 − 0.444√Δ) peaks at 2.25 and turns negative; capped at 1 from Δ ≈ 0.0820."""
    delta = np.array([0.0820, 0.0821, 0.1, 1.27, 5.1, 100.0])
    p = diffusion_turbulent(delta)
    assert np.all(p <= 1.0)
    assert_allclose(p[1:], 1.0, rtol=0)
    assert p[0] < 1.0
    assert np.all(np.diff(diffusion_turbulent(np.linspace(0, 1, 1001))) >= 0)


def test_ingham_is_accurate_for_tiny_delta() -> None:
    """§2.3: the weights sum to 1, so the expm1 form is exact where 1 − Σ would cancel."""
    delta = np.array([1e-14, 1e-12, 1e-10])
    terms = [
        (0.819, 14.63, 1.0),
        (0.0976, 89.22, 1.0),
        (0.0325, 228.0, 1.0),
        (0.0509, 125.9, 2 / 3),
    ]
    expected = np.array(
        [sum(-w * math.expm1(-a * float(x) ** p) for w, a, p in terms) for x in delta]
    )
    assert_allclose(diffusion_ingham(delta), expected, rtol=1e-12)
    assert_allclose(diffusion_ingham(delta.astype(np.float32)), expected, rtol=1e-5)


def test_combine_independent() -> None:
    """§2.3: P = 1 − (1 − P_I)(1 − P_S)(1 − P_D), broadcasting."""
    p = combine_independent(0.1, np.array([0.2, 0.5]), np.array([[0.0], [1.0]]))
    expected = 1 - (1 - 0.1) * (1 - np.array([0.2, 0.5])) * (1 - np.array([[0.0], [1.0]]))
    assert_allclose(p, expected, rtol=1e-15)
    assert combine_independent(0.3) == 0.3


def test_combine_independent_keeps_tiny_probabilities() -> None:
    """The incremental form P + Q(1 − P) has no cancellation for tiny values, even in float32."""
    tiny = np.float32(1e-9)
    assert_allclose(combine_independent(tiny, tiny, tiny), 3e-9, rtol=1e-6)


@pytest.mark.parametrize(("function", "_field"), ALL_EFFICIENCIES)
def test_float32_is_preserved(function: Efficiency, _field: str) -> None:
    """Hot-path functions keep float32 inputs in float32 and agree with float64 to 1e-6."""
    x = np.geomspace(1e-9, 2.0, 200)
    p32 = function(x.astype(np.float32))
    assert p32.dtype == np.float32
    assert_allclose(p32, function(x), atol=1e-6)


@pytest.mark.parametrize(("function", "_field"), ALL_EFFICIENCIES)
def test_scalar_in_scalar_out_and_nan(function: Efficiency, _field: str) -> None:
    """A scalar gives a NumPy scalar (as ufuncs do); NaN propagates."""
    assert np.ndim(function(0.01)) == 0
    result = function(np.array([0.01, np.nan]))
    assert np.isfinite(result[0])
    assert np.isnan(result[1])


@pytest.mark.parametrize(("function", "_field"), ALL_EFFICIENCIES)
def test_input_array_is_not_modified(function: Efficiency, _field: str) -> None:
    """The in-place work arrays never alias the caller's input."""
    x = np.array([0.001, 0.5, 2.0])
    before = x.copy()
    function(x)
    assert_allclose(x, before, rtol=0)


def test_zhang_branches_meet_near_st_004() -> None:
    """§2.3 Zhang et al. 1997: the two branches meet at St = 0.04 within 2 %."""
    below = impaction_zhang(0.04 - 1e-12, 1000.0, math.pi / 4)
    above = impaction_zhang(0.04, 1000.0, math.pi / 4)
    assert_allclose(below, above, rtol=2e-2)


def test_zhang_and_cai_yu_are_probabilities() -> None:
    """§2.3: the bifurcation fits are capped to [0, 1] and grow with St."""
    st = np.linspace(0, 1, 101)
    for p in (impaction_zhang(st, 2000.0, 0.6), impaction_cai_yu(st, 0.6, 0.8)):
        assert np.all((p >= 0) & (p <= 1))
        assert np.all(np.diff(p) >= 0)


def test_cai_yu_is_linear_in_st() -> None:
    """§2.3 Cai & Yu 1988: P_I = G·St below the cap."""
    p = impaction_cai_yu(np.array([0.001, 0.002]), math.pi / 4, 0.8)
    assert_allclose(p[1], 2 * p[0], rtol=1e-12)


@pytest.mark.parametrize(("function", "field"), ALL_EFFICIENCIES)
def test_negative_input_names_the_field(function: Efficiency, field: str) -> None:
    """A negative dimensionless group raises DosimetryInputError naming it (issue #2)."""
    with pytest.raises(DosimetryInputError) as excinfo:
        function(np.array([0.1, -0.1]))
    assert excinfo.value.field == field
    assert excinfo.value.value == -0.1


@pytest.mark.parametrize(("function", "_field"), ALL_EFFICIENCIES)
def test_check_false_skips_validation(function: Efficiency, _field: str) -> None:
    """``check=False`` lets the engine skip the validation pass (it validated upstream)."""
    function(np.array([0.1, 0.2]), check=False)


def _stokes(**overrides: ArrayLike) -> object:
    args: dict[str, ArrayLike] = {
        "diameter_m": 1e-6,
        "density_kg_m3": 1000.0,
        "slip": 1.16,
        "velocity_m_s": 1.0,
        "tube_diameter_m": 0.01,
        "viscosity_pa_s": 1.9e-5,
    }
    args.update(overrides)
    return stokes_number(**args)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: _stokes(diameter_m=0.0), "diameter_m"),
        (lambda: _stokes(density_kg_m3=-1.0), "density_kg_m3"),
        (lambda: _stokes(slip=0.0), "slip"),
        (lambda: _stokes(velocity_m_s=-1.0), "velocity_m_s"),
        (lambda: _stokes(tube_diameter_m=0.0), "tube_diameter_m"),
        (lambda: _stokes(viscosity_pa_s=0.0), "viscosity_pa_s"),
        (lambda: combine_independent(), "probabilities"),
        (lambda: combine_independent(0.1, 1.1), "probabilities"),
        (lambda: combine_independent(-0.1), "probabilities"),
        (lambda: impaction_zhang(-0.1, 100.0, 0.5), "st"),
        (lambda: impaction_zhang(0.1, -100.0, 0.5), "reynolds"),
        (lambda: impaction_zhang(0.1, 100.0, -0.5), "theta"),
        (lambda: impaction_cai_yu(0.1, 0.5, 0.0), "radius_ratio"),
        (lambda: impaction_cai_yu(-0.1, 0.5, 0.8), "st"),
        (lambda: impaction_cai_yu(0.1, -0.5, 0.8), "theta"),
    ],
)
def test_invalid_inputs_name_the_field(call: Callable[[], object], field: str) -> None:
    """Every invalid input raises DosimetryInputError naming the field (issue #2, "Bad input")."""
    with pytest.raises(DosimetryInputError) as excinfo:
        call()
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
