"""Protocol files: the demo protocol validates and cites its sources; bad files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from exoneb.core.config import PROTOCOLS_DIR
from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile


def test_demo_protocol_loads_with_cited_arms() -> None:
    demo = registry.get(PROTOCOLS_DIR, "demo-exo-01")
    assert demo is not None
    assert demo.requires_authorisation
    assert [a.code for a in demo.arms] == ["DL1", "DL2", "DL3", "DL4", "PBO", "SC-NEB", "SC-PMDI"]
    cited = {s.id: s.citation for s in demo.sources}
    assert all("reference/" in cited[a.source] for a in demo.arms)
    assert all("reference/clinical.md" in cited[a.source] for a in demo.arms[:5])


def test_demo_comparator_arms_share_the_workflow_but_not_the_escalation() -> None:
    """Placebo and standard-care arms have their regimen and dose; 3+3 still counts DL1–DL4."""
    demo = registry.get(PROTOCOLS_DIR, "demo-exo-01")
    assert demo is not None
    assert demo.escalation_levels() == {"DL1": 1, "DL2": 2, "DL3": 3, "DL4": 4}
    assert demo.arm_is_vehicle_only("PBO")
    assert not demo.arm_is_vehicle_only("DL1")
    assert demo.arm_dose("PBO") is None
    assert demo.arm_dose("SC-NEB") == (2.5, "mg")
    assert demo.arm_dose("SC-PMDI") == (200.0, "ug")
    regimens = {a.code: demo.arm_regimen(a.code) for a in demo.arms}
    assert {c: r.id for c, r in regimens.items() if r is not None} == {
        "DL1": "exosome-inhalation", "DL2": "exosome-inhalation", "DL3": "exosome-inhalation",
        "DL4": "exosome-inhalation", "PBO": "saline-nebulization",
        "SC-NEB": "standard-inhaled-care", "SC-PMDI": "standard-inhaled-care",
    }  # fmt: skip
    assert "pmdi" in regimens["SC-PMDI"].allowed_device_kinds  # type: ignore[union-attr]
    assert "pmdi" not in regimens["PBO"].allowed_device_kinds  # type: ignore[union-attr]


def _arm_data(**arm: object) -> dict[str, object]:
    return {
        "id": "x", "version": "1", "title": "t", "phase": "1",
        "arms": [{"code": "A", "label": "a", "source": "s", **arm}],
        "sources": [{"id": "s", "citation": "c"}],
    }  # fmt: skip


def test_a_placebo_arm_with_a_dose_is_refused() -> None:
    with pytest.raises(ValueError, match="vehicle only"):
        ProtocolFile.model_validate(
            _arm_data(regimen="saline-nebulization", dose_particles=2e8, fill_volume_ml=3.0)
        )
    with pytest.raises(ValueError, match="needs fill_volume_ml"):
        ProtocolFile.model_validate(_arm_data(regimen="saline-nebulization"))


def test_a_dose_unit_of_another_kind_than_the_regimen_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit regimen exosome-inhalation"):
        ProtocolFile.model_validate(
            _arm_data(regimen="exosome-inhalation", dose_amount=2.5, dose_unit="mg")
        )


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    text = (PROTOCOLS_DIR / "demo-exo-01.yaml").read_text() + "\nmonitoringg: {}\n"
    (tmp_path / "demo-exo-01.yaml").write_text(text)
    with pytest.raises(registry.ProtocolFileError, match="monitoringg"):
        registry.load_all(tmp_path)


def test_file_name_must_match_id(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text((PROTOCOLS_DIR / "demo-exo-01.yaml").read_text())
    with pytest.raises(registry.ProtocolFileError, match="file name"):
        registry.load_all(tmp_path)


def test_arm_citing_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        ProtocolFile.model_validate(
            {
                "id": "x",
                "version": "1",
                "title": "t",
                "phase": "1",
                "arms": [{"code": "A", "label": "a", "source": "nope"}],
                "sources": [{"id": "s", "citation": "c"}],
            }
        )
