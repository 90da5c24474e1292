"""The receiver's live tables (outlet readings, devices, alarms) in PostGIS, change by change.

The live GeoPackage stays where the receiver commits before it answers a device: one SQLite
transaction holds a packet's readings, its device's state and the alarms they raise. Every
write to the three tables — the receiver's, a readings feed's, an official acknowledging an
alarm, QGIS — also logs each changed feature id with a sequence number, by triggers in that
same transaction (:func:`onemap.live.livestore.changes`). PostgreSQL follows the log: a
table's rows changed since the sequence number it was stamped with are deleted and copied
again, and the stamp moves on, in one PostgreSQL transaction. So a follow that fails (the
database down) leaves the stamp where it was and the next one catches up; nothing is lost and
nothing is applied twice in a way that shows.

A table is served from PostGIS while its stamp is the file's last sequence number for it
(:func:`onemap.store.pg_load.is_current`), from the file otherwise — between a commit and
its follow, or while the database is away. The receiver follows in a thread of its own, at
most once a second (:class:`Follower`); the server after an acknowledgement, a feed after
its commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import shapely
from psycopg import sql

from onemap import catalog
from onemap.config import Settings
from onemap.layers.gpkg_rows import decode, ident
from onemap.live.livestore import ORIGIN, READINGS, SCHEMAS, TIME, changes
from onemap.store.pg_pool import SCHEMA, connection

LOGGER = logging.getLogger(__name__)
#: Changes followed per PostgreSQL transaction (a backlog goes in several).
BATCH = 20_000
#: Rows per read of a whole table's load.
SLICE = 50_000
#: Seconds between two follows of a process (at most), and after a failed one.
EVERY_S, RETRY_S = 1.0, 10.0
PREFIX = "seq "
_PG_TYPES = {"str": "text", "float64": "double precision", "int64": "bigint",
             TIME: "timestamptz"}


def _read_only(path: Path) -> sqlite3.Connection:
    """The live file through Python's own SQLite, as the receiver writes it: never GDAL's in
    the receiver's process (pyogrio's GDAL carries a copy of SQLite of its own; two copies in
    one process do not share their file locks, and reads of the file being written failed
    with "disk I/O error")."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _spatial(table: str) -> bool:
    return table != READINGS  # an attribute table; devices and alarms are points


def _rows(lite: sqlite3.Connection, table: str, where: str, args: tuple = ()
          ) -> Iterator[list]:
    """The rows of ``table`` matching ``where``: fid, the schema's columns (times as the file
    holds them, ISO 8601 text PostgreSQL reads), the geometry as EWKB hex."""
    columns = ", ".join(ident(c) for c in SCHEMAS[table])
    geom = ", geom" if _spatial(table) else ""
    for fid, *values in lite.execute(f"SELECT fid, {columns}{geom} FROM {ident(table)} "  # noqa: S608
                                     f"WHERE {where} ORDER BY fid", args):
        if geom:
            shape = decode(values[-1])
            values[-1] = None if shape is None else shapely.to_wkb(
                shapely.set_srid(shape, 4326), hex=True, include_srid=True)
        yield [fid, *values]


def _copy(conn, table: str, source: str, rows: Iterator[list]) -> int:  # type: ignore[no-untyped-def]
    names = ["fid", *SCHEMAS[source], *(["geom"] if _spatial(source) else [])]
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(SCHEMA, table), sql.SQL(", ").join(map(sql.Identifier, names)))
    count = 0
    with conn.cursor() as cur, cur.copy(copy) as out:
        for row in rows:
            out.write_row(row)
            count += 1
    return count


def load(entry: catalog.Entry, settings: Settings) -> int:
    """A live table loaded whole into a new table swapped in for the old one, stamped with
    the file's log as it was before the first row was read (what changes after is followed
    again); the rows."""
    from onemap.store.pg_load import _ensure_schema, _index_and_swap

    path, version = entry.file(settings), stamp(entry, settings)
    new = f"{entry.id}__{secrets.token_hex(4)}"
    cols = [sql.SQL("fid bigint PRIMARY KEY")] + [
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_PG_TYPES[t]))
        for c, t in SCHEMAS[entry.id].items()]
    if _spatial(entry.id):
        cols.append(sql.SQL("geom geometry(Point, 4326)"))
    rows = 0
    with connection(settings) as conn:
        try:
            with conn.transaction():
                _ensure_schema(conn)
                conn.execute(sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(SCHEMA, new), sql.SQL(", ").join(cols)))
            with conn.transaction(), contextlib.closing(_read_only(path)) as lite:
                top = int(lite.execute(f"SELECT coalesce(max(fid), 0) FROM {ident(entry.id)}"  # noqa: S608
                                       ).fetchone()[0])
                for lo in range(0, top, SLICE):
                    rows += _copy(conn, new, entry.id, _rows(
                        lite, entry.id, "fid > ? AND fid <= ?", (lo, lo + SLICE)))
            extra = entry.extra or {}
            _index_and_swap(conn, entry.id, new, [k for k in (extra.get("key"),) if k],
                            version, rows, spatial=_spatial(entry.id),
                            time=extra.get("time_field"))
        except BaseException:
            conn.rollback()
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, new)))
            conn.commit()
            raise
    LOGGER.info("postgis: loaded %d rows of live table %s", rows, entry.id)
    return rows


def file_log(path: Path, table: str) -> tuple[str, int]:
    """The live file's log: its origin (made with the file) and the sequence number of the
    last change to ``table`` (0: none)."""
    try:
        with contextlib.closing(_read_only(path)) as conn:
            origin = conn.execute(f"SELECT origin FROM {ORIGIN}").fetchone()  # noqa: S608
            row = conn.execute(f"SELECT max(seq) FROM {changes(table)}").fetchone()  # noqa: S608
    except sqlite3.OperationalError:  # no file, or one from before the log
        return "", 0
    return (str(origin[0]) if origin else ""), int(row[0] or 0)


def stamp(entry: catalog.Entry, settings: Settings) -> str:
    """What a live table's copy must have followed: the file's log and its last change to the
    table."""
    origin, seq = file_log(entry.file(settings), entry.id)
    return f"{PREFIX}{origin} {seq}"


def _parse(value: str) -> tuple[str, int] | None:
    if not value.startswith(PREFIX):
        return None
    origin, _, seq = value[len(PREFIX):].rpartition(" ")
    return origin, int(seq)


def live_entries(settings: Settings) -> list[catalog.Entry]:
    return [e for e in catalog.load(settings).values() if e.live]


def follow(settings: Settings, *, locked: bool = False) -> dict[str, int]:
    """Every live table's copy brought up to the file's last change; per table, the features
    copied. A table not loaded yet, or loaded from another file, is loaded whole, under the
    loads' lock (``locked``: the caller holds it, :func:`onemap.store.pg_load.sync`)."""
    from onemap.store import pg_load

    if not settings.database_url:
        return {}
    out = {}
    for entry in live_entries(settings):
        try:
            out[entry.id] = _follow_table(entry, settings)
        except Replaced:
            out[entry.id] = (load(entry, settings) if locked
                             else pg_load.load_locked(entry.id, settings))
    return out


def _follow_table(entry: catalog.Entry, settings: Settings) -> int:
    from onemap.store.pg_load import LOADED  # (pg_load imports this module)

    path, total = entry.file(settings), 0
    table = sql.Identifier(SCHEMA, entry.id)
    while True:
        with connection(settings) as conn, conn.transaction():
            # the stamp's row locked: followers in several processes take turns
            try:
                row = conn.execute(sql.SQL("SELECT stamp FROM {} WHERE id = %s FOR UPDATE"
                                           ).format(LOADED), [entry.id]).fetchone()
            except psycopg.errors.UndefinedTable:  # nothing loaded into this database yet
                row = None
            followed = None if row is None else _parse(str(row[0]))
            if followed is None:  # not loaded yet
                raise Replaced(entry.id)
            origin, seq = file_log(path, entry.id)
            if origin != followed[0] or seq < followed[1]:  # a new file, or an older one
                raise Replaced(entry.id)
            done = followed[1]
            with contextlib.closing(_read_only(path)) as lite:
                logged = lite.execute(f"SELECT fid, seq FROM {changes(entry.id)} "  # noqa: S608
                                      "WHERE seq > ? ORDER BY seq LIMIT ?", (done, BATCH)
                                      ).fetchall()
                if not logged:
                    return total
                fids = sorted({int(f) for f, _ in logged})
                # the rows as they are now (a later change is copied again by the next follow)
                deleted = conn.execute(sql.SQL("DELETE FROM {} WHERE fid = ANY(%s)").format(
                    table), [fids]).rowcount
                copied = _copy(conn, entry.id, entry.id, _rows(
                    lite, entry.id, "fid IN (SELECT value FROM json_each(?))",
                    (json.dumps(fids),)))
            conn.execute(sql.SQL("UPDATE {} SET stamp = %s, rows = rows + %s, loaded = now() "
                                 "WHERE id = %s").format(LOADED),
                         [f"{PREFIX}{origin} {logged[-1][1]}", copied - deleted,
                          entry.id])
            total += copied
        if len(logged) < BATCH:
            return total


class Replaced(Exception):
    """The table is not loaded, or from another live file (made anew, or restored from an
    older copy): it must be loaded whole."""


class Follower:
    """A thread that follows the live tables when poked (:meth:`poke`), at most once every
    :data:`EVERY_S` (a burst of commits is one follow: one COPY of many rows, not many
    transactions of a few taking the receiver's cores), after :data:`RETRY_S` when the database
    failed. The receiver's writer pokes after each commit and never waits for PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-postgis", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Stop after one last follow (what was committed before the call is followed)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            last, started = self._stopping.is_set(), time.monotonic()
            try:
                follow(self.settings)
                pause = EVERY_S
            except (psycopg.Error, OSError, sqlite3.Error) as exc:
                LOGGER.error("PostGIS did not follow the live tables (the file serves them "
                             "until it does): %s", exc)
                pause = RETRY_S
                self._wake.set()  # what was not followed still is to be
            if last:
                return
            self._stopping.wait(max(0.0, pause - (time.monotonic() - started)))


_FOLLOWERS: dict[str, Follower] = {}
_FOLLOWERS_LOCK = threading.Lock()


def poke(settings: Settings) -> None:
    """After a write to the live file in a long-running process (the server): this process's
    follower follows it soon, without the caller waiting. Nothing without a database."""
    if not settings.database_url:
        return
    with _FOLLOWERS_LOCK:
        follower = _FOLLOWERS.get(settings.database_url)
        if follower is None:
            follower = _FOLLOWERS[settings.database_url] = Follower(settings)
    follower.poke()


def follow_now(settings: Settings) -> None:
    """After a write by a process about to exit (``onemap feed``): follow it before the exit.
    A database that cannot be reached is logged; the next follow anywhere catches up."""
    try:
        follow(settings)
    except (psycopg.Error, OSError, sqlite3.Error) as exc:
        LOGGER.error("PostGIS did not follow the live tables (the file serves them until it "
                     "does): %s", exc)
