"""Server views: stations and sections published with their latest state.

A map symbol for an air station shows its latest AQI and a section its latest water class;
these come from the time-series tables, evaluated with the standards (HJ 633, GB 3838). Rather
than computing that on every request, the view is materialised as a GeoPackage in the runtime
folder when the server starts, and rebuilt only when the layer or its table changed. The
collection is then served by the same provider as every other layer, so filters, paging and
sorting work on the added fields too (``aqi``, ``aqi_level``, ``water_class``…).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio

from onemap.analysis.latest import AIR_POLLUTANTS, latest_section_class, latest_station_aqi
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.normalise import TIMEZONE
from onemap.layers.store import read_layer, write_derived


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


def _latest_rows(table: Entry, view: View, settings: Settings) -> pd.DataFrame:
    """Only the latest usable row per site, selected in SQLite (a year of hours stays on disk)."""
    fields = set(table.fields)
    values = [c for c in view.value_columns if c in fields]
    usable = f"COALESCE({', '.join(values)}) IS NOT NULL" if values else "1"
    if "flag" in fields:
        usable += " AND flag = 'N'"
    t, k = f'"{table.id}"', view.key
    sql = (f"SELECT h.* FROM {t} h JOIN (SELECT {k}, MAX(time) AS t FROM {t} WHERE {usable} "
           f"GROUP BY {k}) m ON h.{k} = m.{k} AND h.time = m.t WHERE {usable}")
    rows = pyogrio.read_dataframe(table.file(settings), sql=sql, sql_dialect="SQLITE",
                                  use_arrow=False)
    rows["time"] = pd.to_datetime(rows["time"], utc=True, format="ISO8601").dt.tz_convert(
        TIMEZONE)
    return pd.DataFrame(rows.drop(columns="geometry", errors="ignore"))


def materialise(entries: dict[str, Entry], settings: Settings) -> dict[str, Path]:
    """Build (or reuse) the view of every layer whose table is catalogued: id -> view file."""
    out: dict[str, Path] = {}
    tables = {e.family: e for e in entries.values() if e.kind == "table"}
    for view in VIEWS:
        table = tables.get(view.table_family)
        for layer in entries.values():
            if layer.family != view.layer_family or layer.kind != "vector" or table is None:
                continue
            target = settings.runtime_dir / "views" / f"{layer.id}.gpkg"
            sources = [layer.file(settings), table.file(settings)]
            if not all(p.exists() for p in sources):
                continue
            fresh = target.exists() and target.stat().st_mtime >= max(
                p.stat().st_mtime for p in sources)
            if not fresh:
                frame = view.build(read_layer(layer.id, settings),
                                   _latest_rows(table, view, settings))
                write_derived(frame, target, layer.id)
            out[layer.id] = target
    return out
