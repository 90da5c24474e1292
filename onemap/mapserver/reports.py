"""Saved incident reports: ``GET /api/reports/{report_id}.html`` and ``.geojson``.

The ``incident-assessment`` process writes its offline folium report and its features under
``runtime/reports/<report_id>`` with a generated uuid hex as the id; this router serves them. The
id is matched strictly (32 lowercase hex digits) before it comes near the file system, so no
request can name another file; anything else is a JSON 404.

A report belongs to the owner of the job that made it (and to admins), like the job itself
(:func:`onemap.access.policy.job_visible`): the process writes ``<report_id>.owner`` beside it
first, and anyone else — or a report without that record — gets the same 404 as an unknown id.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from onemap import catalog
from onemap.access import policy
from onemap.config import Settings
from onemap.mapserver.auth import principal_of

REPORT_ID = re.compile(r"^[0-9a-f]{32}$")
MEDIA = {"html": "text/html; charset=utf-8", "geojson": "application/geo+json"}


def report_dir(settings: Settings) -> Path:
    """Where reports are saved (created on first use)."""
    folder = settings.runtime_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_owner(settings: Settings, report_id: str, owner: str) -> Path:
    """Record who owns report ``report_id`` (written before the report; returns the path)."""
    path = report_dir(settings) / f"{report_id}.owner"
    catalog.atomic_write_bytes(path, owner.encode("utf-8"))
    return path


def owner_of(settings: Settings, report_id: str) -> str | None:
    """The owner of a report, or None when it has no owner record (then only admins see it)."""
    try:
        return (report_dir(settings) / f"{report_id}.owner").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _not_found(report_id: str) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "detail": f"no report {report_id!r}"},
                        status_code=404)


def report_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["reports"])

    def serve(request: Request, report_id: str, suffix: str) -> Response:
        if not REPORT_ID.fullmatch(report_id):
            return _not_found(report_id)
        path = report_dir(settings) / f"{report_id}.{suffix}"
        who = principal_of(request)
        owner = owner_of(settings, report_id)
        if not path.is_file() or not (who.has("admin") or owner is not None
                                      and policy.job_visible(who, owner)):
            return _not_found(report_id)
        return FileResponse(path, media_type=MEDIA[suffix])

    @router.get("/api/reports/{report_id}.html", response_class=Response)
    def report_html(report_id: str, request: Request) -> Response:
        """The standalone HTML report (folium map + summary; opens with no network)."""
        return serve(request, report_id, "html")

    @router.get("/api/reports/{report_id}.geojson", response_class=Response)
    def report_geojson(report_id: str, request: Request) -> Response:
        """The report's features as a GeoJSON FeatureCollection (EPSG:4326)."""
        return serve(request, report_id, "geojson")

    return router
