"""Zonal statistics: a raster's values summarised inside each polygon of a vector layer.

"Mean NDVI of every ecological red line" is the question analysts ask of a raster, and it must
scale to a large COG and many small polygons: each polygon reads only the window of pixels under
its bounding box (rasterio windowed reads hit only the COG blocks involved), never the whole
raster. A pixel belongs to a polygon when its centre falls inside (GDAL's rasterisation rule,
the same as ``rasterio.mask``), so results agree with desktop GIS. Polygons are reprojected to the
raster's CRS; a polygon outside the raster gets NaN statistics and a count of 0, not an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.features import geometry_mask
from rasterio.windows import Window, from_bounds
from rio_tiler.expression import apply_expression, get_expression_blocks, parse_expression

STATS = ("count", "valid_percent", "min", "max", "mean", "std", "median")


def percentile_name(p: float) -> str:
    """Column name of a percentile: 10 → "p10", 2.5 → "p2.5"."""
    return f"p{p:g}"


def stat_columns(percentiles: Sequence[float] = (10, 50, 90)) -> list[str]:
    """The statistics columns of one output band, in order."""
    return [*STATS, *(percentile_name(p) for p in percentiles)]


def _band_names(src: rasterio.DatasetReader, indexes: Sequence[int]) -> list[str]:
    """Column prefixes: the band description (``red``) when the file has one, else ``b3``."""
    names = []
    for i in indexes:
        desc = (src.descriptions[i - 1] or "").strip()
        name = desc if desc and desc.isidentifier() else f"b{i}"
        names.append(name if name not in names else f"b{i}")
    return names


def _summarise(values: np.ndarray, total: int, percentiles: Sequence[float]) -> list[float]:
    """count, valid %, min, max, mean, std, median, percentiles of the valid values."""
    n = int(values.size)
    pct = 100.0 * n / total if total else math.nan
    if n == 0:
        return [0, pct, *[math.nan] * (len(STATS) - 2 + len(percentiles))]
    values = values.astype("float64")
    qs = np.percentile(values, [50, *percentiles])
    return [n, pct, float(values.min()), float(values.max()), float(values.mean()),
            float(values.std()), float(qs[0]), *(float(q) for q in qs[1:])]


def window_for_bounds(src: rasterio.DatasetReader, bounds: tuple[float, ...]) -> Window | None:
    """The raster window under ``bounds`` (rounded out to whole pixels), None if disjoint."""
    left, bottom, right, top = src.bounds
    if bounds[0] >= right or bounds[2] <= left or bounds[1] >= top or bounds[3] <= bottom:
        return None
    win = from_bounds(*bounds, transform=src.transform)
    win = win.round_offsets(op="floor").round_lengths(op="ceil")
    # round_lengths after a floored offset can fall one pixel short of the right/bottom edge
    win = Window(win.col_off, win.row_off, win.width + 1, win.height + 1)
    full = Window(0, 0, src.width, src.height)
    try:
        win = win.intersection(full)
    except rasterio.errors.WindowError:
        return None
    return win if win.width > 0 and win.height > 0 else None


def zonal_stats(cog_path: str | Path, polygons: gpd.GeoDataFrame, *,
                bidx: Sequence[int] | None = None, expression: str | None = None,
                percentiles: Sequence[float] = (10, 50, 90),
                all_touched: bool = False) -> pd.DataFrame:
    """Statistics of the raster inside each polygon, one row per polygon (same index).

    Without ``expression`` each selected band (``bidx``, default all) gets its own set of
    columns, prefixed ``<band>_`` when there is more than one band. With ``expression``
    (rio-tiler band math on b1..bN, e.g. ``(b4-b3)/(b4+b3)``) the statistics are of the computed
    values; ``;``-separated expressions give one set of columns each, prefixed by expression.
    A pixel counts when it is valid in every band the expression reads (nodata/mask excluded,
    NaN and ±inf excluded). ``valid_percent`` is valid pixels / pixels inside the polygon.
    """
    percentiles = [float(p) for p in percentiles]
    for p in percentiles:
        if not 0 <= p <= 100:
            raise ValueError(f"percentile {p:g} is outside 0–100")
    if polygons.crs is None:
        raise ValueError("the polygons have no CRS")
    columns = stat_columns(percentiles)
    with rasterio.open(cog_path) as src:
        if expression:
            blocks = get_expression_blocks(expression)
            indexes = sorted(set(parse_expression(expression)))
            outputs = blocks if len(blocks) > 1 else [""]
        else:
            blocks = []
            indexes = list(bidx or src.indexes)
            outputs = _band_names(src, indexes) if len(indexes) > 1 else [""]
        bad = [i for i in indexes if not 1 <= i <= src.count]
        if bad:
            raise ValueError(f"band {bad[0]} does not exist: the raster has {src.count} bands")
        names = [f"{o}_{c}" if o else c for o in outputs for c in columns]
        geoms = polygons.geometry.to_crs(src.crs)
        rows = []
        for geom in geoms:
            rows.append(_polygon_stats(src, geom, indexes, blocks, percentiles, all_touched,
                                       len(outputs)))
    frame = pd.DataFrame(rows, index=polygons.index, columns=names)
    counts = [c for c in names if c == "count" or c.endswith("_count")]
    return frame.astype({c: "int64" for c in counts})


def _polygon_stats(src: rasterio.DatasetReader, geom, indexes: list[int], blocks: list[str],
                   percentiles: list[float], all_touched: bool, n_out: int) -> list[float]:
    empty = [0, math.nan, *[math.nan] * (len(STATS) - 2 + len(percentiles))]
    if geom is None or geom.is_empty:
        return empty * n_out
    win = window_for_bounds(src, geom.bounds)
    if win is None:
        return empty * n_out
    transform = src.window_transform(win)
    shape = (int(win.height), int(win.width))
    inside = ~geometry_mask([geom], out_shape=shape, transform=transform,
                            all_touched=all_touched)
    total = int(inside.sum())
    if total == 0:
        return empty * n_out
    data = src.read(indexes, window=win, masked=True)
    invalid = np.ma.getmaskarray(data)
    if blocks:
        band_names = [f"b{i}" for i in indexes]
        filled = data.filled(0).astype("float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            data = apply_expression(blocks, band_names, filled)
        # rio-tiler turns NaN into 0 (nan_to_num): judge validity on the inputs instead
        invalid = np.broadcast_to(invalid.any(axis=0), data.shape)
    out: list[float] = []
    for k in range(data.shape[0]):
        band = np.asarray(data[k])
        keep = inside & ~invalid[k] & np.isfinite(band)
        out.extend(_summarise(band[keep], total, percentiles))
    return out
