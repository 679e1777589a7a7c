"""The inhalation API and pages: register, run with a pause, estimate plot, signature, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from exoneb.accounts.permissions import MATRIX, Action, Role

from .conftest import PASSWORD, World
from .inhalation_helpers import FILL_ML, StandIn, mesh_device, stand_in
from .test_assessment_pages import _form, _version
from .webclient import app_for, login


@pytest.fixture
def fake(world: World) -> Iterator[StandIn]:
    """Steps 1–2 stood in for (see inhalation_helpers)."""
    with stand_in(world) as f:
        yield f


def test_api_runs_a_session_with_one_pause_to_monitoring(world: World, fake: StandIn) -> None:
    patient_id, session_id = fake.verified_session()
    nurse = login(app_for(world), world, Role.NURSE)
    device = nurse.post("/api/v1/devices", json={
        "make": "Aerogen", "model": "Solo", "kind": "vibrating-mesh", "serial_or_lot": "A-1",
        "interface": "mouthpiece", "validated_with_product": True})  # fmt: skip
    assert device.status_code == 201, device.text  # type: ignore[attr-defined]
    base = f"/api/v1/sessions/{session_id}/inhalation"
    run = nurse.post(f"{base}/setup", json={"device_id": device.json()["id"]})  # type: ignore[attr-defined]
    assert run.status_code == 200, run.text  # type: ignore[attr-defined]
    body = run.json()  # type: ignore[attr-defined]
    assert body["preview"]["record"]["stage"] == "preview"
    assert body["breathing_instructions"]
    refused = nurse.post(f"{base}/start", json={"version": body["version"]})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "supervisor" in refused.json()["detail"]  # type: ignore[attr-defined]
    v = nurse.post(f"{base}/supervisor", json={"version": body["version"]}).json()["version"]  # type: ignore[attr-defined]
    started = nurse.post(f"{base}/start", json={"version": v}).json()  # type: ignore[attr-defined]
    assert started["state"] == "running"
    assert started["session_state"] == "inhaling"
    world.clock.advance(timedelta(minutes=2))
    no_reason = nurse.post(f"{base}/pause", json={"version": started["version"]})
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    paused = nurse.post(f"{base}/pause", json={"version": started["version"], "reason": "cough"})
    assert paused.json()["state"] == "paused"  # type: ignore[attr-defined]
    world.clock.advance(timedelta(minutes=1))
    resumed = nurse.post(f"{base}/resume", json={"version": paused.json()["version"]}).json()  # type: ignore[attr-defined]
    world.clock.advance(timedelta(minutes=5))
    stopped = nurse.post(f"{base}/stop", json={"version": resumed["version"],
                                               "reason": "output_stopped"}).json()  # type: ignore[attr-defined]  # fmt: skip
    assert stopped["elapsed_s"] == 7 * 60
    assert stopped["interruption_s"] == 60
    again = nurse.post(f"{base}/resume", json={"version": stopped["version"]})
    assert again.status_code == 409  # type: ignore[attr-defined]
    too_much = nurse.post(f"{base}/residual", json={"version": stopped["version"],
                                                    "residual_ml": FILL_ML + 1})  # fmt: skip
    assert too_much.status_code == 422  # type: ignore[attr-defined]
    assert "more than" in too_much.json()["detail"]  # type: ignore[attr-defined]
    final = nurse.post(f"{base}/residual", json={"version": stopped["version"],
                                                 "residual_ml": 0.3}).json()  # type: ignore[attr-defined]  # fmt: skip
    assert final["final"]["record"]["residual_measured"] is True
    signed = nurse.post(f"{base}/sign", json={"version": final["version"], "password": PASSWORD})
    assert signed.status_code == 200, signed.text  # type: ignore[attr-defined]
    assert signed.json()["session_state"] == "monitoring"  # type: ignore[attr-defined]
    read = nurse.client.get(base).json()
    assert read["signature_valid"] is True
    total = nurse.client.get(f"/api/v1/patients/{patient_id}/inhalation/cumulative").json()
    assert total["sessions_counted"] == 1
    assert total["lung_particles"] == pytest.approx(final["final"]["record"]["particles"]["lung"])


def test_api_device_register_permissions_and_errors(world: World) -> None:
    app = app_for(world)
    doctor = login(app, world, Role.PHYSICIAN)
    data = {"make": "Generic", "model": "Sonic", "kind": "ultrasonic", "serial_or_lot": "U-1",
            "interface": "mouthpiece"}  # fmt: skip
    assert doctor.post("/api/v1/devices", json=data).status_code == 403  # type: ignore[attr-defined]
    admin = login(app, world, Role.ADMINISTRATOR)
    made = admin.post("/api/v1/devices", json=data)
    assert made.status_code == 201  # type: ignore[attr-defined]
    codes = {w["code"] for w in made.json()["warnings"]}  # type: ignore[attr-defined]
    assert "device.heat_sensitive_product" in codes
    assert admin.post("/api/v1/devices", json=data).status_code == 409  # type: ignore[attr-defined]
    bad = admin.post("/api/v1/devices", json=data | {"serial_or_lot": "U-2", "kind": "steam"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    listed = doctor.client.get("/api/v1/devices").json()
    assert [d["serial_or_lot"] for d in listed] == ["U-1"]


def test_pages_run_a_session_and_show_the_plot(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    device_id = mesh_device(world)
    nurse = login(app_for(world), world, Role.NURSE)
    url = f"/sessions/{session_id}/inhalation"
    page = nurse.client.get(url)
    assert page.status_code == 200
    assert "Set up the nebulization" in page.text
    done = _form(nurse, f"{url}/setup", {"device_id": str(device_id), "breathing": "relaxed-tidal"})
    assert done.status_code == 303, done.text[:800]
    page = nurse.client.get(url).text
    assert "This is a model estimate" in page
    assert 'data-plot="regions"' in page
    assert 'data-plot="generations"' in page
    assert "Close the lips around the mouthpiece" in page
    for step in ("supervisor", "start"):
        assert _form(nurse, f"{url}/{step}", {"version": _version(page)}).status_code == 303
        page = nurse.client.get(url).text
    world.clock.advance(timedelta(minutes=1, seconds=5))
    page = nurse.client.get(url).text
    assert 'data-elapsed-s="65.0"' in page
    assert 'data-running="true"' in page
    missing = _form(nurse, f"{url}/pause", {"version": _version(page)})
    assert missing.status_code == 422
    assert 'id="e-reason"' in missing.text
    paused = _form(nurse, f"{url}/pause", {"version": _version(page), "reason": "cough"})
    assert paused.status_code == 303
    world.clock.advance(timedelta(seconds=30))
    page = nurse.client.get(url).text
    assert 'data-paused="true"' in page
    assert "<td>cough" in page  # the interruption, listed
    assert _form(nurse, f"{url}/resume", {"version": _version(page)}).status_code == 303
    world.clock.advance(timedelta(minutes=6))
    page = nurse.client.get(url).text
    stopped = _form(nurse, f"{url}/stop", {"version": _version(page), "reason": "output_stopped"})
    assert stopped.status_code == 303
    page = nurse.client.get(url).text
    bad = _form(nurse, f"{url}/residual", {"version": _version(page), "residual_ml": "9"})
    assert bad.status_code == 422
    assert "more than" in bad.text
    measured = _form(nurse, f"{url}/residual", {"version": _version(page), "residual_ml": "0.2"})
    assert measured.status_code == 303
    page = nurse.client.get(url).text
    assert "Final dose estimate" in page
    wrong = _form(nurse, f"{url}/sign", {"version": _version(page), "password": "nope"})
    assert wrong.status_code == 422
    ok = _form(nurse, f"{url}/sign", {"version": _version(page), "password": PASSWORD})
    assert ok.status_code == 303
    page = nurse.client.get(url).text
    assert "monitoring" in page
    assert 'data-plot="regions"' in page
    session_page = nurse.client.get(f"/sessions/{session_id}").text
    assert f"/sessions/{session_id}/inhalation" in session_page


def test_page_renders_for_every_role_and_hides_actions(world: World, fake: StandIn) -> None:
    _, session_id = fake.verified_session()
    device_id = mesh_device(world)
    app = app_for(world)
    with world.action(Role.NURSE) as ctx:
        from exoneb.inhalation import service
        from exoneb.inhalation.schemas import SetUpIn

        service.set_up(ctx=ctx, settings=world.settings, session_id=session_id,
                       data=SetUpIn(device_id=device_id))  # fmt: skip
    for role in Role:
        staff = login(app, world, role)
        response = staff.client.get(f"/sessions/{session_id}/inhalation")
        assert response.status_code == 200, (role, response.text[:300])
        assert "not medical advice" in response.text
        may = role in MATRIX[Action.INHALATION_SUPERVISE]
        assert ("record me as present" in response.text) == may
        devices = staff.client.get("/devices")
        assert devices.status_code == 200
        assert ("Register a device" in devices.text) == (role in MATRIX[Action.DEVICE_MANAGE])
        panel = staff.client.get(f"/sessions/{session_id}/inhalation/panel",
                                 headers={"X-Background-Poll": "1"})  # fmt: skip
        assert panel.status_code == 200
        assert "data-timer" in panel.text


def test_device_register_page_adds_and_warns(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    data = {"make": "Generic", "model": "Sonic", "kind": "ultrasonic", "serial_or_lot": "U-9",
            "interface": "mouthpiece"}  # fmt: skip
    made = _form(nurse, "/devices", data)
    assert made.status_code == 303, made.text[:500]
    page = nurse.client.get("/devices").text
    assert 'data-warning="device.heat_sensitive_product"' in page
    edit = re.search(r'action="/devices/(\d+)/edit".*?name="version" value="(\d+)"', page, re.S)
    assert edit, page[:500]
    corrected = _form(nurse, f"/devices/{edit.group(1)}/edit", data | {
        "version": edit.group(2), "validated_with_product": "true"})  # fmt: skip
    assert corrected.status_code == 303, corrected.text[:500]
    page = nurse.client.get("/devices").text
    assert 'data-warning="device.not_validated_with_product"' not in page
    missing = _form(nurse, "/devices", {"make": "X"})
    assert missing.status_code == 422
    assert 'id="e-model"' in missing.text


def test_patient_page_shows_the_cumulative_dose(world: World, fake: StandIn) -> None:
    patient_id, _ = fake.verified_session()
    doctor = login(app_for(world), world, Role.PHYSICIAN)
    page = doctor.client.get(f"/patients/{patient_id}").text
    assert "Estimated inhaled vesicle dose, all sessions" in page
    assert "No final dose estimate recorded yet." in page


def test_run_page_warns_of_an_ultrasonic_nebulizer_with_vesicles(
    world: World, fake: StandIn
) -> None:
    _, session_id = fake.verified_session(nebulizer_key="ultrasonic-generic")
    sonic = mesh_device(world, make="Generic", model="Ultrasonic 1.7 MHz", kind="ultrasonic")
    with world.action(Role.NURSE) as ctx:
        from exoneb.inhalation import service
        from exoneb.inhalation.schemas import SetUpIn

        service.set_up(ctx=ctx, settings=world.settings, session_id=session_id,
                       data=SetUpIn(device_id=sonic))  # fmt: skip
    nurse = login(app_for(world), world, Role.NURSE)
    page = nurse.client.get(f"/sessions/{session_id}/inhalation").text
    assert 'data-warning="device.heat_sensitive_product"' in page
    assert "heat-sensitive biological product" in page


def test_a_session_aborted_mid_run_freezes_the_counter_and_says_so(
    world: World, fake: StandIn
) -> None:
    from .inhalation_helpers import act, set_up

    _, session_id = fake.verified_session()
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    with world.action(Role.NURSE) as ctx:
        from exoneb.sessions import service as sessions

        s = sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)
        sessions.abort(ctx=ctx, session_id=session_id, reason="patient unwell", version=s.version)
    page = login(app_for(world), world, Role.NURSE).client.get(f"/sessions/{session_id}/inhalation")
    assert 'data-running="false"' in page.text
    assert "The session was aborted while the nebulization was running" in page.text
    assert "Stop nebulization</button>" not in page.text  # the service would refuse it anyway
