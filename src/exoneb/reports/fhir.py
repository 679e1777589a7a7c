"""FHIR R4 export: the stored records of patients and sessions as one Bundle.

The Bundle (type ``collection``; every entry ``urn:uuid:``, references inside
it use the same URNs — ``reference/interop.md`` §2.8) holds:

* ``Patient`` — MRN identifier, name, birth date, administrative gender, and
  the sex used for the lung-function reference equations as its own
  extension (interop.md §4.6: never derive it from ``gender``);
* ``Encounter`` — one per therapy session (its state mapped onto R4 status);
* ``Observation`` — spirometry, one per parameter and phase, with LOINC codes
  and components for predicted, LLN, z-score and % predicted, ``referenceRange``
  low = LLN, ``interpretation`` L/N, equation in ``method`` (§2.2); vital signs
  (vital-signs category, LOINC, UCUM); CAT, mMRC and six-minute walk (local
  codes: no LOINC code is known, §1.1);
* ``Consent`` — each consent record of the patient;
* ``Practitioner`` and ``Provenance`` — one Provenance per e-signature, with
  the ASTM E1762 signature type, the signer, the UTC time and the SHA-256 of
  the signed content;
* ``AuditEvent`` — the export itself (DICOM 110106 "Export"), pointing at the
  exported patients and at the exoneb audit row of the export.

Resource ids are UUIDv5 of what they describe, so exporting the same records
twice gives the same URNs (receivers can de-duplicate). Steps 2–4 (Medication
with batch, MedicationAdministration, Device, AdverseEvent, Procedure) add
their resources through :func:`register_contributor` when they land.

The structure is validated with fhir.resources R4B models and with
:mod:`exoneb.reports.fhir_checks` (codes, units, bindings, reference targets).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from exoneb.accounts import service as accounts
from exoneb.accounts.models import Signature
from exoneb.assessment import service as assessment
from exoneb.core.clock import as_utc
from exoneb.core.context import Ctx
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.reports import terminology as t
from exoneb.reports.fhir_checks import Problem, check_bundle
from exoneb.sessions.models import TherapySession

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, t.CANONICAL_BASE)
SEX_EXTENSION = f"{t.CANONICAL_BASE}/StructureDefinition/sex-for-reference-equations"

ENCOUNTER_STATUS = {
    "planned": "planned", "assessed": "in-progress", "cleared": "in-progress",
    "prepared": "in-progress", "verified": "in-progress", "inhaling": "in-progress",
    "monitoring": "in-progress", "ineligible": "finished", "discharged": "finished",
    "aborted": "cancelled",
}  # fmt: skip
"""Session state → R4 Encounter.status."""

CONSENT_STATUS = {"active": "active", "withdrawn": "inactive", "superseded": "inactive",
                  "voided": "entered-in-error"}  # fmt: skip


def urn(kind: str, *key: object) -> str:
    """A stable ``urn:uuid:`` for a record (UUIDv5 of its kind and key)."""
    return "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, "/".join([kind, *map(str, key)])))


def ref(full_url: str, display: str | None = None) -> dict[str, str]:
    """A Reference to another entry of the Bundle."""
    return {"reference": full_url} | ({"display": display} if display else {})


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A UCUM Quantity (the unit doubles as its display)."""
    return {"value": value, "unit": unit, "system": t.UCUM, "code": unit}


def instant(value: datetime) -> str:
    """An aware UTC time as FHIR text, in the ``Z`` form fhir.resources writes back."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def concept(*codes: t.Code, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of the given codes."""
    out: dict[str, Any] = {"coding": [c.coding() for c in codes]}
    return out | ({"text": text} if text else {})


def category(code: str, display: str) -> list[dict[str, Any]]:
    """An Observation category from FHIR's observation-category system."""
    return [{"coding": [{"system": t.OBS_CATEGORY, "code": code, "display": display}]}]


@dataclass
class BundleBuilder:
    """Collects resources by full URL (first one wins, so shared resources appear once)."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, full_url: str, resource: dict[str, Any]) -> str:
        """Add ``resource`` under ``full_url`` unless it is already there; return the URL."""
        self.entries.setdefault(full_url, resource)
        return full_url

    def bundle(self, *, bundle_id: str, timestamp: datetime) -> dict[str, Any]:
        """The Bundle of everything added, in insertion order."""
        return {
            "resourceType": "Bundle", "type": "collection",
            "identifier": {"system": f"{t.CANONICAL_BASE}/sid/export", "value": bundle_id},
            "timestamp": instant(timestamp),
            "entry": [{"fullUrl": u, "resource": r} for u, r in self.entries.items()],
        }  # fmt: skip

    def count(self) -> dict[str, int]:
        """How many resources of each type."""
        out: dict[str, int] = {}
        for r in self.entries.values():
            out[r["resourceType"]] = out.get(r["resourceType"], 0) + 1
        return out


@dataclass(frozen=True, slots=True)
class SessionRefs:
    """What contributors need to link their resources into the Bundle."""

    session: TherapySession
    patient: str
    encounter: str


Contributor = Callable[[Ctx, BundleBuilder, SessionRefs], None]
_CONTRIBUTORS: list[Contributor] = []


def register_contributor(contributor: Contributor) -> None:
    """Let a step add its resources for each exported session (call once at import)."""
    if contributor not in _CONTRIBUTORS:
        _CONTRIBUTORS.append(contributor)


# --- resources -----------------------------------------------------------------------------


def add_patient(b: BundleBuilder, p: Patient) -> str:
    """The Patient (identifier MRN at the site; sex for the reference equations kept apart)."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": f"{t.CANONICAL_BASE}/sid/site-{p.site_id}/mrn",
                        "value": p.mrn}],
        "active": p.status == "active",
        "name": [{"family": p.family_name, "given": [p.given_name]}],
        "gender": p.sex if p.sex in ("male", "female") else "unknown",
        "birthDate": p.birth_date.isoformat(),
        "extension": [{"url": SEX_EXTENSION, "valueCode": p.sex}],
    }  # fmt: skip
    return b.add(urn("patient", p.id), resource)


def add_practitioner(b: BundleBuilder, user_id: int | None, name: str) -> str:
    """A staff member (signer, exporter) as a Practitioner."""
    key = user_id if user_id is not None else f"system-{name}"
    resource = {
        "resourceType": "Practitioner",
        "identifier": [{"system": f"{t.CANONICAL_BASE}/sid/user", "value": str(key)}],
        "name": [{"text": name}],
    }
    return b.add(urn("user", key), resource)


def add_encounter(b: BundleBuilder, s: TherapySession, patient_url: str) -> str:
    """The session as an Encounter."""
    resource = {
        "resourceType": "Encounter",
        "identifier": [{"system": f"{t.CANONICAL_BASE}/sid/session", "value": str(s.id)}],
        "status": ENCOUNTER_STATUS.get(s.state, "unknown"),
        "class": {"system": t.ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "subject": ref(patient_url),
        "period": {"start": instant(s.planned_for)},
        "reasonCode": [{"text": f"{s.protocol_id} v{s.protocol_version}, {s.arm_code}"}],
    }
    return b.add(urn("session", s.id), resource)


def add_consents(ctx: Ctx, b: BundleBuilder, p: Patient, patient_url: str) -> None:
    """Each consent record, and a Provenance for each of its signatures."""
    for c in patients.consents(ctx=ctx, patient_id=p.id):
        url = b.add(urn("consent", c.id), {
            "resourceType": "Consent",
            "identifier": [{"system": f"{t.CANONICAL_BASE}/sid/consent", "value": str(c.id)}],
            "status": CONSENT_STATUS.get(c.status, "inactive"),
            "scope": {"coding": [{"system": t.CONSENT_SCOPE, "code": "research",
                                  "display": "Research"}]},
            "category": [{"coding": [{"system": t.CONSENT_CATEGORY, "code": "research"}]}],
            "patient": ref(patient_url),
            "dateTime": c.consent_date.isoformat(),
            "performer": [ref(patient_url)],
            "policyRule": {"text": f"Informed consent document {c.document_version}"},
            **_leaflet_source(c),
        })  # fmt: skip
        for sig, _ in patients.consent_signatures(ctx=ctx, consent=c):
            add_provenance(b, sig, [url])


def _leaflet_source(c: Any) -> dict[str, Any]:
    """The patient leaflet the consent was based on, as ``Consent.sourceAttachment``.

    R4's ``Attachment.hash`` is defined as SHA-1, so the leaflet's SHA-256 (what the
    consent signature covers) goes in the title rather than in a mislabelled hash.
    """
    if not c.leaflet_version:
        return {}
    return {"sourceAttachment": {
        "contentType": "text/markdown",
        "language": c.leaflet_language,
        "title": f"Patient information leaflet version {c.leaflet_version} "
                 f"({c.leaflet_language}), SHA-256 {c.leaflet_sha256}",
    }}  # fmt: skip


def add_provenance(b: BundleBuilder, sig: Signature, targets: Sequence[str]) -> str:
    """One e-signature: who, when (UTC), meaning, and the hash of the signed content."""
    who = add_practitioner(b, sig.signer_id, sig.signer_name)
    meaning = t.SIGNATURE_TYPES.get(sig.meaning)
    types = [meaning.coding()] if meaning else []
    types.append(
        {
            "system": t.LOCAL_SIGNATURE_MEANING,
            "code": sig.meaning,
            "display": accounts.SIGNATURE_MEANINGS.get(sig.meaning, sig.meaning),
        }
    )
    resource = {
        "resourceType": "Provenance",
        "target": [ref(u) for u in targets],
        "recorded": instant(sig.signed_at),
        "agent": [{"who": ref(who, sig.signer_name)}],
        "signature": [{"type": types, "when": instant(sig.signed_at), "who": ref(who)}],
        "entity": [{"role": "source", "what": {
            "identifier": {"system": f"{t.CANONICAL_BASE}/sid/signed-content-sha256",
                           "value": sig.content_sha256},
            "display": f"{sig.record_type} {sig.record_id} version {sig.record_version}"}}],
    }  # fmt: skip
    return b.add(urn("signature", sig.id), resource)


def _observation(
    code: dict[str, Any], cat: list[dict[str, Any]], status: str, refs: SessionRefs,
    effective: str, **rest: Any,
) -> dict[str, Any]:  # fmt: skip
    return {"resourceType": "Observation", "status": status, "category": cat, "code": code,
            "subject": ref(refs.patient), "encounter": ref(refs.encounter),
            "effectiveDateTime": effective, **rest}  # fmt: skip


def _spirometry(kind: str, param: str, test: Mapping[str, Any], status: str,
                refs: SessionRefs) -> dict[str, Any] | None:  # fmt: skip
    r = (test.get("results") or {}).get(param)
    code = t.SPIROMETRY.get((kind, param))
    if r is None or code is None or r.get("measured") is None:
        return None
    unit = code.ucum
    components: list[dict[str, Any]] = []
    for comp, key in ((t.COMPONENT_PREDICTED, "predicted"), (t.COMPONENT_LLN, "lln")):
        if r.get(key) is not None:
            components.append({"code": concept(comp), "valueQuantity": quantity(r[key], unit)})
    if r.get("z") is not None:
        components.append({"code": concept(t.COMPONENT_Z, t.Z_SCORE_TECHNIQUE, text="z-score"),
                           "valueQuantity": quantity(round(r["z"], 4), "{z-score}")})  # fmt: skip
    if r.get("percent_predicted") is not None and param in t.PERCENT_PREDICTED:
        components.append(
            {
                "code": concept(t.PERCENT_PREDICTED[param]),
                "valueQuantity": quantity(round(r["percent_predicted"], 2), "%"),
            }
        )
    equation = test.get("equation")
    extra: dict[str, Any] = {
        "valueQuantity": quantity(r["measured"], unit),
        "method": {"text": f"{'Post-bronchodilator' if kind == 'post_bd' else 'Pre-session'} "
                           f"spirometry; reference equation {equation}"},
        "component": components,
    }  # fmt: skip
    if r.get("lln") is not None:
        extra["referenceRange"] = [{"low": quantity(r["lln"], unit),
                                    "text": f"LLN (5th centile), {equation}"}]  # fmt: skip
        low = r["measured"] < r["lln"]
        extra["interpretation"] = [
            {
                "coding": [
                    {
                        "system": t.INTERPRETATION,
                        "code": "L" if low else "N",
                        "display": "Low" if low else "Normal",
                    }
                ]
            }
        ]
    return _observation(concept(code, text=code.display), category("procedure", "Procedure"),
                        status, refs, str(test.get("test_date")), **extra)  # fmt: skip


def assessment_contributor(ctx: Ctx, b: BundleBuilder, refs: SessionRefs) -> None:
    """Spirometry, vitals and scales of the session's current assessment, and its signatures."""
    a = assessment.current(ctx=ctx, session_id=refs.session.id)
    if a is None:
        return
    v = assessment.view(ctx=ctx, a=a)
    status = {"signed": "amended" if a.record_version > 1 else "final"}.get(a.status, "preliminary")
    when = instant(v["updated_at"])
    urls: list[str] = []
    for kind, test in sorted(v["spirometry"].items()):
        for param in ("fev1", "fvc", "fev1_fvc"):
            obs = _spirometry(kind, param, test, status, refs)
            if obs is not None:
                urls.append(b.add(urn("spirometry", a.id, kind, param), obs))
    vitals = v["vitals"] or {}
    for key, codes in t.VITALS.items():
        if vitals.get(key) is not None:
            obs = _observation(concept(*codes, text=codes[0].display),
                               category("vital-signs", "Vital Signs"), status, refs, when,
                               valueQuantity=quantity(vitals[key], codes[0].ucum))  # fmt: skip
            urls.append(b.add(urn("vitals", a.id, key), obs))
    if vitals.get("systolic_bp_mmhg") is not None or vitals.get("diastolic_bp_mmhg") is not None:
        comps = [{"code": concept(c), "valueQuantity": quantity(vitals[k], c.ucum)}
                 for c, k in ((t.SYSTOLIC, "systolic_bp_mmhg"), (t.DIASTOLIC, "diastolic_bp_mmhg"))
                 if vitals.get(k) is not None]  # fmt: skip
        obs = _observation(concept(t.BP_PANEL, text="Blood pressure"),
                           category("vital-signs", "Vital Signs"), status, refs, when,
                           component=comps)  # fmt: skip
        urls.append(b.add(urn("vitals", a.id, "bp"), obs))
    scales = v["scales"] or {}
    for code, key, cat in ((t.CAT_TOTAL, "cat_total", "survey"),
                           (t.MMRC_GRADE, "mmrc_grade", "survey"),
                           (t.SIX_MINUTE_WALK, "walk_distance_m", "exam")):  # fmt: skip
        if scales.get(key) is not None:
            obs = _observation(concept(code, text=code.display),
                               category(cat, cat.title()), status, refs, when,
                               valueQuantity=quantity(scales[key], code.ucum))  # fmt: skip
            urls.append(b.add(urn("scales", a.id, key), obs))
    for sig in accounts.signatures_for(ctx=ctx, record_type="assessment", record_id=a.id):
        add_provenance(b, sig, urls or [refs.encounter])


register_contributor(assessment_contributor)


def add_export_event(
    b: BundleBuilder, *, ctx: Ctx, patient_urls: Iterable[str], audit_seq: int, what: str
) -> str:
    """The AuditEvent of this export (DICOM 110106 Export), naming the exported patients."""
    who = add_practitioner(b, ctx.actor.user_id, ctx.actor.full_name or ctx.actor.username)
    entities: list[dict[str, Any]] = [{"what": ref(u)} for u in patient_urls]
    entities.append({"what": {"identifier": {"system": f"{t.CANONICAL_BASE}/sid/audit-event",
                                             "value": str(audit_seq)}},
                     "description": what})  # fmt: skip
    resource = {
        "resourceType": "AuditEvent",
        "type": t.EXPORT_EVENT.coding(),
        "action": "R",
        "recorded": instant(ctx.clock.now()),
        "outcome": "0",
        "agent": [{"who": ref(who, ctx.actor.username), "requestor": True}],
        "source": {"observer": {"display": "exoneb"}},
        "entity": entities,
    }
    return b.add(urn("audit", audit_seq), resource)


def build(
    ctx: Ctx, b: BundleBuilder, scope: Sequence[tuple[Patient, Sequence[TherapySession]]]
) -> list[str]:
    """Add the patients, their consents and sessions with every contributor's resources."""
    patient_urls: list[str] = []
    for patient, sessions in scope:
        p_url = add_patient(b, patient)
        patient_urls.append(p_url)
        add_consents(ctx, b, patient, p_url)
        for s in sessions:
            refs = SessionRefs(session=s, patient=p_url, encounter=add_encounter(b, s, p_url))
            for contribute in _CONTRIBUTORS:
                contribute(ctx, b, refs)
    return patient_urls


# --- validation --------------------------------------------------------------------------


def validate(bundle: Mapping[str, Any]) -> list[Problem]:
    """Structure (fhir.resources R4B) and exoneb's own checks; empty when valid."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    problems: list[Problem] = []
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            problems.append(Problem(f"$.{loc}", f"R4B structure: {err['msg']}"))
    return problems + check_bundle(bundle)


def round_trip(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """JSON → R4B model → JSON (what a receiver using fhir.resources would read back)."""
    import json

    from fhir.resources.R4B.bundle import Bundle

    model = Bundle.model_validate(bundle)
    data: dict[str, Any] = json.loads(model.model_dump_json())
    return data
