"""This patient's estimated lung dose, from the dose engine, as a record to store.

:func:`estimate_dose` turns the session's facts — the patient's sex, age and
height (or measured FRC), the breathing pattern, the device, the loaded dose and
the residual volume — into one ``exoneb.dosimetry.deposit`` call, and keeps the
engine's answer (``DepositionResult.to_dict()``) as a frozen, JSON-ready
:class:`DoseEstimate`. The preview before start and the final estimate after
the run use the same function; only the stage, the residual volume (catalog
value vs measured) and the breathing (chosen vs measured) differ, and the
record says which.

Nothing here computes deposition: every number comes from the engine, so an
estimate always equals a direct engine call with the same inputs (a test checks
it). What this module adds is the clinical framing — the regimen (what the
dose counts, whether vesicles and an intact-vesicle estimate apply), warnings,
and the plain statement that this is a model estimate.

The deposited dose is also reported in the dose's own unit (``amounts``:
vesicles, mg, µg or cells per region = fraction of the loaded dose × loaded
dose), so drug and cell regimens get numbers too; the intact-vesicle estimate
applies to vesicle products only. An inhaler estimate (pMDI, DPI) has no fill
or residual volume: the loaded dose is the emitted dose per actuation × the
actuations given, and the breathing is the inhaler manoeuvre.

:func:`cumulative_dose` adds the estimated lung and alveolar vesicle counts of a
patient's final, non-voided estimates across sessions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from exoneb.dosimetry import DepositionResult, DosimetryInputError, deposit
from exoneb.inhalation.breathing import Breathing, BreathingSource
from exoneb.inhalation.devices import DeviceSettings
from exoneb.inhalation.errors import DoseModelRefused, InvalidInput
from exoneb.inhalation.regimens import (
    DoseUnit,
    Regimen,
    check_regimen_device,
    check_regimen_dose,
    check_regimen_unit,
)
from exoneb.inhalation.run import check_residual

__all__ = [
    "MODEL_ESTIMATE_STATEMENT",
    "CumulativeDose",
    "DoseEstimate",
    "EstimateStage",
    "GenerationFraction",
    "PatientFacts",
    "RecordedEstimate",
    "cumulative_dose",
    "deposition_for",
    "estimate_dose",
]

#: Shown with every estimate (issue 6: "the page says plainly that this is a model estimate").
MODEL_ESTIMATE_STATEMENT = (
    "This is a model estimate, not a measurement. It depends on the stated assumptions and on "
    "device values that are mostly manufacturer or literature figures for other products. It "
    "supports decisions; it is not medical advice."
)


class EstimateStage(StrEnum):
    """Before the run (planned values) or after it (measured residual, actual breathing)."""

    PREVIEW = "preview"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """What the dose engine needs to know about the patient.

    Attributes
    ----------
    sex : str
        ``"male"`` or ``"female"`` (the FRC equations are sex-specific).
    age_years, height_cm : float
        Used to predict FRC (Crapo 1982) when it was not measured.
    frc_ml : float or None
        Measured functional residual capacity, mL; preferred when known.
    """

    sex: str
    age_years: float
    height_cm: float
    frc_ml: float | None = None

    def __post_init__(self) -> None:
        for name in ("age_years", "height_cm"):
            if not math.isfinite(getattr(self, name)):
                raise InvalidInput(f"The patient's {name} must be a finite number.")
        if self.frc_ml is not None and not math.isfinite(self.frc_ml):
            raise InvalidInput("The patient's measured FRC must be a finite number.")

    def engine_arguments(self) -> dict[str, Any]:
        """The patient part of a ``deposit()`` call."""
        args: dict[str, Any] = {
            "sex": self.sex,
            "age_years": self.age_years,
            "height_cm": self.height_cm,
        }
        if self.frc_ml is not None:
            args["frc_ml"] = self.frc_ml
        return args


@dataclass(frozen=True, slots=True)
class GenerationFraction:
    """Fraction of the inhaled dose deposited in one airway generation (0 = trachea)."""

    generation: int
    fraction_of_inhaled: float


def _ro(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class DoseEstimate:
    """One stored dose estimate for a session (JSON via :meth:`to_dict` / :meth:`from_dict`).

    Attributes
    ----------
    stage : EstimateStage
    regimen_id : str
    dose_unit : DoseUnit
    loaded_dose : float
        In ``dose_unit`` (0 particles for the saline arm).
    model, model_version : str
        The dose engine's model name and version.
    inputs : mapping
        Every input the engine resolved, catalog defaults included.
    breathing_source : BreathingSource
    breathing_label : str
    residual_measured : bool
        Whether the residual volume was measured (else the catalog value).
    duration_min : float
        Nebulization time the engine computes from fill, residual and output rate.
    fractions_of_loaded, fractions_of_inhaled : mapping of str to float or None
        Per region (``None`` where the model cannot say).
    by_generation : tuple of GenerationFraction or None
    by_phase : mapping of str to float or None
    particles : mapping of str to float or None, or None
        Vesicles per region of ``fractions_of_loaded`` and ``lung_intact``;
        ``None`` when the dose is not a vesicle count.
    warnings, assumptions : tuple of str
    statement : str
    amounts : mapping of str to float or None, or None
        The deposited dose per region in ``dose_unit`` (fractions of the loaded dose ×
        loaded dose; ``lung_intact`` only for vesicle products). ``None`` in records
        stored before amounts were kept.
    actuations : int or None
        Inhaler actuations the loaded dose counts (``None`` for a nebulization).
    """

    stage: EstimateStage
    regimen_id: str
    dose_unit: DoseUnit
    loaded_dose: float
    model: str
    model_version: str
    inputs: Mapping[str, Any]
    breathing_source: BreathingSource
    breathing_label: str
    residual_measured: bool
    duration_min: float
    fractions_of_loaded: Mapping[str, float | None]
    fractions_of_inhaled: Mapping[str, float | None]
    by_generation: tuple[GenerationFraction, ...] | None
    by_phase: Mapping[str, float] | None
    particles: Mapping[str, float | None] | None
    warnings: tuple[str, ...]
    assumptions: tuple[str, ...]
    statement: str = MODEL_ESTIMATE_STATEMENT
    amounts: Mapping[str, float | None] | None = None
    actuations: int | None = None

    @property
    def lung_amount(self) -> float | None:
        """Estimated dose deposited in the lung, in :attr:`dose_unit`."""
        return None if self.amounts is None else self.amounts.get("lung")

    @property
    def alveolar_amount(self) -> float | None:
        """Estimated dose deposited in the alveolar region, in :attr:`dose_unit`."""
        return None if self.amounts is None else self.amounts.get("alveolar")

    @property
    def lung_particles(self) -> float | None:
        """Estimated vesicles deposited in the lung (bronchial + bronchiolar + alveolar)."""
        return None if self.particles is None else self.particles.get("lung")

    @property
    def alveolar_particles(self) -> float | None:
        """Estimated vesicles deposited in the alveolar region."""
        return None if self.particles is None else self.particles.get("alveolar")

    @property
    def lung_intact_particles(self) -> float | None:
        """Estimated intact vesicles in the lung (``None`` where the estimate does not apply)."""
        return None if self.particles is None else self.particles.get("lung_intact")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (plain dicts, lists, floats, strings)."""
        return {
            "stage": self.stage.value,
            "regimen_id": self.regimen_id,
            "dose_unit": self.dose_unit.value,
            "loaded_dose": self.loaded_dose,
            "model": self.model,
            "model_version": self.model_version,
            "inputs": dict(self.inputs),
            "breathing_source": self.breathing_source.value,
            "breathing_label": self.breathing_label,
            "residual_measured": self.residual_measured,
            "duration_min": self.duration_min,
            "fractions_of_loaded": dict(self.fractions_of_loaded),
            "fractions_of_inhaled": dict(self.fractions_of_inhaled),
            "by_generation": None
            if self.by_generation is None
            else [
                {"generation": g.generation, "fraction_of_inhaled": g.fraction_of_inhaled}
                for g in self.by_generation
            ],
            "by_phase": None if self.by_phase is None else dict(self.by_phase),
            "particles": None if self.particles is None else dict(self.particles),
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
            "statement": self.statement,
            "amounts": None if self.amounts is None else dict(self.amounts),
            "actuations": self.actuations,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DoseEstimate:
        """Rebuild an estimate stored with :meth:`to_dict` (e.g. for the cumulative dose)."""
        by_gen = data["by_generation"]
        return cls(
            stage=EstimateStage(data["stage"]),
            regimen_id=data["regimen_id"],
            dose_unit=DoseUnit(data["dose_unit"]),
            loaded_dose=float(data["loaded_dose"]),
            model=data["model"],
            model_version=data["model_version"],
            inputs=_ro(data["inputs"]),
            breathing_source=BreathingSource(data["breathing_source"]),
            breathing_label=data["breathing_label"],
            residual_measured=bool(data["residual_measured"]),
            duration_min=float(data["duration_min"]),
            fractions_of_loaded=_ro(data["fractions_of_loaded"]),
            fractions_of_inhaled=_ro(data["fractions_of_inhaled"]),
            by_generation=None
            if by_gen is None
            else tuple(
                GenerationFraction(int(g["generation"]), float(g["fraction_of_inhaled"]))
                for g in by_gen
            ),
            by_phase=None if data["by_phase"] is None else _ro(data["by_phase"]),
            particles=None if data["particles"] is None else _ro(data["particles"]),
            warnings=tuple(data["warnings"]),
            assumptions=tuple(data["assumptions"]),
            statement=data["statement"],
            amounts=None if data.get("amounts") is None else _ro(data["amounts"]),
            actuations=None if data.get("actuations") is None else int(data["actuations"]),
        )


def deposition_for(
    *,
    patient: PatientFacts,
    breathing: Breathing,
    device: DeviceSettings,
    fill_ml: float | None,
    regimen: Regimen,
    loaded_dose: float,
    residual_ml: float | None = None,
) -> DepositionResult:
    """The dose-engine result an estimate is built from (one ``deposit()`` call).

    Parameters
    ----------
    patient : PatientFacts
    breathing : Breathing
    device : DeviceSettings
        Catalog id and this product's measured overrides.
    fill_ml : float or None
        Volume loaded into the nebulizer, mL; ``None`` for an inhaler (no reservoir).
    regimen : Regimen
        Decides whether ``loaded_dose`` is passed as vesicles (``dose_particles``).
    loaded_dose : float
        In ``regimen.dose_unit``.
    residual_ml : float, optional
        Measured volume left in the device; the catalog value when omitted.

    Raises
    ------
    DeviceNotAllowed, DoseNotAllowed
        The device or dose does not fit the regimen.
    ResidualExceedsFill
    DoseModelRefused
        The engine refused an input (field, value and range in the message).
    """
    spec = device.spec
    check_regimen_device(regimen, spec.kind)
    dose = check_regimen_dose(regimen, loaded_dose)
    if spec.is_inhaler and (fill_ml is not None or residual_ml is not None):
        raise InvalidInput(
            f"{spec.name} is an inhaler: it has no fill or residual volume to give the model."
        )
    if not spec.is_inhaler and fill_ml is None:
        raise InvalidInput("The fill volume loaded into the nebulizer is needed for the estimate.")
    if residual_ml is not None and fill_ml is not None:
        check_residual(residual_ml=residual_ml, fill_ml=fill_ml)
    args: dict[str, Any] = {
        **device.engine_arguments(),
        **breathing.engine_arguments(),
        **patient.engine_arguments(),
    }
    if fill_ml is not None:
        args["fill_ml"] = fill_ml
    if residual_ml is not None:
        args["residual_ml"] = residual_ml
    if regimen.carries_vesicles:
        args["dose_particles"] = dose
    try:
        return deposit(**args)
    except DosimetryInputError as error:
        raise DoseModelRefused.from_engine(error) from error


def _particles(regimen: Regimen, engine: dict[str, Any]) -> dict[str, float | None] | None:
    if regimen.carries_vesicles:
        counts: dict[str, float | None] = dict(engine["particles"])
        if not regimen.intact_vesicle_estimate:
            counts["lung_intact"] = None
        return counts
    if regimen.dose_unit is DoseUnit.PARTICLES:
        # A vehicle-only arm: no vesicles were loaded, so none are anywhere.
        zeros: dict[str, float | None] = {
            k: None if v is None else 0.0 for k, v in engine["fractions_of_loaded"].items()
        }
        zeros["lung_intact"] = None
        return zeros
    return None


def _amounts(
    loaded_dose: float, engine: dict[str, Any], particles: Mapping[str, float | None] | None
) -> dict[str, float | None]:
    """The deposited dose per region in the dose's unit: fraction of the loaded × loaded."""
    amounts: dict[str, float | None] = {
        k: None if v is None else float(v) * loaded_dose
        for k, v in engine["fractions_of_loaded"].items()
    }
    amounts["lung_intact"] = None if particles is None else particles.get("lung_intact")
    return amounts


def estimate_dose(
    *,
    stage: EstimateStage,
    patient: PatientFacts,
    breathing: Breathing,
    device: DeviceSettings,
    fill_ml: float | None,
    regimen: Regimen,
    loaded_dose: float,
    residual_ml: float | None = None,
    notes: Sequence[str] = (),
    dose_unit: DoseUnit | None = None,
    actuations: int | None = None,
) -> DoseEstimate:
    """Estimate where this session's dose goes, as a record to store and show.

    Parameters
    ----------
    stage : EstimateStage
        ``PREVIEW`` before start; ``FINAL`` after the run, which needs the measured
        ``residual_ml``.
    patient, breathing, device, fill_ml, regimen, loaded_dose, residual_ml
        As for :func:`deposition_for`.
    notes : sequence of str
        Further warnings to keep with the estimate (e.g. the device check's).
    dose_unit : DoseUnit, optional
        The unit of ``loaded_dose`` as handed over (mg or µg for a drug regimen);
        the regimen's unit when omitted. Must be of the regimen's kind.
    actuations : int, optional
        For an inhaler: the actuations ``loaded_dose`` counts (kept in the record).

    Returns
    -------
    DoseEstimate

    Raises
    ------
    InvalidInput
        A final estimate without a measured residual volume.
    DeviceNotAllowed, DoseNotAllowed, ResidualExceedsFill, DoseModelRefused
        As for :func:`deposition_for`.
    """
    unit = check_regimen_unit(regimen, regimen.dose_unit if dose_unit is None else dose_unit)
    inhaler = device.spec.is_inhaler
    if inhaler and (actuations is None or actuations < 1):
        raise InvalidInput(
            "An inhaler estimate needs the number of actuations its dose counts (1 or more)."
        )
    if stage is EstimateStage.FINAL and residual_ml is None and not inhaler:
        raise InvalidInput(
            "Measure and record the residual volume left in the nebulizer before the final "
            "dose estimate."
        )
    result = deposition_for(
        patient=patient,
        breathing=breathing,
        device=device,
        fill_ml=fill_ml,
        regimen=regimen,
        loaded_dose=loaded_dose,
        residual_ml=residual_ml,
    )
    engine = result.to_dict()
    warnings = [*engine["warnings"], *notes]
    if residual_ml is None and not inhaler:
        warnings.append(
            f"The residual volume is the catalog value ({engine['inputs']['residual_ml']:g} mL), "
            "not a measurement."
        )
    if breathing.source is BreathingSource.CHOSEN:
        warnings.append("The breathing pattern was chosen, not measured on this patient.")
    by_gen = engine["by_generation"]
    counts = _particles(regimen, engine)
    return DoseEstimate(
        stage=stage,
        regimen_id=regimen.id,
        dose_unit=unit,
        loaded_dose=float(loaded_dose),
        model=engine["model"],
        model_version=engine["model_version"],
        inputs=_ro(engine["inputs"]),
        breathing_source=breathing.source,
        breathing_label=breathing.label,
        residual_measured=residual_ml is not None,
        duration_min=float(engine["duration_min"]),
        fractions_of_loaded=_ro(engine["fractions_of_loaded"]),
        fractions_of_inhaled=_ro(engine["fractions_of_inhaled"]),
        by_generation=None
        if by_gen is None
        else tuple(
            GenerationFraction(int(g["generation"]), float(g["fraction_of_inhaled"]))
            for g in by_gen
        ),
        by_phase=None if engine["by_phase"] is None else _ro(engine["by_phase"]),
        particles=None if counts is None else _ro(counts),
        warnings=tuple(warnings),
        assumptions=(*engine["assumptions"], *regimen.caveats),
        amounts=_ro(_amounts(float(loaded_dose), engine, counts)),
        actuations=actuations if inhaler else None,
    )


@dataclass(frozen=True, slots=True)
class RecordedEstimate:
    """A stored final estimate and whether its record was voided (flagged by the caller)."""

    estimate: DoseEstimate
    voided: bool = False


@dataclass(frozen=True, slots=True)
class CumulativeDose:
    """A patient's estimated vesicle dose summed over sessions.

    Attributes
    ----------
    lung_particles, alveolar_particles : float
    lung_intact_particles : float or None
        ``None`` when a counted session has no intact-vesicle estimate.
    sessions_counted : int
        Final, non-voided estimates of vesicle-counting regimens (saline counts as zero).
    sessions_voided : int
    sessions_other_units : int
        Final estimates of regimens not dosed in vesicles (drug mass, cells): not added
        to the vesicle sums.
    other_units : mapping of str to mapping of str to float
        Lung and alveolar dose of those sessions summed per unit (``{"µg": {"lung": …,
        "alveolar": …, "sessions": …}}``); mg and µg are kept apart as recorded.
    model_versions : tuple of str
        Every model version the sum draws on (more than one means mixed versions).
    statement : str
    """

    lung_particles: float
    alveolar_particles: float
    lung_intact_particles: float | None
    sessions_counted: int
    sessions_voided: int
    sessions_other_units: int
    model_versions: tuple[str, ...]
    statement: str = MODEL_ESTIMATE_STATEMENT
    other_units: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "lung_particles": self.lung_particles,
            "alveolar_particles": self.alveolar_particles,
            "lung_intact_particles": self.lung_intact_particles,
            "sessions_counted": self.sessions_counted,
            "sessions_voided": self.sessions_voided,
            "sessions_other_units": self.sessions_other_units,
            "model_versions": list(self.model_versions),
            "statement": self.statement,
            "other_units": {u: dict(v) for u, v in self.other_units.items()},
        }


def cumulative_dose(estimates: Iterable[RecordedEstimate]) -> CumulativeDose:
    """Sum the estimated lung and alveolar vesicles over a patient's sessions.

    Voided records are skipped (and counted as such); regimens not dosed in
    vesicles are reported but not added, since a milligram or a cell is not a
    vesicle.

    Raises
    ------
    InvalidInput
        A preview is in the list: only final estimates are delivered doses.
    """
    lung = alveolar = intact = 0.0
    intact_known = True
    counted = voided = other = 0
    versions: list[str] = []
    others: dict[str, dict[str, float]] = {}
    for item in estimates:
        est = item.estimate
        if item.voided:
            voided += 1
            continue
        if est.stage is not EstimateStage.FINAL:
            raise InvalidInput(
                "A preview estimate is not a delivered dose; add only final estimates to the "
                "cumulative dose."
            )
        if est.particles is None or est.dose_unit is not DoseUnit.PARTICLES:
            other += 1
            if est.amounts is not None:
                sums = others.setdefault(
                    est.dose_unit.value, {"lung": 0.0, "alveolar": 0.0, "sessions": 0.0}
                )
                sums["lung"] += est.lung_amount or 0.0
                sums["alveolar"] += est.alveolar_amount or 0.0
                sums["sessions"] += 1
            continue
        lung += est.lung_particles or 0.0
        alveolar += est.alveolar_particles or 0.0
        if est.loaded_dose > 0:
            if est.lung_intact_particles is None:
                intact_known = False
            else:
                intact += est.lung_intact_particles
        counted += 1
        if est.model_version not in versions:
            versions.append(est.model_version)
    return CumulativeDose(
        lung_particles=lung,
        alveolar_particles=alveolar,
        lung_intact_particles=intact if intact_known else None,
        sessions_counted=counted,
        sessions_voided=voided,
        sessions_other_units=other,
        model_versions=tuple(versions),
        other_units=MappingProxyType({u: MappingProxyType(v) for u, v in others.items()}),
    )
