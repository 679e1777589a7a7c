"""``make bench``: speed and memory of the dose engine.

Reports
  1. one ``deposit()`` call (median of many, µs);
  2. a 100,000-subject virtual cohort, 40 size bins, all 24 generations, three
     breath phases (a 0.5 s breath-hold makes the hold phase run): subjects per
     second of CPU time and of wall time, and peak traced memory;
  3. the same subjects through the straightforward scalar implementation in
     ``scalar_reference.py`` (a sample, extrapolated), and the speed-up.

CPU time (``time.process_time``) is reported beside wall time because the
machine may be shared; the goal in issue 2 is ≥ 15,000 subjects/s on one core
and < 1 ms per call. Speed is never asserted in tests.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import timeit
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from exoneb.dosimetry import deposit, sample_subjects
from exoneb.dosimetry.breathing import breathing_pattern
from exoneb.dosimetry.deposition import body_conditions, make_subjects
from exoneb.dosimetry.model import _shared_particles
from scalar_reference import ScalarParticle, ScalarSubject, deposit_one

N_COHORT = 100_000
N_SCALAR = 40
BREATH_HOLD_S = 0.5


def bench_single_call(repeats: int = 7, number: int = 200) -> tuple[float, float]:
    """Per-call time of ``deposit()`` in µs: best of ``repeats`` batches, and their median.

    The best batch is the usual timeit convention (the machine's noise only adds time);
    the median shows what a busy machine gives.
    """
    for _ in range(50):
        deposit()
    batches = timeit.repeat(deposit, repeat=repeats, number=number)
    return min(batches) / number * 1e6, statistics.median(batches) / number * 1e6


def _cohort_kwargs(chunk_size: int) -> dict[str, object]:
    subjects = sample_subjects(N_COHORT, seed=1)
    return {
        "sex": subjects.sex,
        "age_years": subjects.age_years,
        "height_cm": subjects.height_cm,
        "frc_ml": subjects.frc_ml,
        "tidal_volume_ml": subjects.tidal_volume_ml,
        "breaths_per_min": subjects.breaths_per_min,
        "inspiratory_fraction": subjects.inspiratory_fraction,
        "breath_hold_s": BREATH_HOLD_S,
        "n_bins": 40,
        "chunk_size": chunk_size,
    }


def bench_cohort(chunk_size: int) -> tuple[float, float]:
    """Subjects per second of CPU time and of wall time (no memory tracing: it slows NumPy)."""
    kwargs = _cohort_kwargs(chunk_size)
    wall, cpu = time.perf_counter(), time.process_time()
    deposit(**kwargs)  # type: ignore[arg-type]
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    return N_COHORT / cpu, N_COHORT / wall


def bench_memory(chunk_size: int) -> tuple[float, float]:
    """Peak traced memory of the whole call, and of the per-subject results it returns (MiB)."""
    kwargs = _cohort_kwargs(chunk_size)
    tracemalloc.start()
    result = deposit(**kwargs)  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrays = [v for v in result.fractions_of_loaded.values() if v is not None]
    arrays += [v for v in result.fractions_of_inhaled.values() if v is not None]
    arrays += [result.by_generation] if result.by_generation is not None else []
    output = sum(a.nbytes for a in arrays)
    return peak / 2**20, output / 2**20


def bench_scalar() -> float:
    subjects = sample_subjects(N_SCALAR, seed=1)
    particles = _shared_particles(3.1, 1.8, 40, 0.995, False)
    conditions = body_conditions(math.radians(30.0), math.radians(45.0))
    breath = breathing_pattern(
        tidal_volume_ml=subjects.tidal_volume_ml,
        breaths_per_min=subjects.breaths_per_min,
        inspiratory_fraction=subjects.inspiratory_fraction,
        breath_hold_s=BREATH_HOLD_S,
    )
    vector = make_subjects(
        frc_m3=subjects.frc_ml * 1e-6,
        tidal_volume_m3=breath.tidal_volume_m3,
        inhalation_s=breath.inhalation_s,
        breath_hold_s=breath.breath_hold_s,
        exhalation_s=breath.exhalation_s,
        nasal_fraction=np.zeros(N_SCALAR),
    )
    start = time.process_time()
    for i in range(N_SCALAR):
        subject = ScalarSubject(*(float(np.asarray(v)[i]) for v in vars(vector).values()))
        for b in range(particles.diameter_m.shape[1]):
            particle = ScalarParticle(
                float(particles.diameter_m[0, b]),
                float(particles.density_kg_m3[0, b]),
                float(particles.slip[0, b]),
                float(particles.diffusion_m2_s[0, b]),
                float(particles.settling_velocity_m_s[0, b]),
                float(particles.aerodynamic_diameter_m[0, b]),
            )
            deposit_one(
                particle,
                subject,
                viscosity_pa_s=conditions.viscosity_pa_s,
                air_density_kg_m3=conditions.air_density_kg_m3,
                branching_angle_rad=conditions.branching_angle_rad,
                gravity_angle_rad=conditions.gravity_angle_rad,
            )
    return N_SCALAR / (time.process_time() - start)


def main() -> None:
    print(f"numpy {np.__version__}; one core; cohort n = {N_COHORT:,}, 40 bins, 24 generations,")
    print(f"inhalation + {BREATH_HOLD_S} s breath-hold + exhalation\n")
    best_call, median_call = bench_single_call()
    timing = f"{best_call:8.0f} µs (best of 7 × 200 calls; median {median_call:.0f} µs)"
    print(f"one deposit() call:            {timing}")
    best = 0.0
    for chunk in (128, 256, 512, 1024):
        cpu_rate, wall_rate = bench_cohort(chunk)
        rates = f"{cpu_rate:8,.0f} subjects/s CPU, {wall_rate:8,.0f} wall"
        print(f"cohort, chunk {chunk:5d}:          {rates}")
        best = max(best, cpu_rate)
    peak, output = bench_memory(256)
    print(
        f"peak memory (chunk 256):       {peak:8.1f} MiB, of which {output:.1f} MiB are the results"
    )
    scalar = bench_scalar()
    print(f"scalar reference (plain math): {scalar:8,.1f} subjects/s CPU")
    print(f"speed-up of the vectorised kernel: {best / scalar:,.0f}×")


if __name__ == "__main__":
    main()
