"""Properties of the eligibility decision (Hypothesis).

* Adding a rule that passes never changes a decision (in particular never a
  ``cleared`` one).
* Removing facts can only turn a known rule result into "not evaluable", so a
  ``cleared`` decision can only become ``needs_review`` — never ``ineligible``,
  and a missing fact never makes a rule pass.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from exoneb.assessment.eligibility import (
    EligibilityOutcome,
    EligibilityRuleSet,
    RuleOutcome,
    decide,
    evaluate_rule,
    load_default_eligibility_rules,
    load_eligibility_rules,
)

from .test_eligibility_default import BASELINE

TODAY = date(2026, 11, 29)
NUMBERS = {"heart_rate_bpm": (20.0, 200.0), "age_years": (0.0, 100.0), "fev1_z": (-6.0, 3.0)}
BOOLEANS = ["active_infection", "consent_current", "pregnant_or_lactating"]
DIAGNOSES = ["copd", "ipf", "ild", "asthma"]
DATES = ["last_exacerbation_date", "last_mi_or_unstable_angina_date"]


def _number_comparison(fact: str) -> st.SearchStrategy[dict[str, Any]]:
    low, high = NUMBERS[fact]
    values = st.floats(low, high, allow_nan=False).map(lambda v: round(v, 1))
    single = st.builds(
        lambda op, v: {"fact": fact, "op": op, "value": v},
        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
        values,
    )
    band = st.builds(
        lambda a, b: {"fact": fact, "op": "between", "value": sorted([a, b])}, values, values
    )
    return single | band


comparisons = st.one_of(
    st.sampled_from(list(NUMBERS)).flatmap(_number_comparison),
    st.builds(
        lambda f, op: {"fact": f, "op": op},
        st.sampled_from(BOOLEANS),
        st.sampled_from(["is_true", "is_false"]),
    ),
    st.builds(
        lambda op, vals: {"fact": "diagnosis", "op": op, "value": vals},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(DIAGNOSES), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        lambda f, op, n: {"fact": f, "op": op, "value": n},
        st.sampled_from(DATES),
        st.sampled_from(["within_days", "not_within_days"]),
        st.integers(0, 60),
    ),
)

conditions = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda x: {"not": x}),
    ),
    max_leaves=6,
)


def _reads(cond: dict[str, Any]) -> set[str]:
    if "all" in cond or "any" in cond:
        return set().union(*(_reads(c) for c in (cond["all"] if "all" in cond else cond["any"])))
    if "not" in cond:
        return _reads(cond["not"])
    extra = {"assessment_date"} if cond["op"].endswith("within_days") else set()
    return {cond["fact"]} | extra


def _rule(cond: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "version": "1",
        "kind": "go_no_go",
        "title": rule_id,
        "source": "property test",
        "evidence": "design_default",
        "needs": sorted(_reads(cond)),
        "pass_if": cond,
    }


def _rule_set(conds: list[dict[str, Any]]) -> EligibilityRuleSet:
    rules = [_rule(c, f"r{i}") for i, c in enumerate(conds)]
    return load_eligibility_rules({"id": "p", "version": "1", "source": "test", "rules": rules})


facts_strategy = st.fixed_dictionaries(
    {
        "assessment_date": st.just(TODAY),
        "diagnosis": st.sampled_from(DIAGNOSES),
        **{f: st.floats(lo, hi, allow_nan=False) for f, (lo, hi) in NUMBERS.items()},
        **{f: st.booleans() for f in BOOLEANS},
        **{
            f: st.one_of(st.just("none"), st.integers(0, 90).map(lambda d: TODAY - timedelta(d)))
            for f in DATES
        },
    }
)


@given(
    conds=st.lists(conditions, min_size=1, max_size=5),
    extra=conditions,
    facts=facts_strategy,
)
def test_adding_a_passing_rule_never_changes_the_decision(
    conds: list[dict[str, Any]], extra: dict[str, Any], facts: dict[str, Any]
) -> None:
    rule_set = _rule_set(conds)
    bigger = _rule_set([*conds, extra])
    assume(evaluate_rule(bigger.rules[-1], facts).outcome is RuleOutcome.PASS)
    assert decide(bigger, facts).outcome is decide(rule_set, facts).outcome


@given(
    conds=st.lists(conditions, min_size=1, max_size=5),
    facts=facts_strategy,
    data=st.data(),
)
def test_removing_facts_only_makes_results_unknown(
    conds: list[dict[str, Any]], facts: dict[str, Any], data: st.DataObject
) -> None:
    rule_set = _rule_set(conds)
    removed = data.draw(st.sets(st.sampled_from(sorted(facts))))
    fewer = {k: v for k, v in facts.items() if k not in removed}
    before, after = decide(rule_set, facts), decide(rule_set, fewer)
    for full, partial in zip(before.results, after.results, strict=True):
        assert partial.outcome in {full.outcome, RuleOutcome.NOT_EVALUABLE}
        if partial.outcome is RuleOutcome.NOT_EVALUABLE and full.outcome is not partial.outcome:
            assert set(partial.missing_facts) & removed
    if before.outcome is EligibilityOutcome.CLEARED:
        assert after.outcome in {EligibilityOutcome.CLEARED, EligibilityOutcome.NEEDS_REVIEW}


DEFAULT = load_default_eligibility_rules()

#: Values inside the passing side of each default go/no-go threshold.
passing_vitals = st.fixed_dictionaries(
    {
        "spo2_percent": st.floats(92.0, 100.0),
        "heart_rate_bpm": st.floats(40.0, 119.9),
        "respiratory_rate_per_min": st.floats(8.0, 24.9),
        "systolic_bp_mmhg": st.floats(90.0, 180.0),
        "diastolic_bp_mmhg": st.floats(50.0, 100.0),
        "temperature_c": st.floats(35.0, 37.99),
        "age_years": st.floats(18.0, 80.0),
        "post_bd_fev1_percent_predicted": st.floats(30.0, 79.99),
        "post_bd_fev1_fvc_ratio": st.floats(0.3, 0.699),
    }
)


@given(vitals=passing_vitals, extra=conditions, data=st.data())
def test_default_rules_cleared_stays_cleared_with_a_passing_rule_and_fewer_facts(
    vitals: dict[str, Any], extra: dict[str, Any], data: st.DataObject
) -> None:
    facts = {**BASELINE, **vitals}
    decision = decide(DEFAULT, facts)
    assert decision.outcome is EligibilityOutcome.CLEARED, decision.reasons
    extra_rule = _rule(extra, "added")
    extended = load_eligibility_rules(
        {
            "id": DEFAULT.id,
            "version": DEFAULT.version,
            "source": DEFAULT.source,
            "rules": [*(r.model_dump(by_alias=True) for r in DEFAULT.rules), extra_rule],
        }
    )
    if evaluate_rule(extended.rules[-1], facts).outcome is RuleOutcome.PASS:
        assert decide(extended, facts).outcome is EligibilityOutcome.CLEARED
    removed = data.draw(st.sets(st.sampled_from(sorted(facts)), min_size=1))
    fewer = decide(DEFAULT, {k: v for k, v in facts.items() if k not in removed})
    assert fewer.outcome in {EligibilityOutcome.CLEARED, EligibilityOutcome.NEEDS_REVIEW}
    assert not fewer.failed
