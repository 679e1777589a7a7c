"""The vocabulary of spirometry reference equations: sex, equation, ethnic group, parameter.

Kept apart from the calculations so that the table loader, the equations, the
interpretation and the command line all speak the same closed set of values.
Each ``parse`` accepts the spellings a clinician is likely to type and rejects
anything else with a message naming the field, the value and the valid set.
"""

from __future__ import annotations

from enum import StrEnum

from exoneb.assessment.errors import AssessmentInputError

__all__ = ["Equation", "Ethnicity", "Parameter", "Sex"]


class Sex(StrEnum):
    """Sex used to select the reference equation (``"M"`` or ``"F"``).

    This is the sex the equations were fitted on (sex at birth), not
    administrative gender; the record keeps which one was used
    (``spirometry.md`` §3.4).
    """

    MALE = "M"
    FEMALE = "F"

    @classmethod
    def parse(cls, value: str | Sex, field: str = "sex") -> Sex:
        """Return the member for ``value`` (``M``/``F``/``male``/``female``, any case).

        Raises
        ------
        AssessmentInputError
            If ``value`` names neither sex.
        """
        if isinstance(value, Sex):
            return value
        text = str(value).strip().lower()
        if text in {"m", "male"}:
            return cls.MALE
        if text in {"f", "female"}:
            return cls.FEMALE
        raise AssessmentInputError(field, value, "'M' or 'F' (sex for the reference equation)")

    @property
    def table_suffix(self) -> str:
        """Column-name suffix in the GLI CSV tables (``males``/``females``)."""
        return "males" if self is Sex.MALE else "females"


class Equation(StrEnum):
    """Reference equation identifier, as used on the command line and in records."""

    GLI_GLOBAL = "gli-global"
    """GLI Global 2022 (Bowerman 2023): race-neutral; the default (ATS 2023 statement)."""
    GLI_2012 = "gli-2012"
    """GLI-2012 (Quanjer 2012): legacy, with ethnic groups and FEF25–75."""

    @classmethod
    def parse(cls, value: str | Equation, field: str = "equation") -> Equation:
        """Return the member for ``value`` (case-insensitive).

        Raises
        ------
        AssessmentInputError
            If ``value`` is not a known equation id.
        """
        if isinstance(value, Equation):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if member.value == text:
                return member
        raise AssessmentInputError(field, value, f"one of {', '.join(m.value for m in cls)}")

    @property
    def display_name(self) -> str:
        """Human-readable name with the citation year."""
        return {
            Equation.GLI_GLOBAL: "GLI Global 2022 (Bowerman 2023)",
            Equation.GLI_2012: "GLI-2012 (Quanjer 2012)",
        }[self]


class Ethnicity(StrEnum):
    """GLI-2012 ethnic groups; Caucasian is the baseline (all indicators 0).

    Only GLI-2012 uses them. GLI-2012 "Other/mixed" is *not* the race-neutral
    GLI Global equation (``spirometry.md`` §1.1).
    """

    CAUCASIAN = "caucasian"
    AFRICAN_AMERICAN = "african-american"
    NORTH_EAST_ASIAN = "ne-asian"
    SOUTH_EAST_ASIAN = "se-asian"
    OTHER = "other"

    @classmethod
    def parse(cls, value: str | Ethnicity, field: str = "ethnicity") -> Ethnicity:
        """Return the member for ``value`` (case-insensitive, ``_`` or ``-``).

        Raises
        ------
        AssessmentInputError
            If ``value`` is not one of the GLI-2012 groups.
        """
        if isinstance(value, Ethnicity):
            return value
        text = str(value).strip().lower().replace("_", "-").replace(" ", "-")
        for member in cls:
            if member.value == text:
                return member
        raise AssessmentInputError(field, value, f"one of {', '.join(m.value for m in cls)}")

    @property
    def indicators(self) -> tuple[float, float, float, float]:
        """The GLI-2012 indicator vector (AfrAm, NEAsia, SEAsia, Other) for a3–a6 and p2–p5."""
        return (
            float(self is Ethnicity.AFRICAN_AMERICAN),
            float(self is Ethnicity.NORTH_EAST_ASIAN),
            float(self is Ethnicity.SOUTH_EAST_ASIAN),
            float(self is Ethnicity.OTHER),
        )


class Parameter(StrEnum):
    """Spirometric parameter; the value is the key used in JSON output."""

    FEV1 = "fev1"
    """Forced expiratory volume in 1 s, litres."""
    FVC = "fvc"
    """Forced vital capacity, litres."""
    FEV1_FVC = "fev1_fvc"
    """FEV1/FVC as a fraction (0–1), not a percentage."""
    FEF25_75 = "fef25_75"
    """Mean forced expiratory flow between 25 % and 75 % of FVC, L/s (GLI-2012 only)."""

    @property
    def table_prefix(self) -> str:
        """Column-name prefix in the GLI CSV tables."""
        return {
            Parameter.FEV1: "FEV1",
            Parameter.FVC: "FVC",
            Parameter.FEV1_FVC: "FEV1FVC",
            Parameter.FEF25_75: "FEF25_75",
        }[self]

    @property
    def label(self) -> str:
        """Display name."""
        return {
            Parameter.FEV1: "FEV1",
            Parameter.FVC: "FVC",
            Parameter.FEV1_FVC: "FEV1/FVC",
            Parameter.FEF25_75: "FEF25–75",
        }[self]

    @property
    def unit(self) -> str:
        """Unit of the measured and predicted values."""
        return {
            Parameter.FEV1: "L",
            Parameter.FVC: "L",
            Parameter.FEV1_FVC: "fraction",
            Parameter.FEF25_75: "L/s",
        }[self]
