"""The checks before a dose may be prepared and before it may go to the patient.

Each check is a pure predicate that returns a :class:`Check`: whether it
passed, a sentence that explains it either way, and — when it fails — the
domain error the service raises. Pages show the sentences as a checklist; the
service calls :meth:`Check.require` (or :meth:`Checklist.require_all`) so the
same rule blocks the action. Facts that live elsewhere (the session's
eligibility decision, who prepared and who verifies) are passed in; nothing
here reads the database or the clock.

Sources: ``reference/clinical.md`` §2.4 (hold time, expiry), §7 (product
checks before nebulization, second-person verification) and DESIGN.md (the
session moves from *prepared* to *verified* only after a second person signs).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from exoneb.preparation.errors import (
    AppearanceUnacceptable,
    EligibilityNotCleared,
    HoldTimeExceeded,
    InsufficientVolume,
    InvalidInput,
    PreparationError,
    VerificationRefused,
)
from exoneb.preparation.lifecycle import (
    HoldPolicy,
    LotStatus,
    hold_deadline,
    lot_usability_error,
    require_aware,
)

__all__ = [
    "DEFAULT_VERIFIER_ROLES",
    "Check",
    "Checklist",
    "EligibilityFacts",
    "check_appearance",
    "check_eligibility",
    "check_lot",
    "check_prepared_dose_in_date",
    "check_second_person",
    "check_vial_hold",
    "check_volume",
    "preparation_use_by",
]

DEFAULT_VERIFIER_ROLES: frozenset[str] = frozenset({"pharmacist", "physician", "nurse"})
"""Roles that may verify a preparation by default: the clinical roles that handle doses.

Trial coordinators, administrators and auditors do not check doses. A protocol
or site may narrow this (e.g. pharmacist only) by passing its own set.
"""


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one check.

    Attributes
    ----------
    key : str
        Stable identifier (``"lot"``, ``"hold_time"``, ``"volume"``, ``"eligibility"``,
        ``"second_person"``, ``"use_by"``).
    message : str
        What was checked and the result, in words.
    error : PreparationError or None
        The refusal to raise when the check failed; ``None`` when it passed.
    """

    key: str
    message: str
    error: PreparationError | None = None

    @property
    def passed(self) -> bool:
        """True when nothing blocks."""
        return self.error is None

    def require(self) -> None:
        """Raise the check's error if it failed."""
        if self.error is not None:
            raise self.error


@dataclass(frozen=True, slots=True)
class Checklist:
    """Several checks shown together; the action is allowed only if all pass."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def blockers(self) -> tuple[str, ...]:
        """The messages of the failed checks, in order."""
        return tuple(c.message for c in self.checks if not c.passed)

    def require_all(self) -> None:
        """Raise the first failed check's error (the page shows all of them)."""
        for check in self.checks:
            check.require()


def _fail(key: str, error: PreparationError) -> Check:
    return Check(key, error.message, error)


def check_lot(lot_id: str, status: LotStatus, expires_at: datetime, now: datetime) -> Check:
    """The lot is released, not quarantined/rejected/recalled and in date at ``now``."""
    error = lot_usability_error(lot_id, status, expires_at, now)
    if error is not None:
        return _fail("lot", error)
    return Check("lot", f"Lot {lot_id} is released and in date (expires {expires_at:%Y-%m-%d}).")


def check_vial_hold(vial_id: str, thawed_at: datetime, now: datetime, policy: HoldPolicy) -> Check:
    """The vial is still within its hold time after thawing (limit inclusive)."""
    deadline = hold_deadline(thawed_at, policy)
    require_aware(now, "The preparation time")
    if now < thawed_at:
        return _fail(
            "hold_time",
            InvalidInput(f"Vial {vial_id}: the thaw start is after the preparation time."),
        )
    limit = f"{policy.max_hold} at {policy.condition}"
    if now > deadline:
        return _fail(
            "hold_time",
            HoldTimeExceeded(
                f"Vial {vial_id} was thawed at {thawed_at:%H:%M %Z}; its hold time ({limit}) "
                f"ended at {deadline:%H:%M %Z}. Discard it and thaw another vial."
            ),
        )
    return Check(
        "hold_time", f"Vial {vial_id} is within its hold time (use by {deadline:%H:%M %Z})."
    )


def check_appearance(vial_id: str, acceptable: bool | None) -> Check:
    """The thawed product was inspected and shows no visible particles or aggregates.

    ``None`` means nobody recorded the inspection, which blocks like a failed
    one (``reference/clinical.md`` §2.4: "check appearance for visible
    particles or aggregates").
    """
    if acceptable is None:
        return _fail(
            "appearance",
            InvalidInput(
                f"Record the appearance check of vial {vial_id} (visible particles or "
                "aggregates) before preparing the dose."
            ),
        )
    if not acceptable:
        return _fail(
            "appearance",
            AppearanceUnacceptable(
                f"Vial {vial_id} shows visible particles or aggregates. Do not use it; "
                "discard it and report it to the manufacturer."
            ),
        )
    return Check("appearance", f"Vial {vial_id}: no visible particles or aggregates.")


def check_volume(needed_ml: float, available_ml: float) -> Check:
    """Enough product is left in the usable vial(s) for the stock volume."""
    for name, value in (("volume needed", needed_ml), ("volume available", available_ml)):
        if not (math.isfinite(value) and value >= 0):
            return _fail("volume", InvalidInput(f"The {name} must be ≥ 0 mL (got {value})."))
    if needed_ml > available_ml + 1e-9:
        return _fail(
            "volume",
            InsufficientVolume(
                f"The dose needs {needed_ml:.2f} mL of stock but only {available_ml:.2f} mL is "
                "left in the usable vial(s). Thaw another vial or use another lot."
            ),
        )
    return Check("volume", f"{available_ml:.2f} mL available for {needed_ml:.2f} mL needed.")


@dataclass(frozen=True, slots=True)
class EligibilityFacts:
    """What the session layer knows about today's eligibility decision."""

    cleared: bool
    signed: bool


def check_eligibility(facts: EligibilityFacts) -> Check:
    """The session's eligibility decision is *cleared* and signed (a dose is never made before)."""
    if not facts.cleared:
        return _fail(
            "eligibility",
            EligibilityNotCleared(
                "The patient has not been cleared for dosing today. Finish the assessment "
                "before preparing a dose."
            ),
        )
    if not facts.signed:
        return _fail(
            "eligibility",
            EligibilityNotCleared(
                "The eligibility decision is not signed yet. It must be signed before a dose "
                "is prepared."
            ),
        )
    return Check("eligibility", "Eligibility is cleared and signed.")


def check_second_person(
    *,
    prepared_by: str,
    verified_by: str,
    verifier_roles: Iterable[str],
    allowed_roles: frozenset[str] = DEFAULT_VERIFIER_ROLES,
) -> Check:
    """The verifier is a different user holding a role allowed to verify.

    Parameters
    ----------
    prepared_by, verified_by : str
        Stable user identifiers (not display names, which two people may share).
    verifier_roles : iterable of str
        The verifier's roles (plain names such as ``"pharmacist"``).
    allowed_roles : frozenset of str
        Roles that may verify (default :data:`DEFAULT_VERIFIER_ROLES`).
    """
    if not prepared_by.strip() or not verified_by.strip():
        return _fail(
            "second_person", InvalidInput("Both the preparer and the verifier are needed.")
        )
    if prepared_by.strip() == verified_by.strip():
        return _fail(
            "second_person",
            VerificationRefused(
                "The person who prepared the dose cannot verify it. A second person must check it."
            ),
        )
    roles = {r.strip().casefold() for r in verifier_roles}
    allowed = {r.casefold() for r in allowed_roles}
    if not roles & allowed:
        return _fail(
            "second_person",
            VerificationRefused(
                "This user's role may not verify a preparation; it must be checked by a "
                + " or ".join(sorted(allowed))
                + "."
            ),
        )
    return Check("second_person", "Verified by a second person with a role allowed to verify.")


def preparation_use_by(
    *, prepared_at: datetime, thaw_started_at: Iterable[datetime], policy: HoldPolicy
) -> datetime:
    """The prepared dose's own expiry (use-by), for the label.

    The reference limits the hold "after thaw or dilution"
    (``reference/clinical.md`` §2.4), and the dilution happens after the thaw,
    so the clock that runs out first is the thaw clock: the use-by is the
    earliest thaw start of the vial(s) used plus the hold limit. Starting the
    clock at the preparation time instead would let a vial that waited before
    dilution stay at room temperature longer than the limit.

    Raises
    ------
    InvalidInput
        No thaw start given, a naive time, or a thaw start after the preparation.
    """
    require_aware(prepared_at, "The preparation time")
    thaws = [require_aware(t, "The thaw start") for t in thaw_started_at]
    if not thaws:
        raise InvalidInput("A prepared dose needs the thaw start of the vial(s) it came from.")
    if any(t > prepared_at for t in thaws):
        raise InvalidInput("A vial's thaw start is after the preparation time.")
    return min(thaws) + policy.max_hold


def check_prepared_dose_in_date(use_by: datetime, now: datetime) -> Check:
    """The prepared dose is still before its use-by (inclusive) — checked again at inhalation."""
    require_aware(now, "The time")
    if now > use_by:
        return _fail(
            "use_by",
            HoldTimeExceeded(
                f"The prepared dose expired at {use_by:%H:%M %Z}. Do not give it; discard it and "
                "prepare a new dose."
            ),
        )
    return Check("use_by", f"The prepared dose is in date (use by {use_by:%H:%M %Z}).")
