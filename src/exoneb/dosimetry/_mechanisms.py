"""Evaluating the per-pass mechanisms fast, with the separable structure of their arguments.

Every dimensionless number the efficiency formulas need is a product of three
factors, one per size bin, one per generation and one per subject:

======================  =====================  =====================  ============
mechanism               per bin ``a``          per generation ``k``   per subject
======================  =====================  =====================  ============
impaction θ·St          θ·ρ·C·d²/(18μ)         1/(n·π/4·d₃ₗ³)         Q/s³
sedimentation ε (Pich)  ¾·v_s·cosφ             V₃ₗ/d₃ₗ                s²/Q
diffusion Δ (Ingham)    D                      V₃ₗ/d₃ₗ²               s/Q
hold, settling          v_s·cosφ               2/d₃ₗ                  t_bh/s
hold, diffusion         D                      4·5.784/d₃ₗ²           t_bh/s²
======================  =====================  =====================  ============

(s is the subject's length scale, Q the flow, d₃ₗ, V₃ₗ and n the 3 L tree's
diameter, generation volume and tube count.) For one aerosol shared by many
subjects the whole ``(bins × generations)`` matrix of a mechanism is therefore a
function of one number per subject, ``u``. :class:`SubjectGrid` samples that
matrix function on a fine grid uniform in ``ln u`` once per call, and each
subject is then a linear interpolation between two grid rows — contiguous copies
instead of transcendental functions per element. For small calls, or one aerosol
per subject, :func:`transmission` uses the element-wise log tables of
:mod:`exoneb.dosimetry._tables`, or the exact formulas when asked.

Everything here returns *transmissions* ``T = 1 − P`` because the kernel
multiplies them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exoneb.dosimetry._tables import LogTable

FloatArray = NDArray[np.float64]
Exact = Callable[..., NDArray[np.floating[Any]]]

#: Grid rows per unit of ln u for :class:`SubjectGrid`. Measured interpolation error
#: against the exact formulas: at most 4.3e-5 for impaction and 3.3e-5 for
#: sedimentation (at the square-root corner just below θ·St, ε = 1), 3e-7 for
#: diffusion; regional fractions agree with ``exact=True`` to better than 1e-6.
GRID_POINTS_PER_LOG_UNIT = 320


@dataclass(frozen=True)
class SubjectGrid:
    """``T(c · u)`` for a fixed ``c`` of shape ``(1, B, G)``, tabulated over ``ln u``."""

    ln_u0: float
    inv_step: float
    values: NDArray[np.float32]  # (N, B, G)
    slopes: NDArray[np.float32]  # (N, B, G)

    @classmethod
    def build(cls, exact: Exact, c: FloatArray, u_min: float, u_max: float) -> SubjectGrid:
        """Tabulate ``1 − exact(c·u)`` for ``u`` in ``[u_min, u_max]`` (> 0)."""
        ln_lo, ln_hi = math.log(u_min), math.log(u_max)
        if ln_hi - ln_lo < 1e-9:
            ln_hi = ln_lo + 1e-9
        n = max(2, math.ceil((ln_hi - ln_lo) * GRID_POINTS_PER_LOG_UNIT) + 1)
        u = np.exp(np.linspace(ln_lo, ln_hi, n))
        # Evaluated and stored in float32: transmissions lie in [0, 1], where float32
        # resolves 6e-8 and the formulas agree with float64 to 6e-7 — far below the
        # interpolation error — while the build runs 2–4× faster and every later gather
        # moves half the bytes.
        argument = (c[0][None] * u[:, None, None]).astype(np.float32)
        values = (1.0 - np.asarray(exact(argument, check=False))).astype(np.float32)
        slopes = np.zeros_like(values)
        np.subtract(values[1:], values[:-1], out=slopes[:-1])
        return cls(ln_lo, (n - 1) / (ln_hi - ln_lo), values, slopes)

    @classmethod
    def from_function(
        cls, transmission_of_u: Callable[[FloatArray], FloatArray], u_min: float, u_max: float
    ) -> SubjectGrid:
        """Tabulate any ``transmission_of_u(u) -> (N, ...)`` over ``[u_min, u_max]``.

        For quantities that are not a product form, such as the extrathoracic
        filter as a function of the flow.
        """
        ln_lo, ln_hi = math.log(u_min), math.log(u_max)
        if ln_hi - ln_lo < 1e-9:
            ln_hi = ln_lo + 1e-9
        n = max(2, math.ceil((ln_hi - ln_lo) * GRID_POINTS_PER_LOG_UNIT) + 1)
        u = np.exp(np.linspace(ln_lo, ln_hi, n))
        values = np.asarray(transmission_of_u(u), dtype=np.float32)
        slopes = np.zeros_like(values)
        np.subtract(values[1:], values[:-1], out=slopes[:-1])
        return cls(ln_lo, (n - 1) / (ln_hi - ln_lo), values, slopes)

    def at(
        self, u: FloatArray, out: NDArray[np.float32], scratch: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """Interpolated transmissions for the subjects' ``u``, written into ``out`` ``(S, B, G)``.

        ``scratch`` is a work array of the same shape. Both are reused across
        chunks: on this project's machines freshly allocated multi-megabyte arrays
        cost more in page faults than the arithmetic done on them.
        """
        position = (np.log(u) - self.ln_u0) * self.inv_step
        np.clip(position, 0.0, self.values.shape[0] - 1 - 1e-9, out=position)
        index = position.astype(np.intp)
        fraction = (position - index).astype(np.float32).reshape(-1, *([1] * (out.ndim - 1)))
        # mode="clip": the index is already in range, and NumPy's default mode="raise"
        # copies through a temporary when given ``out`` (3× slower here).
        np.take(self.slopes, index, axis=0, out=out, mode="clip")
        out *= fraction
        np.take(self.values, index, axis=0, out=scratch, mode="clip")
        out += scratch
        return out


class Workspace:
    """Named work arrays reused from one chunk of subjects to the next."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, type[np.floating[Any]]], NDArray[Any]] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> FloatArray:
        """A C-contiguous float64 array of ``shape`` (contents undefined)."""
        size = math.prod(shape)
        return np.asarray(self._buffer(name, size, np.float64)[:size].reshape(shape))

    def array32(self, name: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
        """A C-contiguous float32 array of ``shape`` (contents undefined)."""
        size = math.prod(shape)
        return np.asarray(self._buffer(name, size, np.float32)[:size].reshape(shape))

    def _buffer(self, name: str, size: int, dtype: type[np.floating[Any]]) -> NDArray[Any]:
        key = (name, dtype)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = np.empty(size, dtype=dtype)
            self._buffers[key] = buffer
        return buffer


def transmission(
    exact_function: Exact,
    table: LogTable,
    c: FloatArray,
    u: FloatArray,
    *,
    exact: bool,
    grid: SubjectGrid | None = None,
    workspace: Workspace | None = None,
    name: str = "",
) -> FloatArray:
    """``1 − f(c · u[:, None, None])`` shaped ``(S, B, G)``.

    Parameters
    ----------
    exact_function : callable
        The reference formula (``check=False`` is passed).
    table : LogTable
        Its element-wise lookup table.
    c : ndarray, shape ``(S or 1, B, G)``
        Per-bin × per-generation factor, > 0.
    u : ndarray, shape ``(S,)``
        Per-subject factor, > 0.
    exact : bool
        Evaluate the formula itself.
    grid : SubjectGrid, optional
        A precomputed grid over ``u`` for this ``c`` (shared aerosol only).
    workspace : Workspace, optional
        Where the grid path writes its result (array ``name``); required with ``grid``.
    """
    if grid is not None and not exact:
        if workspace is None:
            raise ValueError("the grid path needs a workspace")
        shape = (u.shape[0], *grid.values.shape[1:])
        out = workspace.array32(name, shape)
        return np.asarray(grid.at(u, out, workspace.array32("grid scratch", shape)))
    if exact:
        return 1.0 - np.asarray(exact_function(c * u[:, None, None], check=False), dtype=np.float64)
    result = table.product_3d(c, u)
    np.subtract(1.0, result, out=result)
    return result
