"""IDW and kriging by hand, and one hour's PM2.5 surface of the sample as a COG."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import Point, box

from onemap.analysis import surfaces as S
from onemap.analysis.errors import InvalidInput, NoData
from onemap.layers.store import read_layer

X, Y, V = [117.0, 117.2, 117.1], [31.5, 31.5, 31.7], [10.0, 30.0, 50.0]


def test_idw_is_exact_at_stations_and_the_mean_midway():
    assert S.idw(X, Y, V, np.array(X), np.array(Y)).tolist() == V
    # midway between two stations and far from the third, power 2, two neighbours: the mean
    mid = S.idw(X[:2] + [120.0], Y[:2] + [35.0], [10.0, 30.0, 99.0], [117.1], [31.5],
                neighbours=2)
    assert mid[0] == pytest.approx(20.0)
    # with all three, the third (farther, 50) pulls it up by its 1/d² share, worked by hand in
    # km about the stations' mean latitude: (117.1, 31.5) is 0.1° lon from the first two and
    # 0.2° lat from the third
    kx = 111.32 * np.cos(np.radians(np.mean(Y)))
    d = np.array([0.1 * kx, 0.1 * kx, 0.2 * 111.32])
    w = 1 / d ** 2
    assert S.idw(X, Y, V, [117.1], [31.5])[0] == pytest.approx((w * V).sum() / w.sum())


def test_idw_measures_in_kilometres_not_degrees():
    # two stations 0.1° apart east-west and north-south of a point: at 31.5°N the east one is
    # nearer in km (0.1° lon ≈ 9.5 km < 0.1° lat ≈ 11.1 km), so it weighs more
    out = S.idw([117.1, 117.0, 119.0], [31.5, 31.6, 35.0], [100.0, 0.0, 0.0], [117.0], [31.5],
                neighbours=2)
    assert out[0] > 50


def test_kriging_interpolates_exactly_with_variance():
    gx, gy = np.array(X + [117.1]), np.array(Y + [31.55])
    est, var = S.ordinary_kriging(X + [117.3], Y + [31.8], V + [40.0], gx, gy,
                                  variogram="linear")
    assert est[:3] == pytest.approx(V, abs=1e-6)
    assert var[:3] == pytest.approx([0, 0, 0], abs=1e-6) and var[3] > 0
    same, zero = S.ordinary_kriging(X, Y, [7.0] * 3, gx, gy)
    assert same.tolist() == [7.0] * 4 and zero.tolist() == [0.0] * 4


def test_too_few_points_and_bad_parameters():
    with pytest.raises(NoData, match="at least 3"):
        S.idw(X[:2], Y[:2], V[:2], [117.0], [31.5])
    with pytest.raises(InvalidInput, match="variogram"):
        S.ordinary_kriging(X, Y, V, [117.0], [31.5], variogram="cubic")
    with pytest.raises(InvalidInput, match="res_deg"):
        S.region_grid(gpd.GeoDataFrame(geometry=[box(117, 31, 118, 32)], crs=4326), 5)


def test_grid_snaps_outward_and_masks_outside_the_region():
    region = gpd.GeoDataFrame(geometry=[box(117.003, 31.004, 117.098, 31.052)], crs=4326)
    g = S.region_grid(region, 0.01)
    assert g.bounds == (117.0, 31.0, 117.1, 31.06) and (g.width, g.height) == (10, 6)
    # an edge already on the grid stays there (30.92 / 0.01 is 3091.999… in floating point)
    on = S.region_grid(gpd.GeoDataFrame(geometry=[box(116.72, 30.92, 118.18, 32.18)], crs=4326))
    assert on.bounds == (116.72, 30.92, 118.18, 32.18) and (on.width, on.height) == (146, 126)
    outside = S.region_mask(g, region)
    assert outside[0].all() and not outside[1:].any()  # the top row's centres lie at 31.055


@pytest.fixture(scope="module")
def haze(sample_settings):
    region = read_layer("admin_boundaries", sample_settings)
    stations = read_layer("air_stations", sample_settings)
    hourly = read_layer("air_hourly", sample_settings,
                        where="time >= '2025-01-24T00:00:00' AND time < '2025-01-25T00:00:00'")
    return region, stations, hourly


@pytest.mark.parametrize("method", S.METHODS)
def test_a_haze_hour_of_the_sample(haze, method, tmp_path):
    region, stations, hourly = haze
    grid = S.region_grid(region, 0.01)
    da = S.pm25_surface(stations, hourly, "2025-01-24 20:00", grid=grid, method=method,
                        region=region)
    values = S.station_values(stations, hourly, "2025-01-24T20:00:00+08:00")
    assert da.attrs["n_stations"] == len(values) >= 30
    inside = np.isfinite(da.values)
    assert inside.any() and not inside.all()
    lo, hi = values["value"].min(), values["value"].max()
    assert lo - 1 <= float(np.nanmin(da)) and float(np.nanmax(da)) <= hi + 1
    # outside the region: NaN (a pixel whose centre is in no county)
    corner = region.union_all().contains(Point(grid.coords()[0][0], grid.coords()[1][0]))
    assert np.isnan(da.values[0, 0]) != corner
    path = S.write_surface_cog(da, tmp_path / f"pm25_{method}.tif")
    assert cog_validate(path)[0]
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326 and src.dtypes[0] == "float32"
        assert np.isnan(src.nodata) and src.tags()["method"] == method
        assert np.array_equal(src.read(1), da.values, equal_nan=True)
        # the pixel of a station holds (by IDW exactly) that station's value
        s = values.iloc[0]
        row, col = src.index(s.geometry.x, s.geometry.y)
        if method == "idw":
            near = S.idw(values.geometry.x, values.geometry.y, values["value"],
                         *(np.array([c]) for c in src.xy(row, col)))[0]
            assert src.read(1)[row, col] == pytest.approx(near, rel=1e-5)
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_a_time_without_data_and_an_unknown_pollutant(haze):
    region, stations, hourly = haze
    grid = S.region_grid(region, 0.05)
    with pytest.raises(NoData, match="time"):
        S.pm25_surface(stations, hourly, "2019-01-01 08:00", grid=grid)
    with pytest.raises(InvalidInput, match="pollutant"):
        S.pm25_surface(stations, hourly, "2025-01-24 20:00", grid=grid, pollutant="pm1")
    with pytest.raises(InvalidInput, match="method"):
        S.pm25_surface(stations, hourly, "2025-01-24 20:00", grid=grid, method="spline")
    with pytest.raises(InvalidInput, match="time"):
        S.station_values(stations, hourly, "not a time")
    assert len(S.station_values(stations, hourly, pd.Timestamp("2025-01-24 12:00Z"))) >= 30
