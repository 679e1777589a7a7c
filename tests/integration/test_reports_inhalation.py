"""Step 3 in the reports: session-report section with timeline, pauses and regional dose;
cumulative lung dose in the course; Device, Medication, MedicationAdministration, Procedure."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from exoneb.accounts.permissions import Role
from exoneb.inhalation import service as inhalation
from exoneb.inhalation.schemas import SignIn
from exoneb.reports import fhir, pdf, service

from .conftest import PASSWORD, World
from .inhalation_helpers import StandIn, act, stand_in, stopped_run
from .prep_factories import released_lot


@pytest.fixture
def fake(world: World) -> Iterator[StandIn]:
    """Steps 1–2 stood in for (see inhalation_helpers)."""
    with stand_in(world) as f:
        yield f


def signed_run(world: World, fake: StandIn) -> tuple[int, int]:
    """A stopped run with one cough pause, its residual measured and signed."""
    patient_id, session_id = stopped_run(fake)
    version = act(world, "residual", session_id, residual_ml=0.4)
    with world.action(Role.NURSE) as ctx:
        inhalation.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=SignIn(password=PASSWORD, version=version))  # fmt: skip
    return patient_id, session_id


def test_session_report_shows_device_timeline_pauses_and_regional_dose(
    world: World, fake: StandIn
) -> None:
    _, session_id = signed_run(world, fake)
    with world.action(Role.PHYSICIAN) as ctx:
        issued = service.session_report(ctx=ctx, settings=world.settings, session_id=session_id)
    s = issued.report.section("inhalation")
    assert s.recorded
    items = {i.label: i.value for i in s.items}
    assert items["Device"] == "Aerogen Solo (vibrating-mesh)"
    assert items["Residual volume"] == 0.4
    assert items["Interruptions"] == 1
    pauses = next(t for t in s.tables if t.caption == "Pauses")
    assert [(r[0], r[3]) for r in pauses.rows] == [("cough", 90.0)]
    timeline = next(t for t in s.tables if t.caption == "Inhalation timeline")
    assert [r[2] for r in timeline.rows] == [
        "supervisor", "start", "pause", "resume", "stop", "record_residual"]  # fmt: skip
    regional = next(t for t in s.tables if t.caption.startswith("Estimated regional dose"))
    shares = [r[1] for r in regional.rows if isinstance(r[1], float)]
    assert 99.0 < sum(shares) < 101.0  # the mass balance adds up to the loaded dose
    assert s.plots[0].y_unit == "%"
    assert [(g.signer, g.meaning, g.valid) for g in s.signatures] == [
        ("Nurse One", "performed", True)]  # fmt: skip
    body = pdf.render(issued.report, digest=issued.digest, issue=issued.issue)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages).split())
    for expected in ("Aerogen Solo", "Pauses", "cough", "Estimated regional dose (final",
                     "Alveolar", "I performed this step as recorded."):  # fmt: skip
        assert expected in text, expected


def test_course_report_adds_the_cumulative_lung_dose(world: World, fake: StandIn) -> None:
    patient_id, _ = signed_run(world, fake)
    with world.action(Role.PHYSICIAN) as ctx:
        issued = service.patient_course(ctx=ctx, patient_id=patient_id)
    s = issued.report.section("lung_dose")
    assert s.recorded
    (row,) = s.tables[0].rows
    assert row[1] == "particles"
    assert isinstance(row[2], float)
    assert row[3] == row[2]
    assert s.plots[0].series[0].y == (row[2],)


def _of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_fhir_bundle_has_device_medication_administration_and_procedure(
    world: World, fake: StandIn
) -> None:
    assert released_lot(world, "EV-LOT-1") == 1  # the stand-in's dose names lot 1
    patient_id, _ = signed_run(world, fake)
    with world.action(Role.COORDINATOR) as ctx:
        bundle = service.export_fhir(ctx=ctx, settings=world.settings, patient_id=patient_id)
    assert fhir.validate(bundle) == []
    assert fhir.round_trip(bundle) == bundle
    (device,) = _of(bundle, "Device")
    assert device["type"]["coding"][0]["code"] == "334947002"
    (med,) = _of(bundle, "Medication")
    assert med["batch"]["lotNumber"] == "EV-LOT-1"
    (mar,) = _of(bundle, "MedicationAdministration")
    assert mar["status"] == "completed"
    assert mar["dosage"]["route"]["coding"][0]["code"] == "447694001"
    assert mar["dosage"]["method"]["coding"][0]["code"] == "421134003"
    assert mar["dosage"]["dose"] == {"value": 2.0e8, "unit": "{particles}",
                                     "system": "http://unitsofmeasure.org",
                                     "code": "{particles}"}  # fmt: skip
    (procedure,) = _of(bundle, "Procedure")
    assert procedure["code"]["coding"][0]["code"] == "56251003"
    assert mar["partOf"][0]["reference"] in {e["fullUrl"] for e in bundle["entry"]}
    assert any(p["target"][0] == {"reference": mar_url(bundle)} for p in _of(bundle, "Provenance"))


def mar_url(bundle: dict[str, Any]) -> str:
    """The full URL of the MedicationAdministration entry."""
    return next(e["fullUrl"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == "MedicationAdministration")  # fmt: skip


def test_administrations_csv_matches_its_dictionary(world: World, fake: StandIn) -> None:
    import csv

    from exoneb.reports import tables

    signed_run(world, fake)
    with world.action(Role.COORDINATOR) as ctx:
        text = service.export_csv(ctx=ctx, settings=world.settings, table="administrations",
                                  protocol_id="demo-exo-01")  # fmt: skip
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == [c.name for c in tables.DICTIONARY["administrations"]]
    (row,) = list(reader)
    assert row["residual_ml"] == "0.4"
    assert row["interruption_s"] == "90.0"
    assert row["signed"] == "true"
