"""``/api/catalog`` and ``/api/rasters``: what the app and other clients discover.

Every dataset is listed with links to where a client reads it (its OGC collection, its TileJSON),
so the web app learns the layers over HTTP exactly like any other client.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.mapserver.ogc import OGC_PREFIX
from onemap.mapserver.rasters import Catalogue, tilejson_url


def _raster_summary(entry: Entry, settings: Settings) -> dict[str, Any]:
    extra = entry.extra or {}
    return {"id": entry.id, "title": entry.title, "title_en": entry.title_en,
            "family": entry.family, "access": entry.access, "date": extra.get("date"),
            "bounds": entry.bbox, "colormap": extra.get("colormap"),
            "rescale": extra.get("rescale"), "tilejson": tilejson_url(entry, settings)}


def _links(entry: Entry, settings: Settings) -> list[dict[str, str]]:
    base = settings.public_url
    if entry.kind == "raster":
        return [{"rel": "tilejson", "type": "application/json",
                 "href": tilejson_url(entry, settings)},
                {"rel": "info", "type": "application/json",
                 "href": f"{base}/raster/{entry.id}/info"}]
    coll = f"{base}{OGC_PREFIX}/collections/{entry.id}"
    return [{"rel": "collection", "type": "application/json", "href": coll},
            {"rel": "items", "type": "application/geo+json", "href": f"{coll}/items"}]


def api_router(cat: Catalogue) -> APIRouter:
    """``GET /api/catalog`` and ``GET /api/rasters``: what the app and clients discover."""
    router = APIRouter(prefix="/api", tags=["catalogue"])
    settings = cat.settings

    @router.get("/catalog")
    def list_catalog() -> dict[str, Any]:
        """Every catalogued dataset with links to its OGC collection or TileJSON."""
        items = []
        for e in cat.entries().values():
            items.append({"id": e.id, "kind": e.kind, "family": e.family, "title": e.title,
                          "title_en": e.title_en, "access": e.access,
                          "feature_count": e.feature_count, "bbox": e.bbox,
                          "time_extent": e.time_extent, "links": _links(e, settings)})
        return {"datasets": items}

    @router.get("/rasters")
    def list_rasters() -> dict[str, Any]:
        """Raster datasets with a ready TileJSON URL using their default style."""
        return {"rasters": [_raster_summary(e, settings) for e in cat.entries().values()
                            if e.kind == "raster"]}

    return router
