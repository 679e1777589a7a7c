"""The public patient information in chromium: no login, axe-core finds no serious
or critical violations, and the page reflows at 200 % zoom."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.e2e
SERIOUS = {"serious", "critical"}


def _violations(page: Any) -> tuple[list[str], list[str]]:
    """(serious or critical, all) axe violations on the loaded page, as 'rule (impact): n'."""
    response = Axe().run(page).response
    found = [
        (v["id"], v.get("impact") or "", len(v.get("nodes", []))) for v in response["violations"]
    ]
    named = [f"{rule} ({impact}): {n} node(s)" for rule, impact, n in found]
    return [n for n, (_, impact, _) in zip(named, found, strict=True) if impact in SERIOUS], named


@pytest.mark.parametrize("path", ["/information", "/information/de", "/information/fr", "/login"])
def test_no_serious_axe_violations(server: str, browser: Any, path: str) -> None:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto(path)
    serious, everything = _violations(page)
    print(f"\naxe {path}: {everything or 'no violations'}")
    assert serious == []
    context.close()


def test_login_page_leads_to_the_information_without_login(server: str, browser: Any) -> None:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("link", name="Information for patients and families").click()
    page.wait_for_url("**/information")
    assert page.get_by_role("heading", level=1).text_content() == "Exosome inhalation therapy"
    assert page.get_by_role("navigation", name="Contents").is_visible()
    assert page.get_by_role("main").is_visible()
    page.get_by_role("link", name="Deutsch").click()
    page.wait_for_url("**/information/de")
    assert page.locator("article").get_attribute("lang") == "de"
    assert page.get_by_role("navigation", name="Inhalt").is_visible()
    context.close()


@pytest.mark.parametrize("path", ["/information", "/information/de"])
def test_reflows_at_200_percent_zoom(server: str, browser: Any, path: str) -> None:
    # A 1280 px wide window at 200 % zoom lays out like a 640 CSS px viewport.
    context = browser.new_context(base_url=server, viewport={"width": 640, "height": 800})
    page = context.new_page()
    page.goto(path)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    table = page.locator(".leaflet-text table")
    box = table.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 640
    context.close()


def test_the_axe_check_is_live(browser: Any) -> None:
    """Guard against a silently broken harness: a known violation must be reported."""
    page = browser.new_page()
    page.set_content('<html><body><main><img src="x.png"><button></button></main></body></html>')
    serious, _ = _violations(page)
    assert any(v.startswith("button-name (critical)") for v in serious), serious
    page.close()
