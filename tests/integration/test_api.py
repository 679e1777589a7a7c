"""The JSON API: status codes that say what to fix, and audit rows for refusals and exports."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent

from .conftest import World
from .webclient import Staff, app_for, login

PATIENT = {
    "mrn": "API-1", "family_name": "Api", "given_name": "Ada", "birth_date": "1960-01-02",
    "sex": "female", "height_cm": 160,
}  # fmt: skip


def _json(response: Any) -> Any:
    return response.json()


def _ready(staff: Staff) -> tuple[int, int]:
    patient = _json(staff.post("/api/v1/patients", PATIENT))
    pid = patient["id"]
    staff.post(f"/api/v1/patients/{pid}/care", {
        "medicine": "Salbutamol", "dose": "100 µg", "route": "inhaled",
        "frequency": "as needed", "prescriber": "Dr. Own"})  # fmt: skip
    staff.post(
        f"/api/v1/patients/{pid}/consents",
        {"document_version": "ICF 1.0", "consent_date": "2026-01-05"},
    )
    enrolment = _json(staff.post(f"/api/v1/patients/{pid}/enrolments", {
        "protocol_id": "demo-exo-01", "arm_code": "DL1", "authorisation_kind": "CTA",
        "authorisation_number": "CTA-2026-1", "ethics_approval": "REC-1"}))  # fmt: skip
    return pid, enrolment["id"]


def _last(world: World, action: str) -> AuditEvent:
    with world.factory() as db:
        return db.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
        ).first()  # type: ignore[return-value]


def test_validation_errors_name_the_field(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    bad = {**PATIENT, "birth_date": "2999-01-01", "height_cm": 900, "sex": "x"}
    response: Any = nurse.post("/api/v1/patients", bad)
    assert response.status_code == 422
    locs = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert {("body", "birth_date"), ("body", "height_cm"), ("body", "sex")} <= locs


def test_duplicate_mrn_is_409(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    assert _json(nurse.post("/api/v1/patients", PATIENT))["mrn"] == "API-1"
    again: Any = nurse.post("/api/v1/patients", PATIENT)
    assert again.status_code == 409
    assert "already registered" in again.json()["detail"]


def test_stale_update_is_409_with_who_and_when(world: World) -> None:
    app = app_for(world)
    nurse, doctor = login(app, world, Role.NURSE), login(app, world, Role.PHYSICIAN)
    pid = _json(nurse.post("/api/v1/patients", PATIENT))["id"]
    body = {k: v for k, v in PATIENT.items() if k != "mrn"} | {"version": 1}
    first = doctor.client.put(
        f"/api/v1/patients/{pid}", json=body | {"weight_kg": 70}, headers=doctor.headers()
    )
    assert first.json()["version"] == 2
    stale = nurse.client.put(
        f"/api/v1/patients/{pid}", json=body | {"weight_kg": 71}, headers=nurse.headers()
    )
    assert stale.status_code == 409
    assert stale.json()["changed_by"] == "Physician One"
    assert stale.json()["current_version"] == 2
    assert "Physician One" in stale.json()["detail"]


def test_refusal_is_403_and_audited(world: World) -> None:
    auditor = login(app_for(world), world, Role.AUDITOR)
    response: Any = auditor.post("/api/v1/patients", PATIENT)
    assert response.status_code == 403
    assert "Auditor" in response.json()["detail"]
    row = _last(world, "permission.denied")
    assert row.actor_username == "auditor1"
    assert row.entity_id == "patient.create"


def test_session_lifecycle_over_the_api(world: World) -> None:
    nurse = login(app_for(world), world, Role.PHYSICIAN)
    pid, enrolment_id = _ready(nurse)
    planned: Any = nurse.post(
        f"/api/v1/patients/{pid}/sessions",
        {"enrolment_id": enrolment_id, "planned_for": "2026-01-06T09:00"},
    )
    assert planned.status_code == 201
    session = planned.json()
    assert session["state"] == "planned"
    assert session["planned_for"].startswith("2026-01-06T09:00")
    detail = nurse.client.get(f"/api/v1/sessions/{session['id']}").json()
    assert [(o["target"], o["allowed"]) for o in detail["options"]] == [
        ("assessed", False),
        ("aborted", True),
    ]
    blocked: Any = nurse.post(
        f"/api/v1/sessions/{session['id']}/transition", {"target": "assessed", "version": 1}
    )
    assert blocked.status_code == 409
    assert "not signed" in blocked.json()["detail"]
    aborted: Any = nurse.post(
        f"/api/v1/sessions/{session['id']}/abort", {"reason": "nebulizer unavailable", "version": 1}
    )
    assert aborted.json()["state"] == "aborted"
    timeline = nurse.client.get(f"/api/v1/patients/{pid}/sessions").json()
    assert [s["state"] for s in timeline] == ["aborted"]


def test_plan_without_consent_is_409(world: World) -> None:
    doctor = login(app_for(world), world, Role.PHYSICIAN)
    pid = _json(doctor.post("/api/v1/patients", PATIENT))["id"]
    enrolment = _json(doctor.post(f"/api/v1/patients/{pid}/enrolments", {
        "protocol_id": "demo-exo-01", "arm_code": "DL1", "authorisation_kind": "IND",
        "authorisation_number": "IND-1", "ethics_approval": "IRB-1"}))  # fmt: skip
    response: Any = doctor.post(
        f"/api/v1/patients/{pid}/sessions",
        {"enrolment_id": enrolment["id"], "planned_for": "2026-01-06T09:00Z"},
    )
    assert response.status_code == 409
    assert "consent" in response.json()["detail"]


def test_consent_signature_over_the_api(world: World) -> None:
    nurse = login(app_for(world), world, Role.PHYSICIAN)
    pid, _ = _ready(nurse)
    consent = nurse.client.get(f"/api/v1/patients/{pid}/consents").json()[0]
    wrong: Any = nurse.post(
        f"/api/v1/consents/{consent['id']}/sign",
        {"meaning": "performed", "password": "not my password"},
    )
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "password"]
    from .conftest import PASSWORD

    signed: Any = nurse.post(
        f"/api/v1/consents/{consent['id']}/sign", {"meaning": "performed", "password": PASSWORD}
    )
    assert signed.status_code == 201
    body = signed.json()
    assert body["statement"] == "I performed this step as recorded."
    assert body["signer_name"] == "Physician One"
    assert body["valid"]
    listed = nurse.client.get(f"/api/v1/consents/{consent['id']}/signatures").json()
    assert [s["valid"] for s in listed] == [True]


def test_audit_search_and_export_are_permissioned_and_export_is_audited(world: World) -> None:
    app = app_for(world)
    doctor = login(app, world, Role.PHYSICIAN)
    pid, _ = _ready(doctor)
    assert doctor.client.get("/api/v1/audit").status_code == 403
    auditor = login(app, world, Role.AUDITOR)
    rows = auditor.client.get("/api/v1/audit", params={"patient_id": pid}).json()
    assert {r["action"] for r in rows} >= {"patient.create", "consent.create", "care.create"}
    assert all(r["patient_id"] == pid for r in rows)
    export: Any = auditor.post("/api/v1/audit/export", {"username": "physician1"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(export.text)))
    assert parsed
    assert {r["actor_username"] for r in parsed} == {"physician1"}
    row = _last(world, "audit.export")
    assert row.actor_username == "auditor1"
    assert '"username":"physician1"' in (row.after or "")
    verify = auditor.client.get("/api/v1/audit/verify").json()
    assert verify["ok"]


def test_openapi_lists_the_api(world: World) -> None:
    spec = TestClient(app_for(world)).get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/v1/patients",
        "/api/v1/sessions/{session_id}/transition",
        "/api/v1/audit/export",
        "/api/v1/auth/login",
    } <= paths
    assert not any(p.startswith("/patients") for p in paths)  # pages are not API
    health = TestClient(app_for(world)).get("/healthz")
    assert health.json() == {"status": "ok"}
