"""The generation-by-generation deposition kernel (Tier B of reference/dosimetry.md §0).

One breath is followed through an extrathoracic filter (mouth or nose) and the
24 generations of a symmetric Weibel-A lung, in three phases:

1. **Inhalation** — aerosol entering compartment ``i`` deposits with the
   single-pass probability ``P_in[i]``; the rest moves on or, when the tidal air
   ends there, is *parked* in ``i`` at end-inspiration. The share of the inhaled
   air that reaches a conducting generation follows plug flow through the
   dead space (ET plus the conducting tubes in front of it); air that passes
   the conducting zone is shared among the alveolated generations 17–23 in
   proportion to their volume, which is how they expand.
2. **Breath-hold** — parked aerosol settles and diffuses for ``t_bh``.
3. **Exhalation** — parked aerosol leaves through every compartment between
   it and the mouth, depositing with ``P_ex[k]`` in each.

Single-pass probabilities combine impaction (Yeh & Schum), sedimentation
(Pich, inclined Poiseuille tube) and diffusion (Ingham; Yu & Diu's form when
the Reynolds number exceeds a threshold) as independent mechanisms
(``1 − Π(1 − P)``). Flow entering alveolated generations falls as air is
taken up by expansion (LungSIM ``Calc_Flow_entrances``); a parcel never stays in
one generation longer than the phase lasts.

The kernel works on whole arrays shaped ``(subjects, size bins, compartments)``:
no Python loop runs over subjects, bins or generations. The exhalation
recurrence ``load[i] = carry[i+1] + parked[i]`` is solved in closed form with
cumulative products, ``load[i] = Σ_{j≥i} parked[j]·E[j] / E[i]`` where ``E`` is
the cumulative transmission from the mouth; transmissions are floored at
``1e-12`` so ``E`` never underflows (a probability of 1 becomes 1 − 1e-12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from exoneb.dosimetry._tables import diffusion_table, impaction_table, sedimentation_table
from exoneb.dosimetry.airways import N_GENERATIONS, weibel_a_3l
from exoneb.dosimetry.efficiency import (
    diffusion_breath_hold,
    diffusion_ingham,
    diffusion_turbulent,
    impaction_yeh_schum,
    sedimentation_pich,
    sedimentation_plug_flow,
)
from exoneb.dosimetry.extrathoracic import extrathoracic_deposition

FloatArray = NDArray[np.float64]

#: Smallest single-pass transmission kept in the exhalation recurrence.
MIN_TRANSMISSION = 1e-12

#: Reynolds number above which the turbulent (plug-flow) diffusion form is used
#: (OSP uses 2000, the LungSIM port 2300).
TURBULENT_REYNOLDS = 2000.0


@dataclass(frozen=True)
class Particles:
    """Droplet properties per size bin, at airway conditions.

    Arrays are shaped ``(S or 1, B)`` so that one aerosol can be shared by all
    subjects of a cohort, or each subject can have its own.
    """

    diameter_m: FloatArray
    density_kg_m3: FloatArray
    slip: FloatArray
    diffusion_m2_s: FloatArray
    settling_velocity_m_s: FloatArray
    aerodynamic_diameter_m: FloatArray
    mass_weight: FloatArray


@dataclass(frozen=True)
class Subjects:
    """Airway scale and breathing of each subject; every array is shaped ``(S,)``."""

    lung_scale: FloatArray
    et_volume_m3: FloatArray
    tidal_volume_m3: FloatArray
    inhalation_s: FloatArray
    breath_hold_s: FloatArray
    exhalation_s: FloatArray
    nasal_fraction: FloatArray


@dataclass(frozen=True)
class Conditions:
    """Scalars shared by the whole calculation.

    ``exact=True`` evaluates the efficiency functions directly instead of through
    the lookup tables of :mod:`exoneb.dosimetry._tables` (slower; for validation).
    """

    viscosity_pa_s: float
    air_density_kg_m3: float
    branching_angle_rad: float
    gravity_angle_rad: float
    turbulent_reynolds: float = TURBULENT_REYNOLDS
    exact: bool = False


@dataclass(frozen=True)
class KernelResult:
    """Mass-weighted fractions of the inhaled aerosol, per subject.

    ``deposited`` is shaped ``(S, 25)``: column 0 is the extrathoracic region,
    columns 1–24 generations 0–23. ``by_phase`` is shaped ``(3, S, 25)`` for
    inhalation, breath-hold and exhalation. ``exhaled`` is ``(S,)``.
    """

    deposited: FloatArray
    by_phase: FloatArray
    exhaled: FloatArray


def _geometry_constants() -> tuple[FloatArray, ...]:
    """Per-generation constants of the 3 L tree that do not depend on the subject."""
    table = weibel_a_3l()
    total_volume = table.tube_volume_m3 + table.alveolar_volume_m3
    volume_in_front = np.concatenate(([0.0], np.cumsum(total_volume)[:-1]))
    return table.diameter_m, table.length_m, table.n_tubes, total_volume, volume_in_front


def deposit_breath(
    particles: Particles, subjects: Subjects, conditions: Conditions
) -> KernelResult:
    """Deposition of one breath for every subject and size bin, mass-weighted over bins.

    Parameters
    ----------
    particles : Particles
        Shapes ``(S or 1, B)``.
    subjects : Subjects
        Shapes ``(S,)``.
    conditions : Conditions

    Returns
    -------
    KernelResult
        Fractions of the inhaled aerosol (mass basis); per subject they sum to 1
        (``deposited.sum(axis=1) + exhaled``) to rounding.
    """
    d_ref, _l_ref, n_tubes, volume_ref, front_ref = _geometry_constants()
    s = subjects.lung_scale[:, None]  # (S, 1)
    diameter = s * d_ref  # (S, G)
    radius = diameter / 2.0
    cross_section = n_tubes * (math.pi / 4.0) * diameter**2
    volume = s**3 * volume_ref  # (S, G): tubes plus alveoli of each generation
    vt = subjects.tidal_volume_m3[:, None]

    # Share of the inhaled aerosol entering each compartment (ET + 24 generations):
    # plug flow, the first air in goes deepest and the last V_ET stays in the ET region.
    in_front = subjects.et_volume_m3[:, None] + s**3 * front_ref
    reach_gen = np.clip((vt - in_front) / vt, 0.0, 1.0)
    reach = np.concatenate((np.ones_like(vt), reach_gen, np.zeros_like(vt)), axis=1)  # (S, 26)

    p_in = _single_pass(particles, subjects, conditions, diameter, cross_section, volume, "in")
    p_ex = _single_pass(particles, subjects, conditions, diameter, cross_section, volume, "out")

    # Inhalation: survival to the entrance of each compartment (exclusive cumulative product).
    transmission_in = 1.0 - p_in
    survival = np.cumprod(transmission_in, axis=2)
    survival = np.concatenate((np.ones_like(survival[..., :1]), survival[..., :-1]), axis=2)
    reach_b = reach[:, None, :]
    dep_in = survival * p_in * reach_b[..., :-1]
    parked = survival * transmission_in * (reach_b[..., :-1] - reach_b[..., 1:])

    # Breath-hold: parked aerosol settles and diffuses (no ET deposition during the hold).
    dep_hold = _breath_hold(particles, subjects, conditions, radius, parked)
    remaining = parked - dep_hold

    # Exhalation, in closed form (see module docstring).
    transmission_ex = np.maximum(1.0 - p_ex, MIN_TRANSMISSION)
    cumulative = np.cumprod(transmission_ex, axis=2)  # E[i]
    outward = np.cumsum((remaining * cumulative)[..., ::-1], axis=2)[..., ::-1]
    load = outward / cumulative
    dep_ex = load * (1.0 - transmission_ex)
    exhaled_bins = outward[..., 0] * 1.0  # Σ_j r_j E_j

    w = particles.mass_weight[..., None]
    by_phase = np.stack(
        [(dep_in * w).sum(axis=1), (dep_hold * w).sum(axis=1), (dep_ex * w).sum(axis=1)]
    )
    exhaled = (exhaled_bins * particles.mass_weight).sum(axis=1)
    return KernelResult(deposited=by_phase.sum(axis=0), by_phase=by_phase, exhaled=exhaled)


def _single_pass(
    particles: Particles,
    subjects: Subjects,
    conditions: Conditions,
    diameter: FloatArray,
    cross_section: FloatArray,
    volume: FloatArray,
    phase: str,
) -> FloatArray:
    """Single-pass deposition probability, shaped ``(S, B, 25)`` (ET first)."""
    duration = subjects.inhalation_s if phase == "in" else subjects.exhalation_s
    flow = subjects.tidal_volume_m3 / duration  # (S,)
    velocity = flow[:, None] / cross_section  # (S, G), mean velocity in the tubes
    residence = volume / flow[:, None]  # time to sweep the generation's tubes and alveoli
    mu = conditions.viscosity_pa_s
    inertia = particles.density_kg_m3 * particles.slip * particles.diameter_m**2 / (18.0 * mu)
    settle = 0.75 * math.cos(conditions.gravity_angle_rad) * particles.settling_velocity_m_s
    reynolds = conditions.air_density_kg_m3 * velocity * diameter / mu
    turbulent = reynolds > conditions.turbulent_reynolds
    # Each mechanism's dimensionless number is (per-bin factor) × (per-subject-and-generation
    # factor): impaction θ·St = θ·ρCd²/(18μ) · U/D_t (Yeh & Schum), sedimentation
    # ε = ¾ v_s cosφ · t/D_t (Pich), diffusion Δ = D · t/D_t² (Ingham).
    factors = (
        (conditions.branching_angle_rad * inertia, velocity / diameter),
        (settle, residence / diameter),
        (particles.diffusion_m2_s, residence / diameter**2),
    )
    if conditions.exact:
        p_imp, p_sed, p_dif = (
            function(per_bin[..., None] * per_airway[:, None], check=False)
            for function, (per_bin, per_airway) in zip(
                (impaction_yeh_schum, sedimentation_pich, diffusion_ingham), factors, strict=True
            )
        )
    else:
        p_imp, p_sed, p_dif = (
            table()(np.log(per_bin)[..., None] + np.log(per_airway)[:, None])
            for table, (per_bin, per_airway) in zip(
                (impaction_table, sedimentation_table, diffusion_table), factors, strict=True
            )
        )
    columns = np.flatnonzero(turbulent.any(axis=0))
    if columns.size:
        cols = slice(0, int(columns.max()) + 1)
        per_bin, per_airway = factors[2]
        delta = per_bin[..., None] * per_airway[:, None, cols]
        p_dif[..., cols] = np.where(
            turbulent[:, None, cols], diffusion_turbulent(delta, check=False), p_dif[..., cols]
        )

    # Independent mechanisms: P = 1 − (1 − P_I)(1 − P_S)(1 − P_D), computed in place.
    np.subtract(1.0, p_imp, out=p_imp)
    np.subtract(1.0, p_sed, out=p_sed)
    np.subtract(1.0, p_dif, out=p_dif)
    p_imp *= p_sed
    p_imp *= p_dif
    p_gen = np.subtract(1.0, p_imp, out=p_imp)
    p_et = extrathoracic_deposition(
        particles.aerodynamic_diameter_m,
        particles.diffusion_m2_s,
        flow[:, None],
        "inhalation" if phase == "in" else "exhalation",
        subjects.nasal_fraction[:, None],
    )
    p_et = np.broadcast_to(p_et, p_gen.shape[:2])
    return np.concatenate((p_et[..., None], p_gen), axis=2)


def _breath_hold(
    particles: Particles,
    subjects: Subjects,
    conditions: Conditions,
    radius: FloatArray,
    parked: FloatArray,
) -> FloatArray:
    """Deposition of the parked aerosol during the breath-hold, ``(S, B, 25)``."""
    hold = subjects.breath_hold_s
    if not np.any(hold > 0):
        return np.zeros_like(parked)
    t_over_r = (hold[:, None] / radius)[:, None]  # (S, 1, G)
    cos_phi = math.cos(conditions.gravity_angle_rad)
    p_sed = sedimentation_plug_flow(
        particles.settling_velocity_m_s[..., None] * cos_phi * t_over_r, check=False
    )
    p_dif = diffusion_breath_hold(
        particles.diffusion_m2_s[..., None] * t_over_r / radius[:, None], check=False
    )
    p_gen = 1.0 - (1.0 - p_sed) * (1.0 - p_dif)
    p = np.concatenate((np.zeros_like(p_gen[..., :1]), p_gen), axis=2)
    return parked * p


__all__ = [
    "MIN_TRANSMISSION",
    "N_GENERATIONS",
    "TURBULENT_REYNOLDS",
    "Conditions",
    "KernelResult",
    "Particles",
    "Subjects",
    "deposit_breath",
]
