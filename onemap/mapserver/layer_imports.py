"""``POST /api/layers`` (import), ``PUT /api/layers/{id}`` (replace) and ``DELETE`` (remove):
the data manager's writes of vector layers and attribute tables, over HTTP.

The same import as ``onemap import`` (:func:`onemap.layers.importer.import_file`: read by
content, normalised, validated whole, written to a temporary file and renamed, catalogued last)
so a file refused by one is refused by the other with the same words; the answer to a refused
file is a 422 listing every problem (file, row, field) so a clerk fixes them in one go.

Who may: ``policy.require(…, "import_layer" | "remove_layer")`` — the ``data_manager`` role,
checked before a byte of the body is read. A layer belongs to the office that made it (its
entry's ``region``, 谁生产、谁负责): a data manager bound to a county imports new layers for
that county only, and replaces or removes only layers owned within it; a layer they cannot
see answers 404, as an unknown id. Every call is in the audit trail
(:mod:`onemap.mapserver.auditing` names these routes).

The client's file name is used only for its extension and in messages: the file is staged
under a name and folder the server makes (:mod:`onemap.mapserver.staging`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from onemap import catalog
from onemap.access import policy, regions
from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.errors import LayerImportError
from onemap.layers.families import FAMILIES
from onemap.layers.importer import import_file
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import error_responses
from onemap.mapserver.listing import dataset_doc
from onemap.mapserver.rasters import Catalogue
from onemap.mapserver.staging import UploadError, error_response, receive
from onemap.store import follow_catalogue

#: Form fields an import may carry besides the file.
FIELDS = ("family", "id", "title", "title_en", "access", "region", "crs", "layer", "encoding",
          "overwrite")
#: What an HTTP import reads, by extension (a bare ``.shp`` has its sidecars elsewhere: a
#: Shapefile comes zipped).
SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".csv")
KINDS = ("vector", "table")
_UNSAFE = re.compile(r"[^\w.-]+")


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


def staged_name(filename: str) -> str:
    """The name the staged file gets: the client's base name reduced to safe characters (it
    shows in the problems' messages, as the user knows the file), with its extension checked.
    """
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    suffix = Path(base).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError(415, "UnsupportedFormat", f"cannot import {base or '(no name)'!r}: "
                          "send GeoJSON (.geojson, .json), a GeoPackage (.gpkg), a zipped "
                          "Shapefile (.zip) or a CSV file (.csv)")
    stem = _UNSAFE.sub("_", Path(base).stem).strip("._")[:80] or "upload"
    return stem + suffix


def import_options(fields: dict[str, str], existing: Entry | None, layer_id: str,
                   principal: Principal, settings: Settings) -> dict[str, Any]:
    """``import_file`` keyword arguments from the form; UploadError names a bad field, the
    policy's exceptions say who may not (Hidden 404, Forbidden 403)."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise UploadError(400, "InvalidParameter", f"unknown field(s): {', '.join(unknown)}; "
                          f"accepted: file, {', '.join(FIELDS)}")
    f = {k: v for k, v in fields.items() if v != ""}
    if existing is not None:
        policy.require(principal, "import_layer", settings, existing)
        if existing.kind not in KINDS:
            raise UploadError(409, "AlreadyExists", f"{layer_id!r} is a {existing.kind} "
                              "dataset and cannot be replaced by a layer")
        if existing.live:
            raise UploadError(409, "LiveDataset", str(catalog.LiveDataset(layer_id)))
        if not _flag(f.get("overwrite")):
            raise UploadError(409, "AlreadyExists", f"a layer with id {layer_id!r} already "
                              "exists; choose another id, send overwrite=true, or PUT "
                              f"/api/layers/{layer_id}")
    family = f.get("family") or (existing.family if existing is not None else "")
    if family not in FAMILIES:
        raise UploadError(400, "InvalidParameter", f"family {family!r} is not one OneMap "
                          f"knows; send one of: {', '.join(FAMILIES)}" if family else
                          f"the field 'family' is required: one of {', '.join(FAMILIES)}")
    if existing is not None and family != existing.family:
        raise UploadError(409, "FamilyMismatch", f"layer {layer_id!r} holds {existing.family}; "
                          f"import {family} under another id (or remove {layer_id!r} first)")
    access = f.get("access") or (existing.access if existing is not None else "public")
    if access not in ("public", "internal"):
        raise UploadError(400, "InvalidParameter", "access must be 'public' or 'internal'")
    region = f.get("region")
    if region is None:  # kept on replace; a county's manager makes the county's layers
        region = existing.region if existing is not None else (principal.region or "")
    elif region:
        try:
            regions.check_code(region)
        except regions.UnknownRegion as exc:
            raise UploadError(400, "InvalidParameter", str(exc)) from None
        if region not in regions.known(settings):
            raise UploadError(400, "InvalidParameter", f"region {region!r} is not in the "
                              "admin boundaries")
    if not policy.owns_region(principal, region):
        raise policy.Forbidden(f"a layer owned by {region or 'the whole territory'} cannot be "
                               f"made by a data manager of region {principal.region}")
    return {"family": family, "layer_id": layer_id, "title": f.get("title"),
            "title_en": f.get("title_en"), "access": access, "region": region,
            "crs": f.get("crs"), "layer": f.get("layer"), "encoding": f.get("encoding")}


def _problems(exc: LayerImportError) -> JSONResponse:
    return JSONResponse({"code": "InvalidData", "detail": str(exc), "total": exc.total,
                         "problems": [{"row": p.row, "field": p.field, "message": p.message,
                                       "unit": p.unit} for p in exc.problems]}, 422)


def layer_router(cat: Catalogue) -> APIRouter:
    """Import, replace and remove routes over the server's catalogue."""
    settings = cat.settings
    router = APIRouter(tags=["layers"])

    async def take(request: Request, layer_id: str | None, replacing: bool) -> Response:
        who = principal_of(request)
        policy.require(who, "import_layer", settings)  # before the body: 401 / 403
        existing = cat.entries().get(layer_id) if layer_id else None
        if replacing and (existing is None or existing.kind not in KINDS
                          or policy.limits(who, existing, settings) is None):
            return JSONResponse({"code": "NotFound", "detail": f"unknown layer {layer_id!r}"},
                                404)
        try:
            staged = await receive(request, settings, raw=False, what="the layer's file")
        except ClientDisconnect:
            return Response(status_code=400)
        except UploadError as exc:
            return error_response(exc)
        folder = Path(tempfile.mkdtemp(prefix=".upload-layer-", dir=settings.upload_dir))
        try:
            fields = {**dict(request.query_params), **staged.fields}
            if replacing:
                fields["overwrite"] = "true"
            else:
                fields.setdefault("id", "")
                layer_id = fields.pop("id") or fields.get("family") or ""
                try:
                    catalog.check_id(layer_id)
                except ValueError as exc:
                    raise UploadError(400, "InvalidParameter", str(exc)) from None
                existing = cat.entries().get(layer_id)
            request.state.audit = {"target": str(layer_id)}
            opts = import_options(fields, existing, str(layer_id), who, settings)
            path = folder / staged_name(staged.filename)
            staged.path.replace(path)
            family = opts.pop("family")
            entry = await run_in_threadpool(import_file, path, family, settings=settings,
                                            **opts)
        except UploadError as exc:
            return error_response(exc)
        except LayerImportError as exc:
            return _problems(exc)
        finally:
            staged.discard()
            shutil.rmtree(folder, ignore_errors=True)
        request.state.audit["detail"] = {"family": entry.family, "features": entry.feature_count,
                                         "replaced": existing is not None,
                                         "access": entry.access, "region": entry.region}
        doc = dataset_doc(entry, settings, who)
        return JSONResponse(doc, status_code=200 if existing is not None else 201,
                            headers={"Location": f"{settings.public_url}/api/layers/{entry.id}"})

    @router.post("/api/layers", status_code=201, summary="Import a vector layer or table",
                 responses=error_responses(409, 413, 415, 422))
    async def import_layer(request: Request) -> Response:
        """Multipart form: ``file`` (GeoJSON, GeoPackage, zipped Shapefile or CSV) and
        ``family`` (required), ``id`` (default: the family name), title, title_en, access
        (public/internal), region (owning office's adcode), crs (of a file stating none),
        layer (in a GeoPackage or zip), encoding (of a CSV or Shapefile), overwrite. 201 with
        the layer as /api/catalog lists it; 200 when it replaced one; 422 lists the problems."""
        return await take(request, None, replacing=False)

    @router.put("/api/layers/{layer_id}", summary="Replace a layer's features",
                responses=error_responses(409, 413, 415, 422))
    async def replace_layer(layer_id: str, request: Request) -> Response:
        """As ``POST /api/layers`` for an existing layer (its family, access and region kept
        unless sent): all of it or nothing is replaced."""
        return await take(request, layer_id, replacing=True)

    @router.delete("/api/layers/{layer_id}", status_code=204, summary="Remove a layer",
                   responses=error_responses(409))
    def remove_layer(layer_id: str, request: Request) -> Response:
        """404 for an unknown or hidden layer, then 401/403 without the role or region."""
        who = principal_of(request)
        entry = cat.entries().get(layer_id)
        if entry is None or entry.kind not in KINDS \
                or policy.limits(who, entry, settings) is None:
            return JSONResponse({"code": "NotFound", "detail": f"unknown layer {layer_id!r}"},
                                404)
        policy.require(who, "remove_layer", settings, entry)
        try:
            catalog.discard(layer_id, settings)
        except catalog.LiveDataset as exc:
            return JSONResponse({"code": "LiveDataset", "detail": str(exc)}, 409)
        follow_catalogue(settings)  # its PostGIS table too
        return Response(status_code=204)

    return router
