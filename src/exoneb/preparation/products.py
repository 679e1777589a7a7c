"""Doses of the comparator arms' products (pure): a drug solution, an inhaler, a cell product.

Issue #6 runs every regimen as a protocol arm through the same session
workflow, so step 2 must prepare more than exosome lots. What a session's arm
needs follows from its dose unit (``Arm.dose_unit``, checked against the arm's
regimen, ``inhalation/regimens.py``):

- ``particles`` — an exosome lot (:mod:`~exoneb.preparation.dose`);
- ``mg`` / ``ug`` by nebulizer — a drug lot in solution, strength in mg/mL or
  µg/mL: volume of drug = dose ÷ strength, diluent (saline) to the fill;
- ``ug`` (or ``mg``) by pMDI/DPI — a drug lot that is an inhaler, emitted
  (ex-actuator) dose per actuation in µg: actuations = dose ÷ emitted dose,
  which must be a whole number — a device cannot give a part of a puff, so a
  dose that is not a multiple is refused with both numbers, never rounded;
- ``cells`` — a cell-product lot in cells/mL, made up like particles;
- no dose at all — a vehicle-only (saline placebo) arm: the fill volume of
  normal saline, nothing else (:func:`plan_vehicle`).

Volumes follow the rounding policy of :mod:`~exoneb.preparation.dose` (0.01 mL
grid, refused when rounding moves the dose more than the limit). Nothing here
reads the clock or the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from exoneb.preparation.dose import NebulizerFill, _positive, _to_grid
from exoneb.preparation.errors import (
    ActuationsNotWhole,
    DoseNotPreparable,
    FillVolumeOutsideDevice,
    InvalidInput,
    RoundingTooCoarse,
    StockExceedsFill,
    WrongProductForArm,
)
from exoneb.preparation.release import CriterionResult, Outcome, ReleaseEvaluation

__all__ = [
    "CELLS",
    "DRUG",
    "INHALER",
    "LABEL_RELEASE_SOURCE",
    "SOLUTION",
    "ProductDosePlan",
    "check_arm_unit",
    "check_product_for_arm",
    "convert_amount",
    "label_release",
    "plan_actuations",
    "plan_vehicle",
    "plan_volume_dose",
    "unit_text",
]

#: Lot kinds beside ``exosome`` and ``saline``.
DRUG, CELLS = "drug", "cells"
#: Dosage forms of a drug lot.
SOLUTION, INHALER = "solution", "inhaler"

_UG_PER: dict[str, float] = {"ug": 1.0, "mg": 1000.0}


def unit_text(unit: str) -> str:
    """The unit as shown to staff (``"ug"`` → ``"µg"``)."""
    return "µg" if unit == "ug" else unit


def convert_amount(amount: float, from_unit: str, to_unit: str) -> float:
    """``amount`` in ``from_unit`` expressed in ``to_unit`` (mg ↔ µg; others only to themselves)."""
    if from_unit == to_unit:
        return amount
    if from_unit in _UG_PER and to_unit in _UG_PER:
        return amount * _UG_PER[from_unit] / _UG_PER[to_unit]
    raise WrongProductForArm(
        f"A dose in {unit_text(from_unit)} cannot be made from a product in {unit_text(to_unit)}."
    )


def check_product_for_arm(
    *, arm_unit: str, lot_kind: str, dosage_form: str | None, lot_unit: str | None, inhaler: bool
) -> None:
    """Refuse a lot that cannot give the arm's dose.

    Parameters
    ----------
    arm_unit : str
        What the arm's dose counts (``"particles"``, ``"mg"``, ``"ug"``, ``"cells"``).
    lot_kind, dosage_form, lot_unit : str
        The lot's kind (``exosome``/``drug``/``cells``), form (``solution``/``inhaler``
        for a drug) and the unit of its strength.
    inhaler : bool
        Whether the chosen device is a pMDI/DPI (else a nebulizer).

    Raises
    ------
    WrongProductForArm
    """
    unit = unit_text(arm_unit)
    if arm_unit == "particles":
        if lot_kind != "exosome":
            raise WrongProductForArm(
                f"This arm is dosed in particles: choose an exosome lot, not a {lot_kind} lot."
            )
        return
    if arm_unit in _UG_PER:
        if lot_kind != DRUG or lot_unit not in _UG_PER:
            raise WrongProductForArm(
                f"This arm is dosed in {unit} of drug: choose a medicinal product lot, "
                f"not a {lot_kind} lot."
            )
        wanted = INHALER if inhaler else SOLUTION
        if dosage_form != wanted:
            raise WrongProductForArm(
                f"The device is {'an inhaler' if inhaler else 'a nebulizer'}, so the drug lot "
                f"must be {'an inhaler' if inhaler else 'a solution for nebulization'} "
                f"(this lot is a {dosage_form})."
            )
        return
    if arm_unit == CELLS:
        if lot_kind != CELLS or lot_unit != CELLS:
            raise WrongProductForArm(
                f"This arm is dosed in cells: choose a cell-product lot, not a {lot_kind} lot."
            )
        if inhaler:
            raise WrongProductForArm("A cell product is nebulized, not given by inhaler.")
        return
    raise WrongProductForArm(f"The arm's dose unit {arm_unit!r} is not known.")


@dataclass(frozen=True, slots=True)
class ProductDosePlan:
    """A drug, inhaler or cell dose, worked out with every number the label and checker need.

    Attributes
    ----------
    dose_amount, dose_unit
        The prescribed dose from the arm (``dose_unit``: ``mg``/``ug``/``cells``).
    loaded_amount : float
        What is actually loaded (or given by the actuations), in ``dose_unit``.
    product_ml, diluent_ml, fill_ml : float
        Volumes drawn and loaded (all 0 for an inhaler).
    actuations : int or None
        Actuations to give (inhaler only).
    deviation_fraction : float
        ``(loaded − dose) / dose``, signed (0 for an inhaler).
    steps : tuple of str
        The arithmetic as sentences with units.
    """

    dose_amount: float
    dose_unit: str
    loaded_amount: float
    product_ml: float
    diluent_ml: float
    fill_ml: float
    actuations: int | None
    deviation_fraction: float
    steps: tuple[str, ...]


def _checked_fill(fill_ml: float, device: NebulizerFill, volume_step_ml: float) -> Decimal:
    """The fill on the measuring grid, refused when off the grid or outside the device."""
    _positive("fill volume", fill_ml, "mL")
    _positive("volume step", volume_step_ml, "mL")
    fill = _to_grid(fill_ml, Decimal(repr(volume_step_ml)))
    if not math.isclose(float(fill), fill_ml, rel_tol=0, abs_tol=1e-9):
        raise InvalidInput(f"Give the fill volume to {volume_step_ml:g} mL (got {fill_ml} mL).")
    if not device.min_fill_ml <= fill_ml <= device.max_fill_ml:
        raise FillVolumeOutsideDevice(
            f"A fill of {fill_ml:g} mL is outside what the {device.name} takes "
            f"({device.min_fill_ml:g}–{device.max_fill_ml:g} mL)."
        )
    return fill


def plan_volume_dose(
    *,
    dose_amount: float,
    dose_unit: str,
    strength_per_ml: float,
    strength_unit: str,
    fill_ml: float,
    device: NebulizerFill,
    volume_step_ml: float = 0.01,
    max_rounding_deviation: float = 0.05,
) -> ProductDosePlan:
    """Volume of product = dose ÷ strength, diluent to the nebulizer's fill (drug or cells).

    Raises
    ------
    InvalidInput, FillVolumeOutsideDevice, RoundingTooCoarse, StockExceedsFill, WrongProductForArm
    """
    shown = unit_text(dose_unit)
    _positive("prescribed dose", dose_amount, shown)
    _positive("strength of the lot", strength_per_ml, f"{unit_text(strength_unit)}/mL")
    strength = convert_amount(strength_per_ml, strength_unit, dose_unit)
    step = Decimal(repr(volume_step_ml))
    fill = _checked_fill(fill_ml, device, volume_step_ml)
    exact = dose_amount / strength
    volume = _to_grid(exact, step)
    loaded = float(volume) * strength
    deviation = (loaded - dose_amount) / dose_amount
    strength_text = f"{strength:g} {shown}/mL"
    steps = [
        f"Prescribed dose: {dose_amount:g} {shown}.",
        f"Strength of the lot: {strength_per_ml:g} {unit_text(strength_unit)}/mL"
        + ("" if strength_unit == dose_unit else f" = {strength_text}")
        + ".",
        f"Volume of product = {dose_amount:g} {shown} ÷ {strength_text} = {exact:.4f} mL → "
        f"{volume} mL (rounded to {volume_step_ml:g} mL).",
    ]
    if volume <= 0 or abs(deviation) > max_rounding_deviation:
        raise RoundingTooCoarse(
            f"The product volume is {exact:.4f} mL; measured to {volume_step_ml:g} mL it would "
            f"change the dose by {deviation * 100:+.1f} % (limit ±{max_rounding_deviation:.0%})."
        )
    if volume > fill:
        raise StockExceedsFill(
            f"The dose needs {volume} mL of product, more than the {fill} mL fill volume. "
            "Use a stronger lot or a fill volume the protocol allows."
        )
    diluent = fill - volume
    steps.append(f"Diluent (saline) = {fill} mL fill − {volume} mL product = {diluent} mL.")
    steps.append(
        f"Loaded dose = {volume} mL × {strength_text} = {loaded:g} {shown} "
        f"({deviation * 100:+.1f} % from the prescription)."
    )
    return ProductDosePlan(
        dose_amount=dose_amount,
        dose_unit=dose_unit,
        loaded_amount=loaded,
        product_ml=float(volume),
        diluent_ml=float(diluent),
        fill_ml=float(fill),
        actuations=None,
        deviation_fraction=deviation,
        steps=tuple(steps),
    )


def plan_actuations(
    *, dose_amount: float, dose_unit: str, emitted_dose_ug: float, actuations_available: int
) -> ProductDosePlan:
    """Actuations = dose ÷ emitted dose per actuation; a whole number or refused.

    Raises
    ------
    InvalidInput, WrongProductForArm, ActuationsNotWhole
    """
    shown = unit_text(dose_unit)
    _positive("prescribed dose", dose_amount, shown)
    _positive("emitted dose per actuation", emitted_dose_ug, "µg")
    dose_ug = convert_amount(dose_amount, dose_unit, "ug")
    exact = dose_ug / emitted_dose_ug
    count = round(exact)
    if count < 1 or not math.isclose(exact, count, rel_tol=1e-9, abs_tol=1e-9):
        raise ActuationsNotWhole(
            f"The dose of {dose_amount:g} {shown} is {exact:.4g} actuations of {emitted_dose_ug:g} "
            "µg each: not a whole number. The protocol's dose must be a multiple of the "
            "inhaler's emitted dose; choose the inhaler strength the protocol names."
        )
    if count > actuations_available:
        raise ActuationsNotWhole(
            f"The dose needs {count} actuations but the inhaler holds {actuations_available}."
        )
    steps = (
        f"Prescribed dose: {dose_amount:g} {shown}"
        + ("" if dose_unit == "ug" else f" = {dose_ug:g} µg")
        + ".",
        f"Emitted dose per actuation (label, ex-actuator): {emitted_dose_ug:g} µg.",
        f"Actuations = {dose_ug:g} µg ÷ {emitted_dose_ug:g} µg = {count}.",
    )
    return ProductDosePlan(
        dose_amount=dose_amount,
        dose_unit=dose_unit,
        loaded_amount=convert_amount(count * emitted_dose_ug, "ug", dose_unit),
        product_ml=0.0,
        diluent_ml=0.0,
        fill_ml=0.0,
        actuations=count,
        deviation_fraction=0.0,
        steps=steps,
    )


def plan_vehicle(
    *, fill_ml: float, device: NebulizerFill, saline_lot: str, volume_step_ml: float = 0.01
) -> ProductDosePlan:
    """The dose of a vehicle-only (saline placebo) arm: the fill volume of saline, nothing else.

    The loaded dose is zero: no vesicles and no drug (``dose_amount`` 0,
    ``dose_unit`` ``"particles"``). What stays meaningful is the volume — the
    same fill as the active arm, checked against the nebulizer's limits —
    because the lung-dose estimate of a placebo says where the nebulized
    vehicle goes, as fractions of the fill, never as particle counts.

    Raises
    ------
    InvalidInput, FillVolumeOutsideDevice
    """
    fill = _checked_fill(fill_ml, device, volume_step_ml)
    steps = (
        "Placebo arm: the vehicle alone — sterile normal saline, no vesicles and no drug.",
        f"Saline = the arm's fill volume = {fill} mL from saline lot {saline_lot}.",
        "Loaded dose: none (0 particles). The lung-dose estimate gives the fractions of the "
        "nebulized saline by region; no particle count is made up.",
    )
    return ProductDosePlan(
        dose_amount=0.0,
        dose_unit="particles",
        loaded_amount=0.0,
        product_ml=0.0,
        diluent_ml=float(fill),
        fill_ml=float(fill),
        actuations=None,
        deviation_fraction=0.0,
        steps=steps,
    )


#: Where the label release comes from (a licensed drug is released by its maker).
LABEL_RELEASE_SOURCE = (
    "[design default] a licensed medicinal product is released by its manufacturer; before "
    "use the pharmacist confirms batch, expiry and identity against the label (exoneb "
    "design choice; no reference value)"
)


def label_release(
    *,
    lot_number: str,
    product_name: str,
    expiry_text: str,
    batch: bool,
    expiry: bool,
    identity: bool,
) -> ReleaseEvaluation:
    """The release checklist of a drug or cell lot: the pharmacist's three label confirmations.

    Unconfirmed is a failed criterion, never a pass, so the lot stays in quarantine.
    """

    def line(key: str, label: str, ok: bool, shown: str) -> CriterionResult:
        return CriterionResult(
            key=key,
            label=label,
            outcome=Outcome.PASS if ok else Outcome.FAIL,
            measured=("confirmed: " if ok else "not confirmed: ") + shown,
            limit="matches the label",
            source=LABEL_RELEASE_SOURCE,
        )

    return ReleaseEvaluation(
        (
            line("label:batch", "Batch number checked against the label", batch, lot_number),
            line("label:expiry", "Expiry checked against the label", expiry, expiry_text),
            line(
                "label:identity",
                "Product identity checked against the label",
                identity,
                product_name,
            ),
        )
    )


def check_arm_unit(*, arm_unit: str, regimen_unit: str, regimen_name: str) -> None:
    """Refuse an arm whose dose unit is of another kind than its regimen's (mg ≡ µg).

    ``regimen_unit`` is the regimen's :class:`~exoneb.inhalation.regimens.DoseUnit` value
    (``"µg"`` for micrograms).

    Raises
    ------
    DoseNotPreparable
    """
    mass = {"mg", "ug", "µg"}
    same = arm_unit == regimen_unit or (arm_unit in mass and regimen_unit in mass)
    if not same:
        raise DoseNotPreparable(
            f"The arm's dose is in {unit_text(arm_unit)} but its regimen ({regimen_name}) is "
            f"dosed in {regimen_unit}. Correct the protocol file."
        )
