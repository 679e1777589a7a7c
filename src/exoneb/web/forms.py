"""Turn submitted forms into Pydantic models, with errors a nurse can act on per field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from exoneb.core.context import Ctx
from exoneb.core.errors import DomainError, InvalidInput

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "Required.",
    "string_too_short": "Required.",
    "date_from_datetime_parsing": "Enter a date as YYYY-MM-DD.",
    "date_parsing": "Enter a date as YYYY-MM-DD.",
    "date_type": "Enter a date as YYYY-MM-DD.",
    "datetime_parsing": "Enter a date and time.",
    "datetime_from_date_parsing": "Enter a date and time.",
    "float_parsing": "Enter a number.",
    "float_type": "Enter a number.",
    "int_parsing": "Enter a whole number.",
    "literal_error": "Choose one of the options.",
    "enum": "Choose one of the options.",
    "string_pattern_mismatch": "Use only letters, digits and dashes.",
}


def friendly(error: Mapping[str, Any]) -> str:
    """A short message for one Pydantic error."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "string_too_short" and ctx.get("min_length", 1) > 1:
        return f"Enter at least {ctx['min_length']} characters."
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind in ("greater_than_equal", "greater_than"):
        return f"Must be at least {ctx.get('ge', ctx.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return f"Must be at most {ctx.get('le', ctx.get('lt'))}."
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    message = str(error.get("msg", "Check this value."))
    return message.removeprefix("Value error, ")


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Field name → first message (nested locations joined with dots)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "form"
        errors.setdefault(name, friendly(error))
    return errors


def parse(model: type[M], form: Mapping[str, str]) -> tuple[M | None, dict[str, str]]:
    """Validate a form; empty strings count as not given."""
    data = {k: v for k, v in form.items() if k != "csrf_token" and v != ""}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, field_errors(exc)


def domain_field_error(exc: InvalidInput) -> dict[str, str]:
    """A service's field-level refusal, in the same shape as :func:`field_errors`."""
    return {exc.field: exc.message}


def act_or_show_again(
    run: Callable[[], object],
    *,
    done_url: str,
    again: Callable[[dict[str, str], int], Response],
) -> Response:
    """Run a form's action; on success go to ``done_url`` (303), else show the page again.

    ``again(errors, status)`` renders the page with the refusal: a field's message
    beside the field (422), any other rule or conflict at the top of the form with
    its own status. 403 and 404 are not form problems and go to the error page.
    """
    try:
        run()
    except InvalidInput as exc:
        return again({exc.field: exc.message}, 422)
    except DomainError as exc:
        if exc.status_code in (403, 404):
            raise
        return again({"form": exc.message}, exc.status_code)
    return RedirectResponse(done_url, status_code=303)


Again = Callable[[dict[str, str], int], Response]
"""Render the form's page again with ``(errors, status)``."""


def act_in_action(
    action: Callable[[], AbstractContextManager[Ctx]],
    run: Callable[[Ctx], object],
    *,
    done_url: str,
    again: Again,
) -> Response:
    """:func:`act_or_show_again` with ``run`` inside one audited action (``auth.action``)."""

    def once() -> None:
        with action() as ctx:
            run(ctx)

    return act_or_show_again(once, done_url=done_url, again=again)


def submit(
    model: type[M],
    data: Mapping[str, Any],
    action: Callable[[], AbstractContextManager[Ctx]],
    run: Callable[[Ctx, M], object],
    *,
    done_url: str,
    again: Again,
) -> Response:
    """Parse a form into ``model`` (every bad field named, 422) and run it in one action.

    The page handlers of every step share this: what was typed comes back with
    the messages beside the fields, and nothing is written unless all of it parsed.
    """
    parsed, errors = parse(model, data)
    if parsed is None:
        return again(errors, 422)
    return act_in_action(action, lambda ctx: run(ctx, parsed), done_url=done_url, again=again)
