"""pygeoapi feature provider for OneMap's GeoPackage store, built on pyogrio.

Why our own provider: pygeoapi's SQLiteGPKG provider needs ``sqlite3.enable_load_extension``
(missing from this Python build) and its OGR provider needs the GDAL Python binding. pyogrio is
already installed and can hand native SQLite SQL to GDAL's GeoPackage driver, so filtering,
counting, sorting and paging all run inside SQLite and a page of a 1,000,000-feature layer costs
one indexed query, never a read of the whole layer.

Spatial filters use the GeoPackage R-tree: for point layers the R-tree test plus GDAL's
``ST_MinX``/``ST_MinY`` is the exact bbox test, so it stays in SQL; for lines and polygons the
R-tree candidates are refined with shapely and the matching feature ids go back into SQL
(``fid IN (...)``) so counting and paging remain exact. Attribute-only tables (time series)
are served the same way with null geometries.

Access limits enter in one place, :meth:`OneMapProvider._limits_sql`: the principal of the
request (:func:`onemap.access.context.current`; pygeoapi's executor threads carry it, see
:mod:`onemap.mapserver.ogc_access`) gets the policy's limits for this collection, and a
region-bound principal's visible feature ids are ANDed into every query — items, counts,
paging, bbox, ``q``, filters, sorting and ``items/{id}`` alike, so no route can disagree.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)
from pygeofilter import ast, values

from onemap import catalog
from onemap.access import scope
from onemap.access.policy import Hidden
from onemap.config import Settings
from onemap.mapserver import ogc_paging
from onemap.mapserver.ogc_crs import reproject
from onemap.mapserver.provider_edits import FeatureEdits
from onemap.mapserver.sql import CqlToSql, QueryError, coerce, interval_sql, literal, quote_ident
from onemap.store import read_only

LOGGER = logging.getLogger(__name__)

#: pyogrio dtype → JSON-schema type (pygeoapi's queryables and HTML use these).
_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "datetime": "string"}
#: Largest id list a spatial predicate may put into SQL; broader filters must add a bbox.
MAX_SPATIAL_IDS = 200_000
FID = "fid"


@dataclass(frozen=True)
class LayerInfo:
    """What the provider needs to know about one GeoPackage table (cached per file version)."""

    path: str
    table: str
    fid_column: str
    geometry_name: str | None
    geometry_type: str | None
    fields: dict[str, dict[str, str]]
    time_fields: tuple[str, ...]
    rtree: str | None


@lru_cache(maxsize=256)
def _layer_info(path: str, table: str, mtime_ns: int) -> LayerInfo:
    """Schema of ``table``; keyed on mtime so a re-imported layer is re-read."""
    del mtime_ns  # only part of the cache key
    info = pyogrio.read_info(path, layer=table)
    fields: dict[str, dict[str, str]] = {}
    time_fields = []
    for name, dtype in zip(info["fields"], info["dtypes"], strict=True):
        kind = next((v for k, v in _TYPES.items() if str(dtype).startswith(k)), "string")
        fields[str(name)] = {"type": kind}
        if str(dtype).startswith("datetime"):
            fields[str(name)]["format"] = "date-time"
            time_fields.append(str(name))
    geom = info.get("geometry_name") or None
    if info.get("geometry_type") and not geom:
        geom = "geom"
    rtree = None
    if geom:
        name = f"rtree_{table}_{geom}"
        found = pyogrio.read_dataframe(
            path, sql=f"SELECT COUNT(*) AS n FROM sqlite_master WHERE name = {literal(name)}")
        rtree = name if int(found["n"].iloc[0]) else None
    return LayerInfo(path, table, info.get("fid_column") or FID, geom, info.get("geometry_type"),
                     fields, tuple(time_fields), rtree)


@lru_cache(maxsize=8)
def _settings(data_dir: str | None, system_db: str, database_url: str = "") -> Settings:
    """The server's settings as the collection config names them (the policy reads the
    catalogue and the system database's rules); the environment's when the config has none."""
    if not data_dir:
        from onemap.config import get_settings

        return get_settings()
    return Settings(data_dir=Path(data_dir), system_db=system_db, database_url=database_url)


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN/NaT → null."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    return value


class OneMapProvider(FeatureEdits, BaseProvider):
    """A GeoPackage table behind OGC API Features; ``data`` is the absolute .gpkg path.
    Editable layers also take single-feature writes (:class:`FeatureEdits`, Part 4).

    ``options.table`` names the table (the catalogue id); ``id_field`` is the family key, or
    ``fid`` for attribute tables whose key (e.g. station_id) repeats per time step.
    """

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        options = provider_def.get("options") or {}
        self.table = options.get("table") or os.path.splitext(os.path.basename(self.data))[0]
        try:
            mtime = os.stat(self.data).st_mtime_ns
            self.info = _layer_info(str(self.data), self.table, mtime)
        except Exception as exc:  # noqa: BLE001 - any open failure is a connection error
            LOGGER.error("cannot open %s: %s", self.data, exc)
            raise ProviderConnectionError("cannot open layer") from exc
        self.id_field = self.id_field or self.info.fid_column
        self._fields = self.get_fields()
        self.settings = _settings(options.get("data_dir"), options.get("system_db", ""),
                                  options.get("database_url", ""))

    # -- schema ----------------------------------------------------------------------------
    def get_fields(self) -> dict[str, dict[str, str]]:
        fields = {}
        if self.id_field == self.info.fid_column:
            fields[self.id_field] = {"type": "integer"}
        fields.update(self.info.fields)
        return fields

    def get_schema(self, schema_type: Any = None) -> tuple[str, dict]:
        props = {k: dict(v) for k, v in self.get_fields().items()}
        if self.info.geometry_name:
            props["geometry"] = {"$ref": "https://geojson.org/schema/Geometry.json"}
        return "application/schema+json", {"type": "object", "properties": props}

    # -- SQL pieces ------------------------------------------------------------------------
    def _table_sql(self) -> str:
        return quote_ident(self.table)

    def _order(self, column: str, descending: bool) -> str:
        if column in {quote_ident(f) for f in self.info.time_fields}:
            # GDAL writes times with or without milliseconds: sorted as text, "…00Z" would
            # come after "…00.000Z" of the same instant
            column = f"julianday({column})"
        return f"{column} {'DESC' if descending else 'ASC'}"  # SQLite: NULLs sort lowest

    def _count(self, table: str, where_sql: str) -> int:
        """Features matched: unfiltered, a read-only layer's catalogued count (exact: only an
        import writes it, and counts it); else counted in SQL."""
        if not where_sql:
            entry = scope.entries(self.settings).get(self.table)  # (cached by mtime)
            if entry is not None and read_only(entry):
                return entry.feature_count
        return int(self._read(f"SELECT COUNT(*) AS n FROM {table}{where_sql}")["n"].iloc[0])

    def _col(self, name: str) -> str:
        if name not in self._fields:
            raise ProviderInvalidQueryError(user_msg=f"unknown property {name!r}")
        return quote_ident(name)

    def _rtree_sql(self, minx: float, miny: float, maxx: float, maxy: float) -> str:
        fid = quote_ident(self.info.fid_column)
        return (f"({fid} IN (SELECT id FROM {quote_ident(self.info.rtree or '')} WHERE "
                f"maxx >= {literal(float(minx))} AND minx <= {literal(float(maxx))} AND "
                f"maxy >= {literal(float(miny))} AND miny <= {literal(float(maxy))}))")

    def _ids_sql(self, fids: np.ndarray, negate: bool = False) -> str:
        if len(fids) > MAX_SPATIAL_IDS:
            raise ProviderInvalidQueryError(
                user_msg="spatial filter matches too many features; narrow it with bbox")
        ids = ",".join(str(int(f)) for f in fids) or "NULL"
        return f"({quote_ident(self.info.fid_column)} {'NOT ' if negate else ''}IN ({ids}))"

    def _candidates(self, envelope: tuple[float, float, float, float] | None) -> pd.Series:
        """Geometries (indexed by fid) whose envelope meets ``envelope`` (all if None)."""
        if not self.info.geometry_name:
            raise QueryError("this collection has no geometry")
        gdf = pyogrio.read_dataframe(self.data, layer=self.table, columns=[], fid_as_index=True,
                                     bbox=envelope)
        if envelope is None and len(gdf) > MAX_SPATIAL_IDS:
            raise ProviderInvalidQueryError(user_msg="add a bbox to this spatial filter")
        return gdf.geometry

    def _bbox_sql(self, bbox: list[float]) -> str:
        minx, miny, maxx, maxy = (float(v) for v in (bbox[0], bbox[1], bbox[-2], bbox[-1]))
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise QueryError("bbox: the numbers must be finite")
        if not self.info.geometry_name:
            return "(1=0)"
        if self.info.rtree and (self.info.geometry_type or "").endswith("Point"):
            # The R-tree holds float32 boxes rounded outwards (up to ~1e-5° here), so its test
            # alone lets points just outside through; GDAL's ST_MinX/ST_MinY make it exact.
            geom = quote_ident(self.info.geometry_name)
            return (f"({self._rtree_sql(minx, miny, maxx, maxy)} AND "
                    f"ST_MinX({geom}) BETWEEN {literal(minx)} AND {literal(maxx)} AND "
                    f"ST_MinY({geom}) BETWEEN {literal(miny)} AND {literal(maxy)})")
        geoms = self._candidates((minx, miny, maxx, maxy))
        hit = shapely.intersects(geoms.values, shapely.box(minx, miny, maxx, maxy))
        return self._ids_sql(geoms.index.values[hit])

    @staticmethod
    def _literal_shape(node: ast.Node) -> shapely.Geometry:
        """The literal geometry a spatial predicate compares the features with."""
        other = node.rhs if isinstance(node.lhs, ast.Attribute) else node.lhs
        if isinstance(other, values.Envelope):
            return shapely.box(other.x1, other.y1, other.x2, other.y2)
        if isinstance(other, values.Geometry):
            return shapely.geometry.shape(other.geometry)
        raise QueryError("spatial predicates compare the geometry with a literal geometry")

    def _spatial_sql(self, node: ast.Node) -> str:
        """Resolve one spatial predicate to a condition on feature ids."""
        if isinstance(node, ast.BBox):
            return self._bbox_sql([node.minx, node.miny, node.maxx, node.maxy])
        shape = self._literal_shape(node)
        swapped = not isinstance(node.lhs, ast.Attribute)
        if isinstance(node, ast.GeometryDisjoint):
            geoms = self._candidates(shape.bounds)
            return self._ids_sql(geoms.index.values[shapely.intersects(geoms.values, shape)],
                                 negate=True)
        if isinstance(node, ast.SpatialDistancePredicate):
            raise QueryError("DWITHIN/BEYOND are not supported (units are ambiguous in CRS84)")
        geoms = self._candidates(shape.bounds)
        g = geoms.values
        if isinstance(node, ast.Relate):
            hit = shapely.relate_pattern(shape, g, node.pattern) if swapped else \
                shapely.relate_pattern(g, shape, node.pattern)
        else:
            op = node.op.value.lower()
            func = {"intersects": shapely.intersects, "contains": shapely.contains,
                    "within": shapely.within, "touches": shapely.touches,
                    "crosses": shapely.crosses, "overlaps": shapely.overlaps,
                    "equals": shapely.equals}.get(op)
            if func is None:
                raise QueryError(f"unsupported spatial operator {op}")
            hit = func(shape, g) if swapped else func(g, shape)
        return self._ids_sql(geoms.index.values[np.asarray(hit, dtype=bool)])

    def _text_sql(self, q: str) -> str | None:
        """OGC API Features Part 9 ``q``: any of the comma-separated terms in any text property,
        ignoring ASCII case. ``instr`` rather than LIKE, so ``%`` and ``_`` typed by a user are
        plain characters; the terms are SQL literals, never spliced."""
        terms = [term.strip().lower() for term in q.split(",") if term.strip()]
        columns = [self._col(n) for n, f in self._fields.items()
                   if f.get("type") == "string" and "format" not in f]  # text, not times
        if not terms:
            return None
        if not columns:
            return "(1=0)"
        return "(" + " OR ".join(self._contains(c, literal(term))
                                 for term in terms for c in columns) + ")"

    def _contains(self, column: str, term: str) -> str:
        return f"instr(lower({column}), {term}) > 0"

    def _limits_sql(self) -> str | None:
        """The request's access limits on this collection as a condition on feature ids (None:
        whole). Hidden or unknown reads as empty — the gate answers 404 before this, so it only
        matters if a request reached the provider some other way: it fails closed."""
        try:
            limits = scope.limits_of(self.table, self.settings)
        except (Hidden, catalog.UnknownDataset):
            return "(1=0)"
        return scope.ids_sql(quote_ident(self.info.fid_column),
                             scope.visible_fids(self.data, self.table, limits))

    def _where(self, bbox: list | None, datetime_: str | None,
               properties: list[tuple[str, str]] | None, filterq: Any,
               q: str | None = None) -> str:
        limited = self._limits_sql()
        clauses: list[str] = [limited] if limited else []
        try:
            text = self._text_sql(q) if q else None
            if text:
                clauses.append(text)
            for name, value in properties or []:
                ftype = self._fields[name]["type"] if name in self._fields else "string"
                if name == self.info.fid_column:
                    ftype = "integer"
                clauses.append(f"({self._col(name)} = {literal(coerce(value, ftype))})")
            if datetime_ and self.time_field and self.time_field in self._fields:
                clauses.append(self._interval_sql(self.time_field, datetime_))
            if bbox:
                clauses.append(self._bbox_sql(list(bbox)))
            if filterq is not None:
                geom_names = {self.info.geometry_name or "geom", "geometry", "geom"}
                translator = self.TRANSLATOR(self._fields, self.info.time_fields,
                                             self._spatial_sql, geom_names)
                clauses.append(translator(filterq))
        except QueryError as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from exc
        return " AND ".join(clauses)

    TRANSLATOR = CqlToSql

    def _interval_sql(self, column: str, datetime_: str) -> str:
        return interval_sql(column, datetime_)

    def _read(self, sql: str) -> pd.DataFrame:
        LOGGER.debug("SQL: %s", sql)
        try:
            return pyogrio.read_dataframe(self.data, sql=sql, fid_as_index=True,
                                          datetime_as_string=True)
        except Exception as exc:  # noqa: BLE001 - GDAL reports SQL errors as generic errors
            LOGGER.error("query failed: %s (%s)", sql, exc)
            raise ProviderQueryError() from exc

    # -- features --------------------------------------------------------------------------
    def _features(self, frame: pd.DataFrame, columns: list[str],
                  skip_geometry: bool, crs_spec: Any = None) -> list[dict]:
        """GeoJSON features of ``frame``; geometries in the CRS of pygeoapi's transform spec
        ``crs_spec`` (Part 2; None: CRS84 as stored)."""
        geoms = None
        if not skip_geometry and "geometry" in frame.columns:
            shapes = reproject(np.asarray(frame["geometry"].values, dtype=object), crs_spec)
            geoms = [None if g is None else shapely.geometry.mapping(g) for g in shapes]
        fids = frame.index.values
        # missing values (NaN, None, pd.NA) as None in one conversion per column: for a page
        # of one feature the per-column where() of pandas cost more than the query
        data = {c: frame[c].to_numpy(dtype=object, na_value=None).tolist()
                for c in columns if c in frame.columns}
        features = []
        for i in range(len(frame)):
            props = {c: _jsonable(data[c][i]) for c in data}
            fid = int(fids[i])
            if self.id_field == self.info.fid_column:
                ident = fid
            else:
                ident = props.get(self.id_field, fid)
            features.append({"type": "Feature", "id": ident,
                             "geometry": geoms[i] if geoms is not None else None,
                             "properties": props})
        return features

    def _select(self, select_properties: list[str] | None, skip_geometry: bool
                ) -> tuple[str, list[str]]:
        names = [n for n in self.info.fields if not select_properties or n in select_properties]
        if self.id_field in self.info.fields and self.id_field not in names:
            names.insert(0, self.id_field)
        cols = [quote_ident(self.info.fid_column)] + [quote_ident(n) for n in names]
        if self.info.geometry_name and not skip_geometry:
            cols.append(quote_ident(self.info.geometry_name))
        return ", ".join(cols), names

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list | None = None, datetime_: str | None = None,
              properties: list | None = None, sortby: list | None = None,
              select_properties: list | None = None, skip_geometry: bool = False,
              q: str | None = None, filterq: Any = None, **kwargs: Any) -> dict:
        """One page of features matching every filter, plus the total number matched.

        Without ``sortby`` the page is in fid order and links to the next one by its last fid
        (keyset paging, see :mod:`onemap.mapserver.ogc_paging`); a page so reached (``after``)
        starts with an index seek and leaves out ``numberMatched`` rather than count again."""
        where = self._where(bbox, datetime_, properties, filterq, q)
        table = self._table_sql()
        fid = quote_ident(self.info.fid_column)
        request = ogc_paging.current(self.table)
        after = request.after if request is not None and not sortby else None
        if after is not None:
            where = " AND ".join(c for c in (where, f"({fid} > {int(after)})") if c)
        where_sql = f" WHERE {where}" if where else ""
        result: dict[str, Any] = {"type": "FeatureCollection", "features": [],
                                  "numberReturned": 0}
        if after is None or resulttype == "hits":
            result["numberMatched"] = self._count(table, where_sql)
            if resulttype == "hits" or limit == 0 or offset >= result["numberMatched"]:
                return result  # (an offset past the end is an empty page, not an SQL overflow)
        order = []
        for s in sortby or []:
            order.append(self._order(self._col(s["property"]), s["order"] == "-"))
        order.append(fid)
        cols, names = self._select(select_properties, skip_geometry)
        # one row more than the page tells whether a next page exists
        sql = (f"SELECT {cols} FROM {table}{where_sql} ORDER BY {', '.join(order)} "
               f"LIMIT {int(limit) + 1} OFFSET {int(offset)}")
        frame = self._read(sql)
        more = len(frame) > limit
        frame = frame.iloc[:limit]
        result["features"] = self._features(frame, names, skip_geometry,
                                            kwargs.get("crs_transform_spec"))
        result["numberReturned"] = len(result["features"])
        if not sortby:
            last = int(frame.index.values[-1]) if len(frame) else None
            result["links"] = ogc_paging.keyset_links(request, more, last)
        return result

    def get(self, identifier: Any, **kwargs: Any) -> dict:
        """One feature by its id; pygeoapi turns ProviderItemNotFoundError into a 404."""
        ftype = "integer" if self.id_field == self.info.fid_column else \
            self._fields.get(self.id_field, {}).get("type", "string")
        try:
            value = coerce(str(identifier), ftype)
            if isinstance(value, int) and not -2**63 <= value < 2**63:
                raise QueryError("beyond SQLite's integers")
            where = f"{quote_ident(self.id_field)} = {literal(value)}"
        except QueryError:  # not of the id's type, NUL characters…: no such feature
            raise ProviderItemNotFoundError(user_msg="identifier not found") from None
        limited = self._limits_sql()
        if limited:  # a feature outside the caller's region is not found, as an unknown id
            where = f"{where} AND {limited}"
        cols, names = self._select(None, False)
        sql = (f"SELECT {cols} FROM {self._table_sql()} WHERE {where} "
               f"ORDER BY {quote_ident(self.info.fid_column)} LIMIT 1")
        frame = self._read(sql)
        if frame.empty:
            raise ProviderItemNotFoundError(user_msg="identifier not found")
        return self._features(frame, names, False, kwargs.get("crs_transform_spec"))[0]

    def __repr__(self) -> str:
        return f"<OneMapProvider> {self.data}:{self.table}"
