"""Background jobs for work too long for one HTTP request (converting an upload to a COG, an
async process run), kept in the system database.

A client gets ``202 Accepted`` and a job URL at once, then polls it, as with OGC API Processes
(same status names), so a browser can show "uploaded, converting…" and a proxy's time-out never
cuts a long conversion. The record is a row of :data:`onemap.sysdb.JOBS`, not a Python object:
a restart keeps every finished job's outcome, a job interrupted by a crash is marked failed with
the reason at the next start (:mod:`onemap.mapserver.recovery`), and cancelling is a column the
worker reads between steps. At most ``ONEMAP_MAX_JOBS`` jobs run at once on the machine, however
many worker processes serve (:func:`slot`); the rest wait in line and say so in their status.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from sqlalchemy import and_, delete, func, insert, select, update

from onemap import sysdb
from onemap.access import policy
from onemap.access.principal import ANONYMOUS, Principal, make
from onemap.config import Settings
from onemap.sysdb import JOBS, interrupted, now

LOGGER = logging.getLogger(__name__)
Status = Literal["accepted", "running", "successful", "failed", "dismissed"]
ACTIVE = ("accepted", "running")
#: Seconds a shutdown waits for running jobs to stop (a job checks between steps; a crash or a
#: longer step is cleaned up at the next start instead).
STOP_WAIT = 60
#: Finished upload jobs kept for polling; older ones are deleted first.
KEEP = 200


def worker_name() -> str:
    """This process as the ``worker`` column names it: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


#: Set when the server shuts down: running jobs stop at their next step, queued ones never start.
STOPPING = threading.Event()


class JobDismissed(Exception):
    """Raised inside a job's work when the client cancelled it."""


class ServerStopping(Exception):
    """Raised inside a job's work when the server shuts down."""




def owner_fields(principal: Principal) -> dict[str, Any]:
    """The job columns that record who started it (see :func:`owner_of`)."""
    return {"owner": principal.user, "owner_roles": ",".join(sorted(principal.roles)),
            "owner_region": principal.region}


def owner_of(job: dict[str, Any]) -> Principal:
    """The principal a job runs as: its owner as they were when they started it. A worker
    thread has no request, so the job record is what says who it acts for."""
    if not job.get("owner"):
        return ANONYMOUS
    roles = [r for r in (job.get("owner_roles") or "").split(",") if r]
    return make(job["owner"], roles, job.get("owner_region"), via="session")


class JobStore:
    """The SQL of the jobs table, in one place (uploads and processes share the table)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = sysdb.engine(settings)

    def add(self, job_id: str, kind: str, name: str, *, status: Status = "accepted",
            message: str = "", progress: int = 0, extra: dict[str, Any] | None = None,
            **fields: Any) -> None:
        stamp = now()
        row = {"id": job_id, "kind": kind, "name": name, "status": status, "message": message,
               "progress": progress, "created": stamp, "updated": stamp,
               "worker": worker_name(), "cancel": False, "extra": sysdb.dumps(extra or {}),
               **fields}
        with self.engine.begin() as conn:
            conn.execute(insert(JOBS).values(**row))

    def update(self, job_id: str, **fields: Any) -> bool:
        """Change columns of a job; False if it no longer exists."""
        if "extra" in fields and not isinstance(fields["extra"], str):
            fields["extra"] = sysdb.dumps(fields["extra"])
        fields.setdefault("updated", now())
        with self.engine.begin() as conn:
            return conn.execute(update(JOBS).where(JOBS.c.id == job_id)
                                .values(**fields)).rowcount > 0

    def get(self, job_id: str, kind: str | None = None) -> dict[str, Any] | None:
        query = select(JOBS).where(JOBS.c.id == job_id)
        if kind is not None:
            query = query.where(JOBS.c.kind == kind)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _row(row) if row is not None else None

    def list(self, kind: str, limit: int | None = None, offset: int = 0,
             owner: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Jobs of ``kind`` (of ``owner`` only, unless None), newest first, and how many there
        are."""
        where = JOBS.c.kind == kind
        if owner is not None:
            where = and_(where, JOBS.c.owner == owner)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(JOBS).where(where)).scalar()
            query = select(JOBS).where(where).order_by(JOBS.c.created.desc()).offset(offset)
            if limit:
                query = query.limit(limit)
            rows = conn.execute(query).mappings().all()
        return [_row(r) for r in rows], int(total or 0)

    def delete(self, job_id: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(JOBS).where(JOBS.c.id == job_id)).rowcount > 0

    def cancelled(self, job_id: str) -> bool:
        """True if the client asked the job to stop (or deleted it)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(JOBS.c.cancel).where(JOBS.c.id == job_id)).first()
        return value is None or bool(value[0])

    def ahead(self, job: dict[str, Any]) -> int:
        """Jobs of this worker queued before ``job`` (its place in line)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(JOBS).where(and_(
                JOBS.c.status == "accepted", JOBS.c.worker == job["worker"],
                JOBS.c.created < job["created"]))).scalar() or 0)

    def prune(self, kind: str, keep: int = KEEP) -> None:
        """Delete the oldest finished jobs of ``kind`` beyond ``keep``."""
        with self.engine.begin() as conn:
            old = conn.execute(
                select(JOBS.c.id).where(JOBS.c.kind == kind, JOBS.c.finished.is_not(None))
                .order_by(JOBS.c.finished.desc()).offset(keep)).scalars().all()
            if old:
                conn.execute(delete(JOBS).where(JOBS.c.id.in_(old)))


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["extra"] = json.loads(out.get("extra") or "{}")
    return out


_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
_RUNNING: set[futures.Future] = set()


def submit(settings: Settings, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn`` in the process's bounded pool (a shutdown waits for it to stop), once it has
    one of the machine's ``ONEMAP_MAX_JOBS`` slots (:func:`slot`): every worker process has
    its pool, and the slots bound them all together."""
    def in_a_slot() -> Any:
        with slot(settings):
            return fn(*args, **kwargs)

    future = job_pool(settings).submit(in_a_slot)
    with _POOL_LOCK:
        _RUNNING.add(future)
    future.add_done_callback(_forget)


def _forget(future: futures.Future) -> None:
    with _POOL_LOCK:
        _RUNNING.discard(future)


def job_pool(settings: Settings) -> ThreadPoolExecutor:
    """The process's one bounded pool of background workers (uploads and processes share it,
    so ``ONEMAP_MAX_JOBS`` bounds the machine's load, not each kind's)."""
    key = (settings.system_db_url, settings.max_jobs)
    with _POOL_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ThreadPoolExecutor(max_workers=settings.max_jobs,
                                                   thread_name_prefix="onemap-job")
        return pool


#: Seconds between a waiting job's tries for a slot.
SLOT_POLL = 0.2


@contextlib.contextmanager
def slot(settings: Settings) -> Iterator[int]:
    """Hold one of ``ONEMAP_MAX_JOBS`` slots shared by every OneMap process of the data dir:
    an exclusive ``flock`` on one of the files ``runtime/job-slots/<i>``, waited for while
    all are held. The kernel drops a dead process's locks, so a killed worker never keeps a
    slot. (Workers on other machines sharing the data dir over NFS each count their own.)
    A server that is stopping does not wait: the job then stops at its first step."""
    folder = settings.runtime_dir / "job-slots"
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(settings.max_jobs):
            fd = os.open(folder / str(i), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield i
            finally:
                os.close(fd)  # (releases the lock)
            return
        if STOPPING.wait(SLOT_POLL):
            yield -1
            return


def stop_jobs(settings: Settings) -> None:
    """At shutdown: queued jobs are failed now (they will never run), running ones stop at
    their next step and record why; the process exits once they have cleaned up."""
    STOPPING.set()
    pools = list(_POOLS.values())
    for pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)
    eng = sysdb.engine(settings)
    with eng.begin() as conn:
        conn.execute(update(JOBS).where(JOBS.c.worker == worker_name(),
                                        JOBS.c.status == "accepted")
                     .values(status="failed", finished=now(), updated=now(),
                             message=interrupted("shut down", "accepted", 0)))
    # uvicorn ends the process right after shutdown (it re-raises the signal): wait here for
    # the running jobs to reach their next step and clean up, a bounded time
    with _POOL_LOCK:
        running = list(_RUNNING)
    futures.wait(running, timeout=STOP_WAIT)


def queued_message(ahead: int, settings: Settings) -> str:
    return (f"queued: {ahead} job(s) ahead; at most {settings.max_jobs} run at once "
            "(ONEMAP_MAX_JOBS)")


class Job:
    """A running upload job as its work sees it: report progress, notice cancellation."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store, self.id = store, job_id

    def check(self) -> None:
        """Call between steps of the work: stops it if the client dismissed the job or the
        server is shutting down."""
        if STOPPING.is_set():
            raise ServerStopping(self.id)
        if self.store.cancelled(self.id):
            raise JobDismissed(self.id)


class JobRegistry:
    """Upload jobs: submit work to the shared pool, poll and cancel by id."""

    KIND = "upload"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = JobStore(settings)

    def submit(self, dataset: str, work: Callable[[Job], str],
               cleanup: Callable[[], None] | None = None, *,
               owner: Principal = ANONYMOUS) -> dict[str, Any]:
        """Queue ``work(job)`` for ``owner``; it returns the success message. ``cleanup`` always
        runs after. The row is committed before this returns, so the job URL the client gets
        works."""
        job_id = uuid.uuid4().hex
        self.store.add(job_id, self.KIND, dataset, message="waiting for a worker",
                       **owner_fields(owner))
        self.store.prune(self.KIND)
        submit(self.settings, self._run, job_id, work, cleanup)
        return self.get(job_id, owner) or {}

    def _run(self, job_id: str, work: Callable[[Job], str],
             cleanup: Callable[[], None] | None) -> None:
        """Run the work; the outcome is published only after ``cleanup`` has run, so a client
        that sees a final status never finds the job's temporary files still there."""
        job = Job(self.store, job_id)
        status: Status
        progress = 10
        try:
            job.check()
            self.store.update(job_id, status="running", started=now(), progress=progress,
                              message="converting to a Cloud-Optimised GeoTIFF")
            message = work(job)
            status, progress = "successful", 100
        except JobDismissed:
            status, message = "dismissed", "cancelled by the client"
        except ServerStopping:
            current = self.store.get(job_id) or {"status": "running", "progress": progress}
            status = "failed"
            message = interrupted("shut down", current["status"], current["progress"])
        except Exception as exc:  # the job's outcome, reported to the client in words
            LOGGER.warning("job %s failed: %s", job_id, exc)
            status, message = "failed", str(exc) or type(exc).__name__
        finally:
            if cleanup is not None:
                cleanup()
        self.store.update(job_id, status=status, progress=progress, message=message,
                          finished=now())

    def get(self, job_id: str, principal: Principal) -> dict[str, Any] | None:
        """The job if ``principal`` may see it (its owner, an admin), else None (404)."""
        job = self.store.get(job_id, self.KIND)
        if job is not None and not policy.job_visible(principal, job["owner"]):
            return None
        if job is not None and job["status"] == "accepted" and not job["cancel"]:
            job["message"] = queued_message(self.store.ahead(job), self.settings)
        return job

    def dismiss(self, job_id: str, principal: Principal) -> dict[str, Any] | None:
        """Ask a job to stop; it reports "dismissed" once its work has stopped and cleaned up
        (a finished job keeps its status). None when there is no such job ``principal`` may
        see."""
        job = self.store.get(job_id, self.KIND)
        if job is None or not policy.job_visible(principal, job["owner"]):
            return None
        if job["status"] in ACTIVE:
            self.store.update(job_id, cancel=True, message="cancelling")
            job = self.store.get(job_id, self.KIND)
        return job


def upload_doc(job: dict[str, Any], public_url: str) -> dict[str, Any]:
    """An upload job as ``/api/jobs/{id}`` answers it."""
    return {
        "jobID": job["id"], "status": job["status"], "message": job["message"],
        "progress": job["progress"], "dataset": job["name"], "created": _seconds(job["created"]),
        "started": _seconds(job["started"]), "finished": _seconds(job["finished"]),
        "links": [{"rel": "monitor", "type": "application/json",
                   "href": f"{public_url}/api/jobs/{job['id']}"},
                  {"rel": "dataset", "type": "application/json",
                   "href": f"{public_url}/api/rasters/{job['name']}"}],
    }


def _seconds(stamp: str | None) -> str | None:
    return stamp.split(".")[0] + stamp[26:] if stamp and len(stamp) > 26 else stamp
