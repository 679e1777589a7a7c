"""Session pages: plan from the patient page, the session page, its moves and abort."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from exoneb.core.errors import DomainError, InvalidInput
from exoneb.patients.pages import refused
from exoneb.sessions import service
from exoneb.sessions.rules import STATE_LABELS, STEPS, State
from exoneb.sessions.schemas import SessionAbort, SessionMove, SessionPlan
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import parse
from exoneb.web.security import POLL_HEADER
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


@router.post("/patients/{patient_id}/sessions")
def plan(request: Request, patient_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Plan a session, or show the patient page with the reasons it cannot be planned."""
    data, errors = parse(SessionPlan, form)
    status = 422
    if data is not None:
        try:
            with auth.action() as ctx:
                session = service.plan_session(ctx=ctx, patient_id=patient_id, data=data)
            return RedirectResponse(f"/sessions/{session.id}", status_code=303)
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            errors, status = {"form": exc.message}, exc.status_code
    return refused(request, auth, patient_id, "plan", errors, form, status)


def _page(
    request: Request,
    auth: Auth,
    session_id: int,
    template: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    refresh = request.headers.get(POLL_HEADER) == "1"
    with auth.action() as ctx:
        view = service.overview(ctx=ctx, session_id=session_id, refresh=refresh)
    return render(
        request,
        template,
        {"v": view, "steps": STEPS, "labels": STATE_LABELS, "State": State, "errors": errors or {}},
        auth=auth,
        status_code=status_code,
    )


@router.get("/sessions/{session_id}")
def show(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The session page: prescribed care, the four steps, what may happen next, history."""
    return _page(request, auth, session_id, "sessions/detail.html")


@router.get("/sessions/{session_id}/next")
def next_panel(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The "what can happen next" panel alone (polled in the background)."""
    return _page(request, auth, session_id, "sessions/next.html")


def _act(request: Request, auth: Auth, session_id: int, run: object) -> Response:
    try:
        with auth.action() as ctx:
            run(ctx)  # type: ignore[operator]
        return RedirectResponse(f"/sessions/{session_id}", status_code=303)
    except InvalidInput as exc:
        return _page(
            request, auth, session_id, "sessions/detail.html", {exc.field: exc.message}, 422
        )
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        return _page(
            request,
            auth,
            session_id,
            "sessions/detail.html",
            {"form": exc.message},
            exc.status_code,
        )


@router.post("/sessions/{session_id}/move")
def move(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Move the session to the chosen next state."""
    data, errors = parse(SessionMove, form)
    if data is None:
        return _page(request, auth, session_id, "sessions/detail.html", errors, 422)
    return _act(
        request,
        auth,
        session_id,
        lambda ctx: service.move(
            ctx=ctx,
            session_id=session_id,
            target=data.target,
            version=data.version,
            reason=data.reason,
        ),
    )


@router.post("/sessions/{session_id}/abort")
def abort(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Abort the session with a reason."""
    data, errors = parse(SessionAbort, form)
    if data is None:
        return _page(request, auth, session_id, "sessions/detail.html", errors, 422)
    return _act(
        request,
        auth,
        session_id,
        lambda ctx: service.abort(
            ctx=ctx, session_id=session_id, reason=data.reason, version=data.version
        ),
    )
