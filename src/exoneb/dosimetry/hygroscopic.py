"""Hygroscopic size change of saline droplets in the airways.

A nebulized droplet of isotonic saline enters air at 37 °C and ~99.5 % RH. Water
condenses or evaporates until the droplet's water activity, raised by the Kelvin
(curvature) term, matches the ambient relative humidity. Because the water
activity of isotonic saline (0.9948) is almost exactly the usual airway RH, the
droplet barely changes, but the result is very sensitive to the RH assumed,
which is therefore a parameter everywhere (§6.1).

References
----------
.. [1] Hinds WC. *Aerosol Technology*, 2nd ed. Wiley, 1999, ch. 13 (Kelvin effect,
   solute effect, evaporation time, vapour pressure eq. 13.3).
.. [2] Finlay WH. *The Mechanics of Inhaled Pharmaceutical Aerosols*. Academic Press,
   2001, ch. 3–5 (hygroscopic growth).
.. [3] Robinson RA, Stokes RH. *Electrolyte Solutions*, 2nd ed., 1959 (osmotic
   coefficient of NaCl, about 0.93 at 0.15 mol/kg).
.. [4] ``shared/reference/dosimetry.md`` §6.1 (formulas and check tables).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from exoneb.dosimetry._validation import (
    FloatArray,
    as_float_array,
    require_half_open_unit_interval,
    require_open_unit_interval,
    require_positive,
)
from exoneb.dosimetry.constants import (
    BODY_TEMPERATURE_K,
    DEFAULT_AIRWAY_RELATIVE_HUMIDITY,
    GAS_CONSTANT_J_MOL_K,
    ISOTONIC_SALINE_DENSITY_KG_M3,
    ISOTONIC_SALINE_W_V,
    NACL_CRYSTAL_DENSITY_KG_M3,
    NACL_IONS_PER_FORMULA_UNIT,
    NACL_MOLAR_MASS_KG_MOL,
    UNIT_DENSITY_KG_M3,
    WATER_DENSITY_KG_M3,
    WATER_MOLAR_MASS_KG_MOL,
    WATER_SURFACE_TENSION_37C_N_M,
)

_ITERATION_TOLERANCE: Final = 1e-12
_MAX_ITERATIONS: Final = 200
#: Water-vapour diffusivity in air at 20 °C, m²/s (§6.2, about 2.5e-5).
_VAPOUR_DIFFUSIVITY_20C_M2_S: Final = 2.5e-5
_ROOM_TEMPERATURE_K: Final = 293.15


def saline_molality(
    concentration_w_v: ArrayLike = ISOTONIC_SALINE_W_V,
    solution_density_kg_m3: ArrayLike = ISOTONIC_SALINE_DENSITY_KG_M3,
) -> FloatArray:
    """Molality of an NaCl solution given as a mass/volume fraction.

    ``m = c·ρ_ref / (M_NaCl·(ρ_solution − c·ρ_ref))`` with ``c·ρ_ref`` the solute mass
    per volume of solution (ρ_ref = 1000 kg/m³: 0.9 % w/v is 9 kg/m³).

    Parameters
    ----------
    concentration_w_v : array_like, default 0.009
        Solute mass per solution volume, as g/mL (0.009 = 0.9 % w/v), > 0.
    solution_density_kg_m3 : array_like, default 1005
        Density of the solution [kg/m³].

    Returns
    -------
    numpy.ndarray
        Molality [mol/kg water]; 0.1546 for isotonic saline at 1005 kg/m³.
    """
    c = require_positive("concentration_w_v", concentration_w_v)
    rho = require_positive("solution_density_kg_m3", solution_density_kg_m3)
    solute_kg_m3 = c * UNIT_DENSITY_KG_M3
    return solute_kg_m3 / (NACL_MOLAR_MASS_KG_MOL * (rho - solute_kg_m3))


def saline_water_activity(
    concentration_w_v: ArrayLike = ISOTONIC_SALINE_W_V,
    osmotic_coefficient: ArrayLike = 0.93,
    solution_density_kg_m3: ArrayLike = ISOTONIC_SALINE_DENSITY_KG_M3,
) -> FloatArray:
    """Water activity of an NaCl solution, ``a_w = exp(−ν·Φ·m·M_w)`` with ν = 2.

    This is the RH at which a large (flat-surface) droplet neither grows nor shrinks.

    Parameters
    ----------
    concentration_w_v : array_like, default 0.009
        NaCl mass per solution volume, as g/mL, > 0.
    osmotic_coefficient : array_like, default 0.93
        Practical osmotic coefficient Φ [-], > 0 (about 0.93 for NaCl near 0.15 mol/kg,
        Robinson & Stokes [3]_).
    solution_density_kg_m3 : array_like, default 1005
        Solution density [kg/m³], used to convert w/v to molality.

    Returns
    -------
    numpy.ndarray
        Water activity [-]: 0.99483 for isotonic saline at 1005 kg/m³. §6.1 prints
        0.99479 from 0.1558 mol/kg, which corresponds to a solution density of about
        997 kg/m³ (water at 25 °C); the difference is 4e-5.
    """
    phi = require_positive("osmotic_coefficient", osmotic_coefficient)
    molality = saline_molality(concentration_w_v, solution_density_kg_m3)
    return np.exp(-NACL_IONS_PER_FORMULA_UNIT * phi * molality * WATER_MOLAR_MASS_KG_MOL)


#: Water activity of isotonic saline (0.9 % w/v, Φ = 0.93, 1005 kg/m³), about 0.99483.
ISOTONIC_WATER_ACTIVITY: Final = float(saline_water_activity())


def dilute_growth_ratio(relative_humidity: ArrayLike, water_activity: ArrayLike) -> FloatArray:
    """Equilibrium growth ratio of a dilute droplet, ``d_eq/d0 = ((1 − a_w0)/(1 − RH))^(1/3)``.

    In a dilute solution ``1 − a_w`` is proportional to the solute concentration, so
    it scales with ``(d0/d)³``; with the Kelvin term neglected the equilibrium
    ``a_w(d) = RH`` gives this closed form. It shows how sensitive the size is to RH:
    0.805 at 99.0 % and 1.202 at 99.7 % for isotonic saline (§6.1).

    Parameters
    ----------
    relative_humidity : array_like
        Ambient RH as a fraction, in (0, 1).
    water_activity : array_like
        Water activity of the droplet as generated, a_w0, in (0, 1].

    Returns
    -------
    numpy.ndarray
        d_eq/d0 [-].
    """
    rh = require_open_unit_interval("relative_humidity", relative_humidity)
    aw = require_half_open_unit_interval("water_activity", water_activity)
    return np.cbrt((1.0 - aw) / (1.0 - rh))


def kelvin_factor(
    diameter_m: ArrayLike,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    surface_tension_n_m: ArrayLike = WATER_SURFACE_TENSION_37C_N_M,
) -> FloatArray:
    """Kelvin (curvature) factor ``K = exp(4σM_w/(ρ_w R T d))``.

    A curved surface raises the vapour pressure over the droplet; at 1 µm the
    increase (0.2 %) is comparable to the 0.5 % sub-saturation of airway air, so it
    cannot be neglected for the smallest droplets (Hinds eq. 13.8 [1]_).

    Parameters
    ----------
    diameter_m : array_like
        Droplet diameter [m], > 0.
    temperature_k : array_like, default 310.15
        Temperature [K].
    surface_tension_n_m : array_like, default 0.0701
        Surface tension [N/m] (water at 37 °C).

    Returns
    -------
    numpy.ndarray
        Kelvin factor [-], > 1: 1.00395 at 0.5 µm, 1.00197 at 1 µm (§6.1, with the
        water density at 37 °C, 993.33 kg/m³).
    """
    d = require_positive("diameter_m", diameter_m)
    t = require_positive("temperature_k", temperature_k)
    sigma = require_positive("surface_tension_n_m", surface_tension_n_m)
    return np.exp(
        4.0 * sigma * WATER_MOLAR_MASS_KG_MOL / (WATER_DENSITY_KG_M3 * GAS_CONSTANT_J_MOL_K * t * d)
    )


def equilibrium_diameter(
    initial_diameter_m: ArrayLike,
    relative_humidity: ArrayLike = DEFAULT_AIRWAY_RELATIVE_HUMIDITY,
    water_activity: ArrayLike = ISOTONIC_WATER_ACTIVITY,
    temperature_k: ArrayLike = BODY_TEMPERATURE_K,
    kelvin: bool = True,
) -> FloatArray:
    """Equilibrium diameter of a saline droplet at the given relative humidity.

    Solves ``RH = [1 − (1 − a_w0)·(d0/d)³]·K(d)`` for d (dilute-solution water activity
    times the Kelvin factor) by vectorised Newton iteration in ``u = ln(d/d0)`` to
    1e-12 relative. With ``kelvin=False`` the solution is exactly
    :func:`dilute_growth_ratio` times d0.

    Parameters
    ----------
    initial_diameter_m : array_like
        Droplet diameter as generated [m], > 0.
    relative_humidity : array_like, default 0.995
        Airway RH as a fraction, in (0, 1).
    water_activity : array_like, default :data:`ISOTONIC_WATER_ACTIVITY`
        Water activity of the droplet as generated, in (0, 1].
    temperature_k : array_like, default 310.15
        Temperature [K].
    kelvin : bool, default True
        Include the curvature term.

    Returns
    -------
    numpy.ndarray
        Equilibrium diameter [m]. About +1 % for isotonic saline at 99.5 % RH.

    Notes
    -----
    Pure water (a_w0 = 1) has no equilibrium below saturation and grows without
    bound only when RH > K(d); with the Kelvin term it has no solution at all, so
    the result is NaN there. The dilute approximation ignores the dry solute
    volume, which is negligible (< 0.5 %) at the near-isotonic concentrations
    found in the airways. The solver is tested for initial diameters from 10 nm to
    100 µm; below ~10 nm the Kelvin term is so strong that the "equilibrium" is
    smaller than a molecule and the result has no meaning.
    """
    d0 = require_positive("initial_diameter_m", initial_diameter_m)
    rh = require_open_unit_interval("relative_humidity", relative_humidity)
    aw = require_half_open_unit_interval("water_activity", water_activity)
    t = require_positive("temperature_k", temperature_k)
    growth = np.cbrt((1.0 - aw) / (1.0 - rh))
    if not kelvin:
        return d0 * growth
    with np.errstate(divide="ignore", invalid="ignore"):
        u = _solve_kohler_log_ratio(
            1.0 - aw, np.log(kelvin_factor(d0, t)), np.log(rh), np.log(growth)
        )
    return d0 * np.exp(u)


def _solve_kohler_log_ratio(
    solute_term: FloatArray, kelvin_log: FloatArray, log_rh: FloatArray, dilute_u: FloatArray
) -> FloatArray:
    """Root u = ln(d/d0) of ``f(u) = ln(1 − s·e^(−3u)) + k·e^(−u) − ln RH``.

    s = 1 − a_w0 and k = ln K(d0). The saturation ratio over the droplet rises from 0
    at ``u = ln(s)/3`` to a (Köhler) maximum above 1 and then falls back towards 1, so
    for RH < 1 there is exactly one root, on the rising branch, between ln(s)/3 and
    the dilute (no-Kelvin) solution, where f > 0. Newton steps are kept inside that
    shrinking bracket and replaced by bisection when they leave it (safeguarded
    Newton), which converges for any droplet size. A pure-water droplet (s = 0) has no
    equilibrium below saturation and evaporates completely: u = −inf, d = 0.
    """
    s, k = solute_term, kelvin_log
    lo = np.log(s) / 3.0
    hi = dilute_u + 0.0 * k
    u = hi.copy()
    for _ in range(_MAX_ITERATIONS):
        e3 = s * np.exp(-3.0 * u)
        ek = k * np.exp(-u)
        f = np.log1p(-e3) + ek - log_rh
        df = 3.0 * e3 / (1.0 - e3) - ek
        above = f > 0
        hi = np.where(above, u, hi)
        lo = np.where(above, lo, u)
        candidate = u - f / df
        inside = (candidate > lo) & (candidate < hi)
        u_new = np.where(inside, candidate, 0.5 * (lo + hi))
        u_new = np.where(s > 0, u_new, -np.inf)
        converged = not np.any(np.abs(u_new - u) > _ITERATION_TOLERANCE)
        u = u_new
        if converged:
            break
    return u


def dry_residue_diameter(
    initial_diameter_m: ArrayLike,
    concentration_w_v: ArrayLike = ISOTONIC_SALINE_W_V,
    solute_density_kg_m3: ArrayLike = NACL_CRYSTAL_DENSITY_KG_M3,
) -> FloatArray:
    """Diameter of the solid residue left when a droplet dries out completely.

    The solute mass ``c·ρ_ref·πd0³/6`` becomes a compact sphere of the crystal density,
    so ``d_dry = d0·(c·ρ_ref/ρ_s)^(1/3)`` (ρ_ref = 1000 kg/m³ converts w/v to kg/m³);
    0.161·d0 for isotonic saline (§6.1). Useful for the "dry-out" what-if; the EVs
    carried by the droplet remain in or on the residue.

    Parameters
    ----------
    initial_diameter_m : array_like
        Droplet diameter [m], > 0.
    concentration_w_v : array_like, default 0.009
        Solute mass per solution volume, g/mL, > 0.
    solute_density_kg_m3 : array_like, default 2165
        Density of the dry solute [kg/m³] (crystalline NaCl).

    Returns
    -------
    numpy.ndarray
        Residue diameter [m] (volume-equivalent; the crystal is not spherical).
    """
    d0 = require_positive("initial_diameter_m", initial_diameter_m)
    c = require_positive("concentration_w_v", concentration_w_v)
    rho_s = require_positive("solute_density_kg_m3", solute_density_kg_m3)
    return d0 * np.cbrt(c * UNIT_DENSITY_KG_M3 / rho_s)


def water_saturation_pressure(temperature_k: ArrayLike) -> FloatArray:
    """Saturation vapour pressure of water, ``p_s = exp(16.7 − 4060/(T − 37))`` kPa.

    Hinds eq. 13.3 [1]_, accurate to about 1 % from 0 to 100 °C: 2.34 kPa at 20 °C and
    6.27 kPa at 37 °C (IAPWS-IF97: 6.28 kPa, §6.2).

    Parameters
    ----------
    temperature_k : array_like
        Temperature [K], > 37.

    Returns
    -------
    numpy.ndarray
        Saturation pressure [Pa].
    """
    t = require_positive("temperature_k", temperature_k)
    pressure: FloatArray = 1000.0 * np.exp(16.7 - 4060.0 / (t - 37.0))
    return pressure


def evaporation_time_s(
    diameter_m: ArrayLike,
    temperature_k: ArrayLike = _ROOM_TEMPERATURE_K,
    relative_humidity: ArrayLike = 0.5,
    vapour_diffusivity_m2_s: ArrayLike = _VAPOUR_DIFFUSIVITY_20C_M2_S,
) -> FloatArray:
    """Time for a pure-water droplet to evaporate completely in unsaturated air.

    Hinds eq. 13.22 [1]_, ``t = R ρ_w d² / (8 D_v M_w (p_d/T_d − p_∞/T_∞))``, with the
    droplet at air temperature (no evaporative cooling), no Kelvin or Fuchs
    correction and ``p_d = p_s``, ``p_∞ = RH·p_s``. It shows why droplets can shrink
    before inhalation in room air: 0.6 ms at 1 µm, 5 ms at 3 µm, 14 ms at 5 µm at
    20 °C, 50 % RH (§6.1). In a dense plume the air saturates and this is an upper
    bound on the shrinkage rate.

    Parameters
    ----------
    diameter_m : array_like
        Initial droplet diameter [m], > 0.
    temperature_k : array_like, default 293.15
        Air and droplet temperature [K].
    relative_humidity : array_like, default 0.5
        Ambient RH as a fraction, in (0, 1).
    vapour_diffusivity_m2_s : array_like, default 2.5e-5
        Diffusivity of water vapour in air [m²/s] (2.5e-5 at 20 °C).

    Returns
    -------
    numpy.ndarray
        Evaporation time [s].
    """
    d = require_positive("diameter_m", diameter_m)
    t = require_positive("temperature_k", temperature_k)
    rh = require_open_unit_interval("relative_humidity", relative_humidity)
    dv = require_positive("vapour_diffusivity_m2_s", vapour_diffusivity_m2_s)
    p_sat = water_saturation_pressure(t)
    driving = p_sat * (1.0 - rh) / t
    return as_float_array(
        GAS_CONSTANT_J_MOL_K
        * UNIT_DENSITY_KG_M3
        * d**2
        / (8.0 * dv * WATER_MOLAR_MASS_KG_MOL * driving)
    )
