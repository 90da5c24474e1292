"""Who may see and run each process: the one check shared by the process list, the
description, the execution request and the job manager at execution.

A process is visible to a principal when :func:`onemap.access.policy.process_visible` says so:
its role (``PROCESS_ROLES``) and every dataset it reads (:data:`READS`, declared here next to
nothing else so that one table says what each process touches). A hidden process is absent from
``/ogc/processes`` and answers 404 to a description or an execution, before its body is read —
the same answer as an unknown process id.

Datasets a request names by id (an NDVI raster, an area layer) are checked by the processor
itself against what its caller may see (see ``processing/ecology.py``), so a hidden one is
"unknown", never read.
"""

from __future__ import annotations

import json
from typing import Any

from onemap import catalog
from onemap.access import context, policy
from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.mapserver.auth import principal_of

#: The datasets each process always reads (by catalogue id). A process reading a dataset not
#: declared here would be shown to callers who may not see that dataset: tests check that every
#: process has an entry and that every id is catalogued in the sample.
READS: dict[str, tuple[str, ...]] = {
    "aqi-hourly": ("air_hourly", "air_stations", "admin_boundaries"),
    "aqi-daily": ("air_hourly", "air_stations", "admin_boundaries"),
    "pm25-surface": ("air_hourly", "air_stations", "admin_boundaries"),
    "pm25-surface-series": ("air_hourly", "air_stations", "admin_boundaries"),
    "upwind-sources": ("air_hourly", "air_stations", "pollution_sources"),
    "incident-assessment": ("rivers", "water_intakes", "water_sections",
                            "sensitive_receptors", "protected_areas", "water_source_zones",
                            "pollution_sources", "air_stations", "admin_boundaries",
                            "air_hourly"),
    "ecology-change": ("rivers", "water_bodies", "pollution_sources", "incidents"),
}


def reads(process_id: str, entries: dict[str, Entry]) -> list[Entry]:
    """The catalogued datasets ``process_id`` reads (a missing one cannot hide anything)."""
    return [entries[d] for d in READS.get(process_id, ()) if d in entries]


def visible(principal: Principal, process_id: str, settings: Settings,
            entries: dict[str, Entry] | None = None) -> bool:
    """Whether ``principal`` may see and run ``process_id``."""
    if process_id not in READS:
        return False
    entries = catalog.load(settings) if entries is None else entries
    return policy.process_visible(principal, process_id, reads(process_id, entries), settings)


def visible_ids(principal: Principal, process_ids: list[str], settings: Settings) -> list[str]:
    """The ids of ``process_ids`` ``principal`` may see, in their order (one catalogue read)."""
    entries = catalog.load(settings)
    return [p for p in process_ids if visible(principal, p, settings, entries)]


def current_visible(process_ids: list[str], settings: Settings) -> list[str]:
    """:func:`visible_ids` for the principal of the running request or job (code below
    pygeoapi has no request to ask)."""
    return visible_ids(context.current(), process_ids, settings)


async def _drain(receive: Any) -> None:
    """Read a request body to its end (or the client's going), unused."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class ProcessGate:
    """ASGI gate in front of pygeoapi: ``/processes/{id}`` and its ``/execution`` answer 404
    for a process the caller may not see before anything else reads the request (so a
    malformed body to a hidden process is a 404 too, as to an unknown id)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            path = path[len(root):] if root and path.startswith(root) else path
            parts = path.strip("/").split("/")
            if len(parts) in (2, 3) and parts[0] == "processes" \
                    and (len(parts) == 2 or parts[2] == "execution") \
                    and not visible(principal_of(scope), parts[1], self.settings):
                await _drain(receive)  # a body over the edge's limit is still its 413
                body = json.dumps({"code": "NoSuchProcess", "type": "NoSuchProcess",
                                   "description": "Identifier not found",
                                   "detail": f"no process {parts[1]!r}"}).encode()
                await send({"type": "http.response.start", "status": 404, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
