"""The public surface of the preparation rules and the stable error codes.

The service, pages and API import from ``exoneb.preparation.rules``; the error
codes are what they map to HTTP answers and what tests assert, so they must stay
unique and unchanged.
"""

from __future__ import annotations

import inspect

from exoneb.preparation import errors, rules


def test_every_exported_name_exists_and_the_list_is_sorted() -> None:
    """A cheap API-stability check (STYLE.md §2.8, httpx)."""
    for name in rules.__all__:
        assert hasattr(rules, name), name
    assert rules.__all__ == sorted(rules.__all__, key=lambda n: (not n.isupper(), n))


def test_every_refusal_is_exported_with_a_unique_stable_code() -> None:
    """Each PreparationError subclass has its own code, and rules re-exports it."""
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.PreparationError)
    ]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
    assert all(issubclass(cls, ValueError) for cls in classes)
    assert {cls.__name__ for cls in classes} <= set(rules.__all__)
    assert errors.LotRecalled("x").code == "lot.recalled"
    assert errors.LotRecalled("Lot EV-1 has been recalled.").message == (
        "Lot EV-1 has been recalled."
    )
