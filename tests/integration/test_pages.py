"""Pages through HTTP: forms with messages next to fields, the patient and session pages, audit."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from exoneb.accounts.permissions import MATRIX, Action, Role
from exoneb.core.audit import AuditEvent

from .conftest import World
from .factories import planned_session
from .webclient import Staff, app_for, login


def _form(staff: Staff, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return staff.client.post(url, data={"csrf_token": staff.csrf, **data}, follow_redirects=False)


def _field_error(html: str, field: str) -> str | None:
    found = re.search(rf'id="e-{field}">([^<]+)<', html)
    return found.group(1) if found else None


def test_registration_form_shows_errors_next_to_fields(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    response = _form(
        nurse,
        "/patients",
        {
            "mrn": "P 1",
            "family_name": "",
            "given_name": "A",
            "birth_date": "1960-13-40",
            "sex": "female",
            "weight_kg": "heavy",
        },
    )
    assert response.status_code == 422
    assert _field_error(response.text, "mrn") == "Use only letters, digits and dashes."
    assert _field_error(response.text, "family_name") == "Required."
    assert _field_error(response.text, "birth_date") == "Enter a date as YYYY-MM-DD."
    assert _field_error(response.text, "weight_kg") == "Enter a number."
    assert 'value="A"' in response.text  # what the nurse typed is kept


def test_duplicate_mrn_on_the_form_is_409_next_to_the_mrn(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    data = {
        "mrn": "P-1",
        "family_name": "Ng",
        "given_name": "Li",
        "birth_date": "1960-01-01",
        "sex": "male",
    }
    assert _form(nurse, "/patients", data).status_code == 303
    again = _form(nurse, "/patients", data)
    assert again.status_code == 409
    assert "already registered" in (_field_error(again.text, "mrn") or "")


def test_patient_and_session_pages_show_what_the_issue_asks(world: World) -> None:
    patient_id, session_id = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    page = nurse.client.get(f"/patients/{patient_id}").text
    for text in (
        "Prescribed respiratory care",
        "Tiotropium",
        "Current consent",
        "ICF 1.0",
        "demo-exo-01",
        "IND IND-123456",
        "Session timeline",
        f"/sessions/{session_id}",
        "continue this care as prescribed",
    ):
        assert text in page, text
    session = nurse.client.get(f"/sessions/{session_id}").text
    for text in (
        "1. Assessment",
        "2. Preparation",
        "3. Inhalation",
        "4. Monitoring",
        "What can happen next",
        "The assessment record is not signed yet.",
        "Tiotropium",
        "Abort this session",
        "X-Background-Poll",
        f'href="/sessions/{session_id}/assessment"',
    ):
        assert text in session, text
    panel = nurse.client.get(f"/sessions/{session_id}/next", headers={"X-Background-Poll": "1"})
    assert panel.status_code == 200
    assert 'id="next"' in panel.text


def test_plan_refused_on_the_page_says_why(world: World) -> None:
    doctor = login(app_for(world), world, Role.PHYSICIAN)
    created = _form(
        doctor,
        "/patients",
        {
            "mrn": "P-2",
            "family_name": "Ng",
            "given_name": "Li",
            "birth_date": "1960-01-01",
            "sex": "male",
        },
    )
    pid = created.headers["location"].rsplit("/", 1)[1]
    enrol = _form(doctor, f"/patients/{pid}/enrolments", {
        "protocol_id": "demo-exo-01", "arm_code": "DL1", "authorisation_kind": "IND",
        "authorisation_number": "IND-9", "ethics_approval": "IRB-9"})  # fmt: skip
    assert enrol.status_code == 303
    enrolment_id = re.search(
        r'<option value="(\d+)"[^>]*>demo-exo-01', doctor.client.get(f"/patients/{pid}").text
    )
    assert enrolment_id is not None
    plan = _form(
        doctor,
        f"/patients/{pid}/sessions",
        {"enrolment_id": enrolment_id.group(1), "planned_for": "2026-01-06T09:00"},
    )
    assert plan.status_code == 409
    assert "Record the patient&#39;s current consent" in plan.text


def test_auditor_sees_the_audit_page_and_exports(world: World) -> None:
    planned_session(world)
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    assert nurse.client.get("/audit").status_code == 403
    auditor = login(app, world, Role.AUDITOR)
    page = auditor.client.get("/audit", params={"username": "nurse1"})
    assert page.status_code == 200
    assert "session.plan" in page.text
    assert "patient.create" not in page.text  # created by the physician, filtered out
    bad = auditor.client.get("/audit", params={"date_from": "yesterday"})
    assert bad.status_code == 422
    assert _field_error(bad.text, "date_from") == "Enter a date as YYYY-MM-DD."
    export = _form(
        auditor,
        "/audit/export.csv",
        {"username": "", "patient_id": "1", "date_from": "", "date_to": ""},
    )
    assert export.status_code == 200
    assert export.text.splitlines()[0].startswith("seq,occurred_at,actor_username")
    after = auditor.client.get("/audit", params={"username": "auditor1"}).text
    assert "audit.export" in after


def test_refused_page_action_is_403_page(world: World) -> None:
    patient_id, _ = planned_session(world)
    pharmacist = login(app_for(world), world, Role.PHARMACIST)
    response = _form(
        pharmacist,
        f"/patients/{patient_id}/consents",
        {"document_version": "2", "consent_date": "2026-01-05", "leaflet_language": "en"},
    )
    assert response.status_code == 403
    assert "Pharmacist / lab" in response.text


def test_consent_amendment_from_the_patient_page(world: World) -> None:
    patient_id, _ = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    page = nurse.client.get(f"/patients/{patient_id}").text
    consent_id = re.search(rf"/patients/{patient_id}/consents/(\d+)/amend", page)
    assert consent_id is not None
    url = f"/patients/{patient_id}/consents/{consent_id.group(1)}/amend"
    missing = _form(nurse, url, {"document_version": "ICF 1.1", "consent_date": "2026-01-02"})
    assert missing.status_code == 422
    # the amend form is one per consent row: its ids carry the row's prefix
    assert _field_error(missing.text, f"amend-{consent_id.group(1)}-reason") == "Required."
    done = _form(
        nurse,
        url,
        {"document_version": "ICF 1.1", "consent_date": "2026-01-02", "reason": "typo in version"},
    )
    assert done.status_code == 303
    after = nurse.client.get(f"/patients/{patient_id}").text
    assert "superseded: Amended by Nurse One: typo in version" in after
    assert "document ICF 1.1" in after


def test_administrator_manages_staff_accounts(world: World) -> None:
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    assert nurse.client.get("/admin/users").status_code == 403
    assert "Staff accounts" not in nurse.client.get("/patients").text
    admin = login(app, world, Role.ADMINISTRATOR)
    page = admin.client.get("/admin/users").text
    assert "nurse1" in page
    assert "Nurse / respiratory therapist" in page
    weak = _form(
        admin,
        "/admin/users",
        {"username": "new.rt", "full_name": "New RT", "role": "nurse", "password": "short"},
    )
    assert weak.status_code == 422
    assert _field_error(weak.text, "password") == "Use at least 10 characters."
    assert 'value="new.rt"' in weak.text
    made = _form(
        admin,
        "/admin/users",
        {
            "username": "new.rt",
            "full_name": "New RT",
            "role": "nurse",
            "password": "a fine long password",
        },
    )
    assert made.status_code == 303
    taken = _form(
        admin,
        "/admin/users",
        {
            "username": "new.rt",
            "full_name": "Other",
            "role": "nurse",
            "password": "a fine long password",
        },
    )
    assert taken.status_code == 409
    assert "already taken" in (_field_error(taken.text, "username") or "")
    nurse_id = world.users[Role.NURSE].id
    no_reason = _form(admin, f"/admin/users/{nurse_id}/deactivate", {"reason": ""})
    assert no_reason.status_code == 422
    gone = _form(admin, f"/admin/users/{nurse_id}/deactivate", {"reason": "left the clinic"})
    assert gone.status_code == 303
    assert nurse.client.get("/patients", follow_redirects=False).status_code == 303
    own = _form(
        admin,
        f"/admin/users/{world.users[Role.ADMINISTRATOR].id}/deactivate",
        {"reason": "testing"},
    )
    assert own.status_code == 409
    assert "your own account" in own.text


def test_background_refresh_is_not_audited_again(world: World) -> None:
    _, session_id = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)

    def reads() -> int:
        with world.factory() as db:
            stmt = select(func.count()).where(AuditEvent.action == "session.read")
            return db.scalar(stmt) or 0

    nurse.client.get(f"/sessions/{session_id}")
    assert reads() == 1
    for _ in range(3):
        poll = nurse.client.get(f"/sessions/{session_id}/next", headers={"X-Background-Poll": "1"})
        assert poll.status_code == 200
    assert reads() == 1
    nurse.client.get(f"/sessions/{session_id}/next")
    assert reads() == 2


def test_listing_patients_is_audited_once_per_search(world: World) -> None:
    planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    nurse.client.get("/patients")
    nurse.client.get("/patients", params={"q": "doe"})
    with world.factory() as db:
        rows = db.scalars(select(AuditEvent.after).where(AuditEvent.action == "patient.search"))
        assert list(rows) == ['{"q":"","results":1}', '{"q":"doe","results":1}']


def test_every_page_renders_for_every_role(world: World) -> None:
    patient_id, session_id = planned_session(world)
    app = app_for(world)
    pages = {
        "/patients": Action.PATIENT_READ,
        f"/patients/{patient_id}": Action.PATIENT_READ,
        f"/sessions/{session_id}": Action.PATIENT_READ,
        "/patients/new": None,
        "/account/password": None,
        "/audit": Action.AUDIT_READ,
        "/admin/users": Action.USER_MANAGE,
    }
    for role in Role:
        staff = login(app, world, role)
        for url, action in pages.items():
            response = staff.client.get(url)
            expected = 200 if action is None or role in MATRIX[action] else 403
            assert response.status_code == expected, (role, url, response.text[:300])
            assert "not medical advice" in response.text
