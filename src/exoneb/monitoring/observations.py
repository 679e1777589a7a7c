"""Observations after inhalation, and the pre-session baseline they are compared with.

Every quantity carries its unit in its name (``spo2_pct``, ``heart_rate_per_min``,
``fev1_l`` …) so that a value can never be read in the wrong unit; the units are
the UCUM units of ``reference/interop.md`` §1.3 (``%``, ``/min``, ``mm[Hg]``,
``Cel``, ``L``, ``L/min``). A field left ``None`` was not measured: the rules
treat it as missing, never as normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "MEASURES",
    "UNITS",
    "Baseline",
    "Observation",
    "ObservationSource",
    "require_aware",
]


class ObservationSource(StrEnum):
    """Where an observation came from.

    A manual reading is a spot check taken and confirmed by staff; a device
    reading is one sample of a continuous stream (about 1 Hz, interop.md §3.3)
    that may be an artefact, which is why the SpO2 rules demand that device
    readings be *sustained* before they alert.
    """

    MANUAL = "manual"
    DEVICE = "device"


MEASURES: tuple[str, ...] = (
    "spo2_pct",
    "heart_rate_per_min",
    "resp_rate_per_min",
    "sbp_mmhg",
    "dbp_mmhg",
    "temperature_c",
    "fev1_l",
    "pef_l_per_min",
)
"""Numeric measures an :class:`Observation` may carry."""

UNITS: dict[str, str] = {
    "spo2_pct": "%",
    "heart_rate_per_min": "/min",
    "resp_rate_per_min": "/min",
    "sbp_mmhg": "mm[Hg]",
    "dbp_mmhg": "mm[Hg]",
    "temperature_c": "Cel",
    "fev1_l": "L",
    "pef_l_per_min": "L/min",
}
"""UCUM unit of each measure (interop.md §1.3)."""

# Plausibility limits: values outside are typing or device errors, not physiology.
_LIMITS: dict[str, tuple[float, float]] = {
    "spo2_pct": (0.0, 100.0),
    "heart_rate_per_min": (0.0, 350.0),
    "resp_rate_per_min": (0.0, 120.0),
    "sbp_mmhg": (0.0, 350.0),
    "dbp_mmhg": (0.0, 250.0),
    "temperature_c": (25.0, 45.0),
    "fev1_l": (0.0, 10.0),
    "pef_l_per_min": (0.0, 1200.0),
}


def require_aware(value: datetime, name: str) -> datetime:
    """Refuse naive datetimes, which would compare wrongly across time zones.

    Parameters
    ----------
    value : datetime
        The datetime to check.
    name : str
        The argument name, for the error message.

    Returns
    -------
    datetime
        ``value`` unchanged.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def _check_measures(obj: object) -> None:
    for name in MEASURES:
        value = getattr(obj, name, None)
        if value is None:
            continue
        low, high = _LIMITS[name]
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{name}={value!r} {UNITS[name]} is outside {low}–{high}")


@dataclass(frozen=True, slots=True)
class Observation:
    """One time-stamped set of readings taken after inhalation.

    Attributes
    ----------
    at : datetime
        When the readings were taken (timezone-aware).
    source : ObservationSource
        Manual spot check or device stream.
    spo2_pct, heart_rate_per_min, resp_rate_per_min, sbp_mmhg, dbp_mmhg, temperature_c
        Vital signs in the unit named by the suffix; ``None`` when not measured.
    fev1_l, pef_l_per_min : float or None
        Spirometry (FEV1 in litres) or peak flow (L/min) when spirometry is unavailable.
    respiratory_symptoms : bool or None
        Cough, chest tightness, dyspnoea or wheeze reported at this time; ``None``
        when nobody asked. The airway rule treats ``None`` as symptomatic
        (the lower 10 % threshold), because missing data must not relax an alert.
    wheeze, stridor : bool or None
        Found on examination; ``None`` when not examined.
    symptom_grade : int or None
        Highest CTCAE grade (0–5) of the symptoms present now, 0 for none.
    signal_ok : bool
        Device signal quality; samples with a poor signal are ignored by the
        alert rules (clinical.md §4.3 asks for "a good signal").
    """

    at: datetime
    source: ObservationSource = ObservationSource.MANUAL
    spo2_pct: float | None = None
    heart_rate_per_min: float | None = None
    resp_rate_per_min: float | None = None
    sbp_mmhg: float | None = None
    dbp_mmhg: float | None = None
    temperature_c: float | None = None
    fev1_l: float | None = None
    pef_l_per_min: float | None = None
    respiratory_symptoms: bool | None = None
    wheeze: bool | None = None
    stridor: bool | None = None
    symptom_grade: int | None = None
    signal_ok: bool = True

    def __post_init__(self) -> None:
        require_aware(self.at, "at")
        _check_measures(self)
        if self.symptom_grade is not None and not 0 <= self.symptom_grade <= 5:
            raise ValueError(f"symptom_grade={self.symptom_grade} is not a CTCAE grade 0–5")

    def has(self, measure: str) -> bool:
        """Whether ``measure`` was recorded with a usable signal."""
        return getattr(self, measure) is not None and (
            self.signal_ok or self.source is ObservationSource.MANUAL
        )


@dataclass(frozen=True, slots=True)
class Baseline:
    """The patient's same-day pre-session values that post-session readings are compared with.

    Attributes
    ----------
    spo2_pct, heart_rate_per_min, resp_rate_per_min, sbp_mmhg, dbp_mmhg, temperature_c
        Pre-session vital signs; ``None`` when not taken (rules that need them
        then report that they could not be evaluated).
    fev1_l, pef_l_per_min : float or None
        Same-day pre-dose FEV1 or PEF (clinical.md §7: "FEV1 %-change from the
        same-day pre-dose value").
    hypercapnia_risk : bool
        The patient has COPD or another risk factor for hypercapnic respiratory
        failure; lowers the SpO2 floor (BTS 2017 targets, clinical.md §4.3).
    hypoxia_grade : int
        CTCAE hypoxia grade before the session, so that only a *new* grade ≥ 2
        stops the course (clinical.md §4.5).
    """

    spo2_pct: float | None = None
    heart_rate_per_min: float | None = None
    resp_rate_per_min: float | None = None
    sbp_mmhg: float | None = None
    dbp_mmhg: float | None = None
    temperature_c: float | None = None
    fev1_l: float | None = None
    pef_l_per_min: float | None = None
    hypercapnia_risk: bool = False
    hypoxia_grade: int = 0

    def __post_init__(self) -> None:
        _check_measures(self)
        for name in ("fev1_l", "pef_l_per_min"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"baseline {name} must be positive to compute a fall")
        if not 0 <= self.hypoxia_grade <= 4:
            raise ValueError(f"hypoxia_grade={self.hypoxia_grade} is not a CTCAE grade 0–4")
