"""Report content fingerprints and accessible, deterministic figures (pure, no database)."""

from __future__ import annotations

import math
import re

import pytest

from exoneb.reports import plots
from exoneb.reports.document import (
    Column,
    Item,
    PlotSpec,
    ReferenceLine,
    Report,
    Section,
    Series,
    Table,
    canonical_json,
    display,
    fingerprint,
    normalise_digest,
    not_recorded,
    plot_values,
)


def _report(value: float = 1.3) -> Report:
    return Report(
        kind="session", title="T", subject="S", disclaimer="not medical advice",
        sections=(Section("a", "A", True, items=(Item("FEV1", value, "L"),)),
                  not_recorded("b", "B", "none")),
    )  # fmt: skip


def _spec(n: int = 2) -> PlotSpec:
    series = tuple(
        Series(f"series {i}", ("S1", "S2", "S3"), (1.0 + i, None, 2.0 + i)) for i in range(n)
    )
    return PlotSpec(
        "k",
        "FEV1 before each session",
        "Session",
        "FEV1",
        "L",
        series,
        alt="text alternative",
        reference_lines=(ReferenceLine("LLN", 1.2),),
    )


def test_fingerprint_is_sha256_of_canonical_json_and_changes_with_any_value() -> None:
    a, b = _report(), _report()
    assert fingerprint(a) == fingerprint(b)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(a))
    assert fingerprint(_report(1.31)) != fingerprint(a)
    text = canonical_json(a)
    assert text == canonical_json(b)
    assert ", " not in text  # compact
    assert ": " not in text
    assert text.index('"disclaimer"') < text.index('"kind"')  # sorted keys


def test_a_non_finite_value_is_refused_not_fingerprinted() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        fingerprint(_report(math.nan))


def test_digest_typed_from_paper_ignores_spaces_and_case() -> None:
    assert normalise_digest(" ABcd 12\n34 ") == "abcd1234"


def test_missing_values_read_not_recorded_never_blank() -> None:
    assert display(None) == "not recorded"
    assert display(1.30, "L") == "1.3 L"
    assert display(-2.3456) == "-2.35"
    assert display(0.48149) == "0.481"
    assert display(2.0e8, "particles") == "2.000e+08 particles"
    assert display(True) == "yes"
    section = not_recorded("preparation", "Step 2")
    assert section.recorded is False
    assert section.status == "not recorded"


def test_table_rows_must_fit_their_columns() -> None:
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        Table("t", (Column("a"),), ((1, 2),))


def test_plot_values_table_lists_every_point_of_every_series() -> None:
    table = plot_values(_spec())
    assert [c.name for c in table.columns] == ["Session", "series 0", "series 1"]
    assert table.columns[1].unit == "L"
    assert table.rows == (("S1", 1.0, 2.0), ("S2", None, None), ("S3", 2.0, 3.0))


def test_figure_is_deterministic_and_the_same_drawing_in_svg_and_png() -> None:
    spec = _spec()
    first = plots.render(spec)
    plots.render.cache_clear()
    second = plots.render(spec)
    assert first.svg == second.svg
    assert first.svg_sha256 == second.svg_sha256
    assert first.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.svg_data_uri().startswith("data:image/svg+xml;base64,")


def test_figure_is_accessible_units_palette_and_markers() -> None:
    svg = plots.render(_spec(3)).svg
    assert "FEV1 (L)" in svg  # y label with its unit
    assert ">Session<" in svg or "Session" in svg
    assert "FEV1 before each session" in svg
    for colour in plots.OKABE_ITO[:3]:  # Okabe–Ito, one per series
        assert colour.lower() in svg.lower()
    # different markers per series, so colour is never the only cue
    assert len({plots.MARKERS[i] for i in range(3)}) == 3
    assert len({plots.LINESTYLES[i] for i in range(3)}) == 3


def test_axis_label_omits_empty_units() -> None:
    assert plots.axis_label("FEV1 z-score", "") == "FEV1 z-score"
    assert plots.axis_label("SpO2", "%") == "SpO2 (%)"
