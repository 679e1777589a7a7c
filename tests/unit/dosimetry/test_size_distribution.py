"""Reference tests for ``exoneb.dosimetry.size_distribution`` (``dosimetry.md`` §0, §6.3)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import ndtr

from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.size_distribution import (
    count_median_diameter,
    lognormal_bins,
    mean_vesicles_per_droplet,
)

UM = 1e-6


def test_weights_are_normalised_exact_bin_masses() -> None:
    """§0 item 2: mass weights are CDF differences over ±4σ, renormalised to sum to 1."""
    diameters, weights = lognormal_bins(3 * UM, 2.0, n_bins=40, span_sigma=4.0)
    assert diameters.shape == weights.shape == (40,)
    assert_allclose(weights.sum(), 1.0, rtol=1e-15)
    edges_z = np.linspace(-4, 4, 41)
    raw = np.diff(ndtr(edges_z))
    truncated_tail = 2 * ndtr(-4.0)
    assert_allclose(raw.sum(), 1 - truncated_tail, rtol=1e-14)
    assert_allclose(weights, raw / raw.sum(), rtol=1e-14)
    assert_allclose(weights, weights[::-1], rtol=1e-12)


def test_bin_centres_are_geometric_midpoints() -> None:
    """Bins have equal width in ln d over ln MMAD ± 4·ln GSD; centres are geometric midpoints."""
    mmad, gsd, n = 3 * UM, 2.0, 40
    diameters, _ = lognormal_bins(mmad, gsd, n_bins=n)
    edges = mmad * gsd ** np.linspace(-4, 4, n + 1)
    assert_allclose(diameters, np.sqrt(edges[:-1] * edges[1:]), rtol=1e-13)
    assert_allclose(np.diff(np.log(diameters)), 8 * math.log(gsd) / n, rtol=1e-10)


def test_mass_median_and_spread_are_recovered() -> None:
    """The mass-weighted mean of ln d is ln MMAD; its s.d. is ln GSD (midpoint rule, 1 %)."""
    diameters, weights = lognormal_bins(4 * UM, 1.8, n_bins=80)
    log_d = np.log(diameters)
    mean = np.sum(weights * log_d)
    assert_allclose(mean, math.log(4 * UM), rtol=1e-12)
    assert_allclose(np.sqrt(np.sum(weights * (log_d - mean) ** 2)), math.log(1.8), rtol=1e-2)


def test_monodisperse_is_one_bin() -> None:
    """GSD = 1 gives one bin at the MMAD with weight 1."""
    diameters, weights = lognormal_bins(3 * UM, 1.0)
    assert_allclose(diameters, [3 * UM], rtol=0)
    assert_allclose(weights, [1.0], rtol=0)


def test_column_inputs_broadcast_along_the_bin_axis() -> None:
    """Many devices: MMAD and GSD of shape (n, 1) give diameters (n, n_bins), one weight vector."""
    mmad = np.array([[2.0], [3.0], [4.0]]) * UM
    gsd = np.array([[1.5], [2.0], [2.5]])
    diameters, weights = lognormal_bins(mmad, gsd, n_bins=30)
    assert diameters.shape == (3, 30)
    assert weights.shape == (30,)
    for i in range(3):
        row, _ = lognormal_bins(float(mmad[i, 0]), float(gsd[i, 0]), n_bins=30)
        assert_allclose(diameters[i], row, rtol=1e-14)
    single, weight = lognormal_bins(mmad, np.ones((3, 1)))
    assert single.shape == (3, 1)
    assert_allclose(weight, [1.0])


@pytest.mark.parametrize(("mmad_um", "gsd"), [(3.0, 2.0), (1.0, 1.5), (5.0, 3.0)])
def test_count_median_diameter_hatch_choate(mmad_um: float, gsd: float) -> None:
    """§6.3: CMD = MMAD·exp(−3·ln²GSD), checked against the count median of the mass bins."""
    cmd = count_median_diameter(mmad_um * UM, gsd)
    assert_allclose(cmd, mmad_um * UM * math.exp(-3 * math.log(gsd) ** 2), rtol=1e-15)
    # Independent check: convert the mass bins to counts (weight / d³), take the median.
    diameters, weights = lognormal_bins(mmad_um * UM, gsd, n_bins=4000, span_sigma=10.0)
    counts = weights / diameters**3
    cumulative = (np.cumsum(counts) - 0.5 * counts) / counts.sum()
    assert_allclose(np.interp(0.5, cumulative, diameters), cmd, rtol=1e-4)


def test_count_median_of_example() -> None:
    """§6.3: MMAD 3 µm, GSD 2 → CMD ≈ 0.710 µm."""
    assert_allclose(count_median_diameter(3 * UM, 2.0) / UM, 0.710, atol=5e-4)


@pytest.mark.parametrize(
    ("concentration", "d_um", "expected"),
    [
        (1e9, 1, 5.2e-4),
        (1e9, 3, 0.014),
        (1e9, 5, 0.065),
        (1e10, 1, 0.0052),
        (1e10, 3, 0.14),
        (1e10, 5, 0.65),
        (1e11, 1, 0.052),
        (1e11, 3, 1.4),
        (1e11, 5, 6.5),
    ],
)
def test_mean_vesicles_per_droplet_table(
    concentration: float, d_um: float, expected: float
) -> None:
    """§6.3 table: mean EVs per droplet C·πd³/6, printed to 2 significant figures."""
    assert_allclose(mean_vesicles_per_droplet(concentration, d_um * UM), expected, rtol=1e-2)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: lognormal_bins(3e-6, 0.9), "gsd"),
        (lambda: lognormal_bins(3e-6, np.array([[2.0], [0.5]])), "gsd"),
        (lambda: lognormal_bins(0.0, 2.0), "mmad_m"),
        (lambda: lognormal_bins(-3e-6, 2.0), "mmad_m"),
        (lambda: lognormal_bins(np.array([1e-6, 2e-6]), 2.0), "mmad_m"),
        (lambda: lognormal_bins(3e-6, 2.0, n_bins=0), "n_bins"),
        (lambda: lognormal_bins(3e-6, 2.0, n_bins=2.5), "n_bins"),  # type: ignore[arg-type]
        (lambda: lognormal_bins(3e-6, 2.0, n_bins=True), "n_bins"),
        (lambda: lognormal_bins(3e-6, 2.0, span_sigma=0.0), "span_sigma"),
        (lambda: count_median_diameter(0.0, 2.0), "mmad_m"),
        (lambda: count_median_diameter(3e-6, 0.5), "gsd"),
        (lambda: mean_vesicles_per_droplet(-1.0, 3e-6), "concentration_per_ml"),
        (lambda: mean_vesicles_per_droplet(1e10, 0.0), "diameter_m"),
    ],
)
def test_invalid_inputs_name_the_field(call: Callable[[], object], field: str) -> None:
    """Every invalid input raises DosimetryInputError naming the field (issue #2, "Bad input")."""
    with pytest.raises(DosimetryInputError) as excinfo:
        call()
    assert excinfo.value.field == field
    assert field in str(excinfo.value)
