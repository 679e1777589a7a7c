"""An explainable eligibility decision from rules that are data.

A protocol's ``eligibility`` section is a list of rules. Each rule has an
``id``, a ``version``, a ``source`` (citation), a ``kind`` (inclusion,
exclusion or pre-session go/no-go), the facts it ``needs`` and a condition
``pass_if`` that must hold for the patient to pass it::

    - id: gng-heart-rate
      version: "1"
      kind: go_no_go
      title: Resting heart rate below 120 /min
      source: "clinical.md §4.3 [design default]; ATS 2002 6MWT relative contraindication"
      evidence: design_default
      needs: [heart_rate_bpm]
      pass_if: {fact: heart_rate_bpm, op: "<", value: 120}

Exclusion rules are written the same way — as what must hold to pass
(``{fact: pregnant_or_lactating, op: is_false}``) — so every rule reads in one
direction and "pass" always means "this rule does not stand in the way".

Conditions
----------
A comparison ``{fact, op, value}`` with ``op`` one of ``==``, ``!=``, ``<``,
``<=``, ``>``, ``>=``, ``between`` (closed interval ``[low, high]``), ``in``,
``not_in``, ``is_true``, ``is_false``, ``within_days`` and ``not_within_days``
(the fact is a date, compared with the ``relative_to`` date fact, by default
``assessment_date``; a date fact may be ``"none"`` = asked, never happened), or
``{all: [...]}``, ``{any: [...]}``, ``{not: ...}``.

Missing data is never a pass
----------------------------
Conditions use three-valued (Kleene) logic: a comparison on a missing fact (or a
fact of the wrong type) is *unknown*; ``all`` is false if any part is false,
true only if all are true; ``any`` is true if any part is true, false only if all
are false; otherwise unknown. A rule whose condition is unknown is **not
evaluable** and lists the facts that were missing. So a missing value can never
make a rule pass — only a known value can, and only when the missing one could
not change the result (e.g. SpO2 95 % passes the "≥ 92 %, or ≥ 88 % with chronic
hypoxaemia" rule whatever the hypoxaemia flag is).

The decision
------------
* any rule fails → ``ineligible``;
* otherwise any rule not evaluable, or any review flag (e.g. prescribed care not
  recorded, :mod:`exoneb.assessment.care`) → ``needs_review``;
* otherwise → ``cleared``.

A physician may override the computed outcome with a reason; the decision then
keeps both (:func:`override_decision`).

References
----------
``reference/clinical.md`` §4.3, §5.2 (the default rules) and §7 ("each rule
evaluation records rule ID, version, inputs and outcome for audit").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, TypeGuard

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.fact_catalog import FACT_CATALOG, NONE_OCCURRED, FactSpec, FactType

__all__ = [
    "DEFAULT_RULES_RESOURCE",
    "AllOf",
    "AnyOf",
    "Comparison",
    "Condition",
    "EligibilityDecision",
    "EligibilityOutcome",
    "EligibilityRule",
    "EligibilityRuleError",
    "EligibilityRuleSet",
    "Evidence",
    "FactValue",
    "NotOf",
    "Op",
    "Override",
    "ReviewFlag",
    "RuleKind",
    "RuleOutcome",
    "RuleProblem",
    "RuleResult",
    "decide",
    "decision_record",
    "describe_condition",
    "evaluate_rule",
    "load_default_eligibility_rules",
    "load_eligibility_rules",
    "override_decision",
]

#: A fact's value: number, yes/no, text, date, or ``"none"`` for a date that never happened.
FactValue = bool | int | float | str | date

#: Package resource holding the default rule set (``clinical.md`` §5.2 and §4.3).
DEFAULT_RULES_RESOURCE = "eligibility_default.yaml"

_NAME = r"^[a-z][a-z0-9_]*$"


class RuleKind(StrEnum):
    """What a rule is for: entry to the programme, or today's session."""

    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"
    GO_NO_GO = "go_no_go"
    """Checked before each session (vitals on the day)."""


class Evidence(StrEnum):
    """The reference's confidence tag for a rule (``clinical.md`` §0)."""

    SOURCE = "source"
    UNVERIFIED = "unverified"
    DESIGN_DEFAULT = "design_default"


class Op(StrEnum):
    """Comparison operators of a condition."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not_in"
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"
    WITHIN_DAYS = "within_days"
    NOT_WITHIN_DAYS = "not_within_days"


_ORDER_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE, Op.BETWEEN})
_SET_OPS = frozenset({Op.IN, Op.NOT_IN})
_BOOL_OPS = frozenset({Op.IS_TRUE, Op.IS_FALSE})
_WINDOW_OPS = frozenset({Op.WITHIN_DAYS, Op.NOT_WITHIN_DAYS})
_OPS_BY_TYPE: dict[FactType, frozenset[Op]] = {
    FactType.NUMBER: _ORDER_OPS | {Op.EQ, Op.NE},
    FactType.BOOLEAN: _BOOL_OPS | {Op.EQ, Op.NE},
    FactType.TEXT: _SET_OPS | {Op.EQ, Op.NE},
    FactType.DATE: _WINDOW_OPS,
}
_SYMBOL = {Op.LE: "≤", Op.GE: "≥", Op.NE: "≠", Op.EQ: "="}


def _is_number(value: object) -> TypeGuard[int | float]:
    """True for an int or float that is not a bool and is finite."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


class Comparison(BaseModel):
    """``{fact, op, value}``: one comparison of a fact with a constant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fact: str = Field(pattern=_NAME)
    op: Op
    value: bool | float | str | tuple[float | str, ...] | None = None
    relative_to: str = Field(default="assessment_date", pattern=_NAME)

    @model_validator(mode="after")
    def _check_value(self, info: ValidationInfo) -> Comparison:
        """The value suits the operator and, with a catalog, the fact's type."""
        op, value = self.op, self.value
        if op in _BOOL_OPS and value is not None:
            raise ValueError(f"{op.value} takes no value")
        if op in {Op.LT, Op.LE, Op.GT, Op.GE} and not _is_number(value):
            raise ValueError(f"{op.value} needs a number as value, got {value!r}")
        if op is Op.BETWEEN and not (
            isinstance(value, tuple)
            and len(value) == 2
            and all(_is_number(v) for v in value)
            and float(value[0]) <= float(value[1])
        ):
            raise ValueError(f"between needs [low, high] numbers with low ≤ high, got {value!r}")
        if op in _SET_OPS and not (isinstance(value, tuple) and value):
            raise ValueError(f"{op.value} needs a non-empty list as value, got {value!r}")
        if op in {Op.EQ, Op.NE} and (value is None or isinstance(value, tuple)):
            raise ValueError(f"{op.value} needs a single value, got {value!r}")
        if op in _WINDOW_OPS and not (_is_number(value) and float(value) >= 0):
            raise ValueError(f"{op.value} needs a number of days ≥ 0, got {value!r}")
        catalog = info.context.get("facts") if isinstance(info.context, dict) else None
        if catalog is not None:
            self._check_against(catalog)
        return self

    def _check_against(self, catalog: Mapping[str, FactSpec]) -> None:
        """Refuse unknown facts and comparisons that do not suit the fact's type."""
        spec = catalog.get(self.fact)
        if spec is None:
            raise ValueError(f"unknown fact {self.fact!r} (not in the fact catalog)")
        if self.op not in _OPS_BY_TYPE[spec.type]:
            allowed = ", ".join(sorted(o.value for o in _OPS_BY_TYPE[spec.type]))
            raise ValueError(
                f"{self.op.value} does not apply to {spec.type.value} fact {self.fact!r} "
                f"(use one of {allowed})"
            )
        values = self.value if isinstance(self.value, tuple) else (self.value,)
        if (
            spec.type is FactType.NUMBER
            and self.op in {Op.EQ, Op.NE}
            and not _is_number(self.value)
        ):
            raise ValueError(f"{self.fact!r} is a number; compare it with a number")
        if (
            spec.type is FactType.BOOLEAN
            and self.op in {Op.EQ, Op.NE}
            and not isinstance(self.value, bool)
        ):
            raise ValueError(f"{self.fact!r} is yes/no; compare it with true or false")
        if spec.type is FactType.TEXT:
            if not all(isinstance(v, str) for v in values):
                raise ValueError(f"{self.fact!r} is text; compare it with text")
            unknown = [v for v in values if spec.choices and v not in spec.choices]
            if unknown:
                raise ValueError(
                    f"{unknown!r} not among the values of {self.fact!r}: {', '.join(spec.choices)}"
                )
        if self.op in _WINDOW_OPS:
            ref = catalog.get(self.relative_to)
            if ref is None or ref.type is not FactType.DATE:
                raise ValueError(f"relative_to {self.relative_to!r} is not a date fact")

    @property
    def number(self) -> float:
        """The value as a number (order and window operators)."""
        if not _is_number(self.value):
            raise TypeError(f"{self.op.value} on {self.fact} has no numeric value")
        return float(self.value)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a ``between``."""
        if not (isinstance(self.value, tuple) and len(self.value) == 2):
            raise TypeError(f"{self.op.value} on {self.fact} has no bounds")
        return float(self.value[0]), float(self.value[1])

    @property
    def members(self) -> tuple[str, ...]:
        """The listed values of an ``in`` / ``not_in``, as text."""
        return tuple(str(v) for v in self.value) if isinstance(self.value, tuple) else ()

    @property
    def facts(self) -> frozenset[str]:
        """The facts this comparison reads."""
        if self.op in _WINDOW_OPS:
            return frozenset({self.fact, self.relative_to})
        return frozenset({self.fact})


class AllOf(BaseModel):
    """``{all: [...]}``: every part must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    parts: tuple[Condition, ...] = Field(alias="all", min_length=1)

    @property
    def facts(self) -> frozenset[str]:
        """The facts the parts read."""
        return frozenset().union(*(p.facts for p in self.parts))


class AnyOf(BaseModel):
    """``{any: [...]}``: at least one part must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    parts: tuple[Condition, ...] = Field(alias="any", min_length=1)

    @property
    def facts(self) -> frozenset[str]:
        """The facts the parts read."""
        return frozenset().union(*(p.facts for p in self.parts))


class NotOf(BaseModel):
    """``{not: ...}``: the part must not hold (unknown stays unknown)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    part: Condition = Field(alias="not")

    @property
    def facts(self) -> frozenset[str]:
        """The facts the part reads."""
        return self.part.facts


def _condition_tag(value: Any) -> str:
    """Pick the condition model from the keys of a mapping (or the model's class)."""
    if isinstance(value, Mapping):
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return "comparison"
    if isinstance(value, AllOf):
        return "all"
    if isinstance(value, AnyOf):
        return "any"
    return "not" if isinstance(value, NotOf) else "comparison"


Condition = Annotated[
    Annotated[Comparison, Tag("comparison")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(_condition_tag),
]
"""A comparison, or ``all`` / ``any`` / ``not`` of conditions."""

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


class EligibilityRule(BaseModel):
    """One inclusion, exclusion or go/no-go rule, as written in a protocol file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str = Field(min_length=1, max_length=20)
    kind: RuleKind
    title: str = Field(min_length=1, description="What the rule checks, in words.")
    source: str = Field(min_length=1, description="Citation of the rule and its threshold.")
    evidence: Evidence
    needs: tuple[str, ...] = Field(min_length=1, description="Every fact the rule reads.")
    pass_if: Condition

    @model_validator(mode="after")
    def _needs_match_condition(self) -> EligibilityRule:
        """``needs`` lists exactly the facts the condition reads (no more, no fewer)."""
        read = self.pass_if.facts
        declared = frozenset(self.needs)
        if len(declared) != len(self.needs):
            raise ValueError("needs lists a fact twice")
        if declared != read:
            parts = []
            if read - declared:
                parts.append(f"missing {sorted(read - declared)}")
            if declared - read:
                parts.append(f"not used by pass_if {sorted(declared - read)}")
            raise ValueError("needs does not match pass_if: " + "; ".join(parts))
        return self


class EligibilityRuleSet(BaseModel):
    """A protocol's eligibility section: a versioned list of rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=60)
    version: str = Field(min_length=1, max_length=20)
    source: str = Field(min_length=1)
    rules: tuple[EligibilityRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> EligibilityRuleSet:
        """Rule ids are unique, so a decision names each rule unambiguously."""
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears more than once")
            seen.add(rule.id)
        return self

    @property
    def needs(self) -> tuple[str, ...]:
        """Every fact any rule reads, sorted (what an assessment form must ask)."""
        return tuple(sorted(frozenset().union(*(r.needs for r in self.rules))))

    def rule(self, rule_id: str) -> EligibilityRule | None:
        """The rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)


# --- loading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule set, located by rule id and field."""

    rule_id: str | None
    location: str
    message: str

    def __str__(self) -> str:
        where = f"rule {self.rule_id!r}" if self.rule_id else "rule set"
        field = f", field {self.location}" if self.location else ""
        return f"{where}{field}: {self.message}"


class EligibilityRuleError(ValueError):
    """A rule set could not be loaded; every problem names its rule id and field."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "Invalid eligibility rules:\n" + "\n".join(f"- {p}" for p in self.problems)
        )


def _clean_location(loc: Sequence[int | str]) -> list[str]:
    """Drop the union tags Pydantic puts in a path (``pass_if.all.all.0`` → ``pass_if.all.0``)."""
    out: list[str] = []
    for part in loc:
        text = str(part)
        if text == "comparison" or (text in {"all", "any", "not"} and out and out[-1] == text):
            continue
        out.append(text)
    return out


def _problems(error: ValidationError, mapping: Mapping[str, Any]) -> list[RuleProblem]:
    """Turn Pydantic's errors into problems naming the rule id (or its index)."""
    rules = mapping.get("rules") if isinstance(mapping, Mapping) else None
    out: list[RuleProblem] = []
    for err in error.errors():
        if err["type"] == "too_short" and isinstance(err["input"], list | tuple) and err["input"]:
            continue  # a non-empty list whose items failed: the item errors say why
        loc = list(err["loc"])
        rule_id: str | None = None
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            index = loc[1]
            raw = rules[index] if isinstance(rules, Sequence) and index < len(rules) else None
            given = raw.get("id") if isinstance(raw, Mapping) else None
            rule_id = str(given) if given else f"rules[{index}] (no id)"
            loc = loc[2:]
        path = ".".join(_clean_location(loc))
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(RuleProblem(rule_id, path, message))
    return out


def load_eligibility_rules(
    mapping: Mapping[str, Any], *, catalog: Mapping[str, FactSpec] | None = None
) -> EligibilityRuleSet:
    """Validate a protocol's eligibility section into a rule set.

    Parameters
    ----------
    mapping : mapping
        ``{id, version, source, rules: [...]}``, e.g. parsed from YAML.
    catalog : mapping of str to FactSpec, optional
        The facts rules may read; default :data:`~exoneb.assessment.fact_catalog.FACT_CATALOG`.
        Unknown facts and comparisons that do not suit a fact's type are refused.

    Returns
    -------
    EligibilityRuleSet

    Raises
    ------
    EligibilityRuleError
        Listing every problem with its rule id and field path.
    """
    if not isinstance(mapping, Mapping):
        raise EligibilityRuleError([RuleProblem(None, "", "expected a mapping with rules")])
    try:
        return EligibilityRuleSet.model_validate(
            mapping, context={"facts": FACT_CATALOG if catalog is None else catalog}
        )
    except ValidationError as exc:
        raise EligibilityRuleError(_problems(exc, mapping)) from None


@cache
def load_default_eligibility_rules() -> EligibilityRuleSet:
    """The default rule set shipped as package data (``clinical.md`` §5.2, §4.3).

    Parsed once per process (the rule set is immutable).
    """
    text = (
        resources.files("exoneb.assessment.data")
        .joinpath(DEFAULT_RULES_RESOURCE)
        .read_text(encoding="utf-8")
    )
    return load_eligibility_rules(yaml.safe_load(text))


# --- evaluation ---------------------------------------------------------------------------


class RuleOutcome(StrEnum):
    """What one rule concluded."""

    PASS = "pass"
    FAIL = "fail"
    NOT_EVALUABLE = "not_evaluable"


class EligibilityOutcome(StrEnum):
    """The decision."""

    CLEARED = "cleared"
    INELIGIBLE = "ineligible"
    NEEDS_REVIEW = "needs_review"

    @property
    def label(self) -> str:
        """Wording shown to staff."""
        return self.value.replace("_", " ")


@dataclass
class _Trace:
    """What an evaluation read: values used, facts missing, values that could not be used."""

    used: dict[str, FactValue]
    missing: set[str]
    problems: list[str]


def _fact(name: str, facts: Mapping[str, object], trace: _Trace) -> object | None:
    """Read a fact; a missing one (absent or ``None``) is recorded and returned as ``None``."""
    value = facts.get(name)
    if value is None:
        trace.missing.add(name)
        return None
    trace.used[name] = value  # type: ignore[assignment]
    return value


def _as_date(value: object) -> date | None:
    """A calendar date from a date or datetime (``None`` otherwise)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _compare(c: Comparison, facts: Mapping[str, object], trace: _Trace) -> bool | None:
    """Evaluate one comparison: True, False or None (unknown)."""
    value = _fact(c.fact, facts, trace)
    if c.op in _WINDOW_OPS:
        reference = _fact(c.relative_to, facts, trace)
        if value is None or reference is None:
            return None
        ref_day = _as_date(reference)
        if ref_day is None:
            trace.problems.append(f"{c.relative_to} = {reference!r} is not a date")
            return None
        if value == NONE_OCCURRED:
            within = False
        else:
            day = _as_date(value)
            if day is None:
                trace.problems.append(f"{c.fact} = {value!r} is not a date or 'none'")
                return None
            if day > ref_day:
                trace.problems.append(f"{c.fact} = {day.isoformat()} is after {c.relative_to}")
                return None
            within = (ref_day - day).days <= c.number
        return within if c.op is Op.WITHIN_DAYS else not within
    if value is None:
        return None
    if c.op in _BOOL_OPS or isinstance(c.value, bool):
        if not isinstance(value, bool):
            trace.problems.append(f"{c.fact} = {value!r} is not yes/no")
            return None
        target = c.value if isinstance(c.value, bool) else c.op is Op.IS_TRUE
        return (value == target) if c.op is not Op.NE else (value != target)
    if c.op in _ORDER_OPS or _is_number(c.value):
        if not _is_number(value):
            trace.problems.append(f"{c.fact} = {value!r} is not a number")
            return None
        x = float(value)
        if c.op is Op.BETWEEN:
            low, high = c.bounds
            return low <= x <= high
        limit = c.number
        return {
            Op.LT: x < limit,
            Op.LE: x <= limit,
            Op.GT: x > limit,
            Op.GE: x >= limit,
            Op.EQ: x == limit,
            Op.NE: x != limit,
        }[c.op]
    if not isinstance(value, str):
        trace.problems.append(f"{c.fact} = {value!r} is not text")
        return None
    if c.op in _SET_OPS:
        inside = value in c.members
        return inside if c.op is Op.IN else not inside
    return (value == c.value) if c.op is Op.EQ else (value != c.value)


def _evaluate(condition: Condition, facts: Mapping[str, object], trace: _Trace) -> bool | None:
    """Kleene three-valued evaluation (see the module docstring)."""
    if isinstance(condition, Comparison):
        return _compare(condition, facts, trace)
    if isinstance(condition, NotOf):
        inner = _evaluate(condition.part, facts, trace)
        return None if inner is None else not inner
    results = [_evaluate(p, facts, trace) for p in condition.parts]
    if isinstance(condition, AllOf):
        if any(r is False for r in results):
            return False
        return True if all(r is True for r in results) else None
    if any(r is True for r in results):
        return True
    return False if all(r is False for r in results) else None


def describe_condition(condition: Condition) -> str:
    """The condition in words, e.g. ``"heart_rate_bpm < 120"`` or ``"(a) or (b)"``."""
    if isinstance(condition, AllOf | AnyOf):
        joiner = " and " if isinstance(condition, AllOf) else " or "
        parts = [describe_condition(p) for p in condition.parts]
        return joiner.join(f"({p})" if " and " in p or " or " in p else p for p in parts)
    if isinstance(condition, NotOf):
        return f"not ({describe_condition(condition.part)})"
    c = condition
    if c.op is Op.IS_TRUE:
        return f"{c.fact} is yes"
    if c.op is Op.IS_FALSE:
        return f"{c.fact} is no"
    if c.op is Op.BETWEEN:
        low, high = c.bounds
        return f"{c.fact} between {low:g} and {high:g}"
    if c.op in _SET_OPS:
        word = "in" if c.op is Op.IN else "not in"
        return f"{c.fact} {word} {{{', '.join(c.members)}}}"
    if c.op in _WINDOW_OPS:
        word = "within" if c.op is Op.WITHIN_DAYS else "not within"
        return f"{c.fact} {word} {c.number:g} days of {c.relative_to}"
    shown = str(c.value).lower() if isinstance(c.value, bool) else str(c.value)
    if _is_number(c.value):
        shown = f"{c.value:g}"
    return f"{c.fact} {_SYMBOL.get(c.op, c.op.value)} {shown}"


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome, the values it used and why.

    Attributes
    ----------
    rule_id, rule_version : str
        Which rule (and which version of it) was applied.
    kind : RuleKind
    title, source : str
        The rule's wording and citation, copied so the result stands alone.
    evidence : Evidence
    outcome : RuleOutcome
    requirement : str
        The condition in words.
    values : mapping of str to FactValue
        The facts the evaluation read and their values.
    missing_facts : tuple of str
        Facts the rule needs that were not given (sorted).
    problems : tuple of str
        Facts given with a value that could not be used (wrong type, a date in
        the future).
    """

    rule_id: str
    rule_version: str
    kind: RuleKind
    title: str
    source: str
    evidence: Evidence
    outcome: RuleOutcome
    requirement: str
    values: Mapping[str, FactValue]
    missing_facts: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def explanation(self) -> str:
        """One sentence for the decision panel."""
        shown = ", ".join(f"{k} = {_show(v)}" for k, v in sorted(self.values.items()))
        if self.outcome is RuleOutcome.NOT_EVALUABLE:
            why = []
            if self.missing_facts:
                why.append("missing " + ", ".join(self.missing_facts))
            why.extend(self.problems)
            return f"{self.title}: not evaluable ({'; '.join(why)}). Requires {self.requirement}."
        word = "passed" if self.outcome is RuleOutcome.PASS else "failed"
        return f"{self.title}: {word} ({shown}). Requires {self.requirement}."


def _show(value: FactValue) -> str:
    """A fact value as shown in an explanation."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return f"{value:g}" if isinstance(value, float) else str(value)


def evaluate_rule(rule: EligibilityRule, facts: Mapping[str, object]) -> RuleResult:
    """Apply one rule to the facts.

    Parameters
    ----------
    rule : EligibilityRule
    facts : mapping of str to value
        Fact name → value; an absent key or ``None`` is a missing fact.

    Returns
    -------
    RuleResult
        ``pass`` or ``fail`` when the condition is known, ``not_evaluable``
        (with the missing facts) when it is not.
    """
    trace = _Trace(used={}, missing=set(), problems=[])
    verdict = _evaluate(rule.pass_if, facts, trace)
    outcome = {
        True: RuleOutcome.PASS,
        False: RuleOutcome.FAIL,
        None: RuleOutcome.NOT_EVALUABLE,
    }[verdict]
    return RuleResult(
        rule_id=rule.id,
        rule_version=rule.version,
        kind=rule.kind,
        title=rule.title,
        source=rule.source,
        evidence=rule.evidence,
        outcome=outcome,
        requirement=describe_condition(rule.pass_if),
        values=dict(trace.used),
        missing_facts=tuple(sorted(trace.missing)),
        problems=tuple(trace.problems),
    )


@dataclass(frozen=True)
class ReviewFlag:
    """A finding outside the rule set that needs a physician's review (never a pass).

    Attributes
    ----------
    code : str
        Stable identifier (e.g. ``"care-not-recorded"``).
    message : str
        What was found, for the physician.
    source : str
        Why it is flagged.
    """

    code: str
    message: str
    source: str


@dataclass(frozen=True)
class Override:
    """A physician's override of the computed outcome.

    Attributes
    ----------
    outcome : EligibilityOutcome
        ``cleared`` or ``ineligible``.
    reason : str
        Why the physician decided differently from the rules.
    by : str
        Who overrode (user name or id; the service checks the role).
    at : datetime or None
        When (the service sets it from its clock).
    """

    outcome: EligibilityOutcome
    reason: str
    by: str
    at: datetime | None = None


@dataclass(frozen=True)
class EligibilityDecision:
    """The decision with every rule's result; an override keeps the computed outcome.

    Attributes
    ----------
    rule_set_id, rule_set_version : str
        The rule set applied (recorded with the decision).
    computed_outcome : EligibilityOutcome
        What the rules and flags gave.
    results : tuple of RuleResult
        Every rule's result, in rule-set order.
    flags : tuple of ReviewFlag
        Findings that need review (e.g. prescribed care not recorded).
    override : Override or None
        A physician's override, if any.
    """

    rule_set_id: str
    rule_set_version: str
    computed_outcome: EligibilityOutcome
    results: tuple[RuleResult, ...]
    flags: tuple[ReviewFlag, ...] = ()
    override: Override | None = None

    @property
    def outcome(self) -> EligibilityOutcome:
        """The outcome in force: the override's if there is one, else the computed one."""
        return self.override.outcome if self.override is not None else self.computed_outcome

    @property
    def overridden(self) -> bool:
        """True when a physician overrode the computed outcome."""
        return self.override is not None

    @property
    def outcome_label(self) -> str:
        """The outcome as shown everywhere, naming an override and its reason."""
        if self.override is None:
            return self.computed_outcome.label
        return (
            f"{self.override.outcome.label} (physician override by {self.override.by} of the "
            f"computed outcome {self.computed_outcome.label}: {self.override.reason})"
        )

    def _with(self, outcome: RuleOutcome) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.outcome is outcome)

    @property
    def passed(self) -> tuple[RuleResult, ...]:
        """Rules that passed."""
        return self._with(RuleOutcome.PASS)

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """Rules that failed (each makes the patient ineligible)."""
        return self._with(RuleOutcome.FAIL)

    @property
    def not_evaluable(self) -> tuple[RuleResult, ...]:
        """Rules that could not be evaluated because data were missing or unusable."""
        return self._with(RuleOutcome.NOT_EVALUABLE)

    @property
    def missing_facts(self) -> tuple[str, ...]:
        """Every fact a not-evaluable rule was missing, sorted."""
        return tuple(sorted({f for r in self.not_evaluable for f in r.missing_facts}))

    @property
    def reasons(self) -> tuple[str, ...]:
        """The lines of the decision panel: failures, then gaps, then flags, then passes."""
        lines = [f"Failed — {r.explanation}" for r in self.failed]
        lines += [f"Not evaluable — {r.explanation}" for r in self.not_evaluable]
        lines += [f"For review — {f.message}" for f in self.flags]
        lines += [f"Passed — {r.explanation}" for r in self.passed]
        if self.override is not None:
            lines.insert(0, f"Outcome: {self.outcome_label}")
        return tuple(lines)


def _json_value(value: FactValue) -> bool | int | float | str:
    """A fact value as JSON (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def decision_record(decision: EligibilityDecision) -> dict[str, Any]:
    """The decision as plain JSON-ready data, for storage, audit and the API.

    Every rule's id, version, kind, source, outcome, the values it used and the
    facts it missed are kept (``clinical.md`` §7: "each rule evaluation records
    rule ID, version, inputs and outcome for audit"); an override keeps the
    computed outcome beside it.
    """
    override = decision.override
    return {
        "rule_set": {"id": decision.rule_set_id, "version": decision.rule_set_version},
        "outcome": decision.outcome.value,
        "computed_outcome": decision.computed_outcome.value,
        "override": None
        if override is None
        else {
            "outcome": override.outcome.value,
            "reason": override.reason,
            "by": override.by,
            "at": override.at.isoformat() if override.at is not None else None,
        },
        "rules": [
            {
                "id": r.rule_id,
                "version": r.rule_version,
                "kind": r.kind.value,
                "title": r.title,
                "source": r.source,
                "evidence": r.evidence.value,
                "outcome": r.outcome.value,
                "requirement": r.requirement,
                "values": {k: _json_value(v) for k, v in sorted(r.values.items())},
                "missing_facts": list(r.missing_facts),
                "problems": list(r.problems),
            }
            for r in decision.results
        ],
        "flags": [
            {"code": f.code, "message": f.message, "source": f.source} for f in decision.flags
        ],
        "missing_facts": list(decision.missing_facts),
    }


def _computed_outcome(
    results: Iterable[RuleResult], flags: Sequence[ReviewFlag]
) -> EligibilityOutcome:
    """Any fail → ineligible; any gap or flag → needs review; else cleared."""
    outcomes = {r.outcome for r in results}
    if RuleOutcome.FAIL in outcomes:
        return EligibilityOutcome.INELIGIBLE
    if RuleOutcome.NOT_EVALUABLE in outcomes or flags:
        return EligibilityOutcome.NEEDS_REVIEW
    return EligibilityOutcome.CLEARED


def decide(
    rule_set: EligibilityRuleSet,
    facts: Mapping[str, object],
    *,
    flags: Sequence[ReviewFlag] = (),
) -> EligibilityDecision:
    """Apply every rule of ``rule_set`` to ``facts`` and decide.

    Parameters
    ----------
    rule_set : EligibilityRuleSet
        From :func:`load_eligibility_rules`.
    facts : mapping of str to value
        Fact name → value (see :mod:`exoneb.assessment.fact_catalog`); absent or
        ``None`` means not known. Facts no rule reads are ignored.
    flags : sequence of ReviewFlag, optional
        Findings outside the rules that need a physician (e.g. from
        :func:`exoneb.assessment.care.check_prescribed_care`); they turn a
        ``cleared`` outcome into ``needs_review`` and never into ``ineligible``.

    Returns
    -------
    EligibilityDecision
        ``ineligible`` if any rule fails; else ``needs_review`` if any rule is
        not evaluable or there is a flag; else ``cleared``.
    """
    results = tuple(evaluate_rule(rule, facts) for rule in rule_set.rules)
    return EligibilityDecision(
        rule_set_id=rule_set.id,
        rule_set_version=rule_set.version,
        computed_outcome=_computed_outcome(results, flags),
        results=results,
        flags=tuple(flags),
    )


_OVERRIDABLE: tuple[Literal["cleared", "ineligible"], ...] = ("cleared", "ineligible")


def override_decision(
    decision: EligibilityDecision,
    *,
    outcome: EligibilityOutcome | str,
    reason: str,
    by: str,
    at: datetime | None = None,
) -> EligibilityDecision:
    """Return the decision with a physician's override; the computed outcome is kept.

    Parameters
    ----------
    decision : EligibilityDecision
        The computed decision (not already overridden).
    outcome : EligibilityOutcome or str
        ``cleared`` or ``ineligible``: an override settles the question, so it
        cannot be "needs review"; and it must differ from the computed outcome.
    reason : str
        Why; required (an override without a reason cannot be audited).
    by : str
        Who overrides. Whether that user may (a physician) is checked by the
        service, not here.
    at : datetime, optional
        When.

    Raises
    ------
    AssessmentInputError
        For a missing reason or signer, an outcome other than cleared or
        ineligible, an override equal to the computed outcome, or a decision
        already overridden.
    """
    if decision.override is not None:
        raise AssessmentInputError(
            "override",
            decision.override.outcome.value,
            "no earlier override",
            "The decision is already overridden; record a new decision instead.",
        )
    if str(outcome) not in _OVERRIDABLE:
        raise AssessmentInputError("outcome", str(outcome), "cleared or ineligible")
    target = EligibilityOutcome(outcome)
    if target is decision.computed_outcome:
        raise AssessmentInputError(
            "outcome",
            target.value,
            f"an outcome other than the computed {target.value}",
            "An override must change the outcome.",
        )
    if not reason.strip():
        raise AssessmentInputError(
            "reason", reason, "a reason in words", "An override needs a reason."
        )
    if not by.strip():
        raise AssessmentInputError("by", by, "the overriding physician")
    return replace(
        decision, override=Override(outcome=target, reason=reason.strip(), by=by.strip(), at=at)
    )
