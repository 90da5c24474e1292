"""Default rendering of a catalogued raster, applied where an image request leaves it unset.

A tile, preview or WMTS client that asks only for ``/raster/<id>/tiles/…/z/x/y.png`` (QGIS
after adding an XYZ layer by hand, a browser opening a preview) must get the dataset's own
colours — NDVI ramp, PM2.5 scale, true-colour band order — not an error such as "cannot encode
a 4-band uint16 array as PNG". The defaults come from the catalogue entry (set at ingestion);
a request that chooses its own bands or expression chooses its own colours too, so the entry's
colormap and rescale are only applied when the request keeps the default band selection.
Data endpoints (point, statistics, info) never get defaults: they report the raw bands.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the Literal of colormap
# names built at run time inside colormap_dependency.
import re
from typing import Annotated, Literal

from fastapi import Path, Query, Request
from titiler.core.dependencies import ImageRenderingParams

from onemap.catalog import Entry
from onemap.mapserver.tilerparams import parse_colormap, render_params

#: Routes that render an image (tiles, previews, bbox/feature crops), not data.
IMAGE_ROUTE = re.compile(r"/(tiles|preview|bbox|feature)\b")
SELECTION_PARAMS = ("bidx", "expression")


def is_image_request(request: Request) -> bool:
    return bool(IMAGE_ROUTE.search(request.url.path))


def keeps_default_selection(request: Request) -> bool:
    """True when the request names no bands or expression of its own."""
    return not any(request.query_params.get(p) for p in SELECTION_PARAMS)


def entry_rescale(entry: Entry) -> list[tuple[float, float]] | None:
    value = (entry.extra or {}).get("rescale")
    if not value:
        return None
    if isinstance(value[0], list | tuple):
        return [(float(a), float(b)) for a, b in value]
    return [(float(value[0]), float(value[1]))]


def colormap_dependency(colormaps, entry_of):
    """titiler's colormap dependency with the entry's colormap as the image default."""
    names = tuple(colormaps.list())

    def deps(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster dataset")],
        colormap_name: Annotated[Literal[names] | None,  # type: ignore[valid-type]
                                 Query(description="Colormap name (default: the dataset's)")
                                 ] = None,
        colormap: Annotated[str | None, Query(description="JSON encoded custom colormap")
                            ] = None,
    ):
        chosen = parse_colormap(colormaps, colormap_name, colormap)
        if chosen is not None or not is_image_request(request):
            return chosen
        if not keeps_default_selection(request):
            return None
        default = (entry_of(dataset_id).extra or {}).get("colormap")
        return colormaps.get(default) if default and default in names else None

    return deps


def render_dependency(entry_of):
    """titiler's image rendering parameters with the entry's rescale as the image default."""

    def deps(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a raster dataset")],
        rescale: Annotated[list[str] | None, Query(
            description="Min,max rescaling (default: the dataset's display range)")] = None,
        color_formula: Annotated[str | None, Query(description="rio-color formula")] = None,
        return_mask: Annotated[bool | None, Query(description="Add the mask as alpha")] = None,
    ) -> ImageRenderingParams:
        params = render_params(rescale, color_formula, return_mask)
        if (params.rescale is None and is_image_request(request)
                and keeps_default_selection(request)):
            params.rescale = entry_rescale(entry_of(dataset_id))
        return params

    return deps
