"""Check normalised chunks against the family schema before anything reaches the store.

A layer in the store is trusted by everything downstream (OGC API, the app's joins between
stations and their time series, the buffer analyses), so bad rows are refused, not fixed:
required fields, ranges, code lists, code formats with check characters, unique keys, geometry
type, validity and lon/lat range. Invalid geometries are *not* repaired with ``make_valid``: a
self-intersecting red line drawn by hand is better corrected in QGIS by the person who knows
what it should be than silently turned into something else.

:class:`Validator` keeps state across chunks (only a sorted array of 64-bit hashes of the keys
seen, never the rows) so that a duplicate in the millionth row of a national layer is found as
surely as in the second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onemap.layers import codes
from onemap.layers.errors import MAX_PROBLEMS, Problem
from onemap.layers.families import HJ608_PATTERN, OUTLETS_PATTERN, Family, FieldSpec
from onemap.layers.normalise import Normalised

#: Extra checks beyond a pattern, keyed by the pattern they refine: value -> message or None.
CODE_CHECKS: dict[str, Callable[[str], str | None]] = {
    HJ608_PATTERN: codes.hj608_problem,
    OUTLETS_PATTERN: lambda v: None if codes.is_valid_outlets(v) else
    "outlet codes must be DA### (air) or DW### (water), separated by ';'",
}
ALLOWED_TYPES = {"Point": ("Point",), "LineString": ("MultiLineString",),
                 "Polygon": ("MultiPolygon",)}


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def field_problems(frame: pd.DataFrame, family: Family, sources: dict[str, str],
                   skip: set[tuple[int, str]]) -> Iterable[tuple[int | None, str, str]]:
    """(row, field, message) for every value breaking its field's rules.

    ``skip`` holds (row, field) pairs already reported as unreadable, so a value that could not
    be converted is not reported a second time as "missing".
    """
    for spec in family.fields:
        if spec.required and spec.name not in sources:
            names = ", ".join(dict.fromkeys([spec.name, *spec.aliases]))
            yield None, spec.name, (f"required field {spec.name!r} ({spec.label}) is missing: "
                                    f"the file needs a column named one of: {names}")
            continue
        if spec.name not in sources:
            continue
        values = frame[spec.name]
        if spec.required:
            for row in values.index[values.isna().to_numpy()]:
                if (row, spec.name) not in skip:
                    yield row, spec.name, f"is empty but {spec.label} ({spec.name}) is required"
        present = values.dropna()
        yield from _value_problems(present, spec)


def _value_problems(values: pd.Series, spec: FieldSpec
                    ) -> Iterable[tuple[int | None, str, str]]:
    if spec.minimum is not None or spec.maximum is not None:
        num = values.astype("float64")
        low = spec.minimum if spec.minimum is not None else -np.inf
        high = spec.maximum if spec.maximum is not None else np.inf
        for row, v in num[(num < low) | (num > high)].items():
            bound = (f"below the minimum {_fmt(low)}" if v < low
                     else f"above the maximum {_fmt(high)}")
            unit = f" {spec.unit}" if spec.unit else ""
            yield row, spec.name, f"value {_fmt(v)} is {bound}{unit}"
    if spec.choices:
        allowed = ", ".join(spec.choices)
        if spec.value_aliases:
            allowed += " (or " + ", ".join(spec.value_aliases) + ")"
        for row, v in values[~values.isin(spec.choices)].items():
            yield row, spec.name, f"{_fmt(v)} is not an allowed value; use one of: {allowed}"
    if spec.pattern:
        matches = values.str.fullmatch(spec.pattern).fillna(False).astype(bool)
        extra = CODE_CHECKS.get(spec.pattern)
        for row, v in values[~matches].items():
            why = extra(v) if extra else None
            yield row, spec.name, why or f"{_fmt(v)} does not have the expected format " \
                                         f"{spec.pattern}"
        if spec.pattern == HJ608_PATTERN:  # vectorised check characters, then explain
            good = values[matches]
            ok = codes.uscc_check_chars(good.str.slice(0, 17).tolist()) == good.str.slice(
                17, 18).to_numpy(dtype="U1")
            for row, v in good[~ok].items():
                yield row, spec.name, extra(v) or "invalid check character"
        elif extra:
            for row, v in values[matches].items():
                why = extra(v)
                if why:
                    yield row, spec.name, why


def geometry_problems(geoms: gpd.GeoSeries, family: Family
                      ) -> Iterable[tuple[int, str, str]]:
    """(row, "geometry", message) for missing, mistyped, invalid or off-the-globe geometries."""
    values = geoms.to_numpy()
    rows = geoms.index
    missing = shapely.is_missing(values) | shapely.is_empty(values)
    for row in rows[missing]:
        yield row, "geometry", "has no geometry (missing, empty or unreadable coordinates)"
    allowed = ALLOWED_TYPES[family.geometry]
    types = np.array(shapely.get_type_id(values))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"])
    good_type = np.isin(types, [list(names).index(t) for t in allowed]) | missing
    for row, t in zip(rows[~good_type], types[~good_type], strict=True):
        yield row, "geometry", (f"is a {names[t]}, but {family.name} layers hold "
                                f"{family.geometry} geometries")
    check = ~missing & good_type
    invalid = check.copy()
    invalid[check] = ~shapely.is_valid(values[check])
    for row, reason in zip(rows[invalid], shapely.is_valid_reason(values[invalid]), strict=True):
        yield row, "geometry", (f"is not a valid {family.geometry.lower()} ({reason}); fix it "
                                "in QGIS (Vector > Geometry Tools > Check Validity)")
    bounds = shapely.bounds(values[check]).reshape(-1, 4)
    outside = ~np.isfinite(bounds).all(axis=1) | (bounds[:, 0] < -180) | (bounds[:, 2] > 180) \
        | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
    for row, b in zip(rows[check][outside], bounds[outside], strict=True):
        yield row, "geometry", (f"coordinates ({b[0]:.6g}, {b[1]:.6g}) are outside the "
                                "longitude/latitude range after reprojection: is the file's "
                                "CRS right? (give the real one with crs=/--crs)")


class Validator:
    """Validates a layer chunk by chunk, remembering keys across chunks.

    Point, line and polygon families need unique keys; attribute tables (time series) need
    unique (key, time) pairs instead, since a station has many hourly records.
    """

    def __init__(self, family: Family, *, file: str, unit: str = "feature"):
        self.family = family
        self.file = file
        self.unit = unit
        self.problems: list[Problem] = []
        #: All problems found, including those past MAX_PROBLEMS not kept in detail.
        self.total = 0
        #: Sorted 64-bit hashes of the keys (key + time) seen in earlier chunks.
        self._keys = np.empty(0, dtype=np.uint64)
        self._file_level: set[str] = set()

    @property
    def full(self) -> bool:
        """True once enough problems are kept that reading further would add nothing useful."""
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, row: int | None, field: str | None, message: str) -> None:
        """Record one problem (file-level ones once per import, not once per chunk)."""
        if row is None:
            if message in self._file_level:
                return
            self._file_level.add(message)
        self.total += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.file, row, field, message, self.unit))

    def check(self, chunk: Normalised) -> int:
        """Check one normalised chunk; return how many new problems it had."""
        before = self.total
        for p in chunk.problems:
            self.add(p.row, p.field, p.message)
        skip = {(p.row, p.field) for p in chunk.problems}
        frame = chunk.frame
        for row, name, message in field_problems(frame, self.family, chunk.sources, skip):
            self.add(None if row is None else int(row), name, message)
        if self.family.geometry is not None:
            for row, name, message in geometry_problems(frame.geometry, self.family):
                self.add(int(row), name, message)
        self._check_keys(frame)
        return self.total - before

    def _check_keys(self, frame: pd.DataFrame) -> None:
        """Duplicate keys (key + time for tables): exact within the chunk, by hash across chunks.

        Only the rows reported are formatted, so a clean chunk costs a hash and a sort. A 64-bit
        hash can collide: with n keys seen the chance that two distinct keys of one import share
        a hash is about n² / 2⁶⁵ (3e-8 for a million, 3e-6 for ten million).
        """
        key = self.family.key
        time = self.family.time_field if self.family.geometry is None else None
        ok = frame[key].notna()
        if time is not None:
            ok &= frame[time].notna()
        ok = ok.to_numpy()
        pairs = pd.DataFrame({"key": frame.loc[ok, key]})
        if time is not None:
            pairs["time"] = frame.loc[ok, time].astype("int64")
        what = f"{key} + {time}" if time else key

        def shown(rows: pd.Index) -> pd.Series:
            text = frame.loc[rows, key].map(repr)
            if time is not None:
                text = text + " at " + frame.loc[rows, time].map(lambda t: t.isoformat())
            return text

        dup = pairs.duplicated(keep="first").to_numpy()
        if dup.any():
            position = pd.Series(np.arange(len(pairs)))
            first = position.groupby([pairs[c].to_numpy() for c in pairs.columns],
                                     sort=False).transform("first").to_numpy()
            rows = pairs.index[dup]
            for row, text, first_row in zip(rows, shown(rows), pairs.index[first[dup]],
                                            strict=True):
                self.add(int(row), key, f"duplicate {what} {text}: {self.unit} "
                         f"{int(first_row)} has it too")
        fresh = pd.util.hash_pandas_object(pairs[~dup], index=False).to_numpy(dtype=np.uint64)
        seen = np.zeros(len(fresh), dtype=bool)
        if len(self._keys):
            where = np.minimum(np.searchsorted(self._keys, fresh), len(self._keys) - 1)
            seen = self._keys[where] == fresh
        if seen.any():
            rows = pairs.index[~dup][seen]
            for row, text in zip(rows, shown(rows), strict=True):
                self.add(int(row), key, f"duplicate {what} {text}: an earlier {self.unit} "
                         "has it too")
        # Two sorted runs: the stable sort (timsort) merges them in linear time.
        merged = np.concatenate([self._keys, np.sort(fresh[~seen])])
        merged.sort(kind="stable")
        self._keys = merged
