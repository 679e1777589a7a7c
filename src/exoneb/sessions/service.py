"""Session actions: plan, move through the state machine, abort; and the fact providers.

The decision whether a move is allowed is made by :mod:`exoneb.sessions.rules`;
this module only gathers the facts, enforces the decision, writes the state,
the history row and the audit row in one transaction.

Step packages register a fact provider here (see :func:`register_fact_provider`)
to contribute what their own tables know — a signed assessment, the eligibility
decision, a second-person check — without this module importing them, and may
register a plan guard (:func:`register_plan_guard`) that refuses planning a
session (e.g. step 4: a paused cohort, a stopped dose escalation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select

from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.clock import as_utc
from exoneb.core.context import Ctx
from exoneb.core.errors import NotFound, RuleViolation, StaleEdit
from exoneb.patients import service as patients
from exoneb.patients.models import Enrolment, Patient, PrescribedCare
from exoneb.sessions import rules
from exoneb.sessions.models import SessionTransition, TherapySession
from exoneb.sessions.rules import SessionFacts, State
from exoneb.sessions.schemas import SessionPlan


@dataclass(frozen=True, slots=True)
class FactContribution:
    """What one step package knows about a session."""

    signed_steps: frozenset[str] = frozenset()
    eligibility: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)


FactProvider = Callable[[Ctx, TherapySession], FactContribution]
_FACT_PROVIDERS: list[FactProvider] = []


def register_fact_provider(provider: FactProvider) -> None:
    """Let a step package contribute facts for the guards (call once at import)."""
    if provider not in _FACT_PROVIDERS:
        _FACT_PROVIDERS.append(provider)


PlanGuard = Callable[[Ctx, Enrolment], str | None]
"""``(ctx, enrolment)`` → why no session may be planned on it now, or ``None``."""
_PLAN_GUARDS: list[PlanGuard] = []


def register_plan_guard(guard: PlanGuard) -> None:
    """Let a step package refuse planning a session (call once at import)."""
    if guard not in _PLAN_GUARDS:
        _PLAN_GUARDS.append(guard)


def _snapshot(session: TherapySession) -> dict[str, object]:
    return {
        "state": session.state, "planned_for": session.planned_for,
        "enrolment_id": session.enrolment_id, "arm_code": session.arm_code,
        "version": session.version,
    }  # fmt: skip


def facts_for(*, ctx: Ctx, session: TherapySession) -> SessionFacts:
    """Everything the guards need to decide about ``session`` now."""
    enrolment = patients.get_enrolment(ctx=ctx, enrolment_id=session.enrolment_id)
    facts = SessionFacts(
        state=State(session.state),
        consent_current=patients.current_consent(ctx=ctx, patient_id=session.patient_id)
        is not None,
        authorisation_active=patients.authorisation_active(enrolment, today=ctx.clock.now().date()),
    )
    for provider in _FACT_PROVIDERS:
        extra = provider(ctx, session)
        facts = replace(
            facts,
            signed_steps=facts.signed_steps | extra.signed_steps,
            eligibility=extra.eligibility or facts.eligibility,
            flags={**facts.flags, **extra.flags},
        )
    return facts


def plan_session(*, ctx: Ctx, patient_id: int, data: SessionPlan) -> TherapySession:
    """Plan a session; needs current consent and an active authorisation on the enrolment."""
    authorize(ctx=ctx, action=Action.SESSION_PLAN)
    enrolment = patients.get_enrolment(ctx=ctx, enrolment_id=data.enrolment_id)
    if enrolment.patient_id != patient_id:
        raise NotFound("This enrolment belongs to another patient.")
    patient = patients.active_patient(ctx, patient_id)
    problems = rules.can_plan(
        consent_current=patients.current_consent(ctx=ctx, patient_id=patient.id) is not None,
        authorisation_active=patients.authorisation_active(enrolment, today=ctx.clock.now().date()),
    )
    problems += [msg for guard in _PLAN_GUARDS if (msg := guard(ctx, enrolment))]
    if problems:
        raise RuleViolation(" ".join(problems))
    now = ctx.clock.now()
    who = ctx.actor.full_name or ctx.actor.username
    session = TherapySession(
        patient_id=patient.id,
        enrolment_id=enrolment.id,
        protocol_id=enrolment.protocol_id,
        protocol_version=enrolment.protocol_version,
        arm_code=enrolment.arm_code,
        state=State.PLANNED.value,
        planned_for=as_utc(data.planned_for),
        note=data.note,
        created_at=now,
        created_by=who,
        updated_at=now,
        updated_by=who,
    )
    ctx.db.add(session)
    ctx.db.flush()
    _history(ctx, session, None, State.PLANNED, data.note)
    audit.record(
        ctx=ctx,
        action="session.plan",
        entity_type="therapy_session",
        entity_id=session.id,
        entity_version=session.version,
        patient_id=patient.id,
        after=_snapshot(session),
    )
    return session


def get_session(*, ctx: Ctx, session_id: int, refresh: bool = False) -> TherapySession:
    """One session at the user's site (reading it counts as reading the patient record).

    ``refresh`` marks a background re-read of a page the user already opened
    (htmx polling); it is not audited again, so an open page does not add a
    row every 30 seconds.
    """
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session = ctx.db.get(TherapySession, session_id)
    if session is None:
        raise NotFound("No such session.")
    patients.load_visible(ctx, session.patient_id)
    if refresh:
        return session
    audit.record(
        ctx=ctx,
        action="session.read",
        entity_type="therapy_session",
        entity_id=session.id,
        entity_version=session.version,
        patient_id=session.patient_id,
    )
    return session


def sessions_of(*, ctx: Ctx, patient_id: int) -> Sequence[TherapySession]:
    """A patient's sessions, newest planned first (the timeline)."""
    return ctx.db.scalars(
        select(TherapySession)
        .where(TherapySession.patient_id == patient_id)
        .order_by(TherapySession.planned_for.desc(), TherapySession.id.desc())
    ).all()


def sessions_in_protocol(*, ctx: Ctx, protocol_id: str) -> Sequence[TherapySession]:
    """A protocol's sessions at the user's site, oldest planned first (reports and exports).

    No permission check or audit: the calling report or export does both.
    """
    return ctx.db.scalars(
        select(TherapySession)
        .join(Patient, Patient.id == TherapySession.patient_id)
        .where(TherapySession.protocol_id == protocol_id, Patient.site_id == ctx.actor.site_id)
        .order_by(TherapySession.planned_for, TherapySession.id)
    ).all()


def history(*, ctx: Ctx, session_id: int) -> Sequence[SessionTransition]:
    """Every state change of a session, oldest first."""
    return ctx.db.scalars(
        select(SessionTransition)
        .where(SessionTransition.session_id == session_id)
        .order_by(SessionTransition.at, SessionTransition.id)
    ).all()


def move(
    *, ctx: Ctx, session_id: int, target: State, version: int, reason: str | None = None
) -> TherapySession:
    """Move a session to ``target`` if the rules allow it now."""
    action = Action.SESSION_ABORT if target is State.ABORTED else Action.SESSION_TRANSITION
    authorize(ctx=ctx, action=action)
    session = ctx.db.get(TherapySession, session_id)
    if session is None:
        raise NotFound("No such session.")
    patients.load_visible(ctx, session.patient_id)
    if session.version != version:
        raise StaleEdit(
            record="session",
            changed_by=session.updated_by,
            changed_at=session.updated_at,
            version=session.version,
        )
    facts = facts_for(ctx=ctx, session=session)
    problems = rules.check(facts, target, reason=reason)
    if problems:
        raise RuleViolation(" ".join(problems))
    before = _snapshot(session)
    source = State(session.state)
    session.state = target.value
    if target is State.ABORTED:
        session.abort_reason = reason
    session.updated_at = ctx.clock.now()
    session.updated_by = ctx.actor.full_name or ctx.actor.username
    ctx.db.flush()
    _history(ctx, session, source, target, reason)
    audit.record(
        ctx=ctx,
        action="session.abort" if target is State.ABORTED else "session.transition",
        entity_type="therapy_session",
        entity_id=session.id,
        entity_version=session.version,
        patient_id=session.patient_id,
        before=before,
        after=_snapshot(session),
        reason=reason,
    )
    return session


def abort(*, ctx: Ctx, session_id: int, reason: str, version: int) -> TherapySession:
    """Abort a session from any non-final state, with a reason."""
    return move(
        ctx=ctx, session_id=session_id, target=State.ABORTED, version=version, reason=reason
    )


def _history(
    ctx: Ctx, session: TherapySession, source: State | None, target: State, reason: str | None
) -> None:
    ctx.db.add(
        SessionTransition(
            session_id=session.id,
            from_state=source.value if source else None,
            to_state=target.value,
            at=ctx.clock.now(),
            actor_user_id=ctx.actor.user_id,
            actor_name=ctx.actor.full_name or ctx.actor.username,
            reason=reason,
        )
    )


def planned_at_label(value: datetime) -> str:
    """How a planned time is shown (UTC, minutes)."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the session page shows, gathered in one transaction."""

    session: TherapySession
    patient_name: str
    patient_mrn: str
    care: Sequence[PrescribedCare]
    facts: SessionFacts
    options: list[rules.Option]
    history: Sequence[SessionTransition]
    visited: frozenset[str]


def overview(*, ctx: Ctx, session_id: int, refresh: bool = False) -> Overview:
    """The session with its patient, prescribed care, facts, next options and history."""
    session = get_session(ctx=ctx, session_id=session_id, refresh=refresh)
    patient = patients.load_visible(ctx, session.patient_id)
    facts = facts_for(ctx=ctx, session=session)
    steps = history(ctx=ctx, session_id=session.id)
    return Overview(
        session=session,
        patient_name=f"{patient.given_name} {patient.family_name}",
        patient_mrn=patient.mrn,
        care=[
            c
            for c in patients.prescribed_care(ctx=ctx, patient_id=patient.id)
            if c.status == "active"
        ],
        facts=facts,
        options=rules.options(facts),
        history=steps,
        visited=frozenset(t.to_state for t in steps),
    )
