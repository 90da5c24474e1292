"""How every route of the server is guarded: one declarative table, checked by the tests.

Every route template the server answers — our FastAPI routes, pygeoapi's paths under ``/ogc``
and the web app's endpoints — is a key ``"METHOD /template"`` here (HEAD goes with GET; CORS
preflights carry no data). A new route that is not in the table fails
``tests/access/test_routes.py``, which enumerates ``/api/openapi.json``, ``/ogc/openapi``, the
FastAPI app's routes and the Dash server's url map; the test also requests the routes of each
guard for a hidden dataset, process, job or report and expects the answer of an unknown one.

Guards (what decides, always through :mod:`onemap.access.policy`):

- ``public`` — carries no catalogued data: static files, documentation, health, conformance,
  landing pages, colour ramps, and the JSON 404 of unknown paths;
- ``listing`` — a list cut to what the caller may see (``policy.visible``): hidden is absent;
- ``dataset:<param>[,<param>]`` — reads the dataset(s) named by those path parameters with
  ``policy.read``: a hidden one answers 404, as an unknown id;
- ``process`` — a process the caller may not run is absent and 404 (``policy.process_visible``
  through ``onemap.mapserver.processing.gate``);
- ``job`` — a job, or a report a job made, is its owner's and admins' (``policy.job_visible``;
  lists ``policy.job_listed``); anyone else gets 404;
- ``write:<action>`` — needs the action's role (``policy.require``: 401 anonymous, 403
  without the role, 404 for a dataset the caller cannot see): the writes, and the admins'
  own reads (users, keys, rules, the audit);
- ``self`` — the caller's own account (password, API keys): needs a login (401 anonymous),
  and acts on nobody else's;
- ``app`` — the web app's own endpoints (page, layout, callbacks): the app is an HTTP client
  of this server and reaches data only through the guarded routes above.
"""

from __future__ import annotations

import re

GUARDS = ("public", "listing", "dataset", "process", "job", "write", "self", "app")

_TILER = ("/bbox/{minx},{miny},{maxx},{maxy}.{format}",
          "/bbox/{minx},{miny},{maxx},{maxy}/{width}x{height}.{format}", "/info",
          "/info.geojson", "/point/{lon},{lat}", "/tiles", "/tiles/{tileMatrixSetId}",
          "/tiles/{tileMatrixSetId}/{z}/{x}/{y}", "/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}",
          "/{tileMatrixSetId}/tilejson.json")
_TILER_POST = ("/feature", "/feature.{format}", "/feature/{width}x{height}.{format}",
               "/statistics")
_RASTER_ONLY = ("/cog.tif", "/preview", "/preview.{format}",
                "/preview/{width}x{height}.{format}", "/statistics",
                "/{tms_id}/WMTSCapabilities.xml")

ROUTES: dict[str, str] = {
    # -- our API ---------------------------------------------------------------------------
    "GET /api/catalog": "listing",
    "GET /api/versions": "listing",
    "GET /api/attachments/{collectionId}/{featureId}": "dataset:collectionId",
    "GET /api/attachments/{collectionId}/{featureId}/{photoId}.jpg": "dataset:collectionId",
    "POST /api/attachments/{collectionId}/{featureId}": "write:edit_features",
    "GET /api/rasters": "listing",
    "GET /api/rasters/{dataset_id}": "dataset:dataset_id",
    "POST /api/rasters": "write:upload_raster",
    "DELETE /api/rasters/{dataset_id}": "write:remove_raster",
    "POST /api/layers": "write:import_layer",
    "PUT /api/layers/{layer_id}": "write:import_layer",
    "DELETE /api/layers/{layer_id}": "write:remove_layer",
    "POST /api/feeds/{table_id}": "write:feed",
    "GET /api/jobs/{job_id}": "job",
    "DELETE /api/jobs/{job_id}": "job",
    "GET /api/reports/{report_id}.html": "job",
    "GET /api/reports/{report_id}.geojson": "job",
    "GET /api/clusters/{layer_id}": "dataset:layer_id",
    "GET /api/exports/map.html": "listing",
    "GET /api/legends": "public",
    "GET /api/legends/{name}": "public",
    "GET /api/legends/{name}.png": "public",
    "GET /api/admin/audit": "write:audit",
    "GET /api/alarms/events": "listing",
    "POST /api/alarms/{alarm_id}/acknowledge": "write:handle_alarm",
    "POST /api/alarms/{alarm_id}/close": "write:handle_alarm",
    "GET /api/live/summary": "listing",
    # -- identity: logging in is for anyone; one's own account needs a login; the rest admins
    "POST /api/auth/login": "public",
    "POST /api/auth/logout": "public",
    "GET /api/auth/me": "public",
    "GET /api/auth/oidc/login": "public",
    "GET /api/auth/oidc/callback": "public",
    "POST /api/auth/password": "self",
    "GET /api/auth/keys": "self",
    "POST /api/auth/keys": "self",
    "DELETE /api/auth/keys/{key_id}": "self",
    "GET /api/admin/users": "write:admin",
    "POST /api/admin/users": "write:admin",
    "GET /api/admin/users/{name}": "write:admin",
    "PATCH /api/admin/users/{name}": "write:admin",
    "PUT /api/admin/users/{name}/grant": "write:admin",
    "POST /api/admin/users/{name}/keys": "write:admin",
    "GET /api/admin/keys": "write:admin",
    "DELETE /api/admin/keys/{key_id}": "write:admin",
    "GET /api/admin/rules": "write:admin",
    "POST /api/admin/rules": "write:admin",
    "DELETE /api/admin/rules/{rule_id}": "write:admin",
    "GET /api/openapi.json": "public",
    "GET /api/docs": "public",
    "GET /api/{rest:path}": "public",
    "GET /healthz": "public",
    # -- STAC ------------------------------------------------------------------------------
    "GET /stac": "listing",
    "GET /stac/conformance": "public",
    "GET /stac/collections": "listing",
    "GET /stac/collections/{cid}": "dataset:cid",
    "GET /stac/collections/{cid}/items": "dataset:cid",
    "GET /stac/collections/{cid}/items/{item_id}": "dataset:cid,item_id",
    "GET /stac/search": "listing",
    "POST /stac/search": "listing",
    "GET /stac/{rest:path}": "public",
    # -- rasters and cubes (titiler; every id resolved by rasters.Catalogue) ---------------
    **{f"GET /raster/{{dataset_id}}{p}": "dataset:dataset_id" for p in _TILER + _RASTER_ONLY},
    **{f"POST /raster/{{dataset_id}}{p}": "dataset:dataset_id" for p in _TILER_POST},
    "GET /raster/{dataset_id}/zonal/{layer_id}": "dataset:dataset_id,layer_id",
    "GET /raster/{rest:path}": "public",
    **{f"GET /cube/{{dataset_id}}{p}": "dataset:dataset_id" for p in _TILER},
    **{f"POST /cube/{{dataset_id}}{p}": "dataset:dataset_id" for p in _TILER_POST},
    "GET /cube/{dataset_id}/{tms_id}/WMTSCapabilities.xml": "dataset:dataset_id",
    "GET /cube/{rest:path}": "public",
    # -- WMTS for the whole catalogue (onemap.mapserver.wmts_api): the capabilities list what
    # the caller may see; a tile names a layer — a raster, a cube, or a series of rasters —
    # found only among those, and reads its dataset with policy.read: hidden answers as unknown
    "GET /wmts": "listing",
    "GET /wmts/1.0.0/WMTSCapabilities.xml": "listing",
    "GET /wmts/1.0.0/{layer}/{style}/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}.png":
        "dataset:layer",
    "GET /wmts/1.0.0/{layer}/{style}/{time}/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}.png":
        "dataset:layer",
    "GET /wmts/{rest:path}": "public",
    # -- WMS 1.3.0 / WFS 2.0 (MapServer): the map holds only the layers the caller may see
    # (onemap.mapserver.wms.scope); a hidden layer is LayerNotDefined, as an unknown one
    "GET /wms": "listing",
    "GET /wfs": "listing",
    # -- pygeoapi (/ogc) -------------------------------------------------------------------
    "GET /ogc/": "public",
    "GET /ogc/openapi": "public",
    "GET /ogc/conformance": "public",
    "GET /ogc/collections": "listing",
    "GET /ogc/collections/{collectionId}": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/items": "dataset:collectionId",
    # a CQL2 JSON search; with Content-Type application/geo+json a new feature (Part 4), which
    # then also needs edit_features (the provider asks policy.require, onemap.mapserver.
    # provider_edits) — one route template for both
    "POST /ogc/collections/{collectionId}/items": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/items/{featureId}": "dataset:collectionId",
    "PUT /ogc/collections/{collectionId}/items/{featureId}": "write:edit_features",
    "PATCH /ogc/collections/{collectionId}/items/{featureId}": "write:edit_features",
    "DELETE /ogc/collections/{collectionId}/items/{featureId}": "write:edit_features",
    "GET /ogc/collections/{collectionId}/queryables": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/schema": "dataset:collectionId",
    # OGC API EDR on station layers (onemap.mapserver.edr): the stations as the layer's
    # limits cut them, their series only if the series table is readable too
    "GET /ogc/collections/{collectionId}/position": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/area": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/cube": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/locations": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/locations/{locId}": "dataset:collectionId",
    # the data-resource catalogue (OGC API Records, onemap.mapserver.records): its records
    # are the datasets'; one whose datasets are hidden is absent from lists and 404 by id
    "GET /ogc/collections/data-catalog": "public",
    "GET /ogc/collections/data-catalog/items": "listing",
    "GET /ogc/collections/data-catalog/items/{featureId}": "listing",
    "GET /ogc/collections/data-catalog/queryables": "public",
    "GET /ogc/collections/data-catalog/schema": "public",
    "GET /ogc/collections/data-catalog/sortables": "public",
    # vector tiles (onemap.mapserver.vtiles, our routes ahead of the pygeoapi mount)
    "GET /ogc/collections/{collectionId}/tiles": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/tiles/{tileMatrixSetId}": "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json":
        "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/style.json":
        "dataset:collectionId",
    "GET /ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/"
    "{tileCol}": "dataset:collectionId",
    "GET /ogc/processes": "listing",
    "GET /ogc/processes/{processId}": "process",
    "POST /ogc/processes/{processId}/execution": "process",
    "GET /ogc/jobs": "job",
    "GET /ogc/jobs/{jobId}": "job",
    "DELETE /ogc/jobs/{jobId}": "job",
    "GET /ogc/jobs/{jobId}/results": "job",
    # -- static files (no data) ------------------------------------------------------------
    "GET /static/vendor/{name}/{path:path}": "public",
    # -- the web app (Dash on Flask, at "/") -----------------------------------------------
    "GET /": "app",
    "GET /_dash-layout": "app",
    "GET /_dash-dependencies": "app",
    "POST /_dash-update-component": "app",
    "GET /_reload-hash": "app",
    "GET /_favicon.ico": "public",
    "GET /_bundle/{name}": "public",
    "GET /assets/{path:path}": "public",
    "GET /static/{path:path}": "public",
    "GET /_dash-component-suites/{package_name}/{path:path}": "public",
    "GET /{path:path}": "public",
    # -- the web app's admin page (a Dash app of its own on the same Flask, onemap.app.admin):
    # its data comes from /api/admin above, which decides; the page itself holds none
    "GET /admin/": "app",
    "GET /admin/_dash-layout": "app",
    "GET /admin/_dash-dependencies": "app",
    "POST /admin/_dash-update-component": "app",
    "GET /admin/_reload-hash": "app",
    "GET /admin/_favicon.ico": "public",
    "GET /admin/assets/{path:path}": "public",
    "GET /admin/_dash-component-suites/{package_name}/{path:path}": "public",
    "GET /admin/{path:path}": "public",
}

_FLASK_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_]\w*)>")


def flask_template(rule: str) -> str:
    """A Flask rule (``/assets/<path:filename>``) in this table's spelling
    (``/assets/{path:path}``): a ``path`` converter is a ``{path:path}`` whatever its name."""
    def spell(m: re.Match[str]) -> str:
        return "{path:path}" if m.group("conv") == "path" else "{" + m.group("name") + "}"
    return _FLASK_PARAM.sub(spell, rule)


def guard(method: str, template: str) -> str | None:
    """The guard of a route (HEAD as GET), or None when the table does not know it."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    return ROUTES.get(f"{method} {template}")


def dataset_params(guard_text: str) -> list[str]:
    """The path parameters naming datasets in a ``dataset:`` guard."""
    kind, _, params = guard_text.partition(":")
    return [p for p in params.split(",") if p] if kind == "dataset" else []
