"""End to end in chromium: monitoring after the inhalation (issue 7).

A falling SpO2 from the bedside monitor raises an alert on the live chart of
the open page (stored first, then pushed by the server-sent-event stream), a
nurse acknowledges it, records a grade 1 cough with the CTCAE grade text in
view, and discharges the patient with her signature.

The server runs in this process (uvicorn in a thread) so that the session can
be brought to monitoring with the integration builders
(``integration.monitoring_world``): every step before it is real, and every
move goes through the session state machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from exoneb.accounts.permissions import Role
from exoneb.core import migrate
from exoneb.core.clock import FrozenClock, SystemClock
from exoneb.monitoring import service as monitoring
from exoneb.monitoring.schemas import ObservationBatchIn, ObservationIn
from exoneb.web.app import create_app

from ..integration.conftest import PASSWORD, World, seed_world
from ..integration.monitoring_world import monitored_session
from .conftest import serve_in_thread

pytestmark = pytest.mark.e2e

VITALS = {"spo2_pct": 95, "heart_rate_per_min": 80, "resp_rate_per_min": 16, "sbp_mmhg": 130,
          "dbp_mmhg": 80, "fev1_l": 1.25, "wheeze": False, "stridor": False, "symptom_grade": 0,
          "respiratory_symptoms": False}  # fmt: skip


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[tuple[str, World, int]]:
    """A session monitored for 50 minutes (every scheduled observation done), served live."""
    url = f"sqlite:///{tmp_path / 'exoneb.db'}"
    migrate.upgrade(url)
    world = seed_world(url, clock=FrozenClock(SystemClock().now() - timedelta(minutes=60)))
    session_id, end = monitored_session(world, "E2E-MON-1")
    for minute in (0, 15, 30):
        world.clock.advance(end + timedelta(minutes=minute) - world.clock.now())
        with world.action(Role.NURSE) as ctx:
            monitoring.record_observation(
                ctx=ctx, settings=world.settings, session_id=session_id,
                data=ObservationIn(observed_at=world.clock.now(), **VITALS),
            )  # fmt: skip
    app = create_app(world.settings, clock=SystemClock())
    try:
        with serve_in_thread(app) as base:
            yield base, world, session_id
    finally:
        world.factory.kw["bind"].dispose()


def _monitor(world: World, session_id: int, readings: list[tuple[int, float]]) -> None:
    """The bedside monitor sends SpO2 readings at (seconds before now, value)."""
    world.clock.advance(SystemClock().now() - world.clock.now())
    now = world.clock.now()
    batch = ObservationBatchIn(device_id="bedside-1", observations=[
        ObservationIn(observed_at=now - timedelta(seconds=ago), spo2_pct=value)
        for ago, value in readings
    ])  # fmt: skip
    with world.action(Role.NURSE) as ctx:
        monitoring.ingest_batch(ctx=ctx, settings=world.settings, session_id=session_id, data=batch)


def test_alert_on_the_live_chart_acknowledge_grade_1_cough_and_discharge(
    clinic: tuple[str, World, int], browser: Any
) -> None:
    base, world, session_id = clinic
    context = browser.new_context(base_url=base, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto("/login")
    page.get_by_label("Username").fill(world.users[Role.NURSE].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/patients")
    page.goto(f"/sessions/{session_id}")
    page.get_by_role("link", name="Open monitoring").click()
    page.wait_for_url(f"**/sessions/{session_id}/monitoring")
    page.locator("#chart-latest", has_text="SpO2 95 %").wait_for()  # the stored readings
    assert "No alert has been raised" in page.text_content("#alerts")

    # SpO2 falls to 88 % for 40 s: stored, alert rules run, then pushed to the open page.
    _monitor(world, session_id, [(40, 88), (30, 88), (20, 88), (10, 88), (0, 88)])
    page.locator("#chart-latest", has_text="SpO2 88 %").wait_for(timeout=15_000)
    page.locator("#alerts", has_text="SpO2 below floor").wait_for(timeout=15_000)
    assert page.locator("#chart-svg polyline.spo2").count() == 1
    _monitor(world, session_id, [(0, 96)])  # recovered: the alerts end, the panel follows
    page.locator("#chart-latest", has_text="SpO2 96 %").wait_for(timeout=15_000)
    page.wait_for_function(
        "() => !document.querySelector('#alerts').textContent.includes('ongoing')",
        timeout=15_000,
    )

    open_ids = page.eval_on_selector_all(
        "#alerts li.alert.open", "items => items.map(i => i.dataset.alertId)"
    )
    assert len(open_ids) == 2  # SpO2 below floor and SpO2 fall from baseline
    for alert_id in open_ids:
        item = page.locator(f'#alerts li[data-alert-id="{alert_id}"]')
        item.get_by_label("Note").fill("probe checked, patient well")
        item.get_by_role("button", name="Acknowledge").click()
        page.locator(
            f'#alerts li[data-alert-id="{alert_id}"]', has_text="acknowledged by"
        ).wait_for()
    assert "acknowledged by Nurse One" in page.text_content("#alerts")

    # A settled page: the stream connected and its first alert refresh done.
    page.goto(f"/sessions/{session_id}/monitoring")
    page.locator("#chart-latest", has_text="SpO2 96 %").wait_for(timeout=15_000)
    page.wait_for_function("() => document.getElementById('live-chart').dataset.alertCount")
    page.wait_for_timeout(1000)
    events = page.locator("#events")
    events.get_by_label("CTCAE v5.0 term").select_option("cough")
    grade1 = events.get_by_label("Grade 1: Mild symptoms; nonprescription intervention indicated")
    grade1.wait_for()
    assert "Grade 3: Severe symptoms; limiting self care ADL" in page.text_content("#grades")
    grade1.check()
    events.get_by_label("Causality").select_option("possible")
    assert grade1.is_checked()
    events.get_by_role("button", name="Record the event").click()
    page.locator("#events", has_text="Cough — grade 1").wait_for()

    discharge = page.locator("#discharge")
    discharge.get_by_label("The patient walks unaided as before").check()
    discharge.get_by_label("Written instructions given", exact=False).check()
    follow_up = (SystemClock().now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    discharge.get_by_label("Follow-up call (UTC", exact=False).fill(follow_up)
    discharge.get_by_label("Your password", exact=False).fill(PASSWORD)
    discharge.get_by_role("button", name="Sign and discharge").click()
    page.locator("#discharge", has_text="Discharged").wait_for()
    assert "by Nurse One (signed)" in page.text_content("#discharge")
    assert errors == []
    context.close()
