"""Errors raised by the dose engine.

Every invalid input is reported with the field, the value given and the range
that would be accepted, so a clinician or trial designer can fix it without
reading the code. Nothing is clamped silently.
"""

from __future__ import annotations

from typing import Any


class DosimetryInputError(ValueError):
    """An input to the dose engine is out of range, inconsistent or unknown.

    Parameters
    ----------
    field : str
        Name of the offending input as the caller wrote it (e.g. ``"gsd"``).
    value : Any
        The value that was given (an array is summarised by its offending element).
    expected : str
        The valid range or set of values, in words (e.g. ``"≥ 1"``).
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
