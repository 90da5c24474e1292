"""The OGC API Features provider of a layer served from PostGIS (see :mod:`onemap.store`).

It is :class:`~onemap.mapserver.provider.OneMapProvider` with PostgreSQL's answers to the few
questions that differ: where the table is (``layers."<id>"``), how a bbox, a spatial predicate,
a ``q`` text search and a time interval are written (PostGIS evaluates geometry predicates
itself, on the GiST index, instead of candidates refined in Python), how NULLs sort (as SQLite
does, lowest) and how rows are read (psycopg from the process's pool, geometry as WKB).
Everything else — the filters' meaning, access limits by feature id, keyset paging, counts,
the GeoJSON written — is the same code as for the GeoPackage, so both answer alike.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

import pandas as pd
import psycopg
import shapely
from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderQueryError
from pygeofilter import ast

from onemap import catalog
from onemap.mapserver.provider import OneMapProvider
from onemap.mapserver.sql import QueryError, literal, quote_ident
from onemap.store import pg_load
from onemap.store.pg_pool import SCHEMA, connection
from onemap.store.pg_sql import CqlToPg, interval_pg

LOGGER = logging.getLogger(__name__)
_PREDICATES = {"intersects": "ST_Intersects", "contains": "ST_Contains", "within": "ST_Within",
               "touches": "ST_Touches", "crosses": "ST_Crosses", "overlaps": "ST_Overlaps",
               "equals": "ST_Equals"}


def _time_text(value: datetime) -> str:
    """As GDAL writes a GeoPackage's time (UTC, ``Z``; milliseconds only when there are)."""
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class PgProvider(OneMapProvider):
    """A layer's table in PostGIS; ``data`` stays the layer's GeoPackage (its schema and the
    feature ids a region may see are read from it: the table was loaded from it, ids kept).

    Only a table that holds exactly the catalogued version of the layer is read (its load
    stamp, :func:`onemap.store.pg_load.is_current`); otherwise — a load failed or is under way
    — the request is answered from the GeoPackage, as without PostGIS."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        try:
            entry = catalog.get(self.table, self.settings)
            self.pg = pg_load.is_current(entry, self.settings)
        except (catalog.UnknownDataset, psycopg.Error) as exc:
            LOGGER.warning("%s read from its GeoPackage: %s", self.table, exc)
            self.pg = False
        if not self.pg:  # every hook below is the GeoPackage's
            self.TRANSLATOR = OneMapProvider.TRANSLATOR  # type: ignore[misc]
            for hook in ("_table_sql", "_order", "_bbox_sql", "_spatial_sql",
                         "_contains", "_interval_sql", "_select", "_read"):
                setattr(self, hook, getattr(super(), hook))

    TRANSLATOR = CqlToPg

    def _table_sql(self) -> str:
        return f"{quote_ident(SCHEMA)}.{quote_ident(self.table)}"

    def _order(self, column: str, descending: bool) -> str:
        return f"{column} DESC NULLS LAST" if descending else f"{column} ASC NULLS FIRST"

    def _envelope(self, minx: float, miny: float, maxx: float, maxy: float) -> str:
        return (f"ST_MakeEnvelope({literal(float(minx))}, {literal(float(miny))}, "
                f"{literal(float(maxx))}, {literal(float(maxy))}, 4326)")

    def _bbox_sql(self, bbox: list[float]) -> str:
        minx, miny, maxx, maxy = (float(v) for v in (bbox[0], bbox[1], bbox[-2], bbox[-1]))
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise QueryError("bbox: the numbers must be finite")
        box = self._envelope(minx, miny, maxx, maxy)
        return f"(geom && {box} AND ST_Intersects(geom, {box}))"

    def _spatial_sql(self, node: ast.Node) -> str:
        if isinstance(node, ast.BBox):
            return self._bbox_sql([node.minx, node.miny, node.maxx, node.maxy])
        shape = f"ST_GeomFromText({literal(self._literal_shape(node).wkt)}, 4326)"
        a, b = ("geom", shape) if isinstance(node.lhs, ast.Attribute) else (shape, "geom")
        if isinstance(node, ast.GeometryDisjoint):
            return f"(geom IS NOT NULL AND NOT ST_Intersects(geom, {shape}))"
        if isinstance(node, ast.SpatialDistancePredicate):
            raise QueryError("DWITHIN/BEYOND are not supported (units are ambiguous in CRS84)")
        if isinstance(node, ast.Relate):
            return f"ST_Relate({a}, {b}, {literal(node.pattern)})"
        func = _PREDICATES.get(node.op.value.lower())
        if func is None:
            raise QueryError(f"unsupported spatial operator {node.op.value.lower()}")
        return f"{func}({a}, {b})"

    def _contains(self, column: str, term: str) -> str:
        return f"strpos(lower({column}), {term}) > 0"

    def _interval_sql(self, column: str, datetime_: str) -> str:
        return interval_pg(column, datetime_)

    def _select(self, select_properties: list[str] | None, skip_geometry: bool
                ) -> tuple[str, list[str]]:
        cols, names = super()._select(select_properties, skip_geometry)
        geom = quote_ident(self.info.geometry_name or "geom")
        if cols.endswith(f", {geom}"):  # the geometry as WKB, named as pyogrio names it
            cols = cols[: -len(geom)] + "ST_AsBinary(geom) AS geometry"
        return cols, names

    def _read(self, sql: str) -> pd.DataFrame:
        LOGGER.debug("SQL: %s", sql)
        try:
            with connection(self.settings) as conn, conn.cursor() as cur:
                cur.execute(sql)  # type: ignore[arg-type]  (built from literals, see pg_sql)
                names = [d.name for d in cur.description or []]
                rows = cur.fetchall()
        except (psycopg.errors.DataError, psycopg.errors.UndefinedFunction,
                psycopg.errors.SyntaxError, psycopg.errors.InvalidParameterValue) as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc).splitlines()[0]) from exc
        except psycopg.Error as exc:
            LOGGER.error("query failed: %s (%s)", sql, exc)
            raise ProviderQueryError() from exc
        frame = pd.DataFrame.from_records(rows, columns=names)
        for name in names:
            if name == "geometry":
                frame[name] = shapely.from_wkb(frame[name].map(
                    lambda b: None if b is None else bytes(b)).values)
            elif len(frame) and frame[name].map(lambda v: isinstance(v, datetime)).any():
                frame[name] = frame[name].map(
                    lambda v: _time_text(v) if isinstance(v, datetime) else v)
        if "fid" in frame.columns:
            frame = frame.set_index("fid")
        return frame

    def __repr__(self) -> str:
        return f"<PgProvider> {SCHEMA}.{self.table}" if self.pg else super().__repr__()
