"""ICRP-66 simplified fits (Hinds eqs 11.1–11.5) against ``dosimetry.md`` §1.1, §1.2, §3.1."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.icrp66 import (
    DEFAULT_LOGNORMAL_BINS,
    Icrp66Fractions,
    alveolar,
    head_airways,
    icrp66_lognormal,
    icrp66_monodisperse,
    inhalable_fraction,
    total_deposition,
    tracheobronchial,
)

#: §1.1 monodisperse table: d µm, IF, HA, TB, AL (−0.416), AL (−0.415), HA+TB+AL, total (11.5).
MONODISPERSE_TABLE = [
    (0.001, 1.0000, 0.7912, 0.1977, 0.0159, 0.0161, 1.0048, 0.9659),
    (0.01, 1.0000, 0.1991, 0.2506, 0.4240, 0.4254, 0.8738, 0.8675),
    (0.02, 1.0000, 0.0989, 0.1655, 0.4805, 0.4811, 0.7449, 0.7317),
    (0.05, 1.0000, 0.0371, 0.0678, 0.3075, 0.3075, 0.4124, 0.4419),
    (0.1, 1.0000, 0.0212, 0.0266, 0.1420, 0.1421, 0.1898, 0.2476),
    (0.15, 1.0000, 0.0210, 0.0139, 0.0832, 0.0833, 0.1181, 0.1761),
    (0.2, 1.0000, 0.0259, 0.0085, 0.0623, 0.0623, 0.0967, 0.1447),
    (0.3, 1.0000, 0.0438, 0.0049, 0.0583, 0.0583, 0.1071, 0.1274),
    (0.5, 0.9999, 0.0995, 0.0071, 0.0819, 0.0819, 0.1885, 0.1660),
    (1, 0.9996, 0.2851, 0.0272, 0.1217, 0.1217, 0.4339, 0.4205),
    (2, 0.9974, 0.5934, 0.0565, 0.1194, 0.1194, 0.7694, 0.7972),
    (3, 0.9919, 0.7531, 0.0605, 0.0955, 0.0955, 0.9091, 0.9119),
    (4, 0.9822, 0.8293, 0.0540, 0.0740, 0.0740, 0.9573, 0.9437),
    (5, 0.9678, 0.8633, 0.0450, 0.0575, 0.0575, 0.9658, 0.9469),
    (6, 0.9485, 0.8736, 0.0365, 0.0452, 0.0452, 0.9552, 0.9363),
    (8, 0.8979, 0.8552, 0.0235, 0.0289, 0.0289, 0.9076, 0.8932),
    (10, 0.8379, 0.8114, 0.0152, 0.0193, 0.0193, 0.8459, 0.8361),
    (20, 0.6152, 0.6098, 0.0023, 0.0041, 0.0041, 0.6162, 0.6159),
    (100, 0.5016, 0.5014, 0.0000, 0.0000, 0.0000, 0.5015, 0.5025),
]

#: §1.1 lognormal row (MMAD 3 µm, GSD 2): IF, HA, TB, AL, total.
LOGNORMAL_ROW = (0.9701, 0.6773, 0.0455, 0.0867, 0.8098)


@pytest.mark.parametrize(
    ("d_um", "inh", "ha", "tb", "al", "al_415", "ha_tb_al", "total"), MONODISPERSE_TABLE
)
def test_monodisperse_table(
    d_um: float,
    inh: float,
    ha: float,
    tb: float,
    al: float,
    al_415: float,
    ha_tb_al: float,
    total: float,
) -> None:
    """§1.1 monodisperse table, every column, 1e-4 absolute (Hinds eqs 11.1–11.5)."""
    assert_allclose(inhalable_fraction(d_um), inh, atol=1e-4)
    assert_allclose(head_airways(d_um), ha, atol=1e-4)
    assert_allclose(tracheobronchial(d_um), tb, atol=1e-4)
    assert_allclose(alveolar(d_um), al, atol=1e-4)
    assert_allclose(alveolar(d_um, coefficient=-0.415), al_415, atol=1e-4)
    assert_allclose(
        head_airways(d_um) + tracheobronchial(d_um) + alveolar(d_um), ha_tb_al, atol=1e-4
    )
    assert_allclose(total_deposition(d_um), total, atol=1e-4)


def test_monodisperse_dataclass_matches_functions() -> None:
    """§1.1: ``icrp66_monodisperse`` returns the five fits, vectorised."""
    d = np.array([row[0] for row in MONODISPERSE_TABLE])
    result = icrp66_monodisperse(d)
    assert isinstance(result, Icrp66Fractions)
    expected = np.array([(*row[1:5], row[7]) for row in MONODISPERSE_TABLE]).T
    got = np.array(
        [
            result.inhalable,
            result.head_airways,
            result.tracheobronchial,
            result.alveolar,
            result.total,
        ]
    )
    assert_allclose(got, expected, atol=1e-4)
    with pytest.raises(AttributeError):
        result.total = result.alveolar  # type: ignore[misc]


@pytest.mark.parametrize(
    ("d_um", "ha", "tb", "al", "total"),
    [
        pytest.param(1.0, 0.2851, 0.0272, 0.1217, 0.4205, id="case1"),
        pytest.param(3.0, 0.7531, 0.0605, 0.0955, 0.9119, id="case2"),
        pytest.param(0.1, 0.0212, 0.0266, 0.1420, 0.2476, id="case3"),
    ],
)
def test_validation_cases_1_to_3(
    d_um: float, ha: float, tb: float, al: float, total: float
) -> None:
    """§3.1 cases #1–#3 (1e-4)."""
    result = icrp66_monodisperse(d_um)
    assert_allclose(
        [result.head_airways, result.tracheobronchial, result.alveolar, result.total],
        [ha, tb, al, total],
        atol=1e-4,
    )


def test_case_4_minimum_near_0_3_um() -> None:
    """§3.1 case #4: total 0.1274 at 0.3 µm, the minimum of eq 11.5 (≈ 0.3 µm)."""
    assert_allclose(total_deposition(0.3), 0.1274, atol=1e-4)
    d = np.geomspace(0.05, 2, 2001)
    d_min = d[np.argmin(total_deposition(d))]
    assert 0.25 < d_min < 0.35


def test_total_is_a_separate_fit() -> None:
    """§1.1 pitfall: eq 11.5 is not HA + TB + AL (0.248 vs 0.190 at 0.1 µm)."""
    r = icrp66_monodisperse(0.1)
    assert abs(float(r.head_airways + r.tracheobronchial + r.alveolar - r.total)) > 0.05


def test_lognormal_row_with_default_bins() -> None:
    """§1.1 lognormal row (MMAD 3 µm, GSD 2) to 1e-3 (case #5: 2e-3) with the default 40 bins."""
    r = icrp66_lognormal(3.0, 2.0)
    got = [r.inhalable, r.head_airways, r.tracheobronchial, r.alveolar, r.total]
    assert_allclose(got, LOGNORMAL_ROW, atol=1e-3)
    # Documented accuracy of the default: within 2.2e-4 of every printed value.
    assert_allclose(got, LOGNORMAL_ROW, atol=2.2e-4)
    assert DEFAULT_LOGNORMAL_BINS == 40


def test_smallest_bin_count_for_lognormal_row() -> None:
    """§1.1: 21 bins over ±4σ is the smallest count that meets 1e-3 for every region."""

    def worst(n_bins: int) -> float:
        r = icrp66_lognormal(3.0, 2.0, n_bins=n_bins)
        got = np.array([r.inhalable, r.head_airways, r.tracheobronchial, r.alveolar, r.total])
        return float(np.max(np.abs(got - np.array(LOGNORMAL_ROW))))

    assert worst(21) < 1e-3
    assert worst(20) > 1e-3


def test_lognormal_with_gsd_one_is_monodisperse() -> None:
    """A lognormal with GSD 1 reduces to the monodisperse fits."""
    r = icrp66_lognormal(3.0, 1.0)
    m = icrp66_monodisperse(3.0)
    assert_allclose(r.total, m.total, rtol=1e-15)


def test_wind_term_is_negligible_below_20_um() -> None:
    """§1.2: for U ≤ 1 m/s the wind term of IF is negligible below 20 µm."""
    d = np.array([1.0, 5.0, 10.0, 19.0])
    assert np.all(inhalable_fraction(d, 1.0) - inhalable_fraction(d) < 3e-5)
    assert_allclose(
        inhalable_fraction(10.0, 5.0) - inhalable_fraction(10.0), 1e-5 * 5**2.75 * np.exp(0.55)
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: inhalable_fraction(0.0), "diameter_um"),
        (lambda: inhalable_fraction(1.0, -1.0), "wind_speed_m_s"),
        (lambda: head_airways(-1.0), "diameter_um"),
        (lambda: tracheobronchial(0.0), "diameter_um"),
        (lambda: alveolar(0.0), "diameter_um"),
        (lambda: total_deposition(np.array([1.0, 0.0])), "diameter_um"),
        (lambda: icrp66_monodisperse(0.0), "diameter_um"),
        (lambda: icrp66_lognormal(0.0, 2.0), "mmad_um"),
        (lambda: icrp66_lognormal(3.0, 0.5), "gsd"),
        (lambda: icrp66_lognormal(3.0, 2.0, n_bins=0), "n_bins"),
    ],
)
def test_invalid_inputs_name_the_field(call: Callable[[], object], field: str) -> None:
    """Every invalid input raises DosimetryInputError naming the field (issue #2, "Bad input")."""
    with pytest.raises(DosimetryInputError) as excinfo:
        call()
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
