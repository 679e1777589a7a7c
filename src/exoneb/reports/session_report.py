"""The session report: one section per part of the record, each built by a pluggable builder.

The report of a therapy session is assembled from sections in a fixed order —
patient, protocol and dose level, the four steps (assessment, preparation,
inhalation, monitoring), all signatures, the session history. Each step's
section is built by a function registered here for that step
(:func:`register_section`), which reads the step's records only through the
step package's own service functions, never its tables.

A step whose package has no builder yet, or a session with no record for
that step, gets a section that says "not recorded" in words, so a reader can
tell a missing step from a forgotten page.

Reads made here are not audited one by one: the report as a whole is one
audited action (``report.session``, written by :mod:`exoneb.reports.service`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exoneb.accounts import service as accounts
from exoneb.accounts.models import Signature
from exoneb.assessment import service as assessment
from exoneb.core.clock import as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.protocols import registry
from exoneb.reports.document import (
    Cell,
    Column,
    Item,
    Report,
    Section,
    SignatureLine,
    Table,
    not_recorded,
)
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession

DISCLAIMER = (
    "exoneb supports decisions and keeps records; it is not medical advice. The inhaled "
    "therapy is investigational and complementary: it never replaces the patient's "
    "prescribed care."
)

STEP_KEYS: tuple[tuple[str, str], ...] = (
    ("assessment", "Step 1 — Assessment and eligibility"),
    ("preparation", "Step 2 — Lot and dose preparation"),
    ("inhalation", "Step 3 — Inhalation"),
    ("monitoring", "Step 4 — Monitoring, adverse events and discharge"),
)
"""The four steps in session order: section key and heading."""


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What every section builder may use: the session, its patient, the settings."""

    session: TherapySession
    patient: Patient
    settings: Settings


SectionBuilder = Callable[[Ctx, SessionContext], Section]
_BUILDERS: dict[str, SectionBuilder] = {}


def register_section(key: str, builder: SectionBuilder) -> None:
    """Let a step contribute its section of the session report (``key`` from STEP_KEYS)."""
    if key not in dict(STEP_KEYS):
        raise ValueError(f"Unknown session-report section {key!r}; use one of the step keys.")
    _BUILDERS[key] = builder


def utc_text(value: Any) -> str | None:
    """A stored time as ``YYYY-MM-DD HH:MM:SS UTC`` (the form printed on reports)."""
    if value is None:
        return None
    return str(as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC"))


def signature_line(sig: Signature, record: str, valid: bool | None) -> SignatureLine:
    """One stored signature as the report prints it (printed name, UTC time, meaning)."""
    return SignatureLine(
        record=record, signer=sig.signer_name, meaning=sig.meaning,
        statement=accounts.SIGNATURE_MEANINGS.get(sig.meaning, sig.meaning),
        signed_at_utc=utc_text(sig.signed_at) or "", valid=valid,
        content_sha256=sig.content_sha256,
    )  # fmt: skip


# --- backbone sections ---------------------------------------------------------------------


def patient_section(ctx: Ctx, sc: SessionContext) -> Section:
    """Who the session is for, and the consent it relies on."""
    p = sc.patient
    consents = patients.consents(ctx=ctx, patient_id=p.id)
    rows: list[tuple[Cell, ...]] = []
    signatures: list[SignatureLine] = []
    for c in consents:
        leaflet = (
            f"{c.leaflet_version} ({c.leaflet_language}), SHA-256 {c.leaflet_sha256}"
            if c.leaflet_version
            else None
        )
        rows.append((c.document_version, c.consent_date.isoformat(), c.taken_by, c.status, leaflet))
        for sig, ok in patients.consent_signatures(ctx=ctx, consent=c):
            signatures.append(signature_line(sig, f"Consent {c.document_version}", ok))
    return Section(
        key="patient", title="Patient", recorded=True, status=p.status,
        items=(
            Item("Name", f"{p.given_name} {p.family_name}"), Item("MRN", p.mrn),
            Item("Date of birth", p.birth_date.isoformat()),
            Item("Sex (for reference equations)", p.sex),
            Item("Height", p.height_cm, "cm"), Item("Weight", p.weight_kg, "kg"),
        ),
        tables=(Table("Consent records", (Column("Document version"), Column("Consent date"),
                                          Column("Taken by"), Column("Status"),
                                          Column("Patient leaflet given")), tuple(rows)),),
        signatures=tuple(signatures),
    )  # fmt: skip


def protocol_section(ctx: Ctx, sc: SessionContext) -> Section:
    """The protocol, the dose level (arm) and the authorisation the session runs under."""
    s = sc.session
    enrolment = patients.get_enrolment(ctx=ctx, enrolment_id=s.enrolment_id)
    protocol = registry.get(sc.settings.protocols_dir, s.protocol_id)
    arm = protocol.arm(s.arm_code) if protocol is not None else None
    items = [
        Item("Protocol", s.protocol_id), Item("Protocol version", s.protocol_version),
        Item("Title", protocol.title if protocol else None),
        Item("Phase", protocol.phase if protocol else None),
        Item("Dose level (arm)", s.arm_code), Item("Dose level", arm.label if arm else None),
        Item("Planned dose", arm.dose_particles if arm else None, "particles"),
        Item("Fill volume", arm.fill_volume_ml if arm else None, "mL"),
        Item("Authorisation", f"{enrolment.authorisation_kind} {enrolment.authorisation_number}"),
        Item("Ethics approval", enrolment.ethics_approval),
        Item("Authorisation valid until", enrolment.authorisation_valid_until.isoformat()
             if enrolment.authorisation_valid_until else "no expiry recorded"),
        Item("Session planned for", utc_text(s.planned_for)),
        Item("Session state", s.state),
    ]  # fmt: skip
    if s.abort_reason:
        items.append(Item("Abort reason", s.abort_reason))
    return Section(key="protocol", title="Protocol and dose level", recorded=True,
                   status=s.state, items=tuple(items))  # fmt: skip


SPIRO_PARAMETERS: tuple[tuple[str, str, str], ...] = (
    ("fev1", "FEV1", "L"),
    ("fvc", "FVC", "L"),
    ("fev1_fvc", "FEV1/FVC", "ratio"),
    ("fef25_75", "FEF25–75", "L/s"),
)
KIND_LABELS = {"pre": "Pre-session", "post_bd": "Post-bronchodilator"}
VITALS_ROWS: tuple[tuple[str, str, str], ...] = (
    ("spo2_percent", "SpO2", "%"),
    ("heart_rate_bpm", "Heart rate", "/min"),
    ("respiratory_rate_per_min", "Respiratory rate", "/min"),
    ("systolic_bp_mmhg", "Systolic blood pressure", "mmHg"),
    ("diastolic_bp_mmhg", "Diastolic blood pressure", "mmHg"),
    ("temperature_c", "Temperature", "°C"),
    ("weight_kg", "Weight", "kg"),
    ("height_cm", "Height", "cm"),
    ("bmi", "BMI", "kg/m²"),
    ("oxygen_source", "Inspired oxygen", ""),
)


def _spirometry_table(spiro: dict[str, Any]) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for kind in ("pre", "post_bd"):
        test = spiro.get(kind)
        if test is None:
            continue
        for key, label, unit in SPIRO_PARAMETERS:
            r = (test.get("results") or {}).get(key)
            if r is None:
                continue
            rows.append((KIND_LABELS[kind], test.get("test_date"), label, r.get("measured"), unit,
                         r.get("predicted"), r.get("lln"), r.get("z"),
                         r.get("percent_predicted")))  # fmt: skip
    cols = (Column("Test"), Column("Date"), Column("Parameter"), Column("Measured"),
            Column("Unit"), Column("Predicted"), Column("LLN"), Column("z-score"),
            Column("% predicted", "%"))  # fmt: skip
    return Table("Spirometry with GLI z-scores", cols, tuple(rows))


def _rules_table(decision: dict[str, Any] | None) -> Table:
    rows: list[tuple[Cell, ...]] = []
    for r in (decision or {}).get("rules", []):
        values = ", ".join(f"{k}={v}" for k, v in (r.get("values") or {}).items())
        missing = ", ".join(r.get("missing_facts") or [])
        rows.append(
            (
                r.get("id"),
                r.get("title"),
                r.get("kind"),
                r.get("outcome"),
                r.get("requirement"),
                values or None,
                missing or None,
                r.get("source"),
            )
        )
    cols = (Column("Rule"), Column("Title"), Column("Kind"), Column("Outcome"),
            Column("Requirement"), Column("Values used"), Column("Missing data"),
            Column("Source"))  # fmt: skip
    return Table("Eligibility rules and their outcomes", cols, tuple(rows))


def assessment_section(ctx: Ctx, sc: SessionContext) -> Section:
    """Step 1: spirometry with z-scores, vitals, scales, the decision and its reasons."""
    title = dict(STEP_KEYS)["assessment"]
    a = assessment.current(ctx=ctx, session_id=sc.session.id)
    if a is None:
        return not_recorded("assessment", title, "No assessment recorded for this session.")
    v = assessment.view(ctx=ctx, a=a)
    spiro = v["spirometry"]
    vitals, scales, override = v["vitals"] or {}, v["scales"] or {}, v["override"]
    items = [
        Item("Record version", v["record_version"]), Item("Status", v["status"]),
        Item("Eligibility outcome", v["outcome"]),
        Item("Computed outcome", v["computed_outcome"]),
        Item("Rule set", None if v["rule_set"] is None else
             f"{v['rule_set']['id']} v{v['rule_set']['version']} ({v['rule_set']['origin']})"),
        Item("Pre-session FEV1 baseline", v["baseline_fev1_l"], "L"),
        Item("CAT total (0–40)", scales.get("cat_total")),
        Item("mMRC grade (0–4)", scales.get("mmrc_grade")),
        Item("Six-minute walk distance", scales.get("walk_distance_m"), "m"),
    ]  # fmt: skip
    if override:
        items += [Item("Override outcome", override["outcome"]),
                  Item("Override reason", override["reason"]),
                  Item("Override by", override["by"]),
                  Item("Override at", utc_text(override["at"]))]  # fmt: skip
    if v["amend_reason"]:
        items.append(Item("Amendment reason", v["amend_reason"]))
    notes: list[str] = []
    for kind in ("pre", "post_bd"):
        test = spiro.get(kind)
        if test is not None:
            labels = [f["label"] for f in (test.get("interpretation") or {}).get("findings", [])]
            notes.append(f"{KIND_LABELS[kind]} spirometry: equation {test.get('equation')}; "
                         f"interpretation: {'; '.join(labels) or 'none'}.")  # fmt: skip
    decision = v["decision"] or {}
    notes += [f"Flag: {f['message']} ({f['source']})" for f in decision.get("flags", [])]
    if decision.get("missing_facts"):
        notes.append("Missing data: " + ", ".join(decision["missing_facts"]) + ".")
    vitals_rows = tuple((label, vitals.get(key), unit) for key, label, unit in VITALS_ROWS
                        if key in vitals)  # fmt: skip
    content = assessment.signed_content(ctx=ctx, a=a)
    sigs = tuple(
        signature_line(sig, f"Assessment v{a.record_version}",
                       accounts.signature_valid(sig, content=content))
        for sig in accounts.signatures_for(ctx=ctx, record_type="assessment", record_id=a.id)
    )  # fmt: skip
    return Section(
        key="assessment", title=title, recorded=True, status=v["status"], items=tuple(items),
        tables=(_spirometry_table(spiro),
                Table("Vital signs", (Column("Sign"), Column("Value"), Column("Unit")),
                      vitals_rows),
                _rules_table(v["decision"])),
        signatures=sigs, notes=tuple(notes),
    )  # fmt: skip


def _pending(key: str) -> SectionBuilder:
    def build(_ctx: Ctx, _sc: SessionContext) -> Section:
        return not_recorded(
            key,
            dict(STEP_KEYS)[key],
            "No record of this step is available to reports in this version.",
        )

    return build


def history_section(ctx: Ctx, sc: SessionContext) -> Section:
    """Every state change of the session: who, when (UTC), from, to, why."""
    rows = tuple(
        (utc_text(t.at), t.from_state or "—", t.to_state, t.actor_name, t.reason or "")
        for t in sessions.history(ctx=ctx, session_id=sc.session.id)
    )
    cols = (Column("When (UTC)"), Column("From"), Column("To"), Column("Who"), Column("Why"))
    return Section(key="history", title="Session history", recorded=True,
                   tables=(Table("State changes", cols, rows),))  # fmt: skip


def signatures_section(sections: list[Section]) -> Section:
    """Every signature in the report, in one place, with its validity against the record."""
    lines = tuple(sig for s in sections for sig in s.signatures)
    return Section(key="signatures", title="Signatures", recorded=bool(lines),
                   status="" if lines else "none recorded", signatures=lines)  # fmt: skip


def build(ctx: Ctx, settings: Settings, session: TherapySession) -> Report:
    """The session report's content, from the stored records (no permission check, no audit)."""
    patient = patients.load_visible(ctx, session.patient_id)
    sc = SessionContext(session=session, patient=patient, settings=settings)
    sections = [patient_section(ctx, sc), protocol_section(ctx, sc)]
    for key, _ in STEP_KEYS:
        sections.append(_BUILDERS.get(key, _pending(key))(ctx, sc))
    sections += [signatures_section(sections), history_section(ctx, sc)]
    return Report(
        kind="session", title=f"Session report — session {session.id}",
        subject=f"{patient.given_name} {patient.family_name} (MRN {patient.mrn}), "
        f"{session.protocol_id} v{session.protocol_version} {session.arm_code}",
        sections=tuple(sections), disclaimer=DISCLAIMER,
        record_refs={"session_id": session.id, "patient_id": patient.id},
    )  # fmt: skip


register_section("assessment", assessment_section)
