"""pygeoapi's job manager on OneMap's system database, validating inputs before a job exists,
running async jobs in the shared bounded pool and honouring DELETE.

Job records are rows of the system database's jobs table (:class:`~onemap.mapserver.jobs.
JobStore`), not a TinyDB file: they survive a restart, a job interrupted by a crash is marked
failed at the next start, and at most ``ONEMAP_MAX_JOBS`` jobs run at once — the others wait as
"accepted" with their place in line in the message. A synchronous request runs at most
``ONEMAP_PROCESS_TIMEOUT`` seconds (checked at each progress report). Callback URLs
(``subscriber``) are not supported: the server never posts to an address a client chose.

pygeoapi creates the job record first and only then runs the processor, so an invalid request
would otherwise become a "failed" job (async: 201 and a job to poll) or a generic "Error executing
process" (sync). :class:`OneMapManager` runs the processor's :meth:`prepare` first: its
:class:`~onemap.mapserver.processing.base.ProcessInputError` reaches pygeoapi's API layer before
any job is added, which answers with its HTTP 400 and OGC exception code for both modes.

The processor that was prepared is the one that runs (the checks may have read data it reuses),
handed over through a thread-local because pygeoapi asks ``get_processor`` again inside
``execute_process``. Each processor knows its manager so it can report progress and notice that
its job was deleted. After the work, if the job is gone (DELETE during the run), the result file
pygeoapi wrote and anything the run registered are removed.

Access: the manager is shared by every request, so it asks whose request it serves from
:func:`onemap.access.context.current` (the server's context-copying executor carries the
request's principal into pygeoapi's threads). :attr:`OneMapManager.processes` holds only the
processes the caller may see (:mod:`.gate`): pygeoapi's list, description and execution all
read it, and :meth:`get_processor` — the execution — goes through it again. A job records its
owner (user, roles, region); it is listed for its owner and admins (``policy.job_listed``),
read, cancelled and its results fetched by them only (``policy.job_visible``, else the 404 of an
unknown job), and a queued job runs as its owner, taken from its record.

pygeoapi 0.21's ``delete_job`` answers with an empty header dict, and its Starlette adapter
reads ``headers['Content-Type']`` — so ``DELETE /jobs/{id}`` deleted the job and then failed
with a 500. :func:`_json_delete_job` wraps it to add the JSON content type (the body is
pygeoapi's own); the adapter looks the function up on the module at request time.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import pygeoapi.api.processes as processes_api
from pygeoapi.api import F_JSON, F_JSONLD, FORMAT_TYPES
from pygeoapi.process.base import BaseProcessor, JobNotFoundError, JobResultNotFoundError
from pygeoapi.process.manager.base import BaseManager
from pygeoapi.util import RequestedProcessExecutionMode

from onemap.access import context, policy
from onemap.config import Settings
from onemap.mapserver.jobs import (
    ACTIVE,
    STOPPING,
    JobStore,
    now,
    owner_fields,
    owner_of,
    queued_message,
    submit,
)
from onemap.mapserver.processing import gate
from onemap.mapserver.processing.base import OneMapProcessor
from onemap.sysdb import interrupted

KIND = "process"
#: pygeoapi's job fields kept in their own columns; any other field goes to ``extra``.
COLUMNS = {"status", "message", "progress", "started", "updated", "finished", "location",
           "mimetype"}


def _json_delete_job(delete_job: Any) -> Any:
    if getattr(delete_job, "onemap_json", False):
        return delete_job

    def wrapped(api: Any, request: Any, job_id: str) -> tuple[dict, Any, Any]:
        headers, status, content = delete_job(api, request, job_id)
        return {"Content-Type": "application/json", **(headers or {})}, status, content

    wrapped.onemap_json = True  # type: ignore[attr-defined]
    return wrapped


processes_api.delete_job = _json_delete_job(processes_api.delete_job)


def manager_settings(settings: Settings) -> dict[str, Any]:
    """What the manager needs of ``settings``, as pygeoapi's ``server.manager`` config."""
    return {"connection": settings.system_db_url, "data_dir": str(settings.data_dir),
            "max_jobs": settings.max_jobs, "process_timeout": settings.process_timeout,
            "output_dir": str(settings.runtime_dir / "jobs")}


class OneMapManager(BaseManager):
    """Jobs in the system database + validation before job creation + cancellation by DELETE."""

    def __init__(self, manager_def: dict) -> None:
        self.settings = Settings(data_dir=Path(manager_def["data_dir"]),
                                 system_db=str(manager_def["connection"]),
                                 max_jobs=int(manager_def.get("max_jobs", 2)),
                                 process_timeout=int(manager_def.get("process_timeout", 300)))
        super().__init__(manager_def)
        # BaseManager fills ``self.processes`` item by item, which the filtered property below
        # would drop: set the whole table here
        self.processes = {pid: dict(conf)
                          for pid, conf in manager_def.get("processes", {}).items()}
        self.is_async = True
        self.supports_subscribing = False
        self.store = JobStore(self.settings)
        self._local = threading.local()

    # -- access -----------------------------------------------------------------------------
    @property
    def processes(self) -> collections.OrderedDict:
        """The processes the current principal may see (pygeoapi lists, describes and runs
        only these; any other id is "not found")."""
        shown = gate.current_visible(list(self._processes), self.settings)
        return collections.OrderedDict((p, self._processes[p]) for p in shown)

    @processes.setter
    def processes(self, value: dict) -> None:
        self._processes = collections.OrderedDict(value)

    def _visible_job(self, job_id: str) -> dict[str, Any]:
        """The job record if the current principal may see it; JobNotFoundError (404)
        otherwise, the same as for an id that does not exist."""
        job = self.store.get(job_id, KIND)
        if job is None or not policy.job_visible(context.current(), job["owner"]):
            raise JobNotFoundError()
        return job

    # -- records ----------------------------------------------------------------------------
    def _doc(self, job: dict[str, Any]) -> dict[str, Any]:
        doc = {**job["extra"], "type": "process", "identifier": job["id"],
               "process_id": job["name"], "created": job["created"],
               **{k: job[k] for k in COLUMNS}}
        if job["status"] == "accepted":
            doc["message"] = queued_message(self.store.ahead(job), self.settings)
        return doc

    def get_jobs(self, status: Any = None, limit: int | None = None,
                 offset: int | None = None) -> dict:
        who = context.current()
        if not policy.job_listed(who, who.user):  # anonymous: nobody's jobs are listed
            return {"jobs": [], "numberMatched": 0}
        owner = None if who.has("admin") else who.user
        jobs, total = self.store.list(KIND, limit=limit, offset=offset or 0, owner=owner)
        return {"jobs": [self._doc(j) for j in jobs], "numberMatched": total}

    def add_job(self, job_metadata: dict) -> str:
        meta = dict(job_metadata)
        job_id, process_id = meta.pop("identifier"), meta.pop("process_id")
        for key in ("type", "created", "updated"):
            meta.pop(key, None)
        columns = {k: meta.pop(k) for k in list(meta) if k in COLUMNS}
        self.store.add(job_id, KIND, process_id, extra=meta, **columns,
                       **owner_fields(context.current()))
        return job_id

    def update_job(self, job_id: str, update_dict: dict) -> bool:
        columns = {k: v for k, v in update_dict.items() if k in COLUMNS}
        rest = {k: v for k, v in update_dict.items() if k not in COLUMNS}
        if rest:
            job = self.store.get(job_id, KIND)
            if job is None:
                return False
            columns["extra"] = {**job["extra"], **rest}
        return self.store.update(job_id, **columns)

    def get_job(self, job_id: str) -> dict:
        return self._doc(self._visible_job(job_id))

    def delete_job(self, job_id: str) -> bool:
        job = self._visible_job(job_id)
        if job["location"] and self.output_dir is not None:
            Path(job["location"]).unlink(missing_ok=True)
        return self.store.delete(job_id)

    def get_job_result(self, job_id: str) -> tuple[str | None, Any]:
        import json

        job = self.get_job(job_id)
        if job["status"] != "successful":
            return (None,)  # type: ignore[return-value]
        location, mimetype = job.get("location"), job.get("mimetype")
        if not location:
            raise JobResultNotFoundError()
        try:
            path = Path(location)
            if mimetype in (None, FORMAT_TYPES[F_JSON], FORMAT_TYPES[F_JSONLD]):
                return mimetype, json.loads(path.read_text(encoding="utf-8"))
            return mimetype, path.read_bytes()
        except (OSError, ValueError):
            raise JobResultNotFoundError() from None

    # -- execution --------------------------------------------------------------------------
    def get_processor(self, process_id: str) -> BaseProcessor:
        prepared = getattr(self._local, "prepared", None)
        if prepared is not None and prepared.metadata.get("id") == process_id:
            self._local.prepared = None
            return prepared
        processor = super().get_processor(process_id)
        if isinstance(processor, OneMapProcessor):
            processor.manager = self
        return processor

    def execute_process(self, process_id: str, data_dict: dict, *args: Any, **kwargs: Any
                        ) -> Any:
        processor = self.get_processor(process_id)  # UnknownProcessError as pygeoapi expects
        if isinstance(processor, OneMapProcessor):
            processor.prepare(data_dict)  # ProcessInputError → HTTP 400, no job created
            mode = kwargs.get("execution_mode", args[0] if args else None)
            if mode != RequestedProcessExecutionMode.respond_async:
                processor.deadline = time.monotonic() + self.settings.process_timeout
        self._local.prepared = processor
        try:
            return super().execute_process(process_id, data_dict, *args, **kwargs)
        finally:
            self._local.prepared = None

    def _execute_handler_async(self, p: BaseProcessor, job_id: str, data_dict: dict,
                               *args: Any, **kwargs: Any) -> tuple[str, None, Any]:
        """Queue the run in the shared pool (pygeoapi would start a thread per job)."""
        from pygeoapi.util import JobStatus

        submit(self.settings, self._run_queued, p, job_id, data_dict, *args, **kwargs)
        return "application/json", None, JobStatus.accepted

    def _run_queued(self, p: BaseProcessor, job_id: str, data_dict: dict, *args: Any,
                    **kwargs: Any) -> None:
        job = self.store.get(job_id, KIND)
        if job is None or job["status"] not in ACTIVE:  # deleted while it waited
            return
        with context.acting_as(owner_of(job)):  # a pool thread: the job says who it runs for
            if not gate.visible(context.current(), job["name"], self.settings):
                self.store.update(job_id, status="failed", finished=now(), message=(
                    "not run: its owner may no longer run this process"))
                return
            self._execute_handler_sync(p, job_id, data_dict, *args, **kwargs)

    def _execute_handler_sync(self, p: BaseProcessor, job_id: str, data_dict: dict,
                              *args: Any, **kwargs: Any) -> Any:
        self.store.update(job_id, status="running", started=now(), message="started")
        result = super()._execute_handler_sync(p, job_id, data_dict, *args, **kwargs)
        job = self.store.get(job_id, KIND)
        if STOPPING.is_set() and job is not None and job["status"] == "failed":
            self.store.update(job_id, message=interrupted("shut down", "running",
                                                          job["progress"]))
        if job is None:  # deleted while running: leave nothing
            if self.output_dir is not None:
                (Path(self.output_dir) / f"{p.metadata['id']}-{job_id}").unlink(missing_ok=True)
            if isinstance(p, OneMapProcessor):
                p.discard()
        return result

    def __repr__(self) -> str:
        return f"<OneMapManager> {self.name}"
