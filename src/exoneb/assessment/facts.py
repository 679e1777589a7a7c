"""Turn assessment records into the facts the eligibility rules read.

The rule engine (:mod:`exoneb.assessment.eligibility`) takes a flat mapping of
fact name → value. These builders derive that mapping from the checked records
(vitals, scored spirometry, scales, the care check), so a fact such as
``post_bd_fev1_fvc_ratio`` always comes from the same computation and a value the
assessment did not measure is simply absent (→ the rules needing it are "not
evaluable", never passed).
"""

from __future__ import annotations

from collections.abc import Mapping

from exoneb.assessment.care import CareCheck
from exoneb.assessment.eligibility import FactValue
from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.reference_equations import ScoredValue
from exoneb.assessment.scales import CatScore, MmrcScore, SixMinuteWalk
from exoneb.assessment.spirometry_panel import SpirometryScores
from exoneb.assessment.vitals import Vitals

__all__ = ["care_facts", "merge_facts", "scale_facts", "spirometry_facts", "vitals_facts"]


def vitals_facts(vitals: Vitals) -> dict[str, FactValue]:
    """Facts from a set of vital signs (only the measured ones)."""
    out: dict[str, FactValue] = {}
    values: dict[str, float | None] = {
        "spo2_percent": vitals.spo2_percent,
        "heart_rate_bpm": vitals.heart_rate_bpm,
        "respiratory_rate_per_min": vitals.respiratory_rate_per_min,
        "systolic_bp_mmhg": vitals.systolic_bp_mmhg,
        "diastolic_bp_mmhg": vitals.diastolic_bp_mmhg,
        "temperature_c": vitals.temperature_c,
        "weight_kg": vitals.weight_kg,
        "bmi": vitals.bmi,
    }
    out.update({k: v for k, v in values.items() if v is not None})
    if vitals.inspired_oxygen is not None:
        out["on_supplemental_oxygen"] = vitals.inspired_oxygen.supplemental
    return out


def _scored(prefix: str, name: str, value: ScoredValue | None) -> dict[str, FactValue]:
    """Measured value, % predicted and z-score of one parameter."""
    if value is None:
        return {}
    measured_key = f"{prefix}{name}_ratio" if name == "fev1_fvc" else f"{prefix}{name}_l"
    out: dict[str, FactValue] = {measured_key: value.measured, f"{prefix}{name}_z": value.z}
    if name != "fev1_fvc":
        out[f"{prefix}{name}_percent_predicted"] = value.percent_predicted
    return out


def spirometry_facts(
    scores: SpirometryScores, *, post_bronchodilator: bool = False
) -> dict[str, FactValue]:
    """Facts from one scored spirometry test.

    Parameters
    ----------
    scores : SpirometryScores
        From :func:`~exoneb.assessment.spirometry_panel.score_spirometry`.
    post_bronchodilator : bool, optional
        Prefix the facts with ``post_bd_`` (the diagnosis rules read the
        post-bronchodilator values; the go/no-go rules the same-day pre-session ones).

    Returns
    -------
    dict
        ``fev1_l``, ``fev1_percent_predicted``, ``fev1_z``, the same for FVC,
        ``fev1_fvc_ratio`` and ``fev1_fvc_z`` — for each parameter measured.
    """
    prefix = "post_bd_" if post_bronchodilator else ""
    out: dict[str, FactValue] = {}
    out.update(_scored(prefix, "fev1", scores.fev1))
    out.update(_scored(prefix, "fvc", scores.fvc))
    out.update(_scored(prefix, "fev1_fvc", scores.fev1_fvc))
    return out


def scale_facts(
    *,
    cat: CatScore | None = None,
    mmrc: MmrcScore | None = None,
    walk: SixMinuteWalk | None = None,
) -> dict[str, FactValue]:
    """Facts from the scales that were recorded (CAT total, mMRC grade, 6MWD)."""
    out: dict[str, FactValue] = {}
    if cat is not None:
        out["cat_total"] = cat.total
    if mmrc is not None:
        out["mmrc_grade"] = mmrc.grade
    if walk is not None:
        out["six_minute_walk_m"] = walk.distance_m
    return out


def care_facts(check: CareCheck) -> dict[str, FactValue]:
    """The date prescribed care last changed (or ``"none"``), when it is known."""
    last = check.last_changed
    return {} if last is None else {"prescribed_care_last_changed": last}


def merge_facts(*parts: Mapping[str, FactValue]) -> dict[str, FactValue]:
    """Merge fact mappings; the same fact with two different values is refused.

    Raises
    ------
    AssessmentInputError
        If two parts give different values for one fact (which one the rules
        should read would otherwise depend on the order of the arguments).
    """
    out: dict[str, FactValue] = {}
    for part in parts:
        for name, value in part.items():
            if name in out and out[name] != value:
                raise AssessmentInputError(
                    name, value, f"the same value as already given ({out[name]!r})"
                )
            out[name] = value
    return out
