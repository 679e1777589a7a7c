"""Errors raised by the assessment calculations.

Hierarchy::

    ValueError
     └── AssessmentInputError           an input is out of range, missing or unknown
    RuntimeError
     └── ReferenceTableIntegrityError   a vendored lookup table is not the pinned file

Every invalid input is reported with the field, the value given and the range
that would be accepted, so a clinician can correct the entry without reading
code. Nothing is clamped silently: a reference equation used outside the ages or
heights it was fitted on gives numbers that look precise but are not.
"""

from __future__ import annotations

from typing import Any


class AssessmentInputError(ValueError):
    """An assessment input is out of range, inconsistent or unknown.

    Parameters
    ----------
    field : str
        Name of the offending input as the caller wrote it (e.g. ``"height_cm"``).
    value : Any
        The value that was given.
    expected : str
        The valid range or set of values, in words (e.g. ``"80–250 cm"``).
    hint : str, optional
        One sentence on what to change.
    """

    def __init__(self, field: str, value: Any, expected: str, hint: str = "") -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.hint = hint
        message = f"{field} = {value!r} is invalid: expected {expected}."
        if hint:
            message += f" {hint}"
        super().__init__(message)


class ReferenceTableIntegrityError(RuntimeError):
    """A vendored reference table does not match its pinned sha256.

    Raised at load time, because a silently edited spline table would shift every
    predicted value and z-score a little, which no clinician could notice.
    """
