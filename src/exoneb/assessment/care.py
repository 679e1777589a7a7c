"""The complementary-care check: prescribed respiratory care is recorded, and left alone.

The programme is add-on only (``clinical.md`` §5.2): the patient keeps taking
the respiratory care their own clinicians prescribed. At each assessment the
record of that care is checked and the patient is asked whether it is being
taken as prescribed (§7, "Complementary" safeguards). What is found is
*described* and flagged for the physician:

* no prescribed care recorded (and none confirmed absent);
* a medicine not asked about today, or not taken as prescribed;
* a medicine the patient reports having stopped in favour of this therapy.

This module never proposes a change to prescribed care — no wording here tells
anyone to start, stop, reduce or replace a medicine; that is the prescriber's
decision, outside exoneb. The medicines passed in are returned untouched.

Flags become :class:`~exoneb.assessment.eligibility.ReviewFlag` entries, which
turn a ``cleared`` decision into ``needs_review`` and never into ``ineligible``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from exoneb.assessment.eligibility import ReviewFlag
from exoneb.assessment.errors import AssessmentInputError
from exoneb.assessment.fact_catalog import NONE_OCCURRED

__all__ = [
    "CARE_REMINDER",
    "CARE_SOURCE",
    "CareCheck",
    "PrescribedMedicine",
    "check_prescribed_care",
]

CARE_SOURCE = (
    "Complementary-care principle: clinical.md §5.2 (add-on only, unchanged prescribed "
    "therapy) and §7 (record the regimen each session, ask 'taken as prescribed today?'; "
    "exoneb gives no advice on that care) [design default]"
)

#: The reminder shown with every assessment (``clinical.md`` §7).
CARE_REMINDER = (
    "This therapy is investigational and is given in addition to the patient's prescribed "
    "respiratory care; it does not replace that care."
)


@dataclass(frozen=True)
class PrescribedMedicine:
    """One medicine of the patient's prescribed respiratory care, as recorded.

    Attributes
    ----------
    medicine, dose, route, frequency : str
        As prescribed by the patient's own clinicians.
    taken_as_prescribed : bool or None
        The answer to "taken as prescribed today?"; ``None`` if not asked.
    stopped_for_this_therapy : bool
        The patient reports having stopped it in favour of this therapy.
    last_changed_on : date or None
        When the prescriber last changed it (``None`` if not known).
    """

    medicine: str
    dose: str
    route: str
    frequency: str
    taken_as_prescribed: bool | None = None
    stopped_for_this_therapy: bool = False
    last_changed_on: date | None = None


@dataclass(frozen=True)
class CareCheck:
    """The result of the care check.

    Attributes
    ----------
    care : tuple of PrescribedMedicine
        The medicines as given, unchanged.
    none_prescribed : bool
        The clinician confirmed the patient has no prescribed respiratory care.
    flags : tuple of ReviewFlag
        Findings for the physician (empty when nothing needs review).
    reminder : str
        :data:`CARE_REMINDER`.
    """

    care: tuple[PrescribedMedicine, ...]
    none_prescribed: bool
    flags: tuple[ReviewFlag, ...]
    reminder: str = CARE_REMINDER

    @property
    def needs_review(self) -> bool:
        """True when anything was flagged for the physician."""
        return bool(self.flags)

    @property
    def last_changed(self) -> date | str | None:
        """Most recent change to the care: a date, ``"none"`` if none prescribed, or unknown.

        Unknown (``None``) when the care is not recorded or any medicine's last
        change date is not known — so a stability rule cannot pass on a guess.
        """
        if self.none_prescribed:
            return NONE_OCCURRED
        dates = [m.last_changed_on for m in self.care]
        if not dates or any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)


def check_prescribed_care(
    medicines: Sequence[PrescribedMedicine], *, none_prescribed: bool = False
) -> CareCheck:
    """Check that prescribed respiratory care is recorded and taken as prescribed.

    Parameters
    ----------
    medicines : sequence of PrescribedMedicine
        The patient's current prescribed respiratory care.
    none_prescribed : bool, optional
        The clinician confirms that no respiratory care is prescribed (so an empty
        list is an answer, not a gap).

    Returns
    -------
    CareCheck
        With a flag for care not recorded, a medicine not asked about or not
        taken as prescribed today, or stopped in favour of this therapy.

    Raises
    ------
    AssessmentInputError
        If ``none_prescribed`` is given together with medicines, or a medicine
        has no name.
    """
    care = tuple(medicines)
    if none_prescribed and care:
        raise AssessmentInputError(
            "none_prescribed",
            True,
            "false when medicines are listed",
            "Either list the prescribed medicines or confirm that none is prescribed.",
        )
    flags: list[ReviewFlag] = []
    if not care and not none_prescribed:
        flags.append(
            ReviewFlag(
                "care-not-recorded",
                "Prescribed respiratory care is not recorded: record the patient's current "
                "prescribed care, or confirm that none is prescribed.",
                CARE_SOURCE,
            )
        )
    for item in care:
        if not item.medicine.strip():
            raise AssessmentInputError("medicine", item.medicine, "the medicine's name")
        name = item.medicine.strip()
        if item.stopped_for_this_therapy:
            flags.append(
                ReviewFlag(
                    "care-stopped-for-this-therapy",
                    f"{name}: the patient reports having stopped it in favour of this therapy. "
                    "For the physician's attention.",
                    CARE_SOURCE,
                )
            )
        elif item.taken_as_prescribed is None:
            flags.append(
                ReviewFlag(
                    "care-adherence-not-recorded",
                    f"{name}: whether it is taken as prescribed today is not recorded.",
                    CARE_SOURCE,
                )
            )
        elif not item.taken_as_prescribed:
            flags.append(
                ReviewFlag(
                    "care-not-taken-as-prescribed",
                    f"{name}: reported as not taken as prescribed today. "
                    "For the physician's attention.",
                    CARE_SOURCE,
                )
            )
    return CareCheck(care=care, none_prescribed=none_prescribed, flags=tuple(flags))
