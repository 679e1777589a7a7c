"""JSON API for the audit trail (``/api/v1/audit``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import Response

from exoneb.audit_trail import service
from exoneb.audit_trail.schemas import AuditFilter, AuditRow
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["audit"])


class ChainStatus(BaseModel):
    """Result of verifying the hash chain."""

    ok: bool
    rows_checked: int
    first_bad_seq: int | None
    problem: str | None


@router.get("/audit", response_model=list[AuditRow])
def search(auth: AuthDep, flt: Annotated[AuditFilter, Query()]) -> list[AuditRow]:
    """Audit rows by user, patient and date range, newest first."""
    with auth.action() as ctx:
        return list(service.search(ctx=ctx, flt=flt))


@router.post("/audit/export", response_class=Response)
def export(auth: AuthDep, flt: AuditFilter) -> Response:
    """The filtered rows as CSV (the export is recorded in the audit trail)."""
    with auth.action() as ctx:
        text = service.export_csv(ctx=ctx, flt=flt)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="exoneb-audit.csv"'},
    )


@router.get("/audit/verify", response_model=ChainStatus)
def verify(auth: AuthDep) -> ChainStatus:
    """Check the hash chain and name the first edited, deleted or reordered row."""
    with auth.action() as ctx:
        report = service.check_chain(ctx=ctx)
    return ChainStatus(
        ok=report.ok,
        rows_checked=report.rows_checked,
        first_bad_seq=report.first_bad_seq,
        problem=report.problem,
    )
