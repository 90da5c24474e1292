"""Outlet readings from HJ 212 packets: rows by (device, pollutant, interval, time), upserted
in one transaction and durable when the transaction commits.

A device resends a packet it got no answer for, and back-fills (补传) what it could not send:
the same key then arrives twice, so a row is *upserted* — the later value wins, the count of
rows stays right. Readings are the ``outlet_readings`` table of the live GeoPackage
(:mod:`onemap.live.livestore`), beside the devices and alarms they update.

Besides pollutant values, the running state of production and treatment facilities (CN 2021,
``SB1-RS=1``) is kept as readings of interval ``status`` (pollutant ``SB1``, value 1 running,
0 stopped…): the zero-flow rule asks whether the plant was running.
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime

from onemap.live import livestore
from onemap.live.hj212 import codes
from onemap.live.hj212 import cp as cpmod
from onemap.live.hj212.frames import Packet

TABLE = livestore.READINGS
_COLUMNS = tuple(livestore.SCHEMAS[TABLE])
STATUS = "status"
KEY = ("mn", "pollutant", "interval", "time")


@dataclass(frozen=True)
class Reading:
    """One pollutant's value of one interval at one outlet device (times in UTC, ISO; the
    outlet is the device's, filled in by the receiver from the registry)."""

    mn: str
    outlet_code: str | None
    pollutant: str
    interval: str
    time: str
    value: float | None
    min: float | None = None
    max: float | None = None
    cou: float | None = None
    flag: str | None = None
    received: str = ""


def stamp(moment: datetime) -> str:
    """A time as the store keeps it: UTC, ISO, milliseconds, ``Z`` — one fixed width, so
    text order is time order and one instant has one spelling (the key stays unique)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rows_of(packet: Packet, received: datetime | None = None,
            outlet_code: str | None = None) -> list[Reading]:
    """The readings an upload carries: one per pollutant item with a value. The value is the
    real-time value (``-Rtd``) of real-time data, the average (``-Avg``) of the others, the
    running state (``-RS``) of facility status data. Raises
    :class:`~onemap.live.hj212.cp.CPError` for an unreadable data area (no DataTime, a value
    that is not a number, an unknown flag)."""
    interval = STATUS if packet.cn == codes.CN_STATUS else codes.INTERVALS.get(packet.cn)
    if interval is None:
        return []
    area = cpmod.parse(packet.cp)
    moment = area.data_time
    if moment is None:
        raise cpmod.CPError("an upload without DataTime")
    when = stamp(moment)
    got = stamp(received or datetime.now(UTC))
    main = {"realtime": "Rtd", STATUS: "RS"}.get(interval, "Avg")
    out = []
    for code, fields in area.items.items():
        values = area.values(code)
        if main not in values and "Cou" not in values:
            continue  # a device status item of another kind, or a flag alone
        flag = fields.get("Flag")
        if flag is not None and flag not in cpmod.FLAGS:
            raise cpmod.CPError(f"{code}-Flag={flag!r} is not one of {', '.join(cpmod.FLAGS)}")
        out.append(Reading(packet.mn, outlet_code, codes.canonical(code), interval, when,
                           values.get(main), values.get("Min"), values.get("Max"),
                           values.get("Cou"), flag, got))
    return out


def upsert(conn: sqlite3.Connection, readings: list[Reading]) -> int:
    """Upsert ``readings`` inside the caller's transaction; the number of rows written."""
    if not readings:
        return 0
    cols = ", ".join(_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c not in KEY)
    conn.executemany(
        f"INSERT INTO {TABLE} ({cols}) VALUES ({', '.join('?' * len(_COLUMNS))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}",
        [astuple(r) for r in readings])
    return len(readings)


def append(conn: sqlite3.Connection, readings: list[Reading]) -> int:
    """Upsert ``readings`` in a transaction of their own (all or none)."""
    with livestore.transaction(conn):
        return upsert(conn, readings)


def read(conn: sqlite3.Connection, mn: str | None = None) -> list[Reading]:
    """Every reading (of device ``mn``), oldest first."""
    where, args = ("WHERE mn = ?", (mn,)) if mn else ("", ())
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} {where} "  # noqa: S608
                        "ORDER BY time, pollutant", args).fetchall()
    return [Reading(*row) for row in rows]


def with_outlet(readings: list[Reading], outlet_code: str) -> list[Reading]:
    return [replace(r, outlet_code=outlet_code) for r in readings]
