"""Vital signs before a session: plausibility checks, abnormal-value flags and BMI.

Two kinds of limits, on purpose kept apart:

* **Plausibility** (refused): a value no living adult outpatient can have, or a
  value in the wrong unit (98.6 typed as a temperature in °C, a weight in pounds
  above the range, SpO2 above 100 %). Such a value is a typing or unit error; it
  is refused with a message naming the measurement, the value and the accepted
  range, so the nurse can re-measure or correct it. Nothing is clamped.
* **Flags** (kept, shown): a possible value outside the usual adult range, e.g.
  SpO2 91 % or a temperature of 38.2 °C. The value is stored as measured and
  flagged so the clinician sees it. Flags are display hints only; whether the
  session may go ahead is decided by the protocol's go/no-go rules
  (:mod:`exoneb.assessment.eligibility`), never here, so a threshold is not written
  in two places.

SpO2 is meaningful only with the inspired oxygen it was measured on
(``clinical.md`` §4.3: "SpO2 on the patient's usual inspired oxygen"), so an SpO2
cannot be recorded without :class:`InspiredOxygen`.

The plausibility ranges are [design default] choices (not from a guideline):
wide enough for any adult outpatient, narrow enough to catch unit mistakes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from exoneb.assessment.errors import AssessmentInputError

__all__ = [
    "PLAUSIBLE_RANGES",
    "ImplausibleValueError",
    "InspiredOxygen",
    "OxygenSource",
    "PlausibleRange",
    "VitalFlag",
    "Vitals",
    "body_mass_index",
    "record_vitals",
]


class ImplausibleValueError(AssessmentInputError):
    """A vital sign outside what is physically possible (or typed in the wrong unit).

    Parameters
    ----------
    field : str
        The input name (e.g. ``"heart_rate_bpm"``).
    label : str
        The measurement as a nurse calls it (e.g. ``"Heart rate"``).
    value : float
        The value given.
    expected : str
        The accepted range with its unit (e.g. ``"20–250 beats/min"``).
    hint : str
        What to do (re-measure, check the unit).
    """

    def __init__(self, field: str, label: str, value: object, expected: str, hint: str) -> None:
        self.field = field
        self.label = label
        self.value = value
        self.expected = expected
        self.hint = hint
        ValueError.__init__(
            self,
            f"{label} ({field}) = {value!r} is not possible: the accepted range is {expected}. "
            f"{hint}",
        )


@dataclass(frozen=True)
class PlausibleRange:
    """The closed interval a measurement must fall in to be accepted.

    Attributes
    ----------
    label : str
        The measurement as shown to staff.
    unit : str
        Unit, as shown to staff.
    low, high : float
        Inclusive bounds.
    hint : str
        Sentence shown with a refusal (usually about the unit).
    """

    label: str
    unit: str
    low: float
    high: float
    hint: str = "Re-measure, or correct the entry."

    @property
    def text(self) -> str:
        """The range in words, e.g. ``"20–250 beats/min"``."""
        return f"{self.low:g}–{self.high:g} {self.unit}"

    def check(self, field: str, value: float) -> float:
        """Return ``value`` as a float, or raise :class:`ImplausibleValueError`."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ImplausibleValueError(field, self.label, value, self.text, "Enter a number.")
        number = float(value)
        if not math.isfinite(number) or number < self.low or number > self.high:
            raise ImplausibleValueError(field, self.label, value, self.text, self.hint)
        return number


#: Accepted ranges, by input name ([design default]; see the module docstring).
PLAUSIBLE_RANGES: dict[str, PlausibleRange] = {
    "spo2_percent": PlausibleRange(
        "SpO2",
        "%",
        50.0,
        100.0,
        "SpO2 cannot exceed 100 %; below 50 % pulse oximetry is not reliable. "
        "Check the probe and signal, then re-measure.",
    ),
    "oxygen_flow_l_min": PlausibleRange(
        "Oxygen flow", "L/min", 0.1, 60.0, "Enter the flow in litres per minute."
    ),
    "fio2": PlausibleRange(
        "Inspired oxygen fraction (FiO2)",
        "(fraction)",
        0.21,
        1.0,
        "Enter FiO2 as a fraction (0.21 is room air, 0.40 is 40 %), not as a percentage.",
    ),
    "heart_rate_bpm": PlausibleRange("Heart rate", "beats/min", 20.0, 250.0),
    "respiratory_rate_per_min": PlausibleRange("Respiratory rate", "breaths/min", 4.0, 60.0),
    "systolic_bp_mmhg": PlausibleRange("Systolic blood pressure", "mmHg", 50.0, 300.0),
    "diastolic_bp_mmhg": PlausibleRange("Diastolic blood pressure", "mmHg", 20.0, 200.0),
    "temperature_c": PlausibleRange(
        "Temperature",
        "°C",
        30.0,
        43.0,
        "Enter the temperature in degrees Celsius (98.6 °F is 37.0 °C).",
    ),
    "weight_kg": PlausibleRange(
        "Weight", "kg", 20.0, 350.0, "Enter the weight in kilograms (1 lb = 0.4536 kg)."
    ),
    "height_cm": PlausibleRange(
        "Height", "cm", 80.0, 250.0, "Enter the height in centimetres (1 in = 2.54 cm)."
    ),
}


class OxygenSource(StrEnum):
    """What the patient was breathing when SpO2 was measured."""

    ROOM_AIR = "room_air"
    FLOW = "flow"
    """Supplemental oxygen given as a flow (nasal cannula, mask), in L/min."""
    FIO2 = "fio2"
    """Supplemental oxygen given as a known inspired fraction (Venturi mask, blender)."""


@dataclass(frozen=True)
class InspiredOxygen:
    """The inspired oxygen an SpO2 was measured on.

    Use the constructors :meth:`room_air`, :meth:`flow` or :meth:`fraction`,
    which check the value; a flow and a fraction are not interconvertible
    without the device, so whichever was prescribed is stored.
    """

    source: OxygenSource
    flow_l_min: float | None = None
    fio2: float | None = None

    @classmethod
    def room_air(cls) -> InspiredOxygen:
        """Room air (FiO2 0.21, no supplemental oxygen)."""
        return cls(OxygenSource.ROOM_AIR)

    @classmethod
    def flow(cls, l_min: float) -> InspiredOxygen:
        """Supplemental oxygen at ``l_min`` litres per minute (0.1–60)."""
        return cls(
            OxygenSource.FLOW,
            flow_l_min=PLAUSIBLE_RANGES["oxygen_flow_l_min"].check("oxygen_flow_l_min", l_min),
        )

    @classmethod
    def fraction(cls, fio2: float) -> InspiredOxygen:
        """Supplemental oxygen at inspired fraction ``fio2`` (0.21–1.0)."""
        return cls(OxygenSource.FIO2, fio2=PLAUSIBLE_RANGES["fio2"].check("fio2", fio2))

    @property
    def supplemental(self) -> bool:
        """True when the patient was on supplemental oxygen."""
        return self.source is not OxygenSource.ROOM_AIR and not (
            self.source is OxygenSource.FIO2 and self.fio2 == 0.21
        )

    @property
    def label(self) -> str:
        """How the inspired oxygen is shown next to the SpO2."""
        if self.source is OxygenSource.FLOW:
            return f"on oxygen {self.flow_l_min:g} L/min"
        if self.source is OxygenSource.FIO2:
            return f"on FiO2 {self.fio2:g}"
        return "on room air"


@dataclass(frozen=True)
class VitalFlag:
    """A possible but abnormal value, shown to the clinician (not a go/no-go decision).

    Attributes
    ----------
    field : str
        Input name of the measurement.
    value : float
        The value as measured.
    message : str
        What is unusual, with the limit.
    source : str
        Where the limit comes from.
    """

    field: str
    value: float
    message: str
    source: str


_BTS_2017 = "BTS 2017 oxygen guideline, Table 2 (clinical.md §4.3) [source]"
_CLINICAL_43 = "clinical.md §4.3 [design default]"
_CTCAE_FEVER = "CTCAE v5.0 Fever: grade 1 from 38.0 °C (clinical.md §4.1) [source]"
_ADULT_NORMAL = "usual adult resting range [unverified: general clinical convention]"
_WHO_BMI = "WHO adult BMI classification [unverified]"


@dataclass(frozen=True)
class Vitals:
    """One set of vital signs; a measurement not taken is ``None``.

    Attributes
    ----------
    spo2_percent : float or None
        Peripheral oxygen saturation, %.
    inspired_oxygen : InspiredOxygen or None
        What the patient breathed during the SpO2 reading (required with SpO2).
    heart_rate_bpm, respiratory_rate_per_min : float or None
        Resting rates per minute.
    systolic_bp_mmhg, diastolic_bp_mmhg : float or None
        Blood pressure, mmHg (both or neither).
    temperature_c : float or None
        Body temperature, °C.
    weight_kg, height_cm : float or None
        Body size.
    flags : tuple of VitalFlag
        Possible but abnormal values.
    """

    spo2_percent: float | None = None
    inspired_oxygen: InspiredOxygen | None = None
    heart_rate_bpm: float | None = None
    respiratory_rate_per_min: float | None = None
    systolic_bp_mmhg: float | None = None
    diastolic_bp_mmhg: float | None = None
    temperature_c: float | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    flags: tuple[VitalFlag, ...] = ()

    @property
    def bmi(self) -> float | None:
        """Body-mass index in kg/m², when weight and height are both measured."""
        if self.weight_kg is None or self.height_cm is None:
            return None
        return body_mass_index(self.weight_kg, self.height_cm)


def body_mass_index(weight_kg: float, height_cm: float) -> float:
    """Return the body-mass index, weight / height², in kg/m² (unrounded).

    Parameters
    ----------
    weight_kg : float
        Weight in kilograms, within :data:`PLAUSIBLE_RANGES` ``weight_kg``.
    height_cm : float
        Height in centimetres, within :data:`PLAUSIBLE_RANGES` ``height_cm``.

    Raises
    ------
    ImplausibleValueError
        If either value is outside its plausible range.
    """
    weight = PLAUSIBLE_RANGES["weight_kg"].check("weight_kg", weight_kg)
    height_m = PLAUSIBLE_RANGES["height_cm"].check("height_cm", height_cm) / 100.0
    return weight / (height_m * height_m)


def _flags(v: Vitals) -> list[VitalFlag]:
    """Flag possible values outside the usual adult range (see the module docstring)."""
    out: list[VitalFlag] = []

    def flag(field: str, value: float, message: str, source: str) -> None:
        out.append(VitalFlag(field, value, message, source))

    if v.spo2_percent is not None:
        if v.spo2_percent < 88.0:
            flag("spo2_percent", v.spo2_percent, "SpO2 below 88 %.", _CLINICAL_43)
        elif v.spo2_percent < 94.0:
            flag(
                "spo2_percent",
                v.spo2_percent,
                "SpO2 below 94 %, the lower end of the usual target range 94–98 %.",
                _BTS_2017,
            )
    if v.heart_rate_bpm is not None:
        if v.heart_rate_bpm > 100.0:
            flag("heart_rate_bpm", v.heart_rate_bpm, "Heart rate above 100 /min.", _ADULT_NORMAL)
        elif v.heart_rate_bpm < 50.0:
            flag("heart_rate_bpm", v.heart_rate_bpm, "Heart rate below 50 /min.", _ADULT_NORMAL)
    if v.respiratory_rate_per_min is not None:
        rr = v.respiratory_rate_per_min
        if rr > 20.0:
            flag("respiratory_rate_per_min", rr, "Respiratory rate above 20 /min.", _ADULT_NORMAL)
        elif rr < 12.0:
            flag("respiratory_rate_per_min", rr, "Respiratory rate below 12 /min.", _ADULT_NORMAL)
    if v.systolic_bp_mmhg is not None and v.diastolic_bp_mmhg is not None:
        if v.systolic_bp_mmhg > 180.0 or v.diastolic_bp_mmhg > 100.0:
            flag(
                "systolic_bp_mmhg",
                v.systolic_bp_mmhg,
                "Blood pressure above 180/100 mmHg.",
                "ATS 2002 6MWT relative contraindication (clinical.md §4.3, §6.4) [unverified]",
            )
        elif v.systolic_bp_mmhg < 90.0:
            flag(
                "systolic_bp_mmhg",
                v.systolic_bp_mmhg,
                "Systolic blood pressure below 90 mmHg (hypotension).",
                _CLINICAL_43,
            )
    if v.temperature_c is not None:
        if v.temperature_c >= 38.0:
            flag("temperature_c", v.temperature_c, "Temperature 38.0 °C or above.", _CTCAE_FEVER)
        elif v.temperature_c < 35.0:
            flag("temperature_c", v.temperature_c, "Temperature below 35.0 °C.", _ADULT_NORMAL)
    bmi = v.bmi
    if bmi is not None:
        if bmi < 18.5:
            flag("bmi", bmi, "BMI below 18.5 kg/m² (underweight).", _WHO_BMI)
        elif bmi >= 30.0:
            flag("bmi", bmi, "BMI 30 kg/m² or above (obesity).", _WHO_BMI)
    return out


def record_vitals(
    *,
    spo2_percent: float | None = None,
    inspired_oxygen: InspiredOxygen | None = None,
    heart_rate_bpm: float | None = None,
    respiratory_rate_per_min: float | None = None,
    systolic_bp_mmhg: float | None = None,
    diastolic_bp_mmhg: float | None = None,
    temperature_c: float | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
) -> Vitals:
    """Check a set of vital signs and flag the abnormal ones.

    Every argument is optional, because a go/no-go check may take only some of
    them; a missing value stays ``None`` and the eligibility rules that need it
    report it as missing (never as normal).

    Parameters
    ----------
    spo2_percent : float, optional
        SpO2 in %, 50–100; requires ``inspired_oxygen``.
    inspired_oxygen : InspiredOxygen, optional
        Room air, a flow or an FiO2.
    heart_rate_bpm : float, optional
        20–250 /min.
    respiratory_rate_per_min : float, optional
        4–60 /min.
    systolic_bp_mmhg, diastolic_bp_mmhg : float, optional
        50–300 and 20–200 mmHg; both or neither, systolic above diastolic.
    temperature_c : float, optional
        30–43 °C.
    weight_kg, height_cm : float, optional
        20–350 kg and 80–250 cm; BMI is derived when both are given.

    Returns
    -------
    Vitals
        The values as given (as floats) and their flags.

    Raises
    ------
    ImplausibleValueError
        For a value outside its plausible range (the message names the
        measurement, the value and the range).
    AssessmentInputError
        For an SpO2 without its inspired oxygen, one blood-pressure value without
        the other, or a diastolic pressure not below the systolic.
    """
    given = {
        "spo2_percent": spo2_percent,
        "heart_rate_bpm": heart_rate_bpm,
        "respiratory_rate_per_min": respiratory_rate_per_min,
        "systolic_bp_mmhg": systolic_bp_mmhg,
        "diastolic_bp_mmhg": diastolic_bp_mmhg,
        "temperature_c": temperature_c,
        "weight_kg": weight_kg,
        "height_cm": height_cm,
    }
    checked = {
        name: PLAUSIBLE_RANGES[name].check(name, value) if value is not None else None
        for name, value in given.items()
    }
    if checked["spo2_percent"] is not None and inspired_oxygen is None:
        raise AssessmentInputError(
            "inspired_oxygen",
            None,
            "room air, an oxygen flow in L/min, or an FiO2",
            "An SpO2 reading means little without what the patient was breathing.",
        )
    sbp, dbp = checked["systolic_bp_mmhg"], checked["diastolic_bp_mmhg"]
    if (sbp is None) != (dbp is None):
        missing = "diastolic_bp_mmhg" if dbp is None else "systolic_bp_mmhg"
        raise AssessmentInputError(
            missing, None, "a value", "Enter both systolic and diastolic blood pressure."
        )
    if sbp is not None and dbp is not None and dbp >= sbp:
        raise AssessmentInputError(
            "diastolic_bp_mmhg",
            diastolic_bp_mmhg,
            f"below the systolic pressure ({systolic_bp_mmhg!r} mmHg)",
            "The two values may have been swapped.",
        )
    vitals = Vitals(
        spo2_percent=checked["spo2_percent"],
        inspired_oxygen=inspired_oxygen,
        heart_rate_bpm=checked["heart_rate_bpm"],
        respiratory_rate_per_min=checked["respiratory_rate_per_min"],
        systolic_bp_mmhg=sbp,
        diastolic_bp_mmhg=dbp,
        temperature_c=checked["temperature_c"],
        weight_kg=checked["weight_kg"],
        height_cm=checked["height_cm"],
    )
    return replace(vitals, flags=tuple(_flags(vitals)))
