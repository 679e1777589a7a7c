"""The per-step sections of a protocol file and their mapping onto the step parameters.

Every clinical threshold a site may change is written in the protocol file
(``DESIGN.md``, "Protocols: one file per protocol"), but its *default* lives in
exactly one place: the step package's frozen parameters dataclass (e.g.
:class:`exoneb.monitoring.alerts.AlertParameters`), which cites
``reference/clinical.md``. A section here therefore has no defaults of its own:
each field is optional, and a field left out keeps the step's default. A field
that is given carries its value *and* its source (:class:`Cited`), so a site
that changes a threshold has to say why.

Each section validates at load time by building the step's parameters object,
so the step's own cross-field checks (e.g. "airway thresholds must satisfy
symptomatic ≤ asymptomatic ≤ stop") stop the protocol from loading, with the
section named in the error, instead of failing mid-session.

Field names are the step dataclasses' own names (they carry their units:
``spo2_floor_pct``, ``saba_recovery_min``) except where the step's name has no
unit: ``HoldPolicy.max_hold`` is written ``max_hold_min``, ``plan_dose``'s
``max_rounding_deviation`` is ``max_rounding_deviation_fraction``, and a
release ``Range`` is ``{low_nm, high_nm, source}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, Any, Generic, Literal, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from exoneb.inhalation.devices import catalog_kinds
from exoneb.inhalation.regimens import REGIMENS, Regimen
from exoneb.monitoring.alerts import AlertParameters
from exoneb.monitoring.citations import sources_of
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.escalation import CohortLevel
from exoneb.monitoring.schedule import ScheduleParameters
from exoneb.monitoring.stopping import StoppingParameters
from exoneb.preparation.lifecycle import HoldPolicy
from exoneb.preparation.release import (
    MarkerPanel,
    QualitativeResult,
    Range,
    ReleaseCriteria,
    Requirement,
)

__all__ = [
    "AlertSection",
    "Cited",
    "DischargeSection",
    "DoseArguments",
    "EscalationSection",
    "HoldSection",
    "InhalationSection",
    "MonitoringSection",
    "PreparationSection",
    "RegimenSection",
    "ReleaseSection",
    "ScheduleSection",
    "StoppingSection",
]

T = TypeVar("T")

_Source = Annotated[str, Field(min_length=1, description="Citation of this value.")]
_Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Percent = Annotated[float, Field(gt=0, lt=100, allow_inf_nan=False)]
_SpO2 = Annotated[float, Field(ge=50, le=100, allow_inf_nan=False)]
_Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
_WindowDays = Annotated[int, Field(ge=1, le=365)]
_Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
_PositiveMinutes = Annotated[int, Field(gt=0, le=24 * 60)]
_Grade = Annotated[int, Field(ge=1, le=5)]
_WallTime = Annotated[
    str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Site time, 24-hour HH:MM.")
]


class _Section(BaseModel):
    """Common configuration: frozen, and unknown keys refused (a typo must not drop a rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(_Section, Generic[T]):
    """A protocol value with its citation: ``{value: 90, source: "clinical.md §4.3 …"}``."""

    value: T
    source: _Source


def _overrides(section: BaseModel) -> dict[str, Any]:
    """The values a section sets, by field name (fields left out are not included)."""
    out: dict[str, Any] = {}
    for name in type(section).model_fields:
        given = getattr(section, name)
        if isinstance(given, Cited):
            out[name] = given.value
    return out


def _build(section: BaseModel, cls: type[T]) -> T:
    """The step's parameters object: its defaults, with the section's values on top."""
    return cls(**_overrides(section))


class _ParameterSection(_Section):
    """A section that maps field-for-field onto one step parameters dataclass."""

    @model_validator(mode="after")
    def _step_accepts(self) -> _ParameterSection:
        """Build the step object now, so its own consistency checks run at load."""
        try:
            self.parameters()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"refused by the step's own checks: {exc}") from exc
        return self

    def parameters(self) -> object:
        """The step parameters object (overridden in each subclass with its type)."""
        raise NotImplementedError

    def sources(self) -> dict[str, str]:
        """Field → citation in force: the protocol's where it sets a value, else the step's.

        The step dataclasses keep their citations as field metadata, not per
        instance, so a decision that records its thresholds records these.
        """
        cited = sources_of(self.parameters())
        cited.update({name: given.source for name, given in self if isinstance(given, Cited)})
        return cited


# --- monitoring ---------------------------------------------------------------------------


class ScheduleSection(_ParameterSection):
    """``monitoring.schedule`` → :class:`~exoneb.monitoring.schedule.ScheduleParameters`."""

    intensive_vitals_min: Cited[tuple[_Minutes, ...]] | None = None
    intensive_spirometry_min: Cited[_Minutes] | None = None
    intensive_spirometry_window_end_min: Cited[_Minutes] | None = None
    intensive_minimum_min: Cited[_PositiveMinutes] | None = None
    routine_vitals_min: Cited[tuple[_Minutes, ...]] | None = None
    routine_minimum_min: Cited[_PositiveMinutes] | None = None
    extended_after_event_min: Cited[_PositiveMinutes] | None = None
    extended_interval_min: Cited[_PositiveMinutes] | None = None
    early_tolerance_min: Cited[_Minutes] | None = None
    grace_min: Cited[_Minutes] | None = None
    vitals_measures: Cited[tuple[str, ...]] | None = None

    def parameters(self) -> ScheduleParameters:
        """The observation schedule's parameters."""
        return _build(self, ScheduleParameters)


class AlertSection(_ParameterSection):
    """``monitoring.alerts`` → :class:`~exoneb.monitoring.alerts.AlertParameters`."""

    spo2_fall_points: Cited[_Percent] | None = None
    spo2_floor_pct: Cited[_SpO2] | None = None
    spo2_floor_hypercapnia_pct: Cited[_SpO2] | None = None
    spo2_critical_pct: Cited[_SpO2] | None = None
    spo2_sustain_s: Cited[_NonNegative] | None = None
    heart_rate_max_per_min: Cited[Annotated[float, Field(ge=60, le=250)]] | None = None
    heart_rate_rise_fraction: Cited[Annotated[float, Field(gt=0, le=2)]] | None = None
    heart_rate_sustain_s: Cited[_NonNegative] | None = None
    airway_fall_symptomatic_pct: Cited[_Percent] | None = None
    airway_fall_asymptomatic_pct: Cited[_Percent] | None = None
    airway_fall_stop_pct: Cited[_Percent] | None = None

    def parameters(self) -> AlertParameters:
        """The alert thresholds."""
        return _build(self, AlertParameters)


class StoppingSection(_ParameterSection):
    """``monitoring.stopping`` → :class:`~exoneb.monitoring.stopping.StoppingParameters`."""

    related_grade_min: Cited[_Grade] | None = None
    allergic_grade_min: Cited[_Grade] | None = None
    fev1_stop_fall_pct: Cited[_Percent] | None = None
    fev1_recovered_fall_pct: Cited[_Percent] | None = None
    saba_recovery_min: Cited[_PositiveMinutes] | None = None
    hypoxia_grade_min: Cited[_Grade] | None = None
    fever_c: Cited[Annotated[float, Field(ge=37, le=42)]] | None = None
    fever_sessions: Cited[Annotated[int, Field(ge=1)]] | None = None
    pause_cohort_rules: Cited[frozenset[str]] | None = None

    def parameters(self) -> StoppingParameters:
        """The stopping-rule thresholds."""
        return _build(self, StoppingParameters)


class MonitoringSection(_Section):
    """``monitoring``: observation schedule, alert thresholds and stopping rules."""

    schedule: ScheduleSection = ScheduleSection()
    alerts: AlertSection = AlertSection()
    stopping: StoppingSection = StoppingSection()


class DischargeSection(_ParameterSection):
    """``discharge`` → :class:`~exoneb.monitoring.discharge.DischargeParameters`."""

    spo2_margin_points: Cited[_NonNegative] | None = None
    spo2_floor_pct: Cited[_SpO2] | None = None
    spo2_floor_hypercapnia_pct: Cited[_SpO2] | None = None
    vitals_tolerance_fraction: Cited[_Fraction] | None = None
    airway_min_fraction: Cited[_Fraction] | None = None
    max_symptom_grade: Cited[Annotated[int, Field(ge=0, le=5)]] | None = None
    follow_up_after_days: Cited[Annotated[int, Field(ge=1, le=14)]] | None = None
    follow_up_local_time: Cited[_WallTime] | None = None
    follow_up_early_h: Cited[_NonNegative] | None = None
    follow_up_grace_h: Cited[_NonNegative] | None = None
    follow_up_retry_h: Cited[_Positive] | None = None
    follow_up_max_attempts: Cited[Annotated[int, Field(ge=1, le=20)]] | None = None

    def parameters(self) -> DischargeParameters:
        """The discharge thresholds."""
        return _build(self, DischargeParameters)


# --- release criteria ---------------------------------------------------------------------


class _Negative(_Section):
    """A qualitative test that must be negative; only its citation can change."""

    expected: Literal["negative"] = "negative"
    source: _Source


class _Interval(_Section):
    """A closed interval ``[low_nm, high_nm]`` with its citation."""

    low_nm: _Positive
    high_nm: _Positive
    source: _Source

    @model_validator(mode="after")
    def _ordered(self) -> _Interval:
        """The lower bound comes first."""
        if self.low_nm > self.high_nm:
            raise ValueError(f"low_nm {self.low_nm:g} is above high_nm {self.high_nm:g}")
        return self


class _Markers(_Section):
    """Identity markers that must be detected / not detected."""

    positive: tuple[Annotated[str, Field(min_length=1)], ...] = Field(min_length=1)
    negative: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    source: _Source


class ReleaseSection(_Section):
    """``release_criteria`` → :class:`~exoneb.preparation.release.ReleaseCriteria`.

    Units and strictness of each limit stay those of the step's default (the
    unit is in the field name); the section changes values and citations.
    """

    sterility: _Negative | None = None
    mycoplasma: _Negative | None = None
    endotoxin_max_eu_per_ml: Cited[_Positive] | None = None
    particle_tolerance_fraction: Cited[_Fraction] | None = None
    identity: _Markers | None = None
    purity_min_particles_per_ug: Cited[_Positive] | None = None
    size_window_nm: _Interval | None = None
    size_within_window_min_percent: Cited[_Percent] | None = None
    size_mode_nm: _Interval | None = None

    def parameters(self) -> ReleaseCriteria:
        """The release criteria: the step's defaults with this section's values and sources."""
        base = ReleaseCriteria()
        changes: dict[str, Any] = {}
        for name in ("sterility", "mycoplasma"):
            given = getattr(self, name)
            if given is not None:
                changes[name] = Requirement(QualitativeResult(given.expected), given.source)
        for name in (
            "endotoxin_max_eu_per_ml",
            "particle_tolerance_fraction",
            "purity_min_particles_per_ug",
            "size_within_window_min_percent",
        ):
            limit = getattr(self, name)
            if limit is not None:
                changes[name] = dataclasses.replace(
                    getattr(base, name), value=float(limit.value), source=limit.source
                )
        for name in ("size_window_nm", "size_mode_nm"):
            window = getattr(self, name)
            if window is not None:
                default: Range = getattr(base, name)
                changes[name] = Range(window.low_nm, window.high_nm, default.unit, window.source)
        if self.identity is not None:
            changes["identity"] = MarkerPanel(
                positive=self.identity.positive,
                negative=self.identity.negative,
                source=self.identity.source,
            )
        return dataclasses.replace(base, **changes)


# --- preparation --------------------------------------------------------------------------


class DoseArguments(TypedDict, total=False):
    """The keyword arguments of :func:`exoneb.preparation.dose.plan_dose` a protocol sets.

    Only the keys the protocol gives are present, so ``plan_dose(**args, …)``
    keeps ``plan_dose``'s own defaults for the rest (the defaults are not
    copied here).
    """

    compensate_residual: bool
    volume_step_ml: float
    max_rounding_deviation: float


class HoldSection(_Section):
    """``preparation.hold`` → :class:`~exoneb.preparation.lifecycle.HoldPolicy`."""

    max_hold_min: _PositiveMinutes | None = None
    condition: Annotated[str, Field(min_length=1)] | None = None
    source: _Source

    def parameters(self) -> HoldPolicy:
        """The hold policy: the step's defaults with this section's values and source."""
        changes: dict[str, Any] = {"source": self.source}
        if self.max_hold_min is not None:
            changes["max_hold"] = timedelta(minutes=self.max_hold_min)
        if self.condition is not None:
            changes["condition"] = self.condition
        return dataclasses.replace(HoldPolicy(), **changes)


class PreparationSection(_Section):
    """``preparation``: hold time after thaw, residual compensation, measuring resolution.

    The fill volume is per dose level (``arms[].fill_volume_ml``), not here.
    """

    hold: HoldSection | None = None
    compensate_residual: Cited[bool] | None = None
    volume_step_ml: Cited[Annotated[float, Field(gt=0, le=1)]] | None = None
    max_rounding_deviation_fraction: Cited[Annotated[float, Field(ge=0, lt=1)]] | None = None
    blinded_product_name: Cited[Annotated[str, Field(min_length=1, max_length=120)]] | None = Field(
        default=None,
        description="A blinded trial: the one product name every arm's label shows "
        "(the label then leaves out the lot, the dose and the stock/saline split).",
    )

    def hold_policy(self) -> HoldPolicy:
        """The hold policy (the step's default when ``hold`` is left out)."""
        return HoldPolicy() if self.hold is None else self.hold.parameters()

    def blinded_name(self) -> str | None:
        """The blinded product name, when the protocol is blinded."""
        return None if self.blinded_product_name is None else self.blinded_product_name.value

    def dose_arguments(self) -> DoseArguments:
        """The ``plan_dose`` keyword arguments this section sets."""
        args = DoseArguments()
        if self.compensate_residual is not None:
            args["compensate_residual"] = self.compensate_residual.value
        if self.volume_step_ml is not None:
            args["volume_step_ml"] = self.volume_step_ml.value
        if self.max_rounding_deviation_fraction is not None:
            args["max_rounding_deviation"] = self.max_rounding_deviation_fraction.value
        return args


# --- inhalation ---------------------------------------------------------------------------


class RegimenSection(_Section):
    """One regimen the protocol allows, optionally narrowing its device types."""

    id: str = Field(min_length=1)
    allowed_device_kinds: tuple[str, ...] | None = Field(default=None, min_length=1)
    source: _Source

    @model_validator(mode="after")
    def _known(self) -> RegimenSection:
        """The regimen is built in; device kinds exist and only narrow the built-in set."""
        regimen = REGIMENS.get(self.id)
        if regimen is None:
            raise ValueError(
                f"unknown regimen {self.id!r}; known regimens: {', '.join(sorted(REGIMENS))}"
            )
        if self.allowed_device_kinds is not None:
            unknown = sorted(set(self.allowed_device_kinds) - catalog_kinds())
            if unknown:
                raise ValueError(
                    f"allowed_device_kinds: {unknown} not in the device catalog "
                    f"({', '.join(sorted(catalog_kinds()))})"
                )
            wider = sorted(set(self.allowed_device_kinds) - regimen.allowed_device_kinds)
            if wider:
                raise ValueError(
                    f"allowed_device_kinds: {self.id} is not given with {wider}; a protocol "
                    f"may only narrow {sorted(regimen.allowed_device_kinds)}"
                )
        return self

    def regimen(self) -> Regimen:
        """The built-in regimen with this protocol's device types and citation."""
        base = REGIMENS[self.id]
        kinds = (
            base.allowed_device_kinds
            if self.allowed_device_kinds is None
            else frozenset(self.allowed_device_kinds)
        )
        return dataclasses.replace(base, allowed_device_kinds=kinds, source=self.source)


class InhalationSection(_Section):
    """``inhalation``: the regimens (and device types) this protocol allows."""

    regimens: tuple[RegimenSection, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> InhalationSection:
        """A regimen is listed once."""
        ids = [r.id for r in self.regimens]
        if len(ids) != len(set(ids)):
            raise ValueError("regimens: each regimen id may appear only once")
        return self

    def regimen_map(self) -> Mapping[str, Regimen]:
        """The allowed regimens by id (read-only)."""
        return MappingProxyType({r.id: r.regimen() for r in self.regimens})


# --- escalation ---------------------------------------------------------------------------


class EscalationSection(_Section):
    """``escalation``: the design and the order of the dose levels (arm codes, lowest first)."""

    design: Literal["3+3"]
    levels: tuple[str, ...] = Field(min_length=1)
    source: _Source
    # Required: the reference gives no default, only per-trial windows (clinical.md §1.2:
    # "IPF EV 3+3: … DLT window to day 28"; §4.5: NCT07515066 follows up to day 28). The
    # window decides who counts as evaluable, so a protocol must state its own.
    dlt_window_days: Cited[_WindowDays] = Field(
        description="Days after a subject's first dose during which a toxicity counts as "
        "dose-limiting; a subject is evaluable for the 3+3 table once the window is over "
        "without a confirmed DLT, or at a confirmed DLT.",
    )
    gate_enrolment: Cited[bool] | None = Field(
        default=None,
        description="Enrol only at the levels the signed escalation decisions opened "
        "(default: not gated).",
    )

    def gates_enrolment(self) -> bool:
        """Does enrolment at a dose level wait for the escalation decisions to open it?"""
        return self.gate_enrolment is not None and self.gate_enrolment.value

    def dlt_window(self) -> timedelta:
        """The DLT observation window after a subject's first dose."""
        return timedelta(days=self.dlt_window_days.value)

    def level_numbers(self) -> Mapping[str, int]:
        """Arm code → 3+3 level number (1 = lowest)."""
        return MappingProxyType({code: i for i, code in enumerate(self.levels, start=1)})

    def cohort_levels(self, counts: Mapping[str, tuple[int, int]]) -> tuple[CohortLevel, ...]:
        """The cohort table for :func:`~exoneb.monitoring.escalation.recommend_3plus3`.

        ``counts`` maps arm code → (treated, DLTs); levels not in it have 0 treated.
        """
        unknown = sorted(set(counts) - set(self.levels))
        if unknown:
            raise ValueError(f"not dose levels of this protocol's escalation: {unknown}")
        table = []
        for code, number in self.level_numbers().items():
            treated, dlts = counts.get(code, (0, 0))
            table.append(CohortLevel(level=number, treated=treated, dlts=dlts))
        return tuple(table)
