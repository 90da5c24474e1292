"""OGC API Features Part 2 (coordinate reference systems) for OneMap's collections.

Every layer is stored in CRS84 (longitude, latitude: the GeoPackages say EPSG:4326 but hold
GDAL's traditional lon/lat order), so ``storageCrs`` is CRS84 — declaring EPSG:4326 would make
pygeoapi assume lat/lon storage and swap every coordinate. A client may ask for features in
EPSG:4326 or EPSG:4490 (CGCS2000, the national datum; latitude first, as those CRSs define their
axes) or EPSG:3857 (metres). pygeoapi validates ``crs``/``bbox-crs``, transforms a ``bbox``
into the storage CRS and sets ``Content-Crs``; the provider reprojects what it returns
(:func:`reproject`, one vectorised transform per page). The gate checks both parameters first
(:func:`crs_problem`) so a wrong one is our ``{"code", "detail"}`` 400 naming the choices.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
#: What a geometry collection serves, CRS84 (the default) first.
SUPPORTED = [CRS84, f"{EPSG}4326", f"{EPSG}4490", f"{EPSG}3857"]


def provider_crs(has_geometry: bool) -> dict[str, Any]:
    """The Part 2 keys of a pygeoapi provider definition: a geometry layer's supported CRSs and
    its storage CRS; nothing for an attribute table (pygeoapi falls back to CRS84 alone)."""
    return {"crs": list(SUPPORTED), "storage_crs": CRS84} if has_geometry else {}


def crs_problem(pairs: list[tuple[str, str]], supported: list[str]) -> str | None:
    """What is wrong with the ``crs`` and ``bbox-crs`` of a request to a collection that
    serves ``supported`` (empty: an attribute table, CRS84 only), else None."""
    names = dict(pairs)
    choices = supported or [CRS84]
    listed = ", ".join(choices)
    for name in ("crs", "bbox-crs"):
        if name in names and names[name] not in choices:
            what = "this collection is a table without geometry; " if not supported else ""
            return f"{name}: {names[name]!r} is not offered; {what}use one of {listed}"
    if "bbox-crs" in names and not names.get("bbox"):
        return "bbox-crs names the CRS of bbox; give a bbox with it"
    return None


@lru_cache(maxsize=16)
def _transformer(source_wkt: str, target_wkt: str) -> pyproj.Transformer:
    # always_xy=False: the target's own axis order (lat, lon for EPSG:4326/4490), as Part 2 wants
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(source_wkt),
                                       pyproj.CRS.from_wkt(target_wkt), always_xy=False)


def reproject(geoms: np.ndarray, spec: Any) -> np.ndarray:
    """``geoms`` (shapely, storage CRS) in the CRS of pygeoapi's ``CrsTransformSpec`` ``spec``
    (None: unchanged). One call for the whole page, not one per feature as pygeoapi's own
    ``crs_transform`` decorator does."""
    if spec is None or len(geoms) == 0:
        return geoms
    transformer = _transformer(spec.source_crs_wkt, spec.target_crs_wkt)

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, move)
