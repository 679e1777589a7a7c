"""Audit-row hashing: every field and the link to the previous row are covered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exoneb.core.audit import GENESIS_HASH, AuditEvent, canonical_json, compute_hash


def _row(**overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "seq": 1,
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        "actor_user_id": 1,
        "actor_username": "nurse1",
        "actor_role": "nurse",
        "action": "patient.create",
        "entity_type": "patient",
        "entity_id": "1",
        "entity_version": 1,
        "patient_id": 1,
        "before": None,
        "after": '{"a":1}',
        "reason": None,
        "ip": "127.0.0.1",
        "prev_hash": GENESIS_HASH,
    }
    values.update(overrides)
    return AuditEvent(**values)


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 2},
        {"actor_username": "other"},
        {"action": "patient.void"},
        {"after": '{"a":2}'},
        {"reason": "x"},
        {"prev_hash": "1" * 64},
        {"occurred_at": datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)},
    ],
)
def test_any_change_changes_the_hash(change: dict[str, object]) -> None:
    assert compute_hash(_row()) != compute_hash(_row(**change))


def test_canonical_json_is_order_independent() -> None:
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1})
    assert canonical_json(None) is None
