"""Server views: stations and sections published with their latest state.

A map symbol for an air station shows its latest AQI and a section its latest water class;
these come from the time-series tables, evaluated with the standards (HJ 633, GB 3838). Rather
than computing that on every request, the view is materialised as a GeoPackage in the runtime
folder when the server starts, and rebuilt only when the layer or its table changed. The
collection is then served by the same provider as every other layer, so filters, paging and
sorting work on the added fields too (``aqi``, ``aqi_level``, ``water_class``…).

A table can have a view too: the water samples are served with the class of *each* sample
(``water_class``, ``exceeding``), so a section's popup can show its history without the
browser re-implementing GB 3838. That view depends on the sections layer as well (lake
limits, target class), so it is rebuilt when either the table or the sections changed.

The evaluation code counts as a source too: after an upgrade or a corrected limit in
``onemap.analysis.standards``, the views are rebuilt at the next start instead of serving
classes computed by the old code.

A feed (:mod:`onemap.layers.feeds`) changes a few sites' rows: :func:`refresh` then updates
the views of those sites only — the latest row of the stations or sections named, the
evaluated rows of the samples sent — in place, in one transaction, instead of rebuilding the
view from a year of hours. A view that was already out of date is left for the full rebuild.
A file's time is the later of its own and its ``-wal`` file's: a WAL commit not yet
checkpointed changes only the latter.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio

from onemap.analysis import latest, standards
from onemap.analysis.latest import (
    AIR_POLLUTANTS,
    latest_section_class,
    latest_station_aqi,
    with_sample_classes,
)
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.normalise import TIMEZONE
from onemap.layers.store import read_layer, write_derived
from onemap.mapserver.sql import literal


@dataclass(frozen=True)
class View:
    """A layer family enriched from a table family by ``build``."""

    layer_family: str
    table_family: str
    key: str
    value_columns: tuple[str, ...]
    build: Callable


VIEWS = (
    View("air_stations", "air_hourly", "station_id", tuple(AIR_POLLUTANTS),
         latest_station_aqi),
    View("water_sections", "water_samples", "section_id",
         ("do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "ph"), latest_section_class),
)


@dataclass(frozen=True)
class TableView:
    """A table family whose every row ``build`` evaluates with the attributes of a layer
    family (``build(layer_attributes, table) -> table with added columns``)."""

    table_family: str
    layer_family: str
    build: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]


TABLE_VIEWS = (TableView("water_samples", "water_sections", with_sample_classes),)


#: The modules that evaluate the views (their files' times count like the data's).
EVALUATION_CODE: tuple[Path, ...] = (
    Path(latest.__file__), *sorted(Path(standards.__file__).parent.glob("*.py")))


def _mtime(path: Path) -> float:
    """When ``path``'s data last changed: its own time or its WAL's, whichever is later."""
    wal = Path(f"{path}-wal")
    return max(path.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0)


def _fresh(target: Path, sources: list[Path]) -> bool:
    """Whether ``target`` was built after every source, and the evaluation code, last changed."""
    return target.exists() and _mtime(target) >= max(
        _mtime(p) for p in [*sources, *EVALUATION_CODE] if p.exists())


def _in(column: str, values: Iterable[object]) -> str:
    return f"{column} IN ({', '.join(literal(str(v)) for v in values) or 'NULL'})"


def _latest_rows(table: Entry, view: View, settings: Settings,
                 sites: Sequence[object] | None = None) -> pd.DataFrame:
    """Only the latest usable row per site (of ``sites``), selected in SQLite (a year of hours
    stays on disk)."""
    fields = set(table.fields)
    values = [c for c in view.value_columns if c in fields]
    usable = f"COALESCE({', '.join(values)}) IS NOT NULL" if values else "1"
    if "flag" in fields:
        usable += " AND flag = 'N'"

    t, k = f'"{table.id}"', view.key
    only = f" AND {_in(k, sites)}" if sites is not None else ""
    sql = (f"SELECT h.* FROM {t} h JOIN (SELECT {k}, MAX(time) AS t FROM {t} WHERE {usable}"
           f"{only} GROUP BY {k}) m ON h.{k} = m.{k} AND h.time = m.t WHERE {usable}")
    rows = pyogrio.read_dataframe(table.file(settings), sql=sql, sql_dialect="SQLITE",
                                  use_arrow=False)
    rows["time"] = pd.to_datetime(rows["time"], utc=True, format="ISO8601").dt.tz_convert(
        TIMEZONE)
    return pd.DataFrame(rows.drop(columns="geometry", errors="ignore"))


def _table_view(table: Entry, layers: list[Entry], view: TableView, target: Path,
                settings: Settings) -> None:
    """Write ``table``'s view: every row, keeping its fid (item ids stay those of the table),
    evaluated with the attributes of ``layers`` (the first layer wins for a repeated key)."""
    attributes = pd.concat([pd.DataFrame(read_layer(e.id, settings, read_geometry=False))
                            for e in layers], ignore_index=True)
    rows = read_layer(table.id, settings, fid_as_index=True)
    frame = view.build(attributes, pd.DataFrame(rows)).reset_index()  # fid back as a column
    write_derived(frame, target, table.id)


_DEPTH = threading.local()


@contextmanager
def views_lock(settings: Settings) -> Iterator[None]:
    """The views of one data dir written by one thread of one process at a time (the server's
    workers, ``onemap feed``, ``onemap watch``): a view found up to date before a feed's
    commit must still be so when it is updated after it, and a rebuild started before a
    commit must not be renamed over the view the feed updated. Re-entrant in a thread."""
    if getattr(_DEPTH, "n", 0):
        _DEPTH.n += 1
        try:
            yield
        finally:
            _DEPTH.n -= 1
        return
    folder = settings.runtime_dir / "views"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".feeds.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _DEPTH.n = 1
        try:
            yield
        finally:
            _DEPTH.n = 0
            fcntl.flock(lock, fcntl.LOCK_UN)


def materialise(entries: dict[str, Entry], settings: Settings) -> dict[str, Path]:
    """Build (or reuse) the view of every layer whose table is catalogued, and of every table
    whose layer is: id -> view file (under :func:`views_lock`)."""
    with views_lock(settings):
        return _materialise(entries, settings)


def _materialise(entries: dict[str, Entry], settings: Settings) -> dict[str, Path]:
    out: dict[str, Path] = {}
    folder = settings.runtime_dir / "views"
    tables = {e.family: e for e in entries.values() if e.kind == "table"}
    for view in VIEWS:
        table = tables.get(view.table_family)
        for layer in entries.values():
            if layer.family != view.layer_family or layer.kind != "vector" or table is None:
                continue
            target = folder / f"{layer.id}.gpkg"
            sources = [layer.file(settings), table.file(settings)]
            if not all(p.exists() for p in sources):
                continue
            if not _fresh(target, sources):
                frame = view.build(read_layer(layer.id, settings),
                                   _latest_rows(table, view, settings))
                write_derived(frame, target, layer.id)
            out[layer.id] = target
    for tview in TABLE_VIEWS:
        layers = [e for e in entries.values() if e.family == tview.layer_family
                  and e.kind == "vector" and e.file(settings).exists()]
        for table in entries.values():
            if table.family != tview.table_family or table.kind != "table" or not layers \
                    or not table.file(settings).exists():
                continue
            target = folder / f"{table.id}.gpkg"
            if not _fresh(target, [table.file(settings), *(e.file(settings) for e in layers)]):
                _table_view(table, layers, tview, target, settings)
            out[table.id] = target
    return out


def _targets(entries: dict[str, Entry], table: Entry, settings: Settings
             ) -> list[tuple[Path, Entry, View | TableView]]:
    """The views built from ``table``: (file, the layer or table served, how it is built)."""
    folder = settings.runtime_dir / "views"
    out: list[tuple[Path, Entry, View | TableView]] = []
    for view in VIEWS:
        if view.table_family == table.family:
            out += [(folder / f"{e.id}.gpkg", e, view) for e in entries.values()
                    if e.family == view.layer_family and e.kind == "vector"]
    for tview in TABLE_VIEWS:
        if tview.table_family == table.family:
            out.append((folder / f"{table.id}.gpkg", table, tview))
    return out


def fresh_views(entries: dict[str, Entry], table: Entry, settings: Settings) -> set[Path]:
    """The views of ``table`` that are up to date now: before a feed, those :func:`refresh`
    may update in place afterwards."""
    out = set()
    for target, served, how in _targets(entries, table, settings):
        sources = [served.file(settings), table.file(settings)]
        if isinstance(how, TableView):
            sources += [e.file(settings) for e in entries.values()
                        if e.family == how.layer_family and e.kind == "vector"]
        if _fresh(target, sources):
            out.add(target)
    return out


def _upsert_rows(target: Path, table: str, frame: pd.DataFrame) -> bool:
    """Insert or update ``frame``'s rows (by ``fid``) in the table view ``target``, in one
    transaction; False, writing nothing, when the frame has columns the view lacks."""
    conn = feeds.connect(target)
    try:
        stored = {str(r[1]) for r in conn.execute(f'PRAGMA table_info("{table}")')}
        if not set(frame.columns) <= stored:
            return False
        conn.execute("BEGIN IMMEDIATE")
        try:
            feeds.upsert(conn, table, frame, list(frame.columns), ["fid"])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        feeds.release(conn)
    return True


def _replace_sites(target: Path, layer: str, frame: pd.DataFrame, key: str) -> bool:
    """Rewrite the site view ``target`` with the rows of ``frame``'s sites replaced (one row
    per site: small, so written whole and renamed in, as :func:`write_derived` does); False
    when the columns differ from the view's."""
    current = pyogrio.read_dataframe(target, layer=layer, use_arrow=False)
    if list(current.columns) != list(frame.columns):
        return False
    for col in current.columns:
        if isinstance(current[col].dtype, pd.DatetimeTZDtype):
            current[col] = current[col].dt.tz_convert(TIMEZONE)
    order = {site: n for n, site in enumerate(current[key])}
    kept = current[~current[key].isin(set(frame[key]))]
    merged = pd.concat([kept, frame.astype(kept.dtypes.to_dict(), errors="ignore")],
                       ignore_index=True)
    merged = merged.iloc[merged[key].map(order).fillna(len(order)).argsort(kind="stable")]
    write_derived(merged.reset_index(drop=True), target, layer)
    return True


def refresh(entries: dict[str, Entry], table: Entry, settings: Settings,
            keys: pd.DataFrame, fresh: set[Path]) -> list[Path]:
    """After a feed wrote rows with ``keys`` into ``table``: update, of the views that were
    ``fresh`` before it, the rows of the sites (and samples) those keys name. Returns the
    views updated; the others are rebuilt whole when next needed (:func:`materialise`)."""
    done = []
    for target, served, how in _targets(entries, table, settings):
        if target not in fresh or not target.exists() or keys.empty:
            continue
        if isinstance(how, View):
            sites = sorted(keys[how.key].dropna().unique())
            layer = read_layer(served.id, settings, where=_in(how.key, sites))
            frame = how.build(layer, _latest_rows(table, how, settings, sites))
            if not _replace_sites(target, served.id, frame, how.key):
                write_derived(how.build(read_layer(served.id, settings),
                                        _latest_rows(table, how, settings)), target, served.id)
        else:
            layers = [e for e in entries.values() if e.family == how.layer_family
                      and e.kind == "vector" and e.file(settings).exists()]
            attributes = pd.concat([pd.DataFrame(read_layer(e.id, settings,
                                                            read_geometry=False))
                                    for e in layers], ignore_index=True)
            key, time = keys.columns[0], keys.columns[-1]
            sites = sorted(keys[key].dropna().unique())
            rows = read_layer(table.id, settings, fid_as_index=True, where=_in(key, sites))
            wanted = set(zip(keys[key], keys[time], strict=True))
            rows = rows[[k in wanted for k in zip(rows[key], rows[time], strict=True)]]
            frame = how.build(attributes, pd.DataFrame(rows)).reset_index()
            if not _upsert_rows(target, table.id, frame):
                _table_view(table, layers, how, target, settings)
        done.append(target)
    return done
