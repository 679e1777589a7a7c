"""The regimens a session can run, as data: one shared workflow, different aerosols.

The seed's comparison (``shared/seed``) sets exosome inhalation beside saline
nebulization, standard inhaled care and stem-cell inhalation. Each becomes a
:class:`Regimen` a protocol arm can name. They share the run state machine and
the dose estimate; they differ in the devices allowed, in what the loaded dose
counts, and in whether an intact-vesicle estimate means anything.

Adding a regimen is adding one :class:`Regimen` value (here or in a protocol
file): device kinds are plain strings checked against the catalog at run time
(:func:`catalog_kinds`). Standard inhaled care allows the catalog's inhalers
(pMDI, DPI) beside nebulizers; an inhaler session is run as counted actuations
(``inhalation/inhaler.py``) instead of a timed nebulization.

What the loaded dose counts comes from the preparation's hand-over
(``VerifiedDose.dose_unit``); :func:`check_regimen_unit` accepts the units of the
regimen's kind — particles for vesicle and vehicle arms, mg or µg for drugs,
cells for cells — and refuses the rest, so a milligram is never read as a vesicle.

The sets of allowed devices below are [design default]s a protocol narrows;
none is an established standard for extracellular vesicles
(``reference/clinical.md`` §0, §2.5, §3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from exoneb.inhalation.devices import catalog_kinds
from exoneb.inhalation.errors import DeviceNotAllowed, DoseNotAllowed, InvalidInput, UnknownRegimen

__all__ = [
    "EXOSOME_INHALATION",
    "INHALER_KINDS",
    "NEBULIZER_KINDS",
    "REGIMENS",
    "SALINE_NEBULIZATION",
    "STANDARD_INHALED_CARE",
    "STEM_CELL_INHALATION",
    "DoseUnit",
    "Regimen",
    "RegimenRole",
    "check_regimen_device",
    "check_regimen_dose",
    "check_regimen_unit",
    "dose_unit_of",
    "get_regimen",
    "is_vehicle_only",
]


class DoseUnit(StrEnum):
    """What the number in "loaded dose" counts."""

    PARTICLES = "particles"  # vesicles counted by NTA (reference/clinical.md §1.2)
    MILLIGRAMS = "mg"  # drug mass of a nebulized bronchodilator or steroid
    MICROGRAMS = "µg"  # drug mass, as inhaler doses are labelled
    CELLS = "cells"

    @property
    def is_mass(self) -> bool:
        """Drug mass (mg or µg): the two are interchangeable units of one quantity."""
        return self in (DoseUnit.MILLIGRAMS, DoseUnit.MICROGRAMS)


#: The hand-over's unit codes (``preparation.handoff.DOSE_UNITS``, ASCII) → :class:`DoseUnit`.
_HANDOFF_UNITS: Mapping[str, DoseUnit] = MappingProxyType(
    {
        "particles": DoseUnit.PARTICLES,
        "ug": DoseUnit.MICROGRAMS,
        "µg": DoseUnit.MICROGRAMS,
        "mg": DoseUnit.MILLIGRAMS,
        "cells": DoseUnit.CELLS,
    }
)


def dose_unit_of(code: str) -> DoseUnit:
    """The :class:`DoseUnit` of a hand-over unit code (``"ug"`` → µg); unknown codes refused."""
    try:
        return _HANDOFF_UNITS[code]
    except KeyError:
        raise DoseNotAllowed(
            f"The dose unit {code!r} is not known. Known: {', '.join(sorted(_HANDOFF_UNITS))}."
        ) from None


class RegimenRole(StrEnum):
    """Why the regimen is given: the role of the arm in a protocol."""

    INVESTIGATIONAL = "investigational"
    CONTROL = "control or placebo"
    STANDARD_CARE = "standard care"
    RESEARCH = "research protocol"


#: The nebulizer types of the current catalog, as the regimens below allow them.
NEBULIZER_KINDS: frozenset[str] = frozenset(
    {"vibrating-mesh", "jet", "breath-enhanced-jet", "ultrasonic"}
)

#: The catalog's inhalers (``exoneb.dosimetry.nebulizers.INHALER_KINDS``): one actuation per breath.
INHALER_KINDS: frozenset[str] = frozenset({"pmdi", "dpi"})


@dataclass(frozen=True, slots=True)
class Regimen:
    """One regimen a protocol arm can give through the shared session workflow.

    Attributes
    ----------
    id : str
        Stable identifier stored with the session (``"exosome-inhalation"``).
    name : str
        As shown to staff.
    delivers : str
        What is inhaled, in plain words (the seed's "What is delivered").
    role : RegimenRole
    allowed_device_kinds : frozenset of str
        Device types (catalog ``kind`` values) this regimen may be given with.
    dose_unit : DoseUnit
        What the loaded dose counts.
    carries_vesicles : bool
        Whether the loaded liquid contains vesicles at all. ``False`` for the
        saline arm: its loaded dose must be zero particles.
    intact_vesicle_estimate : bool
        Whether "intact vesicles reaching the lung" is a meaningful estimate
        (only for vesicle products).
    heat_sensitive : bool
        Whether the product is damaged by heat (drives the ultrasonic warning).
    caveats : tuple of str
        Statements added to every dose estimate for this regimen.
    source : str
        Where the regimen comes from, with its confidence tag.
    """

    id: str
    name: str
    delivers: str
    role: RegimenRole
    allowed_device_kinds: frozenset[str]
    dose_unit: DoseUnit
    carries_vesicles: bool
    intact_vesicle_estimate: bool
    heat_sensitive: bool
    caveats: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        if not self.id.strip() or not self.name.strip():
            raise InvalidInput("A regimen needs an identifier and a name.")
        if not self.allowed_device_kinds:
            raise InvalidInput(f"Regimen {self.id}: at least one device type must be allowed.")
        if self.intact_vesicle_estimate and not self.carries_vesicles:
            raise InvalidInput(
                f"Regimen {self.id}: an intact-vesicle estimate needs a product with vesicles."
            )
        if self.carries_vesicles and self.dose_unit is not DoseUnit.PARTICLES:
            raise InvalidInput(f"Regimen {self.id}: a vesicle product is dosed in particles.")


EXOSOME_INHALATION = Regimen(
    id="exosome-inhalation",
    name="Exosome inhalation",
    delivers="Cell-derived extracellular vesicles (MSC-EVs) in saline",
    role=RegimenRole.INVESTIGATIONAL,
    allowed_device_kinds=NEBULIZER_KINDS,
    dose_unit=DoseUnit.PARTICLES,
    carries_vesicles=True,
    intact_vesicle_estimate=True,
    heat_sensitive=True,
    source="[source] reference/clinical.md §1.1–§1.2 (particle dosing, mesh or jet devices); "
    "ultrasonic allowed with a warning, §2.5 [design default]",
)

SALINE_NEBULIZATION = Regimen(
    id="saline-nebulization",
    name="Saline nebulization (control or placebo)",
    delivers="Sterile normal saline, the same vehicle as the active arm, without vesicles",
    role=RegimenRole.CONTROL,
    allowed_device_kinds=NEBULIZER_KINDS,
    dose_unit=DoseUnit.PARTICLES,
    carries_vesicles=False,
    intact_vesicle_estimate=False,
    heat_sensitive=False,
    caveats=(
        "Saline arm: no vesicles are loaded, so every vesicle count is zero; the fractions "
        "describe where the nebulized saline goes.",
    ),
    source="[source] reference/clinical.md §1.1 and §3.1: placebo arms used the same vehicle "
    "without particles (NCT04491240, NCT04969172)",
)

STANDARD_INHALED_CARE = Regimen(
    id="standard-inhaled-care",
    name="Standard inhaled care in clinic",
    delivers="A bronchodilator or an inhaled steroid by nebulizer, pressurised metered-dose "
    "inhaler or dry-powder inhaler, as prescribed",
    role=RegimenRole.STANDARD_CARE,
    allowed_device_kinds=NEBULIZER_KINDS | INHALER_KINDS,
    dose_unit=DoseUnit.MILLIGRAMS,
    carries_vesicles=False,
    intact_vesicle_estimate=False,
    heat_sensitive=False,
    caveats=(
        "Drug dose follows droplet volume like the vesicle dose: the fractions of the loaded "
        "dose apply to the drug mass; the catalog droplet sizes were mostly measured with "
        "salbutamol.",
        "By inhaler, the loaded dose is the labelled emitted (ex-actuator) dose per actuation "
        "times the actuations given; the model does not include the momentum of a pMDI spray "
        "plume, so for a suspension pMDI it over-predicts the lung dose (docs/dosimetry.md), "
        "and it does not model a spacer.",
    ),
    source="[source] seed comparison (standard inhalers: bronchodilators or steroids); "
    "inhaler aerosols from the dose engine's catalog (reference/dosimetry.md §5.1, "
    "Vanden Burgt 2000, Qvar product information, Huddersfield eprint 7173)",
)

STEM_CELL_INHALATION = Regimen(
    id="stem-cell-inhalation",
    name="Stem-cell inhalation (research protocols)",
    delivers="Live or processed cells in suspension",
    role=RegimenRole.RESEARCH,
    allowed_device_kinds=NEBULIZER_KINDS - {"ultrasonic"},
    dose_unit=DoseUnit.CELLS,
    carries_vesicles=False,
    intact_vesicle_estimate=False,
    heat_sensitive=True,
    caveats=(
        "Cells are much larger than vesicles and than many droplets; the model's assumption "
        "that the dose follows droplet volume is not established for cells, so the cells per "
        "region (fraction of the loaded dose × cells loaded) say where the droplets that carry "
        "them go, not where cells land [design default].",
    ),
    source="[source] seed comparison (stem cell inhalation, research); devices [design "
    "default] — the research protocol must name its device",
)

#: Every built-in regimen by id (read-only).
REGIMENS: Mapping[str, Regimen] = MappingProxyType(
    {
        r.id: r
        for r in (
            EXOSOME_INHALATION,
            SALINE_NEBULIZATION,
            STANDARD_INHALED_CARE,
            STEM_CELL_INHALATION,
        )
    }
)


def is_vehicle_only(regimen: Regimen) -> bool:
    """A control arm that loads the vehicle alone: counted in particles, carrying none."""
    return regimen.dose_unit is DoseUnit.PARTICLES and not regimen.carries_vesicles


def get_regimen(regimen_id: str, regimens: Mapping[str, Regimen] = REGIMENS) -> Regimen:
    """Look up a regimen by id; an unknown id lists the known ones."""
    try:
        return regimens[regimen_id]
    except KeyError:
        raise UnknownRegimen(
            f"There is no regimen {regimen_id!r}. Known regimens: " + ", ".join(sorted(regimens))
        ) from None


def check_regimen_device(regimen: Regimen, device_kind: str) -> None:
    """Refuse a device type the regimen does not allow (or the catalog does not know).

    Raises
    ------
    DeviceNotAllowed
    """
    if device_kind not in catalog_kinds():
        raise DeviceNotAllowed(
            f"The device type {device_kind!r} is not in the dose engine's catalog, so it "
            f"cannot be used for {regimen.name}."
        )
    if device_kind not in regimen.allowed_device_kinds:
        raise DeviceNotAllowed(
            f"{regimen.name} is not given with a {device_kind} device. Allowed: "
            + ", ".join(sorted(regimen.allowed_device_kinds))
            + "."
        )


def check_regimen_unit(regimen: Regimen, unit: DoseUnit) -> DoseUnit:
    """Refuse a dose unit of another kind than the regimen's, and return it.

    Particles for vesicle and vehicle arms, mg or µg for drug regimens (either:
    nebulized doses are labelled in mg, inhaler doses in µg), cells for cells.

    Raises
    ------
    DoseNotAllowed
    """
    want = regimen.dose_unit
    if unit is want or (unit.is_mass and want.is_mass):
        return unit
    raise DoseNotAllowed(
        f"{regimen.name} is dosed in {want.value}, but the verified preparation hands over a "
        f"dose in {unit.value}. Check the arm and the preparation."
    )


def check_regimen_dose(regimen: Regimen, loaded_dose: float) -> float:
    """Check a loaded dose against the regimen and return it.

    The saline arm must load exactly zero particles; every other regimen a
    positive, finite amount of its :attr:`Regimen.dose_unit`.

    Raises
    ------
    DoseNotAllowed
    """
    if not math.isfinite(loaded_dose) or loaded_dose < 0:
        raise DoseNotAllowed(
            f"The loaded dose must be a number of {regimen.dose_unit.value} of zero or more "
            f"(got {loaded_dose})."
        )
    if regimen.dose_unit is DoseUnit.PARTICLES and not regimen.carries_vesicles:
        if loaded_dose != 0:
            raise DoseNotAllowed(
                f"{regimen.name} carries no vesicles: the loaded dose must be 0 particles "
                f"(got {loaded_dose:g}). Check the arm and the preparation."
            )
        return 0.0
    if loaded_dose == 0:
        raise DoseNotAllowed(
            f"{regimen.name}: the loaded dose must be more than 0 {regimen.dose_unit.value}."
        )
    return float(loaded_dose)
