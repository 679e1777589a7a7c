"""Reference tests for ``exoneb.dosimetry.particles`` (``dosimetry.md`` §6.2)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from exoneb.dosimetry.constants import UNIT_DENSITY_KG_M3
from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.particles import (
    SlipModel,
    aerodynamic_diameter,
    air_viscosity,
    diffusion_coefficient,
    mean_free_path,
    physical_diameter,
    settling_velocity,
    slip_correction,
)

UM = 1e-6

#: §6.2 table, T = 310.15 K, ρ = 1000 kg/m³:
#: d µm, Cc Allen–Raabe, Cc Hinds form, Cc Davies, D cm²/s, v_s µm/s.
SECTION_6_2_TABLE = [
    (0.05, 5.2835, 5.3809, 5.2683, 2.535e-5, 0.380),
    (0.1, 2.9778, 3.0553, 3.0114, 7.145e-6, 0.857),
    (0.15, 2.2421, 2.3020, 2.2858, 3.586e-6, 1.451),
    (0.5, 1.3236, 1.3361, 1.3536, 6.352e-7, 9.52),
    (1.0, 1.1597, 1.1638, 1.1757, 2.783e-7, 33.37),
    (2.0, 1.0798, 1.0818, 1.0878, 1.295e-7, 124.3),
    (3.0, 1.0532, 1.0545, 1.0586, 8.424e-8, 272.7),
    (5.0, 1.0319, 1.0327, 1.0351, 4.952e-8, 742.3),
]


@pytest.mark.parametrize(("temperature_k", "expected"), [(310.15, 1.8936e-5), (293.15, 1.8133e-5)])
def test_air_viscosity_sutherland(temperature_k: float, expected: float) -> None:
    """§6.2: Sutherland viscosity 1.8936e-5 Pa·s at 37 °C, 1.8133e-5 at 20 °C."""
    assert_allclose(air_viscosity(temperature_k), expected, atol=5e-10)


@pytest.mark.parametrize(("temperature_k", "expected_um"), [(310.15, 0.0699), (293.15, 0.0651)])
def test_mean_free_path(temperature_k: float, expected_um: float) -> None:
    """§6.2: λ = (μ/P)·sqrt(πRT/(2M)) is 0.0699 µm at 37 °C and 0.0651 µm at 20 °C, 1 atm."""
    assert_allclose(mean_free_path(temperature_k) / UM, expected_um, atol=5e-5)


def test_mean_free_path_scales_inversely_with_pressure() -> None:
    """§6.2: λ ∝ 1/P at fixed temperature (kinetic theory)."""
    assert_allclose(mean_free_path(310.15, 50662.5), 2.0 * mean_free_path(310.15), rtol=1e-14)


@pytest.mark.parametrize(("d_um", "cc_ar", "cc_hinds", "cc_davies", "_d", "_v"), SECTION_6_2_TABLE)
def test_slip_correction_table(
    d_um: float, cc_ar: float, cc_hinds: float, cc_davies: float, _d: float, _v: float
) -> None:
    """§6.2 table: Cunningham correction for the three coefficient sets, 4 decimals."""
    d = d_um * UM
    assert_allclose(slip_correction(d, model="allen-raabe"), cc_ar, atol=5e-5)
    assert_allclose(slip_correction(d, model="hinds"), cc_hinds, atol=5e-5)
    assert_allclose(slip_correction(d, model="davies"), cc_davies, atol=5e-5)


def test_slip_correction_default_is_allen_raabe() -> None:
    """§6.2: Allen & Raabe 1985 is the default coefficient set."""
    d = np.array([0.1, 1.0]) * UM
    assert_allclose(slip_correction(d), slip_correction(d, model="allen-raabe"), rtol=0)


def test_slip_correction_avoids_lungsim_coefficient() -> None:
    """§2.6 pitfall: Hinds' λ/d form uses 2.34 (Cc 1.1638 at 1 µm), not LungSIM's 2.43 (1.1701)."""
    cc = slip_correction(1.0 * UM, model="hinds")
    assert_allclose(cc, 1.1638, atol=5e-5)
    assert abs(float(cc) - 1.1701) > 5e-3


def test_slip_correction_tends_to_one_for_large_particles() -> None:
    """§6.2: Cc → 1 in the continuum limit and exceeds 1 everywhere."""
    cc = slip_correction(np.geomspace(1e-9, 1e-3, 50))
    assert np.all(cc > 1.0)
    assert np.all(np.diff(cc) < 0)
    assert_allclose(cc[-1], 1.0, atol=2e-4)


@pytest.mark.parametrize(("d_um", "_a", "_b", "_c", "diff_cm2_s", "_v"), SECTION_6_2_TABLE)
def test_diffusion_coefficient_table(
    d_um: float, _a: float, _b: float, _c: float, diff_cm2_s: float, _v: float
) -> None:
    """§6.2 table: D = kTCc/(3πμd), printed to 4 significant figures (cm²/s)."""
    assert_allclose(diffusion_coefficient(d_um * UM) * 1e4, diff_cm2_s, rtol=5e-4)


@pytest.mark.parametrize(("d_um", "_a", "_b", "_c", "_d", "v_um_s"), SECTION_6_2_TABLE)
def test_settling_velocity_table(
    d_um: float, _a: float, _b: float, _c: float, _d: float, v_um_s: float
) -> None:
    """§6.2 table: v_s = ρ d² g Cc/(18μ) for unit density, 3–4 significant figures (µm/s)."""
    assert_allclose(settling_velocity(d_um * UM, UNIT_DENSITY_KG_M3) / UM, v_um_s, rtol=1e-3)


def test_settling_velocity_is_proportional_to_density() -> None:
    """§6.2: v_s ∝ ρ_p — the factor omitted by OSP's breath-hold code (§2.6)."""
    assert_allclose(settling_velocity(3 * UM, 2000.0), 2.0 * settling_velocity(3 * UM, 1000.0))


def test_aerodynamic_diameter_of_unit_density_sphere_is_itself() -> None:
    """§6.2: with ρ_p = ρ0 and χ = 1 the definition gives d_ae = d_p."""
    d = np.geomspace(0.01, 20, 30) * UM
    assert_allclose(aerodynamic_diameter(d, UNIT_DENSITY_KG_M3), d, rtol=1e-12)


def test_aerodynamic_diameter_isotonic_saline() -> None:
    """§6.2: isotonic droplets (1005 kg/m³) have d_ae ≈ 1.002·d_p (sqrt(1.005) plus slip)."""
    d = np.array([1.0, 3.0, 5.0]) * UM
    ratio = aerodynamic_diameter(d, 1005.0) / d
    assert_allclose(ratio, 1.002, atol=1e-3)


@pytest.mark.parametrize("density", [500.0, 1005.0, 3000.0])
@pytest.mark.parametrize("shape_factor", [1.0, 1.5])
def test_aerodynamic_diameter_satisfies_definition(density: float, shape_factor: float) -> None:
    """§6.2: ρ0·d_ae²·Cc(d_ae) = ρ_p·d_p²·Cc(d_p)/χ, solved to 1e-12 relative."""
    d = np.geomspace(0.005, 50, 40) * UM
    d_ae = aerodynamic_diameter(d, density, shape_factor)
    lhs = UNIT_DENSITY_KG_M3 * d_ae**2 * slip_correction(d_ae)
    rhs = density * d**2 * slip_correction(d) / shape_factor
    assert_allclose(lhs, rhs, rtol=1e-11)


@pytest.mark.parametrize("model", ["allen-raabe", "davies", "hinds"])
def test_physical_diameter_inverts_aerodynamic_diameter(model: SlipModel) -> None:
    """§6.2: physical_diameter is the inverse of aerodynamic_diameter (1e-12 relative)."""
    d = np.geomspace(0.001, 100, 60) * UM
    d_ae = aerodynamic_diameter(d, 3000.0, 1.5, model=model)
    back = physical_diameter(d_ae, 3000.0, 1.5, model=model)
    assert_allclose(back, d, rtol=1e-11)


def test_functions_broadcast() -> None:
    """Inputs broadcast like NumPy ufuncs (pvlib style)."""
    d = np.array([1.0, 2.0, 3.0]) * UM
    rho = np.array([[1000.0], [2000.0]])
    assert settling_velocity(d, rho).shape == (2, 3)
    assert aerodynamic_diameter(d, rho).shape == (2, 3)
    assert slip_correction(d, np.array([[293.15], [310.15]])).shape == (2, 3)


def test_nan_propagates() -> None:
    """NaN inputs give NaN outputs, not errors (pvlib convention)."""
    d = np.array([1.0 * UM, np.nan])
    for result in (
        slip_correction(d),
        diffusion_coefficient(d),
        settling_velocity(d, 1000.0),
        aerodynamic_diameter(d, 1000.0),
        physical_diameter(d, 1000.0),
    ):
        assert np.isfinite(result[0])
        assert np.isnan(result[1])


def test_float32_input_is_accepted() -> None:
    """float32 diameters work and agree with float64 to float32 precision."""
    d = np.array([0.1, 1.0, 5.0], dtype=np.float32) * np.float32(UM)
    assert_allclose(slip_correction(d), slip_correction(d.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: air_viscosity(0.0), "temperature_k"),
        (lambda: mean_free_path(-1.0), "temperature_k"),
        (lambda: mean_free_path(310.15, 0.0), "pressure_pa"),
        (lambda: slip_correction(0.0), "diameter_m"),
        (lambda: slip_correction(-1e-6), "diameter_m"),
        (lambda: slip_correction(1e-6, model="lungsim"), "model"),  # type: ignore[arg-type]
        (lambda: diffusion_coefficient(np.array([1e-6, -1e-6])), "diameter_m"),
        (lambda: diffusion_coefficient(1e-6, temperature_k=0.0), "temperature_k"),
        (lambda: settling_velocity(1e-6, 0.0), "density_kg_m3"),
        (lambda: settling_velocity(0.0, 1000.0), "diameter_m"),
        (lambda: aerodynamic_diameter(0.0, 1000.0), "diameter_m"),
        (lambda: aerodynamic_diameter(1e-6, -5.0), "density_kg_m3"),
        (lambda: aerodynamic_diameter(1e-6, 1000.0, 0.9), "shape_factor"),
        (lambda: aerodynamic_diameter(1e-6, 1000.0, model="x"), "model"),  # type: ignore[arg-type]
        (lambda: aerodynamic_diameter(1e-6, 1000.0, pressure_pa=0.0), "pressure_pa"),
        (lambda: physical_diameter(0.0, 1000.0), "aerodynamic_diameter_m"),
        (lambda: physical_diameter(1e-6, 0.0), "density_kg_m3"),
        (lambda: physical_diameter(1e-6, 1000.0, 0.5), "shape_factor"),
    ],
)
def test_invalid_inputs_name_the_field(call: Callable[[], object], field: str) -> None:
    """Every invalid input raises DosimetryInputError naming the field (issue #2, "Bad input")."""
    with pytest.raises(DosimetryInputError) as excinfo:
        call()
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
