"""Outlet readings from HJ 212 packets: rows by (device, pollutant, interval, time), upserted
in one transaction and durable when :func:`append` returns.

A device resends a packet it got no answer for, and back-fills (补传) what it could not send:
the same key then arrives twice, so a row is *upserted* — the later value wins, the count of
rows stays right. Readings live in a GeoPackage attribute table (made by GDAL, with a unique
index on the key), beside the layers, so every reader of the store reads them the same way;
writes are SQLite transactions in WAL mode with ``synchronous=FULL``: once ``append`` returns,
a kill -9 or a power cut does not lose them, and readers are never blocked by the writer.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyogrio

from onemap.live.hj212 import codes
from onemap.live.hj212 import cp as cpmod
from onemap.live.hj212.frames import Packet

TABLE = "outlet_readings"
_COLUMNS = ("mn", "pollutant", "interval", "time", "value", "min", "max", "cou", "flag",
            "received")
_TYPES = ("str", "str", "str", "str", "float64", "float64", "float64", "float64", "str", "str")
_INDEXES = f"""
CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_key ON {TABLE} (mn, pollutant, interval, time);
CREATE INDEX IF NOT EXISTS {TABLE}_time ON {TABLE} (time);
CREATE TRIGGER IF NOT EXISTS {TABLE}_required BEFORE INSERT ON {TABLE}
WHEN NEW.mn IS NULL OR NEW.pollutant IS NULL OR NEW.interval IS NULL OR NEW.time IS NULL
     OR NEW.received IS NULL
BEGIN SELECT RAISE(ABORT, '{TABLE}: mn, pollutant, interval, time and received are required');
END;
"""


@dataclass(frozen=True)
class Reading:
    """One pollutant's value of one interval at one outlet device (times in UTC, ISO)."""

    mn: str
    pollutant: str
    interval: str
    time: str
    value: float | None
    min: float | None = None
    max: float | None = None
    cou: float | None = None
    flag: str | None = None
    received: str = ""


def rows_of(packet: Packet, received: datetime | None = None) -> list[Reading]:
    """The readings an upload carries: one per pollutant item with a value. The value is the
    real-time value (``-Rtd``) of real-time data, the average (``-Avg``) of the others.
    Raises :class:`~onemap.live.hj212.cp.CPError` for an unreadable data area (no DataTime,
    a value that is not a number)."""
    interval = codes.INTERVALS.get(packet.cn)
    if interval is None:
        return []
    area = cpmod.parse(packet.cp)
    moment = area.data_time
    if moment is None:
        raise cpmod.CPError("an upload without DataTime")
    when = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    got = (received or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    main = "Rtd" if interval == "realtime" else "Avg"
    out = []
    for code, fields in area.items.items():
        values = area.values(code)
        if main not in values and "Cou" not in values:
            continue  # a device status item (SB1-RS) or a flag alone
        flag = fields.get("Flag")
        if flag is not None and flag not in cpmod.FLAGS:
            raise cpmod.CPError(f"{code}-Flag={flag!r} is not one of {', '.join(cpmod.FLAGS)}")
        out.append(Reading(packet.mn, codes.canonical(code), interval, when,
                           values.get(main), values.get("Min"), values.get("Max"),
                           values.get("Cou"), flag, got))
    return out


def _create(path: Path) -> None:
    """A new GeoPackage holding the empty table, made by GDAL (so GDAL, QGIS and the server's
    readers open it as they open every layer), written aside and renamed into place."""
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(_COLUMNS, _TYPES, strict=True)})
    tmp = path.with_name(f".{path.name}.tmp.gpkg")
    pyogrio.write_dataframe(frame, tmp, layer=TABLE, driver="GPKG",
                            layer_options={"IDENTIFIER": "排放口在线监测数据",
                                           "DESCRIPTION": "Outlet online monitoring readings"})
    os.replace(tmp, path)


def connect(path: Path) -> sqlite3.Connection:
    """The readings file (created when missing), in WAL mode with full syncs: a commit is on
    disk when it returns."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_INDEXES)
    return conn


def append(conn: sqlite3.Connection, readings: list[Reading]) -> int:
    """Upsert ``readings`` in one transaction (all or none); the number of rows written."""
    if not readings:
        return 0
    cols = ", ".join(_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[4:])
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            f"INSERT INTO {TABLE} ({cols}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
            f"ON CONFLICT (mn, pollutant, interval, time) DO UPDATE SET {updates}",
            [astuple(r) for r in readings])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(readings)


def read(conn: sqlite3.Connection, mn: str | None = None) -> list[Reading]:
    """Every reading (of device ``mn``), oldest first."""
    where, args = ("WHERE mn = ?", (mn,)) if mn else ("", ())
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} {where} "  # noqa: S608
                        "ORDER BY time, pollutant", args).fetchall()
    return [Reading(*row) for row in rows]
