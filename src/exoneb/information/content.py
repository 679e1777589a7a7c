"""The patient-information leaflet as editable Markdown files, with clinic overrides.

Why files and not templates: a clinic must be able to change the wording, add
its contact details and translate the leaflet without touching code. Each
language is a folder holding ``leaflet.md`` (the text) and ``contact.md`` (how
to reach the clinic), each with a YAML front matter block::

    content/en/leaflet.md     the default English text shipped with exoneb
    content/de/leaflet.md     a translation
    <EXONEB_INFORMATION_DIR>/<lang>/leaflet.md|contact.md   the clinic's own files

A clinic file replaces the shipped file of the same language and name; a
clinic may add languages. A language without a leaflet falls back to English
for reading (the page says so; the PDF is the English one), but consent can only record a leaflet
that exists in the language asked for, so the record never claims a
translation the patient did not get.

Files are read on every call (they are small), so an edit shows at once; the
SHA-256 recorded with a consent proves which wording the patient received
even if someone edited a file without raising its ``version``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PACKAGED_DIR = Path(__file__).resolve().parent / "content"
"""The leaflets shipped with exoneb (``content/<lang>/``)."""

DEFAULT_LANGUAGE = "en"
"""The language every other falls back to; it must always exist."""

CONTACT_MARKER = "[[contact]]"
"""A line in ``leaflet.md`` replaced by the clinic's ``contact.md`` (appended when absent)."""

LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
"""BCP 47 language, optionally with a region (``en``, ``de``, ``pt-BR``); also keeps paths safe."""

_FRONT_MATTER = re.compile(r"\A---\n(?P<front>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)


class LeafletFileError(ValueError):
    """A leaflet or contact file is malformed; the message names the file and the problem."""


class _Front(BaseModel):
    """What every front matter block has: its language (checked against the folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field(pattern=LANGUAGE_PATTERN.pattern)


class Labels(BaseModel):
    """The few page words around the leaflet text, so a translation can translate them too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contents: str = Field(default="Contents", max_length=60)
    languages: str = Field(default="Languages", max_length=60)
    version: str = Field(default="Version", max_length=60)
    download: str = Field(default="Print or download this leaflet (PDF)", max_length=120)


class LeafletFront(_Front):
    """The front matter of ``leaflet.md``: what the leaflet is and which version."""

    title: str = Field(min_length=1, max_length=200)
    subtitle: str = Field(default="", max_length=200)
    language_name: str = Field(min_length=1, max_length=60, description="In its own language.")
    version: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$")
    date: date
    translation_of: str | None = Field(
        default=None, max_length=20, description="The English version this translates."
    )
    labels: Labels = Field(default_factory=Labels)


class ContactFront(_Front):
    """The front matter of ``contact.md``."""

    version: str = Field(min_length=1, max_length=20)


@dataclass(frozen=True, slots=True)
class Leaflet:
    """One leaflet as a patient receives it: the text with the clinic's contact section."""

    front: LeafletFront
    markdown: str
    """The body with the contact section in place: what the page and the PDF show."""
    sha256: str
    """SHA-256 of the leaflet file then the contact file (UTF-8, LF line endings)."""
    requested_language: str
    leaflet_file: Path
    contact_file: Path

    @property
    def language(self) -> str:
        """The language of the text (may differ from the one asked for: see ``fallback``)."""
        return self.front.language

    @property
    def version(self) -> str:
        """The leaflet version from its front matter."""
        return self.front.version

    @property
    def fallback(self) -> bool:
        """True when the language asked for has no leaflet and English is shown instead."""
        return self.requested_language != self.front.language


def _split(path: Path) -> tuple[dict[str, Any], str, str]:
    """Front matter, body and normalised full text of one Markdown file."""
    try:
        text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")  # BOM: Notepad
    except UnicodeDecodeError as exc:
        raise LeafletFileError(f"{path}: not UTF-8 text ({exc.reason}).") from exc
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise LeafletFileError(
            f"{path}: must start with a front matter block between two '---' lines."
        )
    try:
        front = yaml.safe_load(match["front"])
    except yaml.YAMLError as exc:
        raise LeafletFileError(f"{path}: the front matter is not valid YAML: {exc}") from exc
    if not isinstance(front, dict):
        raise LeafletFileError(f"{path}: the front matter must be 'key: value' lines.")
    return front, match["body"].strip("\n") + "\n", text


_F = TypeVar("_F", bound=_Front)


def _validated(model: type[_F], data: dict[str, Any], path: Path, language: str) -> _F:
    """The front matter as ``model``, or :class:`LeafletFileError` naming each problem."""
    try:
        front = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {err['msg']}"
            for err in exc.errors()
        )
        raise LeafletFileError(f"{path}: {problems}") from exc
    if front.language != language:
        raise LeafletFileError(
            f"{path}: language {front.language!r} does not match its folder {language!r}."
        )
    return front


class Library:
    """The leaflets available to one exoneb installation (shipped files + the clinic's)."""

    def __init__(self, clinic_dir: Path | None = None, packaged_dir: Path = PACKAGED_DIR) -> None:
        """Look in ``clinic_dir`` first (when set), then in the shipped ``packaged_dir``."""
        self.dirs = [d for d in (clinic_dir, packaged_dir) if d is not None]
        if clinic_dir is not None and not clinic_dir.is_dir():
            raise LeafletFileError(f"{clinic_dir}: the information folder does not exist.")

    def _find(self, language: str, name: str) -> Path | None:
        for base in self.dirs:
            path = base / language / name
            if path.is_file():
                return path
        return None

    def _find_contact(self, language: str) -> Path | None:
        """The clinic's contact details win over the shipped placeholder, even in English.

        Order: clinic/<lang>, clinic/en, shipped/<lang>, shipped/en — a phone
        number in an English block is more use to a patient than a translated
        "no contact details yet".
        """
        for base in self.dirs:
            for code in dict.fromkeys((language, DEFAULT_LANGUAGE)):
                path = base / code / "contact.md"
                if path.is_file():
                    return path
        return None

    def languages(self) -> list[str]:
        """The languages with a leaflet, English first, then alphabetically."""
        found = {
            child.name
            for base in self.dirs
            for child in base.iterdir()
            if LANGUAGE_PATTERN.fullmatch(child.name) and (child / "leaflet.md").is_file()
        }
        return sorted(found, key=lambda code: (code != DEFAULT_LANGUAGE, code))

    def exact(self, language: str) -> Leaflet | None:
        """The leaflet in exactly ``language``, or ``None`` when there is no such translation."""
        if not LANGUAGE_PATTERN.fullmatch(language):
            return None
        leaflet_file = self._find(language, "leaflet.md")
        if leaflet_file is None:
            return None
        return self._load(language, leaflet_file, requested=language)

    def leaflet(self, language: str = DEFAULT_LANGUAGE) -> Leaflet:
        """The leaflet in ``language``, or the English one when it is not translated."""
        found = self.exact(language)
        if found is not None:
            return found
        english = self._find(DEFAULT_LANGUAGE, "leaflet.md")
        if english is None:
            raise LeafletFileError(f"No {DEFAULT_LANGUAGE}/leaflet.md in {self.dirs}.")
        return self._load(DEFAULT_LANGUAGE, english, requested=language)

    def _load(self, language: str, leaflet_file: Path, *, requested: str) -> Leaflet:
        data, body, leaflet_text = _split(leaflet_file)
        front = _validated(LeafletFront, data, leaflet_file, language)
        contact_file = self._find_contact(language)
        if contact_file is None:
            raise LeafletFileError(f"No contact.md for {language!r} or {DEFAULT_LANGUAGE!r}.")
        contact_data, contact_body, contact_text = _split(contact_file)
        _validated(ContactFront, contact_data, contact_file, contact_file.parent.name)
        lines = body.split("\n")
        if CONTACT_MARKER in (line.strip() for line in lines):
            markdown = "\n".join(
                contact_body.rstrip("\n") if line.strip() == CONTACT_MARKER else line
                for line in lines
            )
        else:
            markdown = body + "\n" + contact_body
        digest = hashlib.sha256(
            leaflet_text.encode("utf-8") + b"\n\x00\n" + contact_text.encode("utf-8")
        ).hexdigest()
        return Leaflet(
            front=front,
            markdown=markdown,
            sha256=digest,
            requested_language=requested,
            leaflet_file=leaflet_file,
            contact_file=contact_file,
        )
