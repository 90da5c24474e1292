"""What the Dashboard asks the OGC API, kept as small as each KPI allows.

* the data's "now": one ``air_hourly`` record sorted by ``-time`` (no geometry);
* good-air days: ``aqi-daily`` for the latest 30 complete days, run synchronously (about 3 s
  on the sample's 40 stations; the year takes ~12 s and runs as a job with progress, see
  :mod:`~onemap.app.panels.dashboard_year`). Only the regional rows and the stations' extent
  are kept, cached per period and data version (latest hour + record count), so opening the
  page again does not recompute 1,200 (or 14,600) station-days;
* water classes: the 30-odd sections with only the class fields (the points are kept for the
  extents the map zooms to);
* incidents: only the open ones (CQL2 ``status <> 'closed'``) plus the total as ``numberMatched``;
* sources: counts only (``numberMatched`` of CQL2 filters, one feature, no geometry), never the
  3,000 (or a national million) sources; their points are fetched only when a bar is clicked,
  and then only the ``source_id`` of the matching ones.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from onemap.app import serverhttp
from onemap.app.ogcclient import OgcError, execute, items
from onemap.app.panels.dashboard_kpis import (
    PERMIT_ORDER,
    DataError,
    air_rows,
    bbox,
    data_now,
    group_filter,
    incident_kpi,
    permit_filters,
    recent_period,
    source_kpi,
    water_kpi,
)
from onemap.app.sources import internal_url
from onemap.config import Settings

#: Largest page asked for (the server caps ``limit`` at ``ONEMAP_MAX_ITEMS``).
PAGE = 5000
_CACHE_SIZE = 8
_cache: OrderedDict[tuple, dict] = OrderedDict()
_lock = threading.Lock()


def failure(exc: Exception) -> dict[str, Any]:
    """An error as JSON for a store, so the view can word it in either language later."""
    if isinstance(exc, OgcError):
        return {"status": exc.status, "code": exc.code, "parameter": exc.parameter,
                "detail": exc.detail}
    return {"status": 0, "code": "BadData", "parameter": "", "detail": str(exc)[:200]}


def _count(settings: Settings, collection: str, cql: str | None = None) -> int:
    doc = items(settings, collection, limit=1, skipGeometry="true", filter=cql)
    if "numberMatched" not in doc:
        raise DataError(f"{collection}: the server did not count the matches")
    return int(doc["numberMatched"])


def all_items(settings: Settings, collection: str, **params: Any) -> list[dict]:
    """Every feature matching ``params``, page by page (``offset``), so none is left out."""
    out: list[dict] = []
    while True:
        doc = items(settings, collection, limit=PAGE, offset=len(out) or None, **params)
        page = doc.get("features")
        if not isinstance(page, list):
            raise DataError(f"{collection} answered without features")
        out += page
        matched = doc.get("numberMatched")
        # Trust the count when there is one: a server whose ONEMAP_MAX_ITEMS is below PAGE
        # answers short pages that are not the last.
        if not page or (len(out) >= int(matched) if matched is not None else len(page) < PAGE):
            return out


def fetch_now(settings: Settings) -> dict[str, Any]:
    """The data's latest hour (see :func:`~onemap.app.panels.dashboard_kpis.data_now`)."""
    doc = items(settings, "air_hourly", limit=1, sortby="-time", skipGeometry="true",
                properties="time")
    return data_now(doc)


def air_key(settings: Settings, now: dict[str, Any], start: str, end: str) -> tuple:
    """Cache key of a period's rows: the server, the period and the data version."""
    return (internal_url(settings), serverhttp.identity(), start, end, now["time"],
            now["count"])


def cached(key: tuple) -> dict | None:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def remember(key: tuple, rows: dict) -> dict:
    with _lock:
        _cache[key] = rows
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return rows


def fetch_air(settings: Settings, now: dict[str, Any]) -> dict[str, Any]:
    """Regional daily AQI rows of the latest 30 complete days (cached per data version)."""
    start, end = recent_period(now)
    key = air_key(settings, now, start, end)
    hit = cached(key)
    if hit is not None:
        return hit
    answer = execute(settings, "aqi-daily", {"start": start, "end": end}, asynchronous=False)
    return remember(key, air_rows(answer.get("results") or {}, start, end))


def clear_cache() -> None:
    """Forget cached air results (the panel's refresh button: recompute on request)."""
    with _lock:
        _cache.clear()


def fetch_water(settings: Settings) -> dict[str, Any]:
    features = all_items(settings, "water_sections",
                         properties="section_id,water_class,target_class")
    return water_kpi({"features": features})


def fetch_incidents(settings: Settings) -> dict[str, Any]:
    open_ = all_items(settings, "incidents", properties="incident_id,level,status",
                      filter="status <> 'closed'")
    return incident_kpi({"features": open_}, _count(settings, "incidents"))


def fetch_sources(settings: Settings, now: dict[str, Any]) -> dict[str, Any]:
    """Counts of expired / soon-expiring permits per permit class, as of the data date."""
    day = now["day"]
    counts: dict[str, dict[str, int]] = {}
    for series in permit_filters(day):
        counts[series] = {c: _count(settings, "pollution_sources", group_filter(day, series, c))
                          for c in PERMIT_ORDER}
    permitted = _count(settings, "pollution_sources", "permit_id IS NOT NULL")
    return source_kpi(day, counts, permitted)


def fetch_source_bbox(settings: Settings, day: str, series: str,
                      permit_class: str) -> list[float] | None:
    """Extent of one bar's sources (fetched on click: ids and points only)."""
    features = all_items(settings, "pollution_sources", properties="source_id",
                         filter=group_filter(day, series, permit_class))
    return bbox(features)
