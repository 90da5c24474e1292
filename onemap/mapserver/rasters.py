"""Raster tiles by dataset id (titiler), the COG download, WMTS capabilities, and band-math
errors answered in words.

titiler's stock factory reads whatever ``url=`` names: any file or URL the server can reach.
Here the only path dependency takes ``dataset_id`` from the URL *path*, looks it up in the
catalogue and returns the COG's absolute path, so a request can name a dataset but never a file.
Unknown ids, non-raster ids and ids that are not valid catalogue identifiers all answer 404.

Band selections (``bidx``) and expressions are checked against the catalogued band count before
rio-tiler opens the file, so "b5 on a 4-band scene" is a 400 naming the bands the raster has on
every endpoint (TileJSON included, which would otherwise hand out tile URLs that all fail).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

import morecantile
import rasterio
from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from rio_tiler.colormap import cmap as default_cmap
from rio_tiler.errors import InvalidExpression
from rio_tiler.expression import get_expression_blocks, validate_expression
from titiler.core.dependencies import (
    BidxExprParams,
    DatasetParams,
    HistogramParams,
    PartFeatureParams,
    PreviewParams,
    StatisticsParams,
    TileParams,
)
from titiler.core.errors import BadRequestError
from titiler.core.factory import TilerFactory

from onemap import catalog
from onemap.access import context, policy
from onemap.access.principal import Principal
from onemap.catalog import ID_PATTERN, Entry
from onemap.config import Settings
from onemap.mapserver.auth import principal_of
from onemap.mapserver.defaults import colormap_dependency, is_image_request, render_dependency
from onemap.mapserver.tilerparams import (
    checked,
    colormap_params,
    process_dependency,
    tiler_route,
)
from onemap.mapserver.wmts import capabilities
from onemap.styles import RASTER_STYLES, rio_colormap

RASTER_PREFIX = "/raster/{dataset_id}"
TMS = "WebMercatorQuad"
BAND_NAME = re.compile(r"^b(\d+)$", re.IGNORECASE)


class DatasetNotFound(LookupError):
    """A request named a dataset id the catalogue does not serve (→ 404)."""


class BandMathError(BadRequestError):
    """A band selection or expression the raster cannot satisfy (→ 400, in words)."""


# Registered once per process: rio-tiler's registry is immutable, `register` returns a copy.
COLORMAPS = default_cmap.register(
    {name: rio_colormap(name) for name in RASTER_STYLES}, overwrite=True)
ColorMapParams = colormap_params(COLORMAPS)


class Catalogue:
    """The catalogue re-read only when catalog.json changes (lookups happen on every tile)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stamp: int | None = None
        self._entries: dict[str, Entry] = {}
        self._counts: dict[str, int] = {}

    def entries(self) -> dict[str, Entry]:
        try:
            stamp = os.stat(self.settings.catalog_path).st_mtime_ns
        except FileNotFoundError:
            return {}
        if stamp != self._stamp:
            self._entries = catalog.load(self.settings)
            self._counts = {}
            self._stamp = stamp
        return self._entries

    def visible(self, principal: Principal, kinds: tuple[str, ...] | None = None
                ) -> list[Entry]:
        """The entries ``principal`` may see (of ``kinds``), in catalogue order: what every
        listing built on this catalogue shows."""
        entries = [e for e in self.entries().values() if kinds is None or e.kind in kinds]
        return policy.visible(principal, entries, self.settings)

    def entry(self, dataset_id: str, kinds: tuple[str, ...],
              principal: Principal | None = None) -> Entry:
        """The entry of a catalogued dataset of one of ``kinds`` that ``principal`` may see.

        An unknown id raises DatasetNotFound, a hidden one :class:`~onemap.access.policy.
        Hidden`: both answer the same 404, so probing ids tells nothing. ``principal`` None is
        the request's (:func:`onemap.access.context.current`; anonymous outside a request).
        """
        if not ID_PATTERN.fullmatch(dataset_id):
            raise DatasetNotFound(dataset_id)
        entry = self.entries().get(dataset_id)
        if entry is None or entry.kind not in kinds:
            raise DatasetNotFound(dataset_id)
        policy.read(context.current() if principal is None else principal, entry,
                    self.settings)
        return entry

    def dataset_file(self, dataset_id: str, kind: str, principal: Principal | None = None
                     ) -> tuple[Entry, FilePath]:
        """The entry and absolute file (or zarr folder) of a catalogued dataset of ``kind``
        that ``principal`` may see (see :meth:`entry`); DatasetNotFound for anything else,
        including an entry pointing outside the data dir. Every titiler route, the COG, WMTS,
        zonal statistics and the cubes resolve an id here."""
        entry = self.entry(dataset_id, (kind,), principal)
        path = entry.file(self.settings).resolve()
        if self.settings.data_dir.resolve() not in path.parents or not path.exists():
            raise DatasetNotFound(dataset_id)
        return entry, path

    def raster_path(self, dataset_id: str, principal: Principal | None = None) -> str:
        """Absolute path of a visible catalogued raster's COG; DatasetNotFound (or Hidden)
        for anything else."""
        _, path = self.dataset_file(dataset_id, "raster", principal)
        if not path.is_file():
            raise DatasetNotFound(dataset_id)
        return str(path)

    def band_count(self, dataset_id: str, principal: Principal | None = None) -> int:
        """Bands of a visible catalogued raster: from the entry, else read once from the file
        header."""
        path = self.raster_path(dataset_id, principal)
        if dataset_id not in self._counts:
            extra = self.entries()[dataset_id].extra or {}
            count = extra.get("count") or len(extra.get("bands") or [])
            if not count:
                with rasterio.open(path) as src:
                    count = src.count
            self._counts[dataset_id] = int(count)
        return self._counts[dataset_id]


def _band_words(entry: Entry, count: int) -> str:
    """'b1 (blue), b2 (green)…' — what a user may name, with the names they know."""
    names = {}
    for i, band in enumerate((entry.extra or {}).get("bands") or [], start=1):
        if isinstance(band, dict):
            label = band.get("description") or band.get("name") or ""
            names[int(band.get("index", i))] = label if label != f"b{i}" else ""
    return ", ".join(f"b{i}" + (f" ({names[i]})" if names.get(i) else "")
                     for i in range(1, count + 1))


def check_indexes(indexes: list[int], entry: Entry, count: int) -> None:
    """Every band index must exist in the raster."""
    for i in indexes:
        if not 1 <= i <= count:
            raise BandMathError(f"band index {i} out of range: raster {entry.id!r} has {count} "
                                f"band{'s' if count > 1 else ''}: {_band_words(entry, count)}")


def check_expression(expression: str, entry: Entry, count: int) -> None:
    """Syntax, allowed functions, and band names ``b1..bN`` that exist in the raster."""
    try:
        validate_expression(expression)
    except InvalidExpression as exc:
        raise BandMathError(f"invalid expression {expression!r}: {exc}") from None
    used: set[int] = set()
    for block in get_expression_blocks(expression):
        tree = ast.parse(block, mode="eval")
        calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Name) or id(node) in calls:
                continue
            match = BAND_NAME.match(node.id)
            if match is None:
                raise BandMathError(
                    f"invalid expression {expression!r}: unknown name {node.id!r}; name bands "
                    f"b1..b{count} ({_band_words(entry, count)})")
            used.add(int(match.group(1)))
    if not used:
        raise BandMathError(f"invalid expression {expression!r}: it names no band "
                            f"(bands are {_band_words(entry, count)})")
    missing = sorted(i for i in used if not 1 <= i <= count)
    if missing:
        raise BandMathError(
            f"expression {expression!r} names {', '.join(f'b{i}' for i in missing)} but raster "
            f"{entry.id!r} has {count} band{'s' if count > 1 else ''}: "
            f"{_band_words(entry, count)}")


def parse_bidx(values: list[str] | None) -> list[int] | None:
    """``bidx=3&bidx=2`` (titiler's form) or ``bidx=3,2,1`` (our URLs) → [3, 2, 1]."""
    if not values:
        return None
    out = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(int(part))
            except ValueError:
                raise BandMathError(f"bidx must be band numbers such as 1 or 3,2,1; "
                                    f"got {value!r}") from None
    return out or None


def layer_params_dependency(cat: Catalogue):
    """titiler's ``layer_dependency``: bidx/expression checked against the catalogued raster."""

    def layer_params(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster dataset")],
        bidx: Annotated[list[str] | None, Query(
            description="Band numbers, repeated (bidx=3&bidx=2) or comma-separated (3,2,1)",
        )] = None,
        expression: Annotated[str | None, Query(
            description="Band math on b1..bN, e.g. (b4-b3)/(b4+b3); ';' separates outputs",
        )] = None,
    ) -> BidxExprParams:
        who = principal_of(request)
        entry = cat.entry(dataset_id, ("raster",), who)  # 404 before any other answer
        indexes = parse_bidx(bidx)
        if indexes is None and expression is None:
            if not is_image_request(request):
                return BidxExprParams()
            cat.raster_path(dataset_id, who)
            default = (entry.extra or {}).get("expression")
            return BidxExprParams(indexes=None if default else default_bidx(entry),
                                  expression=default or None)
        count = cat.band_count(dataset_id, who)
        if indexes is not None:
            check_indexes(indexes, entry, count)
        if expression is not None:
            check_expression(expression, entry, count)
        return BidxExprParams(indexes=indexes, expression=expression)

    return layer_params


def _rescale(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], list | tuple):
            value = value[0]
        return ",".join(str(v) for v in value)
    return str(value)


def default_bidx(entry: Entry) -> list[int] | None:
    """The entry's band selection: its ``bidx``, else true colour from band names, else band 1
    of a multi-band raster (a 2- or 4+-band PNG is not an image a viewer can show)."""
    extra = entry.extra or {}
    bidx = extra.get("bidx")
    if isinstance(bidx, list) and bidx and all(isinstance(b, int) for b in bidx):
        return bidx
    bands = [b for b in extra.get("bands") or [] if isinstance(b, dict)]
    count = int(extra.get("count") or len(bands) or 1)
    if count == 1 or count == 3:
        return None
    names: dict[str, int] = {}
    for i, band in enumerate(bands, start=1):
        for key in ("name", "description"):
            names.setdefault(str(band.get(key) or "").lower(), int(band.get("index", i)))
    if all(c in names for c in ("red", "green", "blue")):
        return [names["red"], names["green"], names["blue"]]
    return [1]


def render_params(entry: Entry) -> dict[str, str]:
    """Query parameters of the entry's default rendering (colormap, rescale, bands)."""
    extra = entry.extra or {}
    params: dict[str, str] = {"tilesize": "256", "tile_format": "png"}
    if extra.get("colormap"):
        params["colormap_name"] = str(extra["colormap"])
    if _rescale(extra.get("rescale")):
        params["rescale"] = _rescale(extra.get("rescale")) or ""
    if extra.get("expression"):
        params["expression"] = str(extra["expression"])
    elif bidx := default_bidx(entry):
        params["bidx"] = ",".join(str(b) for b in bidx)
    return params


def tilejson_url(entry: Entry, settings: Settings) -> str:
    """A ready TileJSON URL (public) with the entry's default rendering."""
    params = render_params(entry)
    base = f"{settings.public_url}/raster/{entry.id}/{TMS}/tilejson.json"
    return f"{base}?{urlencode(params)}"


def wmts_router(cat: Catalogue) -> APIRouter:
    """``/raster/{dataset_id}/{tms}/WMTSCapabilities.xml`` for desktop GIS clients."""
    router = APIRouter(tags=["raster"])

    @router.get("/raster/{dataset_id}/{tms_id}/WMTSCapabilities.xml", response_class=Response,
                responses={200: {"content": {"application/xml": {}}}})
    def wmts(dataset_id: str, tms_id: str, request: Request) -> Response:
        """WMTS capabilities of one raster, tiles rendered with its default style."""
        cat.raster_path(dataset_id, principal_of(request))
        if tms_id not in morecantile.tms.list():
            raise DatasetNotFound(tms_id)
        entry = cat.entries()[dataset_id]
        params = {k: v for k, v in render_params(entry).items()
                  if k not in ("tilesize", "tile_format")}
        colormap = params.get("colormap_name")
        legend = (f"{cat.settings.public_url}/api/legends/{colormap}.png"
                  if colormap in COLORMAPS.list() else None)
        xml = capabilities(entry, cat.settings, tms_id, urlencode(params), legend)
        return Response(xml, media_type="application/xml")

    return router


def add_cog_download(router: APIRouter, cat: Catalogue) -> None:
    """``GET|HEAD /cog.tif`` on the factory router: the catalogued COG itself, with HTTP Range,
    so GDAL (``/vsicurl/``), QGIS and STAC clients read only the blocks they need."""

    @router.api_route("/cog.tif", methods=["GET", "HEAD"], response_class=FileResponse,
                      responses={200: {"content": {"image/tiff": {}}},
                                 206: {"description": "The requested byte range"}},
                      summary="Download the Cloud-Optimised GeoTIFF (HTTP Range supported)")
    def cog_download(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster dataset")],
    ) -> FileResponse:
        path = cat.raster_path(dataset_id, principal_of(request))
        # `Content-Encoding: identity` keeps the gzip middleware off: a compressed body would
        # lose its Content-Length, and byte ranges are ranges of the file, not of a gzip stream.
        return FileResponse(path, media_type="image/tiff; application=geotiff; "
                            "profile=cloud-optimized", filename=f"{dataset_id}.tif",
                            headers={"Content-Encoding": "identity"})


def raster_factory(cat: Catalogue) -> TilerFactory:
    """titiler endpoints under ``/raster/{dataset_id}``; the dataset comes only from the path."""

    def dataset_path(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster dataset")],
    ) -> str:
        return cat.raster_path(dataset_id, principal_of(request))

    def entry_of(dataset_id: str) -> Entry:
        # the request's principal (the dependencies that call this run in its context)
        cat.raster_path(dataset_id)
        return cat.entries()[dataset_id]

    factory = TilerFactory(path_dependency=dataset_path,
                           colormap_dependency=colormap_dependency(COLORMAPS, entry_of),
                           render_dependency=render_dependency(entry_of),
                           layer_dependency=layer_params_dependency(cat),
                           dataset_dependency=checked(DatasetParams),
                           tile_dependency=checked(TileParams),
                           stats_dependency=checked(StatisticsParams),
                           histogram_dependency=checked(HistogramParams),
                           img_preview_dependency=checked(PreviewParams),
                           img_part_dependency=checked(PartFeatureParams),
                           process_dependency=process_dependency,
                           router=APIRouter(route_class=tiler_route(
                               cat.settings.max_image_pixels)),
                           router_prefix=RASTER_PREFIX, add_viewer=False)
    add_cog_download(factory.router, cat)
    return factory


def _error(code: str, status: int):
    def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"code": code, "detail": str(exc)}, status_code=status)
    return handler


def _band_index_error(request: Request, exc: Exception) -> JSONResponse:
    """rasterio's IndexError for a band it lacks (a path our checks did not cover) is the
    client's mistake; any other IndexError stays a server error."""
    if "band index" in str(exc):
        return JSONResponse({"code": "InvalidBand", "detail": str(exc)}, status_code=400)
    return JSONResponse({"code": "InternalError", "detail": "internal error"}, status_code=500)


def register_raster_errors(app: FastAPI) -> None:
    """JSON ``{"code", "detail"}`` bodies for band-math and request errors of the raster routes
    (call after titiler's ``add_exception_handlers`` so these take precedence)."""
    app.add_exception_handler(BandMathError, _error("InvalidBandMath", 400))
    app.add_exception_handler(InvalidExpression, _error("InvalidExpression", 400))
    app.add_exception_handler(BadRequestError, _error("BadRequest", 400))
    app.add_exception_handler(IndexError, _band_index_error)
