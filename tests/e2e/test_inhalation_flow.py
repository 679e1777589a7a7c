"""End to end in chromium: a nurse runs the inhalation of a verified session on the tablet
page — set-up with the dose preview, supervisor, start, one pause for a cough, resume, stop,
residual volume, signature — and ends on the monitoring step with the dose plot visible.

The server runs in this process (uvicorn in a thread) so that steps 1–2 can be stood in
for as in the integration tests (``tests.integration.inhalation_helpers.StandIn``); every move
of the session still goes through the real session service and its guards.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from exoneb.accounts.permissions import Role
from exoneb.core import migrate
from exoneb.core.clock import FrozenClock, SystemClock
from exoneb.web.app import create_app

from ..integration.conftest import PASSWORD, World, seed_world
from ..integration.inhalation_helpers import StandIn, mesh_device, stand_in
from .conftest import _free_port
from .test_information_a11y import _violations

pytestmark = pytest.mark.e2e


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[tuple[str, World, StandIn]]:
    """A migrated SQLite clinic served on a loopback port, with steps 1–2 stood in for."""
    url = f"sqlite:///{tmp_path / 'exoneb.db'}"
    migrate.upgrade(url)
    world = seed_world(url, clock=FrozenClock(SystemClock().now()))
    port = _free_port()
    app = create_app(world.settings, clock=SystemClock())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    with stand_in(world) as fake:
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", world, fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            world.factory.kw["bind"].dispose()


def test_run_with_one_pause_ends_in_monitoring_with_the_plot(
    clinic: tuple[str, World, StandIn], browser: Any
) -> None:
    base, world, fake = clinic
    _, session_id = fake.verified_session()
    mesh_device(world)
    context = browser.new_context(base_url=base, viewport={"width": 1024, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto("/login")
    page.get_by_label("Username").fill(world.users[Role.NURSE].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")

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
