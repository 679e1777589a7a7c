"""The leaflet files: front matter, languages, English fallback, clinic overrides, hashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exoneb.information.content import (
    CONTACT_MARKER,
    PACKAGED_DIR,
    LeafletFileError,
    Library,
)

# What the leaflet must cover, from issue #9, the seed article and reference/clinical.md §2.7.
KEY_SECTIONS_EN = (
    "What is exosome inhalation therapy?",
    "How a session goes",
    "How it compares with other inhaled treatments",
    "Effects you may notice",
    "When to call the clinic",
    "Is this therapy approved?",
    "Please note",
)


def _front(language: str = "en", version: str = "9.9", extra: str = "") -> str:
    return (
        f"---\ntitle: T\nlanguage: {language}\nlanguage_name: N\nversion: '{version}'\n"
        f"date: 2026-11-29\n{extra}---\n"
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_languages_english_first() -> None:
    assert Library().languages() == ["en", "de"]


def test_english_leaflet_covers_the_key_sections() -> None:
    leaflet = Library().leaflet("en")
    assert (leaflet.language, leaflet.version, leaflet.fallback) == ("en", "1.0", False)
    for heading in KEY_SECTIONS_EN:
        assert f"## {heading}\n" in leaflet.markdown, heading
    # the four steps, in the order the seed article gives them
    steps = ["**Check-up.**", "**Getting your dose ready.**", "**Breathing in the mist.**"]
    steps.append("**Rest and watch.**")
    positions = [leaflet.markdown.index(step) for step in steps]
    assert positions == sorted(positions)
    # the comparison table: the four approaches of the seed article
    for row in ("| Exosome inhalation |", "| Standard inhalers |", "| Stem cell inhalation |"):
        assert row in leaflet.markdown
    assert "| Salt water (saline) mist |" in leaflet.markdown
    # regulatory status, reference/clinical.md §2.7
    assert "No exosome product is approved by the US Food and Drug Administration" in (
        " ".join(leaflet.markdown.split())
    )
    assert "IND number" in leaflet.markdown
    assert "ethics board" in leaflet.markdown
    assert "**investigational**" in leaflet.markdown
    # the disclaimer: complementary, not medical advice
    assert "It is not medical advice" in leaflet.markdown
    assert "It is never a swap for the care your own doctors" in leaflet.markdown


def test_contact_section_replaces_the_marker() -> None:
    leaflet = Library().leaflet("en")
    assert CONTACT_MARKER not in leaflet.markdown
    assert "## How to reach the clinic" in leaflet.markdown
    assert leaflet.markdown.index("## When to call the clinic") < leaflet.markdown.index(
        "## How to reach the clinic"
    )


def test_german_translation_is_its_own_leaflet() -> None:
    leaflet = Library().leaflet("de")
    assert (leaflet.language, leaflet.fallback) == ("de", False)
    assert leaflet.front.labels.contents == "Inhalt"
    assert leaflet.front.translation_of == Library().leaflet("en").version
    assert "## So erreichen Sie die Klinik" in leaflet.markdown
    assert leaflet.sha256 != Library().leaflet("en").sha256


def test_missing_translation_falls_back_to_english_for_reading_only() -> None:
    library = Library()
    french = library.leaflet("fr")
    assert (french.language, french.requested_language, french.fallback) == ("en", "fr", True)
    assert french.sha256 == library.leaflet("en").sha256
    assert library.exact("fr") is None  # consent never records English as French


@pytest.mark.parametrize("code", ["../en", "EN", "en_GB", "", "e", "english", "en\n"])
def test_language_codes_are_checked_before_any_file_is_read(code: str) -> None:
    assert Library().exact(code) is None


def test_hash_covers_leaflet_and_contact_and_ignores_line_endings(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    shutil.copytree(PACKAGED_DIR / "en", clinic / "en")
    library = Library(clinic)
    before = library.leaflet("en").sha256
    assert before == Library().leaflet("en").sha256  # same text, same fingerprint
    contact = clinic / "en" / "contact.md"
    contact.write_bytes(contact.read_bytes().replace(b"\n", b"\r\n"))
    assert library.leaflet("en").sha256 == before
    contact.write_text(contact.read_text() + "- Ward 7: 555 0100\n")
    assert library.leaflet("en").sha256 != before


def test_clinic_contact_details_and_translation(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    _write(
        clinic / "en" / "contact.md",
        "---\nlanguage: en\nversion: '2'\n---\n## How to reach the clinic\n\nCall 555 0100.\n",
    )
    _write(clinic / "es" / "leaflet.md", _front("es") + "## Hola\n\nTexto.\n\n[[contact]]\n")
    library = Library(clinic)
    assert library.languages() == ["en", "de", "es"]
    assert "Call 555 0100." in library.leaflet("en").markdown
    # a language without its own clinic contact file still gets the clinic's details
    assert "Call 555 0100." in library.leaflet("de").markdown
    spanish = library.exact("es")
    assert spanish is not None
    assert spanish.version == "9.9"
    assert spanish.markdown.startswith("## Hola")
    assert "Call 555 0100." in spanish.markdown


def test_contact_is_appended_when_the_marker_is_missing(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    _write(clinic / "en" / "leaflet.md", _front() + "## Only section\n\nText.\n")
    markdown = Library(clinic).leaflet("en").markdown
    assert markdown.index("## Only section") < markdown.index("## How to reach the clinic")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## No front matter\n", "must start with a front matter block"),
        ("---\ntitle: [unclosed\n---\nx\n", "not valid YAML"),
        ("---\n- a list\n---\nx\n", "must be 'key: value' lines"),
        (_front(extra="colour: blue\n") + "x\n", "colour: Extra inputs are not permitted"),
        (_front(language="de") + "x\n", "language 'de' does not match its folder 'en'"),
        (_front(version="1 0") + "x\n", "version: String should match pattern"),
        ("---\ntitle: T\nlanguage: en\nlanguage_name: N\ndate: 2026-11-29\n---\nx\n", "version"),
    ],
)
def test_malformed_clinic_file_names_file_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path / "en" / "leaflet.md", text)
    with pytest.raises(LeafletFileError) as err:
        Library(tmp_path).leaflet("en")
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_missing_clinic_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LeafletFileError, match="does not exist"):
        Library(tmp_path / "nowhere")


def test_a_file_saved_with_a_byte_order_mark_reads_like_one_without(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    shutil.copytree(PACKAGED_DIR / "en", clinic / "en")
    leaflet = clinic / "en" / "leaflet.md"
    leaflet.write_bytes(b"\xef\xbb\xbf" + leaflet.read_bytes())  # as Windows Notepad saves
    assert Library(clinic).leaflet("en").sha256 == Library().leaflet("en").sha256
