"""Step 3 domain rules (pure): devices, regimens, the nebulization run, the dose estimate.

This module is the public face of the pure layer of ``inhalation/``; the
service, pages and API import from here. The rules live in small modules, one
job each:

- :mod:`~exoneb.inhalation.devices` — the device register checked against the
  dose engine's catalog (catalog id, heat, validation and interface warnings);
- :mod:`~exoneb.inhalation.regimens` — the regimens of the seed's comparison
  as data (devices allowed, what the dose counts, intact-vesicle estimate);
- :mod:`~exoneb.inhalation.breathing` — breathing patterns (chosen or
  measured) and the instructions shown before start;
- :mod:`~exoneb.inhalation.run` — the run state machine, interruptions,
  elapsed time, planned duration, residual volume;
- :mod:`~exoneb.inhalation.inhaler` — inhaler runs (pMDI, DPI): the plan,
  the technique checklist of each actuation, the inhaler manoeuvre;
- :mod:`~exoneb.inhalation.estimate` — the patient's dose estimate from the
  dose engine and the cumulative dose across sessions;
- :mod:`~exoneb.inhalation.errors` — the refusals, each with a stable code.

None of them imports the database, the web framework or templates, and none
reads the clock: every time is an argument (``now``). They import only the
standard library, NumPy through the dose engine, and ``exoneb.dosimetry``; the
import-linter contract on ``exoneb.*.rules`` covers them through this module.
"""

from __future__ import annotations

from exoneb.inhalation.breathing import (
    BREATHING_PRESETS,
    Breathing,
    BreathingSource,
    breathing_instructions,
)
from exoneb.inhalation.devices import (
    CatalogMatch,
    DeviceCheck,
    DeviceEntry,
    DeviceSettings,
    DeviceWarning,
    WarningCode,
    catalog_kinds,
    check_device,
    check_interface,
)
from exoneb.inhalation.errors import (
    DeviceKindMismatch,
    DeviceNotAllowed,
    DoseModelRefused,
    DoseNotAllowed,
    InhalationError,
    InvalidInput,
    PreparationNotVerified,
    ReasonRequired,
    ResidualExceedsFill,
    RunAlreadyStopped,
    RunTransitionRefused,
    SupervisorAbsent,
    TimeWentBackwards,
    UnknownCatalogDevice,
    UnknownInterface,
    UnknownRegimen,
)
from exoneb.inhalation.estimate import (
    MODEL_ESTIMATE_STATEMENT,
    CumulativeDose,
    DoseEstimate,
    EstimateStage,
    GenerationFraction,
    PatientFacts,
    RecordedEstimate,
    cumulative_dose,
    deposition_for,
    estimate_dose,
)
from exoneb.inhalation.inhaler import (
    MAX_ACTUATIONS,
    InhalerPlan,
    Manoeuvre,
    Technique,
    check_technique,
    inhaler_instructions,
    is_inhaler_kind,
    manoeuvre_breathing,
    manoeuvre_for,
    mean_breath_hold_s,
    technique_warnings,
)
from exoneb.inhalation.regimens import (
    EXOSOME_INHALATION,
    INHALER_KINDS,
    NEBULIZER_KINDS,
    REGIMENS,
    SALINE_NEBULIZATION,
    STANDARD_INHALED_CARE,
    STEM_CELL_INHALATION,
    DoseUnit,
    Regimen,
    RegimenRole,
    check_regimen_device,
    check_regimen_dose,
    check_regimen_unit,
    dose_unit_of,
    get_regimen,
)
from exoneb.inhalation.run import (
    INHALER_TRANSITIONS,
    RUN_TRANSITIONS,
    InhalationRun,
    Interruption,
    PauseReason,
    RunAction,
    RunEvent,
    RunState,
    StartFacts,
    StopReason,
    check_residual,
    planned_duration,
)

__all__ = [
    "BREATHING_PRESETS",
    "EXOSOME_INHALATION",
    "INHALER_KINDS",
    "INHALER_TRANSITIONS",
    "MAX_ACTUATIONS",
    "MODEL_ESTIMATE_STATEMENT",
    "NEBULIZER_KINDS",
    "REGIMENS",
    "RUN_TRANSITIONS",
    "SALINE_NEBULIZATION",
    "STANDARD_INHALED_CARE",
    "STEM_CELL_INHALATION",
    "Breathing",
    "BreathingSource",
    "CatalogMatch",
    "CumulativeDose",
    "DeviceCheck",
    "DeviceEntry",
    "DeviceKindMismatch",
    "DeviceNotAllowed",
    "DeviceSettings",
    "DeviceWarning",
    "DoseEstimate",
    "DoseModelRefused",
    "DoseNotAllowed",
    "DoseUnit",
    "EstimateStage",
    "GenerationFraction",
    "InhalationError",
    "InhalationRun",
    "InhalerPlan",
    "Interruption",
    "InvalidInput",
    "Manoeuvre",
    "PatientFacts",
    "PauseReason",
    "PreparationNotVerified",
    "ReasonRequired",
    "RecordedEstimate",
    "Regimen",
    "RegimenRole",
    "ResidualExceedsFill",
    "RunAction",
    "RunAlreadyStopped",
    "RunEvent",
    "RunState",
    "RunTransitionRefused",
    "StartFacts",
    "StopReason",
    "SupervisorAbsent",
    "Technique",
    "TimeWentBackwards",
    "UnknownCatalogDevice",
    "UnknownInterface",
    "UnknownRegimen",
    "WarningCode",
    "breathing_instructions",
    "catalog_kinds",
    "check_device",
    "check_interface",
    "check_regimen_device",
    "check_regimen_dose",
    "check_regimen_unit",
    "check_residual",
    "check_technique",
    "cumulative_dose",
    "deposition_for",
    "dose_unit_of",
    "estimate_dose",
    "get_regimen",
    "inhaler_instructions",
    "is_inhaler_kind",
    "manoeuvre_breathing",
    "manoeuvre_for",
    "mean_breath_hold_s",
    "planned_duration",
    "technique_warnings",
]
