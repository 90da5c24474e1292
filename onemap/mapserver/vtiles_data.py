"""What goes into a vector tile of a GeoPackage layer: every feature, or grid aggregates.

A tile never drops a feature silently. The features whose boxes meet the tile (plus a buffer of
:data:`BUFFER` units, so symbols are not cut at tile edges) are counted first; up to
``max_features`` they are all encoded — points as they are, lines and polygons clipped to the
buffered tile, simplified to half a pixel and snapped to the tile's integer grid (the
simplification is per zoom because it is done in the tile's own units). Above that, the tile
holds one point per cell of a :data:`GRID` × :data:`GRID` grid instead (16-pixel cells on a
256-pixel tile) with the ``count`` of features and their extent (``minx … maxy``, lon/lat), in
the layer ``<id>_clusters`` (with ``magnitude``, the count's digits less one, for styles that
cannot interpolate on data). A feature is counted in exactly one cell of the whole world: the
cell holding its box's centre — the cells of a zoom-z tile are the tiles of zoom z + 4 (named by
``cell``), so neighbouring tiles never share or split a cell, and the counts of all tiles of a
zoom add up to the layer's feature count. The same grid counting as ``/api/clusters``
(:mod:`onemap.mapserver.clusters`), read from the same GeoPackage R-tree.

Speed: the R-tree's boxes are read once per file version into numpy arrays in the Z-order of
their centres (:mod:`onemap.mapserver.vtiles_index`): a tile's features, and each of its cells,
are contiguous runs found by binary search, so counting a million features into cells is a
few ``reduceat`` calls. Only the features a detailed tile shows are read from SQLite
(``fid IN (…)``).

Lon/lat layers only (the store keeps EPSG:4326, CGCS2000 being within a metre of it).
"""

from __future__ import annotations

import gzip
import math
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import shapely

from onemap.layers.store import file_version
from onemap.mapserver.mvt_encode import EXTENT, Properties, point_layer, shape_layer
from onemap.mapserver.vtiles_index import (
    FINE,
    MERCATOR_LAT,
    BoxIndex,
    box_index,
    morton,
    width0,
    world_fraction,
)

TMS_IDS = ("WebMercatorQuad", "WorldCRS84Quad")
BUFFER = 64  # tile units (of EXTENT): 4 px of a 256 px tile
GRID = 16  # aggregate cells per tile side: the tiles of zoom z + 4
GRID_ZOOMS = 4
MAX_ZOOM = FINE - GRID_ZOOMS  # tiles served: 0..20
SIMPLIFY = EXTENT / 256 / 2  # half a pixel
_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_INT = ("INT", "INTEGER", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT")
_REAL = ("REAL", "FLOAT", "DOUBLE")


class TileError(ValueError):
    """A tile the layer cannot give (no geometry, no spatial index): status, code, words."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass(frozen=True)
class Source:
    """One GeoPackage table as the tiles read it."""

    path: str
    table: str
    fid: str
    geom: str
    rtree: str
    geometry_type: str
    #: (name, "string" | "integer" | "number" | "boolean") of every attribute column
    columns: tuple[tuple[str, str], ...]

    @property
    def dimension(self) -> int:
        """0 points, 1 lines, 2 polygons (OGC Tiles' ``geometryDimension``)."""
        kind = self.geometry_type.upper()
        return 2 if "POLYGON" in kind or "SURFACE" in kind else 1 if "LINE" in kind \
            or "CURVE" in kind else 0


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


@lru_cache(maxsize=64)
def _source(path: str, table: str, version: tuple[int, ...]) -> Source:
    del version  # only part of the cache key
    con = _connect(path)
    try:
        row = con.execute("SELECT column_name, geometry_type_name FROM gpkg_geometry_columns "
                          "WHERE table_name = ?", (table,)).fetchone()
        if row is None:
            raise TileError(404, "NotFound", f"{table!r} has no geometry: no tiles")
        geom, gtype = row
        rtree = f"rtree_{table}_{geom}"
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone() is None:
            raise TileError(409, "NoSpatialIndex", f"layer {table!r} has no spatial index")
        info = con.execute(f'PRAGMA table_info("{table}")').fetchall()
    finally:
        con.close()
    fid = next((r[1] for r in info if r[5]), "fid")
    columns = []
    for _, name, decl, *_rest in info:
        if name in (fid, geom):
            continue
        decl = (decl or "").upper()
        kind = "boolean" if decl == "BOOLEAN" else "integer" if decl in _INT else \
            "number" if decl in _REAL else "string"
        columns.append((name, kind))
    return Source(path, table, fid, geom, rtree, gtype, tuple(columns))


def source(path: str, table: str) -> Source:
    """The table's schema, re-read when the file changes."""
    return _source(str(path), table, file_version(path))


# -- tile geometry ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TileFrame:
    """A tile's lon/lat bounds, and whether it is in the matrix's last column / row."""

    tms: str
    z: int
    x: int
    y: int
    lonlat: tuple[float, float, float, float]
    last_col: bool
    last_row: bool

    @property
    def mercator(self) -> bool:
        return self.tms == "WebMercatorQuad"

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat → tile units (0..EXTENT, y down), as floats."""
        u, v = world_fraction(self.tms, lon, lat)
        size = 1 << self.z
        return (u * width0(self.tms) * size - self.x) * EXTENT, (v * size - self.y) * EXTENT

    def buffered(self, units: float) -> tuple[float, float, float, float]:
        """The lon/lat box of the tile grown by ``units`` tile units (and, at the top or bottom
        row of Web Mercator, out to the pole: points beyond ±85.05° are drawn on the edge)."""
        w, s, e, n = self.lonlat
        dx, dy = (e - w) * units / EXTENT, (n - s) * units / EXTENT
        s, n = s - dy, n + dy
        if self.mercator and self.y == 0:
            n = 90.0
        if self.mercator and self.last_row:
            s = -90.0
        return w - dx, s, e + dx, n


def tile_frame(tms_id: str, z: int, x: int, y: int) -> TileFrame:
    """The frame of tile z/x/y (column x, row y); :class:`TileError` 404 outside the matrix
    set or beyond the zooms served (the bounds are morecantile's, computed here in a few µs)."""
    if tms_id not in TMS_IDS:
        raise TileError(404, "NotFound", f"unknown tile matrix set {tms_id!r}: "
                                         f"{', '.join(TMS_IDS)}")
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(404, "NotFound", f"tileMatrix {z} is not served (0..{MAX_ZOOM})")
    size = 1 << z
    cols = width0(tms_id) * size
    if not (0 <= x < cols and 0 <= y < size):
        raise TileError(404, "NotFound", f"tile {z}/{y}/{x} (row/col) is outside {tms_id} "
                                         f"matrix {z} ({size} rows × {cols} columns)")
    w, e = -180.0 + 360.0 * x / cols, -180.0 + 360.0 * (x + 1) / cols
    if tms_id == "WebMercatorQuad":
        n = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / size))))
        s = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / size))))
    else:
        n, s = 90.0 - 180.0 * y / size, 90.0 - 180.0 * (y + 1) / size
    return TileFrame(tms_id, z, x, y, (w, s, e, n), x == cols - 1, y == size - 1)


# -- the tile --------------------------------------------------------------------------------
@dataclass
class Tile:
    """An encoded tile: ``content`` "features" or "clusters", ``count`` the features it
    represents (all of them: shown one by one, or counted in its cells)."""

    data: bytes
    content: str
    count: int

    @cached_property
    def gzipped(self) -> bytes:
        """The tile gzip-compressed once (level 6), for clients that accept it: the server's
        own gzip middleware would compress it again, at level 9, on every request."""
        return gzip.compress(self.data, compresslevel=6, mtime=0)


def _visible(index: BoxIndex, pos: np.ndarray, visible: np.ndarray | None) -> np.ndarray:
    """``pos`` cut to the ids a region-bound caller may see (``visible`` sorted; None = all)."""
    if visible is None:
        return pos
    ids = index.ids[pos]
    at = np.clip(np.searchsorted(visible, ids), 0, max(len(visible) - 1, 0))
    keep = (visible[at] == ids) if len(visible) else np.zeros(len(ids), dtype=bool)
    return pos[keep]


def cells(index: BoxIndex, frame: TileFrame, visible: np.ndarray | None, name: str) -> Tile:
    """The clusters tile: every feature whose box centre is in the tile, counted in its cell
    (a tile of zoom z + 4: one contiguous run of the Z-ordered index, reduced at once)."""
    (lo,), (hi,) = index.centred(frame.z, [frame.x], [frame.y])
    pos = _visible(index, np.arange(lo, hi), visible)
    take = slice(lo, hi) if visible is None else pos
    code = index.code[take]
    step = 1 << (FINE - frame.z - GRID_ZOOMS)
    col, row = (a.ravel() for a in np.meshgrid(np.arange(GRID), np.arange(GRID)))
    lows = morton((frame.x * GRID + col) * step, (frame.y * GRID + row) * step)
    order = np.argsort(lows)
    lows, col, row = lows[order], col[order], row[order]
    starts = np.searchsorted(code, lows, side="left")
    counts = np.diff(np.r_[starts, len(code)])
    used = counts > 0
    first, n = starts[used], counts[used]
    size = 1 << frame.z
    props: dict[str, list] = {"count": n.tolist(),
                              "magnitude": (np.log10(np.maximum(n, 1)) // 1).astype(int).tolist()}
    if len(first):
        mean_u = np.add.reduceat(index.u[take], first) / n
        mean_v = np.add.reduceat(index.v[take], first) / n
        for key, ufunc in (("minx", np.minimum), ("miny", np.minimum), ("maxx", np.maximum),
                           ("maxy", np.maximum)):
            props[key] = np.round(ufunc.reduceat(getattr(index, key)[take], first)
                                  .astype(np.float64), 6).tolist()
        tx = (mean_u * width0(frame.tms) * size - frame.x) * EXTENT
        ty = (mean_v * size - frame.y) * EXTENT
        xy = np.clip(np.column_stack([np.round(tx), np.round(ty)]), 0, EXTENT).astype(np.int64)
    else:
        xy = np.empty((0, 2), dtype=np.int64)
        props.update({k: [] for k in ("minx", "miny", "maxx", "maxy")})
    zc = frame.z + GRID_ZOOMS
    props["cell"] = [f"{zc}/{frame.y * GRID + r}/{frame.x * GRID + c}"
                     for c, r in zip(col[used], row[used], strict=True)]
    cell_ids = (frame.y * GRID + row[used]) * (width0(frame.tms) * size * GRID) \
        + frame.x * GRID + col[used]
    return Tile(point_layer(f"{name}_clusters", cell_ids.astype(np.int64),
                            xy, Properties.of(props, len(first))), "clusters", int(n.sum()))


def _decode(blobs: list[bytes]) -> np.ndarray:
    """GeoPackage geometry blobs → shapely geometries (header: 8 bytes + the envelope)."""
    wkb = [None if b is None or b[3] & 0x10 else b[8 + _ENVELOPE[(b[3] >> 1) & 7]:]
           for b in blobs]
    return shapely.from_wkb(wkb)


def _point_coords(blobs: list[bytes]) -> np.ndarray | None:
    """Lon/lat of 2D little-endian WKB points read straight from the blobs (None if any blob
    is something else: the caller then decodes them with shapely)."""
    parts = []
    for b in blobs:
        if b is None or b[3] & 0x10:
            return None
        h = 8 + _ENVELOPE[(b[3] >> 1) & 7]
        if len(b) != h + 21 or b[h:h + 5] != b"\x01\x01\x00\x00\x00":
            return None
        parts.append(b[h + 5:])
    return np.frombuffer(b"".join(parts), dtype="<f8").reshape(-1, 2)


def features(src: Source, ids: np.ndarray, frame: TileFrame, name: str) -> Tile:
    """The features tile: ``ids``' rows read, projected, clipped, simplified and snapped."""
    cols = ", ".join(f'"{c}"' for c, _ in src.columns)
    id_list = ",".join(str(int(i)) for i in np.sort(ids)) or "NULL"
    con = _connect(src.path)
    try:
        rows = con.execute(f'SELECT "{src.fid}", "{src.geom}"{", " + cols if cols else ""} '
                           f'FROM "{src.table}" WHERE "{src.fid}" IN ({id_list})').fetchall()
    finally:
        con.close()
    fids = np.array([r[0] for r in rows], dtype=np.int64)
    columns = {c: [r[i + 2] for r in rows] for i, (c, _) in enumerate(src.columns)}
    lonlat = _point_coords([r[1] for r in rows]) if src.dimension == 0 else None
    if lonlat is not None:
        tx, ty = frame.project(lonlat[:, 0], lonlat[:, 1])
        xy = np.column_stack([np.round(tx), np.round(ty)]).astype(np.int64)
        return Tile(point_layer(name, fids, xy, Properties.of(columns, len(fids))),
                    "features", len(fids))
    geoms = _decode([r[1] for r in rows])

    def to_tile(coords: np.ndarray) -> np.ndarray:
        tx, ty = frame.project(coords[:, 0], coords[:, 1])
        return np.column_stack([tx, ty])

    geoms = shapely.transform(geoms, to_tile)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if src.dimension == 0 and bool(np.all(shapely.get_type_id(geoms[present]) == 0)):
        keep = np.flatnonzero(present)
        xy = np.round(shapely.get_coordinates(geoms[keep])).astype(np.int64)
        props = Properties.of({c: [v[i] for i in keep] for c, v in columns.items()}, len(keep))
        return Tile(point_layer(name, fids[keep], xy, props), "features", len(keep))
    lo, hi = -BUFFER, EXTENT + BUFFER
    if src.dimension > 0:
        geoms = shapely.clip_by_rect(geoms, lo, lo, hi, hi)
        geoms = shapely.simplify(geoms, SIMPLIFY, preserve_topology=src.dimension == 2)
    geoms = shapely.set_precision(geoms, 1.0)
    if src.dimension == 2:
        geoms = shapely.orient_polygons(geoms)  # exterior rings positive in y-down space
    keep = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    props = Properties.of({c: [v[i] for i in keep] for c, v in columns.items()}, len(keep))
    return Tile(shape_layer(name, fids[keep], list(geoms[keep]), props), "features",
                len(keep))


RING = 6  # BUFFER is 1/64 of a tile: the cells of zoom z + 6 are as thick as it


def _ring(index: BoxIndex, frame: TileFrame, box: tuple[float, float, float, float]
          ) -> np.ndarray:
    """Positions of the points centred in the cells of zoom z + :data:`RING` that ``box``
    (the buffered tile) covers outside the tile itself: the buffer's strips, a few hundred
    cells, so a sparse tile beside a dense one reads only what its edge needs (the whole
    neighbouring tiles would be up to a million points)."""
    level = min(frame.z + RING, FINE)
    # grown by two float32 steps: a point's R-tree box is its float32 rounding outwards, so
    # its centre can lie that far outside ``box`` while the box still meets it
    lon, lat = np.array([box[0], box[2]]), np.array([box[3], box[1]])
    lon = lon + [-2, 2] * np.spacing(np.abs(lon).astype(np.float32)).astype(np.float64)
    lat = lat + [2, -2] * np.spacing(np.abs(lat).astype(np.float32)).astype(np.float64)
    u, v = world_fraction(frame.tms, lon, lat)
    rows = 1 << level
    cols = width0(frame.tms) * rows
    c0, c1 = np.clip(np.floor(u * cols), 0, cols - 1).astype(np.int64)
    r0, r1 = np.clip(np.floor(v * rows), 0, rows - 1).astype(np.int64)
    inner = 1 << (level - frame.z)
    col, row = (a.ravel() for a in np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1)))
    out = (col < frame.x * inner) | (col >= (frame.x + 1) * inner) | \
        (row < frame.y * inner) | (row >= (frame.y + 1) * inner)
    if not out.any():
        return np.empty(0, dtype=np.int64)
    starts, ends = index.centred(level, col[out].tolist(), row[out].tolist())
    return np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])


def _around(index: BoxIndex, frame: TileFrame) -> np.ndarray:
    """Positions of the boxes meeting the buffered tile: for points, those centred in the
    tile or in the buffer's strips around it; for lines and polygons, by ``minx``."""
    w, s, e, n = box = frame.buffered(BUFFER)
    if index.by_minx is not None:
        return index.meeting(w, s, e, n)
    (lo,), (hi,) = index.centred(frame.z, [frame.x], [frame.y])
    pos = np.concatenate([np.arange(lo, hi), _ring(index, frame, box)])
    hit = (index.maxx[pos] >= w) & (index.minx[pos] <= e) & (index.maxy[pos] >= s) & \
        (index.miny[pos] <= n)
    return pos[hit]


def render(src: Source, frame: TileFrame, visible: np.ndarray | None,
           max_features: int) -> Tile:
    """The tile of ``src`` at ``frame`` for a caller who sees ``visible`` ids (None: all):
    its features when at most ``max_features`` are centred in it, else its cells' counts."""
    index = box_index(src, frame.tms)
    (lo,), (hi,) = index.centred(frame.z, [frame.x], [frame.y])
    many = hi - lo > max_features and (
        visible is None or len(_visible(index, np.arange(lo, hi), visible)) > max_features)
    if many:
        return cells(index, frame, visible, src.table)
    pos = _visible(index, _around(index, frame), visible)
    return features(src, index.ids[pos], frame, src.table)


# -- a cache keyed by the file's version -----------------------------------------------------
_TILES: OrderedDict[tuple, Tile] = OrderedDict()
_LOCK = threading.Lock()
_TILES_BYTES = 0
CACHE_BYTES = 64 * 2**20


def cached(key: tuple, make: Callable[[], Tile]) -> Tile:
    """``make()`` once per key (keys carry the file version: a changed layer is re-tiled)."""
    global _TILES_BYTES
    with _LOCK:
        hit = _TILES.get(key)
        if hit is not None:
            _TILES.move_to_end(key)
            return hit
    tile = make()
    with _LOCK:
        if key not in _TILES:
            _TILES[key] = tile
            _TILES_BYTES += len(tile.data)
        while _TILES_BYTES > CACHE_BYTES and _TILES:
            _TILES_BYTES -= len(_TILES.popitem(last=False)[1].data)
    return tile


def zoom_limits(bbox: list[float] | None, tms_id: str, maxzoom: int) -> list[dict[str, int]]:
    """OGC ``tileMatrixSetLimits``: the rows and columns the layer's bbox covers per zoom."""
    import morecantile

    tms = morecantile.tms.get(tms_id)
    w, s, e, n = bbox or [-180.0, -90.0, 180.0, 90.0]
    if tms_id == "WebMercatorQuad":
        s, n = max(s, -MERCATOR_LAT), min(n, MERCATOR_LAT)
    out = []
    for z in range(maxzoom + 1):
        ul, lr = tms.tile(w, n, z), tms.tile(math.nextafter(e, w), math.nextafter(s, n), z)
        out.append({"tileMatrix": str(z), "minTileRow": ul.y, "maxTileRow": lr.y,
                    "minTileCol": ul.x, "maxTileCol": lr.x})
    return out
