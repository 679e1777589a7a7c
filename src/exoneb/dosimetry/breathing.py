"""Breathing patterns: tidal volume, rate, timing and flows of one breath cycle.

A breath is modelled as a constant-flow inhalation lasting
``inspiratory_fraction × period``, an optional breath-hold, and a constant-flow
exhalation filling the rest of the period. The inspiratory fraction is the
duty cycle nebulizer studies report (e.g. 0.35 and 0.70 in case #15 of
reference/dosimetry.md §3.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exoneb.dosimetry._data import read_data_text
from exoneb.dosimetry._validation import require_where
from exoneb.dosimetry.errors import DosimetryInputError

FloatArray = NDArray[np.float64]

Activity = Literal["sleep", "sitting", "light_exercise", "heavy_exercise"]

#: Upper bound of a tidal volume relative to the subject's FRC. Inspiratory
#: capacity (TLC − FRC) is close to FRC in healthy adults, so a tidal volume
#: above it is not physiological. [design default]
MAX_TIDAL_VOLUME_PER_FRC = 1.0


@dataclass(frozen=True)
class BreathingPattern:
    """One breath cycle, broadcast over subjects. All fields are SI arrays.

    Attributes
    ----------
    tidal_volume_m3 : ndarray
    period_s : ndarray
        ``60 / breaths_per_min``.
    inhalation_s, breath_hold_s, exhalation_s : ndarray
        Phase durations; they add up to ``period_s``.
    """

    tidal_volume_m3: FloatArray
    period_s: FloatArray
    inhalation_s: FloatArray
    breath_hold_s: FloatArray
    exhalation_s: FloatArray

    @property
    def inhalation_flow_m3_s(self) -> FloatArray:
        """Mean inspiratory flow."""
        return np.asarray(self.tidal_volume_m3 / self.inhalation_s)

    @property
    def exhalation_flow_m3_s(self) -> FloatArray:
        """Mean expiratory flow."""
        return np.asarray(self.tidal_volume_m3 / self.exhalation_s)

    @property
    def inspiratory_fraction(self) -> FloatArray:
        """Share of the cycle spent breathing in (the nebulizer duty cycle)."""
        return np.asarray(self.inhalation_s / self.period_s)


def breathing_pattern(
    *,
    tidal_volume_ml: ArrayLike,
    breaths_per_min: ArrayLike,
    inspiratory_fraction: ArrayLike = 0.4,
    breath_hold_s: ArrayLike = 0.0,
) -> BreathingPattern:
    """Build and validate a :class:`BreathingPattern`.

    Parameters
    ----------
    tidal_volume_ml : float or array
        Volume inhaled per breath, mL (> 0).
    breaths_per_min : float or array
        Breathing rate, 1–60 per minute.
    inspiratory_fraction : float or array
        Inhalation time over the whole cycle, strictly between 0 and 1.
    breath_hold_s : float or array
        Pause after inhalation, s (≥ 0); it must leave time to breathe out.

    Raises
    ------
    DosimetryInputError
        Naming the field, the value and the valid range.
    """
    vt = require_where("tidal_volume_ml", tidal_volume_ml, lambda a: a > 0, "> 0 mL")
    bpm = require_where(
        "breaths_per_min", breaths_per_min, lambda a: (a >= 1) & (a <= 60), "1 to 60 /min"
    )
    frac = require_where(
        "inspiratory_fraction",
        inspiratory_fraction,
        lambda a: (a > 0) & (a < 1),
        "strictly between 0 and 1",
    )
    hold = require_where("breath_hold_s", breath_hold_s, lambda a: a >= 0, "≥ 0 s")
    vt, bpm, frac, hold = np.broadcast_arrays(vt, bpm, frac, hold)
    period = 60.0 / bpm
    t_in = frac * period
    t_ex = period - t_in - hold
    if np.any(t_ex <= 0):
        too_long = t_ex <= 0
        bad = np.broadcast_to(hold, t_ex.shape)[too_long].flat[0]
        limit = np.broadcast_to(period - t_in, t_ex.shape)[too_long].flat[0]
        raise DosimetryInputError(
            "breath_hold_s",
            float(bad),
            f"0 s to below {float(limit):.3g} s, the time left for exhalation in this breath cycle",
            "Lower the breath-hold, the breathing rate or the inspiratory fraction.",
        )
    return BreathingPattern(
        tidal_volume_m3=np.asarray(vt * 1e-6),
        period_s=np.asarray(period),
        inhalation_s=np.asarray(t_in),
        breath_hold_s=np.asarray(hold, dtype=np.float64),
        exhalation_s=np.asarray(t_ex),
    )


def check_tidal_volume_for_subject(tidal_volume_ml: ArrayLike, frc_ml: ArrayLike) -> None:
    """Refuse a tidal volume above the subject's inspiratory capacity (≈ FRC).

    Raises
    ------
    DosimetryInputError
        When ``tidal_volume_ml > MAX_TIDAL_VOLUME_PER_FRC × frc_ml``.
    """
    vt = np.asarray(tidal_volume_ml, dtype=np.float64)
    frc = np.asarray(frc_ml, dtype=np.float64)
    bad = vt > MAX_TIDAL_VOLUME_PER_FRC * frc
    if np.any(bad):
        vt_b, frc_b = np.broadcast_arrays(vt, frc)
        raise DosimetryInputError(
            "tidal_volume_ml",
            float(vt_b[bad].flat[0]),
            f"at most {MAX_TIDAL_VOLUME_PER_FRC:g} × FRC = {float(frc_b[bad].flat[0]):.0f} mL "
            "for this subject",
            "A tidal volume cannot exceed the inspiratory capacity.",
        )


@dataclass(frozen=True)
class IcrpSubject:
    """An ICRP-66 Table 15 reference subject and one of its activities."""

    frc_ml: float
    et_dead_space_ml: float
    tidal_volume_ml: float
    breaths_per_min: float
    flow_ml_s: float
    nasal_fraction_normal: float
    nasal_fraction_mouth_breather: float


@lru_cache(maxsize=1)
def _table15() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_data_text("hrtm_subjects_breathing.json"))
    return data


def icrp66_subject(sex: Literal["male", "female"], activity: Activity) -> IcrpSubject:
    """The ICRP-66 adult reference subject's anatomy and breathing (Table 15).

    ICRP assumes equal inhalation and exhalation times, so the inspiratory
    fraction of these patterns is 0.5 (``V̇ = V_T / (period / 2)``).
    """
    table = _table15()
    try:
        subject = table["subjects"]["adult"][sex]
        breath = subject["breathing"][activity]
        scenario = table["scenarios"][activity]
    except KeyError as exc:
        raise DosimetryInputError(
            "activity" if sex in ("male", "female") else "sex",
            activity if sex in ("male", "female") else sex,
            "sex male/female and activity sleep, sitting, light_exercise or heavy_exercise",
        ) from exc
    return IcrpSubject(
        frc_ml=float(subject["anatomy"]["frc_ml"]),
        et_dead_space_ml=float(subject["anatomy"]["vd_et_ml"]),
        tidal_volume_ml=float(breath["VT_ml"]),
        breaths_per_min=float(breath["fR_min"]),
        flow_ml_s=float(breath["V_ml_s"]),
        nasal_fraction_normal=float(scenario["Fn_normal"]),
        nasal_fraction_mouth_breather=float(scenario["Fn_mouth"]),
    )
