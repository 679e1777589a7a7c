"""The public surface of the inhalation rules and the stable error codes."""

from __future__ import annotations

import inspect

from exoneb.dosimetry import DosimetryInputError
from exoneb.inhalation import errors, rules


def test_every_exported_name_exists_and_the_list_is_sorted() -> None:
    for name in rules.__all__:
        assert hasattr(rules, name), name
    assert rules.__all__ == sorted(rules.__all__, key=lambda n: (not n.isupper(), n))


def test_every_refusal_is_exported_with_a_unique_stable_code() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.InhalationError)
    ]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))
    assert all(issubclass(cls, ValueError) for cls in classes)
    assert {cls.__name__ for cls in classes} <= set(rules.__all__)
    assert errors.SupervisorAbsent("x").code == "run.supervisor_absent"
    assert errors.ResidualExceedsFill("x").code == "run.residual_exceeds_fill"


def test_an_engine_refusal_keeps_field_value_and_range_in_words_a_nurse_reads() -> None:
    engine = DosimetryInputError("residual_ml", 3.5, "from 0 mL to below the fill volume", "Hint.")
    refused = errors.DoseModelRefused.from_engine(engine)
    assert refused.code == "estimate.model_input_refused"
    assert (refused.field, refused.value, refused.expected) == (
        "residual_ml",
        3.5,
        "from 0 mL to below the fill volume",
    )
    assert "residual volume" in refused.message
    assert "residual_ml = 3.5" in refused.message
    assert "below the fill volume" in refused.message
    assert refused.message.endswith("Hint.")
