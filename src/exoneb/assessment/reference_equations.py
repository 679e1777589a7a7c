"""GLI spirometry reference equations: predicted value, LLN, ULN, z-score and % predicted.

Both GLI equations use Cole's LMS model. For a sex, parameter, age *a* (years)
and height *h* (cm)::

    L = q0 + q1·ln(a) + Lspline(a)
    M = exp(a0 + a1·ln(h) + a2·ln(a) + a3·AfrAm + a4·NEAsia + a5·SEAsia + a6·Other + Mspline(a))
    S = exp(p0 + p1·ln(a)             + p2·AfrAm + p3·NEAsia + p4·SEAsia + p5·Other + Sspline(a))

GLI Global 2022 has no ethnic terms (all 0) and, in its tables, all L splines are
0; GLI-2012 has them (Caucasian is the baseline). The splines are interpolated
linearly between the quarter-year rows, as the GLI-2012 online supplement
(section 4) prescribes and pyspiro and spiro-zscore do; rspiro does not for GLI
Global, which makes it differ by up to 0.004 in z at non-quarter ages
(``spirometry.md`` §1.1). Then::

    z    = ((y/M)^L − 1) / (L·S)          (ln(y/M)/S when L = 0)
    y(z) = M·(1 + L·S·z)^(1/L)            LLN = y(−1.645), ULN = y(+1.645)
    %pred = 100·y/M

The constant 1.645 is used, as in rspiro, pyspiro and spiro-zscore, so that our
numbers agree with theirs exactly.

The core (:func:`lms`, :func:`z_score`, :func:`centile_value`) is vectorised over
ages and heights. :func:`reference_values` and :func:`score` wrap it for one
person and return frozen records that carry the equation, table version and
inputs, so every stored value is reproducible.

References
----------
.. [1] Quanjer PH et al. Eur Respir J 2012;40:1324–43. doi:10.1183/09031936.00080312
.. [2] Bowerman C et al. Am J Respir Crit Care Med 2023;207:768–74.
   doi:10.1164/rccm.202205-0963OC
.. [3] Cole TJ, Green PJ. Smoothing reference centile curves: the LMS method and
   penalized likelihood. Stat Med 1992;11:1305–19.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.gli_tables import ReferenceTable, TableVersion, load_reference_table
from exoneb.assessment.spirometry_terms import Equation, Ethnicity, Parameter, Sex

__all__ = [
    "DEFAULT_EQUATION",
    "HEIGHT_RANGE_CM",
    "PLAUSIBLE_HEIGHT_CM",
    "Z_LIMIT",
    "ReferenceInputs",
    "ReferenceValues",
    "ScoredValue",
    "age_years",
    "centile_value",
    "lms",
    "reference_values",
    "score",
    "z_score",
]

#: GLI Global is the default: race-neutral (ATS statement, Bhakta 2023) and covers 3–95 y.
DEFAULT_EQUATION = Equation.GLI_GLOBAL

#: |z| at the 5th/95th centile used for LLN and ULN (rspiro, pyspiro, spiro-zscore).
Z_LIMIT = 1.645

#: Heights accepted (cm). The GLI equations do not restrict height; this range
#: rejects unit mistakes (metres, inches) while admitting every real patient.
HEIGHT_RANGE_CM = (80.0, 250.0)

#: Heights outside this range are scored but carry a warning (``spirometry.md`` §1.1).
PLAUSIBLE_HEIGHT_CM = (100.0, 220.0)

#: Upper bound of a measured value, per parameter, to catch unit mistakes (mL, %).
_MEASURED_MAX: dict[Parameter, tuple[float, str]] = {
    Parameter.FEV1: (12.0, "litres, not millilitres"),
    Parameter.FVC: (12.0, "litres, not millilitres"),
    Parameter.FEV1_FVC: (1.0, "a fraction between 0 and 1, not a percentage"),
    Parameter.FEF25_75: (20.0, "L/s"),
}

_DAYS_PER_YEAR = 365.25


def age_years(date_of_birth: date, test_date: date) -> float:
    """Return the decimal age on the test date, in years.

    Parameters
    ----------
    date_of_birth, test_date : datetime.date
        Calendar dates (a ``datetime`` is reduced to its date).

    Returns
    -------
    float
        ``(test_date − date_of_birth) in days / 365.25``, unrounded: the GLI
        equations take a decimal age, and rounding it would move the spline
        interpolation; the GLI calculators use the same 365.25-day year.

    Raises
    ------
    AssessmentInputError
        If the test date is before the date of birth.
    """
    dob = date_of_birth.date() if isinstance(date_of_birth, datetime) else date_of_birth
    test = test_date.date() if isinstance(test_date, datetime) else test_date
    days = (test - dob).days
    if days < 0:
        raise AssessmentInputError(
            "test_date",
            test.isoformat(),
            f"a date on or after the date of birth {dob.isoformat()}",
        )
    return days / _DAYS_PER_YEAR


def _check_range(
    field: str, values: NDArray[np.float64], low: float, high: float, unit: str
) -> None:
    """Raise for the first element of ``values`` outside ``[low, high]`` or not finite."""
    bad = ~np.isfinite(values) | (values < low) | (values > high)
    if np.any(bad):
        first = float(values[np.flatnonzero(bad)[0]])
        raise AssessmentInputError(field, first, f"{low:g}–{high:g} {unit}")


def _resolve_ethnicity(equation: Equation, ethnicity: Ethnicity | str | None) -> Ethnicity | None:
    """Require an ethnic group for GLI-2012 and refuse one for the race-neutral GLI Global."""
    if equation is Equation.GLI_2012:
        if ethnicity is None:
            raise AssessmentInputError(
                "ethnicity",
                None,
                f"one of {', '.join(e.value for e in Ethnicity)} for GLI-2012",
                "GLI-2012 has ethnic-specific equations; use gli-global for a race-neutral one.",
            )
        return Ethnicity.parse(ethnicity)
    if ethnicity is not None:
        raise AssessmentInputError(
            "ethnicity",
            str(ethnicity),
            "no ethnicity with gli-global",
            "GLI Global is race-neutral; ethnic groups exist only in gli-2012.",
        )
    return None


def _table_for(equation: Equation, parameter: Parameter) -> ReferenceTable:
    """Load the table of ``equation`` and check it provides ``parameter``."""
    table = load_reference_table(equation)
    if parameter not in table.parameters:
        raise AssessmentInputError(
            "parameter",
            parameter.value,
            f"one of {', '.join(p.value for p in table.parameters)} for {equation.value}",
        )
    return table


def lms(
    parameter: Parameter | str,
    sex: Sex | str,
    age: ArrayLike,
    height_cm: ArrayLike,
    equation: Equation | str = DEFAULT_EQUATION,
    ethnicity: Ethnicity | str | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Return the LMS triplet (L, M, S) for one sex and parameter, vectorised over age and height.

    Parameters
    ----------
    parameter : Parameter or str
        ``fev1``, ``fvc``, ``fev1_fvc`` (both equations) or ``fef25_75`` (GLI-2012).
    sex : Sex or str
        Sex for the reference equation (``M``/``F``).
    age : array_like
        Decimal age in years, within the table range (3–95; FEF25–75 3–90).
    height_cm : array_like
        Standing height in cm, within :data:`HEIGHT_RANGE_CM`; broadcast against ``age``.
    equation : Equation or str
        ``gli-global`` (default) or ``gli-2012``.
    ethnicity : Ethnicity or str, optional
        Required for GLI-2012, refused for GLI Global.

    Returns
    -------
    L, M, S : ndarray
        Box-Cox power, median (the predicted value, in the parameter's unit) and
        coefficient of variation, each of the broadcast shape of ``age`` and ``height_cm``.

    Raises
    ------
    AssessmentInputError
        For an unknown parameter, sex, equation or ethnicity, or an age or height
        out of range (the message names the field, the value and the range).
    """
    eq = Equation.parse(equation)
    param = _parse_parameter(parameter)
    sx = Sex.parse(sex)
    group = _resolve_ethnicity(eq, ethnicity)
    table = _table_for(eq, param)
    splines = table.splines[(sx, param)]
    coef = table.coefficients[(sx, param)]

    ages, heights = np.broadcast_arrays(
        np.asarray(age, dtype=np.float64), np.asarray(height_cm, dtype=np.float64)
    )
    low, high = splines.age_range
    _check_range("age", np.atleast_1d(ages), low, high, f"years ({eq.value}, {param.label})")
    _check_range("height_cm", np.atleast_1d(heights), *HEIGHT_RANGE_CM, "cm")

    lspl = np.interp(ages, splines.ages, splines.lspline)
    mspl = np.interp(ages, splines.ages, splines.mspline)
    sspl = np.interp(ages, splines.ages, splines.sspline)
    indicators = np.array(group.indicators if group is not None else (0.0, 0.0, 0.0, 0.0))
    a = np.array(coef.a)
    p = np.array(coef.p)
    ln_age = np.log(ages)
    l_ = coef.q[0] + coef.q[1] * ln_age + lspl
    m_ = np.exp(a[0] + a[1] * np.log(heights) + a[2] * ln_age + a[3:] @ indicators + mspl)
    s_ = np.exp(p[0] + p[1] * ln_age + p[2:] @ indicators + sspl)
    return (
        np.asarray(l_, dtype=np.float64),
        np.asarray(m_, dtype=np.float64),
        np.asarray(s_, dtype=np.float64),
    )


def z_score(
    measured: ArrayLike, l_: ArrayLike, m_: ArrayLike, s_: ArrayLike
) -> NDArray[np.float64]:
    """Return the LMS z-score of ``measured`` (Cole 1992), vectorised.

    Parameters
    ----------
    measured : array_like
        Measured values in the parameter's unit (L, L/s or a fraction).
    l_, m_, s_ : array_like
        LMS triplet from :func:`lms`, broadcast against ``measured``.

    Returns
    -------
    ndarray
        ``((y/M)^L − 1)/(L·S)``, or ``ln(y/M)/S`` where ``L == 0`` (the Box-Cox
        limit; no GLI table has L = 0, but the formula must not divide by zero).
    """
    y = np.asarray(measured, dtype=np.float64)
    l_arr = np.asarray(l_, dtype=np.float64)
    m_arr = np.asarray(m_, dtype=np.float64)
    s_arr = np.asarray(s_, dtype=np.float64)
    ratio = y / m_arr
    zero = l_arr == 0.0
    safe_l = np.where(zero, 1.0, l_arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        power = (ratio**safe_l - 1.0) / (safe_l * s_arr)
        log = np.log(ratio) / s_arr
    return np.asarray(np.where(zero, log, power), dtype=np.float64)


def centile_value(z: ArrayLike, l_: ArrayLike, m_: ArrayLike, s_: ArrayLike) -> NDArray[np.float64]:
    """Return the value at z-score ``z`` (the inverse of :func:`z_score`), vectorised.

    Parameters
    ----------
    z : array_like
        z-score; −1.645 gives the LLN and +1.645 the ULN.
    l_, m_, s_ : array_like
        LMS triplet from :func:`lms`.

    Returns
    -------
    ndarray
        ``M·(1 + L·S·z)^(1/L)``, or ``M·exp(S·z)`` where ``L == 0``.
    """
    z_arr = np.asarray(z, dtype=np.float64)
    l_arr = np.asarray(l_, dtype=np.float64)
    m_arr = np.asarray(m_, dtype=np.float64)
    s_arr = np.asarray(s_, dtype=np.float64)
    zero = l_arr == 0.0
    safe_l = np.where(zero, 1.0, l_arr)
    with np.errstate(invalid="ignore"):
        power = m_arr * (1.0 + safe_l * s_arr * z_arr) ** (1.0 / safe_l)
    return np.asarray(np.where(zero, m_arr * np.exp(s_arr * z_arr), power), dtype=np.float64)


def _parse_parameter(value: Parameter | str) -> Parameter:
    """Return the :class:`Parameter` for ``value`` or raise naming the valid set."""
    if isinstance(value, Parameter):
        return value
    text = str(value).strip().lower().replace("/", "_").replace("-", "_")
    for member in Parameter:
        if member.value == text:
            return member
    raise AssessmentInputError(
        "parameter", value, f"one of {', '.join(p.value for p in Parameter)}"
    )


@dataclass(frozen=True)
class ReferenceInputs:
    """The inputs a reference value was computed from (stored with every value)."""

    equation: Equation
    parameter: Parameter
    sex: Sex
    age_years: float
    height_cm: float
    ethnicity: Ethnicity | None = None


@dataclass(frozen=True)
class ReferenceValues:
    """Predicted value and limits of normal for one person and parameter.

    Attributes
    ----------
    inputs : ReferenceInputs
        Equation, parameter, sex, age, height and ethnic group used.
    table_version : TableVersion
        The exact lookup tables (file names and sha256).
    l, m, s : float
        The LMS triplet.
    predicted : float
        The median M, in the parameter's unit (L, L/s or a fraction).
    lln, uln : float
        The 5th and 95th centiles (z = ∓1.645).
    warnings : tuple of str
        Notes that do not stop the calculation (e.g. an unusual height).
    """

    inputs: ReferenceInputs
    table_version: TableVersion
    l: float  # noqa: E741  (the LMS model's own name)
    m: float
    s: float
    predicted: float
    lln: float
    uln: float
    warnings: tuple[str, ...] = ()

    @property
    def parameter(self) -> Parameter:
        """The parameter these values are for."""
        return self.inputs.parameter

    def z(self, measured: float) -> float:
        """Return the z-score of ``measured`` against these reference values."""
        return float(z_score(measured, self.l, self.m, self.s))

    def percent_predicted(self, measured: float) -> float:
        """Return ``100·measured/predicted`` (unrounded)."""
        return 100.0 * measured / self.predicted

    def score(self, measured: float) -> ScoredValue:
        """Return the z-score and % predicted of ``measured`` as a :class:`ScoredValue`."""
        value = _check_measured(self.parameter, measured)
        return ScoredValue(
            reference=self,
            measured=value,
            z=self.z(value),
            percent_predicted=self.percent_predicted(value),
        )


@dataclass(frozen=True)
class ScoredValue:
    """A measured value scored against its reference values.

    Attributes
    ----------
    reference : ReferenceValues
        Predicted, LLN, ULN and the equation, table version and inputs behind them.
    measured : float
        The measured value in the parameter's unit.
    z : float
        LMS z-score; below the LLN when ``z < −1.645``.
    percent_predicted : float
        ``100·measured/predicted``, unrounded (pyspiro rounds to 2 decimals).
    """

    reference: ReferenceValues
    measured: float
    z: float
    percent_predicted: float

    @property
    def parameter(self) -> Parameter:
        """The parameter scored."""
        return self.reference.parameter

    @property
    def predicted(self) -> float:
        """The predicted (median) value."""
        return self.reference.predicted

    @property
    def lln(self) -> float:
        """Lower limit of normal (5th centile)."""
        return self.reference.lln

    @property
    def uln(self) -> float:
        """Upper limit of normal (95th centile)."""
        return self.reference.uln


def _check_measured(parameter: Parameter, measured: float) -> float:
    """Return ``measured`` as a float, or raise if it is not a plausible value in the right unit."""
    high, unit = _MEASURED_MAX[parameter]
    value = float(measured)
    if not math.isfinite(value) or value <= 0.0 or value > high:
        raise AssessmentInputError(parameter.value, measured, f"> 0 and ≤ {high:g} ({unit})")
    return value


def reference_values(
    parameter: Parameter | str,
    *,
    sex: Sex | str,
    age: float,
    height_cm: float,
    equation: Equation | str = DEFAULT_EQUATION,
    ethnicity: Ethnicity | str | None = None,
) -> ReferenceValues:
    """Return predicted value, LLN and ULN for one person and parameter.

    Parameters
    ----------
    parameter : Parameter or str
        ``fev1``, ``fvc``, ``fev1_fvc`` or (GLI-2012 only) ``fef25_75``.
    sex : Sex or str
        Sex for the reference equation (``M``/``F``).
    age : float
        Decimal age in years (see :func:`age_years`); 3–95 (FEF25–75: 3–90).
    height_cm : float
        Standing height in cm (:data:`HEIGHT_RANGE_CM`).
    equation : Equation or str
        ``gli-global`` (default, race-neutral) or ``gli-2012``.
    ethnicity : Ethnicity or str, optional
        GLI-2012 ethnic group (required there, refused for GLI Global).

    Returns
    -------
    ReferenceValues
        Frozen record with L, M, S, predicted, LLN, ULN, inputs and table version.

    Raises
    ------
    AssessmentInputError
        For any input out of range or unknown.
    """
    eq = Equation.parse(equation)
    param = _parse_parameter(parameter)
    sx = Sex.parse(sex)
    group = _resolve_ethnicity(eq, ethnicity)
    l_arr, m_arr, s_arr = lms(param, sx, age, height_cm, eq, group)
    lln, uln = centile_value(np.array([-Z_LIMIT, Z_LIMIT]), l_arr, m_arr, s_arr)
    warnings: tuple[str, ...] = ()
    low, high = PLAUSIBLE_HEIGHT_CM
    if not low <= float(height_cm) <= high:
        warnings = (
            f"height {float(height_cm):g} cm is outside {low:g}–{high:g} cm: check the "
            "measurement and its unit; the GLI equations are sparse at such heights",
        )
    return ReferenceValues(
        inputs=ReferenceInputs(
            equation=eq,
            parameter=param,
            sex=sx,
            age_years=float(age),
            height_cm=float(height_cm),
            ethnicity=group,
        ),
        table_version=load_reference_table(eq).version,
        l=float(l_arr),
        m=float(m_arr),
        s=float(s_arr),
        predicted=float(m_arr),
        lln=float(lln),
        uln=float(uln),
        warnings=warnings,
    )


def score(
    parameter: Parameter | str,
    measured: float,
    *,
    sex: Sex | str,
    age: float,
    height_cm: float,
    equation: Equation | str = DEFAULT_EQUATION,
    ethnicity: Ethnicity | str | None = None,
) -> ScoredValue:
    """Score one measured value: predicted, LLN, ULN, z-score and % predicted.

    Parameters are those of :func:`reference_values`, plus ``measured`` in the
    parameter's unit (litres; L/s for FEF25–75; a fraction 0–1 for FEV1/FVC).

    Raises
    ------
    AssessmentInputError
        For any input out of range or unknown, including a measured value that is
        not positive or looks like the wrong unit (mL, or a ratio in %).
    """
    ref = reference_values(
        parameter, sex=sex, age=age, height_cm=height_cm, equation=equation, ethnicity=ethnicity
    )
    return ref.score(measured)
