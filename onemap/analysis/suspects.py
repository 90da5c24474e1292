"""Nearby pollution sources as suspects of an incident, ranked.

Suspect score (documented because people will ask why one firm is above another)::

    score = proximity + 1.0 · upwind + 0.5 · emits
    proximity = 1 - distance / radius                          (0…1, closer is higher)
    upwind    = 1 if the source lies within ±45° of the wind's from-direction seen from the
                incident (air releases with a wind), else 0
    emits     = 1 if the source reports annual emissions of the pollutant's family to the
                medium of the release (air: so2_t, nox_t, voc_t, pm_t; water: cod_t, nh3n_t)
                or, without such a column, has an outlet to it (DA… air, DW… water), else 0

so an upwind source always ranks ahead of a downwind one, then emitters, then the nearer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely.geometry import Point

from onemap.analysis.plume import Wind

UPWIND_HALF_WIDTH_DEG = 45.0
MAX_SUSPECT_FEATURES = 20
SUSPECT_COLUMNS = ["rank", "source_id", "name", "industry", "distance_m", "bearing_deg",
                   "upwind", "emits", "emission_t", "score"]
#: Emission columns of pollution_sources by medium: a VOC emitter is no suspect of a toluene
#: spill into a river, only of one into the air.
MEDIUM_FIELDS = {"air": {"so2_t", "nox_t", "pm_t", "voc_t"}, "water": {"cod_t", "nh3n_t"}}


def rank_suspects(sources: gpd.GeoDataFrame | None, here: Point, crs: CRS, *, radius: float,
                  medium: str, wind: Wind | None, source_field: str | None
                  ) -> gpd.GeoDataFrame:
    """Sources within ``radius`` metres of ``here`` (a point in ``crs``), best first, with the
    score's parts as columns (SUSPECT_COLUMNS) and their geometry in ``crs``."""
    if sources is None or sources.empty:
        return gpd.GeoDataFrame(columns=[*SUSPECT_COLUMNS, "geometry"], geometry="geometry",
                                crs=crs)
    m = sources.to_crs(crs)
    d = m.distance(here)
    m = m[d <= radius].assign(distance_m=d[d <= radius])
    dx, dy = m.geometry.x - here.x, m.geometry.y - here.y
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    if wind is not None and medium == "air":
        diff = np.abs((bearing - wind.from_deg + 180.0) % 360.0 - 180.0)
        upwind = pd.Series(diff <= UPWIND_HALF_WIDTH_DEG, index=m.index)
    else:
        upwind = pd.Series([None] * len(m), index=m.index, dtype=object)
    if source_field and source_field in m and source_field in MEDIUM_FIELDS[medium]:
        emission = pd.to_numeric(m[source_field], errors="coerce")
        emits = emission.fillna(0) > 0
    else:
        emission = pd.Series(np.nan, index=m.index)
        outlet = "DA" if medium == "air" else "DW"
        outlets = m.get("outlets", pd.Series("", index=m.index)).fillna("").astype(str)
        emits = outlets.str.contains(outlet)
    score = (1 - m["distance_m"] / radius) + upwind.fillna(False).astype(float) + 0.5 * emits
    table = gpd.GeoDataFrame({
        "source_id": m["source_id"].astype(str), "name": m.get("name"),
        "industry": m.get("industry"), "distance_m": m["distance_m"].round(1),
        "bearing_deg": bearing.round(1), "upwind": upwind, "emits": emits,
        "emission_t": emission, "score": score}, geometry=m.geometry, crs=crs)
    table = table.sort_values(["score", "distance_m"], ascending=[False, True])
    table.insert(0, "rank", range(1, len(table) + 1))
    return table
