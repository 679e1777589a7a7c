"""Monitoring over HTTP: the JSON API, the pages, the live stream and the clinic overview."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from exoneb.accounts.permissions import Role
from exoneb.monitoring import hl7_service

from .conftest import PASSWORD, World
from .monitoring_world import hl7_message, monitored_session
from .webclient import Staff, app_for, login


def _api(session_id: int, tail: str) -> str:
    return f"/api/v1/sessions/{session_id}{tail}"


def _form(staff: Staff, url: str, data: dict[str, str]) -> Any:
    return staff.client.post(url, data={**data, "csrf_token": staff.csrf}, follow_redirects=False)


def test_api_observation_alert_event_and_blocked_discharge(world: World) -> None:
    session_id, _ = monitored_session(world)
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    now = world.clock.now().isoformat()
    made: Any = nurse.post(_api(session_id, "/observations"), {"observed_at": now, "spo2_pct": 91})
    assert made.status_code == 201, made.text
    body = made.json()
    assert [a["rule_id"] for a in body["alerts_raised"]] == ["spo2_fall"]
    alert = body["alerts_raised"][0]
    bad: Any = nurse.post(_api(session_id, "/observations"), {"observed_at": now, "spo2_pct": 101})
    assert bad.status_code == 422
    assert "spo2_pct" in bad.text
    batch: Any = nurse.post(
        _api(session_id, "/observations/batch"),
        {"device_id": "ox-7", "observations": [{"observed_at": now, "heart_rate_per_min": 80}]},
    )
    assert batch.status_code == 201, batch.text
    assert batch.json()["stored"] == 1
    acked: Any = nurse.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", {"version": alert["version"], "note": "seen"}
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "Nurse One"
    stale: Any = nurse.post(f"/api/v1/alerts/{alert['id']}/acknowledge", {"version": 1})
    assert stale.status_code == 409
    event: Any = nurse.post(
        _api(session_id, "/adverse-events"),
        {"term": "cough", "grade": 1, "causality": "possible", "alert_id": alert["id"]},
    )
    assert event.status_code == 201, event.text
    assert event.json()["onset_offset_min"] == 10.0  # nebulized for 10 min, recorded now
    wrong: Any = nurse.post(
        _api(session_id, "/adverse-events"), {"term": "cough", "grade": 4, "causality": "possible"}
    )
    assert wrong.status_code == 422
    terms: Any = nurse.client.get("/api/v1/ctcae/terms")
    cough = next(t for t in terms.json() if t["term"] == "cough")
    assert set(cough["grades"]) == {"1", "2", "3"}
    checklist: Any = nurse.client.get(_api(session_id, "/discharge/checklist"))
    assert checklist.status_code == 200
    assert checklist.json()["dischargeable"] is False
    blocked: Any = nurse.post(_api(session_id, "/discharge"), {"password": PASSWORD})
    assert blocked.status_code == 409
    assert "blocked" in blocked.json()["detail"]
    auditor = login(app, world, Role.AUDITOR)
    refused: Any = auditor.post(_api(session_id, "/observations"), {"spo2_pct": 95})
    assert refused.status_code == 403


def test_monitoring_page_entry_form_and_alert_panel(world: World) -> None:
    session_id, _ = monitored_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    page: Any = nurse.client.get(f"/sessions/{session_id}/monitoring")
    assert page.status_code == 200, page.text
    for text in ("Live chart", "Observations due", "Due now", "Record an observation",
                 "Adverse events", "Discharge", "not medical advice"):  # fmt: skip
        assert text in page.text
    posted = _form(nurse, f"/sessions/{session_id}/monitoring/observations", {"spo2_pct": "84"})
    assert posted.status_code == 303, posted.text
    panel: Any = nurse.client.get(f"/sessions/{session_id}/monitoring/alerts")
    assert "SpO2 critically low" in panel.text
    assert "Acknowledge" in panel.text
    invalid = _form(nurse, f"/sessions/{session_id}/monitoring/observations", {"spo2_pct": "120"})
    assert invalid.status_code == 422
    assert "outside" in invalid.text
    grades: Any = nurse.client.get("/monitoring/ctcae-grades?term=bronchospasm")
    assert "Symptomatic; medical intervention indicated; limiting instrumental ADL" in grades.text
    overview: Any = nurse.client.get("/monitoring")
    assert f"Session {session_id}" in overview.text
    sheet: Any = nurse.client.get(f"/sessions/{session_id}/monitoring/sheet")
    assert "never replaces your prescribed respiratory care" in sheet.text


def test_live_stream_sends_stored_observations_and_alerts(world: World) -> None:
    session_id, _ = monitored_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    nurse.post(
        _api(session_id, "/observations"),
        {"observed_at": (world.clock.now() - timedelta(seconds=5)).isoformat(), "spo2_pct": 88},
    )
    stream: Any = nurse.client.get(f"/sessions/{session_id}/monitoring/stream?once=1")
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = {}
    for block in stream.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events[lines["event"]] = json.loads(lines["data"])
    assert events["baseline"] == {"spo2_pct": 95.0, "heart_rate_per_min": 78.0, "fev1_l": 1.3}
    assert [o["spo2_pct"] for o in events["observations"]] == [88.0]
    assert {a["rule_id"] for a in events["alerts"]} == {"spo2_fall", "spo2_low"}
    later: Any = nurse.client.get(
        f"/sessions/{session_id}/monitoring/stream?once=1",
        headers={"Last-Event-ID": str(events["observations"][-1]["id"])},
    )
    assert "event: observations" not in later.text  # resumes after the last one seen


def test_hl7_inbox_page_lists_kept_messages_and_reviews_them(world: World) -> None:
    monitored_session(world)
    with world.action(Role.NURSE) as ctx:
        settings = world.settings
        hl7_service.receive_hl7(ctx=ctx, settings=settings, raw=b"this is not HL7", peer="bed 4")
        unknown = hl7_service.receive_hl7(
            ctx=ctx,
            settings=settings,
            raw=hl7_message("NOPE-9", world.clock.now(), control_id="MSG2"),
        )
    nurse = login(app_for(world), world, Role.NURSE)
    overview: Any = nurse.client.get("/monitoring")
    assert 'href="/monitoring/hl7"' in overview.text
    page: Any = nurse.client.get("/monitoring/hl7")
    assert page.status_code == 200
    assert "this is not HL7" in page.text
    assert "MSA|AE|MSG2" in page.text
    assert "unknown_patient" in page.text
    url = f"/monitoring/hl7/{unknown.message_id}/review"
    empty = _form(nurse, url, {"note": "  "})
    assert empty.status_code == 422
    assert "Say what was done" in empty.text
    done = _form(nurse, url, {"note": "monitor on the wrong bed"})
    assert done.status_code == 303
    after: Any = nurse.client.get("/monitoring/hl7")
    assert "MSA|AE|MSG2" not in after.text  # no longer waiting
    everything: Any = nurse.client.get("/monitoring/hl7?all=1")
    assert "Reviewed by Nurse One: monitor on the wrong bed" in everything.text
