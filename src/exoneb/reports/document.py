"""The content of a report as plain data, and its SHA-256 fingerprint. Pure: no I/O.

A report (session record, patient course, protocol safety overview) is built
once as a :class:`Report` of :class:`Section` s — items, tables, plot specs
and signature lines — and then rendered twice, as an HTML page and as a PDF.
Both renderings read the same object, so what is printed is what is shown.

Why a fingerprint: a printed report leaves the system. Its canonical JSON
(sorted keys, no whitespace, UTF-8, no NaN) is hashed with SHA-256 and the
digest is printed on every page. Anyone holding the paper can ask exoneb to
rebuild the report from the stored record and compare digests
(:func:`exoneb.reports.service.verify_session_report`): a record edited behind
the system's back — or a paper copy altered by hand — no longer matches.

Only record content goes into the hash. When and by whom the copy was
generated is kept apart in :class:`Issue` (printed on the page, recorded in
the audit trail), so two copies of the same record carry the same digest.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

FORMAT = "exoneb.report/1"
"""Version of the report content layout; part of the hashed content."""

NOT_RECORDED = "not recorded"
"""What a report shows for a value, a table or a whole step with no record."""

Cell = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled value; ``None`` is shown as "not recorded", never as blank."""

    label: str
    value: Cell
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its heading and the unit of its values ("" when none)."""

    name: str
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    """A table of values with a caption (also the accessible name of the table)."""

    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Table {self.caption!r}: a row has {len(row)} cells for "
                    f"{len(self.columns)} columns."
                )


@dataclass(frozen=True, slots=True)
class Series:
    """One line (or set of bars) of a plot: x positions or category labels, and y values."""

    label: str
    x: tuple[str | float, ...]
    y: tuple[float | None, ...]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"Series {self.label!r}: {len(self.x)} x values, {len(self.y)} y.")


@dataclass(frozen=True, slots=True)
class ReferenceLine:
    """A horizontal line the reader compares against (e.g. the LLN at z = −1.645)."""

    label: str
    y: float


@dataclass(frozen=True, slots=True)
class PlotSpec:
    """What to draw, not how: the data of one figure with its title, axes and units.

    The hash covers this spec, so a report's figures are fingerprinted by their
    data; :mod:`exoneb.reports.plots` turns the spec into SVG (page) and PNG (PDF).
    ``alt`` is the text alternative shown to screen readers and printed under
    the figure; the values themselves are always also given in a table.
    """

    key: str
    title: str
    x_label: str
    y_label: str
    y_unit: str
    series: tuple[Series, ...]
    alt: str
    kind: str = "line"  # line | bar
    reference_lines: tuple[ReferenceLine, ...] = ()
    x_unit: str = ""


@dataclass(frozen=True, slots=True)
class SignatureLine:
    """One e-signature as printed: who (printed name), when (UTC), what it means."""

    record: str
    signer: str
    meaning: str
    statement: str
    signed_at_utc: str
    valid: bool | None
    content_sha256: str


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a report (a therapy step, the patient, the protocol…).

    ``recorded`` is False when the step has no record yet: the section then
    says so in words ("not recorded") instead of being left out, so a reader
    can tell a missing step from a forgotten page.
    """

    key: str
    title: str
    recorded: bool
    status: str = ""
    items: tuple[Item, ...] = ()
    tables: tuple[Table, ...] = ()
    plots: tuple[PlotSpec, ...] = ()
    signatures: tuple[SignatureLine, ...] = ()
    notes: tuple[str, ...] = ()


def not_recorded(key: str, title: str, note: str = "") -> Section:
    """A section for a step with no record (or whose package has not landed)."""
    notes = (note,) if note else ()
    return Section(key=key, title=title, recorded=False, status=NOT_RECORDED, notes=notes)


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report: what kind, about whom/what, and its sections in order."""

    kind: str  # session | course | safety
    title: str
    subject: str
    sections: tuple[Section, ...]
    disclaimer: str
    format: str = FORMAT
    record_refs: Mapping[str, Any] = field(default_factory=dict)

    def section(self, key: str) -> Section:
        """The section with ``key`` (KeyError when absent)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class Issue:
    """When and by whom a copy was generated: printed, audited, not hashed."""

    generated_at_utc: str
    generated_by: str


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("A report value is not a finite number; refusing to fingerprint it.")
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def canonical_json(report: Report) -> str:
    """The report content as canonical JSON: sorted keys, compact, UTF-8, finite numbers."""
    data = _json_ready(asdict(report))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)  # fmt: skip


def fingerprint(report: Report) -> str:
    """SHA-256 (hex) of :func:`canonical_json` — the digest printed on every page."""
    return hashlib.sha256(canonical_json(report).encode("utf-8")).hexdigest()


def short(digest: str) -> str:
    """The digest in groups of eight for reading aloud or typing from paper."""
    return " ".join(digest[i : i + 8] for i in range(0, len(digest), 8))


def normalise_digest(text: str) -> str:
    """A digest typed from paper: spaces and case ignored."""
    return "".join(text.split()).lower()


def display(value: Cell, unit: str = "") -> str:
    """How a cell is shown in HTML and PDF alike (one function, so both agree)."""
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 1e5 else f"{value:.3e}"
        if abs(value) >= 1 and abs(value) < 1e5:
            text = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit else text


def rows_of(series: Sequence[Series]) -> tuple[tuple[Cell, ...], ...]:
    """The values of plot series as table rows (x, then one column per series)."""
    xs: list[str | float] = []
    for s in series:
        for x in s.x:
            if x not in xs:
                xs.append(x)
    lookup = [dict(zip(s.x, s.y, strict=True)) for s in series]
    return tuple((x, *(m.get(x) for m in lookup)) for x in xs)


def plot_values(spec: PlotSpec) -> Table:
    """The values drawn in a figure as a table (page and PDF print the same one)."""
    cols = (Column(spec.x_label, spec.x_unit),
            *(Column(s.label, spec.y_unit) for s in spec.series))  # fmt: skip
    return Table(f"Values of “{spec.title}”", cols, rows_of(spec.series))
