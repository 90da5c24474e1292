"""Raster ingestion: every usual data type and CRS becomes a valid, catalogued COG; a broken
input is refused with a message naming the file and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rio_cogeo.cogeo import cog_validate

from onemap import catalog
from onemap.config import Settings
from onemap.raster.ingest import add_raster

WIDTH, HEIGHT = 1100, 900


TRANSFORM = from_origin(117.0, 32.0, 0.001, 0.001)


def _write(path: Path, dtype: str, *, crs: str | None = "EPSG:4326", nodata=None) -> Path:
    """A plain striped GeoTIFF with a gradient and a nodata corner."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    info = np.iinfo(dtype) if np.issubdtype(np.dtype(dtype), np.integer) else None
    top = min(info.max, 5000) if info else 1.0
    data = ((x + y) / (WIDTH + HEIGHT) * top).astype(dtype)
    if nodata is not None:
        data[:50, :50] = nodata
    profile = dict(driver="GTiff", width=WIDTH, height=HEIGHT, count=1, dtype=dtype,
                   transform=TRANSFORM, nodata=nodata)
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def _leftovers(settings: Settings) -> list[str]:
    folder = settings.raster_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(("dtype", "crs", "nodata"), [
    ("uint8", "EPSG:4326", None), ("uint8", "EPSG:4490", 0), ("uint16", "EPSG:4326", 65535),
    ("int16", "EPSG:4490", -32768), ("float32", "EPSG:4326", -9999.0),
    ("float32", "EPSG:4490", None),
])
def test_rasters_become_valid_catalogued_cogs(tmp_path: Path, dtype: str, crs: str,
                                              nodata) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    src = _write(tmp_path / "in.tif", dtype, crs=crs, nodata=nodata)
    entry = add_raster(src, dataset_id="dem", title="测试", date="2025-07-01",
                       settings=settings)
    assert entry.kind == "raster" and entry.family == "raster"
    assert entry.path == "rasters/dem.tif"
    path = entry.file(settings)
    assert cog_validate(str(path), quiet=True)[0]
    assert path.stat().st_mode & 0o777 == 0o644, "the server user must be able to read the COG"
    with rasterio.open(path) as cog:
        assert cog.dtypes[0] == dtype and cog.crs.to_string() == crs
        assert cog.nodata == nodata
        assert cog.overviews(1), "a COG of this size needs internal overviews"
        assert cog.profile["compress"] == "deflate" and cog.profile["tiled"]
    assert entry.bbox == pytest.approx([117.0, 31.1, 118.1, 32.0], abs=1e-6)
    assert entry.extra["dtype"] == dtype and entry.extra["crs"] == crs
    assert entry.extra["nodata"] == nodata and entry.extra["date"] == "2025-07-01"
    assert entry.extra["bands"] == [{"index": 1, "name": "b1", "description": ""}]
    assert entry.extra["collection"] == "dem" and entry.extra["count"] == 1
    assert entry.extra["footprint"]["type"] == "Polygon"
    lo, hi = entry.extra["rescale"]
    assert lo < hi
    assert catalog.get("dem", settings) == entry
    assert _leftovers(settings) == ["dem.tif"]


def test_colormap_and_rescale_are_recorded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    src = _write(tmp_path / "ndvi.tif", "float32", nodata=-9999.0)
    entry = add_raster(src, dataset_id="ndvi", title="NDVI", colormap="onemap_ndvi",
                       rescale=[-0.2, 1.0], expression="b1", settings=settings)
    assert entry.extra["colormap"] == "onemap_ndvi"
    assert entry.extra["rescale"] == [-0.2, 1.0] and entry.extra["expression"] == "b1"
    default = add_raster(src, dataset_id="ndvi2", title="NDVI", colormap="onemap_ndvi",
                         settings=settings)
    assert default.extra["rescale"] == [-0.2, 1.0]  # the colormap's own range


def test_web_optimized_reprojects_to_web_mercator(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    src = _write(tmp_path / "in.tif", "uint8")
    entry = add_raster(src, dataset_id="web", title="web", web_optimized=True,
                       settings=settings)
    assert entry.extra["crs"] == "EPSG:3857"
    minx, miny, maxx, maxy = entry.bbox  # aligned on web tiles: a little larger
    assert minx <= 117.0 and miny <= 31.1 and maxx >= 118.1 and maxy >= 32.0
    assert maxx - minx < 1.5


def _no_crs(tmp_path: Path) -> Path:
    return _write(tmp_path / "nocrs.tif", "uint8", crs=None)


def _no_transform(tmp_path: Path) -> Path:
    path = tmp_path / "pixels.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=1,
                       dtype="uint8", crs="EPSG:4326") as dst:
        dst.write(np.zeros((64, 64), "uint8"), 1)
    return path


def _truncated(tmp_path: Path) -> Path:
    path = _write(tmp_path / "cut.tif", "float32", nodata=-9999.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.tif"
    path.write_text("这不是栅格 / not a raster\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("make", "words"), [
    (_no_crs, "no coordinate reference system"), (_no_transform, "geotransform"),
    (_truncated, "damaged or truncated"), (_text, "not a readable raster"),
])
def test_broken_rasters_are_refused_and_leave_nothing(tmp_path: Path, make, words: str) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    src = make(tmp_path)
    with pytest.raises(ValueError, match=words) as info:
        add_raster(src, dataset_id="broken", title="坏", settings=settings)
    assert src.name in str(info.value)
    assert "broken" not in catalog.load(settings)
    assert _leftovers(settings) == []


def test_bad_arguments_are_refused_before_any_work(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    src = _write(tmp_path / "in.tif", "uint8")
    with pytest.raises(ValueError, match="invalid dataset id"):
        add_raster(src, dataset_id="Bad-Id", title="x", settings=settings)
    with pytest.raises(ValueError, match="unknown colormap"):
        add_raster(src, dataset_id="ok", title="x", colormap="rainbowz", settings=settings)
    with pytest.raises(ValueError, match="rescale"):
        add_raster(src, dataset_id="ok", title="x", rescale=[1, 0], settings=settings)
    with pytest.raises(FileNotFoundError):
        add_raster(tmp_path / "missing.tif", dataset_id="ok", title="x", settings=settings)
    assert catalog.load(settings) == {} and _leftovers(settings) == []


def test_sample_ndvi_rasters_are_catalogued(sample_settings: Settings) -> None:
    for dataset_id, date in (("ndvi_2025_07", "2025-07"), ("ndvi_2025_04", "2025-04")):
        entry = catalog.get(dataset_id, sample_settings)
        assert entry.extra["date"] == date and entry.extra["colormap"] == "onemap_ndvi"
        assert entry.extra["rescale"] == [-0.2, 1.0] and entry.extra["nodata"] == -9999.0
        assert entry.bbox == pytest.approx([116.72, 30.92, 118.18, 32.18], abs=0.01)
        with rasterio.open(entry.file(sample_settings)) as cog:
            small = cog.read(1, out_shape=(240, 280), masked=True)
        assert -0.2 <= small.min() and small.max() <= 1.0
        assert 0.35 < float(small.mean()) < 0.7
    assert catalog.get("ndvi_2025_04", sample_settings).extra["crs"] == "EPSG:4490"
