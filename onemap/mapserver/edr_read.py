"""Reading station series for EDR, from a GeoPackage or from PostGIS, as one frame.

Both readers answer the same question — the rows of some stations between two times, some
parameters — with the same frame: the station id, ``t`` (UTC ``…T…Z`` text, CoverageJSON's
form), then one float column per parameter (NaN where missing or flagged invalid), sorted by
station and time. Both go by the (station, time) index: the GeoPackage's made at import
(:func:`onemap.layers.store.ensure_key_index`), PostgreSQL's the partitioned table's primary
key (:mod:`onemap.store.pg_series`). A query matching more than ``limit`` rows is refused
before its rows are built (:class:`TooMany`), so a 13-year series of one parameter is read
whole and a country-wide cube is a 400 asking for less.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from onemap.config import Settings
from onemap.mapserver.edr_params import Series
from onemap.mapserver.sql import quote_ident
from onemap.store.pg_pool import SCHEMA, connection

Bounds = tuple[pd.Timestamp | None, pd.Timestamp | None]


class TooMany(ValueError):
    """More rows match than one answer may hold."""


@contextlib.contextmanager
def read_only(path: str) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def _time_sql(column: str, bounds: Bounds) -> tuple[str, list[Any]]:
    """Index-friendly bounds on a text time column (``…T…Z`` UTC, with or without
    milliseconds): a text range the index scans, refined by ``julianday`` for exactness."""
    low, high = bounds
    col, out, args = quote_ident(column), [], []
    if low is not None:
        out.append(f"{col} >= ? AND julianday({col}) >= julianday(?)")
        args += [low.strftime("%Y-%m-%dT%H:%M:%S"), low.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    if high is not None:
        out.append(f"{col} <= ? AND julianday({col}) <= julianday(?)")
        args += [high.strftime("%Y-%m-%dT%H:%M:%S") + "~",
                 high.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    return " AND ".join(out) or "1=1", args


def _iso(times: pd.Series) -> pd.Series:
    """Stored times as ``YYYY-MM-DDTHH:MM:SSZ`` (the store writes ``…T…[.fff]Z``; anything else
    is parsed)."""
    text = times.astype(str)
    plain = (text.str.len() >= 20) & (text.str[10] == "T") & text.str.endswith("Z")
    if plain.all():
        return text.str[:19] + "Z"
    parsed = pd.to_datetime(text, utc=True, format="ISO8601")
    return parsed.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_seconds(epoch: np.ndarray) -> np.ndarray:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (an object array): each distinct day and time
    of day formatted once, then joined — a 13-year hourly series is 113,000 times but 4,700
    days and 24 hours (a fifth of numpy's time formatting every one)."""
    day, second = np.divmod(np.asarray(epoch, dtype="int64"), 86400)
    days, day_at = np.unique(day, return_inverse=True)
    seconds, second_at = np.unique(second, return_inverse=True)
    day_text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)
    second_text = np.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"
                            for s in seconds.tolist()], dtype=object)
    return day_text[day_at] + second_text[second_at]  # str + str, element by element


def _frame(rows: list[tuple], columns: list[str], limit: int) -> pd.DataFrame:
    if len(rows) > limit:
        raise TooMany(f"more than {limit} rows match")
    return pd.DataFrame.from_records(rows, columns=columns)


def _finish(frame: pd.DataFrame, series: Series, wanted: list[str], formatted: bool = False
            ) -> pd.DataFrame:
    """Values as floats, NaN where a flag marks the row invalid; ``t`` as CoverageJSON's
    (unless already ``formatted``)."""
    for name in wanted:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    if series.flag and series.flag in frame.columns:
        bad = frame[series.flag].notna() & (frame[series.flag] != "N")
        frame.loc[bad, wanted] = np.nan
        frame = frame.drop(columns=series.flag)
    if not formatted and len(frame):
        frame["t"] = _iso(frame["t"])
    frame[series.key] = frame[series.key].astype(str)
    return frame


def from_geopackage(path: str, table: str, series: Series, ids: list[str], bounds: Bounds,
                    wanted: list[str], limit: int) -> pd.DataFrame:
    """The rows of station ``ids`` from the GeoPackage's table (a wide table, or a long one —
    site, time, interval, pollutant, value — pivoted to one column per parameter)."""
    time_sql, time_args = _time_sql(series.time, bounds)
    key, time, name = quote_ident(series.key), quote_ident(series.time), quote_ident(table)
    where = f"{key} IN ({','.join('?' * len(ids))}) AND {time_sql}"
    args: list[Any] = [*ids, *time_args]
    if series.interval:
        where += " AND interval = ? AND pollutant IN (" + ",".join("?" * len(wanted)) + ")"
        args += [series.interval, *wanted]
        with read_only(path) as conn:
            rows = conn.execute(f"SELECT {key}, {time}, pollutant, value FROM {name} "  # noqa: S608
                                f"WHERE {where} LIMIT ?", [*args, limit * len(wanted) + 1]
                                ).fetchall()
        long = _frame(rows, [series.key, "t", "pollutant", "value"], limit * len(wanted))
        wide = long.pivot_table(index=[series.key, "t"], columns="pollutant", values="value",
                                aggfunc="last").reset_index()
        wide = wide[[series.key, "t", *[w for w in wanted if w in wide.columns]]]
        wide = wide.sort_values([series.key, "t"], kind="stable")
        return _finish(wide.reset_index(drop=True), series,
                       [w for w in wanted if w in wide.columns])
    flag = [series.flag] if series.flag else []
    select = ", ".join(quote_ident(c) for c in [*wanted, *flag])
    with read_only(path) as conn:
        rows = conn.execute(f"SELECT {key}, {time}, {select} FROM {name} WHERE {where} "  # noqa: S608
                            f"ORDER BY {key}, {time} LIMIT ?", [*args, limit + 1]).fetchall()
    return _finish(_frame(rows, [series.key, "t", *wanted, *flag], limit), series, wanted)


def from_postgis(settings: Settings, table: str, series: Series, ids: list[str],
                 bounds: Bounds, wanted: list[str], limit: int) -> pd.DataFrame:
    """The same rows from the table's partitioned copy in PostGIS (a wide table), gathered by
    ``array_agg`` into one row of arrays per station (flagged and missing values NaN, times
    epoch seconds), which psycopg's binary loader turns into numbers without a Python object
    per row: a station's 13 years are 113,000 rows."""
    key, time = sql.Identifier(series.key), sql.Identifier(series.time)
    # No ORDER BY: the LIMIT only tells "too many" (the rows are put in time order below),
    # and one station by equality is an index scan of each partition with no sort (ANY() or
    # an ORDER BY made PostgreSQL sort a 13-year series' 113,000 rows: ~30 ms more)
    one = len(ids) == 1
    where = [sql.SQL("{} = %s" if one else "{} = ANY(%s)").format(key)]
    args: list[Any] = [ids[0] if one else ids]
    for value, op in zip(bounds, (">=", "<="), strict=True):
        if value is not None:
            where.append(sql.SQL("{} " + op + " %s").format(time))
            args.append(value.to_pydatetime())
    valid = (sql.SQL("{} IS NULL OR {} = 'N'").format(sql.Identifier(series.flag),
                                                     sql.Identifier(series.flag))
             if series.flag else sql.SQL("true"))
    values = sql.SQL(", ").join(
        sql.SQL("CASE WHEN {} THEN coalesce({}::float8, 'NaN') ELSE 'NaN' END AS {}").format(
            valid, sql.Identifier(n), sql.Identifier(f"v{i}")) for i, n in enumerate(wanted))
    arrays = sql.SQL(", ").join(sql.SQL("array_agg({})").format(sql.Identifier(f"v{i}"))
                                for i in range(len(wanted)))
    query = sql.SQL("SELECT {}, array_agg(t), {} FROM (SELECT extract(epoch FROM {})::int8 AS t, "
                    "{} AS k, {} FROM {} WHERE {} LIMIT %s) AS rows {}").format(
        sql.SQL("%s::text" if one else "k"), arrays, time, key, values,
        sql.Identifier(SCHEMA, table), sql.SQL(" AND ").join(where),
        sql.SQL("" if one else "GROUP BY k"))
    params = [ids[0], *args, limit + 1] if one else [*args, limit + 1]
    parts: list[pd.DataFrame] = []
    with connection(settings) as conn, conn.cursor(binary=True) as cur:
        try:
            found = cur.execute(query, params).fetchall()
        except psycopg.errors.DataError as exc:
            raise ValueError(str(exc).splitlines()[0]) from exc
    found = [f for f in found if f[1] is not None]  # one station's aggregate of no rows
    if sum(len(f[1]) for f in found) > limit:
        raise TooMany(f"more than {limit} rows match")
    for sid, stamps, *columns in sorted(found, key=lambda f: f[0]):
        when = np.array(stamps, dtype="int64")
        order = np.argsort(when, kind="stable")
        parts.append(pd.DataFrame({
            series.key: sid, "t": pd.Series(iso_seconds(when[order]), dtype=object),
            **{n: np.array(columns[i], dtype=float)[order] for i, n in enumerate(wanted)}}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=[series.key, "t", *wanted])
    return _finish(frame, series, wanted, formatted=True)
