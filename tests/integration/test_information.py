"""Patient information: the public page and PDF, and the leaflet recorded with consent."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent
from exoneb.core.errors import InvalidInput, RuleViolation
from exoneb.information.content import PACKAGED_DIR, Library
from exoneb.patients import service as patients
from exoneb.patients.schemas import ConsentAmend, ConsentCreate
from exoneb.web.app import create_app

from .conftest import PASSWORD, World, make_settings
from .factories import patient_data, ready_patient
from .webclient import Staff, app_for, login

EN = Library().leaflet("en")
DE = Library().leaflet("de")


def _form(staff: Staff, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return staff.client.post(url, data={"csrf_token": staff.csrf, **data}, follow_redirects=False)


def _public(tmp_path: Path, **overrides: object) -> TestClient:
    """A client that never logs in (the public pages touch no database)."""
    settings = make_settings(f"sqlite:///{tmp_path / 'unused.db'}", **overrides)
    return TestClient(create_app(settings))


# --- the public page and PDF --------------------------------------------------------------


def test_page_renders_without_login(tmp_path: Path) -> None:
    client = _public(tmp_path)
    page = client.get("/information", follow_redirects=False)
    assert page.status_code == 200
    html = page.text
    assert '<article class="leaflet" lang="en"' in html
    assert '<h1 id="leaflet-title">Exosome inhalation therapy</h1>' in html
    for heading in (
        "What is exosome inhalation therapy?",
        "How a session goes",
        "How it compares with other inhaled treatments",
        "Effects you may notice",
        "When to call the clinic",
        "Is this therapy approved?",
    ):
        assert f">{heading}</h2>" in html, heading
    assert '<th scope="col">What you breathe in</th>' in html
    assert 'href="/information/en/leaflet.pdf"' in html
    assert 'href="/information/de" lang="de" hreflang="de"' in html
    assert "not medical advice" in html  # the layout's footer disclaimer too
    assert "Log out" not in html


def test_german_page_and_labels(tmp_path: Path) -> None:
    html = _public(tmp_path).get("/information/de").text
    assert '<article class="leaflet" lang="de"' in html
    assert ">Inhalt</h2>" in html
    assert ">Vergleich mit anderen Behandlungen zum Einatmen</h2>" in html
    assert 'href="/information/de/leaflet.pdf"' in html
    assert "is shown in English" not in html


def test_missing_translation_falls_back_to_english_with_a_notice(tmp_path: Path) -> None:
    response = _public(tmp_path).get("/information/fr")
    assert response.status_code == 200
    assert '<article class="leaflet" lang="en"' in response.text
    assert "This information is not available in “fr” yet, so it is shown in English." in (
        response.text
    )


@pytest.mark.parametrize(
    "path",
    ["/information/EN", "/information/en_GB", "/information/en%0A", "/information/x/leaflet.pdf"],
)
def test_malformed_language_is_404(tmp_path: Path, path: str) -> None:
    assert _public(tmp_path).get(path).status_code == 404


def test_pdf_without_login(tmp_path: Path) -> None:
    response = _public(tmp_path).get("/information/de/leaflet.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        'filename="exoneb-patient-information-de-1.0.pdf"'
        in (response.headers["content-disposition"])
    )
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "Ist diese Therapie zugelassen?" in text
    fallback = _public(tmp_path).get("/information/fr/leaflet.pdf")
    assert (
        'filename="exoneb-patient-information-en-1.0.pdf"'
        in (fallback.headers["content-disposition"])
    )


def test_login_page_links_the_information(tmp_path: Path) -> None:
    assert 'href="/information"' in _public(tmp_path).get("/login").text


def test_clinic_folder_from_the_setting(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    (clinic / "en").mkdir(parents=True)
    (clinic / "en" / "contact.md").write_text(
        "---\nlanguage: en\nversion: '1'\n---\n## How to reach the clinic\n\n"
        "Call the Lung Unit on **555 0100** (day and night).\n<b>bold?</b>\n",
        encoding="utf-8",
    )
    client = _public(tmp_path, information_dir=clinic)
    html = client.get("/information").text
    assert "Call the Lung Unit on <strong>555 0100</strong> (day and night)." in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html  # clinic text is escaped, never raw HTML
    pdf = client.get("/information/en/leaflet.pdf").content
    assert "555 0100" in "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


# --- the leaflet recorded with consent (service, both databases) -------------------------


def _patient(world: World) -> int:
    with world.action(Role.NURSE) as ctx:
        return patients.create_patient(ctx=ctx, data=patient_data("MRN-L")).id


def _consent(**leaflet: str) -> ConsentCreate:
    return ConsentCreate(document_version="ICF 1.0", consent_date=date(2026, 1, 2), **leaflet)


def test_consent_records_leaflet_version_language_and_hash(world: World) -> None:
    patient_id = _patient(world)
    with world.action(Role.NURSE) as ctx:
        consent = patients.record_consent(
            ctx=ctx,
            patient_id=patient_id,
            data=_consent(leaflet_language="de", leaflet_version="1.0"),
            settings=world.settings,
        )
        consent_id = consent.id
    with world.factory() as db:
        row = db.scalars(select(AuditEvent).where(AuditEvent.action == "consent.create")).one()
        after = json.loads(row.after or "")
    assert after["leaflet_language"] == "de"
    assert after["leaflet_version"] == "1.0"
    assert after["leaflet_sha256"] == DE.sha256
    with world.action(Role.NURSE) as ctx:
        stored = patients.get_consent(ctx=ctx, consent_id=consent_id)
        assert (stored.leaflet_language, stored.leaflet_version) == ("de", "1.0")
        assert stored.leaflet_sha256 == DE.sha256
        assert patients.consent_content(stored)["leaflet_sha256"] == DE.sha256


def test_consent_refuses_a_leaflet_that_does_not_exist_or_changed(world: World) -> None:
    patient_id = _patient(world)
    with pytest.raises(InvalidInput) as err, world.action(Role.NURSE) as ctx:
        patients.record_consent(
            ctx=ctx,
            patient_id=patient_id,
            data=_consent(leaflet_language="fr"),
            settings=world.settings,
        )
    assert err.value.field == "leaflet_language"
    assert "leaflets exist in: en, de" in err.value.message
    with (
        pytest.raises(RuleViolation, match=r"now version 1\.0, not 0\.9"),
        world.action(Role.NURSE) as ctx,
    ):
        patients.record_consent(
            ctx=ctx,
            patient_id=patient_id,
            data=_consent(leaflet_language="en", leaflet_version="0.9"),
            settings=world.settings,
        )
    with world.action(Role.NURSE) as ctx:
        assert patients.consents(ctx=ctx, patient_id=patient_id) == []


def test_consent_without_leaflet_records_none(world: World) -> None:
    patient_id, _ = ready_patient(world)  # the factory names no leaflet (older API clients)
    with world.action(Role.NURSE) as ctx:
        consent = patients.current_consent(ctx=ctx, patient_id=patient_id)
        assert consent is not None
        assert consent.leaflet_version is None
        assert "leaflet_sha256" not in patients.consent_content(consent)


def test_signature_covers_the_leaflet_and_amendment_keeps_it(world: World) -> None:
    patient_id = _patient(world)
    with world.action(Role.NURSE) as ctx:
        old = patients.record_consent(
            ctx=ctx,
            patient_id=patient_id,
            data=_consent(leaflet_language="en"),
            settings=world.settings,
        )
        patients.sign_consent(
            ctx=ctx,
            settings=world.settings,
            consent_id=old.id,
            meaning="performed",
            password=PASSWORD,
        )
        old.leaflet_sha256 = "0" * 64  # edited behind exoneb's back
        [(_, valid)] = patients.consent_signatures(ctx=ctx, consent=old)
        assert not valid
        old.leaflet_sha256 = EN.sha256
        [(_, valid)] = patients.consent_signatures(ctx=ctx, consent=old)
        assert valid
    amendment = ConsentAmend(
        document_version="ICF 1.1", consent_date=date(2026, 1, 2), reason="wrong version typed"
    )
    with world.action(Role.NURSE) as ctx:
        new = patients.amend_consent(ctx=ctx, consent_id=old.id, data=amendment)
        assert (new.leaflet_language, new.leaflet_version, new.leaflet_sha256) == (
            "en",
            "1.0",
            EN.sha256,
        )
    relabel = amendment.model_copy(update={"leaflet_language": "de", "reason": "was German"})
    with world.action(Role.NURSE) as ctx:
        newer = patients.amend_consent(
            ctx=ctx, consent_id=new.id, data=relabel, settings=world.settings
        )
        assert (newer.leaflet_language, newer.leaflet_sha256) == ("de", DE.sha256)


def test_clinic_edit_changes_the_recorded_hash(world: World, tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    shutil.copytree(PACKAGED_DIR / "en", clinic / "en")
    contact = clinic / "en" / "contact.md"
    contact.write_text(contact.read_text(encoding="utf-8") + "\nWard 7: 555 0100\n", "utf-8")
    settings = world.settings.model_copy(update={"information_dir": clinic})
    patient_id = _patient(world)
    with world.action(Role.NURSE) as ctx:
        consent = patients.record_consent(
            ctx=ctx, patient_id=patient_id, data=_consent(leaflet_language="en"), settings=settings
        )
        assert consent.leaflet_version == "1.0"
        assert consent.leaflet_sha256 == Library(clinic).leaflet("en").sha256 != EN.sha256


# --- the consent form and the API ---------------------------------------------------------


def test_consent_form_records_the_leaflet_given(world: World) -> None:
    patient_id = _patient(world)
    nurse = login(app_for(world), world, Role.NURSE)
    page = nurse.client.get(f"/patients/{patient_id}").text
    assert '<label for="f-leaflet_language">Patient information leaflet given' in page
    assert '<option value="de" >Deutsch (de), version 1.0</option>' in page
    url = f"/patients/{patient_id}/consents"
    missing = _form(nurse, url, {"document_version": "ICF 1.0", "consent_date": "2026-01-02"})
    assert missing.status_code == 422
    assert re.search(r'id="e-leaflet_language">Required\.<', missing.text)
    done = _form(
        nurse,
        url,
        {"document_version": "ICF 1.0", "consent_date": "2026-01-02", "leaflet_language": "en"},
    )
    assert done.status_code == 303
    after = nurse.client.get(f"/patients/{patient_id}").text
    assert (
        '<a href="/information/en">en, version 1.0</a> '
        f'<small title="SHA-256 of the leaflet text">({EN.sha256[:12]})</small>' in after
    )


def test_api_records_and_returns_the_leaflet(world: World) -> None:
    patient_id = _patient(world)
    nurse = login(app_for(world), world, Role.NURSE)
    body = {"document_version": "ICF 1.0", "consent_date": "2026-01-02"}
    created = nurse.post(
        f"/api/v1/patients/{patient_id}/consents", {**body, "leaflet_language": "de"}
    )
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    data = created.json()  # type: ignore[attr-defined]
    assert (data["leaflet_language"], data["leaflet_version"]) == ("de", "1.0")
    assert data["leaflet_sha256"] == DE.sha256
    unknown = nurse.post(
        f"/api/v1/patients/{patient_id}/consents", {**body, "leaflet_language": "fr"}
    )
    assert unknown.status_code == 422  # type: ignore[attr-defined]
    stale = nurse.post(
        f"/api/v1/patients/{patient_id}/consents",
        {**body, "leaflet_language": "en", "leaflet_version": "0.1"},
    )
    assert stale.status_code == 409  # type: ignore[attr-defined]
    version_only = nurse.post(
        f"/api/v1/patients/{patient_id}/consents", {**body, "leaflet_version": "1.0"}
    )
    assert version_only.status_code == 422  # type: ignore[attr-defined]


def test_patient_page_says_when_the_leaflet_changed_after_consent(
    world: World, tmp_path: Path
) -> None:
    patient_id = _patient(world)
    with world.action(Role.NURSE) as ctx:
        patients.record_consent(
            ctx=ctx,
            patient_id=patient_id,
            data=_consent(leaflet_language="en"),
            settings=world.settings,
        )
    nurse = login(app_for(world), world, Role.NURSE)
    assert "has changed since" not in nurse.client.get(f"/patients/{patient_id}").text
    clinic = tmp_path / "clinic"
    shutil.copytree(PACKAGED_DIR / "en", clinic / "en")
    (clinic / "en" / "contact.md").write_text(
        "---\nlanguage: en\nversion: '2'\n---\nCall 555 0100.\n", encoding="utf-8"
    )
    edited = world.settings.model_copy(update={"information_dir": clinic})
    app = create_app(edited, clock=world.clock)
    page = login(app, world, Role.NURSE).client.get(f"/patients/{patient_id}").text
    assert "the leaflet text has changed since" in page


def test_api_lists_the_leaflets_without_login(tmp_path: Path) -> None:
    listed = _public(tmp_path).get("/api/v1/information/leaflets")
    assert listed.status_code == 200
    en, de = listed.json()
    assert en == {
        "language": "en",
        "language_name": "English",
        "title": "Exosome inhalation therapy",
        "version": "1.0",
        "date": "2026-11-29",
        "sha256": EN.sha256,
        "page_url": "/information/en",
        "pdf_url": "/information/en/leaflet.pdf",
    }
    assert (de["language"], de["sha256"]) == ("de", DE.sha256)
