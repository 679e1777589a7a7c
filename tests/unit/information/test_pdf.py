"""The printable leaflet, read back with pypdf: key sections, the table, version and hash."""

from __future__ import annotations

import io

import pypdf
import pytest

from exoneb.information.content import Library
from exoneb.information.pdf import leaflet_pdf

from .test_content import KEY_SECTIONS_EN


def _text(pdf: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


@pytest.fixture(scope="module")
def english() -> tuple[pypdf.PdfReader, str]:
    return _text(leaflet_pdf(Library().leaflet("en")))


def test_pdf_has_title_and_key_sections(english: tuple[pypdf.PdfReader, str]) -> None:
    reader, text = english
    assert reader.metadata is not None
    assert (
        reader.metadata.title
        == "Exosome inhalation therapy — Information for patients and families"
    )
    for heading in (*KEY_SECTIONS_EN, "How to reach the clinic"):
        assert heading in text, heading


def test_pdf_has_the_four_steps_and_the_comparison_table(
    english: tuple[pypdf.PdfReader, str],
) -> None:
    _, text = english
    steps = ["1. Check-up.", "2. Getting your dose ready.", "3. Breathing in the mist."]
    steps.append("4. Rest and watch.")
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    for cell in (
        "What you breathe in",
        "Exosome inhalation",
        "Standard inhalers",
        "Stem cell inhalation",
        "Salt water (saline) mist",
    ):
        assert cell in text, cell


def test_pdf_has_effects_regulatory_status_and_disclaimer(
    english: tuple[pypdf.PdfReader, str],
) -> None:
    _, text = english
    for phrase in (
        "A tickle or mild soreness in the throat.",
        "A cough.",
        "A fever in the three days after the session.",
        "No exosome product is approved by the US Food and Drug Administration (FDA).",
        "investigational",
        "IND number",
        "It is not medical advice about you.",
        "It does not replace the treatment your doctors prescribed.",
    ):
        assert phrase in text, phrase


def test_every_page_names_version_language_and_hash() -> None:
    leaflet = Library().leaflet("en")
    reader, _ = _text(leaflet_pdf(leaflet))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        assert f"version 1.0 (2026-11-29) · en · {leaflet.sha256[:12]}" in page.extract_text()


def test_german_pdf_keeps_umlauts() -> None:
    _, text = _text(leaflet_pdf(Library().leaflet("de")))
    assert "Exosomen-Inhalationstherapie" in text
    assert "Was Sie spüren können" in text
    assert "Außerhalb der Sprechzeiten" in text


def test_unexpected_markdown_is_printed_not_dropped() -> None:
    leaflet = Library().leaflet("en")
    odd = leaflet.__class__(
        front=leaflet.front,
        markdown="> A quoted line.\n\n```\ncode line\n```\n\n### Small heading\n\n---\n",
        sha256=leaflet.sha256,
        requested_language="en",
        leaflet_file=leaflet.leaflet_file,
        contact_file=leaflet.contact_file,
    )
    _, text = _text(leaflet_pdf(odd))
    for kept in ("A quoted line.", "code line", "Small heading"):
        assert kept in text
