"""Extrathoracic (mouth, nose, pharynx, larynx) deposition.

The extrathoracic airways act as a filter in front of the lung on inhalation and
behind it on exhalation. Nebulizer therapy by mouthpiece is oral breathing, with
much less ET deposition of 1–5 µm droplets than the nasal breathing that the
ICRP-66 fits assume; a mask gives a mouth/nose split. The empirical fits below
take the aerodynamic diameter (impaction) and the diffusion coefficient
(Brownian deposition) separately, because both mechanisms act in the ET region.

The fits are written in µm, cm³/s (or L/min) and cm²/s; the functions take SI
units and convert internally.

References
----------
.. [1] NCRP Report 125 (1997) / NCRP-96 lung model ET equations, as coded in the
   LungSIM port ``Lung_depEquations.py::ETdep_NCRP96`` (§2.3) [unverified report
   number].
.. [2] Cheng YS. Aerosol deposition in the extrathoracic region. *Aerosol Sci
   Technol* 2003;37:659–671. Oral equation as coded in
   ``Open-Systems-Pharmacology/Inhalation-model:populate_model.R``; the attribution
   to Cheng 2003 is [unverified] (the code does not name its source).
.. [3] ICRP Publication 66 (1994), *Ann ICRP* 24(1–3): ``η = sqrt(η_ae² + η_th²)``
   filter combination and the nasal fraction F_n (Table 15).
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike

from exoneb.dosimetry._validation import (
    FloatArray,
    as_float_array,
    require_choice,
    require_positive,
    require_unit_interval,
)

Route = Literal["nasal", "oral"]
Phase = Literal["inhalation", "exhalation"]

_M_TO_UM: Final = 1e6
_M3_S_TO_CM3_S: Final = 1e6
_M2_S_TO_CM2_S: Final = 1e4
_M3_S_TO_L_MIN: Final = 6e4

#: NCRP-96 ET coefficients per (route, phase): (a, p, b) in
#: ``η_ae = 1/(1 + (d_ae²·Q/a)^−p)`` and ``η_th = 1 − exp(b·(D·Q^−0.25)^0.5)``.
#: ``a = None`` means no aerodynamic deposition (oral exhalation).
_NCRP96: Final[dict[tuple[str, str], tuple[float | None, float, float]]] = {
    ("nasal", "inhalation"): (4600.0, 0.94, -18.2),
    ("nasal", "exhalation"): (2300.0, 0.94, -21.3),
    ("oral", "inhalation"): (30000.0, 1.37, -14.6),
    ("oral", "exhalation"): (None, 0.0, -12.1),
}


def _validated(
    aerodynamic_diameter_m: ArrayLike,
    diffusion_m2_s: ArrayLike,
    flow_m3_s: ArrayLike,
    check: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    if not check:
        return (
            as_float_array(aerodynamic_diameter_m),
            as_float_array(diffusion_m2_s),
            as_float_array(flow_m3_s),
        )
    return (
        require_positive("aerodynamic_diameter_m", aerodynamic_diameter_m),
        require_positive("diffusion_m2_s", diffusion_m2_s),
        require_positive("flow_m3_s", flow_m3_s),
    )


def extrathoracic_ncrp96(
    aerodynamic_diameter_m: ArrayLike,
    diffusion_m2_s: ArrayLike,
    flow_m3_s: ArrayLike,
    route: Route,
    phase: Phase,
    *,
    check: bool = True,
) -> FloatArray:
    """ET deposition fraction for one route and one phase, NCRP-96 [1]_.

    ``η = sqrt(η_ae² + η_th²)``, never above 1, with d_ae in µm, Q in cm³/s and D in cm²/s:

    ============  =======================================  ==================================
    route/phase   η_ae                                     η_th
    ============  =======================================  ==================================
    nasal inh.    1/(1 + (d_ae²·Q/4600)^−0.94)             1 − exp(−18.2·(D·Q^−0.25)^0.5)
    nasal exh.    1/(1 + (d_ae²·Q/2300)^−0.94)             1 − exp(−21.3·(D·Q^−0.25)^0.5)
    oral inh.     1/(1 + (d_ae²·Q/30000)^−1.37)            1 − exp(−14.6·(D·Q^−0.25)^0.5)
    oral exh.     0                                        1 − exp(−12.1·(D·Q^−0.25)^0.5)
    ============  =======================================  ==================================

    The quadrature sum of the two mechanisms can reach √2; it is capped at 1.

    Parameters
    ----------
    aerodynamic_diameter_m : array_like
        Aerodynamic diameter [m], > 0.
    diffusion_m2_s : array_like
        Particle diffusion coefficient [m²/s], > 0.
    flow_m3_s : array_like
        Air flow through the route [m³/s], > 0.
    route : {"nasal", "oral"}
    phase : {"inhalation", "exhalation"}

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-] in [0, 1]: 0.2316 for 5 µm, oral inhalation at
        500 cm³/s (§2.5).
    """
    require_choice("route", route, ("nasal", "oral"))
    require_choice("phase", phase, ("inhalation", "exhalation"))
    d_ae, diff, flow = _validated(aerodynamic_diameter_m, diffusion_m2_s, flow_m3_s, check)
    a, p, b = _NCRP96[(route, phase)]
    q = flow * _M3_S_TO_CM3_S
    d_um = d_ae * _M_TO_UM
    eta_th = -np.expm1(b * np.sqrt(diff * _M2_S_TO_CM2_S * q**-0.25))
    if a is None:
        # No aerodynamic term, but the result still broadcasts over the diameters.
        capped: FloatArray = np.minimum(eta_th + np.zeros_like(d_um), 1.0)
        return capped
    eta_ae = 1.0 / (1.0 + (d_um * d_um * q / a) ** -p)
    combined: FloatArray = np.minimum(np.hypot(eta_ae, eta_th), 1.0)
    return combined


def extrathoracic_deposition(
    aerodynamic_diameter_m: ArrayLike,
    diffusion_m2_s: ArrayLike,
    flow_m3_s: ArrayLike,
    phase: Phase,
    nasal_fraction: ArrayLike,
    *,
    check: bool = True,
) -> FloatArray:
    """ET deposition for mixed nose/mouth breathing, ``F_n·η_nasal + (1 − F_n)·η_oral``.

    The NCRP-96 blend as coded in LungSIM (§2.3). Both routes are evaluated at the
    same ``flow_m3_s``, as in that code; ICRP 66 splits the flow between the routes
    (F_n·V̇ through the nose) [unverified], which a caller can do with two calls to
    :func:`extrathoracic_ncrp96`. F_n = 0 is a mouthpiece, F_n = 1 a nose breather
    (ICRP Table 15: 1.0 at rest, 0.5 in heavy exercise; mouth breathers 0.7–0.3).

    Parameters
    ----------
    aerodynamic_diameter_m, diffusion_m2_s, flow_m3_s : array_like
        As in :func:`extrathoracic_ncrp96`.
    phase : {"inhalation", "exhalation"}
    nasal_fraction : array_like
        Fraction of the flow through the nose F_n, in [0, 1].

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-] in [0, 1].
    """
    fn = require_unit_interval("nasal_fraction", nasal_fraction) if check else nasal_fraction
    fn = as_float_array(fn)
    args = (aerodynamic_diameter_m, diffusion_m2_s, flow_m3_s)
    # A pure route needs only its own fit (the engine's common case: a mouthpiece).
    if not np.any(fn):
        oral = extrathoracic_ncrp96(*args, "oral", phase, check=check)
        return np.asarray(oral + 0.0 * fn)
    nasal = extrathoracic_ncrp96(*args, "nasal", phase, check=check)
    if np.all(fn == 1.0):
        return np.asarray(nasal + 0.0 * fn)
    oral = extrathoracic_ncrp96(*args, "oral", phase, check=check)
    return fn * nasal + (1.0 - fn) * oral


def extrathoracic_oral_cheng2003(
    aerodynamic_diameter_m: ArrayLike, diffusion_m2_s: ArrayLike, flow_m3_s: ArrayLike
) -> FloatArray:
    """Oral (mouth–throat) inhalation deposition, the OSP form attributed to Cheng 2003 [2]_.

    ``η = 1 − exp(−0.000278·Q·d_ae² − 20.4·D^0.66·Q^−0.31)`` with Q in L/min, d_ae in µm
    and D in cm²/s. For 0.1 µm it gives about 0.003 where NCRP-96 gives 0.018: a real
    disagreement between the fits, not a bug (§2.5).

    Parameters
    ----------
    aerodynamic_diameter_m : array_like
        Aerodynamic diameter [m], > 0.
    diffusion_m2_s : array_like
        Particle diffusion coefficient [m²/s], > 0.
    flow_m3_s : array_like
        Inspiratory flow [m³/s], > 0.

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-] in [0, 1): 0.1883 for 5 µm at 30 L/min (§2.5).
    """
    d_ae, diff, flow = _validated(aerodynamic_diameter_m, diffusion_m2_s, flow_m3_s)
    q = flow * _M3_S_TO_L_MIN
    d_um = d_ae * _M_TO_UM
    exponent = 0.000278 * q * d_um * d_um + 20.4 * (diff * _M2_S_TO_CM2_S) ** 0.66 * q**-0.31
    deposited: FloatArray = -np.expm1(-exponent)
    return deposited
