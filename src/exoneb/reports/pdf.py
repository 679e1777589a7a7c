"""A :class:`~exoneb.reports.document.Report` as a PDF (ReportLab platypus).

Every page carries, in its footer, the report's SHA-256 fingerprint, the page
number, when and by whom the copy was generated, and the reminder that exoneb
is decision support — so any single page taken out of a binder can still be
checked against the record and is never mistaken for advice.

Text uses DejaVu Sans (shipped inside matplotlib, so no system font is
needed) because the built-in PDF fonts cannot print characters such as "≥"
or "²". Figures are the PNG rendering of the same matplotlib figure the page
shows as SVG (:mod:`exoneb.reports.plots`), each followed by its text
alternative and its values as a table.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from exoneb.reports import plots
from exoneb.reports.document import (
    NOT_RECORDED,
    Column,
    Issue,
    PlotSpec,
    Report,
    Section,
    display,
    plot_values,
)
from exoneb.reports.document import Table as DataTable

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
_registered = False


def _fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(TTFont(FONT, str(_FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_FONT_DIR / "DejaVuSans-Bold.ttf")))
        _registered = True


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, alignment=TA_LEFT)
    return {
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=7.5, leading=9.5),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=11.5,
            leading=15,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "h3": ParagraphStyle(
            "h3",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=9,
            leading=12,
            spaceBefore=6,
            spaceAfter=2,
        ),
        "missing": ParagraphStyle(
            "missing",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10,
            textColor=colors.HexColor("#8A3B00"),
        ),
        "caption": ParagraphStyle(
            "caption", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#333333")
        ),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


_GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
])  # fmt: skip


def _table(t: DataTable, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    out: list[Flowable] = [_p(t.caption, st["h3"])]
    if not t.rows:
        return [*out, _p(NOT_RECORDED, st["body"])]
    head = [_p(f"{c.name} ({c.unit})" if c.unit else c.name, st["head"]) for c in t.columns]
    body = [[_p(display(cell), st["cell"]) for cell in row] for row in t.rows]
    table = Table([head, *body], colWidths=[width / len(t.columns)] * len(t.columns),
                  repeatRows=1)  # fmt: skip
    table.setStyle(_GRID)
    return [*out, table]


def _items(section: Section, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    if not section.items:
        return []
    rows = [[_p(i.label, st["head"]), _p(display(i.value, i.unit), st["cell"])]
            for i in section.items]  # fmt: skip
    table = Table(rows, colWidths=[width * 0.35, width * 0.65])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#BBBBBB")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))  # fmt: skip
    return [table]


def _plot(spec: PlotSpec, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rendered = plots.render(spec)
    w_in, h_in = plots.FIGSIZE_IN
    img_w = min(width, 15 * cm)
    image = Image(io.BytesIO(rendered.png), width=img_w, height=img_w * h_in / w_in)
    figure = KeepTogether([image, _p(f"Figure: {spec.alt}", st["caption"])])
    return [figure, *_table(plot_values(spec), st, width)]


def _signatures(section: Section, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    if not section.signatures:
        return []
    cols = (Column("Record"), Column("Printed name"), Column("Meaning"), Column("Statement"),
            Column("Signed (UTC)"), Column("Matches record"))  # fmt: skip
    rows = tuple((s.record, s.signer, s.meaning, s.statement, s.signed_at_utc,
                  None if s.valid is None else ("yes" if s.valid else "NO — record changed"))
                 for s in section.signatures)  # fmt: skip
    return _table(DataTable("Signatures", cols, rows), st, width)


def _section(section: Section, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    out: list[Flowable] = [_p(section.title, st["h2"])]
    if not section.recorded:
        out.append(_p(f"{section.title}: {NOT_RECORDED.upper()}", st["missing"]))
    elif section.status:
        out.append(_p(f"Status: {section.status}", st["body"]))
    out += [_p(n, st["body"]) for n in section.notes]
    out += _items(section, st, width)
    for spec in section.plots:
        out += _plot(spec, st, width)
    for t in section.tables:
        out += _table(t, st, width)
    out += _signatures(section, st, width)
    return out


def render(report: Report, *, digest: str, issue: Issue) -> bytes:
    """The report as PDF bytes; ``digest`` (its fingerprint) goes on every page."""
    _fonts()
    st = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=1.6 * cm, rightMargin=1.6 * cm, topMargin=1.5 * cm,
        bottomMargin=2.4 * cm, title=report.title, author="exoneb", subject=report.subject,
        creator="exoneb", producer="exoneb (ReportLab)",
    )  # fmt: skip
    width = doc.width

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(doc.leftMargin, 1.5 * cm, f"Report SHA-256: {digest}")
        canvas.drawRightString(doc.leftMargin + width, 1.5 * cm, f"Page {document.page}")
        canvas.drawString(
            doc.leftMargin,
            1.15 * cm,
            f"{report.title} · generated {issue.generated_at_utc} by "
            f"{issue.generated_by} · check a copy: Reports → Verify a report",
        )
        canvas.drawString(doc.leftMargin, 0.8 * cm,
                          "Decision support and record keeping, not medical advice.")  # fmt: skip
        canvas.restoreState()

    story: list[Flowable] = [
        _p(report.title, st["h1"]), _p(report.subject, st["body"]),
        _p(f"Generated {issue.generated_at_utc} by {issue.generated_by}.", st["body"]),
        _p(f"Fingerprint (SHA-256 of the report content): {digest}", st["body"]),
        _p(report.disclaimer, st["caption"]), Spacer(1, 4),
    ]  # fmt: skip
    for section in report.sections:
        story += _section(section, st, width)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
