"""End to end in chromium: a saline placebo session of the demo protocol (arm PBO).

The pharmacist prepares the placebo on the session's preparation page (3.00 mL of saline,
no active product) and signs it; a nurse verifies it as the second person, moves the
session on, runs the nebulization on the inhalation page (supervisor, start, stop,
residual volume) and signs; the session ends in monitoring with the estimate of where
the nebulized saline went — fractions, and 0 vesicles, never a made-up count.

Step 1 is done through its services (as in the other browser tests); everything of
steps 2 and 3 happens in the browser.
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
from ..integration.inhalation_helpers import mesh_device
from ..integration.prep_factories import saline_lot
from ..integration.test_comparator_arms import _session
from .conftest import serve_in_thread
from .test_information_a11y import _violations
from .test_preparation_flow import _login

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[tuple[str, World, int]]:
    """A migrated SQLite clinic on a loopback port with a cleared PBO session and saline."""
    url = f"sqlite:///{tmp_path / 'exoneb.db'}"
    migrate.upgrade(url)
    now = SystemClock().now()
    world = seed_world(url, clock=FrozenClock(now))
    session_id = _session(world, "PBO", "E2E-PBO-1")
    saline_lot(world, "NS-E2E-PBO", expires_at=now + timedelta(days=365))
    mesh_device(world)
    app = create_app(world.settings, clock=SystemClock())
    try:
        with serve_in_thread(app) as base:
            yield base, world, session_id
    finally:
        world.factory.kw["bind"].dispose()


def test_saline_placebo_is_prepared_verified_and_run_to_monitoring(
    clinic: tuple[str, World, int], browser: Any
) -> None:
    server, _world, session_id = clinic
    pharmacist = _login(browser, server, "pharmacist1")
    errors: list[str] = []
    pharmacist.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pharmacist.goto(f"/sessions/{session_id}/preparation")
    main = pharmacist.text_content("main")
    assert "Saline nebulization (control or placebo)" in main
    assert "Load 3.00 mL of saline" in main
    serious, everything = _violations(pharmacist)  # the placebo checks, arithmetic and form
    assert serious == [], everything
    prepare = pharmacist.locator("form[action$='/preparation/placebo']")
    prepare.get_by_label(re.compile("Saline lot")).select_option(index=1)
    prepare.get_by_label("Saline clear and its container intact").select_option("yes")
    prepare.get_by_label("Your password (e-signature)").fill(PASSWORD)
    prepare.get_by_role("button", name="Prepare the placebo and sign").click()
    pharmacist.get_by_text("not verified yet").wait_for()
    assert "placebo: 3.00 mL normal saline, no active product" in pharmacist.text_content("main")
    assert errors == []

    nurse = _login(browser, server, "nurse1")
    nurse.goto(f"/sessions/{session_id}")
    nurse.get_by_role("button", name="Move to Dose prepared").click()
    nurse.get_by_text("The preparation must be verified by a second person.").wait_for()
    nurse.goto(f"/sessions/{session_id}/preparation")
    check = nurse.locator("form[action$='/verify']")
    check.get_by_label("Your password (e-signature)").fill(PASSWORD)
    check.get_by_role("button", name="Verify the dose").click()
    nurse.get_by_text("Nurse One at").wait_for()
    nurse.goto(f"/sessions/{session_id}")
    nurse.get_by_role("button", name="Move to Preparation verified").click()
    nurse.locator("#next .status", has_text="Preparation verified").wait_for()

    nurse.goto(f"/sessions/{session_id}/inhalation")
    nurse.get_by_label("Breathing pattern").select_option("relaxed-tidal")
    nurse.get_by_role("button", name="Set up and preview the dose").click()
    nurse.locator("#h-estimate", has_text="Preview dose estimate").wait_for()
    nurse.get_by_role("button", name=re.compile("I am supervising")).click()
    nurse.locator("#run-status strong", has_text="Nurse One").wait_for()
    nurse.get_by_role("button", name="Start nebulization").click()
    nurse.locator("[data-run-state]", has_text="running").wait_for()
    stop = nurse.locator("form[action$='/stop']")
    stop.get_by_label("Why stop?").select_option("output_stopped")
    stop.get_by_role("button", name="Stop nebulization").click()
    nurse.locator("[data-run-state]", has_text="stopped").wait_for()
    nurse.get_by_label("Volume left in the device (mL)").fill("0.3")
    nurse.get_by_role("button", name="Record and compute the final dose estimate").click()
    nurse.locator("#h-estimate", has_text="Final dose estimate").wait_for()
    estimate = nurse.text_content("#dose-estimate")
    assert "Saline arm: no vesicles are loaded" in estimate
    assert "e+" not in estimate  # counts are written as 2.00 × 10⁹, never 2.00e+09
    serious, everything = _violations(nurse)  # the final estimate of a placebo
    assert serious == [], everything
    nurse.get_by_label("Your password").fill(PASSWORD)
    nurse.get_by_role("button", name="Sign and move to monitoring").click()
    nurse.get_by_text("Continue with monitoring on the session page").wait_for()
    assert nurse.locator('svg[data-plot="regions"]').is_visible()
    assert "Inhalation devices" in nurse.text_content("nav")
    nurse.goto(f"/sessions/{session_id}")
    nurse.get_by_text("Monitoring").first.wait_for()
