"""Property tests for the per-pass efficiencies (``dosimetry.md`` §2.3; issue #2 "Tests").

- every probability lies in [0, 1];
- impaction and sedimentation grow with particle size over 0.5–10 µm;
- diffusion falls with particle size over 0.01–1 µm;
- float32 and float64 agree to 1e-5.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from exoneb.dosimetry.efficiency import (
    combine_independent,
    diffusion_breath_hold,
    diffusion_ingham,
    diffusion_turbulent,
    impaction_yeh_schum,
    sedimentation_pich,
    sedimentation_plug_flow,
    stokes_number,
)
from exoneb.dosimetry.particles import (
    air_viscosity,
    diffusion_coefficient,
    settling_velocity,
    slip_correction,
)

UM = 1e-6
EFFICIENCIES: list[Callable[..., np.ndarray]] = [
    impaction_yeh_schum,
    sedimentation_pich,
    sedimentation_plug_flow,
    diffusion_ingham,
    diffusion_turbulent,
    diffusion_breath_hold,
]

dimensionless = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
dimensionless_arrays = arrays(
    np.float64,
    st.integers(min_value=1, max_value=50),
    elements=st.one_of(
        st.floats(min_value=0.0, max_value=10.0),
        st.floats(min_value=0.0, max_value=1e-3),
        st.floats(min_value=0.0, max_value=1e6),
    ),
)
probabilities = st.floats(min_value=0.0, max_value=1.0)

#: A conducting airway: diameter 0.3–20 mm, mean velocity 0.01–5 m/s, length 1–120 mm,
#: branching angle 5–70°, gravity angle 0–89°.
tube_diameter_m = st.floats(min_value=3e-4, max_value=2e-2)
velocity_m_s = st.floats(min_value=0.01, max_value=5.0)
length_m = st.floats(min_value=1e-3, max_value=0.12)
branching_angle = st.floats(min_value=math.radians(5), max_value=math.radians(70))
gravity_angle = st.floats(min_value=0.0, max_value=math.radians(89))
droplet_density = st.floats(min_value=900.0, max_value=2200.0)


def _sorted_pair(low: float, high: float) -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(
        st.floats(min_value=low, max_value=high), st.floats(min_value=low, max_value=high)
    ).map(lambda pair: (min(pair), max(pair)))


@given(x=dimensionless)
def test_every_efficiency_is_a_probability(x: float) -> None:
    """§2.3: each per-pass deposition probability is in [0, 1] for any admissible input."""
    for function in EFFICIENCIES:
        p = float(function(x))
        assert 0.0 <= p <= 1.0, function.__name__


@given(values=dimensionless_arrays)
def test_every_efficiency_is_monotone_in_its_parameter(values: np.ndarray) -> None:
    """§2.3: a larger dimensionless group never lowers the deposition probability."""
    x = np.sort(values)
    for function in EFFICIENCIES:
        p = function(x)
        assert np.all(np.diff(p) >= -1e-15), function.__name__


@given(p=st.lists(probabilities, min_size=1, max_size=5))
def test_combination_is_a_probability_at_least_the_largest(p: list[float]) -> None:
    """§2.3: 1 − Π(1 − P_i) is in [0, 1], at least max P_i, and symmetric in its arguments."""
    combined = float(combine_independent(*p))
    assert max(p) - 1e-15 <= combined <= 1.0
    assert_allclose(combine_independent(*reversed(p)), combined, rtol=1e-12, atol=1e-15)


@given(
    sizes=_sorted_pair(0.5, 10.0),
    density=droplet_density,
    tube=tube_diameter_m,
    velocity=velocity_m_s,
    angle=branching_angle,
)
def test_impaction_grows_with_particle_size(
    sizes: tuple[float, float], density: float, tube: float, velocity: float, angle: float
) -> None:
    """§2.3: Yeh–Schum impaction is non-decreasing in particle size over 0.5–10 µm."""
    d = np.array(sizes) * UM
    st_number = stokes_number(d, density, slip_correction(d), velocity, tube, air_viscosity())
    p = impaction_yeh_schum(angle * st_number)
    assert p[1] >= p[0]


@given(
    sizes=_sorted_pair(0.5, 10.0),
    density=droplet_density,
    tube=tube_diameter_m,
    velocity=velocity_m_s,
    length=length_m,
    phi=gravity_angle,
)
def test_sedimentation_grows_with_particle_size(
    sizes: tuple[float, float],
    density: float,
    tube: float,
    velocity: float,
    length: float,
    phi: float,
) -> None:
    """§2.3: Pich and plug-flow sedimentation are non-decreasing in size over 0.5–10 µm."""
    d = np.array(sizes) * UM
    vs_t_cos = settling_velocity(d, density) * (length / velocity) * math.cos(phi)
    pich = sedimentation_pich(3 * vs_t_cos / (4 * tube))
    plug = sedimentation_plug_flow(vs_t_cos / (tube / 2))
    assert pich[1] >= pich[0]
    assert plug[1] >= plug[0]


@given(
    sizes=_sorted_pair(0.01, 1.0),
    tube=tube_diameter_m,
    velocity=velocity_m_s,
    length=length_m,
    hold_s=st.floats(min_value=0.0, max_value=20.0),
)
def test_diffusion_falls_with_particle_size(
    sizes: tuple[float, float], tube: float, velocity: float, length: float, hold_s: float
) -> None:
    """§2.3: Ingham, turbulent and breath-hold diffusion are non-increasing in size, 0.01–1 µm."""
    d = np.array(sizes) * UM
    diff = diffusion_coefficient(d)
    delta = diff * length / (velocity * tube**2)
    for p in (
        diffusion_ingham(delta),
        diffusion_turbulent(delta),
        diffusion_breath_hold(diff * hold_s / (tube / 2) ** 2),
    ):
        assert p[1] <= p[0]


@given(values=dimensionless_arrays)
def test_float32_and_float64_agree(values: np.ndarray) -> None:
    """Working in float32 changes no probability by more than 1e-5 (issue #2, speed notes)."""
    x32 = values.astype(np.float32)
    x64 = x32.astype(np.float64)  # same inputs, so only the arithmetic precision differs
    for function in EFFICIENCIES:
        p32 = function(x32)
        assert p32.dtype == np.float32, function.__name__
        assert_allclose(p32, function(x64), atol=1e-5, rtol=0, err_msg=function.__name__)


@given(p=st.lists(probabilities, min_size=1, max_size=4))
def test_combination_float32_and_float64_agree(p: list[float]) -> None:
    """``combine_independent`` in float32 agrees with float64 to 1e-5."""
    p32 = [np.float32(v) for v in p]
    assert_allclose(
        combine_independent(*p32), combine_independent(*[float(v) for v in p32]), atol=1e-5
    )
