"""Upwind source weights on geometry built by hand, and on a sample haze episode."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from onemap.analysis.contribution import upwind_sources, wind_rose
from onemap.analysis.errors import InvalidInput, NoData
from onemap.layers.store import read_layer

KM_LAT = 1 / 111.2  # ≈ degrees of latitude per km


def _station() -> pd.Series:
    return gpd.GeoDataFrame({"station_id": ["1000A"], "name": ["测试站"]},
                            geometry=[Point(117.0, 31.5)], crs=4326).iloc[0]


def _sources() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "source_id": ["N5", "S5", "N10", "E5"], "name": ["北", "南", "北远", "东"],
        "pm_t": [100.0, 100.0, 100.0, 100.0], "so2_t": [0.0, 0.0, 0.0, 40.0],
        "nox_t": [0.0, 0.0, 0.0, 0.0],
    }, geometry=[Point(117.0, 31.5 + 5 * KM_LAT), Point(117.0, 31.5 - 5 * KM_LAT),
                 Point(117.0, 31.5 + 10 * KM_LAT), Point(117.0 + 5 * KM_LAT / 0.8526, 31.5)],
        crs=4326)


def _hours(wd: list[float], ws: list[float]) -> pd.DataFrame:
    times = pd.date_range("2025-01-10 01:00", periods=len(wd), freq="h", tz="Asia/Shanghai")
    return pd.DataFrame({"station_id": "1000A", "time": times, "wd": wd, "ws": ws,
                         "flag": "N"})


def test_wind_from_the_north_makes_northern_sources_upwind():
    res = upwind_sources(_station(), _sources(), _hours([0.0] * 4, [2.0] * 4),
                         "2025-01-10", "2025-01-10")
    t = res.sources.set_index("source_id")
    assert t.loc["N5", "upwind_share"] == 1 and t.loc["S5", "upwind_share"] == 0
    assert t.loc["E5", "upwind_share"] == 0
    # weight = E · Σ(1/u) / d² / N = 100 · 4·(1/2) / 25 / 4 = 2 ; at 10 km a quarter of it
    assert t.loc["N5", "weight"] == pytest.approx(2.0, rel=0.01)
    assert t.loc["N10", "weight"] == pytest.approx(0.5, rel=0.02)
    assert t.loc["N5", "contribution_share"] == pytest.approx(0.8, rel=0.01)
    assert list(res.sources["source_id"][:2]) == ["N5", "N10"]
    assert res.summary["prevailing_from"] == "N" and res.summary["valid_hours"] == 4


def test_half_the_hours_from_the_east_and_calms():
    # 2 h from the east (E5 upwind, its PM2.5 emission 100 + 0.25·40 = 110), 1 h north, 1 calm
    res = upwind_sources(_station(), _sources(), _hours([90, 90, 0, 180], [1.0, 1.0, 2.0, 0.3]),
                         "2025-01-10", "2025-01-10")
    t = res.sources.set_index("source_id")
    assert t.loc["E5", "upwind_share"] == 0.5 and t.loc["E5", "emission_t"] == 110
    assert t.loc["E5", "weight"] == pytest.approx(110 * 2 / 25 / 4, rel=0.02)
    assert t.loc["S5", "upwind_hours"] == 0  # the calm hour from the south counts for nobody
    assert res.summary["calm_share"] == 0.25
    assert np.isclose(res.sources["contribution_share"].sum(), 1.0)


def test_wind_rose_sectors():
    rose = wind_rose(_hours([0, 11, 12, 350, 90, 10], [1, 1, 1, 1, 1, 0.1]))
    assert rose.set_index("sector")["hours"].to_dict() | {} == {
        **{s: 0 for s in rose["sector"]}, "N": 3, "NNE": 1, "E": 1}


def test_invalid_input():
    st, src = _station(), _sources()
    hours = _hours([0.0] * 4, [2.0] * 4)
    with pytest.raises(InvalidInput, match="pollutant"):
        upwind_sources(st, src, hours, "2025-01-10", "2025-01-10", pollutant="co")
    with pytest.raises(InvalidInput, match="max_km"):
        upwind_sources(st, src, hours, "2025-01-10", "2025-01-10", max_km=0)
    with pytest.raises(InvalidInput, match="end"):
        upwind_sources(st, src, hours, "2025-01-10", "2025-01-01")
    with pytest.raises(NoData, match="start"):
        upwind_sources(st, src, hours, "2024-01-10", "2024-01-11")


def test_a_sample_haze_episode(sample_settings):
    stations = read_layer("air_stations", sample_settings)
    sources = read_layer("pollution_sources", sample_settings)
    hourly = read_layer("air_hourly", sample_settings,
                        where="station_id = '1272A' AND time >= '2025-01-20T00:00:00' "
                              "AND time < '2025-01-28T00:00:00'")
    station = stations.set_index("station_id", drop=False).loc["1272A"]
    res = upwind_sources(station, sources, hourly, "2025-01-21", "2025-01-25")
    top = res.sources.iloc[0]
    assert top["upwind_hours"] > 0 and top["distance_km"] <= 50
    assert res.summary["valid_hours"] >= 100
    # winter north-easterlies: the prevailing sector is between N and E
    assert res.summary["prevailing_from"] in ("N", "NNE", "NE", "ENE", "E")
    gj = res.to_geojson()
    assert gj["features"][0]["properties"]["role"] == "station"
    assert len(gj["features"]) == len(res.sources) + 1


def test_all_calm_hours_have_no_prevailing_direction():
    res = upwind_sources(_station(), _sources(), _hours([0.0, 90.0], [0.2, 0.4]),
                         "2025-01-10", "2025-01-10")
    assert res.summary["prevailing_from"] is None and res.summary["calm_share"] == 1.0
    assert (res.sources["upwind_hours"] == 0).all()
