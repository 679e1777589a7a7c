"""Password hashing with Argon2id (argon2-cffi).

Production uses argon2-cffi's default profile, RFC 9106 "low memory"
(t=3, m=64 MiB, p=4). OWASP ASVS 5.0 Appendix C lists t≥3 with m≥12 MiB at p=1;
higher parallelism only lets the server use more cores for the same memory
cost per guess, so p=4 keeps the attacker's per-guess memory at 64 MiB and is
accepted here. Tests switch to ``profiles.CHEAPEST`` through
``EXONEB_CHEAP_PASSWORD_HASHING`` (refused outside development/test).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON = frozenset(
    {
        "password12",
        "password123",
        "1234567890",
        "qwertyuiop",
        "letmein123",
        "welcome123",
        "administrator",
    }
)


@lru_cache(maxsize=2)
def hasher(cheap: bool) -> PasswordHasher:
    """The Argon2id hasher; ``cheap`` only in tests."""
    if cheap:
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher()


def hash_password(password: str, *, cheap: bool = False) -> str:
    """Hash a password for storage (``$argon2id$…``)."""
    return hasher(cheap).hash(password)


def verify_password(stored_hash: str, password: str, *, cheap: bool = False) -> bool:
    """Check a password against its stored hash without leaking why it failed."""
    try:
        return hasher(cheap).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, *, cheap: bool = False) -> bool:
    """True when the stored hash uses older parameters than the current profile."""
    return hasher(cheap).check_needs_rehash(stored_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is unacceptable, or ``None`` (length rules, no composition rules)."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _COMMON:
        return "This password is too common; choose another."
    return None
