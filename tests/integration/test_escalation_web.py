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
    assert (dl1["treated"], dl1["evaluable"], dl1["dlts"], dl1["open"]) == (1, 0, 0, True)
    assert dl1["subjects"][0]["in_dlt_window"]  # 28-day DLT window after the first dose
    assert body["dlt_window_days"] == 28
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
    assert "in DLT window until" in html
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


def test_a_dlt_candidate_is_reviewed_on_the_page_and_through_the_api(world: World) -> None:
    from .monitoring_world import monitored_session
    from .test_monitoring_service import ae

    session_id, _ = monitored_session(world, "W-3")
    event = ae(world, session_id, term="dyspnea", grade=3, causality="probable")
    app = app_for(world)
    coordinator, doctor = login(app, world, Role.COORDINATOR), login(app, world, Role.PHYSICIAN)
    body = coordinator.client.get(API).json()
    assert body["action"] is None
    assert body["reason"].startswith("DLT review pending for subject W-3")
    (cand, *others) = body["levels"][0]["subjects"][0]["candidates"]
    assert cand["verdict"] is None
    html = coordinator.client.get(PAGE).text
    assert "Awaiting physician review" in html
    assert f'href="/sessions/{session_id}/monitoring#ae-{event["id"]}"' in html
    assert "Sign the review" not in html  # physicians review
    assert "Sign the review" in doctor.client.get(PAGE).text
    hold = str(cand["hold_id"])
    form = {"hold_id": hold, "verdict": "not_dlt", "reviews_seen": "0", "password": PASSWORD}
    refused = _form(doctor, PAGE + "/dlt-reviews", form)
    assert refused.status_code == 422
    assert f'id="e-c{hold}-reason"' in refused.text  # the error sits at this candidate's form
    done = _form(doctor, PAGE + "/dlt-reviews", {**form, "verdict": "dlt"})
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"#candidate-{hold}")
    after = doctor.client.get(PAGE).text
    assert "Confirmed: a dose-limiting toxicity</strong> — reviewed by Physician One" in after
    for other in others:
        made: Any = doctor.post(
            API + "/dlt-reviews",
            {"hold_id": other["hold_id"], "verdict": "dlt", "reviews_seen": 0,
             "password": PASSWORD},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["signature_valid"]
    again = {"hold_id": cand["hold_id"], "verdict": "dlt", "reviews_seen": 1, "password": PASSWORD}
    denied: Any = coordinator.post(API + "/dlt-reviews", again)
    assert denied.status_code == 403
    stale: Any = doctor.post(API + "/dlt-reviews", {"hold_id": cand["hold_id"], "verdict": "dlt",
                             "reviews_seen": 0, "reason": "x", "password": PASSWORD})  # fmt: skip
    assert stale.status_code == 409
    body = coordinator.client.get(API).json()
    assert (body["levels"][0]["dlts"], body["levels"][0]["dlt_pending"]) == (1, 0)
    assert body["action"] is not None
