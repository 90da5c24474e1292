"""Turn whatever columns and values a file has into the family's canonical fields.

Files arrive with ``站点编码`` or ``CODE`` or ``Station_Code``; with ``国控`` or ``national``;
with times as text, Excel dates or Shapefile dates; in CGCS2000, Gauss-Krüger or WGS 84. After
:func:`normalise` every layer of a family has the same columns, dtypes and EPSG:4326
coordinates, so the server, the app and the analyses read one shape of data.

Conventions (relied on by :mod:`onemap.layers.store` and readers of the store):

* ``datetime`` fields are timezone-aware (``datetime64[ms, Asia/Shanghai]``); a time without a
  zone is Beijing time. The store writes them to the GeoPackage in UTC (the ``Z`` form the GPKG
  spec requires, readable by GDAL 3.6) and :func:`onemap.layers.store.read_layer` returns them
  in Asia/Shanghai again.
* ``date`` fields are ISO ``YYYY-MM-DD`` text: pyogrio (without Arrow) cannot write a GPKG DATE
  column, and ISO text sorts and compares correctly.
* ``int`` fields are nullable ``Int64``, ``float`` are ``float64``, ``str`` are pandas strings.
* Columns the schema does not know are kept, renamed to safe lowercase names.
* Polygon and line families are stored as MultiPolygon / MultiLineString.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from onemap.layers.errors import LayerImportError, Problem
from onemap.layers.families import Family, FieldSpec
from onemap.layers.readers import Frame, column_key

TIMEZONE = "Asia/Shanghai"
DATETIME_DTYPE = f"datetime64[ms, {TIMEZONE}]"
WGS84 = CRS.from_epsg(4326)
RESERVED = {"fid", "geom", "geometry", "ogc_fid"}
_HAS_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_CN_DATE = [(re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"), r"\1-\2-\3 "),
            (re.compile(r"(\d{1,2})\s*[时点]\s*(\d{1,2})\s*分\s*(\d{1,2})\s*秒?"), r"\1:\2:\3"),
            (re.compile(r"(\d{1,2})\s*[时点]\s*(\d{1,2})\s*分?"), r"\1:\2"),
            (re.compile(r"(\d{1,2})\s*[时点]"), r"\1:00")]
#: 2024/1/2 and 2024.1.2 (common in Chinese spreadsheets) -> 2024-1-2.
_DOTTED_DATE = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
#: Every value that _CN_DATE or _DOTTED_DATE could change matches this (it matches a superset:
#: any 4 characters, not only digits, before / or .). It is a plain string so pandas runs it
#: over the whole column in Arrow (RE2); the rewrites themselves are Python ``re`` calls, one per
#: value, so they run only on the values that match, not on every ISO time of an hourly table.
_MAYBE_REWRITTEN = r"[年时点]|^.{4}[/.]"


@dataclass
class Normalised:
    """A chunk in canonical form, the problems found converting it, and where fields came from."""

    frame: Frame
    problems: list[Problem] = field(default_factory=list)
    #: Canonical field name -> the file's column name, for fields the file has.
    sources: dict[str, str] = field(default_factory=dict)


def safe_name(name: object, taken: set[str]) -> str:
    """A lowercase identifier-like name for a column outside the schema, unique in ``taken``.

    Chinese characters are kept (GeoPackage and OGC property names allow them); punctuation and
    spaces become ``_`` so the name works in URLs, CQL filters and SQL.
    """
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    base = re.sub(r"\W+", "_", text).strip("_") or "field"
    if base[0].isdigit():
        base = f"f_{base}"
    candidate, n = base, 2
    while candidate in taken or candidate in RESERVED:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def map_columns(columns: list[str], family: Family) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical field -> column, extra column -> safe name) for a file's ``columns``.

    A column matching a field's own name wins over one matching an alias; among aliases the
    field order decides. A second column for an already-matched field is kept as an extra.
    """
    keys = {c: column_key(c) for c in columns}
    matched: dict[str, str] = {}
    for spec in family.fields:
        own = column_key(spec.name)
        col = next((c for c in columns if keys[c] == own and c not in matched.values()), None)
        if col is not None:
            matched[spec.name] = col
    for spec in family.fields:
        if spec.name in matched:
            continue
        for alias in spec.aliases:
            col = next((c for c in columns if keys[c] == column_key(alias)
                        and c not in matched.values()), None)
            if col is not None:
                matched[spec.name] = col
                break
    taken = {spec.name for spec in family.fields}
    extras = {c: safe_name(c, taken) for c in columns if c not in matched.values()}
    return matched, extras


def _to_text(values: pd.Series) -> pd.Series:
    """Text without float artefacts: ``110101.0`` (a code read as a number) -> ``'110101'``."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("str")
    if pd.api.types.is_numeric_dtype(values):
        num = values.astype("float64")
        integral = num.notna() & (num % 1 == 0) & (num.abs() < 2**53)
        text = num.astype("str")
        text[integral] = num[integral].astype("int64").astype("str")
        text[num.isna()] = np.nan
        return text.astype("str")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%dT%H:%M:%S").astype("str")
    if not isinstance(values.dtype, pd.StringDtype):  # only object columns can hold floats
        values = values.map(lambda v: f"{v:.0f}" if isinstance(v, float) and v.is_integer()
                            else v, na_action="ignore")
    text = values.astype("str").str.strip()
    return text.mask(text == "")


def _parse_times(values: pd.Series) -> pd.Series:
    """Timezone-aware times in Asia/Shanghai; NaT where a value cannot be read."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.dt.tz is None:
            return values.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT")
        return values.dt.tz_convert(TIMEZONE)
    text = _to_text(values)
    rewrite = text.str.contains(_MAYBE_REWRITTEN, regex=True).fillna(False).to_numpy(dtype=bool)
    if rewrite.any():
        part = text[rewrite]
        for pattern, repl in _CN_DATE:
            part = part.str.replace(pattern, repl, regex=True)
        text = text.copy()
        text[rewrite] = part.str.replace(_DOTTED_DATE, r"\1-\2-\3", regex=True)
    text = text.str.strip()
    result = pd.Series(pd.NaT, index=values.index, dtype=DATETIME_DTYPE)
    zoned = text.notna() & text.str.contains(_HAS_ZONE)
    for mask, utc in ((zoned, True), (text.notna() & ~zoned, False)):
        if not mask.any():
            continue
        part = text[mask]
        parsed = pd.to_datetime(part, format="ISO8601", errors="coerce", utc=utc)
        retry = parsed.isna()
        if retry.any():
            parsed = parsed.astype(object)
            parsed[retry] = pd.to_datetime(part[retry], format="mixed", errors="coerce",
                                           utc=utc)
            parsed = pd.to_datetime(parsed, utc=utc)
        parsed = (parsed.dt.tz_convert(TIMEZONE) if utc else
                  parsed.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="NaT"))
        result[mask] = parsed.astype(DATETIME_DTYPE)
    return result


def coerce(values: pd.Series, spec: FieldSpec) -> tuple[pd.Series, pd.Series]:
    """``values`` converted to ``spec.type`` and a mask of values that could not be converted."""
    present = values.notna()
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        # (Numbers and times never print as blanks: skip formatting every one of them.)
        present &= ~values.astype("str").str.strip().isin(["", "nan", "NaT"])
    if spec.type == "str":
        out = _to_text(values)
        out = map_values(out, spec)
        return out, pd.Series(False, index=values.index)
    if spec.type in ("int", "float"):
        num = pd.to_numeric(values if pd.api.types.is_numeric_dtype(values)
                            else _to_text(values).str.replace(",", "", regex=False),
                            errors="coerce").astype("float64")
        if spec.type == "float":
            return num, present & num.isna()
        bad = present & (num.isna() | (num % 1 != 0))
        return num.where(~bad).round().astype("Int64"), bad
    times = _parse_times(values)
    bad = present & times.isna()
    if spec.type == "date":
        return times.dt.strftime("%Y-%m-%d").astype("str"), bad
    return times.astype(DATETIME_DTYPE), bad


def _lookup(spec: FieldSpec) -> dict[str, str]:
    table = {column_key(c): c for c in spec.choices or ()}
    table.update({column_key(a): v for a, v in spec.value_aliases.items()})
    return table


def map_values(values: pd.Series, spec: FieldSpec) -> pd.Series:
    """Chinese or differently-cased codes to the stable choice (``国控`` -> ``national``).

    Values that match nothing are left alone for :mod:`~onemap.layers.validate` to report.
    """
    if not spec.choices and not spec.value_aliases:
        return values
    table = _lookup(spec)
    uniques = values.dropna().unique()
    mapping = {v: table.get(column_key(v), v) for v in uniques}
    return values.map(mapping, na_action="ignore").astype("str")


def empty_column(spec: FieldSpec, index: pd.Index) -> pd.Series:
    """An all-null column of the dtype ``spec.type`` is stored with."""
    dtype = {"str": "str", "date": "str", "int": "Int64", "float": "float64",
             "datetime": DATETIME_DTYPE}[spec.type]
    return pd.Series(pd.NA if dtype == "Int64" else np.nan, index=index).astype(dtype)


def to_wgs84(frame: gpd.GeoDataFrame, file: str) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 lon/lat (CGCS2000 EPSG:4490 and any CRS pyproj knows)."""
    if frame.crs is None:
        raise LayerImportError.single(file, "has no coordinate reference system: give it with "
                                      "crs=/--crs, e.g. EPSG:4490")
    if CRS(frame.crs).equals(WGS84, ignore_axis_order=True):
        return frame.set_crs(WGS84, allow_override=True)
    return frame.to_crs(WGS84)


def promote(geoms: gpd.GeoSeries, kind: str | None) -> gpd.GeoSeries:
    """One geometry type per layer: Polygon->MultiPolygon, LineString->MultiLineString, and a
    one-part MultiPoint -> Point. Other mismatches are left for validation to report."""
    values = geoms.to_numpy()
    types = shapely.get_type_id(values)
    if kind == "Point":
        single = (types == 4) & (shapely.get_num_geometries(values) == 1)
        values[single] = shapely.get_geometry(values[single], 0)
    elif kind in ("Polygon", "LineString"):
        part, maker = (3, shapely.multipolygons) if kind == "Polygon" else (
            1, shapely.multilinestrings)
        single = types == part
        if single.any():
            values[single] = maker(values[single], indices=np.arange(int(single.sum())))
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs)


def normalise(frame: Frame, family: Family, *, file: str, unit: str = "feature") -> Normalised:
    """Canonical columns, coerced values, EPSG:4326 multi-geometries for one chunk.

    ``frame.index`` must hold the user-facing row numbers; conversion failures become
    :class:`~onemap.layers.errors.Problem` s at those rows. File-level failures (no CRS, no
    geometry for a spatial family) raise :class:`LayerImportError`.
    """
    geometry = None
    if isinstance(frame, gpd.GeoDataFrame) and family.geometry is not None:
        geometry = promote(to_wgs84(frame, file).geometry, family.geometry)
    elif family.geometry is not None:
        raise LayerImportError.single(
            file, f"has no geometry, but {family.name} layers are {family.geometry} layers (a CSV "
            "needs coordinate columns such as 经度/纬度 or lon/lat)", unit=unit)
    columns = [c for c in frame.columns if not (isinstance(frame, gpd.GeoDataFrame)
                                                and c == frame.geometry.name)]
    matched, extras = map_columns(columns, family)
    out: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for spec in family.fields:
        if spec.name not in matched:
            out[spec.name] = empty_column(spec, frame.index)
            continue
        col = matched[spec.name]
        values, bad = coerce(frame[col], spec)
        out[spec.name] = values
        for row, raw in frame.loc[bad.to_numpy(), col].items():
            problems.append(Problem(file, int(row), spec.name, f"cannot read {raw!r} (column "
                                    f"{col!r}) as {_TYPE_WORDS[spec.type]}", unit))
    for col, name in extras.items():
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = _parse_times(values).astype(DATETIME_DTYPE)
        elif values.dtype == object:
            values = _to_text(values)
        out[name] = values
    data = pd.DataFrame(out, index=frame.index)
    if geometry is not None:
        data = gpd.GeoDataFrame(data, geometry=geometry.rename("geometry"), crs=WGS84)
    return Normalised(data, problems, matched)


_TYPE_WORDS = {"str": "text", "int": "a whole number", "float": "a number",
               "datetime": "a date and time", "date": "a date"}
