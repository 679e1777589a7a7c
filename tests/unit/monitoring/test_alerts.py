"""Alert rules: each on both sides of its threshold and of its sustained duration.

Thresholds: reference/clinical.md §4.3 (SpO2, heart rate) and §4.2 (FEV1 airway
reactivity, FEV1 fall ≥ 20 %), [design default].
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exoneb.monitoring.adverse_events import CtcaeTerm
from exoneb.monitoring.alerts import (
    RULE_IDS,
    AlertEventKind,
    AlertParameters,
    AlertTracker,
    Severity,
    advance,
    evaluate_alerts,
    step,
    tracker_from_state,
    tracker_state,
)
from exoneb.monitoring.citations import sources_of
from exoneb.monitoring.observations import Baseline, Observation, ObservationSource

from .factories import BASELINE, T0, at, dev, man, spo2_series


def ids(
    observations: list[Observation], baseline: Baseline = BASELINE, **params: float
) -> list[str]:
    """Rule ids of the alerts raised."""
    p = AlertParameters(**params)
    return [a.rule_id for a in evaluate_alerts(observations, baseline, p).alerts]


# --- parameters carry their sources (clinical.md §7: thresholds as data with citations) ---


def test_every_alert_parameter_cites_a_source() -> None:
    cites = sources_of(AlertParameters())
    assert set(cites) == {f.name for f in dataclasses.fields(AlertParameters)}
    assert all("§4" in c or "[not in reference]" in c for c in cites.values())


def test_defaults_are_the_reference_values() -> None:
    p = AlertParameters()
    assert (p.spo2_fall_points, p.spo2_floor_pct, p.spo2_floor_hypercapnia_pct) == (4, 90, 88)
    assert (p.heart_rate_max_per_min, p.heart_rate_rise_fraction) == (130, 0.20)
    assert (p.airway_fall_symptomatic_pct, p.airway_fall_asymptomatic_pct) == (10, 15)
    assert p.airway_fall_stop_pct == 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spo2_sustain_s": -1}, "negative"),
        ({"airway_fall_symptomatic_pct": 16}, "airway thresholds"),
        ({"spo2_fall_points": 0}, "positive"),
    ],
)
def test_inconsistent_parameters_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AlertParameters(**kwargs)


# --- SpO2 fall ≥ 4 points from baseline (§4.3) ---


@pytest.mark.parametrize(("value", "alerts"), [(92.0, True), (92.5, False), (93.0, False)])
def test_spo2_fall_threshold(value: float, alerts: bool) -> None:
    # Baseline 96: a fall of exactly 4 points (92) alerts, 3.5 does not.
    series = spo2_series([value] * 31)
    assert ("spo2_fall" in ids(series)) is alerts


@pytest.mark.parametrize(("samples", "alerts"), [(30, False), (31, True)])
def test_spo2_fall_must_be_sustained_30_s(samples: int, alerts: bool) -> None:
    # 1 Hz samples: 30 samples span 29 s (not sustained), 31 span 30 s (sustained).
    series = spo2_series([92.0] * samples)
    assert ("spo2_fall" in ids(series)) is alerts


def test_a_good_sample_in_between_restarts_the_duration() -> None:
    series = spo2_series([92.0] * 20 + [96.0] + [92.0] * 20)
    assert "spo2_fall" not in ids(series)


def test_poor_signal_samples_neither_break_nor_start_a_run() -> None:
    series = spo2_series([92.0] * 31)
    noisy = [*series[:10], dev(10.5, spo2_pct=99.0, signal_ok=False), *series[10:]]
    assert "spo2_fall" in ids(noisy)
    only_bad = [dev(i, spo2_pct=70.0, signal_ok=False) for i in range(60)]
    assert ids(only_bad) == []


def test_spo2_fall_alert_explains_itself() -> None:
    series = spo2_series([95.0, 92.0, *[91.0] * 40, 95.0])
    (alert,) = [a for a in evaluate_alerts(series, BASELINE).alerts if a.rule_id == "spo2_fall"]
    assert alert.onset_at == at(1)
    assert alert.raised_at == at(31)
    assert alert.last_at == at(41)
    assert not alert.ongoing
    assert (alert.first_value, alert.worst_value, alert.baseline_value) == (92.0, 91.0, 96.0)
    assert alert.threshold == 92.0
    assert alert.comparison == "≤"
    assert alert.sustained_s == 40.0
    assert alert.required_s == 30.0
    assert alert.severity is Severity.WARNING
    assert alert.suggested_term is CtcaeTerm.HYPOXIA
    assert "§4.3" in alert.sources["spo2_fall_points"]
    assert "91" in alert.message
    assert "baseline 96" in alert.message
    assert alert.message.startswith(f"{alert.title}: SpO2 ")  # the clinician's word, not a code
    assert f"since {alert.onset_at:%Y-%m-%d %H:%M:%S} UTC" in alert.message


def test_a_manual_spot_reading_needs_no_duration() -> None:
    # A nurse-confirmed reading is a spot check: one hand-entered 91 % alerts at once.
    alerts = evaluate_alerts([man(15, spo2_pct=91.0)], BASELINE).alerts
    assert {a.rule_id for a in alerts} == {"spo2_fall"}
    assert alerts[0].raised_at == at(minutes=15)


# --- SpO2 below 90 % (88 % for hypercapnic risk) (§4.3) ---


@pytest.mark.parametrize(("value", "alerts"), [(89.9, True), (90.0, False)])
def test_spo2_floor_threshold(value: float, alerts: bool) -> None:
    baseline = dataclasses.replace(BASELINE, spo2_pct=None)  # isolate the absolute rule
    assert ("spo2_low" in ids(spo2_series([value] * 31), baseline)) is alerts


@pytest.mark.parametrize(("value", "alerts"), [(87.9, True), (88.0, False), (89.0, False)])
def test_spo2_floor_for_hypercapnic_risk_is_88(value: float, alerts: bool) -> None:
    baseline = Baseline(hypercapnia_risk=True)
    assert ("spo2_low" in ids(spo2_series([value] * 31), baseline)) is alerts


@pytest.mark.parametrize(("samples", "alerts"), [(30, False), (31, True)])
def test_spo2_floor_must_be_sustained(samples: int, alerts: bool) -> None:
    assert ("spo2_low" in ids(spo2_series([85.0] * samples), Baseline())) is alerts


def test_sustain_duration_is_a_parameter() -> None:
    series = spo2_series([85.0] * 45)
    assert "spo2_low" not in ids(series, Baseline(), spo2_sustain_s=60)
    assert "spo2_low" in ids(series, Baseline(), spo2_sustain_s=44)


@pytest.mark.parametrize(("value", "alerts"), [(84.9, True), (85.0, False)])
def test_spo2_critical_stops(value: float, alerts: bool) -> None:
    found = list(evaluate_alerts(spo2_series([value] * 31), Baseline()).alerts)
    critical = [a for a in found if a.rule_id == "spo2_critical"]
    assert bool(critical) is alerts
    if critical:
        assert critical[0].severity is Severity.STOP


# --- Heart rate > 130/min or > +20 % (§4.3) ---


@pytest.mark.parametrize(("hr", "alerts"), [(131.0, True), (130.0, False)])
def test_heart_rate_absolute(hr: float, alerts: bool) -> None:
    baseline = Baseline(heart_rate_per_min=120.0)  # +20 % = 144, so only the absolute rule
    assert ("heart_rate_high" in ids([dev(0, heart_rate_per_min=hr)], baseline)) is alerts


@pytest.mark.parametrize(("hr", "alerts"), [(96.5, True), (96.0, False)])
def test_heart_rate_rise_strictly_above_20_percent(hr: float, alerts: bool) -> None:
    # Baseline 80/min: +20 % = 96/min; "rises >20 %" so 96 does not alert.
    assert ("heart_rate_rise" in ids([dev(0, heart_rate_per_min=hr)])) is alerts


def test_heart_rate_has_no_duration_by_default_but_can_have_one() -> None:
    series = [dev(i, heart_rate_per_min=135.0) for i in range(10)]
    assert "heart_rate_high" in ids(series[:1])
    assert "heart_rate_high" not in ids(series, heart_rate_sustain_s=10)
    assert "heart_rate_high" in ids(series, heart_rate_sustain_s=9)


# --- FEV1: airway reactivity (≥ 10 % with symptoms, ≥ 15 % without) and ≥ 20 % stop (§4.2) ---


@pytest.mark.parametrize(
    ("fev1", "symptoms", "alerts"),
    [
        (1.80, True, True),  # 10 % fall with symptoms
        (1.81, True, False),  # 9.5 %
        (1.80, False, False),  # 10 % without symptoms
        (1.70, False, True),  # 15 % without symptoms
        (1.71, False, False),  # 14.5 %
        (1.80, None, True),  # symptoms not recorded count as present
    ],
)
def test_airway_reactivity(fev1: float, symptoms: bool | None, alerts: bool) -> None:
    obs = [man(15, fev1_l=fev1, respiratory_symptoms=symptoms)]
    assert ("airway_reactivity" in ids(obs)) is alerts


@pytest.mark.parametrize(("fev1", "alerts"), [(1.60, True), (1.61, False)])
def test_fev1_fall_20_percent_stops_the_course(fev1: float, alerts: bool) -> None:
    found = evaluate_alerts([man(15, fev1_l=fev1, respiratory_symptoms=False)], BASELINE)
    stop = [a for a in found.alerts if a.rule_id == "airway_fall_stop"]
    assert bool(stop) is alerts
    if stop:
        assert stop[0].severity is Severity.STOP
        assert stop[0].suggested_term is CtcaeTerm.BRONCHOSPASM
        assert stop[0].measure == "fev1_fall_pct"
        assert stop[0].worst_value == pytest.approx(20.0)
        assert "hold further sessions" in stop[0].action


def test_airway_rules_fall_back_to_pef_when_fev1_is_missing() -> None:
    baseline = Baseline(pef_l_per_min=400.0)
    (alert, *_) = evaluate_alerts([man(15, pef_l_per_min=320.0)], baseline).alerts
    assert alert.measure == "pef_fall_pct"
    assert alert.baseline_value == 400.0
    assert alert.worst_value == pytest.approx(20.0)


def test_rules_without_a_baseline_say_so_instead_of_passing() -> None:
    result = evaluate_alerts([man(15, fev1_l=1.0, spo2_pct=91.0)], Baseline())
    skipped = dict(result.not_evaluated)
    assert set(skipped) == {"spo2_fall", "heart_rate_rise", "airway_reactivity", "airway_fall_stop"}
    assert "FEV1" in skipped["airway_reactivity"]


def test_two_separate_episodes_are_two_alerts() -> None:
    series = spo2_series([85.0] * 31 + [97.0] + [85.0] * 31)
    low = [a for a in evaluate_alerts(series, Baseline()).alerts if a.rule_id == "spo2_low"]
    assert [a.onset_at for a in low] == [at(0), at(32)]
    assert [a.ongoing for a in low] == [False, True]


def test_empty_series_raises_nothing() -> None:
    assert evaluate_alerts([], BASELINE).alerts == ()


# --- incremental evaluation: "does this new observation raise or extend an alert?" ---


def test_incremental_raise_extend_end() -> None:
    tracker = AlertTracker()
    kinds: list[list[tuple[str, AlertEventKind]]] = []
    for obs in [*spo2_series([91.0] * 32), dev(32, spo2_pct=96.0)]:
        tracker, events = step(tracker, obs, BASELINE)
        kinds.append([(e.alert.rule_id, e.kind) for e in events])
    assert kinds[29] == []
    assert kinds[30] == [("spo2_fall", AlertEventKind.RAISED)]
    assert kinds[31] == [("spo2_fall", AlertEventKind.EXTENDED)]
    assert kinds[32] == [("spo2_fall", AlertEventKind.ENDED)]


def test_incremental_refuses_an_older_observation() -> None:
    tracker, _ = step(AlertTracker(), dev(10, spo2_pct=96.0), BASELINE)
    with pytest.raises(ValueError, match="older"):
        step(tracker, dev(5, spo2_pct=96.0), BASELINE)


# --- properties ---

_values = st.one_of(st.none(), st.floats(70, 100, allow_nan=False).map(lambda v: round(v, 1)))


@st.composite
def series(draw: st.DrawFn) -> list[Observation]:
    """Observations at distinct times with random SpO2, HR, FEV1 and sources."""
    offsets = draw(st.lists(st.integers(0, 600), min_size=0, max_size=40, unique=True))
    out = []
    for off in sorted(offsets):
        out.append(
            Observation(
                at=T0 + timedelta(seconds=off),
                source=draw(st.sampled_from(ObservationSource)),
                spo2_pct=draw(_values),
                heart_rate_per_min=draw(st.one_of(st.none(), st.floats(40, 180))),
                fev1_l=draw(st.one_of(st.none(), st.floats(1.0, 2.4))),
                respiratory_symptoms=draw(st.one_of(st.none(), st.booleans())),
                signal_ok=draw(st.booleans()),
            )
        )
    return out


@given(series(), st.randoms())
def test_evaluation_does_not_depend_on_arrival_order(obs: list[Observation], rnd: object) -> None:
    shuffled = list(obs)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert evaluate_alerts(shuffled, BASELINE) == evaluate_alerts(obs, BASELINE)


@given(series())
def test_incremental_and_batch_agree(obs: list[Observation]) -> None:
    tracker = AlertTracker()
    raised = []
    for o in obs:
        tracker, events = step(tracker, o, BASELINE)
        raised += [e.alert for e in events if e.kind is AlertEventKind.RAISED]
    batch = evaluate_alerts(obs, BASELINE).alerts
    key = lambda a: (a.rule_id, a.onset_at, a.raised_at, a.first_value)  # noqa: E731
    assert sorted(map(key, raised)) == sorted(map(key, batch))


@given(series(), st.lists(st.integers(1, 40), max_size=10))
def test_advancing_in_batches_ends_where_the_whole_series_does(
    obs: list[Observation], cuts: list[int]
) -> None:
    # The stored tracker path: any split of the series into consecutive batches
    # (each fed to ``advance`` through a JSON round trip of the state) leaves every
    # alert exactly as one evaluation of the whole series describes it.
    bounds = sorted({0, len(obs), *(c for c in cuts if c < len(obs))})
    tracker, latest = AlertTracker(), {}
    for lo, hi in itertools.pairwise(bounds):
        tracker = tracker_from_state(json.loads(json.dumps(tracker_state(tracker))))
        advanced = advance(tracker, obs[lo:hi], BASELINE)
        tracker = advanced.tracker
        latest.update({(a.rule_id, a.onset_at): a for a in advanced.alerts})
    whole = evaluate_alerts(obs, BASELINE).alerts
    assert sorted(latest.values(), key=lambda a: (a.raised_at, RULE_IDS.index(a.rule_id))) == list(
        whole
    )


def test_advance_continues_a_run_across_batches() -> None:
    # 20 s of SpO2 91 (fall of 5 from 96) then 15 s more in a second batch: raised at +30 s,
    # onset kept at T0, worst the lowest of both batches.
    first = advance(AlertTracker(), spo2_series([91.0] * 20), BASELINE)
    assert first.alerts == ()
    second = advance(
        first.tracker,
        [dev(20 + i, spo2_pct=v) for i, v in enumerate([91.0] * 9 + [90.5] * 6)],
        BASELINE,
    )
    (fall,) = [a for a in second.alerts if a.rule_id == "spo2_fall"]
    assert (fall.onset_at, fall.raised_at, fall.worst_value, fall.ongoing) == (
        at(0),
        at(30),
        90.5,
        True,
    )
    third = advance(second.tracker, [dev(40, spo2_pct=96.0)], BASELINE)
    assert [(a.rule_id, a.ongoing, a.last_at) for a in third.alerts] == [
        ("spo2_fall", False, at(34))
    ]
    assert "spo2_fall" not in third.tracker.runs


def test_advance_refuses_a_reading_older_than_the_tracker() -> None:
    tracker = advance(AlertTracker(), [dev(10, spo2_pct=96.0)], BASELINE).tracker
    with pytest.raises(ValueError, match="older"):
        advance(tracker, [dev(12, spo2_pct=96.0), dev(9, spo2_pct=96.0)], BASELINE)


def test_a_stored_tracker_with_an_unknown_rule_is_refused() -> None:
    state = tracker_state(advance(AlertTracker(), spo2_series([91.0] * 3), BASELINE).tracker)
    state["runs"]["no_such_rule"] = state["runs"]["spo2_fall"]
    with pytest.raises(ValueError, match="no_such_rule"):
        tracker_from_state(state)


@given(
    st.lists(st.floats(92.0, 100.0), min_size=1, max_size=200),
    st.sampled_from(ObservationSource),
)
def test_spo2_never_below_thresholds_never_alerts(
    values: list[float], source: ObservationSource
) -> None:
    # Baseline 95: thresholds are ≤ 91 (fall) and < 90 (floor); every value here is ≥ 92.
    obs = [
        Observation(at=T0 + timedelta(seconds=i), source=source, spo2_pct=v)
        for i, v in enumerate(values)
    ]
    alerts = evaluate_alerts(obs, Baseline(spo2_pct=95.0)).alerts
    assert alerts == ()


def test_rule_ids_are_unique_and_stable() -> None:
    assert RULE_IDS == (
        "spo2_fall",
        "spo2_low",
        "spo2_critical",
        "heart_rate_high",
        "heart_rate_rise",
        "airway_reactivity",
        "airway_fall_stop",
    )
