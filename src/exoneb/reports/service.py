"""Report and export actions: each checks the permission and writes one audit row.

* reading a report (session, patient course, protocol safety overview) needs
  ``report.read`` and is audited with the report's fingerprint, so the trail
  shows which version of the record each printed copy showed;
* verifying a printed copy recomputes the fingerprint from the current record
  and says whether it matches and when that fingerprint was issued;
* every export (CSV tables, data dictionary, FHIR Bundle) needs
  ``data.export`` and is audited with what it contained — and the FHIR Bundle
  carries an AuditEvent pointing at that audit row.

Staff only ever reach their own site's patients and sessions (another site's
are "not found"), as everywhere else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from exoneb.accounts.permissions import Action
from exoneb.accounts.service import authorize
from exoneb.core import audit
from exoneb.core.audit import AuditEvent
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.core.errors import InvalidInput, NotFound
from exoneb.patients import service as patients
from exoneb.patients.models import Patient
from exoneb.protocols import registry
from exoneb.reports import (
    course,
    fhir,
    inhalation_parts,
    monitoring_parts,
    preparation_parts,
    safety,
    tables,
)
from exoneb.reports import session_report as session_sections
from exoneb.reports.document import Issue, Report, fingerprint, normalise_digest
from exoneb.sessions import service as sessions
from exoneb.sessions.models import TherapySession

_STEPS = (preparation_parts, inhalation_parts, monitoring_parts)
"""Step modules that register their report sections and FHIR resources at import."""

FORMATS = frozenset({"html", "pdf", "json"})


@dataclass(frozen=True, slots=True)
class IssuedReport:
    """A report with its fingerprint and who generated this copy when."""

    report: Report
    digest: str
    issue: Issue


def _issue(ctx: Ctx) -> Issue:
    return Issue(generated_at_utc=session_sections.utc_text(ctx.clock.now()) or "",
                 generated_by=ctx.actor.full_name or ctx.actor.username)  # fmt: skip


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"Choose a format: {', '.join(sorted(FORMATS))}.", field="format")
    return fmt


def _session(ctx: Ctx, session_id: int) -> TherapySession:
    # refresh=True: the report's own audit row (below) records this read.
    return sessions.get_session(ctx=ctx, session_id=session_id, refresh=True)


def session_report(*, ctx: Ctx, settings: Settings, session_id: int,
                   fmt: str = "html") -> IssuedReport:  # fmt: skip
    """The session report (audited as ``report.session`` with its fingerprint)."""
    authorize(ctx=ctx, action=Action.REPORT_READ)
    _format(fmt)
    session = _session(ctx, session_id)
    report = session_sections.build(ctx, settings, session)
    digest = fingerprint(report)
    audit.record(ctx=ctx, action="report.session", entity_type="therapy_session",
                 entity_id=session.id, entity_version=session.version,
                 patient_id=session.patient_id,
                 after={"sha256": digest, "format": fmt})  # fmt: skip
    return IssuedReport(report=report, digest=digest, issue=_issue(ctx))


@dataclass(frozen=True, slots=True)
class Verification:
    """Does a fingerprint (typed from a printed copy) match the record now?"""

    session_id: int
    given: str
    current: str
    matches: bool
    issued: tuple[tuple[str, str], ...]  # (UTC time, username) of copies with the given digest


def verify_session_report(*, ctx: Ctx, settings: Settings, session_id: int,
                          digest: str) -> Verification:  # fmt: skip
    """Rebuild the session report from the stored record and compare fingerprints.

    A match means the printed copy shows exactly what the record holds now. A
    mismatch means either the copy or the record changed since it was printed;
    ``issued`` then tells whether exoneb ever issued a copy with that
    fingerprint (a genuine older copy) or never did (an altered copy).
    """
    authorize(ctx=ctx, action=Action.REPORT_READ)
    given = normalise_digest(digest)
    if len(given) != 64 or any(c not in "0123456789abcdef" for c in given):
        raise InvalidInput("Type the 64 hexadecimal characters of the SHA-256 fingerprint.",
                           field="digest")  # fmt: skip
    session = _session(ctx, session_id)
    current = fingerprint(session_sections.build(ctx, settings, session))
    rows = ctx.db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "report.session", AuditEvent.entity_id == str(session.id))
        .order_by(AuditEvent.seq)
    ).all()
    issued = tuple((session_sections.utc_text(r.occurred_at) or "", r.actor_username) for r in rows
                   if r.after and json.loads(r.after).get("sha256") == given)  # fmt: skip
    matches = given == current
    audit.record(
        ctx=ctx,
        action="report.verify",
        entity_type="therapy_session",
        entity_id=session.id,
        patient_id=session.patient_id,
        after={"sha256": given, "matches": matches, "issued_before": len(issued)},
    )
    return Verification(session_id=session.id, given=given, current=current, matches=matches,
                        issued=issued)  # fmt: skip


def patient_course(*, ctx: Ctx, patient_id: int,
                   fmt: str = "html") -> IssuedReport:  # fmt: skip
    """A patient's course over sessions (audited as ``report.course``)."""
    authorize(ctx=ctx, action=Action.REPORT_READ)
    _format(fmt)
    patient = patients.load_visible(ctx, patient_id)
    report = course.build(ctx, patient)
    digest = fingerprint(report)
    audit.record(ctx=ctx, action="report.course", entity_type="patient", entity_id=patient.id,
                 patient_id=patient.id, after={"sha256": digest, "format": fmt})  # fmt: skip
    return IssuedReport(report=report, digest=digest, issue=_issue(ctx))


def available_protocols(settings: Settings) -> list[Any]:
    """The protocols installed at this site, by id (for choosing a report or export)."""
    return [p for _, p in sorted(registry.load_all(settings.protocols_dir).items())]


def _protocol(settings: Settings, protocol_id: str) -> Any:
    protocol = registry.get(settings.protocols_dir, protocol_id)
    if protocol is None:
        raise NotFound("There is no protocol with this id.")
    return protocol


def protocol_safety(*, ctx: Ctx, settings: Settings, protocol_id: str,
                    fmt: str = "html") -> IssuedReport:  # fmt: skip
    """The protocol safety overview for coordinators (audited as ``report.safety``)."""
    authorize(ctx=ctx, action=Action.REPORT_READ)
    _format(fmt)
    protocol = _protocol(settings, protocol_id)
    report = safety.build(
        ctx, settings, protocol, sessions.sessions_in_protocol(ctx=ctx, protocol_id=protocol.id)
    )
    digest = fingerprint(report)
    audit.record(ctx=ctx, action="report.safety", entity_type="protocol", entity_id=protocol.id,
                 after={"sha256": digest, "format": fmt})  # fmt: skip
    return IssuedReport(report=report, digest=digest, issue=_issue(ctx))


# --- export ---------------------------------------------------------------------------------


def export_csv(*, ctx: Ctx, settings: Settings, table: str, protocol_id: str) -> str:
    """One coordinator table of a protocol as CSV (audited as ``export.csv``)."""
    authorize(ctx=ctx, action=Action.DATA_EXPORT)
    if table not in tables.DICTIONARY:
        raise InvalidInput(f"Choose a table: {', '.join(tables.DICTIONARY)}.", field="table")
    protocol = _protocol(settings, protocol_id)
    rows = tables.rows(ctx, table, sessions.sessions_in_protocol(ctx=ctx, protocol_id=protocol.id))
    audit.record(ctx=ctx, action="export.csv", entity_type="protocol", entity_id=protocol.id,
                 after={"table": table, "rows": len(rows)})  # fmt: skip
    return tables.to_csv(table, rows)


def export_dictionary(*, ctx: Ctx) -> str:
    """The data dictionary of every CSV table (audited as ``export.dictionary``)."""
    authorize(ctx=ctx, action=Action.DATA_EXPORT)
    audit.record(ctx=ctx, action="export.dictionary", entity_type="data_dictionary",
                 after={"tables": list(tables.DICTIONARY)})  # fmt: skip
    return tables.dictionary_csv()


def _scope_patient(ctx: Ctx, patient_id: int) -> list[tuple[Patient, Sequence[TherapySession]]]:
    patient = patients.load_visible(ctx, patient_id)
    found = sorted(sessions.sessions_of(ctx=ctx, patient_id=patient.id),
                   key=lambda s: (s.planned_for, s.id))  # fmt: skip
    return [(patient, found)]


def _scope_protocol(ctx: Ctx, protocol_id: str) -> list[tuple[Patient, Sequence[TherapySession]]]:
    by_patient: dict[int, list[TherapySession]] = {}
    for s in sessions.sessions_in_protocol(ctx=ctx, protocol_id=protocol_id):
        by_patient.setdefault(s.patient_id, []).append(s)
    return [(patients.load_visible(ctx, pid), found) for pid, found in by_patient.items()]


def export_fhir(*, ctx: Ctx, settings: Settings, patient_id: int | None = None,
                protocol_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A FHIR R4 Bundle of one patient's or one protocol's records (audited as ``export.fhir``).

    The Bundle is validated (R4B structure and exoneb's code, unit, binding and
    reference checks) before it leaves; an invalid Bundle is never handed out.
    """
    authorize(ctx=ctx, action=Action.DATA_EXPORT)
    if (patient_id is None) == (protocol_id is None):
        raise InvalidInput("Export either one patient or one protocol.", field="scope")
    if protocol_id is not None:
        scope = _scope_protocol(ctx, _protocol(settings, protocol_id).id)
        entity_type, entity_id, audit_patient = "protocol", protocol_id, None
    else:
        assert patient_id is not None
        scope = _scope_patient(ctx, patient_id)
        entity_type, entity_id, audit_patient = "patient", str(patient_id), patient_id
    builder = fhir.BundleBuilder()
    patient_urls = fhir.build(ctx, builder, scope)
    bundle_id = str(uuid.uuid4())
    row = audit.record(ctx=ctx, action="export.fhir", entity_type=entity_type,
                       entity_id=entity_id, patient_id=audit_patient,
                       after={"bundle_id": bundle_id, "patients": len(scope),
                              "sessions": sum(len(s) for _, s in scope),
                              "resources": builder.count()})  # fmt: skip
    fhir.add_export_event(builder, ctx=ctx, patient_urls=patient_urls, audit_seq=row.seq,
                          what=f"FHIR export of {entity_type} {entity_id}")  # fmt: skip
    bundle = builder.bundle(bundle_id=bundle_id, timestamp=ctx.clock.now())
    problems = fhir.validate(bundle)
    if problems:
        raise RuntimeError("The FHIR export failed its own checks; nothing was exported: "
                           + "; ".join(map(str, problems[:20])))  # fmt: skip
    return bundle
