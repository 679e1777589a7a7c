"""Adverse events: CTCAE v5.0 terms and grades as data, seriousness, causality, reporting deadlines.

The term table is ``reference/clinical.md`` §4.1, which was checked word for word
against the NCI CTCAE v5.0 spreadsheet (``CTCAE_v5.0_2017-11-27.xlsx``). A grade
that CTCAE marks "–" does not exist for that term and is refused, so a nurse
cannot record, say, "Anaphylaxis grade 1". Seriousness, the IND reporting clock
and the causality scale come from §4.5, where they are tagged [unverified];
the outcome list is not in the reference at all and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from exoneb.monitoring.observations import require_aware

__all__ = [
    "CTCAE_VERSION",
    "GENERAL_GRADES",
    "TERMS",
    "Action",
    "AdverseEvent",
    "Causality",
    "CtcaeTerm",
    "Outcome",
    "ReportingDeadline",
    "SeriousnessCriterion",
    "TermDefinition",
    "grade_problems",
    "reporting_deadline",
]

CTCAE_VERSION = "5.0"
_CTCAE_SOURCE = "CTCAE v5.0 (NCI, 2017-11-27) spreadsheet, as in clinical.md §4.1 [source]"


class CtcaeTerm(StrEnum):
    """CTCAE v5.0 terms offered when grading an event after inhalation."""

    COUGH = "cough"
    BRONCHOSPASM = "bronchospasm"
    DYSPNEA = "dyspnea"
    HYPOXIA = "hypoxia"
    SORE_THROAT = "sore_throat"
    PHARYNGOLARYNGEAL_PAIN = "pharyngolaryngeal_pain"
    LARYNGEAL_INFLAMMATION = "laryngeal_inflammation"
    PHARYNGITIS = "pharyngitis"
    HOARSENESS = "hoarseness"
    WHEEZING = "wheezing"
    FEVER = "fever"
    ALLERGIC_REACTION = "allergic_reaction"
    ANAPHYLAXIS = "anaphylaxis"
    LARYNGEAL_EDEMA = "laryngeal_edema"
    LARYNGOSPASM = "laryngospasm"
    HEADACHE = "headache"
    NAUSEA = "nausea"
    DIZZINESS = "dizziness"
    OTHER = "other_specify"


GENERAL_GRADES: Mapping[int, str] = MappingProxyType(
    {
        1: "Mild; asymptomatic or mild symptoms; clinical or diagnostic observations only; "
        "intervention not indicated",
        2: "Moderate; minimal, local or noninvasive intervention indicated; limiting "
        "age-appropriate instrumental ADL",
        3: "Severe or medically significant but not immediately life-threatening; "
        "hospitalization or prolongation of hospitalization indicated; disabling; "
        "limiting self care ADL",
        4: "Life-threatening consequences; urgent intervention indicated",
        5: "Death related to AE",
    }
)
"""The general CTCAE v5.0 grade definitions (clinical.md §4.1, CTCAE introduction)."""


@dataclass(frozen=True, slots=True)
class TermDefinition:
    """One CTCAE term with the text of each grade that exists for it.

    Attributes
    ----------
    term : CtcaeTerm
        The term.
    label : str
        The CTCAE spelling (US English, as in the spreadsheet).
    soc : str
        MedDRA system organ class.
    meddra_code : int or None
        The spreadsheet's MedDRA code; ``None`` for "Other, specify".
    grades : Mapping[int, str]
        Grade → definition; a grade absent from the mapping is "–" in CTCAE.
    source : str
        Where the grade text comes from.
    note : str
        Navigational notes and usage hints from the reference.
    """

    term: CtcaeTerm
    label: str
    soc: str
    meddra_code: int | None
    grades: Mapping[int, str]
    source: str = _CTCAE_SOURCE
    note: str = ""

    @property
    def allowed_grades(self) -> tuple[int, ...]:
        """Grades that exist for this term, in order."""
        return tuple(sorted(self.grades))


_RESP = "Respiratory, thoracic and mediastinal disorders"


def _t(
    term: CtcaeTerm,
    label: str,
    soc: str,
    code: int | None,
    grades: dict[int, str],
    note: str = "",
    source: str = _CTCAE_SOURCE,
) -> TermDefinition:
    return TermDefinition(term, label, soc, code, MappingProxyType(grades), source, note)


_DEATH = "Death"
_LT_URGENT = "Life-threatening consequences; urgent intervention indicated"

TERMS: Mapping[CtcaeTerm, TermDefinition] = MappingProxyType(
    {
        d.term: d
        for d in (
            _t(
                CtcaeTerm.COUGH,
                "Cough",
                _RESP,
                10011224,
                {
                    1: "Mild symptoms; nonprescription intervention indicated",
                    2: "Moderate symptoms, medical intervention indicated; "
                    "limiting instrumental ADL",
                    3: "Severe symptoms; limiting self care ADL",
                },
            ),
            _t(
                CtcaeTerm.BRONCHOSPASM,
                "Bronchospasm",
                _RESP,
                10006482,
                {
                    1: "Mild symptoms; intervention not indicated",
                    2: "Symptomatic; medical intervention indicated; limiting instrumental ADL",
                    3: "Limiting self care ADL; supplemental oxygen indicated",
                    4: "Life-threatening respiratory or hemodynamic compromise; intubation or "
                    "urgent intervention indicated",
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.DYSPNEA,
                "Dyspnea",
                _RESP,
                10013963,
                {
                    1: "Shortness of breath with moderate exertion",
                    2: "Shortness of breath with minimal exertion; limiting instrumental ADL",
                    3: "Shortness of breath at rest; limiting self care ADL",
                    4: "Life-threatening consequences; urgent intervention indicated",
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.HYPOXIA,
                "Hypoxia",
                _RESP,
                10021143,
                {
                    2: "Decreased oxygen saturation with exercise (e.g., pulse oximeter <88%); "
                    "intermittent supplemental oxygen",
                    3: "Decreased oxygen saturation at rest (e.g., pulse oximeter <88% or PaO2 "
                    "<=55 mm Hg)",
                    4: "Life-threatening airway compromise; urgent intervention indicated (e.g., "
                    "tracheotomy or intubation)",
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.SORE_THROAT,
                "Sore throat",
                _RESP,
                10041367,
                {
                    1: "Mild pain",
                    2: "Moderate pain; limiting instrumental ADL",
                    3: "Severe pain; limiting self care ADL; limiting ability to swallow",
                },
            ),
            _t(
                CtcaeTerm.PHARYNGOLARYNGEAL_PAIN,
                "Pharyngolaryngeal pain",
                _RESP,
                10034844,
                {
                    1: "Mild pain",
                    2: "Moderate pain; limiting instrumental ADL",
                    3: "Severe pain; limiting self care ADL",
                },
                note='Use it for "throat irritation" if the protocol prefers (clinical.md §4.1).',
            ),
            _t(
                CtcaeTerm.LARYNGEAL_INFLAMMATION,
                "Laryngeal inflammation",
                _RESP,
                10065735,
                {
                    1: "Mild sore throat; raspy voice",
                    2: "Moderate sore throat; analgesics indicated",
                    3: "Severe throat pain; endoscopic intervention indicated",
                },
            ),
            _t(
                CtcaeTerm.PHARYNGITIS,
                "Pharyngitis",
                "Infections and infestations",
                10034835,
                {
                    2: "Oral intervention indicated (e.g., antibiotic, antifungal, or antiviral)",
                    3: "IV antibiotic, antifungal, or antiviral intervention indicated; invasive "
                    "intervention indicated",
                    4: _LT_URGENT,
                    5: _DEATH,
                },
                note="For Grade 1 consider Respiratory, thoracic and mediastinal disorders: "
                "Sore throat. An infection term.",
            ),
            _t(
                CtcaeTerm.HOARSENESS,
                "Hoarseness",
                _RESP,
                10020201,
                {
                    1: "Mild or intermittent voice change; fully understandable; self-resolves",
                    2: "Moderate or persistent voice changes; may require occasional "
                    "repetition but understandable on telephone; medical evaluation indicated",
                    3: "Severe voice changes including predominantly whispered speech",
                },
            ),
            _t(
                CtcaeTerm.WHEEZING,
                "Wheezing",
                _RESP,
                10047924,
                {
                    1: "Detectable airway noise with minimal symptoms",
                    2: "Moderate symptoms; medical intervention indicated; "
                    "limiting instrumental ADL",
                    3: "Severe respiratory symptoms limiting self care ADL; oxygen therapy or "
                    "hospitalization indicated",
                    4: _LT_URGENT,
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.FEVER,
                "Fever",
                "General disorders and administration site conditions",
                10016558,
                {
                    1: "38.0-39.0 degrees C (100.4-102.2 degrees F)",
                    2: ">39.0-40.0 degrees C (102.3-104.0 degrees F)",
                    3: ">40.0 degrees C (>104.0 degrees F) for <=24 hrs",
                    4: ">40.0 degrees C (>104.0 degrees F) for >24 hrs",
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.ALLERGIC_REACTION,
                "Allergic reaction",
                "Immune system disorders",
                10001718,
                {
                    1: "Systemic intervention not indicated",
                    2: "Oral intervention indicated",
                    3: "Bronchospasm; hospitalization indicated for clinical sequelae; intravenous "
                    "intervention indicated",
                    4: _LT_URGENT,
                    5: _DEATH,
                },
                note="If related to infusion, use Infusion related reaction. Do not report both.",
            ),
            _t(
                CtcaeTerm.ANAPHYLAXIS,
                "Anaphylaxis",
                "Immune system disorders",
                10002218,
                {
                    3: "Symptomatic bronchospasm, with or without urticaria; parenteral "
                    "intervention indicated; allergy-related edema/angioedema; hypotension",
                    4: _LT_URGENT,
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.LARYNGEAL_EDEMA,
                "Laryngeal edema",
                _RESP,
                10023838,
                {
                    1: "Asymptomatic; clinical or diagnostic observations only; intervention not "
                    "indicated",
                    2: "Symptomatic; medical intervention indicated (e.g., dexamethasone, "
                    "epinephrine, antihistamines)",
                    3: "Stridor; respiratory distress; hospitalization indicated",
                    4: "Life-threatening airway compromise; urgent intervention indicated (e.g., "
                    "tracheotomy or intubation)",
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.LARYNGOSPASM,
                "Laryngospasm",
                _RESP,
                10023891,
                {
                    2: "Transient episode; intervention not indicated",
                    3: "Recurrent episodes; noninvasive intervention indicated (e.g., breathing "
                    "technique, pressure point massage)",
                    4: "Persistent or severe episodes associated with syncope; urgent intervention "
                    "indicated (e.g., fiberoptic laryngoscopy, intubation, botox injection)",
                    5: _DEATH,
                },
            ),
            _t(
                CtcaeTerm.HEADACHE,
                "Headache",
                "Nervous system disorders",
                10019211,
                {
                    1: "Mild pain",
                    2: "Moderate pain; limiting instrumental ADL",
                    3: "Severe pain; limiting self care ADL",
                },
            ),
            _t(
                CtcaeTerm.NAUSEA,
                "Nausea",
                "Gastrointestinal disorders",
                10028813,
                {
                    1: "Loss of appetite without alteration in eating habits",
                    2: "Oral intake decreased without significant weight loss, dehydration or "
                    "malnutrition",
                    3: "Inadequate oral caloric or fluid intake; tube feeding, TPN, or "
                    "hospitalization indicated",
                },
            ),
            _t(
                CtcaeTerm.DIZZINESS,
                "Dizziness",
                "Nervous system disorders",
                10013573,
                {
                    1: "Mild unsteadiness or sensation of movement",
                    2: "Moderate unsteadiness or sensation of movement; limiting instrumental ADL",
                    3: "Severe unsteadiness or sensation of movement; limiting self care ADL",
                },
            ),
            _t(
                CtcaeTerm.OTHER,
                "Other, specify",
                _RESP,
                None,
                dict(GENERAL_GRADES),
                note="Grades use the general CTCAE definitions; the reporter names the event. "
                "The term-specific wording and the MedDRA code of 'Respiratory, thoracic and "
                "mediastinal disorders - Other, specify' are not in the reference.",
                source="CTCAE v5.0 general grade definitions, clinical.md §4.1 [source]; "
                "[not in reference] for the term row itself",
            ),
        )
    }
)
"""Every offered term with its grade text; the source of each row is on the row."""


class SeriousnessCriterion(StrEnum):
    """Why an event is serious (ICH E2A; 21 CFR 312.32; clinical.md §4.5 [unverified])."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALIZATION = "hospitalization"  # requires or prolongs inpatient hospitalization
    DISABILITY = "disability"  # persistent or significant disability or incapacity
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"


class Causality(StrEnum):
    """Relationship to the investigational product (clinical.md §4.5)."""

    DEFINITE = "definite"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    UNRELATED = "unrelated"

    @property
    def related(self) -> bool:
        """Possibly, probably or definitely related: what the stopping rules call "related"."""
        return self in (Causality.DEFINITE, Causality.PROBABLE, Causality.POSSIBLE)


class Action(StrEnum):
    """Action taken with the study treatment (clinical.md §4.5)."""

    NONE = "none"
    DOSE_HELD = "dose_held"
    COURSE_DISCONTINUED = "course_discontinued"


class Outcome(StrEnum):
    """Outcome of the event.

    [not in reference] clinical.md lists no outcome scale; these are the usual
    ICH E2B(R3) outcome values, to be confirmed against the protocol.
    """

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


def grade_problems(term: CtcaeTerm, grade: int, other_text: str | None = None) -> tuple[str, ...]:
    """Say why a grade cannot be recorded for a term (empty when it can).

    Parameters
    ----------
    term : CtcaeTerm
        The CTCAE term chosen.
    grade : int
        The grade chosen.
    other_text : str, optional
        The event named by the reporter; required for "Other, specify".

    Returns
    -------
    tuple of str
        One sentence per problem, suitable to show next to the form field.
    """
    definition = TERMS[term]
    problems: list[str] = []
    if grade not in definition.grades:
        allowed = ", ".join(str(g) for g in definition.allowed_grades)
        problems.append(
            f"Grade {grade} does not exist for {definition.label} in CTCAE v{CTCAE_VERSION} "
            f"(allowed: {allowed})."
        )
    if term is CtcaeTerm.OTHER and not (other_text or "").strip():
        problems.append("Name the event for 'Other, specify'.")
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """An adverse event as recorded and graded by staff.

    Onset and end are absolute times; :meth:`onset_offset` gives them relative to
    the start of nebulization, as the issue asks to show.
    """

    term: CtcaeTerm
    grade: int
    onset_at: datetime
    causality: Causality
    end_at: datetime | None = None
    other_text: str | None = None
    seriousness: frozenset[SeriousnessCriterion] = field(default_factory=frozenset)
    expected: bool | None = None  # listed in the investigator's brochure; None = not assessed
    aware_at: datetime | None = None  # when the site learnt of the event (reporting clock)
    action: Action = Action.NONE
    outcome: Outcome = Outcome.UNKNOWN
    resolved: bool = False

    def __post_init__(self) -> None:
        problems = grade_problems(self.term, self.grade, self.other_text)
        if problems:
            raise ValueError(" ".join(problems))
        require_aware(self.onset_at, "onset_at")
        if self.end_at is not None and require_aware(self.end_at, "end_at") < self.onset_at:
            raise ValueError("end_at is before onset_at")
        if self.aware_at is not None:
            require_aware(self.aware_at, "aware_at")

    @property
    def serious(self) -> bool:
        """Serious when a seriousness criterion applies or the grade is 4 or 5.

        CTCAE grade 4 means "life-threatening consequences" and grade 5 death,
        both ICH E2A seriousness criteria, so they count even if staff did not
        tick the criterion.
        """
        return bool(self.seriousness) or self.grade >= 4

    @property
    def related(self) -> bool:
        """Possibly, probably or definitely related to the product."""
        return self.causality.related

    def onset_offset(self, nebulization_start: datetime) -> timedelta:
        """Onset relative to the start of nebulization (negative if before it)."""
        return self.onset_at - require_aware(nebulization_start, "nebulization_start")

    def end_offset(self, nebulization_start: datetime) -> timedelta | None:
        """End relative to the start of nebulization; ``None`` while the event is ongoing."""
        if self.end_at is None:
            return None
        return self.end_at - require_aware(nebulization_start, "nebulization_start")


@dataclass(frozen=True, slots=True)
class ReportingDeadline:
    """When a serious event must be reported, and why that deadline.

    Attributes
    ----------
    days : int
        7 or 15 calendar days.
    clock_start : datetime
        When the site became aware of the event (onset when awareness is unknown).
    due_at : datetime
        ``clock_start + days``.
    expedited_ind_report : bool
        True when the event is a suspected (related), unexpected serious reaction,
        i.e. an expedited IND safety report under 21 CFR 312.32; False when the
        deadline is shown as the programme's conservative default.
    basis : str
        The sentence shown with the deadline.
    """

    days: int
    clock_start: datetime
    due_at: datetime
    expedited_ind_report: bool
    basis: str

    def overdue(self, now: datetime) -> bool:
        """Whether the deadline has passed at ``now`` (the caller knows it is unreported)."""
        return require_aware(now, "now") > self.due_at


def reporting_deadline(event: AdverseEvent) -> ReportingDeadline | None:
    """The reporting deadline of a serious event; ``None`` for a non-serious one.

    21 CFR 312.32 (clinical.md §4.5 [unverified]): unexpected fatal or
    life-threatening suspected reactions within 7 calendar days, other serious
    unexpected suspected reactions within 15 days. The issue asks for a
    deadline on *every* serious event until it is reported, so serious events
    that are not (yet) judged related and unexpected get the same clock, with
    a basis saying it is not an expedited IND report; an unassessed
    expectedness counts as unexpected. The clock starts at awareness, or at
    onset when awareness is not recorded (the earlier time, so never late).

    Parameters
    ----------
    event : AdverseEvent
        The event.

    Returns
    -------
    ReportingDeadline or None
    """
    if not event.serious:
        return None
    fatal_or_lt = event.grade >= 4 or bool(
        event.seriousness & {SeriousnessCriterion.DEATH, SeriousnessCriterion.LIFE_THREATENING}
    )
    days = 7 if fatal_or_lt else 15
    start = event.aware_at if event.aware_at is not None else event.onset_at
    expedited = event.related and event.expected is not True
    kind = "fatal or life-threatening" if fatal_or_lt else "serious"
    if expedited:
        basis = (
            f"Unexpected {kind} suspected adverse reaction: IND safety report within "
            f"{days} calendar days (21 CFR 312.32)."
        )
    else:
        basis = (
            f"Serious event ({kind}) not judged a related, unexpected reaction: reported to the "
            f"sponsor within {days} calendar days (programme default; confirm in the protocol)."
        )
    return ReportingDeadline(days, start, start + timedelta(days=days), expedited, basis)
