"""exoneb's own checks of an exported FHIR R4 Bundle. Pure: works on the JSON dict.

fhir.resources (R4B models) checks structure and cardinality only; it accepts
a wrong code on a required binding, a Quantity code without its system, and a
reference to the wrong resource type (``reference/interop.md`` §2.9, computed
with fhir.resources 8.3.0). These checks cover that gap for what exoneb emits:

* **codes** — every coding in LOINC, SNOMED CT, ASTM E1762, DICOM or exoneb's
  own systems must be one of :data:`~exoneb.reports.terminology.KNOWN_CODES`,
  with the same display;
* **units** — every Quantity is UCUM (system ``http://unitsofmeasure.org``,
  code in :data:`~exoneb.reports.terminology.UCUM_UNITS`; invariant qty-3), and
  an Observation's value carries the one unit its code takes (FEV1 in ``L``);
  reference ranges and predicted/LLN components share the value's unit;
* **required bindings** — status-like ``code`` elements hold a value of their
  required value set (Observation.status, Consent.status, …);
* **references** — every reference resolves to an entry of the Bundle and
  points at a resource type the element allows (per the R4 definitions);
* **invariants** — obs-6 (no value and dataAbsentReason together), and an
  Observation names its subject and a category.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from exoneb.reports.terminology import CHECKED_SYSTEMS, KNOWN_CODES, UCUM, UCUM_UNITS, UNIT_FOR_CODE

ANY = frozenset({"*"})
_ACTORS = frozenset({"Practitioner", "PractitionerRole", "RelatedPerson", "Patient", "Device",
                     "Organization"})  # fmt: skip

REFERENCE_TARGETS: dict[tuple[str, str], frozenset[str]] = {
    ("Observation", "subject"): frozenset({"Patient", "Group", "Device", "Location"}),
    ("Observation", "encounter"): frozenset({"Encounter"}),
    ("Observation", "performer"): frozenset({"Practitioner", "PractitionerRole", "Organization",
                                             "CareTeam", "Patient", "RelatedPerson"}),
    ("Observation", "derivedFrom"): frozenset({"DocumentReference", "ImagingStudy", "Media",
                                               "QuestionnaireResponse", "Observation",
                                               "MolecularSequence"}),
    ("Observation", "device"): frozenset({"Device", "DeviceMetric"}),
    ("Observation", "partOf"): frozenset({"MedicationAdministration", "MedicationDispense",
                                          "MedicationStatement", "Procedure", "Immunization",
                                          "ImagingStudy"}),
    ("Encounter", "subject"): frozenset({"Patient", "Group"}),
    ("Consent", "patient"): frozenset({"Patient"}),
    ("Consent", "performer"): frozenset({"Organization", "Patient", "Practitioner",
                                         "RelatedPerson", "PractitionerRole"}),
    ("Provenance", "target"): ANY,
    ("Provenance", "encounter"): frozenset({"Encounter"}),
    ("Provenance", "agent.who"): _ACTORS,
    ("Provenance", "signature.who"): _ACTORS,
    ("Provenance", "entity.what"): ANY,
    ("AuditEvent", "agent.who"): _ACTORS,
    ("AuditEvent", "source.observer"): _ACTORS,
    ("AuditEvent", "entity.what"): ANY,
    ("MedicationAdministration", "medicationReference"): frozenset({"Medication"}),
    ("MedicationAdministration", "subject"): frozenset({"Patient", "Group"}),
    ("MedicationAdministration", "context"): frozenset({"Encounter", "EpisodeOfCare"}),
    ("MedicationAdministration", "device"): frozenset({"Device"}),
    ("MedicationAdministration", "partOf"): frozenset({"MedicationAdministration", "Procedure"}),
    ("MedicationAdministration", "performer.actor"): frozenset({"Practitioner",
                                                               "PractitionerRole", "Patient",
                                                               "RelatedPerson", "Device"}),
    ("AdverseEvent", "subject"): frozenset({"Patient", "Group", "Practitioner", "RelatedPerson"}),
    ("AdverseEvent", "encounter"): frozenset({"Encounter"}),
    ("AdverseEvent", "recorder"): frozenset({"Patient", "Practitioner", "PractitionerRole",
                                             "RelatedPerson"}),
    ("AdverseEvent", "suspectEntity.instance"): frozenset({"Immunization", "Procedure",
                                                           "Substance", "Medication",
                                                           "MedicationAdministration",
                                                           "MedicationStatement", "Device"}),
    ("Procedure", "subject"): frozenset({"Patient", "Group"}),
    ("Procedure", "encounter"): frozenset({"Encounter"}),
    ("Procedure", "usedReference"): frozenset({"Device", "Medication", "Substance"}),
    ("Procedure", "performer.actor"): frozenset({"Practitioner", "PractitionerRole",
                                                 "Organization", "Patient", "RelatedPerson",
                                                 "Device"}),
    ("Device", "patient"): frozenset({"Patient"}),
}  # fmt: skip
"""(resource type, element path) → resource types the reference may point at (FHIR R4).
A reference on a path not listed here is itself a problem, so a new element is
never exported unchecked."""

REQUIRED_BINDINGS: dict[tuple[str, str], frozenset[str]] = {
    ("Bundle", "type"): frozenset({"document", "message", "transaction", "transaction-response",
                                   "batch", "batch-response", "history", "searchset",
                                   "collection"}),
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Observation", "status"): frozenset({"registered", "preliminary", "final", "amended",
                                          "corrected", "cancelled", "entered-in-error",
                                          "unknown"}),
    ("Encounter", "status"): frozenset({"planned", "arrived", "triaged", "in-progress",
                                        "onleave", "finished", "cancelled", "entered-in-error",
                                        "unknown"}),
    ("Consent", "status"): frozenset({"draft", "proposed", "active", "rejected", "inactive",
                                      "entered-in-error"}),
    ("AuditEvent", "action"): frozenset({"C", "R", "U", "D", "E"}),
    ("AuditEvent", "outcome"): frozenset({"0", "4", "8", "12"}),
    ("MedicationAdministration", "status"): frozenset({"in-progress", "not-done", "on-hold",
                                                       "completed", "entered-in-error",
                                                       "stopped", "unknown"}),
    ("Medication", "status"): frozenset({"active", "inactive", "entered-in-error"}),
    ("AdverseEvent", "actuality"): frozenset({"actual", "potential"}),
    ("Procedure", "status"): frozenset({"preparation", "in-progress", "not-done", "on-hold",
                                        "stopped", "completed", "entered-in-error", "unknown"}),
    ("Device", "status"): frozenset({"active", "inactive", "entered-in-error", "unknown"}),
}  # fmt: skip
"""Required bindings on ``code`` elements that exoneb fills (FHIR R4 value sets)."""

_KNOWN = {(c.system, c.code): c.display for c in KNOWN_CODES}
_QUANTITY_KEYS = frozenset({"valueQuantity", "low", "high", "dose", "rateQuantity", "quantity"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the Bundle, located by a JSON path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _walk(node: Any, path: str, element: str) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Every dict below ``node`` with its JSON path and its element path (no indices)."""
    if isinstance(node, Mapping):
        yield path, element, node
        for key, value in node.items():
            child = f"{element}.{key}" if element else key
            yield from _walk(value, f"{path}.{key}", child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]", element)


def _check_codings(path: str, node: Mapping[str, Any]) -> Iterator[Problem]:
    for i, coding in enumerate(node.get("coding") or []):
        system, code = coding.get("system"), coding.get("code")
        where = f"{path}.coding[{i}]"
        if not system or not code:
            yield Problem(where, "a coding needs both a system and a code")
            continue
        if system in CHECKED_SYSTEMS:
            if (system, code) not in _KNOWN:
                yield Problem(where, f"unknown code {code!r} in {system}")
            elif coding.get("display") not in (None, _KNOWN[(system, code)]):
                yield Problem(where, f"display {coding.get('display')!r} is not the display of "
                              f"{code} ({_KNOWN[(system, code)]!r})")  # fmt: skip


def _check_quantity(path: str, q: Mapping[str, Any]) -> Iterator[Problem]:
    if "code" in q and "system" not in q:
        yield Problem(path, "qty-3: a Quantity with a code needs a system")
    if q.get("system") != UCUM:
        yield Problem(path, f"units must be UCUM ({UCUM}), not {q.get('system')!r}")
    elif q.get("code") not in UCUM_UNITS:
        yield Problem(path, f"{q.get('code')!r} is not a UCUM unit exoneb exports")


def _first_checked(concept: Mapping[str, Any] | None) -> tuple[str, str] | None:
    for coding in (concept or {}).get("coding") or []:
        key = (coding.get("system"), coding.get("code"))
        if key in UNIT_FOR_CODE:
            return (str(key[0]), str(key[1]))
    return None


def _check_observation(path: str, obs: Mapping[str, Any]) -> Iterator[Problem]:
    values = [k for k in obs if k.startswith("value")]
    if values and "dataAbsentReason" in obs:
        yield Problem(path, "obs-6: a value and a dataAbsentReason together")
    if "subject" not in obs:
        yield Problem(path, "an exported Observation names its subject (the patient)")
    if not obs.get("category"):
        yield Problem(path, "an exported Observation has a category")
    value_unit = (obs.get("valueQuantity") or {}).get("code")
    key = _first_checked(obs.get("code"))
    if value_unit is not None and key is not None and UNIT_FOR_CODE[key] != value_unit:
        yield Problem(f"{path}.valueQuantity", f"code {key[1]} takes unit "
                      f"{UNIT_FOR_CODE[key]!r}, not {value_unit!r}")  # fmt: skip
    for i, rr in enumerate(obs.get("referenceRange") or []):
        for end in ("low", "high"):
            unit = (rr.get(end) or {}).get("code")
            if unit is not None and unit != value_unit:
                yield Problem(f"{path}.referenceRange[{i}].{end}",
                              f"unit {unit!r} differs from the value's {value_unit!r}")  # fmt: skip
    for i, comp in enumerate(obs.get("component") or []):
        unit = (comp.get("valueQuantity") or {}).get("code")
        codes = {c.get("code") for c in (comp.get("code") or {}).get("coding") or []}
        ckey = _first_checked(comp.get("code"))
        expected = value_unit if codes & {"predicted", "lln"} else (
            UNIT_FOR_CODE[ckey] if ckey else None)  # fmt: skip
        if unit is not None and expected is not None and unit != expected:
            yield Problem(f"{path}.component[{i}].valueQuantity",
                          f"unit {unit!r} should be {expected!r}")  # fmt: skip


def check_bundle(bundle: Mapping[str, Any]) -> list[Problem]:
    """Every problem found in ``bundle`` (empty when it passes)."""
    problems: list[Problem] = []
    if bundle.get("resourceType") != "Bundle":
        return [Problem("$", "not a Bundle")]
    if bundle.get("type") not in REQUIRED_BINDINGS[("Bundle", "type")]:
        problems.append(Problem("$.type", f"{bundle.get('type')!r} is not a Bundle type"))
    types: dict[str, str] = {}
    entries = bundle.get("entry") or []
    for i, entry in enumerate(entries):
        url, resource = entry.get("fullUrl"), entry.get("resource") or {}
        if not isinstance(url, str) or not url.startswith("urn:uuid:"):
            problems.append(Problem(f"$.entry[{i}].fullUrl", "entries use urn:uuid: full URLs"))
        elif url in types:
            problems.append(Problem(f"$.entry[{i}].fullUrl", f"duplicate fullUrl {url}"))
        else:
            types[url] = str(resource.get("resourceType"))
    for i, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        rtype = str(resource.get("resourceType"))
        base = f"$.entry[{i}].resource"
        for (btype, element), allowed in REQUIRED_BINDINGS.items():
            if btype == rtype and element in resource and resource[element] not in allowed:
                problems.append(Problem(f"{base}.{element}", f"{resource[element]!r} is not in "
                                        f"the required value set"))  # fmt: skip
        if rtype == "Observation":
            problems += _check_observation(base, resource)
        for path, element, node in _walk(resource, base, ""):
            if "coding" in node:
                problems += _check_codings(path, node)
            last = element.rsplit(".", 1)[-1]
            if last in _QUANTITY_KEYS and "value" in node:
                problems += _check_quantity(path, node)
            ref = node.get("reference")
            if isinstance(ref, str) and element:
                problems += _check_reference(path, rtype, element, ref, types)
    return problems


def _check_reference(
    path: str, rtype: str, element: str, ref: str, types: Mapping[str, str]
) -> Iterator[Problem]:
    allowed = REFERENCE_TARGETS.get((rtype, element))
    if allowed is None:
        yield Problem(path, f"no reference-target rule for {rtype}.{element}")
        return
    target = types.get(ref)
    if target is None:
        yield Problem(path, f"reference {ref} does not resolve inside the Bundle")
    elif allowed is not ANY and target not in allowed:
        yield Problem(path, f"{rtype}.{element} may not point at a {target}")
