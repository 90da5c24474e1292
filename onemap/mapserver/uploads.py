"""``POST /api/rasters`` (upload), ``/api/jobs/{id}`` (conversion status) and raster removal.

An upload is streamed chunk by chunk into ``settings.upload_dir`` — a 2 GB scene never sits in
memory — and checked at once (is it a raster, georeferenced, within limits, does the requested
expression fit its bands) so the person uploading gets the reason in words within seconds. The
slow part, conversion to a COG, runs as a background job the client polls; the staged upload is
deleted whatever happens, and the catalogue only learns of the raster when its COG is in place.
A client name for the file is only ever used to suggest an id, never as a path.

Writes need their role (``analyst``, by :func:`onemap.access.policy.require`), checked before a
byte of the body is read; replacing or removing a raster the caller cannot see is a 404, as if
it did not exist. An upload records who made it (the entry's ``extra.owner`` and the job's
owner); a job is seen and cancelled by its owner and admins only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from onemap import catalog
from onemap.access import policy
from onemap.access.principal import Principal
from onemap.config import Settings
from onemap.mapserver.auth import principal_of
from onemap.mapserver.jobs import Job, JobRegistry, upload_doc
from onemap.mapserver.listing import raster_summary
from onemap.mapserver.rasters import Catalogue
from onemap.mapserver.staging import Staged, UploadError, error_response, receive
from onemap.raster.ingest import (
    RasterTooLarge,
    add_raster,
    check_rendering,
    suggest_id,
)
from onemap.raster.validate import UnsupportedRasterFormat, check_source, known_colormap

#: Form fields an upload may carry besides the file (anything else is refused by name).
FIELDS = ("id", "title", "title_en", "date", "collection", "colormap", "rescale", "expression",
          "bands", "bidx", "access", "web_optimized", "overwrite", "filename", "wait")


def _floats(text: str, name: str, n: int | None = None) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UploadError(400, "InvalidParameter", f"{name} must be numbers separated by ','; "
                          f"got {text!r}") from None
    if n is not None and len(values) != n:
        raise UploadError(400, "InvalidParameter", f"{name} needs {n} numbers; got {text!r}")
    return values


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


def upload_options(fields: dict[str, str], filename: str,
                   entries: dict[str, catalog.Entry], principal: Principal,
                   settings: Settings) -> dict[str, Any]:
    """``add_raster`` keyword arguments from the form fields; UploadError names a bad one.
    An id taken by a dataset ``principal`` may not see raises Hidden (a 404) whatever else
    the form says: the caller learns no more of it than of an unknown id."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise UploadError(400, "InvalidParameter", f"unknown field(s): {', '.join(unknown)}; "
                          f"accepted: file, {', '.join(FIELDS)}")
    f = {k: v for k, v in fields.items() if v != ""}
    dataset_id = f.get("id") or suggest_id(filename or "upload.tif", f.get("date"))
    opts: dict[str, Any] = {"dataset_id": dataset_id,
                            "title": f.get("title") or Path(filename or dataset_id).stem,
                            "title_en": f.get("title_en", ""), "date": f.get("date"),
                            "collection": f.get("collection"), "colormap": f.get("colormap"),
                            "expression": f.get("expression"),
                            "access": f.get("access", "public"),
                            "web_optimized": _flag(f.get("web_optimized"))}
    try:
        catalog.check_id(dataset_id)
        if opts["collection"]:
            catalog.check_id(opts["collection"])
    except ValueError as exc:
        raise UploadError(400, "InvalidParameter", str(exc)) from None
    if dataset_id in entries:
        policy.require(principal, "upload_raster", settings, entries[dataset_id])
    opts["owner"] = principal.user
    if dataset_id in entries and not _flag(f.get("overwrite")):
        raise UploadError(409, "AlreadyExists", f"a dataset with id {dataset_id!r} already "
                          "exists; choose another id or send overwrite=true")
    if dataset_id in entries and entries[dataset_id].kind != "raster":
        raise UploadError(409, "AlreadyExists", f"{dataset_id!r} is a {entries[dataset_id].kind}"
                          " dataset and cannot be replaced by a raster")
    if opts["access"] not in ("public", "internal"):
        raise UploadError(400, "InvalidParameter", "access must be 'public' or 'internal'")
    if opts["colormap"] and not known_colormap(opts["colormap"]):
        raise UploadError(400, "InvalidParameter", f"unknown colormap {opts['colormap']!r}; "
                          "see /api/legends")
    if f.get("rescale"):
        lo, hi = _floats(f["rescale"], "rescale", 2)
        if not lo < hi:
            raise UploadError(400, "InvalidParameter", "rescale must be min,max with min < max")
        opts["rescale"] = [lo, hi]
    if f.get("bands"):
        opts["bands"] = [b.strip() for b in f["bands"].split(",")]
    if f.get("bidx"):
        opts["bidx"] = [int(v) for v in _floats(f["bidx"], "bidx")]
    return opts


def _words(exc: Exception, path: Path) -> str:
    """An ingestion message about the staged file, without the server's paths in it."""
    return str(exc).replace(str(path), "the uploaded file").replace(path.name, "the uploaded file")


def precheck(path: Path, opts: dict[str, Any], settings: Settings) -> None:
    """The fast checks, so a bad file is refused before anything is queued."""
    try:
        info = check_source(path, settings)
    except UnsupportedRasterFormat as exc:
        raise UploadError(415, "UnsupportedFormat", _words(exc, path)) from None
    except RasterTooLarge as exc:
        raise UploadError(413, "RasterTooLarge", _words(exc, path)) from None
    except ValueError as exc:
        raise UploadError(422, "InvalidRaster", _words(exc, path)) from None
    try:
        check_rendering(info["count"], expression=opts.get("expression"), bidx=opts.get("bidx"))
        if opts.get("bands") and len(opts["bands"]) != info["count"]:
            raise ValueError(f"{len(opts['bands'])} band names given but the raster has "
                             f"{info['count']} band(s)")
    except ValueError as exc:
        raise UploadError(400, "InvalidParameter", str(exc)) from None


def upload_router(cat: Catalogue) -> APIRouter:
    """Upload, job status and removal routes on one registry of background jobs."""
    settings = cat.settings
    jobs = JobRegistry(settings)
    router = APIRouter(tags=["uploads"])

    def convert(staged: Staged, opts: dict[str, Any], job: Job | None = None) -> catalog.Entry:
        return add_raster(staged.path, settings=settings,
                          check=job.check if job is not None else None, **opts)

    @router.post("/api/rasters", status_code=202, summary="Upload a GeoTIFF")
    async def upload(request: Request) -> Response:
        """Multipart (field ``file``) or raw GeoTIFF body; 202 + job URL, or 201 with
        ``wait=true``. Fields: id, title, title_en, date, collection, colormap, rescale,
        expression, bands, bidx, access, web_optimized, overwrite."""
        who = principal_of(request)
        # before a byte of the body is read: 401 for nobody, 403 without the role
        policy.require(who, "upload_raster", settings)
        try:
            staged = await receive(request, settings)
        except ClientDisconnect:
            return Response(status_code=400)
        except UploadError as exc:
            return error_response(exc)
        fields = {**dict(request.query_params), **staged.fields}
        wait = _flag(fields.get("wait"))
        try:
            opts = upload_options(fields, staged.filename, cat.entries(), who, settings)
            await run_in_threadpool(precheck, staged.path, opts, settings)
        except UploadError as exc:
            staged.discard()
            return error_response(exc)
        except policy.Hidden:
            staged.discard()
            raise
        if wait:
            try:
                entry = await run_in_threadpool(convert, staged, opts)
            except ValueError as exc:
                return error_response(UploadError(422, "InvalidRaster",
                                                   _words(exc, staged.path)))
            finally:
                staged.discard()
            return JSONResponse(raster_summary(entry, settings), status_code=201)
        def work(job: Job) -> str:
            try:
                return f"added raster {convert(staged, opts, job).id!r}"
            except ValueError as exc:
                raise ValueError(_words(exc, staged.path)) from None

        job = jobs.submit(opts["dataset_id"], work, cleanup=staged.discard, owner=who)
        return JSONResponse(upload_doc(job, settings.public_url), status_code=202,
                            headers={"Location": f"{settings.public_url}/api/jobs/{job['id']}"})

    @router.get("/api/jobs/{job_id}", summary="Status of an upload's conversion")
    def job_status(job_id: str, request: Request) -> JSONResponse:
        """The job of the caller (or, for an admin, of anyone); 404 for anyone else's."""
        job = jobs.get(job_id, principal_of(request))
        if job is None:
            return JSONResponse({"code": "NotFound", "detail": f"no job {job_id!r}"}, 404)
        return JSONResponse(upload_doc(job, settings.public_url))

    @router.delete("/api/jobs/{job_id}", summary="Cancel a conversion")
    def job_cancel(job_id: str, request: Request) -> JSONResponse:
        """Cancel the caller's own job (an admin: anyone's); 404 for anyone else's."""
        job = jobs.dismiss(job_id, principal_of(request))
        if job is None:
            return JSONResponse({"code": "NotFound", "detail": f"no job {job_id!r}"}, 404)
        return JSONResponse(upload_doc(job, settings.public_url))

    @router.delete("/api/rasters/{dataset_id}", status_code=204, summary="Remove a raster")
    def remove(dataset_id: str, request: Request) -> Response:
        """404 for an unknown or hidden raster, then 401/403 without the analyst role."""
        who = principal_of(request)
        entry = cat.entries().get(dataset_id)
        if entry is None or entry.kind not in ("raster", "cube") \
                or policy.limits(who, entry, settings) is None:  # hidden: as unknown
            return JSONResponse({"code": "NotFound",
                                 "detail": f"unknown raster {dataset_id!r}"}, 404)
        policy.require(who, "remove_raster", settings, entry)
        catalog.discard(dataset_id, settings)
        return Response(status_code=204)

    return router
