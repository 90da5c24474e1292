"""The principal reaches the threads that serve a request (pygeoapi runs its API calls in the
event loop's default executor)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from onemap.access import context
from onemap.access.context import CopyingExecutor
from onemap.access.principal import ANONYMOUS, make


def test_copying_executor_carries_the_principal() -> None:
    analyst = make("ann", {"analyst"})

    async def serve(loop_executor: ThreadPoolExecutor) -> tuple:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(loop_executor)
        context.set_current(analyst)  # what the authentication middleware does
        return await loop.run_in_executor(None, context.current)

    with CopyingExecutor(max_workers=1) as pool:
        assert asyncio.run(serve(pool)) == analyst
    # asyncio's plain pool loses it: the thread reads the default, anonymous (why we copy)
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert asyncio.run(serve(pool)) == ANONYMOUS
    assert context.current() == ANONYMOUS  # nothing leaked into this thread


def test_acting_as_is_undone() -> None:
    with context.acting_as(make("bob", {"viewer"})) as who:
        assert context.current() is who
    assert context.current() is ANONYMOUS
