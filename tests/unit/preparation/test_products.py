"""Comparator products (pure): drug volume, inhaler actuations, cell volume, label release.

Worked by hand before the code ran:

1. Salbutamol nebuliser solution 1 mg/mL (2.5 mg in 2.5 mL), dose 2.5 mg, fill 3.0 mL:
   drug 2.5 ÷ 1 = 2.50 mL, saline 3.00 − 2.50 = 0.50 mL.
2. Budesonide 0.5 mg/2 mL = 250 µg/mL, dose 0.5 mg: 0.5 mg = 500 µg ÷ 250 µg/mL = 2.00 mL,
   saline 1.00 mL in a 3.0 mL fill.
3. Beclomethasone HFA pMDI 100 µg per actuation: 200 µg → 2 actuations; 0.2 mg → 2;
   150 µg → 1.5, refused; 300 µg from a 2-actuation device → refused.
4. Cells 1.0×10^7 at 5.0×10^6 cells/mL: 2.00 mL, saline 1.00 mL in 3.0 mL.
"""

from __future__ import annotations

import pytest

from exoneb.preparation.errors import (
    ActuationsNotWhole,
    DoseNotPreparable,
    FillVolumeOutsideDevice,
    InvalidInput,
    WrongProductForArm,
)
from exoneb.preparation.products import (
    check_arm_unit,
    check_product_for_arm,
    label_release,
    plan_actuations,
    plan_volume_dose,
)
from exoneb.preparation.rules import NebulizerFill

MESH = NebulizerFill("Mesh nebulizer (demo)", min_fill_ml=1.5, max_fill_ml=5.0)


@pytest.mark.parametrize(
    ("dose", "unit", "strength", "strength_unit", "product_ml", "diluent_ml"),
    [
        (2.5, "mg", 1.0, "mg", 2.5, 0.5),  # salbutamol
        (0.5, "mg", 250.0, "ug", 2.0, 1.0),  # budesonide
        (1.0e7, "cells", 5.0e6, "cells", 2.0, 1.0),
    ],
)
def test_volume_of_product_is_dose_over_strength_and_diluent_fills_up(
    dose: float, unit: str, strength: float, strength_unit: str, product_ml: float,
    diluent_ml: float,
) -> None:  # fmt: skip
    plan = plan_volume_dose(dose_amount=dose, dose_unit=unit, strength_per_ml=strength,
                            strength_unit=strength_unit, fill_ml=3.0, device=MESH)  # fmt: skip
    assert (plan.product_ml, plan.diluent_ml, plan.fill_ml) == (product_ml, diluent_ml, 3.0)
    assert plan.loaded_amount == pytest.approx(dose)
    assert plan.dose_unit == unit
    assert plan.actuations is None
    assert any("÷" in step for step in plan.steps)


def test_volume_refusals() -> None:
    with pytest.raises(WrongProductForArm, match="cells"):
        plan_volume_dose(dose_amount=2.5, dose_unit="mg", strength_per_ml=1e6,
                         strength_unit="cells", fill_ml=3.0, device=MESH)  # fmt: skip
    with pytest.raises(DoseNotPreparable, match=r"more than the 3\.00 mL fill"):
        plan_volume_dose(dose_amount=5.0, dose_unit="mg", strength_per_ml=1.0,
                         strength_unit="mg", fill_ml=3.0, device=MESH)  # fmt: skip
    with pytest.raises(FillVolumeOutsideDevice):
        plan_volume_dose(dose_amount=1.0, dose_unit="mg", strength_per_ml=1.0,
                         strength_unit="mg", fill_ml=8.0, device=MESH)  # fmt: skip
    with pytest.raises(InvalidInput):
        plan_volume_dose(dose_amount=0.0, dose_unit="mg", strength_per_ml=1.0,
                         strength_unit="mg", fill_ml=3.0, device=MESH)  # fmt: skip


@pytest.mark.parametrize(("dose", "unit"), [(200.0, "ug"), (0.2, "mg")])
def test_actuations_are_dose_over_emitted_dose(dose: float, unit: str) -> None:
    plan = plan_actuations(dose_amount=dose, dose_unit=unit, emitted_dose_ug=100.0,
                           actuations_available=200)  # fmt: skip
    assert plan.actuations == 2
    assert plan.loaded_amount == pytest.approx(dose)
    assert (plan.product_ml, plan.diluent_ml, plan.fill_ml) == (0.0, 0.0, 0.0)
    assert "Actuations = 200 µg ÷ 100 µg = 2." in plan.steps


def test_a_dose_that_is_not_a_whole_number_of_actuations_is_refused_with_both_numbers() -> None:
    with pytest.raises(ActuationsNotWhole, match=r"150 µg is 1\.5 actuations of 100 µg"):
        plan_actuations(dose_amount=150.0, dose_unit="ug", emitted_dose_ug=100.0,
                        actuations_available=200)  # fmt: skip
    with pytest.raises(ActuationsNotWhole, match="needs 3 actuations but the inhaler holds 2"):
        plan_actuations(dose_amount=300.0, dose_unit="ug", emitted_dose_ug=100.0,
                        actuations_available=2)  # fmt: skip
    with pytest.raises(WrongProductForArm):
        plan_actuations(dose_amount=1e7, dose_unit="cells", emitted_dose_ug=100.0,
                        actuations_available=200)  # fmt: skip


def test_the_lot_must_match_the_arm_and_the_device() -> None:
    check_product_for_arm(arm_unit="ug", lot_kind="drug", dosage_form="inhaler", lot_unit="ug",
                          inhaler=True)  # fmt: skip
    check_product_for_arm(arm_unit="mg", lot_kind="drug", dosage_form="solution", lot_unit="ug",
                          inhaler=False)  # fmt: skip
    check_product_for_arm(arm_unit="cells", lot_kind="cells", dosage_form=None, lot_unit="cells",
                          inhaler=False)  # fmt: skip
    check_product_for_arm(arm_unit="particles", lot_kind="exosome", dosage_form=None,
                          lot_unit=None, inhaler=False)  # fmt: skip
    refused = [
        ("particles", "drug", "solution", "mg", False, "choose an exosome lot"),
        ("mg", "exosome", None, None, False, "choose a medicinal product lot"),
        ("ug", "drug", "solution", "ug", True, "must be an inhaler"),
        ("mg", "drug", "inhaler", "ug", False, "must be a solution for nebulization"),
        ("cells", "drug", "solution", "mg", False, "choose a cell-product lot"),
        ("cells", "cells", None, "cells", True, "not given by inhaler"),
    ]
    for arm_unit, kind, form, unit, inhaler, message in refused:
        with pytest.raises(WrongProductForArm, match=message):
            check_product_for_arm(arm_unit=arm_unit, lot_kind=kind, dosage_form=form,
                                  lot_unit=unit, inhaler=inhaler)  # fmt: skip


def test_arm_unit_must_be_of_the_regimen_kind() -> None:
    check_arm_unit(arm_unit="ug", regimen_unit="mg", regimen_name="Standard care")
    check_arm_unit(arm_unit="mg", regimen_unit="µg", regimen_name="Standard care")
    with pytest.raises(DoseNotPreparable, match="dosed in cells"):
        check_arm_unit(arm_unit="mg", regimen_unit="cells", regimen_name="Stem cells")


def test_label_release_needs_every_confirmation() -> None:
    args = {"lot_number": "BDP-1", "product_name": "Beclomethasone", "expiry_text": "2027-01-01"}
    assert label_release(**args, batch=True, expiry=True, identity=True).releasable
    refused = label_release(**args, batch=True, expiry=False, identity=True)
    assert not refused.releasable
    assert [r.key for r in refused.failed] == ["label:expiry"]
