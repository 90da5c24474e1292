"""Zonal statistics agree with an independent computation (``rasterio.mask`` on the same COG,
same pixel-centre rule) on the sample's red lines and counties, and on a 4-band scene through the
NDVI expression whose exact value is known."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.mask
from shapely.geometry import box

from onemap.config import Settings
from onemap.layers.store import read_layer
from onemap.raster.ingest import add_raster
from onemap.raster.zonal import stat_columns, zonal_stats
from tests.raster.makers import SCENE_BANDS, scene_ndvi, write_scene

NDVI_EXPRESSION = "(b4-b3)/(b4+b3)"


def _reference(path: Path, geom, indexes=1) -> np.ndarray:
    """Valid values inside ``geom`` (already in the raster CRS) read by rasterio.mask."""
    with rasterio.open(path) as src:
        data, _ = rasterio.mask.mask(src, [geom], crop=True, filled=False, indexes=indexes)
    values = data.compressed().astype("float64")
    return values[np.isfinite(values)]


@pytest.mark.parametrize("layer_id", ["red_lines", "admin_boundaries"])
@pytest.mark.parametrize("raster_id", ["ndvi_2025_07", "ndvi_2025_04"])
def test_sample_polygons_match_rasterio_mask(sample_settings: Settings, layer_id: str,
                                             raster_id: str) -> None:
    polygons = read_layer(layer_id, sample_settings)
    path = sample_settings.raster_dir / f"{raster_id}.tif"
    stats = zonal_stats(path, polygons, percentiles=(10, 50, 90))
    assert list(stats.columns) == stat_columns((10, 50, 90))
    assert list(stats.index) == list(polygons.index)
    with rasterio.open(path) as src:
        local = polygons.to_crs(src.crs)
    for idx, geom in local.geometry.items():
        ref = _reference(path, geom)
        row = stats.loc[idx]
        assert row["count"] == ref.size > 0, idx
        assert 0 < row["valid_percent"] <= 100
        assert row["min"] == pytest.approx(ref.min(), abs=1e-6)
        assert row["max"] == pytest.approx(ref.max(), abs=1e-6)
        assert row["mean"] == pytest.approx(ref.mean(), abs=1e-5)
        assert row["std"] == pytest.approx(ref.std(), abs=1e-5)
        assert row["median"] == pytest.approx(np.median(ref), abs=1e-6)
        for p in (10, 50, 90):
            assert row[f"p{p}"] == pytest.approx(np.percentile(ref, p), abs=1e-6)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalogued 4-band EPSG:4490 scene: vegetation on the left half, water on the right."""
    tmp = tmp_path_factory.mktemp("zonal")
    settings = Settings(data_dir=tmp / "data")
    src = write_scene(tmp / "scene.tif")
    entry = add_raster(src, dataset_id="scene", title="scene", expression=NDVI_EXPRESSION,
                       settings=settings)
    return entry.file(settings)


def _frame(*geoms, crs: str = "EPSG:4490") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"z{i}" for i in range(len(geoms))]},
                            geometry=list(geoms), crs=crs)


def test_scene_ndvi_expression_gives_the_known_values(scene: Path) -> None:
    # the scene spans lon 117.0–117.6, lat 31.5–32.0; its left half (lon < 117.3) is vegetation
    veg, water = box(117.05, 31.6, 117.25, 31.9), box(117.35, 31.6, 117.55, 31.9)
    both = box(117.2, 31.6, 117.4, 31.7)
    polys = _frame(veg, water, both, crs="EPSG:4326")  # reprojected to the scene's 4490
    stats = zonal_stats(scene, polys, expression=NDVI_EXPRESSION)
    assert stats.loc[0, "mean"] == pytest.approx(scene_ndvi(True))
    assert stats.loc[0, "std"] == pytest.approx(0.0, abs=1e-12)
    assert stats.loc[1, "max"] == pytest.approx(scene_ndvi(False))
    assert stats.loc[2, "min"] == pytest.approx(scene_ndvi(False))
    assert stats.loc[2, "max"] == pytest.approx(scene_ndvi(True))
    assert stats.loc[2, "mean"] == pytest.approx((scene_ndvi(True) + scene_ndvi(False)) / 2,
                                                 abs=0.01)
    # independent: the same expression computed on rasterio.mask's pixels
    with rasterio.open(scene) as src:
        geom = polys.to_crs(src.crs).geometry[2]
        data, _ = rasterio.mask.mask(src, [geom], crop=True, filled=False, indexes=[3, 4])
    red, nir = data.astype("float64")
    ndvi = ((nir - red) / (nir + red)).compressed()
    assert stats.loc[2, "count"] == ndvi.size
    assert stats.loc[2, "mean"] == pytest.approx(ndvi.mean(), rel=1e-9)
    assert stats.loc[2, "p90"] == pytest.approx(np.percentile(ndvi, 90), rel=1e-9)


def test_multiband_gives_one_column_set_per_band(scene: Path) -> None:
    stats = zonal_stats(scene, _frame(box(117.05, 31.6, 117.25, 31.9)), percentiles=(50,))
    for name in SCENE_BANDS:
        assert f"{name}_mean" in stats.columns and f"{name}_p50" in stats.columns
    assert stats.loc[0, "nir_mean"] == 2000 and stats.loc[0, "red_median"] == 500
    only = zonal_stats(scene, _frame(box(117.05, 31.6, 117.25, 31.9)), bidx=[4])
    assert only.loc[0, "mean"] == 2000 and "nir_mean" not in only.columns


def test_polygon_outside_the_raster_gets_nan_not_an_error(scene: Path) -> None:
    far = box(100.0, 20.0, 100.1, 20.1)
    tiny = box(117.10001, 31.70001, 117.10002, 31.70002)  # smaller than a pixel, no centre
    stats = zonal_stats(scene, _frame(far, tiny, box(117.05, 31.6, 117.25, 31.9)), bidx=[4])
    for idx in (0, 1):
        assert stats.loc[idx, "count"] == 0
        assert np.isnan(stats.loc[idx, "mean"]) and np.isnan(stats.loc[idx, "p90"])
    assert stats.loc[2, "count"] > 0


def test_nodata_pixels_are_excluded_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "nd.tif"
    data = np.arange(100, dtype="float32").reshape(10, 10)
    data[:5, :] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:4326", nodata=-9999.0,
                       transform=rasterio.transform.from_origin(117.0, 32.0, 0.1, 0.1)) as dst:
        dst.write(data, 1)
    stats = zonal_stats(path, _frame(box(117.0, 31.0, 118.0, 32.0), crs="EPSG:4326"))
    assert stats.loc[0, "count"] == 50
    assert stats.loc[0, "valid_percent"] == pytest.approx(50.0)
    assert stats.loc[0, "min"] == 50 and stats.loc[0, "max"] == 99


def test_window_reads_only_the_polygon(scene: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small polygon reads a small window, never the whole raster."""
    shapes = []
    original = rasterio.io.DatasetReader.read

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        shapes.append(out.shape)
        return out

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", spy)
    zonal_stats(scene, _frame(box(117.1, 31.7, 117.11, 31.71)))
    assert shapes and all(s[-1] <= 12 and s[-2] <= 12 for s in shapes), shapes


def test_bad_requests_are_value_errors(scene: Path) -> None:
    polys = _frame(box(117.1, 31.7, 117.2, 31.8))
    with pytest.raises(ValueError, match="band 5"):
        zonal_stats(scene, polys, bidx=[5])
    with pytest.raises(ValueError, match="percentile"):
        zonal_stats(scene, polys, percentiles=(150,))
    with pytest.raises(ValueError, match="CRS"):
        zonal_stats(scene, gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))
