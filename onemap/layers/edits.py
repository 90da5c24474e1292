"""One feature at a time: create, replace, change and delete features of a stored layer.

The layers people edit by hand (incidents first: a commander reports a new one from the field)
take single features, not files. A feature here passes the same gate as a file's rows: it is
normalised (:func:`onemap.layers.normalise.normalise`: aliases, coded values, times in Beijing
time unless zoned) and validated (:class:`onemap.layers.validate.Validator`: required fields,
allowed values, ranges, patterns, geometry type and validity) — the import's own code, so an
edited layer never holds what an import would refuse. Problems are answered naming the field.

Writes go into the layer's GeoPackage in place, one SQLite transaction each
(:mod:`onemap.layers.gpkg_rows`), and the catalogue's count, extent and time extent follow.
Who may edit, and where, is not decided here: callers ask :mod:`onemap.access.policy` first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers import gpkg_rows
from onemap.layers.errors import LayerImportError
from onemap.layers.families import FAMILIES, Family
from onemap.layers.normalise import TIMEZONE, WGS84, normalise
from onemap.layers.validate import Validator

#: Largest feature body taken (a hand-edited feature is a few hundred bytes).
MAX_BODY = 256 * 1024
_SOURCE = "feature"


class EditError(ValueError):
    """An edit refused: HTTP ``status``, an OGC-style ``code``, and a ``detail`` for people."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def invalid(detail: str) -> EditError:
    return EditError(422, "InvalidValue", detail)


def editable(entry: Entry) -> bool:
    """Whether ``entry`` takes single-feature edits: its own ``editable`` when set, else its
    family's default; only vector layers of a known family (the schema validates edits)."""
    family = FAMILIES.get(entry.family)
    if entry.kind != "vector" or family is None or family.geometry is None:
        return False
    return bool(family.editable if entry.editable is None else entry.editable)


@dataclass(frozen=True)
class Layer:
    """An editable stored layer: its entry, family and file."""

    entry: Entry
    family: Family
    path: Path
    fid_column: str
    geometry_column: str

    @property
    def table(self) -> str:
        return self.entry.id


def layer(entry: Entry, settings: Settings, fid_column: str, geometry_column: str) -> Layer:
    """The editable layer of ``entry``; :class:`EditError` 405 when it is not editable."""
    if not editable(entry):
        raise EditError(405, "MethodNotAllowed",
                        f"collection {entry.id!r} is read-only: its features are not edited "
                        "one by one (import the layer again to change it)")
    return Layer(entry, FAMILIES[entry.family], entry.file(settings), fid_column,
                 geometry_column)


def parse(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON object from a request body; 400 when it is not a JSON object."""
    if isinstance(body, Mapping):
        return dict(body)
    if len(body) > MAX_BODY:
        raise EditError(413, "PayloadTooLarge", f"a feature is at most {MAX_BODY} bytes")
    try:
        data = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError):
        raise EditError(400, "InvalidParameterValue",
                        "the body must be a GeoJSON Feature in UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise EditError(400, "InvalidParameterValue", "the body must be a GeoJSON Feature "
                        "object: {\"type\": \"Feature\", \"geometry\": …, \"properties\": …}")
    return data


def _geometry(value: Any, family: Family) -> BaseGeometry:
    if not isinstance(value, dict):
        raise invalid(f"geometry: a GeoJSON {family.geometry} geometry is required")
    try:
        geom = shapely.geometry.shape(value)
    except Exception as exc:  # noqa: BLE001 - shapely raises many kinds for bad GeoJSON
        raise invalid(f"geometry: not a readable GeoJSON geometry ({exc})") from None
    coords = shapely.get_coordinates(geom)
    if not pd.notna(coords).all() or not len(coords):
        raise invalid("geometry: coordinates must be finite numbers")
    return geom


def _properties(feature: dict[str, Any], layer_: Layer, table: Mapping[str, str]
                ) -> dict[str, Any]:
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise EditError(400, "InvalidParameterValue", "properties must be a JSON object")
    known = {layer_.fid_column.lower(), layer_.geometry_column.lower()}
    names = {n for f in layer_.family.fields for n in (f.name, *f.aliases)} | set(table)
    unknown = sorted(str(k) for k in props if k not in names or str(k).lower() in known)
    if unknown:
        fields = ", ".join(f.name for f in layer_.family.fields)
        raise invalid(f"unknown propert{'ies' if len(unknown) > 1 else 'y'} "
                      f"{', '.join(map(repr, unknown))}; {layer_.table} features have: {fields}")
    for name, value in props.items():
        if isinstance(value, dict | list):
            raise invalid(f"{name}: must be a string, a number or null, not a JSON "
                          f"{'object' if isinstance(value, dict) else 'array'}")
        if isinstance(value, float) and not pd.notna(value):
            raise invalid(f"{name}: must be a finite number")
    return props


def _sql_value(value: Any) -> Any:
    """A normalised value as SQLite stores it in a GeoPackage (times: UTC with a ``Z``)."""
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        utc = value.tz_convert("UTC")
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def prepare(feature: dict[str, Any], layer_: Layer, table: Mapping[str, str],
            extent: tuple[float, float, float, float] | None, placeholder: str | None = None
            ) -> tuple[dict[str, Any], BaseGeometry]:
    """The table row (column → SQL value, the geometry a blob) of a GeoJSON feature, checked
    as an import checks a file's rows; ``placeholder`` stands in for a missing key (made
    later, inside the write's transaction). ``extent`` (lon/lat box): where features may lie."""
    if feature.get("type") != "Feature":
        raise EditError(400, "InvalidParameterValue",
                        "the body must be a GeoJSON Feature ({\"type\": \"Feature\", …})")
    family = layer_.family
    props = dict(_properties(feature, layer_, table))
    geom = _geometry(feature.get("geometry"), family)
    if placeholder is not None and props.get(family.key) in (None, ""):
        props = {k: v for k, v in props.items()
                 if k not in (family.key, *family.field(family.key).aliases)}
        props[family.key] = placeholder
    frame = gpd.GeoDataFrame(pd.DataFrame([props], index=[1], dtype=object),
                             geometry=[geom], crs=WGS84)
    try:
        chunk = normalise(frame, family, file=_SOURCE)
    except LayerImportError as exc:
        raise invalid(exc.problems[0].message) from None
    validator = Validator(family, file=_SOURCE)
    validator.check(chunk)
    if validator.problems:  # (the import's words for a file's columns, said of a feature)
        raise invalid("; ".join(f"{p.field or 'feature'}: " + p.message.replace(
            "the file needs a column named one of", "give it as one of the properties").replace(
            " (column ", " (property ") for p in validator.problems))
    geom = chunk.frame.geometry.iloc[0]
    if extent is not None:
        minx, miny, maxx, maxy = geom.bounds
        if minx < extent[0] or miny < extent[1] or maxx > extent[2] or maxy > extent[3]:
            raise invalid(f"geometry: ({minx:.6f}, {miny:.6f}) lies outside the area this "
                          f"server covers [{', '.join(f'{v:.4f}' for v in extent)}] "
                          "(coordinates are longitude, latitude in CRS84)")
    row = chunk.frame.iloc[0]
    values = {c: _sql_value(row[c]) for c in chunk.frame.columns
              if c in table and c != "geometry"}
    values[layer_.geometry_column] = gpkg_rows.encode(geom)
    return values, geom


def _fid_of(conn: Any, layer_: Layer, key: str) -> int | None:
    row = conn.execute(f"SELECT {gpkg_rows.ident(layer_.fid_column)} FROM "
                       f"{gpkg_rows.ident(layer_.table)} WHERE "
                       f"{gpkg_rows.ident(layer_.family.key)} = ? LIMIT 1", (key,)).fetchone()
    return None if row is None else int(row[0])


def _next_key(conn: Any, layer_: Layer, when: str | None) -> str:
    """``prefix + year + 0001`` past the largest such key of the year (inside the write's
    transaction, so two reports at once cannot get the same)."""
    year = (when or datetime.now(UTC).isoformat())[:4]
    stem = f"{layer_.family.key_prefix}{year}"
    key = gpkg_rows.ident(layer_.family.key)
    numbers = [int(m.group(1)) for (k,) in conn.execute(
        f"SELECT {key} FROM {gpkg_rows.ident(layer_.table)} WHERE substr({key}, 1, ?) = ?",
        (len(stem), stem)) if (m := re.fullmatch(re.escape(stem) + r"(\d+)", str(k)))]
    return f"{stem}{max(numbers, default=0) + 1:04d}"


def table_columns(layer_: Layer) -> dict[str, str]:
    with gpkg_rows.reading(layer_.path) as conn:
        return gpkg_rows.columns(conn, layer_.table)


def create(layer_: Layer, values: dict[str, Any], geom: BaseGeometry,
           generate_key: bool) -> str:
    """Insert a prepared row; its key (made when ``generate_key``). 409 for a taken key."""
    family = layer_.family
    with gpkg_rows.transaction(layer_.path) as conn:
        if generate_key:
            values[family.key] = _next_key(conn, layer_, _local_time(values, family))
        key = str(values[family.key])
        if _fid_of(conn, layer_, key) is not None:
            raise EditError(409, "Conflict", f"{family.key} {key!r} exists already: replace it "
                            f"with PUT …/items/{key}, or give another")
        gpkg_rows.insert(conn, layer_.table, values)
        gpkg_rows.touch_contents(conn, layer_.table, geom)
    return key


def replace(layer_: Layer, key: str, values: dict[str, Any], geom: BaseGeometry) -> None:
    """Replace the feature ``key`` by a prepared row (its key may not change)."""
    family = layer_.family
    if str(values.get(family.key)) != key:
        raise invalid(f"{family.key}: {values.get(family.key)!r} differs from the feature "
                      f"replaced ({key!r}); a feature's key does not change")
    with gpkg_rows.transaction(layer_.path) as conn:
        fid = _fid_of(conn, layer_, key)
        if fid is None:
            raise EditError(404, "NotFound", "identifier not found")
        table = gpkg_rows.columns(conn, layer_.table)
        blank = {c: None for c in table if c not in (layer_.fid_column, *values)
                 and table[c] != "BLOB" and c != layer_.geometry_column}
        gpkg_rows.update(conn, layer_.table, layer_.fid_column, fid, {**blank, **values})
        gpkg_rows.touch_contents(conn, layer_.table, geom)


def remove(layer_: Layer, key: str) -> None:
    with gpkg_rows.transaction(layer_.path) as conn:
        fid = _fid_of(conn, layer_, key)
        if fid is None:
            raise EditError(404, "NotFound", "identifier not found")
        gpkg_rows.delete(conn, layer_.table, layer_.fid_column, fid)
        gpkg_rows.touch_contents(conn, layer_.table, None)


def merged(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The feature ``current`` (GeoJSON) with a JSON merge patch (RFC 7396) of its properties
    and, when given, a new geometry: a property set to null is emptied."""
    if patch.get("type", "Feature") != "Feature":
        raise EditError(400, "InvalidParameterValue", "a patch is a (partial) GeoJSON Feature")
    props = patch.get("properties") or {}
    if not isinstance(props, dict):
        raise EditError(400, "InvalidParameterValue", "properties must be a JSON object")
    out = dict(current.get("properties") or {})
    out.update(props)
    geometry = patch["geometry"] if "geometry" in patch else current.get("geometry")
    return {"type": "Feature", "geometry": geometry, "properties": out}


def _local_time(values: dict[str, Any], family: Family) -> str | None:
    when = values.get(family.time_field) if family.time_field else None
    return pd.Timestamp(when).tz_convert(TIMEZONE).isoformat() if when else None


def refresh(entry: Entry, settings: Settings, geometry_column: str) -> Entry:
    """The catalogue entry with the layer's count, extent and time extent read from its file
    after an edit (a small, hand-edited layer: one pass over its rows)."""
    family = FAMILIES[entry.family]
    table, geom = gpkg_rows.ident(entry.id), gpkg_rows.ident(geometry_column)
    with gpkg_rows.reading(entry.file(settings)) as conn:
        count = int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        box = conn.execute(f"SELECT min(ST_MinX({geom})), min(ST_MinY({geom})), "
                           f"max(ST_MaxX({geom})), max(ST_MaxY({geom})) FROM {table} "
                           f"WHERE {geom} IS NOT NULL").fetchone()
        times = None
        if family.time_field and family.time_field in entry.fields:
            times = conn.execute(f"SELECT min({gpkg_rows.ident(family.time_field)}), "
                                 f"max({gpkg_rows.ident(family.time_field)}) FROM {table}"
                                 ).fetchone()
    bbox = [float(v) for v in box] if box and box[0] is not None else None
    extent = None
    if times and times[0] is not None:
        extent = [pd.Timestamp(t).tz_convert(TIMEZONE).isoformat() for t in times]
    current = catalog.get(entry.id, settings)
    updated = current.model_copy(update={
        "feature_count": count, "bbox": bbox, "time_extent": extent,
        "updated": datetime.now(UTC).isoformat(timespec="seconds")})
    catalog.put(updated, settings)
    return updated
