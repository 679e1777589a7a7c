"""Clinical scales of the assessment: CAT, mMRC, modified Borg and the six-minute walk.

Each scale is scored from validated item inputs and returns a frozen record that
carries its source, so a stored score says how it was computed. Sources are
those of ``reference/clinical.md`` §6; the evidence tag of each is kept in the
``source`` text ([source] read in the source, [unverified] not yet re-read).

Licensing: the CAT questionnaire's wording and layout belong to GSK
(``clinical.md`` §6.1), so items are labelled by domain only and no question
text is bundled; the modified Borg anchors are short public labels (§6.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.spirometry_terms import Sex
from exoneb.assessment.vitals import PLAUSIBLE_RANGES, InspiredOxygen

__all__ = [
    "BORG_ANCHORS",
    "CAT_SOURCE",
    "BorgScore",
    "CatDomain",
    "CatImpact",
    "CatScore",
    "MmrcScore",
    "MmrcVersion",
    "SixMinuteWalk",
    "SixMinuteWalkReference",
    "WalkEquation",
    "cat_impact",
    "score_borg",
    "score_cat",
    "score_mmrc",
    "score_six_minute_walk",
    "six_minute_walk_reference",
]


# --- CAT ------------------------------------------------------------------------------------

CAT_SOURCE = (
    "COPD Assessment Test (© 2009 GSK), 8 items 0–5, total 0–40; impact bands "
    "0–10 low, 11–20 medium, 21–30 high, 31–40 very high (fpnotebook; CCQ comparison) "
    "— clinical.md §6.1 [source]"
)


class CatDomain(StrEnum):
    """The eight CAT items, by domain (the licensed wording is not bundled)."""

    COUGH = "cough"
    PHLEGM = "phlegm"
    CHEST_TIGHTNESS = "chest_tightness"
    BREATHLESSNESS = "breathlessness"
    """Breathlessness on a hill or one flight of stairs."""
    ACTIVITIES = "activities"
    """Activities at home."""
    CONFIDENCE = "confidence"
    """Confidence leaving home."""
    SLEEP = "sleep"
    ENERGY = "energy"


class CatImpact(StrEnum):
    """Impact band of a CAT total."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


@dataclass(frozen=True)
class CatScore:
    """A scored CAT: item scores (what is stored), total and impact band.

    Attributes
    ----------
    items : tuple of (CatDomain, int)
        The eight item scores in questionnaire order.
    total : int
        Sum, 0–40; higher is worse.
    impact : CatImpact
        Band of the total.
    source : str
        Citation of the scoring.
    """

    items: tuple[tuple[CatDomain, int], ...]
    total: int
    impact: CatImpact
    source: str = CAT_SOURCE


def _cat_item(domain: CatDomain, value: object) -> int:
    """Return a valid CAT item score (an integer 0–5) or raise naming the domain."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise AssessmentInputError(
            f"cat.{domain.value}", value, "a whole number from 0 to 5", "Each CAT item is 0–5."
        )
    return value


def cat_impact(total: int) -> CatImpact:
    """Return the impact band of a CAT total (0–10, 11–20, 21–30, 31–40).

    Notes
    -----
    Some sources put the boundaries at <10 / 10–20 / 21–30 / >30
    (``clinical.md`` §6.1); exoneb fixes the table's convention, in which 10 is
    still "low" and 11 is "medium".
    """
    if total <= 10:
        return CatImpact.LOW
    if total <= 20:
        return CatImpact.MEDIUM
    if total <= 30:
        return CatImpact.HIGH
    return CatImpact.VERY_HIGH


def score_cat(items: Mapping[CatDomain | str, int] | Sequence[int]) -> CatScore:
    """Score the COPD Assessment Test from its eight item scores.

    Parameters
    ----------
    items : mapping of domain to int, or sequence of 8 ints
        Item scores 0–5, by domain name (``"cough"``, ``"phlegm"``, …) or in
        questionnaire order. All eight are required: a total from fewer items
        would read as a lower (better) score.

    Returns
    -------
    CatScore

    Raises
    ------
    AssessmentInputError
        For a missing, unknown or repeated item, or an item that is not a whole
        number from 0 to 5.
    """
    domains = list(CatDomain)
    if isinstance(items, Mapping):
        by_domain: dict[CatDomain, object] = {}
        for key, value in items.items():
            try:
                domain = CatDomain(key)
            except ValueError:
                raise AssessmentInputError(
                    "cat", key, f"one of {', '.join(d.value for d in domains)}"
                ) from None
            by_domain[domain] = value
        missing = [d.value for d in domains if d not in by_domain]
        if missing:
            raise AssessmentInputError(
                "cat", ", ".join(missing), "all eight items", "Missing items: " + ", ".join(missing)
            )
        values = [by_domain[d] for d in domains]
    else:
        values = list(items)
        if len(values) != len(domains):
            raise AssessmentInputError("cat", len(values), "8 item scores")
    scored = tuple((d, _cat_item(d, v)) for d, v in zip(domains, values, strict=True))
    total = sum(v for _, v in scored)
    return CatScore(items=scored, total=total, impact=cat_impact(total))


# --- mMRC -----------------------------------------------------------------------------------

_MMRC_SOURCE = (
    "mMRC dyspnoea scale 0–4 (ERR table; CFP, adapted from BMJ 1959) — clinical.md §6.2 [source]"
)

_MMRC_DESCRIPTIONS = (
    "Breathless only with strenuous exercise",
    "Short of breath when hurrying on the level or walking up a slight hill",
    "Walks slower than people of the same age because of breathlessness, or has to stop "
    "for breath when walking at own pace on the level",
    "Stops for breath after walking about 100 m or after a few minutes on the level",
    "Too breathless to leave the house, or breathless when dressing or undressing",
)


class MmrcVersion(StrEnum):
    """Which numbering the grade was recorded in (``clinical.md`` §6.2: store it)."""

    MMRC_0_4 = "mMRC 0-4"
    MRC_1_5 = "MRC 1-5"
    """The original MRC numbering: MRC = mMRC + 1."""


@dataclass(frozen=True)
class MmrcScore:
    """An mMRC dyspnoea grade with the scale version it was entered in.

    Attributes
    ----------
    grade : int
        The mMRC grade, 0–4 (whatever the entry version).
    entered : int
        The number as entered.
    version : MmrcVersion
        The numbering of ``entered``.
    description : str
        The grade's description.
    source : str
        Citation.
    """

    grade: int
    entered: int
    version: MmrcVersion
    description: str
    source: str = _MMRC_SOURCE

    @property
    def mrc_grade(self) -> int:
        """The same grade on the original MRC 1–5 numbering."""
        return self.grade + 1


def score_mmrc(grade: int, version: MmrcVersion | str = MmrcVersion.MMRC_0_4) -> MmrcScore:
    """Record an mMRC dyspnoea grade, converting from the MRC 1–5 numbering if needed.

    Parameters
    ----------
    grade : int
        0–4 for ``mMRC 0-4``, 1–5 for ``MRC 1-5``.
    version : MmrcVersion or str
        The numbering the grade was entered in; stored with the score, because
        "grade 2" means different breathlessness on the two numberings.

    Raises
    ------
    AssessmentInputError
        For an unknown version or a grade outside that version's range.
    """
    try:
        ver = MmrcVersion(version)
    except ValueError:
        raise AssessmentInputError(
            "mmrc_version", version, f"one of {', '.join(v.value for v in MmrcVersion)}"
        ) from None
    low = 0 if ver is MmrcVersion.MMRC_0_4 else 1
    if isinstance(grade, bool) or not isinstance(grade, int) or not low <= grade <= low + 4:
        raise AssessmentInputError(
            "mmrc_grade", grade, f"a whole number from {low} to {low + 4} ({ver.value})"
        )
    mmrc = grade - low
    return MmrcScore(grade=mmrc, entered=grade, version=ver, description=_MMRC_DESCRIPTIONS[mmrc])


# --- modified Borg --------------------------------------------------------------------------

_BORG_SOURCE = (
    "Modified Borg dyspnoea scale 0–10 with 0.5 (studylib; ATS 2002) — clinical.md §6.3 [source]"
)

#: Allowed modified-Borg values and their anchors ("" where the scale has no label).
BORG_ANCHORS: dict[float, str] = {
    0.0: "Nothing at all",
    0.5: "Very, very slight (just noticeable)",
    1.0: "Very slight",
    2.0: "Slight",
    3.0: "Moderate",
    4.0: "Somewhat severe",
    5.0: "Severe",
    6.0: "",
    7.0: "Very severe",
    8.0: "",
    9.0: "Very, very severe (almost maximal)",
    10.0: "Maximal",
}


@dataclass(frozen=True)
class BorgScore:
    """A modified Borg dyspnoea rating (not the 6–20 RPE exertion scale).

    Attributes
    ----------
    value : float
        0, 0.5, 1, 2, …, 10.
    anchor : str
        The scale's label at that value ("" for 6 and 8).
    source : str
        Citation.
    """

    value: float
    anchor: str
    source: str = _BORG_SOURCE


def score_borg(value: float, field: str = "borg") -> BorgScore:
    """Record a modified Borg dyspnoea rating.

    Parameters
    ----------
    value : float
        One of 0, 0.5, 1, 2, …, 10 — the points of the scale (``clinical.md``
        §6.3 lists no other half points).
    field : str
        The name the error carries (e.g. ``borg_after`` within a walk test), so
        a form can show the message next to the right input.

    Raises
    ------
    AssessmentInputError
        For any other value (e.g. 11, −1, 2.5 or a value from the 6–20 RPE scale).
    """
    allowed = "one of 0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssessmentInputError(field, value, allowed)
    number = float(value)
    if number not in BORG_ANCHORS:
        hint = "The 6–20 scale is Borg RPE, not the dyspnoea scale." if number > 10 else ""
        raise AssessmentInputError(field, value, allowed, hint)
    return BorgScore(value=number, anchor=BORG_ANCHORS[number])


# --- six-minute walk ------------------------------------------------------------------------


class WalkEquation(StrEnum):
    """Reference equation for the six-minute walk distance."""

    ENRIGHT_SHERRILL_1998 = "enright-sherrill-1998"
    """Enright PL, Sherrill DL. Am J Respir Crit Care Med 1998;158:1384 (ages 40–80)."""


_ENRIGHT_SOURCE = (
    "Enright & Sherrill, Am J Respir Crit Care Med 1998;158:1384 (ERS table of reference "
    "equations) [source]; LLN = predicted − 153 m (men) / − 139 m (women) [unverified] "
    "— clinical.md §6.4"
)

#: Ages the Enright–Sherrill equations were fitted on (healthy adults).
ENRIGHT_AGE_RANGE = (40.0, 80.0)


@dataclass(frozen=True)
class SixMinuteWalkReference:
    """Predicted six-minute walk distance and its lower limit of normal.

    Attributes
    ----------
    equation : WalkEquation
        The equation used (recorded with the result).
    sex : Sex
    age_years, height_cm, weight_kg : float
        The inputs.
    predicted_m : float
        Predicted distance, metres.
    lln_m : float
        Lower limit of normal, metres.
    source : str
        Citation.
    """

    equation: WalkEquation
    sex: Sex
    age_years: float
    height_cm: float
    weight_kg: float
    predicted_m: float
    lln_m: float
    source: str = _ENRIGHT_SOURCE


def _range_check(field: str, value: float, low: float, high: float, unit: str, hint: str) -> float:
    """Return ``value`` as a float or raise naming the field and range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise AssessmentInputError(field, value, f"{low:g}–{high:g} {unit}", hint)
    return float(value)


def six_minute_walk_reference(
    *,
    sex: Sex | str,
    age_years: float,
    height_cm: float,
    weight_kg: float,
    equation: WalkEquation | str = WalkEquation.ENRIGHT_SHERRILL_1998,
) -> SixMinuteWalkReference:
    """Predicted six-minute walk distance and LLN (Enright & Sherrill 1998).

    Men:   6MWD = 7.57·height − 5.02·age − 1.76·weight − 309;  LLN = 6MWD − 153 m.
    Women: 6MWD = 2.11·height − 2.29·weight − 5.78·age + 667;  LLN = 6MWD − 139 m.

    (height in cm, weight in kg, age in years; ``clinical.md`` §6.4.)

    Parameters
    ----------
    sex : Sex or str
        ``M`` or ``F``.
    age_years : float
        40–80: the ages the equation was fitted on; outside them it is refused
        rather than extrapolated.
    height_cm, weight_kg : float
        120–220 cm and 30–250 kg.
    equation : WalkEquation or str
        Only ``enright-sherrill-1998`` is implemented.

    Raises
    ------
    AssessmentInputError
        For an input outside the equation's range or an unknown equation.
    """
    try:
        eq = WalkEquation(equation)
    except ValueError:
        raise AssessmentInputError(
            "equation", equation, f"one of {', '.join(e.value for e in WalkEquation)}"
        ) from None
    sx = Sex.parse(sex)
    low, high = ENRIGHT_AGE_RANGE
    age = _range_check(
        "age_years",
        age_years,
        low,
        high,
        "years",
        "Enright–Sherrill was fitted on adults aged 40–80; no predicted value outside it.",
    )
    height = _range_check("height_cm", height_cm, 120.0, 220.0, "cm", "")
    weight = _range_check("weight_kg", weight_kg, 30.0, 250.0, "kg", "")
    if sx is Sex.MALE:
        predicted = 7.57 * height - 5.02 * age - 1.76 * weight - 309.0
        lln = predicted - 153.0
    else:
        predicted = 2.11 * height - 2.29 * weight - 5.78 * age + 667.0
        lln = predicted - 139.0
    return SixMinuteWalkReference(
        equation=eq,
        sex=sx,
        age_years=age,
        height_cm=height,
        weight_kg=weight,
        predicted_m=predicted,
        lln_m=lln,
    )


_DESATURATION_SOURCE = (
    "exercise desaturation: fall ≥ 4 points and/or to ≤ 88 % (Folia Med; ERJ ILD letter) "
    "— clinical.md §4.3 [source]"
)


@dataclass(frozen=True)
class SixMinuteWalk:
    """One six-minute walk test with its derived values.

    Attributes
    ----------
    distance_m : float
        Distance walked, metres.
    spo2_baseline_percent, spo2_nadir_percent : float or None
        Resting SpO2 before the walk and the lowest SpO2 during it.
    borg_before, borg_after : BorgScore or None
        Dyspnoea before and after the walk.
    inspired_oxygen : InspiredOxygen
        Room air or the oxygen carried during the walk.
    reference : SixMinuteWalkReference or None
        Predicted value and LLN; ``None`` when not computed (see ``notes``).
    notes : tuple of str
        Why a derived value is missing.
    heart_rate_before_bpm, heart_rate_after_bpm : float or None
        Heart rate before and at the end of the walk.
    laps, stops : int or None
        Laps of the corridor and rests taken (ATS 2002 records both; ``clinical.md`` §7).
    """

    distance_m: float
    spo2_baseline_percent: float | None
    spo2_nadir_percent: float | None
    borg_before: BorgScore | None
    borg_after: BorgScore | None
    inspired_oxygen: InspiredOxygen
    reference: SixMinuteWalkReference | None
    notes: tuple[str, ...] = ()
    heart_rate_before_bpm: float | None = None
    heart_rate_after_bpm: float | None = None
    laps: int | None = None
    stops: int | None = None

    @property
    def percent_predicted(self) -> float | None:
        """Distance as a percentage of the predicted distance."""
        if self.reference is None:
            return None
        return 100.0 * self.distance_m / self.reference.predicted_m

    @property
    def below_lln(self) -> bool | None:
        """True when the distance is below the lower limit of normal (``None`` if unknown)."""
        if self.reference is None:
            return None
        return self.distance_m < self.reference.lln_m

    @property
    def exertional_desaturation(self) -> bool | None:
        """SpO2 fell by ≥ 4 points or to ≤ 88 % (``None`` without a nadir)."""
        if self.spo2_nadir_percent is None:
            return None
        if self.spo2_nadir_percent <= 88.0:
            return True
        if self.spo2_baseline_percent is None:
            return None
        return self.spo2_baseline_percent - self.spo2_nadir_percent >= 4.0

    @property
    def desaturation_source(self) -> str:
        """Citation of :attr:`exertional_desaturation`."""
        return _DESATURATION_SOURCE

    @property
    def distance_saturation_product(self) -> float | None:
        """Distance × lowest SpO2 as a fraction (m), from the ERR table (§6.4)."""
        if self.spo2_nadir_percent is None:
            return None
        return self.distance_m * self.spo2_nadir_percent / 100.0


def score_six_minute_walk(
    *,
    distance_m: float,
    inspired_oxygen: InspiredOxygen,
    sex: Sex | str | None = None,
    age_years: float | None = None,
    height_cm: float | None = None,
    weight_kg: float | None = None,
    spo2_baseline_percent: float | None = None,
    spo2_nadir_percent: float | None = None,
    borg_before: float | None = None,
    borg_after: float | None = None,
    heart_rate_before_bpm: float | None = None,
    heart_rate_after_bpm: float | None = None,
    laps: int | None = None,
    stops: int | None = None,
) -> SixMinuteWalk:
    """Record a six-minute walk test and compare it with the Enright–Sherrill prediction.

    The walk itself is always recorded. Its predicted value needs sex, age,
    height and weight within the equation's range; if any is missing or out of
    range, ``reference`` is ``None`` and ``notes`` says why, so the distance is
    never compared with an extrapolated prediction.

    Parameters
    ----------
    distance_m : float
        0–1000 m (a 30 m corridor for 6 min at a fast walk is well under 1000 m).
    inspired_oxygen : InspiredOxygen
        Room air or the oxygen carried during the walk.
    sex, age_years, height_cm, weight_kg : optional
        Inputs of :func:`six_minute_walk_reference`.
    spo2_baseline_percent, spo2_nadir_percent : float, optional
        50–100 %; the nadir cannot exceed the baseline.
    borg_before, borg_after : float, optional
        Modified Borg ratings (:func:`score_borg`).
    heart_rate_before_bpm, heart_rate_after_bpm : float, optional
        20–250 /min, as for the vital signs.
    laps, stops : int, optional
        Whole numbers, 0–100.

    Raises
    ------
    AssessmentInputError
        For a distance, SpO2 or Borg value that is not possible.
    """
    distance = _range_check("distance_m", distance_m, 0.0, 1000.0, "m", "Enter metres walked.")
    spo2 = {
        name: _range_check(name, value, 50.0, 100.0, "%", "") if value is not None else None
        for name, value in (
            ("spo2_baseline_percent", spo2_baseline_percent),
            ("spo2_nadir_percent", spo2_nadir_percent),
        )
    }
    base, nadir = spo2["spo2_baseline_percent"], spo2["spo2_nadir_percent"]
    if base is not None and nadir is not None and nadir > base:
        raise AssessmentInputError(
            "spo2_nadir_percent",
            spo2_nadir_percent,
            f"≤ the baseline SpO2 ({spo2_baseline_percent!r} %)",
            "The lowest SpO2 during the walk cannot be above the resting value; check the entry.",
        )
    reference: SixMinuteWalkReference | None = None
    notes: list[str] = []
    if sex is None or age_years is None or height_cm is None or weight_kg is None:
        inputs = {
            "sex": sex,
            "age_years": age_years,
            "height_cm": height_cm,
            "weight_kg": weight_kg,
        }
        missing = [name for name, value in inputs.items() if value is None]
        notes.append("No predicted distance: missing " + ", ".join(missing) + ".")
    else:
        try:
            reference = six_minute_walk_reference(
                sex=sex, age_years=age_years, height_cm=height_cm, weight_kg=weight_kg
            )
        except AssessmentInputError as exc:
            notes.append(f"No predicted distance: {exc}")
    return SixMinuteWalk(
        distance_m=distance,
        spo2_baseline_percent=base,
        spo2_nadir_percent=nadir,
        borg_before=None if borg_before is None else score_borg(borg_before, "borg_before"),
        borg_after=None if borg_after is None else score_borg(borg_after, "borg_after"),
        inspired_oxygen=inspired_oxygen,
        reference=reference,
        notes=tuple(notes),
        heart_rate_before_bpm=_heart_rate("heart_rate_before_bpm", heart_rate_before_bpm),
        heart_rate_after_bpm=_heart_rate("heart_rate_after_bpm", heart_rate_after_bpm),
        laps=_count("laps", laps),
        stops=_count("stops", stops),
    )


def _heart_rate(field: str, value: float | None) -> float | None:
    """A heart rate within the vital-sign plausibility range, or ``None``."""
    return None if value is None else PLAUSIBLE_RANGES["heart_rate_bpm"].check(field, value)


def _count(field: str, value: int | None) -> int | None:
    """A whole number 0–100, or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise AssessmentInputError(field, value, "a whole number from 0 to 100")
    return value
