"""Outlet readings fed by file or HTTP go through the receiver's writer: same table, same key,
so a reading fed and the same reading uploaded by a device are one row."""

from __future__ import annotations

from pathlib import Path

import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.errors import LayerImportError
from onemap.live import readings
from onemap.live.hj212.frames import Packet
from onemap.mapserver.feeds_api import ingest

MN = "010000A8900016F000169DC0"


@pytest.fixture
def table(tmp_path: Path) -> Settings:
    """A data dir whose catalogue holds the receiver's readings table."""
    settings = Settings(data_dir=tmp_path / "data")
    path = settings.store_dir / "outlet_readings.gpkg"
    readings.connect(path).close()
    catalog.put(catalog.Entry(id="outlet_readings", kind="table", family="outlet_readings",
                              title="排放口在线监测数据", access="internal",
                              path="store/outlet_readings.gpkg"), settings)
    return settings


def _feed(settings: Settings, *rows: dict) -> feeds.Result:
    return ingest("outlet_readings", feeds.rows_frame(list(rows), "b"), settings, source="b")


def test_readings_fed_and_uploaded_are_one_row(table: Settings) -> None:
    path = catalog.get("outlet_readings", table).file(table)
    row = {"mn": MN, "pollutant": "w01018", "interval": "hour",
           "time": "2026-01-01 08:00", "value": 40.1, "flag": "N"}
    first = _feed(table, row, {**row, "pollutant": "011", "interval": "小时",
                               "time": "2026-01-01 09:00", "value": 41})
    assert (first.inserted, first.rows) == (2, 2)
    again = _feed(table, row)
    assert again.inserted == 0
    # the device uploads the 08:00 hour itself later: still one row, the upload's value
    packet = Packet(st="32", cn="2061", pw="123456", mn=MN, qn="20260101090000001", flag=5,
                    cp="DataTime=20260101080000;w01018-Avg=39.0,w01018-Flag=N")
    conn = readings.connect(path)
    readings.append(conn, readings.rows_of(packet))
    got = readings.read(conn, MN)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the receiver's mode
    conn.close()
    assert [(r.pollutant, r.time, r.value) for r in got] == [
        ("w01018", "2026-01-01T00:00:00Z", 39.0), ("w01018", "2026-01-01T01:00:00Z", 41.0)]
    entry = catalog.get("outlet_readings", table)
    assert entry.feature_count == 2
    assert entry.time_extent == ["2026-01-01T08:00:00+08:00", "2026-01-01T09:00:00+08:00"]


def test_bad_readings_are_refused_whole(table: Settings) -> None:
    good = {"mn": MN, "pollutant": "a21026", "interval": "hour", "time": "2026-01-01 08:00",
            "value": 12}
    with pytest.raises(LayerImportError) as info:
        _feed(table, good, {**good, "interval": "week", "flag": "Q", "value": "x"},
              {**good, "mn": None}, good)
    where = {(p.row, p.field) for p in info.value.problems}
    assert {(2, "interval"), (2, "flag"), (2, "value"), (3, "mn"), (4, "mn")} <= where
    conn = readings.connect(catalog.get("outlet_readings", table).file(table))
    assert readings.read(conn) == []
    conn.close()
