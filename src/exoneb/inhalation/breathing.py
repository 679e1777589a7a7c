"""The patient's breathing during nebulization: chosen patterns, measured ones, instructions.

The dose reaching the lung depends strongly on how the patient breathes: in a
bench test of a mesh nebulizer the inhaled mass was 30 % with a shallow, fast
"COPD" pattern and 54 % with slow deep breathing (``reference/clinical.md``
§3.3 item 3). The preview estimate uses the pattern the staff choose; the final
estimate can use what was measured (e.g. from a spirometer or a ventilator-style
flow sensor). :class:`Breathing` records which, so the stored estimate says it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from exoneb.dosimetry import interfaces
from exoneb.inhalation.devices import check_interface
from exoneb.inhalation.errors import InvalidInput

__all__ = [
    "BREATHING_PRESETS",
    "Breathing",
    "BreathingSource",
    "breathing_instructions",
]


class BreathingSource(StrEnum):
    """Where the breathing pattern of an estimate comes from."""

    CHOSEN = "chosen"
    MEASURED = "measured"


@dataclass(frozen=True, slots=True)
class Breathing:
    """A breathing pattern for the dose estimate.

    Ranges are checked by the dose engine (one place); here only that the
    numbers are finite, so a typo becomes a refusal rather than ``nan``.

    Attributes
    ----------
    tidal_volume_ml : float
    breaths_per_min : float
    inspiratory_fraction : float
        Share of each breath spent breathing in (the nebulizer duty cycle).
    breath_hold_s : float
    source : BreathingSource
    label : str
        A name for the pattern as shown to staff.
    """

    tidal_volume_ml: float
    breaths_per_min: float
    inspiratory_fraction: float = 0.4
    breath_hold_s: float = 0.0
    source: BreathingSource = BreathingSource.CHOSEN
    label: str = ""

    def __post_init__(self) -> None:
        for name in ("tidal_volume_ml", "breaths_per_min", "inspiratory_fraction", "breath_hold_s"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise InvalidInput(f"The breathing {name} must be a finite number (got {value}).")

    def engine_arguments(self) -> dict[str, float]:
        """The breathing part of a ``deposit()`` call."""
        return {
            "tidal_volume_ml": self.tidal_volume_ml,
            "breaths_per_min": self.breaths_per_min,
            "inspiratory_fraction": self.inspiratory_fraction,
            "breath_hold_s": self.breath_hold_s,
        }


#: Patterns staff can choose for a preview [design default, values from the cited tests].
BREATHING_PRESETS: Mapping[str, Breathing] = MappingProxyType(
    {
        "relaxed-tidal": Breathing(
            500.0, 15.0, 0.4, 0.0, label="Relaxed tidal breathing (dose engine default)"
        ),
        "shallow-fast": Breathing(
            450.0, 15.0, 0.35, 0.0, label="Shallow fast breathing (bench 'COPD' pattern)"
        ),
        "slow-deep": Breathing(
            1500.0, 5.0, 0.7, 0.0, label="Slow deep breathing (bench pattern, 1500 mL × 5/min)"
        ),
    }
)

_COMMON = (
    "Sit upright; rest 5–10 minutes before the baseline observations; blow the nose.",
    "Breathe in a relaxed, calm way; do not force the breaths.",
    "Stop and tell the nurse if you cough a lot, feel short of breath or feel unwell.",
)
_MOUTHPIECE = (
    "Close the lips around the mouthpiece and breathe through the mouth.",
    "Now and then take a slow, deeper breath and hold it briefly if that is comfortable.",
)
_MASK = (
    "Fit the mask closely over nose and mouth so that no aerosol escapes towards the eyes.",
    "Breathe normally through the mask; keep the eyes closed or protected.",
)


def breathing_instructions(interface: str) -> tuple[str, ...]:
    """The instructions to show before start, for the interface fitted.

    From ``reference/clinical.md`` §3.2–§3.3 (AARC guidance and device practice,
    [design default]): relaxed breathing, the seal, the posture.
    """
    route = interfaces()[check_interface(interface)].route
    specific = _MOUTHPIECE if route == "mouth" else _MASK
    return (*_COMMON[:2], *specific, _COMMON[2])
