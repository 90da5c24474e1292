"""Metric work on geographic data: the projected CRS an analysis measures in.

Layers are stored in geographic coordinates (CGCS2000 EPSG:4490 or WGS84); distances, buffers
and areas must be computed in metres. Chinese practice is the CGCS2000 3-degree Gauss-Krüger
zone of the area (EPSG:4534 for CM 75°E … EPSG:4554 for CM 135°E), which keeps scale error
under 1/10 000 within ±1.5° of the central meridian, better than UTM's 6° zones.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

GEOGRAPHIC = "EPSG:4326"


def metric_crs(lon: float) -> CRS:
    """The CGCS2000 3-degree Gauss-Krüger CRS whose central meridian is nearest ``lon``."""
    cm = min(max(round(lon / 3) * 3, 75), 135)
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def to_metric(frame: gpd.GeoDataFrame, crs: CRS | None = None) -> gpd.GeoDataFrame:
    """``frame`` in ``crs`` (default: the zone of its centre)."""
    if crs is None:
        bounds = frame.to_crs(GEOGRAPHIC).total_bounds
        crs = metric_crs((bounds[0] + bounds[2]) / 2)
    return frame.to_crs(crs)
