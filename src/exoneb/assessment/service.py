"""Assessment actions: start, record measurements and answers, decide, override, sign, amend.

Each function checks the permission, applies the pure rules of
:mod:`exoneb.assessment.rules`, writes its rows and one audit row, all inside
the caller's transaction (``ctx.db``). Every edit of a draft names the version
the user loaded (a stale one is a 409 naming who changed it) and discards a
decision computed earlier, so a decision is always computed from the data it
is shown with. A signed assessment is never edited: :func:`amend` adds a new
version that supersedes it.

At import this module connects step 1 to the session state machine: a fact
provider (the current assessment is signed → ``"assessment"`` in
``signed_steps``; its signed decision → ``eligibility``) and guards so that a
session cannot be cleared or declared ineligible on an assessment that has
been amended and not signed again.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.assessment import rules
from exoneb.assessment.models import Assessment, ScalesEntry, SpirometryEntry, VitalsEntry
from exoneb.assessment.schemas import (
    AmendIn,
    CareIn,
    HistoryIn,
    OverrideIn,
    ScalesIn,
    SignIn,
    SpirometryIn,
    Versioned,
    VitalsIn,
)
from exoneb.core import audit
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.protocols import registry
from exoneb.sessions import rules as session_rules
from exoneb.sessions.models import TherapySession
from exoneb.sessions.service import FactContribution, register_fact_provider

DRAFT, SIGNED, AMENDED = "draft", "signed", "amended"
SIGN_MEANING = "approved"
RECORD_TYPE = "assessment"
DECIDED = frozenset({"cleared", "ineligible"})

#: Facts the service derives itself; history answers may not give them.
DERIVED_FACTS = frozenset(
    {"assessment_date", "age_years", "consent_current", "protocol_authorised",
     "prescribed_care_last_changed", "on_supplemental_oxygen", "spo2_percent",
     "heart_rate_bpm", "respiratory_rate_per_min", "systolic_bp_mmhg", "diastolic_bp_mmhg",
     "temperature_c", "weight_kg", "bmi", "cat_total", "mmrc_grade", "six_minute_walk_m"}
    | {f"{p}{n}" for p in ("", "post_bd_")
       for n in ("fev1_l", "fev1_percent_predicted", "fev1_z", "fvc_l",
                 "fvc_percent_predicted", "fvc_z", "fev1_fvc_ratio", "fev1_fvc_z")}
)  # fmt: skip


# --- helpers -----------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """JSON-ready data from the pure layer's dataclasses, enums, dates and tuples."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    return str(value)


def _invalid(exc: rules.AssessmentInputError, prefix: str = "") -> InvalidInput:
    return InvalidInput(str(exc), field=f"{prefix}{exc.field}")


def _who(ctx: Ctx) -> str:
    return ctx.actor.full_name or ctx.actor.username


def _session(ctx: Ctx, session_id: int) -> tuple[TherapySession, Patient]:
    session = ctx.db.get(TherapySession, session_id)
    if session is None:
        raise NotFound("No such session.")
    return session, patients.load_visible(ctx, session.patient_id)


def current(*, ctx: Ctx, session_id: int) -> Assessment | None:
    """The newest assessment version of a session, if any (no permission check, no audit)."""
    return ctx.db.scalars(
        select(Assessment)
        .where(Assessment.session_id == session_id)
        .order_by(Assessment.record_version.desc())
        .limit(1)
    ).first()


def versions(*, ctx: Ctx, session_id: int) -> Sequence[Assessment]:
    """Every assessment version of a session, oldest first."""
    return ctx.db.scalars(
        select(Assessment)
        .where(Assessment.session_id == session_id)
        .order_by(Assessment.record_version)
    ).all()


def _check_version(a: Assessment, version: int) -> None:
    if a.version != version:
        raise StaleEdit(
            record="assessment", changed_by=a.updated_by, changed_at=a.updated_at,
            version=a.version,
        )  # fmt: skip


def _editable(
    ctx: Ctx, session_id: int, version: int
) -> tuple[Assessment, TherapySession, Patient]:
    session, patient = _session(ctx, session_id)
    a = current(ctx=ctx, session_id=session_id)
    if a is None:
        raise NotFound("This session has no assessment yet; start one first.")
    _check_version(a, version)
    if a.status != DRAFT:
        raise RuleViolation(
            f"This assessment is {a.status}; it cannot be edited. Amend it to correct it."
        )
    if session_rules.State(session.state) in session_rules.FINAL_STATES:
        raise RuleViolation(f"The session is {session.state}; its assessment can no longer change.")
    return a, session, patient


def _touch(ctx: Ctx, a: Assessment, *, keep_decision: bool = False) -> None:
    """Mark an edit: bumps the version; an edit of the data discards the decision."""
    if not keep_decision:
        for name in (
            "rule_set_id", "rule_set_version", "rule_set_origin", "decision", "computed_outcome",
            "outcome", "decided_at", "decided_by", "override_outcome", "override_reason",
            "override_by_id", "override_by", "override_at",
        ):  # fmt: skip
            setattr(a, name, None)
    a.updated_at = ctx.clock.now()
    a.updated_by = _who(ctx)
    flag_modified(a, "updated_at")  # an UPDATE (and a new version) even at the same instant
    ctx.db.flush()


def _audit(
    ctx: Ctx, action: str, a: Assessment, *, before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None, reason: str | None = None,
) -> None:  # fmt: skip
    audit.record(
        ctx=ctx, action=action, entity_type=RECORD_TYPE, entity_id=a.id,
        entity_version=a.version, patient_id=a.patient_id, before=before, after=after,
        reason=reason,
    )  # fmt: skip


def _today(ctx: Ctx) -> date:
    return ctx.clock.now().date()


# --- start and read ----------------------------------------------------------------------


def start(*, ctx: Ctx, session_id: int) -> Assessment:
    """Open the first (draft) assessment of a planned session."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    session, patient = _session(ctx, session_id)
    if patient.status != "active":
        raise RuleViolation("This patient record is voided.")
    if current(ctx=ctx, session_id=session_id) is not None:
        raise RuleViolation("This session already has an assessment; open it instead.")
    if session.state != session_rules.State.PLANNED.value:
        raise RuleViolation(f"The session is {session.state}; only a planned session is assessed.")
    now, who = ctx.clock.now(), _who(ctx)
    a = Assessment(
        session_id=session.id, patient_id=patient.id, record_version=1, status=DRAFT,
        history={}, created_at=now, created_by=who, updated_at=now, updated_by=who,
    )  # fmt: skip
    ctx.db.add(a)
    ctx.db.flush()
    _audit(ctx, "assessment.create", a, after={"session_id": session.id, "record_version": 1})
    return a


def get(*, ctx: Ctx, session_id: int) -> Assessment:
    """The session's current assessment (reading it is reading the patient record: audited)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    _session(ctx, session_id)
    a = current(ctx=ctx, session_id=session_id)
    if a is None:
        raise NotFound("This session has no assessment yet.")
    _audit(ctx, "assessment.read", a)
    return a


def baseline_fev1(*, ctx: Ctx, session_id: int) -> float | None:
    """The pre-session FEV1 (L) of the session's signed assessment: the monitoring baseline."""
    a = current(ctx=ctx, session_id=session_id)
    return a.baseline_fev1_l if a is not None and a.status == SIGNED else None


def baseline_vitals(*, ctx: Ctx, session_id: int) -> dict[str, Any] | None:
    """The pre-session vitals of the session's signed assessment (the monitoring baseline).

    Also carries ``hypercapnia_risk`` (the history answer on documented chronic
    hypoxaemia or hypercapnia), which lowers the post-session SpO2 floor.
    ``None`` when there is no signed assessment.
    """
    a = current(ctx=ctx, session_id=session_id)
    if a is None or a.status != SIGNED:
        return None
    vitals = ctx.db.scalars(select(VitalsEntry).where(VitalsEntry.assessment_id == a.id)).first()
    out: dict[str, Any] = {} if vitals is None else _vitals_view(vitals)
    out["hypercapnia_risk"] = (a.history or {}).get(
        "chronic_hypoxaemia_or_hypercapnia_documented"
    ) is True
    return out


def baseline_values(*, ctx: Ctx, session_id: int) -> tuple[dict[str, Any] | None, float | None]:
    """:func:`baseline_vitals` and :func:`baseline_fev1` in one query of plain columns.

    Monitoring reads the baseline with every reading, so this avoids loading
    the assessment and vitals as ORM objects: the signed assessment's vitals
    (``None`` when it is not signed) and its pre-session FEV1 (L).
    """
    names = _VITALS_VIEW
    row = ctx.db.execute(
        select(
            Assessment.status, Assessment.baseline_fev1_l, Assessment.history,
            VitalsEntry.id.label("vitals_id"), *(getattr(VitalsEntry, n) for n in names),
        )
        .outerjoin(VitalsEntry, VitalsEntry.assessment_id == Assessment.id)
        .where(Assessment.session_id == session_id)
        .order_by(Assessment.record_version.desc())
        .limit(1)
    ).first()  # fmt: skip
    if row is None or row.status != SIGNED:
        return None, None
    m = row._mapping
    out: dict[str, Any] = {} if m["vitals_id"] is None else {n: m[n] for n in names}
    out["hypercapnia_risk"] = (row.history or {}).get(
        "chronic_hypoxaemia_or_hypercapnia_documented"
    ) is True
    return out, row.baseline_fev1_l


# --- measurements and answers ------------------------------------------------------------


def _scored(value: rules.ScoredValue | None) -> dict[str, Any] | None:
    if value is None:
        return None
    ref = value.reference
    out: dict[str, Any] = plain(
        {"measured": value.measured, "predicted": ref.predicted, "lln": ref.lln, "uln": ref.uln,
         "z": value.z, "percent_predicted": value.percent_predicted}
    )  # fmt: skip
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Scored:
    """One spirometry test scored for a patient, not yet stored."""

    scores: rules.SpirometryScores
    interpretation: rules.SpirometryInterpretation
    quality: rules.SpirometryQuality | None
    test_date: date
    results: dict[str, Any]


def _score(ctx: Ctx, patient: Patient, data: SpirometryIn) -> Scored:
    if data.fev1_l is None and data.fvc_l is None:
        raise InvalidInput("Enter the FEV1, the FVC or both.", field="fev1_l")
    test_date = data.test_date or _today(ctx)
    if test_date > _today(ctx):
        raise InvalidInput("The test date cannot be in the future.", field="test_date")
    height = data.height_cm or patient.height_cm
    if height is None:
        raise InvalidInput(
            "Enter the patient's height for the reference equation.", field="height_cm"
        )
    try:
        age = rules.age_years(patient.birth_date, test_date)
        scores = rules.score_spirometry(
            sex=rules.Sex.parse(patient.sex), age=age, height_cm=height, fev1=data.fev1_l,
            fvc=data.fvc_l, fef25_75=data.fef25_75_l_s, equation=data.equation,
            ethnicity=data.ethnicity,
        )  # fmt: skip
        interpretation = rules.interpret_spirometry(scores)
        quality = None
        if data.manoeuvres:
            manoeuvres = [rules.Manoeuvre(**m.model_dump()) for m in data.manoeuvres]
            quality = rules.grade_test(manoeuvres, age)
    except rules.AssessmentInputError as exc:
        raise _invalid(exc) from exc
    results = {
        "fev1": _scored(scores.fev1), "fvc": _scored(scores.fvc),
        "fev1_fvc": _scored(scores.fev1_fvc), "fef25_75": _scored(scores.fef25_75),
        "warnings": plain(sorted({w for r in scores.references for w in r.warnings})),
        "facts": plain(rules.spirometry_facts(scores, post_bronchodilator=data.kind != "pre")),
    }  # fmt: skip
    return Scored(scores, interpretation, quality, test_date, results)


def preview_spirometry(*, ctx: Ctx, session_id: int, data: SpirometryIn) -> dict[str, Any]:
    """Score a test as it is typed, without storing anything (the page's live preview)."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    _, patient = _session(ctx, session_id)
    done = _score(ctx, patient, data)
    return {"results": done.results, "interpretation": plain(done.interpretation)}


def record_spirometry(*, ctx: Ctx, session_id: int, data: SpirometryIn) -> SpirometryEntry:
    """Record (or replace) the pre-session or post-bronchodilator spirometry of a draft."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    a, _, patient = _editable(ctx, session_id, data.version)
    done = _score(ctx, patient, data)
    scores, quality, results = done.scores, done.quality, done.results
    interpretation, test_date, pre = done.interpretation, done.test_date, data.kind == "pre"
    inputs = plain(dataclasses.asdict(scores.inputs) | {"fev1_l": data.fev1_l,
                   "fvc_l": data.fvc_l, "fef25_75_l_s": data.fef25_75_l_s})  # fmt: skip
    entry = ctx.db.scalars(
        select(SpirometryEntry).where(
            SpirometryEntry.assessment_id == a.id, SpirometryEntry.kind == data.kind
        )
    ).first()
    before = None if entry is None else {"kind": entry.kind, "results": entry.results}
    if entry is None:
        entry = SpirometryEntry(assessment_id=a.id, kind=data.kind)
        ctx.db.add(entry)
    entry.test_date = test_date.isoformat()
    entry.inputs = inputs
    entry.manoeuvres = None if not data.manoeuvres else [m.model_dump() for m in data.manoeuvres]
    entry.quality = None if quality is None else plain(quality)
    entry.equation = scores.inputs.equation.value
    entry.table_version = plain(scores.references[0].table_version)
    entry.results = results
    entry.interpretation = plain(interpretation)
    entry.fev1_l, entry.fev1_z = _value(scores.fev1)
    entry.fvc_l, entry.fvc_z = _value(scores.fvc)
    entry.fev1_fvc, entry.fev1_fvc_z = _value(scores.fev1_fvc)
    entry.recorded_at, entry.recorded_by = ctx.clock.now(), _who(ctx)
    if pre:
        a.baseline_fev1_l = data.fev1_l
    _touch(ctx, a)
    _audit(ctx, "assessment.spirometry", a, before=before,
           after={"kind": data.kind, "inputs": inputs, "results": results})  # fmt: skip
    return entry


def _value(value: rules.ScoredValue | None) -> tuple[float | None, float | None]:
    return (None, None) if value is None else (float(value.measured), float(value.z))


def _oxygen(source: str | None, flow: float | None, fio2: float | None, prefix: str = "") -> Any:
    """The inspired oxygen of a reading; ``prefix`` names the form group (``walk.``)."""
    if source is None:
        return None
    if source == "room_air":
        return rules.InspiredOxygen.room_air()
    if source == "flow":
        if flow is None:
            message = "Enter the oxygen flow in L/min."
            raise InvalidInput(message, field=f"{prefix}oxygen_flow_l_min")
        return rules.InspiredOxygen.flow(flow)
    if fio2 is None:
        raise InvalidInput("Enter the inspired oxygen fraction (FiO2).", field=f"{prefix}fio2")
    return rules.InspiredOxygen.fraction(fio2)


_VITALS = (
    "spo2_percent", "heart_rate_bpm", "respiratory_rate_per_min", "systolic_bp_mmhg",
    "diastolic_bp_mmhg", "temperature_c", "weight_kg", "height_cm",
)  # fmt: skip


def record_vitals(*, ctx: Ctx, session_id: int, data: VitalsIn) -> VitalsEntry:
    """Record (or replace) the vital signs of a draft; implausible values are refused (422)."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    a, _, patient = _editable(ctx, session_id, data.version)
    height = data.height_cm if data.height_cm is not None else patient.height_cm
    try:
        oxygen = _oxygen(data.oxygen_source, data.oxygen_flow_l_min, data.fio2)
        values = {n: getattr(data, n) for n in _VITALS} | {"height_cm": height}
        vitals = rules.record_vitals(inspired_oxygen=oxygen, **values)
    except rules.AssessmentInputError as exc:
        raise _invalid(exc) from exc
    entry = ctx.db.scalars(select(VitalsEntry).where(VitalsEntry.assessment_id == a.id)).first()
    before = None if entry is None else _vitals_view(entry)
    if entry is None:
        entry = VitalsEntry(assessment_id=a.id)
        ctx.db.add(entry)
    for name in _VITALS:
        setattr(entry, name, getattr(vitals, name))
    entry.oxygen_source = None if oxygen is None else oxygen.source.value
    entry.oxygen_flow_l_min = None if oxygen is None else oxygen.flow_l_min
    entry.fio2 = None if oxygen is None else oxygen.fio2
    entry.bmi = vitals.bmi
    entry.flags = plain(vitals.flags)
    entry.recorded_at, entry.recorded_by = ctx.clock.now(), _who(ctx)
    ctx.db.flush()
    _touch(ctx, a)
    _audit(ctx, "assessment.vitals", a, before=before, after=_vitals_view(entry))
    return entry


_VITALS_VIEW = (*_VITALS, "oxygen_source", "oxygen_flow_l_min", "fio2", "bmi", "flags")


def _vitals_view(entry: VitalsEntry) -> dict[str, Any]:
    return {n: getattr(entry, n) for n in _VITALS_VIEW}


def record_scales(*, ctx: Ctx, session_id: int, data: ScalesIn) -> ScalesEntry:
    """Record (or replace) CAT, mMRC and the six-minute walk of a draft."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    a, _, patient = _editable(ctx, session_id, data.version)
    cat = mmrc = walk = None
    try:
        if data.cat_items is not None:
            cat = rules.score_cat(data.cat_items)
        if data.mmrc_grade is not None:
            mmrc = rules.score_mmrc(data.mmrc_grade, data.mmrc_version)
    except rules.AssessmentInputError as exc:
        raise _invalid(exc) from exc
    if data.walk is not None:
        w = data.walk
        try:  # the walk's fields are named walk.<field> on forms and in the API
            oxygen = _oxygen(w.oxygen_source, w.oxygen_flow_l_min, None, "walk.")
            walk = rules.score_six_minute_walk(
                distance_m=w.distance_m, inspired_oxygen=oxygen, sex=rules.Sex.parse(patient.sex),
                age_years=rules.age_years(patient.birth_date, _today(ctx)),
                height_cm=patient.height_cm, weight_kg=patient.weight_kg,
                spo2_baseline_percent=w.spo2_baseline_percent,
                spo2_nadir_percent=w.spo2_nadir_percent, borg_before=w.borg_before,
                borg_after=w.borg_after,
            )  # fmt: skip
        except rules.AssessmentInputError as exc:
            raise _invalid(exc, "walk.") from exc
    entry = ctx.db.scalars(select(ScalesEntry).where(ScalesEntry.assessment_id == a.id)).first()
    before = None if entry is None else _scales_view(entry)
    if entry is None:
        entry = ScalesEntry(assessment_id=a.id)
        ctx.db.add(entry)
    entry.cat, entry.cat_total = plain(cat), None if cat is None else cat.total
    entry.mmrc, entry.mmrc_grade = plain(mmrc), None if mmrc is None else mmrc.grade
    entry.walk = plain(walk)
    entry.walk_distance_m = None if walk is None else walk.distance_m
    entry.walk_below_lln = (
        None if walk is None or walk.reference is None else walk.distance_m < walk.reference.lln_m
    )
    entry.recorded_at, entry.recorded_by = ctx.clock.now(), _who(ctx)
    ctx.db.flush()
    _touch(ctx, a)
    _audit(ctx, "assessment.scales", a, before=before, after=_scales_view(entry))
    return entry


def _scales_view(entry: ScalesEntry) -> dict[str, Any]:
    names = ("cat", "cat_total", "mmrc", "mmrc_grade", "walk", "walk_distance_m", "walk_below_lln")
    return {n: getattr(entry, n) for n in names}


def _care_check(ctx: Ctx, a: Assessment, patient_id: int) -> rules.CareCheck:
    """The care check from the stored answers and the patient's current prescribed care."""
    answers = a.care_answers or {}
    by_id = {int(x["care_id"]): x for x in answers.get("answers", [])}
    medicines = []
    for care in patients.prescribed_care(ctx=ctx, patient_id=patient_id):
        if care.status != "active":
            continue
        ans = by_id.get(care.id, {})
        changed = ans.get("last_changed_on")
        medicines.append(
            rules.PrescribedMedicine(
                medicine=care.medicine, dose=care.dose, route=care.route,
                frequency=care.frequency, taken_as_prescribed=ans.get("taken_as_prescribed"),
                stopped_for_this_therapy=bool(ans.get("stopped_for_this_therapy", False)),
                last_changed_on=date.fromisoformat(changed) if changed else None,
            )
        )  # fmt: skip
    return rules.check_prescribed_care(
        medicines, none_prescribed=bool(answers.get("none_prescribed", False))
    )


def record_care(*, ctx: Ctx, session_id: int, data: CareIn) -> Assessment:
    """Record whether prescribed respiratory care is taken as prescribed (never changed here)."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    a, _, patient = _editable(ctx, session_id, data.version)
    active = {
        c.id for c in patients.prescribed_care(ctx=ctx, patient_id=patient.id)
        if c.status == "active"
    }  # fmt: skip
    seen: set[int] = set()
    for i, ans in enumerate(data.answers):
        if ans.care_id not in active or ans.care_id in seen:
            raise InvalidInput(
                "This is not one of the patient's current prescribed medicines (or it is "
                "answered twice).", field=f"answers.{i}.care_id",
            )  # fmt: skip
        if ans.last_changed_on is not None and ans.last_changed_on > _today(ctx):
            raise InvalidInput(
                "The date cannot be in the future.", field=f"answers.{i}.last_changed_on"
            )
        seen.add(ans.care_id)
    before = a.care_check
    a.care_answers = plain(data.model_dump(exclude={"version"}))
    try:
        check = _care_check(ctx, a, patient.id)
    except rules.AssessmentInputError as exc:
        raise _invalid(exc) from exc
    a.care_check = plain(check)
    _touch(ctx, a)
    _audit(ctx, "assessment.care", a, before=before, after=a.care_check)
    return a


def _history_value(name: str, value: Any, field: str) -> Any:
    spec = rules.FACT_CATALOG[name]
    kind = spec.type
    if value is None:
        return None
    if kind is rules.FactType.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidInput(f"{spec.label}: answer yes or no.", field=field)
        return value
    if kind is rules.FactType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{spec.label}: enter a number ({spec.unit}).", field=field)
        return float(value)
    if kind is rules.FactType.DATE:
        if value == rules.NONE_OCCURRED:
            return value
        try:
            when = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError as exc:
            raise InvalidInput(
                f"{spec.label}: a date (YYYY-MM-DD) or 'none'.", field=field
            ) from exc
        return when.isoformat()
    if not isinstance(value, str) or (spec.choices and value not in spec.choices):
        raise InvalidInput(f"{spec.label}: one of {', '.join(spec.choices)}.", field=field)
    return value


def record_history(*, ctx: Ctx, session_id: int, data: HistoryIn) -> Assessment:
    """Record answers to the history questions (merged into earlier answers; null clears one)."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    a, _, _ = _editable(ctx, session_id, data.version)
    answers = dict(a.history or {})
    for name, value in data.answers.items():
        field = f"answers.{name}"
        if name not in rules.FACT_CATALOG:
            raise InvalidInput("There is no such question.", field=field)
        if name in DERIVED_FACTS:
            raise InvalidInput("This value comes from the measurements or the record.", field=field)
        checked = _history_value(name, value, field)
        if checked is None:
            answers.pop(name, None)
        else:
            answers[name] = checked
    before = dict(a.history or {})
    a.history = answers
    _touch(ctx, a)
    _audit(ctx, "assessment.history", a, before=before, after=answers)
    return a


# --- decision ----------------------------------------------------------------------------


def rule_set_for(settings: Settings, protocol_id: str) -> tuple[rules.EligibilityRuleSet, str]:
    """The protocol's eligibility rules, or the default rule set: (rules, "protocol"|"default")."""
    protocol = registry.get(settings.protocols_dir, protocol_id)
    section = getattr(protocol, "eligibility", None) if protocol is not None else None
    if isinstance(section, rules.EligibilityRuleSet):
        return section, "protocol"
    return rules.load_default_eligibility_rules(), "default"


def _facts(ctx: Ctx, a: Assessment, session: TherapySession, patient: Patient) -> dict[str, Any]:
    today = _today(ctx)
    enrolment = patients.get_enrolment(ctx=ctx, enrolment_id=session.enrolment_id)
    facts: dict[str, Any] = {
        "assessment_date": today,
        "age_years": rules.age_years(patient.birth_date, today),
        "consent_current": patients.current_consent(ctx=ctx, patient_id=patient.id) is not None,
        "protocol_authorised": patients.authorisation_active(enrolment, today=today),
    }
    for name, value in (a.history or {}).items():
        kind = rules.FACT_CATALOG[name].type
        is_date = kind is rules.FactType.DATE and value != rules.NONE_OCCURRED
        facts[name] = date.fromisoformat(value) if is_date else value
    for entry in ctx.db.scalars(
        select(SpirometryEntry).where(SpirometryEntry.assessment_id == a.id)
    ):
        facts.update(entry.results.get("facts", {}))
    vitals = ctx.db.scalars(select(VitalsEntry).where(VitalsEntry.assessment_id == a.id)).first()
    if vitals is not None:
        for name in (*_VITALS, "bmi"):
            if name != "height_cm" and getattr(vitals, name) is not None:
                facts[name] = getattr(vitals, name)
        if vitals.oxygen_source is not None:
            facts["on_supplemental_oxygen"] = not (
                vitals.oxygen_source == "room_air"
                or (vitals.oxygen_source == "fio2" and vitals.fio2 == 0.21)
            )
    scales = ctx.db.scalars(select(ScalesEntry).where(ScalesEntry.assessment_id == a.id)).first()
    if scales is not None:
        for fact, value in (("cat_total", scales.cat_total), ("mmrc_grade", scales.mmrc_grade),
                            ("six_minute_walk_m", scales.walk_distance_m)):  # fmt: skip
            if value is not None:
                facts[fact] = value
    return facts


def _decide(
    ctx: Ctx, settings: Settings, a: Assessment, session: TherapySession, patient: Patient
) -> tuple[rules.EligibilityDecision, str]:
    rule_set, origin = rule_set_for(settings, session.protocol_id)
    try:
        care = _care_check(ctx, a, patient.id)
        decision = rules.decide_assessment(rule_set, _facts(ctx, a, session, patient), care=care)
    except rules.AssessmentInputError as exc:
        raise _invalid(exc) from exc
    return decision, origin


def _store_decision(a: Assessment, d: rules.EligibilityDecision, origin: str) -> None:
    a.rule_set_id, a.rule_set_version = d.rule_set_id, d.rule_set_version
    a.rule_set_origin = origin
    a.decision = plain(rules.decision_record(d))
    a.computed_outcome, a.outcome = d.computed_outcome.value, d.outcome.value


def decide(*, ctx: Ctx, settings: Settings, session_id: int, data: Versioned) -> Assessment:
    """Compute the eligibility decision of a draft from the protocol's rules and its data."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_RECORD)
    a, session, patient = _editable(ctx, session_id, data.version)
    decision, origin = _decide(ctx, settings, a, session, patient)
    _store_decision(a, decision, origin)
    a.override_outcome = a.override_reason = a.override_by = None
    a.override_by_id, a.override_at = None, None
    a.decided_at, a.decided_by = ctx.clock.now(), _who(ctx)
    _touch(ctx, a, keep_decision=True)
    _audit(ctx, "assessment.decide", a, after={
        "rule_set": {"id": a.rule_set_id, "version": a.rule_set_version, "origin": origin},
        "computed_outcome": a.computed_outcome, "outcome": a.outcome,
    })  # fmt: skip
    return a


def override(*, ctx: Ctx, settings: Settings, session_id: int, data: OverrideIn) -> Assessment:
    """A physician overrides the computed outcome with a reason; both outcomes are kept."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_OVERRIDE)
    a, session, patient = _editable(ctx, session_id, data.version)
    if a.decision is None:
        raise RuleViolation("Compute the decision before overriding it.")
    decision, origin = _decide(ctx, settings, a, session, patient)
    now, who = ctx.clock.now(), _who(ctx)
    try:
        overridden = rules.override_decision(
            decision, outcome=data.outcome, reason=data.reason, by=who, at=now
        )
    except rules.AssessmentInputError as exc:
        raise _invalid(exc) from exc
    before = {"outcome": a.outcome, "computed_outcome": a.computed_outcome}
    _store_decision(a, overridden, origin)
    a.override_outcome, a.override_reason = data.outcome, data.reason.strip()
    a.override_by_id, a.override_by, a.override_at = ctx.actor.user_id, who, now
    _touch(ctx, a, keep_decision=True)
    _audit(ctx, "assessment.override", a, before=before, reason=a.override_reason,
           after={"outcome": a.outcome, "computed_outcome": a.computed_outcome})  # fmt: skip
    return a


# --- signature and amendment -------------------------------------------------------------


def signed_content(*, ctx: Ctx, a: Assessment) -> dict[str, Any]:
    """What the physician's signature covers: the data and the decision of this version."""
    spiro = ctx.db.scalars(
        select(SpirometryEntry)
        .where(SpirometryEntry.assessment_id == a.id)
        .order_by(SpirometryEntry.kind)
    ).all()
    vitals = ctx.db.scalars(select(VitalsEntry).where(VitalsEntry.assessment_id == a.id)).first()
    scales = ctx.db.scalars(select(ScalesEntry).where(ScalesEntry.assessment_id == a.id)).first()
    return {
        "assessment_id": a.id, "session_id": a.session_id, "patient_id": a.patient_id,
        "record_version": a.record_version, "history": a.history, "care_check": a.care_check,
        "spirometry": {s.kind: {"inputs": s.inputs, "results": s.results} for s in spiro},
        "vitals": None if vitals is None else _vitals_view(vitals),
        "scales": None if scales is None else _scales_view(scales),
        "decision": a.decision, "baseline_fev1_l": a.baseline_fev1_l,
    }  # fmt: skip


def sign(*, ctx: Ctx, settings: Settings, session_id: int, data: SignIn) -> Assessment:
    """A physician signs the decision ("approved"; password re-entered)."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_SIGN)
    a, _, _ = _editable(ctx, session_id, data.version)
    if a.decision is None or a.outcome is None:
        raise RuleViolation("Compute the eligibility decision before signing it.")
    if a.outcome not in DECIDED:
        raise RuleViolation(
            "The decision needs review (data missing or flagged): complete the assessment, "
            "or override the outcome with a reason, before signing."
        )
    signature = accounts.sign(
        ctx=ctx, settings=settings, record_type=RECORD_TYPE, record_id=a.id,
        record_version=a.version, content=signed_content(ctx=ctx, a=a), meaning=SIGN_MEANING,
        password=data.password, patient_id=a.patient_id,
    )  # fmt: skip
    a.status, a.signature_id = SIGNED, signature.id
    a.signed_at, a.signed_by_id, a.signed_by = signature.signed_at, ctx.actor.user_id, _who(ctx)
    _touch(ctx, a, keep_decision=True)
    after = {"status": SIGNED, "outcome": a.outcome, "signature_id": signature.id}
    _audit(ctx, "assessment.sign", a, before={"status": DRAFT}, after=after)
    return a


def signature_ok(*, ctx: Ctx, a: Assessment) -> bool | None:
    """Whether the signature still matches the stored content (``None`` when unsigned)."""
    if a.signature_id is None:
        return None
    for sig in accounts.signatures_for(ctx=ctx, record_type=RECORD_TYPE, record_id=a.id):
        if sig.id == a.signature_id:
            return accounts.signature_valid(sig, content=signed_content(ctx=ctx, a=a))
    return False


def amend(*, ctx: Ctx, session_id: int, data: AmendIn) -> Assessment:
    """Amend a signed assessment: a new draft version with the same data; the old one stays."""
    authorize(ctx=ctx, action=Action.ASSESSMENT_AMEND)
    session, _ = _session(ctx, session_id)
    old = current(ctx=ctx, session_id=session_id)
    if old is None:
        raise NotFound("This session has no assessment yet.")
    _check_version(old, data.version)
    if old.status != SIGNED:
        raise RuleViolation("Only a signed assessment is amended; edit the draft instead.")
    if session_rules.State(session.state) in session_rules.FINAL_STATES:
        raise RuleViolation(f"The session is {session.state}; its assessment can no longer change.")
    now, who = ctx.clock.now(), _who(ctx)
    new = Assessment(
        session_id=old.session_id, patient_id=old.patient_id,
        record_version=old.record_version + 1, status=DRAFT, supersedes_id=old.id,
        amend_reason=data.reason.strip(), history=dict(old.history or {}),
        care_answers=old.care_answers, care_check=old.care_check,
        baseline_fev1_l=old.baseline_fev1_l, created_at=now, created_by=who, updated_at=now,
        updated_by=who,
    )  # fmt: skip
    ctx.db.add(new)
    old.status, old.updated_at, old.updated_by = AMENDED, now, who
    flag_modified(old, "updated_at")
    ctx.db.flush()
    _copy_entries(ctx, old, new)
    _audit(ctx, "assessment.amend", new, reason=new.amend_reason,
           before={"assessment_id": old.id, "record_version": old.record_version},
           after={"assessment_id": new.id, "record_version": new.record_version,
                  "supersedes_id": old.id})  # fmt: skip
    return new


def _copy_entries(ctx: Ctx, old: Assessment, new: Assessment) -> None:
    for model in (SpirometryEntry, VitalsEntry, ScalesEntry):
        rows = ctx.db.scalars(select(model).where(model.assessment_id == old.id)).all()
        for row in rows:
            values = {c.key: getattr(row, c.key) for c in model.__table__.columns if c.key != "id"}
            ctx.db.add(model(**(values | {"assessment_id": new.id})))
    ctx.db.flush()


# --- views -------------------------------------------------------------------------------


def view(*, ctx: Ctx, a: Assessment) -> dict[str, Any]:
    """Everything the API and the page show about one assessment version."""
    spiro = ctx.db.scalars(
        select(SpirometryEntry).where(SpirometryEntry.assessment_id == a.id)
    ).all()
    vitals = ctx.db.scalars(select(VitalsEntry).where(VitalsEntry.assessment_id == a.id)).first()
    scales = ctx.db.scalars(select(ScalesEntry).where(ScalesEntry.assessment_id == a.id)).first()
    return {
        "id": a.id, "session_id": a.session_id, "patient_id": a.patient_id,
        "record_version": a.record_version, "status": a.status, "version": a.version,
        "supersedes_id": a.supersedes_id, "amend_reason": a.amend_reason,
        "history": a.history or {}, "care_check": a.care_check,
        "spirometry": {
            s.kind: {"test_date": s.test_date, "inputs": s.inputs, "equation": s.equation,
                     "table_version": s.table_version, "results": s.results,
                     "interpretation": s.interpretation, "quality": s.quality,
                     "manoeuvres": s.manoeuvres}
            for s in spiro
        },
        "vitals": None if vitals is None else _vitals_view(vitals),
        "scales": None if scales is None else _scales_view(scales),
        "rule_set": None if a.rule_set_id is None else {
            "id": a.rule_set_id, "version": a.rule_set_version, "origin": a.rule_set_origin},
        "decision": a.decision, "computed_outcome": a.computed_outcome, "outcome": a.outcome,
        "override": None if a.override_outcome is None else {
            "outcome": a.override_outcome, "reason": a.override_reason, "by": a.override_by,
            "at": a.override_at},
        "baseline_fev1_l": a.baseline_fev1_l, "signed_at": a.signed_at,
        "signed_by": a.signed_by, "signature_valid": signature_ok(ctx=ctx, a=a),
        "updated_at": a.updated_at, "updated_by": a.updated_by,
    }  # fmt: skip


def current_view(*, ctx: Ctx, session_id: int) -> dict[str, Any]:
    """:func:`view` of the session's current assessment (after an action; not audited again)."""
    a = current(ctx=ctx, session_id=session_id)
    if a is None:
        raise NotFound("This session has no assessment yet.")
    return view(ctx=ctx, a=a)


@dataclasses.dataclass(frozen=True, slots=True)
class Question:
    """One history question the rules read: fact name, wording, type, unit, choices."""

    name: str
    label: str
    type: str
    unit: str
    choices: tuple[str, ...]


def history_questions(settings: Settings, protocol_id: str) -> list[Question]:
    """The history questions the protocol's rules need (the rest come from measurements)."""
    rule_set, _ = rule_set_for(settings, protocol_id)
    return [
        Question(name, spec.label, spec.type.value, spec.unit, tuple(spec.choices))
        for name in rule_set.needs
        if name not in DERIVED_FACTS and (spec := rules.FACT_CATALOG[name])
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """Everything the assessment page shows, gathered in one transaction."""

    session_id: int
    session_state: str
    patient_id: int
    assessment: dict[str, Any] | None
    care: list[dict[str, Any]]
    questions: list[Question]


def page(*, ctx: Ctx, settings: Settings, session_id: int) -> Page:
    """The assessment page of a session (opening it is an audited read)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session, patient = _session(ctx, session_id)
    a = current(ctx=ctx, session_id=session_id)
    if a is not None:
        _audit(ctx, "assessment.read", a)
    care = [
        {"id": c.id, "medicine": c.medicine, "dose": c.dose, "route": c.route,
         "frequency": c.frequency}
        for c in patients.prescribed_care(ctx=ctx, patient_id=patient.id)
        if c.status == "active"
    ]  # fmt: skip
    return Page(
        session_id=session.id, session_state=session.state, patient_id=patient.id,
        assessment=None if a is None else view(ctx=ctx, a=a), care=care,
        questions=history_questions(settings, session.protocol_id),
    )  # fmt: skip


# --- the session state machine -----------------------------------------------------------


def assessment_facts(ctx: Ctx, session: TherapySession) -> FactContribution:
    """Session facts: the current assessment is signed; its signed decision's outcome."""
    a = current(ctx=ctx, session_id=session.id)
    if a is None or a.status != SIGNED:
        return FactContribution()
    outcome = a.outcome if a.outcome in DECIDED else None
    return FactContribution(signed_steps=frozenset({"assessment"}), eligibility=outcome)


# The guard that a decision counts only while its assessment is signed lives in the pure
# session rules (sessions/rules.py), so it holds whatever modules happen to be imported.
register_fact_provider(assessment_facts)
