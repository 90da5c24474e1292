"""Rows of a stored GeoPackage layer written in place with SQLite, keeping it a valid GeoPackage.

Why SQLite and not GDAL: pyogrio writes whole layers (or appends), it cannot update or delete
one feature, and GDAL's Python binding is not installed. A GeoPackage is a SQLite file whose
R-tree index and feature count are kept by triggers GDAL created with the table; those triggers
call the GeoPackage SQL functions ``ST_IsEmpty``, ``ST_MinX``, ``ST_MaxX``, ``ST_MinY`` and
``ST_MaxY``, which only GDAL's SQLite connection defines. :func:`connect` defines them from the
GeoPackage geometry blob (header + WKB, GeoPackage 1.2 §2.1.3), so an INSERT, UPDATE or DELETE
here moves the R-tree exactly as GDAL would, and a bbox query sees the edit at once.

Every write is one transaction on a copy of the file, renamed over it (:func:`transaction`);
editors take turns under a lock, so a key checked for uniqueness stays unique until the
rename, and readers (other requests, GDAL, QGIS opening the file) see the layer before or
after, never half-written. The rename gives the file a strictly newer modification time: the
caches keyed on it (layer schema, a region's visible ids) notice every edit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

#: Envelope sizes (bytes) by the header's envelope indicator (GeoPackage 1.2 table 7).
_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
#: Seconds to wait for readers to let go of the file before a write gives up.
BUSY_TIMEOUT = 15.0


def ident(name: str) -> str:
    """A quoted SQL identifier (names come from the file's own schema, never a request)."""
    return '"' + name.replace('"', '""') + '"'


def encode(geom: BaseGeometry | None, srs_id: int = 4326) -> bytes | None:
    """A GeoPackage geometry blob, little-endian: points without an envelope (as GDAL writes
    them), other types with their xy envelope so readers can skip parsing the WKB."""
    if geom is None:
        return None
    empty = geom.is_empty
    point = geom.geom_type == "Point"
    indicator = 0 if point or empty else 1
    flags = 0x01 | (indicator << 1) | (0x10 if empty else 0)
    header = b"GP" + bytes([0, flags]) + struct.pack("<i", srs_id)
    if indicator:
        minx, miny, maxx, maxy = geom.bounds
        header += struct.pack("<4d", minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, byte_order=1, output_dimension=2)


def decode(blob: bytes | None) -> BaseGeometry | None:
    """The geometry of a GeoPackage blob (None for NULL)."""
    if blob is None:
        return None
    data = bytes(blob)
    if data[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    envelope = _ENVELOPE.get((data[3] >> 1) & 0x07)
    if envelope is None:
        raise ValueError("invalid GeoPackage envelope indicator")
    return shapely.from_wkb(data[8 + envelope:])


def _empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    return 1 if (bytes(blob)[3] >> 4) & 1 or decode(blob).is_empty else 0


def _bound(index: int):  # noqa: ANN202 - a SQLite scalar function
    def func(blob: bytes | None) -> float | None:
        geom = decode(blob)
        if geom is None or geom.is_empty:
            return None
        return float(geom.bounds[index])
    return func


def register(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Define on ``conn`` the GeoPackage functions GDAL's R-tree triggers call."""
    conn.create_function("ST_IsEmpty", 1, _empty, deterministic=True)
    for name, index in (("ST_MinX", 0), ("ST_MinY", 1), ("ST_MaxX", 2), ("ST_MaxY", 3)):
        conn.create_function(name, 1, _bound(index), deterministic=True)
    return conn


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to the GeoPackage ``path`` with the GeoPackage functions its R-tree
    triggers call, in autocommit mode (transactions are explicit, see :func:`transaction`)."""
    return register(sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None))


def _locked_current(path: Path) -> int | None:
    """A descriptor of ``path``'s file holding an exclusive ``flock``, taken only once that file
    is still the one at ``path`` (a rename may replace it while we wait); None if none is."""
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev):
            return fd
        os.close(fd)  # replaced meanwhile: lock the new file instead


@contextlib.contextmanager
def edit_lock(path: Path) -> Iterator[None]:
    """Held while the file at ``path`` is replaced: by an edit (:func:`transaction`) and by an
    import (:meth:`onemap.layers.store.LayerWriter.commit`), so neither overwrites the other.
    The lock is on the layer file itself (``flock``, apart from SQLite's own POSIX locks), so
    no lock file is left in the store."""
    fd = _locked_current(path)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def transaction(path: str | Path) -> Iterator[sqlite3.Connection]:
    """One write on ``path``, made on a copy renamed over it when the block ends (dropped when
    it raises). Editors of one file take turns (an exclusive lock beside it); readers are never
    blocked and never see a half-written file: GDAL opening a GeoPackage while SQLite commits
    in place fails ("required GeoPackage tables … missing"), a renamed file is there whole or
    not at all — as the store replaces a layer on import (:mod:`onemap.layers.store`). Meant for
    the small layers people edit by hand: each edit copies the file. Afterwards the file's
    modification time is strictly newer than before."""
    path = Path(path)
    with edit_lock(path):
        before = os.stat(path).st_mtime_ns
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp.gpkg")
        try:
            shutil.copyfile(path, tmp)
            with contextlib.closing(connect(tmp)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            stamp = max(time.time_ns(), before + 1_000)  # caches keyed on it see the edit
            os.utime(tmp, ns=(stamp, stamp))
            os.replace(tmp, path)
        finally:
            for suffix in ("", "-journal"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def reading(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection for reading ``path`` (with the GeoPackage functions), closed after."""
    with contextlib.closing(connect(path)) as conn:
        yield conn


def columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    """The table's columns and their declared types (``TEXT``, ``DATETIME``, ``POINT``…)."""
    return {row[1]: str(row[2]).upper() for row in
            conn.execute(f"PRAGMA table_info({ident(table)})")}


def insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    """Insert one row (geometry already a blob); its fid."""
    names = list(values)
    cur = conn.execute(f"INSERT INTO {ident(table)} ({', '.join(map(ident, names))}) "
                       f"VALUES ({', '.join('?' * len(names))})", [values[n] for n in names])
    return int(cur.lastrowid)


def update(conn: sqlite3.Connection, table: str, fid_column: str, fid: int,
           values: dict[str, Any]) -> None:
    """Set ``values`` on the row ``fid``."""
    names = list(values)
    conn.execute(f"UPDATE {ident(table)} SET {', '.join(f'{ident(n)} = ?' for n in names)} "
                 f"WHERE {ident(fid_column)} = ?", [*(values[n] for n in names), fid])


def delete(conn: sqlite3.Connection, table: str, fid_column: str, fid: int) -> None:
    conn.execute(f"DELETE FROM {ident(table)} WHERE {ident(fid_column)} = ?", (fid,))


def touch_contents(conn: sqlite3.Connection, table: str, geom: BaseGeometry | None) -> None:
    """Note the change in ``gpkg_contents``: its time, and its extent grown to hold ``geom``
    (an extent is allowed to be larger than the data, as after a delete; GDAL does the same)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    conn.execute("UPDATE gpkg_contents SET last_change = ? WHERE lower(table_name) = lower(?)",
                 (now, table))
    if geom is None or geom.is_empty:
        return
    minx, miny, maxx, maxy = geom.bounds
    conn.execute(
        "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), "
        "min_y = min(coalesce(min_y, ?), ?), max_x = max(coalesce(max_x, ?), ?), "
        "max_y = max(coalesce(max_y, ?), ?) WHERE lower(table_name) = lower(?)",
        (minx, minx, miny, miny, maxx, maxx, maxy, maxy, table))
