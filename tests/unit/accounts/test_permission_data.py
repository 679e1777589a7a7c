"""The permission matrix as data: complete, closed, and read-only for auditors."""

from __future__ import annotations

import pytest

from exoneb.accounts.permissions import MATRIX, Action, Role, allowed_actions, is_allowed


def test_every_action_has_a_row() -> None:
    assert set(MATRIX) == set(Action)


def test_auditor_only_reads() -> None:
    assert allowed_actions(Role.AUDITOR) == {
        Action.PATIENT_READ,
        Action.AUDIT_READ,
        Action.AUDIT_EXPORT,
        Action.LOT_READ,
        Action.REPORT_READ,
        Action.DATA_EXPORT,
    }


def test_administrator_records_no_clinical_data() -> None:
    clinical = {
        a for a in Action if a.value.split(".")[0] in {"consent", "care", "session", "assessment"}
    }
    assert not clinical & allowed_actions(Role.ADMINISTRATOR)


def test_only_a_physician_signs_overrides_or_amends_an_assessment() -> None:
    for action in (Action.ASSESSMENT_SIGN, Action.ASSESSMENT_OVERRIDE, Action.ASSESSMENT_AMEND):
        assert MATRIX[action] == {Role.PHYSICIAN}
    assert MATRIX[Action.ASSESSMENT_RECORD] == {Role.PHYSICIAN, Role.NURSE}


@pytest.mark.parametrize("role", ["", "root", "ADMINISTRATOR", "anonymous", "system"])
def test_unknown_roles_may_do_nothing(role: str) -> None:
    assert not any(is_allowed(role, a) for a in Action)
