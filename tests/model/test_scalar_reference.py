"""The vectorised kernel against the plain scalar implementation in ``bench/``.

The scalar code walks each generation with explicit loops and the textbook
recurrence for exhalation; the kernel uses cumulative products, lookup tables
and subject grids. Agreement here checks those shortcuts (reference/dosimetry.md
§2.4 bolus bookkeeping), not the physics constants.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from exoneb.dosimetry.breathing import breathing_pattern
from exoneb.dosimetry.deposition import (
    body_conditions,
    build_grids,
    deposit_breath,
    make_subjects,
)
from exoneb.dosimetry.model import _shared_particles


def _load_scalar_reference() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "scalar_reference.py"
    spec = importlib.util.spec_from_file_location("scalar_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scalar_reference"] = module
    spec.loader.exec_module(module)
    return module


scalar = _load_scalar_reference()

SUBJECTS = {
    # frc_ml, tidal_ml, per_min, insp_fraction, hold_s, nasal_fraction
    "rest mouth": (3300.0, 500.0, 15.0, 0.4, 0.0, 0.0),
    "deep slow hold": (2800.0, 1200.0, 6.0, 0.4, 2.0, 0.0),
    "fast nose (turbulent trachea)": (3600.0, 1500.0, 24.0, 0.3, 0.0, 1.0),
    "mixed nose/mouth, short hold": (2400.0, 450.0, 14.0, 0.45, 0.5, 0.7),
}


def _subjects(rows: list[tuple[float, ...]]):  # type: ignore[no-untyped-def]
    frc, vt, bpm, insp, hold, fn = (np.array(col) for col in zip(*rows, strict=True))
    breath = breathing_pattern(
        tidal_volume_ml=vt, breaths_per_min=bpm, inspiratory_fraction=insp, breath_hold_s=hold
    )
    return make_subjects(
        frc_m3=frc * 1e-6,
        tidal_volume_m3=breath.tidal_volume_m3,
        inhalation_s=breath.inhalation_s,
        breath_hold_s=breath.breath_hold_s,
        exhalation_s=breath.exhalation_s,
        nasal_fraction=fn,
    )


def _scalar_result(particles, subjects, conditions, i):  # type: ignore[no-untyped-def]
    subject = scalar.ScalarSubject(*(float(np.asarray(v)[i]) for v in vars(subjects).values()))
    deposited = np.zeros(25)
    exhaled = 0.0
    for b in range(particles.diameter_m.shape[1]):
        particle = scalar.ScalarParticle(
            float(particles.diameter_m[0, b]),
            float(particles.density_kg_m3[0, b]),
            float(particles.slip[0, b]),
            float(particles.diffusion_m2_s[0, b]),
            float(particles.settling_velocity_m_s[0, b]),
            float(particles.aerodynamic_diameter_m[0, b]),
        )
        dep, out = scalar.deposit_one(
            particle,
            subject,
            viscosity_pa_s=conditions.viscosity_pa_s,
            air_density_kg_m3=conditions.air_density_kg_m3,
            branching_angle_rad=conditions.branching_angle_rad,
            gravity_angle_rad=conditions.gravity_angle_rad,
        )
        weight = float(particles.mass_weight[0, b])
        deposited += weight * np.array(dep)
        exhaled += weight * out
    return deposited, exhaled


@pytest.mark.parametrize("mode", ["exact", "tables", "grids"])
@pytest.mark.parametrize("aerosol", [(3.1, 1.8), (1.0, 2.2), (6.0, 1.5)])
def test_kernel_matches_scalar_reference(mode: str, aerosol: tuple[float, float]) -> None:
    """Every compartment and the exhaled fraction agree: 1e-12 exact, 1e-5 with tables/grids."""
    particles = _shared_particles(aerosol[0], aerosol[1], 12, 0.995, False)
    subjects = _subjects(list(SUBJECTS.values()))
    conditions = body_conditions(math.radians(30), math.radians(45), exact=mode == "exact")
    grids = build_grids(particles, subjects, conditions) if mode == "grids" else None
    result = deposit_breath(particles, subjects, conditions, grids)
    tolerance = 1e-12 if mode == "exact" else 1e-5
    for i, name in enumerate(SUBJECTS):
        deposited, exhaled = _scalar_result(particles, subjects, conditions, i)
        np.testing.assert_allclose(
            result.deposited[i], deposited, rtol=0, atol=tolerance, err_msg=name
        )
        np.testing.assert_allclose(result.exhaled[i], exhaled, rtol=0, atol=tolerance, err_msg=name)
        assert abs(result.deposited[i].sum() + result.exhaled[i] - 1.0) < 1e-12
