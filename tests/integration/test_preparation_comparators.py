"""Comparator arms prepared from real lots: a drug by inhaler or nebulizer, on both databases.

Issue #6: every regimen is a protocol arm sharing the same session workflow,
so step 2 prepares the standard-care arm's dose from a real medicinal product
lot, released by the pharmacist against its label, verified by a second
person, and the inhalation step reads it through ``verified_dose`` (no stand-in).

Reference values, worked by hand: a beclomethasone HFA pMDI of 100 µg per
actuation (Qvar 100 product information) for a 200 µg dose → 2 actuations; 150
µg → 1.5 actuations, refused. Salbutamol nebuliser solution 1 mg/mL (2.5 mg in
2.5 mL) for 2.5 mg in a 3.0 mL fill → 2.50 mL drug + 0.50 mL saline.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from numpy.testing import assert_allclose

from exoneb.accounts.permissions import Role
from exoneb.core.errors import InvalidInput
from exoneb.dosimetry import deposit
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SetUpIn, SignIn
from exoneb.preparation import service as prep
from exoneb.preparation.errors import (
    ActuationsNotWhole,
    DoseNotPreparable,
    LotQuarantined,
    ReleaseRefused,
    VerificationRefused,
    WrongProductForArm,
)
from exoneb.preparation.schemas import PlanIn, ProductLotIn, ProductPrepareIn, ProductReleaseIn
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World, seed_world
from .inhalation_helpers import act, mesh_device, protocol_with_arms
from .prep_factories import cleared_session, move, released_lot, saline_lot, verify

ARMS = (
    {"code": "SOC-PMDI", "label": "Beclomethasone 200 µg by pMDI",
     "regimen": "standard-inhaled-care", "dose_amount": 200.0, "dose_unit": "ug",
     "source": "mexvt"},
    {"code": "SOC-ODD", "label": "Beclomethasone 150 µg by pMDI",
     "regimen": "standard-inhaled-care", "dose_amount": 150.0, "dose_unit": "ug",
     "source": "mexvt"},
    {"code": "SOC-NEB", "label": "Salbutamol 2.5 mg by nebulizer",
     "regimen": "standard-inhaled-care", "dose_amount": 2.5, "dose_unit": "mg",
     "fill_volume_ml": 3.0, "source": "mexvt"},
    {"code": "CELLS", "label": "1.0 × 10^7 cells by nebulizer", "regimen": "stem-cell-inhalation",
     "dose_amount": 1.0e7, "dose_unit": "cells", "fill_volume_ml": 3.0, "source": "mexvt"},
)  # fmt: skip
PATIENT_BREATH = {"tidal_volume_ml": 1500.0, "breaths_per_min": 4.0,
                  "inspiratory_fraction": 0.2, "breath_hold_s": 10.0}  # fmt: skip
#: A beclomethasone HFA pMDI: 100 µg ex-actuator per actuation, 200 per canister.
PMDI_LABEL = {"product_name": "Beclomethasone HFA 100 µg pMDI", "dosage_form": "inhaler",
              "emitted_dose_ug": 100.0, "actuations_per_unit": 200}  # fmt: skip
TECHNIQUE = {"prepared": True, "spacer": False, "exhaled_before": True, "seal": True,
             "manoeuvre_done": True}  # fmt: skip


@pytest.fixture
def care(db_url: str, tmp_path: Path) -> Iterator[World]:
    """A world whose protocol has standard-care arms dosed in µg (pMDI) and mg (nebulizer)."""
    world = seed_world(db_url, protocols_dir=protocol_with_arms(tmp_path, *ARMS))
    try:
        yield world
    finally:
        world.factory.kw["bind"].dispose()


def _lot(world: World, number: str, **values: Any) -> int:
    data = {"kind": "drug", "protocol_id": "demo-exo-01", "manufacturer": "Demo Pharma",
            "lot_number": number, "expires_at": datetime(2027, 1, 1, tzinfo=UTC),
            "unit_count": 2} | values  # fmt: skip
    with world.action(Role.PHARMACIST) as ctx:
        return prep.receive_product_lot(
            ctx=ctx, settings=world.settings, data=ProductLotIn.model_validate(data)
        ).id


def _release(world: World, lot_id: int, **confirm: bool) -> None:
    checks = {"batch_matches": True, "expiry_matches": True, "identity_matches": True} | confirm
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.get_lot(ctx=ctx, lot_id=lot_id)
        prep.release_product_lot(ctx=ctx, settings=world.settings, lot_id=lot_id,
                                 data=ProductReleaseIn(version=lot.version, password=PASSWORD,
                                                       **checks))  # fmt: skip


def _pmdi_lot(world: World, number: str = "BDP-1") -> int:
    lot_id = _lot(world, number, **PMDI_LABEL)
    _release(world, lot_id)
    return lot_id


def _neb_lot(world: World, number: str = "SAL-1") -> int:
    lot_id = _lot(world, number, product_name="Salbutamol nebuliser solution 2.5 mg/2.5 mL",
                  dosage_form="solution", strength_per_ml=1.0, strength_unit="mg",
                  volume_per_unit_ml=2.5)  # fmt: skip
    _release(world, lot_id)
    return lot_id


def _session(world: World, arm: str, mrn: str) -> int:
    session_id = cleared_session(world, mrn)
    with world.factory() as db:  # the patient is enrolled in the comparator arm
        session = db.get(TherapySession, session_id)
        assert session is not None
        session.arm_code = arm
        db.commit()
    return session_id


def _prepare(world: World, session_id: int, lot_id: int, device: str, **extra: Any) -> None:
    with world.action(Role.PHARMACIST) as ctx:
        prep.prepare_product(ctx=ctx, settings=world.settings, session_id=session_id,
                             data=ProductPrepareIn(lot_id=lot_id, device_key=device,
                                                   appearance_ok=True, password=PASSWORD,
                                                   **extra))  # fmt: skip


def test_a_pmdi_arm_goes_from_a_drug_lot_through_verification_to_the_estimate_in_ug(
    care: World,
) -> None:
    world = care
    lot_id = _pmdi_lot(world)
    session_id = _session(world, "SOC-PMDI", "PM-1")
    _prepare(world, session_id, lot_id, "pmdi-extrafine")
    with world.action(Role.NURSE) as ctx:
        assert prep.verified_dose(ctx, session_id) is None  # not yet verified by a second person
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    move(world, session_id, State.VERIFIED)
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
        p = prep.active_preparation(ctx, session_id)
        assert p is not None
        assert p.actuations == 2
        assert p.saline_lot_id is None
    assert dose is not None
    assert (dose.dose_amount, dose.dose_unit, dose.dose_particles) == (200.0, "ug", 0.0)
    device = mesh_device(world, make="Teva", model="Qvar 100", kind="pmdi",
                         catalog_id="pmdi-extrafine", validated_with_product=False)  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        run = inhalation.set_up(ctx=ctx, settings=world.settings, session_id=session_id,
                                data=SetUpIn(device_id=device, actuations_planned=2,
                                             dose_per_actuation=100.0))  # fmt: skip
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    for _ in range(2):
        world.clock.advance(timedelta(seconds=40))
        act(world, "actuation", session_id, **TECHNIQUE, breath_hold_s=10.0)
    version = act(world, "stop", session_id, reason="actuations_given")
    with world.action(Role.NURSE) as ctx:
        view = inhalation.current_view(ctx=ctx, settings=world.settings, session_id=session_id)
        patient_id = ctx.db.get(TherapySession, session_id).patient_id  # type: ignore[union-attr]
        from exoneb.patients import service as patients

        patient = patients.load_visible(ctx, patient_id)
    record = view["final"]["record"]  # type: ignore[index]
    assert record["dose_unit"] == "µg"
    assert record["loaded_dose"] == 200.0
    engine = deposit(nebulizer="pmdi-extrafine", interface="mouthpiece", sex=patient.sex,
                     age_years=record["inputs"]["age_years"], height_cm=patient.height_cm,
                     **PATIENT_BREATH).to_dict()  # fmt: skip
    assert_allclose(record["amounts"]["lung"], 200.0 * engine["fractions_of_loaded"]["lung"],
                    rtol=1e-12)  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=SignIn(version=version, password=PASSWORD))  # fmt: skip
    assert run.id > 0


def test_a_nebulized_drug_arm_draws_volume_and_hands_over_mg(care: World) -> None:
    world = care
    lot_id, saline_id = _neb_lot(world), saline_lot(world, "NS-NEB")
    session_id = _session(world, "SOC-NEB", "NB-1")
    _prepare(world, session_id, lot_id, "aerogen-solo", saline_lot_id=saline_id)
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
        lot_vials = prep.vials_of(ctx=ctx, lot_id=lot_id)
    assert dose is not None
    assert (dose.dose_amount, dose.dose_unit) == (2.5, "mg")
    assert (dose.stock_volume_ml, dose.saline_volume_ml, dose.fill_volume_ml) == (2.5, 0.5, 3.0)
    assert [v.status for v in lot_vials] == ["used", "in_stock"]
    assert all(v.initial_ul == v.remaining_ul + v.used_ul + v.discarded_ul for v in lot_vials)


def test_refusals_wrong_product_for_the_arm_and_non_whole_actuations(care: World) -> None:
    world = care
    pmdi = _pmdi_lot(world)
    odd = _session(world, "SOC-ODD", "OD-1")
    with pytest.raises(ActuationsNotWhole, match=r"150 µg is 1\.5 actuations of 100 µg"):
        _prepare(world, odd, pmdi, "pmdi-extrafine")
    ev_lot = released_lot(world, "EV-CMP")
    pmdi_session = _session(world, "SOC-PMDI", "OD-2")
    with pytest.raises(WrongProductForArm, match="choose a medicinal product lot"):
        _prepare(world, pmdi_session, ev_lot, "pmdi-extrafine")
    with pytest.raises(WrongProductForArm, match="must be an inhaler"):
        _prepare(world, pmdi_session, _neb_lot(world), "pmdi-extrafine",
                 saline_lot_id=saline_lot(world, "NS-W"))  # fmt: skip
    exosome_session = cleared_session(world, "OD-3")  # arm DL1: particles
    with pytest.raises(WrongProductForArm, match="dosed in particles"):
        _prepare(world, exosome_session, pmdi, "pmdi-extrafine")
    with (  # the exosome path refuses a drug arm
        world.action(Role.PHARMACIST) as ctx,
        pytest.raises(DoseNotPreparable, match="gives no dose in particles"),
    ):
        prep.plan(ctx=ctx, settings=world.settings, session_id=pmdi_session,
                  data=PlanIn()).require()  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        assert prep.active_preparation(ctx, odd) is None  # nothing half-made


def test_a_drug_lot_is_released_only_with_every_label_check(care: World) -> None:
    world = care
    lot_id = _lot(world, "BDP-Q", **PMDI_LABEL)
    with pytest.raises(ReleaseRefused, match="failed: Product identity checked against the label"):
        _release(world, lot_id, identity_matches=False)
    session_id = _session(world, "SOC-PMDI", "RQ-1")
    with pytest.raises(LotQuarantined, match="quarantine"):
        _prepare(world, session_id, lot_id, "pmdi-extrafine")
    with pytest.raises(InvalidInput, match="emitted dose per actuation"):
        _lot(world, "BDP-X", product_name="x", dosage_form="inhaler")
    _release(world, lot_id)
    with world.action(Role.PHARMACIST) as ctx:
        (release, results), *_ = prep.releases_of(ctx=ctx, lot_id=lot_id)[::-1]
    assert [r.key for r in results] == ["label:batch", "label:expiry", "label:identity"]
    assert release.signature_id is not None


def test_a_cell_arm_is_made_up_like_particles_and_hands_over_cells(care: World) -> None:
    """1.0×10^7 cells at 5.0×10^6 cells/mL → 2.00 mL + 1.00 mL saline in a 3.0 mL fill."""
    world = care
    lot_id = _lot(world, "MSC-1", kind="cells", product_name="MSC suspension",
                  strength_per_ml=5.0e6, strength_unit="cells", volume_per_unit_ml=2.0)  # fmt: skip
    _release(world, lot_id)
    session_id = _session(world, "CELLS", "CL-1")
    _prepare(world, session_id, lot_id, "aerogen-solo", saline_lot_id=saline_lot(world, "NS-C"))
    move(world, session_id, State.PREPARED)
    with pytest.raises(VerificationRefused, match="prepared the dose cannot verify it"):
        verify(world, session_id, role=Role.PHARMACIST)  # the preparer cannot verify
    verify(world, session_id)
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
    assert dose is not None
    assert (dose.dose_amount, dose.dose_unit, dose.dose_particles) == (1.0e7, "cells", 0.0)
    assert (dose.stock_volume_ml, dose.saline_volume_ml) == (2.0, 1.0)
