"""Comparator arms through the pages and the JSON API (issue #6): drug and cell lots,
comparator and placebo preparation, the blinded label.

Hand-worked values (demo protocol, see test_comparator_arms.py): SC-NEB salbutamol
2.5 mg from a 5 mg/mL solution → 0.50 mL + 2.50 mL saline; SC-PMDI 200 µg at
100 µg per actuation → 2 actuations; PBO → 3.00 mL of saline, no dose.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import yaml
from pypdf import PdfReader

from exoneb.accounts.permissions import Role
from exoneb.core.config import PROTOCOLS_DIR

from .conftest import PASSWORD, World, seed_world
from .prep_factories import cleared_session, saline_lot
from .test_assessment_pages import _form, _version
from .test_comparator_arms import _drug_lot, _session
from .test_unique_ids import _repeated
from .webclient import app_for, login

PMDI = {"kind": "drug", "protocol_id": "demo-exo-01", "product_name": "Qvar 100 pMDI",
        "manufacturer": "Teva", "lot_number": "QV-API", "expires_at": "2027-01-01T00:00:00Z",
        "dosage_form": "inhaler", "emitted_dose_ug": 100, "actuations_per_unit": 200,
        "unit_count": 3}  # fmt: skip


def test_api_receives_releases_and_prepares_a_pmdi_dose(world: World) -> None:
    session_id = _session(world, "SC-PMDI", "API-1")
    app = app_for(world)
    pharmacist, nurse = login(app, world, Role.PHARMACIST), login(app, world, Role.NURSE)
    refused = nurse.post("/api/v1/lots/product", PMDI)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    missing = pharmacist.post("/api/v1/lots/product", PMDI | {"emitted_dose_ug": None})
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "emitted dose per actuation" in str(missing.json()["detail"])  # type: ignore[attr-defined]
    created = pharmacist.post("/api/v1/lots/product", PMDI)
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    lot = created.json()["lot"]  # type: ignore[attr-defined]
    assert lot["status"] == "quarantine"
    assert lot["strength_text"] == "100 µg per actuation (ex-actuator), 200 actuations per inhaler"
    assert lot["units_text"] == "3 inhaler(s)"
    url = f"/api/v1/lots/{lot['id']}/release/label"
    body = {"version": lot["version"], "password": PASSWORD, "batch_matches": True,
            "expiry_matches": True, "identity_matches": False}  # fmt: skip
    unchecked = pharmacist.post(url, body)
    assert unchecked.status_code == 409  # type: ignore[attr-defined]
    assert "Product identity checked against the label" in unchecked.json()["detail"]  # type: ignore[attr-defined]
    released = pharmacist.post(url, body | {"identity_matches": True})
    assert released.status_code == 200, released.text  # type: ignore[attr-defined]
    assert released.json()["lot"]["status"] == "released"  # type: ignore[attr-defined]
    prep = f"/api/v1/sessions/{session_id}/preparation"
    plan = pharmacist.post(f"{prep}/product/plan", {"device_key": "pmdi-extrafine"})
    assert plan.status_code == 200, plan.text  # type: ignore[attr-defined]
    draft = plan.json()  # type: ignore[attr-defined]
    assert draft["blockers"] == []
    assert draft["plan"]["actuations"] == 2
    assert "Actuations = 200 µg ÷ 100 µg = 2." in draft["plan"]["steps"]
    form = {"lot_id": lot["id"], "device_key": "pmdi-extrafine", "appearance_ok": True,
            "password": PASSWORD}  # fmt: skip
    made = pharmacist.post(f"{prep}/product", form)
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    dose = made.json()  # type: ignore[attr-defined]
    assert (dose["dose_amount"], dose["dose_unit"], dose["actuations"]) == (200.0, "ug", 2)
    assert dose["dose_text"] == "200 µg = 2 actuation(s)"
    again = pharmacist.post(f"{prep}/product", form)
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert "already has a prepared dose" in again.json()["detail"]  # type: ignore[attr-defined]
    label = nurse.client.get(f"{prep}/label.pdf")
    text = PdfReader(io.BytesIO(label.content)).pages[0].extract_text()
    assert "Dose 200 µg = 2 actuation(s)" in text
    assert "particles" not in text


def test_product_lot_pages_receive_release_and_show_the_label(world: World) -> None:
    app = app_for(world)
    pharmacist = login(app, world, Role.PHARMACIST)
    register = pharmacist.client.get("/lots").text
    assert 'action="/lots/product"' in register
    bad = _form(pharmacist, "/lots/product",
                {"form": "product", "kind": "drug", "product_name": "Salbutamol"})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="e-product-lot_number"' in bad.text  # the error sits by the product form's field
    data = {"form": "product", "kind": "drug", "protocol_id": "demo-exo-01",
            "product_name": "Salbutamol 5 mg/mL nebuliser solution", "manufacturer": "Demo Pharma",
            "lot_number": "SAL-PAGE", "expires_at": "2027-01-01T00:00", "unit_count": "4",
            "dosage_form": "solution", "strength_per_ml": "5", "strength_unit": "mg",
            "volume_per_unit_ml": "2.5"}  # fmt: skip
    done = _form(pharmacist, "/lots/product", data)
    assert done.status_code == 303, done.text[:800]
    register = pharmacist.client.get("/lots").text
    assert "5 mg/mL solution" in register
    assert "4 ampoule(s) × 2.5 mL" in register
    lot_id = re.search(r'href="/lots/(\d+)">SAL-PAGE', register).group(1)  # type: ignore[union-attr]
    page = pharmacist.client.get(f"/lots/{lot_id}").text
    assert "Label of this drug solution" in page
    assert "Release checklist" not in page  # no exosome certificate for a drug
    assert "particles" not in page
    url = f"/lots/{lot_id}/release/label"
    two = {"batch_matches": "true", "expiry_matches": "true"}
    unticked = _form(pharmacist, url, {"version": _version(page), "password": PASSWORD} | two)
    assert unticked.status_code == 409
    assert "Product identity checked against the label" in unticked.text
    ok = _form(pharmacist, url, {"version": _version(page), "password": PASSWORD,
                                 "batch_matches": "true", "expiry_matches": "true",
                                 "identity_matches": "true"})  # fmt: skip
    assert ok.status_code == 303, ok.text[:800]
    page = pharmacist.client.get(f"/lots/{lot_id}").text
    assert "Released" in page
    assert "label:identity" not in page
    assert "pass" in page
    assert _repeated(page) == []
    assert _repeated(pharmacist.client.get("/lots").text) == []


def test_comparator_and_placebo_preparation_pages(world: World) -> None:
    lot_id = _drug_lot(world, "SAL-5W", product_name="Salbutamol 5 mg/mL nebuliser solution",
                       dosage_form="solution", strength_per_ml=5.0, strength_unit="mg",
                       volume_per_unit_ml=2.5)  # fmt: skip
    saline_id = saline_lot(world, "NS-W")
    neb, pbo = _session(world, "SC-NEB", "W-1"), _session(world, "PBO", "W-2")
    exo = cleared_session(world, "W-3")
    app = app_for(world)
    pharmacist, nurse = login(app, world, Role.PHARMACIST), login(app, world, Role.NURSE)
    page = pharmacist.client.get(f"/sessions/{neb}/preparation?device_key=omron-ne-c801").text
    assert "Standard inhaled care in clinic" in page
    assert "Volume of product = 2.5 mg ÷ 5 mg/mL = 0.5000 mL → 0.50 mL" in page
    assert "Draw 0.50 mL of product and add 2.50 mL of saline" in page
    assert f'action="/sessions/{neb}/preparation/product"' in page
    assert _repeated(page) == []
    done = _form(pharmacist, f"/sessions/{neb}/preparation/product",
                 {"lot_id": str(lot_id), "device_key": "omron-ne-c801",
                  "saline_lot_id": str(saline_id), "appearance_ok": "yes",
                  "password": PASSWORD})  # fmt: skip
    assert done.status_code == 303, done.text[:800]
    page = nurse.client.get(f"/sessions/{neb}/preparation").text
    assert "2.5 mg" in page
    assert "0.50 mL + 2.50 mL = 3.00 mL" in page
    ok = _form(nurse, f"/sessions/{neb}/preparation/verify",
               {"version": _version(page), "password": PASSWORD})  # fmt: skip
    assert ok.status_code == 303

    page = pharmacist.client.get(f"/sessions/{pbo}/preparation").text
    assert "Saline nebulization (control or placebo)" in page
    assert "Load 3.00 mL of saline" in page
    assert "no vesicles and no drug" in page
    assert f'action="/sessions/{pbo}/preparation/placebo"' in page
    assert _repeated(page) == []
    done = _form(pharmacist, f"/sessions/{pbo}/preparation/placebo",
                 {"device_key": "aerogen-solo", "saline_lot_id": str(saline_id),
                  "appearance_ok": "yes", "password": PASSWORD})  # fmt: skip
    assert done.status_code == 303, done.text[:800]
    page = pharmacist.client.get(f"/sessions/{pbo}/preparation").text
    assert "placebo: 3.00 mL normal saline, no active product" in page
    assert "3.00 mL of saline = 3.00 mL" in page
    wrong = _form(pharmacist, f"/sessions/{exo}/preparation/placebo",
                  {"device_key": "aerogen-solo", "saline_lot_id": str(saline_id),
                   "appearance_ok": "yes", "password": PASSWORD})  # fmt: skip
    assert wrong.status_code == 409
    assert "is not a placebo arm" in wrong.text


def test_a_blinded_protocol_labels_placebo_and_active_alike(db_url: str, tmp_path: Path) -> None:
    """With ``preparation.blinded_product_name`` the label shows neither lot nor dose."""
    data = yaml.safe_load((PROTOCOLS_DIR / "demo-exo-01.yaml").read_text("utf-8"))
    data["preparation"]["blinded_product_name"] = {
        "value": "EXO-01 study drug or placebo",
        "source": "test: a blinded protocol",
    }
    (tmp_path / "demo-exo-01.yaml").write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    world = seed_world(db_url, protocols_dir=tmp_path)
    try:
        saline_id = saline_lot(world, "NS-BL")
        pbo = _session(world, "PBO", "BL-1")
        app = app_for(world)
        pharmacist = login(app, world, Role.PHARMACIST)
        page = pharmacist.client.get(f"/sessions/{pbo}/preparation").text
        assert "Blinded protocol" in page
        done = _form(pharmacist, f"/sessions/{pbo}/preparation/placebo",
                     {"device_key": "aerogen-solo", "saline_lot_id": str(saline_id),
                      "appearance_ok": "yes", "password": PASSWORD})  # fmt: skip
        assert done.status_code == 303, done.text[:800]
        pdf = pharmacist.client.get(f"/sessions/{pbo}/preparation/label.pdf").content
    finally:
        world.factory.kw["bind"].dispose()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "EXO-01 study drug or placebo" in text
    assert "Blinded study product: fill 3.00 mL" in text
    for revealing in ("NS-BL", "placebo:", "saline lot", "Saline"):
        assert revealing not in text, revealing
