"""pygeoapi's TinyDB job manager, validating inputs before a job exists and honouring DELETE.

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

pygeoapi 0.21's ``delete_job`` answers with an empty header dict, and its Starlette adapter
reads ``headers['Content-Type']`` — so ``DELETE /jobs/{id}`` deleted the job and then failed
with a 500. :func:`_json_delete_job` wraps it to add the JSON content type (the body is
pygeoapi's own); the adapter looks the function up on the module at request time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pygeoapi.api.processes as processes_api
from pygeoapi.process.base import BaseProcessor, JobNotFoundError
from pygeoapi.process.manager.tinydb_ import TinyDBManager

from onemap.mapserver.processing.base import OneMapProcessor


def _json_delete_job(delete_job: Any) -> Any:
    if getattr(delete_job, "onemap_json", False):
        return delete_job

    def wrapped(api: Any, request: Any, job_id: str) -> tuple[dict, Any, Any]:
        headers, status, content = delete_job(api, request, job_id)
        return {"Content-Type": "application/json", **(headers or {})}, status, content

    wrapped.onemap_json = True  # type: ignore[attr-defined]
    return wrapped


processes_api.delete_job = _json_delete_job(processes_api.delete_job)


class OneMapManager(TinyDBManager):
    """TinyDB jobs + validation before job creation + cancellation by DELETE."""

    def __init__(self, manager_def: dict) -> None:
        super().__init__(manager_def)
        self._local = threading.local()

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
        self._local.prepared = processor
        try:
            return super().execute_process(process_id, data_dict, *args, **kwargs)
        finally:
            self._local.prepared = None

    def _execute_handler_sync(self, p: BaseProcessor, job_id: str, data_dict: dict,
                              *args: Any, **kwargs: Any) -> Any:
        result = super()._execute_handler_sync(p, job_id, data_dict, *args, **kwargs)
        try:
            self.get_job(job_id)
        except JobNotFoundError:  # deleted while running: leave nothing of it behind
            if self.output_dir is not None:
                (Path(self.output_dir) / f"{p.metadata['id']}-{job_id}").unlink(missing_ok=True)
            if isinstance(p, OneMapProcessor):
                p.discard()
        return result

    def __repr__(self) -> str:
        return f"<OneMapManager> {self.name}"
