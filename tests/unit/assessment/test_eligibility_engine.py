"""The eligibility rule engine: operators, three-valued logic, loading errors, overrides."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from exoneb.assessment.eligibility import (
    EligibilityOutcome,
    EligibilityRuleError,
    EligibilityRuleSet,
    ReviewFlag,
    RuleOutcome,
    decide,
    decision_record,
    evaluate_rule,
    load_eligibility_rules,
    override_decision,
)
from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.fact_catalog import FACT_CATALOG, FactSpec, FactType

TODAY = date(2026, 11, 29)


def _rule(pass_if: dict[str, Any], rule_id: str = "r1", **extra: Any) -> dict[str, Any]:
    """A valid rule mapping around ``pass_if``; ``needs`` derived unless given."""
    return {
        "id": rule_id,
        "version": "1",
        "kind": "inclusion",
        "title": f"Rule {rule_id}",
        "source": "test",
        "evidence": "design_default",
        "needs": extra.pop("needs", sorted(_facts_of(pass_if))),
        "pass_if": pass_if,
        **extra,
    }


def _facts_of(cond: dict[str, Any]) -> set[str]:
    if "all" in cond or "any" in cond:
        return set().union(*(_facts_of(c) for c in (cond["all"] if "all" in cond else cond["any"])))
    if "not" in cond:
        return _facts_of(cond["not"])
    out = {cond["fact"]}
    if cond["op"] in {"within_days", "not_within_days"}:
        out.add(cond.get("relative_to", "assessment_date"))
    return out


def _set(*rules: dict[str, Any]) -> EligibilityRuleSet:
    return load_eligibility_rules({"id": "t", "version": "1", "source": "test", "rules": rules})


def _outcome(pass_if: dict[str, Any], facts: dict[str, Any]) -> RuleOutcome:
    (rule,) = _set(_rule(pass_if)).rules
    return evaluate_rule(rule, facts).outcome


P, F, N = RuleOutcome.PASS, RuleOutcome.FAIL, RuleOutcome.NOT_EVALUABLE


@pytest.mark.parametrize(
    ("pass_if", "value", "expected"),
    [
        ({"fact": "age_years", "op": ">=", "value": 40}, 40, P),
        ({"fact": "age_years", "op": ">=", "value": 40}, 39.99, F),
        ({"fact": "age_years", "op": ">", "value": 40}, 40, F),
        ({"fact": "age_years", "op": ">", "value": 40}, 40.01, P),
        ({"fact": "age_years", "op": "<=", "value": 40}, 40, P),
        ({"fact": "age_years", "op": "<=", "value": 40}, 40.01, F),
        ({"fact": "age_years", "op": "<", "value": 40}, 40, F),
        ({"fact": "age_years", "op": "<", "value": 40}, 39.99, P),
        ({"fact": "age_years", "op": "==", "value": 40}, 40, P),
        ({"fact": "age_years", "op": "!=", "value": 40}, 40, F),
        ({"fact": "fev1_z", "op": "between", "value": [-4, -1.645]}, -4, P),
        ({"fact": "fev1_z", "op": "between", "value": [-4, -1.645]}, -1.645, P),
        ({"fact": "fev1_z", "op": "between", "value": [-4, -1.645]}, -1.6, F),
        ({"fact": "fev1_z", "op": "between", "value": [-4, -1.645]}, -4.01, F),
        ({"fact": "diagnosis", "op": "in", "value": ["copd", "ipf"]}, "ipf", P),
        ({"fact": "diagnosis", "op": "in", "value": ["copd", "ipf"]}, "asthma", F),
        ({"fact": "diagnosis", "op": "not_in", "value": ["asthma"]}, "copd", P),
        ({"fact": "diagnosis", "op": "not_in", "value": ["asthma"]}, "asthma", F),
        ({"fact": "diagnosis", "op": "==", "value": "copd"}, "copd", P),
        ({"fact": "diagnosis", "op": "!=", "value": "copd"}, "copd", F),
        ({"fact": "active_infection", "op": "is_false"}, False, P),
        ({"fact": "active_infection", "op": "is_false"}, True, F),
        ({"fact": "consent_current", "op": "is_true"}, True, P),
        ({"fact": "consent_current", "op": "is_true"}, False, F),
        ({"fact": "consent_current", "op": "==", "value": True}, True, P),
        ({"fact": "consent_current", "op": "!=", "value": True}, True, F),
    ],
)
def test_comparisons_on_both_sides(
    pass_if: dict[str, Any], value: Any, expected: RuleOutcome
) -> None:
    assert _outcome(pass_if, {pass_if["fact"]: value}) is expected
    assert _outcome(pass_if, {}) is N
    assert _outcome(pass_if, {pass_if["fact"]: None}) is N


WITHIN = {"fact": "last_exacerbation_date", "op": "within_days", "value": 28}
NOT_WITHIN = {"fact": "last_exacerbation_date", "op": "not_within_days", "value": 28}


@pytest.mark.parametrize(
    ("last", "within"),
    [
        (date(2026, 11, 1), True),  # 28 days before
        (date(2026, 10, 31), False),  # 29 days before
        (TODAY, True),
        ("none", False),
        (datetime(2026, 11, 1, 23, 59), True),
    ],
)
def test_day_windows(last: Any, within: bool) -> None:
    facts = {"last_exacerbation_date": last, "assessment_date": TODAY}
    assert _outcome(WITHIN, facts) is (P if within else F)
    assert _outcome(NOT_WITHIN, facts) is (F if within else P)


def test_day_window_needs_both_dates_and_a_past_event() -> None:
    assert _outcome(NOT_WITHIN, {"last_exacerbation_date": "none"}) is N
    assert _outcome(NOT_WITHIN, {"assessment_date": TODAY}) is N
    (rule,) = _set(_rule(NOT_WITHIN)).rules
    future = evaluate_rule(
        rule, {"last_exacerbation_date": date(2026, 12, 1), "assessment_date": TODAY}
    )
    assert future.outcome is N
    assert "after assessment_date" in future.problems[0]
    not_a_date = evaluate_rule(
        rule, {"last_exacerbation_date": "last week", "assessment_date": TODAY}
    )
    assert not_a_date.outcome is N


def test_custom_reference_date() -> None:
    cond = {**NOT_WITHIN, "relative_to": "prescribed_care_last_changed"}
    facts = {
        "last_exacerbation_date": date(2026, 1, 1),
        "prescribed_care_last_changed": date(2026, 3, 1),
    }
    assert _outcome(cond, facts) is P


def test_wrong_type_is_not_evaluable_never_a_pass() -> None:
    (rule,) = _set(_rule({"fact": "heart_rate_bpm", "op": "<", "value": 120})).rules
    for bad in ("80", True, float("nan")):
        result = evaluate_rule(rule, {"heart_rate_bpm": bad})
        assert result.outcome is N
        assert result.problems
    (yes_no,) = _set(_rule({"fact": "active_infection", "op": "is_false"})).rules
    assert evaluate_rule(yes_no, {"active_infection": 0}).outcome is N
    (text,) = _set(_rule({"fact": "diagnosis", "op": "in", "value": ["copd"]})).rules
    assert evaluate_rule(text, {"diagnosis": 3}).outcome is N


HR = {"fact": "heart_rate_bpm", "op": "<", "value": 120}
INF = {"fact": "active_infection", "op": "is_false"}


@pytest.mark.parametrize(
    ("hr", "inf", "all_", "any_"),
    [
        (80, False, P, P),
        (80, True, F, P),
        (130, True, F, F),
        (80, None, N, P),
        (130, None, F, N),
        (None, None, N, N),
    ],
)
def test_all_and_any_use_three_valued_logic(
    hr: float | None, inf: bool | None, all_: RuleOutcome, any_: RuleOutcome
) -> None:
    facts = {"heart_rate_bpm": hr, "active_infection": inf}
    assert _outcome({"all": [HR, INF]}, facts) is all_
    assert _outcome({"any": [HR, INF]}, facts) is any_


def test_not() -> None:
    cond = {"not": {"fact": "pregnant_or_lactating", "op": "is_true"}}
    assert _outcome(cond, {"pregnant_or_lactating": False}) is P
    assert _outcome(cond, {"pregnant_or_lactating": True}) is F
    assert _outcome(cond, {}) is N


def test_result_records_values_missing_facts_and_requirement() -> None:
    (rule,) = _set(_rule({"all": [HR, INF]}, source="clinical.md §4.3")).rules
    result = evaluate_rule(rule, {"heart_rate_bpm": 130, "unrelated": 1})
    assert result.outcome is F
    assert result.values == {"heart_rate_bpm": 130}
    assert result.missing_facts == ("active_infection",)
    assert result.requirement == "heart_rate_bpm < 120 and active_infection is no"
    assert result.rule_id == "r1"
    assert result.rule_version == "1"
    assert result.source == "clinical.md §4.3"
    assert "failed" in result.explanation
    assert "heart_rate_bpm = 130" in result.explanation
    gap = evaluate_rule(rule, {"heart_rate_bpm": 80})
    assert gap.outcome is N
    assert "missing active_infection" in gap.explanation


# --- the decision -----------------------------------------------------------------------------

TWO_RULES = _set(_rule(HR, "hr"), _rule(INF, "infection"))


def test_decision_outcomes() -> None:
    cleared = decide(TWO_RULES, {"heart_rate_bpm": 80, "active_infection": False})
    assert cleared.outcome is EligibilityOutcome.CLEARED
    assert [r.rule_id for r in cleared.passed] == ["hr", "infection"]
    ineligible = decide(TWO_RULES, {"heart_rate_bpm": 130, "active_infection": False})
    assert ineligible.outcome is EligibilityOutcome.INELIGIBLE
    assert [r.rule_id for r in ineligible.failed] == ["hr"]
    review = decide(TWO_RULES, {"heart_rate_bpm": 80})
    assert review.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert [r.rule_id for r in review.not_evaluable] == ["infection"]
    assert review.missing_facts == ("active_infection",)
    assert review.reasons[0].startswith("Not evaluable — Rule infection")


def test_a_failure_outweighs_missing_data_but_both_are_listed() -> None:
    decision = decide(TWO_RULES, {"heart_rate_bpm": 130})
    assert decision.outcome is EligibilityOutcome.INELIGIBLE
    assert [r.rule_id for r in decision.not_evaluable] == ["infection"]


def test_review_flags_make_cleared_need_review_but_never_ineligible() -> None:
    flag = ReviewFlag("x", "Something for the physician.", "test")
    facts = {"heart_rate_bpm": 80, "active_infection": False}
    flagged = decide(TWO_RULES, facts, flags=[flag])
    assert flagged.outcome is EligibilityOutcome.NEEDS_REVIEW
    assert "For review — Something for the physician." in flagged.reasons
    failing = decide(TWO_RULES, {**facts, "heart_rate_bpm": 130}, flags=[flag])
    assert failing.outcome is EligibilityOutcome.INELIGIBLE


def test_decision_records_the_rule_set() -> None:
    decision = decide(TWO_RULES, {})
    assert (decision.rule_set_id, decision.rule_set_version) == ("t", "1")
    assert len(decision.results) == 2


# --- overrides --------------------------------------------------------------------------------


def test_override_keeps_the_computed_outcome() -> None:
    review = decide(TWO_RULES, {"heart_rate_bpm": 80})
    at = datetime(2026, 11, 29, 9, 30)
    over = override_decision(
        review,
        outcome="cleared",
        reason="  Infection excluded on examination. ",
        by="dr.lee",
        at=at,
    )
    assert over.outcome is EligibilityOutcome.CLEARED
    assert over.computed_outcome is EligibilityOutcome.NEEDS_REVIEW
    assert over.overridden
    assert over.override is not None
    assert over.override.reason == "Infection excluded on examination."
    assert over.override.at == at
    assert "physician override by dr.lee" in over.outcome_label
    assert "needs review" in over.outcome_label
    assert over.reasons[0].startswith("Outcome: cleared (physician override")
    assert over.results == review.results
    assert review.override is None  # the original is not changed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": "cleared", "reason": "  ", "by": "dr.lee"}, "reason"),
        ({"outcome": "cleared", "reason": "ok", "by": ""}, "by"),
        ({"outcome": "needs_review", "reason": "ok", "by": "dr.lee"}, "outcome"),
        ({"outcome": "maybe", "reason": "ok", "by": "dr.lee"}, "outcome"),
        ({"outcome": "ineligible", "reason": "ok", "by": "dr.lee"}, "outcome"),
    ],
)
def test_override_refusals(kwargs: dict[str, Any], field: str) -> None:
    ineligible = decide(TWO_RULES, {"heart_rate_bpm": 130, "active_infection": False})
    with pytest.raises(AssessmentInputError) as info:
        override_decision(ineligible, **kwargs)
    assert info.value.field == field


def test_override_cannot_be_stacked() -> None:
    ineligible = decide(TWO_RULES, {"heart_rate_bpm": 130, "active_infection": False})
    once = override_decision(ineligible, outcome="cleared", reason="Re-measured: 96.", by="dr.lee")
    with pytest.raises(AssessmentInputError, match="already overridden"):
        override_decision(once, outcome="ineligible", reason="changed my mind", by="dr.lee")


# --- loading errors name the rule -------------------------------------------------------------


def _errors(*rules: dict[str, Any], **top: Any) -> str:
    mapping = {"id": "t", "version": "1", "source": "test", "rules": list(rules), **top}
    with pytest.raises(EligibilityRuleError) as info:
        load_eligibility_rules(mapping)
    return str(info.value)


GOOD = _rule(HR, "good")


@pytest.mark.parametrize(
    ("rule", "fragments"),
    [
        ({k: v for k, v in _rule(HR, "no-src").items() if k != "source"}, ["'no-src'", "source"]),
        ({**_rule(HR, "bad-kind"), "kind": "maybe"}, ["'bad-kind'", "kind"]),
        ({**_rule(HR, "typo"), "treshold": 3}, ["'typo'", "treshold"]),
        (
            _rule({"fact": "heart_rte", "op": "<", "value": 120}, "unknown"),
            ["'unknown'", "heart_rte"],
        ),
        (_rule({"fact": "heart_rate_bpm", "op": "<", "value": "high"}, "nan"), ["'nan'", "number"]),
        (_rule({"fact": "heart_rate_bpm", "op": "<"}, "no-value"), ["'no-value'", "number"]),
        (_rule({"fact": "heart_rate_bpm", "op": "~", "value": 1}, "bad-op"), ["'bad-op'", "op"]),
        (
            _rule({"fact": "active_infection", "op": ">=", "value": 1}, "bool-cmp"),
            ["'bool-cmp'", "boolean"],
        ),
        (
            _rule({"fact": "active_infection", "op": "is_true", "value": 1}, "val"),
            ["'val'", "no value"],
        ),
        (
            _rule({"fact": "fev1_z", "op": "between", "value": [-1, -4]}, "band"),
            ["'band'", "low ≤ high"],
        ),
        (_rule({"fact": "diagnosis", "op": "in", "value": []}, "empty"), ["'empty'", "non-empty"]),
        (_rule({"fact": "diagnosis", "op": "in", "value": ["flu"]}, "choice"), ["'choice'", "flu"]),
        (
            _rule({"fact": "assessment_date", "op": ">=", "value": 1}, "date-cmp"),
            ["'date-cmp'", "date"],
        ),
        (
            _rule({"fact": "last_exacerbation_date", "op": "within_days", "value": -1}, "neg"),
            ["'neg'", "days"],
        ),
        (_rule(HR, "needs", needs=["heart_rate_bpm", "age_years"]), ["'needs'", "age_years"]),
        (_rule(HR, "needs2", needs=["age_years"]), ["'needs2'", "heart_rate_bpm"]),
        (_rule({"all": []}, "empty-all", needs=["age_years"]), ["'empty-all'", "pass_if"]),
        (_rule(HR, "Bad Id!"), ["'Bad Id!'", "id"]),
        ({k: v for k, v in _rule(HR).items() if k != "id"}, ["rules[1] (no id)"]),
    ],
)
def test_malformed_rules_are_refused_naming_the_rule(
    rule: dict[str, Any], fragments: list[str]
) -> None:
    message = _errors(GOOD, rule)
    for fragment in fragments:
        assert fragment in message
    assert "'good'" not in message


def test_nested_error_location_is_readable() -> None:
    rule = _rule({"any": [HR, {"fact": "age_years", "op": ">=", "value": "x"}]}, "nested")
    with pytest.raises(EligibilityRuleError) as info:
        _set(rule)
    (problem,) = info.value.problems
    assert problem.rule_id == "nested"
    assert problem.location == "pass_if.any.1"


def test_rule_set_level_errors() -> None:
    assert "appears more than once" in _errors(GOOD, GOOD)
    assert "rules" in _errors()
    with pytest.raises(EligibilityRuleError, match="mapping"):
        load_eligibility_rules(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_a_protocol_can_extend_the_fact_catalog() -> None:
    rule = _rule({"fact": "six_minute_walk_nadir", "op": ">=", "value": 88})
    mapping = {"id": "t", "version": "1", "source": "test", "rules": [rule]}
    with pytest.raises(EligibilityRuleError, match="six_minute_walk_nadir"):
        load_eligibility_rules(mapping)
    extended = {
        **FACT_CATALOG,
        "six_minute_walk_nadir": FactSpec(FactType.NUMBER, "6MWT nadir", "%"),
    }
    rule_set = load_eligibility_rules(mapping, catalog=extended)
    assert rule_set.needs == ("six_minute_walk_nadir",)


def test_decision_record_is_json_and_keeps_what_audit_needs() -> None:
    rule_set = _set(_rule(NOT_WITHIN, "window"), _rule(HR, "hr"))
    facts = {"last_exacerbation_date": date(2026, 10, 1), "assessment_date": TODAY}
    decision = override_decision(
        decide(rule_set, facts),
        outcome="cleared",
        reason="HR 80 on the monitor.",
        by="dr.lee",
        at=datetime(2026, 11, 29, 9, 0),
    )
    record = json.loads(json.dumps(decision_record(decision)))
    assert record["outcome"] == "cleared"
    assert record["computed_outcome"] == "needs_review"
    assert record["override"] == {
        "outcome": "cleared",
        "reason": "HR 80 on the monitor.",
        "by": "dr.lee",
        "at": "2026-11-29T09:00:00",
    }
    assert record["rule_set"] == {"id": "t", "version": "1"}
    window, hr = record["rules"]
    assert window["id"] == "window"
    assert window["outcome"] == "pass"
    assert window["values"] == {
        "assessment_date": "2026-11-29",
        "last_exacerbation_date": "2026-10-01",
    }
    assert hr["outcome"] == "not_evaluable"
    assert hr["missing_facts"] == ["heart_rate_bpm"]
    assert record["missing_facts"] == ["heart_rate_bpm"]
