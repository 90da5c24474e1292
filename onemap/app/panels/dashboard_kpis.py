"""The Dashboard's numbers, computed from what the OGC API answered (pure functions, no HTTP).

Every KPI is reduced here from JSON the panel fetched (process results, feature collections,
``numberMatched`` counts) into a small JSON-serialisable dict that lives in a ``dcc.Store``;
the view (:mod:`onemap.app.panels.dashboard_view`) draws it in either language, so a language
switch never fetches again.

"Now" is the data's own latest hour (the newest ``air_hourly`` record), never the wall clock:
the sample region is a year of 2025 and must read as such whenever the page is opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from onemap.styles.symbology import AQI_LEVELS, INCIDENT_LEVELS, PERMIT_CLASSES, WATER_CLASSES

#: Daily AQI and the data's clock are read in Beijing time (UTC+8), as HJ 663 days are.
BEIJING = timezone(timedelta(hours=8))
#: The short period of the good-air share (the year is the other one).
RECENT_DAYS = 30
#: HJ 633: a day is "good" (优良) when its AQI is at most 100 (levels 1 and 2).
GOOD_AQI = 100
#: A permit expiring within this many days of the data date is flagged as "expiring soon".
SOON_DAYS = 90
#: GB 3838 classes I–III are "good water" (优良水体, the national assessment's share).
GOOD_WATER = ("I", "II", "III")
WATER_ORDER = {c.value: i for i, c in enumerate(WATER_CLASSES)}
INCIDENT_ORDER = tuple(c.value for c in INCIDENT_LEVELS)
PERMIT_ORDER = tuple(c.value for c in PERMIT_CLASSES)
#: Incident statuses that are still open, in the order a commander reads them.
OPEN_STATUSES = ("reported", "responding")
#: Key of features whose class is missing (no sample, or a code we do not know).
NONE = "none"
#: The hour shown on the map when the user clicks a day of the daily AQI chart (Beijing time).
DAY_CLICK_HOUR = 12


class DataError(ValueError):
    """An answer of the server that does not hold what a KPI needs (said in words by the view)."""


# -- the data's clock ---------------------------------------------------------------------------
def parse_time(value: object) -> datetime:
    """An ISO 8601 time of the API (``Z`` or an offset) as an aware datetime."""
    if not isinstance(value, str) or not value:
        raise DataError(f"not a time: {value!r}")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DataError(f"not a time: {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def data_now(latest: dict[str, Any]) -> dict[str, Any]:
    """The data's "now" from a one-feature page of ``air_hourly`` sorted by ``-time``.

    Returns the latest hour (UTC ISO and Beijing local), the data date (Beijing) and the last
    complete day: a day whose 23:00 hour is present; otherwise the day before. ``count`` (the
    collection's ``numberMatched``) lets a cache notice re-imported data.
    """
    features = latest.get("features") or []
    if not features:
        raise DataError("air_hourly holds no records")
    when = parse_time((features[0].get("properties") or {}).get("time")).astimezone(BEIJING)
    last_day = when.date() if when.hour == 23 else when.date() - timedelta(days=1)
    return {"time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "local": when.strftime("%Y-%m-%d %H:%M"), "day": when.date().isoformat(),
            "complete_day": last_day.isoformat(), "count": int(latest.get("numberMatched") or 0)}


def recent_period(now: dict[str, Any], days: int = RECENT_DAYS) -> tuple[str, str]:
    """(start, end) ISO dates of the latest ``days`` complete days."""
    end = date.fromisoformat(now["complete_day"])
    return (end - timedelta(days=days - 1)).isoformat(), end.isoformat()


def year_period(now: dict[str, Any]) -> tuple[str, str]:
    """(1 January, last complete day) of the data's year: the annual assessment's period."""
    end = date.fromisoformat(now["complete_day"])
    return date(end.year, 1, 1).isoformat(), end.isoformat()


def day_click_time(day: str) -> str:
    """The map time (``om-map-time``, UTC) for a clicked day: its :data:`DAY_CLICK_HOUR`."""
    local = datetime.combine(date.fromisoformat(day), datetime.min.time(), BEIJING)
    return (local + timedelta(hours=DAY_CLICK_HOUR)).astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


# -- geometry -----------------------------------------------------------------------------------
def _points(features: Iterable[dict]) -> list[tuple[float, float]]:
    out = []
    for f in features:
        geom = f.get("geometry") or {}
        coords = geom.get("coordinates")
        if geom.get("type") == "Point" and isinstance(coords, list | tuple) and len(coords) >= 2:
            out.append((float(coords[0]), float(coords[1])))
    return out


def bbox(features: Iterable[dict]) -> list[float] | None:
    """[minx, miny, maxx, maxy] of point features (None when none has a point geometry)."""
    pts = _points(features)
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [min(xs), min(ys), max(xs), max(ys)]


def goto(box: list[float] | None, layer: str) -> dict[str, Any] | None:
    """The ``om-goto`` request that shows ``box`` with ``layer`` switched on."""
    return {"bounds": list(box), "layers": [layer]} if box else None


# -- air ----------------------------------------------------------------------------------------
def air_rows(results: dict[str, Any], start: str, end: str) -> dict[str, Any]:
    """The part of an ``aqi-daily`` result the dashboard keeps: one row per regional day and
    the stations' extent (for the map). The 8 MB of station days of a year stay on the server.
    """
    daily = results.get("regional_daily")
    if not isinstance(daily, list):
        raise DataError("aqi-daily answered without regional_daily")
    rows = [{"date": str(r.get("date")), "aqi": r.get("aqi"), "level": r.get("aqi_level"),
             "primary": r.get("primary_pollutant")} for r in daily if isinstance(r, dict)]
    stations = (results.get("station_daily") or {}).get("features") or []
    return {"start": start, "end": end, "rows": rows, "bbox": bbox(stations)}


def _days(start: str, end: str) -> int:
    return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1


def air_kpi(air: dict[str, Any]) -> dict[str, Any]:
    """Share of good-air days (优良天数比例): days with regional daily AQI ≤ 100 over the valid
    days (a day without a valid AQI, or missing from the answer, is not counted), days per
    AQI level and the daily series, all within ``[start, end]``.
    """
    start, end = air["start"], air["end"]
    series = []
    for row in air.get("rows") or []:
        if not (start <= row["date"] <= end):
            continue
        aqi = row.get("aqi")
        valid = isinstance(aqi, int | float) and aqi == aqi
        series.append({"date": row["date"], "aqi": int(aqi) if valid else None,
                       "level": int(row["level"]) if valid and row.get("level") else None,
                       "primary": row.get("primary") or ""})
    series.sort(key=lambda r: r["date"])
    valid_rows = [r for r in series if r["aqi"] is not None]
    good = sum(1 for r in valid_rows if r["aqi"] <= GOOD_AQI)
    levels = {str(lv.level): sum(1 for r in valid_rows if r["level"] == lv.level)
              for lv in AQI_LEVELS}
    return {"start": start, "end": end, "days": _days(start, end), "valid": len(valid_rows),
            "good": good, "share": good / len(valid_rows) if valid_rows else None,
            "levels": levels, "series": series, "bbox": air.get("bbox")}


# -- water --------------------------------------------------------------------------------------
def misses_target(water_class: str | None, target: str | None) -> bool:
    """A section misses its target when its class is worse (a higher GB 3838 class)."""
    if water_class not in WATER_ORDER or target not in WATER_ORDER:
        return False
    return WATER_ORDER[water_class] > WATER_ORDER[target]


def water_kpi(collection: dict[str, Any]) -> dict[str, Any]:
    """Sections per GB 3838 class of their latest sample, the share of classes I–III, and the
    sections missing their target class, with the extent of each group for the map."""
    features = collection.get("features")
    if not isinstance(features, list):
        raise DataError("water_sections answered without features")
    groups: dict[str, list[dict]] = {c.value: [] for c in WATER_CLASSES}
    groups[NONE] = []
    missed: list[dict] = []
    missed_by_class = dict.fromkeys(groups, 0)
    for f in features:
        p = f.get("properties") or {}
        cls = p.get("water_class")
        key = cls if cls in groups and cls != NONE else NONE
        groups[key].append(f)
        if misses_target(cls, p.get("target_class")):
            missed.append(f)
            missed_by_class[key] += 1
    classed = len(features) - len(groups[NONE])
    good = sum(len(groups[c]) for c in GOOD_WATER)
    return {"total": len(features), "classed": classed,
            "counts": {k: len(v) for k, v in groups.items()},
            "missed_by_class": missed_by_class,
            "good": good, "good_share": good / classed if classed else None,
            "missed": len(missed), "bbox": {k: bbox(v) for k, v in groups.items()},
            "missed_bbox": bbox(missed)}


# -- incidents ----------------------------------------------------------------------------------
def _incident_level(feature: dict) -> str:
    level = (feature.get("properties") or {}).get("level")
    return level if level in INCIDENT_ORDER else NONE


def incident_kpi(open_items: dict[str, Any], total: int) -> dict[str, Any]:
    """Open incidents (status not closed) per level and status, with each level's extent.

    ``open_items`` is the collection filtered to ``status <> 'closed'``; ``total`` the
    collection's whole count (for "N open of M").
    """
    features = open_items.get("features")
    if not isinstance(features, list):
        raise DataError("incidents answered without features")
    by_level: dict[str, dict[str, int]] = {}
    boxes: dict[str, list[float] | None] = {}
    for lvl in (*INCIDENT_ORDER, NONE):
        mine = [f for f in features if _incident_level(f) == lvl]
        statuses = {s: 0 for s in (*OPEN_STATUSES, "other")}
        for f in mine:
            status = (f.get("properties") or {}).get("status")
            statuses[status if status in OPEN_STATUSES else "other"] += 1
        by_level[lvl] = statuses
        boxes[lvl] = bbox(mine)
    by_status = {s: sum(v[s] for v in by_level.values()) for s in (*OPEN_STATUSES, "other")}
    return {"open": len(features), "total": int(total), "by_level": by_level,
            "by_status": by_status, "bbox": boxes, "all_bbox": bbox(features)}


# -- pollution sources --------------------------------------------------------------------------
def permit_filters(day: str, soon_days: int = SOON_DAYS) -> dict[str, str]:
    """CQL2 text filters of the two permit groups as of the data date ``day``.

    A permit valid until ``day`` is still valid that day, so "expired" is strictly before it.
    """
    until = (date.fromisoformat(day) + timedelta(days=soon_days)).isoformat()
    return {"expired": f"permit_valid_until < '{day}'",
            "soon": f"permit_valid_until >= '{day}' AND permit_valid_until <= '{until}'"}


def group_filter(day: str, series: str, permit_class: str) -> str:
    """The filter of one bar of the sources chart (a permit group within one permit class)."""
    if series not in ("expired", "soon") or permit_class not in PERMIT_ORDER:
        raise DataError(f"unknown source group {series}/{permit_class}")
    return f"({permit_filters(day)[series]}) AND permit_class = '{permit_class}'"


def source_kpi(day: str, counts: dict[str, dict[str, int]], permitted: int,
               soon_days: int = SOON_DAYS) -> dict[str, Any]:
    """Sources whose discharge permit had expired by the data date, and those expiring within
    ``soon_days``, per permit class (``counts[series][class]`` from ``numberMatched``)."""
    until = (date.fromisoformat(day) + timedelta(days=soon_days)).isoformat()
    expired = {c: int(counts.get("expired", {}).get(c, 0)) for c in PERMIT_ORDER}
    soon = {c: int(counts.get("soon", {}).get(c, 0)) for c in PERMIT_ORDER}
    return {"day": day, "until": until, "soon_days": soon_days, "permitted": int(permitted),
            "expired": expired, "soon": soon, "n_expired": sum(expired.values()),
            "n_soon": sum(soon.values())}
