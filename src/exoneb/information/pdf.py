"""The printable leaflet: the same Markdown as the page, laid out with ReportLab.

ReportLab installs from PyPI without system libraries (STYLE.md §1), so the
leaflet prints on any clinic machine. Only the Markdown the leaflet uses is
laid out — headings, paragraphs, bold/italic, links, bullet and numbered
lists, tables — and anything else is shown as its plain text rather than
dropped, so an edit a clinic makes never silently disappears from the print.
Every page carries the version, language and the first characters of the
content hash, so a printed copy can be matched to the consent record.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from markdown_it.token import Token
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from exoneb.information.content import Leaflet
from exoneb.information.render import tokens

_base = getSampleStyleSheet()
# 12 pt body text and 1.4 line spacing: large print for older readers.
BODY = ParagraphStyle("LeafletBody", parent=_base["BodyText"], fontSize=12, leading=17,
                      spaceAfter=5, alignment=TA_LEFT)  # fmt: skip
TITLE = ParagraphStyle("LeafletTitle", parent=_base["Title"], fontSize=22, leading=27,
                       alignment=TA_LEFT, spaceAfter=2)  # fmt: skip
SUBTITLE = ParagraphStyle("LeafletSubtitle", parent=BODY, fontSize=14, leading=19, spaceAfter=10)
H2 = ParagraphStyle("LeafletH2", parent=_base["Heading2"], fontSize=15, leading=19,
                    spaceBefore=10, spaceAfter=4, textColor=colors.HexColor("#0b5cad"))  # fmt: skip
CELL = ParagraphStyle("LeafletCell", parent=BODY, fontSize=10.5, leading=14, spaceAfter=0)
CELL_HEAD = ParagraphStyle("LeafletCellHead", parent=CELL, fontName="Helvetica-Bold")

_INLINE_TAGS = {
    "strong_open": "<b>", "strong_close": "</b>", "em_open": "<i>", "em_close": "</i>",
    "s_open": "<strike>", "s_close": "</strike>", "link_close": "</a>",
    "softbreak": " ", "hardbreak": "<br/>",
}  # fmt: skip


def _inline(tok: Token) -> str:
    """ReportLab paragraph markup for one inline token (text escaped)."""
    out: list[str] = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            out.append(escape(child.content))
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
            out.append(f'<a href="{escape(href, {chr(34): "&quot;"})}" color="#0b5cad">')
        elif child.type in _INLINE_TAGS:
            out.append(_INLINE_TAGS[child.type])
        else:  # anything unexpected: keep its text
            out.append(escape(child.content))
    return "".join(out)


def _close_of(toks: Sequence[Token], start: int) -> int:
    """Index of the token closing the one opened at ``start``."""
    depth = 0
    for i in range(start, len(toks)):
        depth += toks[i].nesting
        if depth == 0:
            return i
    raise ValueError("unbalanced Markdown tokens")  # markdown-it always balances them


def _table(toks: Sequence[Token]) -> Table:
    rows: list[list[Paragraph]] = []
    for i, tok in enumerate(toks):
        if tok.type == "tr_open":
            rows.append([])
        elif tok.type == "inline":
            head = toks[i - 1].type == "th_open"
            rows[-1].append(Paragraph(_inline(tok), CELL_HEAD if head else CELL))
    width = A4[0] - 40 * mm
    ncols = max(len(r) for r in rows)
    table = Table(rows, colWidths=[width / ncols] * ncols, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8c959f")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6edf3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _flowables(toks: Sequence[Token]) -> list[Flowable]:
    """Lay out a run of block tokens."""
    out: list[Flowable] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.type == "heading_open":
            style = H2 if tok.tag in ("h1", "h2") else _base["Heading3"]
            out.append(Paragraph(_inline(toks[i + 1]), style))
            i += 3
        elif tok.type == "paragraph_open":
            out.append(Paragraph(_inline(toks[i + 1]), BODY))
            i += 3
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            end = _close_of(toks, i)
            items: list[ListItem] = []
            j = i + 1
            while j < end:
                item_end = _close_of(toks, j)
                items.append(ListItem(_flowables(toks[j + 1 : item_end]), leftIndent=16))
                j = item_end + 1
            kind: dict[str, Any] = (
                {"bulletType": "1", "bulletFormat": "%s."}
                if tok.type == "ordered_list_open"
                else {"bulletType": "bullet", "start": "•"}
            )
            out.append(ListFlowable(items, leftIndent=16, bulletFontSize=12, **kind))
            i = end + 1
        elif tok.type == "table_open":
            end = _close_of(toks, i)
            out.append(Spacer(1, 4))
            out.append(_table(toks[i : end + 1]))
            out.append(Spacer(1, 8))
            i = end + 1
        elif tok.type == "hr":
            out.append(Spacer(1, 8))
            i += 1
        elif tok.type == "inline":
            out.append(Paragraph(_inline(tok), BODY))
            i += 1
        elif tok.type in ("fence", "code_block", "html_block"):
            out.append(Paragraph(escape(tok.content).replace("\n", "<br/>"), BODY))
            i += 1
        else:  # structural tokens (blockquote_open, …): their content follows
            i += 1
    return out


def _keep_headings_with_next(flowables: list[Flowable]) -> list[Flowable]:
    """Never leave a section heading alone at the bottom of a page."""
    out: list[Flowable] = []
    i = 0
    while i < len(flowables):
        item = flowables[i]
        if isinstance(item, Paragraph) and item.style is H2 and i + 1 < len(flowables):
            out.append(KeepTogether([item, flowables[i + 1]]))
            i += 2
        else:
            out.append(item)
            i += 1
    return out


def leaflet_pdf(leaflet: Leaflet) -> bytes:
    """The leaflet as an A4 PDF (title, sections, footer with version and hash on each page)."""
    front = leaflet.front
    buffer = io.BytesIO()
    footer = (
        f"{front.title} · version {front.version} ({front.date.isoformat()}) · "
        f"{front.language} · {leaflet.sha256[:12]}"
    )

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(colors.HexColor("#444c56"))
        canvas.drawString(20 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=f"{front.title} — {front.subtitle}" if front.subtitle else front.title,
        subject=f"Patient information leaflet, version {front.version}",
        author="exoneb",
        creator="exoneb",
        lang=front.language,
    )
    story: list[Flowable] = [Paragraph(escape(front.title), TITLE)]
    if front.subtitle:
        story.append(Paragraph(escape(front.subtitle), SUBTITLE))
    story.extend(_keep_headings_with_next(_flowables(tokens(leaflet.markdown))))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
