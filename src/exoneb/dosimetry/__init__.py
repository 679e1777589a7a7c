"""exoneb.dosimetry — how much of a nebulized dose reaches each part of the lung.

A pure NumPy/SciPy library: particle physics at airway conditions, a Weibel-A
symmetric lung scaled to the patient, per-generation deposition efficiencies,
nebulizer device chains, the ICRP-66 simplified fits as a cross-check, and
virtual cohorts. It knows nothing about patient records, databases or the web.

All internal quantities are SI (m, s, kg, Pa, K); public function arguments carry
their unit in the name (``mmad_um``, ``fill_ml``).

>>> from exoneb.dosimetry import deposit
>>> result = deposit(nebulizer="aerogen-solo", tidal_volume_ml=500, breaths_per_min=15)
>>> 0 < float(result.fractions_of_loaded["lung"]) < 1
True
"""

from exoneb.dosimetry.breathing import BreathingPattern, breathing_pattern
from exoneb.dosimetry.cohort import CohortResult, sample_subjects, simulate_cohort
from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.model import MODEL_VERSION, REGIONS, DepositionResult, deposit
from exoneb.dosimetry.nebulizers import (
    DeviceChainFractions,
    NebulizerSpec,
    device_chain,
    get_nebulizer,
    interfaces,
    nebulizer_catalog,
)

__all__ = [
    "MODEL_VERSION",
    "REGIONS",
    "BreathingPattern",
    "CohortResult",
    "DepositionResult",
    "DeviceChainFractions",
    "DosimetryInputError",
    "NebulizerSpec",
    "breathing_pattern",
    "deposit",
    "device_chain",
    "get_nebulizer",
    "interfaces",
    "nebulizer_catalog",
    "sample_subjects",
    "simulate_cohort",
]
