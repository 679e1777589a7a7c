"""HTTP hardening: security headers, the Origin check, and login-session cookie settings.

The CSRF defence has two parts (OWASP ASVS 3.5): every state-changing request
must come from our own origin (checked here, before any route runs), and must
carry the synchronizer token of its login session (checked in ``web.deps``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exoneb.core.errors import CsrfRejected
from exoneb.web.state import app_state

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "exoneb_session"
SECURE_SESSION_COOKIE = "__Host-exoneb_session"
LOGIN_CSRF_COOKIE = "exoneb_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
POLL_HEADER = "X-Background-Poll"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def is_secure(request: Request) -> bool:
    """Cookies get ``Secure`` when served over HTTPS or when configured to always."""
    return request.url.scheme == "https" or app_state(request).settings.secure_cookies


def session_cookie_name(request: Request) -> str:
    """``__Host-`` prefixed name when the cookie can be Secure (browsers demand it)."""
    return SECURE_SESSION_COOKIE if is_secure(request) else SESSION_COOKIE


def session_token(request: Request) -> str | None:
    """The session token from whichever cookie name the request carries."""
    return request.cookies.get(SECURE_SESSION_COOKIE) or request.cookies.get(SESSION_COOKIE)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Store the token in an HttpOnly, SameSite=Strict cookie that ends with the browser."""
    response.set_cookie(
        session_cookie_name(request), token, httponly=True, samesite="strict",
        secure=is_secure(request), path="/",
    )  # fmt: skip


def clear_session_cookie(request: Request, response: Response) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(
        session_cookie_name(request), path="/", secure=is_secure(request), httponly=True,
        samesite="strict",
    )  # fmt: skip


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def check_origin(request: Request) -> None:
    """Refuse state-changing requests whose Origin (or Sec-Fetch-Site) says another site."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    allowed = {_own_origin(request), *app_state(request).settings.trusted_origins}
    if origin is not None and origin not in allowed:
        raise CsrfRejected("This request came from another website and was refused.")
    if origin is None and request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRejected("This request came from another website and was refused.")


class SecurityHeaders:
    """Add the security headers to every response; never cache patient data.

    A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``
    (``app.middleware("http")``), which runs every request in a task group of
    its own and relays each chunk of a streamed body through a queue: measured
    as a few percent of a device's posted reading, and on every event of the
    live charts' streams (docs/monitoring.md, "Performance").
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers_for(scope["path"], scope["scheme"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers_for(path: str, scheme: str) -> list[tuple[str, str]]:
    out = list(SECURITY_HEADERS.items())
    if not path.startswith("/static/"):
        out.append(("Cache-Control", "no-store"))
    if scheme == "https":
        out.append(("Strict-Transport-Security", "max-age=31536000"))
    return out


def apply_headers(request: Request, response: Response) -> None:
    """Set the security headers on one response (error responses built outside the middleware)."""
    for name, value in _headers_for(request.url.path, request.url.scheme):
        response.headers.setdefault(name, value)
