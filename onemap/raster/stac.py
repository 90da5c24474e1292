"""Catalogue entries as STAC: one Collection per raster series, one Item per raster or hour.

Pure functions of the catalogue (no file is opened): the catalogue already holds what STAC
needs (bbox, footprint, CRS, size, bands, nodata, date), so the STAC API costs a dictionary
build per request rather than a raster read, and STAC and the rest of OneMap cannot disagree.

Time: a raster's ``extra.date`` may be a month ("2025-07", a monthly composite), a day or an
instant. Months and days become ``start_datetime``/``end_datetime`` ranges (``datetime`` = the
start), so a search for "July 2025" finds the July composite and an instant search inside the
month does too. A cube becomes one Item per time step (one hour of the PM2.5 grid): then a
``datetime`` search answers "which grid at 08:00?" with an item whose assets render exactly that
hour — a single datacube item would match every search inside the week and leave the client to
find the step. The cube's Collection still carries the datacube extension (``cube:dimensions``,
``cube:variables``) for clients that want the whole grid.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from onemap.catalog import Entry

STAC_VERSION = "1.0.0"
PROJ = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
RASTER = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
DATACUBE = "https://stac-extensions.github.io/datacube/v2.2.0/schema.json"
TMS = "WebMercatorQuad"
#: Band names that are EO common names (eo:bands common_name).
COMMON_NAMES = {"coastal", "blue", "green", "red", "yellow", "rededge", "nir", "nir08", "nir09",
                "swir16", "swir22", "pan", "lwir", "lwir11", "lwir12", "cirrus"}


def iso(dt: datetime) -> str:
    """RFC 3339 UTC with a Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An RFC 3339 / ISO 8601 date or date-time as an aware UTC datetime (naive = UTC)."""
    value = text.strip().replace("z", "Z")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def time_range(date: str | None) -> tuple[datetime, datetime] | None:
    """[start, end] a raster's ``date`` stands for: a whole month, a whole day or an instant."""
    if not date:
        return None
    text = str(date).strip()
    if len(text) == 7 and text[4] == "-":  # YYYY-MM: a monthly composite
        year, month = int(text[:4]), int(text[5:])
        start = datetime(year, month, 1, tzinfo=UTC)
        last = calendar.monthrange(year, month)[1]
        return start, datetime(year, month, last, 23, 59, 59, tzinfo=UTC)
    if len(text) == 10:  # YYYY-MM-DD: one day
        start = parse_time(text)
        return start, start + timedelta(days=1) - timedelta(seconds=1)
    instant = parse_time(text)
    return instant, instant


def _polygon(bbox: list[float]) -> dict[str, Any]:
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1],
                                                [x0, y0]]]}


def series_title(cid: str, members: list[Entry], attr: str = "title") -> str:
    """The members' common title prefix without the date ("植被指数 NDVI"), else ``cid``."""
    titles = [getattr(m, attr) or "" for m in members]
    prefix = titles[0]
    for t in titles[1:]:
        while not t.startswith(prefix):
            prefix = prefix[:-1]
    if len(members) > 1:
        prefix = prefix.rstrip("0123456789").strip(" -_(（")
    return prefix or cid


def collection_id(entry: Entry) -> str:
    return (entry.extra or {}).get("collection") or entry.id


def _links(base: str, cid: str, item_id: str) -> list[dict[str, str]]:
    coll = f"{base}/stac/collections/{cid}"
    return [{"rel": "self", "type": "application/geo+json", "href": f"{coll}/items/{item_id}"},
            {"rel": "parent", "type": "application/json", "href": coll},
            {"rel": "collection", "type": "application/json", "href": coll},
            {"rel": "root", "type": "application/json", "href": f"{base}/stac"}]


def _bands(entry: Entry) -> tuple[list[dict], list[dict]]:
    """(raster:bands, eo:bands) of a raster entry."""
    extra = entry.extra or {}
    raster_bands, eo_bands = [], []
    for i, band in enumerate(extra.get("bands") or [], start=1):
        band = band if isinstance(band, dict) else {"name": str(band)}
        rb: dict[str, Any] = {"data_type": extra.get("dtype")}
        if extra.get("nodata") is not None:
            rb["nodata"] = extra["nodata"]
        raster_bands.append(rb)
        name = str(band.get("name") or f"b{band.get('index', i)}")
        eo: dict[str, Any] = {"name": name}
        if band.get("description"):
            eo["description"] = band["description"]
        if name.lower() in COMMON_NAMES:
            eo["common_name"] = name.lower()
        eo_bands.append(eo)
    return raster_bands, eo_bands


def raster_item(entry: Entry, base: str, render: dict[str, str]) -> dict[str, Any]:
    """The STAC Item of a raster; ``render`` = its default rendering query parameters."""
    extra = entry.extra or {}
    span = time_range(extra.get("date"))
    props: dict[str, Any] = {"title": entry.title, "description": entry.description or None,
                             "datetime": iso(span[0]) if span else None}
    if span and span[0] != span[1]:
        props.update(start_datetime=iso(span[0]), end_datetime=iso(span[1]))
    if span is None:  # STAC needs a time: fall back to when it was catalogued
        props["datetime"] = iso(parse_time(entry.updated))
    props.update({"proj:code": extra.get("crs"),
                  "proj:shape": [extra.get("height"), extra.get("width")],
                  "onemap:title_en": entry.title_en, "onemap:access": entry.access})
    props = {k: v for k, v in props.items() if v is not None}
    raster_bands, eo_bands = _bands(entry)
    root = f"{base}/raster/{entry.id}"
    tile = {k: v for k, v in render.items() if k != "tilesize"}
    preview = {"max_size": "256", **{k: v for k, v in render.items()
                                     if k not in ("tilesize", "tile_format")}}
    data: dict[str, Any] = {"href": f"{root}/cog.tif", "title": entry.title,
                            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                            "roles": ["data"]}
    if raster_bands:
        data["raster:bands"] = raster_bands
        data["eo:bands"] = eo_bands
    return {
        "type": "Feature", "stac_version": STAC_VERSION,
        "stac_extensions": [PROJ, RASTER, EO],
        "id": entry.id, "collection": collection_id(entry),
        "geometry": extra.get("footprint") or _polygon(entry.bbox),
        "bbox": entry.bbox, "properties": props,
        "links": _links(base, collection_id(entry), entry.id),
        "assets": {
            "data": data,
            "tilejson": {"href": f"{root}/{TMS}/tilejson.json?{urlencode(tile)}",
                         "type": "application/json", "title": "TileJSON (default style)",
                         "roles": ["tiles"]},
            "thumbnail": {"href": f"{root}/preview.png?{urlencode(preview)}",
                          "type": "image/png", "title": "Preview", "roles": ["thumbnail"]},
        },
    }


def cube_item_id(entry: Entry, time: str) -> str:
    """``pm25_hourly_20250121T08`` for the step at 2025-01-21T08:00:00Z."""
    return f"{entry.id}_{parse_time(time).strftime('%Y%m%dT%H%M')}"


def cube_items(entry: Entry, base: str) -> list[dict[str, Any]]:
    """One Item per time step of a cube, its assets rendering that step."""
    extra = entry.extra or {}
    root = f"{base}/cube/{entry.id}"
    x0, y0, x1, y1 = entry.bbox
    items = []
    for t in extra["times"]:
        params = {"variable": extra["variable"], "sel": f"time={t}"}
        if extra.get("colormap"):
            params["colormap_name"] = extra["colormap"]
        if extra.get("rescale"):
            params["rescale"] = ",".join(str(v) for v in extra["rescale"])
        item_id = cube_item_id(entry, t)
        items.append({
            "type": "Feature", "stac_version": STAC_VERSION, "stac_extensions": [PROJ],
            "id": item_id, "collection": entry.id, "geometry": _polygon(entry.bbox),
            "bbox": entry.bbox,
            "properties": {"title": f"{entry.title} {t}", "datetime": t,
                           "proj:code": extra.get("crs"),
                           "proj:shape": [extra.get("height"), extra.get("width")],
                           "onemap:variable": extra["variable"],
                           "onemap:unit": extra.get("unit"), "onemap:access": entry.access},
            "links": _links(base, entry.id, item_id),
            "assets": {
                "tilejson": {"href": f"{root}/{TMS}/tilejson.json?{urlencode(params)}",
                             "type": "application/json", "roles": ["tiles"],
                             "title": "TileJSON of this hour"},
                "thumbnail": {"href": f"{root}/bbox/{x0},{y0},{x1},{y1}.png?"
                                      f"{urlencode({**params, 'max_size': 256})}",
                              "type": "image/png", "roles": ["thumbnail"],
                              "title": "Preview of this hour"},
            },
        })
    return items


def items_of(entry: Entry, base: str, render: dict[str, str]) -> list[dict[str, Any]]:
    """Every STAC Item an entry contributes (one for a raster, one per step for a cube)."""
    if entry.kind == "cube":
        return cube_items(entry, base)
    return [raster_item(entry, base, render)]


def item_span(item: dict[str, Any]) -> tuple[datetime, datetime]:
    """[start, end] of an item (its range, else its instant)."""
    p = item["properties"]
    if p.get("start_datetime") and p.get("end_datetime"):
        return parse_time(p["start_datetime"]), parse_time(p["end_datetime"])
    t = parse_time(p["datetime"])
    return t, t


def _step(times: list[str]) -> str | None:
    """ISO 8601 duration of a regular time axis (e.g. PT1H), None when irregular."""
    if len(times) < 2:
        return None
    steps = {(parse_time(b) - parse_time(a)).total_seconds()
             for a, b in zip(times, times[1:], strict=False)}
    if len(steps) != 1:
        return None
    seconds = int(steps.pop())
    return f"PT{seconds // 3600}H" if seconds % 3600 == 0 else f"PT{seconds}S"


def collection(cid: str, members: list[Entry], items: list[dict[str, Any]],
               base: str) -> dict[str, Any]:
    """The STAC Collection of a series: extents from its items, datacube fields for a cube."""
    xs0, ys0, xs1, ys1 = zip(*(m.bbox for m in members), strict=True)
    spans = [item_span(i) for i in items]
    first = members[0]
    title = series_title(cid, members)
    coll = f"{base}/stac/collections/{cid}"
    doc: dict[str, Any] = {
        "type": "Collection", "stac_version": STAC_VERSION, "stac_extensions": [],
        "id": cid, "title": title,
        "description": first.description or first.title_en or first.title,
        "license": "other", "keywords": ["OneMap", first.kind],
        "extent": {"spatial": {"bbox": [[min(xs0), min(ys0), max(xs1), max(ys1)]]},
                   "temporal": {"interval": [[iso(min(s for s, _ in spans)) if spans else None,
                                              iso(max(e for _, e in spans)) if spans else None]]}},
        "links": [{"rel": "self", "type": "application/json", "href": coll},
                  {"rel": "root", "type": "application/json", "href": f"{base}/stac"},
                  {"rel": "parent", "type": "application/json", "href": f"{base}/stac"},
                  {"rel": "items", "type": "application/geo+json", "href": f"{coll}/items"}],
        "summaries": {"onemap:datasets": sorted(m.id for m in members)},
    }
    if first.kind == "cube":
        extra = first.extra or {}
        doc["stac_extensions"] = [DATACUBE]
        lon = "lon" if extra.get("crs") == "EPSG:4326" else "x"
        lat = "lat" if extra.get("crs") == "EPSG:4326" else "y"
        doc["cube:dimensions"] = {
            "time": {"type": "temporal", "extent": [extra["times"][0], extra["times"][-1]],
                     "step": _step(extra["times"])},
            lon: {"type": "spatial", "axis": "x", "extent": [first.bbox[0], first.bbox[2]],
                  "reference_system": extra.get("crs")},
            lat: {"type": "spatial", "axis": "y", "extent": [first.bbox[1], first.bbox[3]],
                  "reference_system": extra.get("crs")},
        }
        doc["cube:variables"] = {extra["variable"]: {
            "type": "data", "dimensions": ["time", lat, lon], "unit": extra.get("unit")}}
    return doc
