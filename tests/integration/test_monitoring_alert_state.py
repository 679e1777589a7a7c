"""The stored alert state on both databases: reading by reading, the same alerts as one evaluation.

With every reading the service continues the session's stored tracker
(``monitoring_alert_state``) over the new readings alone, instead of re-reading
the series. What it stores must not depend on that shortcut: after any sequence
of device batches, manual readings and late readings, the stored alerts are
exactly what one evaluation of the whole stored series gives
(``rules.evaluate_alerts``, whose thresholds are tested against clinical.md §4.3
in ``tests/unit/monitoring/test_alerts.py``). Baseline: SpO2 95 %, HR 78/min.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.monitoring import rules
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.models import AlertRecord, AlertState
from exoneb.monitoring.schemas import AlertAckIn, ObservationBatchIn, ObservationIn

from .conftest import World
from .monitoring_world import monitored_session

_COMPARED = (
    "rule_id", "onset_at", "raised_at", "last_at", "ongoing", "first_value", "worst_value",
    "sustained_s", "measure", "threshold", "message",
)  # fmt: skip


def post(world: World, session_id: int, readings: list[tuple[float, dict[str, Any]]]) -> None:
    """One device batch: (seconds after the session's time zero, values)."""
    t0 = T0[session_id]
    batch = ObservationBatchIn(
        device_id="oximeter-1",
        observations=[
            ObservationIn(observed_at=t0 + timedelta(seconds=s), **v) for s, v in readings
        ],
    )
    with world.action(Role.NURSE) as ctx:
        monitoring.ingest_batch(ctx=ctx, settings=world.settings, session_id=session_id, data=batch)


T0: dict[int, Any] = {}


def start(world: World) -> int:
    session_id, t0 = monitored_session(world)
    T0[session_id] = t0
    world.clock.advance(timedelta(minutes=10))  # every reading below is in the past
    return session_id


def stored_alerts(world: World, session_id: int) -> list[tuple[Any, ...]]:
    with world.action(Role.NURSE) as ctx:
        rows = monitoring.alerts_of(ctx=ctx, session_id=session_id)
        return sorted(tuple(getattr(r, f) for f in _COMPARED) for r in rows)


def evaluated(
    world: World, session_id: int, baseline: rules.Baseline | None = None
) -> list[tuple[Any, ...]]:
    """One evaluation of the whole stored series, as the stored columns would hold it."""
    with world.action(Role.NURSE) as ctx:
        series = monitoring._pure_observations(ctx, session_id)
        base = baseline or monitoring.baseline(ctx=ctx, session_id=session_id)
    params = monitoring.alert_parameters(world.settings, "demo-exo-01")
    out = []
    for a in rules.evaluate_alerts(series, base, params).alerts:
        values = {f.name: getattr(a, f.name) for f in dataclasses.fields(a)}
        values["message"] = a.message
        out.append(tuple(values[f] for f in _COMPARED))
    return sorted(out)


def state(world: World, session_id: int) -> AlertState | None:
    with world.action() as ctx:
        row = ctx.db.get(AlertState, session_id)
        if row is not None:
            ctx.db.expunge(row)
        return row


def test_reading_by_reading_stores_what_one_evaluation_of_the_series_gives(world: World) -> None:
    session_id = start(world)
    normal = {"spo2_pct": 96.0, "heart_rate_per_min": 80.0}
    post(world, session_id, [(s, normal) for s in range(0, 20)])  # first batch: state built
    # A desaturation to 89 % from +20 s, one reading a second, in batches of 1, 2 and 3:
    # the SpO2 fall (≥ 4 points) and floor (< 90 %) alerts are raised at +50 s and extended.
    t = 20
    for size in [1, 2, 3, 1, 1, 2, 3, 3, 2, 1, 1, 1, 2, 3, 3, 2, 1, 3, 2, 1, 1, 1]:
        post(world, session_id, [(t + k, {"spo2_pct": 89.0, "heart_rate_per_min": 80.0})
                                 for k in range(size)])  # fmt: skip
        t += size
    assert t == 60
    post(world, session_id, [(60, {"spo2_pct": 80.0, "signal_ok": False})])  # poor signal
    post(world, session_id, [(61, {"spo2_pct": 88.5}), (62, normal)])  # worst, then recovery
    post(world, session_id, [(63, {"heart_rate_per_min": 135.0})])  # HR > 130: no duration
    post(world, session_id, [(64, normal), (65, normal)])
    with world.action() as ctx:
        alerts = monitoring.alerts_of(ctx=ctx, session_id=session_id)
        assert {a.rule_id for a in alerts} == {
            "spo2_fall", "spo2_low", "heart_rate_high", "heart_rate_rise",
        }  # fmt: skip
    assert stored_alerts(world, session_id) == evaluated(world, session_id)
    fall = next(a for a in stored_alerts(world, session_id) if a[0] == "spo2_fall")
    assert (fall[5], fall[6], fall[4]) == (89.0, 88.5, False)  # first, worst, ended
    kept = state(world, session_id)
    assert kept is not None
    assert kept.last_at == T0[session_id] + timedelta(seconds=65)
    assert kept.alert_ids == {}  # every alert has ended


def test_a_late_reading_is_judged_with_the_readings_around_it(world: World) -> None:
    session_id = start(world)
    post(world, session_id, [(s, {"spo2_pct": 96.0}) for s in range(0, 11)])
    post(world, session_id, [(60, {"spo2_pct": 96.0})])
    # The oximeter's buffered readings arrive late: 88 % from +15 to +50 s (35 s, sustained),
    # older than the +60 s already seen. The stored state cannot simply continue: the series
    # is evaluated again and the alerts stored as raised and already ended by +60 s.
    post(world, session_id, [(s, {"spo2_pct": 88.0}) for s in range(15, 51)])
    stored = stored_alerts(world, session_id)
    assert [(a[0], a[4]) for a in stored] == [("spo2_fall", False), ("spo2_low", False)]
    assert stored == evaluated(world, session_id)
    kept = state(world, session_id)
    assert kept is not None
    assert kept.last_at == T0[session_id] + timedelta(seconds=60)


def test_a_state_on_another_baseline_is_not_continued(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = start(world)
    post(world, session_id, [(s, {"spo2_pct": 95.0}) for s in range(0, 40)])
    assert stored_alerts(world, session_id) == []
    # The baseline changes (an amended assessment: SpO2 99 %): 95 % is now a 4-point fall, and
    # has been for 40 s. Continuing the old state would miss the run; it is evaluated again.
    amended = dataclasses.replace(_baseline(world, session_id), spo2_pct=99.0)
    monkeypatch.setattr(monitoring, "baseline", lambda *, ctx, session_id: amended)
    post(world, session_id, [(40, {"spo2_pct": 95.0})])
    stored = stored_alerts(world, session_id)
    assert [(a[0], a[1], a[4]) for a in stored] == [("spo2_fall", T0[session_id], True)]
    assert stored == evaluated(world, session_id, amended)


def _baseline(world: World, session_id: int) -> rules.Baseline:
    with world.action() as ctx:
        return monitoring.baseline(ctx=ctx, session_id=session_id)


def test_readings_extending_an_alert_do_not_make_its_acknowledgement_stale(world: World) -> None:
    session_id = start(world)
    post(world, session_id, [(s, {"spo2_pct": 89.0}) for s in range(0, 31)])
    with world.action() as ctx:
        row = ctx.db.scalars(
            select(AlertRecord).where(
                AlertRecord.session_id == session_id, AlertRecord.rule_id == "spo2_low"
            )
        ).one()
        alert_id, version, last_at = row.id, row.version, row.last_at
    # The nurse's page holds this version; the oximeter goes on posting while she reads it.
    for s in range(31, 36):
        post(world, session_id, [(s, {"spo2_pct": 88.0})])
    with world.action() as ctx:
        row = ctx.db.get(AlertRecord, alert_id)
        assert row is not None
        assert (row.version, row.worst_value) == (version, 88.0)
        assert row.last_at == last_at + timedelta(seconds=5)
    with world.action(Role.NURSE) as ctx:
        acked = monitoring.acknowledge_alert(
            ctx=ctx, alert_id=alert_id, data=AlertAckIn(version=version, note="probe checked")
        )
        assert acked.status == "acknowledged"
    post(world, session_id, [(36, {"spo2_pct": 88.0})])  # still updated after acknowledgement
    with world.action() as ctx:
        row = ctx.db.get(AlertRecord, alert_id)
        assert row is not None
        assert (row.status, row.last_at) == ("acknowledged", last_at + timedelta(seconds=6))


def test_a_run_on_readings_minutes_apart_survives_a_rebuild(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A monitor sending every 100 s: SpO2 87 % at +0 s opens a run (not yet sustained), and
    # the next reading arrives after an amended baseline (the state is rebuilt from the stored
    # window). The window must reach back to the open run's onset: 87 % held 100 s is raised.
    session_id = start(world)
    post(world, session_id, [(0, {"spo2_pct": 87.0})])
    assert stored_alerts(world, session_id) == []
    amended = dataclasses.replace(_baseline(world, session_id), spo2_pct=97.0)
    monkeypatch.setattr(monitoring, "baseline", lambda *, ctx, session_id: amended)
    post(world, session_id, [(100, {"spo2_pct": 87.0})])
    stored = stored_alerts(world, session_id)
    assert [(a[0], a[1]) for a in stored] == [
        ("spo2_fall", T0[session_id]),
        ("spo2_low", T0[session_id]),
    ]
    assert stored == evaluated(world, session_id, amended)
