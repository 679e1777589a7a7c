"""The Pydantic schema every ``protocols/<id>.yaml`` file must satisfy.

The backbone's part is required: identity, regulatory basis, arms (the dose
levels) and sources. The per-step sections — ``eligibility``, ``escalation``,
``release_criteria``, ``preparation``, ``inhalation``, ``monitoring``,
``discharge`` — are optional: a section left out means "the step's defaults"
(the parameters dataclasses of the step packages, which cite
``reference/clinical.md``), so a protocol states only what it changes and no
threshold is written in two places. Unknown sections and keys are refused so
that a typo cannot silently disable a rule.

Each step reads its parameters through one method of :class:`ProtocolFile`
(``eligibility_rules()``, ``release_criteria()``, ``hold_policy()``,
``dose_arguments()``, ``regimens()``, ``schedule_parameters()``,
``alert_parameters()``, ``stopping_parameters()``, ``discharge_parameters()``,
``escalation_levels()``), so the step code never parses YAML and a decision
can record the protocol id and version it was taken under.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from exoneb.assessment.eligibility import (
    EligibilityRuleSet,
    load_default_eligibility_rules,
    load_eligibility_rules,
)
from exoneb.inhalation.regimens import REGIMENS, Regimen, is_vehicle_only
from exoneb.monitoring.alerts import AlertParameters
from exoneb.monitoring.discharge import DischargeParameters
from exoneb.monitoring.schedule import ScheduleParameters
from exoneb.monitoring.stopping import StoppingParameters
from exoneb.preparation.lifecycle import HoldPolicy
from exoneb.preparation.release import ReleaseCriteria
from exoneb.protocols.sections import (
    DischargeSection,
    DoseArguments,
    EscalationSection,
    InhalationSection,
    MonitoringSection,
    PreparationSection,
    ReleaseSection,
)


class Source(BaseModel):
    """A citation a protocol value relies on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    citation: str = Field(min_length=1)


class Arm(BaseModel):
    """A dose level or study arm a patient can be enrolled in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    label: str = Field(min_length=1)
    dose_particles: float | None = Field(
        default=None, gt=0, description="Particles per session, measured by NTA."
    )
    fill_volume_ml: float | None = Field(default=None, gt=0, le=10)
    dose_amount: float | None = Field(
        default=None,
        gt=0,
        description="A comparator arm's dose in `dose_unit` (drug mass or cells), per session.",
    )
    dose_unit: Literal["mg", "ug", "cells"] | None = Field(
        default=None, description="What `dose_amount` counts (ASCII `ug` for micrograms)."
    )
    regimen: str | None = Field(
        default=None,
        description="Inhalation regimen id of this arm (default: the first regimen allowed).",
    )
    source: str = Field(description="Id of the entry in `sources` that this value cites.")


class ProtocolFile(BaseModel):
    """One versioned protocol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1)
    phase: str = Field(min_length=1)
    investigational: bool = True
    requires_authorisation: bool = Field(
        default=True,
        description="Sessions need an active IND/CTA + ethics authorisation on the enrolment.",
    )
    arms: tuple[Arm, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = Field(min_length=1)
    eligibility: EligibilityRuleSet | None = Field(
        default=None, description="Inclusion, exclusion and go/no-go rules (assessment)."
    )
    escalation: EscalationSection | None = None
    release_criteria_section: ReleaseSection | None = Field(
        default=None,
        alias="release_criteria",
        description="Lot release criteria (the key in the file is `release_criteria`).",
    )
    preparation: PreparationSection | None = None
    inhalation: InhalationSection | None = None
    monitoring: MonitoringSection | None = None
    discharge: DischargeSection | None = None

    @field_validator("eligibility", mode="before")
    @classmethod
    def _eligibility_rules(cls, value: Any) -> Any:
        """Load the rules through the assessment loader, so the fact catalog is checked.

        Its errors name each rule id and field; Pydantic adds the ``eligibility``
        location in front.
        """
        if value is None or isinstance(value, EligibilityRuleSet):
            return value
        return load_eligibility_rules(value)

    @model_validator(mode="after")
    def _check_references(self) -> ProtocolFile:
        """Arm codes are unique and every cited source exists."""
        codes = [arm.code for arm in self.arms]
        if len(codes) != len(set(codes)):
            raise ValueError("arm codes must be unique")
        known = {s.id for s in self.sources}
        for arm in self.arms:
            if arm.source not in known:
                raise ValueError(f"arm {arm.code} cites unknown source {arm.source!r}")
            if (arm.dose_amount is None) != (arm.dose_unit is None):
                raise ValueError(f"arm {arm.code}: give dose_amount and dose_unit together")
            if arm.dose_amount is not None and arm.dose_particles is not None:
                raise ValueError(f"arm {arm.code}: a dose in particles or in dose_unit, not both")
            if arm.regimen is not None and arm.regimen not in self.regimens():
                raise ValueError(
                    f"arm {arm.code}: regimen {arm.regimen!r} is not allowed by this protocol "
                    f"({', '.join(sorted(self.regimens()))})"
                )
            self._check_arm_dose(arm)
        if self.escalation is not None:
            levels = self.escalation.levels
            unknown = [code for code in levels if code not in codes]
            if unknown or len(levels) != len(set(levels)):
                raise ValueError(
                    f"escalation.levels must list distinct arm codes ({', '.join(codes)}); "
                    f"got {list(levels)}"
                )
        return self

    def _check_arm_dose(self, arm: Arm) -> None:
        """The arm's dose fits its regimen: none for a vehicle-only arm, else of its kind.

        A saline (vehicle-only) arm gives a fill volume and no dose, so no
        preparation can load a vesicle count or a drug mass into a placebo; a
        dosed arm's unit must be of its regimen's kind (mg ≡ µg), so a protocol
        with a milligram dose on a vesicle regimen does not load at all.
        """
        regimen = self.arm_regimen(arm.code)
        if regimen is None:
            return
        if is_vehicle_only(regimen):
            if arm.dose_particles is not None or arm.dose_amount is not None:
                raise ValueError(
                    f"arm {arm.code}: regimen {regimen.id} is vehicle only; give no dose, "
                    "only fill_volume_ml"
                )
            if arm.fill_volume_ml is None:
                raise ValueError(f"arm {arm.code}: a vehicle-only arm needs fill_volume_ml")
            return
        dose = self.arm_dose(arm.code)
        if dose is not None:
            mass = {"mg", "ug", "µg"}
            unit, want = dose[1], regimen.dose_unit.value
            if not (unit == want or (unit in mass and want in mass)):
                raise ValueError(
                    f"arm {arm.code}: a dose in {unit} does not fit regimen {regimen.id} "
                    f"(dosed in {want})"
                )

    def arm(self, code: str) -> Arm | None:
        """The arm with this code, if the protocol has one."""
        return next((a for a in self.arms if a.code == code), None)

    def arm_dose(self, code: str) -> tuple[float, str] | None:
        """Preparation: the arm's dose and what it counts (``"particles"``, ``"mg"``, ``"ug"``,
        ``"cells"``), or ``None`` when the arm gives no dose."""
        arm = self.arm(code)
        if arm is None:
            return None
        if arm.dose_particles is not None:
            return arm.dose_particles, "particles"
        if arm.dose_amount is not None and arm.dose_unit is not None:
            return arm.dose_amount, arm.dose_unit
        return None

    # --- one mapping per step: the section, or the step's own defaults --------------------

    def eligibility_rules(self) -> EligibilityRuleSet:
        """Assessment: the protocol's rule set, or the default rule set of ``assessment``."""
        if self.eligibility is None:
            return load_default_eligibility_rules()
        return self.eligibility

    def escalation_levels(self) -> Mapping[str, int]:
        """Escalation: arm code → 3+3 level number; empty when the protocol does not escalate."""
        return {} if self.escalation is None else self.escalation.level_numbers()

    def release_criteria(self) -> ReleaseCriteria:
        """Preparation: lot release criteria."""
        if self.release_criteria_section is None:
            return ReleaseCriteria()
        return self.release_criteria_section.parameters()

    def hold_policy(self) -> HoldPolicy:
        """Preparation: how long a thawed vial may wait."""
        return HoldPolicy() if self.preparation is None else self.preparation.hold_policy()

    def blinded_product_name(self) -> str | None:
        """Preparation: the product name every arm's label shows in a blinded trial, or ``None``."""
        return None if self.preparation is None else self.preparation.blinded_name()

    def dose_arguments(self) -> DoseArguments:
        """Preparation: the ``plan_dose`` keyword arguments the protocol sets (may be empty)."""
        return DoseArguments() if self.preparation is None else self.preparation.dose_arguments()

    def regimens(self) -> Mapping[str, Regimen]:
        """Inhalation: the regimens allowed, by id (all built-in regimens when not narrowed)."""
        return REGIMENS if self.inhalation is None else self.inhalation.regimen_map()

    def arm_regimen(self, code: str) -> Regimen | None:
        """Inhalation: the regimen an arm is given with (its own, else the first allowed).

        ``None`` when the arm does not exist. Every arm shares the session workflow;
        the regimen decides the devices allowed and what the loaded dose counts.
        """
        arm = self.arm(code)
        if arm is None:
            return None
        regimens = self.regimens()
        if arm.regimen is not None:
            return regimens[arm.regimen]
        return next(iter(regimens.values()))

    def arm_is_vehicle_only(self, code: str) -> bool:
        """Whether the arm loads the vehicle alone (a saline placebo: no dose, only a fill)."""
        regimen = self.arm_regimen(code)
        return regimen is not None and is_vehicle_only(regimen)

    def schedule_parameters(self) -> ScheduleParameters:
        """Monitoring: the observation schedule."""
        if self.monitoring is None:
            return ScheduleParameters()
        return self.monitoring.schedule.parameters()

    def alert_parameters(self) -> AlertParameters:
        """Monitoring: alert thresholds."""
        if self.monitoring is None:
            return AlertParameters()
        return self.monitoring.alerts.parameters()

    def stopping_parameters(self) -> StoppingParameters:
        """Monitoring: stopping rules."""
        if self.monitoring is None:
            return StoppingParameters()
        return self.monitoring.stopping.parameters()

    def discharge_parameters(self) -> DischargeParameters:
        """Discharge: discharge criteria."""
        if self.discharge is None:
            return DischargeParameters()
        return self.discharge.parameters()
