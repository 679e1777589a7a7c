"""Spirometry quality by the ATS/ERS 2019 standard: manoeuvre acceptability and A–F/U grades.

Each manoeuvre is kept as a record so the grade can be recomputed later. The
grade is given separately for FEV1 and FVC, from the *acceptable* manoeuvres
only, by how close the two largest values are (repeatability)::

    grade  manoeuvres                       age > 6 y     age ≤ 6 y*
    A      ≥ 3 acceptable                   ≤ 0.150 L     ≤ 0.100 L
    B      2 acceptable                     ≤ 0.150 L     ≤ 0.100 L
    C      ≥ 2 acceptable                   ≤ 0.200 L     ≤ 0.150 L
    D      ≥ 2 acceptable                   ≤ 0.250 L     ≤ 0.200 L
    E      ≥ 2 acceptable                   > 0.250 L     > 0.200 L
           or only 1 acceptable
    U      0 acceptable and ≥ 1 usable
    F      0 acceptable and 0 usable

    * or 10 % of the highest value, whichever is greater.

The reported value is the largest acceptable FEV1 and the largest acceptable
FVC, which may come from different manoeuvres; with grade U, the largest usable.

The acceptability and usability criteria (Table 7) are taken from
``spirometry.md`` §2.2, which marks their wording as not yet checked against the
paper; the split between "acceptable" and "usable" columns below follows the
2019 statement's Table 7 as commonly reproduced and should be verified there.

References
----------
.. [1] Graham BL, Steenbruggen I, Miller MR, et al. Standardization of Spirometry
   2019 Update. An Official ATS/ERS Technical Statement. Am J Respir Crit Care
   Med 2019;200(8):e70–e88, Tables 7 and 10. doi:10.1164/rccm.201908-1590ST
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from exoneb.assessment.errors import AssessmentInputError

__all__ = [
    "Grade",
    "Manoeuvre",
    "ManoeuvreCriteria",
    "ParameterGrade",
    "SpirometryQuality",
    "assess_manoeuvre",
    "grade_parameter",
    "grade_test",
    "repeatability_limits",
]

#: Age at or below which the paediatric (≤ 6 y) limits apply.
CHILD_MAX_AGE_YEARS = 6.0
_TOLERANCE_L = 1e-9  # 4.50 − 4.35 is 0.15000000000000036 in binary floating point


class Grade(StrEnum):
    """ATS/ERS 2019 grade of one parameter of a test (Table 10)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    U = "U"
    F = "F"


@dataclass(frozen=True)
class Manoeuvre:
    """One forced expiratory manoeuvre as stored: values and per-parameter status.

    Attributes
    ----------
    fev1_l, fvc_l : float
        FEV1 and FVC of this manoeuvre, litres.
    fev1_acceptable, fvc_acceptable : bool
        Meets all acceptability criteria for that parameter.
    fev1_usable, fvc_usable : bool
        Meets the usability criteria (an acceptable value is always usable).
    reasons : tuple of str
        Criteria that failed, for the record and the operator.
    criteria : ManoeuvreCriteria or None
        The raw measurements the status was derived from (:func:`assess_manoeuvre`),
        kept so the status can be recomputed; None when entered by the operator.
    """

    fev1_l: float
    fvc_l: float
    fev1_acceptable: bool
    fvc_acceptable: bool
    fev1_usable: bool
    fvc_usable: bool
    reasons: tuple[str, ...] = ()
    criteria: ManoeuvreCriteria | None = None

    def __post_init__(self) -> None:
        """Reject impossible values and an acceptable value that is not usable."""
        for name in ("fev1_l", "fvc_l"):
            value = getattr(self, name)
            if not 0.0 < value <= 12.0:
                raise AssessmentInputError(name, value, "> 0 and ≤ 12 L")
        for p in ("fev1", "fvc"):
            if getattr(self, f"{p}_acceptable") and not getattr(self, f"{p}_usable"):
                raise AssessmentInputError(
                    f"{p}_usable", False, "True when the value is acceptable"
                )


@dataclass(frozen=True)
class ManoeuvreCriteria:
    """Raw measurements and flags of one manoeuvre, to derive acceptability (Table 7).

    Attributes
    ----------
    fev1_l, fvc_l : float
        Litres.
    bev_l : float
        Back-extrapolated volume, litres.
    fet_s : float
        Forced expiratory time, seconds.
    plateau : bool
        ≤ 0.025 L volume change in the last 1 s of expiration.
    fivc_l : float or None
        Forced inspiratory vital capacity after the expiration (None: not measured).
    cough_first_second, glottic_closure_first_second, glottic_closure_after_first_second,
    leak, obstructed_mouthpiece, faulty_zero_flow : bool
        Faults flagged by the device or the operator.
    pef_l_s : float or None
        Peak expiratory flow, L/s (stored with the manoeuvre; not used for grading).
    """

    fev1_l: float
    fvc_l: float
    bev_l: float
    fet_s: float
    plateau: bool
    fivc_l: float | None = None
    cough_first_second: bool = False
    glottic_closure_first_second: bool = False
    glottic_closure_after_first_second: bool = False
    leak: bool = False
    obstructed_mouthpiece: bool = False
    faulty_zero_flow: bool = False
    pef_l_s: float | None = None


def _repeat_tolerance(age: float, largest: float) -> float:
    """FVC repeatability tolerance for the EOFE indicator: 0.150 L, or ≤ 6 y max(0.100 L, 10 %)."""
    if age <= CHILD_MAX_AGE_YEARS:
        return max(0.100, 0.10 * largest)
    return 0.150


def assess_manoeuvre(
    criteria: ManoeuvreCriteria, *, age: float, largest_prior_fvc_l: float | None = None
) -> Manoeuvre:
    """Derive per-parameter acceptability and usability from the raw criteria.

    Parameters
    ----------
    criteria : ManoeuvreCriteria
        The manoeuvre's values and flags.
    age : float
        Age in years (sets the repeatability tolerance used by the third EOFE indicator).
    largest_prior_fvc_l : float, optional
        Largest FVC of the earlier manoeuvres of the same test.

    Returns
    -------
    Manoeuvre
        With the failed criteria listed in ``reasons``.

    Notes
    -----
    Criteria (``spirometry.md`` §2.2; Graham 2019 Table 7, to be verified there),
    with the columns they are required for (FEV1 acc., FEV1 usable, FVC acc.,
    FVC usable):

    - BEV ≤ max(5 % of FVC, 0.100 L): all four;
    - no faulty zero-flow setting: all four;
    - no cough in the first second: all four;
    - no glottic closure in the first second: all four;
    - no glottic closure after the first second: FVC acceptable and usable;
    - end of forced expiration (EOFE): FVC acceptable only;
    - no leak, no obstructed mouthpiece: FEV1 and FVC acceptable;
    - maximal inspiration, FIVC − FVC ≤ max(0.100 L, 5 % of FVC): FEV1 and FVC
      acceptable.

    EOFE is any of: a plateau (≤ 0.025 L in the last 1 s), FET ≥ 15 s, or an FVC
    within the repeatability tolerance of, or greater than, the largest prior FVC.
    """
    c = criteria
    fails_all: list[str] = []  # failing these makes the value neither acceptable nor usable
    fails_fvc_usable: list[str] = []  # FVC only, both acceptability and usability
    fails_acceptable: list[str] = []  # both parameters, acceptability only
    fails_fvc_acceptable: list[str] = []  # FVC acceptability only

    bev_limit = max(0.05 * c.fvc_l, 0.100)
    if c.bev_l > bev_limit + _TOLERANCE_L:
        fails_all.append(f"back-extrapolated volume {c.bev_l:.3f} L > {bev_limit:.3f} L")
    if c.faulty_zero_flow:
        fails_all.append("faulty zero-flow setting")
    if c.cough_first_second:
        fails_all.append("cough in the first second")
    if c.glottic_closure_first_second:
        fails_all.append("glottic closure in the first second")
    if c.glottic_closure_after_first_second:
        fails_fvc_usable.append("glottic closure after the first second")
    if c.leak:
        fails_acceptable.append("leak")
    if c.obstructed_mouthpiece:
        fails_acceptable.append("obstructed mouthpiece")
    if c.fivc_l is not None:
        limit = max(0.100, 0.05 * c.fvc_l)
        if c.fivc_l - c.fvc_l > limit + _TOLERANCE_L:
            fails_acceptable.append(
                f"inspiration not maximal: FIVC − FVC {c.fivc_l - c.fvc_l:.3f} L > {limit:.3f} L"
            )
    eofe = c.plateau or c.fet_s >= 15.0
    if not eofe and largest_prior_fvc_l is not None:
        tolerance = _repeat_tolerance(age, max(largest_prior_fvc_l, c.fvc_l))
        eofe = c.fvc_l >= largest_prior_fvc_l - tolerance - _TOLERANCE_L
    if not eofe:
        fails_fvc_acceptable.append(
            "no end of forced expiration (no plateau, FET < 15 s, FVC not repeatable)"
        )

    fev1_usable = not fails_all
    fvc_usable = fev1_usable and not fails_fvc_usable
    return Manoeuvre(
        fev1_l=c.fev1_l,
        fvc_l=c.fvc_l,
        fev1_acceptable=fev1_usable and not fails_acceptable,
        fvc_acceptable=fvc_usable and not fails_acceptable and not fails_fvc_acceptable,
        fev1_usable=fev1_usable,
        fvc_usable=fvc_usable,
        reasons=tuple(fails_all + fails_fvc_usable + fails_acceptable + fails_fvc_acceptable),
        criteria=c,
    )


def repeatability_limits(age: float, highest_l: float) -> tuple[float, float, float]:
    """Return the (A/B, C, D) repeatability limits in litres for ``age``.

    Parameters
    ----------
    age : float
        Age in years.
    highest_l : float
        Highest acceptable value of the parameter, litres (sets the 10 % limit).

    Returns
    -------
    tuple of float
        Older than 6 y: 0.150, 0.200, 0.250 L. Aged 6 y or younger: 0.100, 0.150,
        0.200 L or 10 % of the highest value, whichever is greater (Table 10
        footnote), because small children's volumes make fixed limits too strict.
    """
    if not 0.0 < age <= 120.0:
        raise AssessmentInputError("age", age, "> 0 and ≤ 120 years")
    if age <= CHILD_MAX_AGE_YEARS:
        floor = 0.10 * highest_l
        return max(0.100, floor), max(0.150, floor), max(0.200, floor)
    return 0.150, 0.200, 0.250


@dataclass(frozen=True)
class ParameterGrade:
    """Grade of one parameter with the numbers behind it.

    Attributes
    ----------
    parameter : str
        ``"fev1"`` or ``"fvc"``.
    grade : Grade
    n_acceptable, n_usable : int
        Counts of manoeuvres (usable includes acceptable).
    repeatability_l : float or None
        Largest minus second-largest acceptable value (None with fewer than 2).
    limits_l : tuple of float
        The (A/B, C, D) limits used for this age.
    reported_l : float or None
        Largest acceptable value (largest usable for grade U; None for F).
    rule : str
        The row of Table 10 that gave the grade.
    """

    parameter: str
    grade: Grade
    n_acceptable: int
    n_usable: int
    repeatability_l: float | None
    limits_l: tuple[float, float, float]
    reported_l: float | None
    rule: str


@dataclass(frozen=True)
class SpirometryQuality:
    """Quality grades of one test: FEV1 and FVC graded separately."""

    fev1: ParameterGrade
    fvc: ParameterGrade


def grade_parameter(manoeuvres: Sequence[Manoeuvre], parameter: str, age: float) -> ParameterGrade:
    """Grade FEV1 or FVC of a test by ATS/ERS 2019 Table 10.

    Parameters
    ----------
    manoeuvres : sequence of Manoeuvre
        All manoeuvres of the test, in order.
    parameter : {"fev1", "fvc"}
    age : float
        Age in years (> 6 y or ≤ 6 y limits).

    Returns
    -------
    ParameterGrade
        The grade, counts, spread, limits, reported value and the Table 10 row used.

    Notes
    -----
    Differences are compared with a 1e-9 L tolerance, so that 4.50 − 4.35 L
    (0.15000000000000036 in binary) is "within 0.150 L" as a clinician reads it.
    """
    if parameter not in ("fev1", "fvc"):
        raise AssessmentInputError("parameter", parameter, "'fev1' or 'fvc'")
    acceptable = sorted(
        (getattr(m, f"{parameter}_l") for m in manoeuvres if getattr(m, f"{parameter}_acceptable")),
        reverse=True,
    )
    usable = sorted(
        (getattr(m, f"{parameter}_l") for m in manoeuvres if getattr(m, f"{parameter}_usable")),
        reverse=True,
    )
    n_acc, n_use = len(acceptable), len(usable)
    limits = repeatability_limits(age, acceptable[0] if acceptable else 0.0)
    band = "age ≤ 6 y" if age <= CHILD_MAX_AGE_YEARS else "age > 6 y"

    def result(grade: Grade, rule: str, spread: float | None = None) -> ParameterGrade:
        reported = acceptable[0] if acceptable else (usable[0] if usable else None)
        return ParameterGrade(parameter, grade, n_acc, n_use, spread, limits, reported, rule)

    if n_acc == 0:
        if n_use > 0:
            return result(Grade.U, "0 acceptable and ≥ 1 usable manoeuvre")
        return result(Grade.F, "0 acceptable and 0 usable manoeuvres")
    if n_acc == 1:
        return result(Grade.E, "only 1 acceptable manoeuvre")
    spread = acceptable[0] - acceptable[1]
    ab, c, d = limits
    if spread <= ab + _TOLERANCE_L:
        if n_acc >= 3:
            return result(Grade.A, f"≥ 3 acceptable, within {ab:.3f} L ({band})", spread)
        return result(Grade.B, f"2 acceptable, within {ab:.3f} L ({band})", spread)
    if spread <= c + _TOLERANCE_L:
        return result(Grade.C, f"≥ 2 acceptable, within {c:.3f} L ({band})", spread)
    if spread <= d + _TOLERANCE_L:
        return result(Grade.D, f"≥ 2 acceptable, within {d:.3f} L ({band})", spread)
    return result(Grade.E, f"≥ 2 acceptable, more than {d:.3f} L apart ({band})", spread)


def grade_test(manoeuvres: Sequence[Manoeuvre], age: float) -> SpirometryQuality:
    """Grade FEV1 and FVC of one test separately (see :func:`grade_parameter`).

    Parameters
    ----------
    manoeuvres : sequence of Manoeuvre
        All manoeuvres of the test.
    age : float
        Age in years.

    Returns
    -------
    SpirometryQuality
    """
    return SpirometryQuality(
        fev1=grade_parameter(manoeuvres, "fev1", age),
        fvc=grade_parameter(manoeuvres, "fvc", age),
    )
