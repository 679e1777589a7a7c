"""CSV tables for coordinators and their data dictionary (column, type, unit, meaning).

The dictionary is the contract: :func:`to_csv` writes exactly its columns in
its order, and a row with a column it does not define is refused (a test also
checks every table against it). Each table is built by one function reading
records through the step services; tables for steps whose records are not
available to reports yet (adverse events, lots and preparations) are added
with :func:`register_table` when they land.

Text cells that a spreadsheet would run as a formula are prefixed with ``'``
(CSV injection), as in the audit-trail export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exoneb.assessment import service as assessment
from exoneb.core.clock import as_utc
from exoneb.core.context import Ctx
from exoneb.patients import service as patients
from exoneb.reports import terminology as t
from exoneb.sessions.models import TherapySession

TYPES = frozenset({"integer", "decimal", "text", "date", "datetime", "boolean"})


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """One column of an exported table."""

    name: str
    type: str
    unit: str
    meaning: str

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"Column {self.name}: unknown type {self.type!r}.")


Row = dict[str, Any]
TableBuilder = Callable[[Ctx, Sequence[TherapySession]], list[Row]]

DICTIONARY: dict[str, tuple[ColumnDef, ...]] = {
    "sessions": (
        ColumnDef("session_id", "integer", "", "exoneb session id"),
        ColumnDef("patient_id", "integer", "", "exoneb patient id"),
        ColumnDef("mrn", "text", "", "medical record number at the site"),
        ColumnDef("protocol_id", "text", "", "protocol id"),
        ColumnDef("protocol_version", "text", "", "protocol version the session was planned under"),
        ColumnDef("arm_code", "text", "", "dose level or arm"),
        ColumnDef("state", "text", "", "session state (planned … discharged, ineligible, aborted)"),
        ColumnDef("planned_for_utc", "datetime", "UTC", "planned start, ISO 8601"),
        ColumnDef("abort_reason", "text", "", "reason given when the session was aborted"),
        ColumnDef("assessment_status", "text", "", "current assessment: draft, signed or amended"),
        ColumnDef("eligibility_outcome", "text", "", "cleared, ineligible or needs_review"),
        ColumnDef(
            "eligibility_overridden", "boolean", "", "a physician overrode the computed outcome"
        ),
    ),
    "observations": (
        ColumnDef("session_id", "integer", "", "exoneb session id"),
        ColumnDef("patient_id", "integer", "", "exoneb patient id"),
        ColumnDef("arm_code", "text", "", "dose level or arm"),
        ColumnDef("step", "text", "", "step that recorded it (assessment, monitoring)"),
        ColumnDef("phase", "text", "", "pre-session, post-bronchodilator, post-dose …"),
        ColumnDef("observed_at_utc", "datetime", "UTC", "test date or recording time, ISO 8601"),
        ColumnDef("code_system", "text", "", "terminology of code (LOINC or exoneb local)"),
        ColumnDef("code", "text", "", "observation code"),
        ColumnDef("name", "text", "", "observation name"),
        ColumnDef("value", "decimal", "see unit", "measured or scored value"),
        ColumnDef("unit", "text", "", "UCUM unit of value (and predicted, lln)"),
        ColumnDef("predicted", "decimal", "see unit", "reference-equation predicted value"),
        ColumnDef("lln", "decimal", "see unit", "lower limit of normal (5th centile)"),
        ColumnDef("z_score", "decimal", "1", "z-score against the reference equation"),
        ColumnDef("percent_predicted", "decimal", "%", "value / predicted × 100"),
        ColumnDef("record_status", "text", "", "status of the record it comes from"),
    ),
}
"""Table name → its columns, in export order."""

_BUILDERS: dict[str, TableBuilder] = {}


def register_table(name: str, columns: tuple[ColumnDef, ...], builder: TableBuilder) -> None:
    """Add a coordinator table (a step's, when it lands) with its dictionary entry."""
    DICTIONARY[name] = columns
    _BUILDERS[name] = builder


def utc(value: Any) -> str | None:
    """A stored time as ISO 8601 UTC text (None stays None)."""
    return None if value is None else as_utc(value).isoformat()


def sessions_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[Row]:
    """One row per session."""
    out: list[Row] = []
    for s in found:
        patient = patients.load_visible(ctx, s.patient_id)
        a = assessment.current(ctx=ctx, session_id=s.id)
        out.append({
            "session_id": s.id, "patient_id": s.patient_id, "mrn": patient.mrn,
            "protocol_id": s.protocol_id, "protocol_version": s.protocol_version,
            "arm_code": s.arm_code, "state": s.state, "planned_for_utc": utc(s.planned_for),
            "abort_reason": s.abort_reason,
            "assessment_status": None if a is None else a.status,
            "eligibility_outcome": None if a is None else a.outcome,
            "eligibility_overridden": None if a is None else a.override_outcome is not None,
        })  # fmt: skip
    return out


_PHASE = {"pre": "pre-session", "post_bd": "post-bronchodilator"}


def observation_row(
    s: TherapySession, status: str, phase: str, when: str | None, code: t.Code, value: Any,
    **extra: Any,
) -> Row:  # fmt: skip
    """One row of the ``observations`` table (``extra`` overrides, e.g. ``step``, ``z_score``)."""
    return {"session_id": s.id, "patient_id": s.patient_id, "arm_code": s.arm_code,
            "step": "assessment", "phase": phase, "observed_at_utc": when,
            "code_system": code.system, "code": code.code, "name": code.display, "value": value,
            "unit": code.ucum, "predicted": None, "lln": None, "z_score": None,
            "percent_predicted": None, "record_status": status} | extra  # fmt: skip


def observation_rows(ctx: Ctx, found: Sequence[TherapySession]) -> list[Row]:
    """Long format: one row per measured or scored value (same codes as the FHIR export)."""
    out: list[Row] = []
    for s in found:
        a = assessment.current(ctx=ctx, session_id=s.id)
        if a is None:
            continue
        v = assessment.view(ctx=ctx, a=a)
        when = utc(v["updated_at"])
        for kind, test in sorted(v["spirometry"].items()):
            for param in ("fev1", "fvc", "fev1_fvc"):
                r = (test.get("results") or {}).get(param)
                code = t.SPIROMETRY.get((kind, param))
                if r is None or code is None or r.get("measured") is None:
                    continue
                phase = _PHASE.get(kind, kind)
                out.append(
                    observation_row(
                        s,
                        a.status,
                        phase,
                        test.get("test_date"),
                        code,
                        r["measured"],
                        predicted=r.get("predicted"),
                        lln=r.get("lln"),
                        z_score=r.get("z"),
                        percent_predicted=r.get("percent_predicted"),
                    )
                )
        vitals = v["vitals"] or {}
        pairs = [(codes[0], vitals.get(key)) for key, codes in t.VITALS.items()]
        pairs += [(t.SYSTOLIC, vitals.get("systolic_bp_mmhg")),
                  (t.DIASTOLIC, vitals.get("diastolic_bp_mmhg"))]  # fmt: skip
        scales = v["scales"] or {}
        pairs += [(t.CAT_TOTAL, scales.get("cat_total")), (t.MMRC_GRADE, scales.get("mmrc_grade")),
                  (t.SIX_MINUTE_WALK, scales.get("walk_distance_m"))]  # fmt: skip
        out += [observation_row(s, a.status, "pre-session", when, code, value)
                for code, value in pairs if value is not None]  # fmt: skip
    for extra in _OBSERVATION_ROWS:
        out += extra(ctx, found)
    return out


_OBSERVATION_ROWS: list[TableBuilder] = []


def register_observation_rows(builder: TableBuilder) -> None:
    """Let a step add its rows to the ``observations`` table (same columns, same codes)."""
    if builder not in _OBSERVATION_ROWS:
        _OBSERVATION_ROWS.append(builder)


_BUILDERS.update({"sessions": sessions_rows, "observations": observation_rows})


def rows(ctx: Ctx, table: str, found: Sequence[TherapySession]) -> list[Row]:
    """The rows of ``table`` for the given sessions."""
    return _BUILDERS[table](ctx, found)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def to_csv(table: str, data: Sequence[Mapping[str, Any]]) -> str:
    """CSV with exactly the dictionary's columns; an undefined column is an error."""
    names = [c.name for c in DICTIONARY[table]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in data:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def dictionary_csv() -> str:
    """The data dictionary itself as CSV: table, column, type, unit, meaning."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "column", "type", "unit", "meaning"])
    for table, columns in DICTIONARY.items():
        for c in columns:
            writer.writerow([table, c.name, c.type, c.unit, c.meaning])
    return buffer.getvalue()
