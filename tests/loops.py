"""Running a coroutine from a test, whatever else the session runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
    """Run ``coro`` on an event loop of its own thread: the browser tests' Playwright keeps a
    loop running in the main thread for the whole session, where ``asyncio.run`` would
    refuse."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout)).result()
