"""Raster tiles by dataset id (titiler) and WMTS capabilities.

titiler's stock factory reads whatever ``url=`` names: any file or URL the server can reach.
Here the only path dependency takes ``dataset_id`` from the URL *path*, looks it up in the
catalogue and returns the COG's absolute path, so a request can name a dataset but never a file.
Unknown ids, non-raster ids and ids that are not valid catalogue identifiers all answer 404.
"""

from __future__ import annotations

import os
from typing import Annotated, Any
from urllib.parse import urlencode

import morecantile
from fastapi import APIRouter, Path, Response
from rio_tiler.colormap import cmap as default_cmap
from titiler.core.dependencies import create_colormap_dependency
from titiler.core.factory import TilerFactory

from onemap import catalog
from onemap.catalog import ID_PATTERN, Entry
from onemap.config import Settings
from onemap.mapserver.wmts import capabilities
from onemap.styles import RASTER_STYLES, rio_colormap

RASTER_PREFIX = "/raster/{dataset_id}"
TMS = "WebMercatorQuad"


class DatasetNotFound(LookupError):
    """A request named a dataset id the catalogue does not serve (→ 404)."""


# Registered once per process: rio-tiler's registry is immutable, `register` returns a copy.
COLORMAPS = default_cmap.register(
    {name: rio_colormap(name) for name in RASTER_STYLES}, overwrite=True)
ColorMapParams = create_colormap_dependency(COLORMAPS)


class Catalogue:
    """The catalogue re-read only when catalog.json changes (lookups happen on every tile)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stamp: int | None = None
        self._entries: dict[str, Entry] = {}

    def entries(self) -> dict[str, Entry]:
        try:
            stamp = os.stat(self.settings.catalog_path).st_mtime_ns
        except FileNotFoundError:
            return {}
        if stamp != self._stamp:
            self._entries = catalog.load(self.settings)
            self._stamp = stamp
        return self._entries

    def raster_path(self, dataset_id: str) -> str:
        """Absolute path of a catalogued raster; DatasetNotFound for anything else."""
        if not ID_PATTERN.match(dataset_id):
            raise DatasetNotFound(dataset_id)
        entry = self.entries().get(dataset_id)
        if entry is None or entry.kind != "raster":
            raise DatasetNotFound(dataset_id)
        data_dir = self.settings.data_dir.resolve()
        path = entry.file(self.settings).resolve()
        # Defence in depth: a catalogue entry must not point outside the data dir either.
        if data_dir not in path.parents or not path.is_file():
            raise DatasetNotFound(dataset_id)
        return str(path)


def _rescale(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], list | tuple):
            value = value[0]
        return ",".join(str(v) for v in value)
    return str(value)


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
    elif extra.get("bands"):
        bands = extra["bands"] if isinstance(extra["bands"], list) else [extra["bands"]]
        if all(isinstance(b, int) for b in bands):
            params["bidx"] = ",".join(str(b) for b in bands)
    return params


def tilejson_url(entry: Entry, settings: Settings) -> str:
    """A ready TileJSON URL (public) with the entry's default rendering."""
    params = render_params(entry)
    base = f"{settings.public_url}/raster/{entry.id}/{TMS}/tilejson.json"
    return f"{base}?{urlencode(params)}"


def wmts_router(cat: Catalogue) -> APIRouter:
    """``/raster/{dataset_id}/{tms}/WMTSCapabilities.xml`` for desktop GIS clients."""
    router = APIRouter(tags=["raster"])

    @router.get("/raster/{dataset_id}/{tms_id}/WMTSCapabilities.xml")
    def wmts(dataset_id: str, tms_id: str) -> Response:
        """WMTS capabilities of one raster, tiles rendered with its default style."""
        cat.raster_path(dataset_id)
        if tms_id not in morecantile.tms.list():
            raise DatasetNotFound(tms_id)
        entry = cat.entries()[dataset_id]
        params = {k: v for k, v in render_params(entry).items()
                  if k not in ("tilesize", "tile_format")}
        xml = capabilities(entry, cat.settings, tms_id, urlencode(params))
        return Response(xml, media_type="application/xml")

    return router


def raster_factory(cat: Catalogue) -> TilerFactory:
    """titiler endpoints under ``/raster/{dataset_id}``; the dataset comes only from the path."""

    def dataset_path(
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster dataset")],
    ) -> str:
        return cat.raster_path(dataset_id)

    return TilerFactory(path_dependency=dataset_path, colormap_dependency=ColorMapParams,
                        router_prefix=RASTER_PREFIX, add_viewer=False)

