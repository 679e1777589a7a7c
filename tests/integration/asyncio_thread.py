"""Run a coroutine to completion on a fresh event loop in its own thread.

Once a browser test has run, Playwright's sync API keeps an event loop running
in the main thread for the rest of the session, and ``asyncio.run`` refuses to
start another there. Tests that need their own loop use :func:`run_async`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
    """``asyncio.run(coroutine)`` in a new thread; its result or its exception."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"the coroutine did not finish within {timeout_s} s")
    if "error" in outcome:
        raise outcome["error"]
    result: T = outcome["value"]
    return result
