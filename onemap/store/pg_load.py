"""Load a catalogued GeoPackage layer into PostGIS, whole and at once.

The rows go by ``COPY`` into a new table, in slices of feature ids so memory holds one slice
whatever the layer's size; the indexes are built after the rows (faster than row by row), then
one transaction swaps the new table in for the old (readers see the old one or the new one,
never half of either) and ``ANALYZE`` gives the planner the statistics that estimated counts
come from. A failure drops the new table and leaves the old one served.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator

import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql

from onemap import catalog
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from onemap.layers.gpkg_rows import ident
from onemap.layers.store import file_version, key_columns
from onemap.store import pg_live, pg_series
from onemap.store.pg_pool import SCHEMA, connection

LOGGER = logging.getLogger(__name__)
#: Feature ids per COPY slice.
SLICE = 100_000
#: The advisory lock of loads (any number, the same in every process).
LOCK = 0x0E3A9
_TYPES = {"int": "bigint", "float": "double precision", "bool": "boolean",
          "datetime": "timestamptz"}


def _pg_type(dtype: object) -> str:
    name = str(dtype)
    return next((v for k, v in _TYPES.items() if name.startswith(k)), "text")


def _value(v: object) -> object:
    """A Python value COPY writes: NaN/NaT as NULL, numpy scalars unwrapped."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating) and not np.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


LOADED = sql.Identifier(SCHEMA, "_loaded")
#: Stamps this process has seen loaded: (database URL, layer id, stamp). (Two copies of a data
#: dir have the same stamps, and a process may ask two databases: the tests, a migration.)
_CURRENT: set[tuple[str, str, str]] = set()


def stamp(entry: catalog.Entry, settings: Settings) -> str:
    """What the loaded table must have been loaded from: the entry's update time and its
    file's (and write log's) times and sizes; for a live table, the last change the live
    file logged to it (:mod:`onemap.store.pg_live`)."""
    if entry.live:
        return pg_live.stamp(entry, settings)
    return repr((entry.updated, *file_version(entry.file(settings))))


def _ensure_schema(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY, stamp text NOT "
                         "NULL, rows bigint NOT NULL, loaded timestamptz NOT NULL DEFAULT "
                         "now())").format(LOADED))


def is_current(entry: catalog.Entry, settings: Settings) -> bool:
    """Whether the layer's table holds exactly the catalogued version of it."""
    key = (settings.database_url, entry.id, stamp(entry, settings))
    if key in _CURRENT:
        return True
    try:
        with connection(settings) as conn:
            row = conn.execute(sql.SQL("SELECT stamp FROM {} WHERE id = %s").format(LOADED),
                               [entry.id]).fetchone()
    except psycopg.errors.UndefinedTable:
        return False
    if row is not None and row[0] == key[2]:
        _CURRENT.add(key)
        return True
    return False


def _stamp_of(conn, layer_id: str) -> str:  # type: ignore[no-untyped-def]
    row = conn.execute(sql.SQL("SELECT stamp FROM {} WHERE id = %s").format(LOADED),
                       [layer_id]).fetchone()
    return "" if row is None else str(row[0])


def sync(settings: Settings) -> list[str]:
    """Load every layer served from PostGIS whose table is missing or older than its file, and
    drop the tables of layers no longer catalogued; the ids loaded. One process at a time (an
    advisory lock): the server's workers and an import never load one layer twice at once."""
    from onemap.store import served_from_postgis

    loaded = []
    entries = catalog.load(settings)
    # the lock's own connection, outside any transaction: the loads commit on theirs
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK])
        try:
            _ensure_schema(conn)
            for entry in entries.values():
                if not served_from_postgis(entry, settings) or is_current(entry, settings):
                    continue
                if entry.live and _stamp_of(conn, entry.id).startswith(pg_live.PREFIX):
                    continue  # loaded: it follows the live file's changes (below)
                load_layer(entry.id, settings)
                loaded.append(entry.id)
            if any(e.live for e in entries.values()):
                pg_live.follow(settings, locked=True)
            gone = [r[0] for r in conn.execute(sql.SQL("SELECT id FROM {}").format(LOADED))
                    if r[0] not in entries or not served_from_postgis(entries[r[0]], settings)]
            for layer_id in gone:
                drop_layer(layer_id, settings)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK])
    return loaded


def load_locked(layer_id: str, settings: Settings) -> int:
    """:func:`load_layer` under the loads' lock, unless the table is current once it is held
    (another process loaded it meanwhile); the rows loaded."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK])
        try:
            _ensure_schema(conn)
            if is_current(catalog.get(layer_id, settings), settings):
                return 0
            return load_layer(layer_id, settings)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK])


def load_layer(layer_id: str, settings: Settings) -> int:
    """(Re)load catalogue layer ``layer_id`` from its GeoPackage; the number of rows."""
    entry = catalog.get(layer_id, settings)
    if entry.live:
        return pg_live.load(entry, settings)
    if pg_series.series_key(entry):
        return _load_series(entry, settings)
    version = stamp(entry, settings)
    path = entry.file(settings)
    info = pyogrio.read_info(path, layer=layer_id)
    fields = [(str(n), _pg_type(t)) for n, t in zip(info["fields"], info["dtypes"], strict=True)]
    geom_type = (info.get("geometry_type") or "Geometry").removesuffix(" Z")
    new = f"{layer_id}__{secrets.token_hex(4)}"
    cols = sql.SQL(", ").join(
        [sql.SQL("fid bigint PRIMARY KEY")]
        + [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in fields]
        + [sql.SQL("geom geometry({}, 4326)").format(sql.SQL(geom_type))])
    table = sql.Identifier(SCHEMA, new)
    names = [n for n, _ in fields]
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in ["fid", *names, "geom"]))
    rows = 0
    with connection(settings) as conn:
        try:
            with conn.transaction():
                _ensure_schema(conn)
                conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, cols))
            top = int(pyogrio.read_dataframe(path, sql=f'SELECT max(fid) AS m FROM "{layer_id}"',
                                             use_arrow=False)["m"].fillna(0).iloc[0])
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as out:
                for lo in range(0, top, SLICE):
                    part = pyogrio.read_dataframe(path, layer=layer_id, fid_as_index=True,
                                                  where=f"fid > {lo} AND fid <= {lo + SLICE}")
                    geoms = shapely.to_wkb(shapely.set_srid(part.geometry.values, 4326),
                                           hex=True, include_srid=True)
                    values = [part[n].astype(object).tolist() for n in names]
                    for i, fid in enumerate(part.index.values):
                        out.write_row([int(fid), *(_value(v[i]) for v in values), geoms[i]])
                    rows += len(part)
            family = FAMILIES.get(entry.family)
            keys = [k for k in (key_columns(family) if family else []) if k in names]
            _index_and_swap(conn, layer_id, new, keys, version, rows)
        except BaseException:
            conn.rollback()
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            conn.commit()
            raise
    LOGGER.info("postgis: loaded %d rows of %s", rows, layer_id)
    return rows


def _index_and_swap(conn, layer_id: str, new: str, keys: list[str], version: str,  # type: ignore[no-untyped-def]
                    rows: int, *, spatial: bool = True, time: str | None = None) -> None:
    """Indexes on the new table (geometry; the family's key, with its time for events; a
    live table's time), then the new table in place of the old, in one transaction; then the
    planner's statistics."""
    table = sql.Identifier(SCHEMA, new)
    with conn.transaction():
        if spatial:
            conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(table))
        if time:
            conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(table, sql.Identifier(time)))
        if keys:
            conn.execute(sql.SQL("CREATE INDEX ON {} ({})").format(
                table, sql.SQL(", ").join(sql.Identifier(k) for k in keys)))
        _swap(conn, layer_id, new, version, rows)
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, layer_id)))
    conn.commit()


def _swap(conn, layer_id: str, new: str, version: str, rows: int) -> None:  # type: ignore[no-untyped-def]
    """Inside the caller's transaction: table ``new`` in place of the layer's, stamped."""
    # the stamp's row first, as an edit's or a live follow's transaction takes it: then the
    # old table (their order: no deadlock)
    conn.execute(sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(LOADED),
                 [layer_id])
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, layer_id)))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(SCHEMA, new),
                                                               sql.Identifier(layer_id)))
    conn.execute(sql.SQL("INSERT INTO {} (id, stamp, rows) VALUES (%s, %s, %s) ON CONFLICT "
                         "(id) DO UPDATE SET stamp = excluded.stamp, rows = excluded.rows, "
                         "loaded = now()").format(LOADED), [layer_id, version, rows])


def _load_series(entry: catalog.Entry, settings: Settings) -> int:
    """A time-series table: partitioned by year (:mod:`onemap.store.pg_series`)."""
    version = stamp(entry, settings)
    new = f"{entry.id}__{secrets.token_hex(4)}"
    with connection(settings) as conn:
        try:
            with conn.transaction():
                _ensure_schema(conn)
            rows, years = pg_series.load(entry, settings, new)
            with conn.transaction():
                pg_series.finish(conn, entry, new, years)
                _swap(conn, entry.id, new, version, rows)
                pg_series.rename_partitions(conn, new, entry.id, years)
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, entry.id)))
            conn.commit()
        except BaseException:
            conn.rollback()
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, new)))
            conn.commit()
            raise
    LOGGER.info("postgis: loaded %d rows of series %s (%d years)", rows, entry.id, len(years))
    return rows


def drop_layer(layer_id: str, settings: Settings) -> None:
    """Remove the layer's table (the layer was removed from the catalogue)."""
    with connection(settings) as conn:
        _ensure_schema(conn)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, layer_id)))
        conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(LOADED), [layer_id])
        conn.commit()


@contextlib.contextmanager
def write_lock(layer_id: str, settings: Settings) -> Iterator[None]:
    """Held around one write of a layer served from PostGIS, from the version before it to the
    version after it (:func:`stamp`), by every process: so each write knows the two versions
    its change leads between, and PostgreSQL follows the writes in their order or not at all.
    (An exclusive ``flock`` in ``runtime/write-locks``; the kernel drops a dead holder's.)"""
    folder = settings.runtime_dir / "write-locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{layer_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def mirror_feature(entry: catalog.Entry, before: str, after: str, key_column: str, key: str,
                   settings: Settings) -> bool:
    """After an edit of feature ``key`` committed to the layer's GeoPackage, which took the
    layer from version ``before`` to ``after`` (both read under :func:`write_lock`): the
    feature as it now is there (or its absence) in the layer's table, and the table stamped
    ``after`` — when the table held ``before``. Otherwise (a load pending, an earlier edit not
    followed yet, the database unreachable) nothing, and a load in the background brings the
    table up to date; the file answers meanwhile. Whether it followed."""
    path = entry.file(settings)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                            timeout=30)) as lite:
        fids = [int(r[0]) for r in lite.execute(
            f"SELECT fid FROM {ident(entry.id)} WHERE {ident(key_column)} = ?",  # noqa: S608
            (key,))]
    part = pyogrio.read_dataframe(path, layer=entry.id, fid_as_index=True,
                                  where=f"fid IN ({','.join(map(str, fids)) or 'NULL'})")
    table = sql.Identifier(SCHEMA, entry.id)
    try:
        with connection(settings) as conn, conn.transaction():
            row = conn.execute(sql.SQL("SELECT stamp FROM {} WHERE id = %s FOR UPDATE").format(
                LOADED), [entry.id]).fetchone()
            if row is None or row[0] != before:
                raise _Stale
            names = [c for c in part.columns if c != part.geometry.name]
            conn.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                table, sql.Identifier(key_column)), [key])
            if len(part):
                cols = sql.SQL(", ").join(map(sql.Identifier, ["fid", *names, "geom"]))
                marks = sql.SQL(", ").join([sql.Placeholder()] * (len(names) + 1)
                                           + [sql.SQL("ST_GeomFromEWKB(%s)")])
                geoms = shapely.to_wkb(shapely.set_srid(part.geometry.values, 4326),
                                       include_srid=True)
                for i, fid in enumerate(part.index.values):
                    values = [_value(part[n].iloc[i]) for n in names]
                    conn.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                        table, cols, marks), [int(fid), *values, geoms[i]])
            conn.execute(sql.SQL("UPDATE {} SET stamp = %s, rows = (SELECT count(*) FROM {}), "
                                 "loaded = now() WHERE id = %s").format(LOADED, table),
                         [after, entry.id])
    except (_Stale, psycopg.Error) as exc:
        if isinstance(exc, psycopg.Error):
            LOGGER.error("PostGIS %s not edited (read from its file until reloaded): %s",
                         entry.id, exc)
        from onemap.store import follow_catalogue

        follow_catalogue(settings, background=True)
        return False
    return True


class _Stale(Exception):
    """The table did not hold the version the edit started from."""
