"""Test helpers for code that uses the dose engine (like ``pint.testing``).

Downstream tests (the inhalation step, reports) compare estimates region by
region with one call and a readable failure message.
"""

from __future__ import annotations

import numpy as np

from exoneb.dosimetry.model import DepositionResult


def assert_deposition_close(
    actual: DepositionResult,
    desired: DepositionResult,
    *,
    atol: float = 1e-9,
    basis: str = "fractions_of_loaded",
) -> None:
    """Assert two estimates give the same regional fractions within ``atol``.

    Parameters
    ----------
    actual, desired : DepositionResult
    atol : float
        Absolute tolerance on every fraction (default 1e-9).
    basis : {"fractions_of_loaded", "fractions_of_inhaled"}

    Raises
    ------
    AssertionError
        Naming every region that differs, with both values.
    """
    a = getattr(actual, basis)
    d = getattr(desired, basis)
    problems = []
    for region in sorted(set(a) | set(d)):
        left, right = a.get(region), d.get(region)
        if left is None or right is None:
            if left is not right:
                problems.append(f"{region}: {left!r} vs {right!r}")
            continue
        if not np.allclose(left, right, rtol=0.0, atol=atol):
            problems.append(f"{region}: {np.asarray(left)!r} vs {np.asarray(right)!r}")
    if problems:
        raise AssertionError(f"{basis} differ beyond atol={atol:g}: " + "; ".join(problems))
