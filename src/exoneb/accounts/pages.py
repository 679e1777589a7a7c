"""Login and logout pages, and the administrators' staff-account page."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from exoneb.accounts import service
from exoneb.accounts.api import attempt_actor
from exoneb.accounts.permissions import ROLE_LABELS, Role
from exoneb.accounts.schemas import DeactivateRequest, PasswordChange, UserCreate
from exoneb.core.errors import DomainError, InvalidInput, RateLimited
from exoneb.web.deps import Auth, AuthDep, FormDep, StateDep
from exoneb.web.forms import parse
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


@router.get("/account/password")
def password_page(request: Request, auth: AuthDep) -> Response:
    """The change-password form."""
    return render(request, "accounts/password.html", {}, auth=auth)


@router.post("/account/password")
def change_password(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Change your password; other sessions end; show the form again on a problem."""
    data, errors = parse(PasswordChange, form)
    if data is not None:
        try:
            with auth.action() as ctx:
                service.change_password(
                    ctx=ctx,
                    settings=auth.state.settings,
                    current=data.current_password,
                    new=data.new_password,
                    keep_session_id=auth.login_session_id,
                )
            return render(
                request,
                "accounts/password.html",
                {"message": "Your password was changed. Other sessions were ended."},
                auth=auth,
            )
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
    return render(request, "accounts/password.html", {"errors": errors}, auth=auth, status_code=422)


@router.get("/admin/users")
def users_page(request: Request, auth: AuthDep) -> Response:
    """Staff accounts of the administrator's site (administrators only)."""
    return _users(request, auth)


def _users(
    request: Request,
    auth: Auth,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.action() as ctx:
        users = service.list_users(ctx=ctx)
    return render(
        request,
        "accounts/users.html",
        {
            "users": users,
            "roles": [(r.value, ROLE_LABELS[r]) for r in Role],
            "role_labels": {r.value: ROLE_LABELS[r] for r in Role},
            "ferrors": errors or {},
            "fvalues": values or {},
        },
        auth=auth,
        status_code=status_code,
    )


@router.post("/admin/users")
def create_user(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Create a staff account; the administrator hands over the initial password."""
    data, errors = parse(UserCreate, form)
    status = 422
    if data is not None:
        try:
            with auth.action() as ctx:
                service.create_user(
                    ctx=ctx,
                    settings=auth.state.settings,
                    username=data.username,
                    full_name=data.full_name,
                    role=data.role.value,
                    site_id=auth.actor.site_id or 0,
                    password=data.password,
                )
            return RedirectResponse("/admin/users", status_code=303)
        except InvalidInput as exc:
            errors = {exc.field: exc.message}
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            errors, status = {"username": exc.message}, exc.status_code
    values = {k: v for k, v in form.items() if k != "password"}
    return _users(request, auth, {"create": errors}, values, status)


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(request: Request, user_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Deactivate an account; its login sessions end at once."""
    data, errors = parse(DeactivateRequest, form)
    if data is None:
        return _users(request, auth, {f"deactivate-{user_id}": errors}, None, 422)
    with auth.action() as ctx:
        service.deactivate_user(ctx=ctx, user_id=user_id, reason=data.reason)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/logout")
def logout(request: Request, auth: AuthDep) -> Response:
    """End the login session and return to the login page."""
    with auth.action() as ctx:
        service.logout(ctx=ctx, session_id=auth.login_session_id)
    response = RedirectResponse("/login?logged_out=1", status_code=303)
    clear_session_cookie(request, response)
    return response
