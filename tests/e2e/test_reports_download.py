"""In chromium: open a demo session's report (no serious axe-core violations), see its fingerprint,
download the PDF and find the same fingerprint printed in it; the course page shows SVG
figures within the Content Security Policy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from .conftest import DEMO_PASSWORD
from .test_information_a11y import _violations

pytestmark = pytest.mark.e2e


def test_physician_downloads_a_session_report(server: str, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(base_url=server, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/login")
    page.get_by_label("Username").fill("dr.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")

    page.get_by_role("link", name="Lovelace, Ada").click()
    page.wait_for_url(re.compile(r".*/patients/\d+$"))
    page.get_by_role("link", name="Patient course report").click()
    page.wait_for_url(re.compile(r".*/course$"))
    page.get_by_role("heading", level=1).wait_for()
    serious, everything = _violations(page)
    print(f"\naxe course report: {everything or 'no violations'}")
    assert serious == []
    page.go_back()
    page.wait_for_url(re.compile(r".*/patients/\d+$"))
    page.locator("#sessions .timeline a").first.click()
    page.wait_for_url(re.compile(r".*/sessions/\d+$"))
    page.get_by_role("link", name="Session report").click()
    page.wait_for_url(re.compile(r".*/sessions/\d+/report$"))
    digest = page.locator("#report-sha256").text_content().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "NOT RECORDED" in page.text_content("main")
    serious, everything = _violations(page)
    print(f"\naxe session report: {everything or 'no violations'}")
    assert serious == []

    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.name.endswith("-report.pdf")
    reader = PdfReader(target)
    assert all(digest in p.extract_text() for p in reader.pages)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
