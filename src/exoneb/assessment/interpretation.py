"""Interpretation of spirometry by the ERS/ATS 2022 technical standard, with reasons.

Every label comes with the rule that produced it and the numbers it used
(:class:`Finding`), so a clinician can check the reading and a reviewer can see
why it was made. The thresholds are those of Stanojevic et al. (2022) as cut
into operational bands in ``spirometry.md`` §2.1:

* limits of normal at z = ±1.645 (5th/95th centile), never 80 % predicted;
* airflow obstruction when FEV1/FVC z < −1.645;
* severity from the FEV1 z-score: mild −2.5 ≤ z < −1.645, moderate −4 ≤ z < −2.5,
  severe z < −4 (a boundary value falls into the milder band, as in pft and pyspiro);
* obstruction with FEV1 z ≥ −1.645 has no grade in the standard, so it gets an
  explicit, configurable label rather than silently reading as "normal";
* restriction needs TLC, so spirometry alone only says "possible restriction /
  non-specific pattern";
* PRISm definitions differ between sources, so the definition is configurable;
* bronchodilator responsiveness: (post − pre)/predicted > 10 % for FEV1 or FVC;
* the fixed 0.70 ratio (GOLD) only as a secondary label.

This is decision support for a clinician, not a diagnosis.

References
----------
.. [1] Stanojevic S, Kaminsky DA, Miller MR, et al. ERS/ATS technical standard on
   interpretive strategies for routine lung function tests. Eur Respir J
   2022;60:2101499. doi:10.1183/13993003.01499-2021
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.reference_equations import ScoredValue
from exoneb.assessment.spirometry_panel import SpirometryScores

__all__ = [
    "DEFAULT_CONFIG",
    "BronchodilatorChange",
    "BronchodilatorResponse",
    "Finding",
    "InterpretationConfig",
    "Pattern",
    "PrismDefinition",
    "Severity",
    "SpirometryInterpretation",
    "assess_bronchodilator_response",
    "grade_impairment",
    "interpret_spirometry",
]

#: Differences below this are floating-point noise, not a response (2.4 − 2.0 ≠ 0.4 exactly).
_FLOAT_NOISE = 1e-9

_ERS_ATS_2022 = "Stanojevic et al., ERS/ATS 2022 (Eur Respir J 2022;60:2101499)"


class Severity(StrEnum):
    """Severity of impairment graded from a z-score (ERS/ATS 2022)."""

    WITHIN_NORMAL_LIMITS = "within_normal_limits"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Pattern(StrEnum):
    """Spirometry-only pattern (no lung volumes): ``spirometry.md`` §2.1 pseudo-algorithm."""

    NORMAL = "normal"
    OBSTRUCTION = "obstruction"
    OBSTRUCTION_WITH_LOW_FVC = "obstruction_with_low_fvc"
    POSSIBLE_RESTRICTION = "possible_restriction_or_non_specific"
    NON_SPECIFIC_LOW_FEV1 = "non_specific_low_fev1"
    INDETERMINATE = "indeterminate"

    @property
    def label(self) -> str:
        """Wording shown to the clinician."""
        return {
            Pattern.NORMAL: "normal spirometry",
            Pattern.OBSTRUCTION: "obstruction",
            Pattern.OBSTRUCTION_WITH_LOW_FVC: (
                "obstruction with low FVC (air trapping or mixed disorder: measure TLC)"
            ),
            Pattern.POSSIBLE_RESTRICTION: (
                "low FVC with normal FEV1/FVC: possible restriction / non-specific pattern "
                "(measure TLC)"
            ),
            Pattern.NON_SPECIFIC_LOW_FEV1: (
                "low FEV1 with normal FEV1/FVC and FVC: non-specific pattern"
            ),
            Pattern.INDETERMINATE: "cannot be read: FEV1, FVC or FEV1/FVC missing",
        }[self]


class PrismDefinition(StrEnum):
    """Definitions of preserved-ratio impaired spirometry (``spirometry.md`` §2.1)."""

    FEV1_AND_FVC_BELOW_LLN = "fev1_and_fvc_below_lln"
    """(a) pft: FEV1 < LLN and FVC < LLN and FEV1/FVC ≥ LLN."""
    FEV1_BELOW_LLN = "fev1_below_lln"
    """(b) LLN-based (LASI): FEV1/FVC ≥ LLN and FEV1 < LLN."""
    FIXED_RATIO_AND_80_PERCENT = "fixed_ratio_and_80_percent"
    """(c) GOLD/epidemiology: FEV1/FVC ≥ 0.70 and FEV1 < 80 % predicted (post-BD in GOLD)."""


@dataclass(frozen=True)
class InterpretationConfig:
    """Thresholds and labels of the interpretation; a protocol file may override them.

    The defaults are ERS/ATS 2022. ``prism_definition`` defaults to the LLN-based
    form (b) because it uses the same z-score limits as the rest of the reading;
    which definition a site uses is a clinical decision (``spirometry.md`` §3.2).
    """

    lln_z: float = -1.645
    mild_lower_z: float = -2.5
    moderate_lower_z: float = -4.0
    obstruction_with_normal_fev1_label: str = "obstruction, FEV1 within normal range"
    prism_definition: PrismDefinition = PrismDefinition.FEV1_BELOW_LLN
    prism_percent_predicted: float = 80.0
    fixed_ratio: float = 0.70
    bdr_threshold_percent_predicted: float = 10.0


DEFAULT_CONFIG = InterpretationConfig()


@dataclass(frozen=True)
class Finding:
    """One labelled result with the rule and the numbers that produced it.

    Attributes
    ----------
    code : str
        Stable identifier (``"obstruction"``, ``"severity"``, ``"prism"``, …).
    label : str
        What to show the clinician.
    rule : str
        The rule applied, with its threshold.
    values : dict of str to float
        The numbers the rule used (z-scores, LLN, measured values).
    source : str
        Citation of the rule.
    secondary : bool
        True for labels that are not part of the ERS/ATS reading (fixed ratio).
    """

    code: str
    label: str
    rule: str
    values: dict[str, float] = field(default_factory=dict)
    source: str = _ERS_ATS_2022
    secondary: bool = False


@dataclass(frozen=True)
class SpirometryInterpretation:
    """The ERS/ATS 2022 reading of one test.

    ``obstruction`` and ``prism`` are ``None`` when the data needed are missing,
    never silently ``False``. ``severity`` is graded only when there is obstruction.
    """

    obstruction: bool | None
    severity: Severity | None
    pattern: Pattern
    prism: bool | None
    below_fixed_ratio: bool | None
    findings: tuple[Finding, ...]
    config: InterpretationConfig

    @property
    def labels(self) -> tuple[str, ...]:
        """The findings' labels, primary ones first."""
        primary = [f.label for f in self.findings if not f.secondary]
        return tuple(primary + [f.label for f in self.findings if f.secondary])


def grade_impairment(z: float, config: InterpretationConfig = DEFAULT_CONFIG) -> Severity:
    """Grade a z-score: within normal limits, mild, moderate or severe.

    Parameters
    ----------
    z : float
        z-score of the parameter (for obstruction, of FEV1).
    config : InterpretationConfig, optional
        Cut-offs (``lln_z``, ``mild_lower_z``, ``moderate_lower_z``).

    Returns
    -------
    Severity

    Notes
    -----
    Operational bands (``spirometry.md`` §2.1): normal z ≥ −1.645; mild
    −2.5 ≤ z < −1.645; moderate −4 ≤ z < −2.5; severe z < −4. The paper prints
    gapped bands (−1.65 to −2.5, −2.51 to −4, < −4.1); the operational cut-offs
    close the gaps with boundary values falling into the milder band.
    """
    if z >= config.lln_z:
        return Severity.WITHIN_NORMAL_LIMITS
    if z >= config.mild_lower_z:
        return Severity.MILD
    if z >= config.moderate_lower_z:
        return Severity.MODERATE
    return Severity.SEVERE


def _values(**named: ScoredValue | float | None) -> dict[str, float]:
    """Flatten scored values into ``{name_z, name_lln, name_measured}`` for a finding."""
    out: dict[str, float] = {}
    for name, value in named.items():
        if isinstance(value, ScoredValue):
            out[f"{name}_measured"] = value.measured
            out[f"{name}_z"] = value.z
            out[f"{name}_lln"] = value.lln
            out[f"{name}_percent_predicted"] = value.percent_predicted
        elif value is not None:
            out[name] = float(value)
    return out


def _check_same_reference(scores: SpirometryScores) -> None:
    """Refuse values scored with different equations or for different people."""
    keys = {
        (i.equation, i.sex, i.age_years, i.height_cm, i.ethnicity)
        for i in (v.reference.inputs for v in scores.measured)
    }
    if len(keys) > 1:
        raise AssessmentInputError(
            "scores",
            sorted(str(k) for k in keys),
            "values scored with one equation for one person",
        )


def _is_low(value: ScoredValue | None, config: InterpretationConfig) -> bool | None:
    """``z < LLN z`` or ``None`` when not measured."""
    return None if value is None else value.z < config.lln_z


def _obstruction(
    scores: SpirometryScores, config: InterpretationConfig
) -> tuple[bool | None, Finding]:
    """Airflow obstruction: FEV1/FVC z below the LLN z."""
    rule = f"obstruction when FEV1/FVC z < {config.lln_z} (FEV1/FVC below its LLN)"
    ratio = scores.fev1_fvc
    if ratio is None:
        return None, Finding("obstruction", "obstruction not evaluable: FEV1/FVC missing", rule)
    low = ratio.z < config.lln_z
    label = "airflow obstruction" if low else "no airflow obstruction"
    return low, Finding("obstruction", label, rule, _values(fev1_fvc=ratio))


def _severity(
    scores: SpirometryScores, obstruction: bool | None, config: InterpretationConfig
) -> tuple[Severity | None, Finding | None]:
    """Severity of obstruction from the FEV1 z-score; explicit label when FEV1 is normal."""
    if not obstruction:
        return None, None
    rule = (
        f"severity from FEV1 z: mild {config.mild_lower_z} ≤ z < {config.lln_z}; "
        f"moderate {config.moderate_lower_z} ≤ z < {config.mild_lower_z}; "
        f"severe z < {config.moderate_lower_z}"
    )
    if scores.fev1 is None:
        return None, Finding("severity", "severity not evaluable: FEV1 missing", rule)
    grade = grade_impairment(scores.fev1.z, config)
    if grade is Severity.WITHIN_NORMAL_LIMITS:
        label = config.obstruction_with_normal_fev1_label
        rule = (
            f"FEV1 z ≥ {config.lln_z}: the standard gives no severity grade; "
            "labelled explicitly (product decision, spirometry.md §0.3)"
        )
    else:
        label = f"{grade.value} obstruction (graded by FEV1 z-score)"
    return grade, Finding("severity", label, rule, _values(fev1=scores.fev1))


def _pattern(
    scores: SpirometryScores, obstruction: bool | None, config: InterpretationConfig
) -> tuple[Pattern, Finding]:
    """Spirometry-only pattern (``spirometry.md`` §2.1 pseudo-algorithm)."""
    fvc_low = _is_low(scores.fvc, config)
    fev1_low = _is_low(scores.fev1, config)
    values = _values(fev1=scores.fev1, fvc=scores.fvc, fev1_fvc=scores.fev1_fvc)
    if obstruction is None:
        pattern = Pattern.INDETERMINATE
        rule = "the pattern needs FEV1/FVC (both FEV1 and FVC)"
    elif obstruction:
        pattern = Pattern.OBSTRUCTION_WITH_LOW_FVC if fvc_low else Pattern.OBSTRUCTION
        rule = f"FEV1/FVC z < {config.lln_z}; with FVC z < {config.lln_z} too: low FVC"
    elif fvc_low:
        pattern = Pattern.POSSIBLE_RESTRICTION
        rule = (
            f"FEV1/FVC z ≥ {config.lln_z} and FVC z < {config.lln_z}: restriction needs "
            "TLC < LLN, so spirometry alone says possible restriction / non-specific"
        )
    elif fev1_low:
        pattern = Pattern.NON_SPECIFIC_LOW_FEV1
        rule = f"FEV1/FVC and FVC z ≥ {config.lln_z}, FEV1 z < {config.lln_z}"
    elif fvc_low is None or fev1_low is None:
        pattern = Pattern.INDETERMINATE
        rule = "normal needs FEV1, FVC and FEV1/FVC"
    else:
        pattern = Pattern.NORMAL
        rule = f"FEV1, FVC and FEV1/FVC z ≥ {config.lln_z}"
    return pattern, Finding("pattern", pattern.label, rule, values)


def _prism(scores: SpirometryScores, config: InterpretationConfig) -> tuple[bool | None, Finding]:
    """Preserved-ratio impaired spirometry by the configured definition."""
    definition = config.prism_definition
    fev1, fvc, ratio = scores.fev1, scores.fvc, scores.fev1_fvc
    source = (
        "spirometry.md §2.1 PRISm definition "
        + {
            PrismDefinition.FEV1_AND_FVC_BELOW_LLN: "(a), pft",
            PrismDefinition.FEV1_BELOW_LLN: "(b), LLN-based (LASI)",
            PrismDefinition.FIXED_RATIO_AND_80_PERCENT: "(c), GOLD/epidemiology",
        }[definition]
    )
    if definition is PrismDefinition.FIXED_RATIO_AND_80_PERCENT:
        rule = (
            f"FEV1/FVC ≥ {config.fixed_ratio:.2f} and FEV1 < "
            f"{config.prism_percent_predicted:g} % predicted (GOLD uses post-BD values)"
        )
        if fev1 is None or ratio is None:
            return None, Finding("prism", "PRISm not evaluable", rule, source=source)
        result = (
            ratio.measured >= config.fixed_ratio
            and fev1.percent_predicted < config.prism_percent_predicted
        )
    else:
        both = definition is PrismDefinition.FEV1_AND_FVC_BELOW_LLN
        rule = f"FEV1/FVC z ≥ {config.lln_z} and FEV1 z < {config.lln_z}" + (
            f" and FVC z < {config.lln_z}" if both else ""
        )
        if fev1 is None or ratio is None or (both and fvc is None):
            return None, Finding("prism", "PRISm not evaluable", rule, source=source)
        result = ratio.z >= config.lln_z and fev1.z < config.lln_z
        if both:
            assert fvc is not None
            result = result and fvc.z < config.lln_z
    label = "PRISm (preserved ratio impaired spirometry)" if result else "no PRISm"
    return result, Finding(
        "prism", label, rule, _values(fev1=fev1, fvc=fvc, fev1_fvc=ratio), source=source
    )


def _fixed_ratio(
    scores: SpirometryScores, config: InterpretationConfig
) -> tuple[bool | None, Finding | None]:
    """Secondary label: FEV1/FVC below the fixed 0.70 (GOLD), not used for the reading."""
    if scores.fev1_fvc is None:
        return None, None
    below = scores.fev1_fvc.measured < config.fixed_ratio
    if not below:
        return False, None
    return True, Finding(
        "fixed_ratio",
        f"FEV1/FVC below the fixed ratio {config.fixed_ratio:.2f} (secondary label; the "
        "ERS/ATS reading uses the LLN)",
        f"FEV1/FVC < {config.fixed_ratio:.2f}",
        {"fev1_fvc_measured": scores.fev1_fvc.measured},
        source="GOLD fixed ratio; ERS/ATS 2022 recommends the LLN instead",
        secondary=True,
    )


def interpret_spirometry(
    scores: SpirometryScores, config: InterpretationConfig = DEFAULT_CONFIG
) -> SpirometryInterpretation:
    """Read a scored test by ERS/ATS 2022.

    Parameters
    ----------
    scores : SpirometryScores
        From :func:`~exoneb.assessment.spirometry_panel.score_spirometry`.
    config : InterpretationConfig, optional
        Thresholds and configurable labels (PRISm definition, label for obstruction
        with normal FEV1).

    Returns
    -------
    SpirometryInterpretation
        Obstruction, severity, pattern, PRISm and the fixed-ratio label, each with
        the rule and numbers behind it.

    Raises
    ------
    AssessmentInputError
        If the values were scored with different equations or inputs.
    """
    _check_same_reference(scores)
    obstruction, obstruction_finding = _obstruction(scores, config)
    severity, severity_finding = _severity(scores, obstruction, config)
    pattern, pattern_finding = _pattern(scores, obstruction, config)
    prism, prism_finding = _prism(scores, config)
    below_fixed, fixed_finding = _fixed_ratio(scores, config)
    findings = tuple(
        f
        for f in (
            obstruction_finding,
            severity_finding,
            pattern_finding,
            prism_finding,
            fixed_finding,
        )
        if f is not None
    )
    return SpirometryInterpretation(
        obstruction=obstruction,
        severity=severity,
        pattern=pattern,
        prism=prism,
        below_fixed_ratio=below_fixed,
        findings=findings,
        config=config,
    )


@dataclass(frozen=True)
class BronchodilatorChange:
    """Change of one parameter after bronchodilator, relative to its predicted value."""

    parameter: str
    pre: float
    post: float
    predicted: float
    change: float
    change_percent_predicted: float
    positive: bool


@dataclass(frozen=True)
class BronchodilatorResponse:
    """Bronchodilator responsiveness by ERS/ATS 2022 (Box 1).

    ``positive`` is ``None`` when neither FEV1 nor FVC has a pre and post value.
    """

    positive: bool | None
    changes: tuple[BronchodilatorChange, ...]
    finding: Finding


def assess_bronchodilator_response(
    pre: SpirometryScores,
    *,
    post_fev1: float | None = None,
    post_fvc: float | None = None,
    config: InterpretationConfig = DEFAULT_CONFIG,
) -> BronchodilatorResponse:
    """Assess bronchodilator responsiveness: (post − pre)/predicted × 100 > 10 for FEV1 or FVC.

    Parameters
    ----------
    pre : SpirometryScores
        The pre-bronchodilator test; its predicted values (same equation) are used.
    post_fev1, post_fvc : float, optional
        Post-bronchodilator FEV1 and FVC in litres.
    config : InterpretationConfig, optional
        ``bdr_threshold_percent_predicted`` (10 %, strictly greater than).

    Notes
    -----
    This replaces the 2005 rule (≥ 12 % and ≥ 200 mL from baseline). A response
    is not reversibility: reversibility means FEV1/FVC normalises.
    """
    threshold = config.bdr_threshold_percent_predicted
    rule = f"(post − pre)/predicted × 100 > {threshold:g} % for FEV1 or FVC"
    changes: list[BronchodilatorChange] = []
    for name, before, after in (("fev1", pre.fev1, post_fev1), ("fvc", pre.fvc, post_fvc)):
        if before is None or after is None:
            continue
        if not after > 0.0:
            raise AssessmentInputError(f"post_{name}", after, "> 0 L")
        change = after - before.measured
        percent = 100.0 * change / before.predicted
        changes.append(
            BronchodilatorChange(
                parameter=name,
                pre=before.measured,
                post=after,
                predicted=before.predicted,
                change=change,
                change_percent_predicted=percent,
                positive=percent > threshold + _FLOAT_NOISE,
            )
        )
    values = {
        f"{c.parameter}_change_percent_predicted": c.change_percent_predicted for c in changes
    }
    if not changes:
        finding = Finding("bdr", "bronchodilator response not evaluable: no pre/post pair", rule)
        return BronchodilatorResponse(None, (), finding)
    positive = any(c.positive for c in changes)
    label = (
        "significant bronchodilator response"
        if positive
        else "no significant bronchodilator response"
    )
    return BronchodilatorResponse(positive, tuple(changes), Finding("bdr", label, rule, values))
