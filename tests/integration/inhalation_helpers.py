"""Builders for the inhalation tests: a verified session, a registered device, a run.

Steps 1 and 2 are stood in for by :class:`StandIn`: a fact provider that
says the assessment and the preparation of the sessions it knows are signed
and verified, and a verified-dose source handing over a :class:`VerifiedDose`
for them. Every move of the session still goes through the real session
service and its guards; only the other steps' records are not built.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from exoneb.accounts.permissions import Role
from exoneb.core.config import PROTOCOLS_DIR
from exoneb.core.context import Ctx
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import (
    ActuationIn,
    DeviceIn,
    PauseIn,
    ResidualIn,
    SetUpIn,
    StopIn,
    Versioned,
)
from exoneb.preparation.handoff import VerifiedDose
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import State

from .conftest import World
from .factories import planned_session

FILL_ML = 3.0
DOSE_PARTICLES = 2.0e8


@dataclass
class StandIn:
    """Stands in for steps 1–2 for the sessions it was given (see the module docstring)."""

    world: World
    doses: dict[int, VerifiedDose] = field(default_factory=dict)

    def facts(self, ctx: Ctx, session: TherapySession) -> sessions.FactContribution:
        """Assessment and preparation signed, eligibility cleared, second-person check done."""
        if session.id not in self.doses:
            return sessions.FactContribution()
        return sessions.FactContribution(
            signed_steps=frozenset({"assessment", "preparation"}),
            eligibility="cleared",
            flags={"verified_by_second_person": True},
        )

    def dose(self, ctx: Ctx, session_id: int) -> VerifiedDose | None:
        """The verified dose of a known session."""
        return self.doses.get(session_id)

    def verified_session(
        self, mrn: str | None = None, arm_code: str = "DL1", **dose: object
    ) -> tuple[int, int]:
        """A session moved to *verified* by the real state machine: (patient_id, session_id)."""
        patient_id, session_id = planned_session(
            self.world, mrn or f"I-{uuid.uuid4().hex[:8]}", arm_code=arm_code
        )
        now = self.world.clock.now()
        self.doses[session_id] = replace(
            VerifiedDose(
                preparation_id=1000 + session_id, session_id=session_id, lot_id=1,
                lot_number="EV-LOT-1", product_name="MSC-EV", dose_level="DL1",
                dose_particles=DOSE_PARTICLES, concentration_particles_per_ml=1.0e9,
                stock_volume_ml=0.2, saline_volume_ml=2.8, fill_volume_ml=FILL_ML,
                nebulizer_key="aerogen-solo", prepared_by="Pharmacist One",
                prepared_at=now - timedelta(minutes=30), use_by=now + timedelta(hours=2),
                verified_by="Nurse Two", verified_at=now - timedelta(minutes=20),
            ),
            **dose,
        )  # fmt: skip
        for target in (State.ASSESSED, State.CLEARED, State.PREPARED, State.VERIFIED):
            with self.world.action(Role.NURSE) as ctx:
                s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
                sessions.move(ctx=ctx, session_id=session_id, target=target, version=s.version)
        return patient_id, session_id


@contextmanager
def stand_in(world: World) -> Iterator[StandIn]:
    """Install a :class:`StandIn` for the duration of a test (removed afterwards)."""
    fake = StandIn(world)
    sessions.register_fact_provider(fake.facts)
    previous = inhalation.use_verified_dose_source(fake.dose)
    try:
        yield fake
    finally:
        inhalation.use_verified_dose_source(previous)
        sessions._FACT_PROVIDERS.remove(fake.facts)


def mesh_device(world: World, **overrides: object) -> int:
    """An Aerogen Solo (vibrating mesh, mouthpiece, validated) in the register: its id."""
    values: dict[str, object] = {
        "make": "Aerogen", "model": "Solo", "kind": "vibrating-mesh",
        "serial_or_lot": f"SN-{uuid.uuid4().hex[:6]}", "interface": "mouthpiece",
        "validated_with_product": True,
    }  # fmt: skip
    values.update(overrides)
    with world.action(Role.NURSE) as ctx:
        return inhalation.register_device(ctx=ctx, data=DeviceIn.model_validate(values)).id


def set_up(world: World, session_id: int, device_id: int, role: Role = Role.NURSE) -> int:
    """Set the run up with relaxed tidal breathing: the run version."""
    with world.action(role) as ctx:
        run = inhalation.set_up(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=SetUpIn(device_id=device_id),
        )  # fmt: skip
        return run.version


def act(world: World, name: str, session_id: int, role: Role = Role.NURSE, **data: object) -> int:
    """Run one run action as ``role`` with the current run version: the new version."""
    with world.action(role) as ctx:
        run = inhalation.current_run(ctx=ctx, session_id=session_id)
        assert run is not None
        version = run.version
        if name == "supervisor":
            done = inhalation.record_supervisor(
                ctx=ctx, session_id=session_id, data=Versioned(version=version)
            )
        elif name == "start":
            done = inhalation.start(ctx=ctx, session_id=session_id, data=Versioned(version=version))
        elif name == "pause":
            done = inhalation.pause(
                ctx=ctx, session_id=session_id, data=PauseIn(version=version, **data)
            )
        elif name == "resume":
            done = inhalation.resume(
                ctx=ctx, session_id=session_id, data=Versioned(version=version)
            )
        elif name == "stop":
            done = inhalation.stop(
                ctx=ctx, settings=world.settings, session_id=session_id,
                data=StopIn(version=version, **data),
            )  # fmt: skip
        elif name == "actuation":
            done = inhalation.actuate(
                ctx=ctx, session_id=session_id, data=ActuationIn(version=version, **data)
            )
        elif name == "residual":
            done = inhalation.record_residual(
                ctx=ctx, settings=world.settings, session_id=session_id,
                data=ResidualIn(version=version, **data),
            )  # fmt: skip
        else:
            raise AssertionError(name)
        return done.version


def stopped_run(fake: StandIn, minutes_running: float = 8.0) -> tuple[int, int]:
    """A run started, paused once for a cough, resumed, stopped: (patient_id, session_id)."""
    world = fake.world
    patient_id, session_id = fake.verified_session()
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(minutes=2))
    act(world, "pause", session_id, reason="cough")
    world.clock.advance(timedelta(seconds=90))
    act(world, "resume", session_id)
    world.clock.advance(timedelta(minutes=minutes_running - 2))
    act(world, "stop", session_id, reason="output_stopped")
    return patient_id, session_id


def protocol_with_arms(directory: Path, *arms: dict[str, Any]) -> Path:
    """The demo protocol with more arms (and their regimens allowed), written to ``directory``."""
    data = yaml.safe_load((PROTOCOLS_DIR / "demo-exo-01.yaml").read_text("utf-8"))
    codes = {arm["code"] for arm in arms}  # an arm given here replaces the demo's of that code
    data["arms"] = [a for a in data["arms"] if a["code"] not in codes] + list(arms)
    allowed = {r["id"] for r in data["inhalation"]["regimens"]}
    for arm in arms:
        if arm.get("regimen") and arm["regimen"] not in allowed:
            allowed.add(arm["regimen"])
            data["inhalation"]["regimens"].append(
                {"id": arm["regimen"], "source": "test protocol [design default]"}
            )
    (directory / "demo-exo-01.yaml").write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return directory
