"""The embedded store: one GeoPackage per layer, replaced atomically, then catalogued.

Why one GeoPackage per layer: a layer can be replaced by renaming one file (readers that have the
old one open keep reading it), a broken import can never damage another layer, and any GIS tool
opens the file directly. Files are written as GPKG 1.2 with a spatial index so Debian's GDAL 3.6
tools (ogrinfo, QGIS of that era) read them too.

An import writes chunk by chunk into a temporary GeoPackage in the store folder and only at the
end renames it over the layer's file and updates the catalogue. Until then the previous file and
catalogue are untouched; on any failure the temporary file is removed, and if the catalogue
update itself fails the previous layer file is put back.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from onemap import catalog
from onemap.config import Settings, get_settings
from onemap.layers import gpkg_rows
from onemap.layers.families import Family
from onemap.layers.normalise import TIMEZONE
from onemap.layers.readers import Frame

GPKG_GEOMETRY = {"Point": "Point", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
_SQLITE_SIDECARS = ("-journal", "-wal", "-shm")
#: Write chunks through GDAL's Arrow batch API when pyarrow is installed (GDAL >= 3.8): about
#: 5x faster than pyogrio's feature-by-feature path for large layers, and the GeoPackage is the
#: same (column names and types, "geom", UTC "Z" times, NULLs, FIDs, rtree): tests/layers/
#: test_store.py compares the two. pyarrow comes with the test extra, not the runtime
#: dependencies, so without it the store falls back to the feature path.
ARROW_WRITE = (importlib.util.find_spec("pyarrow") is not None
               and pyogrio.__gdal_version__ >= (3, 8, 0))


def file_version(path: str | Path) -> tuple[int, ...]:
    """A key that changes whenever the GeoPackage's content may have: the file's and its
    write-ahead log's times and sizes (a file written in WAL mode, as the live store is,
    changes its ``-wal`` at each commit and its own mtime only at a checkpoint)."""
    out: list[int] = []
    for name in (str(path), f"{path}-wal"):
        try:
            stat = os.stat(name)
        except FileNotFoundError:
            out += [0, 0]
            continue
        out += [stat.st_mtime_ns, stat.st_size]
    return tuple(out)


def layer_path(layer_id: str, settings: Settings) -> Path:
    """Where layer ``layer_id`` lives: ``<data_dir>/store/<layer_id>.gpkg``."""
    return settings.store_dir / f"{catalog.check_id(layer_id)}.gpkg"


def read_layer(layer_id: str, settings: Settings | None = None, **kwargs: Any) -> Frame:
    """A stored layer as a GeoDataFrame (attribute tables: a DataFrame).

    ``kwargs`` go to :func:`pyogrio.read_dataframe` (``columns=``, ``where=``, ``bbox=``,
    ``max_features=``…). Datetime fields come back timezone-aware in Asia/Shanghai.
    """
    settings = settings or get_settings()
    entry = catalog.get(layer_id, settings)
    kwargs.setdefault("use_arrow", False)
    frame = pyogrio.read_dataframe(entry.file(settings), layer=entry.id, **kwargs)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_convert(TIMEZONE)
    return frame


def field_type(dtype: object) -> str:
    """The catalogue's type name for a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "str"


def _for_gpkg(frame: Frame) -> Frame:
    """Store-ready copy: aware datetimes in UTC (GPKG's ``Z`` form), int64 as nullable Int64."""
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC")
        elif pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.Int64Dtype):
            out[col] = out[col].astype("Int64")
    return out


def _for_arrow(frame: Frame) -> Frame:
    """Aware datetimes as Arrow timestamps, which pyarrow takes as they are (given pandas'
    own dtype, pyarrow 17 reads ``Series.values``, deprecated for aware times in pandas 3.1)."""
    import pyarrow as pa

    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not zoned:
        return frame
    out = frame.copy(deep=False)
    for col in zoned:
        dtype = frame[col].dtype
        out[col] = frame[col].astype(pd.ArrowDtype(pa.timestamp(dtype.unit, tz=str(dtype.tz))))
    return out


def _conform(frame: Frame, schema: dict[str, Any], chunk: int) -> Frame:
    """Make a later chunk match the columns and dtypes the layer was created with."""
    unknown = [c for c in frame.columns if c not in schema]
    if unknown:
        raise ValueError(f"chunk {chunk} has columns the first chunk did not have: "
                         f"{', '.join(map(str, unknown))}")
    out = {}
    for col, dtype in schema.items():
        if col not in frame.columns:
            out[col] = pd.Series(pd.NA if isinstance(dtype, pd.Int64Dtype) else None,
                                 index=frame.index).astype(dtype)
        elif frame[col].dtype != dtype and col != "geometry":
            out[col] = frame[col].astype(dtype)
        else:
            out[col] = frame[col]
    if isinstance(frame, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)
    return pd.DataFrame(out)


def _time_bounds(values: pd.Series) -> tuple[str, str] | None:
    values = values.dropna()
    if values.empty:
        return None
    low, high = values.min(), values.max()
    if isinstance(low, pd.Timestamp):
        return low.tz_convert(TIMEZONE).isoformat(), high.tz_convert(TIMEZONE).isoformat()
    return str(low), str(high)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _remove(path: Path) -> None:
    for suffix in ("", *_SQLITE_SIDECARS):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class LayerWriter:
    """Writes one layer chunk by chunk into a temporary GeoPackage; :meth:`commit` publishes it.

    Use as a context manager: leaving the block without a commit (an exception, a refused
    import) removes the temporary file and leaves the store and catalogue as they were. Only
    running totals are kept (count, bbox, time extent), never the rows.
    """

    def __init__(self, layer_id: str, family: Family, settings: Settings, *, title: str = "",
                 title_en: str = ""):
        self.layer_id = catalog.check_id(layer_id)
        self.family = family
        self.settings = settings
        self.title = title or family.title
        self.title_en = title_en or family.title_en
        self.path = layer_path(layer_id, settings)
        self.tmp = self.path.with_name(f".{layer_id}.{secrets.token_hex(4)}.tmp.gpkg")
        self.count = 0
        self.chunks = 0
        self.bbox: list[float] | None = None
        self.time_extent: tuple[str, str] | None = None
        self.schema: dict[str, Any] | None = None
        self.committed = False

    def __enter__(self) -> LayerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self.abort()

    def write(self, frame: Frame) -> None:
        """Append a normalised, validated chunk to the temporary GeoPackage."""
        if len(frame) == 0:
            return
        frame = _for_gpkg(frame)
        self.chunks += 1
        first = self.schema is None
        if first:
            self.schema = {c: frame[c].dtype for c in frame.columns}
        else:
            frame = _conform(frame, self.schema, self.chunks)
        spatial = self.family.geometry is not None
        kwargs: dict[str, Any] = {}
        if first:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["dataset_options"] = {"VERSION": "1.2"}
            kwargs["layer_options"] = {"IDENTIFIER": self.title, "DESCRIPTION": self.title_en,
                                       **({"SPATIAL_INDEX": "YES"} if spatial else {})}
        if spatial:
            kwargs["geometry_type"] = GPKG_GEOMETRY[self.family.geometry]
        pyogrio.write_dataframe(_for_arrow(frame) if ARROW_WRITE else frame, self.tmp,
                                layer=self.layer_id, driver="GPKG", append=not first,
                                use_arrow=ARROW_WRITE, **kwargs)
        self.count += len(frame)
        if spatial:
            bounds = [float(v) for v in frame.total_bounds]
            self.bbox = bounds if self.bbox is None else [
                min(self.bbox[0], bounds[0]), min(self.bbox[1], bounds[1]),
                max(self.bbox[2], bounds[2]), max(self.bbox[3], bounds[3])]
        if self.family.time_field:
            extent = _time_bounds(frame[self.family.time_field])
            if extent and self.time_extent:
                extent = (min(extent[0], self.time_extent[0], key=pd.Timestamp),
                          max(extent[1], self.time_extent[1], key=pd.Timestamp))
            self.time_extent = extent or self.time_extent

    def abort(self) -> None:
        """Drop the temporary file (and SQLite side files); the store is as before."""
        _remove(self.tmp)

    def entry(self, *, access: str = "public", source: str = "", region: str = ""
              ) -> catalog.Entry:
        """The catalogue entry describing what has been written so far."""
        spatial = self.family.geometry is not None
        specs = {f.name: f.type for f in self.family.fields}
        fields = {c: specs.get(c) or field_type(d) for c, d in (self.schema or {}).items()
                  if c != "geometry"}
        return catalog.Entry(
            id=self.layer_id, kind="vector" if spatial else "table", family=self.family.name,
            title=self.title, title_en=self.title_en, access=access,
            path=self.path.relative_to(self.settings.data_dir).as_posix(),
            geometry_type=GPKG_GEOMETRY[self.family.geometry] if spatial else None,
            feature_count=self.count, bbox=self.bbox, fields=fields,
            time_extent=list(self.time_extent) if self.time_extent else None, source=source,
            region=region)

    def commit(self, *, access: str = "public", source: str = "", region: str = ""
               ) -> catalog.Entry:
        """Rename the temporary file over the layer's file, then catalogue it.

        If the catalogue cannot be written, the previous layer file is restored.
        """
        if self.schema is None:
            raise ValueError(f"layer {self.layer_id!r}: nothing was written")
        entry = self.entry(access=access, source=source, region=region)
        ensure_key_index(self.tmp, self.layer_id, self.family)
        _fsync(self.tmp)
        backup = self.path.with_name(f".{self.layer_id}.{secrets.token_hex(4)}.bak.gpkg")
        had_previous = self.path.exists()
        if had_previous:
            try:
                os.link(self.path, backup)
            except OSError:
                shutil.copy2(self.path, backup)
        try:
            with gpkg_rows.edit_lock(self.path):  # not under a single-feature edit's rename
                os.replace(self.tmp, self.path)
            try:
                catalog.put(entry, self.settings)
            except BaseException:
                if had_previous:
                    os.replace(backup, self.path)
                else:
                    self.path.unlink(missing_ok=True)
                raise
        finally:
            backup.unlink(missing_ok=True)
        self.committed = True
        return entry


def key_columns(family: Family) -> list[str]:
    """The columns of a family's key index: its key, then its time for series and events."""
    return [family.key, *([family.time_field] if family.time_field else [])]


def ensure_key_index(path: Path, layer_id: str, family: Family) -> None:
    """The index on the family's key, with its time field for series and events: a feature
    by its key, and one station's or outlet's series (EDR, ``?station_id=…`` filters) read
    the index instead of scanning the table. Made at import (before the file is renamed into
    place); idempotent, so older files get it when first served."""
    columns = key_columns(family)
    q = gpkg_rows.ident
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({q(layer_id)})")}
        if not set(columns) <= present:
            return
        conn.execute(f"CREATE INDEX IF NOT EXISTS {q(f'{layer_id}_by_' + '_'.join(columns))}"
                     f" ON {q(layer_id)} ({', '.join(q(c) for c in columns)})")
        conn.commit()


def write_derived(frame: Frame, path: Path, layer: str) -> Path:
    """Write a derived, read-only layer (e.g. a server view) as one GeoPackage, atomically.

    Derived layers are not catalogued: they are rebuilt from stored layers whenever those
    change, so they are written the same way as the store (GPKG 1.2, UTC times, spatial index)
    but live wherever the caller keeps its caches.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp.gpkg")
    spatial = isinstance(frame, gpd.GeoDataFrame)
    try:
        pyogrio.write_dataframe(
            _for_gpkg(frame), tmp, layer=layer, driver="GPKG", use_arrow=False,
            dataset_options={"VERSION": "1.2"},
            layer_options={"SPATIAL_INDEX": "YES"} if spatial else {})
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        _remove(tmp)
    return path
