"""The assessment page: renders for every role, forms show field errors, decision and signature."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from exoneb.accounts.permissions import MATRIX, Action, Role
from exoneb.assessment.models import SpirometryEntry
from exoneb.core.audit import AuditEvent

from .conftest import PASSWORD, World
from .factories import planned_session
from .test_assessment_service import filled
from .webclient import Staff, app_for, login


def _form(staff: Staff, url: str, data: dict[str, str]) -> Any:
    return staff.client.post(url, data={"csrf_token": staff.csrf, **data}, follow_redirects=False)


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_page_renders_for_every_role(world: World) -> None:
    session_id, _ = filled(world)
    app = app_for(world)
    for role in Role:
        staff = login(app, world, role)
        response = staff.client.get(f"/sessions/{session_id}/assessment")
        expected = 200 if role in MATRIX[Action.PATIENT_READ] else 403
        assert response.status_code == expected, (role, response.text[:300])
        assert "not medical advice" in response.text
        if expected == 200:
            assert "z-score" in response.text
            has_form = (
                'action="/sessions/' in response.text and "/assessment/vitals" in response.text
            )
            assert has_form == (role in MATRIX[Action.ASSESSMENT_RECORD])


def test_forms_decision_and_signature_on_the_page(world: World) -> None:
    session_id, _ = filled(world)
    app = app_for(world)
    nurse, doctor = login(app, world, Role.NURSE), login(app, world, Role.PHYSICIAN)
    url = f"/sessions/{session_id}/assessment"
    page = nurse.client.get(url).text
    bad = _form(nurse, f"{url}/vitals", {"version": _version(page), "spo2_percent": "20",
                                         "oxygen_source": "room_air"})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="e-spo2_percent"' in bad.text
    done = _form(nurse, f"{url}/decision", {"version": _version(page)})
    assert done.status_code == 303, done.text[:500]
    page = doctor.client.get(url).text
    assert "Cleared" in page
    assert "inc-age-min" in page
    signed = _form(doctor, f"{url}/sign", {"version": _version(page), "password": PASSWORD})
    assert signed.status_code == 303, signed.text[:800]
    page = doctor.client.get(url).text
    assert 'signed "approved" by Physician One' in page
    assert "Amend this assessment" in page


def test_start_from_the_page(world: World) -> None:
    _, session_id = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    url = f"/sessions/{session_id}/assessment"
    assert "Start the assessment" in nurse.client.get(url).text
    assert _form(nurse, f"{url}/start", {}).status_code == 303
    page = nurse.client.get(url).text
    assert "Record and score" in page
    scored = _form(nurse, f"{url}/spirometry", {"version": _version(page), "kind": "pre",
                                                "fev1_l": "1.3", "fvc_l": "2.6"})  # fmt: skip
    assert scored.status_code == 303, scored.text[:500]
    page = nurse.client.get(url).text
    assert "below LLN" in page
    assert "obstruction" in page


def test_live_preview_scores_without_storing(world: World) -> None:
    _, session_id = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    url = f"/sessions/{session_id}/assessment"
    _form(nurse, f"{url}/start", {})
    version = _version(nurse.client.get(url).text)
    with world.factory() as db:
        before = db.scalar(select(func.count()).select_from(AuditEvent))
    shown = _form(nurse, f"{url}/spirometry/preview",
                  {"version": version, "kind": "pre", "fev1_l": "1.3", "fvc_l": "2.6"})  # fmt: skip
    assert shown.status_code == 200
    assert "Preview (not saved)" in shown.text
    assert "below LLN" in shown.text
    half = _form(nurse, f"{url}/spirometry/preview", {"version": version, "kind": "pre"})
    assert "Enter the FEV1" in half.text
    with world.factory() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == before
        assert db.scalar(select(func.count()).select_from(SpirometryEntry)) == 0


def test_scales_from_the_page(world: World) -> None:
    _, session_id = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    url = f"/sessions/{session_id}/assessment"
    _form(nurse, f"{url}/start", {})
    version = _version(nurse.client.get(url).text)
    items = {f"cat_{d}": "3" for d in ("cough", "phlegm", "chest_tightness", "breathlessness",
                                        "activities", "confidence", "sleep", "energy")}  # fmt: skip
    done = _form(nurse, f"{url}/scales", {"version": version, "mmrc_grade": "2", **items})
    assert done.status_code == 303, done.text[:500]
    page = nurse.client.get(url).text
    assert "CAT total 24" in page
    assert "mMRC grade 2" in page
    bad = _form(nurse, f"{url}/scales", {"version": _version(page), "cat_cough": "9"})
    assert bad.status_code == 422
    assert "Nothing was saved" in bad.text


def _started(world: World) -> tuple[Staff, str, str]:
    _, session_id = planned_session(world)
    nurse = login(app_for(world), world, Role.NURSE)
    url = f"/sessions/{session_id}/assessment"
    _form(nurse, f"{url}/start", {})
    return nurse, url, _version(nurse.client.get(url).text)


def _manoeuvre(i: int, fev1: str, fvc: str, *, acceptable: bool = True) -> dict[str, str]:
    row = {f"manoeuvres.{i}.fev1_l": fev1, f"manoeuvres.{i}.fvc_l": fvc}
    if acceptable:
        for flag in ("fev1_acceptable", "fvc_acceptable", "fev1_usable", "fvc_usable"):
            row[f"manoeuvres.{i}.{flag}"] = "on"
    return row


def test_manoeuvres_from_the_page_give_the_quality_grade(world: World) -> None:
    nurse, url, version = _started(world)
    # three acceptable manoeuvres, best two FEV1 and FVC within 0.150 L → grade A (ATS/ERS 2019)
    rows = {**_manoeuvre(0, "2.10", "3.00"), **_manoeuvre(1, "2.05", "2.95"),
            **_manoeuvre(2, "2.00", "2.90")}  # fmt: skip
    done = _form(
        nurse,
        f"{url}/spirometry",
        {"version": version, "kind": "pre", "fev1_l": "2.10", "fvc_l": "3.00", **rows},
    )
    assert done.status_code == 303, done.text[:800]
    page = nurse.client.get(url).text
    assert "FEV1 <strong>A</strong>, FVC <strong>A</strong>" in page
    assert "from 3 manoeuvres" in page
    with world.factory() as db:
        entry = db.scalars(select(SpirometryEntry)).one()
        assert entry.manoeuvres is not None
        assert [m["fev1_l"] for m in entry.manoeuvres] == [2.10, 2.05, 2.00]


def test_unticked_boxes_are_a_no_and_a_half_row_is_refused_at_its_input(world: World) -> None:
    nurse, url, version = _started(world)
    one_not_acceptable = {**_manoeuvre(0, "2.10", "3.00"),
                          **_manoeuvre(1, "1.60", "2.40", acceptable=False)}  # fmt: skip
    done = _form(nurse, f"{url}/spirometry", {"version": version, "kind": "pre",
                                              "fev1_l": "2.10", "fvc_l": "3.00",
                                              **one_not_acceptable})  # fmt: skip
    assert done.status_code == 303, done.text[:800]
    with world.factory() as db:
        stored = db.scalars(select(SpirometryEntry)).one().manoeuvres
    assert stored is not None
    assert stored[1]["fev1_acceptable"] is False
    assert stored[1]["fvc_usable"] is False
    page = nurse.client.get(url).text
    half = _form(nurse, f"{url}/spirometry", {"version": _version(page), "kind": "pre",
                                              "fev1_l": "2.10", "fvc_l": "3.00",
                                              "manoeuvres.0.fev1_l": "2.1"})  # fmt: skip
    assert half.status_code == 422
    assert 'id="e-manoeuvres.0.fvc_l"' in half.text
    assert 'value="2.1"' in half.text  # what was typed comes back


def test_six_minute_walk_from_the_page(world: World) -> None:
    nurse, url, version = _started(world)
    walk = {"walk.distance_m": "420", "walk.oxygen_source": "room_air",
            "walk.spo2_baseline_percent": "96", "walk.spo2_nadir_percent": "91",
            "walk.borg_before": "0.5", "walk.borg_after": "3"}  # fmt: skip
    done = _form(nurse, f"{url}/scales", {"version": version, **walk})
    assert done.status_code == 303, done.text[done.text.find("Nothing was saved") :][:400]
    page = nurse.client.get(url).text
    assert "6MWD 420.0 m" in page
    assert "SpO2 nadir 91.0 %" in page
    no_distance = _form(nurse, f"{url}/scales", {"version": _version(page),
                                                 "walk.spo2_nadir_percent": "90"})  # fmt: skip
    assert no_distance.status_code == 422
    assert 'id="e-walk.distance_m"' in no_distance.text
    bad_borg = _form(
        nurse,
        f"{url}/scales",
        {"version": _version(page), "walk.distance_m": "400", "walk.borg_after": "3.5"},
    )
    assert bad_borg.status_code == 422
    assert 'id="e-walk.borg_after"' in bad_borg.text
    no_flow = _form(
        nurse,
        f"{url}/scales",
        {"version": _version(page), "walk.distance_m": "400", "walk.oxygen_source": "flow"},
    )
    assert no_flow.status_code == 422
    assert 'id="e-walk.oxygen_flow_l_min"' in no_flow.text  # beside the walk's own input
