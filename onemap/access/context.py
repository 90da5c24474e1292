"""The principal of the request being served, for code that HTTP does not reach directly.

FastAPI routes take the principal from ``request.state.principal``; code that runs below a
framework we do not own (pygeoapi's provider and process manager) reads :func:`current`. The
default is :data:`ANONYMOUS`, so code that lost the context (a thread started without copying
it) sees less, never more.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from onemap.access.principal import ANONYMOUS, Principal

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
