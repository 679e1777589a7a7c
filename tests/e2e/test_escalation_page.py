"""End to end in chromium on the demo: the physician opens the dose-escalation page from the
navigation, sees the demo's three DL1 subjects past their 28-day DLT window, the fourth still in
it, and the advice to escalate, and signs a decision; the page has no serious axe-core
violation.

The decision signed here is "expand DL1" (with its reason, as it differs from the advice), so
DL1 stays open for the other browser tests that enrol at DL1 on the same demo server.
"""

from __future__ import annotations

import re
from typing import Any

from .conftest import DEMO_PASSWORD
from .test_information_a11y import _violations


def test_physician_signs_an_escalation_decision(server: str, browser: Any) -> None:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill("dr.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dose escalation").click()
    page.get_by_role("link", name=re.compile("Demo: single inhaled")).click()
    page.wait_for_url("**/protocols/demo-exo-01/escalation")
    assert page.locator("#rec-action").text_content() == "Escalate"
    assert page.locator("#level-DL1 td").nth(3).text_content() == "4"  # treated
    assert page.locator("#level-DL1 td").nth(4).text_content() == "3"  # evaluable
    assert page.get_by_text("in DLT window until").count() == 1  # DEMO-0007, dosed today
    serious, everything = _violations(page)
    print(f"\naxe escalation page: {everything or 'no violations'}")
    assert serious == []

    form = page.locator("#decisions form")
    form.get_by_label("At dose level").select_option("DL1")
    form.get_by_label("Decision").select_option("expand")
    form.get_by_label(re.compile("Your password")).fill(DEMO_PASSWORD)
    form.get_by_role("button", name="Sign the decision").click()
    error = page.locator("#e-reason")  # a decision differing from the advice needs its reason
    error.wait_for()
    assert "give the reason" in error.text_content()
    form = page.locator("#decisions form")
    form.get_by_label(re.compile("^Reason")).fill("E2E: the safety review asked for 3 more")
    form.get_by_label(re.compile("Your password")).fill(DEMO_PASSWORD)
    form.get_by_role("button", name="Sign the decision").click()
    page.locator("#decision-1").wait_for()
    row = page.locator("#decision-1").text_content()
    assert "Expand this level" in row
    assert "Dr. Dana Demo" in row
    assert page.locator("#open-levels").text_content() == "DL1"
    context.close()
