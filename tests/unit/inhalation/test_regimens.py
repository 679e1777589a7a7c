"""The regimens of the seed's comparison as data, and how they constrain devices and doses."""

from __future__ import annotations

import pytest

from exoneb.inhalation.rules import (
    EXOSOME_INHALATION,
    REGIMENS,
    SALINE_NEBULIZATION,
    STANDARD_INHALED_CARE,
    STEM_CELL_INHALATION,
    DeviceNotAllowed,
    DoseNotAllowed,
    DoseUnit,
    InvalidInput,
    Regimen,
    RegimenRole,
    UnknownRegimen,
    breathing_instructions,
    catalog_kinds,
    check_regimen_device,
    check_regimen_dose,
    get_regimen,
)


def test_the_four_regimens_of_the_seed_comparison() -> None:
    assert set(REGIMENS) == {
        "exosome-inhalation",
        "saline-nebulization",
        "standard-inhaled-care",
        "stem-cell-inhalation",
    }
    assert all(r.source for r in REGIMENS.values())
    assert all(r.allowed_device_kinds <= catalog_kinds() for r in REGIMENS.values())


def test_saline_carries_zero_vesicles_and_no_intact_estimate() -> None:
    assert SALINE_NEBULIZATION.role is RegimenRole.CONTROL
    assert not SALINE_NEBULIZATION.carries_vesicles
    assert not SALINE_NEBULIZATION.intact_vesicle_estimate
    assert check_regimen_dose(SALINE_NEBULIZATION, 0.0) == 0.0
    with pytest.raises(DoseNotAllowed, match="carries no vesicles"):
        check_regimen_dose(SALINE_NEBULIZATION, 8e8)


def test_what_the_dose_counts() -> None:
    assert EXOSOME_INHALATION.dose_unit is DoseUnit.PARTICLES
    assert EXOSOME_INHALATION.intact_vesicle_estimate
    assert STANDARD_INHALED_CARE.dose_unit is DoseUnit.MILLIGRAMS
    assert STEM_CELL_INHALATION.dose_unit is DoseUnit.CELLS
    assert not STEM_CELL_INHALATION.intact_vesicle_estimate


@pytest.mark.parametrize("dose", [0.0, -1.0, float("nan")])
def test_an_active_regimen_needs_a_positive_dose(dose: float) -> None:
    with pytest.raises(DoseNotAllowed):
        check_regimen_dose(EXOSOME_INHALATION, dose)


def test_devices_outside_the_regimen_are_refused() -> None:
    check_regimen_device(EXOSOME_INHALATION, "ultrasonic")  # allowed, with a device warning
    with pytest.raises(DeviceNotAllowed, match="Allowed: breath-enhanced-jet, jet"):
        check_regimen_device(STEM_CELL_INHALATION, "ultrasonic")
    with pytest.raises(DeviceNotAllowed, match="not given with a pmdi device"):
        check_regimen_device(EXOSOME_INHALATION, "pmdi")
    with pytest.raises(DeviceNotAllowed, match="not in the dose engine's catalog"):
        check_regimen_device(EXOSOME_INHALATION, "soft-mist")


def test_an_inhaler_arm_is_data_once_the_catalog_knows_the_kind() -> None:
    """A pMDI arm needs no code change: the regimen is data and the catalog has pMDIs."""
    inhaler = Regimen(
        id="salbutamol-pmdi",
        name="Salbutamol by metered-dose inhaler",
        delivers="Salbutamol",
        role=RegimenRole.STANDARD_CARE,
        allowed_device_kinds=frozenset({"pmdi"}),
        dose_unit=DoseUnit.MICROGRAMS,
        carries_vesicles=False,
        intact_vesicle_estimate=False,
        heat_sensitive=False,
    )
    assert check_regimen_dose(inhaler, 200.0) == 200.0
    assert get_regimen("salbutamol-pmdi", {inhaler.id: inhaler}) is inhaler
    check_regimen_device(inhaler, "pmdi")
    with pytest.raises(DeviceNotAllowed, match="catalog"):
        check_regimen_device(inhaler, "soft-mist")


def test_inconsistent_regimens_are_refused() -> None:
    with pytest.raises(InvalidInput, match="intact-vesicle"):
        Regimen(
            "x",
            "X",
            "x",
            RegimenRole.CONTROL,
            frozenset({"jet"}),
            DoseUnit.PARTICLES,
            carries_vesicles=False,
            intact_vesicle_estimate=True,
            heat_sensitive=False,
        )
    with pytest.raises(InvalidInput, match="at least one device"):
        Regimen(
            "x",
            "X",
            "x",
            RegimenRole.CONTROL,
            frozenset(),
            DoseUnit.PARTICLES,
            carries_vesicles=False,
            intact_vesicle_estimate=False,
            heat_sensitive=False,
        )


def test_unknown_regimen_lists_the_known_ones() -> None:
    with pytest.raises(UnknownRegimen, match="saline-nebulization"):
        get_regimen("placebo")


def test_breathing_instructions_follow_the_interface() -> None:
    mouth = breathing_instructions("mouthpiece")
    mask = breathing_instructions("valved-mask")
    assert any("lips" in line for line in mouth)
    assert any("mask" in line.lower() for line in mask)
    assert all("relaxed" in " ".join(i) for i in (mouth, mask))
    assert any("upright" in line for line in mask)
