"""WMTS 1.0.0 for the whole catalogue: one capabilities document (RESTful and KVP) listing every
raster, raster series and cube the caller may see, tiles in both encodings, and a cube's own
capabilities document.

ArcGIS Pro, SuperMap and MapGIS expect one service URL with every layer, and some speak only
KVP (``/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=…``); QGIS and GDAL read the RESTful document
(a URL containing ``WMTSCapabilities.xml`` is fetched as is). Layers with time steps carry a
``Time`` dimension; QGIS 3.22 sends the template's literal ``{Time}`` when the user picked no
step, which serves the layer's default. Client mistakes are OWS ExceptionReports with 400;
an unknown or hidden layer is 404 with the same report, so probing names tells nothing.
"""

from __future__ import annotations

from typing import Annotated

import morecantile
from fastapi import APIRouter, Path, Request, Response

from onemap.access import policy
from onemap.access.policy import Hidden
from onemap.mapserver.auth import principal_of
from onemap.mapserver.cubes import cube_entry
from onemap.mapserver.errors import ApiError
from onemap.mapserver.rasters import Catalogue, DatasetNotFound
from onemap.mapserver.wmts import MAX_ZOOM, document, exception_report
from onemap.mapserver.wmts_layers import (
    NO_TIME,
    Source,
    layer_doc,
    named,
    pick,
    render,
    sources,
    step,
)

#: The tile matrix sets of the service-wide document (CGCS2000 users take WorldCRS84Quad:
#: CRS84 and CGCS2000 differ by less than a metre).
SETS = ("WebMercatorQuad", "WorldCRS84Quad")
XML = "application/xml"
TITLE = "OneMap 生态环境一张图 WMTS"
ABSTRACT = ("Rasters, raster series (Time = the date of each member) and data cubes "
            "(Time = each step) of the OneMap catalogue, in each dataset's default colours.")


class OwsError(Exception):
    """A WMTS request problem, answered as an OWS ExceptionReport with ``status``."""

    def __init__(self, status: int, code: str, text: str, locator: str | None = None) -> None:
        super().__init__(text)
        self.status, self.code, self.text, self.locator = status, code, text, locator

    def response(self) -> Response:
        return Response(exception_report(self.code, self.text, self.locator), self.status,
                        media_type=XML)


def template(public_url: str, source: Source) -> str:
    """The RESTful tile template of a layer: ``{Time}`` after the style when it has times."""
    time = "{Time}/" if source.times else ""
    return (f"{public_url}/wmts/1.0.0/{source.id}/default/{time}"
            "{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png")


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OwsError(400, "InvalidParameterValue", f"{name}: {value!r} is not an integer",
                       name.lower()) from None


def _tile_args(tms_id: str, matrix: str, row: str, col: str
               ) -> tuple[morecantile.TileMatrixSet, int, int, int]:
    """The tile matrix set and z/x/y of a request, or a 400 naming what is wrong."""
    if tms_id not in morecantile.tms.list():
        raise OwsError(400, "InvalidParameterValue",
                       f"TileMatrixSet: unknown {tms_id!r}; use one of {', '.join(SETS)}",
                       "tilematrixset")
    tms = morecantile.tms.get(tms_id)
    z = _int(matrix.rpartition(":")[2], "TileMatrix")  # "WebMercatorQuad:5" is seen too
    top = min(MAX_ZOOM, tms.maxzoom)
    if not 0 <= z <= top:
        raise OwsError(400, "InvalidParameterValue",
                       f"TileMatrix: {matrix!r} is not one of 0…{top} of {tms_id}", "tilematrix")
    y, x = _int(row, "TileRow"), _int(col, "TileCol")
    m = tms.matrix(z)
    for name, value, size in (("TileRow", y, m.matrixHeight), ("TileCol", x, m.matrixWidth)):
        if not 0 <= value < size:
            raise OwsError(400, "TileOutOfRange", f"{name} {value} is outside 0…{size - 1} of "
                           f"TileMatrix {z} of {tms_id}", name.lower())
    return tms, z, x, y


def _source(cat: Catalogue, request: Request, layer: str) -> Source:
    candidates = named(cat.entries().values(), layer)
    found = sources(policy.visible(principal_of(request), candidates, cat.settings)).get(layer)
    if found is None:  # unknown or hidden: the same answer
        raise OwsError(404, "InvalidParameterValue", f"unknown layer {layer!r}", "layer")
    return found


def tile(cat: Catalogue, request: Request, layer: str, style: str | None, time: str | None,
         tms_id: str, matrix: str, row: str, col: str) -> Response:
    """One PNG tile of a layer at a time (None or ``{Time}``: the layer's default)."""
    if (style or "default").lower() != "default":
        raise OwsError(400, "InvalidParameterValue",
                       f"Style: {style!r} — the layers have one style, 'default'", "style")
    source = _source(cat, request, layer)
    tms, z, x, y = _tile_args(tms_id, matrix, row, col)
    try:
        entry, sel = pick(source, time)
    except ApiError as exc:
        raise OwsError(400, exc.code, exc.detail, "time") from None
    try:
        png = render(cat, principal_of(request), entry, sel, tms, z, x, y)
    except (DatasetNotFound, Hidden):  # removed or hidden since the listing: as unknown
        raise OwsError(404, "InvalidParameterValue", f"unknown layer {layer!r}",
                       "layer") from None
    return Response(png, media_type="image/png")


def defaults_at(request: Request, found: list[Source]) -> dict[str, str]:
    """``?time=`` of a capabilities request: the Default of each layer that has that step.

    Clients that cannot choose a dimension value — GDAL 3.6 fills ``{Time}`` with the
    Default, QGIS 3.22 with nothing — read any step from a document asked for at that time.
    """
    time = next((v for k, v in request.query_params.items() if k.lower() == "time"), None)
    if time is None or time.strip().lower() in NO_TIME:
        return {}
    try:
        chosen = {s.id: t for s in found if s.times and (t := step(s, time))}
    except ApiError as exc:
        raise OwsError(400, exc.code, exc.detail, "time") from None
    if not chosen:
        raise OwsError(400, "InvalidParameterValue",
                       f"time: no layer has a step at {time}", "time")
    return chosen


def _document(request: Request, base: str, found: list[Source], title: str,
              tms_ids: tuple[str, ...], abstract: str = "") -> Response:
    defaults = defaults_at(request, found)
    layers = [layer_doc(s, base, template(base, s), defaults.get(s.id)) for s in found]
    return Response(document(title, layers, tms_ids, base, abstract), media_type=XML)


def capabilities(cat: Catalogue, request: Request) -> Response:
    """The service-wide document: every layer the caller may see, in both tile matrix sets."""
    found = sources(cat.visible(principal_of(request), ("raster", "cube")))
    return _document(request, cat.settings.public_url, list(found.values()), TITLE, SETS,
                     ABSTRACT)


def kvp(cat: Catalogue, request: Request) -> Response:
    """``SERVICE=WMTS&REQUEST=GetCapabilities|GetTile`` with keys in any case. QGIS asks any
    URL without ``WMTSCapabilities.xml`` for ``SERVICE=WMS&REQUEST=GetCapabilities`` and
    reads a WMTS document in answer: that request gets the WMTS capabilities too."""
    q = {k.lower(): v for k, v in request.query_params.items()}
    service = q.get("service", "WMTS").upper()
    operation = q.get("request", "")
    if not operation:
        raise OwsError(400, "MissingParameterValue",
                       "REQUEST is missing: GetCapabilities or GetTile", "request")
    if operation.lower() == "getcapabilities" and service in ("WMTS", "WMS"):
        return capabilities(cat, request)
    if service != "WMTS":
        raise OwsError(400, "InvalidParameterValue", f"SERVICE: {service!r} — this is WMTS",
                       "service")
    if operation.lower() != "gettile":
        raise OwsError(400, "OperationNotSupported",
                       f"REQUEST: {operation!r} — use GetCapabilities or GetTile", "request")
    if q.get("version", "1.0.0") != "1.0.0":
        raise OwsError(400, "InvalidParameterValue",
                       f"VERSION: {q['version']!r} — this service is WMTS 1.0.0", "version")
    missing = [k.upper() for k in ("layer", "tilematrixset", "tilematrix", "tilerow",
                                   "tilecol") if not q.get(k)]
    if missing:
        raise OwsError(400, "MissingParameterValue", f"missing {', '.join(missing)}",
                       missing[0].lower())
    if q.get("format", "image/png").lower() != "image/png":
        raise OwsError(400, "InvalidParameterValue",
                       f"FORMAT: {q['format']!r} — tiles are image/png", "format")
    return tile(cat, request, q["layer"], q.get("style"), q.get("time"), q["tilematrixset"],
                q["tilematrix"], q["tilerow"], q["tilecol"])


def answered(call) -> Response:  # noqa: ANN001
    try:
        return call()
    except OwsError as exc:
        return exc.response()


def wmts_api_router(cat: Catalogue) -> APIRouter:
    """``/wmts`` (KVP), ``/wmts/1.0.0/…`` (RESTful), ``/cube/{id}/{tms}/WMTSCapabilities.xml``."""
    router = APIRouter(tags=["wmts"])
    xml = {200: {"content": {XML: {}}}, 400: {"content": {XML: {}}},
           404: {"content": {XML: {}}}}
    png = {200: {"content": {"image/png": {}}}, 400: {"content": {XML: {}}},
           404: {"content": {XML: {}}}}

    @router.get("/wmts", response_class=Response, responses=xml)
    def wmts_kvp(request: Request) -> Response:
        """WMTS KVP: ``SERVICE=WMTS&REQUEST=GetCapabilities`` or ``REQUEST=GetTile&LAYER=…&
        TILEMATRIXSET=…&TILEMATRIX=…&TILEROW=…&TILECOL=…[&TIME=…]`` (keys in any case)."""
        return answered(lambda: kvp(cat, request))

    @router.get("/wmts/1.0.0/WMTSCapabilities.xml", response_class=Response, responses=xml)
    def wmts_capabilities(request: Request) -> Response:
        """Every raster, raster series and cube the caller may see, as WMTS layers
        (``?time=``: the Default of the layers that have that step)."""
        return answered(lambda: capabilities(cat, request))

    @router.get("/wmts/1.0.0/{layer}/{style}/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}.png",
                response_class=Response, responses=png)
    def wmts_tile(request: Request, layer: str, style: str, tms_id: str, tile_matrix: str,
                  tile_row: str, tile_col: str) -> Response:
        """A tile of a layer at its default time."""
        return answered(lambda: tile(cat, request, layer, style, None, tms_id, tile_matrix,
                                     tile_row, tile_col))

    @router.get("/wmts/1.0.0/{layer}/{style}/{time}/{tms_id}/{tile_matrix}/{tile_row}/"
                "{tile_col}.png", response_class=Response, responses=png)
    def wmts_time_tile(request: Request, layer: str, style: str, time: str, tms_id: str,
                       tile_matrix: str, tile_row: str, tile_col: str) -> Response:
        """A tile of a layer at ``time`` (one of its Time values; ``{Time}``: the default)."""
        return answered(lambda: tile(cat, request, layer, style, time, tms_id, tile_matrix,
                                     tile_row, tile_col))

    @router.api_route("/wmts/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def wmts_unknown(rest: str) -> Response:
        return OwsError(404, "InvalidParameterValue", f"no WMTS resource /wmts/{rest}; the "
                        "capabilities are at /wmts/1.0.0/WMTSCapabilities.xml").response()

    @router.get("/cube/{dataset_id}/{tms_id}/WMTSCapabilities.xml", response_class=Response,
                responses={200: {"content": {XML: {}}}, 400: {"content": {XML: {}}}},
                tags=["cube"])
    def cube_wmts(dataset_id: Annotated[str, Path(description="Catalogue id of a data cube")],
                  tms_id: str, request: Request) -> Response:
        """WMTS capabilities of one cube: its layer with the Time dimension of its steps
        (``?time=``: that step as the Default)."""
        entry, _ = cube_entry(cat, dataset_id, principal_of(request))
        if tms_id not in morecantile.tms.list():
            raise DatasetNotFound(tms_id)
        source = Source(entry.id, "cube", (entry,), tuple(entry.extra["times"]))
        return answered(lambda: _document(request, cat.settings.public_url, [source],
                                          entry.title, (tms_id,)))

    return router
