"""Account actions: authorisation, users, login sessions and e-signatures.

Every function takes keyword-only arguments, starting with ``ctx`` (the
transaction, the actor and the clock), and writes its audit row itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from exoneb.accounts import passwords
from exoneb.accounts.models import LoginAttempt, LoginSession, Signature, Site, User
from exoneb.accounts.permissions import ROLE_LABELS, Action, Role, is_allowed
from exoneb.core import audit
from exoneb.core.config import Settings
from exoneb.core.context import Actor, Ctx
from exoneb.core.errors import (
    AuthenticationFailed,
    DomainError,
    DuplicateRecord,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    RuleViolation,
)
from exoneb.core.zones import site_zone

SIGNATURE_MEANINGS: dict[str, str] = {
    "performed": "I performed this step as recorded.",
    "verified": "I independently verified this record.",
    "approved": "I approve this record.",
    "reviewed": "I reviewed this record.",
}
"""Signature meaning → the sentence shown to the signer and stored with the signature."""

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
"""Lower-case letters, digits, dots, dashes, underscores; 1–80 characters."""


# --- authorisation -----------------------------------------------------------------------


def authorize(*, ctx: Ctx, action: Action) -> None:
    """Raise :class:`PermissionDenied` (audited by the transaction) unless the role may act."""
    if is_allowed(ctx.actor.role, action):
        return
    label = (
        ROLE_LABELS.get(Role(ctx.actor.role), ctx.actor.role)
        if ctx.actor.role in set(Role)
        else ctx.actor.role
    )
    raise PermissionDenied(
        f"Your role ({label}) may not do this ({action.value}). "
        "Ask a colleague with the right role, or an administrator.",
        action=action.value,
        user_id=ctx.actor.user_id or 0,
        username=ctx.actor.username,
        role=ctx.actor.role,
    )


def actor_for(user: User) -> Actor:
    """The :class:`Actor` a logged-in user acts as."""
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        site_id=user.site_id,
        full_name=user.full_name,
    )


# --- sites and users ---------------------------------------------------------------------


def get_site_by_code(*, ctx: Ctx, code: str) -> Site | None:
    """Return the site with this code, if any."""
    return ctx.db.scalars(select(Site).where(Site.code == code)).first()


def _checked_zone(time_zone: str) -> str:
    try:
        site_zone(time_zone)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="time_zone") from exc
    return time_zone


def create_site(*, ctx: Ctx, code: str, name: str, time_zone: str) -> Site:
    """Register a site (system or administrator) with the IANA zone of its clocks.

    The zone is required (callers pass ``settings.site_time_zone`` when the
    user gave none) and checked: an unknown name is refused, never replaced.
    """
    if ctx.actor.user_id is not None:
        authorize(ctx=ctx, action=Action.USER_MANAGE)
    _checked_zone(time_zone)
    if get_site_by_code(ctx=ctx, code=code):
        raise DuplicateRecord(f"A site with code {code} already exists.")
    site = Site(code=code, name=name, time_zone=time_zone)
    ctx.db.add(site)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="site.create",
        entity_type="site",
        entity_id=site.id,
        after={"code": code, "name": name, "time_zone": time_zone},
    )
    return site


def site_time_zone(*, ctx: Ctx, site_id: int) -> ZoneInfo:
    """The zone of a site's clocks (no permission check, no audit: not patient data)."""
    site = ctx.db.get(Site, site_id)
    if site is None:
        raise NotFound("No such site.")
    return site_zone(site.time_zone)


def set_site_time_zone(*, ctx: Ctx, code: str, time_zone: str, reason: str) -> Site:
    """Change a site's time zone (system or administrator), with a reason; audited.

    Calls already scheduled keep their instant; the next ones are computed in
    the new zone, and the follow-up list shows every time in it.
    """
    if ctx.actor.user_id is not None:
        authorize(ctx=ctx, action=Action.USER_MANAGE)
    _checked_zone(time_zone)
    if not reason.strip():
        raise InvalidInput("Say why the site's time zone changes.", field="reason")
    site = get_site_by_code(ctx=ctx, code=code)
    # An administrator changes their own site only (as they manage only its staff).
    if site is None or (ctx.actor.user_id is not None and site.id != ctx.actor.site_id):
        raise NotFound(f"No site with code {code}.")
    before = site.time_zone
    site.time_zone = time_zone
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="site.time_zone",
        entity_type="site",
        entity_id=site.id,
        before={"time_zone": before},
        after={"time_zone": time_zone},
        reason=reason.strip(),
    )
    return site


def get_user_by_username(*, ctx: Ctx, username: str) -> User | None:
    """Return the user with this username (case-insensitive), if any."""
    return ctx.db.scalars(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).first()


def get_user(*, ctx: Ctx, user_id: int) -> User:
    """One user by id."""
    user = ctx.db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def list_users(*, ctx: Ctx) -> Sequence[User]:
    """Staff accounts of the administrator's site, by username."""
    authorize(ctx=ctx, action=Action.USER_MANAGE)
    return ctx.db.scalars(
        select(User).where(User.site_id == ctx.actor.site_id).order_by(User.username)
    ).all()


def create_user(
    *,
    ctx: Ctx,
    settings: Settings,
    username: str,
    full_name: str,
    role: str,
    site_id: int,
    password: str,
) -> User:
    """Create a staff account (administrators, or the CLI acting as ``system``)."""
    if ctx.actor.user_id is not None:
        authorize(ctx=ctx, action=Action.USER_MANAGE)
    username = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput("Use letters, digits, dots, dashes or underscores.", field="username")
    if role not in set(Role):
        raise InvalidInput(f"Choose one of: {', '.join(r.value for r in Role)}.", field="role")
    problem = passwords.password_problem(password)
    if problem:
        raise InvalidInput(problem, field="password")
    if get_user_by_username(ctx=ctx, username=username):
        raise DuplicateRecord(f"The username {username} is already taken.")
    if ctx.db.get(Site, site_id) is None:
        raise InvalidInput("Unknown site.", field="site_id")
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        site_id=site_id,
        password_hash=passwords.hash_password(password, cheap=settings.cheap_password_hashing),
        active=True,
        created_at=ctx.clock.now(),
        version=1,
    )
    ctx.db.add(user)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        entity_version=1,
        after={"username": username, "full_name": user.full_name, "role": role, "site_id": site_id},
    )
    return user


def deactivate_user(*, ctx: Ctx, user_id: int, reason: str) -> User:
    """Deactivate an account and end all its login sessions (ASVS 7.4.2)."""
    authorize(ctx=ctx, action=Action.USER_MANAGE)
    if not reason.strip():
        raise InvalidInput("Give a reason for deactivating this account.", field="reason")
    user = ctx.db.get(User, user_id)
    if user is None or user.site_id != ctx.actor.site_id:
        raise NotFound("No such user at your site.")
    if not user.active:
        raise RuleViolation("This account is already deactivated.")
    if user.id == ctx.actor.user_id:
        raise RuleViolation("You cannot deactivate your own account.")
    user.active = False
    user.version += 1
    ended = _end_sessions(ctx=ctx, user_id=user.id, reason="deactivated")
    audit.record(
        ctx=ctx,
        action="user.deactivate",
        entity_type="user",
        entity_id=user.id,
        entity_version=user.version,
        before={"active": True},
        after={"active": False, "sessions_ended": ended},
        reason=reason,
    )
    return user


def change_password(
    *, ctx: Ctx, settings: Settings, current: str, new: str, keep_session_id: int | None
) -> User:
    """Change the actor's own password; every other login session of theirs ends (ASVS 7.4.3)."""
    user = ctx.db.get(User, ctx.actor.user_id) if ctx.actor.user_id else None
    cheap = settings.cheap_password_hashing
    if user is None or not passwords.verify_password(user.password_hash, current, cheap=cheap):
        raise InvalidInput("Your current password is not correct.", field="current_password")
    problem = passwords.password_problem(new)
    if problem:
        raise InvalidInput(problem, field="new_password")
    if passwords.verify_password(user.password_hash, new, cheap=cheap):
        raise InvalidInput(
            "Choose a password different from the current one.", field="new_password"
        )
    user.password_hash = passwords.hash_password(new, cheap=cheap)
    user.version += 1
    ended = _end_sessions(
        ctx=ctx, user_id=user.id, reason="password_changed", keep_session_id=keep_session_id
    )
    audit.record(
        ctx=ctx,
        action="user.password_change",
        entity_type="user",
        entity_id=user.id,
        entity_version=user.version,
        after={"other_sessions_ended": ended},
    )
    return user


def _end_sessions(
    *, ctx: Ctx, user_id: int, reason: str, keep_session_id: int | None = None
) -> int:
    stmt = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep_session_id is not None:
        stmt = stmt.where(LoginSession.id != keep_session_id)
    result = ctx.db.execute(stmt.values(ended_at=ctx.clock.now(), end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


# --- login sessions ----------------------------------------------------------------------


def token_digest(token: str) -> str:
    """The SHA-256 the server stores instead of the session token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=2)
def _dummy_hash(cheap: bool) -> str:
    return passwords.hash_password("timing-equaliser-not-a-password", cheap=cheap)


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """Result of a login attempt: a session token, or the error to show.

    Failures are returned rather than raised so that the attempt and its audit
    row are committed (a raised error would roll them back).
    """

    token: str | None = None
    csrf_token: str | None = None
    user: User | None = None
    error: DomainError | None = None


def _recent_failures(ctx: Ctx, since: datetime, **where: Any) -> int:
    stmt = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
    )
    for column, value in where.items():
        stmt = stmt.where(getattr(LoginAttempt, column) == value)
    return int(ctx.db.scalar(stmt) or 0)


def login(
    *,
    ctx: Ctx,
    settings: Settings,
    username: str,
    password: str,
    previous_token: str | None = None,
) -> LoginOutcome:
    """Check the password, apply the rate limit and lockout, and open a login session.

    A session the browser already held is ended, so every login issues a fresh
    token (no session fixation).
    """
    now = ctx.clock.now()
    username = username.strip().lower()[:80]
    since = now - timedelta(minutes=settings.login_window_minutes)
    locked = _recent_failures(ctx, since, username=username) >= settings.login_max_failures
    ip_blocked = (
        ctx.ip is not None
        and _recent_failures(ctx, since, ip=ctx.ip) >= settings.login_ip_max_failures
    )
    if locked or ip_blocked:
        audit.record(
            ctx=ctx,
            action="auth.login_blocked",
            entity_type="user",
            entity_id=username,
            reason="too many failed logins",
        )
        return LoginOutcome(
            error=RateLimited(
                "Too many failed logins. Wait "
                f"{settings.login_window_minutes} minutes or ask an administrator."
            )
        )
    user = get_user_by_username(ctx=ctx, username=username)
    cheap = settings.cheap_password_hashing
    if user is None:
        passwords.verify_password(_dummy_hash(cheap), password, cheap=cheap)  # same timing
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password, cheap=cheap) and user.active
    ctx.db.add(LoginAttempt(username=username, ip=ctx.ip, attempted_at=now, succeeded=ok))
    if not ok or user is None:
        audit.record(
            ctx=ctx,
            action="auth.login_failed",
            entity_type="user",
            entity_id=username,
            reason="unknown user, wrong password or inactive account",
        )
        return LoginOutcome(error=AuthenticationFailed("Wrong username or password."))
    if passwords.needs_rehash(user.password_hash, cheap=cheap):
        user.password_hash = passwords.hash_password(password, cheap=cheap)
    if previous_token:
        old = ctx.db.scalars(
            select(LoginSession).where(LoginSession.token_sha256 == token_digest(previous_token))
        ).first()
        if old is not None and old.ended_at is None:
            old.ended_at, old.end_reason = now, "replaced"
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session = LoginSession(
        token_sha256=token_digest(token),
        csrf_token=csrf,
        user_id=user.id,
        created_at=now,
        last_active_at=now,
        ip=ctx.ip,
    )
    ctx.db.add(session)
    ctx.db.flush()
    audit.record(
        ctx=Ctx(db=ctx.db, actor=actor_for(user), clock=ctx.clock, ip=ctx.ip),
        action="auth.login",
        entity_type="login_session",
        entity_id=session.id,
    )
    return LoginOutcome(token=token, csrf_token=csrf, user=user)


def peek_session(
    *, ctx: Ctx, settings: Settings, token: str | None, background: bool = False
) -> tuple[LoginSession | None, bool]:
    """The live login session for a cookie token, without writing anything.

    Returns the session (``None`` if there is none or it has ended) and whether
    :func:`resolve_session` would write: the session must be ended now (idle,
    lifetime, deactivated user) or its activity time is older than
    :data:`ACTIVITY_RESOLUTION`. When it is ``False`` the session returned is
    exactly what :func:`resolve_session` would return, so a read-only
    transaction suffices for most requests.
    """
    if not token:
        return None, False
    session = ctx.db.scalars(
        select(LoginSession).where(LoginSession.token_sha256 == token_digest(token))
    ).first()
    if session is None or session.ended_at is not None:
        return None, False
    now = ctx.clock.now()
    if _end_reason(session, settings, now) is not None:
        return None, True
    stale = not background and now - session.last_active_at >= ACTIVITY_RESOLUTION
    return session, stale


def _end_reason(session: LoginSession, settings: Settings, now: datetime) -> str | None:
    if not session.user.active:
        return "deactivated"
    if now - session.created_at >= timedelta(hours=settings.absolute_timeout_hours):
        return "absolute_timeout"
    if now - session.last_active_at >= timedelta(minutes=settings.idle_timeout_minutes):
        return "idle_timeout"
    return None


def resolve_session(
    *, ctx: Ctx, settings: Settings, token: str | None, background: bool = False
) -> LoginSession | None:
    """The live login session for a cookie token, or ``None``.

    Ends sessions past the idle timeout or absolute lifetime. A request marked
    as background polling does not count as activity, so a page left open
    with a live-updating panel still times out.
    """
    if not token:
        return None
    session = ctx.db.scalars(
        select(LoginSession).where(LoginSession.token_sha256 == token_digest(token))
    ).first()
    if session is None or session.ended_at is not None:
        return None
    now = ctx.clock.now()
    reason = _end_reason(session, settings, now)
    if reason:
        session.ended_at, session.end_reason = now, reason
        audit.record(
            ctx=Ctx(db=ctx.db, actor=actor_for(session.user), clock=ctx.clock, ip=ctx.ip),
            action="auth.session_expired",
            entity_type="login_session",
            entity_id=session.id,
            reason=reason,
        )
        return None
    if not background and now - session.last_active_at >= ACTIVITY_RESOLUTION:
        session.last_active_at = now
    return session


ACTIVITY_RESOLUTION = timedelta(seconds=30)
"""How stale ``last_active_at`` may get before a request writes it again.

Writing it on every request made each read a write transaction (on SQLite a
commit to disk): a device posting readings every second, or a page polling,
paid for a row update it does not need. The idle timeout is in minutes, so a
session may end at most this much earlier than to the second.
"""


def logout(*, ctx: Ctx, session_id: int) -> None:
    """End the login session on the server (the cookie becomes worthless)."""
    session = ctx.db.get(LoginSession, session_id)
    if session is None or session.ended_at is not None:
        return
    session.ended_at, session.end_reason = ctx.clock.now(), "logout"
    audit.record(ctx=ctx, action="auth.logout", entity_type="login_session", entity_id=session.id)


def csrf_matches(session: LoginSession, candidate: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return bool(candidate) and hmac.compare_digest(session.csrf_token, candidate or "")


# --- e-signatures ------------------------------------------------------------------------


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the signed content."""
    text = audit.canonical_json(content) or ""
    return hashlib.sha256(text.encode()).hexdigest()


def sign(
    *,
    ctx: Ctx,
    settings: Settings,
    record_type: str,
    record_id: int,
    record_version: int,
    content: Mapping[str, Any],
    meaning: str,
    password: str,
    patient_id: int | None = None,
) -> Signature:
    """Sign one version of a record after the signer re-enters their password."""
    authorize(ctx=ctx, action=Action.RECORD_SIGN)
    if meaning not in SIGNATURE_MEANINGS:
        raise InvalidInput(f"Choose a meaning: {', '.join(SIGNATURE_MEANINGS)}.", field="meaning")
    user = ctx.db.get(User, ctx.actor.user_id) if ctx.actor.user_id else None
    cheap = settings.cheap_password_hashing
    if user is None or not passwords.verify_password(user.password_hash, password, cheap=cheap):
        raise InvalidInput(
            "That password is not correct; the record was not signed.", field="password"
        )
    existing = ctx.db.scalars(
        select(Signature).where(
            Signature.record_type == record_type,
            Signature.record_id == record_id,
            Signature.record_version == record_version,
            Signature.meaning == meaning,
            Signature.signer_id == user.id,
        )
    ).first()
    if existing:
        raise DuplicateRecord("You have already signed this version with this meaning.")
    signature = Signature(
        record_type=record_type,
        record_id=record_id,
        record_version=record_version,
        meaning=meaning,
        signer_id=user.id,
        signer_name=user.full_name,
        signed_at=ctx.clock.now(),
        content_sha256=content_hash(content),
    )
    ctx.db.add(signature)
    ctx.db.flush()
    audit.record(
        ctx=ctx,
        action="record.sign",
        entity_type=record_type,
        entity_id=record_id,
        entity_version=record_version,
        patient_id=patient_id,
        after={
            "meaning": meaning,
            "statement": SIGNATURE_MEANINGS[meaning],
            "content_sha256": signature.content_sha256,
        },
    )
    return signature


def signatures_for(*, ctx: Ctx, record_type: str, record_id: int) -> Sequence[Signature]:
    """Signatures on any version of a record, oldest first."""
    return ctx.db.scalars(
        select(Signature)
        .where(Signature.record_type == record_type, Signature.record_id == record_id)
        .order_by(Signature.signed_at, Signature.id)
    ).all()


def signature_valid(signature: Signature, *, content: Mapping[str, Any]) -> bool:
    """True when the record still holds exactly the content that was signed.

    ``record_version`` says which version was signed; it is not compared here
    because status changes that leave the signed fields alone (a consent
    withdrawn or superseded by an amendment) also bump the lock version.
    """
    return hmac.compare_digest(signature.content_sha256, content_hash(content))
