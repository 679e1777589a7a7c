"""Virtual cohorts: the spread of lung dose across a realistic adult population.

Each subject gets a sex, age, height, FRC and relaxed tidal-breathing pattern
drawn from the distributions below, seeded so that a cohort can be reproduced
exactly. All distributions are **design defaults** (plausible adult values,
not fitted to a survey); a trial can pass its own subject arrays to
:func:`exoneb.dosimetry.deposit` instead.

| quantity | distribution |
|---|---|
| sex | male or female, 1:1 |
| age | uniform 18–80 years |
| height | normal, male 175.5 ± 7.0 cm, female 162.5 ± 6.5 cm, truncated to 145–205 cm |
| FRC | Crapo 1982 prediction × lognormal factor (σ = 0.15, truncated at ±2.5σ) |
| tidal volume | normal 550 ± 100 mL (male), 450 ± 90 mL (female), truncated to 250–1000 mL |
| breathing rate | normal 14 ± 3 /min, truncated to 8–24 /min |
| inspiratory fraction | normal 0.40 ± 0.05, truncated to 0.30–0.50 |
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from exoneb.dosimetry.airways import frc_crapo_ml
from exoneb.dosimetry.errors import DosimetryInputError
from exoneb.dosimetry.model import REGIONS, DepositionResult, deposit

FloatArray = NDArray[np.float64]
PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class VirtualSubjects:
    """Sampled subjects, one array element each."""

    sex: NDArray[np.str_]
    age_years: FloatArray
    height_cm: FloatArray
    frc_ml: FloatArray
    tidal_volume_ml: FloatArray
    breaths_per_min: FloatArray
    inspiratory_fraction: FloatArray


@dataclass(frozen=True)
class CohortResult:
    """Per-subject estimates and their percentiles."""

    n: int
    seed: int
    subjects: VirtualSubjects
    result: DepositionResult
    percentiles: dict[str, dict[str, float]]
    subjects_per_second: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed by ``exoneb cohort --json``."""
        return {
            "n": self.n,
            "seed": self.seed,
            "model": self.result.model,
            "model_version": self.result.model_version,
            "nebulizer": self.result.inputs["nebulizer"],
            "percentiles": self.percentiles,
            "subjects_per_second": self.subjects_per_second,
        }


def _truncated_normal(
    rng: np.random.Generator, mean: FloatArray | float, sd: float, low: float, high: float, n: int
) -> FloatArray:
    mean_arr = np.broadcast_to(np.asarray(mean, dtype=np.float64), (n,))
    a = (low - mean_arr) / sd
    b = (high - mean_arr) / sd
    return np.asarray(stats.truncnorm.rvs(a, b, loc=mean_arr, scale=sd, size=n, random_state=rng))


def sample_subjects(n: int, seed: int) -> VirtualSubjects:
    """Draw ``n`` adult subjects reproducibly from ``seed`` (see module docstring)."""
    if not (isinstance(n, int) and n >= 1):
        raise DosimetryInputError("n", n, "an integer ≥ 1")
    if not (isinstance(seed, int) and seed >= 0):
        raise DosimetryInputError("seed", seed, "an integer ≥ 0")
    rng = np.random.default_rng(seed)
    male = rng.random(n) < 0.5
    sex = np.where(male, "male", "female")
    age = rng.uniform(18.0, 80.0, n)
    height = _truncated_normal(rng, np.where(male, 175.5, 162.5), 7.0, 145.0, 205.0, n)
    frc = frc_crapo_ml(sex, height, age) * np.exp(
        _truncated_normal(rng, 0.0, 0.15, -0.375, 0.375, n)
    )
    tidal = _truncated_normal(rng, np.where(male, 550.0, 450.0), 100.0, 250.0, 1000.0, n)
    rate = _truncated_normal(rng, 14.0, 3.0, 8.0, 24.0, n)
    insp = _truncated_normal(rng, 0.40, 0.05, 0.30, 0.50, n)
    return VirtualSubjects(sex, age, height, frc, tidal, rate, insp)


def simulate_cohort(
    n: int = 1000, seed: int = 0, *, chunk_size: int = 256, **device: Any
) -> CohortResult:
    """Estimate the dose for ``n`` virtual subjects breathing from one device.

    Parameters
    ----------
    n, seed : int
        Cohort size and random seed (same seed, same cohort).
    chunk_size : int
        Subjects per vectorised block.
    **device
        Any :func:`deposit` argument that is not a subject characteristic
        (``nebulizer``, ``mmad_um``, ``fill_ml``, ``route``, ``model``, ``dose_particles`` …).

    Returns
    -------
    CohortResult
        With the 5th, 25th, 50th, 75th and 95th percentiles of each region's
        fraction of the loaded dose.
    """
    subject_keys = {
        "sex",
        "age_years",
        "height_cm",
        "frc_ml",
        "tidal_volume_ml",
        "breaths_per_min",
        "inspiratory_fraction",
    }
    clash = subject_keys & set(device)
    if clash:
        raise DosimetryInputError(
            sorted(clash)[0],
            device[sorted(clash)[0]],
            "not set for a cohort",
            "A virtual cohort samples the subjects; pass a device and breathing options only.",
        )
    subjects = sample_subjects(n, seed)
    started = time.perf_counter()
    result = deposit(
        sex=subjects.sex,
        age_years=subjects.age_years,
        height_cm=subjects.height_cm,
        frc_ml=subjects.frc_ml,
        tidal_volume_ml=subjects.tidal_volume_ml,
        breaths_per_min=subjects.breaths_per_min,
        inspiratory_fraction=subjects.inspiratory_fraction,
        chunk_size=chunk_size,
        **device,
    )
    elapsed = time.perf_counter() - started
    percentiles: dict[str, dict[str, float]] = {}
    for region in REGIONS:
        values = result.fractions_of_loaded.get(region)
        if values is None:
            continue
        qs = np.percentile(values, PERCENTILES)
        percentiles[region] = {f"p{p}": float(q) for p, q in zip(PERCENTILES, qs, strict=True)}
    return CohortResult(
        n=n,
        seed=seed,
        subjects=subjects,
        result=result,
        percentiles=percentiles,
        subjects_per_second=n / elapsed if elapsed > 0 else float("inf"),
    )
