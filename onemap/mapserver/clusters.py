"""``GET /api/clusters/{layer_id}?bbox=…&zoom=…``: a big layer's features counted on a grid.

A map cannot draw a million pollution sources, and should not download them to count them.
Below the zoom where a big layer's points are drawn one by one, the map asks for this summary:
the features in the view grouped into square cells of about :data:`CELL_PX` screen pixels at
that zoom, each cell one point (at the mean position of its features) carrying the count and
the cells' extent, so a click can zoom to it. It is the grid clustering GeoServer or PostGIS
(``ST_SnapToGrid`` + ``GROUP BY``) do, run here by SQLite on the GeoPackage's own R-tree index:
one indexed scan of the view's boxes, no geometry decoded, nothing home-made but the SQL.

Cells are aligned on a global grid (from −180°, −90°), so panning does not move them. A request
that would produce more than :data:`MAX_CELLS` cells (a bbox far larger than a screen at that
zoom) is refused.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from onemap import catalog
from onemap.access import scope
from onemap.access.policy import WHOLE, Hidden, Limits
from onemap.mapserver.auth import principal_of
from onemap.mapserver.rasters import Catalogue

CELL_PX = 64
MAX_CELLS = 20_000
BAD = "InvalidParameterValue"


class ClusterError(ValueError):
    """A request the summary cannot answer: HTTP status, error code and the reason in words."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def cell_degrees(zoom: int) -> float:
    """The cell size in degrees of longitude: CELL_PX pixels of a 256-px Web Mercator tile."""
    return CELL_PX * 360.0 / (256 * 2 ** zoom)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        raise ClusterError(400, BAD, "bbox must be minx,miny,maxx,maxy (4 numbers)") from None
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise ClusterError(400, BAD, "bbox must have minx < maxx and miny < maxy within "
                                     "-180..180, -90..90 (lon/lat, EPSG:4326)")
    return minx, miny, maxx, maxy


def _rtree(con: sqlite3.Connection, table: str) -> str:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                      (table,)).fetchone()
    if row is None:
        raise ClusterError(400, BAD, f"layer {table!r} has no geometry")
    name = f"rtree_{table}_{row[0]}"
    if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is None:
        raise ClusterError(409, "NoSpatialIndex", f"layer {table!r} has no spatial index")
    return name


def grid_clusters(path: str, table: str, bbox: tuple[float, float, float, float],
                  zoom: int, limits: Limits = WHOLE) -> dict[str, Any]:
    """The GeoJSON summary of ``table``'s features whose boxes meet ``bbox`` (and, for a
    region-bound caller, intersect its region: the R-tree ids are the feature ids)."""
    cell = cell_degrees(zoom)
    minx, miny, maxx, maxy = bbox
    cells = math.ceil((maxx - minx) / cell + 1) * math.ceil((maxy - miny) / cell + 1)
    if cells > MAX_CELLS:
        raise ClusterError(400, BAD, f"bbox spans about {cells:,} cells at zoom {zoom}; "
                                     f"at most {MAX_CELLS:,} (ask for the view only)")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rtree = _rtree(con, table)
        limited = scope.ids_sql("id", scope.visible_fids(path, table, limits))
        rows = con.execute(
            f'SELECT CAST((minx + 180.0) / :c AS INTEGER) AS gx, '
            f'CAST((miny + 90.0) / :c AS INTEGER) AS gy, COUNT(*), '
            f'AVG((minx + maxx) / 2), AVG((miny + maxy) / 2), '
            f'MIN(minx), MIN(miny), MAX(maxx), MAX(maxy) FROM "{rtree}" '
            f'WHERE maxx >= :x0 AND minx <= :x1 AND maxy >= :y0 AND miny <= :y1 '
            f'{"AND " + limited if limited else ""} GROUP BY gx, gy',
            {"c": cell, "x0": minx, "x1": maxx, "y0": miny, "y1": maxy}).fetchall()
    finally:
        con.close()
    features = [{
        "type": "Feature", "id": f"{zoom}/{gx}/{gy}",
        "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
        "properties": {"count": n, "bbox": [round(v, 6) for v in (x0, y0, x1, y1)]},
    } for gx, gy, n, x, y, x0, y0, x1, y1 in rows]
    return {"type": "FeatureCollection", "features": features, "zoom": zoom,
            "cell_degrees": cell, "numberMatched": sum(f["properties"]["count"]
                                                       for f in features)}


def cluster_router(cat: Catalogue) -> APIRouter:
    """The grid summary of big vector layers (layer by catalogue id only)."""
    router = APIRouter(tags=["api"])
    settings = cat.settings

    @router.get("/api/clusters/{layer_id}", response_model=None,
                summary="A big layer's features counted on a grid of the view")
    def clusters(layer_id: str, request: Request,
                 bbox: str = Query(..., description="The view: minx,miny,maxx,maxy (lon/lat)"),
                 zoom: int = Query(..., ge=0, le=22, description="The map's zoom")
                 ) -> JSONResponse:
        try:
            entry = catalog.get(layer_id, settings)
            # a layer hidden from the caller is answered as an unknown one
            limits = scope.limits_of(layer_id, settings, principal_of(request))
            if entry.kind != "vector":
                raise ClusterError(404, "NotFound", f"{layer_id!r} is not a vector layer")
            doc = grid_clusters(str(entry.file(settings)), entry.id, parse_bbox(bbox), zoom,
                                limits)
        except (catalog.UnknownDataset, Hidden):
            return JSONResponse({"code": "NotFound", "detail": f"no layer {layer_id!r}"}, 404)
        except ClusterError as err:
            return JSONResponse({"code": err.code, "detail": err.detail}, err.status)
        return JSONResponse(doc, media_type="application/geo+json")

    return router
