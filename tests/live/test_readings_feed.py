"""Outlet readings fed by file or HTTP land in the receiver's live store: same table, same key
(a reading fed and the same reading uploaded by a device are one row), each with its device's
outlet, the alarm rules run over them, and a batch with any problem written not at all."""

from __future__ import annotations

import pytest

from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.errors import LayerImportError
from onemap.live import livestore, readings
from onemap.live.hj212.frames import Packet
from onemap.live.registry import Device, Registry
from onemap.mapserver.feeds_api import ingest


@pytest.fixture
def table(live_settings: Settings) -> Settings:
    """The live store catalogued (as the receiver's first start does)."""
    livestore.catalogue(live_settings)
    return live_settings


def _water(settings: Settings) -> Device:
    return next(d for d in Registry(settings).devices().values()
                if d.medium == "water" and "w01018" in d.limits)


def _feed(settings: Settings, *rows: dict) -> feeds.Result:
    return ingest("outlet_readings", feeds.rows_frame(list(rows), "b"), settings, source="b")


def test_readings_fed_and_uploaded_are_one_row(table: Settings) -> None:
    device = _water(table)
    limit = device.limits["w01018"][1]
    row = {"mn": device.mn, "pollutant": "w01018", "interval": "hour",
           "time": "2026-01-01 08:00", "value": limit / 2, "flag": "N"}
    first = _feed(table, row, {**row, "pollutant": "011", "interval": "小时",
                               "time": "2026-01-01 09:00", "value": limit * 2})
    assert (first.inserted, first.rows) == (2, 2)
    again = _feed(table, row)
    assert again.inserted == 0
    # the device uploads the 08:00 hour itself later: still one row, the upload's value
    packet = Packet(st="32", cn="2061", pw="123456", mn=device.mn, qn="20260101090000001",
                    flag=5, cp="DataTime=20260101080000;w01018-Avg=39.0,w01018-Flag=N")
    conn = livestore.connect(livestore.path(table))
    readings.append(conn, readings.rows_of(packet, outlet_code=device.outlet_code))
    got = readings.read(conn, device.mn)
    assert [(r.pollutant, r.outlet_code, r.time, r.value) for r in got] == [
        ("w01018", device.outlet_code, "2026-01-01T00:00:00.000Z", 39.0),
        ("w01018", device.outlet_code, "2026-01-01T01:00:00.000Z", limit * 2)]
    # the back-filled hour over the limit raised its alarm, as an upload would
    alarm = conn.execute("SELECT rule, start FROM alarms WHERE mn = ?", (device.mn,)).fetchall()
    assert alarm == [("exceedance", "2026-01-01T01:00:00.000Z")]
    conn.close()


def test_bad_readings_are_refused_whole(table: Settings) -> None:
    device = _water(table)
    good = {"mn": device.mn, "pollutant": "a21026", "interval": "hour",
            "time": "2026-01-01 08:00", "value": 12}
    with pytest.raises(LayerImportError) as info:
        _feed(table, good, {**good, "interval": "week", "flag": "Q", "value": "x"},
              {**good, "mn": None}, good)
    where = {(p.row, p.field) for p in info.value.problems}
    assert {(2, "interval"), (2, "flag"), (2, "value"), (3, "mn"), (4, "mn")} <= where
    with pytest.raises(LayerImportError, match="no outlet carries the device"):
        _feed(table, good, {**good, "mn": "FFFF00000000000000000000"})
    conn = livestore.connect(livestore.path(table))
    assert readings.read(conn) == []
    conn.close()
