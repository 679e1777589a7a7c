"""Reference tests for ``exoneb.dosimetry.hygroscopic`` (``dosimetry.md`` §6.1)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.hygroscopic import (
    ISOTONIC_WATER_ACTIVITY,
    dilute_growth_ratio,
    dry_residue_diameter,
    equilibrium_diameter,
    evaporation_time_s,
    kelvin_factor,
    saline_molality,
    saline_water_activity,
    water_saturation_pressure,
)

UM = 1e-6
#: Water activity of isotonic saline as printed in §6.1.
PRINTED_ISOTONIC_AW = 0.99479


def test_isotonic_water_activity() -> None:
    """§6.1: a_w = exp(−νΦmM_w) ≈ 0.99479 for 0.9 % w/v NaCl (within 1e-4 relative)."""
    assert_allclose(saline_water_activity(), PRINTED_ISOTONIC_AW, rtol=1e-4)
    assert_allclose(ISOTONIC_WATER_ACTIVITY, saline_water_activity(), rtol=0)


def test_printed_molality_corresponds_to_density_997() -> None:
    """§6.1 prints 0.1558 mol/kg and a_w 0.99479: that is w/v converted with ρ ≈ 997 kg/m³.

    With the isotonic-saline density of 1005 kg/m³ the molality is 0.1546 mol/kg and
    a_w 0.99483 (a 4e-5 difference, reported as a deviation from the reference).
    """
    assert_allclose(saline_molality(0.009, 997.0), 0.1558, atol=1e-4)
    assert_allclose(saline_water_activity(solution_density_kg_m3=997.0), 0.99479, atol=5e-6)
    assert_allclose(saline_molality(), 0.1546, atol=5e-5)


@pytest.mark.parametrize(
    ("relative_humidity", "expected"),
    [(0.990, 0.805), (0.993, 0.906), (0.995, 1.014), (0.997, 1.202)],
)
def test_dilute_growth_ratio_table(relative_humidity: float, expected: float) -> None:
    """§6.1 table: d_eq/d0 = ((1 − a_w0)/(1 − RH))^(1/3) for isotonic saline (a_w0 0.99479)."""
    assert_allclose(
        dilute_growth_ratio(relative_humidity, PRINTED_ISOTONIC_AW), expected, atol=5e-4
    )


@pytest.mark.parametrize(
    ("d_um", "expected"), [(0.5, 1.00395), (1.0, 1.00197), (3.0, 1.00066), (5.0, 1.00039)]
)
def test_kelvin_factor_table(d_um: float, expected: float) -> None:
    """§6.1 table: Kelvin factor exp(4σM_w/(ρ_w R T d)) at 37 °C, σ = 0.0701 N/m."""
    assert_allclose(kelvin_factor(d_um * UM), expected, atol=5e-6)


def test_equilibrium_without_kelvin_is_dilute_growth() -> None:
    """§6.1: with kelvin=False the equilibrium diameter is exactly d0·dilute_growth_ratio."""
    d0 = np.array([0.5, 1.0, 3.0, 5.0]) * UM
    rh = np.array([[0.99], [0.995], [0.997]])
    expected = d0 * dilute_growth_ratio(rh, ISOTONIC_WATER_ACTIVITY)
    assert_allclose(equilibrium_diameter(d0, rh, kelvin=False), expected, rtol=1e-14)


def test_isotonic_droplet_nearly_at_equilibrium() -> None:
    """§0 item 5 / §6.1: at 99.5 % RH an isotonic droplet grows by only ~1.4 % (dilute form)."""
    ratio = equilibrium_diameter(3 * UM, 0.995, PRINTED_ISOTONIC_AW, kelvin=False) / (3 * UM)
    assert_allclose(ratio, 1.014, atol=5e-4)


@pytest.mark.parametrize("relative_humidity", [0.5, 0.9, 0.99, 0.995, 0.9995])
@pytest.mark.parametrize("water_activity", [0.9, 0.99, ISOTONIC_WATER_ACTIVITY, 0.9999])
def test_equilibrium_with_kelvin_solves_the_balance(
    relative_humidity: float, water_activity: float
) -> None:
    """§6.1: RH = [1 − (1 − a_w0)(d0/d)³]·K(d) is solved to 1e-12 over 10 nm–100 µm."""
    d0 = np.geomspace(0.01, 100, 41) * UM
    d = equilibrium_diameter(d0, relative_humidity, water_activity)
    balance = (1.0 - (1.0 - water_activity) * (d0 / d) ** 3) * kelvin_factor(d)
    assert_allclose(balance, relative_humidity, atol=1e-12)


def test_kelvin_term_shrinks_small_droplets_most() -> None:
    """§6.1: the curvature term matters most for droplets of 1 µm or smaller."""
    d0 = np.array([0.5, 1.0, 3.0, 5.0]) * UM
    with_k = equilibrium_diameter(d0) / d0
    without = equilibrium_diameter(d0, kelvin=False) / d0
    assert np.all(with_k < without)
    assert np.all(np.diff(with_k) > 0)


def test_pure_water_evaporates_completely() -> None:
    """A pure-water droplet (a_w0 = 1) has no equilibrium below saturation: d = 0."""
    assert equilibrium_diameter(1 * UM, 0.995, 1.0) == 0.0
    assert equilibrium_diameter(1 * UM, 0.995, 1.0, kelvin=False) == 0.0


def test_equilibrium_nan_propagates() -> None:
    """NaN inputs give NaN outputs (pvlib convention)."""
    d = equilibrium_diameter(np.array([1 * UM, np.nan]))
    assert np.isfinite(d[0])
    assert np.isnan(d[1])


def test_dry_residue_isotonic() -> None:
    """§6.1: d_dry = d0·(0.009/2.165)^(1/3) = 0.161·d0; 0.48 µm for a 3 µm droplet."""
    assert_allclose(dry_residue_diameter(1 * UM) / UM, 0.161, atol=5e-4)
    assert_allclose(dry_residue_diameter(3 * UM) / UM, 0.48, atol=5e-3)


@pytest.mark.parametrize(
    ("d_um", "expected_ms", "tolerance_ms"), [(1, 0.6, 0.05), (3, 5, 0.5), (5, 14, 0.5)]
)
def test_evaporation_time_table(d_um: float, expected_ms: float, tolerance_ms: float) -> None:
    """§6.1 table: pure water at 20 °C, 50 % RH evaporates in 0.6 / 5 / 14 ms (Hinds 13.22)."""
    assert_allclose(evaporation_time_s(d_um * UM) * 1e3, expected_ms, atol=tolerance_ms)


@pytest.mark.parametrize(("temperature_k", "expected_pa"), [(293.15, 2339.0), (310.15, 6282.0)])
def test_water_saturation_pressure(temperature_k: float, expected_pa: float) -> None:
    """§6.2: p_sat 6.282 kPa at 37 °C (IAPWS-IF97); Hinds eq. 13.3 is within 0.2 %."""
    assert_allclose(water_saturation_pressure(temperature_k), expected_pa, rtol=2e-3)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: saline_water_activity(0.0), "concentration_w_v"),
        (lambda: saline_water_activity(0.009, 0.0), "osmotic_coefficient"),
        (lambda: saline_water_activity(0.009, 0.93, -1.0), "solution_density_kg_m3"),
        (lambda: dilute_growth_ratio(1.0, 0.995), "relative_humidity"),
        (lambda: dilute_growth_ratio(0.0, 0.995), "relative_humidity"),
        (lambda: dilute_growth_ratio(1.2, 0.995), "relative_humidity"),
        (lambda: dilute_growth_ratio(0.995, 0.0), "water_activity"),
        (lambda: dilute_growth_ratio(0.995, 1.01), "water_activity"),
        (lambda: kelvin_factor(0.0), "diameter_m"),
        (lambda: kelvin_factor(1e-6, 0.0), "temperature_k"),
        (lambda: kelvin_factor(1e-6, 310.15, 0.0), "surface_tension_n_m"),
        (lambda: equilibrium_diameter(-1e-6), "initial_diameter_m"),
        (lambda: equilibrium_diameter(1e-6, 1.0), "relative_humidity"),
        (lambda: equilibrium_diameter(1e-6, np.array([0.99, -0.1])), "relative_humidity"),
        (lambda: equilibrium_diameter(1e-6, 0.995, 0.0), "water_activity"),
        (lambda: equilibrium_diameter(1e-6, 0.995, 0.99, 0.0), "temperature_k"),
        (lambda: dry_residue_diameter(0.0), "initial_diameter_m"),
        (lambda: dry_residue_diameter(1e-6, -0.009), "concentration_w_v"),
        (lambda: dry_residue_diameter(1e-6, 0.009, 0.0), "solute_density_kg_m3"),
        (lambda: evaporation_time_s(0.0), "diameter_m"),
        (lambda: evaporation_time_s(1e-6, relative_humidity=1.0), "relative_humidity"),
        (lambda: evaporation_time_s(1e-6, vapour_diffusivity_m2_s=0.0), "vapour_diffusivity_m2_s"),
        (lambda: water_saturation_pressure(0.0), "temperature_k"),
    ],
)
def test_invalid_inputs_name_the_field(call: Callable[[], object], field: str) -> None:
    """Every invalid input raises DosimetryInputError naming the field (issue #2, "Bad input")."""
    with pytest.raises(DosimetryInputError) as excinfo:
        call()
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
