"""The 3+3 dose-escalation recommendation from the cohort table.

Textbook rules (``reference/clinical.md`` §4.5, tagged [unverified] there):

=================  ==========================================
DLTs at a level    action
=================  ==========================================
0/3                escalate to the next level
1/3                add 3 more subjects at the same level
≤ 1/6              escalate
≥ 2/3 or ≥ 2/6     the level exceeds the MTD
=================  ==========================================

"The MTD is the highest dose with ≤ 1/6 DLT." So when a level exceeds the
MTD, the level below is the MTD only if 6 subjects were treated there; if only
3 were, the usual 3+3 de-escalates to expand it to 6 first. When the first
level exceeds the MTD there is no MTD and the study stops. At the highest
level available, 0/3 is expanded to 6 and ≤ 1/6 declares the MTD there, as
the reference's definition demands 6 subjects.

This is a recommendation for the coordinator; the DMC and the protocol decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CohortLevel",
    "EscalationAction",
    "EscalationRecommendation",
    "recommend_3plus3",
]

_COHORT = 3
_FULL = 6
_SOURCE = "clinical.md §4.5 3+3 table [unverified]"


class EscalationAction(StrEnum):
    """What the 3+3 design recommends next."""

    ENROL = "enrol"  # finish the current cohort of 3 (or 6) before deciding
    ESCALATE = "escalate"  # open the next dose level
    EXPAND = "expand"  # add 3 subjects at this level (to 6)
    DE_ESCALATE = "de_escalate"  # expand the level below to 6
    MTD = "mtd"  # the maximum tolerated dose is determined
    STOP = "stop"  # even the lowest level exceeds the MTD: no MTD


@dataclass(frozen=True, slots=True)
class CohortLevel:
    """One dose level of the cohort table.

    Attributes
    ----------
    level : int
        Dose level number (1 = lowest), consecutive from 1.
    treated : int
        Subjects treated and evaluable for DLT at this level (0–6): a subject
        still in the DLT window, or awaiting the review of a DLT candidate, is
        not counted yet.
    dlts : int
        Subjects with a dose-limiting toxicity.
    """

    level: int
    treated: int
    dlts: int

    def __post_init__(self) -> None:
        if self.treated > _FULL:
            raise ValueError(
                f"level {self.level} has {self.treated} evaluable subjects, more than the 6 "
                "a 3+3 table covers, so the table gives no recommendation (the DMC decides)"
            )
        if not 0 <= self.dlts <= self.treated:
            raise ValueError(
                f"level {self.level}: need 0 ≤ DLTs ({self.dlts}) ≤ treated ({self.treated}) ≤ 6"
            )

    @property
    def exceeds_mtd(self) -> bool:
        """≥ 2 DLTs: ≥ 2/3 or ≥ 2/6 (also reached early, e.g. 2 of the first 2)."""
        return self.dlts >= 2

    def label(self) -> str:
        """E.g. ``"level 2: 1/6 DLT"``."""
        return f"level {self.level}: {self.dlts}/{self.treated} DLT"


@dataclass(frozen=True, slots=True)
class EscalationRecommendation:
    """The recommendation, the level it concerns, the MTD if known, and why."""

    action: EscalationAction
    level: int | None  # the level to enrol at next (None when the study stops or the MTD is set)
    mtd_level: int | None
    reason: str
    source: str = _SOURCE


def _at_level(cohort: CohortLevel, top: int) -> EscalationRecommendation:
    """Decide at the current level, which does not exceed the MTD (≤ 1 DLT)."""
    n, d, lvl = cohort.treated, cohort.dlts, cohort.level
    if n < _COHORT or _COHORT < n < _FULL:
        target = _COHORT if n < _COHORT else _FULL
        return EscalationRecommendation(
            EscalationAction.ENROL,
            lvl,
            None,
            f"{cohort.label()}: {target - n} more evaluable subject(s) needed before deciding.",
        )
    if n == _COHORT and d == 1:
        return EscalationRecommendation(
            EscalationAction.EXPAND, lvl, None, f"{cohort.label()}: add 3 more at the same dose."
        )
    if lvl == top:
        if n == _COHORT:
            return EscalationRecommendation(
                EscalationAction.EXPAND,
                lvl,
                None,
                f"{cohort.label()} at the highest level: expand to 6 to confirm it as the MTD.",
            )
        return EscalationRecommendation(
            EscalationAction.MTD,
            None,
            lvl,
            f"{cohort.label()} at the highest level: ≤ 1/6 DLT, the MTD is level {lvl} "
            "(the highest dose studied).",
        )
    return EscalationRecommendation(
        EscalationAction.ESCALATE, lvl + 1, None, f"{cohort.label()}: escalate to level {lvl + 1}."
    )


def recommend_3plus3(levels: Sequence[CohortLevel]) -> EscalationRecommendation:
    """Recommend the next step of a 3+3 dose escalation.

    Parameters
    ----------
    levels : sequence of CohortLevel
        Every dose level of the protocol, consecutive from 1 (levels not yet
        reached have 0 treated).

    Returns
    -------
    EscalationRecommendation

    Raises
    ------
    ValueError
        When levels are not consecutive from 1, or a higher level has subjects
        while a lower one never completed a cohort of 3 (a table 3+3 cannot
        produce, so the recommendation would be meaningless).
    """
    table = sorted(levels, key=lambda c: c.level)
    if not table or [c.level for c in table] != list(range(1, len(table) + 1)):
        raise ValueError("dose levels must be numbered consecutively from 1")
    treated = [c for c in table if c.treated > 0]
    for lower, upper in itertools.pairwise(table):
        if upper.treated > 0 and lower.treated < _COHORT:
            raise ValueError(
                f"level {upper.level} has subjects but level {lower.level} has fewer than 3"
            )
    if not treated:
        return EscalationRecommendation(
            EscalationAction.ENROL, 1, None, "No subject evaluable for DLT yet: level 1."
        )
    exceeded = next((c for c in table if c.exceeds_mtd), None)
    if exceeded is None:
        return _at_level(treated[-1], top=table[-1].level)
    if exceeded.level == 1:
        return EscalationRecommendation(
            EscalationAction.STOP,
            None,
            None,
            f"{exceeded.label()} exceeds the MTD at the lowest level: stop; no MTD.",
        )
    below = table[exceeded.level - 2]
    if below.treated == _FULL:
        return EscalationRecommendation(
            EscalationAction.MTD,
            None,
            below.level,
            f"{exceeded.label()} exceeds the MTD; {below.label()} ≤ 1/6: the MTD is level "
            f"{below.level}.",
        )
    if below.treated == _COHORT and below.dlts == 0:
        return EscalationRecommendation(
            EscalationAction.DE_ESCALATE,
            below.level,
            None,
            f"{exceeded.label()} exceeds the MTD; {below.label()} has only 3 subjects: "
            f"expand level {below.level} to 6 to confirm the MTD.",
        )
    # The level below is mid-cohort: 1/3 awaiting expansion, or 4–5 of 6 treated.
    rec = _at_level(below, top=table[-1].level)
    return EscalationRecommendation(
        rec.action, below.level, None, f"{exceeded.label()} exceeds the MTD; {rec.reason}"
    )
