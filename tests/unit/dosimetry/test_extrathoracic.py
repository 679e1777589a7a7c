"""Reference tests for ``exoneb.dosimetry.extrathoracic`` (``dosimetry.md`` §2.3, §2.5, §3.1)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.extrathoracic import (
    Route,
    extrathoracic_deposition,
    extrathoracic_ncrp96,
    extrathoracic_oral_cheng2003,
)
from exoneb.dosimetry.particles import diffusion_coefficient

UM = 1e-6
CM2_S = 1e-4
CM3_S = 1e-6
L_MIN = 1e-3 / 60

#: §2.5: diameters and the printed diffusion coefficients at 37 °C (cm²/s).
DIAMETERS_UM = (0.1, 1.0, 3.0, 5.0)
PRINTED_D_CM2_S = dict(zip(DIAMETERS_UM, (7.145e-6, 2.783e-7, 8.424e-8, 4.952e-8), strict=True))

#: §2.5 NCRP-96 ET inhalation table: (route, Q cm³/s, [0.1, 1, 3, 5 µm]).
NCRP96_TABLE = [
    ("nasal", 250.0, (0.0241, 0.0610, 0.3380, 0.5715)),
    ("nasal", 500.0, (0.0222, 0.1105, 0.4948, 0.7190)),
    ("oral", 250.0, (0.0194, 0.0041, 0.0280, 0.1044)),
    ("oral", 500.0, (0.0178, 0.0051, 0.0692, 0.2316)),
]
NCRP96_CASES = [
    pytest.param(route, q, d, expected, id=f"{route}-{q:g}-{d:g}um")
    for route, q, row in NCRP96_TABLE
    for d, expected in zip(DIAMETERS_UM, row, strict=True)
]

#: §2.5 Cheng-2003 oral table (OSP form): (Q L/min, [0.1, 1, 3, 5 µm]).
CHENG_TABLE = [(15.0, (0.0036, 0.0046, 0.0370, 0.0991)), (30.0, (0.0029, 0.0086, 0.0725, 0.1883))]
CHENG_CASES = [
    pytest.param(q, d, expected, id=f"{q:g}Lmin-{d:g}um")
    for q, row in CHENG_TABLE
    for d, expected in zip(DIAMETERS_UM, row, strict=True)
]

#: The tables are printed to 4 decimals: "1e-4 relative" (§2.5) is met where the
#: rounding allows; the absolute bound is half a unit of the last printed digit.
TABLE_RTOL = 1e-4
TABLE_ATOL = 5e-5


@pytest.mark.parametrize(("route", "q_cm3_s", "d_um", "expected"), NCRP96_CASES)
def test_ncrp96_table_with_printed_diffusion(
    route: Route, q_cm3_s: float, d_um: float, expected: float
) -> None:
    """§2.5 NCRP-96 ET table, with the D values printed there."""
    eta = extrathoracic_ncrp96(
        d_um * UM, PRINTED_D_CM2_S[d_um] * CM2_S, q_cm3_s * CM3_S, route, "inhalation"
    )
    assert_allclose(eta, expected, rtol=TABLE_RTOL, atol=TABLE_ATOL)


@pytest.mark.parametrize(("route", "q_cm3_s", "d_um", "expected"), NCRP96_CASES)
def test_ncrp96_table_with_computed_diffusion(
    route: Route, q_cm3_s: float, d_um: float, expected: float
) -> None:
    """§2.5 NCRP-96 ET table, with D from ``diffusion_coefficient`` (unit density, 37 °C)."""
    d = d_um * UM
    eta = extrathoracic_ncrp96(d, diffusion_coefficient(d), q_cm3_s * CM3_S, route, "inhalation")
    assert_allclose(eta, expected, rtol=TABLE_RTOL, atol=TABLE_ATOL)


def test_case_9_oral_inhalation() -> None:
    """§3.1 case #9: NCRP-96 oral inhalation, 5 µm, 500 cm³/s: 0.2316 ± 1e-3."""
    eta = extrathoracic_ncrp96(5 * UM, 4.952e-8 * CM2_S, 500 * CM3_S, "oral", "inhalation")
    assert_allclose(eta, 0.2316, atol=1e-3)


@pytest.mark.parametrize(("q_l_min", "d_um", "expected"), CHENG_CASES)
def test_cheng2003_table_with_printed_diffusion(
    q_l_min: float, d_um: float, expected: float
) -> None:
    """§2.5 Cheng-2003 oral (OSP form) table, with the D values printed there."""
    eta = extrathoracic_oral_cheng2003(d_um * UM, PRINTED_D_CM2_S[d_um] * CM2_S, q_l_min * L_MIN)
    assert_allclose(eta, expected, rtol=TABLE_RTOL, atol=TABLE_ATOL)


@pytest.mark.parametrize(("q_l_min", "d_um", "expected"), CHENG_CASES)
def test_cheng2003_table_with_computed_diffusion(
    q_l_min: float, d_um: float, expected: float
) -> None:
    """§2.5 Cheng-2003 oral table, with D from ``diffusion_coefficient``."""
    d = d_um * UM
    eta = extrathoracic_oral_cheng2003(d, diffusion_coefficient(d), q_l_min * L_MIN)
    assert_allclose(eta, expected, rtol=TABLE_RTOL, atol=TABLE_ATOL)


def test_ncrp_and_cheng_disagree_for_fine_particles() -> None:
    """§2.5: at 0.1 µm NCRP-96 (0.018) and Cheng (0.003) differ — a model disagreement."""
    d, diff = 0.1 * UM, PRINTED_D_CM2_S[0.1] * CM2_S
    ncrp = extrathoracic_ncrp96(d, diff, 500 * CM3_S, "oral", "inhalation")
    cheng = extrathoracic_oral_cheng2003(d, diff, 30 * L_MIN)
    assert float(ncrp) > 5 * float(cheng)


def test_oral_exhalation_has_no_aerodynamic_part() -> None:
    """§2.3: oral exhalation η_ae = 0, so only diffusion (b = −12.1) deposits."""
    diff = 1e-10
    eta = extrathoracic_ncrp96(np.array([1.0, 10.0]) * UM, diff, 300 * CM3_S, "oral", "exhalation")
    assert_allclose(eta[0], eta[1], rtol=0)
    expected = 1 - np.exp(-12.1 * np.sqrt(diff * 1e4 * 300**-0.25))
    assert_allclose(eta[0], expected, rtol=1e-12)


def test_nasal_exhalation_exceeds_inhalation() -> None:
    """§2.3: nasal exhalation (a = 2300, b = −21.3) filters more than inhalation (4600, −18.2)."""
    d = np.array([0.1, 1.0, 3.0, 5.0]) * UM
    diff = diffusion_coefficient(d)
    inh = extrathoracic_ncrp96(d, diff, 300 * CM3_S, "nasal", "inhalation")
    exh = extrathoracic_ncrp96(d, diff, 300 * CM3_S, "nasal", "exhalation")
    assert np.all(exh > inh)


def test_never_above_one() -> None:
    """§2.3: sqrt(η_ae² + η_th²) can reach √2; the result is capped at 1."""
    eta = extrathoracic_ncrp96(100 * UM, 1e-4, 1e-3, "nasal", "inhalation")
    assert eta == 1.0


@pytest.mark.parametrize("phase", ["inhalation", "exhalation"])
def test_mixed_breathing_blend(phase: str) -> None:
    """§2.3: ET = F_n·nasal + (1 − F_n)·oral; F_n = 0 is the mouthpiece, 1 the nose."""
    d = np.array([1.0, 3.0, 5.0]) * UM
    diff = diffusion_coefficient(d)
    q = 400 * CM3_S
    nasal = extrathoracic_ncrp96(d, diff, q, "nasal", phase)  # type: ignore[arg-type]
    oral = extrathoracic_ncrp96(d, diff, q, "oral", phase)  # type: ignore[arg-type]
    blend = extrathoracic_deposition(d, diff, q, phase, np.array([[0.0], [0.4], [1.0]]))  # type: ignore[arg-type]
    assert_allclose(blend[0], oral, rtol=1e-15)
    assert_allclose(blend[1], 0.4 * nasal + 0.6 * oral, rtol=1e-15)
    assert_allclose(blend[2], nasal, rtol=1e-15)


def test_mouth_breathing_deposits_less_than_nose_for_1_to_5_um() -> None:
    """Issue #2 property: mouth breathing gives less ET deposition than nose breathing, 1–5 µm."""
    d = np.linspace(1, 5, 41) * UM
    diff = diffusion_coefficient(d)
    for q in (250 * CM3_S, 500 * CM3_S, 1000 * CM3_S):
        oral = extrathoracic_ncrp96(d, diff, q, "oral", "inhalation")
        nasal = extrathoracic_ncrp96(d, diff, q, "nasal", "inhalation")
        assert np.all(oral < nasal)


def test_nan_propagates() -> None:
    """NaN inputs give NaN outputs (pvlib convention)."""
    eta = extrathoracic_ncrp96(np.array([1 * UM, np.nan]), 1e-11, 3e-4, "oral", "inhalation")
    assert np.isfinite(eta[0])
    assert np.isnan(eta[1])


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: extrathoracic_ncrp96(1e-6, 1e-11, 3e-4, "mouth", "inhalation"), "route"),  # type: ignore[arg-type]
        (lambda: extrathoracic_ncrp96(1e-6, 1e-11, 3e-4, "oral", "inhale"), "phase"),  # type: ignore[arg-type]
        (
            lambda: extrathoracic_ncrp96(0.0, 1e-11, 3e-4, "oral", "inhalation"),
            "aerodynamic_diameter_m",
        ),
        (lambda: extrathoracic_ncrp96(1e-6, 0.0, 3e-4, "oral", "inhalation"), "diffusion_m2_s"),
        (lambda: extrathoracic_ncrp96(1e-6, 1e-11, -3e-4, "oral", "inhalation"), "flow_m3_s"),
        (lambda: extrathoracic_deposition(1e-6, 1e-11, 3e-4, "inhalation", 1.5), "nasal_fraction"),
        (lambda: extrathoracic_deposition(1e-6, 1e-11, 3e-4, "inhalation", -0.1), "nasal_fraction"),
        (lambda: extrathoracic_deposition(1e-6, 1e-11, 0.0, "inhalation", 0.5), "flow_m3_s"),
        (lambda: extrathoracic_deposition(1e-6, 1e-11, 3e-4, "out", 0.5), "phase"),  # type: ignore[arg-type]
        (lambda: extrathoracic_oral_cheng2003(-1e-6, 1e-11, 5e-4), "aerodynamic_diameter_m"),
        (lambda: extrathoracic_oral_cheng2003(1e-6, -1e-11, 5e-4), "diffusion_m2_s"),
        (lambda: extrathoracic_oral_cheng2003(1e-6, 1e-11, 0.0), "flow_m3_s"),
    ],
)
def test_invalid_inputs_name_the_field(call: Callable[[], object], field: str) -> None:
    """Every invalid input raises DosimetryInputError naming the field (issue #2, "Bad input")."""
    with pytest.raises(DosimetryInputError) as excinfo:
        call()
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
