"""exoneb.dosimetry — how much of a nebulized dose reaches each part of the lung.

A pure NumPy/SciPy library: particle physics at airway conditions, a Weibel-A
symmetric lung scaled to the patient, per-generation deposition efficiencies,
nebulizer device chains, the ICRP-66 simplified fits as a cross-check, and
virtual cohorts. It knows nothing about patients records, databases or the web.

All internal quantities are SI (m, s, kg, Pa, K); public function arguments carry
their unit in the name (``mmad_um``, ``fill_ml``).
"""

from exoneb.dosimetry.errors import DosimetryInputError

__all__ = ["DosimetryInputError"]
