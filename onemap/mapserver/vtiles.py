"""OGC API Tiles (vector, Mapbox Vector Tiles) for every vector collection, under ``/ogc``.

Routes (the paths of OGC API - Tiles Part 1, tile order ``{tileMatrix}/{tileRow}/{tileCol}``;
TileJSON and the style are TiPg's paths)::

    /ogc/collections/{id}/tiles                              the collection's tilesets
    /ogc/collections/{id}/tiles/{tms}                        OGC TileSet (limits, layers)
    /ogc/collections/{id}/tiles/{tms}/{z}/{row}/{col}        a tile (MVT)
    /ogc/collections/{id}/tiles/{tms}/tilejson.json          TileJSON 3.0.0
    /ogc/collections/{id}/tiles/{tms}/style.json             MapLibre style (onemap.styles)

``tms`` is ``WebMercatorQuad`` or ``WorldCRS84Quad`` (the latter CGCS2000-compatible: lon/lat
on the same ellipsoid to within a metre). Why our own routes, declared before the pygeoapi
mount, rather than a pygeoapi tile provider: a tile must cost a few milliseconds, and
pygeoapi's tile path runs its whole request machinery and a provider chosen per request; ours
answers from an in-memory index of the layer's R-tree (:mod:`onemap.mapserver.vtiles_data`).
The collection documents link here (``onemap.mapserver.ogc.collection``).

Access is the policy's (:mod:`onemap.access.scope`), as for ``/api/clusters``: a hidden or
unknown collection answers 404 alike; a region-bound caller's tiles hold (and count) only the
features its region lets through — the same visible ids the OGC provider ANDs into its SQL.
Tiles are cached by the layer file's version, so an edited layer is re-tiled at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from onemap import catalog
from onemap.access import scope
from onemap.access.policy import Hidden, Limits
from onemap.catalog import Entry
from onemap.layers.families import FAMILIES
from onemap.layers.store import file_version
from onemap.mapserver import vtiles_pg
from onemap.mapserver.auth import principal_of
from onemap.mapserver.listing import data_version
from onemap.mapserver.rasters import Catalogue
from onemap.mapserver.views import VIEWS
from onemap.mapserver.vtiles_data import (
    GRID,
    MAX_ZOOM,
    TMS_IDS,
    Source,
    TileError,
    cached,
    render,
    source,
    tile_frame,
    zoom_limits,
)
from onemap.styles.glstyle import style_document, style_fields

PREFIX = "/ogc/collections/{collectionId}/tiles"
MVT = "application/vnd.mapbox-vector-tile"
#: TileJSON's maxzoom: clients overzoom beyond (a zoom-16 tile is ~600 m wide)
DETAIL_ZOOM = 16
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/"
CRS = {"WebMercatorQuad": "http://www.opengis.net/def/crs/EPSG/0/3857",
       "WorldCRS84Quad": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
TILE_PARAMS = {"f", "properties"}
_JSON_TYPES = {"string": "String", "integer": "Number", "number": "Number",
               "boolean": "Boolean"}
CLUSTER_FIELDS = {"count": "Number", "magnitude": "Number", "minx": "Number",
                  "miny": "Number", "maxx": "Number", "maxy": "Number", "cell": "String"}


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status)


def served_file(entry: Entry, settings: Any) -> Path:
    """The file ``/ogc`` serves the collection from: its view (latest AQI, water class…) when
    the server materialised one, else the layer's own file."""
    view = settings.runtime_dir / "views" / f"{entry.id}.gpkg"
    if entry.family in {v.layer_family for v in VIEWS} and view.exists():
        return view
    return entry.file(settings)


def default_columns(entry: Entry, src: Source) -> tuple[str, ...]:
    """The properties a map needs of each feature: its key, its name and its class field
    (the rest is one ``items/{id}`` away; every column costs time in a dense tile)."""
    family = FAMILIES.get(entry.family)
    key = family.key if family else (entry.extra or {}).get("key")
    wanted = [key, "name", "title", *style_fields(entry.family)]
    have = {c for c, _ in src.columns}
    return tuple(dict.fromkeys(c for c in wanted if c and c in have))


def chosen_columns(entry: Entry, src: Source, request: Request) -> tuple[str, ...]:
    """``properties=a,b`` (each a column of the layer) or the defaults; unknown query
    parameters are refused, as on ``/items``."""
    unknown = sorted(set(request.query_params) - TILE_PARAMS)
    if unknown:
        raise TileError(400, "InvalidParameterValue",
                        f"unknown query parameter(s): {', '.join(unknown)}; "
                        f"tiles take {', '.join(sorted(TILE_PARAMS))}")
    text = request.query_params.get("properties")
    if text is None:
        return default_columns(entry, src)
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    have = {c for c, _ in src.columns}
    bad = [n for n in names if n not in have]
    if bad:
        raise TileError(400, "InvalidParameterValue",
                        f"properties: {', '.join(bad)} not in this collection "
                        f"(it has {', '.join(sorted(have))})")
    return names


def vector_tile_router(cat: Catalogue) -> APIRouter:
    """The vector tile routes (include before pygeoapi is mounted at /ogc)."""
    router = APIRouter(tags=["tiles"])
    settings = cat.settings

    def layer(collection_id: str, request: Request) -> tuple[Entry, Path, Source, Limits]:
        entry = cat.entries().get(collection_id)
        if entry is None:
            raise catalog.UnknownDataset(collection_id)
        limits = scope.limits_of(collection_id, settings, principal_of(request))
        if entry.kind != "vector":
            raise TileError(404, "NotFound", f"{collection_id!r} has no geometry: no tiles")
        path = served_file(entry, settings)
        return entry, path, source(str(path), entry.id), limits

    def base(collection_id: str) -> str:
        return f"{settings.public_url}/ogc/collections/{collection_id}/tiles"

    def versioned(entry: Entry, request: Request) -> str:
        """The request's query and the dataset's version: a tile URL that never changes
        content (immutable in caches, see mapserver.caching)."""
        return "&".join(filter(None, [request.url.query,
                                      f"v={data_version(entry, settings)}"]))

    def tile_url(entry: Entry, tms: str, request: Request) -> str:
        return f"{base(entry.id)}/{tms}/{{z}}/{{y}}/{{x}}?{versioned(entry, request)}"

    def answer(make: Any) -> Any:
        try:
            return make()
        except (catalog.UnknownDataset, Hidden):
            return _error(404, "NotFound", "no such collection")
        except TileError as err:
            return _error(err.status, err.code, err.detail)

    def check_tms(tms: str) -> None:
        if tms not in TMS_IDS:
            raise TileError(404, "NotFound", f"unknown tile matrix set {tms!r}: "
                                             f"{', '.join(TMS_IDS)}")

    def tileset(entry: Entry, src: Source, tms: str, columns: tuple[str, ...],
                request: Request) -> dict[str, Any]:
        kinds = dict(src.columns)
        props = {c: {"type": kinds[c]} for c in columns}
        return {
            "title": entry.title, "description": entry.title_en or entry.title,
            "dataType": "vector", "crs": CRS[tms], "tileMatrixSetURI": TMS_URI + tms,
            "links": [
                {"rel": "self", "type": "application/json",
                 "href": f"{base(entry.id)}/{tms}"},
                {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                 "type": "application/json",
                 "href": f"{settings.public_url}/ogc/TileMatrixSets/{tms}"},
                {"rel": "item", "type": MVT, "templated": True,
                 "href": f"{base(entry.id)}/{tms}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
                         f"?{versioned(entry, request)}"},
                {"rel": "describedby", "type": "application/json", "title": "TileJSON",
                 "href": f"{base(entry.id)}/{tms}/tilejson.json"},
                {"rel": "stylesheet", "type": "application/vnd.mapbox.style+json",
                 "href": f"{base(entry.id)}/{tms}/style.json"},
            ],
            "tileMatrixSetLimits": zoom_limits(entry.bbox, tms, MAX_ZOOM),
            "layers": [
                {"id": entry.id, "dataType": "vector", "geometryDimension": src.dimension,
                 "description": "every feature (while a tile holds at most "
                                f"{settings.tile_max_features} of them)",
                 "propertiesSchema": {"type": "object", "properties": props}},
                {"id": f"{entry.id}_clusters", "dataType": "vector", "geometryDimension": 0,
                 "description": f"above that: features counted in a {GRID}×{GRID} grid of "
                                "cells (the tiles of zoom + 4, named by cell), with the "
                                "extent (lon/lat) of the features counted",
                 "propertiesSchema": {"type": "object", "properties": {
                     "count": {"type": "integer"}, "magnitude": {"type": "integer"},
                     "minx": {"type": "number"},
                     "miny": {"type": "number"}, "maxx": {"type": "number"},
                     "maxy": {"type": "number"}, "cell": {"type": "string"}}}},
            ],
        }

    def tilejson(entry: Entry, src: Source, tms: str, columns: tuple[str, ...],
                 request: Request) -> dict[str, Any]:
        kinds = dict(src.columns)
        bbox = entry.bbox or [-180.0, -85.0, 180.0, 85.0]
        return {
            "tilejson": "3.0.0", "name": entry.title, "description": entry.title_en,
            "version": "1.0.0", "attribution": "OneMap", "scheme": "xyz",
            "tiles": [tile_url(entry, tms, request)],
            "minzoom": 0, "maxzoom": DETAIL_ZOOM, "bounds": bbox,
            "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 8],
            "vector_layers": [
                {"id": entry.id, "fields": {c: _JSON_TYPES[kinds[c]] for c in columns},
                 "minzoom": 0, "maxzoom": DETAIL_ZOOM},
                {"id": f"{entry.id}_clusters", "fields": CLUSTER_FIELDS,
                 "minzoom": 0, "maxzoom": DETAIL_ZOOM}],
        }

    @router.get(PREFIX, summary="The collection's vector tilesets", response_model=None)
    def tilesets(collectionId: str, request: Request) -> Any:  # noqa: N803 (OGC's name)
        def make() -> Any:
            entry, _, src, _ = layer(collectionId, request)
            columns = chosen_columns(entry, src, request)
            sets = []
            for tms in TMS_IDS:
                doc = tileset(entry, src, tms, columns, request)
                sets.append({k: doc[k] for k in ("title", "dataType", "crs",
                                                 "tileMatrixSetURI", "links")})
            return JSONResponse({"links": [{"rel": "self", "type": "application/json",
                                            "href": base(entry.id)}], "tilesets": sets})
        return answer(make)

    @router.get(PREFIX + "/{tileMatrixSetId}", summary="OGC TileSet metadata",
                response_model=None)
    def tileset_doc(collectionId: str, tileMatrixSetId: str,  # noqa: N803
                    request: Request) -> Any:
        def make() -> Any:
            entry, _, src, _ = layer(collectionId, request)
            check_tms(tileMatrixSetId)
            columns = chosen_columns(entry, src, request)
            return JSONResponse(tileset(entry, src, tileMatrixSetId, columns, request))
        return answer(make)

    @router.get(PREFIX + "/{tileMatrixSetId}/tilejson.json", summary="TileJSON 3.0.0",
                response_model=None)
    def tilejson_doc(collectionId: str, tileMatrixSetId: str,  # noqa: N803
                     request: Request) -> Any:
        def make() -> Any:
            entry, _, src, _ = layer(collectionId, request)
            check_tms(tileMatrixSetId)
            columns = chosen_columns(entry, src, request)
            return JSONResponse(tilejson(entry, src, tileMatrixSetId, columns, request))
        return answer(make)

    @router.get(PREFIX + "/{tileMatrixSetId}/style.json",
                summary="MapLibre / Mapbox GL style (OneMap symbology)", response_model=None)
    def style_doc(collectionId: str, tileMatrixSetId: str,  # noqa: N803
                  request: Request) -> Any:
        def make() -> Any:
            entry, _, src, _ = layer(collectionId, request)
            check_tms(tileMatrixSetId)
            columns = chosen_columns(entry, src, request)
            tj = tilejson(entry, src, tileMatrixSetId, columns, request)
            return JSONResponse(style_document(entry.title, entry.id, tj, entry.family,
                                               src.dimension, set(columns)),
                                media_type="application/vnd.mapbox.style+json")
        return answer(make)

    @router.get(PREFIX + "/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                summary="A Mapbox Vector Tile: every feature, or grid counts above "
                        "ONEMAP_TILE_MAX_FEATURES", response_model=None,
                responses={200: {"content": {MVT: {}}}})
    def tile(collectionId: str, tileMatrixSetId: str, tileMatrix: int,  # noqa: N803
             tileRow: int, tileCol: int, request: Request) -> Any:  # noqa: N803
        def make() -> Any:
            entry, path, src, limits = layer(collectionId, request)
            frame = tile_frame(tileMatrixSetId, tileMatrix, tileCol, tileRow)
            columns = chosen_columns(entry, src, request)
            visible = scope.visible_fids(path, entry.id, limits)
            wanted = Source(src.path, src.table, src.fid, src.geom, src.rtree,
                            src.geometry_type, tuple(c for c in src.columns if c[0] in columns))
            key = (str(path), file_version(path), entry.id, frame.tms, frame.z, frame.x,
                   frame.y, "" if limits.whole else str(limits.region), columns,
                   settings.tile_max_features)
            drawer = "postgis" if vtiles_pg.serves(entry, path, settings) else "index"
            if drawer == "postgis":  # ST_AsMVT (ONEMAP_VECTOR_TILES=postgis)
                out = cached((*key, drawer), lambda: vtiles_pg.render(
                    wanted, frame, visible, settings.tile_max_features, settings))
            else:
                out = cached(key, lambda: render(wanted, frame, visible,
                                                 settings.tile_max_features))
            headers = {"OneMap-Tile-Content": out.content, "OneMap-Tile-Count": str(out.count),
                       "OneMap-Tile-Source": drawer, "Vary": "Accept-Encoding"}
            if len(out.data) >= 1024 and "gzip" in request.headers.get("accept-encoding", ""):
                headers["Content-Encoding"] = "gzip"
                return Response(out.gzipped, media_type=MVT, headers=headers)
            return Response(out.data, media_type=MVT, headers=headers)
        return answer(make)

    return router
