"""Refusals raised by the preparation rules, written for the pharmacist at the bench.

Hierarchy (each class has a stable ``code`` the service and the API can map,
e.g. to a 409 or a 422, without parsing the message)::

    ValueError
     └── PreparationError                     preparation.error
         ├── InvalidInput                     preparation.invalid_input
         ├── UnknownRecord                    inventory.unknown_record
         ├── DuplicateRecord                  inventory.duplicate_record
         ├── ReleaseRefused                   lot.release_refused
         ├── LotTransitionRefused             lot.transition_refused
         ├── LotNotUsable                     lot.not_usable
         │   ├── LotQuarantined               lot.quarantined
         │   ├── LotRejected                  lot.rejected
         │   ├── LotRecalled                  lot.recalled
         │   └── LotExpired                   lot.expired
         ├── VialTransitionRefused            vial.transition_refused
         ├── ThawLimitReached                 vial.thaw_limit_reached
         ├── RefreezeRefused                  vial.refreeze_refused
         ├── HoldTimeExceeded                 vial.hold_time_exceeded
         ├── AppearanceUnacceptable           vial.appearance_unacceptable
         ├── FefoOrderViolated                inventory.fefo_order
         ├── InsufficientVolume               inventory.insufficient_volume
         ├── DoseNotPreparable                dose.not_preparable
         │   ├── FillVolumeOutsideDevice      dose.fill_outside_device
         │   ├── StockExceedsFill             dose.stock_exceeds_fill
         │   └── RoundingTooCoarse            dose.rounding_too_coarse
         ├── EligibilityNotCleared            session.eligibility_not_cleared
         └── VerificationRefused              verification.refused

They subclass the domain error tree of :mod:`exoneb.core.errors` (which
imports nothing but the standard library, so the pure layer stays free of the
web and the database): a refusal is a :class:`~exoneb.core.errors.RuleViolation`
(409), an impossible value an :class:`~exoneb.core.errors.InvalidInput` (422),
an unknown lot or vial a :class:`~exoneb.core.errors.NotFound` (404), so the
service lets them through and the web layer answers with the right status.
They also remain :class:`ValueError` for callers of the pure rules. Every
message says what is wrong *and* what to do, because the person reading it is
holding a vial, not a debugger. Nothing is clamped or skipped silently: a
refusal always raises.
"""

from __future__ import annotations

from typing import ClassVar

from exoneb.core import errors as core

__all__ = [
    "ActuationsNotWhole",
    "AppearanceUnacceptable",
    "DoseNotPreparable",
    "DuplicateRecord",
    "EligibilityNotCleared",
    "FefoOrderViolated",
    "FillVolumeOutsideDevice",
    "HoldTimeExceeded",
    "InsufficientVolume",
    "InvalidInput",
    "LotExpired",
    "LotNotUsable",
    "LotQuarantined",
    "LotRecalled",
    "LotRejected",
    "LotTransitionRefused",
    "PreparationError",
    "RefreezeRefused",
    "ReleaseRefused",
    "RoundingTooCoarse",
    "StockExceedsFill",
    "ThawLimitReached",
    "UnknownRecord",
    "VerificationRefused",
    "VialTransitionRefused",
    "WrongProductForArm",
]


class PreparationError(core.RuleViolation, ValueError):
    """Base of every refusal in step 2 (lots, vials, dose, verification).

    Parameters
    ----------
    message : str
        One or two sentences for the pharmacist: what is wrong and what to do.

    Attributes
    ----------
    code : str
        Stable machine-readable identifier (class attribute), so callers and
        tests do not depend on the wording of the message.
    message : str
        The message as given.
    """

    code: ClassVar[str] = "preparation.error"
    status_code = 409

    def __init__(self, message: str) -> None:
        core.RuleViolation.__init__(self, message)
        self.message = message


class InvalidInput(PreparationError, core.InvalidInput):
    """A number or value given to the rules is impossible (zero, negative, naive time).

    ``field`` names the input for a form when the caller knows it (422).
    """

    code = "preparation.invalid_input"
    status_code = 422

    def __init__(self, message: str, *, field: str = "input") -> None:
        super().__init__(message)
        self.field = field


class UnknownRecord(PreparationError, core.NotFound):
    """The lot or vial named is not in the inventory (404)."""

    code = "inventory.unknown_record"
    status_code = 404


class DuplicateRecord(PreparationError, core.DuplicateRecord):
    """A lot with the same identifier was already received (409)."""

    code = "inventory.duplicate_record"


class ReleaseRefused(PreparationError):
    """The certificate of analysis does not meet every release criterion."""

    code = "lot.release_refused"


class LotTransitionRefused(PreparationError):
    """The lot cannot move from its current status to the one asked for."""

    code = "lot.transition_refused"


class LotNotUsable(PreparationError):
    """The lot may not be used for a dose now (base of the specific reasons)."""

    code = "lot.not_usable"


class LotQuarantined(LotNotUsable):
    """The lot is in quarantine: not released yet, or held again after release."""

    code = "lot.quarantined"


class LotRejected(LotNotUsable):
    """The lot was rejected at release."""

    code = "lot.rejected"


class LotRecalled(LotNotUsable):
    """The lot was recalled."""

    code = "lot.recalled"


class LotExpired(LotNotUsable):
    """The lot is past its expiry."""

    code = "lot.expired"


class VialTransitionRefused(PreparationError):
    """The vial cannot move from its current status to the one asked for."""

    code = "vial.transition_refused"


class ThawLimitReached(PreparationError):
    """The vial has already been thawed as often as its certificate allows."""

    code = "vial.thaw_limit_reached"


class RefreezeRefused(PreparationError):
    """A thawed vial may not go back to frozen storage."""

    code = "vial.refreeze_refused"


class HoldTimeExceeded(PreparationError):
    """The vial (or the prepared dose) is past its hold time after thawing."""

    code = "vial.hold_time_exceeded"


class AppearanceUnacceptable(PreparationError):
    """The thawed product shows visible particles or aggregates."""

    code = "vial.appearance_unacceptable"


class FefoOrderViolated(PreparationError):
    """Another usable lot expires earlier and must be used first."""

    code = "inventory.fefo_order"


class InsufficientVolume(PreparationError):
    """Not enough product is left in the usable vial(s) for the dose."""

    code = "inventory.insufficient_volume"


class DoseNotPreparable(PreparationError):
    """The dose cannot be made up for the nebulizer as asked."""

    code = "dose.not_preparable"


class FillVolumeOutsideDevice(DoseNotPreparable):
    """The fill volume is outside the nebulizer's minimum/maximum fill."""

    code = "dose.fill_outside_device"


class StockExceedsFill(DoseNotPreparable):
    """The stock volume needed is larger than the fill volume."""

    code = "dose.stock_exceeds_fill"


class RoundingTooCoarse(DoseNotPreparable):
    """Rounding the stock volume to a measurable step would change the dose too much."""

    code = "dose.rounding_too_coarse"


class WrongProductForArm(DoseNotPreparable):
    """The lot's kind or unit is not what the session's arm is dosed in."""

    code = "dose.wrong_product"


class ActuationsNotWhole(DoseNotPreparable):
    """An inhaler dose is not a whole number of actuations of the device's emitted dose."""

    code = "dose.actuations_not_whole"


class EligibilityNotCleared(PreparationError):
    """The session's eligibility decision is not cleared and signed."""

    code = "session.eligibility_not_cleared"


class VerificationRefused(PreparationError):
    """The second-person verification is not acceptable (same person or role not allowed)."""

    code = "verification.refused"
