"""Environmental emergency assessment (基于空间地理信息系统的环境应急) for one incident point.

Given where, when, what and how much, :func:`assess_incident` answers the commander's first
questions in one result: the buffer rings (1/3/5 km by default) and who lives in them; for a
release to air, the Gaussian-plume footprint of each emergency threshold with the wind of the
nearest station (:mod:`onemap.analysis.plume`); for a release to water, the downstream trace
with the intakes and sections it reaches and when (:mod:`onemap.analysis.rivers`); sensitive
receptors, protected areas and water-source zones inside each ring or footprint; and nearby
pollution sources as suspects.

Suspects are scored by :mod:`onemap.analysis.suspects` (its docstring says how).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import Point, mapping
from shapely.ops import nearest_points

from onemap.analysis import plume as _plume
from onemap.analysis.errors import InvalidInput, OutOfRegion
from onemap.analysis.geodesy import GEOGRAPHIC, metric_crs
from onemap.analysis.plume import POLLUTANTS, Level, Plume, Pollutant, Wind, as_time, nearest_wind
from onemap.analysis.report import build_summary, jsonable, render
from onemap.analysis.rivers import (
    DOWNSTREAM_COLUMNS,
    Trace,
    downstream_trace,
    trace_features,
    trace_summary,
)
from onemap.analysis.suspects import MAX_SUSPECT_FEATURES, SUSPECT_COLUMNS, rank_suspects

__all__ = ["POLLUTANTS", "EmergencyLayers", "EmergencyResult", "Incident", "Wind",
           "assess_incident", "load_layers", "nearest_wind"]

MAX_RING_M = 50_000.0


@dataclass(frozen=True)
class Incident:
    """What was released, where, when and how much: the commander's first report."""

    lon: float
    lat: float
    time: pd.Timestamp              # tz-aware (naive times are taken as Beijing time)
    medium: Literal["air", "water"]
    pollutant: str                  # a key of POLLUTANTS
    amount_kg: float
    duration_min: float = 60.0
    release_height_m: float = 0.0


@dataclass
class EmergencyLayers:
    """The layers an assessment reads (EPSG:4326); :func:`load_layers` reads them from the
    store with only the hours of ``air_hourly`` near the incident."""

    rivers: gpd.GeoDataFrame
    water_intakes: gpd.GeoDataFrame
    water_sections: gpd.GeoDataFrame
    sensitive_receptors: gpd.GeoDataFrame
    protected_areas: gpd.GeoDataFrame
    water_source_zones: gpd.GeoDataFrame
    pollution_sources: gpd.GeoDataFrame
    air_stations: gpd.GeoDataFrame
    region: gpd.GeoDataFrame          # admin_boundaries
    air_hourly: pd.DataFrame | None = None   # rows near the incident time are enough


@dataclass
class EmergencyResult:
    """Features (EPSG:4326, column ``role``), tables (rings, receptors, downstream, suspects,
    plume or trace) and a JSON-safe summary; GeoJSON and an offline HTML report from them."""

    incident: Incident
    wind: Wind | None
    features: gpd.GeoDataFrame
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]

    def to_geojson(self) -> dict:
        """A FeatureCollection (EPSG:4326) of every feature, properties JSON-safe."""
        feats = []
        props = [c for c in self.features.columns if c != "geometry"]
        for row in self.features.itertuples(index=False):
            d = row._asdict()
            feats.append({"type": "Feature", "geometry": mapping(d["geometry"]),
                          "properties": {k: jsonable(d[k]) for k in props}})
        return {"type": "FeatureCollection", "features": feats,
                "summary": jsonable(self.summary)}

    def to_html(self, *, lang: str = "zh") -> str:
        """A standalone folium map with the summary table, opening with no network."""
        return render(self, lang=lang)


def _positive(name: str, value: float, *, zero_ok: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(name, f"must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
        raise InvalidInput(name, f"must be a {'non-negative' if zero_ok else 'positive'} "
                           f"finite number, got {value!r}")
    return v


def _bearing(dx: float, dy: float) -> float:
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _check(incident: Incident, rings_m: Sequence[float]) -> tuple[Pollutant, list[float]]:
    for name in ("lon", "lat"):
        v = getattr(incident, name)
        if not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidInput(name, f"must be a finite number, got {v!r}")
    if incident.medium not in ("air", "water"):
        raise InvalidInput("medium", f"must be 'air' or 'water', got {incident.medium!r}")
    code = str(incident.pollutant).strip().lower()
    if code not in POLLUTANTS:
        raise InvalidInput("pollutant", f"unknown pollutant {incident.pollutant!r}; known: "
                           f"{', '.join(sorted(POLLUTANTS))}")
    pol = POLLUTANTS[code]
    if incident.medium not in pol.media:
        ok = sorted(c for c, p in POLLUTANTS.items() if incident.medium in p.media)
        raise InvalidInput("pollutant", f"{code} is not assessed for releases to "
                           f"{incident.medium}; known for {incident.medium}: {', '.join(ok)}")
    _positive("amount_kg", incident.amount_kg)
    _positive("duration_min", incident.duration_min)
    _positive("release_height_m", incident.release_height_m, zero_ok=True)
    try:
        rings = [float(r) for r in rings_m]
    except (TypeError, ValueError):
        raise InvalidInput("rings_m", f"must be a list of distances in metres, got {rings_m!r}"
                           ) from None
    if (not rings or any(not math.isfinite(r) or r <= 0 or r > MAX_RING_M for r in rings)
            or len(set(rings)) != len(rings)):
        raise InvalidInput("rings_m", "must be distinct distances in metres, each > 0 and "
                           f"≤ {MAX_RING_M:.0f}, got {list(rings_m)!r}")
    return pol, sorted(rings)


@dataclass
class _Context:
    """What the parts of one assessment share (metric CRS, incident point, wind, results)."""

    incident: Incident
    pol: Pollutant
    crs: CRS
    here: Point
    rings: list[float]
    wind: Wind | None
    plume: Plume | None = None
    footprints: list[tuple[Level, Any]] = field(default_factory=list)
    trace: Trace | None = None


def _feature(role: str, geom: Any, **props: Any) -> dict[str, Any]:
    return {"role": role, "geometry": geom, **props}


def _incident_feature(ctx: _Context) -> dict[str, Any]:
    i = ctx.incident
    return _feature("incident", ctx.here, id="incident", name=f"{ctx.pol.zh} {i.amount_kg:g} kg",
                    kind=i.medium, distance_m=0.0, pollutant=i.pollutant,
                    amount_kg=i.amount_kg, time=i.time.isoformat())


def _ring_features(ctx: _Context) -> list[dict[str, Any]]:
    out, inner, prev = [], 0.0, None
    for r in ctx.rings:
        disk = ctx.here.buffer(r, quad_segs=64)
        out.append(_feature("ring", disk if prev is None else disk.difference(prev),
                            id=f"ring-{r:g}", name=f"{r / 1000:g} km", ring_m=r, inner_m=inner,
                            distance_m=r))
        inner, prev = r, disk
    return out


def _plume_features(ctx: _Context) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """One footprint per threshold, least severe (largest) first so severer ones draw on top."""
    assert ctx.plume is not None and ctx.wind is not None
    feats, rows = [], []
    for lv in ctx.pol.air_levels:
        poly = ctx.plume.footprint(lv.value)
        row = {"level": lv.code, "name_zh": lv.zh, "name_en": lv.en, "threshold_mg_m3": lv.value,
               "area_km2": 0.0, "max_distance_m": 0.0, "max_half_width_m": 0.0}
        if poly is not None:
            placed = _plume.place(poly, ctx.wind.from_deg, ctx.here.x, ctx.here.y)
            ctx.footprints.append((lv, placed))
            row.update(area_km2=placed.area / 1e6, max_distance_m=poly.bounds[2],
                       max_half_width_m=poly.bounds[3])
            feats.append(_feature("plume", placed, id=f"plume-{lv.code}", name=lv.zh,
                                  level=lv.code, threshold_mg_m3=lv.value,
                                  area_km2=row["area_km2"], distance_m=poly.bounds[2]))
        rows.append(row)
    return feats, pd.DataFrame(rows)


_RECEPTOR_LAYERS = (("receptor", "sensitive_receptors", "receptor_id", "name", "kind"),
                    ("protected_area", "protected_areas", "area_id", "name", "category"),
                    ("water_source_zone", "water_source_zones", "zone_id", "source_name",
                     "grade"))


def _receptors(ctx: _Context, layers: EmergencyLayers
               ) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Receptors within the largest ring, inside a plume footprint or (zones crossed) on the
    downstream trace; ring = the smallest ring containing the feature's nearest point."""
    rows, feats = [], []
    trace = ctx.trace.pieces if ctx.trace is not None else None
    for role, attr, idc, namec, kindc in _RECEPTOR_LAYERS:
        layer = getattr(layers, attr)
        if layer is None or layer.empty:
            continue
        m = layer.to_crs(ctx.crs)
        dist = m.distance(ctx.here)
        for (label, geom), d in zip(m.geometry.items(), dist, strict=True):
            level = None
            for lv, poly in ctx.footprints:          # ascending: the last hit is the severest
                if geom.intersects(poly):
                    level = lv.code
            arrival = None
            if trace is not None and geom.geom_type != "Point":
                for p in trace.itertuples():
                    cut = p.geometry.intersection(geom)
                    if not cut.is_empty:
                        first = Point(next(iter(_coords(cut))))
                        arrival = p.from_m + p.geometry.project(first)
                        break
            ring = next((r for r in ctx.rings if d <= r), None)
            if ring is None and level is None and arrival is None:
                continue
            row_attrs = m.loc[label]
            near = nearest_points(ctx.here, geom)[1]
            conc = None
            if ctx.plume is not None and ctx.wind is not None and geom.geom_type == "Point":
                x, y = _plume.to_plume_frame(np.array([geom.x - ctx.here.x]),
                                             np.array([geom.y - ctx.here.y]), ctx.wind.from_deg)
                conc = _sig(float(ctx.plume.concentration(x, y)[0]))
            speed = ctx.trace.flow_speed_m_s if ctx.trace is not None else None
            row = {"role": role, "id": str(row_attrs[idc]), "name": row_attrs.get(namec),
                   "kind": row_attrs.get(kindc), "distance_m": round(float(d), 1),
                   "bearing_deg": None if d == 0 else round(_bearing(near.x - ctx.here.x,
                                                                      near.y - ctx.here.y), 1),
                   "ring_m": ring, "in_plume": level is not None, "plume_level": level,
                   "concentration_mg_m3": conc,
                   "population": row_attrs.get("population") if role == "receptor" else None,
                   "on_trace": arrival is not None, "trace_along_m": arrival,
                   "arrival_time": ((ctx.incident.time + pd.Timedelta(seconds=arrival / speed)
                                     ).round("s") if arrival is not None and speed else None)}
            rows.append(row)
            feats.append(_feature(role, geom, **{k: v for k, v in row.items() if k != "role"}))
    cols = ["role", "id", "name", "kind", "distance_m", "bearing_deg", "ring_m", "in_plume",
            "plume_level", "concentration_mg_m3", "population", "on_trace", "trace_along_m",
            "arrival_time"]
    table = pd.DataFrame(rows, columns=cols).sort_values("distance_m").reset_index(drop=True)
    return feats, table


def _sig(value: float) -> float:
    """4 significant digits; 0 below 1 µg/m³ (a 1e-188 mg/m³ only says "not reached")."""
    return 0.0 if value < 1e-3 else float(f"{value:.4g}")


def _coords(geom: Any) -> list[tuple[float, float]]:
    if hasattr(geom, "geoms"):
        return [c for g in geom.geoms for c in _coords(g)]
    return list(geom.coords) if geom.geom_type != "Polygon" else list(geom.exterior.coords)


def _ring_table(ctx: _Context, rec: pd.DataFrame) -> pd.DataFrame:
    rows, inner, cum = [], 0.0, 0.0
    for r in ctx.rings:
        band = rec[rec["ring_m"] == r]
        people = band[band["role"] == "receptor"]
        pop = float(pd.to_numeric(people["population"], errors="coerce").fillna(0).sum())
        cum += pop
        rows.append({"ring_m": r, "inner_m": inner, "area_km2": math.pi * (r ** 2 - inner ** 2)
                     / 1e6, "n_receptors": len(people),
                     "n_protected_areas": int((band["role"] == "protected_area").sum()),
                     "n_water_source_zones": int((band["role"] == "water_source_zone").sum()),
                     "population": pop, "population_cumulative": cum,
                     "kinds": ", ".join(f"{k}:{n}" for k, n in
                                        people["kind"].value_counts().sort_index().items())})
        inner = r
    return pd.DataFrame(rows)


def _suspects(ctx: _Context, sources: gpd.GeoDataFrame, radius: float
              ) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The ranked suspects table and features for its best MAX_SUSPECT_FEATURES."""
    table = rank_suspects(sources, ctx.here, ctx.crs, radius=radius,
                          medium=ctx.incident.medium, wind=ctx.wind,
                          source_field=ctx.pol.source_field)
    feats = [_feature("suspect", r["geometry"], **{k: r[k] for k in SUSPECT_COLUMNS
                                                   if k != "source_id"}, id=r["source_id"])
             for r in table.head(MAX_SUSPECT_FEATURES).to_dict("records")]
    return feats, table[SUSPECT_COLUMNS].reset_index(drop=True)


def assess_incident(incident: Incident, layers: EmergencyLayers, *,
                    rings_m: Sequence[float] = (1000, 3000, 5000), wind: Wind | None = None,
                    flow_speed_m_s: float = 0.5, max_hours: float = 48,
                    stability: str | None = None, suspects_radius_m: float = 10000,
                    urban: bool | None = None, snap_max_m: float = 2000) -> EmergencyResult:
    """Assess ``incident`` on ``layers`` (see the module doc for what is computed).

    ``urban`` selects Briggs' urban σ (default: whether the point lies in a 市辖区, an admin
    unit whose name ends in 区). Raises OutOfRegion outside ``layers.region``, InvalidInput
    for bad parameters and NoData when an air release has neither a given nor a measured wind.
    """
    pol, rings = _check(incident, rings_m)
    incident = Incident(float(incident.lon), float(incident.lat), as_time(incident.time),
                        incident.medium, pol.code, float(incident.amount_kg),
                        float(incident.duration_min), float(incident.release_height_m))
    _positive("suspects_radius_m", suspects_radius_m)
    if stability is not None and str(stability).upper() not in _plume.STABILITY_CLASSES:
        raise InvalidInput("stability", f"must be one of A–F, got {stability!r}")
    if wind is not None:
        _positive("wind_speed_m_s", wind.speed_m_s)
        if not math.isfinite(float(wind.from_deg)):
            raise InvalidInput("wind_from_deg", f"must be a finite angle, got {wind.from_deg!r}")
        wind = Wind(float(wind.speed_m_s), float(wind.from_deg) % 360.0, wind.source or "given",
                    wind.station_distance_m, wind.time)
    if incident.medium == "water":
        _positive("flow_speed_m_s", flow_speed_m_s)
        _positive("max_hours", max_hours)

    here_ll = Point(incident.lon, incident.lat)
    if layers.region is None or layers.region.empty:
        raise InvalidInput("region", "the region layer (admin_boundaries) is empty")
    inside = layers.region[layers.region.intersects(here_ll)]
    if inside.empty:
        raise OutOfRegion("location", f"({incident.lon:.5f}, {incident.lat:.5f}) lies outside "
                          "the region covered by the layers (admin_boundaries)")
    if urban is None:
        urban = bool(inside["name"].astype(str).str.endswith("区").any())
    crs = metric_crs(incident.lon)
    here = gpd.GeoSeries([here_ll], crs=GEOGRAPHIC).to_crs(crs).iloc[0]

    if incident.medium == "air" and wind is None:
        wind = nearest_wind(layers.air_stations, layers.air_hourly, incident.lon, incident.lat,
                            incident.time)
    ctx = _Context(incident, pol, crs, here, rings, wind)
    feats = [_incident_feature(ctx)] + _ring_features(ctx)
    tables: dict[str, pd.DataFrame] = {}
    summary: dict[str, Any] = {}
    if incident.medium == "air":
        assert wind is not None
        cls = (stability or _plume.stability_class(wind.speed_m_s, incident.time,
                                                   incident.lon, incident.lat)).upper()
        rate = incident.amount_kg * 1000.0 / (incident.duration_min * 60.0)
        ctx.plume = Plume(rate, wind.speed_m_s, cls, incident.release_height_m, urban)
        plume_feats, tables["plume"] = _plume_features(ctx)
        feats += plume_feats
        summary["plume"] = {"stability": cls, "urban": urban, "rate_g_s": rate,
                            "stability_given": stability is not None,
                            "wind_speed_used_m_s": ctx.plume.speed_used,
                            "levels": tables["plume"].to_dict("records")}
    else:
        trace = downstream_trace(
            layers.rivers, here, incident.time, crs=crs, flow_speed_m_s=flow_speed_m_s,
            max_hours=max_hours, snap_max_m=snap_max_m,
            targets=[("intake", layers.water_intakes, "intake_id"),
                     ("section", layers.water_sections, "section_id")])
        ctx.trace = trace
        trace_feats, tables["trace"], tables["downstream"] = trace_features(trace)
        feats += trace_feats
        summary["downstream"] = trace_summary(trace, tables["downstream"])
    rec_feats, tables["receptors"] = _receptors(ctx, layers)
    feats += rec_feats
    tables["rings"] = _ring_table(ctx, tables["receptors"])
    sus_feats, tables["suspects"] = _suspects(ctx, layers.pollution_sources,
                                                   suspects_radius_m)
    feats += sus_feats
    tables.setdefault("downstream", pd.DataFrame(columns=DOWNSTREAM_COLUMNS))
    features = gpd.GeoDataFrame(pd.DataFrame(feats), geometry="geometry", crs=crs
                                ).to_crs(GEOGRAPHIC)
    note = (f"Gaussian plume (Pasquill–Gifford, Briggs {'urban' if urban else 'rural'} σ), "
            "neutrally buoyant, steady over the release; not a dense-gas model"
            if ctx.plume is not None else "Advection at the given flow speed along the reach "
            "network; arrival in lake reaches is a centre-line estimate")
    summary = build_summary(incident, pol, wind, tables, summary, note)
    return EmergencyResult(incident, wind, features, tables, summary)


def load_layers(settings: Any = None, *, time: pd.Timestamp | None = None,
                window_h: float = 6) -> EmergencyLayers:
    """The layers an assessment needs, read from the store; ``air_hourly`` holds only the rows
    within ``window_h`` hours of ``time`` (none without a time), read with a SQL filter so a
    year of hours is never loaded."""
    from onemap.layers.store import read_layer

    def read(name: str) -> gpd.GeoDataFrame:
        return read_layer(name, settings)

    hourly = None
    if time is not None:
        t = as_time(time).tz_convert("UTC")
        lo, hi = t - pd.Timedelta(hours=window_h + 1), t + pd.Timedelta(hours=window_h + 1)
        hourly = read_layer("air_hourly", settings,
                            where=f"time >= '{lo:%Y-%m-%dT%H:%M:%S}' AND "
                                  f"time <= '{hi:%Y-%m-%dT%H:%M:%S}'")
    return EmergencyLayers(
        rivers=read("rivers"), water_intakes=read("water_intakes"),
        water_sections=read("water_sections"), sensitive_receptors=read("sensitive_receptors"),
        protected_areas=read("protected_areas"), water_source_zones=read("water_source_zones"),
        pollution_sources=read("pollution_sources"), air_stations=read("air_stations"),
        region=read("admin_boundaries"), air_hourly=hourly)

