"""Cube tiles and point values by catalogue id (titiler.xarray at /cube/{id}), on the sample."""

from __future__ import annotations

import morecantile
import numpy as np
import pandas as pd
import pytest
import requests
from rasterio.io import MemoryFile

from onemap import catalog
from onemap.config import Settings
from onemap.data import stations
from onemap.data.geography import geography

TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def times(sample_settings: Settings) -> list[str]:
    return catalog.get("pm25_hourly", sample_settings).extra["times"]


def _rgba(png: bytes) -> np.ndarray:
    with MemoryFile(png) as mem, mem.open() as img:
        return img.read()


def _tile(live_server: str, when: str, **extra: str) -> requests.Response:
    t = TMS.tile(117.3, 31.8, 9)
    return requests.get(f"{live_server}/cube/pm25_hourly/tiles/WebMercatorQuad/9/{t.x}/{t.y}.png",
                        params={"variable": "pm25", "sel": f"time={when}",
                                "colormap_name": "onemap_pm25", "rescale": "0,250", **extra},
                        timeout=60)


def test_tiles_at_two_hours_differ(live_server: str, times: list[str]) -> None:
    a, b = _tile(live_server, times[10]), _tile(live_server, times[100])
    for r in (a, b):
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text[:200]
    pa, pb = _rgba(a.content), _rgba(b.content)
    assert pa.shape == pb.shape == (4, 256, 256) and (pa[3] > 0).all()
    assert (pa != pb).any(axis=0).mean() > 0.2
    # the same instant spelled in Beijing time gives the same tile
    local = (pd.Timestamp(times[10]) + pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    assert _tile(live_server, local).content == a.content


def test_point_at_stations_matches_hourly_pm25(live_server: str, times: list[str]) -> None:
    st = stations.air_stations(geography())
    obs = stations.air_hourly(st).pivot(index="time", columns="station_id", values="pm25")
    checked = 0
    for s in st.iloc[::6].itertuples():
        for when in (times[5], times[80], times[150]):
            local = pd.Timestamp(when).tz_localize(None) + pd.Timedelta(hours=8)
            want = obs.at[local, s.station_id] if local in obs.index else np.nan
            if not np.isfinite(want):
                continue
            r = requests.get(f"{live_server}/cube/pm25_hourly/point/{s.lon},{s.lat}",
                             params={"sel": f"time={when}"}, timeout=30)
            assert r.status_code == 200, r.text
            got = r.json()["values"][0]
            assert abs(got - want) <= 0.15 * want + 3, (s.station_id, when, got, want)
            checked += 1
    assert checked >= 12


def test_tilejson_and_info(live_server: str, times: list[str]) -> None:
    r = requests.get(f"{live_server}/cube/pm25_hourly/WebMercatorQuad/tilejson.json",
                     params={"variable": "pm25", "sel": f"time={times[3]}"}, timeout=30)
    assert r.status_code == 200
    tile_url = r.json()["tiles"][0]
    assert tile_url.startswith(f"{live_server}/cube/pm25_hourly/tiles/WebMercatorQuad/")
    info = requests.get(f"{live_server}/cube/pm25_hourly/info", timeout=30).json()
    assert info["width"] == 146 and info["height"] == 126 and info["dtype"] == "float32"


@pytest.mark.parametrize("sel, words", [
    ("time=2030-01-01T00:00:00Z", "outside the cube"),
    ("time=2025-01-22T08:30:00Z", "no step at"),
    ("time=yesterday", "not an ISO 8601 time"),
    ("lat=31.8", "only the time dimension"),
    ("time=sideways::2025-01-22T08:00:00Z", "unknown method"),
])
def test_bad_time_selection_is_400_in_words(live_server: str, sel: str, words: str) -> None:
    t = TMS.tile(117.3, 31.8, 9)
    r = requests.get(f"{live_server}/cube/pm25_hourly/tiles/WebMercatorQuad/9/{t.x}/{t.y}.png",
                     params={"sel": sel}, timeout=30)
    assert r.status_code == 400 and words in r.json()["detail"], r.text
    assert r.json()["code"] == "InvalidParameterValue"


def test_nearest_time_inside_the_cube(live_server: str, times: list[str]) -> None:
    when = (pd.Timestamp(times[20]) + pd.Timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    near = _tile(live_server, f"nearest::{when}")
    assert near.status_code == 200 and near.content == _tile(live_server, times[20]).content


def test_only_catalogued_cubes_are_reachable(live_server: str) -> None:
    for dataset_id in ("ndvi_2025_07", "air_stations", "nope", "..%2F..%2Fetc", "PM25"):
        r = requests.get(f"{live_server}/cube/{dataset_id}/info", timeout=30)
        assert r.status_code == 404, (dataset_id, r.text)
    ok = requests.get(f"{live_server}/cube/pm25_hourly/point/117.25,31.86", timeout=30).json()
    # parameters that would name another store are not parameters here: same answer
    for evil in ({"url": "/etc/passwd"}, {"group": "../../rasters"}, {"src_path": "/etc"},
                 {"decode_times": "false"}):
        r = requests.get(f"{live_server}/cube/pm25_hourly/point/117.25,31.86", params=evil,
                         timeout=30)
        assert r.status_code == 200 and r.json() == ok
    r = requests.get(f"{live_server}/cube/pm25_hourly/point/117.25,31.86",
                     params={"variable": "no2"}, timeout=30)
    assert r.status_code == 400 and "pm25" in r.json()["detail"]
