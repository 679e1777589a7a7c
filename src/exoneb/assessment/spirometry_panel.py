"""Scoring one spirometry test: FEV1, FVC, their ratio (and FEF25–75) for one person.

The ratio is derived here, from the two volumes, because it must be the ratio
of the *same* test: entering it separately invites a ratio that does not match
the volumes. Every value is scored with the same equation and inputs, which
:func:`exoneb.assessment.interpretation.interpret_spirometry` relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.reference_equations import (
    DEFAULT_EQUATION,
    ReferenceInputs,
    ReferenceValues,
    ScoredValue,
    reference_values,
)
from exoneb.assessment.spirometry_terms import Equation, Ethnicity, Parameter, Sex

__all__ = ["SpirometryScores", "score_spirometry"]


@dataclass(frozen=True)
class SpirometryScores:
    """The scored parameters of one test; a parameter not measured is ``None``.

    Attributes
    ----------
    fev1, fvc, fev1_fvc, fef25_75 : ScoredValue or None
        Scored values (FEV1/FVC is computed from FEV1 and FVC when both are given).
    references : tuple of ReferenceValues
        Predicted values and limits for every parameter the equation provides,
        measured or not, so a calculator can show them all.
    """

    fev1: ScoredValue | None
    fvc: ScoredValue | None
    fev1_fvc: ScoredValue | None
    fef25_75: ScoredValue | None
    references: tuple[ReferenceValues, ...]

    @property
    def measured(self) -> tuple[ScoredValue, ...]:
        """The scored values that were measured, in FEV1, FVC, FEV1/FVC, FEF25–75 order."""
        values = (self.fev1, self.fvc, self.fev1_fvc, self.fef25_75)
        return tuple(v for v in values if v is not None)

    @property
    def inputs(self) -> ReferenceInputs:
        """Inputs of the first reference (equation, sex, age, height, ethnic group)."""
        return self.references[0].inputs


def score_spirometry(
    *,
    sex: Sex | str,
    age: float,
    height_cm: float,
    fev1: float | None = None,
    fvc: float | None = None,
    fef25_75: float | None = None,
    equation: Equation | str = DEFAULT_EQUATION,
    ethnicity: Ethnicity | str | None = None,
) -> SpirometryScores:
    """Score a spirometry test against one GLI equation.

    Parameters
    ----------
    sex, age, height_cm, equation, ethnicity
        As for :func:`~exoneb.assessment.reference_equations.reference_values`.
    fev1, fvc : float, optional
        Measured FEV1 and FVC in litres (the largest acceptable values of the test).
    fef25_75 : float, optional
        Measured FEF25–75 in L/s (GLI-2012 only).

    Returns
    -------
    SpirometryScores
        FEV1/FVC is scored when both volumes are given.

    Raises
    ------
    AssessmentInputError
        For inputs out of range, FEF25–75 with GLI Global, or FEV1 above FVC.
    """
    eq = Equation.parse(equation)
    if fef25_75 is not None and eq is not Equation.GLI_2012:
        raise AssessmentInputError(
            "fef25_75", fef25_75, "no FEF25–75 with gli-global", "Use gli-2012 for FEF25–75."
        )
    if fev1 is not None and fvc is not None and fev1 > fvc:
        raise AssessmentInputError(
            "fev1",
            fev1,
            f"≤ fvc ({fvc!r} L)",
            "FEV1 cannot exceed the FVC of the same test; check the two values.",
        )
    parameters = (Parameter.FEV1, Parameter.FVC, Parameter.FEV1_FVC) + (
        (Parameter.FEF25_75,) if eq is Equation.GLI_2012 else ()
    )
    refs = {
        p: reference_values(
            p, sex=sex, age=age, height_cm=height_cm, equation=eq, ethnicity=ethnicity
        )
        for p in parameters
    }
    ratio = fev1 / fvc if fev1 is not None and fvc is not None else None
    measured: dict[Parameter, float | None] = {
        Parameter.FEV1: fev1,
        Parameter.FVC: fvc,
        Parameter.FEV1_FVC: ratio,
        Parameter.FEF25_75: fef25_75,
    }
    scored = {p: refs[p].score(v) for p, v in measured.items() if v is not None and p in refs}
    return SpirometryScores(
        fev1=scored.get(Parameter.FEV1),
        fvc=scored.get(Parameter.FVC),
        fev1_fvc=scored.get(Parameter.FEV1_FVC),
        fef25_75=scored.get(Parameter.FEF25_75),
        references=tuple(refs.values()),
    )
