"""Shared builders for the inhalation tests; times are explicit, never read from a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exoneb.inhalation.rules import (
    BREATHING_PRESETS,
    Breathing,
    BreathingSource,
    DeviceSettings,
    InhalationRun,
    PatientFacts,
    StartFacts,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A fixed morning instant."""

READY = StartFacts(preparation_verified=True, supervisor_present=True)
RELAXED = BREATHING_PRESETS["relaxed-tidal"]
MEASURED = Breathing(620.0, 12.0, 0.45, 0.0, source=BreathingSource.MEASURED, label="measured")
PATIENT = PatientFacts(sex="female", age_years=54.0, height_cm=162.0)
MESH = DeviceSettings(catalog_id="aerogen-solo")


def minutes(n: float) -> timedelta:
    """``n`` minutes."""
    return timedelta(minutes=n)


def started(fill_ml: float = 3.0) -> InhalationRun:
    """A run started at :data:`T0`."""
    return InhalationRun(fill_ml=fill_ml, planned_duration=minutes(8)).start(now=T0, facts=READY)
