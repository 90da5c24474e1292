"""Live monitoring over HTTP: alarms pushed as they happen, officials acting on them, and the
figures a dashboard shows (online rate, exceedances, open alarms).

- ``GET /api/alarms/events`` — server-sent events: one ``alarm`` event per alarm opened or
  changed (its GeoJSON feature), after the ``Last-Event-ID`` the browser sends back when it
  reconnects (nothing missed across a server restart), or from now. Every worker reads the
  live file, so any worker serves any browser; a county officer's stream carries the alarms
  inside the county only (the alarms layer's cut, decided by the policy).
- ``POST /api/alarms/{alarm_id}/acknowledge`` and ``…/close`` (``{"note": …}`` optional) —
  the ``handle_alarm`` action (commanders), on alarms the caller sees; audited.
- ``GET /api/live/summary`` — devices by status, the online rate (在线率), open alarms by
  rule, exceedances today, cut to the caller's region; only of the live layers the caller
  may see (others are absent).

The alarms themselves are the OGC collection ``alarms`` (queryable by time, rule, status and
region like every layer); these routes add what a collection cannot do: push and workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from shapely.geometry import Point
from starlette.concurrency import run_in_threadpool

from onemap.access import policy, scope
from onemap.catalog import Entry
from onemap.live import alarms, livestore
from onemap.live.readings import stamp
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import ApiError, ErrorRoute, error_responses
from onemap.mapserver.rasters import Catalogue
from onemap.store import pg_live

#: Seconds between looks at the live file for changes, and between keep-alive comments.
POLL_S = 0.5
KEEPALIVE_S = 15.0
#: A stream ends after this long; the browser reconnects at once with its Last-Event-ID
#: (spreads long-lived connections over restarted or added workers, misses nothing).
STREAM_MAX_S = 600.0


class AlarmAction(BaseModel):
    note: str | None = Field(None, max_length=2000,
                             description="What the official found or did (kept on the alarm)")


@contextlib.contextmanager
def _reading(entry: Entry, settings: Any) -> Iterator[sqlite3.Connection]:
    uri = f"file:{entry.file(settings)}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def feature(alarm: dict[str, Any], lon: float, lat: float) -> dict[str, Any]:
    """An alarm row as the GeoJSON feature the OGC collection gives."""
    props = {k: v for k, v in alarm.items() if k not in ("fid", "geom")}
    return {"type": "Feature", "id": alarm["alarm_id"], "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _where(conn: sqlite3.Connection, alarm: dict[str, Any]) -> tuple[float, float]:
    blob = conn.execute("SELECT geom FROM alarms WHERE alarm_id = ?",
                        (alarm["alarm_id"],)).fetchone()
    xy = livestore.blob_xy(blob[0]) if blob else None
    return xy if xy is not None else (float("nan"), float("nan"))


class Newest:
    """The newest ``updated`` of the alarms, looked up at most once per ``POLL_S`` for all the
    streams of this process: a hundred open maps cost one indexed query per half second, and
    a stream reads the changes themselves only when there are some."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, str]] = {}
        self._lock = asyncio.Lock()

    @staticmethod
    def _read(path: str) -> str:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=10)) as conn:
            row = conn.execute("SELECT MAX(updated) FROM alarms").fetchone()
        return row[0] or ""

    async def __call__(self, path: str) -> str:
        async with self._lock:
            checked, newest = self._seen.get(path, (0.0, ""))
            if time.monotonic() - checked >= POLL_S:
                newest = await run_in_threadpool(self._read, path)
                self._seen[path] = (time.monotonic(), newest)
        return newest


def live_router(cat: Catalogue) -> APIRouter:
    settings = cat.settings
    router = APIRouter(tags=["live monitoring"], route_class=ErrorRoute)
    newest = Newest()

    def entry_of(table: str) -> Entry:
        entry = cat.entries().get(table)
        if entry is None:
            raise ApiError(404, "NotFound", "no live monitoring here: the HJ 212 receiver "
                           "(onemap hj212) has not run on this data dir")
        return entry

    def changes(entry: Entry, limits: policy.Limits, since: str) -> list[tuple[str, dict]]:
        with _reading(entry, settings) as conn:
            out = []
            for alarm in alarms.changed_since(conn, since):
                lon, lat = _where(conn, alarm)
                if limits.sees(Point(lon, lat)):
                    out.append((f"{alarm['updated']}|{alarm['fid']}",
                                feature(alarm, lon, lat)))
                else:
                    out.append((f"{alarm['updated']}|{alarm['fid']}", {}))
            return out

    @router.get("/api/alarms/events", summary="Alarms as they happen (server-sent events)",
                response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}}})
    async def alarm_events(request: Request) -> StreamingResponse:
        """``text/event-stream``: an ``alarm`` event (the alarm's GeoJSON feature) for each
        alarm opened or changed after ``Last-Event-ID`` (or after the connection opened)."""
        who = principal_of(request)
        entry = entry_of(livestore.ALARMS)
        limits = policy.read(who, entry, settings)  # hidden: 404 like an unknown route
        last = request.headers.get("last-event-id", "")
        since = last.split("|")[0] if last else stamp(datetime.now(UTC))

        async def stream() -> AsyncIterator[bytes]:
            nonlocal since
            yield b"retry: 2000\n\n"
            quiet = 0.0
            ends = time.monotonic() + STREAM_MAX_S
            path = str(entry.file(settings))
            while time.monotonic() < ends and not await request.is_disconnected():
                found = []
                if await newest(path) > since:
                    found = await run_in_threadpool(changes, entry, limits, since)
                for event_id, doc in found:
                    since = event_id.split("|")[0]
                    if doc:
                        data = json.dumps(doc, ensure_ascii=False, allow_nan=False,
                                          default=str)
                        yield f"id: {event_id}\nevent: alarm\ndata: {data}\n\n".encode()
                        quiet = 0.0
                if quiet >= KEEPALIVE_S:
                    yield b": keep-alive\n\n"
                    quiet = 0.0
                await asyncio.sleep(POLL_S)
                quiet += POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    def act(alarm_id: str, status: str, request: Request, body: AlarmAction | None
            ) -> JSONResponse:
        who = principal_of(request)
        policy.require(who, "handle_alarm", settings)  # the role first: 401 / 403
        entry = entry_of(livestore.ALARMS)
        limits = policy.read(who, entry, settings)
        request.state.audit = {"target": alarm_id}
        conn = livestore.connect(entry.file(settings))
        try:
            try:
                current = alarms.get(conn, alarm_id)
            except alarms.AlarmNotFound:
                current = None
            lon, lat = _where(conn, current) if current else (float("nan"),) * 2
            if current is None or not limits.sees(Point(lon, lat)):
                raise ApiError(404, "NotFound", f"unknown alarm {alarm_id!r}")
            try:
                done = alarms.set_status(conn, alarm_id, status, who.user,
                                         body.note if body else None)
            except alarms.AlarmConflict as exc:
                raise ApiError(409, "Conflict", str(exc)) from None
        finally:
            conn.close()
        pg_live.poke(settings)  # committed: PostGIS's copy follows
        request.state.audit["detail"] = {"status": status, "rule": done["rule"],
                                         "outlet": done["outlet_code"]}
        return JSONResponse(feature(done, lon, lat))

    @router.post("/api/alarms/{alarm_id}/acknowledge", summary="Acknowledge an alarm",
                 responses=error_responses(409))
    def acknowledge(alarm_id: str, request: Request, body: AlarmAction | None = None
                    ) -> JSONResponse:
        """The alarm, now ``acknowledged`` by the caller (commanders; 409 when it already
        is, or is closed)."""
        return act(alarm_id, "acknowledged", request, body)

    @router.post("/api/alarms/{alarm_id}/close", summary="Close an alarm",
                 responses=error_responses(409))
    def close(alarm_id: str, request: Request, body: AlarmAction | None = None
              ) -> JSONResponse:
        """The alarm, now ``closed`` by the caller (acknowledged too, if it was new)."""
        return act(alarm_id, "closed", request, body)

    @router.get("/api/live/summary", summary="Online rate, exceedances and open alarms")
    def summary(request: Request) -> dict[str, Any]:
        """Figures of the live layers the caller may see, cut to the caller's region: devices
        by status and the online rate (online over devices that ever reported), alarms not
        closed by rule, exceedance alarms begun in the last 24 hours."""
        who = principal_of(request)
        out: dict[str, Any] = {}
        for table in (livestore.DEVICES, livestore.ALARMS):
            entry = cat.entries().get(table)
            limits = policy.limits(who, entry, settings) if entry else None
            if entry is None or limits is None:
                continue
            policy.read(who, entry, settings)  # noted for the audit
            with _reading(entry, settings) as conn:
                rows = _visible_rows(conn, entry, limits, settings)
            if table == livestore.DEVICES:
                counts: dict[str, int] = {}
                for (status,) in rows:
                    counts[status] = counts.get(status, 0) + 1
                reported = counts.get("online", 0) + counts.get("offline", 0)
                out["devices"] = {"total": len(rows), **{s: counts.get(s, 0) for s in
                                                         ("online", "offline", "unseen")},
                                  "online_rate": round(counts.get("online", 0) / reported, 4)
                                  if reported else None}
            else:
                day = stamp(datetime.now(UTC) - timedelta(days=1))
                open_by: dict[str, int] = {}
                for rule, status, _ in rows:
                    if status != "closed":
                        open_by[rule] = open_by.get(rule, 0) + 1
                out["alarms"] = {
                    "open": sum(open_by.values()), "open_by_rule": open_by,
                    "new": sum(1 for _, s, _ in rows if s == "new"),
                    "exceedances_24h": sum(1 for r, _, st in rows
                                           if r == "exceedance" and st >= day)}
        out["updated"] = stamp(datetime.now(UTC))
        return out

    return router


def _visible_rows(conn: sqlite3.Connection, entry: Entry, limits: policy.Limits,
                  settings: Any) -> list:
    """The summary's columns of the live layer's rows within ``limits`` (the layers' own cut,
    :func:`onemap.access.scope.visible_fids`)."""
    cols = "status" if entry.id == livestore.DEVICES else "rule, status, start"
    fids = scope.visible_fids(entry.file(settings), entry.id, limits)
    where = scope.ids_sql("fid", fids) or "1=1"
    return conn.execute(f"SELECT {cols} FROM {entry.id} WHERE {where}").fetchall()  # noqa: S608
