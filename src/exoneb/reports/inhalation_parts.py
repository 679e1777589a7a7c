"""Step 3 in reports: the inhalation section, its FHIR resources, the cumulative lung dose.

Reads the run only through :mod:`exoneb.inhalation.service` (``current_run``,
``run_view``, ``latest_estimate``, ``signed_content``) and registers itself with
the session report, the patient course and the FHIR export at import.

Only stored values go into the report (events, times, the stored estimate);
nothing computed from "now" — a running timer would change the fingerprint
from one minute to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from exoneb.accounts import service as accounts
from exoneb.core.context import Ctx
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.rules import MODEL_ESTIMATE_STATEMENT, EstimateStage
from exoneb.patients.models import Patient
from exoneb.reports import course, fhir, session_report, tables
from exoneb.reports import terminology as t
from exoneb.reports.document import (
    Cell,
    Column,
    Item,
    PlotSpec,
    Section,
    Series,
    Table,
    not_recorded,
)
from exoneb.reports.session_report import STEP_KEYS, SessionContext, signature_line, utc_text
from exoneb.sessions.models import TherapySession

REGIONS: tuple[tuple[str, str], ...] = (
    ("extrathoracic", "Extrathoracic"),
    ("bronchial", "Bronchial"),
    ("bronchiolar", "Bronchiolar"),
    ("alveolar", "Alveolar"),
    ("exhaled", "Exhaled"),
    ("residual", "Residual in device"),
    ("device_losses", "Device losses"),
    ("interface_losses", "Interface losses"),
    ("lost_during_exhalation", "Lost while breathing out"),
)
"""The dose engine's mass balance (``dosimetry.model.MASS_BALANCE_KEYS``) in airway order,
with labels: the shares add up to the loaded dose."""

DOSE_UNIT_UCUM = {"particles": "{particles}", "mg": "mg", "µg": "ug", "cells": "{cells}"}


def _estimate(ctx: Ctx, run_id: int) -> tuple[str, dict[str, Any]] | None:
    for stage in (EstimateStage.FINAL, EstimateStage.PREVIEW):
        row = inhalation.latest_estimate(ctx=ctx, run_id=run_id, stage=stage)
        if row is not None:
            return stage.value, dict(row.record)
    return None


def _regional(stage: str, record: dict[str, Any]) -> tuple[Table, PlotSpec]:
    fractions = record.get("fractions_of_loaded") or {}
    particles = record.get("particles") or {}
    rows: list[tuple[Cell, ...]] = []
    for key, label in REGIONS:
        if key in fractions:
            f = fractions[key]
            rows.append((label, None if f is None else round(100 * f, 2), particles.get(key)))
    unit = record.get("dose_unit", "")
    table = Table(f"Estimated regional dose ({stage} estimate)",
                  (Column("Region"), Column("Share of loaded dose", "%"),
                   Column("Estimated dose", unit)), tuple(rows))  # fmt: skip
    plotted = [(label, share) for label, share, _ in rows if share is not None]
    spec = PlotSpec(
        "regional_dose", f"Estimated regional dose ({stage})", "Region", "Share of loaded dose",
        "%", (Series("Share of loaded dose", tuple(str(x) for x, _ in plotted),
                     tuple(float(y) for _, y in plotted if isinstance(y, int | float))),),
        kind="bar",
        alt=f"Bar chart of the {stage} model estimate of where the loaded dose goes, as a "
        "percentage per region from the extrathoracic airways to the alveoli, exhaled and "
        "left in the device.",
    )  # fmt: skip
    return table, spec


def inhalation_section(ctx: Ctx, sc: SessionContext) -> Section:
    """Step 3: device, regimen, timeline with pauses, residual, estimated regional dose."""
    title = dict(STEP_KEYS)["inhalation"]
    run = inhalation.current_run(ctx=ctx, session_id=sc.session.id)
    if run is None:
        return not_recorded("inhalation", title, "No inhalation recorded for this session.")
    v = inhalation.run_view(ctx=ctx, settings=sc.settings, run=run)
    d, r = v["device"], v["regimen"]
    items = [
        Item("Device", f"{d['make']} {d['model']} ({d['kind']})"),
        Item("Serial or lot of the device", d["serial_or_lot"]),
        Item("Interface", v["interface"]),
        Item("Validated with the product", d["validated_with_product"]),
        Item("Regimen", r["name"]), Item("Loaded dose", v["loaded_dose"], v["dose_unit"]),
        Item("Fill volume", v["fill_ml"], "mL"),
        Item("Breathing", (v["breathing"] or {}).get("label")),
        Item("Supervisor present", v["supervisor_name"]),
        Item("Started", utc_text(v["started_at"])), Item("Stopped", utc_text(v["stopped_at"])),
        Item("Stop reason", v["stop_reason"]), Item("Residual volume", v["residual_ml"], "mL"),
        Item("Nebulization time", run.nebulization_s, "s"),
        Item("Interruptions", len(v["interruptions"])),
    ]  # fmt: skip
    events = tuple((e["seq"], utc_text(e["at"]), e["action"], e["reason"] or "",
                    e["note"] or "", e["residual_ml"], e["by"]) for e in v["events"])  # fmt: skip
    pauses = tuple((i["label"], utc_text(i["started_at"]), utc_text(i["ended_at"]) or "ongoing",
                    i["duration_s"] if i["ended_at"] else None, i["note"] or "")
                   for i in v["interruptions"])  # fmt: skip
    tables = [
        Table("Inhalation timeline", (Column("#"), Column("When (UTC)"), Column("Action"),
                                      Column("Reason"), Column("Note"),
                                      Column("Residual", "mL"), Column("By")), events),
        Table("Pauses", (Column("Reason"), Column("From (UTC)"), Column("To (UTC)"),
                         Column("Duration", "s"), Column("Note")), pauses),
    ]  # fmt: skip
    notes = [f"Device warning: {w['message']}" for w in d.get("warnings", [])]
    plots: tuple[PlotSpec, ...] = ()
    estimate = _estimate(ctx, run.id)
    if estimate is None:
        notes.append("Estimated regional dose: not recorded.")
    else:
        stage, record = estimate
        table, spec = _regional(stage, record)
        tables.append(table)
        plots = (spec,)
        items.append(Item("Dose model", f"{record.get('model')} {record.get('model_version')}"))
        lung = _lung(record)
        items.append(Item(f"Estimated lung dose ({stage})", lung, record.get("dose_unit", "")))
        notes.append(str(record.get("statement", "")))
        notes += [f"Model warning: {w}" for w in record.get("warnings", [])]
    content = inhalation.signed_content(ctx=ctx, run=run)
    sigs = tuple(
        signature_line(sig, "Inhalation", accounts.signature_valid(sig, content=content))
        for sig in accounts.signatures_for(ctx=ctx, record_type=inhalation.RUN_RECORD,
                                           record_id=run.id)
    )  # fmt: skip
    return Section(key="inhalation", title=title, recorded=True, status=v["state"],
                   items=tuple(items), tables=tuple(tables), plots=plots, signatures=sigs,
                   notes=tuple(n for n in notes if n))  # fmt: skip


def cumulative_dose_section(ctx: Ctx, patient: Patient, visits: list[course.Visit]) -> Section:
    """Course: estimated lung dose per session and its running total (final estimates only)."""
    del patient
    rows: list[tuple[Cell, ...]] = []
    total, unit = 0.0, ""
    xs: list[str] = []
    ys: list[float] = []
    for v in visits:
        run = inhalation.current_run(ctx=ctx, session_id=v.session.id)
        row = None if run is None else inhalation.latest_estimate(
            ctx=ctx, run_id=run.id, stage=EstimateStage.FINAL)  # fmt: skip
        lung = None if row is None else _lung(row.record)
        if row is not None and row.dose_unit == "particles" and lung is not None:
            total += float(lung)
            unit = row.dose_unit
            xs.append(v.label)
            ys.append(total)
        rows.append((v.label, None if row is None else row.dose_unit, lung,
                     total if xs and xs[-1] == v.label else None))  # fmt: skip
    table = Table("Estimated lung dose by session (final model estimates)",
                  (Column("Session"), Column("Dose unit"), Column("Lung dose"),
                   Column("Cumulative lung dose", "particles")), tuple(rows))  # fmt: skip
    spec = PlotSpec(
        "cumulative_lung_dose",
        "Cumulative estimated lung dose",
        "Session",
        "Cumulative lung dose",
        unit or "particles",
        (Series("Cumulative estimated lung dose", tuple(xs), tuple(ys)),),
        alt="Line chart of the running total of the model-estimated vesicles "
        "deposited in the lungs over the sessions with a final estimate.",
    )
    return Section(key="lung_dose", title="Cumulative estimated lung dose", recorded=bool(xs),
                   status="" if xs else "no final dose estimate recorded", plots=(spec,),
                   tables=(table,), notes=(MODEL_ESTIMATE_STATEMENT,))  # fmt: skip


def add_medication(ctx: Ctx, b: fhir.BundleBuilder, session_id: int) -> str | None:
    """The verified lot handed to the inhalation step as a Medication with its batch."""
    dose = inhalation.verified_dose(ctx=ctx, session_id=session_id)
    if dose is None:
        return None
    batch: dict[str, str] = {"lotNumber": dose.lot_number}
    expiry = lot_expiry(ctx, dose.lot_id)
    if expiry is not None:
        batch["expirationDate"] = fhir.instant(expiry)
    return b.add(fhir.urn("lot", dose.lot_id), {
        "resourceType": "Medication",
        "identifier": [{"system": f"{t.CANONICAL_BASE}/sid/lot", "value": str(dose.lot_id)}],
        "status": "active",
        "code": {"text": f"{dose.product_name} (investigational), nebulizer suspension"},
        "batch": batch,
    })  # fmt: skip


LotExpiry = Callable[[Ctx, int], datetime | None]
_LOT_EXPIRY: list[LotExpiry] = []


def use_lot_expiry(source: LotExpiry) -> None:
    """Where the lot's expiry comes from (step 2 registers it; until then none is exported)."""
    _LOT_EXPIRY[:] = [source]


def lot_expiry(ctx: Ctx, lot_id: int) -> datetime | None:
    """The lot's expiry from step 2's records, or None when no source is registered."""
    return _LOT_EXPIRY[0](ctx, lot_id) if _LOT_EXPIRY else None


def fhir_contributor(ctx: Ctx, b: fhir.BundleBuilder, refs: fhir.SessionRefs) -> None:
    """Device, Medication (the verified lot), MedicationAdministration and Procedure."""
    run = inhalation.current_run(ctx=ctx, session_id=refs.session.id)
    if run is None or run.started_at is None:
        return
    device = inhalation.get_device(ctx=ctx, device_id=run.device_id)
    device_url = b.add(fhir.urn("device", device.id), {
        "resourceType": "Device",
        "identifier": [{"system": f"{t.CANONICAL_BASE}/sid/device", "value": str(device.id)}],
        "status": "active" if device.status == "active" else "inactive",
        "manufacturer": device.make, "serialNumber": device.serial_or_lot,
        "deviceName": [{"name": f"{device.make} {device.model}", "type": "model-name"}],
        "type": fhir.concept(t.NEBULIZER_DEVICE, text=device.kind),
    })  # fmt: skip
    medication = add_medication(ctx, b, refs.session.id)
    supervisor = None if run.supervisor_id is None else fhir.add_practitioner(
        b, run.supervisor_id, run.supervisor_name or "")  # fmt: skip
    period: dict[str, str] = {"start": fhir.instant(run.started_at)}
    if run.stopped_at is not None:
        period["end"] = fhir.instant(run.stopped_at)
    stopped = run.state == "stopped"
    complete = stopped and run.stop_reason in ("output_stopped", "sputtering",
                                               "planned_duration_reached")  # fmt: skip
    performers = [] if supervisor is None else [{"actor": fhir.ref(supervisor)}]
    procedure = b.add(fhir.urn("procedure", run.id), {
        "resourceType": "Procedure",
        "status": "completed" if complete else ("stopped" if stopped else "in-progress"),
        "code": fhir.concept(t.NEBULIZER_THERAPY), "subject": fhir.ref(refs.patient),
        "encounter": fhir.ref(refs.encounter), "performedPeriod": period,
        "usedReference": [fhir.ref(device_url)] + ([fhir.ref(medication)] if medication else []),
        **({"performer": performers} if performers else {}),
    })  # fmt: skip
    unit = DOSE_UNIT_UCUM.get(run.dose_unit, "{particles}")
    administration: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "status": "completed" if complete else ("stopped" if stopped else "in-progress"),
        "subject": fhir.ref(refs.patient), "context": fhir.ref(refs.encounter),
        "effectivePeriod": period, "partOf": [fhir.ref(procedure)],
        "device": [fhir.ref(device_url)],
        "dosage": {
            "route": fhir.concept(t.ROUTE_RESPIRATORY),
            "method": fhir.concept(t.METHOD_INHALE),
            "dose": fhir.quantity(run.loaded_dose, unit),
            "text": f"{run.loaded_dose:g} {run.dose_unit} in {run.fill_ml:g} mL by nebulizer "
                    f"({run.interface})" if run.inhaler is None else
                    f"{run.inhaler['actuations_planned']} × {run.inhaler['dose_per_actuation']:g} "
                    f"{run.dose_unit} by {run.inhaler['kind']} inhaler ({run.interface})",
        },
    }  # fmt: skip
    if performers:
        administration["performer"] = performers
    if medication:
        administration["medicationReference"] = fhir.ref(medication)
    else:
        administration["medicationCodeableConcept"] = {
            "text": "Investigational product (preparation record not available to the export)"
        }
    mar = b.add(fhir.urn("administration", run.id), administration)
    for sig in accounts.signatures_for(ctx=ctx, record_type=inhalation.RUN_RECORD,
                                       record_id=run.id):  # fmt: skip
        fhir.add_provenance(b, sig, [mar, procedure])


def _lung(record: Mapping[str, Any], region: str = "lung") -> Any:
    """The deposited dose of a region in the record's unit (vesicles, mg, µg or cells).

    ``amounts`` is in every estimate stored since doses carry their unit; older
    records have vesicle ``particles`` only.
    """
    return (record.get("amounts") or record.get("particles") or {}).get(region)


ADMINISTRATION_COLUMNS: tuple[tables.ColumnDef, ...] = (
    tables.ColumnDef("session_id", "integer", "", "exoneb session id"),
    tables.ColumnDef("patient_id", "integer", "", "exoneb patient id"),
    tables.ColumnDef("arm_code", "text", "", "dose level or arm"),
    tables.ColumnDef("device", "text", "", "nebulizer make, model and kind"),
    tables.ColumnDef("interface", "text", "", "mouthpiece, valved mask …"),
    tables.ColumnDef("regimen_id", "text", "", "inhalation regimen of the protocol"),
    tables.ColumnDef("loaded_dose", "decimal", "see dose_unit", "dose loaded in the device"),
    tables.ColumnDef("dose_unit", "text", "", "particles, mg, µg or cells"),
    tables.ColumnDef("fill_ml", "decimal", "mL", "volume filled into the reservoir"),
    tables.ColumnDef("state", "text", "", "not_started, running, paused or stopped"),
    tables.ColumnDef("started_at_utc", "datetime", "UTC", "nebulization start, ISO 8601"),
    tables.ColumnDef("stopped_at_utc", "datetime", "UTC", "nebulization end, ISO 8601"),
    tables.ColumnDef("stop_reason", "text", "", "why nebulization ended"),
    tables.ColumnDef("interruptions", "integer", "", "number of pauses"),
    tables.ColumnDef("interruption_s", "decimal", "s", "time paused"),
    tables.ColumnDef("nebulization_s", "decimal", "s", "time nebulizing"),
    tables.ColumnDef("residual_ml", "decimal", "mL", "volume left in the device"),
    tables.ColumnDef("lung_dose", "decimal", "see dose_unit", "final model estimate, lungs"),
    tables.ColumnDef("alveolar_dose", "decimal", "see dose_unit", "final model estimate, alveoli"),
    tables.ColumnDef("dose_model", "text", "", "dose engine model and version"),
    tables.ColumnDef("signed", "boolean", "", "the supervisor signed the step"),
)


def administration_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """One row per session with an inhalation run."""
    out: list[tables.Row] = []
    for s in found:
        run = inhalation.current_run(ctx=ctx, session_id=s.id)
        if run is None:
            continue
        device = inhalation.get_device(ctx=ctx, device_id=run.device_id)
        final = inhalation.latest_estimate(ctx=ctx, run_id=run.id, stage=EstimateStage.FINAL)
        out.append({
            "session_id": s.id, "patient_id": s.patient_id, "arm_code": s.arm_code,
            "device": f"{device.make} {device.model} ({device.kind})",
            "interface": run.interface, "regimen_id": run.regimen_id,
            "loaded_dose": run.loaded_dose, "dose_unit": run.dose_unit, "fill_ml": run.fill_ml,
            "state": run.state, "started_at_utc": tables.utc(run.started_at),
            "stopped_at_utc": tables.utc(run.stopped_at), "stop_reason": run.stop_reason,
            "interruptions": run.interruptions, "interruption_s": run.interruption_s,
            "nebulization_s": run.nebulization_s, "residual_ml": run.residual_ml,
            "lung_dose": None if final is None else _lung(final.record),
            "alveolar_dose": None if final is None else _lung(final.record, "alveolar"),
            "dose_model": None if final is None else f"{final.model} {final.model_version}",
            "signed": run.signature_id is not None,
        })  # fmt: skip
    return out


session_report.register_section("inhalation", inhalation_section)
tables.register_table("administrations", ADMINISTRATION_COLUMNS, administration_rows)
course.register_course_series(cumulative_dose_section)
fhir.register_contributor(fhir_contributor)
