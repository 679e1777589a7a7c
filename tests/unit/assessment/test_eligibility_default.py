"""The default rule set (clinical.md §5.2, §4.3): loads, cites, and each rule on both sides."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
import yaml

from exoneb.assessment.eligibility import (
    EligibilityOutcome,
    Evidence,
    RuleKind,
    RuleOutcome,
    decide,
    evaluate_rule,
    load_default_eligibility_rules,
    load_eligibility_rules,
)

RULES = load_default_eligibility_rules()
TODAY = date(2026, 11, 29)


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


#: A COPD patient who passes every default rule.
BASELINE: dict[str, Any] = {
    "assessment_date": TODAY,
    "age_years": 64.0,
    "diagnosis": "copd",
    "diagnosis_confirmed": True,
    "post_bd_fev1_fvc_ratio": 0.58,
    "post_bd_fev1_percent_predicted": 55.0,
    "fvc_percent_predicted": 85.0,
    "dlco_percent_predicted": 60.0,
    "clinically_stable_4_weeks": True,
    "prescribed_care_last_changed": days_ago(120),
    "can_use_mouthpiece_or_mask": True,
    "can_perform_spirometry": True,
    "consent_current": True,
    "protocol_authorised": True,
    "last_exacerbation_date": days_ago(200),
    "last_respiratory_steroid_or_antibiotic_date": "none",
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
    "fev1_l": 1.45,
    "fev1_percent_predicted": 52.0,
    "airway_hyperreactivity_to_saline": False,
    "long_term_immunosuppression": False,
    "transplant_recipient": False,
    "alt_x_uln": 0.8,
    "ast_x_uln": 0.9,
    "egfr_ml_min_1_73m2": 78.0,
    "last_other_investigational_product_date": "none",
    "other_investigational_product_within_5_half_lives": False,
    "able_to_consent_and_follow_schedule": True,
    "spo2_percent": 95.0,
    "chronic_hypoxaemia_or_hypercapnia_documented": False,
    "respiratory_rate_per_min": 16.0,
    "heart_rate_bpm": 78.0,
    "systolic_bp_mmhg": 132.0,
    "diastolic_bp_mmhg": 82.0,
    "temperature_c": 36.8,
}

IPF = {"diagnosis": "ipf", "post_bd_fev1_fvc_ratio": 0.85}

#: rule id → list of (changes to the baseline, expected outcome of that rule), at each threshold.
CASES: dict[str, list[tuple[dict[str, Any], RuleOutcome]]] = {
    "inc-age-min": [
        ({"age_years": 18.0}, RuleOutcome.PASS),
        ({"age_years": 17.99}, RuleOutcome.FAIL),
    ],
    "inc-age-max": [
        ({"age_years": 80.0}, RuleOutcome.PASS),
        ({"age_years": 80.01}, RuleOutcome.FAIL),
    ],
    "inc-diagnosis": [
        ({"diagnosis": "ild"}, RuleOutcome.PASS),
        ({"diagnosis": "asthma"}, RuleOutcome.FAIL),
        ({"diagnosis_confirmed": False}, RuleOutcome.FAIL),
    ],
    "inc-copd-obstruction": [
        ({"post_bd_fev1_fvc_ratio": 0.699}, RuleOutcome.PASS),
        ({"post_bd_fev1_fvc_ratio": 0.70}, RuleOutcome.FAIL),
        (IPF, RuleOutcome.PASS),
    ],
    "inc-copd-fev1-band": [
        ({"post_bd_fev1_percent_predicted": 30.0}, RuleOutcome.PASS),
        ({"post_bd_fev1_percent_predicted": 29.9}, RuleOutcome.FAIL),
        ({"post_bd_fev1_percent_predicted": 79.9}, RuleOutcome.PASS),
        ({"post_bd_fev1_percent_predicted": 80.0}, RuleOutcome.FAIL),
        ({**IPF, "post_bd_fev1_percent_predicted": 95.0}, RuleOutcome.PASS),
    ],
    "inc-ild-lung-function": [
        ({**IPF, "fvc_percent_predicted": 50.0}, RuleOutcome.PASS),
        ({**IPF, "fvc_percent_predicted": 49.9}, RuleOutcome.FAIL),
        ({**IPF, "dlco_percent_predicted": 30.0}, RuleOutcome.PASS),
        ({**IPF, "dlco_percent_predicted": 29.9}, RuleOutcome.FAIL),
        ({"fvc_percent_predicted": 40.0}, RuleOutcome.PASS),  # COPD: not an ILD rule
    ],
    "inc-stable-unchanged-care": [
        ({"prescribed_care_last_changed": days_ago(29)}, RuleOutcome.PASS),
        ({"prescribed_care_last_changed": days_ago(28)}, RuleOutcome.FAIL),
        ({"prescribed_care_last_changed": "none"}, RuleOutcome.PASS),
        ({"clinically_stable_4_weeks": False}, RuleOutcome.FAIL),
    ],
    "inc-able-to-inhale-and-do-spirometry": [
        ({"can_use_mouthpiece_or_mask": False}, RuleOutcome.FAIL),
        ({"can_perform_spirometry": False}, RuleOutcome.FAIL),
    ],
    "inc-consent-and-authorisation": [
        ({"consent_current": False}, RuleOutcome.FAIL),
        ({"protocol_authorised": False}, RuleOutcome.FAIL),
    ],
    "exc-recent-exacerbation": [
        ({"last_exacerbation_date": days_ago(29)}, RuleOutcome.PASS),
        ({"last_exacerbation_date": days_ago(28)}, RuleOutcome.FAIL),
        ({"last_respiratory_steroid_or_antibiotic_date": days_ago(29)}, RuleOutcome.PASS),
        ({"last_respiratory_steroid_or_antibiotic_date": days_ago(28)}, RuleOutcome.FAIL),
        ({"last_respiratory_hospitalisation_date": days_ago(29)}, RuleOutcome.PASS),
        ({"last_respiratory_hospitalisation_date": days_ago(28)}, RuleOutcome.FAIL),
    ],
    "exc-active-infection": [({"active_infection": True}, RuleOutcome.FAIL)],
    "exc-viral-test": [
        ({"viral_test_required": True, "viral_test_positive": False}, RuleOutcome.PASS),
        ({"viral_test_required": True, "viral_test_positive": True}, RuleOutcome.FAIL),
        ({"viral_test_required": True}, RuleOutcome.NOT_EVALUABLE),
    ],
    "exc-malignancy": [({"active_or_recent_malignancy": True}, RuleOutcome.FAIL)],
    "exc-pregnancy": [({"pregnant_or_lactating": True}, RuleOutcome.FAIL)],
    "exc-hypersensitivity": [({"hypersensitivity_to_product_components": True}, RuleOutcome.FAIL)],
    "exc-allergy-history": [({"severe_allergy_or_multiple_allergies": True}, RuleOutcome.FAIL)],
    "exc-smoking": [({"current_smoking_or_vaping": True}, RuleOutcome.FAIL)],
    "exc-unstable-cardiovascular": [
        ({"last_mi_or_unstable_angina_date": days_ago(31)}, RuleOutcome.PASS),
        ({"last_mi_or_unstable_angina_date": days_ago(30)}, RuleOutcome.FAIL),
        ({"uncontrolled_heart_failure": True}, RuleOutcome.FAIL),
        ({"significant_arrhythmia": True}, RuleOutcome.FAIL),
    ],
    "exc-low-fev1": [
        ({"fev1_l": 1.0}, RuleOutcome.PASS),
        ({"fev1_l": 0.99}, RuleOutcome.FAIL),
        ({"fev1_percent_predicted": 30.0}, RuleOutcome.PASS),
        ({"fev1_percent_predicted": 29.9}, RuleOutcome.FAIL),
    ],
    "exc-saline-hyperreactivity": [({"airway_hyperreactivity_to_saline": True}, RuleOutcome.FAIL)],
    "exc-immunosuppression": [
        ({"long_term_immunosuppression": True}, RuleOutcome.FAIL),
        ({"transplant_recipient": True}, RuleOutcome.FAIL),
    ],
    "exc-hepatic-renal": [
        ({"alt_x_uln": 3.0, "ast_x_uln": 3.0}, RuleOutcome.PASS),
        ({"alt_x_uln": 3.01}, RuleOutcome.FAIL),
        ({"ast_x_uln": 3.01}, RuleOutcome.FAIL),
        ({"egfr_ml_min_1_73m2": 60.0}, RuleOutcome.PASS),
        ({"egfr_ml_min_1_73m2": 59.9}, RuleOutcome.FAIL),
    ],
    "exc-other-investigational-product": [
        ({"last_other_investigational_product_date": days_ago(31)}, RuleOutcome.PASS),
        ({"last_other_investigational_product_date": days_ago(30)}, RuleOutcome.FAIL),
        ({"other_investigational_product_within_5_half_lives": True}, RuleOutcome.FAIL),
    ],
    "exc-unable-to-consent-or-follow": [
        ({"able_to_consent_and_follow_schedule": False}, RuleOutcome.FAIL)
    ],
    "gng-spo2": [
        ({"spo2_percent": 92.0}, RuleOutcome.PASS),
        ({"spo2_percent": 91.9}, RuleOutcome.FAIL),
        (
            {"spo2_percent": 88.0, "chronic_hypoxaemia_or_hypercapnia_documented": True},
            RuleOutcome.PASS,
        ),
        (
            {"spo2_percent": 87.9, "chronic_hypoxaemia_or_hypercapnia_documented": True},
            RuleOutcome.FAIL,
        ),
        (
            {"spo2_percent": 95.0, "chronic_hypoxaemia_or_hypercapnia_documented": None},
            RuleOutcome.PASS,
        ),
        (
            {"spo2_percent": 90.0, "chronic_hypoxaemia_or_hypercapnia_documented": None},
            RuleOutcome.NOT_EVALUABLE,
        ),
    ],
    "gng-respiratory-rate": [
        ({"respiratory_rate_per_min": 24.0}, RuleOutcome.PASS),
        ({"respiratory_rate_per_min": 25.0}, RuleOutcome.FAIL),
    ],
    "gng-heart-rate": [
        ({"heart_rate_bpm": 119.0}, RuleOutcome.PASS),
        ({"heart_rate_bpm": 120.0}, RuleOutcome.FAIL),
    ],
    "gng-blood-pressure": [
        ({"systolic_bp_mmhg": 180.0, "diastolic_bp_mmhg": 100.0}, RuleOutcome.PASS),
        ({"systolic_bp_mmhg": 181.0}, RuleOutcome.FAIL),
        ({"diastolic_bp_mmhg": 101.0}, RuleOutcome.FAIL),
    ],
    "gng-temperature": [
        ({"temperature_c": 37.9}, RuleOutcome.PASS),
        ({"temperature_c": 38.0}, RuleOutcome.FAIL),
    ],
}

FLAT_CASES = [
    pytest.param(rule_id, changes, expected, id=f"{rule_id}-{i}")
    for rule_id, cases in CASES.items()
    for i, (changes, expected) in enumerate(cases)
]


def test_the_file_loads_with_its_rules_in_order() -> None:
    assert RULES.id == "exoneb-default-eligibility"
    assert RULES.version == "1.0"
    assert [r.id for r in RULES.rules] == list(CASES)


def test_every_rule_is_tested_on_both_sides() -> None:
    for rule_id, cases in CASES.items():
        outcomes = {expected for _, expected in cases}
        assert RuleOutcome.FAIL in outcomes, rule_id
        # the baseline is the passing side when no case states it
        assert evaluate_rule(_rule(rule_id), BASELINE).outcome is RuleOutcome.PASS


def test_every_rule_cites_a_source_and_an_evidence_tag() -> None:
    for rule in RULES.rules:
        assert "clinical.md §" in rule.source, rule.id
        assert rule.evidence in set(Evidence)
        assert rule.version
        assert rule.title
    raw = yaml.safe_load(
        resources.files("exoneb.assessment.data")
        .joinpath("eligibility_default.yaml")
        .read_text("utf-8")
    )
    assert all(r.get("source") for r in raw["rules"])
    assert load_eligibility_rules(raw) == RULES


def test_the_topics_the_reference_lists_are_covered() -> None:
    needs = set(RULES.needs)
    for fact in [
        "age_years",
        "diagnosis",
        "post_bd_fev1_fvc_ratio",
        "post_bd_fev1_percent_predicted",
        "clinically_stable_4_weeks",
        "last_exacerbation_date",
        "spo2_percent",
        "heart_rate_bpm",
        "systolic_bp_mmhg",
        "diastolic_bp_mmhg",
        "respiratory_rate_per_min",
        "temperature_c",
        "active_infection",
        "pregnant_or_lactating",
        "hypersensitivity_to_product_components",
        "current_smoking_or_vaping",
    ]:
        assert fact in needs, fact
    assert {r.kind for r in RULES.rules} == set(RuleKind)


def _rule(rule_id: str) -> Any:
    rule = RULES.rule(rule_id)
    assert rule is not None
    return rule


@pytest.mark.parametrize(("rule_id", "changes", "expected"), FLAT_CASES)
def test_each_default_rule_at_its_threshold(
    rule_id: str, changes: dict[str, Any], expected: RuleOutcome
) -> None:
    facts = {**BASELINE, **changes}
    result = evaluate_rule(_rule(rule_id), facts)
    assert result.outcome is expected, result.explanation
    decision = decide(RULES, facts)
    others = [r for r in decision.results if r.rule_id != rule_id]
    assert all(r.outcome is RuleOutcome.PASS for r in others), [r.rule_id for r in others]
    assert (
        decision.outcome
        is {
            RuleOutcome.PASS: EligibilityOutcome.CLEARED,
            RuleOutcome.FAIL: EligibilityOutcome.INELIGIBLE,
            RuleOutcome.NOT_EVALUABLE: EligibilityOutcome.NEEDS_REVIEW,
        }[expected]
    )


@pytest.mark.parametrize("rule_id", list(CASES))
def test_missing_facts_give_needs_review_naming_the_rule(rule_id: str) -> None:
    rule = _rule(rule_id)
    facts = {k: v for k, v in BASELINE.items() if k not in rule.needs}
    decision = decide(RULES, facts)
    assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
    gap = next(r for r in decision.not_evaluable if r.rule_id == rule_id)
    assert set(gap.missing_facts) <= set(rule.needs)
    assert gap.missing_facts
    assert any(rule.title in line and "not evaluable" in line for line in decision.reasons)


@pytest.mark.parametrize("fact", sorted(BASELINE))
def test_dropping_any_single_fact_never_clears_silently(fact: str) -> None:
    facts = {k: v for k, v in BASELINE.items() if k != fact}
    decision = decide(RULES, facts)
    # only a fact the known ones make irrelevant may be missing from a cleared decision: the
    # ILD bands for a COPD patient, the chronic-hypoxaemia exception at SpO2 95 %
    irrelevant = {
        "dlco_percent_predicted",
        "fvc_percent_predicted",
        "chronic_hypoxaemia_or_hypercapnia_documented",
    }
    if decision.outcome is EligibilityOutcome.CLEARED:
        assert fact in irrelevant
        assert all(fact not in r.values for r in decision.results)
    else:
        assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
        assert fact in decision.missing_facts


def test_ipf_patient_needs_dlco() -> None:
    facts = {k: v for k, v in {**BASELINE, **IPF}.items() if k != "dlco_percent_predicted"}
    decision = decide(RULES, facts)
    assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert [r.rule_id for r in decision.not_evaluable] == ["inc-ild-lung-function"]


def test_baseline_is_cleared() -> None:
    decision = decide(RULES, BASELINE)
    assert decision.outcome is EligibilityOutcome.CLEARED
    assert len(decision.passed) == len(RULES.rules)
