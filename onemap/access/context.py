"""The principal of the request being served, for code that HTTP does not reach directly.

FastAPI routes take the principal from ``request.state.principal``; code that runs below a
framework we do not own (pygeoapi's provider and process manager) reads :func:`current`. The
default is :data:`ANONYMOUS`, so code that lost the context (a thread started without copying
it) sees less, never more.

A request also collects the internal datasets :func:`onemap.access.policy.read` let it read
(:func:`note_read`), so the audit writes one ``read_internal`` record per request, not one per
feature or tile: the HTTP audit (mapserver.auditing) starts the collection with
:func:`collect_reads` before the request runs. The collection is a mutable set held by the
context variable, so a route running in a worker thread (which gets a *copy* of the context)
still adds to the request's own set.
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
_READS: ContextVar[set[str] | None] = ContextVar("onemap_reads", default=None)


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


def collect_reads() -> set[str]:
    """Start collecting this request's reads of internal datasets: the set :func:`note_read`
    fills (for the audit middleware, before it calls the application)."""
    reads: set[str] = set()
    _READS.set(reads)
    return reads


def note_read(dataset_id: str) -> None:
    """Note that the current request read internal dataset ``dataset_id`` (no-op outside a
    request, e.g. in the CLI or a test calling the policy directly without collecting)."""
    reads = _READS.get()
    if reads is not None:
        reads.add(dataset_id)


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
