"""CTCAE v5.0 terms and grades (reference/clinical.md §4.1), seriousness and reporting (§4.5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exoneb.monitoring.adverse_events import (
    TERMS,
    AdverseEvent,
    Causality,
    CtcaeTerm,
    SeriousnessCriterion,
    grade_problems,
    reporting_deadline,
)

from .factories import T0

ISSUE_TERMS = {
    "cough",
    "bronchospasm",
    "dyspnea",
    "hypoxia",
    "sore_throat",
    "pharyngolaryngeal_pain",
    "hoarseness",
    "wheezing",
    "fever",
    "allergic_reaction",
    "anaphylaxis",
    "laryngeal_edema",
    "headache",
    "nausea",
    "other_specify",
}


def event(**kwargs: object) -> AdverseEvent:
    base: dict[str, object] = {
        "term": CtcaeTerm.COUGH,
        "grade": 1,
        "onset_at": T0,
        "causality": Causality.POSSIBLE,
    }
    base.update(kwargs)
    return AdverseEvent(**base)  # type: ignore[arg-type]


def test_every_term_of_issue_7_is_offered() -> None:
    assert {t.value for t in TERMS} >= ISSUE_TERMS
    assert set(TERMS) == set(CtcaeTerm)


@pytest.mark.parametrize(
    ("term", "grades", "code"),
    [
        (CtcaeTerm.COUGH, (1, 2, 3), 10011224),
        (CtcaeTerm.BRONCHOSPASM, (1, 2, 3, 4, 5), 10006482),
        (CtcaeTerm.HYPOXIA, (2, 3, 4, 5), 10021143),
        (CtcaeTerm.ANAPHYLAXIS, (3, 4, 5), 10002218),
        (CtcaeTerm.LARYNGOSPASM, (2, 3, 4, 5), 10023891),
        (CtcaeTerm.PHARYNGITIS, (2, 3, 4, 5), 10034835),
        (CtcaeTerm.FEVER, (1, 2, 3, 4, 5), 10016558),
        (CtcaeTerm.SORE_THROAT, (1, 2, 3), 10041367),
    ],
)
def test_grades_and_codes_match_the_reference_table(
    term: CtcaeTerm, grades: tuple[int, ...], code: int
) -> None:
    assert TERMS[term].allowed_grades == grades
    assert TERMS[term].meddra_code == code


def test_grade_text_is_the_spreadsheet_wording() -> None:
    assert TERMS[CtcaeTerm.BRONCHOSPASM].grades[3] == (
        "Limiting self care ADL; supplemental oxygen indicated"
    )
    assert "<88%" in TERMS[CtcaeTerm.HYPOXIA].grades[2]


def test_other_specify_is_marked_as_not_in_the_reference() -> None:
    other = TERMS[CtcaeTerm.OTHER]
    assert "[not in reference]" in other.source
    assert other.meddra_code is None


@pytest.mark.parametrize(
    ("term", "grade", "ok"),
    [
        (CtcaeTerm.ANAPHYLAXIS, 1, False),
        (CtcaeTerm.ANAPHYLAXIS, 3, True),
        (CtcaeTerm.HYPOXIA, 1, False),
        (CtcaeTerm.COUGH, 4, False),
        (CtcaeTerm.COUGH, 3, True),
        (CtcaeTerm.HEADACHE, 0, False),
    ],
)
def test_grade_validation(term: CtcaeTerm, grade: int, ok: bool) -> None:
    assert (grade_problems(term, grade) == ()) is ok


def test_other_specify_needs_a_name() -> None:
    assert grade_problems(CtcaeTerm.OTHER, 2) == ("Name the event for 'Other, specify'.",)
    assert grade_problems(CtcaeTerm.OTHER, 2, "chest tightness") == ()


def test_an_event_with_an_impossible_grade_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="does not exist for Anaphylaxis"):
        event(term=CtcaeTerm.ANAPHYLAXIS, grade=2)


def test_onset_and_end_relative_to_nebulization_start() -> None:
    e = event(onset_at=T0 + timedelta(minutes=12))
    start = T0 - timedelta(minutes=10)
    assert e.onset_offset(start) == timedelta(minutes=22)
    assert e.end_offset(start) is None
    ended = event(onset_at=T0 + timedelta(minutes=12), end_at=T0 + timedelta(minutes=40))
    assert ended.end_offset(start) == timedelta(minutes=50)


def test_end_before_onset_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        event(end_at=T0 - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("causality", "related"),
    [
        (Causality.DEFINITE, True),
        (Causality.PROBABLE, True),
        (Causality.POSSIBLE, True),
        (Causality.UNLIKELY, False),
        (Causality.UNRELATED, False),
    ],
)
def test_related_means_possible_or_stronger(causality: Causality, related: bool) -> None:
    assert causality.related is related


def test_non_serious_event_has_no_deadline() -> None:
    assert reporting_deadline(event(grade=2)) is None


def test_life_threatening_unexpected_related_event_is_7_days_from_awareness() -> None:
    aware = T0 + timedelta(hours=3)
    e = event(
        term=CtcaeTerm.BRONCHOSPASM,
        grade=4,
        expected=False,
        aware_at=aware,
        seriousness=frozenset({SeriousnessCriterion.LIFE_THREATENING}),
    )
    d = reporting_deadline(e)
    assert d is not None
    assert (d.days, d.clock_start, d.due_at) == (7, aware, aware + timedelta(days=7))
    assert d.expedited_ind_report
    assert "312.32" in d.basis
    assert not d.overdue(aware + timedelta(days=7))
    assert d.overdue(aware + timedelta(days=7, seconds=1))


def test_other_serious_event_is_15_days_and_clock_starts_at_onset_when_awareness_unknown() -> None:
    e = event(
        term=CtcaeTerm.DYSPNEA,
        grade=3,
        expected=True,
        seriousness=frozenset({SeriousnessCriterion.HOSPITALIZATION}),
    )
    d = reporting_deadline(e)
    assert d is not None
    assert (d.days, d.clock_start) == (15, T0)
    assert not d.expedited_ind_report  # expected: shown as the programme default


def test_grade_4_counts_as_serious_even_without_a_ticked_criterion() -> None:
    e = event(term=CtcaeTerm.BRONCHOSPASM, grade=4, causality=Causality.UNRELATED)
    assert e.serious
    d = reporting_deadline(e)
    assert d is not None
    assert d.days == 7
