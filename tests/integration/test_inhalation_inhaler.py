"""Inhaler sessions (pMDI, DPI) and drug doses in µg/mg through the service, API and pages.

Issue #6: standard inhaled care given in clinic by pressurised metered-dose or
dry-powder inhaler, with their own aerosol size; regimens dosed in mg/µg. The
preparation step hands over exosome lots only today, so the verified dose is
stood in for (``inhalation_helpers.StandIn``) with an explicit amount and unit
(``VerifiedDose.dose_amount`` / ``dose_unit``). Every session move still goes
through the real guards; both databases.

Reference values: the final estimate equals a direct ``deposit()`` call with
the inhaler manoeuvre written out (1.5 L over 3 s, 10 s hold — the engine's
reference breath, reference/dosimetry.md §5.1) times the emitted dose per
actuation × actuations given; the Qvar-class extrafine pMDI reaches the lungs
with > 55 % of the ex-actuator dose (Qvar product information).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from exoneb.accounts.permissions import Role
from exoneb.core.errors import RuleViolation
from exoneb.dosimetry import deposit
from exoneb.inhalation import rules
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SetUpIn, SignIn

from .conftest import PASSWORD, World, seed_world
from .inhalation_helpers import (
    StandIn,
    act,
    mesh_device,
    protocol_with_arms,
    stand_in,
)
from .test_assessment_pages import _form, _version
from .webclient import app_for, login

CARE_ARM = {"code": "SOC", "label": "Standard inhaled care in clinic",
            "regimen": "standard-inhaled-care", "source": "mexvt"}  # fmt: skip
PATIENT = {"sex": "female", "age_years": 64.0, "height_cm": 165.0}
#: The inhaler manoeuvre of a pMDI with a 10 s hold, written out (not read from our code).
SLOW_DEEP_10S = {"tidal_volume_ml": 1500.0, "breaths_per_min": 4.0,
                 "inspiratory_fraction": 0.2, "breath_hold_s": 10.0}  # fmt: skip
#: 2 puffs of 100 µg (a beclomethasone HFA pMDI dose), as the verified hand-over.
INHALER_DOSE = {"dose_particles": 0.0, "dose_amount": 200.0, "dose_unit": "ug",
                "fill_volume_ml": 0.0, "stock_volume_ml": 0.0, "saline_volume_ml": 0.0,
                "concentration_particles_per_ml": 0.0,
                "nebulizer_key": "pmdi-extrafine"}  # fmt: skip
TECHNIQUE = {"prepared": True, "spacer": False, "exhaled_before": True, "seal": True,
             "manoeuvre_done": True}  # fmt: skip


@pytest.fixture
def care(db_url: str, tmp_path: Path) -> Iterator[tuple[World, StandIn]]:
    """A world whose protocol has a standard-care arm, with steps 1–2 stood in for."""
    world = seed_world(db_url, protocols_dir=protocol_with_arms(tmp_path, CARE_ARM))
    try:
        with stand_in(world) as fake:
            yield world, fake
    finally:
        world.factory.kw["bind"].dispose()


def _pmdi(world: World) -> int:
    return mesh_device(
        world, make="Teva", model="Qvar 100 Autohaler", kind="pmdi",
        catalog_id="pmdi-extrafine", validated_with_product=False,
    )  # fmt: skip


def _view(world: World, session_id: int) -> dict[str, object]:
    with world.action(Role.NURSE) as ctx:
        return inhalation.current_view(ctx=ctx, settings=world.settings, session_id=session_id)


def _set_up_inhaler(world: World, session_id: int, device_id: int, **plan: object) -> int:
    values: dict[str, object] = {"device_id": device_id, "actuations_planned": 2,
                                 "dose_per_actuation": 100.0} | plan  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        run = inhalation.set_up(ctx=ctx, settings=world.settings, session_id=session_id,
                                data=SetUpIn.model_validate(values))  # fmt: skip
        return run.version


def test_a_pmdi_session_counts_actuations_and_signs_into_monitoring(
    care: tuple[World, StandIn],
) -> None:
    world, fake = care
    _, session_id = fake.verified_session(arm_code="SOC", **INHALER_DOSE)
    device = _pmdi(world)
    with pytest.raises(RuleViolation, match="3 actuations × 100 µg = 300 µg"):
        _set_up_inhaler(world, session_id, device, actuations_planned=3)
    _set_up_inhaler(world, session_id, device)
    preview = _view(world, session_id)
    assert preview["fill_ml"] == 0.0
    assert preview["planned_duration_s"] is None
    assert preview["dose_unit"] == "µg"
    assert preview["inhaler"]["manoeuvre"] == "slow-deep"  # type: ignore[index]
    assert any("Shake the inhaler" in line for line in preview["breathing_instructions"])  # type: ignore[attr-defined]
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(seconds=40))
    act(world, "actuation", session_id, **TECHNIQUE, breath_hold_s=10.0)
    world.clock.advance(timedelta(seconds=40))
    act(world, "actuation", session_id, **TECHNIQUE | {"spacer": True}, breath_hold_s=10.0)
    with pytest.raises(rules.RunTransitionRefused, match="All 2 planned actuations"):
        act(world, "actuation", session_id, **TECHNIQUE, breath_hold_s=10.0)
    with pytest.raises(rules.RunTransitionRefused, match="no reservoir"):
        act(world, "residual", session_id, residual_ml=0.0)
    version = act(world, "stop", session_id, reason="actuations_given")
    view = _view(world, session_id)
    final = view["final"]
    assert isinstance(final, dict)
    record = final["record"]
    engine = deposit(nebulizer="pmdi-extrafine", interface="mouthpiece", **PATIENT,  # type: ignore[arg-type]
                     **SLOW_DEEP_10S).to_dict()  # fmt: skip
    assert record["loaded_dose"] == 200.0
    assert record["dose_unit"] == "µg"
    assert record["actuations"] == 2
    assert record["particles"] is None
    for region in ("lung", "alveolar", "extrathoracic"):
        assert_allclose(record["amounts"][region],
                        200.0 * engine["fractions_of_loaded"][region], rtol=1e-12)  # fmt: skip
    assert record["amounts"]["lung"] > 0.55 * 200.0  # Qvar product information
    assert any("Actuation 2: a spacer was used" in w for w in record["warnings"])
    assert [a["number"] for a in view["actuations"]] == [1, 2]  # type: ignore[attr-defined]
    with world.action(Role.NURSE) as ctx:
        inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=SignIn(version=version, password=PASSWORD))  # fmt: skip
    assert _view(world, session_id)["session_state"] == "monitoring"
    assert _view(world, session_id)["signature_valid"] is True
    with world.action(Role.PHYSICIAN) as ctx:
        from exoneb.reports.inhalation_parts import administration_rows
        from exoneb.sessions.models import TherapySession

        session = ctx.db.get(TherapySession, session_id)
        assert session is not None
        (row,) = administration_rows(ctx, [session])
    assert row["dose_unit"] == "µg"
    assert row["lung_dose"] == pytest.approx(record["amounts"]["lung"])  # in µg, not vesicles


def test_a_run_stopped_after_one_of_two_actuations_estimates_the_dose_given(
    care: tuple[World, StandIn],
) -> None:
    world, fake = care
    patient_id, session_id = fake.verified_session(arm_code="SOC", **INHALER_DOSE)
    _set_up_inhaler(world, session_id, _pmdi(world))
    for name in ("supervisor", "start"):
        act(world, name, session_id)
    act(world, "actuation", session_id, **TECHNIQUE, breath_hold_s=4.0)
    act(world, "stop", session_id, reason="adverse_event", note="bronchospasm")
    record = _view(world, session_id)["final"]["record"]  # type: ignore[index]
    engine = deposit(nebulizer="pmdi-extrafine", **PATIENT, tidal_volume_ml=1500.0,  # type: ignore[arg-type]
                     breaths_per_min=60.0 / 9.0, inspiratory_fraction=3.0 / 9.0,
                     breath_hold_s=4.0).to_dict()  # fmt: skip
    assert record["loaded_dose"] == 100.0
    assert record["actuations"] == 1
    assert_allclose(record["amounts"]["lung"], 100.0 * engine["fractions_of_loaded"]["lung"],
                    rtol=1e-12)  # fmt: skip
    with world.action(Role.PHYSICIAN) as ctx:
        total = inhalation.cumulative_for(ctx=ctx, patient_id=patient_id)
    assert total.sessions_other_units == 1
    assert total.other_units["µg"]["lung"] == pytest.approx(record["amounts"]["lung"])


def test_a_nebulized_drug_in_mg_and_a_unit_mismatch(care: tuple[World, StandIn]) -> None:
    world, fake = care
    _, session_id = fake.verified_session(
        arm_code="SOC", dose_particles=0.0, dose_amount=2.5, dose_unit="mg"
    )
    with world.action(Role.NURSE) as ctx:
        inhalation.set_up(ctx=ctx, settings=world.settings, session_id=session_id,
                          data=SetUpIn(device_id=mesh_device(world)))  # fmt: skip
    preview = _view(world, session_id)["preview"]["record"]  # type: ignore[index]
    assert preview["dose_unit"] == "mg"
    assert preview["loaded_dose"] == 2.5
    assert preview["amounts"]["lung"] == pytest.approx(2.5 * preview["fractions_of_loaded"]["lung"])
    _, particles = fake.verified_session(arm_code="SOC")  # an exosome hand-over on a drug arm
    with (
        world.action(Role.NURSE) as ctx,
        pytest.raises(rules.DoseNotAllowed, match="dosed in mg"),
    ):
        inhalation.set_up(ctx=ctx, settings=world.settings, session_id=particles,
                          data=SetUpIn(device_id=mesh_device(world)))  # fmt: skip


def test_api_and_page_run_a_dpi_session(care: tuple[World, StandIn]) -> None:
    world, fake = care
    _, session_id = fake.verified_session(
        arm_code="SOC", **INHALER_DOSE | {"dose_amount": 9.0, "nebulizer_key": "dpi-turbuhaler"}
    )
    nurse = login(app_for(world), world, Role.NURSE)
    device = nurse.post("/api/v1/devices", json={
        "make": "AstraZeneca", "model": "Oxis Turbuhaler", "kind": "dpi", "serial_or_lot": "T-1",
        "interface": "mouthpiece", "catalog_id": "dpi-turbuhaler"})  # fmt: skip
    assert device.status_code == 201, device.text  # type: ignore[attr-defined]
    base = f"/api/v1/sessions/{session_id}/inhalation"
    body = nurse.post(f"{base}/setup", json={"device_id": device.json()["id"],  # type: ignore[attr-defined]
                                             "actuations_planned": 1,
                                             "dose_per_actuation": 9.0}).json()  # type: ignore[attr-defined]  # fmt: skip
    assert body["inhaler"]["manoeuvre"] == "fast-forceful", body
    v = nurse.post(f"{base}/supervisor", json={"version": body["version"]}).json()["version"]  # type: ignore[attr-defined]
    nurse.post(f"{base}/start", json={"version": v})
    page = nurse.client.get(f"/sessions/{session_id}/inhalation").text
    assert "Actuation 1 of 1: technique checklist" in page
    missing = _form(nurse, f"/sessions/{session_id}/inhalation/actuation",
                    {"version": _version(page), "breath_hold_s": "10"})  # fmt: skip
    assert missing.status_code == 422  # every checklist item must be answered
    spacer = nurse.post(f"{base}/actuation", json={"version": int(_version(page)),
                        **TECHNIQUE, "spacer": True, "breath_hold_s": 10})  # fmt: skip
    assert spacer.status_code == 422  # type: ignore[attr-defined]
    assert "not used with a spacer" in spacer.json()["detail"]  # type: ignore[attr-defined]
    done = _form(nurse, f"/sessions/{session_id}/inhalation/actuation", {
        "version": _version(page), **{k: str(v).lower() for k, v in TECHNIQUE.items()},
        "breath_hold_s": "8"})  # fmt: skip
    assert done.status_code == 303, done.text[:500]
    page = nurse.client.get(f"/sessions/{session_id}/inhalation").text
    stopped = _form(nurse, f"/sessions/{session_id}/inhalation/stop", {
        "version": _version(page), "reason": "actuations_given"})  # fmt: skip
    assert stopped.status_code == 303, stopped.text[:500]
    page = nurse.client.get(f"/sessions/{session_id}/inhalation").text
    assert "Final dose estimate for this patient" in page
    assert "data-lung-amount" in page
    assert "fast, forceful inhalation" in page
    assert "Sign and move to monitoring" in page
    read = nurse.client.get(base).json()
    assert read["final"]["record"]["loaded_dose"] == 9.0
    assert read["actuations"][0]["technique"]["breath_hold_s"] == 8.0
