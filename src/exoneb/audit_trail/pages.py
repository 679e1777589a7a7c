"""The audit viewer page and its CSV export."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from exoneb.audit_trail import service
from exoneb.audit_trail.schemas import AuditFilter
from exoneb.web.deps import AuthDep, FormDep
from exoneb.web.forms import parse
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, auth: AuthDep) -> Response:
    """Filter form and matching rows."""
    values = dict(request.query_params)
    flt, errors = parse(AuditFilter, values)
    rows = []
    if flt is not None:
        with auth.action() as ctx:
            rows = list(service.search(ctx=ctx, flt=flt))
    else:
        with auth.action() as ctx:  # still enforce the permission on a bad filter
            service.search(ctx=ctx, flt=AuditFilter(limit=1))
    return render(
        request,
        "audit_trail/list.html",
        {"rows": rows, "values": values, "errors": errors},
        auth=auth,
        status_code=200 if flt is not None else 422,
    )


@router.post("/audit/export.csv")
def export(request: Request, auth: AuthDep, form: FormDep) -> Response:
    """Download the filtered rows as CSV; the download is audited."""
    flt, errors = parse(AuditFilter, form)
    if flt is None:
        return render(
            request,
            "audit_trail/list.html",
            {"rows": [], "values": form, "errors": errors},
            auth=auth,
            status_code=422,
        )
    with auth.action() as ctx:
        text = service.export_csv(ctx=ctx, flt=flt)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="exoneb-audit.csv"'},
    )
