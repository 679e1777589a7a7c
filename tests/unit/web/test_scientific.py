"""Large counts on pages read as clinicians write them: 2.00 × 10⁹, not 2.00e+09."""

from __future__ import annotations

import pytest

from exoneb.web.templating import scientific


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2.0e9, "2.00 × 10⁹"),
        (1.234e12, "1.23 × 10¹²"),
        (-3.5e-5, "-3.50 × 10⁻⁵"),
        (0.0, "0"),
        (42.0, "42"),
        (0.5, "0.5"),
        (None, "—"),
    ],
)
def test_scientific(value: float | None, shown: str) -> None:
    assert scientific(value) == shown
