"""Report pages: session report, patient course, protocol safety overview, export downloads.

Each report page renders the same :class:`~exoneb.reports.document.Report`
object as its PDF (one link away), with the figures as SVG and their values
in tables beside them. Download links and export forms opt out of htmx
boosting (``hx-boost="false"``) so the browser saves the file.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from exoneb.accounts.permissions import Action
from exoneb.core.errors import InvalidInput
from exoneb.reports import plots, service, tables
from exoneb.reports.document import display, plot_values
from exoneb.reports.responses import csv_response, fhir_response, pdf_response
from exoneb.reports.service import IssuedReport
from exoneb.web.deps import Auth, AuthDep, FormDep
from exoneb.web.templating import render

router = APIRouter(include_in_schema=False)


def _report_page(
    request: Request, auth: Auth, issued: IssuedReport, pdf_url: str, **links: Any
) -> Response:
    context: dict[str, Any] = {
        "r": issued, "display": display, "plot": plots.render, "plot_values": plot_values,
        "pdf_url": pdf_url, "verify_url": links.get("verify_url"),
        "back_url": links.get("back_url"), "back_label": links.get("back_label", "Back"),
    }  # fmt: skip
    return render(request, "reports/report.html", context, auth=auth)


@router.get("/sessions/{session_id}/report")
def session_report(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The session report page."""
    with auth.action() as ctx:
        issued = service.session_report(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, fmt="html"
        )
    return _report_page(
        request, auth, issued, f"/sessions/{session_id}/report.pdf",
        verify_url=f"/sessions/{session_id}/report/verify",
        back_url=f"/sessions/{session_id}", back_label="Back to the session",
    )  # fmt: skip


@router.get("/sessions/{session_id}/report.pdf")
def session_report_pdf(session_id: int, auth: AuthDep) -> Response:
    """The session report as PDF."""
    with auth.action() as ctx:
        issued = service.session_report(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, fmt="pdf"
        )
    return pdf_response(issued, f"exoneb-session-{session_id}-report.pdf")


@router.get("/sessions/{session_id}/report/verify")
def verify_form(request: Request, session_id: int, auth: AuthDep) -> Response:
    """The form to check a printed copy's fingerprint."""
    context = {"session_id": session_id, "result": None}
    return render(request, "reports/verify.html", context, auth=auth)


@router.post("/sessions/{session_id}/report/verify")
def verify(request: Request, session_id: int, auth: AuthDep, form: FormDep) -> Response:
    """Check a printed copy's fingerprint against the record now."""
    context: dict[str, Any] = {"session_id": session_id, "result": None, "values": form}
    try:
        with auth.action() as ctx:
            context["result"] = service.verify_session_report(
                ctx=ctx, settings=auth.state.settings, session_id=session_id,
                digest=form.get("digest", ""),
            )  # fmt: skip
    except InvalidInput as exc:
        context["errors"] = {exc.field: exc.message}
        return render(request, "reports/verify.html", context, auth=auth, status_code=422)
    return render(request, "reports/verify.html", context, auth=auth)


@router.get("/patients/{patient_id}/course")
def course(request: Request, patient_id: int, auth: AuthDep) -> Response:
    """The patient course report page."""
    with auth.action() as ctx:
        issued = service.patient_course(ctx=ctx, patient_id=patient_id, fmt="html")
    return _report_page(
        request,
        auth,
        issued,
        f"/patients/{patient_id}/course.pdf",
        back_url=f"/patients/{patient_id}",
        back_label="Back to the patient",
    )


@router.get("/patients/{patient_id}/course.pdf")
def course_pdf(patient_id: int, auth: AuthDep) -> Response:
    """The patient course report as PDF."""
    with auth.action() as ctx:
        issued = service.patient_course(ctx=ctx, patient_id=patient_id, fmt="pdf")
    return pdf_response(issued, f"exoneb-patient-{patient_id}-course.pdf")


@router.get("/protocols/{protocol_id}/safety")
def safety(request: Request, protocol_id: str, auth: AuthDep) -> Response:
    """The protocol safety overview page."""
    with auth.action() as ctx:
        issued = service.protocol_safety(
            ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id, fmt="html"
        )
    return _report_page(request, auth, issued, f"/protocols/{protocol_id}/safety.pdf",
                        back_url="/reports", back_label="Reports and export")  # fmt: skip


@router.get("/protocols/{protocol_id}/safety.pdf")
def safety_pdf(protocol_id: str, auth: AuthDep) -> Response:
    """The protocol safety overview as PDF."""
    with auth.action() as ctx:
        issued = service.protocol_safety(
            ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id, fmt="pdf"
        )
    return pdf_response(issued, f"exoneb-{protocol_id}-safety.pdf")


@router.get("/reports")
def reports_home(request: Request, auth: AuthDep) -> Response:
    """Protocol overviews, CSV tables with their dictionary, and FHIR export."""
    context = {
        "protocols": service.available_protocols(auth.state.settings),
        "tables": list(tables.DICTIONARY), "dictionary": tables.DICTIONARY,
        "may_export": auth.can(Action.DATA_EXPORT),
    }  # fmt: skip
    return render(request, "reports/exports.html", context, auth=auth)


@router.post("/exports/csv")
def export_csv(auth: AuthDep, form: FormDep) -> Response:
    """Download one coordinator table as CSV."""
    table, protocol_id = form.get("table", ""), form.get("protocol_id", "")
    with auth.action() as ctx:
        text = service.export_csv(
            ctx=ctx, settings=auth.state.settings, table=table, protocol_id=protocol_id
        )
    return csv_response(text, f"exoneb-{protocol_id}-{table}.csv")


@router.post("/exports/dictionary")
def export_dictionary(auth: AuthDep) -> Response:
    """Download the data dictionary."""
    with auth.action() as ctx:
        text = service.export_dictionary(ctx=ctx)
    return csv_response(text, "exoneb-data-dictionary.csv")


@router.post("/exports/fhir")
def export_fhir(auth: AuthDep, form: FormDep) -> Response:
    """Download a FHIR Bundle of one protocol or one patient."""
    raw = form.get("patient_id", "").strip()
    if raw and not raw.isdigit():
        raise InvalidInput("Enter the patient's id (a whole number).", field="patient_id")
    patient_id = int(raw) if raw else None
    protocol_id = None if patient_id else (form.get("protocol_id") or None)
    with auth.action() as ctx:
        bundle = service.export_fhir(
            ctx=ctx, settings=auth.state.settings, patient_id=patient_id, protocol_id=protocol_id
        )
    name = f"patient-{patient_id}" if patient_id else str(protocol_id)
    return fhir_response(bundle, f"exoneb-{name}-fhir.json")
