"""Time-series tables in PostGIS: partitioned by year of their time, keyed by (site, time).

An hourly series grows by a year of rows every year (1,500 stations: 13 million rows); a query
almost always names a time range, and old years are never written again. So the table is a
PostgreSQL declarative partitioned table, ``PARTITION BY RANGE (time)``, one partition per
calendar year (UTC): a query over a month reads one partition's index, and a year can be
detached or moved without touching the others. Every partition has the primary key
(site, time) — the (station, time) index EDR reads one station's series by, and the key a feed
upserts on — and a BRIN index on the time (tiny, for queries over all stations at an hour).

Loaded from the table's GeoPackage like a layer (:mod:`onemap.store.pg_load`: COPY in slices,
indexes after the rows, one swap). A feed appends to the GeoPackage and then the same rows to
PostgreSQL (:func:`feed_rows`), so the served series stays current without a reload; if the
table was not current before the feed (a load pending, another feed in between), the rows are
left for the next load and the series is read from the GeoPackage meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Iterable

import pandas as pd
import psycopg
from psycopg import sql

from onemap import catalog
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from onemap.layers.gpkg_rows import ident
from onemap.store.pg_pool import SCHEMA, connection

LOGGER = logging.getLogger(__name__)
#: Rows per COPY slice.
SLICE = 200_000
_TYPES = {"INTEGER": "bigint", "INT": "bigint", "MEDIUMINT": "bigint", "SMALLINT": "bigint",
          "TINYINT": "bigint", "BOOLEAN": "boolean", "REAL": "double precision",
          "DOUBLE": "double precision", "FLOAT": "double precision", "DATETIME": "timestamptz",
          "DATE": "date"}


def series_key(entry: catalog.Entry) -> tuple[str, str] | None:
    """(site column, time column) of a time-series table (``air_hourly``, ``water_samples``;
    not the receiver's live tables); None for anything else."""
    if entry.kind != "table" or entry.live:
        return None
    family = FAMILIES.get(entry.family)
    if family is None or not family.key or not family.time_field:
        return None
    return family.key, family.time_field


def partition(parent: str, year: int) -> str:
    """The name of ``parent``'s partition of ``year`` (at most 63 bytes, as PostgreSQL's
    identifiers are: a long parent name is shortened with a hash, never truncated alike)."""
    name = f"{parent}_y{year}"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(parent.encode()).hexdigest()[:10]
    return f"{parent.encode()[:40].decode(errors='ignore')}_{digest}_y{year}"


def ensure_years(conn: psycopg.Connection, parent: str, years: Iterable[int]) -> None:
    """The partitions of ``years`` on table ``parent`` (those missing are made)."""
    for year in sorted(set(years)):
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
            sql.Identifier(SCHEMA, partition(parent, year)), sql.Identifier(SCHEMA, parent),
            sql.Literal(f"{year}-01-01 00:00:00+00"), sql.Literal(f"{year + 1}-01-01 00:00:00+00")))


def _years(values: Iterable[object]) -> set[int]:
    stamps = pd.to_datetime(pd.Series(list(values)), utc=True, errors="coerce", format="ISO8601")
    return {int(y) for y in stamps.dropna().dt.year.unique()}


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [(str(r[1]), _TYPES.get(str(r[2]).upper().split("(")[0], "text"))
            for r in conn.execute(f"PRAGMA table_info({ident(table)})")]


def load(entry: catalog.Entry, settings: Settings, new: str) -> tuple[int, list[int]]:
    """Copy the series table ``entry`` from its GeoPackage into a new partitioned table
    ``new`` (schema :data:`~onemap.store.pg_pool.SCHEMA`); its rows and years. The caller
    indexes and swaps it in (:func:`finish`) or drops it."""
    site, time = series_key(entry) or ("", "")
    path = entry.file(settings)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                            timeout=30)) as lite:
        columns = _columns(lite, entry.id)
        names = [n for n, _ in columns]
        low, high, top = lite.execute(f"SELECT min({ident(time)}), max({ident(time)}), "
                                      f"max(fid) FROM {ident(entry.id)}").fetchone()
        years = sorted(_years([low, high])) if low is not None else []
        years = list(range(years[0], years[-1] + 1)) if years else []
        table = sql.Identifier(SCHEMA, new)
        cols = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(sql.Identifier(n), sql.SQL(t),
                                      sql.SQL(" NOT NULL" if n in (site, time) else ""))
            for n, t in columns)
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            table, sql.SQL(", ").join(map(sql.Identifier, names)))
        rows = 0
        with connection(settings) as conn:
            with conn.transaction():
                conn.execute(sql.SQL("CREATE TABLE {} ({}) PARTITION BY RANGE ({})").format(
                    table, cols, sql.Identifier(time)))
                ensure_years(conn, new, years)
            select = (f"SELECT {', '.join(map(ident, names))} FROM {ident(entry.id)} "  # noqa: S608
                      "WHERE fid > ? AND fid <= ?")
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy) as out:
                for lo in range(0, int(top or 0), SLICE):
                    for row in lite.execute(select, (lo, lo + SLICE)):
                        out.write_row(row)
                        rows += 1
    return rows, years


def finish(conn: psycopg.Connection, entry: catalog.Entry, new: str, years: list[int]) -> None:
    """Inside the swap's transaction: the key and time indexes on ``new``, and its partitions
    renamed after the layer (the old table, dropped by the caller first, had those names)."""
    site, time = series_key(entry) or ("", "")
    table = sql.Identifier(SCHEMA, new)
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({}, {})").format(
        table, sql.Identifier(site), sql.Identifier(time)))
    conn.execute(sql.SQL("CREATE INDEX ON {} USING brin ({})").format(table, sql.Identifier(time)))
    conn.execute(sql.SQL("CREATE INDEX ON {} (fid)").format(table))


def rename_partitions(conn: psycopg.Connection, new: str, layer_id: str,
                      years: list[int]) -> None:
    for year in years:
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(SCHEMA, partition(new, year)),
            sql.Identifier(partition(layer_id, year))))


def feed_rows(table_id: str, before: str, after: str, keys: pd.DataFrame, inserted: int,
              settings: Settings) -> bool:
    """After a feed committed rows (their ``keys``: site and time; ``inserted`` of them new)
    to the table's GeoPackage, taking it from version ``before`` to ``after`` (both read under
    :func:`onemap.store.pg_load.write_lock`): upsert the same rows, as stored there, into
    PostgreSQL, and stamp the table ``after``. Only when the table held ``before``; otherwise
    (and when the database cannot be reached) nothing, and the next load brings it up to
    date. Whether the rows went in."""
    from onemap.layers.feeds import sql_values
    from onemap.store import pg_load

    entry = catalog.get(table_id, settings)
    site, time = series_key(entry) or ("", "")
    if not site or keys.empty:
        return False
    path = entry.file(settings)
    try:
        with connection(settings) as conn, conn.transaction():
            row = conn.execute(sql.SQL("SELECT stamp FROM {} WHERE id = %s FOR UPDATE").format(
                pg_load.LOADED), [table_id]).fetchone()
            if row is None or row[0] != before:
                return False
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                    timeout=30)) as lite:
                names = [n for n, _ in _columns(lite, table_id)]
                select = (f"SELECT {', '.join(map(ident, names))} FROM {ident(table_id)} "  # noqa: S608
                          f"WHERE {ident(site)} = ? AND {ident(time)} = ?")
                found = [lite.execute(select, pair).fetchone()
                         for pair in sql_values(keys, [site, time])]
            found = [r for r in found if r is not None]
            ensure_years(conn, table_id, _years(r[names.index(time)] for r in found))
            _upsert(conn, table_id, names, found, (site, time))
            conn.execute(sql.SQL("UPDATE {} SET stamp = %s, rows = rows + %s, loaded = now() "
                                 "WHERE id = %s").format(pg_load.LOADED),
                         [after, inserted, table_id])
    except psycopg.Error as exc:
        LOGGER.error("PostGIS series %s not fed (read from its file until reloaded): %s",
                     table_id, exc)
        return False
    return True


def _upsert(conn: psycopg.Connection, table: str, names: list[str], rows: list[tuple],
            key: tuple[str, str]) -> None:
    temp = sql.Identifier(f"feed_{table}"[:60])
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(
        temp, sql.Identifier(SCHEMA, table)))
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
            temp, columns)) as out:
        for row in rows:
            out.write_row(row)
    updates = sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n))
                                 for n in names if n not in key)
    conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}, {}) "
                         "DO UPDATE SET {}").format(
        sql.Identifier(SCHEMA, table), columns, columns, temp, sql.Identifier(key[0]),
        sql.Identifier(key[1]), updates))
