"""Readings from HJ 212 uploads: rows per pollutant, upserted by key, durable and readable by
GDAL as an attribute table of a GeoPackage."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyogrio
import pytest

from onemap.live import livestore, readings
from onemap.live.hj212 import cp
from onemap.live.hj212.frames import Packet

MN = "010000A8900016F000169DC0"


def _hourly(cp_text: str, cn: str = "2061") -> Packet:
    return Packet(st="32", cn=cn, pw="123456", mn=MN, qn="20260101090000001", flag=5,
                  cp=cp_text)


def test_rows_of_an_upload() -> None:
    got = readings.rows_of(_hourly(
        "DataTime=20260101080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,"
        "w00000-Max=20.1,w00000-Flag=N;011-Avg=40.1,011-Flag=D;SB1-RS=1"),
        received=datetime(2026, 1, 1, 1, 0, 5, tzinfo=UTC))
    assert [(r.pollutant, r.interval, r.time, r.value, r.flag) for r in got] == [
        ("w00000", "hour", "2026-01-01T00:00:00.000Z", 17.5, "N"),  # Beijing 08:00 is 00:00 UTC
        ("w01018", "hour", "2026-01-01T00:00:00.000Z", 40.1, "D")]  # the 2005 code mapped
    assert got[0].cou == 63.0 and got[0].min == 16.4 and got[0].received.startswith(
        "2026-01-01T01:00:05")
    rtd = readings.rows_of(_hourly("DataTime=20260101080000123;a21026-Rtd=35.2", cn="2011"))
    assert rtd[0].value == 35.2 and rtd[0].interval == "realtime"
    assert readings.rows_of(_hourly("QnRtn=1", cn="9011")) == []
    status = readings.rows_of(_hourly("DataTime=20260101080000;SB1-RS=1;SB2-RS=0", cn="2021"))
    assert [(r.pollutant, r.interval, r.value) for r in status] == [
        ("SB1", "status", 1.0), ("SB2", "status", 0.0)]
    for bad, words in (("a21026-Avg=1", "DataTime"), ("DataTime=20260101080000;a21026-Avg=x",
                                                      "not a number"),
                       ("DataTime=20260101080000;a21026-Avg=1,a21026-Flag=Q", "Flag")):
        with pytest.raises(cp.CPError, match=words):
            readings.rows_of(_hourly(bad))


def test_upsert_is_idempotent_and_gdal_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "store" / "live.gpkg"
    conn = livestore.connect(path)
    first = readings.rows_of(_hourly("DataTime=20260101080000;w01018-Avg=40.1,w01018-Flag=N;"
                                     "w21003-Avg=2.5,w21003-Flag=N"))
    assert readings.append(conn, first) == 2
    assert readings.append(conn, first) == 2  # the device sent it again: still two rows
    later = readings.rows_of(_hourly("DataTime=20260101080000;w01018-Avg=41.0,w01018-Flag=N"))
    readings.append(conn, later)  # a back-filled correction wins
    got = readings.read(conn, MN)
    assert [(r.pollutant, r.value) for r in got] == [("w01018", 41.0), ("w21003", 2.5)]
    conn.close()
    frame = pyogrio.read_dataframe(path, layer=readings.TABLE)
    assert sorted(frame["pollutant"]) == ["w01018", "w21003"]
    assert str(frame["time"].dtype).startswith("datetime64")  # a time GDAL and QGIS filter on
    assert readings.TABLE in [name for name, _ in pyogrio.list_layers(path)]
    again = livestore.connect(path)  # opening an existing file keeps its rows
    assert len(readings.read(again)) == 2


def test_a_batch_is_all_or_nothing(tmp_path: Path) -> None:
    conn = livestore.connect(tmp_path / "r.gpkg")
    good = readings.rows_of(_hourly("DataTime=20260101080000;w01018-Avg=40.1"))[0]
    broken = readings.Reading(MN, None, "w21003", "hour", None, 1.0)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="required"):
        readings.append(conn, [good, broken])
    assert readings.read(conn) == []


def test_appended_rows_survive_kill_9(tmp_path: Path) -> None:
    """A process that appended and was then killed: every row it was told was committed is
    in the file."""
    path = tmp_path / "r.gpkg"
    script = (
        "import os, sys\n"
        "from onemap.live import livestore, readings\n"
        "from onemap.live.hj212.frames import Packet\n"
        f"conn = livestore.connect(__import__('pathlib').Path({str(path)!r}))\n"
        "for h in range(24):\n"
        "    p = Packet(st='32', cn='2061', pw='1', mn='M1', qn='20260101000000000', flag=4,\n"
        "               cp=f'DataTime=202601{1 + h // 24:02d}{h % 24:02d}0000;w01018-Avg={h}')\n"
        "    readings.append(conn, readings.rows_of(p))\n"
        "    print(h, flush=True)\n"
        "os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ})
    assert proc.returncode == -9
    acknowledged = len(proc.stdout.split())
    conn = livestore.connect(path)
    assert len(readings.read(conn, "M1")) == acknowledged == 24
