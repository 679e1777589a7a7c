"""JSON API for reports and export (``/api/v1/…``).

Reports need ``report.read``; exports need ``data.export`` (403 otherwise,
with a ``permission.denied`` audit row). Every report and export is audited.
"""

from __future__ import annotations

import json

from fastapi import APIRouter
from starlette.responses import Response

from exoneb.reports import service
from exoneb.reports.document import canonical_json
from exoneb.reports.responses import csv_response, fhir_response, pdf_response
from exoneb.reports.schemas import (
    CsvExportIn,
    FhirExportIn,
    ReportOut,
    VerificationOut,
    VerifyIn,
)
from exoneb.reports.service import IssuedReport
from exoneb.web.deps import AuthDep

router = APIRouter(tags=["reports"])


def _out(issued: IssuedReport) -> ReportOut:
    return ReportOut(
        sha256=issued.digest, generated_at_utc=issued.issue.generated_at_utc,
        generated_by=issued.issue.generated_by, report=json.loads(canonical_json(issued.report)),
    )  # fmt: skip


@router.get("/sessions/{session_id}/report", response_model=ReportOut)
def session_report(session_id: int, auth: AuthDep) -> ReportOut:
    """The session report's content and its SHA-256 fingerprint."""
    with auth.action() as ctx:
        issued = service.session_report(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, fmt="json"
        )
    return _out(issued)


@router.get("/sessions/{session_id}/report.pdf", response_class=Response)
def session_report_pdf(session_id: int, auth: AuthDep) -> Response:
    """The session report as PDF (fingerprint on every page)."""
    with auth.action() as ctx:
        issued = service.session_report(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, fmt="pdf"
        )
    return pdf_response(issued, f"exoneb-session-{session_id}-report.pdf")


@router.post("/sessions/{session_id}/report/verify", response_model=VerificationOut)
def verify(session_id: int, data: VerifyIn, auth: AuthDep) -> VerificationOut:
    """Compare a printed copy's fingerprint with the report rebuilt from the record now."""
    with auth.action() as ctx:
        v = service.verify_session_report(
            ctx=ctx, settings=auth.state.settings, session_id=session_id, digest=data.sha256
        )
    return VerificationOut(session_id=v.session_id, given=v.given, current=v.current,
                           matches=v.matches, issued=list(v.issued))  # fmt: skip


@router.get("/patients/{patient_id}/course", response_model=ReportOut)
def course(patient_id: int, auth: AuthDep) -> ReportOut:
    """The patient course report's content (values over sessions)."""
    with auth.action() as ctx:
        issued = service.patient_course(ctx=ctx, patient_id=patient_id, fmt="json")
    return _out(issued)


@router.get("/patients/{patient_id}/course.pdf", response_class=Response)
def course_pdf(patient_id: int, auth: AuthDep) -> Response:
    """The patient course report as PDF."""
    with auth.action() as ctx:
        issued = service.patient_course(ctx=ctx, patient_id=patient_id, fmt="pdf")
    return pdf_response(issued, f"exoneb-patient-{patient_id}-course.pdf")


@router.get("/protocols/{protocol_id}/safety", response_model=ReportOut)
def safety(protocol_id: str, auth: AuthDep) -> ReportOut:
    """The protocol safety overview's content."""
    with auth.action() as ctx:
        issued = service.protocol_safety(
            ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id, fmt="json"
        )
    return _out(issued)


@router.get("/protocols/{protocol_id}/safety.pdf", response_class=Response)
def safety_pdf(protocol_id: str, auth: AuthDep) -> Response:
    """The protocol safety overview as PDF."""
    with auth.action() as ctx:
        issued = service.protocol_safety(
            ctx=ctx, settings=auth.state.settings, protocol_id=protocol_id, fmt="pdf"
        )
    return pdf_response(issued, f"exoneb-{protocol_id}-safety.pdf")


@router.post("/exports/csv", response_class=Response)
def export_csv(data: CsvExportIn, auth: AuthDep) -> Response:
    """One coordinator table of a protocol as CSV (columns as in the data dictionary)."""
    with auth.action() as ctx:
        text = service.export_csv(
            ctx=ctx, settings=auth.state.settings, table=data.table, protocol_id=data.protocol_id
        )
    return csv_response(text, f"exoneb-{data.protocol_id}-{data.table}.csv")


@router.post("/exports/dictionary", response_class=Response)
def export_dictionary(auth: AuthDep) -> Response:
    """The data dictionary (table, column, type, unit, meaning) as CSV."""
    with auth.action() as ctx:
        text = service.export_dictionary(ctx=ctx)
    return csv_response(text, "exoneb-data-dictionary.csv")


@router.post("/exports/fhir", response_class=Response)
def export_fhir(data: FhirExportIn, auth: AuthDep) -> Response:
    """A FHIR R4 Bundle of one patient or one protocol (validated before it is sent)."""
    with auth.action() as ctx:
        bundle = service.export_fhir(
            ctx=ctx, settings=auth.state.settings, patient_id=data.patient_id,
            protocol_id=data.protocol_id,
        )  # fmt: skip
    name = f"patient-{data.patient_id}" if data.patient_id else str(data.protocol_id)
    return fhir_response(bundle, f"exoneb-{name}-fhir.json")
