"""Pre-preparation and pre-inhalation checks (reference/clinical.md §2.4 and §7, DESIGN.md).

Each check is explainable: it returns a sentence either way, and the error the
service raises when it fails.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from exoneb.preparation.rules import (
    DEFAULT_VERIFIER_ROLES,
    AppearanceUnacceptable,
    Check,
    Checklist,
    EligibilityFacts,
    EligibilityNotCleared,
    HoldPolicy,
    HoldTimeExceeded,
    InsufficientVolume,
    InvalidInput,
    LotExpired,
    LotQuarantined,
    LotRecalled,
    LotStatus,
    VerificationRefused,
    check_appearance,
    check_eligibility,
    check_lot,
    check_prepared_dose_in_date,
    check_second_person,
    check_vial_hold,
    check_volume,
    preparation_use_by,
)

from .factories import T0

HOUR = timedelta(hours=1)


def test_lot_check_passes_for_a_released_in_date_lot() -> None:
    """§7: lot released, CoA present, not expired."""
    check = check_lot("EV-1", LotStatus.RELEASED, T0 + 24 * HOUR, T0)
    assert check.passed
    assert "released and in date" in check.message
    check.require()


@pytest.mark.parametrize(
    ("status", "expires_in", "error", "words"),
    [
        (LotStatus.QUARANTINE, 24, LotQuarantined, "quarantine"),
        (LotStatus.RECALLED, 24, LotRecalled, "recalled"),
        (LotStatus.RELEASED, 0, LotExpired, "expired"),
        (LotStatus.EXPIRED, 24, LotExpired, "expired"),
    ],
)
def test_lot_check_blocks_with_a_clear_message(
    status: LotStatus, expires_in: int, error: type[Exception], words: str
) -> None:
    """Issue 5 blocks: lot not released, quarantined, recalled or expired."""
    check = check_lot("EV-1", status, T0 + expires_in * HOUR, T0)
    assert not check.passed
    assert isinstance(check.error, error)
    assert words in check.message
    with pytest.raises(error):
        check.require()


def test_vial_hold_check_boundary() -> None:
    """§2.4: ≤2 h after thawing, inclusive; one microsecond later is refused."""
    policy = HoldPolicy()
    assert check_vial_hold("V1", T0, T0 + 2 * HOUR, policy).passed
    late = check_vial_hold("V1", T0, T0 + 2 * HOUR + timedelta(microseconds=1), policy)
    assert isinstance(late.error, HoldTimeExceeded)
    assert late.error.code == "vial.hold_time_exceeded"
    assert "Discard it" in late.message
    early = check_vial_hold("V1", T0, T0 - HOUR, policy)
    assert isinstance(early.error, InvalidInput)


def test_volume_check() -> None:
    """Issue 5 block: not enough volume."""
    assert check_volume(0.40, 0.40).passed
    short = check_volume(0.40, 0.39)
    assert isinstance(short.error, InsufficientVolume)
    assert "0.40 mL" in short.message
    assert "0.39 mL" in short.message
    assert isinstance(check_volume(-0.1, 1.0).error, InvalidInput)


@pytest.mark.parametrize(
    ("cleared", "signed", "ok"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_eligibility_must_be_cleared_and_signed(cleared: bool, signed: bool, ok: bool) -> None:
    """Issue 5 block: 'the session's eligibility not cleared and signed'."""
    check = check_eligibility(EligibilityFacts(cleared=cleared, signed=signed))
    assert check.passed is ok
    if not ok:
        assert isinstance(check.error, EligibilityNotCleared)
        assert check.error.code == "session.eligibility_not_cleared"


def test_the_preparer_cannot_verify_their_own_preparation() -> None:
    """Issue 5: 'the same user cannot verify their own preparation'."""
    check = check_second_person(
        prepared_by="u-17", verified_by="u-17", verifier_roles=["pharmacist"]
    )
    assert isinstance(check.error, VerificationRefused)
    assert "cannot verify" in check.message


@pytest.mark.parametrize(
    ("roles", "ok"),
    [
        (["pharmacist"], True),
        (["physician"], True),
        (["nurse"], True),
        (["Pharmacist "], True),  # names compared without case or stray spaces
        (["coordinator"], False),
        (["administrator"], False),
        (["auditor"], False),
        ([], False),
        (["auditor", "nurse"], True),
    ],
)
def test_the_verifier_needs_a_role_allowed_to_verify(roles: list[str], ok: bool) -> None:
    """A second person 'with the right role' (issue 5)."""
    check = check_second_person(prepared_by="u-1", verified_by="u-2", verifier_roles=roles)
    assert check.passed is ok
    if not ok:
        assert isinstance(check.error, VerificationRefused)
        assert "nurse or pharmacist or physician" in check.message


def test_a_site_can_narrow_the_verifier_roles() -> None:
    """Pharmacist-only verification."""
    assert "nurse" in DEFAULT_VERIFIER_ROLES
    check = check_second_person(
        prepared_by="u-1",
        verified_by="u-2",
        verifier_roles=["nurse"],
        allowed_roles=frozenset({"pharmacist"}),
    )
    assert not check.passed


def test_blank_user_ids_are_refused() -> None:
    """Both people must be identified."""
    check = check_second_person(prepared_by=" ", verified_by="u-2", verifier_roles=["nurse"])
    assert isinstance(check.error, InvalidInput)


def test_use_by_runs_from_the_earliest_thaw() -> None:
    """§2.4: hold 'after thaw or dilution' — the thaw clock runs out first."""
    use_by = preparation_use_by(
        prepared_at=T0 + HOUR,
        thaw_started_at=[T0 + timedelta(minutes=30), T0],
        policy=HoldPolicy(),
    )
    assert use_by == T0 + 2 * HOUR
    with pytest.raises(InvalidInput):
        preparation_use_by(prepared_at=T0, thaw_started_at=[], policy=HoldPolicy())
    with pytest.raises(InvalidInput):
        preparation_use_by(prepared_at=T0, thaw_started_at=[T0 + HOUR], policy=HoldPolicy())


def test_prepared_dose_in_date_boundary() -> None:
    """The dose is re-checked at the start of inhalation against its use-by."""
    assert check_prepared_dose_in_date(T0, T0).passed
    late = check_prepared_dose_in_date(T0, T0 + timedelta(seconds=1))
    assert isinstance(late.error, HoldTimeExceeded)
    assert "prepare a new dose" in late.message


def test_checklist_shows_all_blockers_and_raises_the_first() -> None:
    """Pages show every blocker; the service refuses with the first."""
    checklist = Checklist(
        (
            check_lot("EV-1", LotStatus.RELEASED, T0 + HOUR, T0),
            check_volume(0.4, 0.1),
            check_eligibility(EligibilityFacts(cleared=False, signed=False)),
        )
    )
    assert not checklist.passed
    assert len(checklist.blockers) == 2
    with pytest.raises(InsufficientVolume):
        checklist.require_all()
    fine = Checklist((Check("x", "fine"), check_volume(0.4, 0.4)))
    assert fine.passed
    assert fine.blockers == ()
    fine.require_all()


def test_appearance_must_be_recorded_and_acceptable() -> None:
    """§2.4: check appearance for visible particles or aggregates."""
    assert check_appearance("V1", True).passed
    not_recorded = check_appearance("V1", None)
    assert isinstance(not_recorded.error, InvalidInput)
    assert "Record the appearance check" in not_recorded.message
    aggregates = check_appearance("V1", False)
    assert isinstance(aggregates.error, AppearanceUnacceptable)
    assert aggregates.error.code == "vial.appearance_unacceptable"
