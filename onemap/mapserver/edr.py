"""OGC API EDR for station time series: air stations, water sections, HJ 212 outlets.

One provider (:class:`OneMapEDRProvider`) sits beside each station layer's feature provider
(:func:`onemap.mapserver.ogc.collection`): the stations are the layer's points, their series
the rows of its time-series table (``air_hourly``, ``water_samples``, the live
``outlet_readings``; ``air_stations_national``'s is ``air_hourly_national``), read by the
(station, time) index from the GeoPackage or, when it holds the table's current version, from
its partitioned copy in PostGIS (:mod:`onemap.mapserver.edr_read`), never a file named by a
request.

Queries: ``locations`` (the stations as GeoJSON; ``locations/{id}`` one station's
``PointSeries``), ``position`` (the station nearest each point), ``area`` (the stations in a
polygon), ``cube`` (in a bbox), each with ``datetime`` and ``parameter-name``. Out: CoverageJSON
(pygeoapi's ``f=json``), or GeoJSON — one feature per station and time — when the gate
(:mod:`onemap.mapserver.edr_gate`) saw ``f=geojson``.

Access enters as in the feature provider: the request's principal (carried into pygeoapi's
threads) gets the policy's limits for the station layer — a region-bound principal sees the
stations its limits let through (:func:`onemap.access.scope.visible_fids`) — and must be able
to read the series table, else the series are not found (404), as a hidden dataset.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
from pygeoapi.provider.base import (
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from pygeoapi.provider.base_edr import BaseEDRProvider

from onemap import catalog
from onemap.access import policy, scope
from onemap.layers import gpkg_rows, store
from onemap.layers.families import FAMILIES
from onemap.mapserver import edr_read
from onemap.mapserver.edr_params import SERIES, Param, Series
from onemap.mapserver.provider import _settings
from onemap.mapserver.sql import quote_ident
from onemap.store import pg_load, served_from_postgis

#: Set by the gate for ``f=geojson``; pygeoapi's executor threads run in a copy of the
#: request's context (onemap.mapserver.ogc_access), so the provider sees it.
OUTPUT: ContextVar[str] = ContextVar("onemap_edr_output", default="coveragejson")
#: Largest number of values (rows × parameters) one answer may hold: a station's 13 years of
#: hours in all 8 air parameters (911,000) fit, a year of 40 stations' all do not; a broader
#: query is a 400 asking for a narrower datetime, fewer parameters or fewer stations.
MAX_VALUES = 1_000_000
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
REFERENCING = [
    {"coordinates": ["x", "y"], "system": {"type": "GeographicCRS", "id": CRS84}},
    {"coordinates": ["t"], "system": {"type": "TemporalRS", "calendar": "Gregorian"}},
]


def time_bounds(datetime_: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The OGC ``datetime`` (instant, ``start/end``, ``..`` open) as UTC bounds; ValueError
    for a time that is not one."""
    if not datetime_:
        return None, None
    parts = datetime_.split("/", 1) if "/" in datetime_ else [datetime_, datetime_]
    out = []
    for text in parts:
        if text.strip() in ("", ".."):
            out.append(None)
            continue
        stamp = pd.Timestamp(text.strip())
        out.append(stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC"))
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise ValueError(f"datetime {datetime_!r}: the start is after the end")
    return out[0], out[1]


class OneMapEDRProvider(BaseEDRProvider):
    """EDR queries on one station layer's time series (``options``: ``stations`` and
    ``stations_path``, the series ``table`` and ``data``, the layer ``family``)."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        options = provider_def.get("options") or {}
        self.series: Series = SERIES[options["family"]]
        self.stations = options["stations"]
        self.stations_path = options["stations_path"]
        self.table = options["table"]
        self.params: dict[str, Param] = {p.id: p for p in self.series.params}
        if not self.series.interval:  # a wide table imported without some columns
            with edr_read.read_only(str(self.data)) as conn:
                columns = {r[1] for r in conn.execute(
                    f"PRAGMA table_info({quote_ident(self.table)})")}
            self.params = {k: v for k, v in self.params.items() if k in columns}
        self.settings = _settings(options.get("data_dir"), options.get("system_db", ""),
                                  options.get("database_url", ""))

    def get_fields(self) -> dict[str, dict[str, str]]:
        return {pid: p.field() for pid, p in self.params.items()}

    # -- the stations ----------------------------------------------------------------------
    def _stations(self, ids: list[str] | None = None) -> pd.DataFrame:
        """The stations the request's principal sees (id, name, lon, lat), indexed by id."""
        try:
            limits = scope.limits_of(self.stations, self.settings)
        except (policy.Hidden, catalog.UnknownDataset):
            raise ProviderItemNotFoundError(user_msg="collection not found") from None
        fids = scope.visible_fids(self.stations_path, self.stations, limits)
        key = quote_ident(self.series.key)
        with edr_read.read_only(self.stations_path) as conn:
            geom = conn.execute("SELECT column_name FROM gpkg_geometry_columns "
                                "WHERE table_name = ?", (self.stations,)).fetchone()[0]
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({quote_ident(self.stations)})")]
            name = "name" if "name" in cols else key
            where = [scope.ids_sql("fid", fids) or "1=1"]
            args: list[Any] = []
            if ids is not None:
                where.append(f"{key} IN ({','.join('?' * len(ids))})")
                args += ids
            rows = conn.execute(
                f"SELECT {key}, {quote_ident(name)}, {quote_ident(geom)} FROM "  # noqa: S608
                f"{quote_ident(self.stations)} WHERE {' AND '.join(where)} AND {key} IS NOT NULL "
                f"ORDER BY {key}", args).fetchall()
        points = [gpkg_rows.decode(r[2]) for r in rows]
        frame = pd.DataFrame({"id": [str(r[0]) for r in rows], "name": [r[1] for r in rows],
                              "lon": [p.x if p is not None else None for p in points],
                              "lat": [p.y if p is not None else None for p in points]})
        return frame.dropna(subset=["lon", "lat"]).drop_duplicates("id").set_index("id")

    def _series_path(self) -> str:
        """The series table's file, when the principal may read it (else not found)."""
        try:
            scope.limits_of(self.table, self.settings)
        except (policy.Hidden, catalog.UnknownDataset):
            raise ProviderItemNotFoundError(
                user_msg="no series of these stations is visible to you") from None
        return str(self.data)

    # -- the series ------------------------------------------------------------------------
    def _wanted(self, select_properties: list[str] | None) -> list[str]:
        if not select_properties:
            return list(self.params)
        unknown = [p for p in select_properties if p not in self.params]
        if unknown:
            raise ProviderInvalidQueryError(
                user_msg=f"parameter-name: unknown {', '.join(unknown)}; known: "
                         f"{', '.join(self.params)}")
        return list(dict.fromkeys(select_properties))

    def _rows(self, ids: list[str], datetime_: str | None, wanted: list[str]) -> pd.DataFrame:
        """The stations' rows (:mod:`onemap.mapserver.edr_read`'s frame), from PostGIS when it
        holds the table's current version, else from the GeoPackage."""
        path = self._series_path()
        s = self.series
        try:
            bounds = time_bounds(datetime_)
        except ValueError as exc:
            raise ProviderInvalidQueryError(user_msg=f"datetime: {exc}") from None
        limit = MAX_VALUES // max(len(wanted), 1)
        try:
            if not ids:
                return pd.DataFrame(columns=[s.key, "t", *wanted])
            if not s.interval and self._in_postgis():
                return edr_read.from_postgis(self.settings, self.table, s, ids, bounds, wanted,
                                             limit)
            return edr_read.from_geopackage(path, self.table, s, ids, bounds, wanted, limit)
        except edr_read.TooMany as exc:
            raise ProviderInvalidQueryError(
                user_msg=f"{exc}; at most {MAX_VALUES} values (rows × parameters) per query: "
                         "narrow datetime, parameter-name or the stations") from None
        except ValueError as exc:
            raise ProviderInvalidQueryError(user_msg=f"datetime: {exc}") from None

    def _in_postgis(self) -> bool:
        try:
            entry = catalog.get(self.table, self.settings)
            return served_from_postgis(entry, self.settings) and pg_load.is_current(
                entry, self.settings)
        except (catalog.UnknownDataset, psycopg.Error):
            return False

    # -- output ----------------------------------------------------------------------------
    @staticmethod
    def _values(column: pd.Series) -> list[float | None]:
        values = column.to_numpy(dtype=float)
        out: list[float | None] = values.tolist()
        if np.isnan(values).any():
            out = [None if v != v else v for v in out]  # NaN → null
        return out

    def _coverage(self, sid: str, station: pd.Series, rows: pd.DataFrame,
                  wanted: list[str]) -> dict:
        t = rows["t"].tolist()
        return {
            "type": "Coverage", "id": sid,
            "domain": {"type": "Domain", "domainType": "PointSeries",
                       "axes": {"x": {"values": [float(station["lon"])]},
                                "y": {"values": [float(station["lat"])]},
                                "t": {"values": t}}},
            "ranges": {p: {"type": "NdArray", "dataType": "float", "axisNames": ["t"],
                           "shape": [len(t)], "values": self._values(rows[p])}
                       for p in wanted},
        }

    def _answer(self, stations: pd.DataFrame, datetime_: str | None,
                select_properties: list[str] | None, single: bool = False) -> dict:
        wanted = self._wanted(select_properties)
        data = self._rows(list(stations.index), datetime_, wanted)
        if self.series.interval:  # long tables: only the parameters with readings
            wanted = [w for w in wanted if w in data.columns]
        groups = {str(k): g for k, g in data.groupby(self.series.key, sort=False)}
        empty = data.iloc[0:0]
        if OUTPUT.get() == "geojson":
            return self._features(stations, groups, empty, wanted)
        params = {p: self.params[p].coverage() for p in wanted}
        coverages = [self._coverage(sid, stations.loc[sid], groups.get(sid, empty), wanted)
                     for sid in stations.index]
        if single:
            cov = coverages[0]
            cov["domain"]["referencing"] = REFERENCING
            return {**cov, "parameters": params}
        return {"type": "CoverageCollection", "domainType": "PointSeries",
                "parameters": params, "referencing": REFERENCING, "coverages": coverages}

    def _features(self, stations: pd.DataFrame, groups: dict[str, pd.DataFrame],
                  empty: pd.DataFrame, wanted: list[str]) -> dict:
        """GeoJSON: one point feature per station and time, its values as properties."""
        key, features = self.series.key, []
        for sid in stations.index:
            st = stations.loc[sid]
            geometry = {"type": "Point", "coordinates": [float(st["lon"]), float(st["lat"])]}
            rows = groups.get(sid, empty)
            values = {p: self._values(rows[p]) for p in wanted}
            for i, when in enumerate(rows["t"].tolist()):
                props = {key: sid, "name": st["name"], "time": when,
                         **{p: values[p][i] for p in wanted}}
                features.append({"type": "Feature", "id": f"{sid}/{when}",
                                 "geometry": geometry, "properties": props})
        return {"type": "FeatureCollection", "features": features,
                "numberReturned": len(features)}

    def _locations_list(self, bbox: list | None) -> dict:
        """Every station the caller sees (in ``bbox``): pygeoapi's default ``limit`` of 10
        would cut a list clients read whole (the gate refuses ``limit`` here)."""
        stations = self._stations()
        if bbox:
            minx, miny, maxx, maxy = (float(v) for v in (bbox[0], bbox[1], bbox[-2], bbox[-1]))
            stations = stations[stations["lon"].between(minx, maxx)
                                & stations["lat"].between(miny, maxy)]
        return {"type": "FeatureCollection", "numberMatched": len(stations),
                "numberReturned": len(stations), "features": [
                    {"type": "Feature", "id": sid,
                     "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                     "properties": {self.series.key: sid, "name": row.name_}}
                    for sid, row in stations.rename(columns={"name": "name_"}).iterrows()]}

    # -- the query types (defined on this class: pygeoapi registers these names) ------------
    def locations(self, location_id: str | None = None, bbox: list | None = None,
                  datetime_: str | None = None, select_properties: list | None = None,
                  **kwargs: Any) -> dict:
        """Without an id the stations (GeoJSON); with one, its series."""
        if not location_id:
            return self._locations_list(bbox)
        try:
            str(location_id).encode("utf-8")
        except UnicodeEncodeError:  # a path that was not UTF-8: no station has that id
            raise ProviderItemNotFoundError(user_msg="no such location") from None
        stations = self._stations([str(location_id)])
        if stations.empty:  # unknown, or outside the caller's region: the same answer
            raise ProviderItemNotFoundError(user_msg=f"no location {location_id!r}")
        return self._answer(stations, datetime_, select_properties, single=True)

    def position(self, wkt: Any = None, datetime_: str | None = None,
                 select_properties: list | None = None, **kwargs: Any) -> dict:
        """The station nearest each point of ``coords`` (all of them on a tie)."""
        stations = self._stations()
        if stations.empty:
            return self._answer(stations, datetime_, select_properties)
        where = shapely.points(stations["lon"].to_numpy(), stations["lat"].to_numpy())
        chosen: list[str] = []
        for point in shapely.get_parts(wkt):
            dist = shapely.distance(where, point)
            chosen += [sid for sid, d in zip(stations.index, dist, strict=True)
                       if d <= dist.min() + 1e-12]
        return self._answer(stations.loc[list(dict.fromkeys(chosen))], datetime_,
                            select_properties)

    def area(self, wkt: Any = None, datetime_: str | None = None,
             select_properties: list | None = None, **kwargs: Any) -> dict:
        """The stations in (or on the edge of) the polygon ``coords``."""
        stations = self._stations()
        where = shapely.points(stations["lon"].to_numpy(), stations["lat"].to_numpy())
        inside = shapely.intersects(wkt, where) if len(stations) else []
        return self._answer(stations[inside], datetime_, select_properties)

    def cube(self, bbox: list | None = None, datetime_: str | None = None,
             select_properties: list | None = None, **kwargs: Any) -> dict:
        """The stations in ``bbox`` (minx, miny, maxx, maxy in CRS84)."""
        box = [float(v) for v in (bbox[0], bbox[1], bbox[-2], bbox[-1])]
        stations = self._stations()
        stations = stations[stations["lon"].between(box[0], box[2])
                            & stations["lat"].between(box[1], box[3])]
        return self._answer(stations, datetime_, select_properties)

    def __repr__(self) -> str:
        return f"<OneMapEDRProvider> {self.stations}:{self.table}"


def provider_config(entry: catalog.Entry, entries: dict[str, catalog.Entry],
                    settings: Any) -> dict | None:
    """The EDR provider of a station layer ``entry`` whose series table is catalogued and on
    disk (None otherwise); the series gets its (station, time) index here, at the start."""
    series = SERIES.get(entry.family)
    tables = [e for e in entries.values() if series and e.kind == "table"
              and e.family == series.table]
    # air_stations_national's series is air_hourly_national: the same suffix, else the first
    suffix = entry.id.removeprefix(entry.family)
    table = next((e for e in tables if e.id == f"{series.table}{suffix}"), None) if series \
        else None
    table = table or next(iter(tables), None)
    if series is None or table is None or not table.file(settings).exists():
        return None
    path = table.file(settings)
    family = FAMILIES.get(table.family)
    if family is not None and not (table.extra or {}).get("live"):  # live: its own indexes
        store.ensure_key_index(path, table.id, family)  # for files imported before it was
    return {"type": "edr", "name": f"{__name__}.OneMapEDRProvider", "data": str(path),
            "options": {"family": entry.family, "stations": entry.id,
                        "stations_path": str(entry.file(settings)), "table": table.id,
                        "data_dir": str(settings.data_dir), "system_db": settings.system_db,
                        "database_url": settings.database_url}}
