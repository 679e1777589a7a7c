"""Inhalation on real step 1–2 records, on both databases.

The session is assessed and cleared (signed), its dose prepared by the
pharmacist from a released lot and verified by the nurse
(``prep_factories.verified_session``); the inhalation step then reads that
dose through ``preparation.service.verified_dose`` — no stand-in.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from numpy.testing import assert_allclose

from exoneb.accounts.permissions import Role
from exoneb.core.audit import verify_chain
from exoneb.core.errors import RuleViolation
from exoneb.dosimetry import deposit
from exoneb.inhalation import rules
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SignIn
from exoneb.preparation import service as prep
from exoneb.sessions import service as sessions

from .conftest import PASSWORD, World
from .inhalation_helpers import act, mesh_device, set_up
from .prep_factories import verified_session


def _session(world: World, session_id: int) -> tuple[str, int]:
    with world.action(Role.NURSE) as ctx:
        s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        return s.state, s.patient_id


def test_a_really_verified_dose_is_nebulized_and_signed_into_monitoring(world: World) -> None:
    session_id = verified_session(world, "RP-1")
    with world.action(Role.NURSE) as ctx:
        dose = prep.verified_dose(ctx, session_id)
    assert dose is not None
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    assert _session(world, session_id)[0] == "inhaling"
    world.clock.advance(timedelta(minutes=3))
    act(world, "pause", session_id, reason="desaturation")
    world.clock.advance(timedelta(minutes=1))
    act(world, "resume", session_id)
    world.clock.advance(timedelta(minutes=4))
    act(world, "stop", session_id, reason="output_stopped")
    version = act(world, "residual", session_id, residual_ml=0.25)
    with world.action(Role.NURSE) as ctx:
        run = inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                              data=SignIn(password=PASSWORD, version=version))  # fmt: skip
        view = inhalation.run_view(ctx=ctx, settings=world.settings, run=run)
    state, patient_id = _session(world, session_id)
    assert state == "monitoring"
    # What was nebulized is what step 2 prepared and verified.
    assert view["preparation_id"] == dose.preparation_id
    assert view["fill_ml"] == dose.fill_volume_ml
    assert view["loaded_dose"] == dose.dose_particles
    assert view["elapsed_s"] == 7 * 60
    assert view["interruption_s"] == 60
    record = view["final"]["record"]
    with world.action(Role.NURSE) as ctx:
        from exoneb.patients import service as patients

        patient = patients.load_visible(ctx, patient_id)
    engine = deposit(
        nebulizer="aerogen-solo", interface="mouthpiece", fill_ml=dose.fill_volume_ml,
        residual_ml=0.25, dose_particles=dose.dose_particles, sex=patient.sex,
        age_years=record["inputs"]["age_years"], height_cm=patient.height_cm,
        tidal_volume_ml=500.0, breaths_per_min=15.0, inspiratory_fraction=0.4,
        breath_hold_s=0.0,
    ).to_dict()  # fmt: skip
    for region, value in engine["particles"].items():
        assert_allclose(record["particles"][region], value, rtol=1e-12)
    with world.factory() as db:
        assert verify_chain(db).ok


def test_a_discarded_dose_cannot_be_started(world: World) -> None:
    session_id = verified_session(world, "RP-2")
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    with world.action(Role.PHARMACIST) as ctx:
        from exoneb.preparation.schemas import DiscardPreparationIn

        p = prep.active_preparation(ctx, session_id)
        assert p is not None
        prep.discard_preparation(ctx=ctx, session_id=session_id,
                                 data=DiscardPreparationIn(reason="syringe dropped",
                                                                 version=p.version))  # fmt: skip
    with pytest.raises(rules.PreparationNotVerified):
        act(world, "start", session_id)
    assert _session(world, session_id)[0] == "verified"


def test_an_expired_dose_blocks_the_start(world: World) -> None:
    session_id = verified_session(world, "RP-3")
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    world.clock.advance(timedelta(hours=5))  # well past the 2 h hold after thaw (clinical.md §2.4)
    with pytest.raises(RuleViolation):
        act(world, "start", session_id)
    assert _session(world, session_id)[0] == "verified"
