"""Particle physics in air at airway conditions.

Gas viscosity, mean free path, Cunningham slip correction, Brownian diffusion
coefficient, settling velocity and the aerodynamic diameter, all in SI units and
vectorised over NumPy arrays (inputs broadcast against each other). Defaults are
airway conditions: 37 °C and 1 atm.

References
----------
.. [1] Hinds WC. *Aerosol Technology*, 2nd ed. Wiley, 1999, ch. 2–3.
.. [2] Allen MD, Raabe OG. Slip correction measurements of spherical solid aerosol
   particles in an improved Millikan apparatus. *Aerosol Sci Technol*
   1985;4:269–286.
.. [3] Davies CN. Definitive equations for the fluid resistance of spheres.
   *Proc Phys Soc* 1945;57:259–270.
.. [4] ``shared/reference/dosimetry.md`` §6.2 (formulas and check values).
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike

from exoneb.dosimetry._validation import (
    FloatArray,
    as_float_array,
    require_at_least,
    require_choice,
    require_positive,
)
from exoneb.dosimetry.constants import (
    AIR_MOLAR_MASS_KG_MOL,
    BODY_TEMPERATURE_K,
    BOLTZMANN_J_K,
    GAS_CONSTANT_J_MOL_K,
    GRAVITY_M_S2,
    STANDARD_PRESSURE_PA,
    UNIT_DENSITY_KG_M3,
)

SlipModel = Literal["allen-raabe", "davies", "hinds"]

#: Sutherland's law for air: reference viscosity (Pa·s) at the reference temperature (K),
#: and the Sutherland constant (K) (§6.2; White, *Viscous Fluid Flow*).
_SUTHERLAND_MU0_PA_S: Final = 1.716e-5
_SUTHERLAND_T0_K: Final = 273.15
_SUTHERLAND_S_K: Final = 110.4

#: Cunningham coefficients (α, β, γ) in the Knudsen form
#: ``Cc = 1 + Kn·(α + β·exp(−γ/Kn))`` with ``Kn = 2λ/d``.
#: Hinds' λ/d form ``1 + (λ/d)(2.34 + 1.05·exp(−0.39·d/λ))`` is (1.17, 0.525, 0.78) here.
#: LungSIM's 2.43 (a likely transposition of 2.34, §2.6) is deliberately not offered.
SLIP_COEFFICIENTS: Final[dict[str, tuple[float, float, float]]] = {
    "allen-raabe": (1.142, 0.558, 0.999),
    "davies": (1.257, 0.400, 1.10),
    "hinds": (1.17, 0.525, 0.78),
}

_ITERATION_TOLERANCE: Final = 1e-12
_MAX_ITERATIONS: Final = 60


def air_viscosity(temperature_k: ArrayLike = BODY_TEMPERATURE_K) -> FloatArray:
    """Dynamic viscosity of air from Sutherland's law.

    ``μ = μ0·(T/T0)^1.5·(T0 + S)/(T + S)`` with μ0 = 1.716e-5 Pa·s, T0 = 273.15 K and
    S = 110.4 K. It is independent of pressure in the continuum regime.

    Parameters
    ----------
    temperature_k : array_like, default 310.15
        Gas temperature [K].

    Returns
    -------
    numpy.ndarray
        Viscosity [Pa·s]: 1.8936e-5 at 37 °C, 1.8133e-5 at 20 °C (§6.2).
    """
    t = require_positive("temperature_k", temperature_k)
    return (
        _SUTHERLAND_MU0_PA_S
        * (t / _SUTHERLAND_T0_K) ** 1.5
        * (_SUTHERLAND_T0_K + _SUTHERLAND_S_K)
        / (t + _SUTHERLAND_S_K)
    )


def mean_free_path(
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    pressure_pa: ArrayLike = STANDARD_PRESSURE_PA,
) -> FloatArray:
    """Mean free path of air molecules, ``λ = (μ/P)·sqrt(π R T / (2 M))``.

    This kinetic-theory form ties λ to the same Sutherland viscosity that the slip
    correction is used with, so the two stay consistent at any temperature.

    Parameters
    ----------
    temperature_k : array_like, default 310.15
        Gas temperature [K].
    pressure_pa : array_like, default 101325
        Gas pressure [Pa].

    Returns
    -------
    numpy.ndarray
        Mean free path [m]: 0.0699 µm at 37 °C and 1 atm, 0.0651 µm at 20 °C (§6.2).
    """
    t = require_positive("temperature_k", temperature_k)
    p = require_positive("pressure_pa", pressure_pa)
    speed_factor = np.sqrt(np.pi * GAS_CONSTANT_J_MOL_K * t / (2.0 * AIR_MOLAR_MASS_KG_MOL))
    mfp: FloatArray = air_viscosity(t) / p * speed_factor
    return mfp


def _slip(diameter_m: FloatArray, mfp_m: FloatArray, model: str) -> FloatArray:
    alpha, beta, gamma = SLIP_COEFFICIENTS[model]
    knudsen = 2.0 * mfp_m / diameter_m
    return 1.0 + knudsen * (alpha + beta * np.exp(-gamma / knudsen))


def slip_correction(
    diameter_m: ArrayLike,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    pressure_pa: ArrayLike = STANDARD_PRESSURE_PA,
    model: SlipModel = "allen-raabe",
) -> FloatArray:
    """Cunningham slip correction ``Cc = 1 + Kn·(α + β·exp(−γ/Kn))``, ``Kn = 2λ/d``.

    Below about 1 µm the gas no longer behaves as a continuum around the particle and
    Stokes drag over-estimates the resistance; Cc corrects drag, settling and
    diffusion for that.

    Parameters
    ----------
    diameter_m : array_like
        Particle diameter [m], > 0.
    temperature_k : array_like, default 310.15
        Gas temperature [K].
    pressure_pa : array_like, default 101325
        Gas pressure [Pa].
    model : {"allen-raabe", "davies", "hinds"}, default "allen-raabe"
        Empirical coefficients: Allen & Raabe 1985 [2]_ (1.142, 0.558, 0.999), Davies
        1945 [3]_ (1.257, 0.400, 1.10), or Hinds' λ/d form [1]_ (2.34, 1.05, 0.39). The
        coefficient 2.43 found in the LungSIM port is a likely transposition of 2.34 and
        is not offered (§2.6).

    Returns
    -------
    numpy.ndarray
        Slip correction [-], ≥ 1. 1.1597 at 1 µm and 37 °C with Allen–Raabe (§6.2).
    """
    require_choice("model", model, tuple(SLIP_COEFFICIENTS))
    d = require_positive("diameter_m", diameter_m)
    return _slip(d, mean_free_path(temperature_k, pressure_pa), model)


def diffusion_coefficient(
    diameter_m: ArrayLike,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    pressure_pa: ArrayLike = STANDARD_PRESSURE_PA,
) -> FloatArray:
    """Brownian diffusion coefficient, Stokes–Einstein with slip: ``D = k T Cc / (3π μ d)``.

    Parameters
    ----------
    diameter_m : array_like
        Particle (geometric) diameter [m], > 0.
    temperature_k, pressure_pa : array_like
        Gas temperature [K] and pressure [Pa]; airway conditions by default.

    Returns
    -------
    numpy.ndarray
        Diffusion coefficient [m²/s]: 2.783e-11 m²/s (2.783e-7 cm²/s) at 1 µm, 37 °C
        (§6.2; Allen–Raabe slip).
    """
    d = require_positive("diameter_m", diameter_m)
    t = require_positive("temperature_k", temperature_k)
    slip = slip_correction(d, t, pressure_pa)
    return BOLTZMANN_J_K * t * slip / (3.0 * np.pi * air_viscosity(t) * d)


def settling_velocity(
    diameter_m: ArrayLike,
    density_kg_m3: ArrayLike,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    pressure_pa: ArrayLike = STANDARD_PRESSURE_PA,
) -> FloatArray:
    """Terminal settling velocity in the Stokes regime, ``v_s = ρ_p d² g Cc / (18 μ)``.

    Valid while the particle Reynolds number is well below 1, i.e. for droplets up to
    a few tens of µm, which covers therapeutic aerosols.

    Parameters
    ----------
    diameter_m : array_like
        Particle diameter [m], > 0.
    density_kg_m3 : array_like
        Particle density [kg/m³], > 0 (1005 for isotonic saline).
    temperature_k, pressure_pa : array_like
        Gas temperature [K] and pressure [Pa]; airway conditions by default.

    Returns
    -------
    numpy.ndarray
        Settling velocity [m/s]: 33.37 µm/s at 1 µm, unit density, 37 °C (§6.2).
    """
    d = require_positive("diameter_m", diameter_m)
    rho = require_positive("density_kg_m3", density_kg_m3)
    slip = slip_correction(d, temperature_k, pressure_pa)
    return rho * d**2 * GRAVITY_M_S2 * slip / (18.0 * air_viscosity(temperature_k))


def _solve_x2_slip(
    target_m2: FloatArray, start_m: FloatArray, mfp_m: FloatArray, model: str
) -> FloatArray:
    """Solve ``x²·Cc(x) = target`` for x > 0 by vectorised Newton iteration.

    ``g(x) = x²·Cc(x) = x² + 2λx·(α + β·exp(−γx/(2λ)))`` is smooth and increasing, and
    its derivative is analytic, so Newton from the Stokes-regime estimate converges
    in a handful of steps over 1 nm–100 µm.
    """
    alpha, beta, gamma = SLIP_COEFFICIENTS[model]
    two_mfp = 2.0 * mfp_m
    x = start_m
    for _ in range(_MAX_ITERATIONS):
        decay = beta * np.exp(-gamma * x / two_mfp)
        g = x * x + two_mfp * x * (alpha + decay)
        dg = 2.0 * x + two_mfp * (alpha + decay) - gamma * x * decay
        step = (g - target_m2) / dg
        # Never step to or beyond zero: halve towards zero instead.
        x_new = np.where(step < x, x - step, 0.5 * x)
        converged = not np.any(np.abs(x_new - x) > _ITERATION_TOLERANCE * x_new)
        x = x_new
        if converged:
            break
    return x


def aerodynamic_diameter(
    diameter_m: ArrayLike,
    density_kg_m3: ArrayLike,
    shape_factor: ArrayLike = 1.0,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    pressure_pa: ArrayLike = STANDARD_PRESSURE_PA,
    model: SlipModel = "allen-raabe",
) -> FloatArray:
    """Aerodynamic diameter: the unit-density sphere with the same settling velocity.

    Solves the slip-corrected definition ``ρ0·d_ae²·Cc(d_ae) = ρ_p·d_p²·Cc(d_p)/χ``
    with ρ0 = 1000 kg/m³ (Hinds eq. 3.26 [1]_; §6.2) by Newton iteration to 1e-12
    relative. Impaction and sedimentation depend on d_ae only, which is why the
    empirical ET and ICRP fits are written in it.

    Parameters
    ----------
    diameter_m : array_like
        Volume-equivalent (physical) diameter [m], > 0.
    density_kg_m3 : array_like
        Particle density [kg/m³], > 0.
    shape_factor : array_like, default 1.0
        Dynamic shape factor χ [-], ≥ 1 (a sphere has the least drag of any shape of
        the same volume).
    temperature_k, pressure_pa : array_like
        Gas temperature [K] and pressure [Pa]; airway conditions by default.
    model : {"allen-raabe", "davies", "hinds"}
        Slip-correction coefficients, see :func:`slip_correction`.

    Returns
    -------
    numpy.ndarray
        Aerodynamic diameter [m]. For isotonic saline (1005 kg/m³) about 1.002·d_p.

    See Also
    --------
    physical_diameter : the inverse.
    """
    require_choice("model", model, tuple(SLIP_COEFFICIENTS))
    d = require_positive("diameter_m", diameter_m)
    rho = require_positive("density_kg_m3", density_kg_m3)
    chi = require_at_least("shape_factor", shape_factor, 1.0)
    mfp = mean_free_path(temperature_k, pressure_pa)
    target = rho * d**2 * _slip(d, mfp, model) / (UNIT_DENSITY_KG_M3 * chi)
    start = d * np.sqrt(rho / (UNIT_DENSITY_KG_M3 * chi))
    return _solve_x2_slip(target, start, mfp, model)


def physical_diameter(
    aerodynamic_diameter_m: ArrayLike,
    density_kg_m3: ArrayLike,
    shape_factor: ArrayLike = 1.0,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    pressure_pa: ArrayLike = STANDARD_PRESSURE_PA,
    model: SlipModel = "allen-raabe",
) -> FloatArray:
    """Volume-equivalent diameter of a particle with a given aerodynamic diameter.

    The inverse of :func:`aerodynamic_diameter`: solves
    ``ρ_p·d_p²·Cc(d_p)/χ = ρ0·d_ae²·Cc(d_ae)`` for d_p (Newton, 1e-12 relative). Needed
    to get the diffusion coefficient, which depends on the physical size, of a
    droplet specified by its MMAD.

    Parameters
    ----------
    aerodynamic_diameter_m : array_like
        Aerodynamic diameter [m], > 0.
    density_kg_m3, shape_factor, temperature_k, pressure_pa, model
        As in :func:`aerodynamic_diameter`.

    Returns
    -------
    numpy.ndarray
        Physical (volume-equivalent) diameter [m].
    """
    require_choice("model", model, tuple(SLIP_COEFFICIENTS))
    d_ae = require_positive("aerodynamic_diameter_m", aerodynamic_diameter_m)
    rho = require_positive("density_kg_m3", density_kg_m3)
    chi = require_at_least("shape_factor", shape_factor, 1.0)
    mfp = mean_free_path(temperature_k, pressure_pa)
    target = UNIT_DENSITY_KG_M3 * chi * d_ae**2 * _slip(d_ae, mfp, model) / rho
    start = d_ae * np.sqrt(UNIT_DENSITY_KG_M3 * chi / rho)
    return _solve_x2_slip(as_float_array(target), start, mfp, model)
