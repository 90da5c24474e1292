"""The receiver's live tables in PostGIS: ``onemap hj212`` and the server, each with
``ONEMAP_DATABASE_URL``, on a fresh PostGIS database. PostgreSQL follows the live file's change
log: the rows a device's packets wrote, the alarm they raised, an official's acknowledgement
through the API; a deleted row, a backlog of more changes than one follow takes, a live file
made anew. The OGC API serves the tables from there once they are current."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests

from onemap import catalog
from onemap.config import Settings
from onemap.live import livestore
from onemap.live.hj212 import cp, frames
from onemap.live.registry import Registry
from onemap.store import pg_live, pg_load, pg_pool
from tests.conftest import Caller
from tests.live.conftest import with_registry
from tests.live.test_hj212_server import _answers, _run
from tests.live.test_intake import _now_cp, _packet
from tests.postgres import running_postgres
from tests.server import run_receiver, run_server

pytestmark = pytest.mark.server
TABLES = {livestore.READINGS: ["fid", "mn", "pollutant", "interval", "value", "flag"],
          livestore.DEVICES: ["fid", "mn", "status", "packets"],
          livestore.ALARMS: ["fid", "alarm_id", "rule", "pollutant", "status",
                             "acknowledged_by", "note"]}


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with running_postgres("onemap", postgis=True) as sa_url:
        yield "postgresql://" + sa_url.split("://", 1)[1]
    pg_pool.close_all()


@pytest.fixture
def live(sample_settings: Settings, tmp_path: Path, database: str) -> Settings:
    """A data dir with the sample's outlets (the device registry) and an empty live store, on
    the module's database (each test's live file is a new one to it)."""
    return with_registry(Settings(data_dir=tmp_path / "data", database_url=database,
                                  system_db=sample_settings.system_db_url,
                                  hj212_offline_minutes=10), sample_settings)


def _file_rows(settings: Settings, table: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(livestore.path(settings))) as conn:
        return sorted(conn.execute(f"SELECT {', '.join(TABLES[table])} FROM {table}"))  # noqa: S608


def _pg_rows(settings: Settings, table: str) -> list[tuple]:
    with psycopg.connect(settings.database_url) as conn:
        return sorted(conn.execute(f"SELECT {', '.join(TABLES[table])} FROM layers.{table}"))  # noqa: S608


def _current(settings: Settings) -> bool:
    entries = catalog.load(settings)
    return all(pg_load.is_current(entries[t], settings) for t in TABLES)


def _wait_current(settings: Settings, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _current(settings):
        assert time.monotonic() < deadline, "PostGIS did not follow the live file"
        time.sleep(0.2)


def _scans(url: str, table: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(idx_scan, 0) + seq_scan FROM pg_stat_user_tables "
                           "WHERE schemaname = 'layers' AND relname = %s", [table]).fetchone()
        return int(row[0]) if row else 0


def test_the_receiver_and_the_server_write_and_postgis_follows(
        live: Settings, callers: dict[str, Caller]) -> None:
    reg = Registry(live).devices()
    water = [d for d in reg.values() if d.medium == "water" and "w01018" in d.limits][:3]
    limit = water[0].limits["w01018"][1]
    packets = [_packet(water[0], "20261201080000001", _now_cp(
        f"w01018-Avg={limit * 3},w01018-Flag=N;w21003-Avg=1.2,w21003-Flag=N"))]
    packets += [_packet(d, f"2026120109{i:07d}", f"DataTime="
                        f"{cp.format_time(datetime(2026, 11, 1, i, tzinfo=UTC))};w21003-Avg={i}")
                for i, d in enumerate(water * 4)]  # 12 hours of distinct times

    async def send(port: int) -> list[str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for p in packets:  # one at a time: each answered after its commit
            writer.write(frames.encode(p))
            await writer.drain()
            answers += [a.cn for a in await _answers(reader, 1)]
        writer.close()
        return answers

    with run_receiver(live.data_dir, ONEMAP_DATABASE_URL=live.database_url) as port:
        assert _run(send(port)) == ["9014"] * len(packets)
        _wait_current(live)  # the receiver's follower, not the server, brought it there
        for table in TABLES:
            assert _pg_rows(live, table) == _file_rows(live, table), table
    alarms = _pg_rows(live, livestore.ALARMS)
    assert [(a[2], a[3], a[4]) for a in alarms] == [("exceedance", "w01018", "new")]
    assert len(_pg_rows(live, livestore.READINGS)) == 2 + 12

    commander = callers["commander"]
    alarm_id = alarms[0][1]
    with run_server(live.data_dir, ONEMAP_DATABASE_URL=live.database_url,
                    ONEMAP_SYSTEM_DB=live.system_db) as base:
        r = requests.post(f"{base}/api/alarms/{alarm_id}/acknowledge", json={"note": "派人"},
                          headers=commander.headers, timeout=30)
        assert r.status_code == 200, r.text
        _wait_current(live)
        assert [a[4:] for a in _pg_rows(live, livestore.ALARMS)] == [
            ("acknowledged", "commander", "派人")]
        scans = _scans(live.database_url, livestore.ALARMS)
        served = requests.get(f"{base}/ogc/collections/alarms/items/{alarm_id}",
                              params={"f": "json"}, headers=commander.headers, timeout=30)
        assert served.status_code == 200, served.text
        assert served.json()["properties"]["status"] == "acknowledged"
        deadline = time.monotonic() + 10  # a backend reports its counts once idle
        while _scans(live.database_url, livestore.ALARMS) == scans:
            assert time.monotonic() < deadline, "the alarm was not read from PostGIS"
            time.sleep(0.2)


def _write(conn: sqlite3.Connection, statements: list[tuple[str, tuple]]) -> None:
    with livestore.transaction(conn):
        for statement, args in statements:
            conn.execute(statement, args)


def _reading(mn: str, hour: int, value: float) -> tuple[str, tuple]:
    return ("INSERT INTO outlet_readings (mn, pollutant, interval, time, value, received) "
            "VALUES (?, 'w01018', 'hour', ?, ?, '2026-12-01T00:00:00Z')",
            (mn, f"2026-11-01T{hour:02d}:00:00Z", value))


def test_deletes_a_backlog_and_a_new_file_are_followed(
        live: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    livestore.catalogue(live)
    path = livestore.path(live)
    conn = livestore.connect(path)
    _write(conn, [_reading("A", h, h) for h in range(5)])
    assert pg_live.follow(live)[livestore.READINGS] == 5  # not loaded yet: loaded whole
    assert _current(live)

    monkeypatch.setattr(pg_live, "BATCH", 3)  # more changes than one follow's transaction
    _write(conn, [_reading("B", h, h) for h in range(7)])
    _write(conn, [("UPDATE outlet_readings SET value = -1 WHERE mn = 'A' AND time LIKE ?",
                   ("%T01:%",)),
                  ("DELETE FROM outlet_readings WHERE mn = 'A' AND time LIKE ?", ("%T02:%",))])
    assert not _current(live)  # served from the file until followed
    assert pg_live.follow(live)[livestore.READINGS] == 7 + 1  # the deleted row: none to copy
    assert _current(live)
    assert _pg_rows(live, livestore.READINGS) == _file_rows(live, livestore.READINGS)
    assert len(_file_rows(live, livestore.READINGS)) == 11
    conn.close()

    for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        old.unlink(missing_ok=True)  # a new live file: its log starts again, another origin
    conn = livestore.connect(path)
    _write(conn, [_reading("C", 0, 1.5)])
    conn.close()
    assert not _current(live)
    pg_live.follow(live)
    assert _current(live)
    assert [r[1] for r in _pg_rows(live, livestore.READINGS)] == ["C"]

