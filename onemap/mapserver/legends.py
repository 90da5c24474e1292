"""``/api/legends``: the colour ramps behind raster tiles, as JSON stops and as a PNG image.

The JSON stops and the PNG are built from the same tables titiler colours tiles with
(``onemap.styles.colormaps`` and rio-tiler's registry), so a legend drawn by the web app, by
QGIS (through the WMTS ``LegendURL``) or by a report can never disagree with the map. The PNG is
encoded by rio-tiler/GDAL: no imaging library beyond the raster stack is needed.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from rio_tiler.utils import render

from onemap.mapserver.rasters import COLORMAPS, Catalogue
from onemap.styles.colormaps import RASTER_STYLES, legend_stops, sample_stops

#: Stops sampled from a rio-tiler colormap that has none of its own.
BUILTIN_STOPS = 11
Name = Annotated[str, Path(description="Colormap name, e.g. onemap_ndvi or viridis",
                           max_length=64)]


def legend_doc(name: str, base_url: str) -> dict[str, Any]:
    """One legend: a OneMap style with its value range and stops, or a rio-tiler colormap
    sampled over [0, 1] (its values are positions along the rescale range)."""
    style = RASTER_STYLES.get(name)
    if style is not None:
        doc: dict[str, Any] = {
            "name": name, "title": style.title, "title_en": style.title_en, "unit": style.unit,
            "vmin": style.vmin, "vmax": style.vmax, "onemap": True,
            "stops": [{"value": v, "color": c} for v, c in legend_stops(name)]}
    else:
        stops = sample_stops(COLORMAPS.get(name), BUILTIN_STOPS)
        doc = {"name": name, "title": name, "title_en": name, "unit": "", "vmin": 0.0,
               "vmax": 1.0, "onemap": False,
               "stops": [{"value": round(v, 6), "color": c} for v, c in stops]}
    doc["links"] = [{"rel": "self", "type": "application/json",
                     "href": f"{base_url}/api/legends/{name}"},
                    {"rel": "image", "type": "image/png",
                     "href": f"{base_url}/api/legends/{name}.png"}]
    return doc


def ramp_png(name: str, width: int = 256, height: int = 20) -> bytes:
    """A horizontal ramp, low values on the left, as the tiles draw them (index 0 … 255)."""
    cmap = COLORMAPS.get(name)
    index = np.rint(np.linspace(0, 255, width)).astype(int)
    rgba = np.array([cmap[int(i)] for i in index], dtype="uint8")  # (width, 4)
    img = np.repeat(rgba.T[:, np.newaxis, :], height, axis=1)  # (4, height, width)
    return render(img[:3], mask=img[3], img_format="PNG")


def _unknown(name: str) -> JSONResponse:
    known = ", ".join(sorted(RASTER_STYLES))
    return JSONResponse({"code": "NotFound",
                         "detail": f"unknown colormap {name!r}; OneMap colormaps are {known}, "
                                   "or any rio-tiler colormap (viridis, rdylgn…)"},
                        status_code=404)


def _base(request: Request, cat: Catalogue) -> str:
    return cat.settings.public_url or str(request.base_url).rstrip("/")


def legend_router(cat: Catalogue) -> APIRouter:
    """``GET /api/legends``, ``/api/legends/{name}`` and ``/api/legends/{name}.png``."""
    router = APIRouter(prefix="/api/legends", tags=["legends"])

    @router.get("")
    def list_legends(request: Request) -> dict[str, Any]:
        """Every OneMap colormap with its title, unit, value range and stops."""
        base = _base(request, cat)
        return {"legends": [legend_doc(name, base) for name in RASTER_STYLES]}

    # Declared before ``/{name}``, which would otherwise take "onemap_ndvi.png" as a name.
    @router.get("/{name}.png", response_class=Response,
                responses={200: {"content": {"image/png": {}}}})
    def legend_png(
        name: Name,
        width: Annotated[int, Query(ge=16, le=1024, description="Image width, px")] = 256,
        height: Annotated[int, Query(ge=4, le=256, description="Image height, px")] = 20,
    ) -> Response:
        """The colormap as a horizontal ramp image (low values on the left)."""
        if name not in COLORMAPS.list():
            return _unknown(name)
        return Response(ramp_png(name, width, height), media_type="image/png",
                        headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/{name}")
    def get_legend(name: Name, request: Request) -> Any:
        """One colormap: a OneMap style, or a rio-tiler colormap with sampled stops."""
        if name not in COLORMAPS.list():
            return _unknown(name)
        return legend_doc(name, _base(request, cat))

    return router
