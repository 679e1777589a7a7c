"""Shared builders for the monitoring tests: a fixed time zero and terse observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from exoneb.monitoring.observations import Baseline, Observation, ObservationSource

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""End of nebulization in every test (time zero)."""

BASELINE = Baseline(
    spo2_pct=96.0,
    heart_rate_per_min=80.0,
    resp_rate_per_min=16.0,
    sbp_mmhg=120.0,
    dbp_mmhg=80.0,
    fev1_l=2.0,
    pef_l_per_min=400.0,
)


def at(seconds: float = 0.0, minutes: float = 0.0) -> datetime:
    """T0 plus an offset."""
    return T0 + timedelta(seconds=seconds, minutes=minutes)


def dev(seconds: float, **values: Any) -> Observation:
    """A device sample ``seconds`` after T0."""
    return Observation(at=at(seconds), source=ObservationSource.DEVICE, **values)


def man(minutes: float, **values: Any) -> Observation:
    """A manual reading ``minutes`` after T0."""
    return Observation(at=at(minutes=minutes), source=ObservationSource.MANUAL, **values)


def spo2_series(values: list[float], step_s: float = 1.0) -> list[Observation]:
    """A 1 Hz (by default) device SpO2 series starting at T0."""
    return [dev(i * step_s, spo2_pct=v) for i, v in enumerate(values)]
