"""Airway geometry: the Weibel-A symmetric lung scaled to the patient.

The tree has generations 0 (trachea) to 23 (alveolar sacs), each with ``2**z``
identical tubes. Dimensions come from the Weibel (1963) model A scaled to a 3 L
lung (Finlay et al. 2000, as in the OSP Inhalation-model); a patient's lung is
scaled isotropically, lengths and diameters as ``(V / 3000 mL)**(1/3)``, which
is what the public peers do (reference/dosimetry.md §1.4, §2.1).

Regions follow ICRP 66: bronchial (BB) generations 0–8, bronchiolar (bb) 9–15,
alveolar-interstitial (AI) 16–23.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exoneb.dosimetry._data import read_data_text
from exoneb.dosimetry._validation import require_where
from exoneb.dosimetry.errors import DosimetryInputError

FloatArray = NDArray[np.float64]

#: Total lung volume the 3 L Weibel table describes, in m³ (Finlay et al. 2000).
REFERENCE_LUNG_VOLUME_M3 = 3000e-6

#: Generations of the symmetric tree.
N_GENERATIONS = 24

#: ICRP-66 regions as half-open generation ranges.
REGION_GENERATIONS: dict[str, range] = {
    "bronchial": range(0, 9),
    "bronchiolar": range(9, 16),
    "alveolar": range(16, 24),
}

#: Extrathoracic dead space of the ICRP-66 reference adult male (Table 15): 50 mL at FRC 3301 mL.
ICRP_ET_DEAD_SPACE_M3 = 50e-6
ICRP_REFERENCE_FRC_M3 = 3301e-6

Sex = Literal["male", "female"]


@dataclass(frozen=True)
class WeibelTable:
    """The 3 L-scaled Weibel-A morphometry, SI units, one entry per generation.

    Attributes
    ----------
    generation : ndarray of int
    n_tubes : ndarray of float
        ``2**generation``.
    diameter_m, length_m : ndarray
        Tube diameter and length of the 3 L lung.
    tube_volume_m3 : ndarray
        Volume of all tubes of the generation, ``n·π·d²/4·L``.
    alveolar_volume_m3 : ndarray
        Alveolar volume added to generations 17–23 so that the lung holds 3 L
        (OSP ``data_alv_frac_value`` × the missing volume).
    """

    generation: NDArray[np.int64]
    n_tubes: FloatArray
    diameter_m: FloatArray
    length_m: FloatArray
    tube_volume_m3: FloatArray
    alveolar_volume_m3: FloatArray


@lru_cache(maxsize=1)
def weibel_a_3l() -> WeibelTable:
    """Return the 3 L-scaled Weibel-A table (``data/weibel_a.csv``, sha256-checked).

    The alveolar add-on is the volume missing from the tubes to reach 3000 mL,
    distributed with the published fractions; it is computed, not hard-coded,
    so that it stays consistent with the tube dimensions (2002 mL in the reference).
    """
    rows = list(csv.DictReader(io.StringIO(read_data_text("weibel_a.csv"))))
    gen = np.array([int(r["gen"]) for r in rows], dtype=np.int64)
    n = np.array([float(r["n"]) for r in rows])
    d = np.array([float(r["d_3l_cm"]) for r in rows]) * 1e-2
    length = np.array([float(r["l_3l_cm"]) for r in rows]) * 1e-2
    alv_frac = np.array([float(r["alv_vol_frac"]) for r in rows])
    tube_volume = n * math.pi * d**2 / 4.0 * length
    missing = REFERENCE_LUNG_VOLUME_M3 - float(tube_volume.sum())
    alv_volume = alv_frac / alv_frac.sum() * missing
    for arr in (gen, n, d, length, tube_volume, alv_volume):
        arr.setflags(write=False)
    return WeibelTable(gen, n, d, length, tube_volume, alv_volume)


def region_of_generation(generation: int) -> str:
    """Name the ICRP-66 region a generation belongs to."""
    for name, gens in REGION_GENERATIONS.items():
        if generation in gens:
            return name
    raise DosimetryInputError("generation", generation, "an integer from 0 to 23")


def frc_crapo_ml(sex: ArrayLike, height_cm: ArrayLike, age_years: ArrayLike) -> FloatArray:
    """Predicted functional residual capacity (Crapo et al. 1982), in mL.

    ``FRC_male = 0.0472·H + 0.009·age − 5.29`` and
    ``FRC_female = 0.0360·H + 0.0031·age − 3.182`` (litres, H in cm), derived
    from white adults aged 15–91 (reference/dosimetry.md §1.4). Used to scale
    the airway tree when the patient's measured FRC is not known.

    Parameters
    ----------
    sex : {"male", "female"} or array of them
    height_cm : float or array
        Standing height, 120–220 cm.
    age_years : float or array
        15–91 years, the range of the equations.

    Returns
    -------
    ndarray
        FRC in mL, broadcast over the inputs.
    """
    sex_arr = parse_sex(sex)
    height = require_where(
        "height_cm", height_cm, lambda h: (h >= 120) & (h <= 220), "120 to 220 cm"
    )
    age = require_where(
        "age_years",
        age_years,
        lambda a: (a >= 15) & (a <= 91),
        "15 to 91 years (the range of the Crapo 1982 equations)",
    )
    male = 0.0472 * height + 0.009 * age - 5.29
    female = 0.0360 * height + 0.0031 * age - 3.182
    frc_l = np.where(sex_arr, male, female)
    return np.asarray(frc_l * 1000.0, dtype=np.float64)


def parse_sex(sex: ArrayLike) -> NDArray[np.bool_]:
    """Return True where ``sex`` is male; accepts "male"/"female" and "M"/"F" in any case."""
    if isinstance(sex, str):  # the common single-patient case, without NumPy string ops
        if sex.lower() in ("male", "m"):
            return np.asarray(True)
        if sex.lower() in ("female", "f"):
            return np.asarray(False)
    arr = np.asarray(sex)
    lowered = np.char.lower(arr.astype(str))
    male = np.isin(lowered, ("male", "m"))
    female = np.isin(lowered, ("female", "f"))
    bad = ~(male | female)
    if np.any(bad):
        raise DosimetryInputError("sex", arr[bad].flat[0].item(), '"male" or "female" (or M/F)')
    return np.asarray(male)


def lung_scale_factor(lung_volume_m3: ArrayLike) -> FloatArray:
    """Isotropic length scale of the tree for a lung holding ``lung_volume_m3``."""
    vol = np.asarray(lung_volume_m3, dtype=np.float64)
    return np.asarray(np.cbrt(vol / REFERENCE_LUNG_VOLUME_M3), dtype=np.float64)
