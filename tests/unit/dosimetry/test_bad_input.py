"""Bad input to ``deposit``: every invalid input named by issue #2 is refused.

Issue #2, "Bad input": "Every out-of-range or inconsistent input (GSD < 1, MMAD outside
0.1–20 µm, negative or zero volumes, tidal volume above a physiological bound for the
subject, inspiratory fraction outside (0, 1), unknown nebulizer, unknown model) gets a
message naming the field, the value and the valid range … No silent clamping."

Each case checks the :class:`DosimetryInputError` ``.field``, that the message contains
the value given, and that it states the range: the numeric bounds (or the allowed names)
appear in the message. For inputs whose range depends on another input (residual vs
fill, tidal volume vs FRC, breath-hold vs cycle) the bound that applies to this call is
expected in numbers.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from exoneb.dosimetry import DosimetryInputError, deposit, nebulizer_catalog
from exoneb.dosimetry.airways import frc_crapo_ml

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")

#: Default subject of deposit(): male, 175 cm, 40 y → Crapo FRC 3330 mL.
DEFAULT_FRC_ML = float(frc_crapo_ml("male", 175.0, 40.0))
#: deposit() defaults: 15/min, inspiratory fraction 0.4 → period 4 s, inhalation 1.6 s,
#: so a breath-hold must stay below 2.4 s.
MAX_HOLD_S = 60.0 / 15.0 * (1.0 - 0.4)


def _numbers(message: str) -> list[float]:
    return [float(m) for m in _NUMBER.findall(message)]


def _mentions(message: str, number: float) -> bool:
    """True if ``number`` appears in ``message`` (to 1 % or 1e-9 for zero)."""
    return any(abs(n - number) <= max(1e-9, 0.01 * abs(number)) for n in _numbers(message))


#: (id, kwargs, field, value as it must appear, numbers or words that state the range)
CASES: list[tuple[str, dict[str, Any], str, Any, tuple[Any, ...]]] = [
    ("gsd-below-1", {"gsd": 0.9}, "gsd", 0.9, (1.0,)),
    ("mmad-0.05", {"mmad_um": 0.05}, "mmad_um", 0.05, (0.1, 20.0)),
    ("mmad-25", {"mmad_um": 25.0}, "mmad_um", 25.0, (0.1, 20.0)),
    ("fill-0", {"fill_ml": 0.0}, "fill_ml", 0.0, (0.0,)),
    ("fill-negative", {"fill_ml": -2.0}, "fill_ml", -2.0, (0.0,)),
    ("residual-negative", {"residual_ml": -0.1}, "residual_ml", -0.1, (0.0,)),
    ("residual-equals-fill", {"fill_ml": 2.0, "residual_ml": 2.0}, "residual_ml", 2.0, (2.0,)),
    ("residual-above-fill", {"fill_ml": 2.0, "residual_ml": 2.5}, "residual_ml", 2.5, (2.0,)),
    ("output-rate-0", {"output_rate_ml_min": 0.0}, "output_rate_ml_min", 0.0, (0.0,)),
    ("tidal-volume-0", {"tidal_volume_ml": 0.0}, "tidal_volume_ml", 0.0, (0.0,)),
    (
        "tidal-volume-above-frc",
        {"tidal_volume_ml": 4000.0},
        "tidal_volume_ml",
        4000.0,
        (DEFAULT_FRC_ML,),
    ),
    ("insp-fraction-0", {"inspiratory_fraction": 0.0}, "inspiratory_fraction", 0.0, (0.0, 1.0)),
    ("insp-fraction-1", {"inspiratory_fraction": 1.0}, "inspiratory_fraction", 1.0, (0.0, 1.0)),
    ("breath-hold-too-long", {"breath_hold_s": 5.0}, "breath_hold_s", 5.0, (MAX_HOLD_S,)),
    ("breaths-per-min-0", {"breaths_per_min": 0.0}, "breaths_per_min", 0.0, (1.0, 60.0)),
    ("breaths-per-min-100", {"breaths_per_min": 100.0}, "breaths_per_min", 100.0, (1.0, 60.0)),
    (
        "unknown-nebulizer",
        {"nebulizer": "acme-9000"},
        "nebulizer",
        "acme-9000",
        tuple(sorted(nebulizer_catalog())),
    ),
    ("unknown-model", {"model": "mppd"}, "model", "mppd", ("weibel", "icrp66")),
    (
        "unknown-interface",
        {"interface": "snorkel"},
        "interface",
        "snorkel",
        ("mouthpiece", "valved-mask", "open-aerosol-mask"),
    ),
    ("route-ear", {"route": "ear"}, "route", "ear", ("mouth", "nose")),
    (
        "nasal-fraction-1.5",
        {"route": "nose", "nasal_fraction": 1.5},
        "nasal_fraction",
        1.5,
        (0.0, 1.0),
    ),
    ("relative-humidity-1", {"relative_humidity": 1.0}, "relative_humidity", 1.0, (0.0, 1.0)),
    ("n-bins-0", {"n_bins": 0}, "n_bins", 0, (1.0,)),
    ("sex-x", {"sex": "x"}, "sex", "x", ("male", "female")),
    ("age-10", {"age_years": 10.0}, "age_years", 10.0, (15.0, 91.0)),
    ("height-300", {"height_cm": 300.0}, "height_cm", 300.0, (120.0, 220.0)),
    ("intact-fraction-1.2", {"intact_fraction": 1.2}, "intact_fraction", 1.2, (0.0, 1.0)),
    ("dose-0", {"dose_particles": 0.0}, "dose_particles", 0.0, (0.0,)),
]


@pytest.mark.parametrize(
    ("kwargs", "field", "value", "range_parts"),
    [pytest.param(kw, f, v, r, id=i) for i, kw, f, v, r in CASES],
)
def test_bad_input_is_refused(
    kwargs: dict[str, Any], field: str, value: Any, range_parts: tuple[Any, ...]
) -> None:
    """Issue #2 "Bad input": the error names the field, the value and the valid range."""
    with pytest.raises(DosimetryInputError) as info:
        deposit(**kwargs)
    error = info.value
    message = str(error)
    assert error.field == field
    assert field in message
    if isinstance(value, str):
        assert value in message
    else:
        assert _mentions(message, float(value)), f"value {value} not in {message!r}"
    for part in range_parts:
        if isinstance(part, str):
            assert part in message, f"{part!r} not in {message!r}"
        else:
            assert _mentions(message, float(part)), f"range bound {part:g} not in {message!r}"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gsd": [1.5, 2.0, 0.8]}, "gsd"),
        ({"tidal_volume_ml": [500.0, -5.0]}, "tidal_volume_ml"),
        ({"inspiratory_fraction": [0.4, 1.0]}, "inspiratory_fraction"),
        ({"mmad_um": [3.0, 30.0]}, "mmad_um"),
        ({"age_years": [40.0, 95.0]}, "age_years"),
    ],
)
def test_one_bad_element_refuses_the_array(kwargs: dict[str, Any], field: str) -> None:
    """errors.py: an array is summarised by its offending element; one bad subject is an error."""
    with pytest.raises(DosimetryInputError) as info:
        deposit(**kwargs)
    assert info.value.field == field
    bad = list(next(iter(kwargs.values())))[-1]
    assert _mentions(str(info.value), float(bad))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"inspiratory_fraction": 1.0},
        {"inspiratory_fraction": 1.0000001},
        {"gsd": 0.999},
        {"mmad_um": 20.0001},
        {"mmad_um": 0.0999},
        {"route": "nose", "nasal_fraction": 1.0001},
        {"intact_fraction": 1.0001},
        {"tidal_volume_ml": DEFAULT_FRC_ML + 1.0},
        {"breath_hold_s": MAX_HOLD_S},
    ],
)
def test_no_silent_clamping(kwargs: dict[str, Any]) -> None:
    """Issue #2 "Bad input": no silent clamping — values just past a bound raise, never return."""
    with pytest.raises(DosimetryInputError):
        deposit(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gsd": 1.0},
        {"mmad_um": 0.1},
        {"mmad_um": 20.0},
        {"route": "nose", "nasal_fraction": 0.0},
        {"route": "nose", "nasal_fraction": 1.0},
        {"intact_fraction": 0.0},
        {"intact_fraction": 1.0},
        {"tidal_volume_ml": DEFAULT_FRC_ML},
        {"breath_hold_s": MAX_HOLD_S - 0.01},
        {"breaths_per_min": 1.0},
        {"breaths_per_min": 60.0},
        {"age_years": 15.0},
        {"age_years": 91.0},
        {"residual_ml": 0.0},
    ],
)
def test_bounds_are_accepted(kwargs: dict[str, Any]) -> None:
    """Issue #2 "Bad input": the stated ranges are inclusive where they say so (≥ 1, 0.1–20 µm,
    0–1, at most FRC, 1–60 /min, 15–91 y) and the estimate is a valid fraction."""
    r = deposit(**kwargs)
    lung = np.asarray(r.fractions_of_loaded["lung"])
    assert np.all((lung >= 0) & (lung <= 1))


def test_error_is_a_value_error() -> None:
    """errors.py: DosimetryInputError is a ValueError carrying field, value and expected range."""
    with pytest.raises(ValueError, match="gsd") as info:
        deposit(gsd=0.5)
    error = info.value
    assert isinstance(error, DosimetryInputError)
    assert error.value == 0.5
    assert "1" in error.expected
