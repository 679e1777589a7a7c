"""The dose label: a one-page PDF with the fields the bedside needs, and a CSP-safe QR code."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from exoneb.preparation.label import label_pdf, qr_payload, qr_svg

FIELDS = {
    "label_code": "EXN-0123456789", "patient": "Doe, Jane", "mrn": "MRN-1",
    "birth_date": "1961-02-03", "session_id": 7, "dose_level": "DL1",
    "product": "MSC-EV inhalation suspension", "lot": "EV-0001", "saline_lot": "NS-1",
    "dose": "2.00×10^8", "stock_ml": 0.1, "saline_ml": 2.9, "fill_ml": 3.0,
    "nebulizer": "Aerogen Solo / Aeroneb Pro", "prepared_by": "Pat Pharmacist",
    "prepared_at": datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
    "use_by": datetime(2026, 1, 5, 10, 0, tzinfo=UTC), "verified_by": None,
}  # fmt: skip


def test_the_label_pdf_has_one_page_with_every_field() -> None:
    pdf = label_pdf(FIELDS)
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in ("Doe, Jane", "MRN-1", "EV-0001", "NS-1", "0.10 mL", "2.90 mL", "3.00 mL",
                     "USE BY 2026-01-05 10:00 UTC", "NOT YET VERIFIED", "EXN-0123456789",
                     "not medical advice"):  # fmt: skip
        assert expected in text, expected


def test_the_qr_code_carries_the_essentials_and_no_inline_style() -> None:
    payload = qr_payload(FIELDS)
    assert payload.startswith("EXONEB EXN-0123456789|MRN MRN-1|LOT EV-0001")
    assert "USE BY 2026-01-05 10:00 UTC" in payload
    svg = qr_svg(payload)
    assert svg.startswith("<svg")
    assert "style=" not in svg  # the page's CSP forbids inline styles
    assert 'fill="#000"' in svg
