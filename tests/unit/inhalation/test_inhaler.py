"""Inhaler runs (pMDI, DPI) and doses in mg, µg or cells: the pure layer.

References: docs/dosimetry.md and reference/dosimetry.md §5.1 — the inhaler
reference breath is 1.5 L over 3 s (30 L/min) with a 10 s hold; the Qvar
extrafine HFA pMDI puts > 55 % of the ex-actuator dose in the lungs and
< 35 % in the oropharynx (Qvar product information); the Turbuhaler-class DPI
droplet size in the catalog was measured at 60 L/min (Huddersfield eprint 7173).
Issue #6: "standard inhaled care … pressurised metered-dose or dry-powder
inhaler, with their own aerosol size".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from numpy.testing import assert_allclose

from exoneb.dosimetry import deposit
from exoneb.inhalation import rules
from exoneb.inhalation.errors import DoseNotAllowed, InvalidInput, RunTransitionRefused
from exoneb.preparation.handoff import VerifiedDose

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PATIENT = rules.PatientFacts(sex="female", age_years=64.0, height_cm=165.0)
#: The engine's own inhaler reference breath (tests/unit/dosimetry/test_inhalers.py), written out.
SLOW_DEEP_10S = {
    "tidal_volume_ml": 1500.0,
    "breaths_per_min": 4.0,
    "inspiratory_fraction": 0.2,
    "breath_hold_s": 10.0,
}
GOOD = rules.Technique(
    prepared=True, spacer=False, exhaled_before=True, seal=True, manoeuvre_done=True,
    breath_hold_s=10.0,
)  # fmt: skip


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the manoeuvre ------------------------------------------------------------------------


def test_pmdi_manoeuvre_is_the_reference_slow_deep_breath_with_a_10_s_hold() -> None:
    breathing = rules.manoeuvre_breathing(
        rules.manoeuvre_for("pmdi"), 10.0, source=rules.BreathingSource.CHOSEN
    )
    assert breathing.engine_arguments() == pytest.approx(SLOW_DEEP_10S)


def test_dpi_manoeuvre_is_fast_at_the_60_l_min_of_the_catalog_droplet_size() -> None:
    breathing = rules.manoeuvre_breathing(
        rules.manoeuvre_for("dpi"), 10.0, source=rules.BreathingSource.CHOSEN
    )
    cycle_s = 60.0 / breathing.breaths_per_min
    inhalation_s = breathing.inspiratory_fraction * cycle_s
    flow_l_min = breathing.tidal_volume_ml / 1000.0 / inhalation_s * 60.0
    assert flow_l_min == pytest.approx(60.0)
    assert "60 L/min" in breathing.label


@pytest.mark.parametrize("hold", [-1.0, 31.0, float("nan")])
def test_impossible_breath_holds_are_refused(hold: float) -> None:
    with pytest.raises(InvalidInput, match="breath-hold"):
        rules.manoeuvre_breathing(
            rules.Manoeuvre.SLOW_DEEP, hold, source=rules.BreathingSource.CHOSEN
        )


def test_a_nebulizer_has_no_inhaler_manoeuvre() -> None:
    with pytest.raises(InvalidInput, match="not an inhaler"):
        rules.manoeuvre_for("vibrating-mesh")


# --- the run ------------------------------------------------------------------------------


def _inhaler_run(kind: str = "pmdi", planned: int = 2) -> rules.InhalationRun:
    run = rules.InhalationRun(fill_ml=0.0, inhaler_kind=kind, actuations_planned=planned)
    return run.start(now=T0, facts=rules.StartFacts(True, True))


def test_an_inhaler_run_records_the_planned_actuations_then_stops_without_a_residual() -> None:
    run = _inhaler_run()
    assert rules.RunAction.ACTUATE in run.allowed_actions
    run = run.actuate(now=_at(1), technique=GOOD)
    run = run.actuate(now=_at(2), technique=GOOD)
    assert rules.RunAction.ACTUATE not in run.allowed_actions
    with pytest.raises(RunTransitionRefused, match="All 2 planned actuations"):
        run.actuate(now=_at(3), technique=GOOD)
    run = run.stop(now=_at(3), reason="actuations_given")
    assert run.allowed_actions == frozenset()
    with pytest.raises(RunTransitionRefused, match="no reservoir"):
        run.record_residual(now=_at(4), residual_ml=0.0)
    replayed = rules.InhalationRun.replay(
        fill_ml=0.0, planned_duration=None, events=run.events, inhaler_kind="pmdi",
        actuations_planned=2,
    )  # fmt: skip
    assert replayed == run


def test_no_actuation_while_paused_or_before_start_or_on_a_nebulizer() -> None:
    paused = _inhaler_run().pause(now=_at(1), reason="cough")
    with pytest.raises(RunTransitionRefused, match="paused"):
        paused.actuate(now=_at(2), technique=GOOD)
    not_started = rules.InhalationRun(fill_ml=0.0, inhaler_kind="dpi", actuations_planned=1)
    with pytest.raises(RunTransitionRefused, match="has not started"):
        not_started.actuate(now=T0, technique=GOOD)
    nebulizer = rules.InhalationRun(fill_ml=3.0).start(now=T0, facts=rules.StartFacts(True, True))
    with pytest.raises(RunTransitionRefused, match="no actuations"):
        nebulizer.actuate(now=_at(1), technique=GOOD)


def test_an_inhaler_has_no_fill_or_planned_time() -> None:
    with pytest.raises(InvalidInput, match="no reservoir"):
        rules.InhalationRun(fill_ml=3.0, inhaler_kind="pmdi", actuations_planned=2)
    with pytest.raises(InvalidInput, match="actuations planned"):
        rules.InhalationRun(fill_ml=0.0, inhaler_kind="pmdi")


def test_a_dpi_is_not_used_with_a_spacer_and_missed_steps_are_named() -> None:
    spacer = rules.Technique(True, True, True, True, True, 10.0)
    with pytest.raises(InvalidInput, match="spacer"):
        _inhaler_run("dpi").actuate(now=_at(1), technique=spacer)
    sloppy = rules.Technique(False, True, False, True, False, 3.0)
    notes = rules.technique_warnings("pmdi", 2, sloppy)
    assert notes[0] == "Actuation 2: the inhaler was not shaken or primed."
    assert any("did not breathe out first" in n for n in notes)
    assert any("not a slow, deep inhalation" in n for n in notes)
    assert any("spacer was used" in n and "7–47 %" in n for n in notes)
    assert rules.technique_warnings("pmdi", 1, GOOD) == ()


def test_plan_checks_and_doses() -> None:
    plan = rules.InhalerPlan("pmdi", 2, 100.0, rules.DoseUnit.MICROGRAMS)
    assert plan.planned_dose == 200.0
    assert plan.given_dose(1) == 100.0
    assert rules.InhalerPlan.from_dict(plan.to_dict()) == plan
    with pytest.raises(InvalidInput, match="whole number from 1 to 20"):
        rules.InhalerPlan("pmdi", 0, 100.0, rules.DoseUnit.MICROGRAMS)
    with pytest.raises(InvalidInput, match="more than 0"):
        rules.InhalerPlan("dpi", 1, 0.0, rules.DoseUnit.MICROGRAMS)


# --- the estimate -------------------------------------------------------------------------


def _inhaler_estimate(catalog_id: str, actuations: int, per: float) -> rules.DoseEstimate:
    return rules.estimate_dose(
        stage=rules.EstimateStage.FINAL,
        patient=PATIENT,
        breathing=rules.manoeuvre_breathing(
            rules.Manoeuvre.SLOW_DEEP, 10.0, source=rules.BreathingSource.CHOSEN
        ),
        device=rules.DeviceSettings(catalog_id=catalog_id),
        fill_ml=None,
        regimen=rules.STANDARD_INHALED_CARE,
        loaded_dose=per * actuations,
        dose_unit=rules.DoseUnit.MICROGRAMS,
        actuations=actuations,
    )


def test_pmdi_estimate_in_micrograms_equals_the_engine_times_the_dose_given() -> None:
    estimate = _inhaler_estimate("pmdi-extrafine", actuations=2, per=100.0)
    engine = deposit(
        nebulizer="pmdi-extrafine", sex="female", age_years=64.0, height_cm=165.0, **SLOW_DEEP_10S
    ).to_dict()
    assert estimate.dose_unit is rules.DoseUnit.MICROGRAMS
    assert estimate.loaded_dose == 200.0
    assert estimate.actuations == 2
    assert estimate.particles is None  # a microgram is not a vesicle
    assert estimate.amounts is not None
    for region in ("lung", "alveolar", "extrathoracic", "exhaled"):
        assert_allclose(
            estimate.amounts[region], 200.0 * engine["fractions_of_loaded"][region], rtol=1e-12
        )
    assert estimate.amounts["lung_intact"] is None
    # Qvar product information: > 55 % of the ex-actuator dose to the lungs, < 35 % oropharynx.
    assert estimate.lung_amount is not None
    assert estimate.lung_amount > 0.55 * 200.0
    assert estimate.fractions_of_loaded["extrathoracic"] < 0.35  # type: ignore[operator]
    assert not any("residual volume" in w for w in estimate.warnings)
    assert rules.DoseEstimate.from_dict(estimate.to_dict()) == estimate


def test_an_inhaler_is_given_no_fill_and_a_nebulizer_needs_one() -> None:
    with pytest.raises(InvalidInput, match="no fill or residual"):
        rules.deposition_for(
            patient=PATIENT, breathing=rules.BREATHING_PRESETS["slow-deep"],
            device=rules.DeviceSettings(catalog_id="dpi-turbuhaler"), fill_ml=3.0,
            regimen=rules.STANDARD_INHALED_CARE, loaded_dose=9.0,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="fill volume"):
        rules.deposition_for(
            patient=PATIENT, breathing=rules.BREATHING_PRESETS["relaxed-tidal"],
            device=rules.DeviceSettings(catalog_id="aerogen-solo"), fill_ml=None,
            regimen=rules.STANDARD_INHALED_CARE, loaded_dose=2.5,
        )  # fmt: skip


def test_exosome_regimen_is_not_given_by_inhaler() -> None:
    with pytest.raises(rules.DeviceNotAllowed):
        rules.check_regimen_device(rules.EXOSOME_INHALATION, "pmdi")
    rules.check_regimen_device(rules.STANDARD_INHALED_CARE, "dpi")


def test_nebulized_drug_in_mg_and_cells_get_amounts_in_their_unit() -> None:
    common = {
        "stage": rules.EstimateStage.PREVIEW, "patient": PATIENT,
        "breathing": rules.BREATHING_PRESETS["relaxed-tidal"],
        "device": rules.DeviceSettings(catalog_id="aerogen-solo"), "fill_ml": 3.0,
    }  # fmt: skip
    drug = rules.estimate_dose(**common, regimen=rules.STANDARD_INHALED_CARE, loaded_dose=2.5)  # type: ignore[arg-type]
    assert drug.dose_unit is rules.DoseUnit.MILLIGRAMS
    assert drug.amounts is not None
    assert drug.particles is None
    assert drug.amounts["alveolar"] == pytest.approx(2.5 * drug.fractions_of_loaded["alveolar"])  # type: ignore[operator]
    cells = rules.estimate_dose(**common, regimen=rules.STEM_CELL_INHALATION, loaded_dose=1e7)  # type: ignore[arg-type]
    assert cells.dose_unit is rules.DoseUnit.CELLS
    assert cells.lung_amount == pytest.approx(1e7 * cells.fractions_of_loaded["lung"])  # type: ignore[operator]
    assert cells.amounts is not None
    assert cells.amounts["lung_intact"] is None
    assert any("not where cells land" in a for a in cells.assumptions)
    vesicles = rules.estimate_dose(**common, regimen=rules.EXOSOME_INHALATION, loaded_dose=2e8)  # type: ignore[arg-type]
    assert vesicles.amounts is not None
    assert vesicles.particles is not None
    assert vesicles.amounts["lung"] == pytest.approx(vesicles.particles["lung"])
    assert vesicles.amounts["lung_intact"] == vesicles.particles["lung_intact"]


def test_units_must_be_of_the_regimens_kind() -> None:
    assert (
        rules.check_regimen_unit(rules.STANDARD_INHALED_CARE, rules.DoseUnit.MICROGRAMS)
        is rules.DoseUnit.MICROGRAMS
    )
    with pytest.raises(DoseNotAllowed, match="dosed in particles"):
        rules.check_regimen_unit(rules.EXOSOME_INHALATION, rules.DoseUnit.MILLIGRAMS)
    with pytest.raises(DoseNotAllowed, match="dosed in mg"):
        rules.check_regimen_unit(rules.STANDARD_INHALED_CARE, rules.DoseUnit.PARTICLES)
    assert rules.dose_unit_of("ug") is rules.DoseUnit.MICROGRAMS
    with pytest.raises(DoseNotAllowed, match="not known"):
        rules.dose_unit_of("IU")


def test_cumulative_dose_sums_other_units_apart_from_vesicles() -> None:
    one = _inhaler_estimate("pmdi-extrafine", actuations=2, per=100.0)
    two = _inhaler_estimate("pmdi-extrafine", actuations=1, per=100.0)
    total = rules.cumulative_dose([rules.RecordedEstimate(one), rules.RecordedEstimate(two)])
    assert total.sessions_counted == 0
    assert total.sessions_other_units == 2
    assert total.lung_particles == 0.0
    assert total.other_units["µg"]["lung"] == pytest.approx(
        (one.lung_amount or 0) + (two.lung_amount or 0)
    )
    assert total.to_dict()["other_units"]["µg"]["sessions"] == 2


# --- the hand-over ------------------------------------------------------------------------


def _handoff(**changes: object) -> VerifiedDose:
    values: dict[str, object] = {
        "preparation_id": 1, "session_id": 1, "lot_id": 1, "lot_number": "L", "product_name": "P",
        "dose_level": "DL1", "dose_particles": 2e8, "concentration_particles_per_ml": 1e9,
        "stock_volume_ml": 0.2, "saline_volume_ml": 2.8, "fill_volume_ml": 3.0,
        "nebulizer_key": "aerogen-solo", "prepared_by": "A", "prepared_at": T0, "use_by": T0,
        "verified_by": "B", "verified_at": T0,
    }  # fmt: skip
    values.update(changes)
    return VerifiedDose(**values)  # type: ignore[arg-type]


def test_handoff_defaults_to_particles_and_carries_mass_or_cells_explicitly() -> None:
    exo = _handoff()
    assert (exo.amount, exo.dose_unit) == (2e8, "particles")
    drug = _handoff(dose_particles=0.0, dose_amount=200.0, dose_unit="ug")
    assert (drug.amount, drug.dose_unit) == (200.0, "ug")
    with pytest.raises(ValueError, match="needs its dose_amount"):
        _handoff(dose_particles=0.0, dose_unit="mg")
    with pytest.raises(ValueError, match="carries no vesicles"):
        _handoff(dose_amount=2.5, dose_unit="mg")
    with pytest.raises(ValueError, match="disagree"):
        _handoff(dose_amount=1e8)
    with pytest.raises(ValueError, match="Unknown dose unit"):
        _handoff(dose_particles=0.0, dose_amount=1.0, dose_unit="IU")


# --- the register -------------------------------------------------------------------------


def test_inhalers_register_as_pmdi_or_dpi_linked_to_their_catalog_entry() -> None:
    assert {"pmdi", "dpi"} <= rules.catalog_kinds()
    qvar = rules.DeviceEntry("Teva", "Qvar 100", "pmdi", "QV-1", "mouthpiece", False,
                             catalog_id="pmdi-extrafine")  # fmt: skip
    check = rules.check_device(qvar, heat_sensitive_product=False)
    assert check.catalog_id == "pmdi-extrafine"
    assert check.settings().spec.is_inhaler
    (warning,) = check.warnings
    assert warning.code is rules.WarningCode.NOT_VALIDATED
    assert "aerosol size is the catalog value" in warning.message
    assert "vesicle" not in warning.message
    with pytest.raises(rules.DeviceKindMismatch):
        rules.check_device(
            rules.DeviceEntry(
                "X", "Y", "dpi", "1", "mouthpiece", True, catalog_id="pmdi-extrafine"
            ),
            heat_sensitive_product=False,
        )
