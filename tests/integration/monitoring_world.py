"""Builders for the monitoring tests: a session in ``monitoring`` and PCD-01 messages.

Every step before monitoring is real: the signed assessment (the monitoring
baseline), the prepared and second-person-verified dose (``prep_factories``),
and the inhalation run — set up, supervisor, start (→ ``inhaling``), stop,
residual, signature (→ ``monitoring``) — so the session's transitions carry the
real start and end of nebulization.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from exoneb.accounts.permissions import Role
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SignIn as InhalationSignIn
from exoneb.sessions.rules import State

from .conftest import PASSWORD, World
from .inhalation_helpers import act, mesh_device, set_up
from .prep_factories import (
    cleared_session,
    move,
    prepare,
    released_lot,
    saline_lot,
    thaw,
    verify,
)

#: Pre-session values of :func:`monitored_session` (test_assessment_service.VITALS, FEV1 pre).
BASELINE_SPO2_PCT = 95.0
BASELINE_HR_PER_MIN = 78.0
BASELINE_FEV1_L = 1.30

__all__ = ["hl7_message", "monitored_session", "move", "nebulize", "verified_session"]


_ANCHORS: dict[str, tuple[datetime, int]] = {}  # by database URL: (expiry anchor, saline lot)
_EARLIER = itertools.count()


def verified_session(world: World, mrn: str = "MRN-1") -> int:
    """A session in *verified*: real assessment, real preparation and second-person check.

    Each session gets its own one-vial product lot expiring before every lot made
    so far in its database, so first-expiry-first-out offers exactly that lot even
    in a shared world where other tests received lots (as the preparation runners
    of the permission matrix do); one saline lot per database.
    """
    key = world.settings.database_url
    if key not in _ANCHORS:
        expires = world.clock.now() + timedelta(days=365)
        saline_id = saline_lot(world, "NS-MONITOR", container_count=200, expires_at=expires)
        _ANCHORS[key] = (world.clock.now() + timedelta(days=60), saline_id)
    anchor, saline_id = _ANCHORS[key]
    expiry = anchor - timedelta(hours=next(_EARLIER))
    lot_id = released_lot(world, f"EV-M{uuid.uuid4().hex[:8]}", vial_count=1, expires_at=expiry)
    session_id = cleared_session(world, mrn)
    thaw(world, lot_id)
    prepare(world, session_id, saline_id, lot_id=lot_id)
    move(world, session_id, State.PREPARED)
    verify(world, session_id)
    move(world, session_id, State.VERIFIED)
    return session_id


def nebulize(world: World, session_id: int, nebulization_min: int = 10) -> None:
    """Step 3 for real: set up, supervisor, start, stop, residual, sign (→ monitoring)."""
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(minutes=nebulization_min))
    act(world, "stop", session_id, reason="output_stopped")
    version = act(world, "residual", session_id, residual_ml=0.3)
    with world.action(Role.NURSE) as ctx:
        inhalation.sign(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=InhalationSignIn(password=PASSWORD, version=version),
        )  # fmt: skip


def monitored_session(
    world: World, mrn: str = "MRN-1", nebulization_min: int = 10
) -> tuple[int, datetime]:
    """A session in ``monitoring``: (session id, end of nebulization = schedule time zero)."""
    session_id = verified_session(world, mrn)
    nebulize(world, session_id, nebulization_min)
    return session_id, world.clock.now()


def hl7_message(
    mrn: str,
    at: datetime,
    spo2_pct: float = 95,
    pulse_per_min: float = 80,
    control_id: str = "MSG000123",
) -> bytes:
    """An IHE PCD-01 ORU^R01 like the example of interop.md §3.1 (SpO2 and pulse rate)."""
    ts = at.strftime("%Y%m%d%H%M%S+0000")
    segments = [
        "MSH|^~\\&|MON01^0800190000000001^EUI-64|ICU|NEBSYS|CLINIC|"
        f"{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6|||NE|AL",
        f"PID|||{mrn}^^^CLINIC^MR||Doe^Jane",
        "PV1||O|NEB^BAY1",
        f"OBR|1|||182777000^monitoring of patient^SCT|||{ts}",
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
        f"OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|{spo2_pct:g}|262688^MDC_DIM_PERCENT^MDC"
        f"|||||R|||{ts}||||0800190000000001^EUI-64",
        f"OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|{pulse_per_min:g}|"
        f"264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||{ts}||||0800190000000001^EUI-64",
    ]
    return "\r".join(segments).encode()
