"""The assessment JSON API: 422 with field paths, 409 on stale edits, 403 audited, a full flow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent

from .conftest import PASSWORD, World
from .test_assessment_service import VITALS, filled, started
from .webclient import app_for, login


def _url(session_id: int, tail: str = "") -> str:
    return f"/api/v1/sessions/{session_id}/assessment{tail}"


def test_full_flow_over_the_api(world: World) -> None:
    session_id, version = filled(world)
    app = app_for(world)
    nurse, doctor = login(app, world, Role.NURSE), login(app, world, Role.PHYSICIAN)
    shown: Any = nurse.client.get(_url(session_id))
    assert shown.status_code == 200
    body = shown.json()
    assert body["spirometry"]["pre"]["results"]["fev1"]["z"] < -1.645
    assert body["vitals"]["spo2_percent"] == 95
    decided: Any = nurse.post(_url(session_id, "/decision"), {"version": version})
    assert decided.status_code == 200, decided.text
    d = decided.json()
    assert d["outcome"] == "cleared"
    assert d["decision"]["rules"]
    assert d["rule_set"]["id"]
    signed: Any = doctor.post(
        _url(session_id, "/sign"), {"password": PASSWORD, "version": d["version"]}
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed"
    assert signed.json()["signature_valid"] is True
    for target in ("assessed", "cleared"):
        detail = nurse.client.get(f"/api/v1/sessions/{session_id}").json()
        option = next(o for o in detail["options"] if o["target"] == target)
        assert option["allowed"], option["blockers"]
        moved: Any = nurse.post(
            f"/api/v1/sessions/{session_id}/transition",
            {"target": target, "version": detail["session"]["version"]},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["state"] == target


def test_field_errors_are_422_with_paths(world: World) -> None:
    session_id, version = started(world)
    nurse = login(app_for(world), world, Role.NURSE)
    bad: Any = nurse.client.put(
        _url(session_id, "/vitals"),
        json={"heart_rate_bpm": "fast", "version": version},
        headers=nurse.headers(),
    )
    assert bad.status_code == 422
    assert ("body", "heart_rate_bpm") in {tuple(e["loc"]) for e in bad.json()["detail"]}
    implausible: Any = nurse.client.put(
        _url(session_id, "/vitals"),
        json={"spo2_percent": 20, "oxygen_source": "room_air", "version": version},
        headers=nurse.headers(),
    )
    assert implausible.status_code == 422
    assert ["body", "spo2_percent"] in [e["loc"] for e in implausible.json()["detail"]]


def test_stale_edit_is_409(world: World) -> None:
    session_id, version = started(world)
    nurse = login(app_for(world), world, Role.NURSE)
    first: Any = nurse.client.put(
        _url(session_id, "/vitals"), json={**VITALS, "version": version}, headers=nurse.headers()
    )
    assert first.status_code == 200, first.text
    stale: Any = nurse.client.put(
        _url(session_id, "/vitals"), json={**VITALS, "version": version}, headers=nurse.headers()
    )
    assert stale.status_code == 409
    assert "Nurse One" in stale.json()["detail"]


def test_refusal_is_403_and_audited(world: World) -> None:
    session_id, version = started(world)
    pharmacist = login(app_for(world), world, Role.PHARMACIST)
    refused: Any = pharmacist.client.put(
        _url(session_id, "/vitals"),
        json={**VITALS, "version": version},
        headers=pharmacist.headers(),
    )
    assert refused.status_code == 403
    with world.factory() as db:
        last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert last.action == "permission.denied"
    assert last.entity_id == "assessment.record"
