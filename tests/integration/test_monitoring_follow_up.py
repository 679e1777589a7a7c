"""Monitoring follow-up on both databases: HL7 inbox per site, lot change, rescue medication,
follow-up calls.

Reference values: clinical.md §4.4 ("the first session after a dose or lot
change: ≥30 min observation"; "next-day telephone follow-up scheduled after
the first session"), §4.2 ("any fall not returning to ≤10 % below baseline
within 30 min after SABA"). Baseline FEV1 1.30 L (monitoring_world).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, text

from exoneb.accounts import service as accounts
from exoneb.accounts.models import User
from exoneb.accounts.permissions import Role
from exoneb.core import migrate
from exoneb.core.audit import AuditEvent
from exoneb.core.db import make_engine
from exoneb.core.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, StaleEdit
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SignIn as InhalationSignIn
from exoneb.monitoring import follow_up_service as fu
from exoneb.monitoring import hl7_service
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.models import Hl7Message
from exoneb.monitoring.schemas import (
    DischargeIn,
    FollowUpAttemptRequest,
    FollowUpGiveUpRequest,
    FollowUpReviewRequest,
    ObservationIn,
    RescueMedicationIn,
)
from exoneb.sessions import service as sessions
from exoneb.sessions.rules import State
from exoneb.sessions.schemas import SessionPlan

from .conftest import PASSWORD, World
from .inhalation_helpers import StandIn, act, mesh_device, set_up, stand_in
from .monitoring_world import hl7_message, monitored_session
from .webclient import Staff, app_for, login

VITALS: dict[str, Any] = {
    "spo2_pct": 95, "heart_rate_per_min": 80, "resp_rate_per_min": 16, "sbp_mmhg": 130,
    "dbp_mmhg": 80, "fev1_l": 1.25, "wheeze": False, "stridor": False, "symptom_grade": 0,
    "respiratory_symptoms": False,
}  # fmt: skip


def _other_site_user(world: World, role: str = "nurse") -> User:
    with world.action() as ctx:
        site = accounts.create_site(ctx=ctx, code="S2", name="Site two", time_zone="UTC")
        return accounts.create_user(
            ctx=ctx, settings=world.settings, username=f"{role}2", full_name=f"{role} Two",
            role=role, site_id=site.id, password=PASSWORD,
        )  # fmt: skip


def _record(world: World, session_id: int, **values: Any) -> None:
    values.setdefault("observed_at", world.clock.now())
    with world.action(Role.NURSE) as ctx:
        monitoring.record_observation(
            ctx=ctx, settings=world.settings, session_id=session_id, data=ObservationIn(**values)
        )


# --- 1. the HL7 inbox per site ------------------------------------------------------------


def test_hl7_messages_carry_the_gateway_site_and_another_site_neither_sees_nor_reviews(
    world: World,
) -> None:
    with world.action(Role.NURSE) as ctx:
        unknown = hl7_service.receive_hl7(
            ctx=ctx, settings=world.settings, peer="bed 1",
            raw=hl7_message("NOPE-9", world.clock.now(), control_id="MSG-S1"),
        )  # fmt: skip
        stray = hl7_service.keep_unframed(ctx=ctx, data=b"junk", reason="outside a frame")
    other = _other_site_user(world)
    with world.action(actor=accounts.actor_for(other)) as ctx:
        theirs = hl7_service.receive_hl7(
            ctx=ctx, settings=world.settings, peer="bed 9",
            raw=hl7_message("NOPE-9", world.clock.now(), control_id="MSG-S2"),
        )  # fmt: skip
    with world.factory() as db:
        sites = dict(db.execute(select(Hl7Message.id, Hl7Message.site_id)).all())
    assert sites[unknown.message_id] == sites[stray] == world.site_id
    assert sites[theirs.message_id] == other.site_id != world.site_id

    with world.action(Role.NURSE) as ctx:
        mine = {m.id for m in hl7_service.hl7_inbox(ctx=ctx, pending_only=False)}
    assert mine == {unknown.message_id, stray}
    with world.action(actor=accounts.actor_for(other)) as ctx:
        assert [m.id for m in hl7_service.hl7_inbox(ctx=ctx)] == [theirs.message_id]
    with pytest.raises(NotFound), world.action(actor=accounts.actor_for(other)) as ctx:
        hl7_service.review_hl7(ctx=ctx, message_id=unknown.message_id, note="not ours")
    with world.action(Role.NURSE) as ctx:
        done = hl7_service.review_hl7(ctx=ctx, message_id=unknown.message_id, note="wrong bed")
        assert done.review_status == "reviewed"


def test_hl7_patient_of_another_site_is_unknown_to_this_gateway(world: World) -> None:
    monitored_session(world, mrn="MRN-S1")
    other = _other_site_user(world)
    with world.action(actor=accounts.actor_for(other)) as ctx:
        result = hl7_service.receive_hl7(
            ctx=ctx, settings=world.settings, raw=hl7_message("MRN-S1", world.clock.now())
        )
    assert (result.ack_code, result.match_status) == ("AE", "unknown_patient")


def test_hl7_inbox_page_of_another_site_is_empty_and_its_review_is_404(world: World) -> None:
    with world.action(Role.NURSE) as ctx:
        kept = hl7_service.receive_hl7(
            ctx=ctx, settings=world.settings, raw=b"this is not HL7", peer="bed 4"
        )
    other = _other_site_user(world)
    app = app_for(world)
    nurse2 = _login_as(app, other.username)
    page: Any = nurse2.client.get("/monitoring/hl7?all=1")
    assert page.status_code == 200
    assert "No message received." in page.text
    api: Any = nurse2.client.get("/api/v1/hl7/inbox")
    assert api.json() == []
    refused: Any = nurse2.post(f"/api/v1/hl7/inbox/{kept.message_id}/review", {"note": "x"})
    assert refused.status_code == 404
    nurse1 = login(app, world, Role.NURSE)
    assert f'id="hl7-{kept.message_id}"' in nurse1.client.get("/monitoring/hl7").text


def _login_as(app: Any, username: str) -> Staff:
    client = TestClient(app, base_url="http://testserver")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return Staff(client=client, csrf=response.json()["csrf_token"])


# --- 2. a lot change extends the observation schedule ------------------------------------


def _nebulize(world: World, session_id: int) -> None:
    set_up(world, session_id, mesh_device(world))
    act(world, "supervisor", session_id)
    act(world, "start", session_id)
    world.clock.advance(timedelta(minutes=8))
    act(world, "stop", session_id, reason="output_stopped")
    version = act(world, "residual", session_id, residual_ml=0.3)
    with world.action(Role.NURSE) as ctx:
        inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=InhalationSignIn(password=PASSWORD, version=version))  # fmt: skip


def _second_session(world: World, fake: StandIn, first: int, lot_id: int) -> int:
    with world.action(Role.NURSE) as ctx:
        s1 = sessions.get_session(ctx=ctx, session_id=first, refresh=True)
        patient_id, enrolment_id = s1.patient_id, s1.enrolment_id
        plan = SessionPlan(enrolment_id=enrolment_id, planned_for=datetime(2026, 1, 20, tzinfo=UTC))
        s2 = sessions.plan_session(ctx=ctx, patient_id=patient_id, data=plan)
        second = s2.id
    fake.doses[second] = replace(
        fake.doses[first], session_id=second, preparation_id=5000 + second, lot_id=lot_id,
        lot_number=f"EV-LOT-{lot_id}", use_by=world.clock.now() + timedelta(hours=2),
    )  # fmt: skip
    for target in (State.ASSESSED, State.CLEARED, State.PREPARED, State.VERIFIED):
        with world.action(Role.NURSE) as ctx:
            s = sessions.get_session(ctx=ctx, session_id=second, refresh=True)
            sessions.move(ctx=ctx, session_id=second, target=target, version=s.version)
    return second


@pytest.mark.parametrize(("second_lot", "intensive"), [(2, True), (1, False)])
def test_a_lot_change_gets_the_30_minute_schedule_the_same_lot_does_not(
    world: World, second_lot: int, intensive: bool
) -> None:
    with stand_in(world) as fake:
        _, first = fake.verified_session(lot_id=1)
        _nebulize(world, first)
        world.clock.advance(timedelta(days=7))
        second = _second_session(world, fake, first, second_lot)
        _nebulize(world, second)
        with world.action(Role.NURSE) as ctx:
            s1 = sessions.get_session(ctx=ctx, session_id=first, refresh=True)
            s2 = sessions.get_session(ctx=ctx, session_id=second, refresh=True)
            first_schedule, was_first = monitoring.schedule_for(
                ctx=ctx, settings=world.settings, session=s1
            )
            schedule, is_first = monitoring.schedule_for(
                ctx=ctx, settings=world.settings, session=s2
            )
    assert was_first
    assert not is_first
    assert first_schedule is not None
    assert schedule is not None
    length = schedule.minimum_end_at - schedule.start
    if intensive:  # clinical.md §4.4: first session after a lot change, ≥ 30 min
        assert length == timedelta(minutes=30)
        assert "lot change" in schedule.reasons[0]
        assert [s.kind.value for s in schedule.slots].count("spirometry") == 1
    else:  # later session on the same lot and dose: ≥ 15 min
        assert length == timedelta(minutes=15)
        assert "later session" in schedule.reasons[0]
        assert "spirometry" not in [s.kind.value for s in schedule.slots]


# --- 3. rescue medication as a record -----------------------------------------------------


def _rescue(world: World, session_id: int, **values: Any) -> Any:
    data = {"drug": "salbutamol", "dose_amount": 200, "dose_unit": "ug",
            "route": "inhaled_mdi", **values}  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        row = fu.record_rescue_medication(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=RescueMedicationIn(**data),
        )  # fmt: skip
        ctx.db.expunge(row)
        return row


def _fev1_hold(world: World, session_id: int) -> tuple[str | None, bool]:
    with world.action(Role.NURSE) as ctx:
        holds = [h for h in monitoring.holds_for(ctx=ctx, session_id=session_id)
                 if h.rule_id == "fev1_fall_20"]  # fmt: skip
        assert len(holds) == 1
        return holds[0].rule_id, holds[0].dlt_candidate


@pytest.mark.parametrize(("saba_at_min", "dlt"), [(10, False), (None, True)])
def test_saba_time_from_the_record_drives_the_unresolved_fev1_fall_rule(
    world: World, saba_at_min: int | None, dlt: bool
) -> None:
    """FEV1 1.00 L (23 % below 1.30) at +0, 1.20 L (7.7 %) at +35 min.

    SABA recorded at +10: the 30-min window runs to +40, the fall recovered in
    it — not a DLT candidate. No SABA record: the window runs from the ≥ 20 %
    reading to +30, nothing recovered in it — DLT candidate (clinical.md §4.2, §4.5).
    """
    session_id, _ = monitored_session(world)
    t0 = world.clock.now()
    _record(world, session_id, fev1_l=1.00, respiratory_symptoms=True)
    assert _fev1_hold(world, session_id) == ("fev1_fall_20", False)
    if saba_at_min is not None:
        world.clock.advance(timedelta(minutes=12))
        row = _rescue(world, session_id, given_at=t0 + timedelta(minutes=saba_at_min))
        assert (row.drug_class, row.given_by, row.recorded_by) == ("saba", "Nurse One", "Nurse One")
    world.clock.advance(t0 + timedelta(minutes=35) - world.clock.now())
    _record(world, session_id, fev1_l=1.20, respiratory_symptoms=False)
    assert _fev1_hold(world, session_id) == ("fev1_fall_20", dlt)


def test_a_non_saba_rescue_does_not_start_the_saba_clock(world: World) -> None:
    session_id, _ = monitored_session(world)
    t0 = world.clock.now()
    _record(world, session_id, fev1_l=1.00, respiratory_symptoms=True)
    world.clock.advance(timedelta(minutes=12))
    row = _rescue(world, session_id, drug="ipratropium", dose_amount=500, route="nebulized",
                  given_at=t0 + timedelta(minutes=10))  # fmt: skip
    assert row.drug_class == "other"
    with world.action(Role.NURSE) as ctx:
        assert monitoring.saba_given_at(ctx=ctx, session_id=session_id) is None


def test_rescue_record_is_validated_audited_and_shown(world: World) -> None:
    session_id, _ = monitored_session(world)
    with pytest.raises(InvalidInput) as bad:
        _rescue(world, session_id, dose_amount=0)
    assert bad.value.field == "dose_amount"
    with pytest.raises(InvalidInput) as other:
        _rescue(world, session_id, drug="other")
    assert other.value.field == "drug_other"
    with pytest.raises(InvalidInput) as future:
        _rescue(world, session_id, given_at=world.clock.now() + timedelta(hours=1))
    assert future.value.field == "given_at"
    with pytest.raises(InvalidInput) as early:
        _rescue(world, session_id, given_at=world.clock.now() - timedelta(hours=1))
    assert early.value.field == "given_at"  # before the start of nebulization
    with pytest.raises(InvalidInput, match="alert"):
        _rescue(world, session_id, alert_id=999_999)
    row = _rescue(world, session_id, given_by="Dr Other", note="for wheeze")
    with world.factory() as db:
        audit = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "rescue_medication.record")
        ).all()
    assert len(audit) == 1
    assert audit[0].entity_id == str(row.id)
    with world.action(Role.NURSE) as ctx:
        page = monitoring.page(ctx=ctx, settings=world.settings, session_id=session_id)
    assert [(r.drug, r.dose_amount, r.dose_unit, r.given_by) for r in page.rescue] == [
        ("salbutamol", 200.0, "ug", "Dr Other")
    ]
    with pytest.raises(ValidationError, match="rescue"):
        ObservationIn(spo2_pct=95, saba_given=True)


def test_rescue_pages_and_api(world: World) -> None:
    session_id, _ = monitored_session(world)
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    made: Any = nurse.post(
        f"/api/v1/sessions/{session_id}/rescue-medications",
        {"drug": "salbutamol", "dose_amount": 2.5, "dose_unit": "mg", "route": "nebulized"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["drug_class"] == "saba"
    flag: Any = nurse.post(
        f"/api/v1/sessions/{session_id}/observations", {"spo2_pct": 95, "saba_given": True}
    )
    assert flag.status_code == 422
    listed: Any = nurse.client.get(f"/api/v1/sessions/{session_id}/rescue-medications")
    assert [r["dose_amount"] for r in listed.json()] == [2.5]
    form: Any = nurse.client.post(
        f"/sessions/{session_id}/monitoring/rescue-medications",
        data={"drug": "terbutaline", "dose_amount": "", "dose_unit": "mg", "route": "nebulized",
              "csrf_token": nurse.csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert form.status_code == 422
    form = nurse.client.post(
        f"/sessions/{session_id}/monitoring/rescue-medications",
        data={"drug": "terbutaline", "dose_amount": "5", "dose_unit": "mg", "route": "nebulized",
              "csrf_token": nurse.csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert form.status_code == 303, form.text
    page: Any = nurse.client.get(f"/sessions/{session_id}/monitoring")
    assert "terbutaline (SABA)" in page.text
    assert "2.5 mg" in page.text
    auditor = login(app, world, Role.AUDITOR)
    refused: Any = auditor.post(
        f"/api/v1/sessions/{session_id}/rescue-medications",
        {"drug": "salbutamol", "dose_amount": 100, "dose_unit": "ug", "route": "inhaled_mdi"},
    )
    assert refused.status_code == 403


# --- 4. follow-up calls ------------------------------------------------------------------


def _discharged(world: World, **values: Any) -> tuple[int, datetime]:
    """A first session observed at 0/15/30 min and discharged: (session id, discharge time)."""
    session_id, end = monitored_session(world, mrn=values.pop("mrn", "MRN-1"))
    for minute in (0, 15, 30):
        world.clock.advance(end + timedelta(minutes=minute) - world.clock.now())
        _record(world, session_id, **VITALS)
    with world.action(Role.NURSE) as ctx:
        checklist = monitoring.read_checklist(
            ctx=ctx, settings=world.settings, session_id=session_id
        )
        item = next(i for i in checklist["items"] if i["item_id"] == "follow_up_scheduled")
        assert item["status"] == "pass"
        assert "day +1 at 10:00 site time" in item["detail"]
        monitoring.discharge(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=DischargeIn(walks_unaided=True, instructions_given=True, password=PASSWORD,
                             **values),
        )  # fmt: skip
    return session_id, world.clock.now()


def _calls(world: World, role: Role = Role.NURSE) -> list[tuple[int, str, datetime]]:
    with world.action(role) as ctx:
        return [(r.call.session_id, r.state.value, r.call.due_at)
                for r in fu.follow_up_calls(ctx=ctx, settings=world.settings)]  # fmt: skip


def _call_ref(world: World, session_id: int) -> tuple[int, int]:
    """The session's follow-up call: (id, version)."""
    with world.action(Role.NURSE) as ctx:
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        return call.id, call.version


def _form(staff: Staff, url: str, **fields: str) -> Any:
    """Post a page form as ``staff`` (with the CSRF token), without following the redirect."""
    return staff.client.post(url, data={**fields, "csrf_token": staff.csrf}, follow_redirects=False)


def _attempt(world: World, session_id: int, **values: Any) -> Any:
    with world.action(Role.NURSE) as ctx:
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        values.setdefault("version", call.version)
        c, a = fu.record_follow_up_attempt(
            ctx=ctx, settings=world.settings, call_id=call.id,
            data=FollowUpAttemptRequest(**values),
        )  # fmt: skip
        return c.status, c.due_at, a.outcome


def _next_day_10(at: datetime) -> datetime:
    """10:00 UTC on the day after ``at`` (a UTC site)."""
    return datetime.combine(at.date() + timedelta(days=1), time(10), tzinfo=UTC)


def test_discharge_after_a_first_session_schedules_the_next_day_call(world: World) -> None:
    session_id, discharged = _discharged(world)
    due = _next_day_10(discharged)  # clinical.md §4.4 next day; 10:00 site time (protocol)
    with world.action(Role.NURSE) as ctx:
        record = monitoring.discharge_record(ctx=ctx, session_id=session_id)
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert record is not None
        assert call is not None
        assert record.follow_up_at == due
        assert (call.due_at, call.first_due_at, call.status, call.attempts) == (due, due, "open", 0)
        assert call.parameters["follow_up_after_days"]["value"] == 1
        assert "§4.4" in call.parameters["follow_up_after_days"]["source"]
        assert call.parameters["follow_up_local_time"]["value"] == "10:00"
        assert call.parameters["follow_up_max_attempts"]["value"] == 3
        assert call.parameters["time_zone"] == "UTC"
    assert _calls(world) == [(session_id, "upcoming", due)]
    world.clock.advance(due - timedelta(hours=12) - world.clock.now())  # the window opens
    assert _calls(world) == [(session_id, "due", due)]
    world.clock.advance(timedelta(hours=24, seconds=1))  # 12 h past due
    assert _calls(world) == [(session_id, "overdue", due)]


def _set_zone(world: World, zone: str) -> None:
    with world.action() as ctx:
        accounts.set_site_time_zone(ctx=ctx, code="S1", time_zone=zone, reason="site in " + zone)


@pytest.mark.parametrize(
    ("zone", "start", "due", "label"),
    [
        # London, late March: 01:00 GMT → 02:00 BST on Sunday 2026-03-29.
        ("Europe/London", "2026-03-28 12:00", "2026-03-29 09:00", "2026-03-29 10:00 BST"),
        # London, late October: 02:00 BST → 01:00 GMT on Sunday 2026-10-25.
        ("Europe/London", "2026-10-24 12:00", "2026-10-25 10:00", "2026-10-25 10:00 GMT"),
        # New York: 02:00 EST → 03:00 EDT on Sunday 2026-03-08.
        ("America/New_York", "2026-03-07 15:00", "2026-03-08 14:00", "2026-03-08 10:00 EDT"),
        ("UTC", "2026-03-28 12:00", "2026-03-29 10:00", "2026-03-29 10:00 UTC"),
    ],
)
def test_the_next_day_call_is_at_10_on_the_site_clocks_across_dst(
    world: World, zone: str, start: str, due: str, label: str
) -> None:
    _set_zone(world, zone)
    world.clock.advance(datetime.fromisoformat(start).replace(tzinfo=UTC) - world.clock.now())
    session_id, discharged = _discharged(world)
    assert discharged.date() == world.clock.now().date()  # the same site day as ``start``
    expected = datetime.fromisoformat(due).replace(tzinfo=UTC)
    with world.action(Role.NURSE) as ctx:
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        assert (call.due_at, call.parameters["time_zone"]) == (expected, zone)
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    page: Any = nurse.client.get("/monitoring/follow-up")
    assert label in page.text
    assert f"your site's local time ({zone})" in page.text
    api: Any = nurse.client.get("/api/v1/follow-up-calls")
    listed = api.json()[0]
    assert (listed["time_zone"], datetime.fromisoformat(listed["due_at"])) == (zone, expected)
    sheet: Any = nurse.client.get(f"/sessions/{session_id}/monitoring/sheet")
    assert f"We will telephone you on {label}." in sheet.text  # the patient's own clock


def test_a_retry_time_typed_on_the_page_is_site_time(world: World) -> None:
    _set_zone(world, "Europe/London")
    world.clock.advance(datetime(2026, 3, 28, 12, tzinfo=UTC) - world.clock.now())
    session_id, _ = _discharged(world)
    world.clock.advance(datetime(2026, 3, 29, 9, tzinfo=UTC) - world.clock.now())
    call_id, version = _call_ref(world, session_id)
    nurse = login(app_for(world), world, Role.NURSE)
    done: Any = _form(
        nurse,
        f"/monitoring/follow-up/{call_id}/attempts",
        version=str(version),
        outcome="not_reached",
        retry_at="2026-03-29T14:00",
    )
    assert done.status_code == 303, done.text
    with world.action(Role.NURSE) as ctx:
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        assert call.due_at == datetime(2026, 3, 29, 13, tzinfo=UTC)  # 14:00 BST
    assert "retry 2026-03-29 14:00 BST" in nurse.client.get("/monitoring/follow-up").text


def test_site_time_zones_are_checked_where_sites_are_made_or_changed(world: World) -> None:
    with pytest.raises(InvalidInput) as bad, world.action() as ctx:
        accounts.create_site(ctx=ctx, code="S9", name="Site nine", time_zone="BST")
    assert bad.value.field == "time_zone"
    assert "IANA" in bad.value.message
    with pytest.raises(InvalidInput) as unknown, world.action() as ctx:
        accounts.set_site_time_zone(ctx=ctx, code="S1", time_zone="Europe/Londn", reason="typo")
    assert unknown.value.field == "time_zone"
    with pytest.raises(InvalidInput) as why, world.action() as ctx:
        accounts.set_site_time_zone(ctx=ctx, code="S1", time_zone="Europe/Paris", reason=" ")
    assert why.value.field == "reason"
    other = _other_site_user(world, "administrator")
    with pytest.raises(NotFound), world.action(actor=accounts.actor_for(other)) as ctx:
        accounts.set_site_time_zone(ctx=ctx, code="S1", time_zone="Europe/Paris", reason="x")
    with world.action(Role.ADMINISTRATOR) as ctx:
        site = accounts.set_site_time_zone(
            ctx=ctx, code="S1", time_zone="Europe/Paris", reason="site moved"
        )
        assert site.time_zone == "Europe/Paris"
    with world.factory() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.action == "site.time_zone")).one()
    assert (json.loads(row.before or ""), json.loads(row.after or ""), row.reason) == (
        {"time_zone": "UTC"}, {"time_zone": "Europe/Paris"}, "site moved",
    )  # fmt: skip


def test_staff_may_choose_the_call_time_but_not_in_the_past(world: World) -> None:
    with pytest.raises(InvalidInput) as past:
        _discharged(world, follow_up_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert past.value.field == "follow_up_at"


def test_call_not_reached_is_retried_then_reached_with_symptoms(world: World) -> None:
    session_id, discharged = _discharged(world)
    world.clock.advance(timedelta(hours=20))
    with pytest.raises(InvalidInput) as no_answer:
        _attempt(world, session_id, outcome="reached")
    assert no_answer.value.field == "symptoms_reported"
    status, due, outcome = _attempt(world, session_id, outcome="not_reached")
    assert (status, due, outcome) == ("open", world.clock.now() + timedelta(hours=2), "not_reached")
    with pytest.raises(StaleEdit):
        _attempt(world, session_id, outcome="not_reached", version=1)
    world.clock.advance(timedelta(hours=2))
    with pytest.raises(InvalidInput) as which:
        _attempt(world, session_id, outcome="reached", symptoms_reported=True)
    assert which.value.field == "symptoms"
    status, _, outcome = _attempt(
        world, session_id, outcome="reached", symptoms_reported=True, symptoms="cough at night",
        note="advised to call if worse",
    )  # fmt: skip
    assert (status, outcome) == ("done", "reached")
    assert _calls(world) == [(session_id, "done", discharged + timedelta(hours=22))]
    with pytest.raises(RuleViolation, match="already completed"):
        _attempt(world, session_id, outcome="not_reached")
    with world.factory() as db:
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.action.like("follow_up.%")).order_by(AuditEvent.seq)
        ).all()
    assert [r.action for r in rows if r.action != "follow_up.read"] == [
        "follow_up.schedule", "follow_up.record", "follow_up.record",
    ]  # fmt: skip


def test_another_site_does_not_see_or_work_the_calls(world: World) -> None:
    session_id, _ = _discharged(world)
    other = _other_site_user(world)
    with world.action(actor=accounts.actor_for(other)) as ctx:
        assert fu.follow_up_calls(ctx=ctx, settings=world.settings) == []
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        with pytest.raises(NotFound):
            fu.record_follow_up_attempt(
                ctx=ctx, settings=world.settings, call_id=call.id,
                data=FollowUpAttemptRequest(version=call.version, outcome="not_reached"),
            )  # fmt: skip


def test_follow_up_page_lists_records_and_links_the_adverse_event_form(world: World) -> None:
    session_id, _ = _discharged(world)
    world.clock.advance(timedelta(hours=20))
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    overview: Any = nurse.client.get("/monitoring")
    assert 'href="/monitoring/follow-up"' in overview.text
    page: Any = nurse.client.get("/monitoring/follow-up")
    assert page.status_code == 200
    assert "Due now (1)" in page.text
    call_id, version = _call_ref(world, session_id)
    url = f"/monitoring/follow-up/{call_id}/attempts"
    first = {"version": str(version), "outcome": "reached", "csrf_token": nurse.csrf}
    bad: Any = nurse.client.post(url, data=first, follow_redirects=False)
    assert bad.status_code == 422
    assert "did the patient report symptoms" in bad.text
    done: Any = nurse.client.post(
        url,
        data={"version": str(version), "outcome": "reached", "symptoms_reported": "yes",
              "symptoms": "hoarse voice", "csrf_token": nurse.csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303, done.text
    after: Any = nurse.client.get("/monitoring/follow-up")
    assert "Done (1)" in after.text
    assert "symptoms: hoarse voice" in after.text
    assert f'href="/sessions/{session_id}/monitoring#events"' in after.text
    api: Any = nurse.client.get("/api/v1/follow-up-calls")
    assert [(c["session_id"], c["state"], c["symptoms_reported"]) for c in api.json()] == [
        (session_id, "done", True)
    ]
    session_page: Any = nurse.client.get(f"/sessions/{session_id}/monitoring")
    assert "symptoms reported" in session_page.text
    auditor = login(app, world, Role.AUDITOR)
    assert "Follow-up calls</a>" not in auditor.client.get("/patients").text


def test_a_later_session_does_not_need_a_follow_up_call(world: World) -> None:
    """clinical.md §4.4 asks for the next-day call after the *first* session only."""
    with stand_in(world) as fake:
        _, first = fake.verified_session(lot_id=1)
        _nebulize(world, first)
        world.clock.advance(timedelta(days=7))
        second = _second_session(world, fake, first, 1)
        _nebulize(world, second)
        with world.action(Role.NURSE) as ctx:
            items = {
                s: next(
                    i
                    for i in monitoring.read_checklist(
                        ctx=ctx, settings=world.settings, session_id=s
                    )["items"]
                    if i["item_id"] == "follow_up_scheduled"
                )
                for s in (first, second)
            }
    assert "day +1 at 10:00 site time" in items[first]["detail"]
    assert (items[second]["status"], items[second]["detail"]) == (
        "not_required",
        "Only after a first session.",
    )


# --- 5. a call never answered ends, and a physician reviews it ----------------------------


def _give_up(world: World, session_id: int, reason: str, version: int | None = None) -> Any:
    with world.action(Role.NURSE) as ctx:
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        done = fu.give_up_follow_up(
            ctx=ctx, call_id=call.id,
            data=FollowUpGiveUpRequest(version=call.version if version is None else version,
                                       reason=reason),
        )  # fmt: skip
        return done.status, done.gave_up_reason


def _review(world: World, session_id: int, role: Role = Role.PHYSICIAN, **values: Any) -> Any:
    with world.action(role) as ctx:
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        values.setdefault("version", call.version)
        done, row = fu.review_follow_up(
            ctx=ctx, call_id=call.id, data=FollowUpReviewRequest(**values)
        )
        return done.status, row.action, row.note, row.reviewed_by


def test_the_third_unanswered_attempt_gives_up_until_a_physician_reviews(world: World) -> None:
    """follow_up_max_attempts = 3 (demo protocol): attempts 1 and 2 retry, 3 closes the call."""
    session_id, _ = _discharged(world)
    world.clock.advance(timedelta(hours=20))
    for _ in range(2):
        status, due, _ = _attempt(world, session_id, outcome="not_reached")
        assert (status, due) == ("open", world.clock.now() + timedelta(hours=2))
        world.clock.advance(timedelta(hours=2))
    with pytest.raises(InvalidInput) as retry:
        _attempt(world, session_id, outcome="not_reached",
                 retry_at=world.clock.now() + timedelta(hours=2))  # fmt: skip
    assert retry.value.field == "retry_at"
    assert "attempt 3 of 3" in retry.value.message
    status, _, outcome = _attempt(world, session_id, outcome="not_reached")
    assert (status, outcome) == ("gave_up", "not_reached")
    world.clock.advance(timedelta(days=5))  # it does not vanish as time passes
    for role in (Role.NURSE, Role.PHYSICIAN):
        assert [(s, state) for s, state, _ in _calls(world, role)] == [(session_id, "needs_review")]
    with world.action(Role.NURSE) as ctx:
        rows = fu.follow_up_calls(ctx=ctx, settings=world.settings, include_done=False)
        assert rows[0].call.gave_up_reason == (
            "Not reached after 3 attempts (the protocol's maximum, follow_up_max_attempts = 3)."
        )
        assert rows[0].attempts[-1].retry_at is None
    with pytest.raises(RuleViolation, match="given up"):
        _attempt(world, session_id, outcome="reached", symptoms_reported=False)
    with pytest.raises(PermissionDenied):
        _review(world, session_id, Role.NURSE, action="letter_sent")
    with pytest.raises(InvalidInput) as why:
        _review(world, session_id, action="no_action")
    assert why.value.field == "note"
    with pytest.raises(StaleEdit):
        _review(world, session_id, action="letter_sent", version=1)
    assert _review(world, session_id, action="gp_informed", note="GP to call the patient") == (
        "reviewed", "gp_informed", "GP to call the patient", "Physician One",
    )  # fmt: skip
    assert [(s, state) for s, state, _ in _calls(world)] == [(session_id, "done")]
    with pytest.raises(RuleViolation, match="already reviewed by Physician One"):
        _review(world, session_id, action="letter_sent")
    with world.factory() as db:
        rows_ = db.scalars(
            select(AuditEvent).where(AuditEvent.action.like("follow_up.%")).order_by(AuditEvent.seq)
        ).all()
    assert [r.action for r in rows_ if r.action != "follow_up.read"] == [
        "follow_up.schedule", "follow_up.record", "follow_up.record", "follow_up.record",
        "follow_up.review",
    ]  # fmt: skip
    review = next(r for r in rows_ if r.action == "follow_up.review")
    assert review.actor_username == world.users[Role.PHYSICIAN].username
    assert json.loads(review.after or "")["action"] == "gp_informed"


def test_staff_may_stop_early_with_a_reason(world: World) -> None:
    session_id, _ = _discharged(world)
    world.clock.advance(timedelta(hours=20))
    _attempt(world, session_id, outcome="not_reached")
    with pytest.raises(InvalidInput) as why:
        _give_up(world, session_id, "  ")
    assert why.value.field == "reason"
    with pytest.raises(StaleEdit):
        _give_up(world, session_id, "readmitted", version=1)
    assert _give_up(world, session_id, "readmitted to hospital") == (
        "gave_up", "Stopped after 1 attempt(s): readmitted to hospital",
    )  # fmt: skip
    with pytest.raises(RuleViolation, match="given up"):
        _give_up(world, session_id, "again")
    other = _other_site_user(world, "physician")
    with world.action(actor=accounts.actor_for(other)) as ctx:
        assert fu.follow_up_calls(ctx=ctx, settings=world.settings) == []
        call = monitoring.call_of(ctx=ctx, session_id=session_id)
        assert call is not None
        with pytest.raises(NotFound):
            fu.review_follow_up(
                ctx=ctx, call_id=call.id,
                data=FollowUpReviewRequest(version=call.version, action="letter_sent"),
            )  # fmt: skip
    other_id, _ = _discharged(world, mrn="MRN-2")
    with pytest.raises(RuleViolation, match="Only a call given up"):
        _review(world, other_id, action="letter_sent")


def test_given_up_calls_on_the_page_and_api(world: World) -> None:
    session_id, _ = _discharged(world)
    world.clock.advance(timedelta(hours=20))
    app = app_for(world)
    nurse, physician = login(app, world, Role.NURSE), login(app, world, Role.PHYSICIAN)
    call_id, version = _call_ref(world, session_id)
    blank: Any = _form(
        nurse, f"/monitoring/follow-up/{call_id}/give-up", version=str(version), reason=""
    )
    assert blank.status_code == 422
    assert "reason is needed" in blank.text
    stopped: Any = nurse.post(
        f"/api/v1/follow-up-calls/{call_id}/give-up",
        {"version": version, "reason": "number not in service"},
    )
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["state"], stopped.json()["status"]) == ("needs_review", "gave_up")
    page: Any = nurse.client.get("/monitoring/follow-up")
    assert "Gave up — needs a clinician&#39;s review (1)" in page.text
    assert "Waiting for a physician's review." in page.text
    assert f"/monitoring/follow-up/{call_id}/review" not in page.text
    stale: Any = physician.post(
        f"/api/v1/follow-up-calls/{call_id}/review", {"version": version, "action": "letter_sent"}
    )
    assert stale.status_code == 409
    version = stopped.json()["version"]
    refused: Any = nurse.post(
        f"/api/v1/follow-up-calls/{call_id}/review", {"version": version, "action": "letter_sent"}
    )
    assert refused.status_code == 403
    shown: Any = physician.client.get("/monitoring/follow-up")
    assert f'action="/monitoring/follow-up/{call_id}/review"' in shown.text
    bad: Any = _form(
        physician,
        f"/monitoring/follow-up/{call_id}/review",
        version=str(version),
        action="no_action",
    )
    assert bad.status_code == 422
    assert "say why no action is taken" in bad.text
    done: Any = _form(
        physician,
        f"/monitoring/follow-up/{call_id}/review",
        version=str(version),
        action="letter_sent",
        note="letter posted",
    )
    assert done.status_code == 303, done.text
    after: Any = nurse.client.get("/monitoring/follow-up")
    assert "Gave up — needs a clinician&#39;s review (0)" in after.text
    assert "Letter sent to the patient — letter posted" in after.text
    listed: Any = nurse.client.get("/api/v1/follow-up-calls")
    assert [(c["state"], c["review_action"], c["reviewed_by"]) for c in listed.json()] == [
        ("done", "letter_sent", "Physician One")
    ]
    session_page: Any = nurse.client.get(f"/sessions/{session_id}/monitoring")
    assert "not reached, gave up" in session_page.text


def test_downgrading_0013_reopens_given_up_calls_and_upgrading_again_keeps_them(
    world: World,
) -> None:
    """Revision 0012 knows only open/done: a given-up call goes back to open, never lost."""
    session_id, _ = _discharged(world)
    _give_up(world, session_id, "readmitted to hospital")
    world.factory.kw["bind"].dispose()  # no pooled connection while the tables are rebuilt
    url = world.settings.database_url
    migrate.downgrade(url, "0012")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT status, completed_by, attempts FROM monitoring_follow_up_call"
            )).all()  # fmt: skip
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("open", None, 0)]
    migrate.upgrade(url)
    assert migrate.drift(url) == []
    assert _calls(world) == [(session_id, "upcoming", _next_day_10(world.clock.now()))]
