"""Builders for the monitoring tests: a session in ``monitoring`` and PCD-01 messages.

Step 1 is real (a signed assessment: the monitoring baseline). Step 2
(preparation) is stood in for by a fact provider that signs it for the test's
own sessions and hands the inhalation step a verified dose. Step 3 is the real
inhalation service: set up, supervisor, start (→ ``inhaling``), stop, residual,
signature (→ ``monitoring``), so the session's transitions carry the real start
and end of nebulization.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from exoneb.accounts.permissions import Role
from exoneb.assessment import service as assessment
from exoneb.assessment.schemas import SignIn
from exoneb.core.context import Ctx
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SignIn as InhalationSignIn
from exoneb.preparation.handoff import VerifiedDose
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State
from exoneb.sessions.service import FactContribution

from .conftest import PASSWORD, World
from .inhalation_helpers import act, mesh_device, set_up
from .test_assessment_service import decided

#: Pre-session values of :func:`monitored_session` (test_assessment_service.VITALS, FEV1 pre).
BASELINE_SPO2_PCT = 95.0
BASELINE_HR_PER_MIN = 78.0
BASELINE_FEV1_L = 1.30

STAND_IN: set[int] = set()


def _stand_in_steps(ctx: Ctx, session: TherapySession) -> FactContribution:
    if session.id not in STAND_IN:
        return FactContribution()
    return FactContribution(
        signed_steps=frozenset({"preparation"}), flags={"verified_by_second_person": True}
    )


sessions.register_fact_provider(_stand_in_steps)


def move(world: World, session_id: int, target: State, role: Role = Role.NURSE) -> str:
    """Move a session one step as ``role``."""
    with world.action(role) as ctx:
        s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        return sessions.move(ctx=ctx, session_id=session_id, target=target, version=s.version).state


def cleared_session(world: World, mrn: str = "MRN-1") -> int:
    """A session whose signed assessment cleared the patient (baseline vitals and FEV1 stored)."""
    session_id, a = decided(world, mrn)
    with world.action(Role.PHYSICIAN) as ctx:
        assessment.sign(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=SignIn(password=PASSWORD, version=a.version),
        )  # fmt: skip
    move(world, session_id, State.ASSESSED)
    move(world, session_id, State.CLEARED)
    STAND_IN.add(session_id)
    move(world, session_id, State.PREPARED)
    move(world, session_id, State.VERIFIED)
    return session_id


def _dose(world: World, session_id: int) -> VerifiedDose:
    now = world.clock.now()
    return VerifiedDose(
        preparation_id=5000 + session_id, session_id=session_id, lot_id=1,
        lot_number="EV-LOT-1", product_name="MSC-EV", dose_level="DL1", dose_particles=2.0e8,
        concentration_particles_per_ml=1.0e9, stock_volume_ml=0.2, saline_volume_ml=2.8,
        fill_volume_ml=3.0, nebulizer_key="aerogen-solo", prepared_by="Pharmacist One",
        prepared_at=now - timedelta(minutes=30), use_by=now + timedelta(hours=2),
        verified_by="Nurse Two", verified_at=now - timedelta(minutes=20),
    )  # fmt: skip


@contextmanager
def _dose_source(world: World, session_id: int) -> Iterator[None]:
    dose = _dose(world, session_id)
    previous = inhalation.use_verified_dose_source(
        lambda ctx, sid: dose if sid == session_id else previous(ctx, sid)
    )
    try:
        yield
    finally:
        inhalation.use_verified_dose_source(previous)


def nebulize(world: World, session_id: int, nebulization_min: int = 10) -> None:
    """Step 3 for real: set up, supervisor, start, stop, residual, sign (→ monitoring)."""
    with _dose_source(world, session_id):
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
    session_id = cleared_session(world, mrn)
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
