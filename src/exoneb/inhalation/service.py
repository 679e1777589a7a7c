"""Inhalation actions: the device register, the supervised run, the dose estimate, the signature.

Each function checks the permission, applies the pure rules of
:mod:`exoneb.inhalation.rules`, writes its rows and one audit row inside the
caller's transaction (``ctx.db``). The run's state lives only in the database:
every action replays the stored events through the pure run
(:meth:`rules.InhalationRun.replay`), applies the new action with the
*server's* time, and stores one more event — so a page reload, a second tablet
or a second app worker always sees the same run and the same timer.

What step 2 hands over (the verified dose) is read through one seam,
:func:`verified_dose`; the preparation tables are never read here. At import
this module connects step 3 to the session state machine with a fact provider:
a supervisor recorded, the run started, the run stopped, the step signed.
The guards that read those facts are pure rules in ``sessions/rules.py``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from exoneb.accounts import service as accounts
from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import DuplicateRecord, InvalidInput, NotFound, RuleViolation, StaleEdit
from exoneb.dosimetry import nebulizer_catalog
from exoneb.inhalation import models as m
from exoneb.inhalation import rules
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
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.preparation import service as preparation
from exoneb.preparation.handoff import VerifiedDose
from exoneb.protocols import registry
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession
from exoneb.sessions.rules import FINAL_STATES, State
from exoneb.sessions.service import FactContribution, register_fact_provider

RUN_RECORD = "inhalation_run"
DEVICE_RECORD = "inhalation_device"
SIGN_MEANING = "performed"
SUPERVISOR_EVENT = "supervisor"
ACTIVE, RETIRED = "active", "retired"


# --- the hand-over from step 2 (one seam) ---------------------------------------------------

VerifiedDoseSource = Callable[[Ctx, int], VerifiedDose | None]


def _from_preparation(ctx: Ctx, session_id: int) -> VerifiedDose | None:
    """Step 2's verified dose of the session (``preparation.service.verified_dose``)."""
    return preparation.verified_dose(ctx, session_id)


_verified_dose_source: list[VerifiedDoseSource] = [_from_preparation]


def use_verified_dose_source(source: VerifiedDoseSource) -> VerifiedDoseSource:
    """Replace where verified doses come from; returns the previous source (tests restore it)."""
    previous = _verified_dose_source[0]
    _verified_dose_source[0] = source
    return previous


def verified_dose(*, ctx: Ctx, session_id: int) -> VerifiedDose | None:
    """The dose prepared for this session and verified by a second person, if any."""
    return _verified_dose_source[0](ctx, session_id)


# --- helpers -----------------------------------------------------------------------------


def _who(ctx: Ctx) -> str:
    return ctx.actor.full_name or ctx.actor.username


def _audit(
    ctx: Ctx,
    action: str,
    entity_type: str,
    entity_id: int,
    version: int,
    patient_id: int | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    audit.record(
        ctx=ctx, action=action, entity_type=entity_type, entity_id=entity_id,
        entity_version=version, patient_id=patient_id, before=before, after=after, reason=reason,
    )  # fmt: skip


def _touch(ctx: Ctx, row: m.Device | m.InhalationRun) -> None:
    row.updated_at = ctx.clock.now()
    row.updated_by = _who(ctx)
    flag_modified(row, "updated_at")  # an UPDATE (and a new version) even at the same instant
    ctx.db.flush()


def _stale(row: m.Device | m.InhalationRun, version: int, record: str) -> None:
    if row.version != version:
        raise StaleEdit(
            record=record, changed_by=row.updated_by, changed_at=row.updated_at,
            version=row.version,
        )  # fmt: skip


def _catalog_name(catalog_id: str | None) -> str | None:
    if catalog_id is None:
        return None
    spec = nebulizer_catalog().get(catalog_id)
    return None if spec is None else spec.name


# --- device register ---------------------------------------------------------------------


def _entry(data: DeviceIn) -> rules.DeviceEntry:
    return rules.DeviceEntry(
        make=data.make.strip(), model=data.model.strip(), kind=data.kind,
        serial_or_lot=data.serial_or_lot.strip(), interface=data.interface,
        validated_with_product=data.validated_with_product,
        catalog_id=data.catalog_id or None,
    )  # fmt: skip


def _entry_of(device: m.Device) -> rules.DeviceEntry:
    return rules.DeviceEntry(
        make=device.make, model=device.model, kind=device.kind,
        serial_or_lot=device.serial_or_lot, interface=device.interface,
        validated_with_product=device.validated_with_product, catalog_id=device.catalog_id,
    )  # fmt: skip


def _device_snapshot(d: m.Device) -> dict[str, Any]:
    return {
        "make": d.make, "model": d.model, "kind": d.kind, "serial_or_lot": d.serial_or_lot,
        "interface": d.interface, "validated_with_product": d.validated_with_product,
        "catalog_id": d.catalog_id, "catalog_match": d.catalog_match, "status": d.status,
        "note": d.note,
    }  # fmt: skip


def _site(ctx: Ctx) -> int:
    if ctx.actor.site_id is None:
        raise RuleViolation("Devices are registered by a site's staff; your account has no site.")
    return ctx.actor.site_id


def _duplicate(ctx: Ctx, site_id: int, entry: rules.DeviceEntry, own_id: int | None) -> None:
    clash = ctx.db.scalars(
        select(m.Device).where(
            m.Device.site_id == site_id, m.Device.make == entry.make,
            m.Device.model == entry.model, m.Device.serial_or_lot == entry.serial_or_lot,
        )
    ).first()  # fmt: skip
    if clash is not None and clash.id != own_id:
        raise DuplicateRecord(
            f"{entry.make} {entry.model} with serial or lot {entry.serial_or_lot} is already in "
            "the register."
        )


def register_device(*, ctx: Ctx, data: DeviceIn) -> m.Device:
    """Add a nebulizer to the site's register, linked to the dose engine's catalog."""
    authorize(ctx=ctx, action=Action.DEVICE_MANAGE)
    site_id = _site(ctx)
    entry = _entry(data)
    check = rules.check_device(entry, heat_sensitive_product=True)
    _duplicate(ctx, site_id, entry, None)
    now, who = ctx.clock.now(), _who(ctx)
    device = m.Device(
        site_id=site_id, make=entry.make, model=entry.model, kind=entry.kind,
        serial_or_lot=entry.serial_or_lot, interface=entry.interface,
        validated_with_product=entry.validated_with_product, catalog_id=check.catalog_id,
        catalog_match=check.match.how, status=ACTIVE, note=(data.note or "").strip() or None,
        created_at=now, created_by=who, updated_at=now, updated_by=who,
    )  # fmt: skip
    ctx.db.add(device)
    ctx.db.flush()
    _audit(ctx, "device.register", DEVICE_RECORD, device.id, device.version, None,
           after=_device_snapshot(device))  # fmt: skip
    return device


def _device(ctx: Ctx, device_id: int) -> m.Device:
    device = ctx.db.get(m.Device, device_id)
    if device is None or device.site_id != ctx.actor.site_id:
        raise NotFound("No such device in this site's register.")
    return device


def update_device(*, ctx: Ctx, device_id: int, data: DeviceUpdate) -> m.Device:
    """Correct a register entry (validation status, interface, catalog device, …)."""
    authorize(ctx=ctx, action=Action.DEVICE_MANAGE)
    device = _device(ctx, device_id)
    _stale(device, data.version, "device")
    if device.status != ACTIVE:
        raise RuleViolation("This device is retired; register it again to use it.")
    entry = _entry(data)
    check = rules.check_device(entry, heat_sensitive_product=True)
    _duplicate(ctx, device.site_id, entry, device.id)
    before = _device_snapshot(device)
    device.make, device.model, device.kind = entry.make, entry.model, entry.kind
    device.serial_or_lot, device.interface = entry.serial_or_lot, entry.interface
    device.validated_with_product = entry.validated_with_product
    device.catalog_id, device.catalog_match = check.catalog_id, check.match.how
    device.note = (data.note or "").strip() or None
    _touch(ctx, device)
    _audit(ctx, "device.update", DEVICE_RECORD, device.id, device.version, None,
           before=before, after=_device_snapshot(device))  # fmt: skip
    return device


def retire_device(*, ctx: Ctx, device_id: int, data: RetireIn) -> m.Device:
    """Take a device out of use with a reason; it stays in the register and in past runs."""
    authorize(ctx=ctx, action=Action.DEVICE_MANAGE)
    device = _device(ctx, device_id)
    _stale(device, data.version, "device")
    if device.status != ACTIVE:
        raise RuleViolation("This device is already retired.")
    device.status, device.retire_reason = RETIRED, data.reason.strip()
    _touch(ctx, device)
    _audit(ctx, "device.retire", DEVICE_RECORD, device.id, device.version, None,
           before={"status": ACTIVE}, after={"status": RETIRED},
           reason=device.retire_reason)  # fmt: skip
    return device


def devices(*, ctx: Ctx, include_retired: bool = True) -> Sequence[m.Device]:
    """The site's register, active devices first."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    query = select(m.Device).where(m.Device.site_id == ctx.actor.site_id)
    if not include_retired:
        query = query.where(m.Device.status == ACTIVE)
    rows = ctx.db.scalars(query.order_by(m.Device.make, m.Device.model, m.Device.id)).all()
    return sorted(rows, key=lambda d: d.status != ACTIVE)


def device_view(device: m.Device, *, heat_sensitive_product: bool = True) -> dict[str, Any]:
    """A register entry with its catalog link and the warnings to show beside it."""
    check = rules.check_device(_entry_of(device), heat_sensitive_product=heat_sensitive_product)
    return {
        "id": device.id, **_device_snapshot(device),
        "catalog_name": _catalog_name(device.catalog_id),
        "retire_reason": device.retire_reason, "version": device.version,
        "warnings": [{"code": w.code.value, "message": w.message} for w in check.warnings],
    }  # fmt: skip


def get_device(*, ctx: Ctx, device_id: int) -> m.Device:
    """One device of the user's site."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    return _device(ctx, device_id)


# --- the session, its patient, its regimen ----------------------------------------------------


def _session(ctx: Ctx, session_id: int) -> tuple[TherapySession, Patient]:
    session = ctx.db.get(TherapySession, session_id)
    if session is None:
        raise NotFound("No such session.")
    return session, patients.load_visible(ctx, session.patient_id)


def regimen_for(settings: Settings, session: TherapySession) -> rules.Regimen:
    """The regimen of the session's protocol arm (exosome inhalation when the protocol is gone)."""
    protocol = registry.get(settings.protocols_dir, session.protocol_id)
    regimen = None if protocol is None else protocol.arm_regimen(session.arm_code)
    return regimen if regimen is not None else rules.EXOSOME_INHALATION


def _age_years(birth: date, on: date) -> float:
    return float(on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))


def patient_facts(patient: Patient, on: date) -> rules.PatientFacts:
    """What the dose engine needs about the patient: sex, age on ``on``, height (→ FRC)."""
    if patient.height_cm is None:
        raise InvalidInput(
            "The patient's height is not recorded; the dose model needs it to predict the lung "
            "volume (FRC). Record it on the patient page.",
            field="height_cm",
        )
    return rules.PatientFacts(
        sex=patient.sex, age_years=_age_years(patient.birth_date, on), height_cm=patient.height_cm
    )


def current_run(*, ctx: Ctx, session_id: int) -> m.InhalationRun | None:
    """The session's run, if set up (no permission check, no audit)."""
    return ctx.db.scalars(
        select(m.InhalationRun).where(m.InhalationRun.session_id == session_id)
    ).first()


def _events(ctx: Ctx, run: m.InhalationRun) -> Sequence[m.RunEvent]:
    return ctx.db.scalars(
        select(m.RunEvent).where(m.RunEvent.run_id == run.id).order_by(m.RunEvent.seq)
    ).all()


def _plan(run: m.InhalationRun) -> rules.InhalerPlan | None:
    """The inhaler plan of an inhaler run (``None`` for a nebulization)."""
    return None if run.inhaler is None else rules.InhalerPlan.from_dict(run.inhaler)


def _pure(ctx: Ctx, run: m.InhalationRun) -> rules.InhalationRun:
    """The pure run rebuilt from the stored events (every rule applied again)."""
    planned = None if run.planned_duration_s is None else timedelta(seconds=run.planned_duration_s)
    plan = _plan(run)
    return rules.InhalationRun.replay(
        fill_ml=run.fill_ml,
        planned_duration=planned,
        events=[
            rules.RunEvent(
                rules.RunAction(e.action),
                e.at,
                e.reason or "",
                e.note or "",
                e.residual_ml,
                None if e.detail is None else rules.Technique.from_dict(e.detail),
            )
            for e in _events(ctx, run)
            if e.action != SUPERVISOR_EVENT
        ],
        inhaler_kind=None if plan is None else plan.kind,
        actuations_planned=None if plan is None else plan.actuations_planned,
    )


def _breathing(data: SetUpIn) -> rules.Breathing:
    if data.breathing == "custom":
        if data.tidal_volume_ml is None or data.breaths_per_min is None:
            raise InvalidInput(
                "A custom breathing pattern needs the tidal volume and the breathing rate.",
                field="tidal_volume_ml",
            )
        return rules.Breathing(
            data.tidal_volume_ml, data.breaths_per_min, data.inspiratory_fraction or 0.4,
            label=f"Custom: {data.tidal_volume_ml:g} mL × {data.breaths_per_min:g}/min",
        )  # fmt: skip
    preset = rules.BREATHING_PRESETS.get(data.breathing)
    if preset is None:
        raise InvalidInput(
            f"Choose a breathing pattern: {', '.join(rules.BREATHING_PRESETS)} or custom.",
            field="breathing",
        )
    return preset


def _breathing_json(b: rules.Breathing) -> dict[str, Any]:
    return {
        "tidal_volume_ml": b.tidal_volume_ml, "breaths_per_min": b.breaths_per_min,
        "inspiratory_fraction": b.inspiratory_fraction, "breath_hold_s": b.breath_hold_s,
        "source": b.source.value, "label": b.label,
    }  # fmt: skip


def _breathing_of(data: Mapping[str, Any]) -> rules.Breathing:
    return rules.Breathing(
        float(data["tidal_volume_ml"]), float(data["breaths_per_min"]),
        float(data["inspiratory_fraction"]), float(data["breath_hold_s"]),
        source=rules.BreathingSource(data["source"]), label=str(data["label"]),
    )  # fmt: skip


def _loaded_dose(regimen: rules.Regimen, dose: VerifiedDose) -> tuple[float, rules.DoseUnit]:
    """The dose and its unit from the hand-over (zero vesicles for a vehicle-only arm).

    The unit must be of the regimen's kind (particles, mass or cells): a drug
    regimen run from a particle hand-over, or the reverse, is refused.
    """
    unit = rules.check_regimen_unit(regimen, rules.dose_unit_of(dose.dose_unit))
    if unit is rules.DoseUnit.PARTICLES and not regimen.carries_vesicles:
        return 0.0, unit
    return dose.amount, unit


def _inhaler_plan(
    data: SetUpIn, kind: str, dose: VerifiedDose, unit: rules.DoseUnit
) -> rules.InhalerPlan:
    """The inhaler plan of the set-up, checked against the verified (prescribed) dose."""
    if data.actuations_planned is None or data.dose_per_actuation is None:
        raise InvalidInput(
            "An inhaler session needs the actuations planned and the emitted dose per "
            "actuation (from the inhaler's label).",
            field="actuations_planned",
        )
    plan = rules.InhalerPlan(
        kind=kind, actuations_planned=data.actuations_planned,
        dose_per_actuation=data.dose_per_actuation, dose_unit=unit,
        breath_hold_s=10.0 if data.breath_hold_s is None else data.breath_hold_s,
    )  # fmt: skip
    if not math.isclose(plan.planned_dose, dose.amount, rel_tol=1e-9):
        raise RuleViolation(
            f"{plan.actuations_planned} actuations × {plan.dose_per_actuation:g} {unit.value} = "
            f"{plan.planned_dose:g} {unit.value}, but the verified dose is {dose.amount:g} "
            f"{unit.value}. Check the actuations and the inhaler's label against the "
            "prescription."
        )
    return plan


def _verified_or_refuse(ctx: Ctx, session_id: int) -> VerifiedDose:
    dose = verified_dose(ctx=ctx, session_id=session_id)
    if dose is None:
        raise rules.PreparationNotVerified(
            "The prepared dose has not been verified by a second person. Have it checked "
            "before setting up the nebulization."
        )
    return dose


def _store_estimate(ctx: Ctx, run: m.InhalationRun, estimate: rules.DoseEstimate) -> m.DoseEstimate:
    record = estimate.to_dict()
    row = m.DoseEstimate(
        run_id=run.id, session_id=run.session_id, patient_id=run.patient_id,
        stage=estimate.stage.value, regimen_id=estimate.regimen_id,
        dose_unit=estimate.dose_unit.value, loaded_dose=estimate.loaded_dose,
        model=estimate.model, model_version=estimate.model_version, inputs=record["inputs"],
        fractions_of_loaded=record["fractions_of_loaded"],
        fractions_of_inhaled=record["fractions_of_inhaled"], particles=record["particles"],
        by_generation=record["by_generation"], lung_particles=estimate.lung_particles,
        alveolar_particles=estimate.alveolar_particles,
        lung_intact_particles=estimate.lung_intact_particles, record=record,
        created_at=ctx.clock.now(), created_by=_who(ctx),
    )  # fmt: skip
    ctx.db.add(row)
    ctx.db.flush()
    return row


def _estimate(
    ctx: Ctx,
    settings: Settings,
    run: m.InhalationRun,
    *,
    stage: rules.EstimateStage,
    breathing: rules.Breathing,
    residual_ml: float | None,
) -> rules.DoseEstimate:
    session, patient = _session(ctx, run.session_id)
    plan = _plan(run)
    loaded, actuations = run.loaded_dose, None
    notes = [w["message"] for w in run.device_warnings]
    if plan is not None:
        actuations = plan.actuations_planned
        if stage is rules.EstimateStage.FINAL:
            given = _pure(ctx, run).actuations
            actuations, loaded = len(given), plan.given_dose(len(given))
            for number, technique in enumerate(given, start=1):
                notes.extend(rules.technique_warnings(plan.kind, number, technique))
    return rules.estimate_dose(
        stage=stage,
        patient=patient_facts(patient, ctx.clock.now().date()),
        breathing=breathing,
        device=rules.DeviceSettings(catalog_id=run.catalog_id, interface=run.interface),
        fill_ml=None if plan is not None else run.fill_ml,
        regimen=rules.get_regimen(run.regimen_id, {run.regimen_id: regimen_for(settings, session)}),
        loaded_dose=loaded,
        residual_ml=residual_ml,
        notes=notes,
        dose_unit=rules.DoseUnit(run.dose_unit),
        actuations=actuations,
    )


# --- the run -----------------------------------------------------------------------------


def _run_snapshot(run: m.InhalationRun) -> dict[str, Any]:
    return {
        "state": run.state, "device_id": run.device_id, "regimen_id": run.regimen_id,
        "fill_ml": run.fill_ml, "loaded_dose": run.loaded_dose,
        "breathing": run.breathing.get("label"), "supervisor": run.supervisor_name,
        "residual_ml": run.residual_ml,
    }  # fmt: skip


def set_up(*, ctx: Ctx, settings: Settings, session_id: int, data: SetUpIn) -> m.InhalationRun:
    """Choose the device and the breathing pattern for a verified session; store a preview.

    Creates the run (first call) or changes it while it has not started; each call
    stores a fresh preview estimate (earlier previews stay).
    """
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    session, patient = _session(ctx, session_id)
    if patient.status != "active":
        raise RuleViolation("This patient record is voided.")
    if session.state != State.VERIFIED.value:
        raise RuleViolation(
            f"The session is {session.state}; the nebulization is set up once the prepared dose "
            "is verified, before it starts."
        )
    dose = _verified_or_refuse(ctx, session_id)
    regimen = regimen_for(settings, session)
    device = _device(ctx, data.device_id)
    if device.status != ACTIVE:
        raise RuleViolation(f"{device.make} {device.model} is retired: choose an active device.")
    check = rules.check_device(_entry_of(device), heat_sensitive_product=regimen.heat_sensitive)
    settings_ = check.settings()  # refuses a device without a catalog link
    rules.check_regimen_device(regimen, settings_.spec.kind)
    if dose.nebulizer_key and settings_.catalog_id != dose.nebulizer_key:
        raise RuleViolation(
            f"The dose was prepared for {_catalog_name(dose.nebulizer_key) or dose.nebulizer_key}"
            f", but {device.make} {device.model} is {_catalog_name(settings_.catalog_id)}. Use "
            "a device of the type the dose was prepared for, or have the dose prepared again."
        )
    loaded, unit = _loaded_dose(regimen, dose)
    plan: rules.InhalerPlan | None = None
    if settings_.spec.is_inhaler:
        # An inhaler: counted actuations, the inhaler manoeuvre, no fill or run time.
        plan = _inhaler_plan(data, settings_.spec.kind, dose, unit)
        breathing, fill_ml, planned_s = plan.preview_breathing(), 0.0, None
    else:
        breathing, fill_ml = _breathing(data), dose.fill_volume_ml
        planned_s = rules.planned_duration(
            device=settings_, fill_ml=fill_ml, breathing=breathing
        ).total_seconds()
    warnings = [{"code": w.code.value, "message": w.message} for w in check.warnings]
    run = current_run(ctx=ctx, session_id=session_id)
    now, who = ctx.clock.now(), _who(ctx)
    values: dict[str, Any] = {
        "preparation_id": dose.preparation_id, "device_id": device.id,
        "catalog_id": settings_.catalog_id, "interface": device.interface,
        "regimen_id": regimen.id, "dose_unit": unit.value, "loaded_dose": loaded,
        "fill_ml": fill_ml, "breathing": _breathing_json(breathing),
        "inhaler": None if plan is None else plan.to_dict(),
        "planned_duration_s": planned_s, "device_warnings": warnings,
    }  # fmt: skip
    if run is None:
        run = m.InhalationRun(
            session_id=session.id, patient_id=patient.id, state=rules.RunState.NOT_STARTED.value,
            interruptions=0, interruption_s=0.0, created_at=now, created_by=who,
            updated_at=now, updated_by=who, **values,
        )  # fmt: skip
        ctx.db.add(run)
        ctx.db.flush()
        before = None
    else:
        if data.version is not None:
            _stale(run, data.version, "inhalation run")
        if run.state != rules.RunState.NOT_STARTED.value:
            raise rules.RunTransitionRefused(
                "The nebulization has started; its device and breathing pattern cannot change."
            )
        before = _run_snapshot(run)
        for key, value in values.items():
            setattr(run, key, value)
        _touch(ctx, run)
    preview = _estimate(ctx, settings, run, stage=rules.EstimateStage.PREVIEW,
                        breathing=breathing, residual_ml=None)  # fmt: skip
    row = _store_estimate(ctx, run, preview)
    _audit(ctx, "inhalation.set_up", RUN_RECORD, run.id, run.version, run.patient_id,
           before=before, after={**_run_snapshot(run), "preview_estimate_id": row.id})  # fmt: skip
    return run


def _open_run(ctx: Ctx, session_id: int, version: int) -> tuple[m.InhalationRun, TherapySession]:
    session, _ = _session(ctx, session_id)
    run = current_run(ctx=ctx, session_id=session_id)
    if run is None:
        raise NotFound("This session's nebulization has not been set up yet.")
    _stale(run, version, "inhalation run")
    if State(session.state) in FINAL_STATES:
        raise RuleViolation(
            f"The session is {session.state}; its nebulization can no longer change."
        )
    if run.signature_id is not None:
        raise RuleViolation("The inhalation step is signed; the run can no longer change.")
    return run, session


def _add_event(ctx: Ctx, run: m.InhalationRun, event: rules.RunEvent | None, action: str) -> None:
    seq = len(_events(ctx, run)) + 1
    ctx.db.add(
        m.RunEvent(
            run_id=run.id, seq=seq, action=action, at=ctx.clock.now(),
            reason=(event.reason or None) if event else None,
            note=(event.note or None) if event else None,
            residual_ml=event.residual_ml if event else None,
            detail=None if event is None or event.technique is None
            else event.technique.to_dict(),
            actor_id=ctx.actor.user_id, actor_name=_who(ctx),
        )
    )  # fmt: skip


def _apply(ctx: Ctx, run: m.InhalationRun, moved: rules.InhalationRun) -> None:
    """Store the new last event of ``moved`` and the summary columns of the run."""
    event = moved.events[-1]
    _add_event(ctx, run, event, event.action.value)
    now = ctx.clock.now()
    run.state = moved.state.value
    run.started_at, run.stopped_at = moved.started_at, moved.stopped_at
    run.stop_reason = None if moved.stop_reason is None else moved.stop_reason.value
    run.stop_note = moved.stop_note or None
    run.interruptions = len(moved.interruptions)
    run.interruption_s = moved.interruption_time(now).total_seconds()
    if moved.state is rules.RunState.STOPPED:
        run.nebulization_s = moved.elapsed(now).total_seconds()
    run.residual_ml = moved.residual_ml
    _touch(ctx, run)


def record_supervisor(*, ctx: Ctx, session_id: int, data: Versioned) -> m.InhalationRun:
    """The acting staff member (who may supervise inhalation) is recorded as present."""
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    run, _ = _open_run(ctx, session_id, data.version)
    if run.state == rules.RunState.STOPPED.value:
        raise rules.RunAlreadyStopped("The nebulization is over; no supervisor to record now.")
    before = {"supervisor": run.supervisor_name}
    run.supervisor_id, run.supervisor_name = ctx.actor.user_id, _who(ctx)
    run.supervisor_at = ctx.clock.now()
    _add_event(ctx, run, None, SUPERVISOR_EVENT)
    _touch(ctx, run)
    _audit(ctx, "inhalation.supervisor", RUN_RECORD, run.id, run.version, run.patient_id,
           before=before, after={"supervisor": run.supervisor_name})  # fmt: skip
    return run


def start(*, ctx: Ctx, session_id: int, data: Versioned) -> m.InhalationRun:
    """Switch the nebulizer on; the session moves from verified to inhaling."""
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    run, session = _open_run(ctx, session_id, data.version)
    dose = verified_dose(ctx=ctx, session_id=session_id)
    now = ctx.clock.now()
    verified = dose is not None and dose.preparation_id == run.preparation_id
    if dose is not None and not verified:
        raise RuleViolation(
            "The verified preparation changed since the nebulization was set up; set it up "
            "again so the dose estimate uses the new preparation."
        )
    if dose is not None and now > dose.use_by:
        raise RuleViolation(
            f"The prepared dose was to be used by {dose.use_by:%H:%M UTC}; it has expired. "
            "Do not nebulize it: have a new dose prepared."
        )
    facts = rules.StartFacts(
        preparation_verified=verified, supervisor_present=run.supervisor_id is not None
    )
    moved = _pure(ctx, run).start(now=now, facts=facts)
    _apply(ctx, run, moved)
    _audit(ctx, "inhalation.start", RUN_RECORD, run.id, run.version, run.patient_id,
           before={"state": "not_started"}, after={"state": run.state})  # fmt: skip
    sessions.move(ctx=ctx, session_id=session.id, target=State.INHALING, version=session.version)
    return run


def _step(
    ctx: Ctx,
    session_id: int,
    version: int,
    action: str,
    step: Callable[[rules.InhalationRun, datetime], rules.InhalationRun],
    *,
    reason: str | None = None,
    note: str = "",
) -> m.InhalationRun:
    """Pause, resume or stop: replay, apply ``step`` at the server's time, store, audit."""
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    run, _ = _open_run(ctx, session_id, version)
    before = run.state
    _apply(ctx, run, step(_pure(ctx, run), ctx.clock.now()))
    after: dict[str, Any] = {"state": run.state}
    if reason is not None:
        after["reason"] = reason
    if run.state == rules.RunState.STOPPED.value:
        after |= {"nebulization_s": run.nebulization_s, "interruption_s": run.interruption_s}
    _audit(ctx, f"inhalation.{action}", RUN_RECORD, run.id, run.version, run.patient_id,
           before={"state": before}, after=after, reason=note.strip() or None)  # fmt: skip
    return run


def pause(*, ctx: Ctx, session_id: int, data: PauseIn) -> m.InhalationRun:
    """Interrupt nebulization, with the reason (cough, desaturation, patient request, …)."""
    return _step(
        ctx, session_id, data.version, "pause",
        lambda run, now: run.pause(now=now, reason=data.reason, note=data.note),
        reason=data.reason, note=data.note,
    )  # fmt: skip


def resume(*, ctx: Ctx, session_id: int, data: Versioned) -> m.InhalationRun:
    """Continue after a pause (a stopped run cannot resume)."""
    return _step(ctx, session_id, data.version, "resume", lambda run, now: run.resume(now=now))


def stop(*, ctx: Ctx, settings: Settings, session_id: int, data: StopIn) -> m.InhalationRun:
    """End the run, with the reason (output stopped, sputtering, planned time, …).

    An inhaler run's final dose estimate is stored here (it has no residual
    volume to wait for): the emitted dose per actuation × the actuations given,
    the manoeuvre with the mean recorded breath-hold.
    """
    run = _step(
        ctx, session_id, data.version, "stop",
        lambda run, now: run.stop(now=now, reason=data.reason, note=data.note),
        reason=data.reason, note=data.note,
    )  # fmt: skip
    plan = _plan(run)
    if plan is not None:
        given = _pure(ctx, run).actuations
        if given:
            breathing = rules.manoeuvre_breathing(
                plan.manoeuvre, rules.mean_breath_hold_s(given),
                source=rules.BreathingSource.CHOSEN,
            )  # fmt: skip
            final = _estimate(ctx, settings, run, stage=rules.EstimateStage.FINAL,
                              breathing=breathing, residual_ml=None)  # fmt: skip
            row = _store_estimate(ctx, run, final)
            _audit(ctx, "inhalation.final_estimate", RUN_RECORD, run.id, run.version,
                   run.patient_id, after={"final_estimate_id": row.id, "actuations": len(given),
                                          "loaded_dose": final.loaded_dose,
                                          "dose_unit": final.dose_unit.value,
                                          "lung_amount": final.lung_amount})  # fmt: skip
    return run


def actuate(*, ctx: Ctx, session_id: int, data: ActuationIn) -> m.InhalationRun:
    """Record one inhaler actuation given under supervision, with its technique checklist."""
    technique = rules.Technique(
        prepared=data.prepared, spacer=data.spacer, exhaled_before=data.exhaled_before,
        seal=data.seal, manoeuvre_done=data.manoeuvre_done, breath_hold_s=data.breath_hold_s,
    )  # fmt: skip
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    run, _ = _open_run(ctx, session_id, data.version)
    moved = _pure(ctx, run).actuate(now=ctx.clock.now(), technique=technique)
    _apply(ctx, run, moved)
    plan = _plan(run)
    number = len(moved.actuations)
    notes = [] if plan is None else list(rules.technique_warnings(plan.kind, number, technique))
    _audit(ctx, "inhalation.actuate", RUN_RECORD, run.id, run.version, run.patient_id,
           after={"actuation": number, **technique.to_dict(), "warnings": notes})  # fmt: skip
    return run


def record_residual(
    *, ctx: Ctx, settings: Settings, session_id: int, data: ResidualIn
) -> m.InhalationRun:
    """Record the volume left in the device and store the final dose estimate.

    The final estimate uses the measured residual, and the breathing measured
    during the run when given (else the pattern chosen at set-up).
    """
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    run, _ = _open_run(ctx, session_id, data.version)
    moved = _pure(ctx, run).record_residual(now=ctx.clock.now(), residual_ml=data.residual_ml)
    if not _nebulized_any(run.fill_ml, data.residual_ml):
        # The whole fill is still in the cup: nothing was nebulized, so there is no dose to
        # estimate (the engine refuses a residual equal to the fill). The step is then signed
        # as "not given" (see :func:`sign`).
        before = run.residual_ml
        _apply(ctx, run, moved)
        _audit(ctx, "inhalation.residual", RUN_RECORD, run.id, run.version, run.patient_id,
               before={"residual_ml": before},
               after={"residual_ml": run.residual_ml, "final_estimate_id": None,
                      "dose_delivered": False})  # fmt: skip
        return run
    chosen = _breathing_of(run.breathing)
    breathing = chosen
    if data.measured_tidal_volume_ml is not None or data.measured_breaths_per_min is not None:
        if data.measured_tidal_volume_ml is None or data.measured_breaths_per_min is None:
            raise InvalidInput(
                "Give both the measured tidal volume and the measured breathing rate, or neither.",
                field="measured_tidal_volume_ml",
            )
        breathing = rules.Breathing(
            data.measured_tidal_volume_ml, data.measured_breaths_per_min,
            chosen.inspiratory_fraction, chosen.breath_hold_s,
            source=rules.BreathingSource.MEASURED,
            label=f"Measured: {data.measured_tidal_volume_ml:g} mL × "
            f"{data.measured_breaths_per_min:g}/min",
        )  # fmt: skip
    final = _estimate(ctx, settings, run, stage=rules.EstimateStage.FINAL, breathing=breathing,
                      residual_ml=data.residual_ml)  # fmt: skip
    before = run.residual_ml
    _apply(ctx, run, moved)
    row = _store_estimate(ctx, run, final)
    _audit(ctx, "inhalation.residual", RUN_RECORD, run.id, run.version, run.patient_id,
           before={"residual_ml": before},
           after={"residual_ml": run.residual_ml, "final_estimate_id": row.id,
                  "lung_particles": row.lung_particles,
                  "alveolar_particles": row.alveolar_particles})  # fmt: skip
    return run


def _nebulized_any(fill_ml: float, residual_ml: float) -> bool:
    """Whether any of the fill left the nebulizer (a residual equal to the fill: none did)."""
    return residual_ml < fill_ml - 1e-9


def dose_delivered(*, ctx: Ctx, run: m.InhalationRun) -> bool | None:
    """Whether the stopped run delivered any dose (``None`` while it cannot be told yet).

    An inhaler run delivered a dose when at least one actuation was given; a
    nebulization when some of the fill left the cup (residual below the fill).
    """
    if _plan(run) is not None:
        if run.state != rules.RunState.STOPPED.value:
            return None
        return len(_pure(ctx, run).actuations) > 0
    if run.residual_ml is None:
        return None
    return _nebulized_any(run.fill_ml, run.residual_ml)


def latest_estimate(*, ctx: Ctx, run_id: int, stage: rules.EstimateStage) -> m.DoseEstimate | None:
    """The newest stored estimate of a stage (earlier ones stay stored)."""
    return ctx.db.scalars(
        select(m.DoseEstimate)
        .where(m.DoseEstimate.run_id == run_id, m.DoseEstimate.stage == stage.value)
        .order_by(m.DoseEstimate.id.desc())
        .limit(1)
    ).first()


def signed_content(*, ctx: Ctx, run: m.InhalationRun) -> dict[str, Any]:
    """What the supervisor's signature covers: the run, its events and the final estimate."""
    final = latest_estimate(ctx=ctx, run_id=run.id, stage=rules.EstimateStage.FINAL)
    return {
        "run_id": run.id, "session_id": run.session_id, "patient_id": run.patient_id,
        "preparation_id": run.preparation_id, "device_id": run.device_id,
        "regimen_id": run.regimen_id, "fill_ml": run.fill_ml, "loaded_dose": run.loaded_dose,
        "breathing": run.breathing, "inhaler": run.inhaler, "supervisor": run.supervisor_name,
        "events": [
            {"seq": e.seq, "action": e.action, "at": e.at.isoformat(), "reason": e.reason,
             "note": e.note, "residual_ml": e.residual_ml, "detail": e.detail,
             "by": e.actor_name}
            for e in _events(ctx, run)
        ],
        "residual_ml": run.residual_ml,
        "final_estimate": None if final is None else {"id": final.id, "record": final.record},
    }  # fmt: skip


def sign(*, ctx: Ctx, settings: Settings, session_id: int, data: SignIn) -> m.InhalationRun:
    """The supervisor signs the inhalation step ("performed"); the session moves to monitoring."""
    authorize(ctx=ctx, action=Action.INHALATION_SUPERVISE)
    run, session = _open_run(ctx, session_id, data.version)
    if run.state != rules.RunState.STOPPED.value:
        raise RuleViolation("Stop the nebulization before signing the inhalation step.")
    if run.inhaler is None and run.residual_ml is None:
        raise RuleViolation(
            "Record the residual volume left in the device before signing: the final dose "
            "estimate needs it."
        )
    delivered = dose_delivered(ctx=ctx, run=run)
    final = latest_estimate(ctx=ctx, run_id=run.id, stage=rules.EstimateStage.FINAL)
    if delivered and final is None:
        raise RuleViolation(
            "A dose was delivered but no final dose estimate is stored. Record the residual "
            "volume (nebulizer) or stop the run again (inhaler) so it is computed, then sign."
        )
    if not delivered and not data.no_dose_given:
        what = ("no actuation was given" if run.inhaler is not None
                else "the whole fill is still in the nebulizer")  # fmt: skip
        raise RuleViolation(
            f'Nothing was delivered ({what}). To sign the step as "not given", confirm '
            '"No dose was delivered"; the session then moves to monitoring, where the '
            "patient is observed or the session aborted with a reason."
        )
    if delivered and data.no_dose_given:
        raise RuleViolation(
            "A dose was delivered (the final estimate is stored): do not sign it as not given."
        )
    signature = accounts.sign(
        ctx=ctx, settings=settings, record_type=RUN_RECORD, record_id=run.id,
        record_version=run.version, content=signed_content(ctx=ctx, run=run),
        meaning=SIGN_MEANING, password=data.password, patient_id=run.patient_id,
    )  # fmt: skip
    run.signature_id, run.signed_at = signature.id, signature.signed_at
    run.signed_by_id, run.signed_by = ctx.actor.user_id, _who(ctx)
    _touch(ctx, run)
    _audit(ctx, "inhalation.sign", RUN_RECORD, run.id, run.version, run.patient_id,
           before={"signed": False},
           after={"signed": True, "signature_id": signature.id,
                  "dose_delivered": bool(delivered),
                  "final_estimate_id": None if final is None else final.id})  # fmt: skip
    sessions.move(ctx=ctx, session_id=session.id, target=State.MONITORING, version=session.version)
    return run


def signature_ok(*, ctx: Ctx, run: m.InhalationRun) -> bool | None:
    """Whether the signature still matches the stored run (``None`` when unsigned)."""
    if run.signature_id is None:
        return None
    for sig in accounts.signatures_for(ctx=ctx, record_type=RUN_RECORD, record_id=run.id):
        if sig.id == run.signature_id:
            return accounts.signature_valid(sig, content=signed_content(ctx=ctx, run=run))
    return False


# --- reading ----------------------------------------------------------------------------


def _estimate_view(row: m.DoseEstimate | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id, "stage": row.stage, "model": row.model, "model_version": row.model_version,
        "created_at": row.created_at, "created_by": row.created_by, "record": row.record,
    }  # fmt: skip


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def run_view(*, ctx: Ctx, settings: Settings, run: m.InhalationRun) -> dict[str, Any]:
    """Everything the run page and the API show, the timer computed from the stored events."""
    session, _ = _session(ctx, run.session_id)
    pure = _pure(ctx, run)
    now = ctx.clock.now()
    if pure.last_event_at is not None and now < pure.last_event_at:
        now = pure.last_event_at  # another worker's clock ran a little ahead
    device = _device(ctx, run.device_id)
    regimen = regimen_for(settings, session)
    events = _events(ctx, run)
    plan = _plan(run)
    instructions = (rules.breathing_instructions(run.interface) if plan is None
                    else rules.inhaler_instructions(plan.kind))  # fmt: skip
    actuations = [e for e in events if e.action == rules.RunAction.ACTUATE.value]
    return {
        "id": run.id, "session_id": run.session_id, "session_state": session.state,
        "patient_id": run.patient_id, "preparation_id": run.preparation_id,
        "device": device_view(device, heat_sensitive_product=regimen.heat_sensitive),
        "regimen": {"id": regimen.id, "name": regimen.name, "delivers": regimen.delivers,
                    "role": regimen.role.value, "dose_unit": regimen.dose_unit.value},
        "interface": run.interface, "fill_ml": run.fill_ml, "loaded_dose": run.loaded_dose,
        "dose_unit": run.dose_unit, "breathing": run.breathing,
        "breathing_instructions": list(instructions),
        "inhaler": None if plan is None else {
            **plan.to_dict(), "manoeuvre_label": plan.manoeuvre.label,
            "planned_dose": plan.planned_dose, "actuations_given": len(actuations),
            "given_dose": plan.given_dose(len(actuations)),
        },
        "actuations": [
            {"number": n, "at": e.at, "by": e.actor_name, "technique": e.detail,
             "warnings": list(rules.technique_warnings(
                 plan.kind, n, rules.Technique.from_dict(e.detail)))
             if plan is not None and e.detail is not None else []}
            for n, e in enumerate(actuations, start=1)
        ],
        "planned_duration_s": run.planned_duration_s, "state": run.state,
        "allowed_actions": sorted(a.value for a in pure.allowed_actions),
        "supervisor_name": run.supervisor_name, "supervisor_at": run.supervisor_at,
        "started_at": run.started_at, "stopped_at": run.stopped_at,
        "stop_reason": run.stop_reason, "stop_note": run.stop_note, "now": now,
        "elapsed_s": pure.elapsed(now).total_seconds(),
        "remaining_s": _seconds(pure.remaining(now)),
        "interruption_s": pure.interruption_time(now).total_seconds(),
        "interruptions": [
            {"reason": i.reason.value, "label": i.reason.label, "note": i.note,
             "started_at": i.started_at, "ended_at": i.ended_at,
             "duration_s": d.total_seconds()}
            for i, d in pure.interruption_durations(now)
        ],
        "events": [
            {"seq": e.seq, "action": e.action, "at": e.at, "reason": e.reason, "note": e.note,
             "residual_ml": e.residual_ml, "detail": e.detail, "by": e.actor_name}
            for e in events
        ],
        "residual_ml": run.residual_ml, "device_warnings": run.device_warnings,
        "dose_delivered": dose_delivered(ctx=ctx, run=run),
        "preview": _estimate_view(
            latest_estimate(ctx=ctx, run_id=run.id, stage=rules.EstimateStage.PREVIEW)),
        "final": _estimate_view(
            latest_estimate(ctx=ctx, run_id=run.id, stage=rules.EstimateStage.FINAL)),
        "signed_at": run.signed_at, "signed_by": run.signed_by,
        "signature_valid": signature_ok(ctx=ctx, run=run), "version": run.version,
    }  # fmt: skip


def get_run(*, ctx: Ctx, session_id: int) -> m.InhalationRun:
    """The session's run (an audited read of the patient's record)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    _session(ctx, session_id)
    run = current_run(ctx=ctx, session_id=session_id)
    if run is None:
        raise NotFound("This session's nebulization has not been set up yet.")
    _audit(ctx, "inhalation.read", RUN_RECORD, run.id, run.version, run.patient_id)
    return run


def current_view(*, ctx: Ctx, settings: Settings, session_id: int) -> dict[str, Any]:
    """:func:`run_view` of the session's run after an action (not audited again)."""
    run = current_run(ctx=ctx, session_id=session_id)
    if run is None:
        raise NotFound("This session's nebulization has not been set up yet.")
    return run_view(ctx=ctx, settings=settings, run=run)


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """Everything the inhalation page shows, gathered in one transaction."""

    session_id: int
    session_state: str
    patient_id: int
    patient_name: str
    regimen: rules.Regimen
    verified: VerifiedDose | None
    run: dict[str, Any] | None
    devices: list[dict[str, Any]]
    presets: list[tuple[str, str]]
    statement: str


def page(*, ctx: Ctx, settings: Settings, session_id: int, refresh: bool = False) -> Page:
    """The inhalation page of a session (opening it is an audited read; a poll is not)."""
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    session, patient = _session(ctx, session_id)
    run = current_run(ctx=ctx, session_id=session_id)
    if run is not None and not refresh:
        _audit(ctx, "inhalation.read", RUN_RECORD, run.id, run.version, run.patient_id)
    regimen = regimen_for(settings, session)
    return Page(
        session_id=session.id, session_state=session.state, patient_id=patient.id,
        patient_name=f"{patient.given_name} {patient.family_name}", regimen=regimen,
        verified=verified_dose(ctx=ctx, session_id=session_id),
        run=None if run is None else run_view(ctx=ctx, settings=settings, run=run),
        devices=[device_view(d, heat_sensitive_product=regimen.heat_sensitive)
                 for d in devices(ctx=ctx, include_retired=False)],
        presets=[(k, b.label) for k, b in rules.BREATHING_PRESETS.items()],
        statement=rules.MODEL_ESTIMATE_STATEMENT,
    )  # fmt: skip


def cumulative_for(*, ctx: Ctx, patient_id: int) -> rules.CumulativeDose:
    """The patient's estimated lung and alveolar vesicle dose summed over all sessions.

    Counts the newest final estimate of each session's run; sessions without a
    final estimate have delivered no recorded dose yet.
    """
    authorize(ctx=ctx, action=Action.PATIENT_READ)
    patients.load_visible(ctx, patient_id)
    rows = ctx.db.scalars(
        select(m.DoseEstimate)
        .where(
            m.DoseEstimate.patient_id == patient_id,
            m.DoseEstimate.stage == rules.EstimateStage.FINAL.value,
        )
        .order_by(m.DoseEstimate.run_id, m.DoseEstimate.id)
    ).all()
    newest: dict[int, m.DoseEstimate] = {}
    for row in rows:
        newest[row.run_id] = row
    return rules.cumulative_dose(
        rules.RecordedEstimate(rules.DoseEstimate.from_dict(r.record)) for r in newest.values()
    )


# --- the session state machine -----------------------------------------------------------


def inhalation_facts(ctx: Ctx, session: TherapySession) -> FactContribution:
    """Session facts: a supervisor present, the run started or stopped, the step signed."""
    run = current_run(ctx=ctx, session_id=session.id)
    if run is None:
        return FactContribution()
    flags = {
        "inhalation_supervisor_present": run.supervisor_id is not None,
        "inhalation_started": run.started_at is not None,
        "inhalation_stopped": run.state == rules.RunState.STOPPED.value,
    }
    signed = frozenset({"inhalation"}) if run.signature_id is not None else frozenset()
    return FactContribution(signed_steps=signed, flags=flags)


register_fact_provider(inhalation_facts)
