"""Login and logout pages."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from exoneb.accounts import service
from exoneb.accounts.api import attempt_actor
from exoneb.core.errors import RateLimited
from exoneb.web.deps import AuthDep, FormDep, StateDep
from exoneb.web.security import (
    LOGIN_CSRF_COOKIE,
    clear_session_cookie,
    is_secure,
    session_token,
    set_session_cookie,
)
from exoneb.web.state import client_ip
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


def _login_form(
    request: Request, *, error: str | None = None, username: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "accounts/login.html",
        {"login_token": token, "error": error, "username": username},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form (with a login-CSRF token bound to a short cookie)."""
    return _login_form(request)


@router.post("/login")
def login_submit(request: Request, form: FormDep, state: StateDep) -> Response:
    """Check the credentials; on success start a session and go to the patient list."""
    username, password = form.get("username", ""), form.get("password", "")
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("login_token", "")):
        return _login_form(
            request,
            error="The login form expired. Please try again.",
            username=username,
            status_code=403,
        )
    if not username or not password:
        return _login_form(
            request, error="Enter your username and password.", username=username, status_code=422
        )
    with state.action(attempt_actor(username), client_ip(request)) as ctx:
        outcome = service.login(
            ctx=ctx,
            settings=state.settings,
            username=username,
            password=password,
            previous_token=session_token(request),
        )
    if outcome.error is not None or outcome.token is None:
        code = 429 if isinstance(outcome.error, RateLimited) else 401
        message = outcome.error.message if outcome.error else "Login failed."
        return _login_form(request, error=message, username=username, status_code=code)
    response = RedirectResponse("/patients", status_code=303)
    set_session_cookie(request, response, outcome.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, auth: AuthDep) -> Response:
    """End the login session and return to the login page."""
    with auth.action() as ctx:
        service.logout(ctx=ctx, session_id=auth.login_session_id)
    response = RedirectResponse("/login?logged_out=1", status_code=303)
    clear_session_cookie(request, response)
    return response
