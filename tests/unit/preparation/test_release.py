"""Release criteria against the certificate of analysis (reference/clinical.md §2.1–§2.3).

Every criterion is tested on both sides of its limit and with the data missing;
missing data must never count as a pass.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest

from exoneb.preparation.rules import (
    InvalidInput,
    Limit,
    Outcome,
    QualitativeResult,
    ReleaseCriteria,
    ReleaseEvaluation,
    StorageRange,
    evaluate_release,
)

from .factories import GOOD_MARKERS, make_coa

NEG, POS = QualitativeResult.NEGATIVE, QualitativeResult.POSITIVE


def outcome(evaluation: ReleaseEvaluation, key: str) -> Outcome:
    (result,) = [r for r in evaluation.results if r.key == key]
    return result.outcome


def test_a_certificate_meeting_every_criterion_is_releasable() -> None:
    """§2.3: all twelve lines of the default checklist pass."""
    evaluation = evaluate_release(make_coa())
    assert [r.key for r in evaluation.results] == [
        "sterility",
        "mycoplasma",
        "endotoxin",
        "particle_content",
        "marker:CD9",
        "marker:CD63",
        "marker:CD81",
        "marker:TSG101",
        "marker:calnexin",
        "purity",
        "size_window",
        "size_mode",
    ]
    assert all(r.outcome is Outcome.PASS for r in evaluation.results)
    assert evaluation.releasable
    assert evaluation.summary() == "All 12 release criteria pass."


def test_every_line_shows_measured_value_limit_and_a_section_2_source() -> None:
    """§7: each rule evaluation records its inputs, limit and source."""
    for result in evaluate_release(make_coa()).results:
        assert result.measured
        assert result.limit
        assert result.label
        assert "reference/clinical.md §2." in result.source


@pytest.mark.parametrize(
    ("field", "value", "key", "expected"),
    [
        # sterility must be negative (21 CFR 200.51)
        ("sterility", NEG, "sterility", Outcome.PASS),
        ("sterility", POS, "sterility", Outcome.FAIL),
        ("sterility", None, "sterility", Outcome.MISSING),
        # mycoplasma must be negative
        ("mycoplasma", NEG, "mycoplasma", Outcome.PASS),
        ("mycoplasma", POS, "mycoplasma", Outcome.FAIL),
        ("mycoplasma", None, "mycoplasma", Outcome.MISSING),
        # endotoxin ≤ 0.5 EU/mL, inclusive
        ("endotoxin_eu_per_ml", 0.49, "endotoxin", Outcome.PASS),
        ("endotoxin_eu_per_ml", 0.5, "endotoxin", Outcome.PASS),
        ("endotoxin_eu_per_ml", 0.51, "endotoxin", Outcome.FAIL),
        ("endotoxin_eu_per_ml", None, "endotoxin", Outcome.MISSING),
        ("endotoxin_eu_per_ml", math.nan, "endotoxin", Outcome.MISSING),
        # particle content within ±20 % of a 2.0e9/mL label, inclusive
        ("certified_particles_per_ml", 2.4e9, "particle_content", Outcome.PASS),
        ("certified_particles_per_ml", 2.41e9, "particle_content", Outcome.FAIL),
        ("certified_particles_per_ml", 1.6e9, "particle_content", Outcome.PASS),
        ("certified_particles_per_ml", 1.59e9, "particle_content", Outcome.FAIL),
        ("certified_particles_per_ml", None, "particle_content", Outcome.MISSING),
        ("labelled_particles_per_ml", None, "particle_content", Outcome.MISSING),
        # purity ≥ 2e9 particles/µg (design default, low-purity band and above)
        ("particle_protein_ratio_per_ug", 2.0e9, "purity", Outcome.PASS),
        ("particle_protein_ratio_per_ug", 1.99e9, "purity", Outcome.FAIL),
        ("particle_protein_ratio_per_ug", 1.0e9, "purity", Outcome.FAIL),
        # % within 50–400 nm must be > 90 % (strict)
        ("size_within_window_percent", 90.1, "size_window", Outcome.PASS),
        ("size_within_window_percent", 90.0, "size_window", Outcome.FAIL),
        ("size_within_window_percent", None, "size_window", Outcome.MISSING),
        ("size_window_nm", None, "size_window", Outcome.MISSING),
        ("size_window_nm", (30.0, 200.0), "size_window", Outcome.MISSING),
        # size mode inside 50–400 nm, inclusive
        ("size_mode_nm", 50.0, "size_mode", Outcome.PASS),
        ("size_mode_nm", 400.0, "size_mode", Outcome.PASS),
        ("size_mode_nm", 49.9, "size_mode", Outcome.FAIL),
        ("size_mode_nm", 400.1, "size_mode", Outcome.FAIL),
        ("size_mode_nm", None, "size_mode", Outcome.MISSING),
    ],
)
def test_each_numeric_and_qualitative_criterion(
    field: str, value: Any, key: str, expected: Outcome
) -> None:
    """§2.3 limits on both sides, and missing data reported as missing, never as pass."""
    evaluation = evaluate_release(make_coa(**{field: value}))
    assert outcome(evaluation, key) is expected
    assert evaluation.releasable is (expected is Outcome.PASS)
    others = [r for r in evaluation.results if r.key != key]
    assert all(r.outcome is Outcome.PASS for r in others)


@pytest.mark.parametrize("marker", ["CD9", "CD63", "CD81", "TSG101"])
def test_each_positive_identity_marker(marker: str) -> None:
    """§2.1/§2.3: CD9, CD63, CD81 and TSG101 must be detected."""
    absent = {**GOOD_MARKERS, marker: False}
    missing = {k: v for k, v in GOOD_MARKERS.items() if k != marker}
    assert outcome(evaluate_release(make_coa(markers=absent)), f"marker:{marker}") is Outcome.FAIL
    evaluation = evaluate_release(make_coa(markers=missing))
    assert outcome(evaluation, f"marker:{marker}") is Outcome.MISSING
    assert not evaluation.releasable


def test_calnexin_must_be_absent_and_canx_is_the_same_marker() -> None:
    """§2.3: calnexin (CANX in STTT 2025) is a contaminant marker that must be negative."""
    detected = {**GOOD_MARKERS, "calnexin": True}
    assert outcome(evaluate_release(make_coa(markers=detected)), "marker:calnexin") is Outcome.FAIL
    canx = {**{k: v for k, v in GOOD_MARKERS.items() if k != "calnexin"}, "CANX": False}
    assert outcome(evaluate_release(make_coa(markers=canx)), "marker:calnexin") is Outcome.PASS
    lower = {k.lower(): v for k, v in GOOD_MARKERS.items()}
    assert evaluate_release(make_coa(markers=lower)).releasable
    missing = {k: v for k, v in GOOD_MARKERS.items() if k != "calnexin"}
    assert (
        outcome(evaluate_release(make_coa(markers=missing)), "marker:calnexin") is Outcome.MISSING
    )


def test_purity_is_derived_from_particles_and_protein_when_the_ratio_is_absent() -> None:
    """§2.1: the ratio is particles per µg protein; derived when both quantities are given."""
    ok = evaluate_release(make_coa(particle_protein_ratio_per_ug=None))  # 2.1e9 / 0.05
    (line,) = [r for r in ok.results if r.key == "purity"]
    assert line.outcome is Outcome.PASS
    assert "derived" in line.measured
    impure = make_coa(particle_protein_ratio_per_ug=None, protein_ug_per_ml=2.0)  # 1.05e9/µg
    assert outcome(evaluate_release(impure), "purity") is Outcome.FAIL
    unknown = make_coa(particle_protein_ratio_per_ug=None, protein_ug_per_ml=None)
    assert outcome(evaluate_release(unknown), "purity") is Outcome.MISSING


def test_a_sponsor_can_tighten_the_endotoxin_limit() -> None:
    """§2.3: 0.25 EU/mL as in STTT 2025; the limit and its source come from the protocol."""
    tight = ReleaseCriteria(endotoxin_max_eu_per_ml=Limit(0.25, "EU/mL", "protocol X §4"))
    evaluation = evaluate_release(make_coa(endotoxin_eu_per_ml=0.3), tight)
    (line,) = [r for r in evaluation.results if r.key == "endotoxin"]
    assert line.outcome is Outcome.FAIL
    assert line.source == "protocol X §4"
    assert line.limit == "≤ 0.25 EU/mL"
    assert evaluate_release(make_coa(endotoxin_eu_per_ml=0.3)).releasable


def test_summary_names_what_failed_and_what_is_missing() -> None:
    """The release page and the refusal message say which lines block release."""
    evaluation = evaluate_release(make_coa(sterility=POS, mycoplasma=None))
    assert not evaluation.releasable
    assert [r.key for r in evaluation.failed] == ["sterility"]
    assert [r.key for r in evaluation.missing] == ["mycoplasma"]
    assert evaluation.summary() == (
        "The lot cannot be released — failed: Sterility; no data: Mycoplasma."
    )


def test_summary_with_failures_only_or_missing_data_only() -> None:
    """Each part of the summary appears only when it applies."""
    evaluation = evaluate_release(make_coa(endotoxin_eu_per_ml=0.6))
    assert evaluation.summary() == "The lot cannot be released — failed: Endotoxin (LAL)."
    missing_only = evaluate_release(make_coa(size_mode_nm=None))
    assert missing_only.summary() == "The lot cannot be released — no data: Size mode (NTA)."


def test_an_empty_evaluation_is_not_releasable() -> None:
    """No lines means nothing was checked, which is not a pass."""
    assert not ReleaseEvaluation(()).releasable


@pytest.mark.parametrize(
    "overrides",
    [
        {"expires_at": datetime(2026, 9, 1)},  # naive
        {"vial_count": 0},
        {"volume_per_vial_ml": 0.0},
        {"volume_per_vial_ml": math.inf},
        {"max_thaw_cycles": 0},
        {"endotoxin_eu_per_ml": -0.1},  # would otherwise pass "≤ 0.5"
        {"certified_particles_per_ml": -2.0e9},
        {"size_within_window_percent": 100.5},
    ],
)
def test_impossible_certificates_are_refused(overrides: dict[str, Any]) -> None:
    """A certificate with an impossible field cannot be recorded."""
    with pytest.raises(InvalidInput):
        make_coa(**overrides)


def test_storage_range_must_be_ordered_and_finite() -> None:
    """§2.4: the storage range is a closed interval in °C."""
    with pytest.raises(InvalidInput, match="reversed"):
        StorageRange(-60.0, -90.0)
    with pytest.raises(InvalidInput):
        StorageRange(math.nan, -60.0)
