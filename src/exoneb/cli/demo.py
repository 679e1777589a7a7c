"""``exoneb demo``: seed a demo site, one account per role and a few patients.

Demo passwords come from ``EXONEB_DEMO_PASSWORD`` (the published default is
refused outside development). Demo records are created through the normal
services, so they carry ordinary audit rows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import typer
from sqlalchemy import func, select

from exoneb.accounts import service as accounts
from exoneb.accounts.models import User
from exoneb.accounts.permissions import ROLE_LABELS, Role
from exoneb.cli import app
from exoneb.cli.common import system_action
from exoneb.core.clock import FrozenClock, SystemClock
from exoneb.core.config import DEFAULT_DEMO_PASSWORD, Settings, get_settings
from exoneb.core.context import Ctx
from exoneb.inhalation import demo as inhalation_demo
from exoneb.monitoring import demo as monitoring_demo
from exoneb.patients import service as patients
from exoneb.patients.schemas import CareCreate, ConsentCreate, EnrolmentCreate, PatientCreate
from exoneb.preparation.demo import seed_preparation
from exoneb.sessions import service as sessions
from exoneb.sessions.schemas import SessionPlan

DEMO_SITE = ("DEMO", "exoneb demo clinic")
DEMO_STAFF: tuple[tuple[str, str, Role], ...] = (
    ("admin", "Alex Admin", Role.ADMINISTRATOR),
    ("dr.demo", "Dr. Dana Demo", Role.PHYSICIAN),
    ("nurse", "Noor Nurse", Role.NURSE),
    ("pharmacist", "Pat Pharmacist", Role.PHARMACIST),
    ("coordinator", "Chris Coordinator", Role.COORDINATOR),
    ("auditor", "Avery Auditor", Role.AUDITOR),
)


def print_logins(password_hint: str) -> None:
    """Print the demo accounts (one per role) and where the password comes from."""
    typer.echo("Demo logins (password " + password_hint + "):")
    for username, _, role in DEMO_STAFF:
        typer.echo(f"  {username:<12} {ROLE_LABELS[role]}")


@app.command()
def demo(
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if any user exists."),
) -> None:
    """Seed the demo site, staff of every role and a few patients."""
    settings = get_settings()
    hint = (
        f"'{DEFAULT_DEMO_PASSWORD}', set EXONEB_DEMO_PASSWORD to change it"
        if settings.demo_password == DEFAULT_DEMO_PASSWORD
        else "from EXONEB_DEMO_PASSWORD"
    )
    # One demo clock, started in the past, so the demo sessions have already happened.
    now = SystemClock().now()
    clock = FrozenClock(now - monitoring_demo.HISTORY)
    with system_action(clock=clock) as ctx:
        if ctx.db.scalar(select(func.count(User.id))):
            if not if_empty:
                typer.echo("The database already has users; the demo was not seeded.", err=True)
                raise typer.Exit(1)
            has_demo = accounts.get_site_by_code(ctx=ctx, code=DEMO_SITE[0]) is not None
            if has_demo:
                print_logins(hint)
            return
        site = accounts.create_site(
            ctx=ctx, code=DEMO_SITE[0], name=DEMO_SITE[1], time_zone=settings.site_time_zone
        )
        users = {
            role: accounts.create_user(
                ctx=ctx,
                settings=settings,
                username=username,
                full_name=name,
                role=role.value,
                site_id=site.id,
                password=settings.demo_password,
            )
            for username, name, role in DEMO_STAFF
        }
    with system_action(accounts.actor_for(users[Role.NURSE]), clock) as ctx:
        inhalation_demo.seed_devices(ctx)
    with system_action(accounts.actor_for(users[Role.PHARMACIST]), clock) as ctx:
        seed_preparation(ctx, settings)
    staff = {role: accounts.actor_for(user) for role, user in users.items()}
    with system_action(staff[Role.NURSE], clock) as ctx:
        monitoring_demo.seed(ctx, settings, staff, until=now)
    # After the DL1 history (weeks back), so the planned session is due tomorrow.
    with system_action(accounts.actor_for(users[Role.PHYSICIAN]), clock) as ctx:
        _seed_patients(ctx, settings)
    typer.echo(
        f"Seeded demo site {DEMO_SITE[1]} with {len(DEMO_STAFF)} staff, 3 patients and "
        f"{len(monitoring_demo.SUBJECTS)} dose-level-1 subjects who reached monitoring."
    )
    print_logins(hint)


def _seed_patients(ctx: Ctx, settings: Settings) -> None:
    """Three patients: one enrolled with a planned session, one consented, one new."""
    today = ctx.clock.now().date()  # the demo clock: a consent may not be dated after it
    ada = patients.create_patient(
        ctx=ctx,
        data=PatientCreate(
            mrn="DEMO-0001",
            family_name="Lovelace",
            given_name="Ada",
            birth_date=date(1960, 3, 12),
            sex="female",
            height_cm=165,
            weight_kg=62,
            phone="+1 555 0101",
        ),
    )
    for care in (
        CareCreate(
            medicine="Tiotropium",
            dose="18 µg",
            route="inhaled",
            frequency="once daily",
            prescriber="Dr. R. Laennec",
        ),
        CareCreate(
            medicine="Salbutamol",
            dose="100 µg, 2 puffs",
            route="inhaled",
            frequency="as needed",
            prescriber="Dr. R. Laennec",
        ),
    ):
        patients.add_care(ctx=ctx, patient_id=ada.id, data=care)
    patients.record_consent(
        ctx=ctx,
        patient_id=ada.id,
        data=ConsentCreate(document_version="ICF v1.0", consent_date=today, leaflet_language="en"),
        settings=settings,
    )
    enrolment = patients.enrol(
        ctx=ctx,
        settings=settings,
        patient_id=ada.id,
        data=EnrolmentCreate(
            protocol_id="demo-exo-01",
            arm_code="DL1",
            authorisation_kind="IND",
            authorisation_number="DEMO-IND-000000",
            ethics_approval="EC-DEMO-2026-01",
        ),
    )
    sessions.plan_session(
        ctx=ctx,
        patient_id=ada.id,
        data=SessionPlan(
            enrolment_id=enrolment.id,
            planned_for=datetime.combine(today + timedelta(days=1), time(9, 0)),
            note="Demo: first dose level 1 session",
        ),
    )

    lister = patients.create_patient(
        ctx=ctx,
        data=PatientCreate(
            mrn="DEMO-0002",
            family_name="Lister",
            given_name="Joseph",
            birth_date=date(1955, 4, 5),
            sex="male",
            height_cm=178,
            weight_kg=80,
        ),
    )
    patients.add_care(
        ctx=ctx,
        patient_id=lister.id,
        data=CareCreate(
            medicine="Budesonide/formoterol",
            dose="200/6 µg, 2 inhalations",
            route="inhaled",
            frequency="twice daily",
            prescriber="Dr. J. Hunter",
        ),
    )
    patients.record_consent(
        ctx=ctx,
        patient_id=lister.id,
        data=ConsentCreate(document_version="ICF v1.0", consent_date=today, leaflet_language="en"),
        settings=settings,
    )

    patients.create_patient(
        ctx=ctx,
        data=PatientCreate(
            mrn="DEMO-0003",
            family_name="Nightingale",
            given_name="Florence",
            birth_date=date(1948, 5, 12),
            sex="female",
            height_cm=160,
        ),
    )
