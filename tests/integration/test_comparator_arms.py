"""The demo protocol's comparator arms, end to end on both databases (issue #6).

Each arm goes receive → release → prepare → second-person verify → run →
final estimate, and the stored estimate equals a direct ``exoneb.dosimetry``
call with the same inputs (rtol 1e-12). Values worked by hand from the demo
protocol (``protocols/files/demo-exo-01.yaml``, each citing its source):

- PBO, saline placebo (reference/clinical.md §1.1, §3.1: same vehicle, no
  particles): 3.00 mL of saline, 0 particles loaded; the estimate gives the
  fractions of the nebulized saline, every particle count is 0.
- SC-NEB, salbutamol 2.5 mg in 3 mL by jet nebulizer (reference/dosimetry.md
  §5.1, Ari & Fink 2021) from a 5 mg/mL solution (Omron NE-C801 manual):
  2.5 mg ÷ 5 mg/mL = 0.50 mL + 2.50 mL saline; lung amount = 2.5 mg ×
  the engine's lung fraction of the loaded dose.
- SC-PMDI, beclomethasone 200 µg by pMDI at 100 µg per actuation: 2 actuations;
  a run stopped before any actuation is signed only as "not given".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from numpy.testing import assert_allclose
from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent
from exoneb.core.errors import RuleViolation
from exoneb.dosimetry import deposit
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SetUpIn, SignIn
from exoneb.patients import service as patients
from exoneb.preparation import service as prep
from exoneb.preparation.errors import WrongProductForArm
from exoneb.preparation.schemas import (
    PlaceboPrepareIn,
    ProductLotIn,
    ProductPlanIn,
    ProductPrepareIn,
    ProductReleaseIn,
)
from exoneb.reports import service as reports
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World
from .inhalation_helpers import act, mesh_device, set_up
from .prep_factories import cleared_session, move, saline_lot, verify

RELAXED = {"tidal_volume_ml": 500.0, "breaths_per_min": 15.0, "inspiratory_fraction": 0.4,
           "breath_hold_s": 0.0}  # fmt: skip


def _session(world: World, arm: str, mrn: str) -> int:
    """A cleared session of the demo protocol, enrolled in ``arm``."""
    session_id = cleared_session(world, mrn)
    with world.factory() as db:
        session = db.get(TherapySession, session_id)
        assert session is not None
        session.arm_code = arm
        db.commit()
    return session_id


def _drug_lot(world: World, number: str, **values: Any) -> int:
    """A drug lot received by its label and released by the pharmacist: its id."""
    data = {"kind": "drug", "protocol_id": "demo-exo-01", "manufacturer": "Demo Pharma",
            "lot_number": number, "expires_at": datetime(2027, 1, 1, tzinfo=UTC),
            "unit_count": 2} | values  # fmt: skip
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.receive_product_lot(
            ctx=ctx, settings=world.settings, data=ProductLotIn.model_validate(data)
        )
        assert lot.status == "quarantine"
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.get_lot(ctx=ctx, lot_id=lot.id)
        prep.release_product_lot(
            ctx=ctx, settings=world.settings, lot_id=lot.id,
            data=ProductReleaseIn(version=lot.version, password=PASSWORD, batch_matches=True,
                                  expiry_matches=True, identity_matches=True),
        )  # fmt: skip
        return lot.id


def _patient(world: World, session_id: int) -> dict[str, Any]:
    with world.action(Role.NURSE) as ctx:
        session = ctx.db.get(TherapySession, session_id)
        assert session is not None
        p = patients.load_visible(ctx, session.patient_id)
        return {"sex": p.sex, "height_cm": p.height_cm}


def _final(world: World, session_id: int) -> dict[str, Any]:
    with world.action(Role.NURSE) as ctx:
        view = inhalation.current_view(ctx=ctx, settings=world.settings, session_id=session_id)
    assert view["final"] is not None, "no final estimate stored"
    record: dict[str, Any] = view["final"]["record"]
    return record


def _sign(world: World, session_id: int, **extra: Any) -> None:
    with world.action(Role.NURSE) as ctx:
        run = inhalation.current_run(ctx=ctx, session_id=session_id)
        assert run is not None
        inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=SignIn(version=run.version, password=PASSWORD, **extra))  # fmt: skip


def _state(world: World, session_id: int) -> str:
    with world.factory() as db:
        session = db.get(TherapySession, session_id)
        assert session is not None
        return session.state


def _prepare_placebo(world: World, session_id: int, saline_id: int) -> None:
    with world.action(Role.PHARMACIST) as ctx:
        prep.prepare_placebo(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=PlaceboPrepareIn(saline_lot_id=saline_id, device_key="aerogen-solo",
                                  appearance_ok=True, password=PASSWORD),
        )  # fmt: skip
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    move(world, session_id, State.VERIFIED)


def test_saline_placebo_goes_from_saline_lot_to_a_vehicle_estimate(world: World) -> None:
    saline_id = saline_lot(world, "NS-PBO")
    session_id = _session(world, "PBO", "PBO-1")
    with world.action(Role.PHARMACIST) as ctx:
        draft = prep.product_plan(ctx=ctx, settings=world.settings, session_id=session_id,
                                  data=ProductPlanIn(device_key="aerogen-solo"))  # fmt: skip
    assert draft.mode == "placebo"
    assert not draft.blockers
    assert draft.plan is not None
    assert (draft.plan.fill_ml, draft.plan.diluent_ml, draft.plan.product_ml) == (3.0, 3.0, 0.0)
    assert any("no vesicles and no drug" in s for s in draft.plan.steps)
    with (  # the drug path refuses a placebo arm, and the placebo path a dosed arm
        world.action(Role.PHARMACIST) as ctx,
        pytest.raises(WrongProductForArm, match="saline placebo"),
    ):
        prep.prepare_product(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=ProductPrepareIn(lot_id=saline_id, device_key="aerogen-solo",
                                  saline_lot_id=saline_id, appearance_ok=True, password=PASSWORD),
        )  # fmt: skip
    dosed = _session(world, "SC-NEB", "PBO-2")
    with (
        world.action(Role.PHARMACIST) as ctx,
        pytest.raises(WrongProductForArm, match="not a placebo arm"),
    ):
        prep.prepare_placebo(
            ctx=ctx, settings=world.settings, session_id=dosed,
            data=PlaceboPrepareIn(saline_lot_id=saline_id, device_key="aerogen-solo",
                                  appearance_ok=True, password=PASSWORD),
        )  # fmt: skip
    _prepare_placebo(world, session_id, saline_id)
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
        label = prep.label(ctx=ctx, settings=world.settings, session_id=session_id)
    assert dose is not None
    assert (dose.dose_particles, dose.amount, dose.dose_unit) == (0.0, 0.0, "particles")
    assert (dose.stock_volume_ml, dose.saline_volume_ml, dose.fill_volume_ml) == (0.0, 3.0, 3.0)
    assert label["dose"] == "placebo: 3.00 mL normal saline, no active product"
    assert label["blinded"] is False
    with world.action(Role.PHARMACIST) as ctx:
        (row,) = prep.recall_report(ctx=ctx, lot_id=saline_id)
    assert row.role == "placebo"

    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(minutes=7))
    act(world, "stop", session_id, reason="output_stopped")
    act(world, "residual", session_id, residual_ml=0.3)
    record = _final(world, session_id)
    assert record["loaded_dose"] == 0.0
    assert record["particles"]["lung"] == 0.0
    assert record["particles"]["lung_intact"] is None
    engine = deposit(nebulizer="aerogen-solo", interface="mouthpiece", fill_ml=3.0,
                     residual_ml=0.3, age_years=record["inputs"]["age_years"],
                     **_patient(world, session_id), **RELAXED).to_dict()  # fmt: skip
    for region in ("lung", "alveolar", "extrathoracic"):
        assert_allclose(record["fractions_of_loaded"][region],
                        engine["fractions_of_loaded"][region], rtol=1e-12)  # fmt: skip
    _sign(world, session_id)
    assert _state(world, session_id) == State.MONITORING.value
    with world.action(Role.PHYSICIAN) as ctx:
        issued = reports.session_report(ctx=ctx, settings=world.settings, session_id=session_id)
    items = {i.label: i.value for i in issued.report.section("preparation").items}
    assert items["Dose loaded"] == "placebo: 3.00 mL normal saline, no active product"
    assert "Prescribed dose" not in items  # no particle count is made up for a placebo
    assert (items["Saline volume"], items["Fill volume"]) == (3.0, 3.0)


def test_salbutamol_by_jet_draws_half_a_millilitre_and_estimates_in_mg(world: World) -> None:
    lot_id = _drug_lot(world, "SAL-5", product_name="Salbutamol 5 mg/mL nebuliser solution",
                       dosage_form="solution", strength_per_ml=5.0, strength_unit="mg",
                       volume_per_unit_ml=2.5)  # fmt: skip
    saline_id = saline_lot(world, "NS-SAL")
    session_id = _session(world, "SC-NEB", "SAL-1")
    with world.action(Role.PHARMACIST) as ctx:
        prep.prepare_product(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=ProductPrepareIn(lot_id=lot_id, device_key="omron-ne-c801",
                                  saline_lot_id=saline_id, appearance_ok=True, password=PASSWORD),
        )  # fmt: skip
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    move(world, session_id, State.VERIFIED)
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
        view = prep.lot_view(prep.get_lot(ctx=ctx, lot_id=lot_id), now=ctx.clock.now())
    assert dose is not None
    assert (dose.dose_amount, dose.dose_unit, dose.dose_particles) == (2.5, "mg", 0.0)
    assert (dose.stock_volume_ml, dose.saline_volume_ml, dose.fill_volume_ml) == (0.5, 2.5, 3.0)
    assert view["strength_text"] == "5 mg/mL solution"  # never shown as particles
    device = mesh_device(world, make="Omron", model="NE-C801", kind="jet",
                         catalog_id="omron-ne-c801", validated_with_product=False)  # fmt: skip
    set_up(world, session_id, device)
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(minutes=9))
    act(world, "stop", session_id, reason="sputtering")
    act(world, "residual", session_id, residual_ml=0.5)
    record = _final(world, session_id)
    assert record["dose_unit"] == "mg"
    assert record["loaded_dose"] == 2.5
    assert record["particles"] is None  # a milligram is not a vesicle
    engine = deposit(nebulizer="omron-ne-c801", interface="mouthpiece", fill_ml=3.0,
                     residual_ml=0.5, age_years=record["inputs"]["age_years"],
                     **_patient(world, session_id), **RELAXED).to_dict()  # fmt: skip
    assert_allclose(record["amounts"]["lung"], 2.5 * engine["fractions_of_loaded"]["lung"],
                    rtol=1e-12)  # fmt: skip
    _sign(world, session_id)
    assert _state(world, session_id) == State.MONITORING.value


def test_an_inhaler_run_stopped_before_any_actuation_is_signed_only_as_not_given(
    world: World,
) -> None:
    lot_id = _drug_lot(
        world,
        "BDP-0",
        product_name="Qvar 100 (beclomethasone HFA) pMDI",
        dosage_form="inhaler",
        emitted_dose_ug=100.0,
        actuations_per_unit=200,
    )
    session_id = _session(world, "SC-PMDI", "PM-0")
    with world.action(Role.PHARMACIST) as ctx:
        p = prep.prepare_product(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=ProductPrepareIn(lot_id=lot_id, device_key="pmdi-extrafine",
                                  appearance_ok=True, password=PASSWORD),
        )  # fmt: skip
        assert (p.actuations, p.dose_amount, p.dose_unit) == (2, 200.0, "ug")
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    move(world, session_id, State.VERIFIED)
    device = mesh_device(world, make="Teva", model="Qvar 100", kind="pmdi",
                         catalog_id="pmdi-extrafine", validated_with_product=False)  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        inhalation.set_up(ctx=ctx, settings=world.settings, session_id=session_id,
                          data=SetUpIn(device_id=device, actuations_planned=2,
                                       dose_per_actuation=100.0))  # fmt: skip
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(seconds=30))
    act(world, "stop", session_id, reason="adverse_event", note="coughing fit before the first")
    with world.action(Role.NURSE) as ctx:
        view = inhalation.current_view(ctx=ctx, settings=world.settings, session_id=session_id)
    assert view["final"] is None
    assert view["dose_delivered"] is False
    with pytest.raises(RuleViolation, match=r"Nothing was delivered \(no actuation was given\)"):
        _sign(world, session_id)
    assert _state(world, session_id) == State.INHALING.value
    _sign(world, session_id, no_dose_given=True)
    assert _state(world, session_id) == State.MONITORING.value
    with world.factory() as db:
        row = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "inhalation.sign")
            .order_by(AuditEvent.seq.desc())
        ).first()  # fmt: skip
    assert row is not None
    assert row.after is not None
    after = json.loads(row.after)
    assert after["dose_delivered"] is False
    assert after["final_estimate_id"] is None


def test_a_nebulizer_left_full_is_not_given_and_a_delivered_dose_cannot_be_called_so(
    world: World,
) -> None:
    saline_id = saline_lot(world, "NS-FULL")
    full, given = _session(world, "PBO", "FULL-1"), _session(world, "PBO", "FULL-2")
    for session_id in (full, given):
        _prepare_placebo(world, session_id, saline_id)
        set_up(world, session_id, mesh_device(world))
        act(world, "supervisor", session_id)
        act(world, "start", session_id)
        world.clock.advance(timedelta(minutes=1))
        act(world, "stop", session_id, reason="adverse_event")
    act(world, "residual", full, residual_ml=3.0)  # the whole fill left: the engine is not called
    with world.action(Role.NURSE) as ctx:
        view = inhalation.current_view(ctx=ctx, settings=world.settings, session_id=full)
    assert view["final"] is None
    assert view["dose_delivered"] is False
    with pytest.raises(RuleViolation, match="the whole fill is still in the nebulizer"):
        _sign(world, full)
    _sign(world, full, no_dose_given=True)
    assert _state(world, full) == State.MONITORING.value
    act(world, "residual", given, residual_ml=2.6)
    with pytest.raises(RuleViolation, match="do not sign it as not given"):
        _sign(world, given, no_dose_given=True)
    _sign(world, given)
    assert _state(world, given) == State.MONITORING.value
