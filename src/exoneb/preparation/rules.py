"""Step 2 domain rules (pure): lot release, lot/vial lifecycle, dose arithmetic, checks.

This module is the public face of the pure layer of ``preparation/``; the
service, pages and API import from here. The rules live in small modules, one
job each:

- :mod:`~exoneb.preparation.release` — release criteria with their sources,
  the certificate of analysis, :func:`evaluate_release`;
- :mod:`~exoneb.preparation.lifecycle` — lot and vial statuses and their
  transition tables, hold time after thawing, storage excursions, FEFO;
- :mod:`~exoneb.preparation.dose` — stock and saline volumes, device fill
  limits, residual compensation, the arithmetic as sentences;
- :mod:`~exoneb.preparation.checks` — the explainable pre-preparation and
  pre-inhalation checks, second-person verification, use-by;
- :mod:`~exoneb.preparation.inventory` — an in-memory inventory applying all
  of the above, one event per mutation;
- :mod:`~exoneb.preparation.nebulizer` — the catalog nebulizers a dose may be
  made for, with their fill limits and residual volume;
- :mod:`~exoneb.preparation.errors` — the refusals, each with a stable code.

None of them imports the database, the web framework or templates, and none
reads the clock: every time is an argument (``now``), so the rules are
testable at any instant and the import-linter contract on ``exoneb.*.rules``
covers them through this module.
"""

from __future__ import annotations

from exoneb.preparation.checks import (
    DEFAULT_VERIFIER_ROLES,
    Check,
    Checklist,
    EligibilityFacts,
    check_appearance,
    check_eligibility,
    check_lot,
    check_prepared_dose_in_date,
    check_second_person,
    check_vial_hold,
    check_volume,
    preparation_use_by,
)
from exoneb.preparation.dose import DosePlan, NebulizerFill, format_particles, plan_dose
from exoneb.preparation.errors import (
    ActuationsNotWhole,
    AppearanceUnacceptable,
    DoseNotPreparable,
    DuplicateRecord,
    EligibilityNotCleared,
    FefoOrderViolated,
    FillVolumeOutsideDevice,
    HoldTimeExceeded,
    InsufficientVolume,
    InvalidInput,
    LotExpired,
    LotNotUsable,
    LotQuarantined,
    LotRecalled,
    LotRejected,
    LotTransitionRefused,
    PreparationError,
    RefreezeRefused,
    ReleaseRefused,
    RoundingTooCoarse,
    StockExceedsFill,
    ThawLimitReached,
    UnknownRecord,
    VerificationRefused,
    VialTransitionRefused,
    WrongProductForArm,
)
from exoneb.preparation.inventory import (
    Balance,
    Dispense,
    Draw,
    Inventory,
    InventoryEvent,
    LotView,
    VialView,
)
from exoneb.preparation.lifecycle import (
    LOT_TRANSITIONS,
    VIAL_TRANSITIONS,
    ExcursionJudgement,
    HoldPolicy,
    LotOffer,
    LotStatus,
    TemperatureReading,
    VialStatus,
    check_lot_transition,
    check_vial_transition,
    fefo_order,
    hold_deadline,
    judge_storage,
    lot_usability_error,
    within_hold,
)
from exoneb.preparation.nebulizer import (
    FILL_LIMITS_SOURCE,
    NebulizerChoice,
    nebulizer_choices,
    nebulizer_fill,
)
from exoneb.preparation.release import (
    CertificateOfAnalysis,
    CriterionResult,
    Limit,
    MarkerPanel,
    Outcome,
    QualitativeResult,
    Range,
    ReleaseCriteria,
    ReleaseEvaluation,
    Requirement,
    StorageRange,
    evaluate_release,
)

__all__ = [
    "DEFAULT_VERIFIER_ROLES",
    "FILL_LIMITS_SOURCE",
    "LOT_TRANSITIONS",
    "VIAL_TRANSITIONS",
    "ActuationsNotWhole",
    "AppearanceUnacceptable",
    "Balance",
    "CertificateOfAnalysis",
    "Check",
    "Checklist",
    "CriterionResult",
    "Dispense",
    "DoseNotPreparable",
    "DosePlan",
    "Draw",
    "DuplicateRecord",
    "EligibilityFacts",
    "EligibilityNotCleared",
    "ExcursionJudgement",
    "FefoOrderViolated",
    "FillVolumeOutsideDevice",
    "HoldPolicy",
    "HoldTimeExceeded",
    "InsufficientVolume",
    "InvalidInput",
    "Inventory",
    "InventoryEvent",
    "Limit",
    "LotExpired",
    "LotNotUsable",
    "LotOffer",
    "LotQuarantined",
    "LotRecalled",
    "LotRejected",
    "LotStatus",
    "LotTransitionRefused",
    "LotView",
    "MarkerPanel",
    "NebulizerChoice",
    "NebulizerFill",
    "Outcome",
    "PreparationError",
    "QualitativeResult",
    "Range",
    "RefreezeRefused",
    "ReleaseCriteria",
    "ReleaseEvaluation",
    "ReleaseRefused",
    "Requirement",
    "RoundingTooCoarse",
    "StockExceedsFill",
    "StorageRange",
    "TemperatureReading",
    "ThawLimitReached",
    "UnknownRecord",
    "VerificationRefused",
    "VialStatus",
    "VialTransitionRefused",
    "VialView",
    "WrongProductForArm",
    "check_appearance",
    "check_eligibility",
    "check_lot",
    "check_lot_transition",
    "check_prepared_dose_in_date",
    "check_second_person",
    "check_vial_hold",
    "check_vial_transition",
    "check_volume",
    "evaluate_release",
    "fefo_order",
    "format_particles",
    "hold_deadline",
    "judge_storage",
    "lot_usability_error",
    "nebulizer_choices",
    "nebulizer_fill",
    "plan_dose",
    "preparation_use_by",
    "within_hold",
]
