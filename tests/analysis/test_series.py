"""A run of hourly surfaces written out of core to zarr: equal to the single-hour surfaces,
cancellable, read range by range, nothing left behind on failure."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from onemap.analysis import series as R
from onemap.analysis import surfaces as S
from onemap.analysis.errors import InvalidInput, NoData
from onemap.layers.store import read_layer


@pytest.fixture(scope="module")
def inputs(sample_settings):
    region = read_layer("admin_boundaries", sample_settings)
    stations = read_layer("air_stations", sample_settings)
    calls: list[tuple[pd.Timestamp, pd.Timestamp]] = []

    def loader(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        calls.append((start, end))
        # times are stored as UTC text ("…T12:00:00Z"): an inclusive end is "< end + 1 s"
        a, b = start.tz_convert("UTC"), end.tz_convert("UTC") + pd.Timedelta(seconds=1)
        return read_layer("air_hourly", sample_settings,
                          where=f"time >= '{a:%Y-%m-%dT%H:%M:%S}' AND "
                                f"time < '{b:%Y-%m-%dT%H:%M:%S}'")

    return region, stations, loader, calls, S.region_grid(region, 0.02)


def test_series_hours_equal_single_surfaces(inputs, tmp_path):
    region, stations, loader, calls, grid = inputs
    calls.clear()
    seen: list[float] = []
    out = R.surface_series(stations, loader, "2025-01-24 01:00", "2025-01-26 00:00", grid=grid,
                           region=region, out=tmp_path / "pm25.zarr", chunk_hours=12,
                           progress=seen.append)
    # every block read only its own 12 hours
    assert len(calls) == 4 and all(b - a == pd.Timedelta(hours=11) for a, b in calls)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with xr.open_zarr(out, consolidated=False) as ds:
        assert ds.sizes == {"time": 48, "y": grid.height, "x": grid.width}
        assert str(ds.time.values[0])[:19] == "2025-01-23T17:00:00"  # 01:00 Beijing in UTC
        assert ds.rio.crs.to_epsg() == 4326
        for label in ("2025-01-24 20:00", "2025-01-25 09:00"):
            hourly = loader(pd.Timestamp(label, tz="Asia/Shanghai"),
                            pd.Timestamp(label, tz="Asia/Shanghai"))
            one = S.pm25_surface(stations, hourly, label, grid=grid, region=region)
            utc = pd.Timestamp(label, tz="Asia/Shanghai").tz_convert("UTC").tz_localize(None)
            np.testing.assert_array_equal(ds.pm25.sel(time=utc).values, one.values)
    assert [p.name for p in tmp_path.iterdir()] == ["pm25.zarr"]


def test_cancel_leaves_nothing(inputs, tmp_path):
    region, stations, loader, _, grid = inputs
    with pytest.raises(R.Cancelled):
        R.surface_series(stations, loader, "2025-01-01 01:00", "2025-01-10 00:00", grid=grid,
                         out=tmp_path / "x.zarr", chunk_hours=24,
                         progress=lambda f: f < 0.3)
    assert list(tmp_path.iterdir()) == []


def test_bad_spans_and_a_span_without_data(inputs, tmp_path):
    region, stations, loader, _, grid = inputs
    with pytest.raises(InvalidInput, match="end"):
        R.surface_series(stations, loader, "2025-02-01", "2025-01-01", grid=grid,
                         out=tmp_path / "x.zarr")
    with pytest.raises(InvalidInput, match="method"):
        R.surface_cube(stations, loader, "2025-01-01", "2025-01-02", grid=grid, method="x")
    with pytest.raises(NoData, match="start"):
        R.surface_series(stations, loader, "2019-01-01 01:00", "2019-01-02 00:00", grid=grid,
                         out=tmp_path / "x.zarr")
    assert list(tmp_path.iterdir()) == []


def test_the_cube_is_lazy(inputs):
    region, stations, loader, calls, grid = inputs
    calls.clear()
    cube = R.surface_cube(stations, loader, "2025-01-01 01:00", "2026-01-01 00:00", grid=grid,
                          chunk_hours=168)
    assert cube.sizes["time"] == 8760 and calls == []  # nothing read yet
    assert cube.chunks[0][0] == 168
