"""A Leaflet map's view in Web Mercator: its lon/lat box and the tiles it requests.

Why its own module: the benches that load what a browser loads need Leaflet's arithmetic
(``GridLayer._getTiledPixelBounds`` and ``_pxBoundsToTileRange``, Leaflet 1.9), and it is not
the server's (the server knows tiles, not views).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

WIDTH, HEIGHT, TILE = 1200, 800, 256


def fraction(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple:
    """Web Mercator world fractions (0..1 east, 0..1 south) of lon/lat."""
    lat = np.clip(lat, -85.0511287798, 85.0511287798)
    return (np.asarray(lon) + 180.0) / 360.0, \
        (1 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2


def lonlat(u: float, v: float) -> tuple[float, float]:
    """The lon/lat of Web Mercator world fractions (:func:`fraction` inverted)."""
    return u * 360.0 - 180.0, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * v))))


@dataclasses.dataclass(frozen=True)
class View:
    """A WIDTH × HEIGHT map at ``zoom`` centred on lon/lat: its lon/lat box and the tiles
    Leaflet's GridLayer requests for it (``_pxBoundsToTileRange``), nearest the centre first."""

    zoom: int
    bbox: tuple[float, float, float, float]
    tiles: tuple[tuple[int, int], ...]  # (col, row)

    @property
    def tiles_bbox(self) -> tuple[float, float, float, float]:
        size = 1 << self.zoom
        cols, rows = [t[0] for t in self.tiles], [t[1] for t in self.tiles]
        w, n = lonlat(min(cols) / size, min(rows) / size)
        e, s = lonlat((max(cols) + 1) / size, (max(rows) + 1) / size)
        return w, s, e, n


def view(lon: float, lat: float, zoom: int) -> View:
    """The view centred on lon/lat (rows clamped to the world, as Leaflet does)."""
    u, v = fraction(lon, lat)
    world = TILE << zoom
    px, py = float(u) * world, float(v) * world
    x0, x1 = px - WIDTH / 2, px + WIDTH / 2
    y0, y1 = max(py - HEIGHT / 2, 0.0), min(py + HEIGHT / 2, world)
    cols = range(math.floor(x0 / TILE), math.ceil(x1 / TILE))
    rows = range(math.floor(y0 / TILE), math.ceil(y1 / TILE))
    mid_c, mid_r = (cols[0] + cols[-1]) / 2, (rows[0] + rows[-1]) / 2
    tiles = sorted(((c, r) for r in rows for c in cols),
                   key=lambda t: math.hypot(t[0] - mid_c, t[1] - mid_r))
    w, n = lonlat(x0 / world, y0 / world)
    e, s = lonlat(x1 / world, y1 / world)
    return View(zoom, (w, s, e, n), tuple(tiles))
