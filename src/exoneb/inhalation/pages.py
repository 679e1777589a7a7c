"""The inhalation page of a session (the tablet at the nebulizer) and the device register page.

Plain forms (boosted by htmx as everywhere else): each button posts, the
service records the event with the server's time, and the page comes back
with the run rebuilt from the stored events. The timer shown is computed on
the server (elapsed nebulization time at the moment the page was rendered); a
small script (``static/inhalation-timer.js``) only keeps counting on screen
while the run is running, so a reload or a second tablet shows the same time.
The run panel is also refreshed every 20 s in the background, so an action
taken on another tablet appears without a reload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from exoneb.accounts.permissions import Action
from exoneb.core.context import Ctx
from exoneb.inhalation import service
from exoneb.inhalation.schemas import (
    ActuationIn,
    DeviceIn,
    DeviceUpdate,
    PauseIn,
    ResidualIn,
    RetireIn,
    SetUpIn,
    SignIn,
    StopIn,
    Versioned,
)
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.forms import act_in_action, parse, submit
from exoneb.web.security import POLL_HEADER
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)

PAUSE_REASONS = [
    ("cough", "Cough"),
    ("desaturation", "Desaturation"),
    ("patient_request", "Patient request"),
    ("device_problem", "Device problem"),
    ("other", "Other (say what)"),
]
STOP_REASONS = [
    ("output_stopped", "Output stopped (mesh: no more mist)"),
    ("sputtering", "Sputtering (jet: dose finished)"),
    ("planned_duration_reached", "Planned duration reached"),
    ("actuations_given", "Inhaler: every planned actuation given"),
    ("adverse_event", "Adverse event"),
    ("other", "Other (say what)"),
]
KINDS = [
    ("vibrating-mesh", "Vibrating mesh"),
    ("jet", "Jet"),
    ("breath-enhanced-jet", "Breath-enhanced jet"),
    ("ultrasonic", "Ultrasonic"),
    ("pmdi", "Pressurised metered-dose inhaler (pMDI)"),
    ("dpi", "Dry-powder inhaler (DPI)"),
]
#: The technique checklist of an inhaler actuation: each answered yes or no, none assumed.
TECHNIQUE = [
    ("prepared", "Inhaler prepared (pMDI: shaken, primed if new; DPI: dose loaded)"),
    ("spacer", "Spacer or valved holding chamber used (pMDI only)"),
    ("exhaled_before", "Breathed out fully first, away from the mouthpiece"),
    ("seal", "Lips sealed around the mouthpiece"),
    ("manoeuvre_done", "Inhalation done as instructed for this inhaler"),
]
INTERFACES = [
    ("mouthpiece", "Mouthpiece"),
    ("valved-mask", "Valved mask"),
    ("open-aerosol-mask", "Open aerosol mask"),
]
REGIONS = [
    ("extrathoracic", "Extrathoracic (nose, mouth, throat)"),
    ("bronchial", "Bronchial"),
    ("bronchiolar", "Bronchiolar"),
    ("alveolar", "Alveolar"),
    ("exhaled", "Exhaled"),
    ("residual", "Left in the device"),
    ("device_losses", "Device losses"),
    ("interface_losses", "Interface losses"),
    ("lost_during_exhalation", "Lost while breathing out"),
]


def _context(auth: Auth, data: service.Page) -> dict[str, Any]:
    return {
        "p": data, "r": data.run, "pause_reasons": PAUSE_REASONS, "stop_reasons": STOP_REASONS,
        "regions": REGIONS, "may_supervise": auth.can(Action.INHALATION_SUPERVISE),
        "technique": TECHNIQUE,
    }  # fmt: skip


def _page(
    request: Request,
    auth: Auth,
    session_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
    template: str = "inhalation/page.html",
) -> Response:
    refresh = request.headers.get(POLL_HEADER) == "1"
    with auth.action() as ctx:
        data = service.page(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, refresh=refresh
        )
    context = _context(auth, data) | {"errors": dict(errors or {}), "values": dict(values or {})}
    return render(request, template, context, auth=auth, status_code=status_code)


@router.get("/sessions/{session_id}/inhalation")
def show(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The inhalation page: set-up, supervisor, timer, pauses, stop, residual, estimate, sign."""
    return _page(request, auth, session_id)


@router.get("/sessions/{session_id}/inhalation/panel")
def panel(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The run panel alone (background refresh; not audited again)."""
    return _page(request, auth, session_id, template="inhalation/panel.html")


def _act(
    request: Request,
    auth: Auth,
    session_id: int,
    form: Mapping[str, str],
    run: Callable[[Ctx], object],
) -> Response:
    return act_in_action(
        auth.action,
        run,
        done_url=f"/sessions/{session_id}/inhalation",
        again=lambda errors, status: _page(request, auth, session_id, errors, form, status),
    )


def _submit(
    request: Request,
    auth: Auth,
    session_id: int,
    form: Mapping[str, str],
    model: type[M],
    run: Callable[[Ctx, M], object],
) -> Response:
    # ``form_name`` only tells the page which of two forms with the same fields to mark.
    return submit(
        model,
        {k: v for k, v in form.items() if k != "form_name"},
        auth.action,
        run,
        done_url=f"/sessions/{session_id}/inhalation",
        again=lambda errors, status: _page(request, auth, session_id, errors, form, status),
    )


@router.post("/sessions/{session_id}/inhalation/setup")
def set_up(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Choose device and breathing pattern; stores a preview dose estimate."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, SetUpIn,
        lambda ctx, d: service.set_up(ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/supervisor")
def supervisor(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record me as the supervisor present."""
    return _submit(
        request, auth, session_id, form, Versioned,
        lambda ctx, d: service.record_supervisor(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/start")
def start(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Switch the nebulizer on."""
    return _submit(
        request, auth, session_id, form, Versioned,
        lambda ctx, d: service.start(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/pause")
def pause(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Pause with a reason."""
    return _submit(
        request, auth, session_id, form, PauseIn,
        lambda ctx, d: service.pause(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/resume")
def resume(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Resume after a pause."""
    return _submit(
        request, auth, session_id, form, Versioned,
        lambda ctx, d: service.resume(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/stop")
def stop(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Stop with a reason (an inhaler run's final dose estimate is stored then)."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, StopIn,
        lambda ctx, d: service.stop(ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/actuation")
def actuation(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record one inhaler actuation with its technique checklist (every item answered)."""
    return _submit(
        request, auth, session_id, form, ActuationIn,
        lambda ctx, d: service.actuate(ctx=ctx, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/residual")
def residual(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Record the residual volume; the final dose estimate is computed and stored."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, ResidualIn,
        lambda ctx, d: service.record_residual(
            ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


@router.post("/sessions/{session_id}/inhalation/sign")
def sign(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """The supervisor signs the inhalation step; the session moves to monitoring."""
    settings = auth.state.settings
    return _submit(
        request, auth, session_id, form, SignIn,
        lambda ctx, d: service.sign(ctx=ctx, settings=settings, session_id=session_id, data=d),
    )  # fmt: skip


# --- the device register -------------------------------------------------------------------


def _devices_page(
    request: Request,
    auth: Auth,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with auth.action() as ctx:
        rows = [service.device_view(d) for d in service.devices(ctx=ctx)]
    context = {
        "devices": rows, "kinds": KINDS, "interfaces": INTERFACES,
        "may_manage": auth.can(Action.DEVICE_MANAGE), "errors": dict(errors or {}),
        "values": dict(values or {}),
    }  # fmt: skip
    return render(request, "inhalation/devices.html", context, auth=auth, status_code=status_code)


@router.get("/devices")
def devices(request: Request, auth: AuthDep) -> Response:
    """The site's nebulizer register."""
    return _devices_page(request, auth)


def _device_act(
    request: Request, auth: Auth, form: Mapping[str, str], run: Callable[[Ctx], object]
) -> Response:
    return act_in_action(
        auth.action,
        run,
        done_url="/devices",
        again=lambda errors, status: _devices_page(request, auth, errors, form, status),
    )


@router.post("/devices")
def register_device(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Add a device to the register."""
    parsed, errors = parse(DeviceIn, form)  # an unticked box is absent: not validated
    if parsed is None:
        return _devices_page(request, auth, errors, form, 422)
    return _device_act(
        request, auth, form, lambda ctx: service.register_device(ctx=ctx, data=parsed)
    )


@router.post("/devices/{device_id}/edit")
def update_device(request: Request, device_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Correct a register entry (e.g. validated with the product, another catalog device)."""
    parsed, errors = parse(DeviceUpdate, form)  # an unticked box is absent: not validated
    if parsed is None:
        return _devices_page(request, auth, errors, form, 422)
    return _device_act(
        request, auth, form,
        lambda ctx: service.update_device(ctx=ctx, device_id=device_id, data=parsed),
    )  # fmt: skip


@router.post("/devices/{device_id}/retire")
def retire_device(request: Request, device_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Take a device out of use, with a reason."""
    parsed, errors = parse(RetireIn, form)
    if parsed is None:
        return _devices_page(request, auth, errors, form, 422)
    return _device_act(
        request, auth, form,
        lambda ctx: service.retire_device(ctx=ctx, device_id=device_id, data=parsed),
    )  # fmt: skip
