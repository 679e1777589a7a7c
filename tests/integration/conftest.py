"""Database fixtures: every integration test runs on SQLite and on PostgreSQL.

Each backend is migrated once per test session into a template (a file for
SQLite, a template database for PostgreSQL); each test gets a fresh copy, so
the append-only audit table never has to be emptied. The PostgreSQL variant
needs ``EXONEB_TEST_POSTGRES_URL`` (``scripts/test.sh`` and ``make test`` set it)
and is skipped with that reason only when it is unset.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from exoneb.accounts import service as accounts
from exoneb.accounts.models import User
from exoneb.accounts.permissions import Role
from exoneb.core import migrate, transaction
from exoneb.core.clock import FrozenClock
from exoneb.core.config import Settings
from exoneb.core.context import SYSTEM, Actor
from exoneb.core.db import make_engine, make_session_factory
from exoneb.monitoring import escalation_gate  # noqa: F401  (registers the enrolment guard)

PG_ENV = "EXONEB_TEST_POSTGRES_URL"
PASSWORD = "correct horse battery"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL template database migrated to head."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set; run the tests with `make test` for PostgreSQL")
    name = f"exoneb_tpl_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    migrate.upgrade(make_url(base).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "exoneb.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("postgres_template")
    base = os.environ[PG_ENV]
    name = f"exoneb_t_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class World:
    """A migrated database with one site and one user per role."""

    settings: Settings
    factory: sessionmaker[DbSession]
    clock: FrozenClock
    users: dict[Role, User] = field(default_factory=dict)
    site_id: int = 0

    def actor(self, role: Role) -> Actor:
        """The actor for the user holding ``role``."""
        return accounts.actor_for(self.users[role])

    def action(self, role: Role | None = None, actor: Actor | None = None):  # type: ignore[no-untyped-def]
        """One transaction acting as ``role`` (or ``actor``; default system)."""
        who = actor or (self.actor(role) if role else SYSTEM)
        return transaction.action(self.factory, actor=who, clock=self.clock, ip="127.0.0.1")

    def ctx_db(self) -> DbSession:
        """A plain session for assertions."""
        return self.factory()


def make_settings(url: str, **overrides: object) -> Settings:
    """Test settings: cheap hashing, given database."""
    values: dict[str, object] = {
        "environment": "test",
        "database_url": url,
        "cheap_password_hashing": True,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_world(url: str, clock: FrozenClock | None = None, **overrides: object) -> World:
    """Create the site and a user for each role."""
    settings = make_settings(url, **overrides)
    engine = make_engine(url)
    world = World(
        settings=settings, factory=make_session_factory(engine), clock=clock or FrozenClock()
    )
    with world.action() as ctx:
        site = accounts.create_site(ctx=ctx, code="S1", name="Site one", time_zone="UTC")
        world.site_id = site.id
        for role in Role:
            world.users[role] = accounts.create_user(
                ctx=ctx,
                settings=settings,
                username=f"{role.value}1",
                full_name=f"{role.value.title()} One",
                role=role.value,
                site_id=site.id,
                password=PASSWORD,
            )
    return world


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """A seeded world on each backend."""
    w = seed_world(db_url)
    yield w
    w.factory.kw["bind"].dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One seeded world per backend shared by a module (tests must not depend on each other)."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("shared") / "exoneb.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        w = seed_world(f"sqlite:///{target}")
        yield w
        w.factory.kw["bind"].dispose()
        return
    template = request.getfixturevalue("postgres_template")
    base = os.environ[PG_ENV]
    name = f"exoneb_m_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    w = seed_world(make_url(base).set(database=name).render_as_string(hide_password=False))
    yield w
    w.factory.kw["bind"].dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
