"""Feeds: observations appended to a stored time-series table, without replacing the layer.

An hourly air file, a batch of water samples: rows keyed by site + time that arrive again and
again (a station resends an hour it corrected, an FTP drop is picked up twice). So a feed is
an *upsert* by that key — the same rows twice leave the same table — validated by the family
schema with the very normalisation and checks of an import (:func:`normalise`,
:class:`Validator`): a row refused here would be refused by ``onemap import`` with the same
words. All or none: when any row is wrong nothing is written and every problem is reported
(row, field, problem); otherwise the rows go in one SQLite transaction on the table's
GeoPackage (WAL, so the server's readers are never blocked) and the catalogue entry's count
and time extent change with it.

A table's rows have one key (:data:`FEEDS`: family -> :class:`Feed`); the upsert needs a
unique index on it, created (with the stored times brought to one text form, see
:func:`_prepare`) the first time a table is fed. Another table joins with one :class:`Feed`
(:func:`register`), with its own ``check`` and ``write``/``commit`` when it is not a family of
:mod:`onemap.layers.families`: outlet readings (:mod:`onemap.live.readings_feed`) are written
by :func:`onemap.live.readings.append`, the HJ 212 receiver's own writer.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onemap import catalog
from onemap.config import Settings
from onemap.layers.errors import LayerImportError, Problem
from onemap.layers.families import get_family
from onemap.layers.gpkg_rows import ident
from onemap.layers.normalise import TIMEZONE, map_columns, normalise
from onemap.layers.readers import iter_frames, row_numbering
from onemap.layers.validate import Validator

#: How GDAL writes a GeoPackage DATETIME (UTC, milliseconds): the one form a feed stores, so
#: that the unique key compares text with text.
GPKG_TIME = "%Y-%m-%dT%H:%M:%fZ"
_GPKG_TIME_GLOB = "????-??-??T??:??:??.???Z"


#: ``frame.attrs`` key of a JSON batch's mask of the fields each row left out.
ABSENT = "onemap_absent"


@dataclass(frozen=True)
class Checked:
    """A batch ready to write: the normalised rows and the columns it provides; ``groups``
    splits the rows by the columns each one sent (a JSON row that leaves a field out keeps
    the stored value of it on update)."""

    frame: pd.DataFrame
    columns: tuple[str, ...]
    groups: tuple[tuple[tuple[str, ...], pd.Index], ...] = ()

    def parts(self) -> list[tuple[pd.DataFrame, tuple[str, ...]]]:
        """(rows, their columns): the whole frame, or one part per group."""
        if not self.groups:
            return [(self.frame, self.columns)]
        return [(self.frame.loc[index], columns) for columns, index in self.groups]


@dataclass(frozen=True)
class Result:
    """What a feed did: rows sent, inserted (new key), updated (key there, values changed);
    the rest were already as sent. ``keys`` are the key values of the rows written."""

    table: str
    rows: int
    inserted: int
    updated: int
    keys: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated

    def doc(self) -> dict[str, Any]:
        return {"table": self.table, "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged}


Check = Callable[[pd.DataFrame, "Feed", str, str, Sequence[str]], Checked]
Write = Callable[[sqlite3.Connection, str, Checked, "Feed"], int]
Commit = Callable[[Path, Checked, Settings], int]


@dataclass(frozen=True)
class Feed:
    """How rows of one table family are checked and written: ``key`` identifies a row;
    ``check(frame, feed, source, unit, table_columns)`` normalises and validates (raising
    :class:`LayerImportError`); ``write(conn, table, checked, feed)`` upserts inside the
    caller's transaction and returns how many rows it inserted or changed."""

    family: str
    key: tuple[str, ...]
    #: The field whose extent the catalogue entry shows.
    time: str | None = "time"
    check: Check | None = None
    write: Write | None = None
    #: For a table with a writer of its own that commits itself (outlet readings, in the live
    #: store): ``commit(path, checked, settings)`` -> rows written. The catalogue entry then
    #: follows right after that commit instead of within it (a live table's: not at all).
    commit: Commit | None = None


def register(feed: Feed) -> Feed:
    """Let feeds write tables of ``feed.family`` (for a module outside the layers package)."""
    FEEDS[feed.family] = feed
    return feed


def check_family(frame: pd.DataFrame, feed: Feed, source: str, unit: str,
                 table_columns: Sequence[str]) -> Checked:
    """The import's normalisation and validation (:func:`normalise`, :class:`Validator`) of a
    batch whose index holds the user's row numbers; a column the table lacks is a problem too
    (a feed adds rows, never fields)."""
    family = get_family(feed.family)
    chunk = normalise(frame, family, file=source, unit=unit)
    validator = Validator(family, file=source, unit=unit)
    validator.check(chunk)
    known = set(table_columns)
    extras = map_columns(list(frame.columns), family)[1]  # the file's column -> stored name
    named = {**{f: col for col, f in extras.items()}, **chunk.sources}
    provided = [f.name for f in family.fields if f.name in chunk.sources]
    provided += [name for name in extras.values() if name not in provided]
    for name in provided:
        if name not in known:
            validator.add(None, name, f"column {named[name]!r} is not a field of this table "
                          f"(its fields: {', '.join(table_columns)})")
    if validator.total:
        problems = sorted(validator.problems, key=lambda p: (p.row is not None, p.row or 0))
        raise LayerImportError(problems, validator.total)
    columns = tuple(dict.fromkeys([*feed.key, *provided]))
    return Checked(chunk.frame, columns, _groups(frame, columns, named, feed))


def _groups(frame: pd.DataFrame, columns: tuple[str, ...], named: dict[str, str], feed: Feed
            ) -> tuple[tuple[tuple[str, ...], pd.Index], ...]:
    """Rows grouped by the columns they sent, when the batch says which it left out."""
    absent = frame.attrs.get(ABSENT)
    if absent is None or not absent.to_numpy().any():
        return ()
    sent = pd.DataFrame({c: ~absent[named[c]] if named.get(c) in absent else True
                         for c in columns if c not in feed.key}, index=frame.index)
    out = []
    for mask, rows in sent.groupby(list(sent.columns), sort=False).groups.items():
        flags = mask if isinstance(mask, tuple) else (mask,)
        kept = tuple(c for c, on in zip(sent.columns, flags, strict=True) if on)
        out.append(((*feed.key, *kept), pd.Index(rows)))
    return tuple(out)


def sql_values(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of ``frame``'s ``columns`` as SQLite values, as GDAL stores them in a GeoPackage:
    aware times as UTC text with milliseconds, missing values as NULL, numpy scalars as
    Python numbers."""
    out: list[list[Any]] = []
    for name in columns:
        values = frame[name]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            utc = values.dt.tz_convert("UTC")
            text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.") + (
                utc.dt.microsecond // 1000).astype("Int64").astype(str).str.zfill(3) + "Z"
            column = [None if pd.isna(v) else v for v in text.astype(object)]
        else:
            column = [_plain(v) for v in values.astype(object)]
        out.append(column)
    return list(zip(*out, strict=True)) if out else []


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def upsert(conn: sqlite3.Connection, table: str, frame: pd.DataFrame,
           columns: Sequence[str], key: Sequence[str]) -> int:
    """Insert ``frame``'s rows, or update the row with the same ``key`` (which a unique index
    must cover) where a value differs; the number of rows inserted or changed."""
    cols = ", ".join(map(ident, columns))
    rest = [c for c in columns if c not in key]
    action = "NOTHING"
    if rest:
        sets = ", ".join(f"{ident(c)} = excluded.{ident(c)}" for c in rest)
        differs = " OR ".join(f"{ident(table)}.{ident(c)} IS NOT excluded.{ident(c)}"
                              for c in rest)
        action = f"UPDATE SET {sets} WHERE {differs}"
    sql = (f"INSERT INTO {ident(table)} ({cols}) VALUES ({', '.join('?' * len(columns))}) "
           f"ON CONFLICT ({', '.join(map(ident, key))}) DO {action}")
    cursor = conn.executemany(sql, sql_values(frame, columns))
    return max(cursor.rowcount, 0)


def write_family(conn: sqlite3.Connection, table: str, checked: Checked, feed: Feed) -> int:
    return sum(upsert(conn, table, rows, columns, feed.key)
               for rows, columns in checked.parts())


#: The tables a feed may write, by family.
FEEDS: dict[str, Feed] = {f.family: f for f in [
    Feed("air_hourly", ("station_id", "time")),
    Feed("water_samples", ("section_id", "time")),
]}


def feed_of(entry: catalog.Entry) -> Feed | None:
    """The feed of a catalogued table (None: it is not a table feeds write)."""
    return FEEDS.get(entry.family) if entry.kind == "table" else None


def connect(path: Path) -> sqlite3.Connection:
    """A write connection in WAL mode (readers go on reading the last commit meanwhile) with
    full syncs: a commit is on disk when it returns."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def release(conn: sqlite3.Connection) -> None:
    """Checkpoint and close: the main file then holds the commit, so its mtime — what the
    server's caches and views compare — moves with the data. The file goes back to a rollback
    journal when no reader has it open: a GeoPackage is opened directly by GIS tools, also
    from network shares, where WAL does not work, and an import renames a new file over it
    (no ``-wal`` file may outlive the database it belongs to)."""
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA busy_timeout=200")  # only if nobody else has it open
        conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error:
        pass  # a reader holds the WAL: the next writer or the last close checkpoints it
    finally:
        conn.close()


def _prepare(conn: sqlite3.Connection, table: str, feed: Feed, times: Iterable[str]) -> None:
    """The unique index on the key, made once per table (an import writes a new file without
    it). GDAL writes times with or without milliseconds depending on its write path, so the
    stored times are first brought to :data:`GPKG_TIME`, the form feeds write."""
    index = f"{table}_feed_key"
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                    (index,)).fetchone():
        return
    for name in times:
        conn.execute(f"UPDATE {ident(table)} SET {ident(name)} = strftime('{GPKG_TIME}', "
                     f"{ident(name)}) WHERE {ident(name)} IS NOT NULL AND {ident(name)} "
                     f"NOT GLOB '{_GPKG_TIME_GLOB}'")
    try:
        conn.execute(f"CREATE UNIQUE INDEX {ident(index)} ON {ident(table)} "
                     f"({', '.join(map(ident, feed.key))})")
    except sqlite3.IntegrityError:
        raise ValueError(f"table {table!r} already holds rows with the same "
                         f"{' + '.join(feed.key)}: re-import it before feeding it") from None


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [(str(r[1]), str(r[2]).upper()) for r in
            conn.execute(f"PRAGMA table_info({ident(table)})")]


def _extent(conn: sqlite3.Connection, table: str, time: str | None) -> list[str] | None:
    if time is None:
        return None
    low, high = conn.execute(f"SELECT MIN({ident(time)}), MAX({ident(time)}) "
                             f"FROM {ident(table)}").fetchone()
    if low is None:
        return None
    return [pd.Timestamp(v).tz_convert(TIMEZONE).isoformat() for v in (low, high)]


def append(table_id: str, frame: pd.DataFrame, settings: Settings, *, source: str,
           unit: str = "row") -> Result:
    """Upsert a batch (``frame``'s index: the user's row numbers) into catalogued table
    ``table_id``, all or none, and update its catalogue entry.

    Raises :class:`~onemap.catalog.UnknownDataset`, ValueError for a dataset that is not a
    feed table, :class:`LayerImportError` (a ValueError) listing every problem of the batch.
    """
    entry = catalog.get(table_id, settings)
    from onemap.store import pg_load, served_from_postgis

    if not served_from_postgis(entry, settings) or entry.live:  # live: its own log follows
        return _append(entry, frame, settings, source=source, unit=unit)
    # PostGIS serves it: the versions before and after are this feed's own (the lock), and
    # its rows then go there too (onemap.store.pg_series.feed_rows)
    with pg_load.write_lock(table_id, settings):
        before = pg_load.stamp(catalog.get(table_id, settings), settings)
        result = _append(catalog.get(table_id, settings), frame, settings, source=source,
                         unit=unit)
        after = pg_load.stamp(catalog.get(table_id, settings), settings)
    if result.inserted or result.updated:
        from onemap.store.pg_series import feed_rows

        feed_rows(table_id, before, after, result.keys, result.inserted, settings)
    return result


def _append(entry: catalog.Entry, frame: pd.DataFrame, settings: Settings, *, source: str,
            unit: str) -> Result:
    table_id = entry.id
    feed = feed_of(entry)
    if feed is None:
        raise ValueError(f"{table_id!r} ({entry.kind}, family {entry.family}) is not a table "
                         f"feeds write: those are tables of {', '.join(FEEDS)}")
    if len(frame) == 0:
        raise LayerImportError.single(source, "contains no rows", unit=unit)
    path = entry.file(settings)
    own = feed.commit is not None  # its writer keeps the file as it wants it (WAL)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None) if own else connect(path)
    try:
        columns = _columns(conn, table_id)
        checked = (feed.check or check_family)(frame, feed, source, unit,
                                               [n for n, _ in columns if n != "fid"])
        if feed.commit is not None:
            before = _count(conn, table_id)
            written = feed.commit(path, checked, settings)
            after = _count(conn, table_id)
            if written and not entry.live:  # a live table's entry holds no count
                catalog.update(table_id, settings, feature_count=after,
                               time_extent=_extent(conn, table_id, feed.time))
            return _result(table_id, frame, feed, checked, before, after, written)
        conn.execute("BEGIN IMMEDIATE")
        try:
            _prepare(conn, table_id, feed, [n for n, t in columns if t == "DATETIME"])
            before = _count(conn, table_id)
            written = (feed.write or write_family)(conn, table_id, checked, feed)
            after = _count(conn, table_id)
            previous = None
            if written:
                conn.execute("UPDATE gpkg_contents SET last_change = strftime(?, 'now') "
                             "WHERE table_name = ?", (GPKG_TIME, table_id))
                previous, _ = catalog.update(table_id, settings, feature_count=after,
                                             time_extent=_extent(conn, table_id, feed.time))
            try:
                conn.execute("COMMIT")
            except BaseException:
                if previous is not None:
                    catalog.put(previous, settings)
                raise
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if own:
            conn.close()
        else:
            release(conn)
    return _result(table_id, frame, feed, checked, before, after, written)


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {ident(table)}").fetchone()[0])


def _result(table_id: str, frame: pd.DataFrame, feed: Feed, checked: Checked, before: int,
            after: int, written: int) -> Result:
    inserted = after - before
    keys = checked.frame[list(feed.key)].reset_index(drop=True) if written else pd.DataFrame()
    return Result(table_id, len(frame), inserted, max(written - inserted, 0), keys)


# -- reading batches -------------------------------------------------------------------------

def rows_frame(rows: object, source: str) -> pd.DataFrame:
    """A JSON batch (a list of objects, field -> plain value) as a frame numbered from 1;
    anything else raises :class:`LayerImportError` naming the rows."""
    if not isinstance(rows, list):
        raise LayerImportError.single(source, 'send a JSON array of rows or {"rows": [...]}',
                                      unit="row")
    problems = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(Problem(source, n, None, "is not a JSON object (field: value)",
                                    "row"))
            continue
        for name, value in row.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                problems.append(Problem(source, n, str(name), "is not a plain value (text, "
                                        "number or null)", "row"))
    if problems:
        raise LayerImportError(problems)
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    frame = frame.set_axis(pd.RangeIndex(1, len(frame) + 1), axis=0)
    frame.attrs[ABSENT] = pd.DataFrame({c: [c not in row for row in rows]
                                        for c in frame.columns}, index=frame.index)
    return frame


def batch_of(document: object, source: str) -> pd.DataFrame:
    """The rows of a parsed JSON body: ``{"rows": [...]}`` or the array itself."""
    if isinstance(document, dict):
        if document.get("type") == "FeatureCollection":
            raise LayerImportError.single(source, "a FeatureCollection is for layers with "
                                          "geometry; a table takes {\"rows\": [...]}",
                                          unit="row")
        if set(document) != {"rows"}:
            raise LayerImportError.single(source, 'send {"rows": [...]} or a JSON array of '
                                          "rows", unit="row")
        document = document["rows"]
    return rows_frame(document, source)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes | str, source: str) -> pd.DataFrame:
    """A JSON batch's rows (strict JSON: NaN and Infinity are refused)."""
    try:
        document = json.loads(data, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LayerImportError.single(source, f"is not valid JSON: {exc}", unit="row") from None
    return batch_of(document, source)


def read_batch(path: Path, settings: Settings, *, encoding: str | None = None
               ) -> tuple[pd.DataFrame, str]:
    """A CSV or JSON file's rows, numbered as the user counts them (CSV: the header is row 1),
    and the unit of those numbers. CSVs are read as imports read them
    (:func:`onemap.layers.readers.iter_frames`: encoding, number columns, size limits)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        return parse_json(path.read_bytes(), path.name), "row"
    if suffix != ".csv":
        raise LayerImportError.single(path.name, "a feed is a CSV (.csv) or JSON (.json) file",
                                      unit="row")
    unit, first = row_numbering(path)
    frames = list(iter_frames(path, encoding=encoding, read_geometry=False, settings=settings))
    frame = pd.concat(frames) if len(frames) > 1 else frames[0]
    return frame.set_axis(pd.RangeIndex(first, first + len(frame)), axis=0), unit
