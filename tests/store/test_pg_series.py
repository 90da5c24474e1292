"""Time series in PostGIS: partitioned by year, read by EDR, fed there as in the GeoPackage.

The PostGIS server of tests/store (conftest) loaded the sample's ``air_hourly`` (347,527 hours
of 2025, some on 2024's last evening in UTC) and ``water_samples`` at its start. Its EDR answers
must be the GeoPackage server's, read from PostgreSQL's partitions (their scans counted);
a feed reaches both stores (a table of its own); a series PostgreSQL missed is read from its
file until reloaded.
"""

from __future__ import annotations

import sqlite3
import time

import pandas as pd
import psycopg
import pytest
import requests

from onemap import catalog
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.importer import import_frame
from onemap.store import follow_catalogue, pg_load, pg_series
from tests.conftest import Caller
from tests.store.conftest import Pg

pytestmark = pytest.mark.server

EDR = [
    ("air_stations/locations/1271A", {}),  # a whole year, both partitions, in time order
    ("air_stations/locations/1270A", {"datetime": "2025-03-01T00:00:00Z/2025-03-09T23:00:00Z"}),
    ("air_stations/locations/1270A", {"parameter-name": "pm25,no2", "datetime": "2025-07-01/.."}),
    ("air_stations/locations/1270A", {"datetime": "2024-12-31T16:00:00Z"}),
    ("air_stations/cube", {"bbox": "117.1,31.7,117.4,31.95", "parameter-name": "o3",
                           "datetime": "2025-05-01T00:00:00+08:00/2025-05-20T00:00:00+08:00"}),
    ("air_stations/area", {"coords": "POLYGON((117 31.5,117.5 31.5,117.5 32,117 32,117 31.5))",
                           "parameter-name": "pm10", "datetime": "2025-10-01/2025-10-03"}),
    ("air_stations/position", {"coords": "POINT(117.3 31.85)", "f": "geojson",
                               "datetime": "2025-01-10/2025-01-11"}),
    ("water_sections/cube", {"bbox": "116,30,119,33", "parameter-name": "codmn,nh3n"}),
]


def test_a_window_without_rows_is_an_empty_series_on_both(
        pg: Pg, live_server: str, callers: dict[str, Caller]) -> None:
    path, params = "air_stations/locations/1270A", {"datetime": "2019-01-01/2019-02-01"}
    ours = _edr(pg.base, path, params, callers["viewer"])
    assert ours.status_code == 200, ours.text
    assert ours.json() == _edr(live_server, path, params, callers["viewer"]).json()
    assert ours.json()["domain"]["axes"]["t"]["values"] == []


def _edr(base: str, path: str, params: dict, caller: Caller) -> requests.Response:
    return requests.get(f"{base}/ogc/collections/{path}", params={"f": "json", **params},
                        headers=caller.headers, timeout=120)


def _scans(url: str, table: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute(
            "SELECT coalesce(sum(coalesce(idx_scan, 0) + seq_scan), 0) FROM pg_stat_user_tables "
            "WHERE schemaname = 'layers' AND relname LIKE %s", [f"{table}_y%"]).fetchone()[0])


def test_series_are_partitioned_by_year_with_their_key(pg: Pg) -> None:
    entry = catalog.get("air_hourly", pg.settings)
    assert pg_series.series_key(entry) == ("station_id", "time")
    assert pg_load.is_current(entry, pg.settings)
    with psycopg.connect(pg.url) as conn:
        parts = {r[0]: r[1] for r in conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'layers.air_hourly'::regclass")}
        assert set(parts) == {"air_hourly_y2024", "air_hourly_y2025"}
        assert "'2025-01-01 00:00:00+00'" in parts["air_hourly_y2025"]
        counts = dict(conn.execute("SELECT tableoid::regclass::text, count(*) FROM "
                                   "layers.air_hourly GROUP BY 1"))
        assert sum(counts.values()) == entry.feature_count == 347_527
        with sqlite3.connect(entry.file(pg.settings)) as lite:  # 2024's last evening in UTC
            evening = lite.execute("SELECT count(*) FROM air_hourly "
                                   "WHERE substr(time, 1, 4) = '2024'").fetchone()[0]
        assert counts["layers.air_hourly_y2024"] == evening > 0
        keys = [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'air_hourly_y2025'")]
    assert any("UNIQUE" in k and "(station_id, \"time\")" in k for k in keys)
    assert any("brin" in k for k in keys)


@pytest.mark.parametrize(("path", "params"), EDR, ids=[f"{p}-{i}" for i, (p, _) in
                                                        enumerate(EDR)])
def test_edr_answers_as_the_geopackage_from_the_partitions(
        pg: Pg, live_server: str, callers: dict[str, Caller], path: str, params: dict) -> None:
    viewer = callers["viewer"]
    table = "water_samples" if path.startswith("water") else "air_hourly"
    scans = _scans(pg.url, table)
    ours, theirs = _edr(pg.base, path, params, viewer), _edr(live_server, path, params, viewer)
    assert ours.status_code == theirs.status_code == 200, ours.text
    assert ours.json() == theirs.json()
    values = [v for c in ours.json().get("coverages", [ours.json()])
              for r in c.get("ranges", {}).values() for v in r["values"]] \
        or [f["properties"] for f in ours.json().get("features", [])]
    assert values and any(v is not None for v in values)
    deadline = time.monotonic() + 10  # a backend reports its counts within a second of idling
    while _scans(pg.url, table) == scans and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _scans(pg.url, table) > scans


def test_a_year_of_one_station_is_read_whole_and_a_countrys_worth_refused(
        pg: Pg, callers: dict[str, Caller]) -> None:
    year = _edr(pg.base, "air_stations/locations/1270A", {}, callers["viewer"])
    assert year.status_code == 200
    assert len(year.json()["domain"]["axes"]["t"]["values"]) > 8000  # every hour it reported
    assert set(year.json()["ranges"]) == {"pm25", "pm10", "so2", "no2", "co", "o3", "ws", "wd"}
    everything = _edr(pg.base, "air_stations/cube", {"bbox": "116,30,119,33"},
                      callers["viewer"])
    assert everything.status_code == 400
    assert "1000000 values" in everything.json()["detail"]


def _hour(pm25: float, when: str = "2026-01-02T09:00:00+08:00") -> pd.DataFrame:
    return feeds.rows_frame([{"station_id": "1270A", "time": when, "pm25": pm25, "flag": "N"}],
                            "batch")


def _pm25(pg: Pg, caller: Caller, when: str) -> list:
    r = requests.get(f"{pg.base}/ogc/collections{FED}/items",
                     params={"f": "json", "datetime": when, "sortby": "time"},
                     headers=caller.headers, timeout=60)
    assert r.status_code == 200, r.text
    return [f["properties"]["pm25"] for f in r.json()["features"]]


FED = "/air_hourly_fed"


def test_a_feed_reaches_postgis_and_a_missed_one_is_read_from_the_file(
        pg: Pg, callers: dict[str, Caller]) -> None:
    viewer, table = callers["viewer"], FED[1:]
    # a table of its own (the other tests compare air_hourly with the GeoPackage server's)
    import_frame(pd.DataFrame({"站点编码": ["1270A", "1270A"], "PM2.5": [30, 31],
                               "监测时间": ["2025-12-31 08:00", "2025-12-31 09:00"],
                               "数据标识": ["N", "N"]}),
                 "air_hourly", source="fed.csv", layer_id=table, settings=pg.settings)
    assert pg_load.is_current(catalog.get(table, pg.settings), pg.settings)
    result = feeds.append(table, _hour(41.0), pg.settings, source="batch")
    assert result.inserted == 1
    assert pg_load.is_current(catalog.get(table, pg.settings), pg.settings)  # no reload
    with psycopg.connect(pg.url) as conn:
        row = conn.execute(f"SELECT pm25, tableoid::regclass::text FROM layers.{table} "  # noqa: S608
                           "WHERE station_id = '1270A' AND time = '2026-01-02T01:00:00Z'"
                           ).fetchone()
    assert row == (41.0, f"layers.{table}_y2026")  # a new year: its partition made
    assert _pm25(pg, viewer, "2026-01-02T01:00:00Z") == [41.0]
    feeds.append(table, _hour(42.5), pg.settings, source="batch")  # the hour corrected
    assert _pm25(pg, viewer, "2026-01-02T01:00:00Z") == [42.5]
    # a feed PostgreSQL did not hear of (written without its URL): the file answers meanwhile
    feeds.append(table, _hour(17.0, "2026-01-02T10:00:00+08:00"),
                 Settings(data_dir=pg.settings.data_dir, system_db=pg.settings.system_db),
                 source="batch")
    assert not pg_load.is_current(catalog.get(table, pg.settings), pg.settings)
    assert _pm25(pg, viewer, "2026-01-02T01:00:00Z/2026-01-02T02:00:00Z") == [42.5, 17.0]
    # …and a feed meanwhile leaves the rows to the reload, which brings both in
    feeds.append(table, _hour(18.0, "2026-01-02T11:00:00+08:00"), pg.settings, source="batch")
    assert not pg_load.is_current(catalog.get(table, pg.settings), pg.settings)
    follow_catalogue(pg.settings)
    assert pg_load.is_current(catalog.get(table, pg.settings), pg.settings)
    with psycopg.connect(pg.url) as conn:
        assert [r[0] for r in conn.execute(
            f"SELECT pm25 FROM layers.{table} ORDER BY time")] == [30, 31, 42.5, 17.0, 18.0]  # noqa: S608
    assert _pm25(pg, viewer, "2025-12-31T00:00:00Z/..") == [30, 31, 42.5, 17.0, 18.0]
