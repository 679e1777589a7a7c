"""Regimens as protocol arms: an arm names its regimen; a protocol may only name allowed ones."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from exoneb.core.config import PROTOCOLS_DIR
from exoneb.inhalation.rules import EXOSOME_INHALATION, SALINE_NEBULIZATION
from exoneb.protocols.schema import ProtocolFile


def _demo() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PROTOCOLS_DIR / "demo-exo-01.yaml").read_text("utf-8"))
    return data


PLACEBO = {"code": "PBO2", "label": "Saline placebo", "regimen": "saline-nebulization",
           "fill_volume_ml": 3.0, "source": "mexvt"}  # fmt: skip


def test_an_arm_without_a_regimen_gets_the_first_allowed_one() -> None:
    protocol = ProtocolFile.model_validate(_demo())
    assert protocol.arm_regimen("DL1") == EXOSOME_INHALATION
    assert protocol.arm_regimen("nope") is None


def test_a_placebo_arm_names_the_saline_regimen() -> None:
    data = _demo()
    data["arms"].append(PLACEBO)
    protocol = ProtocolFile.model_validate(data)
    regimen = protocol.arm_regimen("PBO2")
    assert regimen is not None
    assert regimen.id == SALINE_NEBULIZATION.id
    assert regimen.carries_vesicles is False
    assert protocol.arm_regimen("DL1") == EXOSOME_INHALATION


def test_an_arm_may_not_name_a_regimen_the_protocol_does_not_allow() -> None:
    data = _demo()
    data["arms"] = [a for a in data["arms"] if a["code"] != "PBO"] + [PLACEBO]
    data["inhalation"]["regimens"] = [
        r for r in data["inhalation"]["regimens"] if r["id"] != "saline-nebulization"
    ]
    with pytest.raises(ValidationError, match="regimen 'saline-nebulization' is not allowed"):
        ProtocolFile.model_validate(data)
