"""Administrative regions: which code lies within which, and the area a code covers.

A region is an adcode (GB/T 2260: province ``XX0000``, city ``XXXX00``, county ``XXXXXX``) of
the admin boundaries layer. Containment follows the code (a city's code is the prefix of its
counties'), so it holds even for a county whose polygon is not loaded; the area comes from the
layer's polygons, read once per file version.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from onemap import catalog
from onemap.config import Settings

ADCODE = re.compile(r"^\d{6}$")
#: The catalogue entry holding the boundaries and its code field.
REGION_LAYER = "admin_boundaries"
CODE_FIELD = "adcode"

_CACHE: dict[tuple[str, int, str], BaseGeometry | None] = {}
_LOCK = threading.Lock()


class UnknownRegion(ValueError):
    """No admin boundary has this code."""


def check_code(code: str) -> str:
    if not ADCODE.fullmatch(code):
        raise UnknownRegion(f"invalid region code {code!r}: a six-digit adcode, e.g. 340181")
    return code


def prefix(code: str) -> str:
    """The significant part of an adcode: 340100 → 3401, 340000 → 34, 340181 → 340181."""
    out = code
    while out.endswith("00") and len(out) > 2:
        out = out[:-2]
    return out


def within(inner: str, outer: str) -> bool:
    """Whether region ``inner`` lies in (or is) region ``outer``."""
    return inner.startswith(prefix(outer))


def _boundaries(settings: Settings) -> Path | None:
    try:
        return catalog.get(REGION_LAYER, settings).file(settings)
    except catalog.UnknownDataset:
        return None


def area(code: str, settings: Settings) -> BaseGeometry | None:
    """The polygon(s) of region ``code`` in EPSG:4326, or None when the boundaries layer lacks
    it (callers then treat the region as empty: nothing of it is shown)."""
    check_code(code)
    path = _boundaries(settings)
    if path is None or not path.exists():
        return None
    key = (str(path), path.stat().st_mtime_ns, code)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    df = pyogrio.read_dataframe(path, where=f"{CODE_FIELD} = '{code}'", columns=[CODE_FIELD])
    geom = None
    if len(df):
        if df.crs is not None and df.crs.to_epsg() != 4326:
            df = df.to_crs(4326)
        geom = shapely.make_valid(shapely.union_all(df.geometry.values))
        shapely.prepare(geom)
    with _LOCK:
        _CACHE[key] = geom
    return geom


def known(settings: Settings) -> dict[str, str]:
    """Every region of the boundaries layer: code → name (for the admin's choices)."""
    path = _boundaries(settings)
    if path is None or not path.exists():
        return {}
    df = pyogrio.read_dataframe(path, columns=[CODE_FIELD, "name"], read_geometry=False)
    return dict(zip(df[CODE_FIELD].astype(str), df["name"].astype(str), strict=True))
