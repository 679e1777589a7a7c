"""Step 1, assessment of respiratory health: the public API of its pure domain rules.

One import point for the service, API and pages layers (and for readers): the
spirometry scoring, interpretation and quality grading, vital signs, clinical
scales, the complementary-care check and the eligibility rule engine, each
defined in its own module of :mod:`exoneb.assessment`. Nothing here touches the
database, the web or the clock; the only file read is the package's own default
rule set (``data/eligibility_default.yaml``).

:func:`decide_assessment` is the one composition that belongs to no single
module: the eligibility decision taking the care check into account.
"""

from __future__ import annotations

from collections.abc import Mapping

from exoneb.assessment.care import (
    CARE_REMINDER,
    CARE_SOURCE,
    CareCheck,
    PrescribedMedicine,
    check_prescribed_care,
)
from exoneb.assessment.eligibility import (
    DEFAULT_RULES_RESOURCE,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    EligibilityDecision,
    EligibilityOutcome,
    EligibilityRule,
    EligibilityRuleError,
    EligibilityRuleSet,
    Evidence,
    FactValue,
    NotOf,
    Op,
    Override,
    ReviewFlag,
    RuleKind,
    RuleOutcome,
    RuleProblem,
    RuleResult,
    decide,
    decision_record,
    describe_condition,
    evaluate_rule,
    load_default_eligibility_rules,
    load_eligibility_rules,
    override_decision,
)
from exoneb.assessment.errors import (
    AssessmentInputError,
    ReferenceTableIntegrityError,
)
from exoneb.assessment.fact_catalog import (
    FACT_CATALOG,
    NONE_OCCURRED,
    FactSpec,
    FactType,
)
from exoneb.assessment.facts import (
    care_facts,
    merge_facts,
    scale_facts,
    spirometry_facts,
    vitals_facts,
)
from exoneb.assessment.interpretation import (
    DEFAULT_CONFIG,
    BronchodilatorChange,
    BronchodilatorResponse,
    Finding,
    InterpretationConfig,
    Pattern,
    PrismDefinition,
    Severity,
    SpirometryInterpretation,
    assess_bronchodilator_response,
    grade_impairment,
    interpret_spirometry,
)
from exoneb.assessment.quality import (
    Grade,
    Manoeuvre,
    ManoeuvreCriteria,
    ParameterGrade,
    SpirometryQuality,
    assess_manoeuvre,
    grade_parameter,
    grade_test,
    repeatability_limits,
)
from exoneb.assessment.reference_equations import (
    DEFAULT_EQUATION,
    HEIGHT_RANGE_CM,
    PLAUSIBLE_HEIGHT_CM,
    Z_LIMIT,
    ReferenceInputs,
    ReferenceValues,
    ScoredValue,
    age_years,
    centile_value,
    lms,
    reference_values,
    score,
    z_score,
)
from exoneb.assessment.scales import (
    BORG_ANCHORS,
    CAT_SOURCE,
    BorgScore,
    CatDomain,
    CatImpact,
    CatScore,
    MmrcScore,
    MmrcVersion,
    SixMinuteWalk,
    SixMinuteWalkReference,
    WalkEquation,
    cat_impact,
    score_borg,
    score_cat,
    score_mmrc,
    score_six_minute_walk,
    six_minute_walk_reference,
)
from exoneb.assessment.spirometry_panel import (
    SpirometryScores,
    score_spirometry,
)
from exoneb.assessment.spirometry_terms import (
    Equation,
    Ethnicity,
    Parameter,
    Sex,
)
from exoneb.assessment.vitals import (
    PLAUSIBLE_RANGES,
    ImplausibleValueError,
    InspiredOxygen,
    OxygenSource,
    PlausibleRange,
    VitalFlag,
    Vitals,
    body_mass_index,
    record_vitals,
)


def decide_assessment(
    rule_set: EligibilityRuleSet,
    facts: Mapping[str, object],
    *,
    care: CareCheck,
) -> EligibilityDecision:
    """Decide eligibility with the complementary-care check folded in.

    The care check's last-change date is added to the facts (for the
    "unchanged prescribed care" rule) and its flags to the decision, so care
    not recorded, not taken as prescribed, or stopped in favour of this therapy
    makes a ``cleared`` decision ``needs_review`` — never ``ineligible`` and
    never a suggestion to change the care.

    Parameters
    ----------
    rule_set : EligibilityRuleSet
        The protocol's eligibility rules.
    facts : mapping of str to value
        The other facts (vitals, spirometry, history…).
    care : CareCheck
        From :func:`check_prescribed_care`.

    Raises
    ------
    AssessmentInputError
        If ``facts`` already gives ``prescribed_care_last_changed`` with a value
        other than the care check's.
    """
    given = {k: v for k, v in facts.items() if v is not None}
    merged = merge_facts(given, care_facts(care))  # type: ignore[arg-type]
    return decide(rule_set, merged, flags=care.flags)


__all__ = [
    "BORG_ANCHORS",
    "CARE_REMINDER",
    "CARE_SOURCE",
    "CAT_SOURCE",
    "DEFAULT_CONFIG",
    "DEFAULT_EQUATION",
    "DEFAULT_RULES_RESOURCE",
    "FACT_CATALOG",
    "HEIGHT_RANGE_CM",
    "NONE_OCCURRED",
    "PLAUSIBLE_HEIGHT_CM",
    "PLAUSIBLE_RANGES",
    "Z_LIMIT",
    "AllOf",
    "AnyOf",
    "AssessmentInputError",
    "BorgScore",
    "BronchodilatorChange",
    "BronchodilatorResponse",
    "CareCheck",
    "CatDomain",
    "CatImpact",
    "CatScore",
    "Comparison",
    "Condition",
    "EligibilityDecision",
    "EligibilityOutcome",
    "EligibilityRule",
    "EligibilityRuleError",
    "EligibilityRuleSet",
    "Equation",
    "Ethnicity",
    "Evidence",
    "FactSpec",
    "FactType",
    "FactValue",
    "Finding",
    "Grade",
    "ImplausibleValueError",
    "InspiredOxygen",
    "InterpretationConfig",
    "Manoeuvre",
    "ManoeuvreCriteria",
    "MmrcScore",
    "MmrcVersion",
    "NotOf",
    "Op",
    "Override",
    "OxygenSource",
    "Parameter",
    "ParameterGrade",
    "Pattern",
    "PlausibleRange",
    "PrescribedMedicine",
    "PrismDefinition",
    "ReferenceInputs",
    "ReferenceTableIntegrityError",
    "ReferenceValues",
    "ReviewFlag",
    "RuleKind",
    "RuleOutcome",
    "RuleProblem",
    "RuleResult",
    "ScoredValue",
    "Severity",
    "Sex",
    "SixMinuteWalk",
    "SixMinuteWalkReference",
    "SpirometryInterpretation",
    "SpirometryQuality",
    "SpirometryScores",
    "VitalFlag",
    "Vitals",
    "WalkEquation",
    "age_years",
    "assess_bronchodilator_response",
    "assess_manoeuvre",
    "body_mass_index",
    "care_facts",
    "cat_impact",
    "centile_value",
    "check_prescribed_care",
    "decide",
    "decide_assessment",
    "decision_record",
    "describe_condition",
    "evaluate_rule",
    "grade_impairment",
    "grade_parameter",
    "grade_test",
    "interpret_spirometry",
    "lms",
    "load_default_eligibility_rules",
    "load_eligibility_rules",
    "merge_facts",
    "override_decision",
    "record_vitals",
    "reference_values",
    "repeatability_limits",
    "scale_facts",
    "score",
    "score_borg",
    "score_cat",
    "score_mmrc",
    "score_six_minute_walk",
    "score_spirometry",
    "six_minute_walk_reference",
    "spirometry_facts",
    "vitals_facts",
    "z_score",
]
