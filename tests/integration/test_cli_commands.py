"""The command line: db upgrade and check, user add, demo, audit verify, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from exoneb.accounts.models import Site, User
from exoneb.cli import _register, app
from exoneb.core.audit import AuditEvent
from exoneb.core.config import get_settings
from exoneb.core.db import make_engine, make_session_factory


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner pointed at a fresh, migrated database."""
    monkeypatch.setenv("EXONEB_DATABASE_URL", db_url)
    monkeypatch.setenv("EXONEB_CHEAP_PASSWORD_HASHING", "true")
    monkeypatch.setenv("EXONEB_DEMO_PASSWORD", "demo password for tests")
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


def _count(db_url: str, stmt) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as db:
            return int(db.scalar(stmt) or 0)
    finally:
        engine.dispose()


def test_db_upgrade_and_check(cli: CliRunner) -> None:
    upgraded = cli.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    checked = cli.invoke(app, ["db", "check"])
    assert checked.exit_code == 0
    assert "No drift" in checked.output


def test_user_add_creates_an_audited_account(cli: CliRunner, db_url: str) -> None:
    result = cli.invoke(
        app, ["user", "add", "n.nurse", "--role", "nurse", "--name", "Nia Nurse", "--site", "S9",
              "--password", "a long enough password"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created n.nurse (nurse) at site S9." in result.output
    assert _count(db_url, select(func.count(User.id))) == 1
    actions = {"site.create", "user.create"}
    assert _count(db_url, select(func.count()).where(AuditEvent.action.in_(actions))) == 2
    again = cli.invoke(
        app, ["user", "add", "n.nurse", "--role", "nurse", "--name", "X", "--site", "S9",
              "--password", "a long enough password"],
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already taken" in again.output
    weak = cli.invoke(
        app, ["user", "add", "other", "--role", "auditor", "--name", "O", "--site", "S9",
              "--password", "short"],
    )  # fmt: skip
    assert weak.exit_code == 1
    assert "at least 10 characters" in weak.output


def test_site_time_zone_is_given_checked_and_changed_from_the_cli(
    cli: CliRunner, db_url: str
) -> None:
    def add(zone: str) -> Any:
        return cli.invoke(
            app, ["user", "add", "t.zone", "--role", "nurse", "--name", "Tz", "--site", "S8",
                  "--time-zone", zone, "--password", "a long enough password"],
        )  # fmt: skip

    refused = add("BST")
    assert refused.exit_code == 1
    assert "Unknown time zone 'BST'" in refused.output
    assert add("Europe/London").exit_code == 0
    moved = cli.invoke(
        app, ["user", "site-time-zone", "S8", "America/New_York", "--reason", "site moved"]
    )
    assert moved.exit_code == 0, moved.output
    bad = cli.invoke(app, ["user", "site-time-zone", "S8", "Mars/Base", "--reason", "x"])
    assert bad.exit_code == 1
    assert "Not changed: Unknown time zone 'Mars/Base'" in bad.output
    assert _count(db_url, select(func.count(Site.id)).where(
        Site.code == "S8", Site.time_zone == "America/New_York")) == 1  # fmt: skip


def test_demo_seeds_once_and_prints_logins(cli: CliRunner, db_url: str) -> None:
    first = cli.invoke(app, ["demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    for username in ("admin", "dr.demo", "nurse", "pharmacist", "coordinator", "auditor"):
        assert username in first.output
    assert "from EXONEB_DEMO_PASSWORD" in first.output
    assert _count(db_url, select(func.count(User.id))) == 6
    second = cli.invoke(app, ["demo", "--if-empty"])
    assert second.exit_code == 0
    assert _count(db_url, select(func.count(User.id))) == 6
    refused = cli.invoke(app, ["demo"])
    assert refused.exit_code == 1
    verify = cli.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 0
    assert "hash chain intact" in verify.output


def test_demo_sessions_reach_monitoring_and_their_reports_build(
    cli: CliRunner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps 1–4 for real: three DL1 subjects discharged (3+3: escalate), one in monitoring
    with an open SpO2 alert; every timestamp in the past; the reports build.

    Seeded as if at 02:30 UTC, when the demo clock (5 h back) starts on the day before: the
    consents are dated by the demo clock, not by the calendar day of the real now.
    """
    from datetime import UTC, datetime, timedelta

    early = (datetime.now(UTC) - timedelta(days=1)).replace(hour=2, minute=30)

    class EarlyMorning:
        def now(self) -> datetime:
            return early

    monkeypatch.setattr("exoneb.cli.demo.SystemClock", EarlyMorning)

    from exoneb.accounts import service as accounts
    from exoneb.core import transaction
    from exoneb.core.clock import SystemClock
    from exoneb.monitoring import escalation_service, follow_up_service
    from exoneb.monitoring import service as monitoring
    from exoneb.reports import pdf
    from exoneb.reports import service as reports
    from exoneb.sessions.models import TherapySession

    seeded = cli.invoke(app, ["demo", "--if-empty"])
    assert seeded.exit_code == 0, seeded.output
    now = datetime.now(UTC)
    settings = get_settings()
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as db:
            user = db.scalars(select(User).where(User.username == "dr.demo")).one()
            states = dict(db.execute(select(TherapySession.id, TherapySession.state)).all())
            latest = db.scalar(select(func.max(AuditEvent.occurred_at)))
        assert sorted(states.values()) == ["discharged"] * 3 + ["monitoring", "planned"]
        assert latest is not None
        assert latest.replace(tzinfo=UTC) <= now
        with transaction.action(factory, actor=accounts.actor_for(user),
                                clock=SystemClock()) as ctx:  # fmt: skip
            e = escalation_service.escalation(ctx=ctx, settings=settings,
                                              protocol_id="demo-exo-01")  # fmt: skip
            assert (e.levels[0].treated, e.levels[0].evaluable, e.levels[0].dlts) == (4, 3, 0)
            # DL1's first three completed the 28-day DLT window weeks ago; DEMO-0007 is in it.
            assert [s.in_dlt_window for s in e.levels[0].subjects if s.treated] == [
                False, False, False, True,
            ]  # fmt: skip
            calls = follow_up_service.follow_up_calls(ctx=ctx, settings=settings)
            # the next-day calls were made; one never answered waits for a physician's review
            assert sorted(c.call.status for c in calls) == ["done", "done", "gave_up"]
            assert e.recommendation is not None
            assert e.recommendation.action.value == "escalate"
            monitored = next(s for s, state in states.items() if state == "monitoring")
            assert {a.rule_id for a in monitoring.alerts_of(ctx=ctx, session_id=monitored)
                    if a.status == "open"} >= {"spo2_low"}  # fmt: skip
            first = min(s for s, state in states.items() if state == "discharged")
            issued = reports.session_report(ctx=ctx, settings=settings, session_id=first)
            for key in ("assessment", "preparation", "inhalation", "monitoring"):
                assert issued.report.section(key).recorded, key
            assert (
                pdf.render(issued.report, digest=issued.digest, issue=issued.issue)[:4] == b"%PDF"
            )
            safety = reports.protocol_safety(ctx=ctx, settings=settings,
                                             protocol_id="demo-exo-01")  # fmt: skip
            assert safety.report.section("escalation").recorded
    finally:
        engine.dispose()
    verify = cli.invoke(app, ["audit", "verify"])
    assert "hash chain intact" in verify.output
