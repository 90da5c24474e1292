"""Upwind source contribution: which pollution sources the wind carried to a station in an episode.

For a station and a period (a haze episode), every valid hour's wind says from which direction
the air arrived. A source lies *upwind* in an hour when its bearing from the station is within
``sector_half_width_deg`` of the wind's from-direction. Its screening weight is the dilution a
steady plume would give it in those hours, summed over the period::

    weight = Σ_upwind hours  E / (u_h · max(d, 1 km)²)  /  N_hours

with E the source's annual emission relevant to the pollutant (t/a), u_h the hour's wind speed
(a slower wind dilutes less), d the station–source distance (ground-level concentration
downwind of a point source falls roughly with the square of distance in the first tens of
kilometres, σy·σz ∝ x^≈2) and N_hours the valid hours of the period. ``contribution_share`` is
each weight over the sum, so it ranks and apportions the *sources within max_km*; it is a
screening indicator that points the inspector at the right firms, not a receptor-model
apportionment (no chemistry, background or regional transport).

Emission used (t/a): PM2.5 and PM10 — primary particulate ``pm_t`` plus the precursors as
secondary particulate with screening factors SO₂ 0.25 and NOx 0.15 (mass of sulfate/nitrate
aerosol formed per mass emitted within a day's transport, the low end of published regional
estimates); SO₂ — ``so2_t``; NO₂ — ``nox_t``; O₃ — ``voc_t + nox_t`` (its precursors). CO is not
in the permits' emission fields, so it is refused.

Calm hours (wind below 0.5 m/s, the usual anemometer threshold) have no direction: they count
in N_hours and make no source upwind; the summary reports the calm share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import mapping

from onemap.analysis.errors import InvalidInput, NoData
from onemap.analysis.geodesy import GEOGRAPHIC, metric_crs

TIMEZONE = "Asia/Shanghai"
CALM_M_S = 0.5
MIN_DISTANCE_KM = 1.0
#: Pollutant -> {emission field: factor}.
EMISSIONS: dict[str, dict[str, float]] = {
    "pm25": {"pm_t": 1.0, "so2_t": 0.25, "nox_t": 0.15},
    "pm10": {"pm_t": 1.0, "so2_t": 0.25, "nox_t": 0.15},
    "so2": {"so2_t": 1.0},
    "no2": {"nox_t": 1.0},
    "o3": {"voc_t": 1.0, "nox_t": 1.0},
}
SECTORS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
           "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
SOURCE_COLUMNS = ["rank", "source_id", "name", "industry", "distance_km", "bearing_deg",
                  "emission_t", "upwind_hours", "upwind_share", "weight", "contribution_share"]


@dataclass
class UpwindResult:
    """Ranked sources (EPSG:4326 points), the period's wind rose and a summary."""

    station: dict[str, Any]
    sources: gpd.GeoDataFrame
    wind_rose: pd.DataFrame
    summary: dict[str, Any]

    def to_geojson(self) -> dict:
        """The station (role "station") and the ranked sources (role "source")."""
        def clean(v: Any) -> Any:
            if isinstance(v, float | np.floating):
                return None if math.isnan(v) else float(v)
            return v.item() if isinstance(v, np.generic) else v

        feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            self.station["lon"], self.station["lat"]]}, "properties": {
            "role": "station", **{k: v for k, v in self.station.items() if k not in (
                "lon", "lat")}}}]
        for row in self.sources.to_dict("records"):
            geom = row.pop("geometry")
            feats.append({"type": "Feature", "geometry": mapping(geom),
                          "properties": {"role": "source", **{k: clean(v) for k, v in
                                                             row.items()}}})
        return {"type": "FeatureCollection", "features": feats}


def _period(start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Hour labels covering ``start``..``end``; a bare date means the whole Beijing day
    (hours ending 01:00 … 24:00, HJ 663's day)."""
    def parse(value: Any, name: str) -> tuple[pd.Timestamp, bool]:
        try:
            t = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(name, f"is not a date or date-time: {value!r}") from exc
        if t is pd.NaT:
            raise InvalidInput(name, "is missing")
        is_date = isinstance(value, str) and len(value.strip()) <= 10
        t = t.tz_localize(TIMEZONE) if t.tzinfo is None else t.tz_convert(TIMEZONE)
        return t, is_date

    t0, d0 = parse(start, "start")
    t1, d1 = parse(end, "end")
    if d0:
        t0 = t0 + pd.Timedelta(hours=1)
    if d1:
        t1 = t1 + pd.Timedelta(days=1)
    if t1 < t0:
        raise InvalidInput("end", "must not be before start")
    if t1 - t0 > pd.Timedelta(days=366):
        raise InvalidInput("end", "the period is longer than a year")
    return t0, t1


def _emission(sources: pd.DataFrame, pollutant: str) -> pd.Series:
    total = pd.Series(0.0, index=sources.index)
    for field, factor in EMISSIONS[pollutant].items():
        if field in sources:
            total += factor * pd.to_numeric(sources[field], errors="coerce").fillna(0.0)
    return total


def wind_rose(hours: pd.DataFrame) -> pd.DataFrame:
    """Hours and mean speed per 16-point sector of the from-direction (calm hours apart)."""
    moving = hours[hours["ws"] >= CALM_M_S]
    sector = ((moving["wd"] % 360 + 11.25) // 22.5).astype(int) % 16
    grouped = moving.groupby(sector)["ws"]
    rose = pd.DataFrame({"sector": SECTORS, "from_deg": np.arange(16) * 22.5})
    rose["hours"] = grouped.count().reindex(range(16), fill_value=0).to_numpy()
    rose["mean_speed_m_s"] = grouped.mean().reindex(range(16)).round(2).to_numpy()
    rose["share"] = (rose["hours"] / max(len(hours), 1)).round(4)
    return rose


def upwind_sources(station: pd.Series, sources: gpd.GeoDataFrame, hourly: pd.DataFrame,
                   start: Any, end: Any, *, pollutant: str = "pm25", max_km: float = 50,
                   sector_half_width_deg: float = 22.5) -> UpwindResult:
    """Rank the sources within ``max_km`` of ``station`` (a row of air_stations with a point
    geometry) by their upwind weight over ``start``..``end`` (see the module doc)."""
    if pollutant not in EMISSIONS:
        raise InvalidInput("pollutant", f"must be one of {', '.join(EMISSIONS)} (sources report "
                           f"no emission for {pollutant!r})")
    if not 0 < float(max_km) <= 300:
        raise InvalidInput("max_km", f"must be in (0, 300], got {max_km!r}")
    if not 0 < float(sector_half_width_deg) <= 90:
        raise InvalidInput("sector_half_width_deg",
                           f"must be in (0, 90], got {sector_half_width_deg!r}")
    t0, t1 = _period(start, end)
    sid = station["station_id"]
    rows = hourly[hourly["station_id"] == sid]
    times = pd.to_datetime(rows["time"])
    times = times.dt.tz_localize(TIMEZONE) if times.dt.tz is None else times.dt.tz_convert(
        TIMEZONE)
    rows = rows[(times >= t0) & (times <= t1)]
    if "flag" in rows:
        rows = rows[rows["flag"] == "N"]
    rows = rows[["ws", "wd"]].dropna()
    if rows.empty:
        raise NoData("start", f"station {sid} has no valid wind hour between "
                     f"{t0.isoformat()} and {t1.isoformat()}")
    here = station.geometry
    crs = metric_crs(here.x)
    here_m = gpd.GeoSeries([here], crs=GEOGRAPHIC).to_crs(crs).iloc[0]
    m = sources.to_crs(crs)
    dist_km = m.distance(here_m) / 1000.0
    m = m[dist_km <= max_km].assign(distance_km=dist_km[dist_km <= max_km])
    bearing = (np.degrees(np.arctan2(m.geometry.x - here_m.x, m.geometry.y - here_m.y))
               % 360.0).to_numpy()
    moving = rows[rows["ws"] >= CALM_M_S]
    wd, ws = moving["wd"].to_numpy() % 360.0, moving["ws"].to_numpy()
    diff = np.abs((bearing[:, None] - wd[None, :] + 180.0) % 360.0 - 180.0)
    upwind = diff <= float(sector_half_width_deg)                   # (sources, hours)
    emission = _emission(m, pollutant).to_numpy()
    d = np.maximum(m["distance_km"].to_numpy(), MIN_DISTANCE_KM)
    weight = emission * (upwind / ws[None, :]).sum(axis=1) / d ** 2 / len(rows)
    total = weight.sum()
    table = gpd.GeoDataFrame({
        "source_id": m["source_id"].astype(str), "name": m.get("name"),
        "industry": m.get("industry"), "distance_km": m["distance_km"].round(2),
        "bearing_deg": bearing.round(1), "emission_t": emission.round(3),
        "upwind_hours": upwind.sum(axis=1), "upwind_share": (upwind.sum(axis=1) / len(rows)
                                                             ).round(4),
        "weight": weight, "contribution_share": weight / total if total > 0 else 0.0,
    }, geometry=m.geometry, crs=crs).to_crs(GEOGRAPHIC)
    table = table.sort_values(["weight", "distance_km"], ascending=[False, True])
    table.insert(0, "rank", range(1, len(table) + 1))
    table = table[[*SOURCE_COLUMNS, "geometry"]].reset_index(drop=True)
    rose = wind_rose(rows)
    top = table.head(5)
    summary = {
        "station_id": sid, "pollutant": pollutant, "start": t0.isoformat(),
        "end": t1.isoformat(), "valid_hours": int(len(rows)),
        "calm_share": round(float((rows["ws"] < CALM_M_S).mean()), 4),
        # None when every hour was calm: no direction prevailed
        "prevailing_from": rose.loc[rose["hours"].idxmax(), "sector"]
        if rose["hours"].sum() else None,
        "mean_wind_m_s": round(float(rows["ws"].mean()), 2),
        "n_sources": int(len(table)), "n_upwind_sources": int((table["upwind_hours"] > 0).sum()),
        "top_sources": [{"source_id": r.source_id, "name": r.name,
                         "contribution_share": round(float(r.contribution_share), 4)}
                        for r in top.itertuples()],
        "max_km": float(max_km), "sector_half_width_deg": float(sector_half_width_deg),
        "method": "screening weight: emission × Σ upwind hours 1/u / d², see the docs",
    }
    st = {"station_id": sid, "name": station.get("name"), "lon": float(here.x),
          "lat": float(here.y)}
    return UpwindResult(st, table, rose, summary)
