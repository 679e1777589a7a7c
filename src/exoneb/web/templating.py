"""Jinja2 set-up shared by every package's pages, and the one ``render`` helper.

Each package keeps its templates in ``<package>/templates/<package>/``; the
shared layout lives in ``web/templates``. Autoescaping is on everywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from exoneb.accounts.permissions import ROLE_LABELS, Action, Role, is_allowed
from exoneb.core.clock import as_utc
from exoneb.web.deps import Auth

_SRC = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [
    _SRC / "web" / "templates",
    _SRC / "accounts" / "templates",
    _SRC / "patients" / "templates",
    _SRC / "sessions" / "templates",
    _SRC / "assessment" / "templates",
    _SRC / "inhalation" / "templates",
    _SRC / "preparation" / "templates",
    _SRC / "audit_trail" / "templates",
    _SRC / "information" / "templates",
    _SRC / "reports" / "templates",
    _SRC / "monitoring" / "templates",
]
HTMX_FILE = "htmx-2.0.11.min.js"
DISCLAIMER = (
    "exoneb supports decisions and keeps records; it is not medical advice. The inhaled "
    "therapy is investigational and complementary: it never replaces the patient's prescribed care."
)


def _dt(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value: float | None, digits: int = 3) -> str:
    """A large count as clinicians write it: ``2.00 × 10⁹`` rather than ``2.00e+09``.

    ``digits`` significant figures; values between 0.01 and 10 000 stay plain.
    """
    if value is None:
        return "—"
    if value == 0 or 1e-2 <= abs(value) < 1e4:
        return f"{value:.{digits}g}"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def _d(value: date | None) -> str:
    return "" if value is None else value.isoformat()


env = Environment(
    loader=FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["dt"] = _dt
env.filters["d"] = _d
env.filters["sci"] = scientific
env.filters["enrolment_option"] = lambda e: (
    str(e.id),
    f"{e.protocol_id} v{e.protocol_version}, {e.arm_code} ({e.authorisation_kind} "
    f"{e.authorisation_number})",
)
env.globals["Action"] = Action
env.globals["DISCLAIMER"] = DISCLAIMER
env.globals["HTMX_FILE"] = HTMX_FILE


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    auth: Auth | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the layout's common context (user, CSRF token, permissions)."""
    role = auth.actor.role if auth else None
    full: dict[str, Any] = {
        "request": request,
        "auth": auth,
        "user": auth.actor if auth else None,
        "role_label": ROLE_LABELS.get(Role(role), role) if role in set(Role) else "",
        "csrf_token": auth.csrf_token if auth else "",
        "idle_seconds": auth.state.settings.idle_timeout_minutes * 60 if auth else 0,
        "can": (lambda action: bool(role) and is_allowed(role or "", action)),
        "errors": {},
        "values": {},
        "message": None,
    }
    full.update(context or {})
    html = env.get_template(name).render(full)
    return HTMLResponse(html, status_code=status_code)
