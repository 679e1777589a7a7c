"""Step 4 in the reports: monitoring chart, alerts, adverse events and the signed discharge in
the session report; AE, alert and escalation sections of the safety overview; adverse events
and alerts CSV; post-dose Observations and AdverseEvent in FHIR — all through the real steps."""

from __future__ import annotations

import csv
import io
from typing import Any

from exoneb.accounts.permissions import Role
from exoneb.monitoring import follow_up_service
from exoneb.monitoring.schemas import RescueMedicationIn
from exoneb.reports import fhir, service, tables

from .conftest import World
from .monitoring_world import monitored_session
from .test_monitoring_service import VITALS, _discharge, ae, at_minute, record


def observed(world: World) -> int:
    """Monitored, observed at 0/15/30 min, a grade-1 cough, discharged and signed."""
    session_id, end = monitored_session(world)
    record(world, session_id, **VITALS, observed_at=end)
    at_minute(world, end, 5)
    ae(world, session_id, term="cough", grade=1)
    with world.action(Role.NURSE) as ctx:
        follow_up_service.record_rescue_medication(
            ctx=ctx, settings=world.settings, session_id=session_id,
            data=RescueMedicationIn(drug="salbutamol", dose_amount=200, dose_unit="ug",
                                    route="inhaled_mdi"),
        )  # fmt: skip
    for minute in (15, 30):
        at_minute(world, end, minute)
        record(world, session_id, **VITALS, fev1_l=1.25, wheeze=False, stridor=False,
               symptom_grade=0, respiratory_symptoms=False)  # fmt: skip
    _discharge(world, session_id)
    return session_id


def test_session_report_monitoring_section(world: World) -> None:
    session_id = observed(world)
    with world.action(Role.PHYSICIAN) as ctx:
        issued = service.session_report(ctx=ctx, settings=world.settings, session_id=session_id)
    s = issued.report.section("monitoring")
    assert s.recorded
    assert s.status == "discharged"
    obs = next(t for t in s.tables if t.caption == "Observations after inhalation")
    assert len(obs.rows) == 3
    aes = next(t for t in s.tables if t.caption.startswith("Adverse events"))
    assert [(r[0], r[1]) for r in aes.rows] == [("Cough", 1)]
    assert any(p.y_unit == "%" for p in s.plots)
    assert [(g.meaning, g.valid) for g in s.signatures] == [("performed", True)]
    checklist = next(t for t in s.tables if t.caption == "Discharge checklist")
    assert checklist.rows
    rescue = next(t for t in s.tables if t.caption == "Rescue medication")
    assert [(r[1], r[2], r[3]) for r in rescue.rows] == [("salbutamol", "saba", "200 µg")]
    follow_up = next(i for i in s.items if i.label == "Follow-up call")
    assert follow_up.value == "open, 0 attempt(s)"


def test_safety_overview_and_csv_and_fhir(world: World) -> None:
    observed(world)
    with world.action(Role.COORDINATOR) as ctx:
        issued = service.protocol_safety(ctx=ctx, settings=world.settings,
                                         protocol_id="demo-exo-01")  # fmt: skip
    aes = issued.report.section("adverse_events")
    assert aes.recorded
    assert aes.tables[0].rows == (("Cough", 1, "DL1", 1),)
    assert issued.report.section("alerts").recorded
    escalation = issued.report.section("escalation")
    assert escalation.recorded
    assert escalation.tables[0].rows[0][1] >= 1  # a subject treated at level 1
    for table in ("adverse_events", "alerts", "observations", "rescue_medications"):
        with world.action(Role.COORDINATOR) as ctx:
            text = service.export_csv(ctx=ctx, settings=world.settings, table=table,
                                      protocol_id="demo-exo-01")  # fmt: skip
        reader = csv.DictReader(io.StringIO(text))
        assert reader.fieldnames == [c.name for c in tables.DICTIONARY[table]]
        rows = list(reader)
        if table == "adverse_events":
            assert [(r["term"], r["grade"]) for r in rows] == [("cough", "1")]
        if table == "observations":
            assert any(r["step"] == "monitoring" and r["code"] == "2708-6" for r in rows)
        if table == "rescue_medications":
            given = [(r["drug"], r["drug_class"], r["dose_amount"], r["dose_unit"]) for r in rows]
            assert given == [("salbutamol", "saba", "200.0", "ug")]
    with world.action(Role.COORDINATOR) as ctx:
        bundle = service.export_fhir(ctx=ctx, settings=world.settings, protocol_id="demo-exo-01")
    assert fhir.validate(bundle) == []
    events: list[dict[str, Any]] = [e["resource"] for e in bundle["entry"]
                                    if e["resource"]["resourceType"] == "AdverseEvent"]  # fmt: skip
    (event,) = events
    assert event["actuality"] == "actual"
    assert event["event"]["coding"][0]["code"] == "49727002"  # cough, interop.md §1.2
    assert event["severity"]["coding"][0]["code"] == "mild"
    assert event["suspectEntity"][0]["instance"]["reference"].startswith("urn:uuid:")
    rescue = [e["resource"] for e in bundle["entry"]
              if e["resource"]["resourceType"] == "MedicationAdministration"
              and e["resource"]["dosage"]["text"].startswith("Rescue")]  # fmt: skip
    given = [(r["medicationCodeableConcept"]["text"], r["dosage"]["dose"]["value"],
              r["dosage"]["dose"]["code"]) for r in rescue]  # fmt: skip
    assert given == [("salbutamol", 200, "ug")]
