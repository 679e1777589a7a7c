"""Argon2id hashing: the stored format, verification, and the production parameters."""

from __future__ import annotations

import argon2

from exoneb.accounts import passwords


def test_hash_is_argon2id_and_verifies() -> None:
    stored = passwords.hash_password("a long passphrase", cheap=True)
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "a long passphrase", cheap=True)
    assert not passwords.verify_password(stored, "a long passphrasE", cheap=True)
    assert not passwords.verify_password("not a hash", "x", cheap=True)


def test_production_parameters_meet_asvs_appendix_c() -> None:
    params = argon2.extract_parameters(passwords.hash_password("x" * 12))
    assert params.type is argon2.Type.ID
    assert params.time_cost >= 3
    assert params.memory_cost >= 12 * 1024


def test_cheap_hash_needs_rehash_under_production_profile() -> None:
    assert passwords.needs_rehash(passwords.hash_password("x" * 12, cheap=True), cheap=False)


def test_password_rules_are_length_only() -> None:
    assert passwords.password_problem("short") is not None
    assert passwords.password_problem("password123") is not None
    assert passwords.password_problem("x" * 129) is not None
    assert passwords.password_problem("all lowercase words ok") is None
