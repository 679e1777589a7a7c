"""JSON API for therapy sessions (``/api/v1/sessions``)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from exoneb.sessions import service
from exoneb.sessions.schemas import (
    OptionRead,
    SessionAbort,
    SessionMove,
    SessionPlan,
    SessionRead,
    TransitionRead,
)
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["sessions"])


class SessionDetail(BaseModel):
    """A session, what may happen next, and its history."""

    session: SessionRead
    options: list[OptionRead]
    history: list[TransitionRead]


@router.post(
    "/patients/{patient_id}/sessions",
    response_model=SessionRead,
    status_code=status.HTTP_201_CREATED,
)
def plan(patient_id: int, data: SessionPlan, auth: AuthDep) -> SessionRead:
    """Plan a session (needs current consent and an active authorisation; else 409)."""
    with auth.action() as ctx:
        session = service.plan_session(ctx=ctx, patient_id=patient_id, data=data)
        return SessionRead.model_validate(session)


@router.get("/patients/{patient_id}/sessions", response_model=list[SessionRead])
def timeline(patient_id: int, auth: AuthDep) -> list[SessionRead]:
    """A patient's sessions, newest first."""
    from exoneb.patients import service as patients

    with auth.action() as ctx:
        patients.get_patient(ctx=ctx, patient_id=patient_id)
        return [
            SessionRead.model_validate(s)
            for s in service.sessions_of(ctx=ctx, patient_id=patient_id)
        ]


@router.get("/sessions/{session_id}", response_model=SessionDetail)
def read(session_id: int, auth: AuthDep) -> SessionDetail:
    """One session with the moves the rules allow now and why others are blocked."""
    with auth.action() as ctx:
        view = service.overview(ctx=ctx, session_id=session_id)
        return SessionDetail(
            session=SessionRead.model_validate(view.session),
            options=[
                OptionRead(target=o.target, allowed=o.allowed, blockers=list(o.blockers))
                for o in view.options
            ],
            history=[TransitionRead.model_validate(t) for t in view.history],
        )


@router.post("/sessions/{session_id}/transition", response_model=SessionRead)
def move(session_id: int, data: SessionMove, auth: AuthDep) -> SessionRead:
    """Move the session to ``target`` (409 with the reasons when the rules forbid it)."""
    with auth.action() as ctx:
        session = service.move(
            ctx=ctx,
            session_id=session_id,
            target=data.target,
            version=data.version,
            reason=data.reason,
        )
        return SessionRead.model_validate(session)


@router.post("/sessions/{session_id}/abort", response_model=SessionRead)
def abort(session_id: int, data: SessionAbort, auth: AuthDep) -> SessionRead:
    """Abort the session with a reason."""
    with auth.action() as ctx:
        session = service.abort(
            ctx=ctx, session_id=session_id, reason=data.reason, version=data.version
        )
        return SessionRead.model_validate(session)
