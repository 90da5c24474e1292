"""Checks run on a raster before it is converted: is it a raster, and does it say where it is?

A file without a CRS or a geotransform would convert "successfully" into a COG placed at
(0, 0) in pixel units — a layer that never shows on the map. Refusing it up front, with the file
name and the reason, is what the person uploading it needs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError
from rasterio.transform import Affine


def check_source(path: Path) -> dict[str, Any]:
    """Basic facts about the raster at ``path``; ValueError (naming the file) if unusable."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path.name}: not a file")
    try:
        with warnings.catch_warnings():
            # an ungeoreferenced file is reported below, in words, instead of a warning
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            if src.count == 0 or src.width == 0 or src.height == 0:
                raise ValueError(f"{path.name}: the raster has no bands or no pixels")
            if src.crs is None:
                raise ValueError(f"{path.name}: the raster has no coordinate reference system "
                                 "(CRS); assign one (e.g. EPSG:4490) before adding it")
            if src.transform == Affine.identity() and not src.gcps[0]:
                raise ValueError(f"{path.name}: the raster has no geotransform (it is not "
                                 "georeferenced)")
            if len(set(src.dtypes)) != 1:
                raise ValueError(f"{path.name}: bands of different data types are not supported")
            _check_last_block(src, path)
            return {"dtype": src.dtypes[0], "count": src.count, "crs": src.crs.to_string(),
                    "width": src.width, "height": src.height, "nodata": src.nodata}
    except RasterioIOError as exc:
        raise ValueError(f"{path.name}: not a readable raster file ({exc})") from None
    except RasterioError as exc:
        raise ValueError(f"{path.name}: cannot read the raster ({exc})") from None


def _check_last_block(src: rasterio.io.DatasetReader, path: Path) -> None:
    """Read the last block of every band: a file cut short by an interrupted copy has a
    readable header but no data at its end, and would otherwise fail minutes later, mid-way
    through the conversion."""
    from rasterio.windows import Window

    bh, bw = src.block_shapes[0]
    row, col = (src.height - 1) // bh * bh, (src.width - 1) // bw * bw
    window = Window(col, row, min(bw, src.width - col), min(bh, src.height - row))
    try:
        src.read(window=window)
    except RasterioError as exc:
        raise ValueError(f"{path.name}: the file is damaged or truncated: its last block of "
                         f"pixels cannot be read ({exc})") from None


def known_colormap(name: str) -> bool:
    """A OneMap colormap or one of rio-tiler's built-in ones (viridis, rdylgn…)."""
    from rio_tiler.colormap import cmap

    from onemap.styles.colormaps import RASTER_STYLES

    return name in RASTER_STYLES or name in cmap.list()
