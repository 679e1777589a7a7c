"""Browser fixtures: a real exoneb server on a free loopback port and Debian's chromium.

The server runs as a separate process (``exoneb serve``) on a temporary SQLite
file seeded with ``exoneb demo``; Playwright drives ``/usr/bin/chromium``
(never a downloaded browser).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
DEMO_PASSWORD = "e2e-demo-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running exoneb with demo data."""
    db = tmp_path_factory.mktemp("e2e") / "exoneb.db"
    port = _free_port()
    env = {
        **os.environ,
        "EXONEB_DATABASE_URL": f"sqlite:///{db}",
        "EXONEB_ENVIRONMENT": "test",
        "EXONEB_CHEAP_PASSWORD_HASHING": "true",
        "EXONEB_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    cli = [str(Path(sys.executable).parent / "exoneb")]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "demo"], env=env, check=True, capture_output=True)
    log = (Path(db).parent / "server.log").open("w")
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    # A readiness wait, not a speed check: generous, because the suite runs one worker
    # per core and a loaded machine can take a while to import and migrate.
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"server did not start: {Path(log.name).read_text()}") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing; `make test` installs it (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL.

    For browser tests that set up records through the services in this process
    (the step packages' test builders) before a person takes over in chromium.
    """
    import threading

    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
