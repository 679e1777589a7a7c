from exoneb.dosimetry import DosimetryInputError


def test_message_names_field_value_and_range() -> None:
    err = DosimetryInputError("gsd", 0.8, "≥ 1", "A lognormal spread cannot be below 1.")
    assert str(err) == "gsd = 0.8 is invalid: expected ≥ 1. A lognormal spread cannot be below 1."
    assert isinstance(err, ValueError)
    assert err.field == "gsd"
