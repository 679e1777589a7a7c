"""Stopping rules: when a patient's course is held and when the cohort is paused.

Defaults are the [design default] candidate DLTs and stopping rules of
``reference/clinical.md`` §4.5, plus the airway rule of §4.2:

* ``related_grade3`` — any CTCAE grade ≥ 3 event possibly, probably or definitely related;
* ``allergic_reaction_grade2`` — allergic reaction grade ≥ 2;
* ``anaphylaxis`` — any anaphylaxis, whatever the causality;
* ``fev1_fall_20`` — an FEV1 fall ≥ 20 % (§4.2: "stop the course, hold further
  sessions"); a DLT candidate only while it is *unresolved*, i.e. not back to
  ≤ 10 % below baseline within 30 min after SABA (§4.2, §4.5);
* ``airway_fall_not_reversed`` — any fall not back to ≤ 10 % below baseline
  within 30 min after SABA (§4.2);
* ``hypoxia_grade2_new`` — CTCAE hypoxia grade ≥ 2 that is new versus baseline;
* ``fever_two_sessions`` — fever ≥ 38.0 °C within 24 h with no other cause, on 2 sessions;
* ``related_sae`` — any related serious event: holds the patient and pauses
  enrolment pending DMC review.

Every triggered rule holds the patient's course; which rules also pause the
cohort is a protocol parameter (default: only a related SAE, as §4.5 says).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from exoneb.monitoring.adverse_events import AdverseEvent, CtcaeTerm
from exoneb.monitoring.alerts import airway_falls
from exoneb.monitoring.citations import cited
from exoneb.monitoring.observations import Baseline, Observation, require_aware

__all__ = [
    "STOPPING_RULE_IDS",
    "AirwayReading",
    "SessionFever",
    "StopReason",
    "StoppingDecision",
    "StoppingFacts",
    "StoppingParameters",
    "airway_readings",
    "evaluate_stopping_rules",
]

_S45 = "clinical.md §4.5 [design default]"
_S42 = "clinical.md §4.2 [design default]"

STOPPING_RULE_IDS: tuple[str, ...] = (
    "related_grade3",
    "allergic_reaction_grade2",
    "anaphylaxis",
    "fev1_fall_20",
    "airway_fall_not_reversed",
    "hypoxia_grade2_new",
    "fever_two_sessions",
    "related_sae",
)


@dataclass(frozen=True, slots=True)
class StoppingParameters:
    """Stopping-rule thresholds; each field cites its source."""

    related_grade_min: int = cited(
        3, _S45 + ": any CTCAE G≥3 AE possibly/probably/definitely related"
    )
    allergic_grade_min: int = cited(2, _S45 + ": G≥2 allergic reaction or any anaphylaxis")
    fev1_stop_fall_pct: float = cited(20.0, _S42 + ": FEV1 fall ≥20 %: stop the course")
    fev1_recovered_fall_pct: float = cited(
        10.0, _S42 + ": a fall must return to ≤10 % below baseline within 30 min after SABA"
    )
    saba_recovery_min: int = cited(30, _S42 + " and §4.5: within 30 min after SABA")
    hypoxia_grade_min: int = cited(2, _S45 + ": CTCAE hypoxia G≥2 new versus baseline")
    fever_c: float = cited(38.0, _S45 + ": fever ≥38.0 °C within 24 h with no other cause")
    fever_sessions: int = cited(2, _S45 + ": … on 2 sessions")
    pause_cohort_rules: frozenset[str] = cited(
        frozenset({"related_sae"}), _S45 + ": any related SAE pauses enrolment pending DMC review"
    )

    def __post_init__(self) -> None:
        unknown = self.pause_cohort_rules - set(STOPPING_RULE_IDS)
        if unknown:
            raise ValueError(f"unknown stopping rules: {sorted(unknown)}")
        if not 0 < self.fev1_recovered_fall_pct < self.fev1_stop_fall_pct:
            raise ValueError("the recovery threshold must lie below the stop threshold")


@dataclass(frozen=True, slots=True)
class AirwayReading:
    """One FEV1 (or PEF) reading as a % fall from the same-day pre-dose value."""

    at: datetime
    fall_pct: float

    def __post_init__(self) -> None:
        require_aware(self.at, "at")


def airway_readings(
    observations: Sequence[Observation], baseline: Baseline
) -> tuple[AirwayReading, ...]:
    """The session's FEV1/PEF readings as :class:`AirwayReading` falls, for :class:`StoppingFacts`.

    Uses the same fall computation as the alert rules, so the two never disagree.
    """
    return tuple(AirwayReading(at, fall) for at, fall, _ in airway_falls(observations, baseline))


@dataclass(frozen=True, slots=True)
class SessionFever:
    """Highest temperature within 24 h of one session, and whether another cause explains it."""

    session_id: str
    max_temperature_c: float | None
    other_cause: bool = False


@dataclass(frozen=True, slots=True)
class StoppingFacts:
    """What the stopping rules look at for one patient.

    Attributes
    ----------
    adverse_events : sequence of AdverseEvent
        All the patient's events in the course.
    airway_readings : sequence of AirwayReading
        This session's FEV1/PEF falls, in any order.
    saba_given_at : datetime or None
        When rescue bronchodilator was given in this session.
    baseline_hypoxia_grade : int
        The CTCAE hypoxia grade the patient had before the course.
    fevers : sequence of SessionFever
        One entry per session of the course.
    """

    adverse_events: Sequence[AdverseEvent] = ()
    airway_readings: Sequence[AirwayReading] = ()
    saba_given_at: datetime | None = None
    baseline_hypoxia_grade: int = 0
    fevers: Sequence[SessionFever] = ()


@dataclass(frozen=True, slots=True)
class StopReason:
    """A triggered stopping rule, with the evidence and what it decides."""

    rule_id: str
    message: str
    pause_cohort: bool
    dlt_candidate: bool
    source: str


@dataclass(frozen=True, slots=True)
class StoppingDecision:
    """Hold the patient's course? Pause the cohort? And every reason why."""

    hold_patient: bool
    pause_cohort: bool
    reasons: tuple[StopReason, ...]
    pending: tuple[str, ...]  # rules that cannot be decided yet, with the time they will be


def _events(facts: StoppingFacts, p: StoppingParameters) -> list[tuple[str, str, bool, str]]:
    out: list[tuple[str, str, bool, str]] = []
    for ae in facts.adverse_events:
        label = ae.term.value.replace("_", " ")
        when = ae.onset_at.isoformat()
        if ae.related and ae.grade >= p.related_grade_min:
            out.append(
                (
                    "related_grade3",
                    f"Related grade {ae.grade} {label} ({ae.causality.value}) at {when}.",
                    True,
                    _S45,
                )
            )
        if ae.term is CtcaeTerm.ALLERGIC_REACTION and ae.grade >= p.allergic_grade_min:
            out.append(
                (
                    "allergic_reaction_grade2",
                    f"Allergic reaction grade {ae.grade} at {when}.",
                    True,
                    _S45,
                )
            )
        if ae.term is CtcaeTerm.ANAPHYLAXIS:
            out.append(("anaphylaxis", f"Anaphylaxis grade {ae.grade} at {when}.", True, _S45))
        if (
            ae.term is CtcaeTerm.HYPOXIA
            and ae.grade >= p.hypoxia_grade_min
            and ae.grade > facts.baseline_hypoxia_grade
        ):
            out.append(
                (
                    "hypoxia_grade2_new",
                    f"Hypoxia grade {ae.grade} at {when}, new versus baseline grade "
                    f"{facts.baseline_hypoxia_grade}.",
                    True,
                    _S45,
                )
            )
        if ae.related and ae.serious:
            out.append(
                (
                    "related_sae",
                    f"Related serious {label} ({ae.causality.value}) at {when}: DMC review needed.",
                    True,
                    _S45,
                )
            )
    return out


def _airway(
    facts: StoppingFacts, p: StoppingParameters, now: datetime
) -> tuple[list[tuple[str, str, bool, str]], list[str]]:
    readings = sorted(facts.airway_readings, key=lambda r: r.at)
    if not readings:
        return [], []
    out: list[tuple[str, str, bool, str]] = []
    pending: list[str] = []
    window = timedelta(minutes=p.saba_recovery_min)
    worst = max(readings, key=lambda r: r.fall_pct)
    first_big = next((r for r in readings if r.fall_pct >= p.fev1_stop_fall_pct), None)
    first_any = next((r for r in readings if r.fall_pct > p.fev1_recovered_fall_pct), None)

    def recovered_by(start: datetime) -> tuple[bool, datetime]:
        deadline = start + window
        ok = any(
            start < r.at <= deadline and r.fall_pct <= p.fev1_recovered_fall_pct for r in readings
        )
        return ok, deadline

    if first_big is not None:
        # The clock runs from SABA; if none was recorded, from the ≥ 20 % reading itself.
        # SABA given before the fall reached 20 % starts no earlier than that reading.
        start = first_big.at
        if facts.saba_given_at is not None:
            start = max(require_aware(facts.saba_given_at, "saba_given_at"), first_big.at)
        ok, deadline = recovered_by(start)
        target = f"{p.fev1_recovered_fall_pct:g} % below baseline"
        if ok:
            state = f"back to ≤ {target} by {deadline.isoformat()}"
            dlt = False
        elif now <= deadline:
            state = f"unresolved so far; recovery window ends {deadline.isoformat()}"
            dlt = False
            pending.append(f"fev1_fall_20: DLT status decided at {deadline.isoformat()}")
        else:
            state = f"not back to ≤ {target} by {deadline.isoformat()}"
            dlt = True
        out.append(
            (
                "fev1_fall_20",
                f"FEV1 fell {worst.fall_pct:.1f} % (≥ {p.fev1_stop_fall_pct:g} %) at "
                f"{first_big.at.isoformat()}; {state}.",
                dlt,
                _S42 + "; unresolved = DLT candidate (§4.5)",
            )
        )
    elif facts.saba_given_at is not None and first_any is not None:
        ok, deadline = recovered_by(require_aware(facts.saba_given_at, "saba_given_at"))
        if not ok and now > deadline:
            out.append(
                (
                    "airway_fall_not_reversed",
                    f"FEV1 fall of {worst.fall_pct:.1f} % not back to ≤ "
                    f"{p.fev1_recovered_fall_pct:g} % below baseline within "
                    f"{p.saba_recovery_min} min after SABA ({deadline.isoformat()}).",
                    False,
                    _S42,
                )
            )
        elif not ok:
            pending.append(
                f"airway_fall_not_reversed: decided at {deadline.isoformat()} unless FEV1 recovers"
            )
    return out, pending


def _fever(facts: StoppingFacts, p: StoppingParameters) -> list[tuple[str, str, bool, str]]:
    febrile = [
        f
        for f in facts.fevers
        if f.max_temperature_c is not None
        and f.max_temperature_c >= p.fever_c
        and not f.other_cause
    ]
    if len(febrile) < p.fever_sessions:
        return []
    ids = ", ".join(f.session_id for f in febrile)
    return [
        (
            "fever_two_sessions",
            f"Fever ≥ {p.fever_c:g} °C within 24 h with no other cause on {len(febrile)} sessions "
            f"({ids}).",
            True,
            _S45,
        )
    ]


def evaluate_stopping_rules(
    facts: StoppingFacts,
    now: datetime,
    params: StoppingParameters | None = None,
) -> StoppingDecision:
    """Decide whether to hold the patient's course and pause the cohort.

    Parameters
    ----------
    facts : StoppingFacts
        The patient's events, this session's airway readings, fevers per session.
    now : datetime
        Evaluation time: an FEV1 fall is only "unresolved" once its 30-minute
        recovery window has passed.
    params : StoppingParameters, optional
        Protocol values; the reference defaults when omitted.

    Returns
    -------
    StoppingDecision
        ``hold_patient`` when any rule triggered, ``pause_cohort`` when a
        triggered rule is in ``params.pause_cohort_rules``, one
        :class:`StopReason` per triggered rule and event, and the rules still
        waiting for their time window.
    """
    p = params or StoppingParameters()
    require_aware(now, "now")
    airway, pending = _airway(facts, p, now)
    found = _events(facts, p) + airway + _fever(facts, p)
    reasons = tuple(
        StopReason(rule_id, message, rule_id in p.pause_cohort_rules, dlt, source)
        for rule_id, message, dlt, source in sorted(
            found, key=lambda r: STOPPING_RULE_IDS.index(r[0])
        )
    )
    return StoppingDecision(
        hold_patient=bool(reasons),
        pause_cohort=any(r.pause_cohort for r in reasons),
        reasons=reasons,
        pending=tuple(pending),
    )
