"""The 数据资源目录 as OGC API Records documents: one record per catalogued resource.

Pure functions of the catalogue and the settings (no data file is opened), so the records can
never disagree with what the server serves. One record per resource a user would ask for: a
vector layer, an attribute table, a raster on its own, a raster *series* (the rasters sharing
``extra.collection``: the NDVI months, the GF-1 scenes, a kept process result's surfaces), a
cube. The record id is the catalogue id (the series id for a series), so the access policy
decides on records as on the datasets themselves (see :mod:`onemap.mapserver.records`).

What the documents carry beyond OGC API Records core is what a Chinese government
data-resource catalogue (政务数据资源目录) asks of each resource: 资源名称, 摘要, 提供单位,
更新周期, 共享属性 (无条件共享 / 有条件共享 / 不予共享), 开放属性 (无条件开放 / 不予开放),
信息项, 空间范围, 时间范围, 联系方式 — under ``properties.zh`` with those names, and the same
values under stable English keys localised by ``lang``. Keys starting with ``_`` are for the
provider's searches and access checks and never leave the server.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.raster.stac import iso, time_range

#: Resource types (``properties.type``, searchable with ``type=``).
TYPES = ("vector", "table", "raster", "raster-series", "cube")
#: Collections that the EDR API serves (position/area/locations by station id).
EDR_COLLECTIONS = ("air_stations", "water_sections", "outlets")
#: Update cycle of time-series tables whose rows say nothing of it on their own.
FAMILY_CYCLES = {"air_hourly": "hourly", "water_samples": "monthly"}
CYCLES = {"real-time": "实时", "hourly": "每小时", "daily": "每日", "weekly": "每周",
          "monthly": "每月", "quarterly": "每季度", "yearly": "每年", "irregular": "不定期"}
SHARING = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
OPENNESS = {"open": "无条件开放", "closed": "不予开放"}
TYPE_NAMES = {"vector": ("矢量图层", "vector layer"), "table": ("属性数据表", "attribute table"),
              "raster": ("栅格影像", "raster"), "raster-series": ("栅格时间序列", "raster series"),
              "cube": ("时空数据立方体", "data cube")}
GEOJSON, JSON, XML = "application/geo+json", "application/json", "application/xml"
TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"
RECORD_CORE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"


def polygon(bbox: list[float] | None) -> dict[str, Any] | None:
    if not bbox:
        return None
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def union(boxes: list[list[float] | None]) -> list[float] | None:
    real = [b for b in boxes if b]
    if not real:
        return None
    return [min(b[0] for b in real), min(b[1] for b in real),
            max(b[2] for b in real), max(b[3] for b in real)]


def span(entry: Entry) -> tuple[str | None, str | None]:
    """[start, end] of ``entry`` as RFC 3339 UTC; a raster's month or day is the whole period."""
    te = list(entry.time_extent or []) + [None, None]
    if not te[0] and not te[1]:
        return None, None
    try:
        lo = time_range(te[0] or te[1])
        hi = time_range(te[1] or te[0])
    except ValueError:
        return None, None
    return (iso(lo[0]) if lo else None), (iso(hi[1]) if hi else None)


def cycle(entry: Entry, dates: list[str]) -> str:
    """更新周期: real-time for the HJ 212 tables, from the spacing of a series' or cube's
    dates, from the family for time-series tables, else irregular (不定期)."""
    if entry.live:
        return "real-time"
    if entry.family in FAMILY_CYCLES:
        return FAMILY_CYCLES[entry.family]
    starts = sorted(r[0] for r in (time_range(d) for d in dates if d) if r)
    if len(starts) < 2:
        return "irregular"
    hours = median((b - a).total_seconds() / 3600 for a, b in zip(starts, starts[1:], strict=False))
    for name, limit in (("hourly", 1.5), ("daily", 36), ("weekly", 200), ("monthly", 1000),
                        ("quarterly", 2400), ("yearly", 9500)):
        if hours <= limit:
            return name
    return "irregular"


def sharing(group: list[Entry], settings: Settings) -> str:
    """共享属性: public data is shared unconditionally; internal data on conditions (the access
    rules, a county-bound officer's region); what the bureau lists (ids or families in
    ``catalog_unshared``) is not shared. A series takes its most restricted member's."""
    unshared = {s.strip() for s in settings.catalog_unshared.split(",") if s.strip()}
    if any(e.id in unshared or e.family in unshared or
           e.extra.get("collection") in unshared for e in group):
        return "none"
    return "unconditional" if all(e.access == "public" for e in group) else "conditional"


def _link(href: str, rel: str, mime: str, title: str, dataset: str) -> dict[str, str]:
    # "_dataset": the dataset the link reaches; the provider drops the link when it is hidden
    return {"href": href, "rel": rel, "type": mime, "title": title, "_dataset": dataset}


def raster_links(entry: Entry, base: str) -> list[dict[str, str]]:
    """WMTS in both quads, TileJSON, the COG download and a preview of one raster."""
    root, rid = f"{base}/raster/{entry.id}", entry.id
    label = entry.title_en or entry.id
    return [
        _link(f"{root}/WebMercatorQuad/WMTSCapabilities.xml", "service", XML,
              f"WMTS (WebMercatorQuad): {label}", rid),
        _link(f"{root}/WorldCRS84Quad/WMTSCapabilities.xml", "service", XML,
              f"WMTS (WorldCRS84Quad): {label}", rid),
        _link(f"{root}/WebMercatorQuad/tilejson.json", "tiles", JSON, f"TileJSON: {label}", rid),
        _link(f"{root}/cog.tif", "enclosure", TIFF, f"Download (COG): {label}", rid),
        _link(f"{root}/preview.png", "preview", "image/png", f"Preview: {label}", rid),
    ]


def links(kind: str, entry: Entry, members: list[Entry], settings: Settings,
          served: bool) -> list[dict[str, str]]:
    """Every way of reaching the resource; ``served``: its OGC API Features collection exists.
    A series' own links name no dataset (they follow the record's visibility); its members'
    links name each member."""
    base = settings.public_url
    rid = str(entry.extra.get("collection")) if kind == "raster-series" else entry.id
    own = "" if kind == "raster-series" else rid
    ogc = f"{base}/ogc/collections/{rid}"
    out = [] if kind == "raster-series" else [
        _link(f"{base}/api/catalog#{rid}", "describedby", JSON, "OneMap catalogue", rid)]
    wms = _link(f"{base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities", "service",
                "text/xml", f"WMS 1.3.0 (layer {rid})", own)
    if kind in ("vector", "table") and served:
        out += [_link(ogc, "collection", JSON, "OGC API Features collection", rid),
                _link(f"{ogc}/items?f=json", "items", GEOJSON, "OGC API Features items", rid),
                _link(f"{ogc}/items?f=csv", "enclosure", "text/csv", "Download (CSV)", rid)]
    if kind == "vector" and served:
        out += [_link(f"{ogc}/tiles", "tiles", JSON, "OGC API Tiles (vector tiles)", rid), wms]
    if rid in EDR_COLLECTIONS:
        # the stations; position, area and cube queries are listed in the collection's
        # data_queries (they need coordinates, so no fixed link answers them)
        out += [_link(f"{ogc}/locations", "data", GEOJSON, "OGC API EDR locations", rid)]
    stac = entry.extra.get("collection") or rid
    if kind in ("raster", "raster-series", "cube"):
        out += [_link(f"{base}/stac/collections/{stac}", "alternate", JSON, "STAC collection",
                      own),
                _link(f"{base}/stac/collections/{stac}/items", "items", GEOJSON, "STAC items",
                      own), wms]
    if kind in ("raster", "raster-series", "cube"):  # the service-wide WMTS names it rid
        out.append(_link(f"{base}/wmts/1.0.0/WMTSCapabilities.xml", "service", XML,
                         f"WMTS (layer {rid})", own))
    if kind == "raster":
        out += raster_links(entry, base)
    elif kind == "raster-series":
        for member in members:
            out += raster_links(member, base)
    elif kind == "cube":
        root = f"{base}/cube/{rid}"
        out += [_link(f"{root}/{tms}/WMTSCapabilities.xml", "service", XML,
                      f"WMTS ({tms}, TIME dimension)", rid)
                for tms in ("WebMercatorQuad", "WorldCRS84Quad")]
        out += [_link(f"{root}/WebMercatorQuad/tilejson.json", "tiles", JSON, "TileJSON", rid),
                _link(f"{root}/info", "describedby", JSON, "Cube info", rid)]
    return out


def attributes(entry: Entry, members: list[Entry]) -> list[dict[str, str]]:
    """信息项: a table's or layer's fields, a raster's bands, a cube's variable."""
    if entry.kind in ("vector", "table"):
        return [{"name": k, "type": v} for k, v in (entry.fields or {}).items()]
    if entry.kind == "cube":
        return [{"name": str(entry.extra.get("variable") or entry.id),
                 "type": str(entry.extra.get("dtype") or ""),
                 "unit": str(entry.extra.get("unit") or "")}]
    bands = (members or [entry])[0].extra.get("bands") or []
    return [{"name": str(b.get("name") or b.get("description") or f"b{i}") if isinstance(b, dict)
             else str(b), "type": str(entry.extra.get("dtype") or "")}
            for i, b in enumerate(bands, start=1)]


def _texts(entry: Entry, kind: str, title: tuple[str, str], values: dict[str, str],
           settings: Settings) -> dict[str, dict[str, str]]:
    zh_type, en_type = TYPE_NAMES[kind]
    zh_summary = entry.description or f"{title[0]}（{zh_type}）"
    en_summary = f"{title[1]} ({en_type})"
    return {
        "zh": {"title": title[0], "description": zh_summary,
               "publisher": settings.catalog_publisher,
               "updateFrequency": CYCLES[values["cycle"]],
               "sharingType": SHARING[values["sharing"]],
               "openType": OPENNESS[values["open"]]},
        "en": {"title": title[1], "description": en_summary,
               "publisher": settings.catalog_publisher_en or settings.catalog_publisher,
               "updateFrequency": values["cycle"], "sharingType": values["sharing"],
               "openType": values["open"]},
    }


def record(kind: str, entry: Entry, members: list[Entry], settings: Settings,
           served: bool = True) -> dict[str, Any]:
    """The record of one resource; for a series ``entry`` is its latest member and ``rid``
    the series id; ``members`` are the series' rasters (empty otherwise)."""
    rid = entry.extra.get("collection") if kind == "raster-series" else entry.id
    group = members or [entry]
    spans = {m.id: span(m) for m in group}
    boxes = {m.id: m.bbox for m in group}
    start = min((s for s, _ in spans.values() if s), default=None)
    end = max((e for _, e in spans.values() if e), default=None)
    bbox = union(list(boxes.values()))
    dates = [str(m.extra.get("date") or "") for m in members] or \
        [str(t) for t in entry.extra.get("times") or []]
    title = _series_title(kind, entry, members)
    values = {"cycle": cycle(entry, dates), "sharing": sharing(group, settings),
              "open": "open" if all(m.access == "public" for m in group) else "closed"}
    texts = _texts(entry, kind, title, values, settings)
    zh = texts["zh"]
    contact = {"name": settings.catalog_contact, "organization": settings.catalog_publisher,
               "emails": [{"value": settings.catalog_email}] if settings.catalog_email else [],
               "roles": ["pointOfContact"]}
    attrs = attributes(entry, members)
    updated = max(m.updated for m in group)
    keywords = [k for k in dict.fromkeys([entry.family, kind, TYPE_NAMES[kind][0],
                                          TYPE_NAMES[kind][1]]) if k]
    keywords += [zh["sharingType"], zh["openType"]]
    anytext = " ".join([rid, *title, zh["description"], texts["en"]["description"],
                        settings.catalog_publisher, settings.catalog_publisher_en,
                        *keywords[:-2], *(a["name"] for a in attrs)])  # not the sharing:
    # a series' may change with what the caller sees (see records._relabel)
    return {
        "id": rid, "type": "Feature", "conformsTo": [RECORD_CORE],
        "geometry": polygon(bbox),
        "time": {"interval": [start or "..", end or ".."]} if start or end else None,
        "properties": {
            "type": kind, "title": zh["title"], "description": zh["description"],
            "keywords": keywords, "language": {"code": "zh-CN"},
            "created": min(m.updated for m in group), "updated": updated,
            "publisher": zh["publisher"], "updateFrequency": zh["updateFrequency"],
            "sharingType": zh["sharingType"], "openType": zh["openType"],
            "attributes": attrs, "contacts": [contact],
            "formats": sorted({(lk["type"]) for lk in links(kind, entry, members, settings,
                                                            served)}),
            "bbox": bbox, "temporalExtent": [start, end] if start or end else None,
            "zh": {"资源名称": zh["title"], "摘要": zh["description"],
                   "提供单位": zh["publisher"], "更新周期": zh["updateFrequency"],
                   "共享属性": zh["sharingType"], "开放属性": zh["openType"],
                   "信息项": [a["name"] for a in attrs],
                   "空间范围": bbox, "时间范围": [start, end] if start or end else None,
                   "联系方式": "；".join(x for x in (settings.catalog_contact,
                                                  settings.catalog_email) if x)},
            "_i18n": texts, "_metadata-anytext": anytext.casefold(),
            "_members": {m.id: {"bbox": boxes[m.id], "start": spans[m.id][0],
                                "end": spans[m.id][1]} for m in group},
        },
        "links": links(kind, entry, members, settings, served),
    }


def _series_title(kind: str, entry: Entry, members: list[Entry]) -> tuple[str, str]:
    if kind != "raster-series":
        return entry.title, entry.title_en or entry.title
    from onemap.raster.stac import series_title

    cid = str(entry.extra.get("collection"))
    return series_title(cid, members), series_title(cid, members, "title_en")


def build(entries: dict[str, Entry], settings: Settings, served: set[str]) -> list[dict]:
    """Every record of the catalogue ``entries``; ``served``: ids with an OAPIF collection."""
    out, series = [], {}
    for entry in sorted(entries.values(), key=lambda e: e.id):
        if entry.kind == "raster":
            series.setdefault(entry.extra.get("collection") or entry.id, []).append(entry)
        else:
            out.append(record(entry.kind, entry, [], settings, entry.id in served))
    for sid, members in sorted(series.items()):
        members.sort(key=lambda m: (span(m)[0] or "", m.id))
        if len(members) == 1 and members[0].id == sid:
            out.append(record("raster", members[0], [], settings))
        elif sid in entries:  # a series named like a dataset: its rasters stand alone
            out += [record("raster", m, [], settings) for m in members]
        else:
            out.append(record("raster-series", members[-1], members, settings))
    return out
