"""The devices' state: which registered device reports, when it last did, which went silent.

Every registered device has a row (a point at its outlet) in the live file's ``devices`` layer:
``unseen`` until its first packet, then ``online`` while it reports and ``offline`` after
``offline_minutes`` of silence (断线), which also opens an ``offline`` alarm; its next packet
ends that alarm and makes it ``online`` again. The online rate (在线率) is online devices over
the devices that have reported at least once — the layer's own counts, cut by region like
every layer.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from onemap.live import alarms, livestore
from onemap.live.readings import stamp
from onemap.live.registry import Device
from onemap.live.rules import Rules

TABLE = livestore.DEVICES


def _register(conn: sqlite3.Connection, device: Device, now: str) -> None:
    """A device's row, ``unseen`` when new; its outlet's details brought up to date."""
    conn.execute(
        f"INSERT INTO {TABLE} (geom, mn, outlet_code, source_id, source_name, medium, "  # noqa: S608
        "county_code, status, packets, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 'unseen', 0, ?) "
        "ON CONFLICT (mn) DO UPDATE SET geom = excluded.geom, outlet_code = "
        "excluded.outlet_code, source_id = excluded.source_id, source_name = "
        "excluded.source_name, medium = excluded.medium, county_code = excluded.county_code",
        (livestore.point_blob(device.lon, device.lat), device.mn, device.outlet_code,
         device.source_id, device.source_name, device.medium, device.county_code, now))


def sync(conn: sqlite3.Connection, devices: dict[str, Device], now: str) -> tuple[int, int]:
    """Make the layer hold exactly the registered devices (new ones ``unseen``; an outlet
    moved or renamed updated); (added, removed)."""
    have = {mn for mn, in conn.execute(f"SELECT mn FROM {TABLE}")}  # noqa: S608
    with livestore.transaction(conn):
        for device in devices.values():
            _register(conn, device, now)
        gone = have - set(devices)
        conn.executemany(f"DELETE FROM {TABLE} WHERE mn = ?",  # noqa: S608
                         [(mn,) for mn in gone])
    return len(set(devices) - have), len(gone)


def seen(conn: sqlite3.Connection, device: Device, cn: str, now: str) -> None:
    """A packet from ``device`` (inside the caller's transaction): online, and its offline
    alarm, if any, ended."""
    row = conn.execute(f"SELECT status FROM {TABLE} WHERE mn = ?",  # noqa: S608
                       (device.mn,)).fetchone()
    if row is None:  # registered after the last sync
        _register(conn, device, now)
    conn.execute(
        f"UPDATE {TABLE} SET status = 'online', first_seen = COALESCE(first_seen, ?), "  # noqa: S608
        "last_seen = ?, last_cn = ?, packets = packets + 1, updated = ? WHERE mn = ?",
        (now, now, cn, now, device.mn))
    if row is not None and row[0] == "offline":
        alarms.end(conn, device.mn, "offline", "", now, now)


def sweep(conn: sqlite3.Connection, registry: dict[str, Device], rules: Rules,
          now: datetime | None = None) -> int:
    """Mark devices silent for ``offline_minutes`` offline, each with an ``offline`` alarm
    from its last packet; the number that went offline."""
    now = now or datetime.now(UTC)
    since = stamp(now - timedelta(minutes=rules.offline_minutes or 10))
    at = stamp(now)
    with livestore.transaction(conn):
        silent = conn.execute(
            f"SELECT mn, last_seen FROM {TABLE} WHERE status = 'online' "  # noqa: S608
            "AND last_seen < ?", (since,)).fetchall()
        for mn, last_seen in silent:
            conn.execute(f"UPDATE {TABLE} SET status = 'offline', updated = ? "  # noqa: S608
                         "WHERE mn = ?", (at, mn))
            device = registry.get(mn)
            if device is not None and rules.enabled("offline", ""):
                alarms.raise_(conn, device, alarms.Evidence("offline", "", last_seen, None,
                                                            last_seen), at)
    return len(silent)


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Devices by status."""
    return dict(conn.execute(f"SELECT status, COUNT(*) FROM {TABLE} "  # noqa: S608
                             "GROUP BY status").fetchall())
