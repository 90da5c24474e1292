"""``GET /raster/{id}/zonal/{layer_id}``: statistics of a raster inside every polygon of a
catalogued vector layer ("mean NDVI of each red line"), as GeoJSON or CSV.

Both the raster and the polygons are named by catalogue id only; the layer must be a vector
layer with polygon geometry. Each feature comes back with its identifying fields (key, name,
codes) and the statistics, so the table can be joined back to the layer or read as is.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from onemap.access import policy, scope
from onemap.catalog import ID_PATTERN
from onemap.layers.families import FAMILIES
from onemap.mapserver.auth import principal_of
from onemap.mapserver.rasters import (
    BandMathError,
    Catalogue,
    check_expression,
    check_indexes,
    parse_bidx,
)
from onemap.raster.zonal import zonal_stats

#: Source fields copied next to the statistics: keys, names and codes, not every attribute.
LABEL_FIELD = re.compile(r"(^id$|_id$|^name|name$|code)", re.IGNORECASE)
MAX_PERCENTILES = 20


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status_code=status)


def _percentiles(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"percentiles must be numbers such as 10,50,90; got {text!r}") from None
    if len(values) > MAX_PERCENTILES or any(not 0 <= v <= 100 for v in values):
        raise ValueError(f"percentiles must be at most {MAX_PERCENTILES} numbers between 0 and "
                         f"100; got {text!r}")
    return values


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN → null, numpy → Python."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def zonal_router(cat: Catalogue) -> APIRouter:
    """The zonal-statistics endpoint (dataset and layer by catalogue id only)."""
    router = APIRouter(tags=["raster"])
    settings = cat.settings

    @router.get("/raster/{dataset_id}/zonal/{layer_id}", response_model=None,
                responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}})
    async def zonal(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster")],
        layer_id: Annotated[str, Path(description="Catalogue id of a polygon vector layer")],
        bidx: Annotated[str | None, Query(description="Bands, e.g. 1 or 3,2,1")] = None,
        expression: Annotated[str | None, Query(
            description="Band math on b1..bN, e.g. (b4-b3)/(b4+b3)")] = None,
        percentiles: Annotated[str, Query(description="e.g. 10,50,90")] = "10,50,90",
        ids: Annotated[str | None, Query(
            description="Comma-separated feature ids to restrict to")] = None,
        f: Annotated[str, Query(description="json (GeoJSON) or csv")] = "json",
        skipGeometry: Annotated[bool, Query(  # noqa: N803 (OGC API parameter name)
            description="Leave feature geometries out of the GeoJSON")] = False,
    ) -> Response:
        """Statistics of the raster inside each polygon of the layer (one row per feature)."""
        path = cat.raster_path(dataset_id)  # DatasetNotFound → 404
        entry = cat.entries()[dataset_id]
        layer = cat.entries().get(layer_id) if ID_PATTERN.fullmatch(layer_id) else None
        principal = principal_of(request)
        if layer is None or policy.limits(principal, layer, settings) is None:  # hidden: absent
            return _error(404, "NotFound", f"unknown layer {layer_id!r}")
        if layer.kind != "vector":
            return _error(400, "NotAPolygonLayer", f"{layer_id!r} is a {layer.kind}, not a "
                          "vector layer: zonal statistics need a polygon layer")
        if "polygon" not in (layer.geometry_type or "").lower():
            return _error(400, "NotAPolygonLayer", f"layer {layer_id!r} has "
                          f"{layer.geometry_type or 'no'} geometries: zonal statistics need "
                          "polygons")
        if f not in ("json", "geojson", "csv"):
            return _error(400, "BadRequest", f"f must be json or csv, got {f!r}")
        try:
            pcts = _percentiles(percentiles)
            indexes = parse_bidx([bidx] if bidx else None)
            if indexes or expression:
                count = cat.band_count(dataset_id)
                if indexes:
                    check_indexes(indexes, entry, count)
                if expression:
                    check_expression(expression, entry, count)
        except (ValueError, BandMathError) as exc:
            return _error(400, "BadRequest", str(exc))
        family = FAMILIES.get(layer.family)
        # a region-bound caller gets the polygons that intersect its region only
        frame = await run_in_threadpool(scope.read, layer_id, settings, principal,
                                        fid_as_index=True)
        key = family.key if family and family.key in frame.columns else None
        fids = frame[key].astype(str) if key else frame.index.astype(str)
        if ids:
            wanted = {v.strip() for v in ids.split(",") if v.strip()}
            frame = frame[fids.isin(wanted).to_numpy()]
            fids = fids[fids.isin(wanted)]
        stats = await run_in_threadpool(zonal_stats, path, frame, bidx=indexes,
                                        expression=expression, percentiles=pcts)
        labels = [c for c in frame.columns if c != "geometry" and LABEL_FIELD.search(c)]
        if f == "csv":
            table = frame[labels].copy()
            table.insert(0, "id", list(fids))
            table = table.join(stats)
            buf = io.StringIO()
            table.to_csv(buf, index=False)
            return Response(buf.getvalue().encode("utf-8-sig"), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{dataset_id}'
                                     f'_{layer_id}_zonal.csv"'})
        geoms = (None if skipGeometry else
                 json.loads(frame.geometry.to_crs("EPSG:4326").to_json())["features"])
        stats = stats.astype(object)  # row access keeps counts as ints
        features = []
        for k, (idx, fid) in enumerate(zip(frame.index, fids, strict=True)):
            props = {c: _clean(frame.at[idx, c]) for c in labels}
            props.update({c: _clean(v) for c, v in stats.loc[idx].items()})
            features.append({"type": "Feature", "id": fid, "properties": props,
                             "geometry": None if geoms is None else geoms[k]["geometry"]})
        doc = {"type": "FeatureCollection", "raster": dataset_id, "layer": layer_id,
               "expression": expression, "bidx": indexes, "percentiles": pcts,
               "numberReturned": len(features), "features": features}
        return JSONResponse(doc, media_type="application/geo+json")

    return router
