"""A vector layer's R-tree boxes in memory, ordered so a tile is one slice of them.

The boxes of a GeoPackage layer's R-tree (read with pyogrio/Arrow: 1,000,000 in ~0.5 s) are
sorted by the Z-order (Morton) code of the fine cell — the tile of zoom :data:`FINE` — holding
each box's centre. A tile of any coarser zoom, and each cell of its aggregation grid, is then
one contiguous range of codes: :meth:`BoxIndex.centred` finds a tile's features with two binary
searches, and every feature lies in exactly one tile of each zoom. Lines and polygons, whose
boxes reach beyond their centre's tile, are also ordered by ``minx``
(:meth:`BoxIndex.meeting`). An index is kept per file version and tile matrix set.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pyogrio.raw import read_arrow

from onemap.layers.store import file_version

if TYPE_CHECKING:
    from onemap.mapserver.vtiles_data import Source

FINE = 24  # the finest cells: tiles of zoom 24
MERCATOR_LAT = 85.0511287798066


def _spread(v: np.ndarray) -> np.ndarray:
    """The bits of 32-bit ``v`` moved to the even positions of a 64-bit word."""
    v = v.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def morton(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """The Z-order code of fine cells (zoom :data:`FINE`): a tile of any coarser zoom, and
    each of its cells, is one contiguous range of codes. WorldCRS84Quad's two zoom-0 tiles
    are told apart by the bit above the interleaved ones."""
    col = np.asarray(col, dtype=np.int64)
    row = np.asarray(row, dtype=np.int64)
    low = np.int64((1 << FINE) - 1)
    return ((col >> FINE).astype(np.uint64) << np.uint64(2 * FINE)) | _spread(col & low) \
        | (_spread(row) << np.uint64(1))


def world_fraction(tms_id: str, lon: np.ndarray, lat: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat → (u, v) in [0, 1]: the position across the matrix set's zoom-0 width and
    down its height (Web Mercator clamped at ±85.05°: the poles are drawn on the edge)."""
    u = (np.asarray(lon, dtype=np.float64) + 180.0) / 360.0
    lat = np.asarray(lat, dtype=np.float64)
    if tms_id == "WebMercatorQuad":
        phi = np.radians(np.clip(lat, -MERCATOR_LAT, MERCATOR_LAT))
        v = (1.0 - np.log(np.tan(np.pi / 4 + phi / 2)) / np.pi) / 2.0
    else:
        v = (90.0 - lat) / 180.0
    return u, v


def width0(tms_id: str) -> int:
    """Columns of the zoom-0 matrix (WorldCRS84Quad has two tiles side by side)."""
    return 2 if tms_id == "WorldCRS84Quad" else 1


@dataclass(frozen=True)
class BoxIndex:
    """A layer's R-tree boxes for one tile matrix set, in Z-order of their centres' fine
    cells (``code``): a tile's features — those whose box centre it holds — are one slice.
    ``u``/``v`` are the centres as world fractions; ``by_minx`` (lines and polygons only)
    orders positions by ``minx`` for the boxes that meet a tile without being centred in it."""

    code: np.ndarray
    ids: np.ndarray
    minx: np.ndarray
    miny: np.ndarray
    maxx: np.ndarray
    maxy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    by_minx: np.ndarray | None
    minx_sorted: np.ndarray | None
    width: float

    def centred(self, z: int, xs: list[int], ys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The slices (starts, ends) of features whose box centre is in tiles z/xs/ys."""
        step = 1 << (FINE - z)
        lo = morton(np.asarray(xs) * step, np.asarray(ys) * step)
        return (np.searchsorted(self.code, lo, side="left"),
                np.searchsorted(self.code, lo + np.uint64(step * step), side="left"))

    def meeting(self, w: float, s: float, e: float, n: float) -> np.ndarray:
        """Positions of the lines' or polygons' boxes that meet [w, e] × [s, n]."""
        assert self.by_minx is not None and self.minx_sorted is not None
        lo = np.searchsorted(self.minx_sorted, w - self.width, side="left")
        hi = np.searchsorted(self.minx_sorted, e, side="right")
        pos = self.by_minx[lo:hi]
        hit = (self.maxx[pos] >= w) & (self.maxy[pos] >= s) & (self.miny[pos] <= n)
        return np.sort(pos[hit])


_INDEXES: OrderedDict[tuple, BoxIndex] = OrderedDict()
_INDEX_MAX = 6
_LOCK = threading.Lock()


def box_index(src: Source, tms_id: str) -> BoxIndex:
    """The boxes of ``src`` for ``tms_id`` (read once per file version, a few kept)."""
    key = (src.path, src.rtree, tms_id, file_version(src.path))
    with _LOCK:
        hit = _INDEXES.get(key)
        if hit is not None:
            _INDEXES.move_to_end(key)
            return hit
    _, table = read_arrow(src.path, sql=f'SELECT id, minx, miny, maxx, maxy FROM "{src.rtree}"')
    cols = {name: table.column(name).to_numpy() for name in ("id", "minx", "miny", "maxx",
                                                                 "maxy")}
    u, v = world_fraction(tms_id, (cols["minx"] + cols["maxx"]) / 2,
                          (cols["miny"] + cols["maxy"]) / 2)
    cells = 1 << FINE
    col = np.clip((u * width0(tms_id) * cells).astype(np.int64), 0,
                  width0(tms_id) * cells - 1)
    row = np.clip((v * cells).astype(np.int64), 0, cells - 1)
    code = morton(col, row)
    order = np.argsort(code, kind="stable")
    boxes = {k: cols[k][order].astype(np.float32) for k in ("minx", "miny", "maxx", "maxy")}
    width = float((boxes["maxx"] - boxes["minx"]).max()) if len(order) else 0.0
    by_minx = minx_sorted = None
    if src.geometry_type.upper() != "POINT":  # (a point's box is the float32 rounding of it)
        by_minx = np.argsort(boxes["minx"], kind="stable")
        minx_sorted = boxes["minx"][by_minx].astype(np.float64)
    index = BoxIndex(code[order], cols["id"][order].astype(np.int64), boxes["minx"],
                     boxes["miny"], boxes["maxx"], boxes["maxy"], u[order], v[order],
                     by_minx, minx_sorted, width)
    with _LOCK:
        _INDEXES[key] = index
        while len(_INDEXES) > _INDEX_MAX:
            _INDEXES.popitem(last=False)
    return index
