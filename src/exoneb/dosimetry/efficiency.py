"""Per-pass deposition probabilities in one airway generation.

Each function maps a dimensionless group (Stokes number, sedimentation parameter,
diffusion parameter) to the probability that a particle entering the tube
deposits in it during one pass. They are the inner loop of the deposition engine
and run over arrays of ~10⁶ elements, so they are written with plain ufuncs
(no Python loops, no ``np.vectorize``), keep float32 inputs in float32, and use
``expm1``/``asin`` forms that stay accurate for the tiny probabilities typical of
a single generation. Every formula is exactly the one in §2.3 of
``shared/reference/dosimetry.md``; §2.5 holds the scalar check tables.

Each function takes ``check=True``: invalid (negative) inputs raise
:class:`DosimetryInputError` naming the field. The engine, which validates its
inputs once upstream, may pass ``check=False`` to skip the extra pass over the
data. NaN propagates to NaN.

References
----------
.. [1] Yeh HC, Schum GM. Models of human lung airways and their application to
   inhaled particle deposition. *Bull Math Biol* 1980;42:461–480.
.. [2] Pich J. Theory of gravitational deposition of particles from laminar flows in
   channels. *J Aerosol Sci* 1972;3:351–361; Heyder J, Gebhart J. Gravitational
   deposition of particles from laminar aerosol flow through inclined circular
   tubes. *J Aerosol Sci* 1977;8:289–295.
.. [3] Ingham DB. Diffusion of aerosols from a stream flowing through a cylindrical
   tube. *J Aerosol Sci* 1975;6:125–132.
.. [4] Yu CP, Diu CK. Total and regional deposition of inhaled aerosols in humans.
   *Am Ind Hyg Assoc J* 1982;43:54–65.
.. [5] Zhang L, Asgharian B, Anjilvel S. Inertial deposition of particles in the
   human upper airway bifurcations. *Aerosol Sci Technol* 1997;26:97–110.
.. [6] Cai FS, Yu CP. Inertial and interceptional deposition of spherical particles
   and fibers in a bifurcating airway. *J Aerosol Sci* 1988;19:679–688.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from exoneb.dosimetry._validation import (
    FloatArray,
    as_float_array,
    require_nonnegative,
    require_positive,
    require_unit_interval,
)
from exoneb.dosimetry.errors import DosimetryInputError

_TWO_OVER_PI: Final = 2.0 / math.pi

#: Ingham (1975) weights and exponents, in Δ = D·L/(4·U·R²). The weights sum to 1, so
#: ``P = Σ w·(1 − exp(−a·Δ^p))`` is the same formula written without cancellation.
_INGHAM_TERMS: Final = ((0.819, 14.63), (0.0976, 89.22), (0.0325, 228.0))
_INGHAM_CBRT_TERM: Final = (0.0509, 125.9)

#: √Δ at which the turbulent form 4√Δ(1 − 0.444√Δ) first reaches 1
#: (root of 1.776·s² − 4·s + 1 = 0): Δ ≈ 0.08204. Nudged up by 1e-6 so that the
#: polynomial at the cap is ≥ 1 also in float32 and the final ``min(P, 1)`` gives exactly 1.
_TURBULENT_SQRT_DELTA_AT_ONE: Final = (4.0 - math.sqrt(16.0 - 4.0 * 1.776)) / (2.0 * 1.776) + 1e-6

#: Breath-hold (still-air) diffusion constant, P = 1 − exp(−5.784·D·t/R²) (OSP, LungSIM).
BREATH_HOLD_DIFFUSION_RATE: Final = 5.784


def _dimensionless(field: str, value: ArrayLike, check: bool) -> FloatArray:
    return require_nonnegative(field, value) if check else as_float_array(value)


def _scratch(like: FloatArray) -> FloatArray:
    """A fresh work array (0-d for scalar input) that later ``out=`` calls can reuse."""
    return np.empty_like(np.asarray(like))


def _power_into(x: FloatArray, exponent: float, out: FloatArray) -> FloatArray:
    """``x**exponent`` for x ≥ 0 as ``exp(exponent·ln x)``, written into ``out``.

    About twice as fast as ``np.cbrt``/``np.power`` on large arrays (SIMD exp/log) and
    accurate to a few ulp; 0 maps to 0.
    """
    with np.errstate(divide="ignore"):
        np.log(x, out=out)
    out *= exponent
    np.exp(out, out=out)
    return out


def _result(work: FloatArray) -> FloatArray:
    """Return a work array, as a NumPy scalar when it is 0-d (as ufuncs do)."""
    out: FloatArray = work[()]
    return out


def stokes_number(
    diameter_m: ArrayLike,
    density_kg_m3: ArrayLike,
    slip: ArrayLike,
    velocity_m_s: ArrayLike,
    tube_diameter_m: ArrayLike,
    viscosity_pa_s: ArrayLike,
) -> FloatArray:
    """Stokes number on the tube DIAMETER, ``St = ρ_p·Cc·d²·U / (18·μ·D_t)``.

    This is the Yeh & Schum / NCRP-96 convention [1]_ (§2.3); some authors use the
    radius (a factor 2) or ``9·μ`` (OSP), so do not mix conventions between formulas.

    Parameters
    ----------
    diameter_m : array_like
        Particle diameter [m].
    density_kg_m3 : array_like
        Particle density [kg/m³].
    slip : array_like
        Cunningham slip correction [-].
    velocity_m_s : array_like
        Mean air velocity in the tube [m/s].
    tube_diameter_m : array_like
        Airway diameter [m].
    viscosity_pa_s : array_like
        Air viscosity [Pa·s].

    Returns
    -------
    numpy.ndarray
        Stokes number [-]: 3.71e-4 for 1 µm in a 1.8 cm trachea at 1.965 m/s (§6.2).
    """
    d = require_positive("diameter_m", diameter_m)
    rho = require_positive("density_kg_m3", density_kg_m3)
    cc = require_positive("slip", slip)
    u = require_nonnegative("velocity_m_s", velocity_m_s)
    dt = require_positive("tube_diameter_m", tube_diameter_m)
    mu = require_positive("viscosity_pa_s", viscosity_pa_s)
    return rho * cc * d * d * u / (18.0 * mu * dt)


def impaction_yeh_schum(theta_st: ArrayLike, *, check: bool = True) -> FloatArray:
    """Inertial impaction at a bifurcation, Yeh & Schum 1980 / NCRP-96 [1]_.

    ``P = 1 − (2/π)·acos(x) + (1/π)·sin(2·acos(x))`` for ``x = θ·St < 1`` and 1 beyond,
    θ being the branching angle of the daughter [rad] and St the Stokes number on the
    tube diameter. Evaluated as the identical ``(2/π)·(asin x + x·sqrt(1 − x²))``,
    which has no cancellation for small x (P ≈ (4/π)·x).

    Parameters
    ----------
    theta_st : array_like
        Product θ·St [-], ≥ 0.
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1]; 0.60900 at θ·St = 0.5 (§2.5).
    """
    x = np.minimum(_dimensionless("theta_st", theta_st, check), 1.0)
    root = np.sqrt(1.0 - x * x)
    root *= x
    root += np.arcsin(x)
    root *= _TWO_OVER_PI
    return root


def sedimentation_pich(epsilon: ArrayLike, *, check: bool = True) -> FloatArray:
    """Gravitational settling in Poiseuille flow in an inclined tube, Pich / Heyder–Gebhart [2]_.

    ``P = (2/π)·[2ε·sqrt(1 − ε^(2/3)) − ε^(1/3)·sqrt(1 − ε^(2/3)) + asin(ε^(1/3))]`` with
    ``ε = 3·v_s·t·cosφ/(4·D_t)``; P = 1 for ε ≥ 1 (every particle reaches the wall
    before leaving the tube).

    Parameters
    ----------
    epsilon : array_like
        Sedimentation parameter ε [-], ≥ 0.
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1]; 0.15833 at ε = 0.1 (§2.5).
    """
    e = np.minimum(_dimensionless("epsilon", epsilon, check), 1.0)
    t = _power_into(e, 1.0 / 3.0, _scratch(e))
    root = np.sqrt(np.maximum(1.0 - t * t, 0.0))
    p = (2.0 * e - t) * root
    p += np.arcsin(t)
    p *= _TWO_OVER_PI
    return p


def sedimentation_plug_flow(z: ArrayLike, *, check: bool = True) -> FloatArray:
    """Gravitational settling in plug flow (Yeh & Schum 1980 / Wang), ``1 − exp(−(2/π)·z)``.

    ``z = v_s·t·cosφ/R`` with R the tube radius. The same form with t the breath-hold
    time is the still-air (breath-hold) settling probability. The settling velocity
    v_s MUST include the particle density: OSP's breath-hold code omits ρ_p, which
    makes the exponent 1000× too small for unit density (§2.6).

    Parameters
    ----------
    z : array_like
        ``v_s·t·cosφ/R`` [-], ≥ 0.
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1); 0.47092 at z = 1 (§2.5).
    """
    x = _dimensionless("z", z, check)
    p = np.multiply(x, -_TWO_OVER_PI, out=_scratch(x))
    np.expm1(p, out=p)
    np.negative(p, out=p)
    return _result(p)


def diffusion_ingham(delta: ArrayLike, *, check: bool = True) -> FloatArray:
    """Brownian diffusion in developed laminar (Poiseuille) flow, Ingham 1975 [3]_.

    ``P = 1 − 0.819·e^(−14.63Δ) − 0.0976·e^(−89.22Δ) − 0.0325·e^(−228Δ)
    − 0.0509·e^(−125.9·Δ^(2/3))`` with ``Δ = D·L/(4·U·R²)``. The weights sum to 1, so it
    is evaluated as ``Σ w·(−expm1(−a·Δ^p))``, exact for the 1e-9–1e-5 values of Δ
    found in conducting airways, also in float32. LungSIM's form in h = 2Δ is the
    same formula.

    Parameters
    ----------
    delta : array_like
        Diffusion parameter Δ [-], ≥ 0.
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1]; 0.24900 at Δ = 0.01 (§2.5).
    """
    x = _dimensionless("delta", delta, check)
    weight, rate = _INGHAM_CBRT_TERM
    p = _power_into(x, 2.0 / 3.0, _scratch(x))
    p *= -rate
    np.expm1(p, out=p)
    p *= -weight
    term = np.empty_like(p)
    for weight, rate in _INGHAM_TERMS:  # three fixed terms, not a loop over data
        np.multiply(x, -rate, out=term)
        np.expm1(term, out=term)
        term *= -weight
        p += term
    return _result(p)


def diffusion_turbulent(delta: ArrayLike, *, check: bool = True) -> FloatArray:
    """Brownian diffusion in plug (turbulent/entrance) flow, Yu & Diu 1982 / Yeh 1980 [4]_.

    ``P = 4·sqrt(Δ)·(1 − 0.444·sqrt(Δ))``, used where Re > 2000 (OSP) or 2300 (LungSIM).

    The polynomial is a small-Δ fit: it reaches 1 at Δ ≈ 0.0820, peaks at 2.25 near
    Δ ≈ 1.27 and turns negative beyond Δ ≈ 5.07. A probability cannot exceed 1, and a
    longer residence time cannot lower deposition, so √Δ is held at its value where
    P = 1 and P stays 1 from there on (LungSIM caps the same branch). In practice Δ
    is below 1e-6 wherever the flow is turbulent, so the cap only guards misuse.

    Parameters
    ----------
    delta : array_like
        Diffusion parameter Δ = D·L/(4·U·R²) [-], ≥ 0.
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1]; 0.38224 at Δ = 0.01 (§2.5).
    """
    x = _dimensionless("delta", delta, check)
    s = np.sqrt(x, out=_scratch(x))
    np.minimum(s, _TURBULENT_SQRT_DELTA_AT_ONE, out=s)
    p = np.multiply(s, -0.444, out=_scratch(s))
    p += 1.0
    p *= s
    p *= 4.0
    np.minimum(p, 1.0, out=p)
    return _result(p)


def diffusion_breath_hold(x: ArrayLike, *, check: bool = True) -> FloatArray:
    """Brownian diffusion in still air during a breath hold, ``1 − exp(−5.784·D·t/R²)``.

    The form used by OSP and LungSIM (§2.3) for a cylinder of radius R.

    Parameters
    ----------
    x : array_like
        ``D·t/R²`` [-], ≥ 0 (D diffusion coefficient, t breath-hold time, R radius).
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1); 0.05620 at x = 0.01 (§2.5).
    """
    value = _dimensionless("x", x, check)
    p = np.multiply(value, -BREATH_HOLD_DIFFUSION_RATE, out=_scratch(value))
    np.expm1(p, out=p)
    np.negative(p, out=p)
    return _result(p)


def combine_independent(*probabilities: ArrayLike, check: bool = True) -> FloatArray:
    """Probability that at least one of several independent mechanisms deposits the particle.

    ``P = 1 − Π(1 − P_i)`` (§2.3), accumulated as ``P ← P + P_i·(1 − P)``, which is the
    same number without the cancellation of ``1 − Π`` when every P_i is tiny.

    Parameters
    ----------
    *probabilities : array_like
        One or more probabilities in [0, 1]; they broadcast against each other.
    check : bool, default True
        Reject values outside [0, 1].

    Returns
    -------
    numpy.ndarray
        Combined probability [-] in [0, 1].
    """
    if not probabilities:
        raise DosimetryInputError("probabilities", (), "at least one probability")
    arrays = [
        require_unit_interval("probabilities", p) if check else as_float_array(p)
        for p in probabilities
    ]
    total = np.array(arrays[0], dtype=np.result_type(*arrays), copy=True)
    for p in arrays[1:]:  # a handful of mechanisms, not a loop over data
        total = total + p * (1.0 - total)
    return _result(total)


def impaction_zhang(
    st: ArrayLike, reynolds: ArrayLike, theta: ArrayLike, *, check: bool = True
) -> FloatArray:
    """Inertial impaction at a bifurcation with parabolic inlet flow, Zhang et al. 1997 [5]_.

    ``P = 0.000654·exp(55.7·St^0.954)·Re^(1/3)·sinθ`` for St < 0.04 and
    ``(0.19 − 0.193·exp(−9.5·St^1.565))·Re^(1/3)·sinθ`` for St ≥ 0.04 (from the
    Mbewu/libmesh script, §2.3). The fit grows with Re^(1/3) without bound, so it is
    capped at 1.

    Parameters
    ----------
    st : array_like
        Stokes number [-], ≥ 0.
    reynolds : array_like
        Reynolds number in the parent airway [-], ≥ 0.
    theta : array_like
        Branching angle [rad], ≥ 0.
    check : bool, default True
        Reject negative values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1].
    """
    s = _dimensionless("st", st, check)
    re = _dimensionless("reynolds", reynolds, check)
    th = _dimensionless("theta", theta, check)
    low = 0.000654 * np.exp(55.7 * s**0.954)
    high = 0.19 - 0.193 * np.exp(-9.5 * s**1.565)
    p = np.where(s < 0.04, low, high) * np.cbrt(re) * np.sin(th)
    capped: FloatArray = np.clip(p, 0.0, 1.0)
    return capped


def impaction_cai_yu(
    st: ArrayLike, theta: ArrayLike, radius_ratio: ArrayLike, *, check: bool = True
) -> FloatArray:
    """Inertial impaction at a bifurcation, Cai & Yu 1988 [6]_: ``P = G·St``, capped at 1.

    ``G = 8·sinθ·f1/(r·f0)`` with r = R_daughter/R_parent and

    ``f0 = π(1 − r²/4) − (4/3)(15π/16 − 2)·r²·cos²θ``,
    ``f1 = 1 − r²/3 + (π − 11/3)·r²cos²θ − r²sinθ/3 + (2/3 − π/8)·r⁴cos²θ + r⁴sin²θ/5
    + (6 − 15π/8)·r⁴cos⁴θ + (7/15 − π/8)·r⁴sin²θcos²θ`` (§2.3, from the Mbewu script).

    Parameters
    ----------
    st : array_like
        Stokes number [-], ≥ 0.
    theta : array_like
        Branching angle [rad], ≥ 0.
    radius_ratio : array_like
        Daughter-to-parent radius ratio [-], > 0.
    check : bool, default True
        Reject invalid values.

    Returns
    -------
    numpy.ndarray
        Deposition probability [-] in [0, 1].
    """
    s = _dimensionless("st", st, check)
    th = _dimensionless("theta", theta, check)
    r = require_positive("radius_ratio", radius_ratio) if check else as_float_array(radius_ratio)
    r2, r4 = r * r, r**4
    sin, cos = np.sin(th), np.cos(th)
    cos2, sin2 = cos * cos, sin * sin
    f0 = np.pi * (1.0 - 0.25 * r2) - (4.0 / 3.0) * (15.0 * np.pi / 16.0 - 2.0) * r2 * cos2
    f1 = (
        1.0
        - r2 / 3.0
        + (np.pi - 11.0 / 3.0) * r2 * cos2
        - r2 * sin / 3.0
        + (2.0 / 3.0 - np.pi / 8.0) * r4 * cos2
        + 0.2 * r4 * sin2
        + (6.0 - 15.0 * np.pi / 8.0) * r4 * cos2 * cos2
        + (7.0 / 15.0 - np.pi / 8.0) * r4 * sin2 * cos2
    )
    g = 8.0 * sin * f1 / (r * f0)
    capped: FloatArray = np.clip(g * s, 0.0, 1.0)
    return capped
