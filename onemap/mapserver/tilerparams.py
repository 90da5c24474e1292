"""Every parameter of the image routes (titiler at ``/raster/{id}`` and ``/cube/{id}``) parsed
and checked in one place, so a client's mistake is a 4xx ``{"code", "detail"}`` naming it.

titiler parses many values only in its dependencies' ``__post_init__`` (``float(nodata)``,
``map(float, rescale)``, ``json.loads(algorithm_params)``…) or not at all (tile indices, image
sizes, coordinates, GeoJSON bodies), so a bad value surfaces as a ValueError, OverflowError or a
multi-terabyte allocation deep in rio-tiler: a 500. Here:

- :func:`checked` wraps titiler's dependency classes: whatever their parsing raises is a 400;
- :func:`tiler_route` checks what titiler takes straight from the path or query (tile indices
  against the tile matrix set, image sizes against ``ONEMAP_MAX_IMAGE_PIXELS``, finite
  coordinates and bounding boxes, GeoJSON geometries) before the endpoint runs;
- our own dependencies (defaults.py, rasters.py) use :func:`parse_rescale` and
  :func:`check_color_formula`.
"""

import json
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import morecantile
from color_operations import parse_operations
from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from rio_tiler.errors import PointOutsideBounds
from shapely.geometry import shape
from titiler.core.algorithm import algorithms as default_algorithms
from titiler.core.dependencies import ImageRenderingParams, create_colormap_dependency
from titiler.core.resources.enums import ImageType

from onemap.mapserver.errors import ApiError, ErrorRoute

#: Parsing errors of titiler's dependencies: the value a client sent, not our code, is wrong.
PARSE_ERRORS = (ValueError, TypeError, AssertionError, OverflowError, ValidationError)
#: An image with no size of its own (bbox, feature) is read onto at most this many pixels on its
#: long side, as titiler's preview is; a client asks for more with ``max_size``.
DEFAULT_MAX_SIZE = 1024
#: What each titiler dependency class parses, for the error's wording.
PARSED = {"DatasetParams": "nodata", "HistogramParams": "histogram_bins/histogram_range",
          "StatisticsParams": "c/p", "TileParams": "buffer/padding"}


def bad(name: str, detail: str) -> ApiError:
    return ApiError(400, "InvalidParameterValue", f"{name}: {detail}")


def finite(name: str, text: Any) -> float:
    """A finite number, or a 400 naming ``name``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise bad(name, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise bad(name, f"{text!r} is not a finite number")
    return value


def parse_rescale(values: list[str] | None) -> list[tuple[float, float]] | None:
    """``rescale=min,max`` (repeated per band; brackets allowed, as titiler allows them)."""
    if not values:
        return None
    out = []
    for value in values:
        parts = value.replace("[", "").replace("]", "").split(",")
        if len(parts) != 2:
            raise bad("rescale", f"{value!r} is not min,max (e.g. rescale=0,3000)")
        low, high = (finite("rescale", p) for p in parts)
        out.append((low, high))
    return out


def check_color_formula(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_operations(value)
    except Exception:  # color-operations raises exceptions of every kind on bad text
        raise bad("color_formula", f"{value!r} is not a rio-color formula "
                  "(e.g. 'gamma rgb 1.3, sigmoidal rgb 10 0.15')") from None
    return value


def checked(base: type) -> type:
    """titiler's dependency class ``base`` whose parsing errors are 400s, whose percentiles are
    0–100, and whose image parts without a size are read onto ``DEFAULT_MAX_SIZE`` pixels."""

    @dataclass
    class Checked(base):  # type: ignore[misc, valid-type]
        def __post_init__(self) -> None:
            try:
                if hasattr(base, "__post_init__"):  # TileParams has none
                    super().__post_init__()
            except PARSE_ERRORS as exc:
                raise bad(PARSED.get(base.__name__, base.__name__), str(exc)) from None
            for p in getattr(self, "percentiles", None) or []:
                if not 0 <= p <= 100:
                    raise bad("p", f"percentile {p} is not within 0…100")
            for name in ("buffer", "padding"):  # pixels added around a tile
                value = getattr(self, name, None)
                if value is not None and not 0 <= value <= 1024:
                    raise bad(name, f"{value} is not within 0…1024 pixels")
            bins, span = getattr(self, "bins", None), getattr(self, "range", None)
            if isinstance(bins, int) and not 1 <= bins <= 10000:
                raise bad("histogram_bins", f"{bins} is not within 1…10000")
            pairs = zip(bins[:-1], bins[1:], strict=True) if isinstance(bins, list) else ()
            if isinstance(bins, list) and (not all(map(math.isfinite, bins))
                                           or any(b <= a for a, b in pairs)):
                raise bad("histogram_bins", "bin edges must be finite and increasing")
            if isinstance(span, list) and (not all(map(math.isfinite, span))
                                           or span[0] > span[1]):
                raise bad("histogram_range", f"{span} is not min,max with min ≤ max")
            if hasattr(self, "max_size") and self.max_size is None \
                    and not (self.width or self.height) and "Part" in base.__name__:
                self.max_size = DEFAULT_MAX_SIZE

    Checked.__name__ = Checked.__qualname__ = base.__name__
    Checked.__doc__ = base.__doc__
    return Checked


def parse_colormap(cmaps: Any, colormap_name: str | None, colormap: str | None) -> Any:
    """titiler's colormap: a registered name, or a JSON object {value: colour} or list of
    [[min, max], colour] intervals; anything else is a 400."""
    try:
        chosen = create_colormap_dependency(cmaps)(colormap_name=colormap_name,
                                                   colormap=colormap)
    except PARSE_ERRORS as exc:
        raise bad("colormap", f"not a JSON colormap {{value: colour}}: {exc}") from None
    if chosen is not None and not isinstance(chosen, dict | list):
        raise bad("colormap", "must be a JSON object {value: colour} or a list of intervals")
    return chosen


def colormap_params(cmaps: Any) -> Callable[..., Any]:
    """titiler's colormap dependency through :func:`parse_colormap`."""
    names = tuple(cmaps.list())

    def deps(
        colormap_name: Annotated[Literal[names] | None,  # type: ignore[valid-type]
                                 Query(description="Colormap name")] = None,
        colormap: Annotated[str | None, Query(description="JSON encoded custom colormap")
                            ] = None,
    ) -> Any:
        return parse_colormap(cmaps, colormap_name, colormap)

    return deps


def render_params(
    rescale: Annotated[list[str] | None, Query(
        description="Min,max rescaling, repeated per band (e.g. 0,3000)")] = None,
    color_formula: Annotated[str | None, Query(description="rio-color formula")] = None,
    return_mask: Annotated[bool | None, Query(description="Add the mask as alpha")] = None,
) -> ImageRenderingParams:
    """titiler's image rendering parameters, parsed here (finite rescale, a valid formula)."""
    params = ImageRenderingParams(color_formula=check_color_formula(color_formula),
                                  add_mask=return_mask)
    params.rescale = parse_rescale(rescale)
    return params


ALGORITHMS = tuple(default_algorithms.list())


def process_dependency(
    algorithm: Annotated[Literal[ALGORITHMS] | None,  # type: ignore[valid-type]
                         Query(description="Algorithm name")] = None,
    algorithm_params: Annotated[str | None, Query(
        description="Algorithm parameters, a JSON object")] = None,
) -> Any:
    """titiler's post-processing dependency; parameters that are not a JSON object of the
    algorithm's own options are a 400."""
    kwargs: Any = {}
    if algorithm_params:
        try:
            kwargs = json.loads(algorithm_params)
        except ValueError:
            raise bad("algorithm_params", f"{algorithm_params!r} is not JSON") from None
        if not isinstance(kwargs, dict):
            raise bad("algorithm_params", "must be a JSON object, e.g. {\"azimuth\": 315}")
    if not algorithm:
        return None
    model = default_algorithms.get(algorithm)
    options = set(model.model_fields) - {"title", "description"}
    unknown = sorted(set(kwargs) - options)
    if unknown:  # pydantic would ignore a misspelt option silently
        raise bad("algorithm_params", f"{algorithm} has no option {', '.join(unknown)}; "
                  f"its options are {', '.join(sorted(options)) or 'none'}")
    try:
        return model(**kwargs)
    except PARSE_ERRORS as exc:
        raise bad("algorithm_params", f"invalid for {algorithm}: {exc}") from None


def _int(params: Any, name: str) -> int | None:
    """An integer parameter, or None when absent or not an integer (FastAPI then says 422)."""
    value = params.get(name)
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def check_tile(params: dict[str, str]) -> None:
    """z/x/y of a tile that exists in its tile matrix set (404 otherwise)."""
    z, x, y = (_int(params, k) for k in ("z", "x", "y"))
    tms_id = params.get("tileMatrixSetId")
    if z is None or x is None or y is None or tms_id not in morecantile.tms.list():
        return
    tms = morecantile.tms.get(tms_id)
    try:
        matrix = tms.matrix(z) if tms.minzoom <= z <= tms.maxzoom else None
    except Exception:  # morecantile: levels it cannot construct (variable-width grids)
        matrix = None
    if matrix is None:
        raise ApiError(404, "NotFound", f"{tms_id} has no zoom level {z} "
                       f"(levels {tms.minzoom}…{tms.maxzoom})")
    if not (0 <= x < matrix.matrixWidth and 0 <= y < matrix.matrixHeight):
        raise ApiError(404, "NotFound", f"{tms_id} level {z} has no tile {x}/{y} "
                       f"(x 0…{matrix.matrixWidth - 1}, y 0…{matrix.matrixHeight - 1})")


def check_zooms(query: Any, path: dict[str, str]) -> None:
    tms_id = path.get("tileMatrixSetId")
    tms = morecantile.tms.get(tms_id) if tms_id in morecantile.tms.list() else None
    low, high = (tms.minzoom, tms.maxzoom) if tms else (0, 30)
    for name in ("minzoom", "maxzoom"):
        value = _int(query, name)
        if value is not None and not low <= value <= high:
            raise bad(name, f"{value} is not within {low}…{high}")


def check_size(query: Any, path: dict[str, str], max_pixels: int) -> None:
    """Output sizes (path or query) of at least 1 pixel and at most ``max_pixels`` in all."""
    side = math.isqrt(max_pixels)
    sizes = {k: _int(path, k) if k in path else _int(query, k) for k in ("width", "height")}
    for name, value in [*sizes.items(), ("max_size", _int(query, "max_size")),
                        ("tilesize", _int(query, "tilesize"))]:
        if value is not None and value < 1:
            raise bad(name, f"{value} is not a positive number of pixels")
    width, height = sizes["width"], sizes["height"]
    if width and height and width * height > max_pixels:
        raise too_large(f"{width}×{height} pixels", max_pixels)
    for name in ("width", "height", "max_size", "tilesize"):
        value = sizes.get(name) if name in sizes else _int(query, name)
        if value is not None and value > side and not (width and height):
            raise too_large(f"{name}={value}", max_pixels)


def too_large(what: str, max_pixels: int) -> ApiError:
    side = math.isqrt(max_pixels)
    return ApiError(413, "ImageTooLarge", f"image of {what} is larger than this server's limit "
                    f"of {max_pixels} pixels (ONEMAP_MAX_IMAGE_PIXELS, e.g. {side}×{side})")


#: Longitude and latitude names of the path and their range in WGS84, titiler's default
#: ``coord_crs`` (PROJ fails, a 500, on a latitude of 1e16 for a UTM raster).
DEGREES = {"lon": 180, "minx": 180, "maxx": 180, "lat": 90, "miny": 90, "maxy": 90}


def check_coordinates(path: dict[str, str], query: Any) -> None:
    """lon/lat and bounding boxes in the path: finite, in degrees' range unless the request
    names its ``coord_crs``, and min below max."""
    for name, limit in DEGREES.items():
        if name in path:
            try:
                float(path[name])
            except ValueError:
                continue  # FastAPI's 422
            value = finite(name, path[name])
            if not query.get("coord_crs") and not -limit <= value <= limit:
                raise bad(name, f"{value} is not within ±{limit}° (WGS84; give coord_crs for "
                          "coordinates in another CRS)")
    if {"minx", "miny", "maxx", "maxy"} <= path.keys():
        try:
            minx, miny, maxx, maxy = (float(path[k]) for k in ("minx", "miny", "maxx", "maxy"))
        except ValueError:
            return
        if not (minx < maxx and miny < maxy):
            raise bad("bbox", f"{minx},{miny},{maxx},{maxy} is not minx,miny,maxx,maxy with "
                      "min below max")
    fmt = path.get("format")
    if fmt is not None and fmt not in ImageType.__members__:
        raise bad("format", f"{fmt!r} is not one of {', '.join(ImageType.__members__)}")


def _geometries(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise bad("body", "must be a GeoJSON Feature or FeatureCollection object")
    if body.get("type") == "FeatureCollection":
        features = body.get("features")
        if not isinstance(features, list) or not features:
            raise bad("body", "a FeatureCollection needs at least one feature")
        return [f.get("geometry") if isinstance(f, dict) else None for f in features]
    return [body.get("geometry")]


async def check_geojson(request: Request) -> None:
    """The geometry of a posted Feature (or each of a FeatureCollection's): present, a polygon
    or multipolygon, finite, non-empty — rio-tiler reads the raster inside it."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return  # FastAPI's 422 names it
    for geom in _geometries(body):
        if not isinstance(geom, dict):
            raise bad("geometry", "missing: a Feature needs a Polygon or MultiPolygon geometry")
        if geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise bad("geometry", f"{geom.get('type')!r} is not a Polygon or MultiPolygon")
        try:
            g = shape(geom)
        except Exception as exc:  # shapely raises many types for malformed coordinates
            raise bad("geometry", f"not a valid GeoJSON geometry: {exc}") from None
        if g.is_empty or not all(math.isfinite(v) for v in g.bounds):
            raise bad("geometry", "empty, or its coordinates are not finite numbers")


def tiler_route(max_pixels: int) -> type[APIRoute]:
    """A route class for titiler's routers: ``ErrorRoute`` plus the checks above, made before
    the endpoint (and titiler's own dependencies) run."""

    class TilerRoute(ErrorRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                path, query = request.path_params, request.query_params
                try:
                    check_tile(path)
                    check_zooms(query, path)
                    check_size(query, path, max_pixels)
                    check_coordinates(path, query)
                    if request.method == "POST":
                        await check_geojson(request)
                except ApiError as exc:
                    return JSONResponse({"code": exc.code, "detail": exc.detail},
                                        status_code=exc.status)
                try:
                    return await handler(request)
                except PointOutsideBounds as exc:  # a point or part beside the data: no data
                    return JSONResponse({"code": "NotFound", "detail": str(exc)},
                                        status_code=404)

            return route

    return TilerRoute
