"""Alert rules on the post-inhalation observations: SpO2, heart rate and airway (FEV1/PEF).

Defaults (``reference/clinical.md`` §4.2–4.3, [design default] unless noted):

==========================  ==============================================  ========
rule id                     condition                                        severity
==========================  ==============================================  ========
``spo2_fall``               SpO2 ≥ 4 points below baseline, sustained        warning
``spo2_low``                SpO2 < 90 % (< 88 % hypercapnic risk), sustained warning
``spo2_critical``           SpO2 < 85 %, sustained                           stop
``heart_rate_high``         HR > 130/min                                     warning
``heart_rate_rise``         HR > baseline + 20 %                             warning
``airway_reactivity``       FEV1 fall ≥ 10 % with symptoms, ≥ 15 % without   warning
``airway_fall_stop``        FEV1 fall ≥ 20 %                                 stop
==========================  ==============================================  ========

*Sustained* means the condition has held on every good-signal sample from its
first sample (the onset) over at least the set duration; a manual reading is a
staff-confirmed spot check and counts as sustained on its own (otherwise a
single hand-entered SpO2 of 84 % would never alert). Samples with a poor
signal, or without the measure, neither start, extend nor break a run.

Each rule is written once, as a vectorised condition over NumPy columns; the
batch evaluation (:func:`evaluate_alerts`) applies it to the whole series and
the incremental tracker (:func:`step`) applies the same function to one new
observation, so both always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from exoneb.monitoring.adverse_events import CtcaeTerm
from exoneb.monitoring.citations import NOT_IN_REFERENCE, cited, sources_of
from exoneb.monitoring.observations import Baseline, Observation, ObservationSource

__all__ = [
    "MEASURE_LABELS",
    "RULE_IDS",
    "Alert",
    "AlertAdvance",
    "AlertEvaluation",
    "AlertEvent",
    "AlertEventKind",
    "AlertParameters",
    "AlertTracker",
    "Severity",
    "advance",
    "airway_falls",
    "evaluate_alerts",
    "step",
    "tracker_from_state",
    "tracker_state",
]

_S42 = "clinical.md §4.2 [design default]"
_S43 = "clinical.md §4.3 [design default]"
_EPS = 1e-9  # floating-point noise, so 95 − 91 counts as a 4-point fall
_US = timedelta(microseconds=1)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class Severity(StrEnum):
    """What an alert asks staff to do."""

    WARNING = "warning"  # assess now; pause or act per protocol
    STOP = "stop"  # stop the session / course and escalate to the physician


@dataclass(frozen=True, slots=True)
class AlertParameters:
    """Alert thresholds; each field cites its source (see :func:`sources_of`)."""

    spo2_fall_points: float = cited(
        4.0, _S43 + ": SpO2 falls ≥4 points from baseline (desaturation ≥4, Folia Med [source])"
    )
    spo2_floor_pct: float = cited(90.0, _S43 + ": below 90 %")
    spo2_floor_hypercapnia_pct: float = cited(
        88.0,
        _S43 + ": below 88 % for the hypercapnic-risk group (BTS 2017 target 88–92 % [source])",
    )
    spo2_critical_pct: float = cited(85.0, _S43 + ": stop and escalate if SpO2 < 85 %")
    spo2_sustain_s: float = cited(
        30.0, _S43 + ": 'for >30–60 s with a good signal'; the lower bound, as elapsed ≥ 30 s"
    )
    heart_rate_max_per_min: float = cited(130.0, _S43 + ": HR above 130/min")
    heart_rate_rise_fraction: float = cited(0.20, _S43 + ": HR rises >20 % (strictly above)")
    heart_rate_sustain_s: float = cited(
        0.0, NOT_IN_REFERENCE + ": the reference gives no duration for HR, so none is required"
    )
    airway_fall_symptomatic_pct: float = cited(
        10.0, _S42 + ": FEV1 fall ≥10 % with symptoms = airway reactivity"
    )
    airway_fall_asymptomatic_pct: float = cited(
        15.0, _S42 + ": FEV1 fall ≥15 % without symptoms = airway reactivity"
    )
    airway_fall_stop_pct: float = cited(20.0, _S42 + ": FEV1 fall ≥20 %: stop the course")

    def __post_init__(self) -> None:
        if min(self.spo2_sustain_s, self.heart_rate_sustain_s) < 0:
            raise ValueError("sustain durations cannot be negative")
        if not (
            0
            < self.airway_fall_symptomatic_pct
            <= self.airway_fall_asymptomatic_pct
            <= self.airway_fall_stop_pct
            < 100
        ):
            raise ValueError("airway thresholds must satisfy 0 < symptomatic ≤ asymptomatic ≤ stop")
        if self.heart_rate_rise_fraction <= 0 or self.spo2_fall_points <= 0:
            raise ValueError("rise and fall thresholds must be positive")


@dataclass(frozen=True, slots=True)
class _Columns:
    """Observations as NumPy columns; NaN where a measure is missing or its signal poor."""

    t_us: NDArray[np.int64]  # microseconds since the first observation
    manual: BoolArray
    spo2: FloatArray
    hr: FloatArray
    fev1: FloatArray
    pef: FloatArray
    symptoms: FloatArray  # 1 yes, 0 no, NaN not asked


def _columns(obs: Sequence[Observation]) -> _Columns:
    t0 = obs[0].at if obs else None

    def col(name: str) -> FloatArray:
        return np.array(
            [getattr(o, name) if o.has(name) else np.nan for o in obs], dtype=np.float64
        )

    return _Columns(
        t_us=np.array([(o.at - t0) // _US for o in obs] if t0 else [], dtype=np.int64),
        manual=np.array([o.source is ObservationSource.MANUAL for o in obs], dtype=np.bool_),
        spo2=col("spo2_pct"),
        hr=col("heart_rate_per_min"),
        fev1=col("fev1_l"),
        pef=col("pef_l_per_min"),
        symptoms=np.array(
            [
                np.nan if o.respiratory_symptoms is None else float(o.respiratory_symptoms)
                for o in obs
            ],
            dtype=np.float64,
        ),
    )


@dataclass(frozen=True, slots=True)
class _Condition:
    observed: BoolArray  # the rule could be judged on this sample
    met: BoolArray  # the condition holds (only meaningful where observed)
    value: FloatArray  # the value reported (SpO2, HR or % fall)
    used_pef: BoolArray  # airway rules: the fall was computed from PEF


def _airway_fall(c: _Columns, b: Baseline) -> tuple[FloatArray, BoolArray]:
    """% fall from the same-day pre-dose value; FEV1 when possible, else PEF (§4.2)."""
    n = len(c.t_us)
    fev1_fall = (b.fev1_l - c.fev1) / b.fev1_l * 100.0 if b.fev1_l else np.full(n, np.nan)
    pef_fall = (
        (b.pef_l_per_min - c.pef) / b.pef_l_per_min * 100.0
        if b.pef_l_per_min
        else np.full(n, np.nan)
    )
    use_pef = np.isnan(fev1_fall) & ~np.isnan(pef_fall)
    return np.where(use_pef, pef_fall, fev1_fall), use_pef


def _cond(value: FloatArray, met: BoolArray, used_pef: BoolArray | None = None) -> _Condition:
    observed = ~np.isnan(value)
    return _Condition(
        observed,
        met & observed,
        value,
        used_pef if used_pef is not None else np.zeros(len(value), dtype=np.bool_),
    )


def _spo2_floor(b: Baseline, p: AlertParameters) -> float:
    return p.spo2_floor_hypercapnia_pct if b.hypercapnia_risk else p.spo2_floor_pct


@dataclass(frozen=True, slots=True)
class _Rule:
    rule_id: str
    title: str
    severity: Severity
    measure: str
    unit: str
    comparison: str  # how the value is compared with the threshold, for the message
    worst_is_max: bool
    suggested_term: CtcaeTerm | None
    action: str
    param_fields: tuple[str, ...]
    missing_baseline: Callable[[Baseline], str | None]
    threshold: Callable[[Baseline, AlertParameters], float]
    sustain_s: Callable[[AlertParameters], float]
    condition: Callable[[_Columns, Baseline, AlertParameters], _Condition]


def _needs(attr: str, label: str) -> Callable[[Baseline], str | None]:
    def check(b: Baseline) -> str | None:
        return None if getattr(b, attr) is not None else f"No baseline {label} recorded."

    return check


def _always(_baseline: Baseline) -> str | None:
    return None


def _needs_airway(b: Baseline) -> str | None:
    if b.fev1_l is None and b.pef_l_per_min is None:
        return "No pre-dose FEV1 or PEF recorded."
    return None


_SPO2_ACTION = (
    "Check the probe and the patient; pause per protocol; resume only if recovered within 5 min."
)
_AIRWAY_ACTION = (
    "Record CTCAE bronchospasm with its grade, repeat spirometry in 15 min and apply the "
    "protocol rescue (SABA)."
)
_STOP_ACTION = "Stop the course, hold further sessions and escalate to the physician."


def _airway_reactivity(c: _Columns, b: Baseline, p: AlertParameters) -> _Condition:
    fall, used_pef = _airway_fall(c, b)
    # Symptoms not recorded (NaN) count as present: missing data must not raise the threshold.
    symptomatic = c.symptoms != 0.0
    met = (fall >= p.airway_fall_asymptomatic_pct - _EPS) | (
        symptomatic & (fall >= p.airway_fall_symptomatic_pct - _EPS)
    )
    return _cond(fall, met, used_pef)


def _airway_stop(c: _Columns, b: Baseline, p: AlertParameters) -> _Condition:
    fall, used_pef = _airway_fall(c, b)
    return _cond(fall, fall >= p.airway_fall_stop_pct - _EPS, used_pef)


_SPO2_SUSTAIN: Callable[[AlertParameters], float] = lambda p: p.spo2_sustain_s  # noqa: E731
_HR_SUSTAIN: Callable[[AlertParameters], float] = lambda p: p.heart_rate_sustain_s  # noqa: E731
_NO_SUSTAIN: Callable[[AlertParameters], float] = lambda p: 0.0  # noqa: E731
_HR_ACTION = "Assess the patient (SABA rescue can cause tachycardia); pause per protocol."

_RULES: tuple[_Rule, ...] = (
    _Rule(
        rule_id="spo2_fall",
        title="SpO2 fall from baseline",
        severity=Severity.WARNING,
        measure="spo2_pct",
        unit="%",
        comparison="≤",
        worst_is_max=False,
        suggested_term=CtcaeTerm.HYPOXIA,
        action=_SPO2_ACTION,
        param_fields=("spo2_fall_points", "spo2_sustain_s"),
        missing_baseline=_needs("spo2_pct", "SpO2"),
        threshold=lambda b, p: float(b.spo2_pct or 0.0) - p.spo2_fall_points,
        sustain_s=_SPO2_SUSTAIN,
        condition=lambda c, b, p: _cond(
            c.spo2, (float(b.spo2_pct or 0.0) - c.spo2) >= p.spo2_fall_points - _EPS
        ),
    ),
    _Rule(
        rule_id="spo2_low",
        title="SpO2 below floor",
        severity=Severity.WARNING,
        measure="spo2_pct",
        unit="%",
        comparison="<",
        worst_is_max=False,
        suggested_term=CtcaeTerm.HYPOXIA,
        action=_SPO2_ACTION,
        param_fields=("spo2_floor_pct", "spo2_floor_hypercapnia_pct", "spo2_sustain_s"),
        missing_baseline=_always,
        threshold=_spo2_floor,
        sustain_s=_SPO2_SUSTAIN,
        condition=lambda c, b, p: _cond(c.spo2, c.spo2 < _spo2_floor(b, p)),
    ),
    _Rule(
        rule_id="spo2_critical",
        title="SpO2 critically low",
        severity=Severity.STOP,
        measure="spo2_pct",
        unit="%",
        comparison="<",
        worst_is_max=False,
        suggested_term=CtcaeTerm.HYPOXIA,
        action="Stop the session and escalate to the physician.",
        param_fields=("spo2_critical_pct", "spo2_sustain_s"),
        missing_baseline=_always,
        threshold=lambda b, p: p.spo2_critical_pct,
        sustain_s=_SPO2_SUSTAIN,
        condition=lambda c, b, p: _cond(c.spo2, c.spo2 < p.spo2_critical_pct),
    ),
    _Rule(
        rule_id="heart_rate_high",
        title="Heart rate high",
        severity=Severity.WARNING,
        measure="heart_rate_per_min",
        unit="/min",
        comparison=">",
        worst_is_max=True,
        suggested_term=None,  # sinus tachycardia is not among the graded terms of §4.1
        action=_HR_ACTION,
        param_fields=("heart_rate_max_per_min", "heart_rate_sustain_s"),
        missing_baseline=_always,
        threshold=lambda b, p: p.heart_rate_max_per_min,
        sustain_s=_HR_SUSTAIN,
        condition=lambda c, b, p: _cond(c.hr, c.hr > p.heart_rate_max_per_min),
    ),
    _Rule(
        rule_id="heart_rate_rise",
        title="Heart rate rise from baseline",
        severity=Severity.WARNING,
        measure="heart_rate_per_min",
        unit="/min",
        comparison=">",
        worst_is_max=True,
        suggested_term=None,
        action=_HR_ACTION,
        param_fields=("heart_rate_rise_fraction", "heart_rate_sustain_s"),
        missing_baseline=_needs("heart_rate_per_min", "heart rate"),
        threshold=lambda b, p: (
            float(b.heart_rate_per_min or 0.0) * (1.0 + p.heart_rate_rise_fraction)
        ),
        sustain_s=_HR_SUSTAIN,
        condition=lambda c, b, p: _cond(
            c.hr,
            c.hr > float(b.heart_rate_per_min or 0.0) * (1.0 + p.heart_rate_rise_fraction) + _EPS,
        ),
    ),
    _Rule(
        rule_id="airway_reactivity",
        title="Airway reactivity (FEV1/PEF fall)",
        severity=Severity.WARNING,
        measure="fall_pct",
        unit="%",
        comparison="≥",
        worst_is_max=True,
        suggested_term=CtcaeTerm.BRONCHOSPASM,
        action=_AIRWAY_ACTION,
        param_fields=("airway_fall_symptomatic_pct", "airway_fall_asymptomatic_pct"),
        missing_baseline=_needs_airway,
        # Reported threshold: the symptomatic one, which applies unless symptoms are denied.
        threshold=lambda b, p: p.airway_fall_symptomatic_pct,
        sustain_s=_NO_SUSTAIN,
        condition=_airway_reactivity,
    ),
    _Rule(
        rule_id="airway_fall_stop",
        title="FEV1/PEF fall: stop the course",
        severity=Severity.STOP,
        measure="fall_pct",
        unit="%",
        comparison="≥",
        worst_is_max=True,
        suggested_term=CtcaeTerm.BRONCHOSPASM,
        action=_STOP_ACTION,
        param_fields=("airway_fall_stop_pct",),
        missing_baseline=_needs_airway,
        threshold=lambda b, p: p.airway_fall_stop_pct,
        sustain_s=_NO_SUSTAIN,
        condition=_airway_stop,
    ),
)


def airway_falls(
    observations: Sequence[Observation], baseline: Baseline
) -> tuple[tuple[datetime, float, str], ...]:
    """Every FEV1 (or, failing that, PEF) reading as a % fall from the pre-dose value.

    The one place the fall is computed, shared by the alert rules and the
    stopping rules (:func:`exoneb.monitoring.stopping.airway_readings`).

    Parameters
    ----------
    observations : sequence of Observation
        The session's observations, in any order.
    baseline : Baseline
        Same-day pre-dose FEV1 and/or PEF.

    Returns
    -------
    tuple of (datetime, float, str)
        Time, % fall (negative for a rise) and ``"fev1"`` or ``"pef"``, in time
        order; observations without a usable reading are left out.
    """
    obs = sorted(observations, key=lambda o: o.at)
    if not obs:
        return ()
    fall, used_pef = _airway_fall(_columns(obs), baseline)
    return tuple(
        (o.at, float(f), "pef" if pef else "fev1")
        for o, f, pef in zip(obs, fall, used_pef, strict=True)
        if not np.isnan(f)
    )


RULE_IDS: tuple[str, ...] = tuple(r.rule_id for r in _RULES)
"""Every alert rule, in evaluation order."""

_BY_ID: Mapping[str, _Rule] = MappingProxyType({r.rule_id: r for r in _RULES})


@dataclass(frozen=True, slots=True)
class Alert:
    """An explainable alert: which rule, on what values, since when.

    Attributes
    ----------
    rule_id, title : str
        The rule and its human name.
    severity : Severity
        Warning (assess, pause, act) or stop.
    onset_at : datetime
        First sample on which the condition held.
    raised_at : datetime
        When the sustained-duration requirement was met (the alert time).
    last_at : datetime
        Latest sample on which the condition held.
    ongoing : bool
        The condition still held on the latest sample that could judge it.
    measure, unit : str
        What ``first_value`` / ``worst_value`` are (e.g. ``"spo2_pct"``, ``"%"``;
        ``"fev1_fall_pct"`` or ``"pef_fall_pct"`` for the airway rules).
    first_value, worst_value : float
        The value at onset and the worst value over the run.
    baseline_value : float or None
        The baseline used, when the rule uses one.
    threshold : float
        The threshold, compared with ``comparison``.
    comparison : str
        ``"<"``, ``"≤"``, ``">"`` or ``"≥"``.
    sustained_s, required_s : float
        How long the condition has held, and how long it had to.
    suggested_term : CtcaeTerm or None
        The adverse event this alert suggests recording (FEV1 fall → bronchospasm).
    action : str
        What the protocol asks staff to do.
    sources : Mapping[str, str]
        The parameters used and their citations.
    """

    rule_id: str
    title: str
    severity: Severity
    onset_at: datetime
    raised_at: datetime
    last_at: datetime
    ongoing: bool
    measure: str
    unit: str
    first_value: float
    worst_value: float
    baseline_value: float | None
    threshold: float
    comparison: str
    sustained_s: float
    required_s: float
    suggested_term: CtcaeTerm | None
    action: str
    sources: Mapping[str, str] = field(compare=False, repr=False)

    @property
    def message(self) -> str:
        """One sentence for the staff screen and the audit row, in the words staff use."""
        base = "" if self.baseline_value is None else f", baseline {self.baseline_value:g}"
        held = f" for {self.sustained_s:g} s" if self.required_s > 0 else ""
        what = MEASURE_LABELS.get(self.measure, self.measure)
        return (
            f"{self.title}: {what} {self.worst_value:.4g} {self.unit} "
            f"({self.comparison} {self.threshold:.4g}{base}) since "
            f"{self.onset_at:%Y-%m-%d %H:%M:%S} UTC{held}."
        )


MEASURE_LABELS: Mapping[str, str] = {
    "spo2_pct": "SpO2",
    "heart_rate_per_min": "heart rate",
    "fev1_fall_pct": "FEV1 fall",
    "pef_fall_pct": "PEF fall",
}
"""The measure codes an alert stores, as a clinician reads them in its message."""


@dataclass(frozen=True, slots=True)
class AlertEvaluation:
    """Result of evaluating a series: the alerts, and the rules that could not be judged."""

    alerts: tuple[Alert, ...]
    not_evaluated: tuple[tuple[str, str], ...]  # (rule id, why)


@dataclass(frozen=True, slots=True)
class _Run:
    onset_at: datetime
    last_at: datetime
    first_value: float
    worst_value: float
    worst_used_pef: bool
    any_manual: bool
    raised_at: datetime | None


def _alert(rule: _Rule, run: _Run, b: Baseline, p: AlertParameters, ongoing: bool) -> Alert:
    assert run.raised_at is not None
    measure = rule.measure
    if measure == "fall_pct":
        measure = "pef_fall_pct" if run.worst_used_pef else "fev1_fall_pct"
        baseline = b.pef_l_per_min if run.worst_used_pef else b.fev1_l
    elif rule.missing_baseline is _always:
        baseline = None
    else:
        baseline = getattr(b, rule.measure)
    cites = sources_of(p)
    return Alert(
        rule_id=rule.rule_id,
        title=rule.title,
        severity=rule.severity,
        onset_at=run.onset_at,
        raised_at=run.raised_at,
        last_at=run.last_at,
        ongoing=ongoing,
        measure=measure,
        unit=rule.unit,
        first_value=run.first_value,
        worst_value=run.worst_value,
        baseline_value=baseline,
        threshold=rule.threshold(b, p),
        comparison=rule.comparison,
        sustained_s=(run.last_at - run.onset_at).total_seconds(),
        required_s=rule.sustain_s(p),
        suggested_term=rule.suggested_term,
        action=rule.action,
        sources=MappingProxyType({f: cites[f] for f in rule.param_fields}),
    )


def _not_evaluated(b: Baseline) -> tuple[tuple[str, str], ...]:
    return tuple((r.rule_id, why) for r in _RULES if (why := r.missing_baseline(b)) is not None)


def evaluate_alerts(
    observations: Sequence[Observation],
    baseline: Baseline,
    params: AlertParameters | None = None,
) -> AlertEvaluation:
    """Evaluate every alert rule over a series of observations.

    Parameters
    ----------
    observations : sequence of Observation
        The session's observations. They are sorted by time first (stably), so
        the result does not depend on the order they arrived in.
    baseline : Baseline
        The pre-session values.
    params : AlertParameters, optional
        Protocol thresholds; the reference defaults when omitted.

    Returns
    -------
    AlertEvaluation
        One :class:`Alert` per run of the condition that met its duration
        (ordered by raise time, then rule), and the rules that could not be
        evaluated for want of a baseline.
    """
    advanced = advance(AlertTracker(), observations, baseline, params)
    return AlertEvaluation(advanced.alerts, _not_evaluated(baseline))


class AlertEventKind(StrEnum):
    """What a new observation did to an alert."""

    RAISED = "raised"  # the condition has now held long enough
    EXTENDED = "extended"  # a raised alert's condition still holds
    ENDED = "ended"  # a raised alert's condition no longer holds


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert and what the latest observation did to it."""

    kind: AlertEventKind
    alert: Alert


@dataclass(frozen=True, slots=True)
class AlertTracker:
    """Incremental state: the open run of each rule and the latest time seen.

    Immutable; :func:`advance` and :func:`step` return a new tracker. Stored
    with the session (:func:`tracker_state` / :func:`tracker_from_state`), it
    answers "what do these new observations do to the alerts?" from the new
    observations alone, without re-reading the series before them.
    """

    last_at: datetime | None = None
    runs: Mapping[str, _Run] = field(default_factory=lambda: MappingProxyType({}))

    def raised_onsets(self) -> dict[str, datetime]:
        """The onset of each rule's open run that has been raised (an alert exists for it)."""
        return {rid: r.onset_at for rid, r in self.runs.items() if r.raised_at is not None}


@dataclass(frozen=True, slots=True)
class AlertAdvance:
    """What new observations did: the tracker after them, and every alert they touched."""

    tracker: AlertTracker
    alerts: tuple[Alert, ...]  # raised, extended or ended by the new observations


def tracker_state(tracker: AlertTracker) -> dict[str, Any]:
    """The tracker as plain JSON values (ISO times), to store with the session."""

    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat()

    return {
        "last_at": iso(tracker.last_at),
        "runs": {
            rid: {
                "onset_at": iso(r.onset_at),
                "last_at": iso(r.last_at),
                "first_value": r.first_value,
                "worst_value": r.worst_value,
                "worst_used_pef": r.worst_used_pef,
                "any_manual": r.any_manual,
                "raised_at": iso(r.raised_at),
            }
            for rid, r in tracker.runs.items()
        },
    }


def tracker_from_state(state: Mapping[str, Any]) -> AlertTracker:
    """The tracker :func:`tracker_state` stored; refuses a rule this version does not know."""

    def when(v: str | None) -> datetime | None:
        return None if v is None else datetime.fromisoformat(v)

    runs = {}
    for rid, r in state["runs"].items():
        if rid not in _BY_ID:
            raise ValueError(f"unknown alert rule {rid!r} in a stored tracker")
        runs[rid] = _Run(
            onset_at=datetime.fromisoformat(r["onset_at"]),
            last_at=datetime.fromisoformat(r["last_at"]),
            first_value=float(r["first_value"]),
            worst_value=float(r["worst_value"]), worst_used_pef=bool(r["worst_used_pef"]),
            any_manual=bool(r["any_manual"]), raised_at=when(r["raised_at"]),
        )  # fmt: skip
    return AlertTracker(when(state["last_at"]), MappingProxyType(runs))


def _continued(rule: _Rule, prior: _Run, run: _Run) -> _Run:
    """``run`` (starting at the first new sample) as the continuation of ``prior``."""
    worse = (
        run.worst_value > prior.worst_value
        if rule.worst_is_max
        else run.worst_value < prior.worst_value
    )
    return _Run(
        onset_at=prior.onset_at,
        last_at=run.last_at,
        first_value=prior.first_value,
        worst_value=run.worst_value if worse else prior.worst_value,
        worst_used_pef=run.worst_used_pef if worse else prior.worst_used_pef,
        any_manual=prior.any_manual or run.any_manual,
        raised_at=prior.raised_at if prior.raised_at is not None else run.raised_at,
    )


def advance(
    tracker: AlertTracker,
    observations: Sequence[Observation],
    baseline: Baseline,
    params: AlertParameters | None = None,
) -> AlertAdvance:
    """Feed new observations to the tracker, all rules at once, vectorised over the samples.

    The batch form of :func:`step`, and what :func:`evaluate_alerts` is on an
    empty tracker: a run open in ``tracker`` continues when the first sample of
    its rule among the new ones still meets the condition (its onset, first
    value and raise time are kept; its duration counts from the old onset), and
    ends when that sample does not.

    Parameters
    ----------
    tracker : AlertTracker
        State after the earlier observations (``AlertTracker()`` to start).
    observations : sequence of Observation
        The new observations, sorted here by time (stably); none may be older
        than ``tracker.last_at`` (a late reading needs the stored series
        re-evaluated from before it).
    baseline : Baseline
        The pre-session values.
    params : AlertParameters, optional
        Protocol thresholds; the reference defaults when omitted.

    Returns
    -------
    AlertAdvance
        The new tracker, and one :class:`Alert` per raised run the new samples
        extended, ended or raised (ordered by raise time, then rule).
    """
    p = params or AlertParameters()
    obs = sorted(observations, key=lambda o: o.at)
    if not obs:
        return AlertAdvance(tracker, ())
    if tracker.last_at is not None and obs[0].at < tracker.last_at:
        raise ValueError(
            f"observation at {obs[0].at.isoformat()} is older than the latest one "
            f"({tracker.last_at.isoformat()}); re-evaluate the stored series instead"
        )
    cols = _columns(obs)
    skip_ids = {rid for rid, _ in _not_evaluated(baseline)}
    runs = dict(tracker.runs)
    alerts: list[Alert] = []
    for rule in _RULES:
        if rule.rule_id in skip_ids:
            continue
        cond = rule.condition(cols, baseline, p)
        idx = np.flatnonzero(cond.observed)  # the samples this rule can judge
        if idx.size == 0:
            continue  # nothing to judge: an open run neither grows nor ends
        met = cond.met[idx]
        prior = runs.pop(rule.rule_id, None)
        if prior is not None and not met[0] and prior.raised_at is not None:
            alerts.append(_alert(rule, prior, baseline, p, ongoing=False))
        edges = np.diff(np.concatenate(([0], met.astype(np.int8), [0])))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        need_us = round(rule.sustain_s(p) * 1e6)
        for s, e in zip(starts, stops, strict=True):
            run_idx = idx[s:e]
            extends = prior if s == 0 and prior is not None else None
            onset_us = (
                cols.t_us[run_idx[0]] if extends is None else (extends.onset_at - obs[0].at) // _US
            )
            manual = np.logical_or.accumulate(cols.manual[run_idx])
            ok = (cols.t_us[run_idx] - onset_us >= need_us) | manual
            if extends is not None and extends.any_manual:
                ok[:] = True
            values = cond.value[run_idx]
            k = int(np.argmax(values) if rule.worst_is_max else np.argmin(values))
            run = _Run(
                onset_at=obs[run_idx[0]].at,
                last_at=obs[run_idx[-1]].at,
                first_value=float(values[0]),
                worst_value=float(values[k]),
                worst_used_pef=bool(cond.used_pef[run_idx[k]]),
                any_manual=bool(manual[-1]),
                raised_at=obs[run_idx[int(np.argmax(ok))]].at if ok.any() else None,
            )
            if extends is not None:
                run = _continued(rule, extends, run)
            ongoing = bool(e == idx.size)
            if ongoing:
                runs[rule.rule_id] = run
            if run.raised_at is not None:
                alerts.append(_alert(rule, run, baseline, p, ongoing=ongoing))
    alerts.sort(key=lambda a: (a.raised_at, RULE_IDS.index(a.rule_id)))
    return AlertAdvance(AlertTracker(obs[-1].at, MappingProxyType(runs)), tuple(alerts))


def step(
    tracker: AlertTracker,
    observation: Observation,
    baseline: Baseline,
    params: AlertParameters | None = None,
) -> tuple[AlertTracker, tuple[AlertEvent, ...]]:
    """Feed one new observation to the tracker.

    Parameters
    ----------
    tracker : AlertTracker
        State after the previous observations (``AlertTracker()`` to start).
    observation : Observation
        The new observation; it must not be older than the latest one seen
        (a late-arriving reading needs :func:`evaluate_alerts` on the stored series).
    baseline : Baseline
        The pre-session values.
    params : AlertParameters, optional
        Protocol thresholds; the reference defaults when omitted.

    Returns
    -------
    tuple of (AlertTracker, tuple of AlertEvent)
        The new state, and the alerts raised, extended or ended by this observation.
    """
    raised_before = tracker.raised_onsets()
    advanced = advance(tracker, (observation,), baseline, params)
    events = []
    for alert in advanced.alerts:
        if not alert.ongoing:
            kind = AlertEventKind.ENDED
        elif raised_before.get(alert.rule_id) == alert.onset_at:
            kind = AlertEventKind.EXTENDED
        else:
            kind = AlertEventKind.RAISED
        events.append(AlertEvent(kind, alert))
    order = {r.rule_id: i for i, r in enumerate(_RULES)}
    events.sort(key=lambda ev: order[ev.alert.rule_id])
    return advanced.tracker, tuple(events)
