"""Log-spaced lookup tables for the per-pass efficiency functions (hot path only).

Why: every per-generation probability is a function of one dimensionless
number (θ·St, ε, Δ) and that number is a product of a per-bin factor and a
per-(subject, generation) factor. Its logarithm is therefore a cheap broadcast
sum, and a table uniform in ``ln x`` turns four exponentials (Ingham) or an
arcsine and a cube root (Pich) into two gathers and a multiply-add. On this
project's machines NumPy's float64 ``exp`` runs at ~9 ns per element (no AVX-512),
so the table is 3–5× faster (numbers in ``docs/dosimetry.md``).

Accuracy: linear interpolation in ``ln x`` with 512 points per unit of ``ln x``.
Measured against the exact functions on 2·10⁶ log-spaced points: at most 1.5e-5
absolute for impaction and 1.2e-5 for sedimentation, both at x ≈ 0.999 where the
Yeh–Schum and Pich formulas have a square-root corner before reaching 1, and
below 8e-7 for x < 0.9; 1.2e-7 for Ingham diffusion. Below the table the value at
its lower end is used (below 1e-9 for every function); above it the functions
have reached 1. The exact functions in :mod:`exoneb.dosimetry.efficiency` remain
the reference and are what ``deposit(..., exact=True)`` uses; the test suite
checks both the functions and the regional results against them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exoneb.dosimetry import efficiency

FloatArray = NDArray[np.float64]

#: Table points per unit of ln x.
POINTS_PER_LOG_UNIT = 512


@dataclass(frozen=True)
class LogTable:
    """``f(x)`` sampled uniformly in ``ln x`` on ``[ln_min, ln_max]``."""

    ln_min: float
    inv_step: float
    values: FloatArray
    slopes: FloatArray

    def product_3d(self, c: FloatArray, u: FloatArray) -> FloatArray:
        """Interpolate ``f(c · u[:, None, None])``; ``c`` is ``(S or 1, B, G)``, ``u`` ``(S,)``."""
        # A zero factor (e.g. a branching angle of 0) means no deposition: the table's floor.
        position = (np.log(np.maximum(c, 1e-300)) - self.ln_min) * self.inv_step
        position = position + (np.log(u) * self.inv_step)[:, None, None]
        np.clip(position, 0.0, self.values.size - 1 - 1e-9, out=position)
        index = position.astype(np.intp)
        position -= index  # the fractional part
        result = np.take(self.slopes, index, mode="clip")
        result *= position
        result += np.take(self.values, index, mode="clip")
        return result


def _build(
    func: Callable[[FloatArray], NDArray[np.floating[Any]]], ln_min: float, ln_max: float
) -> LogTable:
    n = math.ceil((ln_max - ln_min) * POINTS_PER_LOG_UNIT) + 1
    grid = np.linspace(ln_min, ln_max, n)
    values = np.asarray(func(np.exp(grid)), dtype=np.float64)
    slopes = np.append(np.diff(values), 0.0)
    for arr in (values, slopes):
        arr.setflags(write=False)
    return LogTable(ln_min, (n - 1) / (ln_max - ln_min), values, slopes)


@lru_cache(maxsize=1)
def impaction_table() -> LogTable:
    """Yeh–Schum impaction vs θ·St (1 from θ·St = 1 on)."""
    return _build(lambda x: efficiency.impaction_yeh_schum(x, check=False), math.log(1e-10), 0.0)


@lru_cache(maxsize=1)
def sedimentation_table() -> LogTable:
    """Pich sedimentation vs ε (1 from ε = 1 on)."""
    return _build(lambda x: efficiency.sedimentation_pich(x, check=False), math.log(1e-12), 0.0)


@lru_cache(maxsize=1)
def diffusion_table() -> LogTable:
    """Ingham laminar diffusion vs Δ (1 − 1e-12 and above from Δ = 2 on)."""
    return _build(
        lambda x: efficiency.diffusion_ingham(x, check=False), math.log(1e-16), math.log(2.0)
    )
