"""End to end in chromium: log in, register a patient with consent and prescribed care,
enrol them in the demo protocol, plan a session, see it on the timeline, log out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import DEMO_PASSWORD

pytestmark = pytest.mark.e2e
PATIENT_PAGE = re.compile(r".*/patients/\d+$")
SESSION_PAGE = re.compile(r".*/sessions/\d+$")


def test_nurse_and_physician_flow(server: str, browser: Any) -> None:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    posts: list[dict[str, str]] = []
    page.on("request", lambda r: posts.append(r.headers) if r.method == "POST" else None)

    page.goto("/login")
    page.get_by_label("Username").fill("dr.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")
    assert "Dr. Dana Demo" in page.text_content("header")
    assert "not medical advice" in page.text_content("footer")

    page.get_by_role("link", name="Register a patient").click()
    page.wait_for_url("**/patients/new")
    page.get_by_label("Medical record number (MRN)").fill("E2E-0001")
    page.get_by_label("Family name").fill("Curie")
    page.get_by_label("Given name").fill("Marie")
    page.get_by_label("Date of birth").fill("1967-11-07")
    page.get_by_label("Sex (for lung-function reference equations)").select_option("female")
    page.get_by_label("Height (cm)").fill("160")
    page.get_by_role("button", name="Register patient").click()
    page.wait_for_url(PATIENT_PAGE)
    assert page.get_by_role("heading", level=1).text_content().strip().startswith("Marie Curie")

    page.get_by_text("Add prescribed medicine").click()
    care = page.locator("#care form").last
    care.get_by_label("Medicine").fill("Tiotropium")
    care.get_by_label("Dose").fill("18 µg")
    care.get_by_label("Route").fill("inhaled")
    care.get_by_label("Frequency").fill("once daily")
    care.get_by_label("Prescriber").fill("Dr. Own GP")
    care.get_by_role("button", name="Add medicine").click()
    page.locator("#care td", has_text="Tiotropium").wait_for()

    consent = page.locator("#consent form").last
    consent.get_by_label("Consent document version").fill("ICF v1.0")
    consent.get_by_label("Date consent was given").fill("2026-01-05")
    consent.get_by_label("Patient information leaflet given").select_option("en")
    consent.get_by_role("button", name="Record consent").click()
    page.locator("#consent .status.ok", has_text="Current consent").wait_for()
    assert page.locator("#consent td", has_text="en, version 1.0").count() == 1

    page.get_by_text("Enrol in a protocol").click()
    enrol = page.locator("#enrolment form")
    enrol.get_by_label("Protocol").select_option("demo-exo-01")
    enrol.get_by_label("Dose level or arm").select_option("DL1")
    enrol.get_by_label("Regulatory authorisation").select_option("IND")
    enrol.get_by_label("IND / CTA number").fill("IND-E2E-1")
    enrol.get_by_label("Ethics / IRB approval reference").fill("IRB-E2E-1")
    enrol.get_by_role("button", name="Enrol").click()
    page.locator("#enrolment td", has_text="IND IND-E2E-1").wait_for()

    page.get_by_text("Plan a session").click()
    plan = page.locator("#sessions form")
    plan.get_by_label("Enrolment").select_option(index=1)
    plan.get_by_label("Planned date and time (UTC)").fill("2026-12-01T09:30")
    plan.get_by_role("button", name="Plan session").click()
    page.wait_for_url(SESSION_PAGE)
    page.get_by_text("1. Assessment").wait_for()
    assert "The assessment record is not signed yet." in page.text_content("#next")
    assert "Tiotropium" in page.text_content("main")

    page.get_by_role("link", name="Marie Curie").click()
    page.wait_for_url(PATIENT_PAGE)
    timeline = page.locator("#sessions .timeline").text_content()
    assert "2026-12-01 09:30 UTC" in timeline
    assert "Planned" in timeline

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login?logged_out=1")
    page.get_by_text("You are logged out.").wait_for()
    page.goto("/patients")
    page.wait_for_url("**/login")

    boosted = [h for h in posts if h.get("hx-request") == "true"]
    assert boosted, "forms should be submitted by htmx"
    assert all(h.get("x-csrf-token") for h in boosted), "every htmx POST carries the CSRF token"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
