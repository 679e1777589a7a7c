"""The dose estimate: the same numbers as a direct engine call, as a record to store."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from exoneb.dosimetry import MODEL_VERSION, deposit
from exoneb.dosimetry.testing import assert_deposition_close
from exoneb.inhalation.rules import (
    EXOSOME_INHALATION,
    MODEL_ESTIMATE_STATEMENT,
    SALINE_NEBULIZATION,
    STANDARD_INHALED_CARE,
    STEM_CELL_INHALATION,
    BreathingSource,
    DeviceNotAllowed,
    DeviceSettings,
    DoseEstimate,
    DoseModelRefused,
    DoseNotAllowed,
    EstimateStage,
    InvalidInput,
    PatientFacts,
    ResidualExceedsFill,
    deposition_for,
    estimate_dose,
)

from .factories import MEASURED, MESH, PATIENT, RELAXED

DOSE = 8.0e8


def final(**overrides: Any) -> DoseEstimate:
    args: dict[str, Any] = {
        "stage": EstimateStage.FINAL,
        "patient": PATIENT,
        "breathing": MEASURED,
        "device": MESH,
        "fill_ml": 3.0,
        "regimen": EXOSOME_INHALATION,
        "loaded_dose": DOSE,
        "residual_ml": 0.15,
    }
    args.update(overrides)
    return estimate_dose(**args)


def direct(**overrides: Any) -> Any:
    """The engine called by hand with the same inputs as :func:`final`."""
    args: dict[str, Any] = {
        "nebulizer": "aerogen-solo",
        "fill_ml": 3.0,
        "residual_ml": 0.15,
        "tidal_volume_ml": 620.0,
        "breaths_per_min": 12.0,
        "inspiratory_fraction": 0.45,
        "breath_hold_s": 0.0,
        "sex": "female",
        "age_years": 54.0,
        "height_cm": 162.0,
        "dose_particles": DOSE,
    }
    args.update(overrides)
    return deposit(**args)


def test_the_estimate_equals_a_direct_engine_call_with_the_same_inputs() -> None:
    ours = deposition_for(
        patient=PATIENT,
        breathing=MEASURED,
        device=MESH,
        fill_ml=3.0,
        regimen=EXOSOME_INHALATION,
        loaded_dose=DOSE,
        residual_ml=0.15,
    )
    expected = direct()
    assert_deposition_close(ours, expected, atol=1e-12)
    assert_deposition_close(ours, expected, atol=1e-12, basis="fractions_of_inhaled")

    record = final()
    engine = expected.to_dict()
    assert dict(record.fractions_of_loaded) == engine["fractions_of_loaded"]
    assert dict(record.fractions_of_inhaled) == engine["fractions_of_inhaled"]
    assert dict(record.particles or {}) == engine["particles"]
    assert dict(record.inputs) == engine["inputs"]
    assert record.duration_min == engine["duration_min"]
    assert [g.fraction_of_inhaled for g in record.by_generation or ()] == [
        g["fraction_of_inhaled"] for g in engine["by_generation"]
    ]
    assert (record.model, record.model_version) == ("weibel", MODEL_VERSION)
    assert record.lung_particles == engine["particles"]["lung"]
    assert record.lung_intact_particles == engine["particles"]["lung_intact"]


def test_measured_frc_and_device_overrides_reach_the_engine() -> None:
    patient = PatientFacts("male", 70.0, 180.0, frc_ml=4200.0)
    device = DeviceSettings(
        "omron-ne-u22", interface="valved-mask", mmad_um=4.0, intact_fraction=0.8
    )
    record = final(patient=patient, device=device, fill_ml=2.5, residual_ml=0.3)
    expected = direct(
        nebulizer="omron-ne-u22",
        interface="valved-mask",
        mmad_um=4.0,
        intact_fraction=0.8,
        fill_ml=2.5,
        residual_ml=0.3,
        sex="male",
        age_years=70.0,
        height_cm=180.0,
        frc_ml=4200.0,
    ).to_dict()
    assert dict(record.fractions_of_loaded) == expected["fractions_of_loaded"]
    assert record.inputs["frc_source"] == "given"
    assert record.inputs["route"] == "nose"


def test_preview_and_final_use_the_same_function_and_say_what_is_assumed() -> None:
    preview = final(stage=EstimateStage.PREVIEW, breathing=RELAXED, residual_ml=None)
    assert preview.stage is EstimateStage.PREVIEW
    assert not preview.residual_measured
    assert preview.breathing_source is BreathingSource.CHOSEN
    assert preview.inputs["residual_ml"] == 0.1  # the catalog's
    assert any("catalog value (0.1 mL)" in w for w in preview.warnings)
    assert any("chosen, not measured" in w for w in preview.warnings)

    done = final()
    assert done.residual_measured
    assert done.breathing_source is BreathingSource.MEASURED
    assert not any("catalog value" in w or "chosen" in w for w in done.warnings)
    assert done.statement == MODEL_ESTIMATE_STATEMENT
    assert "model estimate" in done.statement
    assert done.assumptions  # the engine's stated assumptions are kept


def test_a_final_estimate_needs_the_measured_residual() -> None:
    with pytest.raises(InvalidInput, match="residual volume"):
        final(residual_ml=None)


def test_residual_larger_than_fill_is_rejected_before_the_engine() -> None:
    with pytest.raises(ResidualExceedsFill, match=r"3\.5 mL is more than the 3 mL"):
        final(residual_ml=3.5)


def test_engine_refusals_keep_field_value_and_range() -> None:
    with pytest.raises(DoseModelRefused) as caught:
        final(patient=replace(PATIENT, height_cm=250.0))
    err = caught.value
    assert (err.field, err.value, err.expected) == ("height_cm", 250.0, "120 to 220 cm")
    assert "height (height_cm = 250.0)" in err.message
    assert "120 to 220 cm" in err.message


def test_device_warnings_and_engine_warnings_are_kept() -> None:
    usn = DeviceSettings("ultrasonic-generic")
    record = final(device=usn, residual_ml=0.8, notes=("Not validated with this product.",))
    assert any("ultrasonic" in w for w in record.warnings)
    assert "Not validated with this product." in record.warnings


def test_saline_estimate_has_zero_vesicles_and_no_intact_estimate() -> None:
    record = final(regimen=SALINE_NEBULIZATION, loaded_dose=0.0)
    assert record.particles is not None
    assert record.lung_particles == 0.0
    assert record.alveolar_particles == 0.0
    assert record.lung_intact_particles is None
    assert record.inputs["dose_particles"] is None
    assert any("no vesicles" in a for a in record.assumptions)
    # The fractions still say where the saline goes.
    assert record.fractions_of_loaded == final().fractions_of_loaded
    with pytest.raises(DoseNotAllowed):
        final(regimen=SALINE_NEBULIZATION, loaded_dose=DOSE)


def test_regimens_not_dosed_in_vesicles_have_no_particle_counts() -> None:
    care = final(regimen=STANDARD_INHALED_CARE, loaded_dose=2.5)
    cells = final(regimen=STEM_CELL_INHALATION, loaded_dose=1.0e7)
    for record in (care, cells):
        assert record.particles is None
        assert record.lung_particles is None
        assert record.inputs["dose_particles"] is None
    assert care.loaded_dose == 2.5
    assert care.dose_unit.value == "mg"
    assert any("not established for cells" in a for a in cells.assumptions)


def test_the_regimen_device_rule_is_applied() -> None:
    with pytest.raises(DeviceNotAllowed):
        final(
            regimen=STEM_CELL_INHALATION,
            loaded_dose=1e7,
            device=DeviceSettings("ultrasonic-generic"),
            residual_ml=0.8,
        )


def test_the_record_is_frozen_json_ready_and_round_trips() -> None:
    record = final()
    text = json.dumps(record.to_dict(), allow_nan=False)
    again = DoseEstimate.from_dict(json.loads(text))
    assert again == record
    with pytest.raises(AttributeError):
        record.loaded_dose = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.particles["lung"] = 0.0  # type: ignore[index]
