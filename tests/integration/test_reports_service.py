"""Reports and export on both databases: session report (HTML/PDF, fingerprint, verify,
tampering), patient course, safety overview, CSV with its dictionary, FHIR R4 Bundle."""

from __future__ import annotations

import copy
import csv
import io
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from exoneb.accounts.permissions import Role
from exoneb.assessment import service as assessment
from exoneb.assessment.schemas import SignIn
from exoneb.core.audit import AuditEvent
from exoneb.core.errors import InvalidInput, PermissionDenied
from exoneb.patients import service as patients
from exoneb.patients.schemas import ConsentCreate
from exoneb.reports import fhir, pdf, plots, service, tables
from exoneb.reports.document import NOT_RECORDED, fingerprint, plot_values
from exoneb.reports.fhir_checks import check_bundle

from .conftest import PASSWORD, World
from .factories import patient_data
from .test_assessment_service import decided


def signed_session(world: World, mrn: str = "MRN-1") -> int:
    """A session whose assessment is decided (cleared) and signed by the physician."""
    session_id, a = decided(world, mrn)
    with world.action(Role.PHYSICIAN) as ctx:
        assessment.sign(ctx=ctx, settings=world.settings, session_id=session_id,
                        data=SignIn(password=PASSWORD, version=a.version))  # fmt: skip
    return session_id


def _report(world: World, session_id: int, role: Role = Role.NURSE) -> service.IssuedReport:
    with world.action(role) as ctx:
        return service.session_report(ctx=ctx, settings=world.settings, session_id=session_id,
                                      fmt="pdf")  # fmt: skip


def _pdf_pages(issued: service.IssuedReport) -> list[str]:
    body = pdf.render(issued.report, digest=issued.digest, issue=issued.issue)
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


def _verify(world: World, session_id: int, digest: str) -> service.Verification:
    with world.action(Role.COORDINATOR) as ctx:
        return service.verify_session_report(ctx=ctx, settings=world.settings,
                                             session_id=session_id, digest=digest)  # fmt: skip


def test_session_report_pdf_has_the_key_values_and_the_hash_on_every_page(world: World) -> None:
    session_id = signed_session(world)
    issued = _report(world, session_id)
    pages = _pdf_pages(issued)
    assert len(pages) >= 2
    for page in pages:
        assert f"Report SHA-256: {issued.digest}" in page
        assert "not medical advice" in page
    whole = " ".join(" ".join(pages).split())
    with world.action(Role.NURSE) as ctx:
        view = assessment.current_view(ctx=ctx, session_id=session_id)
    z = view["spirometry"]["pre"]["results"]["fev1"]["z"]
    for expected in ("Jane Doe", "MRN-1", "demo-exo-01", "DL1", "IND IND-123456",
                     "1.3", f"{z:.2f}", "cleared", "Physician One", "approved",
                     "I approve this record.", "Step 2 — Lot and dose preparation: NOT RECORDED",
                     "Step 3 — Inhalation: NOT RECORDED", "EC-2026-01"):  # fmt: skip
        assert expected in whole, expected
    signatures = issued.report.section("signatures").signatures
    assert [(s.signer, s.meaning, s.valid) for s in signatures] == [
        ("Physician One", "approved", True)
    ]
    assert signatures[0].signed_at_utc.endswith("UTC")
    assert issued.report.section("preparation").status == NOT_RECORDED


def test_the_fingerprint_is_of_the_record_not_of_the_copy(world: World) -> None:
    session_id = signed_session(world)
    first = _report(world, session_id, Role.NURSE)
    world.clock.advance(__import__("datetime").timedelta(hours=1))
    second = _report(world, session_id, Role.AUDITOR)
    assert first.digest == second.digest == fingerprint(second.report)
    assert first.issue != second.issue
    with world.factory() as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "report.session")).all()
    assert len(rows) == 2
    assert all(first.digest in (r.after or "") for r in rows)


def test_a_tampered_record_no_longer_matches_its_printed_hash(world: World) -> None:
    session_id = signed_session(world)
    printed = _report(world, session_id).digest
    assert _verify(world, session_id, printed.upper()).matches
    spaced = " ".join(printed[i : i + 8] for i in range(0, 64, 8))
    assert _verify(world, session_id, spaced).matches
    with world.factory() as db, db.begin():  # someone edits the table behind exoneb's back
        db.execute(text("UPDATE assessment_vitals SET heart_rate_bpm = 121"))
    result = _verify(world, session_id, printed)
    assert not result.matches
    assert result.current != printed
    assert len(result.issued) == 1  # a genuine copy of the record as it was
    tampered = _report(world, session_id)
    assert tampered.report.section("signatures").signatures[0].valid is False
    forged = "0" * 64
    assert _verify(world, session_id, forged).issued == ()


def test_verify_names_a_malformed_fingerprint(world: World) -> None:
    session_id = signed_session(world)
    with pytest.raises(InvalidInput) as err:
        _verify(world, session_id, "abc123")
    assert err.value.field == "digest"


def test_course_report_plots_and_tables(world: World) -> None:
    session_id = signed_session(world)
    with world.action(Role.NURSE) as ctx:
        patient_id = ctx.db.execute(
            text("SELECT patient_id FROM therapy_session WHERE id = :i"), {"i": session_id}
        ).scalar_one()
        issued = service.patient_course(ctx=ctx, patient_id=patient_id)
    lung = issued.report.section("lung_function")
    fev1, fev1_z = lung.plots
    assert fev1.series[0].y == (1.30,)
    assert fev1_z.reference_lines[0].y == -1.645
    rendered = plots.render(fev1)
    assert "FEV1 (L)" in rendered.svg
    assert "Session" in rendered.svg
    assert plot_values(fev1).rows[0][1] == 1.30
    whole = " ".join(" ".join(_pdf_pages(issued)).split())
    assert "FEV1 before each session" in whole
    assert "Figure:" in whole
    assert issued.digest in whole


def test_safety_overview_counts_sessions_by_dose_level(world: World) -> None:
    signed_session(world, "MRN-1")
    signed_session(world, "MRN-2")
    with world.action(Role.COORDINATOR) as ctx:
        issued = service.protocol_safety(ctx=ctx, settings=world.settings,
                                         protocol_id="demo-exo-01")  # fmt: skip
    s = issued.report.section("sessions")
    assert ("Sessions", 2) in [(i.label, i.value) for i in s.items]
    outcomes = s.tables[1]
    assert outcomes.rows[0][0] == "DL1"
    assert issued.report.section("adverse_events").status == "none recorded"


def test_csv_columns_match_the_data_dictionary(world: World) -> None:
    signed_session(world)
    for table, columns in tables.DICTIONARY.items():
        with world.action(Role.COORDINATOR) as ctx:
            text_ = service.export_csv(ctx=ctx, settings=world.settings, table=table,
                                       protocol_id="demo-exo-01")  # fmt: skip
        reader = csv.DictReader(io.StringIO(text_))
        assert reader.fieldnames == [c.name for c in columns]
        rows = list(reader)
        assert rows or table not in ("sessions", "observations"), table
        assert all(set(r) == {c.name for c in columns} for r in rows)
    with world.action(Role.COORDINATOR) as ctx:
        obs = list(
            csv.DictReader(
                io.StringIO(
                    service.export_csv(
                        ctx=ctx,
                        settings=world.settings,
                        table="observations",
                        protocol_id="demo-exo-01",
                    )
                )
            )
        )
        dictionary = list(csv.DictReader(io.StringIO(service.export_dictionary(ctx=ctx))))
    fev1 = next(r for r in obs if r["code"] == "20150-9")
    assert fev1["unit"] == "L"
    assert float(fev1["value"]) == 1.30
    assert {(r["table"], r["column"]) for r in dictionary} == {
        (t, c.name) for t, cols in tables.DICTIONARY.items() for c in cols
    }


def test_csv_refuses_a_column_the_dictionary_does_not_define() -> None:
    with pytest.raises(ValueError, match="dict contains fields not in fieldnames"):
        tables.to_csv("sessions", [{"session_id": 1, "secret": "x"}])


@pytest.mark.parametrize("role", [Role.NURSE, Role.PHYSICIAN, Role.ADMINISTRATOR])
def test_exports_are_refused_without_the_permission(world: World, role: Role) -> None:
    session_id = signed_session(world)
    del session_id
    with pytest.raises(PermissionDenied), world.action(role) as ctx:
        service.export_fhir(ctx=ctx, settings=world.settings, protocol_id="demo-exo-01")
    with pytest.raises(PermissionDenied), world.action(role) as ctx:
        service.export_csv(ctx=ctx, settings=world.settings, table="sessions",
                           protocol_id="demo-exo-01")  # fmt: skip
    with world.factory() as db:
        denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "permission.denied")
                            ).all()  # fmt: skip
    assert [d.entity_id for d in denied] == ["data.export", "data.export"]


def _bundle(world: World, **scope: Any) -> dict[str, Any]:
    with world.action(Role.COORDINATOR) as ctx:
        return service.export_fhir(ctx=ctx, settings=world.settings, **scope)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_fhir_bundle_of_a_patient_validates_and_round_trips(world: World) -> None:
    session_id = signed_session(world)
    with world.action(Role.NURSE) as ctx:
        patient_id = ctx.db.execute(
            text("SELECT patient_id FROM therapy_session WHERE id = :i"), {"i": session_id}
        ).scalar_one()
    bundle = _bundle(world, patient_id=patient_id)
    assert fhir.validate(bundle) == []
    assert fhir.round_trip(bundle) == bundle
    assert fhir.round_trip(fhir.round_trip(bundle)) == fhir.round_trip(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Encounter", "Observation", "Consent", "Provenance", "Practitioner",
            "AuditEvent"} <= kinds  # fmt: skip
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == "MRN-1"
    assert patient["gender"] == "female"
    observations = _resources(bundle, "Observation")
    fev1 = next(o for o in observations if o["code"]["coding"][0]["code"] == "20150-9")
    assert fev1["valueQuantity"] == {
        "value": 1.3,
        "unit": "L",
        "system": "http://unitsofmeasure.org",
        "code": "L",
    }
    z = next(c for c in fev1["component"] if c["code"]["coding"][0]["code"] == "z-score")
    assert z["valueQuantity"]["code"] == "{z-score}"
    assert z["code"]["coding"][1]["code"] == "1078210003"
    assert fev1["referenceRange"][0]["low"]["code"] == "L"
    spo2 = next(o for o in observations if o["code"]["coding"][0]["code"] == "2708-6")
    assert spo2["code"]["coding"][1]["code"] == "59408-5"
    assert spo2["valueQuantity"]["code"] == "%"
    assert {o["code"]["coding"][0]["code"] for o in observations} >= {
        "20150-9", "19868-9", "19926-5", "20155-8", "19874-7", "2708-6", "8867-4", "9279-1",
        "8310-5", "85354-9", "29463-7", "cat-total", "mmrc-grade"}  # fmt: skip
    (prov,) = _resources(bundle, "Provenance")
    assert prov["signature"][0]["type"][0]["code"] == "1.2.840.10065.1.12.1.6"
    (event,) = _resources(bundle, "AuditEvent")
    assert event["type"]["code"] == "110106"
    with world.factory() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.action == "export.fhir")).one()
    assert event["entity"][-1]["what"]["identifier"]["value"] == str(row.seq)


def test_fhir_export_of_a_protocol(world: World) -> None:
    signed_session(world, "MRN-1")
    signed_session(world, "MRN-2")
    bundle = _bundle(world, protocol_id="demo-exo-01")
    assert fhir.validate(bundle) == []
    assert len(_resources(bundle, "Patient")) == 2
    assert len(_resources(bundle, "Encounter")) == 2


def test_own_checks_catch_a_wrong_code_unit_binding_or_reference(world: World) -> None:
    signed_session(world)
    bundle = _bundle(world, protocol_id="demo-exo-01")

    def first_fev1(b: dict[str, Any]) -> dict[str, Any]:
        return next(o for o in _resources(b, "Observation")
                    if o["code"]["coding"][0]["code"] == "20150-9")  # fmt: skip

    def problems(mutate: Any) -> list[str]:
        b = copy.deepcopy(bundle)
        mutate(b)
        return [p.message for p in check_bundle(b)]

    def wrong_code(b: dict[str, Any]) -> None:
        first_fev1(b)["code"]["coding"][0]["code"] = "20150-8"

    def wrong_unit(b: dict[str, Any]) -> None:
        first_fev1(b)["valueQuantity"]["code"] = "mL"

    def not_ucum(b: dict[str, Any]) -> None:
        first_fev1(b)["valueQuantity"]["system"] = "http://example.org/units"

    def bad_status(b: dict[str, Any]) -> None:
        first_fev1(b)["status"] = "finalised"

    def wrong_target(b: dict[str, Any]) -> None:
        first_fev1(b)["subject"] = first_fev1(b)["encounter"]

    def dangling(b: dict[str, Any]) -> None:
        first_fev1(b)["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"

    assert any("unknown code '20150-8'" in m for m in problems(wrong_code))
    assert any("takes unit 'L', not 'mL'" in m for m in problems(wrong_unit))
    assert any("must be UCUM" in m for m in problems(not_ucum))
    assert any("'finalised' is not in the required value set" in m for m in problems(bad_status))
    assert any("may not point at a Encounter" in m for m in problems(wrong_target))
    assert any("does not resolve" in m for m in problems(dangling))


def test_fhir_consent_names_the_leaflet_the_patient_was_given(world: World) -> None:
    with world.action(Role.PHYSICIAN) as ctx:
        patient = patients.create_patient(ctx=ctx, data=patient_data("MRN-L"))
        patients.record_consent(
            ctx=ctx,
            patient_id=patient.id,
            settings=world.settings,
            data=ConsentCreate(
                document_version="ICF 1.0", consent_date=date(2026, 1, 2), leaflet_language="en"
            ),
        )
        sha = ctx.db.execute(
            text("SELECT leaflet_sha256 FROM consent WHERE patient_id = :p"), {"p": patient.id}
        ).scalar_one()
    bundle = _bundle(world, patient_id=patient.id)
    assert fhir.validate(bundle) == []
    (consent,) = _resources(bundle, "Consent")
    source = consent["sourceAttachment"]
    assert source["language"] == "en"
    assert sha in source["title"]
    assert "leaflet version" in source["title"]
