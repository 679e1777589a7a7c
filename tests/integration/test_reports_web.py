"""Reports over HTTP: pages and PDFs for every role, verify form, API, downloads, refusals."""

from __future__ import annotations

import csv
import io
import json
import re

from pypdf import PdfReader
from sqlalchemy import select

from exoneb.accounts.permissions import MATRIX, Action, Role
from exoneb.core.audit import AuditEvent
from exoneb.reports import fhir, tables

from .conftest import World
from .test_reports_service import signed_session
from .webclient import app_for, login


def test_session_report_page_and_pdf_for_every_role(world: World) -> None:
    session_id = signed_session(world)
    app = app_for(world)
    for role in Role:
        staff = login(app, world, role)
        page = staff.client.get(f"/sessions/{session_id}/report")
        pdf = staff.client.get(f"/sessions/{session_id}/report.pdf")
        allowed = role in MATRIX[Action.REPORT_READ]
        assert page.status_code == pdf.status_code == (200 if allowed else 403), role
        if not allowed:
            continue
        digest = re.search(r'id="report-sha256">([0-9a-f]{64})<', page.text)
        assert digest, page.text[:500]
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.headers["x-report-sha256"] == digest.group(1)
        text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert digest.group(1) in text
        assert "NOT RECORDED" in page.text
        assert "Physician One" in page.text
        assert "not medical advice" in page.text


def test_verify_form_says_match_then_mismatch(world: World) -> None:
    session_id = signed_session(world)
    staff = login(app_for(world), world, Role.COORDINATOR)
    digest = staff.client.get(f"/api/v1/sessions/{session_id}/report").json()["sha256"]
    url = f"/sessions/{session_id}/report/verify"
    assert staff.client.get(url).status_code == 200
    ok = staff.client.post(url, data={"csrf_token": staff.csrf, "digest": digest})
    assert ok.status_code == 200
    assert "Matches" in ok.text
    bad = staff.client.post(url, data={"csrf_token": staff.csrf, "digest": "f" * 64})
    assert "Does not match" in bad.text
    assert "never issued" in bad.text
    short = staff.client.post(url, data={"csrf_token": staff.csrf, "digest": "abc"})
    assert short.status_code == 422
    assert 'id="e-digest"' in short.text
    api = staff.post(f"/api/v1/sessions/{session_id}/report/verify", {"sha256": digest})
    assert api.json()["matches"] is True  # type: ignore[attr-defined]


def test_course_and_safety_pages_show_figures_with_their_values(world: World) -> None:
    session_id = signed_session(world)
    staff = login(app_for(world), world, Role.PHYSICIAN)
    report = staff.client.get(f"/api/v1/sessions/{session_id}/report").json()
    patient_id = report["report"]["record_refs"]["patient_id"]
    page = staff.client.get(f"/patients/{patient_id}/course")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.text
    assert "Values of “FEV1 before each session”" in page.text
    assert staff.client.get(f"/patients/{patient_id}/course.pdf").status_code == 200
    safety = staff.client.get("/protocols/demo-exo-01/safety")
    assert safety.status_code == 200
    assert "Adverse events by term, grade and dose level" in safety.text
    assert "none recorded" in safety.text
    assert staff.client.get("/protocols/demo-exo-01/safety.pdf").status_code == 200
    assert staff.client.get("/protocols/nope/safety").status_code == 404


def test_exports_over_http_are_permission_checked_and_audited(world: World) -> None:
    signed_session(world)
    app = app_for(world)
    coordinator, nurse = login(app, world, Role.COORDINATOR), login(app, world, Role.NURSE)
    body = {"table": "observations", "protocol_id": "demo-exo-01"}
    refused = nurse.post("/api/v1/exports/csv", body)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    got = coordinator.post("/api/v1/exports/csv", body)
    assert got.status_code == 200  # type: ignore[attr-defined]
    header = next(csv.reader(io.StringIO(got.text)))  # type: ignore[attr-defined]
    assert header == [c.name for c in tables.DICTIONARY["observations"]]
    unknown = coordinator.post("/api/v1/exports/csv", {**body, "table": "secrets"})
    assert unknown.status_code == 422  # type: ignore[attr-defined]
    bundle = coordinator.post("/api/v1/exports/fhir", {"protocol_id": "demo-exo-01"})
    assert bundle.headers["content-type"].startswith("application/fhir+json")  # type: ignore[attr-defined]
    assert fhir.validate(json.loads(bundle.text)) == []  # type: ignore[attr-defined]
    both = coordinator.post("/api/v1/exports/fhir", {"protocol_id": "demo-exo-01", "patient_id": 1})
    assert both.status_code == 422  # type: ignore[attr-defined]
    form = coordinator.client.post("/exports/csv", data={"csrf_token": coordinator.csrf, **body})
    assert form.status_code == 200
    assert "attachment" in form.headers["content-disposition"]
    home = coordinator.client.get("/reports")
    assert "Download FHIR Bundle" in home.text
    assert "Your role may read reports but not export data." in nurse.client.get("/reports").text
    with world.factory() as db:
        actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions.count("export.csv") == 2
    assert actions.count("export.fhir") == 1
    assert "permission.denied" in actions
