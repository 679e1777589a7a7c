"""JSON API for logins and staff accounts (``/api/v1/auth``, ``/api/v1/users``)."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.requests import Request
from starlette.responses import Response

from exoneb.accounts import service
from exoneb.accounts.schemas import (
    DeactivateRequest,
    LoginRequest,
    LoginResponse,
    PasswordChange,
    UserCreate,
    UserRead,
)
from exoneb.core.context import Actor
from exoneb.web.deps import AuthDep, StateDep
from exoneb.web.security import clear_session_cookie, session_token, set_session_cookie
from exoneb.web.state import client_ip

router = APIRouter(tags=["accounts"])


def attempt_actor(username: str) -> Actor:
    """Who a login attempt is audited as, before we know the user."""
    return Actor(
        user_id=None, username=username.strip().lower()[:80], role="anonymous", site_id=None
    )


@router.post("/auth/login", response_model=LoginResponse)
def login(
    data: LoginRequest, request: Request, response: Response, state: StateDep
) -> LoginResponse:
    """Log in; the session cookie is set and the CSRF token returned."""
    with state.action(attempt_actor(data.username), client_ip(request)) as ctx:
        outcome = service.login(
            ctx=ctx,
            settings=state.settings,
            username=data.username,
            password=data.password,
            previous_token=session_token(request),
        )
        user = UserRead.model_validate(outcome.user) if outcome.user else None
    if outcome.error is not None or user is None or outcome.token is None:
        raise outcome.error or RuntimeError("login returned no token")
    set_session_cookie(request, response, outcome.token)
    return LoginResponse(user=user, csrf_token=outcome.csrf_token or "")


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, auth: AuthDep) -> Response:
    """End the login session on the server and clear the cookie."""
    with auth.action() as ctx:
        service.logout(ctx=ctx, session_id=auth.login_session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(request, response)
    return response


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(data: PasswordChange, auth: AuthDep) -> Response:
    """Change your password; your other login sessions end, this one stays."""
    with auth.action() as ctx:
        service.change_password(
            ctx=ctx,
            settings=auth.state.settings,
            current=data.current_password,
            new=data.new_password,
            keep_session_id=auth.login_session_id,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=UserRead)
def me(auth: AuthDep) -> UserRead:
    """The logged-in user."""
    with auth.action() as ctx:
        return UserRead.model_validate(service.get_user(ctx=ctx, user_id=auth.actor.user_id or 0))


@router.get("/users", response_model=list[UserRead])
def list_users(auth: AuthDep) -> list[UserRead]:
    """Staff accounts of your site (administrators)."""
    with auth.action() as ctx:
        return [UserRead.model_validate(u) for u in service.list_users(ctx=ctx)]


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, auth: AuthDep) -> UserRead:
    """Create a staff account at the administrator's site."""
    with auth.action() as ctx:
        user = service.create_user(
            ctx=ctx,
            settings=auth.state.settings,
            username=data.username,
            full_name=data.full_name,
            role=data.role.value,
            site_id=auth.actor.site_id or 0,
            password=data.password,
        )
        return UserRead.model_validate(user)


@router.post("/users/{user_id}/deactivate", response_model=UserRead)
def deactivate_user(user_id: int, data: DeactivateRequest, auth: AuthDep) -> UserRead:
    """Deactivate an account; all its login sessions end at once."""
    with auth.action() as ctx:
        return UserRead.model_validate(
            service.deactivate_user(ctx=ctx, user_id=user_id, reason=data.reason)
        )
