"""GeoTIFFs made on the fly for raster tests: every supported data type, multi-band scenes, and
the broken files users really send (no CRS, no geotransform, truncated, not a TIFF at all).

Values are deterministic so a test can compute the expected statistic or pixel value itself.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

#: Over the sample region (Chaohu basin), 0.001° pixels.
WEST, NORTH, RES = 117.0, 32.0, 0.001
TRANSFORM = from_origin(WEST, NORTH, RES, RES)
#: Band names of a 4-band GF-1/Landsat-like scene, in file order (b1..b4).
SCENE_BANDS = ("blue", "green", "red", "nir")


def gradient(dtype: str, width: int, height: int, band: int = 1) -> np.ndarray:
    """A diagonal ramp scaled to the type (band k is offset so bands differ)."""
    y, x = np.mgrid[0:height, 0:width]
    info = np.iinfo(dtype) if np.issubdtype(np.dtype(dtype), np.integer) else None
    top = min(info.max, 5000) if info else 1.0
    ramp = (x + y) / (width + height) * top * (0.5 + 0.5 * band / 4)
    return ramp.astype(dtype)


def write_geotiff(path: Path, *, dtype: str = "uint8", count: int = 1, width: int = 600,
                  height: int = 500, crs: str | None = "EPSG:4326", nodata: float | None = None,
                  transform=TRANSFORM, descriptions: tuple[str, ...] | None = None) -> Path:
    """A striped (not tiled, not COG) GeoTIFF, like most files people export from desktop GIS."""
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=dtype,
                   nodata=nodata)
    if transform is not None:
        profile["transform"] = transform
    if crs:
        profile["crs"] = crs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            for b in range(1, count + 1):
                data = gradient(dtype, width, height, b)
                if nodata is not None:
                    data[:20, :20] = nodata
                dst.write(data, b)
                if descriptions:
                    dst.set_band_description(b, descriptions[b - 1])
    return path


def write_scene(path: Path, *, crs: str = "EPSG:4490", width: int = 600,
                height: int = 500) -> Path:
    """A 4-band uint16 reflectance scene (blue, green, red, nir ×10000) with vegetation on the
    left half (NIR ≫ red, NDVI ≈ 0.6) and water on the right (NIR < red, NDVI ≈ -0.2)."""
    left = np.zeros((height, width), dtype=bool)
    left[:, : width // 2] = True
    refl = {"blue": np.where(left, 400, 900), "green": np.where(left, 700, 800),
            "red": np.where(left, 500, 700), "nir": np.where(left, 2000, 450)}
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=4,
                       dtype="uint16", crs=crs, transform=TRANSFORM, nodata=0) as dst:
        for i, name in enumerate(SCENE_BANDS, start=1):
            dst.write(refl[name].astype("uint16"), i)
            dst.set_band_description(i, name)
    return path


def scene_ndvi(left: bool) -> float:
    """The exact NDVI of :func:`write_scene` on its vegetated (left) or water (right) half."""
    nir, red = (2000, 500) if left else (450, 700)
    return (nir - red) / (nir + red)


def write_no_crs(path: Path) -> Path:
    return write_geotiff(path, crs=None)


def write_no_geotransform(path: Path) -> Path:
    return write_geotiff(path, crs="EPSG:4326", transform=None)


def write_truncated(path: Path) -> Path:
    """A real GeoTIFF cut to a third of its bytes, as an interrupted copy leaves it."""
    full = write_geotiff(path.with_name(path.stem + "_full.tif"), dtype="float32",
                         width=800, height=700)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    full.unlink()
    return path


def write_not_a_tiff(path: Path) -> Path:
    path.write_text("站点编码,经度,纬度\n1001A,117.2,31.8\n", encoding="utf-8")
    return path
