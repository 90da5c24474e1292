"""Access control for the mounted pygeoapi: hidden collections absent, the principal carried.

pygeoapi knows nothing of principals; three pieces make it serve each caller what the policy
(:mod:`onemap.access.policy`) lets them see, without patching its code:

- :func:`carry_principal` — pygeoapi's Starlette adapter runs every API call through
  ``loop.run_in_executor(None, …)``, which does *not* copy context variables: the provider
  would read the default principal (anonymous). It makes the loop's default executor a
  :class:`onemap.access.context.CopyingExecutor`, which runs each call in a copy of the
  submitting task's context.
- :class:`VisibleResources` — pygeoapi's ``config['resources']``, seen through the request's
  principal: a collection it may not see is absent from every listing pygeoapi builds from it
  (``/collections`` in JSON and HTML, the conformance and landing pages), exactly as if it
  were not configured. Processes are passed through unchanged (their visibility is the process
  manager's).
- :func:`collection_problem` and :func:`filter_openapi` — the gate in front of pygeoapi
  (:class:`onemap.mapserver.ogc_gate.RejectUnknownParams`) answers ``/collections/{id}`` and
  everything under it with the same 404 for a hidden id as for an unknown one, and removes
  hidden collections' paths from the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from onemap.access import context, policy, scope
from onemap.access.context import CopyingExecutor
from onemap.config import Settings
from onemap.mapserver.ogc_describe import rewrite_json
from onemap.mapserver.records import RECORDS_ID

#: Same answer for an unknown and a hidden collection (probing ids tells nothing).
NOT_FOUND = {"code": "NotFound", "type": "NotFound", "description": "Collection not found",
             "detail": "Collection not found"}


_INSTALL_LOCK = threading.Lock()
#: Collections of no catalogue entry that everyone sees: the records (数据资源目录), whose
#: provider leaves out the records of hidden datasets itself (onemap.mapserver.records).
SHARED = frozenset({RECORDS_ID})


def carry_principal() -> None:
    """Make the running loop's default executor a context-copying one (once per loop).
    Called at the server's start (its lifespan) and again by the gate before pygeoapi runs (a
    loop started without the lifespan, e.g. a test client), so its ``run_in_executor(None, …)``
    calls keep the request's principal."""
    loop = asyncio.get_running_loop()
    if isinstance(getattr(loop, "_default_executor", None), CopyingExecutor):
        return
    with _INSTALL_LOCK:
        previous = getattr(loop, "_default_executor", None)
        if isinstance(previous, CopyingExecutor):
            return
        workers = min(32, (os.cpu_count() or 1) + 4)  # asyncio's own default size
        loop.set_default_executor(CopyingExecutor(max_workers=workers,
                                                  thread_name_prefix="onemap-ogc"))
        if previous is not None:  # let its idle threads end; running calls finish first
            previous.shutdown(wait=False)


class VisibleResources(dict):
    """pygeoapi's resources where the request's principal cannot see hidden collections.

    Only the views pygeoapi iterates (``items``, ``keys``, ``values``, iteration, ``in``,
    ``len``, ``get``) are filtered; ``resources[id]`` still answers, because pygeoapi indexes
    only ids it found through those views, and the gate 404s hidden ids before pygeoapi runs.
    """

    def __init__(self, resources: dict[str, Any], settings: Settings) -> None:
        super().__init__(resources)
        self.settings = settings

    def _hidden(self) -> set[str]:
        return hidden_collections(self.settings, [k for k, v in super().items()
                                                  if v.get("type") == "collection"])

    def items(self) -> Any:  # type: ignore[override]
        """The visible resources; a collection the principal sees only part of (a region-bound
        principal on an internal layer) with the extent of that part, not the whole layer's."""
        principal = context.current()
        entries = scope.entries(self.settings)
        out = []
        for k, v in super().items():
            if v.get("type") != "collection":
                out.append((k, v))
                continue
            if k in SHARED:
                out.append((k, v))
                continue
            entry = entries.get(k)
            limits = None if entry is None else policy.limits(principal, entry, self.settings)
            if limits is None:
                continue
            out.append((k, _current(v, entry) if limits.whole
                        else _limited(v, entry, limits, self.settings)))
        return out

    def keys(self) -> Any:  # type: ignore[override]
        return [k for k, _ in self.items()]

    def values(self) -> Any:  # type: ignore[override]
        return [v for _, v in self.items()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) and key not in self._hidden()

    def __len__(self) -> int:
        return len(self.keys())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key, default) if key in self else default


def when(text: str | None) -> datetime | None:
    """An ISO time as an aware datetime (pygeoapi compares extents with aware times)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _current(resource: dict[str, Any], entry: Any) -> dict[str, Any]:
    """A copy of ``resource`` with the extents the catalogue holds now: single-feature edits
    and appends move them without reloading pygeoapi (see onemap.mapserver.freshness)."""
    extents = dict(resource.get("extents") or {})
    if entry.bbox:
        extents["spatial"] = {**(extents.get("spatial") or {}), "bbox": entry.bbox}
    if "temporal" in extents and entry.time_extent:
        begin, end = (when(t) for t in (list(entry.time_extent) + [None])[:2])
        extents["temporal"] = {**extents["temporal"], "begin": begin, "end": end}
    return {**resource, "extents": extents}


def _limited(resource: dict[str, Any], entry: Any, limits: policy.Limits,
             settings: Settings) -> dict[str, Any]:
    """A copy of ``resource`` whose spatial extent is that of the features ``limits`` let
    through (none: the region's own box, which says nothing of the layer)."""
    _, bbox = scope.extent(entry, limits, settings)
    if bbox is None:
        bbox = list(limits.area.bounds) if limits.area is not None else [0.0, 0.0, 0.0, 0.0]
    extents = dict(resource.get("extents") or {})
    extents["spatial"] = {**(extents.get("spatial") or {}), "bbox": bbox}
    return {**resource, "extents": extents}


def hidden_collections(settings: Settings, ids: list[str]) -> set[str]:
    """Which of the collection ``ids`` the request's principal may not see (an id without a
    catalogue entry, such as one removed since pygeoapi loaded, counts as hidden)."""
    principal = context.current()
    entries = scope.entries(settings)
    out = set()
    for cid in ids:
        if cid in SHARED:
            continue
        entry = entries.get(cid)
        if entry is None or policy.limits(principal, entry, settings) is None:
            out.add(cid)
    return out


def collection_problem(path_parts: list[str], known: set[str], settings: Settings) -> bool:
    """Whether a request under ``/collections/{id}`` names a collection that is unknown or
    hidden from the request's principal (to be answered :data:`NOT_FOUND`)."""
    if len(path_parts) < 2 or path_parts[0] != "collections" or not path_parts[1]:
        return False
    cid = path_parts[1]
    return cid not in known or cid in hidden_collections(settings, [cid])


async def not_found(send: Any) -> None:
    body = json.dumps(NOT_FOUND).encode()
    await send({"type": "http.response.start", "status": 404, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def filter_openapi(doc: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """The OpenAPI document without the paths of ``hidden`` collections."""
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not hidden:
        return doc
    prefixes = tuple(f"/collections/{cid}" for cid in hidden)
    doc["paths"] = {p: v for p, v in paths.items()
                    if not any(p == x or p.startswith(x + "/") for x in prefixes)}
    return doc


async def send_filtered_openapi(app: Any, scope_: dict, receive: Any, send: Any,
                                hidden: set[str]) -> None:
    """Run pygeoapi's OpenAPI endpoint and pass its JSON on without ``hidden`` collections'
    paths (other formats, e.g. the Swagger page that fetches the JSON, pass unchanged)."""

    def edit(doc: Any) -> Any:
        return filter_openapi(doc, hidden) if isinstance(doc, dict) else doc

    await rewrite_json(app, scope_, receive, send, edit)


def install(module: Any, settings: Settings) -> None:
    """Wrap the resources of pygeoapi's loaded Starlette module ``module`` (its ``api_`` and
    ``CONFIG`` share one config dict) in :class:`VisibleResources`."""
    for config in {id(c): c for c in (module.api_.config, module.CONFIG)}.values():
        if not isinstance(config["resources"], VisibleResources):
            config["resources"] = VisibleResources(config["resources"], settings)
