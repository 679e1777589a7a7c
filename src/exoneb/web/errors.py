"""Exception handlers: domain errors → 4xx, anything else → a generic 500.

API clients (``/api/…``) get ``{"detail": …}`` JSON; browsers get a page.
An expired login on a page redirects to the login form (``HX-Redirect`` for
htmx requests). Unexpected errors are logged with their traceback and shown
without one, saying that nothing was saved (the transaction rolled back).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from exoneb.core.errors import (
    AuthenticationRequired,
    Busy,
    DomainError,
    InvalidInput,
    StaleEdit,
)
from exoneb.web.security import apply_headers
from exoneb.web.templating import render

log = logging.getLogger("exoneb.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def domain_error(request: Request, exc: Exception) -> Response:
    """Map a :class:`DomainError` to its status code."""
    assert isinstance(exc, DomainError)
    if _is_api(request):
        body: dict[str, object] = {"detail": exc.message}
        if isinstance(exc, InvalidInput):
            body["detail"] = [
                {"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}
            ]
        if isinstance(exc, StaleEdit):
            body.update(
                changed_by=exc.changed_by,
                changed_at=exc.changed_at.isoformat(),
                current_version=exc.version,
            )
        headers = {"Retry-After": "1"} if isinstance(exc, Busy) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    if isinstance(exc, AuthenticationRequired) and request.url.path != "/login":
        target = "/login"
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    return render(
        request,
        "error.html",
        {"title": "Not possible", "message": exc.message},
        status_code=exc.status_code,
    )


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Log the traceback; show a generic message without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    text = "Something went wrong on the server. Nothing was saved; please try again."
    response: Response
    if _is_api(request):
        response = JSONResponse({"detail": text}, status_code=500)
    else:
        response = render(
            request, "error.html", {"title": "Server error", "message": text}, status_code=500
        )
    apply_headers(request, response)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(Exception, unexpected_error)
