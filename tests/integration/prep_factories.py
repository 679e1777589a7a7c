"""Builders for step 2 tests (and the steps after it): lots, a cleared session, a verified dose.

``verified_session(world)`` gives a session in state *verified* with a dose
prepared by the pharmacist and verified by the nurse, the way a clinic does it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from exoneb.accounts.permissions import Role
from exoneb.assessment import service as assessment
from exoneb.assessment.schemas import SignIn
from exoneb.preparation import service as prep
from exoneb.preparation.schemas import (
    LotReceiveIn,
    PrepareIn,
    ReleaseIn,
    SalineLotIn,
    ThawIn,
    VerifyIn,
)
from exoneb.sessions import service as sessions
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World
from .test_assessment_service import decided

GOOD_MARKERS = {"CD9": True, "CD63": True, "CD81": True, "TSG101": True, "calnexin": False}


def lot_data(lot_number: str = "EV-0001", **overrides: Any) -> LotReceiveIn:
    """A certificate meeting every default release criterion (reference/clinical.md §2.3)."""
    values: dict[str, Any] = {
        "protocol_id": "demo-exo-01",
        "product_name": "MSC-EV inhalation suspension",
        "manufacturer": "Demo Biologics",
        "lot_number": lot_number,
        "certificate_id": f"COA-{lot_number}",
        "expires_at": datetime(2026, 7, 1, tzinfo=UTC),
        "storage_min_c": -90.0,
        "storage_max_c": -60.0,
        "vial_count": 4,
        "volume_per_vial_ml": 1.0,
        "labelled_particles_per_ml": 2.0e9,
        "certified_particles_per_ml": 2.0e9,
        "concentration_method": "NTA, NanoSight NS300",
        "size_mode_nm": 120.0,
        "size_window_low_nm": 50.0,
        "size_window_high_nm": 400.0,
        "size_within_window_percent": 95.0,
        "protein_ug_per_ml": 0.05,
        "particle_protein_ratio_per_ug": 4.0e10,
        "markers": dict(GOOD_MARKERS),
        "sterility": "negative",
        "endotoxin_eu_per_ml": 0.1,
        "mycoplasma": "negative",
        "cell_tissue": "umbilical cord",
        "donor_code": "D-017",
        "passage": 4,
        "cell_bank_id": "WCB-2",
    }
    values.update(overrides)
    return LotReceiveIn.model_validate(values)


def received_lot(world: World, lot_number: str = "EV-0001", **overrides: Any) -> int:
    """A lot in quarantine: its id."""
    with world.action(Role.PHARMACIST) as ctx:
        return prep.receive_lot(
            ctx=ctx, settings=world.settings, data=lot_data(lot_number, **overrides)
        ).id


def released_lot(world: World, lot_number: str = "EV-0001", **overrides: Any) -> int:
    """A released lot: its id."""
    lot_id = received_lot(world, lot_number, **overrides)
    with world.action(Role.PHARMACIST) as ctx:
        lot = prep.get_lot(ctx=ctx, lot_id=lot_id)
        prep.release_lot(
            ctx=ctx,
            settings=world.settings,
            lot_id=lot_id,
            data=ReleaseIn(version=lot.version, password=PASSWORD),
        )
    return lot_id


def saline_lot(world: World, lot_number: str = "NS-0001", **overrides: Any) -> int:
    """A saline lot (released on receipt): its id."""
    values: dict[str, Any] = {
        "manufacturer": "Demo Pharma",
        "lot_number": lot_number,
        "expires_at": datetime(2027, 1, 1, tzinfo=UTC),
        "container_count": 20,
        "volume_per_container_ml": 10.0,
    }
    values.update(overrides)
    with world.action(Role.PHARMACIST) as ctx:
        return prep.receive_saline_lot(ctx=ctx, data=SalineLotIn.model_validate(values)).id


def move(world: World, session_id: int, target: State, role: Role = Role.NURSE) -> str:
    """Move the session (the nurse by default)."""
    with world.action(role) as ctx:
        s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        return sessions.move(ctx=ctx, session_id=session_id, target=target, version=s.version).state


def cleared_session(world: World, mrn: str = "MRN-1") -> int:
    """A session whose signed assessment cleared the patient, moved to *cleared*: its id."""
    session_id, a = decided(world, mrn)
    with world.action(Role.PHYSICIAN) as ctx:
        assessment.sign(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )
    move(world, session_id, State.ASSESSED)
    move(world, session_id, State.CLEARED)
    return session_id


def thaw(world: World, lot_id: int | None = None) -> int:
    """Thaw one vial (FEFO): its id."""
    with world.action(Role.PHARMACIST) as ctx:
        return prep.thaw_vial(ctx=ctx, settings=world.settings, data=ThawIn(lot_id=lot_id)).id


def prepare(
    world: World, session_id: int, saline_id: int, role: Role = Role.PHARMACIST, **extra: Any
) -> int:
    """Prepare and sign the session's dose: the preparation id."""
    values: dict[str, Any] = {"saline_lot_id": saline_id, "appearance_ok": True}
    values.update(extra)
    with world.action(role) as ctx:
        return prep.prepare(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=PrepareIn(password=PASSWORD, **values),
        ).id


def verify(world: World, session_id: int, role: Role = Role.NURSE) -> None:
    """The second person verifies the session's dose."""
    with world.action(role) as ctx:
        p = prep.active_preparation(ctx, session_id)
        assert p is not None
        prep.verify(
            ctx=ctx,
            settings=world.settings,
            session_id=session_id,
            data=VerifyIn(version=p.version, password=PASSWORD),
        )


def verified_session(world: World, mrn: str = "MRN-1") -> int:
    """A session in state *verified*, its dose prepared by the pharmacist, verified by the nurse."""
    lot_id = released_lot(world, f"EV-{mrn}")
    saline_id = saline_lot(world, f"NS-{mrn}")
    session_id = cleared_session(world, mrn)
    thaw(world, lot_id)
    prepare(world, session_id, saline_id, lot_id=lot_id)
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    move(world, session_id, State.VERIFIED)
    return session_id
