"""The downstream helper ``exoneb.dosimetry.testing.assert_deposition_close``."""

from __future__ import annotations

import pytest

from exoneb.dosimetry import deposit
from exoneb.dosimetry.testing import assert_deposition_close


def test_equal_estimates_pass() -> None:
    assert_deposition_close(deposit(), deposit())


def test_different_estimates_name_the_region() -> None:
    with pytest.raises(AssertionError, match="alveolar"):
        assert_deposition_close(deposit(mmad_um=2.0), deposit(mmad_um=5.0), atol=1e-6)


def test_model_mismatch_with_missing_fields_is_reported() -> None:
    with pytest.raises(AssertionError, match="bronchial: None"):
        assert_deposition_close(deposit(model="icrp66"), deposit(), atol=1.0)
