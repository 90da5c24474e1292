"""The principal of the request being served, for code that HTTP does not reach directly.

FastAPI routes take the principal from ``request.state.principal``; code that runs below a
framework we do not own (pygeoapi's provider and process manager) reads :func:`current`. The
default is :data:`ANONYMOUS`, so code that lost the context (a thread started without copying
it) sees less, never more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

from onemap.access.principal import ANONYMOUS, Principal

T = TypeVar("T")
_CURRENT: ContextVar[Principal] = ContextVar("onemap_principal", default=ANONYMOUS)


def current() -> Principal:
    return _CURRENT.get()


def set_current(principal: Principal) -> None:
    """For the authentication middleware: the rest of this request acts as ``principal``."""
    _CURRENT.set(principal)


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Run a block (a job's worker thread, a test) as ``principal``."""
    token = _CURRENT.set(principal)
    try:
        yield principal
    finally:
        _CURRENT.reset(token)


class CopyingExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context.

    pygeoapi's Starlette adapter runs every API call with ``loop.run_in_executor(None, …)``,
    and asyncio's default pool does not copy context variables: the provider and the process
    manager would see :data:`ANONYMOUS` (less, never more — but a logged-in analyst could not
    run a process). Installed as the event loop's default executor by the server, it carries
    the request's principal into the thread that serves it.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(copy_context().run, fn, *args, **kwargs)
