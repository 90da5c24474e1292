"""Where heavy analyses compute: a dask.distributed cluster, the same code on one machine or many.

By default each OneMap process that runs a heavy analysis starts a ``LocalCluster`` of
``ONEMAP_DASK_WORKERS`` worker processes (one thread each: the interpolation holds the GIL) the
first time it needs one, and keeps it for its lifetime; ``ONEMAP_DASK_SCHEDULER`` names an
existing cluster's scheduler (``tcp://10.0.0.5:8786``) instead, whose workers must see the data
dir at the same path. Tasks are plain functions of picklable arguments (a ``Settings``, a time
span), so a worker reads the data itself rather than receiving it.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from onemap.config import Settings

if TYPE_CHECKING:
    from distributed import Client

LOGGER = logging.getLogger(__name__)
_CLIENTS: dict[tuple[str, int, str], Client] = {}
_LOCK = threading.Lock()


def client(settings: Settings) -> Client:
    """This process's client of the configured cluster (started or connected once)."""
    from distributed import Client, LocalCluster

    workers = settings.dask_workers or os.cpu_count() or 1
    key = (settings.dask_scheduler, workers, str(settings.runtime_dir))
    with _LOCK:
        found = _CLIENTS.get(key)
        if found is not None and found.status == "running":
            return found
        if settings.dask_scheduler:
            made = Client(settings.dask_scheduler, set_as_default=False, timeout=30)
            LOGGER.info("dask: using the cluster at %s", settings.dask_scheduler)
        else:
            scratch = settings.runtime_dir / "dask"
            scratch.mkdir(parents=True, exist_ok=True)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, local_directory=str(scratch),
                                   silence_logs=logging.WARNING)
            made = Client(cluster, set_as_default=False)
            LOGGER.info("dask: started a local cluster of %d workers", workers)
        _CLIENTS[key] = made
        return made


def threads(c: Client) -> int:
    """How many tasks the cluster runs at once."""
    return max(1, sum(c.nthreads().values()))


def close_all() -> None:
    """Stop the clusters this process started (at exit; tests)."""
    with _LOCK:
        for made in _CLIENTS.values():
            cluster = made.cluster
            made.close()
            if cluster is not None:
                cluster.close()
        _CLIENTS.clear()
