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

:func:`load_all` answers all four at once for a page load: one question to the server
(``/api/versions``) says whether any dataset changed since they were last computed for this
user; only the changed ones are asked again, in parallel threads. So the KPIs are computed
once per data change, not once per page view.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from onemap.app import serverhttp
from onemap.app.ogcclient import TIMEOUT_S, OgcError, execute, items
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
_CACHE_SIZE = 64
_cache: OrderedDict[tuple, dict] = OrderedDict()
#: The datasets each store is computed from: its cache key carries their versions.
DEPENDS: dict[str, tuple[str, ...]] = {
    "now": ("air_hourly",), "air": ("air_hourly",), "water": ("water_sections",),
    "inc": ("incidents",), "src": ("air_hourly", "pollution_sources")}
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


def versions(settings: Settings) -> dict[str, str]:
    """Each visible dataset's data version (``/api/versions``); empty when it cannot be
    read, and then nothing is taken from the cache."""
    try:
        doc = serverhttp.get_json(f"{internal_url(settings)}/api/versions", timeout=TIMEOUT_S)
    except Exception:  # noqa: BLE001 (an older or unreachable server: compute everything)
        return {}
    found = doc.get("versions") if isinstance(doc, dict) else None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def read(what: str, reader: Any, *args: Any) -> dict:
    """``{what: …}`` or ``{"error": …}``: a failed read is kept to be said in words."""
    try:
        return {what: reader(*args)}
    except (OgcError, DataError) as exc:
        return {"error": failure(exc)}


def _kept(settings: Settings, name: str, tags: dict[str, str], compute: Any) -> dict:
    """The store ``name`` from the cache when its datasets' versions are those it was computed
    at; else computed (a failure is returned, never kept)."""
    deps = [tags.get(d) for d in DEPENDS[name]]
    key = None if None in deps else (
        "store", internal_url(settings), serverhttp.identity(), name, *deps)
    if key is not None and (hit := cached(key)) is not None:
        return hit
    store = compute()
    return store if key is None or "error" in store else remember(key, store)


def load_all(settings: Settings, refresh: bool = False) -> dict[str, dict | None]:
    """The dashboard's five stores (``now``, ``air``, ``water``, ``inc``, ``src``) in one go:
    the independent reads in parallel, the two that need the data's "now" after it.
    ``refresh`` (the panel's button) computes everything again."""
    if refresh:
        clear_cache()
    tags = versions(settings)
    now, water, inc = serverhttp.parallel(
        lambda: _kept(settings, "now", tags, lambda: read("now", fetch_now, settings)),
        lambda: _kept(settings, "water", tags, lambda: read("kpi", fetch_water, settings)),
        lambda: _kept(settings, "inc", tags, lambda: read("kpi", fetch_incidents, settings)))
    out = {"now": now, "water": water, "inc": inc, "air": None, "src": None}
    for value in out.values():
        if isinstance(value, Exception):
            raise value  # a bug, not a failed read (those are kept as {"error": …})
    if "error" in now:
        out["src"] = {"error": now["error"]}  # the air card says why from the now store
        return out
    out["air"], out["src"] = serverhttp.parallel(
        lambda: _kept(settings, "air", tags, lambda: read("rows", fetch_air, settings,
                                                          now["now"])),
        lambda: _kept(settings, "src", tags, lambda: read("kpi", fetch_sources, settings,
                                                          now["now"])))
    for value in (out["air"], out["src"]):
        if isinstance(value, Exception):
            raise value
    return out
