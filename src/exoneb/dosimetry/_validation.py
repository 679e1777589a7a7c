"""Input checks shared by the formula modules (private).

The checks reject values that have no physical meaning (a negative diameter, a
relative humidity of 100 %) with a :class:`DosimetryInputError` that names the
field. NaN is *not* rejected: as in pvlib, a NaN input propagates to a NaN
output, so that a missing value in one subject of a cohort does not stop the
others. Comparisons with NaN are false, which is what makes that work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exoneb.dosimetry.errors import DosimetryInputError

#: A floating-point array (or NumPy floating scalar) of any precision.
FloatArray = NDArray[np.floating[Any]]


def as_float_array(value: ArrayLike) -> FloatArray:
    """Return ``value`` as a floating-point array, keeping float32/float64 as given.

    Integers and Python scalars become float64; float32 stays float32 so that the
    engine can choose its working precision.
    """
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array


def _offending(array: FloatArray, bad: NDArray[np.bool_]) -> float:
    """First offending element, as a Python float, for the error message."""
    return float(np.asarray(array)[bad].flat[0]) if np.ndim(array) else float(array)


def _require(
    field: str,
    value: ArrayLike,
    is_bad: Callable[[FloatArray], NDArray[np.bool_]],
    expected: str,
    hint: str,
) -> FloatArray:
    array = as_float_array(value)
    bad = np.asarray(is_bad(array))
    if bad.any():
        raise DosimetryInputError(field, _offending(array, bad), expected, hint)
    return array


def require_positive(field: str, value: ArrayLike, hint: str = "") -> FloatArray:
    """``value > 0`` element-wise (NaN passes), else :class:`DosimetryInputError`."""
    return _require(field, value, lambda a: a <= 0, "> 0", hint)


def require_nonnegative(field: str, value: ArrayLike, hint: str = "") -> FloatArray:
    """``value >= 0`` element-wise (NaN passes), else :class:`DosimetryInputError`."""
    return _require(field, value, lambda a: a < 0, "≥ 0", hint)


def require_at_least(field: str, value: ArrayLike, bound: float, hint: str = "") -> FloatArray:
    """``value >= bound`` element-wise (NaN passes), else :class:`DosimetryInputError`."""
    return _require(field, value, lambda a: a < bound, f"≥ {bound:g}", hint)


def require_unit_interval(field: str, value: ArrayLike, hint: str = "") -> FloatArray:
    """``0 <= value <= 1`` element-wise (NaN passes), else :class:`DosimetryInputError`."""
    return _require(field, value, lambda a: (a < 0) | (a > 1), "in [0, 1]", hint)


def require_open_unit_interval(field: str, value: ArrayLike, hint: str = "") -> FloatArray:
    """``0 < value < 1`` element-wise (NaN passes), else :class:`DosimetryInputError`."""
    return _require(field, value, lambda a: (a <= 0) | (a >= 1), "in (0, 1) exclusive", hint)


def require_half_open_unit_interval(field: str, value: ArrayLike, hint: str = "") -> FloatArray:
    """``0 < value <= 1`` element-wise (NaN passes), else :class:`DosimetryInputError`."""
    return _require(field, value, lambda a: (a <= 0) | (a > 1), "in (0, 1]", hint)


def require_choice(field: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` is one of ``choices``, else :class:`DosimetryInputError`."""
    if value not in choices:
        raise DosimetryInputError(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def require_where(
    field: str,
    value: ArrayLike,
    ok: Callable[[NDArray[np.float64]], NDArray[np.bool_]],
    expected: str,
    hint: str = "",
) -> NDArray[np.float64]:
    """``ok(value)`` element-wise, else :class:`DosimetryInputError` — **NaN fails**.

    For the engine's user-facing inputs (:func:`exoneb.dosimetry.deposit` and the
    device and breathing builders), where a missing value is a mistake to report,
    not a subject to skip. Float64 is returned.
    """
    array = np.asarray(value, dtype=np.float64)
    good = np.asarray(ok(array))
    if not good.all():
        bad = np.broadcast_to(array, good.shape)[~good]
        raise DosimetryInputError(field, float(bad.flat[0]), expected, hint)
    return array
