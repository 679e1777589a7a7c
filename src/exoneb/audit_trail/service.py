"""Reading and exporting the audit trail (permission-checked; exports are audited)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Select, select

from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.audit_trail.schemas import AuditFilter, AuditRow
from exoneb.core import audit
from exoneb.core.audit import AuditEvent, ChainReport, verify_chain
from exoneb.core.context import Ctx

CSV_COLUMNS = list(AuditRow.model_fields)


def _query(flt: AuditFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if flt.username:
        stmt = stmt.where(AuditEvent.actor_username == flt.username.strip().lower())
    if flt.patient_id:
        stmt = stmt.where(AuditEvent.patient_id == flt.patient_id)
    if flt.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= datetime.combine(flt.date_from, time(), UTC))
    if flt.date_to:
        end = datetime.combine(flt.date_to, time(), UTC) + timedelta(days=1)
        stmt = stmt.where(AuditEvent.occurred_at < end)
    return stmt.order_by(AuditEvent.seq.desc()).limit(flt.limit)


def search(*, ctx: Ctx, flt: AuditFilter) -> Sequence[AuditRow]:
    """Audit rows matching the filter, newest first."""
    authorize(ctx=ctx, action=Action.AUDIT_READ)
    return [AuditRow.model_validate(r) for r in ctx.db.scalars(_query(flt)).all()]


def export_csv(*, ctx: Ctx, flt: AuditFilter) -> str:
    """The filtered rows as CSV; the export writes its own audit row first."""
    authorize(ctx=ctx, action=Action.AUDIT_EXPORT)
    rows = [AuditRow.model_validate(r) for r in ctx.db.scalars(_query(flt)).all()]
    audit.record(
        ctx=ctx,
        action="audit.export",
        entity_type="audit_event",
        patient_id=flt.patient_id,
        after={**flt.model_dump(mode="json"), "rows": len(rows)},
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow({k: _cell(v) for k, v in data.items()})
    return buffer.getvalue()


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas (CSV injection) in exported text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def check_chain(*, ctx: Ctx) -> ChainReport:
    """Verify the hash chain (auditors and administrators)."""
    authorize(ctx=ctx, action=Action.AUDIT_READ)
    return verify_chain(ctx.db)
