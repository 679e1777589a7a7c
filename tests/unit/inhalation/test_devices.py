"""The device register checked against the dose engine's catalog, and its warnings."""

from __future__ import annotations

from typing import Any

import pytest

from exoneb.dosimetry import nebulizer_catalog
from exoneb.inhalation.rules import (
    DeviceEntry,
    DeviceKindMismatch,
    DeviceSettings,
    InvalidInput,
    UnknownCatalogDevice,
    UnknownInterface,
    WarningCode,
    catalog_kinds,
    check_device,
)


def entry(**overrides: Any) -> DeviceEntry:
    values: dict[str, Any] = {
        "make": "Aerogen",
        "model": "Solo",
        "kind": "vibrating-mesh",
        "serial_or_lot": "LOT-24-118",
        "interface": "mouthpiece",
        "validated_with_product": True,
    }
    values.update(overrides)
    return DeviceEntry(**values)


@pytest.mark.parametrize(
    ("make", "model", "kind", "catalog_id"),
    [
        ("Aerogen", "Solo", "vibrating-mesh", "aerogen-solo"),
        ("aerogen", "aeroneb pro", "vibrating-mesh", "aerogen-solo"),
        ("Omron", "NE-U22", "vibrating-mesh", "omron-ne-u22"),
        ("Omron", "MicroAir U22", "vibrating-mesh", "omron-ne-u22"),
        ("Omron", "NE-C801", "jet", "omron-ne-c801"),
        ("PARI", "LC Plus", "breath-enhanced-jet", "pari-lc-plus"),
        ("DELBio", "DK010", "vibrating-mesh", "delbio-dk010"),
    ],
)
def test_make_and_model_map_to_the_catalog_device(
    make: str, model: str, kind: str, catalog_id: str
) -> None:
    check = check_device(entry(make=make, model=model, kind=kind), heat_sensitive_product=True)
    assert check.catalog_id == catalog_id
    assert check.match.how == "make and model"
    assert check.settings() == DeviceSettings(catalog_id=catalog_id, interface="mouthpiece")


def test_an_unknown_jet_falls_back_to_the_generic_jet_with_a_warning() -> None:
    check = check_device(entry(make="Acme", model="J-1", kind="jet"), heat_sensitive_product=True)
    assert check.catalog_id == "jet-generic"
    assert WarningCode.GENERIC_VALUES in check.warning_codes


def test_an_unknown_mesh_is_unmapped_and_cannot_give_settings() -> None:
    check = check_device(entry(make="Acme", model="M-1"), heat_sensitive_product=True)
    assert check.catalog_id is None
    assert WarningCode.NOT_IN_CATALOG in check.warning_codes
    with pytest.raises(UnknownCatalogDevice, match="closest catalog device"):
        check.settings()


def test_an_explicit_catalog_id_wins_but_must_exist_and_be_of_the_same_kind() -> None:
    check = check_device(
        entry(make="Acme", model="M-1", catalog_id="innospire-go"), heat_sensitive_product=True
    )
    assert (check.catalog_id, check.match.how) == ("innospire-go", "given")
    with pytest.raises(UnknownCatalogDevice, match="aerogen-solo"):
        check_device(entry(catalog_id="no-such-device"), heat_sensitive_product=True)
    with pytest.raises(DeviceKindMismatch, match="jet-generic"):
        check_device(entry(catalog_id="jet-generic"), heat_sensitive_product=True)


def test_a_register_type_that_contradicts_the_catalog_is_refused() -> None:
    with pytest.raises(DeviceKindMismatch, match="breath-enhanced-jet"):
        check_device(entry(make="PARI", model="LC Plus", kind="jet"), heat_sensitive_product=True)


def test_ultrasonic_with_a_heat_sensitive_product_warns_using_the_catalog_flag() -> None:
    usn = entry(make="Acme", model="Sonic", kind="ultrasonic")
    check = check_device(usn, heat_sensitive_product=True)
    assert nebulizer_catalog()[check.catalog_id or ""].heat_sensitive_warning
    assert WarningCode.HEAT_SENSITIVE in check.warning_codes
    message = next(w.message for w in check.warnings if w.code is WarningCode.HEAT_SENSITIVE)
    assert "heats the liquid" in message
    assert "50% of vesicles stay intact" in message  # the catalog's ultrasonic default
    # Saline is not heat-sensitive; mesh devices do not heat.
    assert (
        WarningCode.HEAT_SENSITIVE
        not in check_device(usn, heat_sensitive_product=False).warning_codes
    )
    assert (
        WarningCode.HEAT_SENSITIVE
        not in check_device(entry(), heat_sensitive_product=True).warning_codes
    )


def test_not_validated_with_this_product_warns() -> None:
    assert check_device(entry(), heat_sensitive_product=True).warnings == ()
    check = check_device(entry(validated_with_product=False), heat_sensitive_product=True)
    assert check.warning_codes == {WarningCode.NOT_VALIDATED}


def test_interface_mismatch_with_the_session_and_with_the_catalog_warn() -> None:
    fitted = check_device(entry(), heat_sensitive_product=True, interface_used="open-aerosol-mask")
    assert fitted.warning_codes == {WarningCode.INTERFACE_MISMATCH}
    masked = check_device(entry(interface="valved-mask"), heat_sensitive_product=True)
    assert masked.warning_codes == {WarningCode.INTERFACE_NOT_CATALOGUED}
    assert "0.98" in masked.warnings[0].message


def test_a_bare_mask_is_refused_because_the_two_masks_differ() -> None:
    with pytest.raises(UnknownInterface, match="valved-mask"):
        entry(interface="mask")
    with pytest.raises(UnknownInterface, match="not known"):
        entry(interface="snorkel")


def test_register_fields_are_checked() -> None:
    with pytest.raises(InvalidInput, match="serial or lot"):
        entry(serial_or_lot=" ")
    with pytest.raises(InvalidInput, match="vibrating-mesh"):
        entry(kind="mesh")
    assert "ultrasonic" in catalog_kinds()


def test_device_settings_apply_overrides_and_refuse_unknown_ids() -> None:
    settings = DeviceSettings(catalog_id="aerogen-solo", mmad_um=4.2, interface="valved-mask")
    assert settings.spec.mmad_um == 4.2
    assert settings.spec.interface == "valved-mask"
    assert settings.engine_arguments() == {
        "nebulizer": "aerogen-solo",
        "interface": "valved-mask",
        "mmad_um": 4.2,
    }
    with pytest.raises(UnknownCatalogDevice):
        DeviceSettings(catalog_id="nope")
    with pytest.raises(InvalidInput, match="finite"):
        DeviceSettings(catalog_id="aerogen-solo", gsd=float("nan"))
