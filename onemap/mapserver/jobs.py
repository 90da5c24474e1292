"""Background jobs for work too long for one HTTP request (converting an upload to a COG).

A client gets ``202 Accepted`` and a job URL at once, then polls it, as with OGC API Processes
(same status names), so a browser can show "uploaded, converting…" and a proxy's time-out never
cuts a long conversion. Jobs live in memory: a restart forgets them, and an interrupted job has
registered nothing because registration is the last step of the work.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

LOGGER = logging.getLogger(__name__)
Status = Literal["accepted", "running", "successful", "failed", "dismissed"]
#: Finished jobs kept for polling; older ones are forgotten first.
KEEP = 200


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobDismissed(Exception):
    """Raised inside a job's work when the client cancelled it."""


@dataclass
class Job:
    """One unit of background work and what a client may know about it."""

    id: str
    dataset: str
    status: Status = "accepted"
    message: str = "waiting for a worker"
    progress: int = 0
    created: str = field(default_factory=_now)
    started: str | None = None
    finished: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Call between steps of the work: stops it if the client dismissed the job."""
        if self.cancel.is_set():
            raise JobDismissed(self.id)

    def doc(self, public_url: str) -> dict[str, Any]:
        return {
            "jobID": self.id, "status": self.status, "message": self.message,
            "progress": self.progress, "dataset": self.dataset, "created": self.created,
            "started": self.started, "finished": self.finished,
            "links": [{"rel": "monitor", "type": "application/json",
                       "href": f"{public_url}/api/jobs/{self.id}"},
                      {"rel": "dataset", "type": "application/json",
                       "href": f"{public_url}/api/rasters/{self.dataset}"}],
        }


class JobRegistry:
    """A small worker pool and the jobs it has run (state shared across requests)."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onemap-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, dataset: str, work: Callable[[Job], str],
               cleanup: Callable[[], None] | None = None) -> Job:
        """Queue ``work(job)``; it returns the success message. ``cleanup`` always runs after."""
        job = Job(id=uuid.uuid4().hex, dataset=dataset)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work, cleanup)
        return job

    def _run(self, job: Job, work: Callable[[Job], str],
             cleanup: Callable[[], None] | None) -> None:
        """Run the work; the outcome is published only after ``cleanup`` has run, so a client
        that sees a final status never finds the job's temporary files still there."""
        status: Status
        try:
            job.check()
            job.status, job.started, job.progress = "running", _now(), 10
            job.message = "converting to a Cloud-Optimised GeoTIFF"
            message = work(job)
            status, progress = "successful", 100
        except JobDismissed:
            status, progress, message = "dismissed", job.progress, "cancelled by the client"
        except Exception as exc:  # the job's outcome, reported to the client in words
            LOGGER.warning("job %s (%s) failed: %s", job.id, job.dataset, exc)
            status, progress, message = "failed", job.progress, str(exc) or type(exc).__name__
        finally:
            if cleanup is not None:
                cleanup()
        job.finished = _now()
        job.status, job.progress, job.message = status, progress, message

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def dismiss(self, job_id: str) -> Job | None:
        """Ask a job to stop; it reports "dismissed" once its work has stopped and cleaned up
        (a finished job keeps its status)."""
        job = self.get(job_id)
        if job is not None and job.status in ("accepted", "running"):
            job.cancel.set()
            job.message = "cancelling"
        return job

    def _forget_old(self) -> None:
        done = [j for j in self._jobs.values() if j.finished]
        for job in sorted(done, key=lambda j: j.finished or "")[: max(0, len(done) - KEEP)]:
            del self._jobs[job.id]
