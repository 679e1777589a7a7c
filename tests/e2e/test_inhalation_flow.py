"""End to end in chromium: a nurse runs the inhalation of a verified session on the tablet
page — set-up with the dose preview, supervisor, start, one pause for a cough, resume, stop,
residual volume, signature — and ends on the monitoring step with the dose plot visible.
A second test runs a pMDI session of standard inhaled care: two actuations with their
technique checklists, stop, final estimate in µg, signature.

Steps 1–2 are real records made through the services beforehand (assessment signed, lot
released, dose prepared by the pharmacist and verified by the nurse:
``tests.integration.prep_factories.verified_session``); the server runs in this process
(uvicorn in a thread) on the same database.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exoneb.accounts.permissions import Role
from exoneb.core import migrate
from exoneb.web.app import create_app

from ..integration.conftest import PASSWORD, World, seed_world
from ..integration.inhalation_helpers import mesh_device, protocol_with_arms, stand_in
from ..integration.prep_factories import verified_session
from .conftest import serve_in_thread
from .test_information_a11y import _violations

pytestmark = pytest.mark.e2e


class RunningClock:
    """Real time, started at a given instant (the fixtures' lots expire in real 2026)."""

    def __init__(self, start: datetime) -> None:
        self._start, self._real = start, time.monotonic()

    def now(self) -> datetime:
        """The start plus the real time passed since."""
        return self._start + timedelta(seconds=time.monotonic() - self._real)


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[tuple[str, World]]:
    """A migrated SQLite clinic served on a loopback port.

    Its protocol also has a standard-inhaled-care arm (``SOC``) for the inhaler test.
    """
    url = f"sqlite:///{tmp_path / 'exoneb.db'}"
    migrate.upgrade(url)
    arm = {"code": "SOC", "label": "Standard inhaled care", "regimen": "standard-inhaled-care",
           "source": "mexvt"}  # fmt: skip
    # The records are made at the world's (frozen) clinic time …
    world = seed_world(url, protocols_dir=protocol_with_arms(tmp_path, arm))
    app = create_app(world.settings, clock=RunningClock(world.clock.now()))  # … then it runs
    try:
        with serve_in_thread(app) as base:
            yield base, world
    finally:
        world.factory.kw["bind"].dispose()


def _log_in(browser: Any, base: str, world: World) -> tuple[Any, Any]:
    context = browser.new_context(base_url=base, viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(world.users[Role.NURSE].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")
    return context, page


def test_run_with_one_pause_ends_in_monitoring_with_the_plot(
    clinic: tuple[str, World], browser: Any
) -> None:
    base, world = clinic
    session_id = verified_session(world, "E2E-INH-1")
    mesh_device(world)
    context, page = _log_in(browser, base, world)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"/sessions/{session_id}")
    page.get_by_role("link", name="Open the inhalation").click()
    page.wait_for_url(f"**/sessions/{session_id}/inhalation")
    page.get_by_label("Breathing pattern").select_option("relaxed-tidal")
    page.get_by_role("button", name="Set up and preview the dose").click()
    page.locator("#h-estimate", has_text="Preview dose estimate").wait_for()
    assert "This is a model estimate, not a measurement." in page.text_content("#dose-estimate")
    assert "Close the lips around the mouthpiece" in page.text_content("main")

    serious, everything = _violations(page)  # the set-up page with the preview plot
    assert serious == [], everything

    page.get_by_role("button", name=re.compile("I am supervising")).click()
    page.locator("#run-status strong", has_text=world.users[Role.NURSE].full_name).wait_for()
    page.get_by_role("button", name="Start nebulization").click()
    page.locator("[data-run-state]", has_text="running").wait_for()
    from playwright.sync_api import expect

    elapsed = page.locator("[data-timer-elapsed]")
    # The on-screen counter ticks (a script, no eval: the CSP forbids it) …
    expect(elapsed).to_have_text(re.compile(r"^\s*00:(0[2-9]|[1-5]\d)\s*$"), timeout=10_000)
    page.reload()  # the timer survives a reload: the server recomputes it from the events
    assert elapsed.text_content().strip() >= "00:02"

    pause = page.locator("form[action$='/pause']")
    pause.get_by_label("Why pause?").select_option("cough")
    pause.get_by_role("button", name="Pause").click()
    page.locator("[data-run-state]", has_text="paused").wait_for()
    page.get_by_role("button", name="Resume").click()
    page.locator("[data-run-state]", has_text="running").wait_for()
    assert "cough" in page.text_content("main")

    stop = page.locator("form[action$='/stop']")
    stop.get_by_label("Why stop?").select_option("output_stopped")
    stop.get_by_role("button", name="Stop nebulization").click()
    page.locator("[data-run-state]", has_text="stopped").wait_for()

    page.get_by_label("Volume left in the device (mL)").fill("0.3")
    page.get_by_role("button", name="Record and compute the final dose estimate").click()
    page.locator("#h-estimate", has_text="Final dose estimate").wait_for()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign and move to monitoring").click()
    page.get_by_text("Continue with monitoring on the session page").wait_for()
    assert "monitoring" in page.text_content("main")
    plot = page.locator('svg[data-plot="regions"]')
    assert plot.is_visible()
    assert page.locator('svg[data-plot="generations"]').is_visible()
    serious, everything = _violations(page)  # the signed run with the final plot
    assert serious == [], everything

    page.goto(f"/sessions/{session_id}")
    page.get_by_text("Monitoring").first.wait_for()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_pmdi_session_with_two_actuations_ends_in_monitoring(
    clinic: tuple[str, World], browser: Any
) -> None:
    """Standard inhaled care by pMDI: 2 × 100 µg, checklist per actuation, µg estimate.

    The preparation step makes exosome lots only, so the verified 200 µg dose is
    stood in for (``inhalation_helpers.StandIn``) in this process, which serves the app.
    """
    base, world = clinic
    with stand_in(world) as fake:
        _, session_id = fake.verified_session(
            arm_code="SOC", dose_particles=0.0, dose_amount=200.0, dose_unit="ug",
            fill_volume_ml=0.0, nebulizer_key="pmdi-extrafine",
        )  # fmt: skip
        mesh_device(world, make="Teva", model="Qvar 100", kind="pmdi",
                    catalog_id="pmdi-extrafine")  # fmt: skip
        context, page = _log_in(browser, base, world)
        page.goto(f"/sessions/{session_id}/inhalation")
        page.get_by_label("Actuations (puffs or inhalations) prescribed").fill("2")
        page.get_by_label("Emitted dose per actuation").fill("100")
        page.get_by_role("button", name="Set up and preview the dose").click()
        page.locator("#h-estimate", has_text="Preview dose estimate").wait_for()
        assert "Shake the inhaler" in page.text_content("main")
        page.get_by_role("button", name=re.compile("I am supervising")).click()
        nurse = world.users[Role.NURSE].full_name
        page.locator("#run-status strong", has_text=nurse).wait_for()
        page.get_by_role("button", name="Start the inhaler session").click()
        page.locator("[data-run-state]", has_text="running").wait_for()
        for number in (1, 2):
            form = page.locator("form[action$='/actuation']")
            form.get_by_text(f"Actuation {number} of 2").wait_for()
            for group in form.locator("fieldset.yes-no").all():
                yes = "yes" if "Spacer" not in (group.text_content() or "") else "no"
                group.get_by_label(yes, exact=True).check()
            form.get_by_label("Breath-hold after the inhalation (s)").fill("10")
            if number == 1:
                serious, everything = _violations(page)  # the checklist form
                assert serious == [], everything
            form.get_by_role("button", name="Record this actuation").click()
            page.locator("[data-actuations-given]", has_text=str(number)).wait_for()
        stop = page.locator("form[action$='/stop']")
        stop.get_by_label("Why stop?").select_option("actuations_given")
        stop.get_by_role("button", name=re.compile("Stop")).click()
        page.locator("#h-estimate", has_text="Final dose estimate").wait_for()
        assert "µg" in page.text_content("[data-lung-amount]")
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Sign and move to monitoring").click()
        page.get_by_text("Continue with monitoring on the session page").wait_for()
        assert page.locator('svg[data-plot="regions"]').is_visible()
        context.close()
