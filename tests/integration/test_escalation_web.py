"""Dose escalation over HTTP: the JSON API, the page and its signed decision form."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent

from .conftest import PASSWORD, World
from .test_escalation_service import discharged
from .webclient import Staff, app_for, login

API = "/api/v1/protocols/demo-exo-01/escalation"
PAGE = "/protocols/demo-exo-01/escalation"


def _form(staff: Staff, url: str, data: dict[str, str]) -> Any:
    return staff.client.post(url, data={**data, "csrf_token": staff.csrf}, follow_redirects=False)


def test_api_table_decision_override_and_denial(world: World) -> None:
    discharged(world, "W-1")
    app = app_for(world)
    coordinator, doctor = login(app, world, Role.COORDINATOR), login(app, world, Role.PHYSICIAN)
    body = coordinator.client.get(API).json()
    dl1 = body["levels"][0]
    assert (dl1["treated"], dl1["evaluable"], dl1["dlts"], dl1["open"]) == (1, 1, 0, True)
    assert body["action"] == "enrol"
    assert body["open_levels"] == ["DL1"]
    assert body["gate_enrolment"] is True
    assert "decision support" in body["disclaimer"].lower()
    decision = {"level": "DL1", "decision": "escalate", "decisions_seen": 0, "password": PASSWORD}
    denied: Any = coordinator.post(API + "/decisions", decision)
    assert denied.status_code == 403
    with world.factory() as db:
        last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (last.action, last.actor_username) == ("permission.denied", "coordinator1")
    no_reason: Any = doctor.post(API + "/decisions", decision)
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    made: Any = doctor.post(API + "/decisions", {**decision, "reason": "DMC: 1 subject, sentinel"})
    assert made.status_code == 201, made.text
    assert made.json()["signature_valid"]
    assert made.json()["open_levels_after"] == ["DL2"]
    stale: Any = doctor.post(API + "/decisions", {**decision, "reason": "again"})
    assert stale.status_code == 409
    assert coordinator.client.get(API).json()["open_levels"] == ["DL2"]
    assert coordinator.client.get("/api/v1/protocols/nope/escalation").status_code == 404


def test_page_shows_the_cohort_and_the_physician_signs_the_decision(world: World) -> None:
    discharged(world, "W-2")
    app = app_for(world)
    coordinator, doctor = login(app, world, Role.COORDINATOR), login(app, world, Role.PHYSICIAN)
    page = coordinator.client.get(PAGE)
    assert page.status_code == 200
    html = page.text
    assert "W-2" in html
    assert "no DLT" in html
    assert 'href="/escalation"' in html
    assert "clinical.md §4.5" in html
    assert "The DMC and the protocol decide" in html
    assert "Sign the decision" not in html  # coordinators prepare, physicians sign
    assert "/protocols/demo-exo-01/escalation" in coordinator.client.get("/escalation").text
    refused = _form(
        doctor,
        PAGE + "/decisions",
        {"level": "DL1", "decision": "escalate", "decisions_seen": "0", "password": PASSWORD},
    )
    assert refused.status_code == 422
    assert "give the reason" in refused.text
    done = _form(doctor, PAGE + "/decisions", {"level": "DL1", "decision": "escalate",
                                                "decisions_seen": "0", "password": PASSWORD,
                                                "reason": "DMC review 2026-01-05"})  # fmt: skip
    assert done.status_code == 303
    after = doctor.client.get(PAGE).text
    assert 'id="decision-1"' in after
    assert "DMC review 2026-01-05" in after
    assert '<strong id="open-levels">DL2</strong>' in after
    assert 'href="/protocols/demo-exo-01/escalation"' in coordinator.client.get("/reports").text
    safety = coordinator.client.get("/protocols/demo-exo-01/safety").text
    assert 'href="/protocols/demo-exo-01/escalation">Open the dose-escalation page' in safety
    assert "DMC review 2026-01-05" in safety  # the signed decision is listed
    denied = _form(coordinator, PAGE + "/decisions", {"level": "DL2", "decision": "expand",
                                                       "decisions_seen": "1", "reason": "x",
                                                       "password": PASSWORD})  # fmt: skip
    assert denied.status_code == 403
