"""Step 2 through the JSON API and the pages: lots, release, thaw, dose, verify, label, recall."""

from __future__ import annotations

import re

from exoneb.accounts.permissions import MATRIX, Action, Role

from .conftest import PASSWORD, World
from .prep_factories import (
    cleared_session,
    lot_data,
    prepare,
    received_lot,
    released_lot,
    saline_lot,
    thaw,
)
from .test_assessment_pages import _form, _version
from .test_unique_ids import _repeated
from .webclient import app_for, login


def test_api_from_receipt_to_a_verified_dose(world: World) -> None:
    session_id = cleared_session(world)
    app = app_for(world)
    pharmacist, nurse = login(app, world, Role.PHARMACIST), login(app, world, Role.NURSE)
    body = lot_data().model_dump(mode="json")
    refused = nurse.client.post("/api/v1/lots", json=body, headers=nurse.headers())
    assert refused.status_code == 403
    created = pharmacist.client.post("/api/v1/lots", json=body, headers=pharmacist.headers())
    assert created.status_code == 201, created.text
    lot = created.json()["lot"]
    assert lot["status"] == "quarantine"
    assert created.json()["evaluation"]["releasable"] is True
    url = f"/api/v1/lots/{lot['id']}"
    wrong = pharmacist.post(f"{url}/release", {"version": lot["version"], "password": "nope"})
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    released = pharmacist.post(f"{url}/release", {"version": lot["version"], "password": PASSWORD})
    assert released.status_code == 200, released.text  # type: ignore[attr-defined]
    assert released.json()["lot"]["status"] == "released"  # type: ignore[attr-defined]
    saline = pharmacist.post(
        "/api/v1/lots/saline",
        {"manufacturer": "Demo Pharma", "lot_number": "NS-9", "expires_at": "2027-01-01T00:00:00Z",
         "container_count": 10, "volume_per_container_ml": 10},
    )  # fmt: skip
    assert saline.status_code == 201, saline.text  # type: ignore[attr-defined]
    plan = pharmacist.post(f"/api/v1/sessions/{session_id}/preparation/plan", {})
    blockers = plan.json()["blockers"]  # type: ignore[attr-defined]
    assert any("Thaw a vial" in b for b in blockers)
    thawed = pharmacist.post("/api/v1/vials/thaw", {})
    assert thawed.status_code == 201, thawed.text  # type: ignore[attr-defined]
    assert thawed.json()["status"] == "thawed"  # type: ignore[attr-defined]
    prepared = pharmacist.post(
        f"/api/v1/sessions/{session_id}/preparation",
        {"saline_lot_id": saline.json()["id"], "appearance_ok": True, "password": PASSWORD},  # type: ignore[attr-defined]
    )
    assert prepared.status_code == 201, prepared.text  # type: ignore[attr-defined]
    dose = prepared.json()  # type: ignore[attr-defined]
    assert (dose["stock_ml"], dose["saline_ml"], dose["fill_ml"]) == (0.1, 2.9, 3.0)
    own = pharmacist.post(
        f"/api/v1/sessions/{session_id}/preparation/verify",
        {"version": dose["version"], "password": PASSWORD},
    )
    assert own.status_code == 409  # type: ignore[attr-defined]
    assert "cannot verify" in own.json()["detail"]  # type: ignore[attr-defined]
    ok = nurse.post(
        f"/api/v1/sessions/{session_id}/preparation/verify",
        {"version": dose["version"], "password": PASSWORD},
    )
    assert ok.status_code == 200, ok.text  # type: ignore[attr-defined]
    assert ok.json()["status"] == "verified"  # type: ignore[attr-defined]
    pdf = nurse.client.get(f"/api/v1/sessions/{session_id}/preparation/label.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    csv = pharmacist.client.get(f"{url}/recall.csv")
    assert csv.status_code == 200
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("preparation_id,label_code")
    assert "MRN-1" in lines[1]
    assert "Doe, Jane" in lines[1]
    listed = pharmacist.client.get("/api/v1/lots").json()
    assert [item["kind"] for item in listed] == ["exosome", "saline"]  # earliest expiry first


def test_pages_render_for_every_role(world: World) -> None:
    lot_id = released_lot(world)
    session_id = cleared_session(world)
    app = app_for(world)
    for role in Role:
        staff = login(app, world, role)
        register = staff.client.get("/lots")
        expected = 200 if role in MATRIX[Action.LOT_READ] else 403
        assert register.status_code == expected, (role, register.text[:300])
        if expected == 200:
            assert "EV-0001" in register.text
            assert ('action="/lots"' in register.text) == (role in MATRIX[Action.LOT_RECEIVE])
            page = staff.client.get(f"/lots/{lot_id}")
            assert page.status_code == 200
            assert "Release checklist" in page.text
            assert "Endotoxin" in page.text
            assert "not medical advice" in page.text
        prep_page = staff.client.get(f"/sessions/{session_id}/preparation")
        expected = 200 if role in MATRIX[Action.PATIENT_READ] else 403
        if role in MATRIX[Action.PATIENT_READ] and role not in MATRIX[Action.LOT_READ]:
            expected = 403  # the preview reads the lot register
        assert prep_page.status_code == expected, (role, prep_page.text[:300])


def test_receive_form_shows_field_errors_and_release_on_the_page(world: World) -> None:
    app = app_for(world)
    pharmacist = login(app, world, Role.PHARMACIST)
    bad = _form(pharmacist, "/lots", {"product_name": "X", "manufacturer": "M"})
    assert bad.status_code == 422
    assert 'id="e-lot_number"' in bad.text
    data = {k: str(v) for k, v in lot_data("EV-PAGE").model_dump(mode="json").items()
            if k != "markers" and v is not None}  # fmt: skip
    data["expires_at"] = "2026-07-01T00:00"  # a datetime-local value, read as UTC
    for marker in ("CD9", "CD63", "CD81", "TSG101"):
        data[f"marker_{marker}"] = "positive"
    data["marker_calnexin"] = "negative"
    done = _form(pharmacist, "/lots", data)
    assert done.status_code == 303, done.text[:800]
    register = pharmacist.client.get("/lots").text
    lot_id = re.search(r'href="/lots/(\d+)">EV-PAGE', register).group(1)  # type: ignore[union-attr]
    page = pharmacist.client.get(f"/lots/{lot_id}").text
    assert "All 12 release criteria pass." in page
    wrong = _form(pharmacist, f"/lots/{lot_id}/release",
                  {"version": _version(page), "password": "wrong"})  # fmt: skip
    assert wrong.status_code == 422
    assert "password is not correct" in wrong.text
    ok = _form(pharmacist, f"/lots/{lot_id}/release",
               {"version": _version(page), "password": PASSWORD})  # fmt: skip
    assert ok.status_code == 303
    assert "released" in pharmacist.client.get(f"/lots/{lot_id}").text


def test_preparation_page_prepare_verify_label_and_recall(world: World) -> None:
    lot_id = released_lot(world)
    saline_id = saline_lot(world)
    session_id = cleared_session(world)
    app = app_for(world)
    pharmacist, nurse = login(app, world, Role.PHARMACIST), login(app, world, Role.NURSE)
    url = f"/sessions/{session_id}/preparation"
    page = pharmacist.client.get(url).text
    assert "Thaw a vial" in page
    thaw(world, lot_id)
    page = pharmacist.client.get(url).text
    assert "Draw 0.10 mL of stock and add 2.90 mL of saline" in page
    missing = _form(pharmacist, url, {"saline_lot_id": str(saline_id), "password": PASSWORD})
    assert missing.status_code == 422
    assert "appearance_ok" in missing.text or "Required." in missing.text
    done = _form(pharmacist, url, {"saline_lot_id": str(saline_id), "appearance_ok": "yes",
                                   "lot_id": str(lot_id), "password": PASSWORD})  # fmt: skip
    assert done.status_code == 303, done.text[:800]
    page = pharmacist.client.get(url).text
    assert "not verified yet" in page
    assert "<svg" in page  # the QR code
    own = _form(pharmacist, f"{url}/verify", {"version": _version(page), "password": PASSWORD})
    assert own.status_code == 409
    assert "cannot verify" in own.text
    page = nurse.client.get(url).text
    ok = _form(nurse, f"{url}/verify", {"version": _version(page), "password": PASSWORD})
    assert ok.status_code == 303
    page = nurse.client.get(url).text
    assert "Nurse One" in page
    assert "signed &#34;verified&#34;" in page or 'signed "verified"' in page
    label = nurse.client.get(f"{url}/label.pdf")
    assert label.content.startswith(b"%PDF")
    session_page = nurse.client.get(f"/sessions/{session_id}").text
    assert f'href="/sessions/{session_id}/preparation"' in session_page
    recall = pharmacist.client.get(f"/lots/{lot_id}/recall").text
    assert "Doe, Jane" in recall
    assert "MRN-1" in recall


def test_step_two_pages_have_unique_ids(world: World) -> None:
    """Labels and error messages must point at their own input (see test_unique_ids)."""
    held = received_lot(world, "EV-HELD")
    lot_id = released_lot(world)
    saline_id = saline_lot(world)
    prepared, draft = cleared_session(world, "MRN-1"), cleared_session(world, "MRN-2")
    thaw(world, lot_id)
    prepare(world, prepared, saline_id)
    app = app_for(world)
    for role in (Role.PHARMACIST, Role.NURSE, Role.PHYSICIAN, Role.COORDINATOR):
        staff = login(app, world, role)
        urls = ["/lots", f"/lots/{held}", f"/lots/{lot_id}", f"/lots/{lot_id}/recall"]
        urls += [f"/sessions/{prepared}/preparation", f"/sessions/{draft}/preparation"]
        for url in urls:
            response = staff.client.get(url)
            assert response.status_code == 200, (url, role)
            assert _repeated(response.text) == [], (url, role)
