"""Ingest a raster: check it, convert it to a Cloud-Optimised GeoTIFF, catalogue it.

Tiles are served straight from the COG (titiler/rio-tiler read only the blocks and overview
level a tile needs), so every raster is converted once at ingestion: internal tiling, deflate
compression and overviews. The conversion goes to a temporary file in the raster folder, is
validated, and only then renamed into place and registered — a failure at any step leaves
neither a catalogue entry nor a stray file. rio-cogeo works window by window, so a raster larger
than memory can be ingested; we never read the full-resolution data ourselves.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from datetime import date as Date
from pathlib import Path
from typing import Any

import morecantile
import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rio_cogeo.cogeo import cog_translate, cog_validate
from rio_cogeo.profiles import cog_profiles

from onemap import catalog
from onemap.config import Settings, get_settings
from onemap.raster.validate import (
    RasterTooLarge,
    check_limits,
    check_source,
    known_colormap,
    open_source,
    safe_env,
)

__all__ = ["RasterTooLarge", "add_raster", "check_limits", "check_rendering", "suggest_id"]

#: GDAL block cache during conversion, in MB.
CONVERT_CACHE_MB = 512
#: Largest side of the overview read to guess a display range (a few hundred KB at most).
STATS_SIZE = 512


def _date_text(value: str | Date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, Date) else str(value)


def _default_rescale(path: Path, dtype: str, colormap: str | None) -> list[float]:
    """A display range: the colormap's own range, the full range of 8-bit data, or the 2–98 %
    percentiles of the smallest overview (cheap: a decimated read hits the overviews)."""
    from onemap.styles.colormaps import RASTER_STYLES

    if colormap in RASTER_STYLES:
        style = RASTER_STYLES[colormap]
        return [style.vmin, style.vmax]
    if dtype == "uint8":
        return [0.0, 255.0]
    with rasterio.open(path) as src:
        scale = max(src.width, src.height) / STATS_SIZE
        shape = (max(1, int(src.height / max(scale, 1))), max(1, int(src.width / max(scale, 1))))
        data = src.read(1, out_shape=shape, masked=True)
    values = data.compressed()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [0.0, 1.0]
    lo, hi = np.percentile(values, [2, 98])
    if hi <= lo:
        hi = lo + 1
    return [float(lo), float(hi)]


def _translate(src_path: Path, tmp: Path, *, web_optimized: bool, resampling: str) -> None:
    profile = cog_profiles.get("deflate")
    profile.update(blockxsize=512, blockysize=512)
    tms = morecantile.tms.get("WebMercatorQuad") if web_optimized else None
    # GDAL's block cache defaults to 5 % of RAM and would hold a whole 1 GB scene; 512 MB keeps
    # the conversion's memory bounded (1.15 GB scene: 2.4 GB → 0.36 GB peak; 34 s → 90 s).
    # The user's file is opened as validation opened it (GTiff driver only, no sidecars): the
    # conversion must not read anything the check did not see.
    with safe_env(GDAL_NUM_THREADS="ALL_CPUS", GDAL_TIFF_INTERNAL_MASK=True,
                  GDAL_CACHEMAX=CONVERT_CACHE_MB), open_source(src_path) as src:
        cog_translate(src, str(tmp), profile, overview_resampling=resampling,
                      tms=tms, in_memory=False, quiet=True, use_cog_driver=False)


def _footprint(cog: rasterio.io.DatasetReader) -> dict[str, Any]:
    """The raster outline in EPSG:4326, densified so a reprojected edge keeps its curve."""
    from rasterio.warp import transform_geom
    from shapely.geometry import box, mapping

    outline = box(*cog.bounds).segmentize(max(cog.res) * max(cog.width, cog.height) / 20)
    geom = transform_geom(cog.crs, "EPSG:4326", mapping(outline))
    geom["coordinates"] = [[[round(x, 7), round(y, 7)] for x, y in ring]
                           for ring in geom["coordinates"]]
    return geom


def _bands(cog: rasterio.io.DatasetReader, names: list[str] | None) -> list[dict[str, Any]]:
    if names is not None and len(names) != cog.count:
        raise ValueError(f"{len(names)} band names given ({', '.join(names)}) but the raster "
                         f"has {cog.count} band(s)")
    out = []
    for i in cog.indexes:
        described = cog.descriptions[i - 1] or ""
        name = names[i - 1] if names else (described or f"b{i}")
        out.append({"index": i, "name": name, "description": described})
    return out


def check_rendering(count: int, *, expression: str | None, bidx: list[int] | None) -> None:
    """An expression or band selection naming a band the raster lacks is refused up front."""
    import re

    for i in bidx or []:
        if not 1 <= i <= count:
            raise ValueError(f"band {i} does not exist: the raster has {count} band(s)")
    for ref in re.findall(r"\bb(\d+)\b", expression or ""):
        if not 1 <= int(ref) <= count:
            raise ValueError(f"expression {expression!r} names b{ref} but the raster has "
                             f"{count} band(s) (b1..b{count})")


def suggest_id(filename: str, date: str | None) -> str:
    """A catalogue id from the client's file name ('GF1_WFV 2025.tif' → 'gf1_wfv_2025')."""
    stem = Path(filename.replace("\\", "/")).name.rsplit(".", 1)[0]
    slug = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")[:50]
    if not slug:  # e.g. a Chinese file name
        tag = re.sub(r"[^0-9]", "", date or "") or hashlib.sha1(stem.encode()).hexdigest()[:8]
        slug = f"raster_{tag}"
    if not slug[0].isalpha():
        slug = f"r_{slug}"
    return slug[:63]


def add_raster(path: str | Path, *, dataset_id: str, title: str, title_en: str = "",
               date: str | Date | None = None, collection: str | None = None,
               colormap: str | None = None,
               rescale: list[float] | tuple[float, float] | None = None,
               expression: str | None = None, bands: list[str] | None = None,
               bidx: list[int] | None = None, access: catalog.Access = "public",
               description: str = "", web_optimized: bool = False,
               settings: Settings | None = None,
               check: Callable[[], None] | None = None, owner: str = "") -> catalog.Entry:
    """Convert ``path`` to ``rasters/<dataset_id>.tif`` (a validated COG) and catalogue it.

    Raises FileNotFoundError for a missing file and ValueError, naming the file, for anything
    that is not a georeferenced raster or that fails to convert. ``web_optimized`` reprojects
    to Web Mercator aligned on the tile grid (faster tiles, resampled data); by default the data
    keep their CRS and values. ``check`` is called before the conversion and before the COG is
    moved into place; an exception it raises (a cancelled upload) aborts with nothing left.
    ``owner`` (the user who uploaded it, "" for the command line) is kept in ``extra.owner``.
    """
    settings = settings or get_settings()
    catalog.check_id(dataset_id)
    src_path = Path(path)
    if rescale is not None and (len(rescale) != 2 or not rescale[0] < rescale[1]):
        raise ValueError(f"rescale must be [min, max] with min < max, got {rescale!r}")
    if colormap is not None and not known_colormap(colormap):
        raise ValueError(f"unknown colormap {colormap!r}")
    info = check_source(src_path, settings)
    check_rendering(info["count"], expression=expression, bidx=bidx)
    if bands is not None and len(bands) != info["count"]:
        raise ValueError(f"{src_path.name}: {len(bands)} band names given but the raster has "
                         f"{info['count']} band(s)")
    if collection is not None:
        catalog.check_id(collection)
    resampling = "average" if info["dtype"].startswith("float") else "nearest"
    settings.raster_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=settings.raster_dir, prefix=f".{dataset_id}.",
                                    suffix=".tmp.tif")
    os.close(fd)
    tmp = Path(tmp_name)
    final = settings.raster_dir / f"{dataset_id}.tif"
    try:
        if check is not None:
            check()
        try:
            _translate(src_path, tmp, web_optimized=web_optimized, resampling=resampling)
        except (RasterioError, OSError, ValueError) as exc:
            cause = exc.__cause__ or exc.__context__
            detail = f"{exc}" + (f" ({cause})" if cause is not None else "")
            raise ValueError(f"{src_path.name}: cannot convert to a Cloud-Optimised GeoTIFF "
                             f"(damaged or truncated file?): {detail}") from None
        valid, errors, _warnings = cog_validate(str(tmp), quiet=True)
        if not valid:
            raise ValueError(f"{src_path.name}: conversion did not give a valid COG: "
                             f"{'; '.join(errors)}")
        with rasterio.open(tmp) as cog:
            bbox = list(transform_bounds(cog.crs, "EPSG:4326", *cog.bounds, densify_pts=21))
            extra: dict[str, Any] = {
                "date": _date_text(date),
                "collection": collection or dataset_id,
                "bands": _bands(cog, bands),
                "bidx": list(bidx) if bidx else None,
                "count": cog.count,
                "colormap": colormap,
                "rescale": [float(v) for v in rescale] if rescale is not None else None,
                "expression": expression,
                "dtype": cog.dtypes[0],
                "crs": cog.crs.to_string(),
                "nodata": catalog.nodata_value(cog.nodata),
                "width": cog.width, "height": cog.height,
                "overviews": cog.overviews(1),
                "footprint": _footprint(cog),
                "web_optimized": web_optimized,
                "size_bytes": tmp.stat().st_size,
                "owner": owner,
            }
        if extra["rescale"] is None:
            extra["rescale"] = _default_rescale(tmp, extra["dtype"], colormap)
        entry = catalog.Entry(
            id=dataset_id, kind="raster", family="raster", title=title, title_en=title_en,
            description=description, access=access, path=f"rasters/{dataset_id}.tif",
            bbox=[round(v, 7) for v in bbox], source=src_path.name,
            time_extent=[extra["date"], extra["date"]] if extra["date"] else None,
            extra=extra)
        if check is not None:
            check()
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the COG from a server user
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    catalog.put(entry, settings)
    return entry
