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
    assert [a.code for a in demo.arms] == ["DL1", "DL2", "DL3", "DL4"]
    cited = {s.id: s.citation for s in demo.sources}
    assert all("reference/clinical.md" in cited[a.source] for a in demo.arms)


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
