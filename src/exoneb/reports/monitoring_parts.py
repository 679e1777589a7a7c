"""Step 4 in reports: monitoring chart, alerts, adverse events, holds and discharge.

Reads only through :mod:`exoneb.monitoring.service` (``observations``,
``alerts_of``, ``events_of``, ``holds_for``, ``discharge_record``,
``signed_content``, ``timeline``, ``escalation_view``) and registers at import:
the session-report section, the safety overview's adverse-event, alert and
dose-escalation sections, the ``adverse_events`` and ``alerts`` CSV tables,
post-dose rows in the ``observations`` table, and FHIR ``AdverseEvent`` and
post-dose vital-sign ``Observation`` s.

Nothing here is computed from "now" (a report deadline shown as "overdue"
would change the fingerprint by itself); the stored due time is shown instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from exoneb.accounts import service as accounts
from exoneb.core.clock import as_utc
from exoneb.core.config import Settings
from exoneb.core.context import Ctx
from exoneb.inhalation import service as inhalation
from exoneb.monitoring import escalation_service as escalation
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.rules import TERMS, CtcaeTerm
from exoneb.reports import fhir, safety, session_report, tables
from exoneb.reports import terminology as t
from exoneb.reports.document import (
    Column,
    Item,
    PlotSpec,
    ReferenceLine,
    Section,
    Series,
    Table,
    not_recorded,
)
from exoneb.reports.session_report import STEP_KEYS, SessionContext, signature_line, utc_text
from exoneb.sessions.models import TherapySession

MEASURES: tuple[tuple[str, str, str], ...] = (
    ("spo2_pct", "SpO2", "%"),
    ("heart_rate_per_min", "Heart rate", "/min"),
    ("resp_rate_per_min", "Respiratory rate", "/min"),
    ("sbp_mmhg", "Systolic BP", "mmHg"),
    ("dbp_mmhg", "Diastolic BP", "mmHg"),
    ("temperature_c", "Temperature", "°C"),
    ("fev1_l", "FEV1", "L"),
    ("pef_l_per_min", "PEF", "L/min"),
)

SNOMED_FOR_TERM: dict[str, t.Code] = {
    CtcaeTerm.COUGH.value: t.COUGH,
    CtcaeTerm.DYSPNEA.value: t.DYSPNOEA,
    CtcaeTerm.BRONCHOSPASM.value: t.BRONCHOSPASM,
}
"""CTCAE term → SNOMED CT finding, only where interop.md §1.2 gives a verified code."""

AE_OUTCOME = {"recovered": "resolved", "recovering": "recovering", "not_recovered": "ongoing",
              "recovered_with_sequelae": "resolvedWithSequelae", "fatal": "fatal",
              "unknown": "unknown"}  # fmt: skip
"""Stored outcome (ICH E2B values) → R4 adverse-event-outcome code."""

AE_SEVERITY = {1: "mild", 2: "moderate"}  # CTCAE grade 3 and above → severe


def _minutes(at: Any, start: datetime | None) -> float | None:
    return None if start is None else round((as_utc(at) - start).total_seconds() / 60, 1)


def _chart(rows: Sequence[Any], start: datetime | None, baseline_fev1: float | None,
           ) -> tuple[PlotSpec, ...]:  # fmt: skip
    x_label = "Time after nebulization start" if start else "Observation"
    specs = []
    for key, label, unit, refs in (
        ("spo2_pct", "SpO2", "%", ()),
        ("heart_rate_per_min", "Heart rate", "/min", ()),
        ("fev1_l", "FEV1", "L",
         () if baseline_fev1 is None else (ReferenceLine("Pre-session FEV1", baseline_fev1),)),
    ):  # fmt: skip
        points = [(_minutes(r.observed_at, start) if start else float(i), getattr(r, key))
                  for i, r in enumerate(rows) if getattr(r, key) is not None]  # fmt: skip
        if not points:
            continue
        specs.append(PlotSpec(
            f"monitoring_{key}", f"{label} after inhalation", x_label, label, unit,
            (Series(label, tuple(float(x or 0.0) for x, _ in points),
                    tuple(float(y) for _, y in points)),),
            reference_lines=refs, x_unit="min" if start else "",
            alt=f"Line chart of {label} ({unit}) over the monitoring period; the values are in "
                "the table that follows.",
        ))  # fmt: skip
    return tuple(specs)


def monitoring_section(ctx: Ctx, sc: SessionContext) -> Section:
    """Step 4: the monitoring chart and observations, alerts, adverse events, holds, discharge."""
    title = dict(STEP_KEYS)["monitoring"]
    sid = sc.session.id
    rows = monitoring.observations(ctx=ctx, session_id=sid)
    alerts = monitoring.alerts_of(ctx=ctx, session_id=sid)
    events = monitoring.events_of(ctx=ctx, session_id=sid)
    record = monitoring.discharge_record(ctx=ctx, session_id=sid)
    holds = monitoring.holds_for(ctx=ctx, session_id=sid)
    rescue = monitoring.rescue_of(ctx=ctx, session_id=sid)
    call = monitoring.call_of(ctx=ctx, session_id=sid)
    if not (rows or alerts or events or record or holds or rescue):
        return not_recorded("monitoring", title, "No monitoring recorded for this session.")
    start = monitoring.timeline(ctx=ctx, session_id=sid).nebulization_start_at
    from exoneb.assessment import service as assessment

    baseline = assessment.baseline_fev1(ctx=ctx, session_id=sid)
    obs_rows = tuple(
        (utc_text(r.observed_at), _minutes(r.observed_at, start), r.source,
         *(getattr(r, k) for k, _, _ in MEASURES), r.symptom_grade, r.note or "")
        for r in rows)  # fmt: skip
    alert_rows = tuple(
        (a.title, a.severity, a.status, utc_text(a.onset_at), a.measure,
         f"{a.worst_value:g} {a.unit}", f"{a.comparison} {a.threshold:g}",
         None if a.acknowledged_at is None
         else f"{utc_text(a.acknowledged_at)} {a.acknowledged_by}",
         None if a.resolved_at is None else f"{utc_text(a.resolved_at)} {a.resolved_by}: "
         f"{a.resolution_note or ''}")
        for a in sorted(alerts, key=lambda a: (a.raised_at, a.id)))  # fmt: skip
    ae_rows = tuple(
        (_term(e), e.grade, TERMS[CtcaeTerm(e.term)].grades.get(e.grade, ""),
         utc_text(e.onset_at), utc_text(e.end_at), e.serious, e.causality, e.action_taken,
         e.outcome, utc_text(e.report_due_at), utc_text(e.reported_at))
        for e in events)  # fmt: skip
    hold_rows = tuple((h.scope, h.origin, h.rule_id, h.reason, h.dlt_candidate,
                       utc_text(h.created_at), h.created_by) for h in holds)  # fmt: skip
    tables_ = [
        Table("Observations after inhalation",
              (Column("When (UTC)"), Column("Minutes after start", "min"), Column("Source"),
               *(Column(label, unit) for _, label, unit in MEASURES),
               Column("Symptom grade"), Column("Note")), obs_rows),
        Table("Alerts", (Column("Alert"), Column("Severity"), Column("Status"),
                         Column("Onset (UTC)"), Column("Measure"), Column("Worst"),
                         Column("Threshold"), Column("Acknowledged"), Column("Resolved")),
              alert_rows),
        Table("Adverse events (CTCAE v5.0)",
              (Column("Term"), Column("Grade"), Column("Grade definition"), Column("Onset (UTC)"),
               Column("End (UTC)"), Column("Serious"), Column("Causality"), Column("Action"),
               Column("Outcome"), Column("Report due (UTC)"), Column("Reported (UTC)")), ae_rows),
        Table("Rescue medication",
              (Column("Given (UTC)"), Column("Drug"), Column("Class"), Column("Dose"),
               Column("Route"), Column("Given by"), Column("Recorded by")),
              tuple((utc_text(r.given_at), r.drug_other or r.drug, r.drug_class,
                     f"{r.dose_amount:g} {'µg' if r.dose_unit == 'ug' else r.dose_unit}",
                     r.route.replace("_", " "), r.given_by, r.recorded_by)
                    for r in rescue)),
        Table("Active holds and stopping-rule events",
              (Column("Scope"), Column("Origin"), Column("Rule"), Column("Reason"),
               Column("DLT candidate"), Column("Placed (UTC)"), Column("By")), hold_rows),
    ]  # fmt: skip
    items = [Item("Nebulization started", utc_text(start)), Item("Observations", len(rows)),
             Item("Alerts", len(alerts)), Item("Adverse events", len(events)),
             Item("Pre-session FEV1 baseline", baseline, "L")]  # fmt: skip
    sigs: tuple[Any, ...] = ()
    status = "monitoring"
    if record is None:
        items.append(Item("Discharge", None))
    else:
        status = "discharged"
        items += [Item("Discharged", f"{utc_text(record.discharged_at)} by {record.discharged_by}"),
                  Item("Follow-up", utc_text(record.follow_up_at)),
                  Item("Follow-up call", None if call is None else
                       f"{call.status}, {call.attempts} attempt(s)"
                       + (f", {'done' if call.status == 'done' else 'gave up'} "
                          f"{utc_text(call.completed_at)} by {call.completed_by}"
                          if call.completed_at else "")
                       + (f" ({call.gave_up_reason})" if call.gave_up_reason else "")
                       + (", symptoms reported" if call.symptoms_reported else "")),
                  Item("Contact", record.contact)]  # fmt: skip
        tables_.append(Table("Discharge checklist",
                             (Column("Item"), Column("Status"), Column("Detail"), Column("Source")),
                             tuple((i.get("label"), i.get("status"), i.get("detail"),
                                    i.get("source")) for i in record.checklist)))  # fmt: skip
        tables_.append(Table("Discharge attestations", (Column("Attestation"), Column("Given")),
                             tuple((k.replace("_", " "), v)
                                   for k, v in sorted(record.attestations.items()))))  # fmt: skip
        content = monitoring.signed_content(record)
        sigs = tuple(
            signature_line(sig, "Discharge", accounts.signature_valid(sig, content=content))
            for sig in accounts.signatures_for(ctx=ctx, record_type=monitoring.RECORD_TYPE,
                                               record_id=sc.session.id))  # fmt: skip
    return Section(key="monitoring", title=title, recorded=True, status=status,
                   items=tuple(items), plots=_chart(rows, start, baseline),
                   tables=tuple(tables_), signatures=sigs)  # fmt: skip


def _term(e: Any) -> str:
    label = TERMS[CtcaeTerm(e.term)].label
    return f"{label}: {e.other_text}" if e.other_text else label


# --- safety overview ------------------------------------------------------------------------


def _events(ctx: Ctx, found: Sequence[TherapySession]) -> list[tuple[TherapySession, Any]]:
    return [(s, e) for s in found for e in monitoring.events_of(ctx=ctx, session_id=s.id)]


def adverse_events_section(ctx: Ctx, settings: Settings, protocol: Any,
                           found: Sequence[TherapySession]) -> Section:  # fmt: skip
    """Adverse events by term, grade and dose level, with a chart of counts by level and grade."""
    del settings
    pairs = _events(ctx, found)
    arms = [a.code for a in protocol.arms]
    counts = Counter((_term(e), e.grade, s.arm_code) for s, e in pairs)
    rows = tuple((term, grade, arm, n) for (term, grade, arm), n in sorted(counts.items()))
    grades = sorted({e.grade for _, e in pairs}) or [1]
    by_level = Counter((s.arm_code, e.grade) for s, e in pairs)
    spec = PlotSpec(
        "ae_by_level", "Adverse events by dose level and CTCAE grade", "Dose level",
        "Adverse events", "",
        tuple(Series(f"Grade {g}", tuple(arms), tuple(float(by_level[(a, g)]) for a in arms))
              for g in grades), kind="bar",
        alt="Bar chart of the number of adverse events per dose level, one bar per CTCAE grade; "
            "the counts are in the table that follows.",
    )  # fmt: skip
    serious = tuple((_term(e), e.grade, s.arm_code, s.id, e.causality, e.outcome,
                     utc_text(e.report_due_at), utc_text(e.reported_at))
                    for s, e in pairs if e.serious)  # fmt: skip
    return Section(
        key="adverse_events", title=dict(safety.SAFETY_KEYS)["adverse_events"], recorded=True,
        status="" if pairs else "none recorded",
        items=(Item("Adverse events", len(pairs)),
               Item("Serious adverse events", len(serious))),
        plots=(spec,),
        tables=(Table("Adverse events by term, grade and dose level",
                      (Column("Term"), Column("Grade"), Column("Dose level"), Column("Events")),
                      rows),
                Table("Serious adverse events",
                      (Column("Term"), Column("Grade"), Column("Dose level"), Column("Session"),
                       Column("Causality"), Column("Outcome"), Column("Report due (UTC)"),
                       Column("Reported (UTC)")), serious)),
    )  # fmt: skip


def alerts_section(ctx: Ctx, settings: Settings, protocol: Any,
                   found: Sequence[TherapySession]) -> Section:  # fmt: skip
    """Alerts by rule, severity and dose level; active holds from the stopping rules."""
    del settings, protocol
    alerts = [(s, a) for s in found for a in monitoring.alerts_of(ctx=ctx, session_id=s.id)]
    counts = Counter((a.title, a.severity, s.arm_code) for s, a in alerts)
    holds: dict[int, Any] = {}
    for s in found:
        for h in monitoring.holds_for(ctx=ctx, session_id=s.id):
            holds[h.id] = h
    hold_rows = tuple((h.scope, h.arm_code, h.origin, h.rule_id, h.reason, h.dlt_candidate,
                       utc_text(h.created_at)) for _, h in sorted(holds.items()))  # fmt: skip
    return Section(
        key="alerts", title=dict(safety.SAFETY_KEYS)["alerts"], recorded=True,
        status="" if alerts or holds else "none recorded",
        items=(Item("Alerts", len(alerts)), Item("Active holds and cohort pauses", len(holds))),
        tables=(Table("Alerts by rule, severity and dose level",
                      (Column("Alert"), Column("Severity"), Column("Dose level"),
                       Column("Alerts")),
                      tuple((*k, n) for k, n in sorted(counts.items()))),
                Table("Active holds and cohort pauses (stopping rules)",
                      (Column("Scope"), Column("Dose level"), Column("Origin"), Column("Rule"),
                       Column("Reason"), Column("DLT candidate"), Column("Placed (UTC)")),
                      hold_rows)),
        notes=("Holds already lifted are not listed: the monitoring service offers active "
               "holds only.",),
    )  # fmt: skip


def escalation_section(ctx: Ctx, settings: Settings, protocol: Any,
                       found: Sequence[TherapySession]) -> Section:  # fmt: skip
    """The 3+3 dose-escalation table and its recommendation (decision support)."""
    del found
    view = escalation.escalation_view(ctx=ctx, settings=settings, protocol_id=protocol.id)
    title = dict(safety.SAFETY_KEYS)["escalation"]
    if not view["levels"]:
        return not_recorded("escalation", title, "This protocol has no dose-escalation section.")
    rows = tuple((lv["level"], lv["treated"], lv["evaluable"], lv["dlts"])
                 for lv in view["levels"])  # fmt: skip
    decisions = tuple((d["sequence"], d["arm_code"], d["decision_label"], d["reason"] or "",
                       "yes" if d["follows_recommendation"] else "no", d["signed_by"] or "",
                       utc_text(d["signed_at"]) if d["signed_at"] else "")
                      for d in view["decisions"])  # fmt: skip
    return Section(
        key="escalation", title=title, recorded=True,
        items=(Item("Recommendation", view["action"]), Item("Next level", view["next_level"]),
               Item("Maximum tolerated dose level", view["mtd_level"]),
               Item("Reason", view["reason"]), Item("Source", view["source"]),
               Item("Open for enrolment", ", ".join(view["open_levels"]) or "none"),
               Item("Decision page", f"/protocols/{protocol.id}/escalation")),
        tables=(Table("Subjects and dose-limiting toxicities per level",
                      (Column("Level"), Column("Subjects treated"),
                       Column("Evaluable for DLT"), Column("DLTs")), rows),
                Table("Signed escalation decisions",
                      (Column("#"), Column("At level"), Column("Decision"), Column("Reason"),
                       Column("Follows the recommendation"), Column("Signed by"),
                       Column("Signed (UTC)")), decisions)),
        notes=("The recommendation is decision support for the safety review (counted on the "
               "subjects evaluable for DLT); the DMC and the protocol decide, and a physician "
               "signs each decision on the dose-escalation page.",),
    )  # fmt: skip


# --- CSV ------------------------------------------------------------------------------------

AE_COLUMNS: tuple[tables.ColumnDef, ...] = (
    tables.ColumnDef("adverse_event_id", "integer", "", "exoneb adverse event id"),
    tables.ColumnDef("session_id", "integer", "", "exoneb session id"),
    tables.ColumnDef("patient_id", "integer", "", "exoneb patient id"),
    tables.ColumnDef("arm_code", "text", "", "dose level or arm"),
    tables.ColumnDef("ctcae_version", "text", "", "CTCAE version of term and grade"),
    tables.ColumnDef("term", "text", "", "CTCAE term code"),
    tables.ColumnDef("term_label", "text", "", "CTCAE term"),
    tables.ColumnDef("other_text", "text", "", "the term in words for 'other, specify'"),
    tables.ColumnDef("grade", "integer", "", "CTCAE grade 1–5"),
    tables.ColumnDef("onset_at_utc", "datetime", "UTC", "onset, ISO 8601"),
    tables.ColumnDef("end_at_utc", "datetime", "UTC", "end, ISO 8601"),
    tables.ColumnDef("onset_after_start_min", "decimal", "min", "onset after nebulization start"),
    tables.ColumnDef("serious", "boolean", "", "meets a seriousness criterion"),
    tables.ColumnDef("seriousness", "text", "", "seriousness criteria met (; separated)"),
    tables.ColumnDef("expected", "boolean", "", "expected per the reference safety information"),
    tables.ColumnDef("causality", "text", "", "relationship to the product"),
    tables.ColumnDef("action_taken", "text", "", "action taken with the product"),
    tables.ColumnDef("outcome", "text", "", "outcome"),
    tables.ColumnDef("report_due_at_utc", "datetime", "UTC", "regulatory report due, ISO 8601"),
    tables.ColumnDef("reported_at_utc", "datetime", "UTC", "reported, ISO 8601"),
    tables.ColumnDef("report_reference", "text", "", "reference of the report sent"),
)  # fmt: skip

ALERT_COLUMNS: tuple[tables.ColumnDef, ...] = (
    tables.ColumnDef("alert_id", "integer", "", "exoneb alert id"),
    tables.ColumnDef("session_id", "integer", "", "exoneb session id"),
    tables.ColumnDef("patient_id", "integer", "", "exoneb patient id"),
    tables.ColumnDef("arm_code", "text", "", "dose level or arm"),
    tables.ColumnDef("rule_id", "text", "", "alert rule of the protocol"),
    tables.ColumnDef("title", "text", "", "alert"),
    tables.ColumnDef("severity", "text", "", "severity"),
    tables.ColumnDef("status", "text", "", "open, acknowledged or resolved"),
    tables.ColumnDef("onset_at_utc", "datetime", "UTC", "first reading past the threshold"),
    tables.ColumnDef("raised_at_utc", "datetime", "UTC", "when the alert was raised"),
    tables.ColumnDef("measure", "text", "", "what was measured"),
    tables.ColumnDef("unit", "text", "", "unit of the values"),
    tables.ColumnDef("worst_value", "decimal", "see unit", "worst reading"),
    tables.ColumnDef("baseline_value", "decimal", "see unit", "pre-session value"),
    tables.ColumnDef("threshold", "decimal", "see unit", "threshold of the rule"),
    tables.ColumnDef("acknowledged_at_utc", "datetime", "UTC", "acknowledged, ISO 8601"),
    tables.ColumnDef("acknowledged_by", "text", "", "who acknowledged it"),
    tables.ColumnDef("resolved_at_utc", "datetime", "UTC", "resolved, ISO 8601"),
    tables.ColumnDef("resolved_by", "text", "", "who resolved it"),
)  # fmt: skip


def ae_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """One row per adverse event of the sessions."""
    return [{
        "adverse_event_id": e.id, "session_id": s.id, "patient_id": e.patient_id,
        "arm_code": s.arm_code, "ctcae_version": e.ctcae_version, "term": e.term,
        "term_label": TERMS[CtcaeTerm(e.term)].label, "other_text": e.other_text,
        "grade": e.grade, "onset_at_utc": tables.utc(e.onset_at),
        "end_at_utc": tables.utc(e.end_at),
        "onset_after_start_min": None if e.nebulization_start_at is None
        else _minutes(e.onset_at, as_utc(e.nebulization_start_at)),
        "serious": e.serious, "seriousness": "; ".join(map(str, e.seriousness or [])),
        "expected": e.expected, "causality": e.causality, "action_taken": e.action_taken,
        "outcome": e.outcome, "report_due_at_utc": tables.utc(e.report_due_at),
        "reported_at_utc": tables.utc(e.reported_at), "report_reference": e.report_reference,
    } for s, e in _events(ctx, found)]  # fmt: skip


def alert_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """One row per alert of the sessions."""
    return [{
        "alert_id": a.id, "session_id": s.id, "patient_id": a.patient_id, "arm_code": s.arm_code,
        "rule_id": a.rule_id, "title": a.title, "severity": a.severity, "status": a.status,
        "onset_at_utc": tables.utc(a.onset_at), "raised_at_utc": tables.utc(a.raised_at),
        "measure": a.measure, "unit": a.unit, "worst_value": a.worst_value,
        "baseline_value": a.baseline_value, "threshold": a.threshold,
        "acknowledged_at_utc": tables.utc(a.acknowledged_at),
        "acknowledged_by": a.acknowledged_by, "resolved_at_utc": tables.utc(a.resolved_at),
        "resolved_by": a.resolved_by,
    } for s in found for a in sorted(monitoring.alerts_of(ctx=ctx, session_id=s.id),
                                     key=lambda a: a.id)]  # fmt: skip


RESCUE_COLUMNS: tuple[tables.ColumnDef, ...] = (
    tables.ColumnDef("rescue_medication_id", "integer", "", "exoneb rescue medication id"),
    tables.ColumnDef("session_id", "integer", "", "exoneb session id"),
    tables.ColumnDef("patient_id", "integer", "", "exoneb patient id"),
    tables.ColumnDef("arm_code", "text", "", "dose level or arm"),
    tables.ColumnDef("drug", "text", "", "drug given (as listed, or 'other')"),
    tables.ColumnDef("drug_other", "text", "", "the drug's name when 'other'"),
    tables.ColumnDef("drug_class", "text", "", "saba or other (derived from the drug)"),
    tables.ColumnDef("dose_amount", "decimal", "see dose_unit", "dose given"),
    tables.ColumnDef("dose_unit", "text", "", "unit of the dose (ASCII ug for micrograms)"),
    tables.ColumnDef("route", "text", "", "route of administration"),
    tables.ColumnDef("given_at_utc", "datetime", "UTC", "when it was given, ISO 8601"),
    tables.ColumnDef("given_by", "text", "", "who gave it"),
    tables.ColumnDef("alert_id", "integer", "", "the alert it answered, if any"),
    tables.ColumnDef("adverse_event_id", "integer", "", "the adverse event it answered, if any"),
    tables.ColumnDef("recorded_at_utc", "datetime", "UTC", "when it was recorded, ISO 8601"),
    tables.ColumnDef("recorded_by", "text", "", "who recorded it"),
)  # fmt: skip


def rescue_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """One row per rescue medication given in the sessions (e.g. a SABA for airway reactivity)."""
    return [{
        "rescue_medication_id": m.id, "session_id": s.id, "patient_id": m.patient_id,
        "arm_code": s.arm_code, "drug": m.drug, "drug_other": m.drug_other,
        "drug_class": m.drug_class, "dose_amount": m.dose_amount, "dose_unit": m.dose_unit,
        "route": m.route, "given_at_utc": tables.utc(m.given_at), "given_by": m.given_by,
        "alert_id": m.alert_id, "adverse_event_id": m.adverse_event_id,
        "recorded_at_utc": tables.utc(m.recorded_at), "recorded_by": m.recorded_by,
    } for s in found for m in monitoring.rescue_of(ctx=ctx, session_id=s.id)]  # fmt: skip


POST_DOSE_CODES: dict[str, t.Code] = {
    "spo2_pct": t.SPO2, "heart_rate_per_min": t.HEART_RATE,
    "resp_rate_per_min": t.RESPIRATORY_RATE, "sbp_mmhg": t.SYSTOLIC, "dbp_mmhg": t.DIASTOLIC,
    "temperature_c": t.BODY_TEMPERATURE, "fev1_l": t.FEV1, "pef_l_per_min": t.PEF,
}  # fmt: skip


def post_dose_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[tables.Row]:
    """Observations after inhalation, in the long format of the ``observations`` table."""
    out: list[tables.Row] = []
    for s in found:
        for r in monitoring.observations(ctx=ctx, session_id=s.id):
            for key, code in POST_DOSE_CODES.items():
                value = getattr(r, key)
                if value is not None:
                    out.append(tables.observation_row(
                        s, "recorded", "post-dose", tables.utc(r.observed_at), code, value,
                        step="monitoring"))  # fmt: skip
    return out


# --- FHIR -----------------------------------------------------------------------------------


def fhir_contributor(ctx: Ctx, b: fhir.BundleBuilder, refs: fhir.SessionRefs) -> None:
    """Post-dose vital-sign Observations, rescue MedicationAdministrations, AdverseEvents."""
    sid = refs.session.id
    for r in monitoring.observations(ctx=ctx, session_id=sid):
        when = fhir.instant(r.observed_at)
        for key, code in POST_DOSE_CODES.items():
            value = getattr(r, key)
            if value is None:
                continue
            codes = (t.SPO2, t.SPO2_PULSE_OXIMETRY) if code is t.SPO2 else (code,)
            cat = ("vital-signs", "Vital Signs") if code not in (t.FEV1, t.PEF) else (
                "procedure", "Procedure")  # fmt: skip
            b.add(fhir.urn("monitoring-observation", r.id, key), {
                "resourceType": "Observation", "status": "final",
                "category": fhir.category(*cat), "code": fhir.concept(*codes, text=code.display),
                "subject": fhir.ref(refs.patient), "encounter": fhir.ref(refs.encounter),
                "effectiveDateTime": when, "valueQuantity": fhir.quantity(value, code.ucum),
                "method": {"text": f"Post-dose monitoring ({r.source})"},
            })  # fmt: skip
    for m in monitoring.rescue_of(ctx=ctx, session_id=sid):
        route = m.route.replace("_", " ").replace("mdi", "(metered-dose inhaler)")
        inhaled = m.route in ("inhaled_mdi", "nebulized")
        b.add(fhir.urn("rescue-medication", m.id), {
            "resourceType": "MedicationAdministration", "status": "completed",
            # No code system is mapped for rescue drugs: the name as text, never a guessed code.
            "medicationCodeableConcept": {"text": m.drug_other or m.drug},
            "subject": fhir.ref(refs.patient), "context": fhir.ref(refs.encounter),
            "effectiveDateTime": fhir.instant(m.given_at),
            "dosage": {
                "route": fhir.concept(t.ROUTE_RESPIRATORY, text=route) if inhaled
                else {"text": route},
                "dose": fhir.quantity(m.dose_amount, m.dose_unit),
                "text": f"Rescue: {m.dose_amount:g} {m.dose_unit} {route}",
            },
            "note": [{"text": f"Given by {m.given_by}; recorded by {m.recorded_by}."}],
        })  # fmt: skip
    run = inhalation.current_run(ctx=ctx, session_id=sid)
    administration = None if run is None else fhir.urn("administration", run.id)
    for e in monitoring.events_of(ctx=ctx, session_id=sid):
        term = SNOMED_FOR_TERM.get(e.term)
        event = fhir.concept(term, text=_term(e)) if term else {"text": _term(e)}
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent", "actuality": "actual",
            "identifier": {"system": f"{t.CANONICAL_BASE}/sid/adverse-event", "value": str(e.id)},
            "event": event, "subject": fhir.ref(refs.patient),
            "encounter": fhir.ref(refs.encounter), "date": fhir.instant(e.onset_at),
            "recordedDate": fhir.instant(e.created_at),
            "seriousness": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                "code": "serious" if e.serious else "non-serious"}]},
            "severity": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                "code": AE_SEVERITY.get(e.grade, "severe")}],
                "text": f"CTCAE {e.ctcae_version} grade {e.grade}"},
            "outcome": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                "code": AE_OUTCOME.get(e.outcome, "unknown")}]},
        }  # fmt: skip
        if administration is not None and administration in b.entries:
            resource["suspectEntity"] = [{
                "instance": fhir.ref(administration),
                "causality": [{"assessment": {"text": e.causality}}],
            }]  # fmt: skip
        b.add(fhir.urn("adverse-event", e.id), resource)


session_report.register_section("monitoring", monitoring_section)
safety.register_safety_section("adverse_events", adverse_events_section)
safety.register_safety_section("alerts", alerts_section)
safety.register_safety_section("escalation", escalation_section)
tables.register_table("adverse_events", AE_COLUMNS, ae_rows)
tables.register_table("alerts", ALERT_COLUMNS, alert_rows)
tables.register_table("rescue_medications", RESCUE_COLUMNS, rescue_rows)
tables.register_observation_rows(post_dose_rows)
fhir.register_contributor(fhir_contributor)
