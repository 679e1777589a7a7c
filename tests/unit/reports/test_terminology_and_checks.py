"""Export codes against reference/interop.md, and the Bundle checks on small hand-made Bundles."""

from __future__ import annotations

import copy
from typing import Any

from exoneb.reports import terminology as t
from exoneb.reports.fhir_checks import check_bundle


def test_codes_are_the_published_ones() -> None:
    # reference/interop.md §1.1 (LOINC), §1.2 (SNOMED CT), §1.3 (UCUM)
    assert (t.FEV1.code, t.FEV1.ucum) == ("20150-9", "L")
    assert t.FEV1_POST_BD.code == "20155-8"
    assert (t.FVC.code, t.FVC_POST_BD.code) == ("19868-9", "19874-7")
    assert t.FEV1_FVC.code == "19926-5"  # not 19866-3 (a VC code), not 20152-5
    assert t.FEV1_PERCENT_PREDICTED.code == "20152-5"
    assert (t.SPO2.code, t.SPO2_PULSE_OXIMETRY.code, t.SPO2.ucum) == ("2708-6", "59408-5", "%")
    assert (t.HEART_RATE.code, t.HEART_RATE.ucum) == ("8867-4", "/min")
    assert (t.RESPIRATORY_RATE.code, t.BODY_TEMPERATURE.ucum) == ("9279-1", "Cel")
    assert (t.SYSTOLIC.code, t.DIASTOLIC.code, t.SYSTOLIC.ucum) == ("8480-6", "8462-4", "mm[Hg]")
    assert (t.BP_PANEL.code, t.BMI.ucum) == ("85354-9", "kg/m2")
    assert t.Z_SCORE_TECHNIQUE.code == "1078210003"
    assert t.METHOD_INHALE.code == "421134003"  # not 420606003 ("Shampoo")
    assert t.ROUTE_RESPIRATORY.code == "447694001"
    assert t.NEBULIZER_DEVICE.code == "334947002"
    assert t.NEBULIZER_THERAPY.code == "56251003"
    assert t.SPIROMETRY_PROCEDURE.code == "127783003"
    assert t.UCUM == "http://unitsofmeasure.org"


def test_unverified_codes_are_not_used() -> None:
    # marked [verify] in interop.md §1.1: FEV1/FVC post-BD, FEV1 predicted, FEF codes
    used = {c.code for c in t.KNOWN_CODES}
    assert not used & {"69970-2", "20149-1", "19925-7", "69972-8", "69973-6", "420606003"}


def _bundle() -> dict[str, Any]:
    p, e, o = "urn:uuid:1", "urn:uuid:2", "urn:uuid:3"
    return {
        "resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": p, "resource": {"resourceType": "Patient", "gender": "female"}},
            {"fullUrl": e, "resource": {"resourceType": "Encounter", "status": "planned",
                                        "subject": {"reference": p}}},
            {"fullUrl": o, "resource": {
                "resourceType": "Observation", "status": "final",
                "category": [{"coding": [{"system": t.OBS_CATEGORY, "code": "vital-signs"}]}],
                "code": {"coding": [t.SPO2.coding(), t.SPO2_PULSE_OXIMETRY.coding()]},
                "subject": {"reference": p}, "encounter": {"reference": e},
                "valueQuantity": {"value": 95, "unit": "%", "system": t.UCUM, "code": "%"}}},
        ],
    }  # fmt: skip


def _obs(b: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = b["entry"][2]["resource"]
    return resource


def test_a_correct_bundle_passes() -> None:
    assert check_bundle(_bundle()) == []


def test_each_kind_of_mistake_is_named() -> None:
    cases = {
        "unknown code": lambda o: o["code"]["coding"][0].update(code="2708-7"),
        "is not the display": lambda o: o["code"]["coding"][0].update(display="Sats"),
        "takes unit '%'": lambda o: o["valueQuantity"].update(code="1", unit="1"),
        "qty-3": lambda o: o["valueQuantity"].pop("system"),
        "not a UCUM unit": lambda o: o["valueQuantity"].update(code="percent"),
        "required value set": lambda o: o.update(status="done"),
        "obs-6": lambda o: o.update(dataAbsentReason={"text": "x"}),
        "may not point at a Encounter": lambda o: o.update(subject={"reference": "urn:uuid:2"}),
        "does not resolve": lambda o: o.update(encounter={"reference": "urn:uuid:9"}),
        "no reference-target rule": lambda o: o.update(focus=[{"reference": "urn:uuid:1"}]),
        "names its subject": lambda o: o.pop("subject"),
    }
    for expected, mutate in cases.items():
        b = copy.deepcopy(_bundle())
        mutate(_obs(b))
        messages = [str(p) for p in check_bundle(b)]
        assert any(expected in m for m in messages), (expected, messages)


def test_bundle_level_mistakes() -> None:
    b = _bundle()
    b["type"] = "bag"
    b["entry"][1]["fullUrl"] = "urn:uuid:1"
    messages = [str(p) for p in check_bundle(b)]
    assert any("not a Bundle type" in m for m in messages)
    assert any("duplicate fullUrl" in m for m in messages)
    assert check_bundle({"resourceType": "Patient"})[0].message == "not a Bundle"
