"""Dose escalation for the coordinator and the investigator: cohort table, advice, decisions.

* :func:`escalation` gathers, per dose level of a 3+3 protocol, the subjects
  enrolled, treated (a session of theirs at that level reached ``inhaling``)
  and *evaluable* for dose-limiting toxicity (DLT) — the protocol's DLT window
  after their first dose (``escalation.dlt_window_days``) completed without a
  confirmed DLT, or a confirmed DLT — each subject's DLT candidates (from the
  stopping rules) with the adverse event behind them and the physician's review,
  the cohort pauses placed by the stopping rules or by hand, and the 3+3
  recommendation (:func:`~exoneb.monitoring.escalation.recommend_3plus3`,
  clinical.md §4.5 [unverified]) computed from the evaluable counts. While any
  candidate awaits review the recommendation is withheld, naming the subject.
* :func:`review_dlt` records a physician's signed review of one DLT candidate:
  a DLT, or not (with the reason), append-only; a later review supersedes it
  (with the reason for the change).
* :func:`decide` records the investigator's signed decision at the open level
  (escalate, expand, de-escalate, declare the MTD, stop), append-only, with
  the table and recommendation it was taken on. A decision that differs from
  the recommendation needs a reason. Escalating or expanding a paused cohort
  is refused until the pause is lifted (with the review as its reason).
* Which levels are open for enrolment follows from the decisions alone
  (:mod:`exoneb.monitoring.escalation_gate`); when the protocol sets
  ``escalation.gate_enrolment`` the enrolment service refuses the others.

Who decides: the dose-escalation decision is a medical one, taken by the
investigator after the safety review the protocol names (the DMC or safety
review committee) — so only physicians sign it (``escalation.decide``); the
coordinator prepares it on the same page and sees every decision. Confirming
a DLT is the same kind of act by the same person — clinical.md §4.2 sends a
candidate DLT "to the physician", and the confirmed count drives the decision —
so it uses the same permission.

Decision support, not medical advice: the DMC and the protocol decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.clock import as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import Conflict, InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.monitoring import escalation_gate, rules
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.escalation import EscalationAction, EscalationRecommendation
from exoneb.monitoring.escalation_decisions import (
    DECISION_LABELS,
    Decision,
    DecisionStep,
    EscalationState,
    apply_decision,
    follows_recommendation,
)
from exoneb.monitoring.escalation_dlt import VERDICT_LABELS, DltVerdict, evaluate_subject
from exoneb.monitoring.escalation_models import DltReview, EscalationDecision
from exoneb.monitoring.escalation_schemas import DltReviewIn, EscalationDecisionIn
from exoneb.monitoring.models import AdverseEventRecord, CourseHold
from exoneb.patients import service as patients
from exoneb.patients.models import Enrolment, Patient
from exoneb.protocols import registry
from exoneb.protocols.schema import ProtocolFile
from exoneb.sessions.models import SessionTransition, TherapySession
from exoneb.sessions.rules import State

RECORD_TYPE = "escalation_decision"
MEANING = "approved"
DLT_RECORD_TYPE = "dlt_review"
DLT_MEANING = "reviewed"
DISCLAIMER = (
    "Decision support: the 3+3 recommendation follows the textbook table (clinical.md §4.5, "
    "[unverified]). The DMC and the protocol decide; a physician signs the decision."
)
_DOSED = frozenset({State.INHALING.value, State.MONITORING.value, State.DISCHARGED.value})
ACTION_LABELS: dict[str, str] = {
    EscalationAction.ENROL.value: "Finish the cohort before deciding",
    EscalationAction.ESCALATE.value: "Escalate",
    EscalationAction.EXPAND.value: "Expand to 6",
    EscalationAction.DE_ESCALATE.value: "De-escalate",
    EscalationAction.MTD.value: "Maximum tolerated dose determined",
    EscalationAction.STOP.value: "Stop: no MTD",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A DLT candidate of a subject (a patient hold by a stopping rule) and its latest review."""

    hold_id: int
    rule_id: str | None
    reason: str
    raised_at: datetime
    after_window: bool  # raised after the subject's DLT window had ended
    adverse_event_id: int | None
    url: str | None
    reviews: int  # how many reviews so far (the form sends it back: a stale review is refused)
    verdict: str | None  # DltVerdict value of the latest review; None: awaiting review
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Subject:
    """One subject at a dose level, as the coordinator sees them."""

    patient_id: int | None  # None when the patient is at another site
    label: str
    session_id: int | None
    session_state: str | None
    treated: bool
    evaluable: bool
    dlt: bool  # a candidate confirmed as DLT by a physician
    dlt_reason: str | None = None
    dlt_adverse_event_id: int | None = None
    dlt_url: str | None = None
    first_dose_at: datetime | None = None
    dlt_window_ends_at: datetime | None = None
    in_dlt_window: bool = False
    dlt_pending: int = 0  # candidates awaiting review
    candidates: tuple[Candidate, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Level:
    """One dose level: cohort, pauses, open for enrolment."""

    level: int
    arm_code: str
    label: str
    enrolled: int
    subjects: tuple[Subject, ...]
    pauses: tuple[CourseHold, ...]
    open: bool

    @property
    def treated(self) -> int:
        """Subjects dosed at this level."""
        return sum(s.treated for s in self.subjects)

    @property
    def evaluable(self) -> int:
        """Subjects evaluable for DLT: DLT window completed without a confirmed DLT, or one."""
        return sum(s.evaluable for s in self.subjects)

    @property
    def dlts(self) -> int:
        """Evaluable subjects with a confirmed dose-limiting toxicity."""
        return sum(s.dlt and s.evaluable for s in self.subjects)

    @property
    def pending(self) -> tuple[Subject, ...]:
        """Subjects with a DLT candidate awaiting a physician's review."""
        return tuple(s for s in self.subjects if s.dlt_pending)

    @property
    def active_pauses(self) -> tuple[CourseHold, ...]:
        """Pauses not lifted."""
        return tuple(p for p in self.pauses if p.status == monitoring.ACTIVE)


@dataclasses.dataclass(frozen=True, slots=True)
class Escalation:
    """Everything the escalation page and API show."""

    protocol: ProtocolFile
    levels: tuple[Level, ...]
    recommendation: EscalationRecommendation | None
    recommendation_problem: str | None
    state: EscalationState
    decisions: tuple[EscalationDecision, ...]

    @property
    def open_arm_codes(self) -> tuple[str, ...]:
        """The arm codes open for enrolment, lowest first."""
        return tuple(lv.arm_code for lv in self.levels if lv.open)

    def code(self, number: int | None) -> str | None:
        """The arm code of a level number."""
        return next((lv.arm_code for lv in self.levels if lv.level == number), None)


def _protocol(settings: Settings, protocol_id: str) -> ProtocolFile:
    protocol = registry.get(settings.protocols_dir, protocol_id)
    if protocol is None:
        raise NotFound(f"No protocol {protocol_id!r}.")
    if protocol.escalation is None:
        raise NotFound(f"Protocol {protocol_id!r} has no dose-escalation section.")
    return protocol


def escalation_protocols(*, ctx: Ctx, settings: Settings) -> list[ProtocolFile]:
    """The protocols that escalate doses (for the index page)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    return [p for p in registry.load_all(settings.protocols_dir).values() if p.escalation]


def _dosed_aborted(ctx: Ctx, session_ids: Sequence[int]) -> set[int]:
    """Aborted sessions that had entered ``inhaling`` (the subject was dosed)."""
    if not session_ids:
        return set()
    return set(
        ctx.db.scalars(
            select(SessionTransition.session_id).where(
                SessionTransition.session_id.in_(session_ids),
                SessionTransition.to_state == State.INHALING.value,
            )
        )
    )


def _first_doses(ctx: Ctx, session_ids: Sequence[int]) -> dict[int, datetime]:
    """Session id → when it entered ``inhaling`` (its dose started)."""
    if not session_ids:
        return {}
    rows = ctx.db.execute(
        select(SessionTransition.session_id, func.min(SessionTransition.at))
        .where(
            SessionTransition.session_id.in_(session_ids),
            SessionTransition.to_state == State.INHALING.value,
        )
        .group_by(SessionTransition.session_id)
    ).all()
    return {sid: as_utc(at) for sid, at in rows}


def _dlt_source(
    ctx: Ctx, protocol: ProtocolFile, hold: CourseHold
) -> tuple[int | None, str | None]:
    """The adverse event that made ``hold`` a DLT candidate (by its rule alone), and a link.

    Event rules (related grade ≥ 3, anaphylaxis, …) point at the event; the
    airway and fever rules point at the session's monitoring page.
    """
    if hold.enrolment_id is not None:
        params = protocol.stopping_parameters()
        events = ctx.db.scalars(
            select(AdverseEventRecord)
            .where(AdverseEventRecord.enrolment_id == hold.enrolment_id)
            .order_by(AdverseEventRecord.onset_at, AdverseEventRecord.id)
        ).all()
        for row in events:
            facts = rules.StoppingFacts(adverse_events=[monitoring._stored_event(row)])
            decision = rules.evaluate_stopping_rules(facts, ctx.clock.now(), params)
            if any(r.rule_id == hold.rule_id for r in decision.reasons):
                return row.id, f"/sessions/{row.session_id}/monitoring#ae-{row.id}"
    if hold.session_id is None:
        return None, None
    return None, f"/sessions/{hold.session_id}/monitoring#holds"


def _candidate_holds(ctx: Ctx, protocol_id: str, arm_code: str) -> Sequence[CourseHold]:
    return ctx.db.scalars(
        select(CourseHold)
        .where(
            CourseHold.protocol_id == protocol_id, CourseHold.arm_code == arm_code,
            CourseHold.scope == "patient", CourseHold.dlt_candidate.is_(True),
        )
        .order_by(CourseHold.created_at, CourseHold.id)
    ).all()  # fmt: skip


def _reviews(ctx: Ctx, hold_ids: Sequence[int]) -> dict[int, list[DltReview]]:
    """Hold id → its reviews, oldest first (the last one counts)."""
    out: dict[int, list[DltReview]] = {}
    if hold_ids:
        rows = ctx.db.scalars(
            select(DltReview)
            .where(DltReview.course_hold_id.in_(hold_ids))
            .order_by(DltReview.course_hold_id, DltReview.sequence)
        )
        for r in rows:
            out.setdefault(r.course_hold_id, []).append(r)
    return out


def _candidate(
    ctx: Ctx, protocol: ProtocolFile, hold: CourseHold, reviews: Sequence[DltReview],
    window_ends_at: datetime | None, visible: bool,
) -> Candidate:  # fmt: skip
    event_id, url = _dlt_source(ctx, protocol, hold) if visible else (None, None)
    last = reviews[-1] if reviews else None
    raised = as_utc(hold.created_at)
    return Candidate(
        hold_id=hold.id, rule_id=hold.rule_id, reason=hold.reason, raised_at=raised,
        after_window=window_ends_at is not None and raised >= window_ends_at,
        adverse_event_id=event_id, url=url, reviews=len(reviews),
        verdict=last.verdict if last else None,
        reviewed_by=last.reviewed_by if last else None,
        reviewed_at=as_utc(last.reviewed_at) if last else None,
        review_reason=last.reason if last else None,
    )  # fmt: skip


def _subjects(ctx: Ctx, protocol: ProtocolFile, arm_code: str) -> tuple[int, tuple[Subject, ...]]:
    """(enrolled, subjects) of one level: the dosed ones, then those waiting for a dose."""
    section = protocol.escalation
    assert section is not None  # only escalating protocols get here (see _protocol)
    enrolments = ctx.db.scalars(
        select(Enrolment)
        .where(Enrolment.protocol_id == protocol.id, Enrolment.arm_code == arm_code)
        .order_by(Enrolment.enrolled_at, Enrolment.id)
    ).all()
    sessions = ctx.db.scalars(
        select(TherapySession)
        .where(TherapySession.protocol_id == protocol.id, TherapySession.arm_code == arm_code)
        .order_by(TherapySession.created_at, TherapySession.id)
    ).all()
    aborted = _dosed_aborted(ctx, [s.id for s in sessions if s.state == State.ABORTED.value])
    dosed: dict[int, list[TherapySession]] = {}
    for s in sessions:
        if s.state in _DOSED or s.id in aborted:
            dosed.setdefault(s.patient_id, []).append(s)
    started = _first_doses(ctx, [s.id for mine in dosed.values() for s in mine])
    holds = _candidate_holds(ctx, protocol.id, arm_code)
    reviews = _reviews(ctx, [h.id for h in holds])
    by_patient: dict[int, list[CourseHold]] = {}
    for h in holds:
        if h.patient_id is not None:
            by_patient.setdefault(h.patient_id, []).append(h)
    patient_ids = {e.patient_id for e in enrolments} | set(dosed)
    people = {p.id: p for p in ctx.db.scalars(select(Patient).where(Patient.id.in_(patient_ids)))}
    order = list(dict.fromkeys([*dosed, *(e.patient_id for e in enrolments)]))
    now = ctx.clock.now()
    out = []
    for pid in order:
        patient = people.get(pid)
        visible = patient is not None and patient.site_id == ctx.actor.site_id
        label = (
            f"{patient.mrn} ({patient.given_name[:1]}. {patient.family_name[:1]}.)"
            if visible and patient is not None
            else f"Subject {pid} (another site)"
        )
        mine = dosed.get(pid, [])
        last = mine[-1] if mine else None
        first = min((started[s.id] for s in mine if s.id in started), default=None)
        if mine and first is None:  # dosed by state, transition missing: count from the session
            first = as_utc(mine[0].created_at)
        own = by_patient.get(pid, []) if mine else []
        status = evaluate_subject(
            first_dose_at=first, window=section.dlt_window(), now=now,
            verdicts=[_verdict(reviews.get(h.id)) for h in own],
        )  # fmt: skip
        cands = tuple(
            _candidate(ctx, protocol, h, reviews.get(h.id, []), status.window_ends_at, visible)
            for h in own
        )
        confirmed = next((c for c in cands if c.verdict == DltVerdict.DLT.value), None)
        out.append(
            Subject(
                patient_id=pid if visible else None, label=label,
                session_id=last.id if last and visible else None,
                session_state=last.state if last else None, treated=bool(mine),
                evaluable=status.evaluable, dlt=status.dlt,
                dlt_reason=confirmed.reason if confirmed else None,
                dlt_adverse_event_id=confirmed.adverse_event_id if confirmed else None,
                dlt_url=confirmed.url if confirmed else None,
                first_dose_at=first, dlt_window_ends_at=status.window_ends_at,
                in_dlt_window=status.in_window, dlt_pending=status.pending, candidates=cands,
            )
        )  # fmt: skip
    return len(enrolments), tuple(out)


def _verdict(reviews: Sequence[DltReview] | None) -> DltVerdict | None:
    return DltVerdict(reviews[-1].verdict) if reviews else None


def _window_note(
    rec: EscalationRecommendation, levels: Sequence[Level]
) -> EscalationRecommendation:
    """ "Finish the cohort" says who is still in the DLT window: they count when it ends."""
    if rec.action is not EscalationAction.ENROL or rec.level is None:
        return rec
    level = levels[rec.level - 1]
    waiting = [s for s in level.subjects if s.in_dlt_window and not s.evaluable]
    ends = [s.dlt_window_ends_at for s in waiting if s.dlt_window_ends_at is not None]
    if not ends:
        return rec
    note = (
        f" {len(waiting)} treated at {level.arm_code} still in their DLT window (the last "
        f"until {max(ends):%Y-%m-%d %H:%M} UTC): they count when it ends."
    )
    return dataclasses.replace(rec, reason=rec.reason + note)


def _pending_problem(levels: Sequence[Level]) -> str | None:
    """The plain reason to withhold the 3+3 recommendation while a DLT review is pending."""
    waiting = [f"{s.label} at {lv.arm_code}" for lv in levels for s in lv.pending]
    if not waiting:
        return None
    return (
        f"DLT review pending for subject {', '.join(waiting)}: no 3+3 recommendation until a "
        "physician confirms or rejects each DLT candidate."
    )


def escalation(*, ctx: Ctx, settings: Settings, protocol_id: str) -> Escalation:
    """The cohort table per level, the 3+3 recommendation, the decisions and the open levels."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    protocol = _protocol(settings, protocol_id)
    state = escalation_gate.state_of(ctx.db, protocol)
    decisions = tuple(escalation_gate.decisions_of(ctx.db, protocol.id))
    numbers = protocol.escalation_levels()
    levels = []
    for code, number in sorted(numbers.items(), key=lambda kv: kv[1]):
        arm = protocol.arm(code)
        enrolled, subjects = _subjects(ctx, protocol, code)
        pauses = ctx.db.scalars(
            select(CourseHold)
            .where(
                CourseHold.protocol_id == protocol.id, CourseHold.arm_code == code,
                CourseHold.scope == "cohort",
            )
            .order_by(CourseHold.created_at, CourseHold.id)
        ).all()  # fmt: skip
        levels.append(
            Level(
                level=number, arm_code=code, label=arm.label if arm else code, enrolled=enrolled,
                subjects=subjects, pauses=tuple(pauses), open=number in state.open_levels,
            )
        )  # fmt: skip
    rec, problem = None, _pending_problem(levels)
    try:  # over-enrolment (> 6 at a level) is possible in practice: say so, don't fail
        table = [rules.CohortLevel(lv.level, lv.evaluable, lv.dlts) for lv in levels]
        rec = None if problem else _window_note(rules.recommend_3plus3(table), levels)
    except ValueError as exc:
        problem = f"No 3+3 recommendation: {exc}."
    return Escalation(protocol, tuple(levels), rec, problem, state, decisions)


def _cohort_snapshot(e: Escalation) -> list[dict[str, Any]]:
    return [
        {"level": lv.level, "arm_code": lv.arm_code, "enrolled": lv.enrolled,
         "treated": lv.treated, "evaluable": lv.evaluable, "dlts": lv.dlts,
         "dlt_pending": len(lv.pending), "active_pauses": [p.id for p in lv.active_pauses]}
        for lv in e.levels
    ]  # fmt: skip


def signed_content(row: EscalationDecision) -> dict[str, Any]:
    """What the decision's e-signature covers."""
    return {
        "decision_id": row.id, "protocol_id": row.protocol_id,
        "protocol_version": row.protocol_version, "sequence": row.sequence,
        "level": row.level_number, "arm_code": row.arm_code, "decision": row.decision,
        "mtd_level": row.mtd_level, "reason": row.reason,
        "recommended_action": row.recommended_action,
        "recommended_level": row.recommended_level,
        "recommended_mtd_level": row.recommended_mtd_level,
        "follows_recommendation": row.follows_recommendation, "cohort": row.cohort,
        "open_levels_after": row.open_levels_after,
        "decided_at": as_utc(row.decided_at).isoformat(), "decided_by_id": row.decided_by_id,
    }  # fmt: skip


def _level_number(e: Escalation, code: str, field: str) -> int:
    found = next((lv.level for lv in e.levels if lv.arm_code == code), None)
    if found is None:
        codes = ", ".join(lv.arm_code for lv in e.levels)
        raise InvalidInput(f"Choose a dose level of this escalation: {codes}.", field=field)
    return found


def decide(
    *, ctx: Ctx, settings: Settings, protocol_id: str, data: EscalationDecisionIn
) -> EscalationDecision:
    """Record and sign (password re-entered) the decision at an open dose level."""
    authorize(ctx=ctx, action=Action.ESCALATION_DECIDE)
    e = escalation(ctx=ctx, settings=settings, protocol_id=protocol_id)
    if data.decisions_seen != len(e.decisions):
        last = e.decisions[-1]
        raise StaleEdit(
            record="dose-escalation table", changed_by=last.decided_by,
            changed_at=as_utc(last.decided_at), version=len(e.decisions),
        )  # fmt: skip
    number = _level_number(e, data.level, "level")
    mtd = None if data.mtd_level is None else _level_number(e, data.mtd_level, "mtd_level")
    step = DecisionStep(data.decision, number, mtd)
    try:
        after = apply_decision(e.state, step, top=len(e.levels))
    except ValueError as exc:
        field = "mtd_level" if "MTD level" in str(exc) else "decision"
        if e.state.closed or "not open" in str(exc):
            raise RuleViolation(str(exc)) from exc
        raise InvalidInput(str(exc), field=field) from exc
    level = e.levels[number - 1]
    if data.decision in (Decision.ESCALATE, Decision.EXPAND) and level.active_pauses:
        pause = level.active_pauses[0]
        raise RuleViolation(
            f"The cohort at {level.arm_code} is paused since "
            f"{as_utc(pause.created_at):%Y-%m-%d %H:%M} UTC by {pause.created_by}: "
            f"{pause.reason} Lift the pause (with the safety review as its reason) before "
            "escalating or expanding; de-escalating, declaring the MTD or stopping stay possible."
        )
    rec = e.recommendation
    follows = follows_recommendation(rec, step)
    reason = (data.reason or "").strip() or None
    if not follows and reason is None:
        if rec is None:
            why = e.recommendation_problem or "see the table"
            raise InvalidInput(
                f"There is no 3+3 recommendation now ({why}): give the reason for this decision "
                "(e.g. the DMC's review).",
                field="reason",
            )
        advice = ACTION_LABELS[rec.action.value]
        raise InvalidInput(
            f"This decision differs from the 3+3 recommendation, “{advice}” ({rec.reason}): "
            "give the reason (e.g. the DMC's review).",
            field="reason",
        )
    row = EscalationDecision(
        protocol_id=e.protocol.id, protocol_version=e.protocol.version,
        sequence=len(e.decisions) + 1, level_number=number, arm_code=level.arm_code,
        decision=data.decision.value, mtd_level=mtd, reason=reason,
        recommended_action=rec.action.value if rec else None,
        recommended_level=rec.level if rec else None,
        recommended_mtd_level=rec.mtd_level if rec else None,
        recommendation_reason=rec.reason if rec else e.recommendation_problem,
        recommendation_source=rec.source if rec else None, follows_recommendation=follows,
        cohort=_cohort_snapshot(e),
        open_levels_after=[e.code(n) for n in after.open_levels],
        decided_at=ctx.clock.now(), decided_by_id=ctx.actor.user_id,
        decided_by=ctx.actor.full_name or ctx.actor.username,
    )  # fmt: skip
    ctx.db.add(row)
    try:
        ctx.db.flush()
    except IntegrityError as exc:  # (protocol, sequence) is unique: someone decided meanwhile
        raise Conflict(
            "Another decision on this escalation was recorded at the same moment; reload the "
            "page, check it, then decide again."
        ) from exc
    signature = accounts.sign(
        ctx=ctx, settings=settings, record_type=RECORD_TYPE, record_id=row.id, record_version=1,
        content=signed_content(row), meaning=MEANING, password=data.password,
    )  # fmt: skip
    audit.record(
        ctx=ctx, action="escalation.decide", entity_type=RECORD_TYPE, entity_id=row.id,
        entity_version=1, after={**signed_content(row), "signature_id": signature.id},
        reason=reason,
    )  # fmt: skip
    return row


def dlt_signed_content(row: DltReview) -> dict[str, Any]:
    """What a DLT review's e-signature covers."""
    return {
        "review_id": row.id, "hold_id": row.course_hold_id, "sequence": row.sequence,
        "protocol_id": row.protocol_id, "arm_code": row.arm_code, "patient_id": row.patient_id,
        "adverse_event_id": row.adverse_event_id, "rule_id": row.rule_id,
        "candidate_reason": row.candidate_reason, "verdict": row.verdict, "reason": row.reason,
        "reviewed_at": as_utc(row.reviewed_at).isoformat(), "reviewed_by_id": row.reviewed_by_id,
    }  # fmt: skip


def review_dlt(*, ctx: Ctx, settings: Settings, protocol_id: str, data: DltReviewIn) -> DltReview:
    """Record and sign (password re-entered) a physician's review of one DLT candidate.

    "Not a DLT" needs its reason; so does a review that replaces an earlier one
    (the earlier one stays, superseded). The candidate's text and adverse event
    are kept in the review as the physician saw them.
    """
    authorize(ctx=ctx, action=Action.ESCALATION_DECIDE)
    protocol = _protocol(settings, protocol_id)
    hold = ctx.db.get(CourseHold, data.hold_id)
    if (
        hold is None or not hold.dlt_candidate or hold.scope != "patient"
        or hold.protocol_id != protocol.id or hold.patient_id is None
        or hold.arm_code not in protocol.escalation_levels()
    ):  # fmt: skip
        raise NotFound("No such DLT candidate in this dose escalation.")
    patients.load_visible(ctx, hold.patient_id)  # another site's subject: not found
    earlier = ctx.db.scalars(
        select(DltReview).where(DltReview.course_hold_id == hold.id).order_by(DltReview.sequence)
    ).all()
    if data.reviews_seen != len(earlier):
        last = earlier[-1]
        raise StaleEdit(
            record="DLT review", changed_by=last.reviewed_by,
            changed_at=as_utc(last.reviewed_at), version=len(earlier),
        )  # fmt: skip
    reason = (data.reason or "").strip() or None
    if reason is None and data.verdict is DltVerdict.NOT_DLT:
        raise InvalidInput(
            "Give the reason this candidate is not a dose-limiting toxicity "
            "(e.g. unrelated to the product, or outside the DLT window).",
            field="reason",
        )
    if reason is None and earlier:
        raise InvalidInput(
            f"This candidate was already reviewed by {earlier[-1].reviewed_by}: give the reason "
            "for the new review.",
            field="reason",
        )
    event_id, _ = _dlt_source(ctx, protocol, hold)
    row = DltReview(
        course_hold_id=hold.id, sequence=len(earlier) + 1, protocol_id=protocol.id,
        arm_code=hold.arm_code, patient_id=hold.patient_id, adverse_event_id=event_id,
        rule_id=hold.rule_id, candidate_reason=hold.reason, verdict=data.verdict.value,
        reason=reason, reviewed_at=ctx.clock.now(), reviewed_by_id=ctx.actor.user_id,
        reviewed_by=ctx.actor.full_name or ctx.actor.username,
    )  # fmt: skip
    ctx.db.add(row)
    try:
        ctx.db.flush()
    except IntegrityError as exc:  # (hold, sequence) is unique: someone reviewed it meanwhile
        raise Conflict(
            "Another physician reviewed this DLT candidate at the same moment; nothing of yours "
            "was saved. Reload the page, read their review, then review again if needed."
        ) from exc
    signature = accounts.sign(
        ctx=ctx, settings=settings, record_type=DLT_RECORD_TYPE, record_id=row.id,
        record_version=1, content=dlt_signed_content(row), meaning=DLT_MEANING,
        password=data.password,
    )  # fmt: skip
    audit.record(
        ctx=ctx, action="dlt.review", entity_type=DLT_RECORD_TYPE, entity_id=row.id,
        entity_version=1, patient_id=row.patient_id,
        before=None if not earlier else {"verdict": earlier[-1].verdict,
                                         "review_id": earlier[-1].id},
        after={**dlt_signed_content(row), "signature_id": signature.id}, reason=reason,
    )  # fmt: skip
    return row


def _signature(
    ctx: Ctx, record_type: str, record_id: int, content: dict[str, Any]
) -> dict[str, Any]:
    """Who signed the record, when, with what meaning, and whether it still matches ``content``."""
    sig = next(iter(accounts.signatures_for(ctx=ctx, record_type=record_type,
                                            record_id=record_id)), None)  # fmt: skip
    return {
        "signed_by": sig.signer_name if sig else None,
        "signed_at": as_utc(sig.signed_at) if sig else None,
        "signature_meaning": sig.meaning if sig else None,
        "signature_valid": sig is not None and accounts.signature_valid(sig, content=content),
    }


def dlt_review_view(ctx: Ctx, row: DltReview) -> dict[str, Any]:
    """One DLT review as plain data, with its signature and whether it still matches."""
    return {
        "id": row.id, "hold_id": row.course_hold_id, "sequence": row.sequence,
        "patient_id": row.patient_id, "arm_code": row.arm_code,
        "adverse_event_id": row.adverse_event_id, "candidate_reason": row.candidate_reason,
        "verdict": row.verdict, "verdict_label": VERDICT_LABELS[DltVerdict(row.verdict)],
        "reason": row.reason, "reviewed_at": as_utc(row.reviewed_at),
        "reviewed_by": row.reviewed_by,
        **_signature(ctx, DLT_RECORD_TYPE, row.id, dlt_signed_content(row)),
    }  # fmt: skip


def decision_view(ctx: Ctx, e: Escalation, row: EscalationDecision) -> dict[str, Any]:
    """One decision as plain data, with its signature and whether it still matches."""
    label = DECISION_LABELS[Decision(row.decision)]
    if row.mtd_level is not None:
        label += f": {e.code(row.mtd_level) or row.mtd_level}"
    return {
        "id": row.id, "sequence": row.sequence, "level": row.level_number,
        "arm_code": row.arm_code, "decision": row.decision, "decision_label": label,
        "mtd_level": row.mtd_level, "reason": row.reason,
        "recommended_action": row.recommended_action,
        "recommendation_reason": row.recommendation_reason,
        "follows_recommendation": row.follows_recommendation,
        "open_levels_after": list(row.open_levels_after), "decided_at": as_utc(row.decided_at),
        "decided_by": row.decided_by,
        **_signature(ctx, RECORD_TYPE, row.id, signed_content(row)),
    }  # fmt: skip


def _pause_view(p: CourseHold) -> dict[str, Any]:
    return {
        "hold_id": p.id, "status": p.status, "origin": p.origin, "rule_id": p.rule_id,
        "reason": p.reason, "placed_at": as_utc(p.created_at), "placed_by": p.created_by,
        "lifted_at": None if p.lifted_at is None else as_utc(p.lifted_at),
        "lifted_by": p.lifted_by,
    }  # fmt: skip


def view(ctx: Ctx, e: Escalation) -> dict[str, Any]:
    """:class:`Escalation` as plain data (API, page and the safety overview report)."""
    rec = e.recommendation
    section = e.protocol.escalation
    gate = section.gate_enrolment if section else None
    return {
        "protocol_id": e.protocol.id, "protocol_version": e.protocol.version,
        "levels": [
            {"level": lv.level, "arm_code": lv.arm_code, "label": lv.label,
             "enrolled": lv.enrolled, "treated": lv.treated, "evaluable": lv.evaluable,
             "dlts": lv.dlts, "dlt_pending": len(lv.pending), "open": lv.open,
             "subjects": [dataclasses.asdict(s) for s in lv.subjects],
             "pauses": [_pause_view(p) for p in lv.pauses]}
            for lv in e.levels
        ],
        "action": rec.action.value if rec else None,
        "action_label": ACTION_LABELS[rec.action.value] if rec else None,
        "next_level": rec.level if rec else None,
        "next_level_code": e.code(rec.level) if rec else None,
        "mtd_level": rec.mtd_level if rec else None,
        "mtd_level_code": e.code(rec.mtd_level) if rec else None,
        "reason": rec.reason if rec else e.recommendation_problem,
        "source": rec.source if rec else None,
        "design_source": section.source if section else None,
        "gate_enrolment": bool(section and section.gates_enrolment()),
        "gate_source": gate.source if gate else None,
        "dlt_window_days": section.dlt_window_days.value if section else None,
        "dlt_window_source": section.dlt_window_days.source if section else None,
        "open_levels": list(e.open_arm_codes), "closed": e.state.closed,
        "decided_mtd_level": e.state.mtd_level,
        "decided_mtd_level_code": e.code(e.state.mtd_level),
        "stopped": e.state.stopped, "decisions_seen": len(e.decisions),
        "decisions": [decision_view(ctx, e, d) for d in e.decisions],
        "disclaimer": DISCLAIMER,
    }  # fmt: skip


def escalation_view(*, ctx: Ctx, settings: Settings, protocol_id: str) -> dict[str, Any]:
    """The escalation of a protocol as plain data; empty levels when it does not escalate."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    protocol = registry.get(settings.protocols_dir, protocol_id)
    if protocol is None:
        raise NotFound(f"No protocol {protocol_id!r}.")
    if protocol.escalation is None:
        return {"protocol_id": protocol_id, "levels": [], "action": None, "next_level": None,
                "mtd_level": None, "reason": None, "source": None, "decisions": [],
                "open_levels": []}  # fmt: skip
    return view(ctx, escalation(ctx=ctx, settings=settings, protocol_id=protocol_id))
