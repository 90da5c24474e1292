"""add_cube: refuses cubes the tile server could not render, writes nothing half-way, and the
sample PM2.5 cube agrees with the station model it is built from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from onemap import catalog
from onemap.config import Settings
from onemap.data import stations
from onemap.data.geography import geography
from onemap.raster.cube import add_cube


def _cube(times: int = 3, crs: str | None = "EPSG:4326") -> xr.Dataset:
    t = pd.date_range("2025-01-10 00:00", periods=times, freq="h").to_numpy()
    lat = np.linspace(32.0, 31.0, 20)
    lon = np.linspace(117.0, 118.0, 30)
    data = np.arange(times * 20 * 30, dtype="float32").reshape(times, 20, 30)
    ds = xr.Dataset({"pm25": (("time", "lat", "lon"), data)},
                    coords={"time": t, "lat": lat, "lon": lon})
    return ds.rio.write_crs(crs) if crs else ds


def _leftovers(settings: Settings) -> list[Path]:
    folder = settings.cube_dir
    return sorted(folder.iterdir()) if folder.exists() else []


def test_add_cube_registers_a_readable_zarr(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    entry = add_cube(_cube(), dataset_id="pm_test", title="测试", variable="pm25", unit="µg/m³",
                     colormap="onemap_pm25", rescale=[0, 250], settings=settings)
    assert entry.kind == "cube" and entry.path == "cubes/pm_test.zarr"
    extra = entry.extra
    assert extra["times"] == ["2025-01-10T00:00:00Z", "2025-01-10T01:00:00Z",
                              "2025-01-10T02:00:00Z"]
    assert extra["variable"] == "pm25" and extra["unit"] == "µg/m³"
    assert extra["crs"] == "EPSG:4326" and (extra["width"], extra["height"]) == (30, 20)
    assert extra["collection"] == "pm_test" and extra["colormap"] == "onemap_pm25"
    assert entry.bbox[0] < 117.0 and entry.bbox[2] > 118.0
    assert catalog.get("pm_test", settings).extra == extra
    ds = xr.open_zarr(entry.file(settings), consolidated=False, decode_coords="all")
    assert ds.rio.crs.to_epsg() == 4326
    np.testing.assert_array_equal(ds.pm25.values, _cube().pm25.values)
    # replacing the cube swaps the store and leaves no temporary folder behind
    add_cube(_cube(times=5), dataset_id="pm_test", title="测试", variable="pm25",
             settings=settings)
    assert len(catalog.get("pm_test", settings).extra["times"]) == 5
    assert [p.name for p in _leftovers(settings)] == ["pm_test.zarr"]


@pytest.mark.parametrize("make, words", [
    (lambda: _cube().isel(time=0).drop_vars("time"), "no 'time' dimension"),
    (lambda: _cube(crs=None), "no CRS"),
    (lambda: _cube().isel(time=[0, 2, 1]), "'time' must be strictly increasing"),
    (lambda: _cube().isel(lon=slice(None, None, -1)), "'lon' must be strictly increasing"),
    (lambda: _cube().rename(pm25="no2"), "no variable 'pm25'"),
    (lambda: _cube().transpose("lat", "lon", "time"), "exactly"),
])
def test_add_cube_refuses_in_words_and_leaves_nothing(tmp_path: Path, make, words: str) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValueError, match=words):
        add_cube(make(), dataset_id="bad", title="x", variable="pm25", settings=settings)
    assert catalog.load(settings) == {} and _leftovers(settings) == []


def test_add_cube_refuses_bad_style(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValueError, match="colormap"):
        add_cube(_cube(), dataset_id="bad", title="x", variable="pm25", colormap="nope",
                 settings=settings)
    with pytest.raises(ValueError, match="rescale"):
        add_cube(_cube(), dataset_id="bad", title="x", variable="pm25", rescale=[5, 1],
                 settings=settings)
    with pytest.raises(ValueError, match="invalid dataset id"):
        add_cube(_cube(), dataset_id="Bad-Id", title="x", variable="pm25", settings=settings)
    assert catalog.load(settings) == {} and _leftovers(settings) == []


def test_sample_cube_agrees_with_the_stations(sample_settings: Settings) -> None:
    entry = catalog.get("pm25_hourly", sample_settings)
    times = pd.DatetimeIndex([pd.Timestamp(t) for t in entry.extra["times"]])
    assert len(times) == 168 and (times.month == 1).all() and (times.year == 2025).all()
    assert entry.extra["unit"] == "µg/m³" and entry.extra["colormap"] == "onemap_pm25"
    ds = xr.open_zarr(entry.file(sample_settings), consolidated=False)
    grid = ds.pm25.values
    assert grid.shape == (168, entry.extra["height"], entry.extra["width"])
    assert float(np.nanmean(grid)) > 75, "a haze episode: mean above the 24 h limit of 75"
    st = stations.air_stations(geography())
    obs = stations.air_hourly(st).pivot(index="time", columns="station_id", values="pm25")
    local = times.tz_localize(None) + pd.Timedelta(hours=8)  # stations report Beijing time
    errors = []
    for s in st.itertuples():
        cube = ds.pm25.sel(lon=s.lon, lat=s.lat, method="nearest").values
        o = obs[s.station_id].reindex(local).to_numpy()
        ok = np.isfinite(o)
        errors.append(np.abs(cube[ok] - o[ok]) / o[ok])
    rel = np.concatenate(errors)
    assert np.median(rel) < 0.05 and np.quantile(rel, 0.95) < 0.2
