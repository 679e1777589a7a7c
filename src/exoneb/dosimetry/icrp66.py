"""ICRP-66 regional deposition: Hinds' simplified fits (a cross-check, not a nebulizer model).

Hinds (1999, eqs 11.1–11.5) fitted five closed-form equations to ICRP-66 model
predictions for **nose breathing** of unit-density spheres, averaged over men and
women and over sitting, light and heavy exercise. They reproduce the published
model to within a few percent over 0.001–100 µm and are implemented in several
public codes, which makes them a good regression oracle for the mechanistic
(Weibel) engine. They are not a nebulizer prediction: with a mouthpiece the
extrathoracic loss of 1–5 µm droplets is far lower than ``head_airways`` (§1.1).

The fits are defined with the diameter in µm, so the functions here take
``diameter_um``. Use the aerodynamic diameter above 0.5 µm and the physical
(thermodynamic) diameter below (Hinds' note).

References
----------
.. [1] Hinds WC. *Aerosol Technology*, 2nd ed. Wiley, 1999, ch. 11, eqs 11.1–11.5.
.. [2] ICRP Publication 66. Human respiratory tract model for radiological
   protection. *Ann ICRP* 1994;24(1–3).
.. [3] Public copies checked against each other (§1.1): MATLAB
   ``respiratoryDeposition.m`` (Poikkimäki 2016), ``jlpl/aerosol-functions``
   ``calc_lung_df``, ``NovaMechanicsOpenSource/lungdeposition`` ``LungDepo.java``
   (which uses −0.415 instead of −0.416 in the alveolar fit), CERN CAiMIRA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from exoneb.dosimetry._validation import FloatArray, require_nonnegative, require_positive
from exoneb.dosimetry.size_distribution import lognormal_bins

#: Alveolar-fit coefficient of Hinds eq. 11.4. NovaMechanics' LungDepo.java uses −0.415;
#: MATLAB, aerosol-functions and AeroViz use −0.416 (Hinds). The difference is at most
#: 1.5e-3 absolute, near 0.01 µm (§1.1).
ALVEOLAR_COEFFICIENT: Final = -0.416

#: Size bins for the lognormal average. The §1.1 row (MMAD 3 µm, GSD 2, ±6σ trapezoid with
#: 4000 steps) is met within 1e-3 absolute for every region from 21 bins over ±4σ (20 bins
#: miss by 1.05e-3 on the total); the engine's default of 40 agrees within 2.2e-4 (the
#: remaining ~5e-5 is the ±4σ truncation). See ``tests/model/test_icrp66.py``.
DEFAULT_LOGNORMAL_BINS: Final = 40


@dataclass(frozen=True)
class Icrp66Fractions:
    """Deposition fractions of the inhaled (ambient) aerosol from the Hinds/ICRP-66 fits.

    Attributes
    ----------
    inhalable : numpy.ndarray
        Inhalable fraction IF [-].
    head_airways : numpy.ndarray
        Head airways (extrathoracic) DF_HA [-], including IF.
    tracheobronchial : numpy.ndarray
        Tracheobronchial DF_TB [-].
    alveolar : numpy.ndarray
        Alveolar DF_AL [-].
    total : numpy.ndarray
        Total deposition, eq. 11.5 [-]: a separate fit, not HA + TB + AL (they differ
        by up to ~0.06, e.g. at 0.1 µm).
    """

    inhalable: FloatArray
    head_airways: FloatArray
    tracheobronchial: FloatArray
    alveolar: FloatArray
    total: FloatArray


def _diameter(diameter_um: ArrayLike) -> FloatArray:
    return require_positive("diameter_um", diameter_um)


def inhalable_fraction(diameter_um: ArrayLike, wind_speed_m_s: ArrayLike = 0.0) -> FloatArray:
    """Inhalable fraction, ``IF = 1 − 0.5·(1 − 1/(1 + 0.00076·d^2.8)) + 1e-5·U^2.75·exp(0.055·d)``.

    Hinds eq. 11.2 (wind-free form, [1]_) with the ICRP-66 wind term (§1.2). For a
    nebulizer with a mouthpiece or mask IF is 1: ambient inhalability does not apply.

    Parameters
    ----------
    diameter_um : array_like
        Aerodynamic diameter [µm], > 0.
    wind_speed_m_s : array_like, default 0.0
        Ambient wind speed [m/s], ≥ 0; negligible below 20 µm for U ≤ 1 m/s.

    Returns
    -------
    numpy.ndarray
        Inhalable fraction [-]: 0.9919 at 3 µm, 0.8379 at 10 µm (§1.1).
    """
    d = _diameter(diameter_um)
    u = require_nonnegative("wind_speed_m_s", wind_speed_m_s)
    still_air = 1.0 - 0.5 * (1.0 - 1.0 / (1.0 + 0.00076 * d**2.8))
    inhalable: FloatArray = still_air + 1e-5 * u**2.75 * np.exp(0.055 * d)
    return inhalable


def head_airways(diameter_um: ArrayLike) -> FloatArray:
    """Head-airways deposition, Hinds eq. 11.1 [1]_.

    ``DF_HA = IF·(1/(1 + exp(6.84 + 1.183·ln d)) + 1/(1 + exp(0.924 − 1.885·ln d)))``.

    Parameters
    ----------
    diameter_um : array_like
        Particle diameter [µm], > 0.

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-]: 0.2851 at 1 µm, 0.7531 at 3 µm (§1.1).
    """
    d = _diameter(diameter_um)
    ln_d = np.log(d)
    return inhalable_fraction(d) * (
        1.0 / (1.0 + np.exp(6.84 + 1.183 * ln_d)) + 1.0 / (1.0 + np.exp(0.924 - 1.885 * ln_d))
    )


def tracheobronchial(diameter_um: ArrayLike) -> FloatArray:
    """Tracheobronchial deposition, Hinds eq. 11.3 [1]_.

    ``DF_TB = (0.00352/d)·(exp(−0.234·(ln d + 3.40)²) + 63.9·exp(−0.819·(ln d − 1.61)²))``.

    Parameters
    ----------
    diameter_um : array_like
        Particle diameter [µm], > 0.

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-]: 0.0272 at 1 µm, 0.0605 at 3 µm (§1.1).
    """
    d = _diameter(diameter_um)
    ln_d = np.log(d)
    return (0.00352 / d) * (
        np.exp(-0.234 * (ln_d + 3.40) ** 2) + 63.9 * np.exp(-0.819 * (ln_d - 1.61) ** 2)
    )


def alveolar(diameter_um: ArrayLike, coefficient: float = ALVEOLAR_COEFFICIENT) -> FloatArray:
    """Alveolar deposition, Hinds eq. 11.4 [1]_.

    ``DF_AL = (0.0155/d)·(exp(−0.416·(ln d + 2.84)²) + 19.11·exp(−0.482·(ln d − 1.362)²))``.

    Parameters
    ----------
    diameter_um : array_like
        Particle diameter [µm], > 0.
    coefficient : float, default -0.416
        First exponent coefficient; −0.415 reproduces NovaMechanics' LungDepo.java.

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-]: 0.1217 at 1 µm, 0.0955 at 3 µm (§1.1).
    """
    d = _diameter(diameter_um)
    ln_d = np.log(d)
    return (0.0155 / d) * (
        np.exp(coefficient * (ln_d + 2.84) ** 2) + 19.11 * np.exp(-0.482 * (ln_d - 1.362) ** 2)
    )


def total_deposition(diameter_um: ArrayLike) -> FloatArray:
    """Total deposition, Hinds eq. 11.5 [1]_ (a separate fit, not HA + TB + AL).

    ``DF = IF·(0.0587 + 0.911/(1 + exp(4.77 + 1.485·ln d)) + 0.943/(1 + exp(0.508 − 2.58·ln d)))``.

    Parameters
    ----------
    diameter_um : array_like
        Particle diameter [µm], > 0.

    Returns
    -------
    numpy.ndarray
        Deposition fraction [-]: 0.4205 at 1 µm; minimum 0.1274 near 0.3 µm (§1.1).
    """
    d = _diameter(diameter_um)
    ln_d = np.log(d)
    return inhalable_fraction(d) * (
        0.0587
        + 0.911 / (1.0 + np.exp(4.77 + 1.485 * ln_d))
        + 0.943 / (1.0 + np.exp(0.508 - 2.58 * ln_d))
    )


def icrp66_monodisperse(diameter_um: ArrayLike) -> Icrp66Fractions:
    """All five fits at once for monodisperse particles.

    Parameters
    ----------
    diameter_um : array_like
        Particle diameter [µm], > 0.

    Returns
    -------
    Icrp66Fractions
        Each field has the shape of ``diameter_um``.
    """
    d = _diameter(diameter_um)
    return Icrp66Fractions(
        inhalable=inhalable_fraction(d),
        head_airways=head_airways(d),
        tracheobronchial=tracheobronchial(d),
        alveolar=alveolar(d),
        total=total_deposition(d),
    )


def icrp66_lognormal(
    mmad_um: float, gsd: float, n_bins: int = DEFAULT_LOGNORMAL_BINS
) -> Icrp66Fractions:
    """Mass-weighted fits for a lognormal aerosol (aerodynamic MMAD and GSD).

    The distribution is discretised with :func:`~exoneb.dosimetry.size_distribution.lognormal_bins`
    (equal ln-width bins over ±4σ, exact bin masses) and each fit is averaged with
    the mass weights, because deposited mass (and the EV dose) follows droplet mass.
    With the default 40 bins the §1.1 row (MMAD 3 µm, GSD 2: IF 0.9701, HA 0.6773,
    TB 0.0455, AL 0.0867, total 0.8098) is reproduced within 2.2e-4.

    Parameters
    ----------
    mmad_um : float
        Mass median aerodynamic diameter [µm], > 0.
    gsd : float
        Geometric standard deviation [-], ≥ 1.
    n_bins : int, default 40
        Number of size bins, ≥ 1.

    Returns
    -------
    Icrp66Fractions
        Mass-weighted fractions (0-d arrays).
    """
    mmad = require_positive("mmad_um", mmad_um)
    diameters_m, weights = lognormal_bins(mmad * 1e-6, gsd, n_bins)
    mono = icrp66_monodisperse(diameters_m * 1e6)

    def mean(values: FloatArray) -> FloatArray:
        return np.asarray(np.sum(values * weights, axis=-1))

    return Icrp66Fractions(
        inhalable=mean(mono.inhalable),
        head_airways=mean(mono.head_airways),
        tracheobronchial=mean(mono.tracheobronchial),
        alveolar=mean(mono.alveolar),
        total=mean(mono.total),
    )
