"""Comparator inhalers in the catalog (pMDI, DPI): one actuation inhaled in one breath.

Reference: dosimetry.md §5.1 "Comparator inhalers" (Vanden Burgt 2000; Qvar product
information; University of Huddersfield eprint 7173). Issue #6: "standard inhaled care …
pressurised metered-dose or dry-powder inhaler, with their own aerosol size".
"""

from __future__ import annotations

import pytest

from exoneb.dosimetry import DosimetryInputError, deposit, nebulizer_catalog
from exoneb.dosimetry.model import MASS_BALANCE_KEYS
from exoneb.dosimetry.nebulizers import INHALER_KINDS, validate_spec

#: Inhaler technique: a slow deep breath (1.5 L over 3 s, 30 L/min) and a 10 s breath-hold.
SLOW_DEEP_BREATH = {
    "tidal_volume_ml": 1500.0,
    "breaths_per_min": 4.0,
    "inspiratory_fraction": 0.2,
    "breath_hold_s": 10.0,
    "frc_ml": 3300.0,
}


def test_catalog_has_pmdi_and_dpi_as_single_inhalation_devices() -> None:
    kinds = {spec.kind: spec for spec in nebulizer_catalog().values()}
    for kind in INHALER_KINDS:
        assert kind in kinds
        assert kinds[kind].is_inhaler
        assert kinds[kind].delivery == "single-inhalation"


def test_a_nebulizer_cannot_claim_single_inhalation() -> None:
    mesh = nebulizer_catalog()["aerogen-solo"].with_overrides(delivery="single-inhalation")
    with pytest.raises(DosimetryInputError, match="inhalers"):
        validate_spec(mesh)


@pytest.mark.parametrize("device", ["pmdi-extrafine", "pmdi-suspension", "dpi-turbuhaler"])
def test_inhaler_mass_balance_and_duration(device: str) -> None:
    """Everything emitted is inhaled in the breath; one actuation lasts one breath cycle."""
    result = deposit(nebulizer=device, **SLOW_DEEP_BREATH)
    loaded = result.fractions_of_loaded
    assert sum(float(loaded[k]) for k in MASS_BALANCE_KEYS) == pytest.approx(1.0, abs=1e-9)
    assert float(loaded["lost_during_exhalation"]) == 0.0
    assert float(loaded["residual"]) == 0.0
    assert float(result.duration_min) == pytest.approx(15.0 / 60.0)


@pytest.mark.parametrize("option", ["fill_ml", "residual_ml", "output_rate_ml_min"])
def test_reservoir_options_are_refused_for_an_inhaler(option: str) -> None:
    with pytest.raises(DosimetryInputError, match="not set for an inhaler") as info:
        deposit(nebulizer="pmdi-extrafine", **{option: 1.0})
    assert info.value.field == option


def test_extrafine_pmdi_reaches_the_lungs_as_the_product_information_says() -> None:
    """Qvar product information (dosimetry.md §5.1): > 55 % of the ex-actuator dose to the
    lungs and < 35 % to the oropharynx for the 1.1 µm HFA solution."""
    result = deposit(nebulizer="pmdi-extrafine", **SLOW_DEEP_BREATH)
    assert float(result.fractions_of_loaded["lung"]) > 0.55
    assert float(result.fractions_of_loaded["extrathoracic"]) < 0.35


@pytest.mark.xfail(
    strict=True,
    reason="Known limitation: the momentum of a pMDI spray plume is not modelled, so for a "
    "suspension pMDI the model gives ~25 % oropharyngeal and ~63 % lung deposition where the "
    "product information reports > 90 % and 4–7 % (docs/dosimetry.md)",
)
def test_suspension_pmdi_deposits_mostly_in_the_oropharynx() -> None:
    """Qvar product information: CFC suspension, 4–7 % lungs, > 90 % oropharynx."""
    result = deposit(nebulizer="pmdi-suspension", **SLOW_DEEP_BREATH)
    assert 0.04 <= float(result.fractions_of_loaded["lung"]) <= 0.07
    assert float(result.fractions_of_loaded["extrathoracic"]) > 0.90
