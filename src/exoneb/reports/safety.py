"""The protocol safety overview for coordinators: sessions, outcomes, and each step's safety data.

Built from the protocol's sessions at the coordinator's site. Sessions by dose
level and state, and eligibility outcomes by dose level, come from records
that exist today; adverse events (by term, grade and dose level), alerts and
stopping-rule events, the dose-escalation table and the lots used are
sections that each step contributes when its records are available to
reports (:func:`register_safety_section`) — until then they say "not
recorded", so nobody mistakes a missing section for "no adverse events".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from exoneb.assessment import service as assessment
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.reports.document import (
    Column,
    Item,
    PlotSpec,
    Report,
    Section,
    Series,
    Table,
    not_recorded,
)
from exoneb.reports.session_report import DISCLAIMER
from exoneb.sessions.models import TherapySession

GIVEN_STATES = frozenset({"inhaling", "monitoring", "discharged"})
"""States that mean the investigational product was (being) given."""

SAFETY_KEYS: tuple[tuple[str, str], ...] = (
    ("adverse_events", "Adverse events by term, grade and dose level"),
    ("alerts", "Alerts and stopping-rule events"),
    ("escalation", "Dose-escalation table"),
    ("lots", "Lots used"),
)

SafetySection = Callable[[Ctx, Settings, Any, Sequence[TherapySession]], Section]
_BUILDERS: dict[str, SafetySection] = {}


def register_safety_section(key: str, builder: SafetySection) -> None:
    """Let a step fill one of :data:`SAFETY_KEYS` when its records are available."""
    if key not in dict(SAFETY_KEYS):
        raise ValueError(f"Unknown safety section {key!r}.")
    _BUILDERS[key] = builder


def _arms(protocol: Any, found: Sequence[TherapySession]) -> list[str]:
    codes = [a.code for a in protocol.arms]
    return codes + sorted({s.arm_code for s in found} - set(codes))


def build(ctx: Ctx, settings: Settings, protocol: Any, found: Sequence[TherapySession]) -> Report:
    """The overview's content (no permission check, no audit: the service does both)."""
    arms = _arms(protocol, found)
    by_arm_state = Counter((s.arm_code, s.state) for s in found)
    states = sorted({s.state for s in found})
    given = Counter(s.arm_code for s in found if s.state in GIVEN_STATES)
    planned = Counter(s.arm_code for s in found)
    outcomes: Counter[tuple[str, str]] = Counter()
    for s in found:
        a = assessment.current(ctx=ctx, session_id=s.id)
        outcome = "no assessment" if a is None else (a.outcome or f"{a.status}, undecided")
        outcomes[(s.arm_code, outcome)] += 1
    outcome_names = sorted({o for _, o in outcomes})
    sessions_section = Section(
        key="sessions", title="Sessions by dose level", recorded=True,
        items=(Item("Protocol", f"{protocol.id} v{protocol.version}"),
               Item("Title", protocol.title), Item("Sessions", len(found)),
               Item("Sessions given (inhaling, monitoring or discharged)", sum(given.values()))),
        plots=(PlotSpec("sessions_by_arm", "Sessions by dose level", "Dose level", "Sessions",
                        "", (Series("Planned or later", tuple(arms),
                                    tuple(float(planned[a]) for a in arms)),
                             Series("Given", tuple(arms), tuple(float(given[a]) for a in arms))),
                        kind="bar",
                        alt="Bar chart of the number of sessions per dose level: all sessions "
                            "and those in which the product was given."),),
        tables=(Table("Sessions by dose level and state",
                      (Column("Dose level"), *(Column(st) for st in states)),
                      tuple((a, *(by_arm_state[(a, st)] for st in states)) for a in arms)),
                Table("Eligibility outcomes by dose level",
                      (Column("Dose level"), *(Column(o) for o in outcome_names)),
                      tuple((a, *(outcomes[(a, o)] for o in outcome_names)) for a in arms))),
    )  # fmt: skip
    sections = [sessions_section]
    for key, title in SAFETY_KEYS:
        builder = _BUILDERS.get(key)
        sections.append(
            builder(ctx, settings, protocol, found)
            if builder
            else not_recorded(
                key, title, "No record of this kind is available to reports in this version."
            )
        )
    return Report(kind="safety", title=f"Safety overview — {protocol.id} v{protocol.version}",
                  subject=f"{protocol.title}; {len(found)} session(s) at this site",
                  sections=tuple(sections), disclaimer=DISCLAIMER,
                  record_refs={"protocol_id": protocol.id})  # fmt: skip
