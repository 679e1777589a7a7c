"""End to end in chromium: the pharmacist receives a lot from its certificate, releases it
with an e-signature, thaws a vial, prepares the dose of a cleared session and signs it; the
preparer may not verify it; a nurse verifies it; the session moves to "verified".

The server runs in this process (uvicorn in a thread) so the assessment (step 1) can be
done through its services as in the integration tests; everything of step 2 happens in
the browser, and every session move goes through the real session service and its guards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from exoneb.core import migrate
from exoneb.core.clock import FrozenClock, SystemClock
from exoneb.web.app import create_app

from ..integration.conftest import PASSWORD, World, seed_world
from ..integration.prep_factories import cleared_session, saline_lot
from .conftest import serve_in_thread
from .test_information_a11y import _violations

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[tuple[str, World, int]]:
    """A migrated SQLite clinic on a loopback port with a cleared session and a saline lot."""
    url = f"sqlite:///{tmp_path / 'exoneb.db'}"
    migrate.upgrade(url)
    now = SystemClock().now()
    world = seed_world(url, clock=FrozenClock(now))
    session_id = cleared_session(world)
    saline_lot(world, expires_at=now + timedelta(days=365))
    app = create_app(world.settings, clock=SystemClock())
    try:
        with serve_in_thread(app) as base:
            yield base, world, session_id
    finally:
        world.factory.kw["bind"].dispose()


def _login(browser: Any, server: str, username: str) -> Any:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")
    return page


def test_receive_release_prepare_and_verify_with_two_people(
    clinic: tuple[str, World, int], browser: Any
) -> None:
    server, _world, session_id = clinic
    expiry = (SystemClock().now() + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M")
    pharmacist = _login(browser, server, "pharmacist1")
    errors: list[str] = []
    pharmacist.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    pharmacist.get_by_role("link", name="Lots").click()
    pharmacist.wait_for_url("**/lots")
    form = pharmacist.locator("form[action='/lots']")
    for label, value in (
        ("Product", "MSC-EV inhalation suspension"), ("Manufacturer", "Demo Biologics"),
        ("Lot number", "EV-E2E-1"), ("Certificate id", "COA-E2E-1"),
        ("Expiry (UTC)", expiry), ("Storage from (°C)", "-90"), ("Storage to (°C)", "-60"),
        ("Number of vials", "3"), ("Volume per vial (mL)", "1"),
        ("Labelled particles/mL", "2.0e9"), ("Certified (measured) particles/mL", "2.0e9"),
        ("Size mode (nm)", "120"), ("% of particles within the window", "95"),
        ("Particles per µg protein", "4e10"), ("Endotoxin (EU/mL)", "0.1"),
    ):  # fmt: skip
        form.get_by_label(label).fill(value)
    for marker in ("CD9", "CD63", "CD81", "TSG101"):
        form.get_by_label(marker, exact=True).select_option("positive")
    form.get_by_label("calnexin", exact=True).select_option("negative")
    form.get_by_label("Sterility").select_option("negative")
    form.get_by_label("Mycoplasma").select_option("negative")
    form.get_by_role("button", name="Receive into quarantine").click()
    serious, everything = _violations(pharmacist)  # the register with both receive forms
    assert serious == [], everything
    pharmacist.get_by_role("link", name="EV-E2E-1").click()
    pharmacist.wait_for_url(re.compile(r".*/lots/\d+$"))
    serious, everything = _violations(pharmacist)  # the certificate and release checklist
    assert serious == [], everything
    assert "All 12 release criteria pass." in pharmacist.text_content("main")
    release = pharmacist.locator("form[action$='/release']")
    release.get_by_label("Your password (e-signature)").fill(PASSWORD)
    release.get_by_role("button", name="Release the lot").click()
    pharmacist.locator(".status.ok", has_text="released").first.wait_for()

    pharmacist.goto(f"/sessions/{session_id}/preparation")
    assert "No vial of lot" in pharmacist.text_content("main")
    serious, everything = _violations(pharmacist)  # the checks, the arithmetic, the form
    assert serious == [], everything
    pharmacist.get_by_role("button", name=re.compile("Thaw a vial")).click()
    pharmacist.get_by_text(re.compile(r"Vial EV-E2E-1-V001\S* is within its hold time")).wait_for()
    assert "Draw 0.10 mL of stock and add 2.90 mL of saline" in pharmacist.text_content("main")
    prepare = pharmacist.locator("form[method='post'][action$='/preparation']")
    prepare.get_by_label("Saline lot").select_option(index=1)
    prepare.get_by_label("Appearance of the thawed product").select_option("yes")
    prepare.get_by_label("Your password (e-signature)").fill(PASSWORD)
    prepare.get_by_role("button", name="Prepare and sign").click()
    pharmacist.get_by_text("not verified yet").wait_for()
    assert pharmacist.locator("figure.label svg").count() == 1
    serious, everything = _violations(pharmacist)  # the made dose with its QR label
    assert serious == [], everything

    assert errors == []
    own = pharmacist.locator("form[action$='/verify']")
    own.get_by_label("Your password (e-signature)").fill(PASSWORD)
    own.get_by_role("button", name="Verify the dose").click()
    alert = pharmacist.get_by_role("alert").first
    alert.wait_for()
    assert "cannot verify" in alert.text_content()
    errors.clear()  # the refused verification is a 409 that htmx reports in the console

    nurse = _login(browser, server, "nurse1")
    nurse.goto(f"/sessions/{session_id}")
    nurse.get_by_role("button", name="Move to Dose prepared").click()
    nurse.get_by_text("The preparation must be verified by a second person.").wait_for()
    nurse.get_by_role("link", name="Open the dose preparation").click()
    nurse.wait_for_url(f"**/sessions/{session_id}/preparation")
    check = nurse.locator("form[action$='/verify']")
    check.get_by_label("Your password (e-signature)").fill(PASSWORD)
    check.get_by_role("button", name="Verify the dose").click()
    nurse.get_by_text("Nurse One at").wait_for()
    assert "Pharmacist One" in nurse.text_content("main")
    nurse.goto(f"/sessions/{session_id}")
    nurse.get_by_role("button", name="Move to Preparation verified").click()
    nurse.locator("#next .status", has_text="Preparation verified").wait_for()
    assert errors == []
