"""Safe Markdown → HTML for the leaflet, and the leaflet's plain text (for readability).

The leaflet files are edited by clinic staff, so the renderer treats them as
untrusted text: raw HTML is escaped (markdown-it's ``js-default`` preset has
``html`` off), links are limited to safe schemes by markdown-it's link
validation (no ``javascript:``, ``vbscript:``, ``file:`` or ``data:``), and
images are switched off (the page's CSP allows no other origin, and a leaflet
should not depend on pictures to be understood). Every ``##`` section gets an
``id`` so the page can offer a table of contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

_md = MarkdownIt("js-default").disable("image")


@dataclass(frozen=True, slots=True)
class Section:
    """A ``##`` heading: its anchor id and text (for the table of contents)."""

    anchor: str
    title: str


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-") or "section"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def tokens(markdown: str) -> list[Token]:
    """The parsed block tokens (shared by the HTML page and the PDF)."""
    return _md.parse(markdown)


def to_html(markdown: str) -> tuple[str, list[Section]]:
    """The HTML of ``markdown`` (escaped, safe links) and its ``##`` sections."""
    toks = tokens(markdown)
    taken: set[str] = set()
    sections: list[Section] = []
    for i, tok in enumerate(toks):
        if tok.type == "heading_open" and tok.tag == "h2":
            title = toks[i + 1].content
            anchor = _slug(title, taken)
            tok.attrSet("id", anchor)
            sections.append(Section(anchor=anchor, title=title))
        elif tok.type == "th_open":
            tok.attrSet("scope", "col")
    return _md.renderer.render(toks, _md.options, {}), sections


_BLOCK_END = re.compile(r"[.!?:]$")


def plain_sentences(markdown: str, *, headings: bool = False) -> str:
    """The text a patient reads, one block (paragraph, list item, table cell) per line.

    Each block ends with a full stop if it has no end punctuation, so a
    readability formula counts list items and table cells as the short
    sentences they are instead of one run-on sentence. Headings are left out
    unless ``headings`` (they are labels, not sentences).
    """
    blocks: list[str] = []
    in_heading = False
    for tok in tokens(markdown):
        if tok.type == "heading_open":
            in_heading = True
        elif tok.type == "heading_close":
            in_heading = False
        elif tok.type == "inline" and (headings or not in_heading):
            text = "".join(
                child.content
                for child in tok.children or []
                if child.type in ("text", "code_inline")
            )
            text = " ".join(text.split())
            if not text or set(text) <= set("_-: "):
                continue
            blocks.append(text if _BLOCK_END.search(text) else text + ".")
    return "\n".join(blocks)
