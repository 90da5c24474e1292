"""Downstream trace of a release to water along the river network, with travel times.

Why this model: in the first hours the question is *which intakes and monitoring sections will
the slug reach, and when*. Advection at a given mean flow speed along the network's
``downstream_id`` links answers it with the data every 生态环境局 has (a reach network, intake
and section points); dispersion and decay only lower the concentration, so ignoring them is
the conservative choice for arrival time.

Reaches are digitised in the direction of flow and linked by ``downstream_id`` (empty at the
outlet). Reaches through a lake (their name says 湖区, e.g. CHL01…CHL06 through 巢湖 and the
``…L`` inflow reaches) are centre-lines of open water: intakes and lake sections sit kilometres
off them, so they are matched with the wider ``lake_tolerance_m``, and their arrival time is an
advection estimate along the centre-line (lake currents are slower and wind-driven: treat it
as the earliest plausible arrival).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from shapely.geometry import LineString, Point
from shapely.ops import linemerge, substring

from onemap.analysis.errors import InvalidInput, OutOfRegion

LAKE_MARKERS = ("湖区",)


def is_lake_reach(name: object) -> bool:
    """Whether a reach is a centre-line through a lake (see the module doc)."""
    return isinstance(name, str) and any(m in name for m in LAKE_MARKERS)


def _line(geom: object) -> LineString:
    """A reach as one LineString in its digitised (downstream) direction."""
    if isinstance(geom, LineString):
        return geom
    merged = linemerge(geom)  # type: ignore[arg-type]
    if isinstance(merged, LineString):
        return merged
    # pieces that do not touch: join them end to start in their stored order
    coords = [c for part in geom.geoms for c in part.coords]  # type: ignore[attr-defined]
    return LineString(coords)


@dataclass
class Network:
    """Reaches in a metric CRS: geometry, downstream link, name, lake flag."""

    reaches: gpd.GeoDataFrame     # index reach_id; columns name, downstream_id, lake, geometry
    crs: CRS

    @classmethod
    def build(cls, rivers: gpd.GeoDataFrame, crs: CRS) -> Network:
        if rivers.empty:
            raise InvalidInput("rivers", "the river network layer is empty")
        m = rivers.to_crs(crs)
        geoms = [_line(g) for g in m.geometry]
        down = m["downstream_id"].where(m["downstream_id"].notna(), None)
        frame = gpd.GeoDataFrame(
            {"name": m["name"].to_numpy(), "downstream_id": down.to_numpy(),
             "lake": [is_lake_reach(n) for n in m["name"]]},
            geometry=geoms, crs=crs, index=pd.Index(m["reach_id"].astype(str), name="reach_id"))
        return cls(frame, crs)

    def snap(self, point: Point) -> tuple[str, float, float]:
        """(reach_id, offset along it in m, distance to it in m) of the nearest reach."""
        dist = self.reaches.distance(point)
        rid = str(dist.idxmin())
        return rid, float(self.reaches.geometry[rid].project(point)), float(dist.min())

    def trace(self, reach_id: str, offset_m: float, max_length_m: float) -> gpd.GeoDataFrame:
        """Pieces of the network downstream of ``offset_m`` on ``reach_id``, cut at
        ``max_length_m``: reach_id, name, lake, reach_from_m/reach_to_m (offsets on the
        reach), from_m/to_m (cumulative distance from the release), geometry."""
        rows, start, seen = [], 0.0, set()
        rid: str | None = reach_id
        a = offset_m
        while rid is not None and rid not in seen and start < max_length_m:
            seen.add(rid)
            if rid not in self.reaches.index:
                break
            r = self.reaches.loc[rid]
            length = r.geometry.length
            b = min(length, a + (max_length_m - start))
            if b > a:
                rows.append({"reach_id": rid, "name": r["name"], "lake": bool(r["lake"]),
                             "reach_from_m": a, "reach_to_m": b, "from_m": start,
                             "to_m": start + (b - a), "geometry": substring(r.geometry, a, b)})
            start += b - a
            down = r["downstream_id"]
            rid, a = (str(down) if isinstance(down, str) and down else None), 0.0
        cols = ["reach_id", "name", "lake", "reach_from_m", "reach_to_m", "from_m", "to_m",
                "geometry"]
        return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry",
                                crs=self.crs)


@dataclass
class Trace:
    """The traced path and what lies on it."""

    pieces: gpd.GeoDataFrame      # metric CRS; + from_h, to_h
    hits: pd.DataFrame            # kind, id, name, reach_id, along_m, offset_m, population,
    #                               geometry (metric), arrival_h, arrival_time
    reach_id: str
    snap_distance_m: float
    flow_speed_m_s: float
    max_hours: float


def match(points: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, network: Network, *,
          tolerance_m: float, lake_tolerance_m: float) -> pd.DataFrame:
    """Points (metric CRS) lying on the traced path: for each, the nearest traced reach within
    its tolerance where the point's projection falls inside the traced part of the reach.
    Returns the point's index label as ``index``, reach_id, along_m (from the release) and
    offset_m (its distance from the river line)."""
    rows = []
    for label, pt in points.geometry.items():
        if pt is None or pt.is_empty:
            continue
        best = None
        for p in pieces.itertuples():
            line = network.reaches.geometry[p.reach_id]
            d = line.distance(pt)
            if d > (lake_tolerance_m if p.lake else tolerance_m):
                continue
            pos = line.project(pt)
            # a point whose foot is upstream of the release on its first reach is not reached
            if pos < p.reach_from_m - 1.0 or pos > p.reach_to_m + 1.0:
                continue
            along = p.from_m + max(0.0, pos - p.reach_from_m)
            if best is None or (d, along) < (best[2], best[1]):
                best = (p.reach_id, along, d)
        if best is not None:
            rows.append({"index": label, "reach_id": best[0], "along_m": best[1],
                         "offset_m": best[2]})
    return pd.DataFrame(rows, columns=["index", "reach_id", "along_m", "offset_m"])


def downstream_trace(rivers: gpd.GeoDataFrame, point: Point, time: pd.Timestamp, *,
                     crs: CRS, flow_speed_m_s: float = 0.5, max_hours: float = 48,
                     snap_max_m: float = 2000, tolerance_m: float = 1500,
                     lake_tolerance_m: float = 5000,
                     targets: Iterable[tuple[str, gpd.GeoDataFrame, str]] = ()) -> Trace:
    """Trace downstream from ``point`` (in ``crs``) for ``max_hours`` at ``flow_speed_m_s``.

    ``targets`` are (kind, layer in EPSG:4326, id column) — e.g. ("intake", water_intakes,
    "intake_id") — whose features on the traced path are listed with their distance along the
    river, arrival hour and time (``time`` + travel time). Raises OutOfRegion when no reach is
    within ``snap_max_m`` of the point: a release there does not reach the mapped network.
    """
    for name, value in (("flow_speed_m_s", flow_speed_m_s), ("max_hours", max_hours),
                        ("snap_max_m", snap_max_m), ("tolerance_m", tolerance_m),
                        ("lake_tolerance_m", lake_tolerance_m)):
        if not (value > 0 and value < float("inf")):
            raise InvalidInput(name, f"must be a positive finite number, got {value!r}")
    network = Network.build(rivers, crs)
    rid, offset, dist = network.snap(point)
    if dist > snap_max_m:
        raise OutOfRegion("location", f"the nearest river reach ({rid}) is {dist:.0f} m away, "
                          f"farther than {snap_max_m:.0f} m: not a release to the mapped network")
    pieces = network.trace(rid, offset, flow_speed_m_s * max_hours * 3600.0)
    pieces["from_h"] = pieces["from_m"] / flow_speed_m_s / 3600.0
    pieces["to_h"] = pieces["to_m"] / flow_speed_m_s / 3600.0
    frames = []
    for kind, layer, id_col in targets:
        if layer is None or layer.empty:
            continue
        m = layer.to_crs(crs)
        hit = match(m, pieces, network, tolerance_m=tolerance_m,
                    lake_tolerance_m=lake_tolerance_m)
        if hit.empty:
            continue
        src = m.loc[hit["index"]]
        hit.insert(0, "kind", kind)
        hit.insert(1, "id", src[id_col].astype(str).to_numpy())
        hit.insert(2, "name", src["name"].to_numpy() if "name" in src else None)
        hit["population"] = src["population"].to_numpy() if "population" in src else None
        hit["geometry"] = src.geometry.to_numpy()
        frames.append(hit.drop(columns="index"))
    cols = ["kind", "id", "name", "reach_id", "along_m", "offset_m", "population", "geometry"]
    hits = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    hits["arrival_h"] = hits["along_m"].astype(float) / flow_speed_m_s / 3600.0
    hits["arrival_time"] = [(pd.Timestamp(time) + pd.Timedelta(hours=h)).round("s")
                            for h in hits["arrival_h"]]
    hits = hits.sort_values(["along_m", "kind", "id"]).reset_index(drop=True)
    return Trace(pieces, hits, rid, dist, flow_speed_m_s, max_hours)


DOWNSTREAM_COLUMNS = ["kind", "id", "name", "reach_id", "along_m", "offset_m", "arrival_h",
                      "arrival_time", "population"]


def trace_features(trace: Trace) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    """Map features (metric geometry; role trace, intake or section), the table of traced
    pieces and the table of intakes/sections downstream (``DOWNSTREAM_COLUMNS``)."""
    p, h = trace.pieces, trace.hits
    feats = [{"role": "trace", "geometry": r.geometry, "id": r.reach_id, "name": r.name,
              "reach_id": r.reach_id, "distance_m": r.from_m, "from_m": r.from_m,
              "to_m": r.to_m, "from_h": r.from_h, "to_h": r.to_h} for r in p.itertuples()]
    feats += [{"role": r.kind, "geometry": r.geometry, "id": r.id, "name": r.name,
               "reach_id": r.reach_id, "distance_m": r.along_m, "along_m": r.along_m,
               "offset_m": r.offset_m, "arrival_h": r.arrival_h,
               "arrival_time": r.arrival_time.isoformat(), "population": r.population}
              for r in h.itertuples()]
    return (feats, p.drop(columns="geometry").reset_index(drop=True),
            h[DOWNSTREAM_COLUMNS].reset_index(drop=True))


def trace_summary(trace: Trace, table: pd.DataFrame) -> dict[str, Any]:
    """Where the release joined the network, how far the trace runs and the first intake and
    section it reaches (along-river distance, arrival hour and time)."""
    p = trace.pieces

    def first(kind: str) -> dict[str, Any] | None:
        t = table[table["kind"] == kind]
        return None if t.empty else t.iloc[0][["id", "name", "along_m", "arrival_h",
                                                "arrival_time"]].to_dict()

    return {"snap_reach_id": trace.reach_id, "snap_distance_m": trace.snap_distance_m,
            "flow_speed_m_s": trace.flow_speed_m_s, "max_hours": trace.max_hours,
            "traced_km": float(p["to_m"].max() / 1000) if len(p) else 0.0,
            "reaches": list(dict.fromkeys(p["reach_id"])),
            "n_intakes": int((table["kind"] == "intake").sum()),
            "n_sections": int((table["kind"] == "section").sum()),
            "first_intake": first("intake"), "first_section": first("section")}
