"""``POST /api/feeds/{table_id}``: rows appended to a time-series table over HTTP, and
:func:`ingest`, the one way a feed enters (the route, ``onemap feed`` and ``onemap watch``).

A batch is JSON (``{"rows": [...]}`` or the array itself) or CSV (``text/csv``, read as an
import reads a CSV: encoding, column aliases, Chinese values); it is upserted by the table's
key, all or none (:func:`onemap.layers.feeds.append`). The answer is 200 ``{table, rows,
inserted, updated, unchanged}``, or 422 ``{code: "InvalidData", detail, total, errors: [{row,
field, problem}]}`` listing every problem — nothing was written then.

Who may: ``policy.require(…, "feed")`` — the ``data_manager`` role, checked before the body is
read; a region-bound manager only for tables its region owns, as for ``/api/layers``; a table
the caller cannot see answers 404 as an unknown id. The body is bounded by
``ONEMAP_MAX_BODY_MB`` (:class:`onemap.mapserver.edge.BodyLimit`) and recorded in the audit
as ``feed`` (:mod:`onemap.mapserver.auditing`).

After the commit the views built from the table (latest AQI per station, latest class per
section, each sample's class) are updated for the sites fed only (:func:`views.refresh`), and
the catalogue entry's count and time extent have changed with the rows: the map, the OGC
items and ``/api/catalog`` show the new rows at the next request.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pandas as pd
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from onemap import catalog
from onemap.access import policy
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.errors import LayerImportError
from onemap.live import readings_feed  # noqa: F401 - registers the outlet readings' feed
from onemap.mapserver import views
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import error_responses
from onemap.mapserver.rasters import Catalogue

LOGGER = logging.getLogger(__name__)
JSON_TYPES = (b"application/json",)
CSV_TYPES = (b"text/csv",)


def ingest(table_id: str, frame: pd.DataFrame, settings: Settings, *, source: str,
           unit: str = "row") -> feeds.Result:
    """Feed ``frame`` into table ``table_id`` (:func:`feeds.append`), then bring the views
    built from it up to date for the sites fed. A view that cannot be updated in place is
    dropped, so the next reader rebuilds it whole rather than serving it stale."""
    with views.views_lock(settings):  # one feed at a time, views included
        entries = catalog.load(settings)
        entry = entries.get(table_id)
        if entry is None:
            raise catalog.UnknownDataset(table_id)
        fresh = views.fresh_views(entries, entry, settings) if feeds.feed_of(entry) else set()
        result = feeds.append(table_id, frame, settings, source=source, unit=unit)
        entries = catalog.load(settings)
        if result.inserted or result.updated:
            try:
                views.refresh(entries, entries[table_id], settings, result.keys, fresh)
            except Exception:  # noqa: BLE001 - the data is committed; the view is derived
                LOGGER.exception("views of %s could not be updated in place: rebuilt whole",
                                 table_id)
                for target in fresh:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{target}{suffix}").unlink(missing_ok=True)
        else:  # nothing changed: the views still say what the table says (the table's file
            for target in fresh:  # was touched by the checkpoint, its content was not)
                os.utime(target)
        if feeds.feed_of(entry):  # a view that was stale, or dropped above, is built whole now:
            views.materialise(entries, settings)  # the server reads views, never rebuilds them
    return result


def problems_doc(exc: LayerImportError) -> dict:
    """The 422 body: every problem with its row (None: the whole batch) and field."""
    return {"code": "InvalidData", "detail": str(exc), "total": exc.total,
            "errors": [{"row": p.row, "field": p.field, "problem": p.message}
                       for p in exc.problems]}


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status_code=status)


async def _batch(request: Request, table_id: str, settings: Settings) -> pd.DataFrame:
    """The rows of the request body, by its content type (UnsupportedMediaType: None)."""
    ctype, _ = parse_options_header(request.headers.get("content-type", ""))
    source = f"feed of {table_id}"
    if ctype in JSON_TYPES or ctype.endswith(b"+json"):
        return feeds.parse_json(await request.body(), source)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.upload_dir, prefix=".feed-") as folder:
        path = Path(folder) / f"{table_id}.csv"  # the name the problems are reported under
        with open(path, "wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
        frame, _unit = feeds.read_batch(path, settings)
    return frame


def feed_router(cat: Catalogue) -> APIRouter:
    settings = cat.settings
    router = APIRouter(tags=["layers"])

    @router.post("/api/feeds/{table_id}", summary="Append rows to a time-series table",
                 responses=error_responses(409, 413, 415, 422))
    async def feed(table_id: str, request: Request) -> Response:
        """Upsert a batch of rows (JSON ``{"rows": [...]}`` or an array; or ``text/csv``)
        into table ``table_id`` by its key (site + time): all rows or none. 200 ``{table,
        rows, inserted, updated, unchanged}``; 422 lists every problem (row, field,
        problem); 409 for a dataset that is not a time-series table."""
        who = principal_of(request)
        policy.require(who, "feed", settings)  # before the body: 401 / 403
        entry = cat.entries().get(table_id)
        if entry is None or entry.kind not in ("vector", "table") \
                or policy.limits(who, entry, settings) is None:
            return _error(404, "NotFound", f"unknown table {table_id!r}")
        request.state.audit = {"target": table_id}
        policy.require(who, "feed", settings, entry)  # a region's manager: its tables only
        if feeds.feed_of(entry) is None:
            return _error(409, "NotAFeed", f"{table_id!r} ({entry.kind}, family "
                          f"{entry.family}) is not a table feeds write: those are tables of "
                          f"{', '.join(feeds.FEEDS)}")
        ctype, _ = parse_options_header(request.headers.get("content-type", ""))
        if not (ctype in JSON_TYPES + CSV_TYPES or ctype.endswith(b"+json")):
            return _error(415, "UnsupportedMediaType", f"cannot read a "
                          f"{ctype.decode('latin-1')!r} feed: send application/json "
                          '({"rows": [...]} or an array of rows) or text/csv')
        try:
            frame = await _batch(request, table_id, settings)
            result = await run_in_threadpool(ingest, table_id, frame, settings,
                                             source=f"feed of {table_id}")
        except ClientDisconnect:
            return Response(status_code=400)
        except LayerImportError as exc:
            request.state.audit["detail"] = {"problems": exc.total}
            return JSONResponse(problems_doc(exc), status_code=422)
        except catalog.UnknownDataset:
            return _error(404, "NotFound", f"unknown table {table_id!r}")
        except ValueError as exc:  # the table itself cannot take feeds (see feeds._prepare)
            return _error(409, "NotAFeed", str(exc))
        request.state.audit["detail"] = result.doc()
        return JSONResponse(result.doc())

    return router
