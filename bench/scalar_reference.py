"""A straightforward scalar implementation of the Weibel deposition kernel.

It follows one size bin of one subject at a time with plain ``math`` and
explicit loops over generations, the way the equations of
``reference/dosimetry.md`` §2 read. It exists for two reasons:

* ``make bench`` times it against the vectorised kernel and prints the speed-up;
* the test suite checks that the vectorised kernel — in particular its
  closed-form exhalation recurrence — gives the same numbers
  (``tests/model/test_scalar_reference.py``).

It shares only the inputs with the library (particle properties per bin and
the Weibel table); the per-pass formulas are written out again here on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from exoneb.dosimetry.airways import weibel_a_3l

TURBULENT_REYNOLDS = 2000.0


@dataclass(frozen=True)
class ScalarSubject:
    lung_scale: float
    et_volume_m3: float
    tidal_volume_m3: float
    inhalation_s: float
    breath_hold_s: float
    exhalation_s: float
    nasal_fraction: float


@dataclass(frozen=True)
class ScalarParticle:
    diameter_m: float
    density_kg_m3: float
    slip: float
    diffusion_m2_s: float
    settling_velocity_m_s: float
    aerodynamic_diameter_m: float


def _yeh(x: float) -> float:
    if x >= 1.0:
        return 1.0
    a = math.acos(x)
    return 1.0 - 2.0 / math.pi * a + 1.0 / math.pi * math.sin(2.0 * a)


def _pich(eps: float) -> float:
    if eps >= 1.0:
        return 1.0
    e13 = eps ** (1.0 / 3.0)
    root = math.sqrt(1.0 - eps ** (2.0 / 3.0))
    return 2.0 / math.pi * (2.0 * eps * root - e13 * root + math.asin(e13))


def _ingham(delta: float) -> float:
    return (
        1.0
        - 0.819 * math.exp(-14.63 * delta)
        - 0.0976 * math.exp(-89.22 * delta)
        - 0.0325 * math.exp(-228.0 * delta)
        - 0.0509 * math.exp(-125.9 * delta ** (2.0 / 3.0))
    )


def _turbulent(delta: float) -> float:
    root = math.sqrt(delta)
    if root >= (4.0 - math.sqrt(16.0 - 4.0 * 1.776)) / (2.0 * 1.776):
        return 1.0
    return min(1.0, 4.0 * root * (1.0 - 0.444 * root))


def _et(p: ScalarParticle, flow_m3_s: float, inhaling: bool, nasal_fraction: float) -> float:
    q = flow_m3_s * 1e6
    d = p.aerodynamic_diameter_m * 1e6
    diff = p.diffusion_m2_s * 1e4
    x = math.sqrt(diff * q**-0.25)
    if inhaling:
        nasal_ae = 1.0 / (1.0 + (d * d * q / 4600.0) ** -0.94)
        nasal_th = 1.0 - math.exp(-18.2 * x)
        oral_ae = 1.0 / (1.0 + (d * d * q / 30000.0) ** -1.37)
        oral_th = 1.0 - math.exp(-14.6 * x)
    else:
        nasal_ae = 1.0 / (1.0 + (d * d * q / 2300.0) ** -0.94)
        nasal_th = 1.0 - math.exp(-21.3 * x)
        oral_ae = 0.0
        oral_th = 1.0 - math.exp(-12.1 * x)
    nasal = min(1.0, math.hypot(nasal_ae, nasal_th))
    oral = min(1.0, math.hypot(oral_ae, oral_th))
    return nasal_fraction * nasal + (1.0 - nasal_fraction) * oral


def deposit_one(
    particle: ScalarParticle,
    subject: ScalarSubject,
    *,
    viscosity_pa_s: float,
    air_density_kg_m3: float,
    branching_angle_rad: float,
    gravity_angle_rad: float,
) -> tuple[list[float], float]:
    """Fractions of the inhaled aerosol deposited in ET + generations 0–23, and exhaled."""
    table = weibel_a_3l()
    s = subject.lung_scale
    gens = range(len(table.diameter_m))
    diameter = [s * float(table.diameter_m[g]) for g in gens]
    volume = [s**3 * float(table.tube_volume_m3[g] + table.alveolar_volume_m3[g]) for g in gens]
    n_tubes = [float(table.n_tubes[g]) for g in gens]
    vt = subject.tidal_volume_m3
    reach = [1.0]
    front = subject.et_volume_m3
    for g in gens:
        reach.append(min(1.0, max(0.0, (vt - front) / vt)))
        front += volume[g]
    reach.append(0.0)

    def single_pass(duration: float, inhaling: bool) -> list[float]:
        flow = vt / duration
        probs = [_et(particle, flow, inhaling, subject.nasal_fraction)]
        for g in gens:
            d_t = diameter[g]
            velocity = flow / (n_tubes[g] * math.pi / 4.0 * d_t**2)
            residence = volume[g] / flow
            st = (
                particle.density_kg_m3
                * particle.slip
                * particle.diameter_m**2
                * velocity
                / (18.0 * viscosity_pa_s * d_t)
            )
            p_i = _yeh(branching_angle_rad * st)
            eps = (
                0.75
                * particle.settling_velocity_m_s
                * residence
                * math.cos(gravity_angle_rad)
                / d_t
            )
            p_s = _pich(eps)
            delta = particle.diffusion_m2_s * residence / d_t**2
            reynolds = air_density_kg_m3 * velocity * d_t / viscosity_pa_s
            p_d = _turbulent(delta) if reynolds > TURBULENT_REYNOLDS else _ingham(delta)
            probs.append(1.0 - (1.0 - p_i) * (1.0 - p_s) * (1.0 - p_d))
        return probs

    p_in = single_pass(subject.inhalation_s, True)
    p_ex = single_pass(subject.exhalation_s, False)
    deposited = [0.0] * len(p_in)
    remaining = [0.0] * len(p_in)
    survival = 1.0
    for c, p in enumerate(p_in):
        deposited[c] += survival * p * reach[c]
        parked = survival * (1.0 - p) * (reach[c] - reach[c + 1])
        if c > 0 and subject.breath_hold_s > 0:
            radius = diameter[c - 1] / 2.0
            t = subject.breath_hold_s
            z = particle.settling_velocity_m_s * math.cos(gravity_angle_rad) * t / radius
            p_sed = 1.0 - math.exp(-2.0 / math.pi * z)
            p_dif = 1.0 - math.exp(-5.784 * particle.diffusion_m2_s * t / radius**2)
            p_hold = 1.0 - (1.0 - p_sed) * (1.0 - p_dif)
            deposited[c] += parked * p_hold
            parked *= 1.0 - p_hold
        remaining[c] = parked
        survival *= 1.0 - p
    carry = 0.0
    for c in reversed(range(len(p_ex))):
        load = carry + remaining[c]
        deposited[c] += load * p_ex[c]
        carry = load * (1.0 - p_ex[c])
    return deposited, carry
