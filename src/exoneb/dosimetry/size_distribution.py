"""Lognormal droplet size distributions, discretised for the deposition engine.

Nebulizers are specified by the mass median aerodynamic diameter (MMAD) and the
geometric standard deviation (GSD) of the droplet mass distribution. EVs (~0.1 µm)
ride in 1–6 µm droplets in numbers proportional to droplet volume (a Poisson
mean of C·πd³/6, mostly 0 or 1 at clinical concentrations), so the EV dose is
distributed like droplet **volume (mass)**, not droplet count: the engine
integrates deposition over the mass distribution (§0 item 2, §6.3 of
``shared/reference/dosimetry.md``).

References
----------
.. [1] Hinds WC. *Aerosol Technology*, 2nd ed. Wiley, 1999, ch. 4 (lognormal
   distributions, Hatch–Choate equations).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from exoneb.dosimetry._validation import (
    FloatArray,
    as_float_array,
    require_at_least,
    require_nonnegative,
    require_positive,
)
from exoneb.dosimetry.errors import DosimetryInputError

_PER_ML_TO_PER_M3: Final = 1e6


def _bin_grid(n_bins: int, span_sigma: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Standard-normal bin centres and normalised bin masses on ``[−span, +span]``."""
    edges = np.linspace(-span_sigma, span_sigma, n_bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    mass = np.diff(ndtr(edges))
    return centres, mass / mass.sum()


def lognormal_bins(
    mmad_m: ArrayLike,
    gsd: ArrayLike,
    n_bins: int = 40,
    span_sigma: float = 4.0,
) -> tuple[FloatArray, FloatArray]:
    """Discretise a lognormal mass distribution into size bins with mass weights.

    The range ``ln MMAD ± span_sigma·ln GSD`` is cut into ``n_bins`` bins of equal
    width in ln d. Each bin is represented by its geometric midpoint and weighted by
    the exact mass in it (difference of the normal CDF at the edges). The mass
    outside the span, ``2·Φ(−span_sigma)`` (6.3e-5 for 4σ), is dropped and the
    weights renormalised to sum to 1, i.e. the tails are folded into the bins
    rather than lost from the mass balance.

    Because the bins are fixed in units of ln GSD, the weights do not depend on MMAD
    or GSD. The bins lie along the **last** axis, and MMAD and GSD broadcast against
    it: pass scalars for one device, or column arrays of shape ``(..., 1)`` for many
    (shape ``(n, 1)`` gives diameters of shape ``(n, n_bins)``), all sharing one
    weight vector.

    Parameters
    ----------
    mmad_m : array_like
        Mass median (aerodynamic) diameter [m], > 0; a scalar or an array whose last
        axis has length 1.
    gsd : array_like
        Geometric standard deviation [-], ≥ 1, shaped like ``mmad_m``. If every GSD is
        1 (monodisperse) a single bin with weight 1 is returned.
    n_bins : int, default 40
        Number of bins, ≥ 1.
    span_sigma : float, default 4.0
        Half-width of the binned range in units of ln GSD, > 0.

    Returns
    -------
    diameters : numpy.ndarray
        Bin-centre diameters [m], shape ``broadcast(mmad_m, gsd).shape[:-1] + (n_bins,)``
        (``(n_bins,)`` for scalars).
    weights : numpy.ndarray
        Mass (volume) fraction in each bin, shape ``(n_bins,)``, summing to 1.

    Raises
    ------
    DosimetryInputError
        For mmad_m ≤ 0, gsd < 1, n_bins < 1 or span_sigma ≤ 0.
    """
    mmad = require_positive("mmad_m", mmad_m)
    spread = require_at_least(
        "gsd", gsd, 1.0, "A geometric standard deviation below 1 does not exist."
    )
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise DosimetryInputError("n_bins", n_bins, "an integer ≥ 1")
    if not span_sigma > 0:
        raise DosimetryInputError("span_sigma", span_sigma, "> 0")
    mmad, spread = np.broadcast_arrays(mmad, spread)
    if mmad.ndim and mmad.shape[-1] != 1:
        raise DosimetryInputError(
            "mmad_m",
            f"array of shape {mmad.shape}",
            "a scalar or an array whose last axis has length 1",
            "The size bins are laid along the last axis; pass mmad_m[..., None].",
        )
    if np.all(spread == 1.0):
        return np.array(mmad, dtype=np.float64).reshape(*mmad.shape[:-1], 1), np.ones(1)
    centres, weights = _bin_grid(int(n_bins), float(span_sigma))
    diameters = mmad * np.exp(centres * np.log(spread))
    return diameters, weights


def count_median_diameter(mmad_m: ArrayLike, gsd: ArrayLike) -> FloatArray:
    """Count median diameter from the mass median, Hatch–Choate: ``CMD = MMAD·exp(−3·ln²GSD)``.

    For converting a device specified by CMD (e.g. laser-diffraction number
    distributions) to the mass basis used for EV dosimetry, invert this relation
    (§6.3). Valid for a lognormal distribution of spheres.

    Parameters
    ----------
    mmad_m : array_like
        Mass median diameter [m], > 0.
    gsd : array_like
        Geometric standard deviation [-], ≥ 1.

    Returns
    -------
    numpy.ndarray
        Count median diameter [m]: 3 µm at GSD 2 gives 0.710 µm.
    """
    mmad = require_positive("mmad_m", mmad_m)
    spread = require_at_least("gsd", gsd, 1.0)
    return mmad * np.exp(-3.0 * np.log(spread) ** 2)


def mean_vesicles_per_droplet(concentration_per_ml: ArrayLike, diameter_m: ArrayLike) -> FloatArray:
    """Mean number of vesicles in a droplet, ``C·π·d³/6`` (the Poisson mean, §6.3).

    At 1e10 EV/mL a 3 µm droplet carries 0.14 EV on average: most droplets carry 0
    or 1, which is why the EV dose follows droplet volume.

    Parameters
    ----------
    concentration_per_ml : array_like
        Vesicle concentration in the nebulized liquid [1/mL], ≥ 0.
    diameter_m : array_like
        Droplet diameter as generated [m], > 0.

    Returns
    -------
    numpy.ndarray
        Mean vesicles per droplet [-].
    """
    c = require_nonnegative("concentration_per_ml", concentration_per_ml)
    d = require_positive("diameter_m", diameter_m)
    return as_float_array(c * _PER_ML_TO_PER_M3 * (math.pi / 6.0) * d**3)
