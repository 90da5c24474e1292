"""``/api/catalog`` and ``/api/rasters``: what the app and other clients discover.

Every dataset is listed with links to where a client reads it (its OGC collection, its TileJSON),
so the web app learns the layers over HTTP exactly like any other client. Rasters and cubes come
with ready URLs (tiles, point, TileJSON, legend) carrying their default rendering, and are grouped
into series by their ``collection`` so the app can put a time slider on a series of ≥ 2 steps
without knowing how rendering parameters are spelled.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from onemap.access import policy, scope
from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.store import file_version
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import ApiError, ErrorRoute  # noqa: F401  (re-exported)
from onemap.mapserver.ogc import OGC_PREFIX
from onemap.mapserver.rasters import TMS, Catalogue, render_params
from onemap.raster.stac import series_title
from onemap.styles import RASTER_STYLES


def _unit(entry: Entry) -> str | None:
    extra = entry.extra or {}
    if extra.get("unit"):
        return str(extra["unit"])
    style = RASTER_STYLES.get(extra.get("colormap") or "")
    return (style.unit or None) if style else None


def raster_params(entry: Entry) -> dict[str, str]:
    """The default rendering of a raster (rasters.render_params) with its band selection."""
    params = render_params(entry)
    extra = entry.extra or {}
    if "expression" not in params and "bidx" not in params and extra.get("bidx"):
        params["bidx"] = ",".join(str(int(b)) for b in extra["bidx"])
    return params


def cube_params(entry: Entry, time: str | None = None) -> dict[str, str]:
    """The default rendering of a cube at ``time`` (default: its first step)."""
    extra = entry.extra or {}
    params = {"variable": str(extra["variable"]),
              "sel": f"time={time or extra['times'][0]}"}
    if extra.get("colormap"):
        params["colormap_name"] = str(extra["colormap"])
    if extra.get("rescale"):
        params["rescale"] = ",".join(str(v) for v in extra["rescale"])
    return params


def _urls(entry: Entry, settings: Settings, time: str | None = None) -> dict[str, str]:
    """tilejson / tiles / point URLs (absolute) with the default rendering."""
    base = settings.public_url
    if entry.kind == "cube":
        root, params = f"{base}/cube/{entry.id}", cube_params(entry, time)
        point = {k: v for k, v in params.items() if k in ("variable", "sel")}
    else:
        root, params = f"{base}/raster/{entry.id}", raster_params(entry)
        point = {k: v for k, v in params.items() if k in ("bidx", "expression")}
    # the version makes the tile URL one that never changes content (mapserver.caching)
    tile = {**{k: v for k, v in params.items() if k != "tile_format"},
            "v": data_version(entry, settings)}
    return {"tilejson": f"{root}/{TMS}/tilejson.json?{urlencode(params)}",
            "tiles": f"{root}/tiles/{TMS}/{{z}}/{{x}}/{{y}}.png?{urlencode(tile)}",
            "point": f"{root}/point/{{lon}},{{lat}}" + (f"?{urlencode(point)}" if point else "")}


def raster_summary(entry: Entry, settings: Settings) -> dict[str, Any]:
    """The RasterSummary of the contract, for a raster or a cube."""
    extra = entry.extra or {}
    cube = entry.kind == "cube"
    colormap = extra.get("colormap")
    return {"id": entry.id, "kind": entry.kind, "title": entry.title,
            "title_en": entry.title_en, "family": entry.family, "access": entry.access,
            "date": extra["times"][0] if cube else extra.get("date"),
            "collection": extra.get("collection") or entry.id, "bounds": entry.bbox,
            "footprint": extra.get("footprint"),
            "bands": [{"index": 1, "name": extra["variable"],
                       "description": entry.title_en or entry.title}] if cube
            else extra.get("bands", []),
            "bidx": None if cube else extra.get("bidx"), "colormap": colormap,
            "rescale": extra.get("rescale"), "expression": extra.get("expression"),
            "dtype": extra.get("dtype"), "unit": _unit(entry),
            "times": extra.get("times") if cube else None,
            **_urls(entry, settings),
            "legend": f"{settings.public_url}/api/legends/{colormap}" if colormap else None}


def _sort_key(value: str | None) -> str:
    return value or ""


def series(entries: list[Entry], settings: Settings) -> list[dict[str, Any]]:
    """One Series per collection with at least one raster or cube, steps sorted by time."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        if e.kind in ("raster", "cube"):
            groups.setdefault((e.extra or {}).get("collection") or e.id, []).append(e)
    out = []
    for cid in sorted(groups):
        members = groups[cid]
        steps = []
        for e in members:
            if e.kind == "cube":
                for t in e.extra["times"]:
                    u = _urls(e, settings, t)
                    steps.append({"datetime": t, "dataset": e.id, "tiles": u["tiles"],
                                  "point": u["point"]})
            else:
                u = _urls(e, settings)
                steps.append({"datetime": (e.extra or {}).get("date"), "dataset": e.id,
                              "tiles": u["tiles"], "point": u["point"]})
        steps.sort(key=lambda s: (_sort_key(s["datetime"]), s["dataset"]))
        first = members[0]
        extra = first.extra or {}
        one = len(members) == 1
        title = first.title if one else series_title(cid, members, "title")
        title_en = first.title_en if one else series_title(cid, members, "title_en")
        out.append({"id": cid, "title": title, "title_en": title_en, "kind": first.kind,
                    "colormap": extra.get("colormap"), "rescale": extra.get("rescale"),
                    "unit": _unit(first), "steps": steps})
    return out


def _links(entry: Entry, settings: Settings) -> list[dict[str, str]]:
    base = settings.public_url
    if entry.kind in ("raster", "cube"):
        urls = _urls(entry, settings)
        root = "raster" if entry.kind == "raster" else "cube"
        links = [{"rel": "tilejson", "type": "application/json", "href": urls["tilejson"]},
                 {"rel": "info", "type": "application/json",
                  "href": f"{base}/{root}/{entry.id}/info"},
                 {"rel": "describedby", "type": "application/json",
                  "href": f"{base}/api/rasters/{entry.id}"}]
        collection = (entry.extra or {}).get("collection") or entry.id
        links.append({"rel": "collection", "type": "application/json",
                      "href": f"{base}/stac/collections/{collection}"})
        return links
    coll = f"{base}{OGC_PREFIX}/collections/{entry.id}"
    return [{"rel": "collection", "type": "application/json", "href": coll},
            {"rel": "items", "type": "application/geo+json", "href": f"{coll}/items"}]


def dataset_doc(entry: Entry, settings: Settings, principal: Principal) -> dict[str, Any]:
    """One dataset as ``/api/catalog`` lists it to ``principal``: for a region-bound one, the
    count and bbox of the part it sees (:func:`onemap.access.scope.extent`)."""
    limits = policy.limits(principal, entry, settings) or policy.WHOLE
    count, bbox = scope.extent(entry, limits, settings)
    return {"id": entry.id, "kind": entry.kind, "family": entry.family, "title": entry.title,
            "title_en": entry.title_en, "access": entry.access, "region": entry.region or None,
            "feature_count": count, "bbox": bbox, "time_extent": entry.time_extent,
            # a client's tile URLs carry it (``?v=``): the server may then mark them immutable
            "version": data_version(entry, settings), "links": _links(entry, settings)}


def data_version(entry: Entry, settings: Settings) -> str:
    """A short tag that changes whenever the dataset's content may have (its file's and write
    log's times and sizes, and the catalogue entry's own update time): what a client keys
    anything it computed from the dataset by, to ask again only when it changed."""
    stamp = (entry.updated, *file_version(settings.data_dir / entry.path))
    return hashlib.sha1(repr(stamp).encode()).hexdigest()[:16]  # noqa: S324 (not security)


def api_router(cat: Catalogue) -> APIRouter:
    """``GET /api/catalog``, ``GET /api/versions``, ``GET /api/rasters``,
    ``GET /api/rasters/{id}``."""
    router = APIRouter(prefix="/api", tags=["catalogue"], route_class=ErrorRoute)
    settings = cat.settings

    @router.get("/catalog")
    def list_catalog(request: Request) -> dict[str, Any]:
        """Every catalogued dataset the caller may see, with links to its OGC collection or
        TileJSON (a hidden one is absent, not marked)."""
        who = principal_of(request)
        return {"datasets": [dataset_doc(e, settings, who) for e in cat.visible(who)]}

    @router.get("/versions", summary="Each visible dataset's data version (changes on every "
                "write)")
    def versions(request: Request) -> dict[str, Any]:
        """``{"versions": {id: tag}}`` for every dataset the caller may see, without counting
        or reading any: a page that shows figures computed from datasets (the dashboard, the
        big screen) asks this one cheap question to learn whether to compute them again."""
        who = principal_of(request)
        return {"versions": {e.id: data_version(e, settings) for e in cat.visible(who)}}

    @router.get("/rasters")
    def list_rasters(request: Request) -> dict[str, Any]:
        """Rasters and cubes the caller may see, with ready URLs, and the series (collections)
        they form (of visible members only: a series never shows a hidden step)."""
        entries = cat.visible(principal_of(request), ("raster", "cube"))
        return {"rasters": [raster_summary(e, settings) for e in entries],
                "series": series(entries, settings)}

    @router.get("/rasters/{dataset_id}")
    def one_raster(dataset_id: str, request: Request) -> dict[str, Any]:
        """One raster or cube summary; 404 for an unknown or hidden id or a vector layer."""
        return raster_summary(cat.entry(dataset_id, ("raster", "cube"), principal_of(request)),
                              settings)

    return router
