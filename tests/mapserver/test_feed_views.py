"""The views a feed changes are updated in place for the sites fed — not rebuilt — and stay
right when feeds arrive together."""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from onemap import catalog
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.importer import import_frame
from onemap.mapserver import views
from onemap.mapserver.feeds_api import ingest

STATIONS = ["1001A", "1002A", "1003A", "1004A"]


@pytest.fixture
def fed(tmp_path: Path) -> Settings:
    """Four stations with one valid hour each, and their views built."""
    settings = Settings(data_dir=tmp_path / "data")
    import_frame(gpd.GeoDataFrame(
        {"station_id": STATIONS, "name": STATIONS, "station_type": ["national"] * 4},
        geometry=[Point(117 + i / 10, 31.8) for i in range(4)], crs="EPSG:4326"),
        "air_stations", source="stations.geojson", settings=settings)
    import_frame(pd.DataFrame({"station_id": STATIONS, "time": ["2026-01-01 08:00"] * 4,
                               "pm25": [30, 30, 30, 30], "flag": ["N"] * 4}),
                 "air_hourly", source="hourly.csv", settings=settings)
    views.materialise(catalog.load(settings), settings)
    return settings


def _view(settings: Settings) -> pd.DataFrame:
    path = settings.runtime_dir / "views" / "air_stations.gpkg"
    return pyogrio.read_dataframe(path, read_geometry=False).set_index("station_id")


def _hour(station: str, hour: int, pm25: float, flag: str = "N") -> dict:
    return {"station_id": station, "time": f"2026-01-01 {hour:02d}:00", "pm25": pm25,
            "flag": flag}


def test_only_the_stations_fed_change(fed: Settings) -> None:
    before = _view(fed)
    ingest("air_hourly", feeds.rows_frame([_hour("1002A", 9, 250)], "b"), fed, source="b")
    after = _view(fed)
    assert after.loc["1002A", "pm25"] == 250 and after.loc["1002A", "aqi"] > 250
    assert str(after.loc["1002A", "time"]).startswith("2026-01-01 01:00")
    pd.testing.assert_frame_equal(after.drop(index="1002A"), before.drop(index="1002A"))
    # an hour that is not valid (flag C) does not become the latest state
    ingest("air_hourly", feeds.rows_frame([_hour("1002A", 10, 5, flag="C")], "b"), fed,
           source="b")
    assert _view(fed).loc["1002A", "pm25"] == 250
    # the view is up to date: the server's next start or reload does not rebuild it
    path = fed.runtime_dir / "views" / "air_stations.gpkg"
    stamp = path.stat().st_mtime_ns
    views.materialise(catalog.load(fed), fed)
    assert path.stat().st_mtime_ns == stamp


def test_feeds_arriving_together_all_show(fed: Settings) -> None:
    errors: list[BaseException] = []

    def feed(station: str, value: float) -> None:
        try:
            ingest("air_hourly", feeds.rows_frame([_hour(station, 11, value)], "b"), fed,
                   source=station)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(s, 100 + n)) for n, s in enumerate(STATIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    view = _view(fed)
    assert [view.loc[s, "pm25"] for s in STATIONS] == [100, 101, 102, 103]
    assert catalog.get("air_hourly", fed).feature_count == 8
