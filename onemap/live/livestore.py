"""The live GeoPackage: outlet readings, the devices' state and the alarms, in one file.

One file so that a packet's readings, its device's last-seen time and the alarms they raise are
one SQLite transaction: when the receiver acknowledges a packet, all three are on disk, or none
(a crash between two files' commits would leave readings whose alarms were never raised).

GDAL makes the file (``outlet_readings`` an attribute table; ``devices`` and ``alarms`` point
layers in EPSG:4326, with their R-trees), so the server, GDAL and QGIS read it as every other
layer; the catalogue names each table under its own id, all three pointing at this file. Rows
are written with SQLite directly: WAL mode (readers never wait for the writer), full syncs (a
commit is on disk when it returns), geometries as GeoPackage point blobs, and the ``ST_*``
functions GDAL's R-tree triggers call registered on the connection
(:mod:`onemap.layers.gpkg_rows`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import Point

from onemap import catalog
from onemap.config import Settings
from onemap.layers import gpkg_rows

PATH = "store/live.gpkg"
READINGS, DEVICES, ALARMS = "outlet_readings", "devices", "alarms"
#: The change logs (:func:`changes`): per table and feature id, the sequence number of its
#: last change (insert, update or delete; AUTOINCREMENT: never reused, so a later change always
#: has a higher one), written by triggers in the writing transaction itself (delete, then
#: insert: a trigger's ``OR REPLACE`` would yield to the conflict clause of the statement that
#: fired it) — whatever writes (the receiver, a feed, an official's acknowledgement, QGIS).
#: PostGIS follows the tables by them (:mod:`onemap.store.pg_live`); one row per feature, so
#: they never need pruning.
#: ``ORIGIN`` names this file's logs (random, made with it): a file made anew is told apart.
ORIGIN = "_changes_origin"


def changes(table: str) -> str:
    """The change log of ``table``."""
    return f"_changes_{table}"


TIME = "datetime64[ms, UTC]"

#: Column → pandas dtype of each table (the order is the table's).
SCHEMAS: dict[str, dict[str, str]] = {
    READINGS: {"mn": "str", "outlet_code": "str", "pollutant": "str", "interval": "str",
               "time": TIME, "value": "float64", "min": "float64", "max": "float64",
               "cou": "float64", "flag": "str", "received": TIME},
    DEVICES: {"mn": "str", "outlet_code": "str", "source_id": "str", "source_name": "str",
              "medium": "str",
              "county_code": "str", "status": "str", "first_seen": TIME, "last_seen": TIME,
              "last_cn": "str", "packets": "int64", "updated": TIME},
    ALARMS: {"alarm_id": "str", "rule": "str", "source_id": "str", "source_name": "str",
             "outlet_code": "str",
             "mn": "str", "county_code": "str", "pollutant": "str", "pollutant_name": "str",
             "unit": "str", "value": "float64", "threshold": "float64",
             "threshold_low": "float64", "readings": "int64", "start": TIME, "end": TIME,
             "last": TIME, "status": "str", "acknowledged_by": "str", "acknowledged_at": TIME,
             "closed_by": "str", "closed_at": TIME, "note": "str", "updated": TIME},
}
#: Each table's key (its OGC feature id) and time field (the OGC ``datetime`` filter).
KEYS = {READINGS: (None, "time"), DEVICES: ("mn", "last_seen"), ALARMS: ("alarm_id", "start")}
TITLES = {
    READINGS: ("排放口在线监测数据", "Outlet online monitoring readings"),
    DEVICES: ("在线监控设备", "Online monitoring devices"),
    ALARMS: ("在线监控报警", "Online monitoring alarms"),
}
_SQL = f"""
CREATE UNIQUE INDEX IF NOT EXISTS {READINGS}_key ON {READINGS} (mn, pollutant, interval, time);
CREATE TRIGGER IF NOT EXISTS {READINGS}_required BEFORE INSERT ON {READINGS}
WHEN NEW.mn IS NULL OR NEW.pollutant IS NULL OR NEW.interval IS NULL OR NEW.time IS NULL
     OR NEW.received IS NULL
BEGIN SELECT RAISE(ABORT, '{READINGS}: mn, pollutant, interval, time and received are required');
END;
CREATE INDEX IF NOT EXISTS {READINGS}_time ON {READINGS} (time);
CREATE INDEX IF NOT EXISTS {READINGS}_outlet ON {READINGS} (outlet_code, time);
CREATE UNIQUE INDEX IF NOT EXISTS {DEVICES}_mn ON {DEVICES} (mn);
CREATE UNIQUE INDEX IF NOT EXISTS {ALARMS}_id ON {ALARMS} (alarm_id);
CREATE INDEX IF NOT EXISTS {ALARMS}_open ON {ALARMS} (mn, rule, pollutant, "end");
CREATE INDEX IF NOT EXISTS {ALARMS}_updated ON {ALARMS} (updated);
CREATE INDEX IF NOT EXISTS {ALARMS}_start ON {ALARMS} (start);
CREATE TABLE IF NOT EXISTS {ORIGIN} (origin TEXT NOT NULL);
INSERT INTO {ORIGIN} SELECT lower(hex(randomblob(8))) WHERE NOT EXISTS (SELECT 1 FROM {ORIGIN});
""" + "".join(f"""
CREATE TABLE IF NOT EXISTS {changes(table)} (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fid INTEGER NOT NULL UNIQUE);""" for table in (READINGS, DEVICES, ALARMS)) + "".join(f"""
CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_logged AFTER {event} ON {table} BEGIN
DELETE FROM {changes(table)} WHERE fid = {row}.fid;
INSERT INTO {changes(table)} (fid) VALUES ({row}.fid);
END;""" for table in (READINGS, DEVICES, ALARMS)
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")))


def path(settings: Settings) -> Path:
    return settings.data_dir / PATH


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SCHEMAS[table].items()})


def create(target: Path) -> None:
    """A new live file with its three empty tables, made by GDAL aside and renamed in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    for table in (READINGS, DEVICES, ALARMS):
        frame = _empty(table)
        if table != READINGS:
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
        zh, en = TITLES[table]
        pyogrio.write_dataframe(frame, tmp, layer=table, driver="GPKG",
                                append=tmp.exists(), geometry_type=None if table == READINGS
                                else "Point", layer_options={"IDENTIFIER": zh,
                                                             "DESCRIPTION": en})
    os.replace(tmp, target)


def point_blob(lon: float, lat: float) -> bytes:
    """A GeoPackage geometry blob of a point in EPSG:4326."""
    return gpkg_rows.encode(Point(lon, lat))


def blob_xy(blob: bytes | None) -> tuple[float, float] | None:
    """x, y of a point blob (the only geometries this file holds); None when empty or null."""
    point = gpkg_rows.decode(blob)
    return None if point is None or point.is_empty else (point.x, point.y)


def connect(target: Path) -> sqlite3.Connection:
    """The live file (created when missing), in WAL mode with full syncs, autocommit off
    (callers open their own ``BEGIN IMMEDIATE``)."""
    if not target.exists():
        create(target)
    conn = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    gpkg_rows.register(conn)
    conn.executescript(_SQL)
    return conn


@contextmanager
def _writers(conn: sqlite3.Connection) -> Iterator[None]:
    """An exclusive ``flock`` on ``<file>.writer-lock``, held by every writer of the file
    around its transaction: the receiver, a readings feed, the server acknowledging an alarm.
    SQLite's own locks are not enough in a process that also reads the file through GDAL
    (pyogrio carries a second copy of SQLite): closing GDAL's descriptor of the file drops
    the POSIX locks of the process's other copy, and another process could then write at the
    same time. A ``flock`` on a file nothing else opens is not dropped so."""
    main = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"),
                "")
    if not main:  # an in-memory database: nothing to share
        yield
        return
    fd = os.open(f"{main}.writer-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (no upgrade deadlock with another writer) under
    the writers' lock (:func:`_writers`), on disk when the block ends and rolled back when it
    raises; inside a transaction already (the writer's group), a savepoint of it."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT inner")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO inner")
            conn.execute("RELEASE inner")
            raise
        conn.execute("RELEASE inner")
        return
    with _writers(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def catalogue(settings: Settings) -> None:
    """Catalogue the three tables (internal: outlets' readings are enforcement data) when they
    are not yet; the live file is made when missing."""
    entries = catalog.load(settings)
    target = path(settings)
    if not target.exists():
        connect(target).close()
    for table in (READINGS, DEVICES, ALARMS):
        if table in entries:
            continue
        zh, en = TITLES[table]
        point = table != READINGS
        fields = {c: ("datetime" if t == TIME else "float" if t == "float64"
                      else "int" if t == "int64" else "str")
                  for c, t in SCHEMAS[table].items()}
        catalog.put(catalog.Entry(
            id=table, kind="vector" if point else "table", family=table, title=zh,
            title_en=en, access="internal", path=PATH,
            geometry_type="Point" if point else None, fields=fields,
            source="HJ 212 receiver",
            extra={"live": True, "key": KEYS[table][0], "time_field": KEYS[table][1]}),
            settings)

