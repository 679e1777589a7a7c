"""JSON API for the nebulizer register and a session's inhalation run.

``/api/v1/devices`` is the register; ``/api/v1/sessions/{id}/inhalation`` the
run: set-up (device, breathing; stores a preview estimate), supervisor, start,
pause, resume, stop, residual (stores the final estimate) and sign. An inhaler
run (pMDI, DPI) records ``actuation``s instead and stores its final estimate
at ``stop`` (no residual volume). Every run
edit sends the run ``version`` it loaded (409 when stale). The timer values in
the answer (``elapsed_s``, ``remaining_s``, ``interruption_s``) are computed on
the server from the stored events at ``now``.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from exoneb.core.context import Ctx
from exoneb.inhalation import service
from exoneb.inhalation.schemas import (
    ActuationIn,
    CumulativeOut,
    DeviceIn,
    DeviceOut,
    DeviceUpdate,
    PauseIn,
    ResidualIn,
    RetireIn,
    RunOut,
    SetUpIn,
    SignIn,
    StopIn,
    Versioned,
)
from exoneb.web.deps import Auth, AuthDep

router = APIRouter(tags=["inhalation"])
RUN = "/sessions/{session_id}/inhalation"


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(auth: AuthDep, include_retired: bool = True) -> list[DeviceOut]:
    """The site's nebulizer register with catalog links and warnings."""
    with auth.action() as ctx:
        rows = service.devices(ctx=ctx, include_retired=include_retired)
        return [DeviceOut.model_validate(service.device_view(d)) for d in rows]


@router.post("/devices", response_model=DeviceOut, status_code=status.HTTP_201_CREATED)
def register_device(data: DeviceIn, auth: AuthDep) -> DeviceOut:
    """Add a nebulizer to the register (linked to the dose engine's catalog)."""
    with auth.action() as ctx:
        return DeviceOut.model_validate(
            service.device_view(service.register_device(ctx=ctx, data=data))
        )


@router.put("/devices/{device_id}", response_model=DeviceOut)
def update_device(device_id: int, data: DeviceUpdate, auth: AuthDep) -> DeviceOut:
    """Correct a register entry (send the version loaded)."""
    with auth.action() as ctx:
        device = service.update_device(ctx=ctx, device_id=device_id, data=data)
        return DeviceOut.model_validate(service.device_view(device))


@router.post("/devices/{device_id}/retire", response_model=DeviceOut)
def retire_device(device_id: int, data: RetireIn, auth: AuthDep) -> DeviceOut:
    """Take a device out of use, with a reason (it stays in the register)."""
    with auth.action() as ctx:
        device = service.retire_device(ctx=ctx, device_id=device_id, data=data)
        return DeviceOut.model_validate(service.device_view(device))


def _current(ctx: Ctx, auth: Auth, session_id: int) -> RunOut:
    return RunOut.model_validate(
        service.current_view(ctx=ctx, settings=auth.state.settings, session_id=session_id)
    )


@router.get(RUN, response_model=RunOut)
def read_run(session_id: int, auth: AuthDep) -> RunOut:
    """The session's run, its timer, interruptions and estimates (audited read)."""
    with auth.action() as ctx:
        run = service.get_run(ctx=ctx, session_id=session_id)
        return RunOut.model_validate(
            service.run_view(ctx=ctx, settings=auth.state.settings, run=run)
        )


@router.post(f"{RUN}/setup", response_model=RunOut)
def set_up(session_id: int, data: SetUpIn, auth: AuthDep) -> RunOut:
    """Choose device and breathing pattern before start; stores a preview dose estimate."""
    with auth.action() as ctx:
        service.set_up(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/supervisor", response_model=RunOut)
def supervisor(session_id: int, data: Versioned, auth: AuthDep) -> RunOut:
    """Record the acting staff member as the supervisor present."""
    with auth.action() as ctx:
        service.record_supervisor(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/start", response_model=RunOut)
def start(session_id: int, data: Versioned, auth: AuthDep) -> RunOut:
    """Switch the nebulizer on (verified dose and supervisor needed); session → inhaling."""
    with auth.action() as ctx:
        service.start(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/pause", response_model=RunOut)
def pause(session_id: int, data: PauseIn, auth: AuthDep) -> RunOut:
    """Interrupt nebulization with a reason."""
    with auth.action() as ctx:
        service.pause(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/resume", response_model=RunOut)
def resume(session_id: int, data: Versioned, auth: AuthDep) -> RunOut:
    """Continue after a pause."""
    with auth.action() as ctx:
        service.resume(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/stop", response_model=RunOut)
def stop(session_id: int, data: StopIn, auth: AuthDep) -> RunOut:
    """End nebulization with a reason."""
    with auth.action() as ctx:
        service.stop(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/actuation", response_model=RunOut)
def actuation(session_id: int, data: ActuationIn, auth: AuthDep) -> RunOut:
    """Record one inhaler actuation (pMDI, DPI) with its technique checklist."""
    with auth.action() as ctx:
        service.actuate(ctx=ctx, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/residual", response_model=RunOut)
def residual(session_id: int, data: ResidualIn, auth: AuthDep) -> RunOut:
    """Record the residual volume; stores the final dose estimate."""
    with auth.action() as ctx:
        service.record_residual(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data
        )
        return _current(ctx, auth, session_id)


@router.post(f"{RUN}/sign", response_model=RunOut)
def sign(session_id: int, data: SignIn, auth: AuthDep) -> RunOut:
    """The supervisor signs the step (password re-entered); session → monitoring."""
    with auth.action() as ctx:
        service.sign(ctx=ctx, settings=auth.state.settings, session_id=session_id, data=data)
        return _current(ctx, auth, session_id)


@router.get("/patients/{patient_id}/inhalation/cumulative", response_model=CumulativeOut)
def cumulative(patient_id: int, auth: AuthDep) -> CumulativeOut:
    """The patient's estimated lung and alveolar vesicle dose, all sessions (model estimate)."""
    with auth.action() as ctx:
        total = service.cumulative_for(ctx=ctx, patient_id=patient_id)
        return CumulativeOut.model_validate(total.to_dict())
