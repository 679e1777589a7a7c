"""Request and response models of the inhalation API (and the service's inputs).

Every edit of a run or a device carries the ``version`` the client loaded, so
a stale edit is a 409 naming who changed it first. Clinical ranges (a residual
larger than the fill, a breathing pattern the dose model does not cover, an
unknown catalog device) are checked by the pure rules and come back as 422/409
with the reason; here only the shape and the obviously impossible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PauseReasonName = Literal["cough", "desaturation", "patient_request", "device_problem", "other"]
StopReasonName = Literal[
    "output_stopped",
    "sputtering",
    "planned_duration_reached",
    "actuations_given",
    "adverse_event",
    "other",
]
InterfaceName = Literal["mouthpiece", "valved-mask", "open-aerosol-mask"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Versioned(_In):
    """Any edit: the record version the client loaded."""

    version: int = Field(ge=1)


class DeviceIn(_In):
    """A nebulizer to add to the site's register."""

    make: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=100)
    kind: str = Field(min_length=1, max_length=40)
    serial_or_lot: str = Field(min_length=1, max_length=100)
    interface: InterfaceName
    validated_with_product: bool = False
    catalog_id: str | None = Field(default=None, max_length=60)
    note: str | None = Field(default=None, max_length=2000)


class DeviceUpdate(DeviceIn):
    """A register entry corrected (e.g. validated with the product, catalog device chosen)."""

    version: int = Field(ge=1)


class RetireIn(Versioned):
    """Take a device out of use, with the reason (it stays in the register)."""

    reason: str = Field(min_length=1, max_length=2000)


class SetUpIn(_In):
    """The device and the breathing pattern for a session's run (before start).

    ``breathing`` names a preset (``relaxed-tidal``, ``shallow-fast``, ``slow-deep``);
    or ``custom`` with the tidal volume and rate given.
    """

    device_id: int = Field(ge=1)
    breathing: str = Field(default="relaxed-tidal", min_length=1, max_length=40)
    tidal_volume_ml: float | None = Field(default=None, gt=0)
    breaths_per_min: float | None = Field(default=None, gt=0)
    inspiratory_fraction: float | None = Field(default=None, gt=0, lt=1)
    version: int | None = Field(default=None, ge=1)
    # An inhaler (pMDI, DPI) instead of the breathing pattern: the prescribed actuations,
    # the labelled emitted dose per actuation (in the verified dose's unit), planned hold.
    actuations_planned: int | None = Field(default=None, ge=1, le=20)
    dose_per_actuation: float | None = Field(default=None, gt=0)
    breath_hold_s: float | None = Field(default=None, ge=0, le=30)


class PauseIn(Versioned):
    """Interrupt nebulization; ``note`` is required with reason ``other``."""

    reason: PauseReasonName
    note: str = Field(default="", max_length=2000)


class StopIn(Versioned):
    """End nebulization; ``note`` is required with reason ``other``."""

    reason: StopReasonName
    note: str = Field(default="", max_length=2000)


class ResidualIn(Versioned):
    """The volume left in the device; optionally the breathing measured during the run."""

    residual_ml: float = Field(ge=0)
    measured_tidal_volume_ml: float | None = Field(default=None, gt=0)
    measured_breaths_per_min: float | None = Field(default=None, gt=0)


class ActuationIn(Versioned):
    """One inhaler actuation and its technique checklist: every item answered, none assumed."""

    prepared: bool
    spacer: bool
    exhaled_before: bool
    seal: bool
    manoeuvre_done: bool
    breath_hold_s: float = Field(ge=0, le=30)


class SignIn(Versioned):
    """The supervisor signs the inhalation step (meaning "performed"; password re-entered).

    ``no_dose_given`` must be set — and only then — when the run delivered
    nothing (an inhaler run stopped before any actuation, or a nebulizer with
    the whole fill left in the cup): the step is then signed as "not given".
    """

    password: str = Field(min_length=1, max_length=1000)
    no_dose_given: bool = False


class DeviceOut(BaseModel):
    """A register entry with its catalog link and warnings."""

    id: int
    make: str
    model: str
    kind: str
    serial_or_lot: str
    interface: str
    validated_with_product: bool
    catalog_id: str | None
    catalog_name: str | None
    catalog_match: str
    status: str
    retire_reason: str | None
    note: str | None
    warnings: list[dict[str, str]]
    version: int


class EstimateOut(BaseModel):
    """A stored dose estimate (the full record as the pure layer wrote it)."""

    id: int
    stage: str
    model: str
    model_version: str
    created_at: datetime
    created_by: str
    record: dict[str, Any]


class RunOut(BaseModel):
    """The run of a session as the timer page and the API show it."""

    id: int
    session_id: int
    session_state: str
    patient_id: int
    preparation_id: int
    device: DeviceOut
    regimen: dict[str, Any]
    interface: str
    fill_ml: float
    loaded_dose: float
    dose_unit: str
    breathing: dict[str, Any]
    breathing_instructions: list[str]
    inhaler: dict[str, Any] | None
    actuations: list[dict[str, Any]]
    planned_duration_s: float | None
    state: str
    allowed_actions: list[str]
    supervisor_name: str | None
    supervisor_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    stop_note: str | None
    now: datetime
    elapsed_s: float
    remaining_s: float | None
    interruption_s: float
    interruptions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    residual_ml: float | None
    device_warnings: list[dict[str, str]]
    preview: EstimateOut | None
    final: EstimateOut | None
    signed_at: datetime | None
    signed_by: str | None
    signature_valid: bool | None
    version: int


class CumulativeOut(BaseModel):
    """A patient's estimated vesicle dose summed over sessions (model estimate)."""

    lung_particles: float
    alveolar_particles: float
    lung_intact_particles: float | None
    sessions_counted: int
    sessions_voided: int
    sessions_other_units: int
    model_versions: list[str]
    statement: str
    other_units: dict[str, dict[str, float]]
