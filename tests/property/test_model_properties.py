"""Property tests of ``exoneb.dosimetry.deposit`` (issue #2, "Tests and evidence").

- every fraction lies in [0, 1] and the loaded mass balance sums to 1 within 1e-9 for
  random valid devices, droplets, breathing and routes;
- deposition by impaction and sedimentation grows with droplet size: total lung
  deposition (of inhaled) over 1–5 µm and tracheobronchial over 2–8 µm, monodisperse, at
  relaxed resting breathing; and, for any breathing, the same for the aerosol that has
  passed the extrathoracic filter (lung / (1 − ET)), which isolates the intrathoracic
  mechanisms from the ET filter in front of them.

Settings come from the Hypothesis profile (tests/conftest.py), capped because one
``deposit`` call costs a few milliseconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from exoneb.dosimetry import deposit, nebulizer_catalog

MAX_EXAMPLES = min(settings.default.max_examples, 40)

LOADED_PARTS = (
    "residual",
    "device_losses",
    "interface_losses",
    "lost_during_exhalation",
    "extrathoracic",
    "bronchial",
    "bronchiolar",
    "alveolar",
    "exhaled",
)


@st.composite
def valid_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """MMAD 0.5–10 µm, GSD 1–3, V_T 300–1200 mL (FRC 3000 mL), 6–30 /min, inspiratory
    fraction 0.2–0.6, breath-hold 0–5 s when it fits, mouth or nose, any catalog device."""
    rate = draw(st.floats(6.0, 30.0))
    fraction = draw(st.floats(0.2, 0.6))
    exhale_room = 60.0 / rate * (1.0 - fraction)
    hold_max = min(5.0, 0.9 * exhale_room)
    return {
        "nebulizer": draw(st.sampled_from(sorted(nebulizer_catalog()))),
        "mmad_um": draw(st.floats(0.5, 10.0)),
        "gsd": draw(st.floats(1.0, 3.0)),
        "tidal_volume_ml": draw(st.floats(300.0, 1200.0)),
        "frc_ml": 3000.0,
        "breaths_per_min": rate,
        "inspiratory_fraction": fraction,
        "breath_hold_s": draw(st.floats(0.0, hold_max)),
        "route": draw(st.sampled_from(["mouth", "nose"])),
    }


@settings(max_examples=MAX_EXAMPLES)
@given(valid_inputs())
def test_fractions_in_unit_interval_and_mass_balance(kwargs: dict[str, Any]) -> None:
    """Issue #2 "Tests": fractions in [0, 1]; the mass balance sums to 1 within 1e-9."""
    r = deposit(**kwargs)
    for basis in (r.fractions_of_loaded, r.fractions_of_inhaled):
        for key, value in basis.items():
            assert value is not None
            v = float(value)
            assert -1e-12 <= v <= 1.0 + 1e-12, (key, v)
    assert r.by_generation is not None
    assert np.all(r.by_generation >= -1e-15)
    loaded = sum(float(r.fractions_of_loaded[k]) for k in LOADED_PARTS)  # type: ignore[arg-type]
    assert abs(loaded - 1.0) <= 1e-9
    inhaled = 1.0 - float(r.fractions_of_inhaled["exhaled"])  # type: ignore[arg-type]
    deposited = float(r.fractions_of_inhaled["extrathoracic"]) + float(  # type: ignore[arg-type]
        r.fractions_of_inhaled["lung"]  # type: ignore[arg-type]
    )
    assert abs(inhaled - deposited) <= 1e-9


def _sizes(low: float, high: float) -> st.SearchStrategy[tuple[float, float]]:
    """Two droplet sizes low ≤ d1 < d2 ≤ high, at least 0.05 µm apart."""
    return (
        st.tuples(st.floats(low, high), st.floats(low, high))
        .map(lambda p: (min(p), max(p)))
        .filter(lambda p: p[1] - p[0] >= 0.05)
    )


def _inhaled(d_um: float, **breathing: Any) -> dict[str, float]:
    r = deposit(mmad_um=d_um, gsd=1.0, **breathing)
    return {k: float(v) for k, v in r.fractions_of_inhaled.items() if v is not None}


#: Relaxed resting breathing: deposit()'s default 500 mL, 15 /min, inspiratory fraction 0.4,
#: through a mouthpiece.
RESTING: dict[str, Any] = {
    "tidal_volume_ml": 500.0,
    "breaths_per_min": 15.0,
    "inspiratory_fraction": 0.4,
    "route": "mouth",
}


@settings(max_examples=MAX_EXAMPLES)
@given(_sizes(1.0, 5.0))
def test_lung_deposition_grows_with_size_1_to_5_um(sizes: tuple[float, float]) -> None:
    """Issue #2 "Tests": deposition by impaction and sedimentation grows with particle size —
    total lung deposition (of inhaled), monodisperse, resting mouth breathing, 1→5 µm."""
    small, large = sizes
    assert _inhaled(small, **RESTING)["lung"] < _inhaled(large, **RESTING)["lung"]


@settings(max_examples=MAX_EXAMPLES)
@given(_sizes(2.0, 8.0))
def test_tracheobronchial_grows_with_size_2_to_8_um(sizes: tuple[float, float]) -> None:
    """Issue #2 "Tests": impaction-driven tracheobronchial deposition (of inhaled) grows with
    size over 2→8 µm, monodisperse, resting mouth breathing."""
    small, large = sizes
    assert (
        _inhaled(small, **RESTING)["tracheobronchial"]
        < _inhaled(large, **RESTING)["tracheobronchial"]
    )


@st.composite
def breathing(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "tidal_volume_ml": draw(st.floats(300.0, 1200.0)),
        "breaths_per_min": draw(st.floats(6.0, 30.0)),
        "inspiratory_fraction": draw(st.floats(0.2, 0.6)),
        "frc_ml": 3000.0,
        "route": draw(st.sampled_from(["mouth", "nose"])),
    }


@settings(max_examples=MAX_EXAMPLES)
@given(breathing(), _sizes(1.0, 5.0), _sizes(2.0, 8.0))
def test_intrathoracic_efficiency_grows_with_size(
    pattern: dict[str, Any], lung_sizes: tuple[float, float], tb_sizes: tuple[float, float]
) -> None:
    """Issue #2 "Tests" (impaction and sedimentation grow with size), for any breathing: of the
    aerosol that passes the ET filter, the lung share grows over 1→5 µm and the
    tracheobronchial share over 2→8 µm (monodisperse; V_T 300–1200 mL, 6–30 /min,
    inspiratory fraction 0.2–0.6, mouth or nose)."""

    def passed(d_um: float, key: str) -> float:
        f = _inhaled(d_um, **pattern)
        return f[key] / (1.0 - f["extrathoracic"])

    assert passed(lung_sizes[0], "lung") < passed(lung_sizes[1], "lung")
    assert passed(tb_sizes[0], "tracheobronchial") < passed(tb_sizes[1], "tracheobronchial")
