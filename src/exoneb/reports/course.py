"""The patient course report: lung function, SpO2 and symptom scales over the sessions.

One row per session (oldest first), read from each session's current
assessment through the assessment service; each trend is a figure with the
same values in a table beside it. Values from an assessment that is not
signed are shown, with its status in the table, because a course report is
read to follow a patient, not to make a decision on one number.

Cumulative estimated lung dose joins when the inhalation step's records are
available to reports (:func:`register_course_series`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exoneb.assessment import service as assessment
from exoneb.core.context import Ctx
from exoneb.patients.models import Patient
from exoneb.reports.document import (
    Column,
    Item,
    PlotSpec,
    ReferenceLine,
    Report,
    Section,
    Series,
    Table,
    not_recorded,
)
from exoneb.reports.session_report import DISCLAIMER, utc_text
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession

LLN_Z = -1.645
"""The lower limit of normal as a z-score (5th centile; ERS/ATS 2022)."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One session's values for the course (None when not recorded)."""

    label: str
    session: TherapySession
    status: str | None
    fev1_l: float | None
    fev1_z: float | None
    spo2_percent: float | None
    cat_total: float | None
    mmrc_grade: float | None


CourseSection = Callable[[Ctx, Patient, list[Visit]], Section]
_EXTRA: list[CourseSection] = []


def register_course_series(builder: CourseSection) -> None:
    """Let a step add a course section (e.g. cumulative lung dose) when it lands."""
    if builder not in _EXTRA:
        _EXTRA.append(builder)


def _visit(ctx: Ctx, s: TherapySession) -> Visit:
    label = f"S{s.id} {s.planned_for.date().isoformat()}"
    a = assessment.current(ctx=ctx, session_id=s.id)
    if a is None:
        return Visit(label, s, None, None, None, None, None, None)
    v = assessment.view(ctx=ctx, a=a)
    pre: dict[str, Any] = ((v["spirometry"].get("pre") or {}).get("results") or {}).get(
        "fev1") or {}  # fmt: skip
    vitals, scales = v["vitals"] or {}, v["scales"] or {}
    return Visit(label, s, v["status"], pre.get("measured"), pre.get("z"),
                 vitals.get("spo2_percent"), scales.get("cat_total"),
                 scales.get("mmrc_grade"))  # fmt: skip


def _series(visits: list[Visit], name: str, attr: str) -> Series:
    kept = [(v.label, getattr(v, attr)) for v in visits if getattr(v, attr) is not None]
    return Series(name, tuple(x for x, _ in kept), tuple(y for _, y in kept))


def build(ctx: Ctx, patient: Patient) -> Report:
    """The course report's content (no permission check, no audit: the service does both)."""
    found = sorted(sessions.sessions_of(ctx=ctx, patient_id=patient.id),
                   key=lambda s: (s.planned_for, s.id))  # fmt: skip
    visits = [_visit(ctx, s) for s in found]
    name = f"{patient.given_name} {patient.family_name}"
    head = Section(
        key="patient",
        title="Patient",
        recorded=True,
        items=(
            Item("Name", name),
            Item("MRN", patient.mrn),
            Item("Date of birth", patient.birth_date.isoformat()),
            Item("Sex (for reference equations)", patient.sex),
            Item("Sessions", len(visits)),
        ),
    )
    if not visits:
        sections = [head, not_recorded("course", "Course over sessions",
                                       "No sessions recorded for this patient.")]  # fmt: skip
    else:
        sections = [head, *_trend_sections(visits)]
        sections += [extra(ctx, patient, visits) for extra in _EXTRA]
    return Report(kind="course", title=f"Patient course — {name}",
                  subject=f"{name} (MRN {patient.mrn}), {len(visits)} session(s)",
                  sections=tuple(sections), disclaimer=DISCLAIMER,
                  record_refs={"patient_id": patient.id})  # fmt: skip


def _trend_sections(visits: list[Visit]) -> list[Section]:
    x = "Session"
    table = Table(
        "Values by session",
        (Column("Session"), Column("Planned (UTC)"), Column("State"),
         Column("Assessment status"), Column("FEV1", "L"), Column("FEV1 z-score"),
         Column("SpO2", "%"), Column("CAT total"), Column("mMRC grade")),
        tuple((v.label, utc_text(v.session.planned_for), v.session.state, v.status, v.fev1_l,
               v.fev1_z, v.spo2_percent, v.cat_total, v.mmrc_grade) for v in visits),
    )  # fmt: skip
    lung = Section(key="lung_function", title="Lung function (pre-session spirometry)",
                   recorded=True, plots=(
        PlotSpec("fev1", "FEV1 before each session", x, "FEV1", "L",
                 (_series(visits, "FEV1", "fev1_l"),),
                 alt="Line chart of pre-session FEV1 in litres for each session, oldest first; "
                     "the values are in the table that follows."),
        PlotSpec("fev1_z", "FEV1 z-score before each session", x, "FEV1 z-score", "",
                 (_series(visits, "FEV1 z-score", "fev1_z"),),
                 reference_lines=(ReferenceLine("LLN (z = −1.645)", LLN_Z),),
                 alt="Line chart of the pre-session FEV1 z-score (GLI) per session with the "
                     "lower limit of normal at z = −1.645 as a dotted line."),
    ), tables=(table,))  # fmt: skip
    oxygen = Section(key="spo2", title="Oxygen saturation", recorded=True, plots=(
        PlotSpec("spo2", "SpO2 before each session", x, "SpO2", "%",
                 (_series(visits, "SpO2", "spo2_percent"),),
                 alt="Line chart of pre-session SpO2 in percent per session."),))  # fmt: skip
    symptoms = Section(key="scales", title="Symptoms (CAT and mMRC)", recorded=True, plots=(
        PlotSpec("cat", "CAT total score", x, "CAT total (0–40)", "",
                 (_series(visits, "CAT", "cat_total"),), kind="bar",
                 alt="Bar chart of the COPD Assessment Test total score (0–40) per session."),
        PlotSpec("mmrc", "mMRC dyspnoea grade", x, "mMRC grade (0–4)", "",
                 (_series(visits, "mMRC", "mmrc_grade"),), kind="bar",
                 alt="Bar chart of the mMRC dyspnoea grade (0–4) per session."),
    ))  # fmt: skip
    return [lung, oxygen, symptoms]
