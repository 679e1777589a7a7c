"""HTTP responses shared by the reports API and pages: PDF, CSV and FHIR downloads.

A report's PDF is rendered after its transaction has committed (the audit row
is written first), so drawing figures never holds the database write lock.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from exoneb.reports import pdf
from exoneb.reports.service import IssuedReport

FHIR_JSON = "application/fhir+json"


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def pdf_response(issued: IssuedReport, filename: str) -> Response:
    """The report as a PDF download; the fingerprint also travels as a header."""
    body = pdf.render(issued.report, digest=issued.digest, issue=issued.issue)
    headers = _attachment(filename) | {"X-Report-SHA256": issued.digest}
    return Response(body, media_type="application/pdf", headers=headers)


def csv_response(text: str, filename: str) -> Response:
    """A CSV download (UTF-8)."""
    return Response(text, media_type="text/csv; charset=utf-8", headers=_attachment(filename))


def fhir_response(bundle: dict[str, Any], filename: str) -> Response:
    """A FHIR Bundle download as ``application/fhir+json``."""
    text = json.dumps(bundle, ensure_ascii=False, indent=1)
    return Response(text, media_type=FHIR_JSON, headers=_attachment(filename))
