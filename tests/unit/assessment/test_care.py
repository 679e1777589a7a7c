"""The complementary-care check: recorded, flagged for the physician, never advised on."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from exoneb.assessment.care import (
    CARE_REMINDER,
    CareCheck,
    PrescribedMedicine,
    check_prescribed_care,
)
from exoneb.assessment.eligibility import EligibilityOutcome, load_default_eligibility_rules
from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.rules import decide_assessment

from .test_eligibility_default import BASELINE

TIOTROPIUM = PrescribedMedicine(
    "tiotropium",
    "18 µg",
    "inhaled",
    "once daily",
    taken_as_prescribed=True,
    last_changed_on=date(2026, 5, 1),
)
SALBUTAMOL = PrescribedMedicine(
    "salbutamol",
    "100 µg, 2 puffs",
    "inhaled",
    "as needed",
    taken_as_prescribed=True,
    last_changed_on=date(2025, 1, 10),
)


def _codes(check: CareCheck) -> list[str]:
    return [f.code for f in check.flags]


def test_care_recorded_and_taken_as_prescribed_is_not_flagged() -> None:
    check = check_prescribed_care([TIOTROPIUM, SALBUTAMOL])
    assert check.flags == ()
    assert not check.needs_review
    assert check.last_changed == date(2026, 5, 1)
    assert check.reminder == CARE_REMINDER


def test_care_not_recorded_needs_review() -> None:
    check = check_prescribed_care([])
    assert _codes(check) == ["care-not-recorded"]
    assert check.needs_review
    assert check.last_changed is None


def test_confirmed_no_prescribed_care_is_an_answer_not_a_gap() -> None:
    check = check_prescribed_care([], none_prescribed=True)
    assert check.flags == ()
    assert check.last_changed == "none"
    with pytest.raises(AssessmentInputError, match="none_prescribed"):
        check_prescribed_care([TIOTROPIUM], none_prescribed=True)


@pytest.mark.parametrize(
    ("medicine", "code"),
    [
        (
            PrescribedMedicine("budesonide", "200 µg", "inhaled", "twice daily"),
            "care-adherence-not-recorded",
        ),
        (
            PrescribedMedicine("budesonide", "200 µg", "inhaled", "bd", taken_as_prescribed=False),
            "care-not-taken-as-prescribed",
        ),
        (
            PrescribedMedicine(
                "budesonide",
                "200 µg",
                "inhaled",
                "bd",
                taken_as_prescribed=False,
                stopped_for_this_therapy=True,
            ),
            "care-stopped-for-this-therapy",
        ),
    ],
)
def test_each_medicine_is_asked_about(medicine: PrescribedMedicine, code: str) -> None:
    check = check_prescribed_care([TIOTROPIUM, medicine])
    assert _codes(check) == [code]
    assert check.flags[0].message.startswith("budesonide:")
    assert "§7" in check.flags[0].source


def test_unknown_change_date_makes_stability_unknown() -> None:
    undated = PrescribedMedicine("budesonide", "200 µg", "inhaled", "bd", taken_as_prescribed=True)
    assert check_prescribed_care([TIOTROPIUM, undated]).last_changed is None


def test_a_medicine_needs_a_name() -> None:
    with pytest.raises(AssessmentInputError, match="medicine"):
        check_prescribed_care([PrescribedMedicine(" ", "1", "inhaled", "daily")])


def test_the_care_passed_in_comes_back_unchanged() -> None:
    care = [TIOTROPIUM, SALBUTAMOL]
    check = check_prescribed_care(care)
    assert check.care == (TIOTROPIUM, SALBUTAMOL)
    assert all(a is b for a, b in zip(check.care, care, strict=True))
    assert care == [TIOTROPIUM, SALBUTAMOL]
    with pytest.raises(FrozenInstanceError):
        TIOTROPIUM.dose = "36 µg"  # type: ignore[misc]


RULES = load_default_eligibility_rules()


def test_care_flags_turn_cleared_into_needs_review() -> None:
    facts = {k: v for k, v in BASELINE.items() if k != "prescribed_care_last_changed"}
    cleared = decide_assessment(RULES, facts, care=check_prescribed_care([TIOTROPIUM]))
    assert cleared.outcome is EligibilityOutcome.CLEARED
    missing = decide_assessment(RULES, facts, care=check_prescribed_care([]))
    assert missing.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert [f.code for f in missing.flags] == ["care-not-recorded"]
    assert [r.rule_id for r in missing.not_evaluable] == ["inc-stable-unchanged-care"]
    stopped = PrescribedMedicine(
        "tiotropium",
        "18 µg",
        "inhaled",
        "daily",
        stopped_for_this_therapy=True,
        last_changed_on=date(2026, 5, 1),
    )
    flagged = decide_assessment(RULES, facts, care=check_prescribed_care([stopped]))
    assert flagged.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert flagged.not_evaluable == ()


def test_care_facts_conflicting_with_given_facts_are_refused() -> None:
    facts = {**BASELINE, "prescribed_care_last_changed": date(2026, 11, 20)}
    with pytest.raises(AssessmentInputError, match="prescribed_care_last_changed"):
        decide_assessment(RULES, facts, care=check_prescribed_care([TIOTROPIUM]))


# --- no output suggests changing prescribed care ----------------------------------------------

_CHANGE = (
    r"(stop\w*|discontinu\w*|reduc\w*|taper\w*|switch\w*|chang\w*|withh\w*|hold\w*|skip\w*|"
    r"paus\w*|replac\w*|lower\w*|increas\w*|decreas\w*|cut\w*|swap\w*|substitut\w*)"
)
ADVICE = [
    # an advising word followed (in the same sentence) by a change verb
    re.compile(
        r"\b(should|must|consider\w*|recommend\w*|advis\w*|suggest\w*|please|try|may want|"
        r"could|ought)\b[^.]*\b" + _CHANGE,
        re.IGNORECASE,
    ),
    # a sentence that starts with a change verb (an instruction)
    re.compile(r"(^|[.!?:]\s+)" + _CHANGE + r"\b", re.IGNORECASE),
    # "instead of"/"in place of" prescribed care
    re.compile(r"\b(instead of|in place of|rather than)\b", re.IGNORECASE),
]


def _advice_found(text: str) -> bool:
    return any(p.search(text) for p in ADVICE)


def test_the_advice_detector_can_fail() -> None:
    for advice in [
        "Consider stopping tiotropium.",
        "Stop the inhaler before the session.",
        "Tiotropium: you may want to reduce the dose.",
        "Use this therapy instead of salbutamol.",
        "Recommend switching to budesonide.",
    ]:
        assert _advice_found(advice), advice


def _all_output_texts() -> list[str]:
    texts = [CARE_REMINDER]
    scenarios = [
        check_prescribed_care([]),
        check_prescribed_care([], none_prescribed=True),
        check_prescribed_care([TIOTROPIUM, SALBUTAMOL]),
        check_prescribed_care(
            [
                PrescribedMedicine("a", "1", "inhaled", "daily"),
                PrescribedMedicine("b", "1", "inhaled", "daily", taken_as_prescribed=False),
                PrescribedMedicine("c", "1", "inhaled", "daily", stopped_for_this_therapy=True),
            ]
        ),
    ]
    for check in scenarios:
        texts.append(check.reminder)
        texts += [f.message for f in check.flags] + [f.source for f in check.flags]
        for facts in (BASELINE, {}, {**BASELINE, "temperature_c": 38.5}):
            decision = decide_assessment(
                RULES,
                {k: v for k, v in facts.items() if k != "prescribed_care_last_changed"},
                care=check,
            )
            texts += list(decision.reasons)
    texts += [r.title for r in RULES.rules] + [r.source for r in RULES.rules]
    return texts


def test_no_output_suggests_stopping_or_changing_prescribed_care() -> None:
    texts = _all_output_texts()
    assert len(texts) > 100
    offending = [t for t in texts if _advice_found(t)]
    assert offending == []
