"""Reading the leaflet for the public page, the PDF and the consent record.

Reading patient information is public (no login, nothing about any patient),
so these functions take the settings instead of a ``ctx`` and write no audit
rows; what *is* audited is the consent that records which leaflet a patient
received (``patients.service.record_consent``).
"""

from __future__ import annotations

from dataclasses import dataclass

from exoneb.core.config import Settings
from exoneb.core.errors import InvalidInput, NotFound, RuleViolation
from exoneb.information.content import LANGUAGE_PATTERN, Leaflet, Library
from exoneb.information.pdf import leaflet_pdf
from exoneb.information.render import Section, to_html


@dataclass(frozen=True, slots=True)
class LeafletChoice:
    """One leaflet staff can record as given (a language in which a leaflet exists)."""

    language: str
    language_name: str
    version: str
    sha256: str

    @property
    def label(self) -> str:
        """What the consent form shows."""
        return f"{self.language_name} ({self.language}), version {self.version}"

    @property
    def option(self) -> tuple[str, str]:
        """``(value, text)`` for a form's select."""
        return self.language, self.label


@dataclass(frozen=True, slots=True)
class LeafletPage:
    """A leaflet ready for the page: its HTML, sections and the other languages."""

    leaflet: Leaflet
    html: str
    sections: list[Section]
    choices: list[LeafletChoice]


def library(settings: Settings) -> Library:
    """The shipped leaflets with the clinic's own files (``EXONEB_INFORMATION_DIR``) on top."""
    return Library(settings.information_dir)


def _checked_language(language: str) -> str:
    if not LANGUAGE_PATTERN.fullmatch(language):
        raise NotFound("No patient information in this language.")
    return language


def leaflets(*, settings: Settings) -> list[Leaflet]:
    """Every leaflet in its own language, English first (no fallbacks)."""
    lib = library(settings)
    found = (lib.exact(code) for code in lib.languages())
    return [leaflet for leaflet in found if leaflet is not None]


def choices(*, settings: Settings) -> list[LeafletChoice]:
    """The leaflets staff can record as given with a consent."""
    return [
        LeafletChoice(
            language=leaflet.language,
            language_name=leaflet.front.language_name,
            version=leaflet.version,
            sha256=leaflet.sha256,
        )
        for leaflet in leaflets(settings=settings)
    ]


def page(*, settings: Settings, language: str) -> LeafletPage:
    """The leaflet for the public page; an untranslated language shows English (``fallback``)."""
    leaflet = library(settings).leaflet(_checked_language(language))
    html, sections = to_html(leaflet.markdown)
    return LeafletPage(
        leaflet=leaflet, html=html, sections=sections, choices=choices(settings=settings)
    )


def pdf(*, settings: Settings, language: str) -> tuple[Leaflet, bytes]:
    """The printable leaflet (English when ``language`` is not translated)."""
    leaflet = library(settings).leaflet(_checked_language(language))
    return leaflet, leaflet_pdf(leaflet)


def leaflet_given(*, settings: Settings, language: str, version: str | None = None) -> Leaflet:
    """The leaflet a patient was given, for the consent record — never a fallback.

    Refuses a language without its own leaflet (recording English as if it were
    the translation would be false), and, when ``version`` is given (the one the
    form showed), a leaflet that has changed since, so the record names the text
    the patient actually read.
    """
    leaflet = library(settings).exact(language)
    if leaflet is None:
        offered = ", ".join(c.language for c in choices(settings=settings))
        raise InvalidInput(
            f"There is no patient information leaflet in {language!r}; "
            f"leaflets exist in: {offered}.",
            field="leaflet_language",
        )
    if version is not None and version != leaflet.version:
        raise RuleViolation(
            f"The {leaflet.front.language_name} leaflet is now version {leaflet.version}, "
            f"not {version}. Check which version the patient received and record that one."
        )
    return leaflet
