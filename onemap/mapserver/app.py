"""The map server: OGC API Features (pygeoapi) at ``/ogc``, raster tiles at ``/raster/{id}``,
catalogue listings at ``/api``, in one FastAPI app.

One process and one port serve everything so QGIS, GDAL and the web app all reach the same
catalogue through the same public URL. Errors are JSON with a status code chosen by exception
type, so clients can tell "no such dataset" (404) from "bad request" (400).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from titiler.core.errors import DEFAULT_STATUS_CODES

from onemap import catalog
from onemap.access import sessions
from onemap.access.bootstrap import first_admin
from onemap.access.policy import Forbidden, Hidden, Unauthenticated
from onemap.config import Settings
from onemap.mapserver.attachments import attachment_router
from onemap.mapserver.audit_api import audit_router
from onemap.mapserver.auth_api import include_account_routes
from onemap.mapserver.caching import HttpCache
from onemap.mapserver.clusters import cluster_router
from onemap.mapserver.compression import GZip
from onemap.mapserver.cubes import cube_router
from onemap.mapserver.edge import NonceScripts, policies
from onemap.mapserver.errors import document_errors, internal_error
from onemap.mapserver.exports import export_router
from onemap.mapserver.feeds_api import feed_router
from onemap.mapserver.freshness import FollowCatalogue
from onemap.mapserver.jobs import stop_jobs
from onemap.mapserver.layer_imports import layer_router
from onemap.mapserver.legends import legend_router
from onemap.mapserver.listing import api_router
from onemap.mapserver.live_api import live_router
from onemap.mapserver.offline import docs_page, mount_vendor
from onemap.mapserver.ogc import OGC_PREFIX, load_pygeoapi
from onemap.mapserver.ogc_access import carry_principal
from onemap.mapserver.oidc_api import oidc_router
from onemap.mapserver.processing.gate import ProcessGate
from onemap.mapserver.rasters import (
    RASTER_PREFIX,
    Catalogue,
    DatasetNotFound,
    raster_factory,
    register_raster_errors,
    wmts_router,
)
from onemap.mapserver.reports import report_router
from onemap.mapserver.stac import stac_router
from onemap.mapserver.uploads import upload_router
from onemap.mapserver.vtiles import vector_tile_router
from onemap.mapserver.wms import Mapfiles, wms_router
from onemap.mapserver.wms_pool import Pool
from onemap.mapserver.wmts_api import wmts_api_router
from onemap.mapserver.zonal import zonal_router
from onemap.recovery import reap_jobs, recover, sweep_processes
from onemap.store import follow_catalogue

LOGGER = logging.getLogger(__name__)

#: Typed exceptions → HTTP status; anything unexpected stays a 500 with a JSON body.
STATUS_CODES: dict[type[Exception], int] = {
    **{k: v for k, v in DEFAULT_STATUS_CODES.items() if k is not Exception},
    DatasetNotFound: 404,
    catalog.UnknownDataset: 404,
    PermissionError: 403,
}


def _typed_error(status: int):
    """``{"code": <exception type>, "detail": <message>}`` with ``status`` (titiler's own
    handlers answer ``{"detail"}`` only); a 5xx names no internals."""
    def handler(request: Request, exc: Exception) -> JSONResponse:
        if status >= 500:
            LOGGER.error("%s on %s", type(exc).__name__, request.url.path, exc_info=exc)
            return internal_error(request, exc)
        return JSONResponse({"code": type(exc).__name__, "detail": str(exc)}, status)
    return handler


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "detail": f"unknown dataset {exc.args[0]!r}"
                         if exc.args else "not found"}, status_code=404)


def _unauthenticated(request: Request, exc: Exception) -> JSONResponse:
    """401 with a Basic challenge, so GDAL, QGIS and browsers know to send credentials."""
    return JSONResponse({"code": "Unauthenticated", "detail": str(exc)}, status_code=401,
                        headers={"WWW-Authenticate": 'Basic realm="OneMap", charset="UTF-8"'})


def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "Forbidden", "detail": str(exc)}, status_code=403)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own errors (an unknown static file, a method a route lacks) in the server's
    ``{"code", "detail"}`` form; the code is the status' name ("NotFound")."""
    code = HTTPStatus(exc.status_code).phrase.replace(" ", "").replace("-", "")
    return JSONResponse({"code": code, "detail": exc.detail}, status_code=exc.status_code,
                        headers=exc.headers)


def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's parameter errors as ``{"code", "detail"}`` with the offending parameters named."""
    words = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        words.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    detail = "; ".join(words) or "invalid request"
    return JSONResponse({"code": "InvalidParameter", "detail": detail,
                         "errors": jsonable_encoder(exc.errors())}, status_code=422)


def first_login(settings: Settings) -> None:
    """Create the first admin when there is no user (its generated password is logged once)
    and forget the sessions that timed out."""
    password = first_admin(settings)
    if password:
        LOGGER.warning("created admin account 'admin' with password %s — log in and change "
                       "it (shown this once; set ONEMAP_ADMIN_PASSWORD to choose it)", password)
    elif password == "":
        LOGGER.warning("created admin account 'admin' with the password of "
                       "ONEMAP_ADMIN_PASSWORD")
    sessions.purge(settings)


def prepare(settings: Settings) -> None:
    """What a server does once before it serves, however many workers it has: the data dir
    cleaned of what a killed process left (temporary files, jobs still "running"), the system
    database's tables made, the first admin, sessions that timed out while it was down."""
    settings.runtime_dir.mkdir(parents=True, exist_ok=True)
    recover(settings)
    first_login(settings)
    # PostGIS (if configured) loads what it lacks while the server answers from the files
    follow_catalogue(settings, background=True)


def create_app(settings: Settings, *, prepared: bool = False) -> FastAPI:
    """The map server for ``settings``; call once per process (pygeoapi config is global).
    ``prepared``: :func:`prepare` already ran in the parent of several workers; a worker then
    only fails the jobs of workers that died (one restarted by uvicorn finds them) and drops
    dead processes' generated files."""
    if prepared:
        reap_jobs(settings)
        sweep_processes(settings)
    else:
        prepare(settings)

    wms_pool = Pool(settings.wms_workers, settings.wms_timeout)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # pygeoapi serves each request in the loop's default executor: make it one that
        # carries the request's principal into the thread (asyncio's own does not)
        carry_principal()
        await wms_pool.start()  # MapServer's worker processes, stopped with the server
        warm = asyncio.create_task(wms_maps.warm())  # mapfiles ready before the first request
        yield
        warm.cancel()
        await wms_pool.stop()
        # SIGTERM: queued jobs failed, running ones stop and say why
        await run_in_threadpool(stop_jobs, settings)

    app = FastAPI(lifespan=lifespan, title="OneMap 生态环境一张图 map server",
                  description="OGC API Features at /ogc, raster tiles at /raster/{dataset_id}",
                  docs_url=None, openapi_url="/api/openapi.json", redoc_url=None)
    cat = Catalogue(settings)
    app.state.settings = settings
    app.state.catalogue = cat

    for exc_type, status in STATUS_CODES.items():  # titiler's typed errors, in our JSON form
        app.add_exception_handler(exc_type, _typed_error(status))
    app.add_exception_handler(Exception, internal_error)  # JSON 500, never a text page
    document_errors(app)  # the 400/404/413 {code, detail} answers, in /api/openapi.json
    app.add_exception_handler(DatasetNotFound, _not_found)
    app.add_exception_handler(catalog.UnknownDataset, _not_found)
    app.add_exception_handler(Hidden, _not_found)  # hidden means absent: as an unknown id
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    register_raster_errors(app)  # {"code", "detail"} for band-math and bad-request errors

    include_account_routes(app, settings)  # /api/auth (login, me, own keys), /api/admin
    app.include_router(oidc_router(settings))  # /api/auth/oidc (single sign-on)
    app.include_router(upload_router(cat))  # POST/DELETE /api/rasters, /api/jobs
    app.include_router(layer_router(cat))  # POST/PUT/DELETE /api/layers (data managers)
    app.include_router(attachment_router(cat))  # /api/attachments (features' photos)
    app.include_router(live_router(cat))  # /api/alarms (push, acknowledge, close), summary
    app.include_router(feed_router(cat))  # POST /api/feeds/{table} (rows into time series)
    app.include_router(api_router(cat))  # GET /api/catalog, /api/rasters
    app.include_router(legend_router(cat))  # /api/legends
    app.include_router(audit_router(settings))  # /api/admin/audit (admins only)
    app.include_router(cluster_router(cat))  # /api/clusters/{layer_id} (big layers' summary)
    app.include_router(report_router(settings))  # /api/reports/{id}.html|.geojson (processes)
    app.include_router(export_router(settings))  # /api/exports/map.html (the view, offline)
    app.include_router(stac_router(cat))  # /stac
    app.include_router(wmts_router(cat))
    app.include_router(wmts_api_router(cat))  # /wmts (KVP, RESTful), cubes' WMTS documents
    app.include_router(zonal_router(cat))  # /raster/{id}/zonal/{layer_id}
    app.include_router(cube_router(cat))  # /cube/{id}/… (zarr time series, titiler.xarray)
    wms_maps = Mapfiles(cat)
    app.include_router(wms_router(cat, wms_pool, wms_maps))  # /wms, /wfs (MapServer workers)
    # /ogc/collections/{id}/tiles/… (vector tiles): answered here, before the pygeoapi mount
    app.include_router(vector_tile_router(cat))
    tiler = raster_factory(cat)
    app.include_router(tiler.router, prefix=RASTER_PREFIX, tags=["raster"])

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return docs_page(settings, app.openapi_url or "", app.title)

    # Anything else under our prefixes is a JSON 404 here, not a page of the web app at "/".
    @app.api_route("/raster/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    @app.api_route("/cube/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    @app.api_route("/stac/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def not_found(rest: str) -> JSONResponse:
        return JSONResponse({"code": "NotFound", "detail": "no such endpoint"}, status_code=404)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # pygeoapi follows the catalogue; its pages run their own inline scripts under a nonce new
    # in every answer.
    app.mount(OGC_PREFIX, NonceScripts(ProcessGate(FollowCatalogue(cat, load_pygeoapi),
                                                   settings),
                                       policies(settings, [])["nonced"]), name="ogc")
    mount_vendor(app)  # pygeoapi's HTML loads its scripts and styles from here, not CDNs

    # ETags, 304s, Cache-Control and stored tiles, of the plain bodies (inside the gzip); the
    # caller is known by then (edge.harden authenticates outside this app)
    app.add_middleware(HttpCache, cat=cat)
    # level 6 (1 for megabytes), big bodies in a thread: mapserver.compression
    app.add_middleware(GZip)
    # CORS, security headers and the body limit wrap the whole server: see edge.harden.
    return app
