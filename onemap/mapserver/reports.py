"""Saved incident reports: ``GET /api/reports/{report_id}.html`` and ``.geojson``.

The ``incident-assessment`` process writes its offline folium report and its features under
``runtime/reports/<report_id>`` with a generated uuid hex as the id; this router serves them. The
id is matched strictly (32 lowercase hex digits) before it comes near the file system, so no
request can name another file; anything else is a JSON 404.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from onemap.config import Settings

REPORT_ID = re.compile(r"^[0-9a-f]{32}$")
MEDIA = {"html": "text/html; charset=utf-8", "geojson": "application/geo+json"}


def report_dir(settings: Settings) -> Path:
    """Where reports are saved (created on first use)."""
    folder = settings.runtime_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _not_found(report_id: str) -> JSONResponse:
    return JSONResponse({"code": "NotFound", "detail": f"no report {report_id!r}"},
                        status_code=404)


def report_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["reports"])

    def serve(report_id: str, suffix: str) -> Response:
        if not REPORT_ID.fullmatch(report_id):
            return _not_found(report_id)
        path = report_dir(settings) / f"{report_id}.{suffix}"
        if not path.is_file():
            return _not_found(report_id)
        return FileResponse(path, media_type=MEDIA[suffix])

    @router.get("/api/reports/{report_id}.html", response_class=Response)
    def report_html(report_id: str) -> Response:
        """The standalone HTML report (folium map + summary; opens with no network)."""
        return serve(report_id, "html")

    @router.get("/api/reports/{report_id}.geojson", response_class=Response)
    def report_geojson(report_id: str) -> Response:
        """The report's features as a GeoJSON FeatureCollection (EPSG:4326)."""
        return serve(report_id, "geojson")

    return router
