"""The printed label of a prepared dose: a one-page PDF and an SVG QR code for the page.

The QR code carries the label code and the essentials a scanner at the bedside
must match (patient MRN, lot, dose, use-by), as plain text, so it can be read
by any scanner without exoneb. ReportLab draws both (pure Python, no system
libraries); nothing here reads the database: the service gathers the fields.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

__all__ = ["label_pdf", "qr_payload", "qr_svg"]

LABEL_SIZE = (100 * mm, 70 * mm)
NOTICE = "Investigational product — decision support record, not medical advice."


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def qr_payload(fields: Mapping[str, Any]) -> str:
    """The text in the QR code: label code, MRN, lot, dose, volumes and use-by.

    A blinded label's code holds only what does not reveal the arm: the label
    code (which the system resolves), the MRN, the fill volume and the use-by.
    """
    if fields.get("blinded"):
        return (
            f"EXONEB {fields['label_code']}|MRN {fields['mrn']}|BLINDED"
            f"|FILL {fields['fill_ml']:.2f} mL|USE BY {_when(fields['use_by'])}"
        )
    return (
        f"EXONEB {fields['label_code']}|MRN {fields['mrn']}|LOT {fields['lot']}"
        f"|DOSE {fields['dose']}|STOCK {fields['stock_ml']:.2f} mL"
        f"|SALINE {fields['saline_ml']:.2f} mL|USE BY {_when(fields['use_by'])}"
    )


def _qr_drawing(text: str, size: float) -> Drawing:
    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def qr_svg(text: str, size: float = 120) -> str:
    """An inline SVG QR code drawn with presentation attributes only.

    ReportLab's own SVG renderer writes ``style`` attributes, which the page's
    Content-Security-Policy (``style-src 'self'``) blocks; the dark modules are
    therefore written as one ``<path>`` with a ``fill`` attribute.
    """
    widget = QrCodeWidget(text, barLevel="M")
    _, _, width, height = widget.getBounds()
    scale = size / width
    parts = []
    for shape in widget.draw().contents:
        if getattr(shape, "fillColor", None) is None:
            continue  # the light background
        x, w, h = shape.x * scale, shape.width * scale, shape.height * scale
        y = (height - shape.y) * scale - h  # SVG counts y downwards
        parts.append(f"M{x:.2f} {y:.2f}h{w:.2f}v{h:.2f}h{-w:.2f}z")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:g}" height="{size:g}" '
        f'viewBox="0 0 {size:g} {size:g}" role="img" aria-label="QR code of the label">'
        f'<rect width="{size:g}" height="{size:g}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )


def _dose_lines(fields: Mapping[str, Any]) -> list[str]:
    """Lot, dose and volumes — or, on a blinded label, the fill volume alone."""
    if fields.get("blinded"):
        return [f"Blinded study product: fill {fields['fill_ml']:.2f} mL"]
    dose = fields.get("dose_text") or f"{fields['dose']} particles"
    saline = fields["saline_lot"] or "none"
    lines = [f"Lot {fields['lot']} · saline lot {saline}", f"Dose {dose}"]
    if fields.get("inhaler"):
        return lines
    return [
        *lines,
        f"Stock {fields['stock_ml']:.2f} mL + saline {fields['saline_ml']:.2f} mL "
        f"= {fields['fill_ml']:.2f} mL",
    ]


def label_pdf(fields: Mapping[str, Any]) -> bytes:
    """A 100 × 70 mm label: patient, lot, dose, volumes, prepared by/at, use-by and a QR code."""
    buffer = io.BytesIO()
    width, height = LABEL_SIZE
    pdf = canvas.Canvas(buffer, pagesize=LABEL_SIZE)
    pdf.setTitle(f"Dose label {fields['label_code']}")
    y = height - 7 * mm
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(4 * mm, y, f"{fields['patient']}  (MRN {fields['mrn']})")
    lines = [
        f"Born {fields['birth_date']} · session {fields['session_id']} · {fields['dose_level']}",
        f"{fields['product']}",
        *_dose_lines(fields),
        f"For {fields['nebulizer']}",
        f"Prepared {_when(fields['prepared_at'])} by {fields['prepared_by']}",
        f"Verified by {fields['verified_by'] or '— NOT YET VERIFIED —'}",
    ]
    pdf.setFont("Helvetica", 7.5)
    for line in lines:
        y -= 4.6 * mm
        pdf.drawString(4 * mm, y, line[:70])
    pdf.setFont("Helvetica-Bold", 10)
    y -= 6 * mm
    pdf.drawString(4 * mm, y, f"USE BY {_when(fields['use_by'])}")
    pdf.setFont("Helvetica", 6)
    pdf.drawString(4 * mm, 3 * mm, NOTICE)
    qr = _qr_drawing(qr_payload(fields), 30 * mm)
    renderPDF.draw(qr, pdf, width - 33 * mm, height - 36 * mm)
    pdf.setFont("Helvetica", 7)
    pdf.drawCentredString(width - 18 * mm, height - 39 * mm, str(fields["label_code"]))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
