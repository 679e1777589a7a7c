"""Tables for step 3: the nebulizer register, the inhalation run and its dose estimates.

- :class:`Device` — one nebulizer in a site's register, linked to the dose
  engine's catalog (``catalog_id``) so its aerosol values are known. Devices
  are retired with a reason, never deleted, because past runs point at them.
- :class:`InhalationRun` — one supervised nebulization of a session: the
  device, regimen, breathing pattern and fill used, who supervised, the run
  state, the residual volume and the signature. The state is also kept as the
  ordered :class:`RunEvent` rows, from which the pure run is rebuilt (so a page
  reload or a second app worker sees the same run).
- :class:`RunEvent` — one action on the run with the *server's* timestamp and
  who did it (start, pause with a reason, resume, stop with a reason, the
  residual volume, the supervisor's presence, an inhaler actuation with its
  technique checklist in ``detail``).
- :class:`DoseEstimate` — a preview (before start) or final (after the
  residual volume) estimate: the inputs the engine resolved, model name and
  version, fractions and particle counts per region, the intact-vesicle
  estimate and the per-generation data as JSON. Previews are kept when
  recomputed; the newest of each stage is the current one.

The preparation this run uses is named by ``preparation_id`` as a plain
integer: the preparation tables belong to step 2, and this step reads them
only through ``preparation.service.verified_dose``. Nothing here points at
``audit_event``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exoneb.core.db import Base, UTCDateTime


class Device(Base):
    """One nebulizer in a site's register (``reference/clinical.md`` §2.5)."""

    __tablename__ = "inhalation_device"
    __table_args__ = (UniqueConstraint("site_id", "make", "model", "serial_or_lot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    make: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))  # catalog kind, e.g. vibrating-mesh
    serial_or_lot: Mapped[str] = mapped_column(String(100))
    interface: Mapped[str] = mapped_column(String(40))  # mouthpiece | valved-mask | …
    validated_with_product: Mapped[bool] = mapped_column(Boolean)
    catalog_id: Mapped[str | None] = mapped_column(String(60))  # dose-engine catalog key
    catalog_match: Mapped[str] = mapped_column(String(40))  # how the key was found
    status: Mapped[str] = mapped_column(String(20))  # active | retired
    retire_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class InhalationRun(Base):
    """The supervised nebulization of one session (one run per session)."""

    __tablename__ = "inhalation_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    preparation_id: Mapped[int] = mapped_column(Integer)  # step 2's record, by number only
    device_id: Mapped[int] = mapped_column(ForeignKey("inhalation_device.id"), index=True)
    catalog_id: Mapped[str] = mapped_column(String(60))
    interface: Mapped[str] = mapped_column(String(40))
    regimen_id: Mapped[str] = mapped_column(String(60))
    dose_unit: Mapped[str] = mapped_column(String(20))
    loaded_dose: Mapped[float] = mapped_column(Float)
    fill_ml: Mapped[float] = mapped_column(Float)
    breathing: Mapped[dict[str, Any]] = mapped_column(JSON)
    # An inhaler run (pMDI/DPI, migration 0008): the plan (kind, actuations planned, emitted
    # dose per actuation and unit, planned breath-hold); NULL for a nebulization, whose
    # fill_ml is then the reservoir fill (0 for an inhaler, which has none).
    inhaler: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    planned_duration_s: Mapped[float | None] = mapped_column(Float)
    device_warnings: Mapped[list[Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))  # not_started | running | paused | stopped
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    supervisor_name: Mapped[str | None] = mapped_column(String(200))
    supervisor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(40))
    stop_note: Mapped[str | None] = mapped_column(Text)
    interruptions: Mapped[int] = mapped_column(Integer)
    interruption_s: Mapped[float] = mapped_column(Float)
    nebulization_s: Mapped[float | None] = mapped_column(Float)
    residual_ml: Mapped[float | None] = mapped_column(Float)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it)


class RunEvent(Base):
    """One action on a run, in order, with the server's time and who did it."""

    __tablename__ = "inhalation_run_event"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("inhalation_run.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))  # supervisor | start | pause | …
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    residual_ml: Mapped[float | None] = mapped_column(Float)
    # The technique checklist of an inhaler actuation (migration 0008); NULL otherwise.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(200))


class DoseEstimate(Base):
    """A stored lung-dose estimate of a run (preview or final) with what it came from."""

    __tablename__ = "inhalation_dose_estimate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("inhalation_run.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    stage: Mapped[str] = mapped_column(String(10))  # preview | final
    regimen_id: Mapped[str] = mapped_column(String(60))
    dose_unit: Mapped[str] = mapped_column(String(20))
    loaded_dose: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(40))
    model_version: Mapped[str] = mapped_column(String(40))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    fractions_of_loaded: Mapped[dict[str, Any]] = mapped_column(JSON)
    fractions_of_inhaled: Mapped[dict[str, Any]] = mapped_column(JSON)
    particles: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    by_generation: Mapped[list[Any] | None] = mapped_column(JSON)
    lung_particles: Mapped[float | None] = mapped_column(Float)
    alveolar_particles: Mapped[float | None] = mapped_column(Float)
    lung_intact_particles: Mapped[float | None] = mapped_column(Float)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)  # DoseEstimate.to_dict(), complete
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
