"""The generation-by-generation deposition kernel (Tier B of reference/dosimetry.md §0).

One breath is followed through an extrathoracic filter (mouth or nose) and the
24 generations of a symmetric Weibel-A lung, in three phases, as in the OSP
Inhalation-model's bolus algorithm (reference/dosimetry.md §2.4):

1. **Inhalation** — aerosol entering compartment ``i`` deposits with the
   single-pass probability ``P_in[i]``; the rest moves on or, when the tidal air
   ends there, is *parked* in ``i`` at end-inspiration. Plug flow: the first air
   in goes deepest, so the share of the breath reaching generation ``i`` is
   ``(V_T − V_in_front) / V_T``, the volume in front counting the ET dead space and
   every generation's tubes and alveoli.
2. **Breath-hold** — parked aerosol settles and diffuses in still air for ``t_bh``.
3. **Exhalation** — parked aerosol leaves through every compartment between
   it and the mouth, depositing with ``P_ex[k]`` in each.

Single-pass probabilities combine impaction (Yeh & Schum), sedimentation
(Pich, inclined Poiseuille tube) and diffusion (Ingham; Yu & Diu's form when
the Reynolds number exceeds a threshold) as independent mechanisms
(``1 − Π(1 − P)``). The residence time in a generation is its volume (tubes and
alveoli) over the flow, so a parcel's time along its path never exceeds the
phase.

The kernel works on whole arrays shaped ``(subjects, size bins, compartments)``:
no Python loop runs over subjects, bins or generations. The exhalation
recurrence ``load[i] = carry[i+1] + parked[i]`` is solved in closed form with
cumulative products, ``load[i] = Σ_{j≥i} parked[j]·E[j] / E[i]`` where ``E`` is
the cumulative transmission from the mouth; transmissions are floored at
``1e-12`` so ``E`` never underflows (a probability of 1 becomes 1 − 1e-12).
How the mechanisms are evaluated quickly is explained in
:mod:`exoneb.dosimetry._mechanisms`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from exoneb.dosimetry._mechanisms import SubjectGrid, Workspace, transmission
from exoneb.dosimetry._tables import diffusion_table, impaction_table, sedimentation_table
from exoneb.dosimetry.airways import (
    ICRP_ET_DEAD_SPACE_M3,
    ICRP_REFERENCE_FRC_M3,
    N_GENERATIONS,
    lung_scale_factor,
    weibel_a_3l,
)
from exoneb.dosimetry.constants import (
    AIR_MOLAR_MASS_KG_MOL,
    BODY_TEMPERATURE_K,
    GAS_CONSTANT_J_MOL_K,
    STANDARD_PRESSURE_PA,
)
from exoneb.dosimetry.efficiency import (
    BREATH_HOLD_DIFFUSION_RATE,
    diffusion_breath_hold,
    diffusion_ingham,
    diffusion_turbulent,
    impaction_yeh_schum,
    sedimentation_pich,
    sedimentation_plug_flow,
)
from exoneb.dosimetry.extrathoracic import extrathoracic_deposition, extrathoracic_ncrp96
from exoneb.dosimetry.particles import air_viscosity

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


def make_subjects(
    *,
    frc_m3: FloatArray,
    tidal_volume_m3: FloatArray,
    inhalation_s: FloatArray,
    breath_hold_s: FloatArray,
    exhalation_s: FloatArray,
    nasal_fraction: FloatArray,
) -> Subjects:
    """Subjects with their airway scale: the tree is sized for FRC plus half a tidal volume.

    The extrathoracic dead space scales with FRC from the ICRP-66 adult male
    (50 mL at 3301 mL, Table 15).
    """
    return Subjects(
        lung_scale=lung_scale_factor(frc_m3 + tidal_volume_m3 / 2.0),
        et_volume_m3=np.asarray(ICRP_ET_DEAD_SPACE_M3 * frc_m3 / ICRP_REFERENCE_FRC_M3),
        tidal_volume_m3=tidal_volume_m3,
        inhalation_s=inhalation_s,
        breath_hold_s=breath_hold_s,
        exhalation_s=exhalation_s,
        nasal_fraction=nasal_fraction,
    )


@lru_cache(maxsize=16)
def body_conditions(
    branching_angle_rad: float, gravity_angle_rad: float, *, exact: bool = False
) -> Conditions:
    """Air at 37 °C and 1 atm: Sutherland viscosity and ideal-gas density."""
    density = (
        STANDARD_PRESSURE_PA * AIR_MOLAR_MASS_KG_MOL / (GAS_CONSTANT_J_MOL_K * BODY_TEMPERATURE_K)
    )
    return Conditions(
        viscosity_pa_s=float(air_viscosity(BODY_TEMPERATURE_K)),
        air_density_kg_m3=density,
        branching_angle_rad=branching_angle_rad,
        gravity_angle_rad=gravity_angle_rad,
        exact=exact,
    )


@dataclass(frozen=True)
class _Tree:
    """Per-generation constants of the 3 L tree (shape ``(G,)``), independent of the subject."""

    front_volume_m3: FloatArray  # tubes and alveoli in front of each generation
    impaction: FloatArray  # 1/(n·π/4·d³)
    sedimentation: FloatArray  # V/d
    diffusion: FloatArray  # V/d²
    reynolds: FloatArray  # 1/(n·π/4·d)
    hold_sedimentation: FloatArray  # 2/d: v_s·cosφ·t/R = v_s·cosφ · (2/d) · t/s
    hold_diffusion: FloatArray  # 4·5.784/d²


@lru_cache(maxsize=1)
def _tree() -> _Tree:
    table = weibel_a_3l()
    d, n = table.diameter_m, table.n_tubes
    volume = table.tube_volume_m3 + table.alveolar_volume_m3
    return _Tree(
        front_volume_m3=np.concatenate(([0.0], np.cumsum(volume)[:-1])),
        impaction=1.0 / (n * (math.pi / 4.0) * d**3),
        sedimentation=volume / d,
        diffusion=volume / d**2,
        reynolds=1.0 / (n * (math.pi / 4.0) * d),
        hold_sedimentation=2.0 / d,
        hold_diffusion=4.0 * BREATH_HOLD_DIFFUSION_RATE / d**2,
    )


@dataclass(frozen=True)
class _BinFactors:
    """Per-bin × per-generation factors ``c`` (shape ``(S or 1, B, G)``), see ``_mechanisms``."""

    impaction: FloatArray
    sedimentation: FloatArray
    diffusion: FloatArray
    hold_sedimentation: FloatArray
    hold_diffusion: FloatArray


def _bin_factors(particles: Particles, conditions: Conditions) -> _BinFactors:
    tree = _tree()
    cos_phi = math.cos(conditions.gravity_angle_rad)
    inertia = (
        conditions.branching_angle_rad
        * particles.density_kg_m3
        * particles.slip
        * particles.diameter_m**2
        / (18.0 * conditions.viscosity_pa_s)
    )
    settle = particles.settling_velocity_m_s * cos_phi
    diff = particles.diffusion_m2_s
    return _BinFactors(
        impaction=inertia[..., None] * tree.impaction,
        sedimentation=(0.75 * settle)[..., None] * tree.sedimentation,
        diffusion=diff[..., None] * tree.diffusion,
        hold_sedimentation=settle[..., None] * tree.hold_sedimentation,
        hold_diffusion=diff[..., None] * tree.hold_diffusion,
    )


def _flow(subjects: Subjects, phase: str) -> FloatArray:
    duration = subjects.inhalation_s if phase == "in" else subjects.exhalation_s
    return np.asarray(subjects.tidal_volume_m3 / duration)


def _subject_factors(subjects: Subjects, phase: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-subject ``u`` of impaction, sedimentation and diffusion for one phase."""
    s = subjects.lung_scale
    q = _flow(subjects, phase)
    return q / s**3, s**2 / q, s / q


@dataclass(frozen=True)
class KernelGrids:
    """Subject grids for one shared aerosol, built once for all subjects of a call."""

    passes: dict[str, tuple[SubjectGrid, SubjectGrid, SubjectGrid]]
    hold: tuple[SubjectGrid, SubjectGrid] | None
    #: Extrathoracic transmission per phase and route ("nasal", "oral") as a function of flow.
    extrathoracic: dict[tuple[str, str], SubjectGrid]
    #: When every subject holds the breath for the same time: the joint still-air
    #: transmission as a function of the lung scale alone (one lookup instead of two).
    hold_by_scale: tuple[float, SubjectGrid] | None = None


def build_grids(particles: Particles, subjects: Subjects, conditions: Conditions) -> KernelGrids:
    """Tabulate each mechanism's transmissions over the range of ``subjects`` (all of them).

    Only for an aerosol shared by every subject (``particles`` arrays shaped ``(1, B)``).
    """
    if particles.diameter_m.shape[0] != 1:
        raise ValueError("subject grids need one aerosol shared by all subjects")
    c = _bin_factors(particles, conditions)
    passes = {}
    for phase in ("in", "out"):
        u_imp, u_sed, u_dif = _subject_factors(subjects, phase)
        passes[phase] = (
            SubjectGrid.build(
                impaction_yeh_schum, c.impaction, float(u_imp.min()), float(u_imp.max())
            ),
            SubjectGrid.build(
                sedimentation_pich, c.sedimentation, float(u_sed.min()), float(u_sed.max())
            ),
            SubjectGrid.build(
                diffusion_ingham, c.diffusion, float(u_dif.min()), float(u_dif.max())
            ),
        )
    extrathoracic = {}
    routes = [
        route
        for route, used in (
            ("nasal", np.any(subjects.nasal_fraction > 0)),
            ("oral", np.any(subjects.nasal_fraction < 1)),
        )
        if used
    ]
    for phase in ("in", "out"):
        flow = _flow(subjects, phase)
        for route in routes:
            extrathoracic[(phase, route)] = SubjectGrid.from_function(
                _et_transmission(particles, route, phase), float(flow.min()), float(flow.max())
            )
    hold = None
    hold_by_scale = None
    t_bh = subjects.breath_hold_s
    if np.any(t_bh > 0) and np.all(t_bh == t_bh.flat[0]):
        hold_s = float(t_bh.flat[0])
        scale = subjects.lung_scale
        hold_by_scale = (
            hold_s,
            SubjectGrid.from_function(
                _hold_transmission_of_scale(c, hold_s), float(scale.min()), float(scale.max())
            ),
        )
    elif np.any(t_bh > 0):
        s = subjects.lung_scale[t_bh > 0]
        t = t_bh[t_bh > 0]
        hold = (
            SubjectGrid.build(
                sedimentation_plug_flow,
                c.hold_sedimentation,
                float((t / s).min()),
                float((t / s).max()),
            ),
            SubjectGrid.build(
                _still_air_diffusion,
                c.hold_diffusion,
                float((t / s**2).min()),
                float((t / s**2).max()),
            ),
        )
    return KernelGrids(passes, hold, extrathoracic, hold_by_scale)


def _hold_transmission_of_scale(
    c: _BinFactors, hold_s: float
) -> Callable[[FloatArray], FloatArray]:
    """``s ↦ exp(−(2/π)·c_S·t/s − c_D·t/s²)``: still-air survival for a fixed hold time."""

    def transmission_of_scale(scale: FloatArray) -> FloatArray:
        u_sed = (hold_s / scale)[:, None, None]
        u_dif = (hold_s / scale**2)[:, None, None]
        exponent = c.hold_sedimentation[0][None] * ((-2.0 / math.pi) * u_sed)
        exponent -= c.hold_diffusion[0][None] * u_dif
        return np.asarray(np.exp(exponent))

    return transmission_of_scale


def _et_transmission(
    particles: Particles, route: str, phase: str
) -> Callable[[FloatArray], FloatArray]:
    """``flow ↦ 1 − ET(route, phase)`` for every bin, for :meth:`SubjectGrid.from_function`."""

    def transmission_of_flow(flow: FloatArray) -> FloatArray:
        deposited = extrathoracic_ncrp96(
            particles.aerodynamic_diameter_m[0][None, :],
            particles.diffusion_m2_s[0][None, :],
            flow[:, None],
            route,  # type: ignore[arg-type]
            "inhalation" if phase == "in" else "exhalation",
            check=False,
        )
        return np.asarray(1.0 - deposited, dtype=np.float64)

    return transmission_of_flow


def _still_air_diffusion(x: FloatArray, *, check: bool = False) -> FloatArray:
    """``1 − exp(−x)`` where ``x`` already includes the 5.784 rate (see ``_Tree``)."""
    return np.asarray(
        diffusion_breath_hold(x / BREATH_HOLD_DIFFUSION_RATE, check=check), dtype=np.float64
    )


def deposit_breath(
    particles: Particles,
    subjects: Subjects,
    conditions: Conditions,
    grids: KernelGrids | None = None,
    workspace: Workspace | None = None,
) -> KernelResult:
    """Deposition of one breath for every subject and size bin, mass-weighted over bins.

    Parameters
    ----------
    particles : Particles
        Shapes ``(S or 1, B)``.
    subjects : Subjects
        Shapes ``(S,)``.
    conditions : Conditions
    grids : KernelGrids, optional
        From :func:`build_grids` over a superset of these subjects (fast path for cohorts).
    workspace : Workspace, optional
        Work arrays to reuse across calls on chunks of the same size (saves page faults).

    Returns
    -------
    KernelResult
        Fractions of the inhaled aerosol (mass basis); per subject they sum to 1
        (``deposited.sum(axis=1) + exhaled``) to rounding.
    """
    tree = _tree()
    ws = workspace if workspace is not None else Workspace()
    s = subjects.lung_scale[:, None]  # (S, 1)
    vt = subjects.tidal_volume_m3[:, None]

    # Share of the inhaled aerosol entering each generation (plug flow). Generations that no
    # subject of this block reaches hold no aerosol and are left out of the arrays.
    in_front = subjects.et_volume_m3[:, None] + s**3 * tree.front_volume_m3
    reach_gen = np.clip((vt - in_front) / vt, 0.0, 1.0)
    n_gen = int(np.count_nonzero(reach_gen.max(axis=0) > 0.0))
    reach = np.concatenate((np.ones_like(vt), reach_gen[:, :n_gen], np.zeros_like(vt)), axis=1)[
        :, None, :
    ]  # (S, 1, n_gen + 2): ET, the generations reached, and "beyond"
    c = _bin_factors(particles, conditions)

    t_in = _transmission(particles, subjects, conditions, c, grids, "in", n_gen, ws)
    t_ex = _transmission(particles, subjects, conditions, c, grids, "out", n_gen, ws)
    shape = t_in.shape

    # Inhalation: survival to the entrance of each compartment (exclusive cumulative product).
    survival = ws.array("survival", shape)
    survival[..., 0] = 1.0
    np.cumprod(t_in[..., :-1], axis=2, out=survival[..., 1:])
    dep_in = np.subtract(1.0, t_in, out=ws.array("inhalation", shape))
    dep_in *= survival
    dep_in *= reach[..., :-1]
    parked = survival
    parked *= t_in
    parked *= reach[..., :-1] - reach[..., 1:]

    # Breath-hold: parked aerosol settles and diffuses (no ET deposition during the hold).
    dep_hold = _breath_hold(subjects, conditions, c, grids, parked, n_gen, ws)
    remaining = parked
    if dep_hold is not None:
        remaining -= dep_hold

    # Exhalation, in closed form (see module docstring).
    np.maximum(t_ex, MIN_TRANSMISSION, out=t_ex)
    cumulative = np.cumprod(t_ex, axis=2, out=ws.array("cumulative", shape))  # E[i]
    remaining *= cumulative
    outward = ws.array("outward", shape)
    np.cumsum(remaining[..., ::-1], axis=2, out=outward[..., ::-1])
    exhaled_bins = outward[..., 0].copy()  # Σ_j r_j E_j
    dep_ex = np.divide(outward, cumulative, out=outward)
    np.subtract(1.0, t_ex, out=t_ex)
    dep_ex *= t_ex

    # Mass-weighted sums over the size bins, padded back to all 25 compartments.
    w = particles.mass_weight
    by_phase = np.zeros((3, vt.shape[0], N_GENERATIONS + 1))
    by_phase[0, :, : n_gen + 1] = _weighted(dep_in, w)
    if dep_hold is not None:
        by_phase[1, :, : n_gen + 1] = _weighted(dep_hold, w)
    by_phase[2, :, : n_gen + 1] = _weighted(dep_ex, w)
    exhaled = (exhaled_bins * w).sum(axis=1)
    return KernelResult(deposited=by_phase.sum(axis=0), by_phase=by_phase, exhaled=exhaled)


def _weighted(per_bin: FloatArray, weight: FloatArray) -> FloatArray:
    """Sum ``(S, B, C)`` over bins with weights ``(S or 1, B)`` → ``(S, C)``."""
    if weight.shape[0] == 1:
        return np.asarray(np.matmul(weight[0], per_bin))
    return np.asarray(np.einsum("sbc,sb->sc", per_bin, weight))


def _transmission(
    particles: Particles,
    subjects: Subjects,
    conditions: Conditions,
    c: _BinFactors,
    grids: KernelGrids | None,
    phase: str,
    n_gen: int,
    ws: Workspace,
) -> FloatArray:
    """Single-pass transmission ``1 − P``, shaped ``(S, B, n_gen + 1)`` (ET first)."""
    u_imp, u_sed, u_dif = _subject_factors(subjects, phase)
    cols = slice(0, n_gen)
    grid = grids.passes[phase] if grids is not None else (None, None, None)
    mechanisms = (
        (impaction_yeh_schum, impaction_table(), c.impaction, u_imp),
        (sedimentation_pich, sedimentation_table(), c.sedimentation, u_sed),
        (diffusion_ingham, diffusion_table(), c.diffusion, u_dif),
    )
    t_imp, t_sed, t_dif = (
        transmission(
            exact_function,
            table,
            per_bin[..., cols] if g is None else per_bin,
            u,
            exact=conditions.exact,
            grid=g,
            workspace=ws,
            name=f"{phase} mechanism {i}",
        )[..., cols]
        for i, ((exact_function, table, per_bin, u), g) in enumerate(
            zip(mechanisms, grid, strict=True)
        )
    )

    # Yu & Diu's turbulent diffusion where the Reynolds number is above the threshold
    # (only the first few generations, so computed exactly).
    flow = _flow(subjects, phase)
    ratio = conditions.air_density_kg_m3 / conditions.viscosity_pa_s
    reynolds = ratio * (flow / subjects.lung_scale)[:, None] * _tree().reynolds[cols]
    turbulent = reynolds > conditions.turbulent_reynolds
    columns = np.flatnonzero(turbulent.any(axis=0))
    if columns.size:
        last = int(columns.max()) + 1
        delta = c.diffusion[..., :last] * u_dif[:, None, None]
        t_turb = 1.0 - diffusion_turbulent(delta, check=False)
        t_dif[..., :last] = np.where(turbulent[:, None, :last], t_turb, t_dif[..., :last])

    result = ws.array(f"{phase} transmission", (t_imp.shape[0], t_imp.shape[1], n_gen + 1))
    result[..., 0] = _et_transmission_now(particles, subjects, conditions, grids, phase, flow, ws)
    gens = result[..., 1:]
    np.multiply(t_imp, t_sed, out=gens)
    gens *= t_dif
    return result


def _et_transmission_now(
    particles: Particles,
    subjects: Subjects,
    conditions: Conditions,
    grids: KernelGrids | None,
    phase: str,
    flow: FloatArray,
    ws: Workspace,
) -> FloatArray:
    """Extrathoracic transmission ``(S, B)``: from the flow grids when built, else exactly."""
    fn = subjects.nasal_fraction[:, None]
    if grids is None or conditions.exact:
        p_et = extrathoracic_deposition(
            particles.aerodynamic_diameter_m,
            particles.diffusion_m2_s,
            flow[:, None],
            "inhalation" if phase == "in" else "exhalation",
            fn,
            check=False,
        )
        return np.asarray(1.0 - p_et)
    shape = (flow.shape[0], particles.diameter_m.shape[1])
    scratch = ws.array32("et scratch", shape)
    total = np.zeros(shape)
    for route, share in (("nasal", fn), ("oral", 1.0 - fn)):
        grid = grids.extrathoracic.get((phase, route))
        if grid is not None:
            total += share * grid.at(flow, ws.array32(f"et {route}", shape), scratch)
    return total


def _breath_hold(
    subjects: Subjects,
    conditions: Conditions,
    c: _BinFactors,
    grids: KernelGrids | None,
    parked: FloatArray,
    n_gen: int,
    ws: Workspace,
) -> FloatArray | None:
    """Deposition of the parked aerosol during the breath-hold, ``(S, B, C)``; None if no hold."""
    t_bh = subjects.breath_hold_s
    if not np.any(t_bh > 0):
        return None
    s = subjects.lung_scale
    cols = slice(0, n_gen)
    u_sed = t_bh / s
    u_dif = t_bh / s**2
    p = ws.array("hold", parked.shape)
    p[..., 0] = 0.0
    gens = p[..., 1:]
    by_scale = grids.hold_by_scale if grids is not None else None
    if by_scale is not None and not conditions.exact and np.all(t_bh == by_scale[0]):
        full = (parked.shape[0], *by_scale[1].values.shape[1:])
        joint = by_scale[1].at(s, ws.array32("hold", full), ws.array32("scratch", full))
        gens[...] = joint[..., cols]
    elif grids is not None and grids.hold is not None and not conditions.exact and np.all(t_bh > 0):
        full = (parked.shape[0], *grids.hold[0].values.shape[1:])
        scratch = ws.array32("scratch", full)
        settle = grids.hold[0].at(u_sed, ws.array32("hold settling", full), scratch)
        gens[...] = settle[..., cols]
        diffuse = grids.hold[1].at(u_dif, ws.array32("hold diffusion", full), scratch)
        gens *= diffuse[..., cols]
    else:
        # Still-air settling (Yeh/Wang plug-flow form, with the particle density) and
        # diffusion are both exponential, so their joint survival is one exponential.
        exponent = c.hold_sedimentation[..., cols] * ((-2.0 / math.pi) * u_sed)[:, None, None]
        exponent -= c.hold_diffusion[..., cols] * u_dif[:, None, None]
        np.exp(exponent, out=gens)
    np.subtract(1.0, gens, out=gens)
    p *= parked
    return p


__all__ = [
    "MIN_TRANSMISSION",
    "N_GENERATIONS",
    "TURBULENT_REYNOLDS",
    "Conditions",
    "KernelGrids",
    "KernelResult",
    "Particles",
    "Subjects",
    "body_conditions",
    "build_grids",
    "deposit_breath",
    "make_subjects",
]
