"""Step 2 in reports: lot and dose preparation with its arithmetic and both signatures.

Reads only through :mod:`exoneb.preparation.service` (``session_preparations``,
``draws_of``, ``get_lot``, ``lots``, ``signed_content``) and registers at import:
the session-report section, the ``lots`` and ``preparations`` CSV tables, the
"lots used" section of the safety overview and the lot's expiry on the FHIR
``Medication.batch``.

Whether a made dose may *still* be given depends on the clock; the report
shows the stored use-by time instead, so its fingerprint does not change by
itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from exoneb.accounts import service as accounts
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.preparation import service as preparation
from exoneb.reports import inhalation_parts, safety, session_report, tables
from exoneb.reports.document import Cell, Column, Item, Section, Table, not_recorded
from exoneb.reports.session_report import STEP_KEYS, SessionContext, signature_line, utc_text
from exoneb.sessions.models import TherapySession


def preparation_section(ctx: Ctx, sc: SessionContext) -> Section:
    """Step 2: the lot, the dose arithmetic, the checks, the vials, preparer and verifier."""
    title = dict(STEP_KEYS)["preparation"]
    made = preparation.session_preparations(ctx=ctx, session_id=sc.session.id)
    if not made:
        return not_recorded("preparation", title, "No dose preparation recorded for this session.")
    current = next((p for p in made if p.status != "discarded"), made[0])
    lot = preparation.get_lot(ctx=ctx, lot_id=current.lot_id)
    saline = (
        None
        if current.saline_lot_id is None
        else preparation.get_lot(ctx=ctx, lot_id=current.saline_lot_id)
    )
    p = current
    # particle items only for an exosome dose: a drug, cell or placebo dose counts no vesicles
    vesicles = p.dose_unit is None and lot.kind == "exosome"
    items = [
        Item("Product", lot.product_name), Item("Lot", f"{lot.lot_number} ({lot.manufacturer})"),
        Item("Lot expiry", utc_text(lot.expires_at)), Item("Lot status", lot.status),
        Item("Saline lot", "none (inhaler)" if saline is None
             else f"{saline.lot_number} ({saline.manufacturer})"),
        *([] if p.dose_unit is None else [
            Item("Comparator dose loaded", p.dose_amount, p.dose_unit),
            Item("Actuations", p.actuations)]),
        *([] if vesicles or p.dose_unit is not None else [
            Item("Dose loaded", preparation.dose_text(p, lot))]),
        Item("Dose level", p.arm_code),
        *([] if not vesicles else [
            Item("Prescribed dose", p.prescribed_particles, "particles"),
            Item("Target dose (after residual compensation)", p.target_particles, "particles"),
            Item("Certified concentration", p.certified_particles_per_ml, "particles/mL")]),
        Item("Stock volume (exact)", p.stock_exact_ml, "mL"),
        Item("Stock volume", p.stock_ml, "mL"),
        Item("Saline volume", p.saline_ml, "mL"), Item("Fill volume", p.fill_ml, "mL"),
        *([] if not vesicles else [
            Item("Loaded dose", p.loaded_particles, "particles"),
            Item("Expected emitted dose", p.expected_emitted_particles, "particles")]),
        Item("Deviation from prescribed", round(100 * p.deviation_fraction, 3), "%"),
        Item("Nebulizer prepared for", p.nebulizer_name),
        Item("Appearance acceptable", p.appearance_ok),
        Item("Thaw started", utc_text(p.thaw_started_at)),
        Item("Prepared", f"{utc_text(p.prepared_at)} by {p.prepared_by}"),
        Item("Use by", utc_text(p.use_by)), Item("Label", p.label_code),
        Item("Verified", None if p.verified_at is None
             else f"{utc_text(p.verified_at)} by {p.verified_by}"),
    ]  # fmt: skip
    notes = ["Arithmetic: " + " → ".join(str(s) for s in p.steps)] if p.steps else []
    if p.appearance_note:
        notes.append(f"Appearance note: {p.appearance_note}")
    checks = tuple((c.get("key"), c.get("message")) for c in p.checks or [])
    draws = tuple((v.code, round(d.volume_ul / 1000, 3), round(d.remainder_discarded_ul / 1000, 3),
                   utc_text(d.thawed_at)) for d, v in preparation.draws_of(
                       ctx=ctx, preparation_id=p.id))  # fmt: skip
    discarded = tuple((q.id, utc_text(q.discarded_at), q.discarded_by, q.discard_reason)
                      for q in made if q.status == "discarded")  # fmt: skip
    tables_ = [
        Table("Checks at preparation", (Column("Check"), Column("Result")), checks),
        Table("Vials drawn", (Column("Vial"), Column("Drawn", "mL"),
                              Column("Remainder discarded", "mL"), Column("Thawed (UTC)")), draws),
    ]  # fmt: skip
    if discarded:
        cols = (Column("Preparation"), Column("When (UTC)"), Column("By"), Column("Reason"))
        tables_.append(Table("Discarded preparations", cols, discarded))
    sigs = []
    for q in made:
        content = preparation.signed_content(q)
        for sig in accounts.signatures_for(ctx=ctx, record_type=preparation.PREP_RECORD,
                                           record_id=q.id):  # fmt: skip
            sigs.append(signature_line(sig, f"Preparation {q.id}",
                                       accounts.signature_valid(sig, content=content)))  # fmt: skip
    return Section(key="preparation", title=title, recorded=True, status=p.status,
                   items=tuple(items), tables=tuple(tables_), signatures=tuple(sigs),
                   notes=tuple(notes))  # fmt: skip


def lot_expiry(ctx: Ctx, lot_id: int) -> datetime | None:
    """The lot's expiry for ``Medication.batch.expirationDate``."""
    return preparation.get_lot(ctx=ctx, lot_id=lot_id).expires_at


# --- CSV ------------------------------------------------------------------------------------

LOT_COLUMNS: tuple[tables.ColumnDef, ...] = (
    tables.ColumnDef("lot_id", "integer", "", "exoneb lot id"),
    tables.ColumnDef("kind", "text", "", "exosome or saline"),
    tables.ColumnDef("product_name", "text", "", "product"),
    tables.ColumnDef("manufacturer", "text", "", "manufacturer"),
    tables.ColumnDef("lot_number", "text", "", "manufacturer's lot number"),
    tables.ColumnDef("protocol_id", "text", "", "protocol the lot is for (exosome lots)"),
    tables.ColumnDef("status", "text", "", "quarantine, released, rejected, recalled …"),
    tables.ColumnDef("expires_at_utc", "datetime", "UTC", "expiry, ISO 8601"),
    tables.ColumnDef("certified_particles_per_ml", "decimal", "particles/mL",
                     "concentration certified for dosing (NTA)"),
    tables.ColumnDef("vial_count", "integer", "", "vials received"),
    tables.ColumnDef("volume_per_vial_ml", "decimal", "mL", "volume per vial"),
    tables.ColumnDef("received_at_utc", "datetime", "UTC", "received, ISO 8601"),
    tables.ColumnDef("released_at_utc", "datetime", "UTC", "released for use, ISO 8601"),
    tables.ColumnDef("released_by", "text", "", "who released it"),
    tables.ColumnDef("preparations", "integer", "", "doses prepared from it for this protocol"),
)  # fmt: skip

PREPARATION_COLUMNS: tuple[tables.ColumnDef, ...] = (
    tables.ColumnDef("preparation_id", "integer", "", "exoneb preparation id"),
    tables.ColumnDef("session_id", "integer", "", "exoneb session id"),
    tables.ColumnDef("patient_id", "integer", "", "exoneb patient id"),
    tables.ColumnDef("arm_code", "text", "", "dose level or arm"),
    tables.ColumnDef("status", "text", "", "prepared, verified or discarded"),
    tables.ColumnDef("lot_id", "integer", "", "exosome lot"),
    tables.ColumnDef("lot_number", "text", "", "exosome lot number"),
    tables.ColumnDef("saline_lot_number", "text", "", "saline lot number"),
    tables.ColumnDef("prescribed_particles", "decimal", "particles", "dose of the dose level"),
    tables.ColumnDef("certified_particles_per_ml", "decimal", "particles/mL",
                     "lot concentration used"),
    tables.ColumnDef("stock_ml", "decimal", "mL", "stock volume drawn"),
    tables.ColumnDef("saline_ml", "decimal", "mL", "saline added"),
    tables.ColumnDef("fill_ml", "decimal", "mL", "volume in the nebulizer"),
    tables.ColumnDef("loaded_particles", "decimal", "particles", "dose loaded"),
    tables.ColumnDef("deviation_fraction", "decimal", "1", "(loaded − prescribed) / prescribed"),
    tables.ColumnDef("prepared_at_utc", "datetime", "UTC", "prepared, ISO 8601"),
    tables.ColumnDef("prepared_by", "text", "", "preparer"),
    tables.ColumnDef("use_by_utc", "datetime", "UTC", "use-by time, ISO 8601"),
    tables.ColumnDef("verified_at_utc", "datetime", "UTC", "second-person check, ISO 8601"),
    tables.ColumnDef("verified_by", "text", "", "second person"),
    tables.ColumnDef("discard_reason", "text", "", "why it was discarded"),
)  # fmt: skip


def _preparations(ctx: Ctx, found: Sequence[TherapySession]) -> list[Any]:
    return [p for s in found for p in preparation.session_preparations(ctx=ctx, session_id=s.id)]


def preparation_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """One row per dose preparation of the sessions (discarded ones too)."""
    out: list[tables.Row] = []
    lots: dict[int, Any] = {}
    for p in sorted(_preparations(ctx, found), key=lambda q: q.id):
        for lot_id in (p.lot_id, p.saline_lot_id):
            if lot_id is not None and lot_id not in lots:
                lots[lot_id] = preparation.get_lot(ctx=ctx, lot_id=lot_id)
        out.append({
            "preparation_id": p.id, "session_id": p.session_id, "patient_id": p.patient_id,
            "arm_code": p.arm_code, "status": p.status, "lot_id": p.lot_id,
            "lot_number": lots[p.lot_id].lot_number,
            "saline_lot_number": None if p.saline_lot_id is None
            else lots[p.saline_lot_id].lot_number,
            "prescribed_particles": p.prescribed_particles,
            "certified_particles_per_ml": p.certified_particles_per_ml, "stock_ml": p.stock_ml,
            "saline_ml": p.saline_ml, "fill_ml": p.fill_ml,
            "loaded_particles": p.loaded_particles, "deviation_fraction": p.deviation_fraction,
            "prepared_at_utc": tables.utc(p.prepared_at), "prepared_by": p.prepared_by,
            "use_by_utc": tables.utc(p.use_by), "verified_at_utc": tables.utc(p.verified_at),
            "verified_by": p.verified_by, "discard_reason": p.discard_reason,
        })  # fmt: skip
    return out


def _used_lots(ctx: Ctx, found: Sequence[TherapySession]) -> list[tuple[Any, int]]:
    counts: dict[int, int] = {}
    for p in _preparations(ctx, found):
        counts[p.lot_id] = counts.get(p.lot_id, 0) + 1
    return [(preparation.get_lot(ctx=ctx, lot_id=i), n) for i, n in sorted(counts.items())]


def lot_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """The exosome lots used for the protocol's sessions, with how many doses each made."""
    return [
        {
            "lot_id": lot.id, "kind": lot.kind, "product_name": lot.product_name,
            "manufacturer": lot.manufacturer, "lot_number": lot.lot_number,
            "protocol_id": lot.protocol_id, "status": lot.status,
            "expires_at_utc": tables.utc(lot.expires_at),
            "certified_particles_per_ml": lot.certified_particles_per_ml,
            "vial_count": lot.vial_count, "volume_per_vial_ml": lot.volume_per_vial_ml,
            "received_at_utc": tables.utc(lot.received_at),
            "released_at_utc": tables.utc(lot.released_at), "released_by": lot.released_by,
            "preparations": n,
        }
        for lot, n in _used_lots(ctx, found)
    ]  # fmt: skip


def lots_section(ctx: Ctx, settings: Settings, protocol: Any,
                 found: Sequence[TherapySession]) -> Section:  # fmt: skip
    """Safety overview: every lot that made a dose for this protocol, its status and expiry."""
    del settings, protocol
    used = _used_lots(ctx, found)
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (lot.lot_number, lot.product_name, lot.manufacturer, lot.status,
         utc_text(lot.expires_at), n) for lot, n in used)  # fmt: skip
    return Section(key="lots", title=dict(safety.SAFETY_KEYS)["lots"], recorded=True,
                   status="" if used else "no dose prepared yet",
                   tables=(Table("Lots used", (Column("Lot"), Column("Product"),
                                               Column("Manufacturer"), Column("Status"),
                                               Column("Expiry (UTC)"), Column("Doses prepared")),
                                 rows),))  # fmt: skip


session_report.register_section("preparation", preparation_section)
tables.register_table("lots", LOT_COLUMNS, lot_rows)
tables.register_table("preparations", PREPARATION_COLUMNS, preparation_rows)
safety.register_safety_section("lots", lots_section)
inhalation_parts.use_lot_expiry(lot_expiry)
