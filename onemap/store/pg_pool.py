"""One bounded, recycled pool of PostgreSQL connections per process and URL.

pygeoapi makes a provider per request; a pool per provider (or per engine never disposed, as
pygeoapi's own PostgreSQL provider does, issue #2344) exhausts ``max_connections`` once
replicas × workers × pool sizes add up. Here each process has one small pool per URL, its
connections closed after ``MAX_LIFETIME`` seconds and checked before use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from onemap.config import Settings

#: The schema that holds one table per served layer (apart from the system tables).
SCHEMA = "layers"
MAX_SIZE = 8
MAX_LIFETIME = 600.0
_POOLS: dict[str, ConnectionPool] = {}
_LOCK = threading.Lock()


def pool(settings: Settings) -> ConnectionPool:
    url = settings.database_url
    with _LOCK:
        found = _POOLS.get(url)
        if found is None or found.closed:
            found = ConnectionPool(url, min_size=1, max_size=MAX_SIZE, open=True,
                                   max_lifetime=MAX_LIFETIME, check=ConnectionPool.check_connection,
                                   kwargs={"application_name": "onemap"}, configure=_configure)
            _POOLS[url] = found
        return found


def _configure(conn: psycopg.Connection) -> None:
    """Each new connection: no JIT. Our queries are index probes and range scans returning
    up to a few hundred thousand rows; PostgreSQL's planner costs a 13-year series above
    ``jit_above_cost`` and spends ~30 ms compiling what then runs in 50."""
    conn.execute("SET jit = off")
    conn.commit()


@contextmanager
def connection(settings: Settings) -> Iterator[psycopg.Connection]:
    with pool(settings).connection() as conn:
        yield conn


def close_all() -> None:
    with _LOCK:
        for p in _POOLS.values():
            p.close()
        _POOLS.clear()
