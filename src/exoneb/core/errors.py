"""Domain errors, each mapped to one HTTP status by the web layer.

::

    DomainError                  (400)
    ├── NotFound                 (404) the record does not exist or is not visible
    ├── AuthenticationRequired   (401) not logged in, or the login session ended
    │   └── AuthenticationFailed (401) wrong username or password
    ├── RateLimited              (429) too many failed logins; try again later
    ├── PermissionDenied         (403) the role may not do this (audited)
    ├── CsrfRejected             (403) the request did not come from an exoneb page
    ├── InvalidInput             (422) a field value is wrong; names the field
    ├── Conflict                 (409) the request clashes with stored records
    │   ├── DuplicateRecord      (409) e.g. the MRN is already registered at the site
    │   └── StaleEdit            (409) someone else changed the record first
    └── RuleViolation            (409) a clinical or workflow rule forbids it now

Messages are written for the nurse at the bedside: what happened and what to do.
"""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base of all errors the user can act on."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The record does not exist (or the user's site cannot see it)."""

    status_code = 404


class AuthenticationRequired(DomainError):
    """No valid login session."""

    status_code = 401


class AuthenticationFailed(AuthenticationRequired):
    """Wrong username or password (never says which)."""


class RateLimited(DomainError):
    """Too many failed attempts; the account or address is paused."""

    status_code = 429


class PermissionDenied(DomainError):
    """The user's role does not include the permission for this action."""

    status_code = 403

    def __init__(self, message: str, *, action: str, user_id: int, username: str, role: str):
        super().__init__(message)
        self.action = action
        self.user_id = user_id
        self.username = username
        self.role = role


class CsrfRejected(DomainError):
    """A state-changing request without a valid CSRF token or from a foreign origin."""

    status_code = 403


class InvalidInput(DomainError):
    """A field value is not acceptable; ``field`` names it for the form."""

    status_code = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class Busy(DomainError):
    """The database could not take the write in time; nothing was saved, the client may retry."""

    status_code = 503


class Conflict(DomainError):
    """The request clashes with what is stored."""

    status_code = 409


class DuplicateRecord(Conflict):
    """A unique value (such as an MRN at a site) is already taken."""


class StaleEdit(Conflict):
    """The record changed since the user loaded it."""

    def __init__(self, *, record: str, changed_by: str, changed_at: datetime, version: int):
        when = changed_at.strftime("%Y-%m-%d %H:%M UTC")
        super().__init__(
            f"This {record} was changed by {changed_by} at {when} (now version {version}) "
            "after you opened it. Reload it, check their change, then make yours again."
        )
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.version = version


class RuleViolation(Conflict):
    """A clinical or workflow rule forbids the action now."""
