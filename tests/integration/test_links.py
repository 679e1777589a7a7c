"""No dead ends: every link a staff member is shown leads to a page they may open.

Each role logs in to the demo clinic (patients, sessions in every step, lots,
devices, alerts, follow-up calls, the escalation table) and follows every link
it is shown, breadth first from the patient list. A link to a page the role
is refused (403), to nothing (404) or to an error is a bug: the button should
not have been shown. SQLite only: this checks the templates, not the database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from exoneb.core.config import Settings
from exoneb.web.app import create_app

DEMO_PASSWORD = "exoneb-demo-2026-links"
DEMO_USERS = ("admin", "dr.demo", "nurse", "pharmacist", "coordinator", "auditor")
MAX_PAGES = 400  # per role: the demo has < 100 distinct pages per role
_SKIP_PREFIXES = ("/static", "/logout", "/api/")
_SKIP_SUFFIXES = (".pdf", ".csv", ".json", "/stream")
_HREF = re.compile(r'href="(/[^"#?]*)')


@pytest.fixture(scope="module")
def demo_client_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The web app on a fresh demo database (seeded by the real `exoneb demo`)."""
    db = tmp_path_factory.mktemp("links") / "demo.db"
    env = {
        **os.environ,
        "EXONEB_DATABASE_URL": f"sqlite:///{db}",
        "EXONEB_ENVIRONMENT": "test",
        "EXONEB_CHEAP_PASSWORD_HASHING": "true",
        "EXONEB_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    cli = str(Path(sys.executable).parent / "exoneb")
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([cli, "demo"], env=env, check=True, capture_output=True)
    settings = Settings(database_url=env["EXONEB_DATABASE_URL"], environment="test")
    with TestClient(create_app(settings)) as client:
        yield client


def _links(html: str) -> list[str]:
    return [
        href
        for href in _HREF.findall(html)
        if not href.startswith(_SKIP_PREFIXES) and not href.endswith(_SKIP_SUFFIXES)
    ]


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_link_shown_to_a_role_opens(demo_client_factory: TestClient, username: str) -> None:
    client = demo_client_factory
    client.cookies.clear()
    login = client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    seen: set[str] = set()
    queue: deque[tuple[str, str]] = deque([("/patients", "(start)")])
    dead: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url, found_on = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code >= 400:
            dead.append(f"{url} → {response.status_code} (linked from {found_on})")
            continue
        if "text/html" in response.headers.get("content-type", ""):
            queue.extend((link, url) for link in _links(response.text) if link not in seen)
    assert dead == [], f"{username} is shown links it cannot open"
    assert len(seen) > 30  # the crawl really walked the demo clinic
