"""Worked assessments from measured records to a decision, and the rules.py public API."""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

import pytest

from exoneb.assessment import rules
from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.rules import (
    EligibilityOutcome,
    InspiredOxygen,
    PrescribedMedicine,
    RuleOutcome,
    check_prescribed_care,
    decide_assessment,
    load_default_eligibility_rules,
    merge_facts,
    override_decision,
    record_vitals,
    scale_facts,
    score_cat,
    score_mmrc,
    score_six_minute_walk,
    score_spirometry,
    spirometry_facts,
    vitals_facts,
)

RULES = load_default_eligibility_rules()
TODAY = date(2026, 11, 29)

#: What the nurse and physician record from history and examination.
HISTORY: dict[str, Any] = {
    "assessment_date": TODAY,
    "age_years": 66.0,
    "diagnosis": "copd",
    "diagnosis_confirmed": True,
    "clinically_stable_4_weeks": True,
    "can_use_mouthpiece_or_mask": True,
    "can_perform_spirometry": True,
    "consent_current": True,
    "protocol_authorised": True,
    "last_exacerbation_date": date(2026, 3, 2),
    "last_respiratory_steroid_or_antibiotic_date": date(2026, 3, 2),
    "last_respiratory_hospitalisation_date": "none",
    "active_infection": False,
    "viral_test_required": False,
    "active_or_recent_malignancy": False,
    "pregnant_or_lactating": False,
    "hypersensitivity_to_product_components": False,
    "severe_allergy_or_multiple_allergies": False,
    "current_smoking_or_vaping": False,
    "last_mi_or_unstable_angina_date": "none",
    "uncontrolled_heart_failure": False,
    "significant_arrhythmia": False,
    "airway_hyperreactivity_to_saline": False,
    "long_term_immunosuppression": False,
    "transplant_recipient": False,
    "alt_x_uln": 0.7,
    "ast_x_uln": 0.8,
    "egfr_ml_min_1_73m2": 71.0,
    "last_other_investigational_product_date": "none",
    "other_investigational_product_within_5_half_lives": False,
    "able_to_consent_and_follow_schedule": True,
    "chronic_hypoxaemia_or_hypercapnia_documented": False,
}

CARE = check_prescribed_care(
    [
        PrescribedMedicine(
            "tiotropium/olodaterol",
            "2.5/2.5 µg, 2 puffs",
            "inhaled",
            "once daily",
            taken_as_prescribed=True,
            last_changed_on=date(2026, 4, 15),
        )
    ]
)


def _facts(**vitals: Any) -> dict[str, Any]:
    """History + today's vitals + pre- and post-bronchodilator spirometry of a 66-year-old man."""
    measured = {
        "spo2_percent": 94,
        "inspired_oxygen": InspiredOxygen.room_air(),
        "heart_rate_bpm": 84,
        "respiratory_rate_per_min": 18,
        "systolic_bp_mmhg": 138,
        "diastolic_bp_mmhg": 84,
        "temperature_c": 36.7,
        "weight_kg": 78,
        "height_cm": 174,
        **vitals,
    }
    pre = score_spirometry(sex="M", age=66, height_cm=174, fev1=1.55, fvc=3.10)
    post = score_spirometry(sex="M", age=66, height_cm=174, fev1=1.68, fvc=3.20)
    return merge_facts(
        HISTORY,
        vitals_facts(record_vitals(**measured)),
        spirometry_facts(pre),
        spirometry_facts(post, post_bronchodilator=True),
    )


def test_worked_decision_cleared() -> None:
    facts = _facts()
    assert 30 <= facts["post_bd_fev1_percent_predicted"] < 80
    assert facts["post_bd_fev1_fvc_ratio"] == pytest.approx(1.68 / 3.20)
    decision = decide_assessment(RULES, facts, care=CARE)
    assert decision.outcome is EligibilityOutcome.CLEARED, decision.reasons
    assert len(decision.passed) == len(RULES.rules)
    spo2 = next(r for r in decision.results if r.rule_id == "gng-spo2")
    assert spo2.values["spo2_percent"] == 94.0


def test_worked_decision_ineligible_lists_each_failure() -> None:
    facts = _facts(temperature_c=38.3, heart_rate_bpm=124)
    decision = decide_assessment(RULES, {**facts, "pregnant_or_lactating": True}, care=CARE)
    assert decision.outcome is EligibilityOutcome.INELIGIBLE
    assert [r.rule_id for r in decision.failed] == [
        "exc-pregnancy",
        "gng-heart-rate",
        "gng-temperature",
    ]
    assert decision.reasons[0].startswith("Failed — Not pregnant or lactating: failed")
    assert any("temperature_c = 38.3" in line for line in decision.reasons)


def test_worked_decision_needs_review_names_the_gaps() -> None:
    facts = _facts(heart_rate_bpm=None)
    del facts["egfr_ml_min_1_73m2"]
    decision = decide_assessment(RULES, facts, care=check_prescribed_care([]))
    assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert [r.rule_id for r in decision.not_evaluable] == [
        "inc-stable-unchanged-care",
        "exc-hepatic-renal",
        "gng-heart-rate",
    ]
    assert decision.missing_facts == (
        "egfr_ml_min_1_73m2",
        "heart_rate_bpm",
        "prescribed_care_last_changed",
    )
    assert [f.code for f in decision.flags] == ["care-not-recorded"]
    signed = override_decision(
        decision,
        outcome="cleared",
        reason="HR 82 on the monitor; eGFR 71 on 2026-11-20; care list read from the GP letter.",
        by="dr.okafor",
    )
    assert signed.outcome is EligibilityOutcome.CLEARED
    assert signed.computed_outcome is EligibilityOutcome.NEEDS_REVIEW
    assert all(r.outcome is not RuleOutcome.FAIL for r in signed.results)


def test_supplemental_oxygen_and_scales_become_facts() -> None:
    vitals = record_vitals(spo2_percent=91, inspired_oxygen=InspiredOxygen.flow(2))
    assert vitals_facts(vitals) == {"spo2_percent": 91.0, "on_supplemental_oxygen": True}
    walk = score_six_minute_walk(distance_m=380, inspired_oxygen=InspiredOxygen.room_air())
    facts = scale_facts(cat=score_cat([2] * 8), mmrc=score_mmrc(2), walk=walk)
    assert facts == {"cat_total": 16, "mmrc_grade": 2, "six_minute_walk_m": 380.0}
    assert scale_facts() == {}


def test_spirometry_facts_only_for_what_was_measured() -> None:
    fev1_only = spirometry_facts(score_spirometry(sex="F", age=50, height_cm=165, fev1=2.1))
    assert set(fev1_only) == {"fev1_l", "fev1_percent_predicted", "fev1_z"}
    post = spirometry_facts(
        score_spirometry(sex="F", age=50, height_cm=165, fev1=2.1, fvc=3.0),
        post_bronchodilator=True,
    )
    assert post["post_bd_fev1_fvc_ratio"] == pytest.approx(0.7)
    assert "post_bd_fev1_fvc_z" in post
    assert all(k.startswith("post_bd_") for k in post)


def test_merge_refuses_two_values_for_one_fact() -> None:
    assert merge_facts({"a": 1}, {"a": 1, "b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(AssessmentInputError, match="heart_rate_bpm"):
        merge_facts({"heart_rate_bpm": 80}, {"heart_rate_bpm": 90})


@pytest.mark.parametrize(
    "module",
    [
        "errors",
        "spirometry_terms",
        "reference_equations",
        "spirometry_panel",
        "interpretation",
        "quality",
        "vitals",
        "scales",
        "fact_catalog",
        "eligibility",
        "care",
        "facts",
    ],
)
def test_rules_re_exports_each_module_public_api(module: str) -> None:
    mod = importlib.import_module(f"exoneb.assessment.{module}")
    public = getattr(mod, "__all__", ["AssessmentInputError", "ReferenceTableIntegrityError"])
    for name in public:
        assert getattr(rules, name) is getattr(mod, name), name
        assert name in rules.__all__, name
