"""FastAPI dependencies: the logged-in user (with CSRF check) and submitted form data.

:func:`require_auth` is the single gate every page and API route passes: it
resolves the login session (idle/absolute timeouts, polling does not count as
activity) and, for every state-changing method, demands the session's CSRF
token in the ``X-CSRF-Token`` header or the ``csrf_token`` form field.
"""

from __future__ import annotations

import hmac
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Action, is_allowed
from exoneb.core.context import Actor, Ctx
from exoneb.core.errors import AuthenticationRequired, CsrfRejected
from exoneb.web.security import CSRF_HEADER, POLL_HEADER, SAFE_METHODS, session_token
from exoneb.web.state import ANONYMOUS, AppState, app_state, client_ip


@dataclass(frozen=True, slots=True)
class Auth:
    """The logged-in user of this request and a way to run actions as them."""

    state: AppState
    actor: Actor
    csrf_token: str
    login_session_id: int
    ip: str | None

    def action(self, *, read_only: bool = False) -> AbstractContextManager[Ctx]:
        """Run one user action in one transaction, as this user (``read_only``: it only reads)."""
        return self.state.action(self.actor, self.ip, read_only=read_only)

    def can(self, action: Action) -> bool:
        """Whether to show the control for ``action`` (the service still decides)."""
        return is_allowed(self.actor.role, action)


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (files are not accepted)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def require_auth(request: Request) -> Auth:
    """Resolve the login session and check CSRF on state-changing requests."""
    state = app_state(request)
    token = session_token(request)
    background = request.headers.get(POLL_HEADER) == "1"
    ip = client_ip(request)

    def resolve() -> tuple[Actor, str, int] | None:
        # Most requests only read the login session: no write lock, no commit to disk. Only
        # an expiry or a stale activity time (every 30 s at most) needs a write transaction.
        with state.action(ANONYMOUS, ip, read_only=True) as ctx:
            session, to_write = accounts.peek_session(
                ctx=ctx, settings=state.settings, token=token, background=background
            )
            if not to_write:
                if session is None:
                    return None
                return accounts.actor_for(session.user), session.csrf_token, session.id
        with state.action(ANONYMOUS, ip) as ctx:
            session = accounts.resolve_session(
                ctx=ctx, settings=state.settings, token=token, background=background
            )
            if session is None:
                return None
            return accounts.actor_for(session.user), session.csrf_token, session.id

    resolved = await run_in_threadpool(resolve)
    if resolved is None:
        raise AuthenticationRequired("Your login session has ended. Please log in again.")
    actor, csrf, session_id = resolved
    if request.method not in SAFE_METHODS:
        submitted = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if not submitted and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            submitted = (await form_data(request)).get("csrf_token")
        if not submitted or not _same(submitted, csrf):
            raise CsrfRejected(
                "This form has expired or did not come from exoneb. Reload the page and try again."
            )
    return Auth(state=state, actor=actor, csrf_token=csrf, login_session_id=session_id, ip=ip)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


AuthDep = Annotated[Auth, Depends(require_auth)]
FormDep = Annotated[dict[str, str], Depends(form_data)]
StateDep = Annotated[AppState, Depends(app_state)]
