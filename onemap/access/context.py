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

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from onemap.access.principal import ANONYMOUS, Principal

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
