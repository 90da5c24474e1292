"""A STAC API at ``/stac``: raster series as Collections, rasters (and cube hours) as Items.

Clients (pystac-client, QGIS's STAC browser, stac-browser) discover and search the rasters by
bbox, geometry, time, collection and id. The documents are built from the catalogue by
:mod:`onemap.raster.stac`; this module is only the HTTP side: parameter parsing (every bad value
is a 400 naming it), filtering and paging. Paging uses an opaque ``token`` (the offset into the
deterministic item order) carried by ``next`` links — GET links for GET searches, POST links
with the body for POST searches, as the STAC API spec describes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import shapely
import shapely.errors
import shapely.geometry
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.mapserver.auth import principal_of
from onemap.mapserver.listing import ApiError, ErrorRoute, raster_params
from onemap.mapserver.rasters import Catalogue
from onemap.raster import stac

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
GEOJSON = "application/geo+json"
#: What the item routes answer, for the OpenAPI document (FastAPI would say application/json).
GEOJSON_200: dict = {200: {"content": {GEOJSON: {}}}}


def _bad(name: str, detail: str) -> ApiError:
    return ApiError(400, "InvalidParameterValue", f"{name}: {detail}")


def parse_bbox(value: Any) -> list[float] | None:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights) in lon/lat, or a JSON list."""
    if value is None or value == "":
        return None
    parts = value if isinstance(value, list) else str(value).split(",")
    try:
        nums = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise _bad("bbox", f"{value!r} is not 4 (or 6) comma-separated numbers") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4:
        raise _bad("bbox", f"expected 4 (or 6) numbers, got {len(nums)}")
    if not (nums[0] <= nums[2] and nums[1] <= nums[3]):
        raise _bad("bbox", "must be minx,miny,maxx,maxy with min ≤ max")
    if not (-180 <= nums[0] <= 180 and -180 <= nums[2] <= 180 and -90 <= nums[1] <= 90
            and -90 <= nums[3] <= 90):
        raise _bad("bbox", "must be longitude/latitude degrees (EPSG:4326)")
    return nums


def parse_intersects(value: Any) -> shapely.Geometry | None:
    """A GeoJSON geometry (object, or its JSON text in a GET query)."""
    if value is None or value == "":
        return None
    try:
        geom = json.loads(value) if isinstance(value, str) else value
        shape = shapely.geometry.shape(geom)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
        raise _bad("intersects", "not a GeoJSON geometry") from None
    if shape.is_empty:
        raise _bad("intersects", "the geometry is empty")
    return shape


def parse_datetime(value: Any) -> tuple[datetime | None, datetime | None] | None:
    """An instant or an interval ``start/end`` with ``..`` (or nothing) for an open end."""
    if value is None or value == "":
        return None
    text = str(value)
    parts = text.split("/")
    if len(parts) > 2:
        raise _bad("datetime", f"{text!r}: use an instant or start/end")
    try:
        ends = [None if p in ("", "..") else stac.parse_time(p) for p in parts]
    except ValueError:
        raise _bad("datetime", f"{text!r} is not RFC 3339 (e.g. 2025-07-01T00:00:00Z, "
                               "2025-01-01T00:00:00Z/.., ../2025-07-31T23:59:59Z)") from None
    if len(ends) == 1:
        if ends[0] is None:
            raise _bad("datetime", "an instant cannot be open ('..')")
        return ends[0], ends[0]
    if ends[0] is None and ends[1] is None:
        raise _bad("datetime", "at least one end of the interval must be a time")
    if ends[0] and ends[1] and ends[0] > ends[1]:
        raise _bad("datetime", f"{text!r}: the start is after the end")
    return ends[0], ends[1]


def parse_list(name: str, value: Any) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise _bad(name, "expected a comma-separated list or a list of strings")


def parse_int(name: str, value: Any, default: int, lo: int, hi: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(name, f"{value!r} is not an integer") from None
    if not lo <= number <= hi:
        raise _bad(name, f"{number} is out of range ({lo}–{hi})")
    return number


class Stac:
    """The catalogue's STAC documents, rebuilt when the catalogue changes, and cut to what a
    principal may see on every call: a hidden raster or cube step is no item, a collection of
    hidden members only is no collection, and a collection's extents and summaries come from
    its visible members only (a series never leaks a hidden step's date or footprint)."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.base = cat.settings.public_url
        self._key: int | None = None
        #: (entry id, item) in the deterministic item order.
        self._items: list[tuple[str, dict[str, Any]]] = []
        self._members: dict[str, list[Entry]] = {}

    def _refresh(self) -> None:
        entries = self.cat.entries()
        if id(entries) == self._key:
            return
        members: dict[str, list[Entry]] = {}
        items = []
        for e in sorted(entries.values(), key=lambda e: e.id):
            if e.kind not in ("raster", "cube"):
                continue
            members.setdefault(stac.collection_id(e), []).append(e)
            render = raster_params(e) if e.kind == "raster" else {}
            items += [(e.id, i) for i in stac.items_of(e, self.base, render)]
        items.sort(key=lambda p: (p[1]["collection"], p[1]["properties"]["datetime"],
                                  p[1]["id"]))
        self._items, self._members, self._key = items, members, id(entries)

    def _seen(self, principal: Principal) -> set[str]:
        return {e.id for e in self.cat.visible(principal, ("raster", "cube"))}

    def items(self, principal: Principal) -> list[dict[str, Any]]:
        self._refresh()
        seen = self._seen(principal)
        return [item for eid, item in self._items if eid in seen]

    def collections(self, principal: Principal) -> dict[str, dict[str, Any]]:
        self._refresh()
        seen = self._seen(principal)
        out = {}
        for cid, members in sorted(self._members.items()):
            shown = [m for m in members if m.id in seen]
            if shown:
                items = [i for eid, i in self._items if eid in seen and i["collection"] == cid]
                out[cid] = stac.collection(cid, shown, items, self.base)
        return out

    def search(self, principal: Principal, *, collections: list[str] | None = None,
               ids: list[str] | None = None, bbox: list[float] | None = None,
               intersects: shapely.Geometry | None = None,
               when: tuple[datetime | None, datetime | None] | None = None,
               ) -> list[dict[str, Any]]:
        out = []
        area = shapely.box(*bbox) if bbox else None
        for item in self.items(principal):
            if collections is not None and item["collection"] not in collections:
                continue
            if ids is not None and item["id"] not in ids:
                continue
            if area is not None or intersects is not None:
                geom = shapely.geometry.shape(item["geometry"])
                if area is not None and not geom.intersects(area):
                    continue
                if intersects is not None and not geom.intersects(intersects):
                    continue
            if when is not None:
                start, end = stac.item_span(item)
                if (when[1] is not None and start > when[1]) or (
                        when[0] is not None and end < when[0]):
                    continue
            out.append(item)
        return out


def _page(items: list[dict[str, Any]], limit: int, token: int) -> tuple[list, int | None]:
    page = items[token:token + limit]
    nxt = token + limit if token + limit < len(items) else None
    return page, nxt


def _feature_collection(page: list[dict], matched: int, links: list[dict]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": page, "links": links,
            "numberMatched": matched, "numberReturned": len(page)}


def _self_and_next(request: Request, base: str, path: str, nxt: int | None,
                   body: dict | None = None) -> list[dict[str, Any]]:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    links = [{"rel": "self", "type": GEOJSON,
              "href": f"{base}{path}" + (f"?{request.url.query}" if request.url.query else "")},
             {"rel": "root", "type": "application/json", "href": f"{base}/stac"}]
    if nxt is not None:
        if body is None:
            links.append({"rel": "next", "type": GEOJSON, "method": "GET",
                          "href": f"{base}{path}?{urlencode([*query, ('token', str(nxt))])}"})
        else:
            links.append({"rel": "next", "type": GEOJSON, "method": "POST",
                          "href": f"{base}{path}", "body": {**body, "token": str(nxt)},
                          "merge": False})
    return links


def stac_router(cat: Catalogue) -> APIRouter:
    """``/stac`` landing page, conformance, collections, items and item search."""
    router = APIRouter(prefix="/stac", tags=["stac"], route_class=ErrorRoute)
    api = Stac(cat)
    base = cat.settings.public_url

    def collection_or_404(cid: str, principal: Principal) -> dict[str, Any]:
        colls = api.collections(principal)
        if cid not in colls:
            raise ApiError(404, "NotFound", f"no STAC collection {cid!r}")
        return colls[cid]

    @router.get("")
    def landing(request: Request) -> dict[str, Any]:
        """The STAC API landing page (a Catalog) with links to collections and search."""
        links = [
            {"rel": "self", "type": "application/json", "href": f"{base}/stac"},
            {"rel": "root", "type": "application/json", "href": f"{base}/stac"},
            {"rel": "conformance", "type": "application/json", "href": f"{base}/stac/conformance"},
            {"rel": "data", "type": "application/json", "href": f"{base}/stac/collections"},
            {"rel": "search", "type": GEOJSON, "method": "GET", "href": f"{base}/stac/search"},
            {"rel": "search", "type": GEOJSON, "method": "POST", "href": f"{base}/stac/search"},
            {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "href": f"{base}/api/openapi.json"},
        ]
        for cid, coll in api.collections(principal_of(request)).items():
            links.append({"rel": "child", "type": "application/json", "title": coll["title"],
                          "href": f"{base}/stac/collections/{cid}"})
        return {"type": "Catalog", "stac_version": stac.STAC_VERSION, "id": "onemap",
                "title": "OneMap 生态环境一张图 rasters",
                "description": "Rasters and data cubes of the OneMap catalogue",
                "conformsTo": CONFORMANCE, "links": links}

    @router.get("/conformance")
    def conformance() -> dict[str, Any]:
        return {"conformsTo": CONFORMANCE}

    @router.get("/collections")
    def collections(request: Request) -> dict[str, Any]:
        colls = list(api.collections(principal_of(request)).values())
        return {"collections": colls,
                "links": [{"rel": "self", "type": "application/json",
                           "href": f"{base}/stac/collections"},
                          {"rel": "root", "type": "application/json", "href": f"{base}/stac"}]}

    @router.get("/collections/{cid}")
    def one_collection(cid: str, request: Request) -> dict[str, Any]:
        return collection_or_404(cid, principal_of(request))

    @router.get("/collections/{cid}/items", responses=GEOJSON_200)
    def collection_items(cid: str, request: Request) -> JSONResponse:
        who = principal_of(request)
        collection_or_404(cid, who)
        q = request.query_params
        found = api.search(who, collections=[cid], bbox=parse_bbox(q.get("bbox")),
                           when=parse_datetime(q.get("datetime")))
        limit = parse_int("limit", q.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        page, nxt = _page(found, limit, parse_int("token", q.get("token"), 0, 0, 10**9))
        links = _self_and_next(request, base, f"/stac/collections/{cid}/items", nxt)
        links.append({"rel": "collection", "type": "application/json",
                      "href": f"{base}/stac/collections/{cid}"})
        return JSONResponse(_feature_collection(page, len(found), links),
                            media_type=GEOJSON)

    @router.get("/collections/{cid}/items/{item_id}", responses=GEOJSON_200)
    def one_item(cid: str, item_id: str, request: Request) -> JSONResponse:
        who = principal_of(request)
        collection_or_404(cid, who)
        for item in api.search(who, collections=[cid], ids=[item_id]):
            return JSONResponse(item, media_type=GEOJSON)
        raise ApiError(404, "NotFound", f"no item {item_id!r} in collection {cid!r}")

    def run_search(request: Request, params: dict[str, Any], body: dict | None) -> JSONResponse:
        known = {"collections", "ids", "bbox", "intersects", "datetime", "limit", "token",
                 "fields", "sortby", "filter", "filter-lang", "query"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise _bad(unknown[0], "unknown search parameter (use collections, ids, bbox, "
                                   "intersects, datetime, limit)")
        bbox, geom = parse_bbox(params.get("bbox")), parse_intersects(params.get("intersects"))
        if bbox is not None and geom is not None:
            raise _bad("bbox", "give either bbox or intersects, not both")
        found = api.search(principal_of(request),
                           collections=parse_list("collections", params.get("collections")),
                           ids=parse_list("ids", params.get("ids")), bbox=bbox,
                           intersects=geom, when=parse_datetime(params.get("datetime")))
        limit = parse_int("limit", params.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        page, nxt = _page(found, limit, parse_int("token", params.get("token"), 0, 0, 10**9))
        links = _self_and_next(request, base, "/stac/search", nxt, body)
        return JSONResponse(_feature_collection(page, len(found), links), media_type=GEOJSON)

    @router.get("/search", responses=GEOJSON_200)
    def search_get(request: Request) -> JSONResponse:
        """Item search: collections, ids, bbox, intersects (GeoJSON text), datetime, limit."""
        return run_search(request, dict(request.query_params), None)

    @router.post("/search", responses=GEOJSON_200)
    async def search_post(request: Request) -> JSONResponse:
        """Item search with a JSON body (same parameters; lists and objects as JSON)."""
        try:
            body = await request.json()
        except ValueError:
            raise _bad("body", "not JSON") from None
        if not isinstance(body, dict):
            raise _bad("body", "must be a JSON object")
        return run_search(request, body, body)

    return router
