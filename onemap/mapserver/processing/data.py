"""Reading only what a process needs from the store.

``air_hourly`` holds a year of hours per station; every process reads a time range of it with a
SQL ``where`` on the stored UTC times (as :func:`onemap.analysis.emergency.load_layers` does), so a
request for one hour never loads the year. Station ids that reach SQL are checked against the
station list first (never interpolated from a request unchecked).

Layers with access limits (internal pollution sources, incidents, receptors) are read *as the
caller* (:func:`read_as`, :func:`limit`): a region-bound caller's run sees only the features of
its region, so no result — suspects, encroachments, receptors at risk — names another
region's internal features. The caller is the processor's ``principal``, taken in the request
(an async job runs in a pool thread that has no request).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TypeVar

import geopandas as gpd
import pandas as pd
import pyogrio

from onemap.access import scope
from onemap.access.policy import Hidden
from onemap.access.principal import Principal
from onemap.analysis.errors import InvalidInput
from onemap.config import Settings
from onemap.layers.store import layer_path, read_layer

TIMEZONE = "Asia/Shanghai"
T = TypeVar("T")


def read_as(principal: Principal, layer_id: str, settings: Settings,
            parameter: str = "layer", **kwargs: object) -> pd.DataFrame:
    """Layer ``layer_id`` as ``principal`` sees it (only its region's features when it is
    region-bound); one hidden from it is an unknown layer for input ``parameter``."""
    try:
        return scope.read(layer_id, settings, principal, **kwargs)
    except Hidden:
        raise InvalidInput(parameter, f"unknown layer {layer_id!r}") from None


def limit(principal: Principal, layer_id: str, frame: pd.DataFrame, settings: Settings,
          parameter: str = "layer") -> pd.DataFrame:
    """``frame`` (read from layer ``layer_id`` by code that knows no principal, such as the
    analysis' own loaders) cut to what ``principal`` sees of that layer."""
    try:
        return scope.mask(frame, scope.limits_of(layer_id, settings, principal))
    except Hidden:
        raise InvalidInput(parameter, f"unknown layer {layer_id!r}") from None


def limit_all(principal: Principal, bundle: T, settings: Settings,
              ids: dict[str, str] | None = None) -> T:
    """A dataclass of frames (such as the analysis' ``EmergencyLayers``), each field cut by
    :func:`limit` to what ``principal`` sees of the layer it names (its field name, or
    ``ids[field]``); None fields stay None."""
    cut = {}
    for f in dataclasses.fields(bundle):  # type: ignore[arg-type]
        frame = getattr(bundle, f.name)
        if frame is not None:
            layer_id = (ids or {}).get(f.name, f.name)
            cut[f.name] = limit(principal, layer_id, frame, settings, parameter=layer_id)
    return dataclasses.replace(bundle, **cut)  # type: ignore[type-var]


def _utc(t: pd.Timestamp) -> str:
    return f"{t.tz_convert('UTC'):%Y-%m-%dT%H:%M:%S}"


def hourly_where(start: pd.Timestamp, end: pd.Timestamp,
                 station_ids: Iterable[str] | None = None) -> str:
    """SQL filter for hour labels ``start``..``end`` (inclusive, tz-aware). Stored times are
    UTC text with a zone suffix ("…T12:00:00.000Z"), so the upper bound is exclusive one second
    later: ``<= '…T12:00:00'`` would miss the last hour in a text comparison."""
    upper = _utc(end + pd.Timedelta(seconds=1))
    where = f"time >= '{_utc(start)}' AND time < '{upper}'"
    if station_ids is not None:
        ids = ", ".join("'" + s.replace("'", "''") + "'" for s in station_ids)
        where += f" AND station_id IN ({ids})"
    return where


def read_hourly(settings: Settings, start: pd.Timestamp, end: pd.Timestamp,
                station_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of ``air_hourly`` with hour labels in ``start``..``end`` (tz-aware Beijing times)."""
    return read_layer("air_hourly", settings, where=hourly_where(start, end, station_ids))


def count_valid_hours(settings: Settings, start: pd.Timestamp, end: pd.Timestamp,
                      station_ids: Iterable[str] | None = None) -> int:
    """How many valid (flag N) station-hours lie in ``start``..``end`` — one SQL count."""
    sql = (f"SELECT count(*) AS n FROM air_hourly WHERE {hourly_where(start, end, station_ids)}"
           " AND flag = 'N'")
    frame = pyogrio.read_dataframe(layer_path("air_hourly", settings), sql=sql, use_arrow=False)
    return int(frame["n"].iloc[0])


def data_span(settings: Settings) -> str:
    """The hour labels ``air_hourly`` covers, for error messages."""
    sql = "SELECT min(time) AS t0, max(time) AS t1 FROM air_hourly"
    frame = pyogrio.read_dataframe(layer_path("air_hourly", settings), sql=sql, use_arrow=False)
    t0, t1 = (pd.Timestamp(frame[c].iloc[0]) for c in ("t0", "t1"))
    t0, t1 = (t.tz_localize("UTC") if t.tzinfo is None else t for t in (t0, t1))
    return f"{t0.tz_convert(TIMEZONE).isoformat()} … {t1.tz_convert(TIMEZONE).isoformat()}"


def stations(settings: Settings) -> gpd.GeoDataFrame:
    return read_layer("air_stations", settings).to_crs(4326)


def check_stations(settings: Settings, ids: Iterable[str], parameter: str) -> list[str]:
    """``ids`` if every one is a station of ``air_stations``; InvalidInput naming the others."""
    known = set(stations(settings)["station_id"].astype(str))
    ids = list(ids)
    unknown = [s for s in ids if s not in known]
    if unknown:
        raise InvalidInput(parameter, f"unknown station(s) {', '.join(unknown)}; known ids are "
                           f"like {', '.join(sorted(known)[:5])} (see the air_stations layer)")
    return ids


def region(settings: Settings) -> gpd.GeoDataFrame:
    return read_layer("admin_boundaries", settings).to_crs(4326)


def outline(settings: Settings) -> object:
    """The region as one simplified polygon (for region-wide results drawn on the map)."""
    geom = region(settings).geometry.union_all()
    return geom.simplify(0.005, preserve_topology=True)
