"""Pollutant surfaces from station values: IDW or ordinary kriging on a regular grid.

A surface is what the haze desk looks at between stations: one hour of PM2.5 (or any HJ 633
pollutant) interpolated onto a regular EPSG:4326 grid over the region, blank outside it, and
written as a Cloud-Optimised GeoTIFF the map tiles like any other raster.

Why these choices:

- Interpolation works in kilometres, not degrees: at 31.5°N a degree of longitude is 15 % shorter
  than one of latitude, so distances in degrees would stretch every station's influence
  east–west. Points are projected with a local equirectangular scale, accurate to well under
  1 % over a region of a few hundred kilometres.
- IDW uses the ``neighbours`` nearest valid stations (scipy's cKDTree) with weights 1/d^power; at
  a station the surface equals the station's value exactly.
- Kriging is pykrige's ordinary kriging with a fitted variogram (spherical by default). With
  fewer than 3 stations an interpolation is not a surface, so that is refused (NoData). When every
  station has the same value there is no variogram to fit; the surface is that value with zero
  variance.
- Only valid hours count: HJ 212 flag ``N`` rows. Times are the hour's label as the network
  publishes it (the hour's *end*, Beijing time, as in ``air_hourly``).
- "Outside the region" is decided per pixel centre against the admin boundaries (GDAL's rule),
  and written as NaN (the COG's nodata), so the map shows nothing rather than an extrapolation
  over a neighbouring province.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from rasterio.features import geometry_mask
from scipy.spatial import cKDTree

from onemap.analysis.errors import InvalidInput, NoData

TIMEZONE = "Asia/Shanghai"
METHODS = ("idw", "kriging")
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "co", "o3")
UNITS = {"co": "mg/m³"}
KM_PER_DEG = 111.32
MIN_STATIONS = 3


@dataclass(frozen=True)
class Grid:
    """A regular EPSG:4326 grid: north-up, square pixels of ``res`` degrees."""

    bounds: tuple[float, float, float, float]
    res: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.bounds[0], 0.0, -self.res, self.bounds[3])

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre longitudes (increasing) and latitudes (decreasing)."""
        x = self.bounds[0] + (np.arange(self.width) + 0.5) * self.res
        y = self.bounds[3] - (np.arange(self.height) + 0.5) * self.res
        return np.round(x, 9), np.round(y, 9)


def region_grid(region: gpd.GeoDataFrame, res_deg: float = 0.01) -> Grid:
    """The grid covering ``region``'s bounds, snapped outward to whole multiples of ``res_deg``
    so that grids of the same resolution line up pixel for pixel."""
    if not (isinstance(res_deg, int | float) and 0.001 <= res_deg <= 1):
        raise InvalidInput("res_deg", f"must be between 0.001 and 1 degree, got {res_deg!r}")
    if region is None or region.empty:
        raise InvalidInput("region", "the region layer (admin_boundaries) is empty")
    minx, miny, maxx, maxy = region.to_crs(4326).total_bounds
    # 30.92 / 0.01 is 3091.9999…: nudge before rounding so an edge on the grid stays on it
    x0, y0 = (math.floor(v / res_deg + 1e-9) * res_deg for v in (minx, miny))
    x1, y1 = (math.ceil(v / res_deg - 1e-9) * res_deg for v in (maxx, maxy))
    width, height = round((x1 - x0) / res_deg), round((y1 - y0) / res_deg)
    return Grid((round(x0, 9), round(y0, 9), round(x0 + width * res_deg, 9),
                 round(y0 + height * res_deg, 9)), float(res_deg), int(width), int(height))


def _km(x: np.ndarray, y: np.ndarray, lat0: float) -> np.ndarray:
    """Lon/lat to local kilometres (equirectangular about ``lat0``), as an (n, 2) array."""
    scale = KM_PER_DEG * math.cos(math.radians(lat0))
    return np.column_stack([np.asarray(x, float) * scale, np.asarray(y, float) * KM_PER_DEG])


def _points(x: Any, y: Any, values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, v = (np.asarray(a, dtype="float64").ravel() for a in (x, y, values))
    if not x.size == y.size == v.size:
        raise InvalidInput("values", "x, y and values must have the same length")
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(v)
    if ok.sum() < MIN_STATIONS:
        raise NoData("values", f"{int(ok.sum())} valid point(s); interpolation needs at least "
                     f"{MIN_STATIONS}")
    return x[ok], y[ok], v[ok]


def idw(x: Any, y: Any, values: Any, gx: Any, gy: Any, *, power: float = 2.0,
        neighbours: int = 12) -> np.ndarray:
    """Inverse-distance weighting of point ``values`` at lon/lat ``x, y`` onto lon/lat
    ``gx, gy`` (any matching shapes); exact at the points."""
    if not 0 < power <= 6:
        raise InvalidInput("power", f"must be in (0, 6], got {power!r}")
    x, y, v = _points(x, y, values)
    gx, gy = np.asarray(gx, dtype="float64"), np.asarray(gy, dtype="float64")
    lat0 = float(np.mean(y))
    tree = cKDTree(_km(x, y, lat0))
    k = int(min(max(neighbours, 1), v.size))
    d, i = tree.query(_km(gx.ravel(), gy.ravel(), lat0), k=k)
    d, i = d.reshape(-1, k), i.reshape(-1, k)
    with np.errstate(divide="ignore"):
        w = 1.0 / d ** power
    exact = d[:, 0] == 0
    w[exact] = 0.0
    w[exact, 0] = 1.0
    out = (w * v[i]).sum(axis=1) / w.sum(axis=1)
    return out.reshape(gx.shape)


def ordinary_kriging(x: Any, y: Any, values: Any, gx: Any, gy: Any, *,
                     variogram: str = "spherical") -> tuple[np.ndarray, np.ndarray]:
    """Ordinary kriging estimate and variance at ``gx, gy`` (pykrige, variogram fitted to the
    points in kilometres)."""
    from pykrige.ok import OrdinaryKriging

    models = ("linear", "power", "gaussian", "spherical", "exponential")
    if variogram not in models:
        raise InvalidInput("variogram", f"must be one of {', '.join(models)}, got {variogram!r}")
    x, y, v = _points(x, y, values)
    gx, gy = np.asarray(gx, dtype="float64"), np.asarray(gy, dtype="float64")
    if np.ptp(v) == 0:  # nothing to fit: the field is that value, known exactly
        return np.full(gx.shape, v[0]), np.zeros(gx.shape)
    lat0 = float(np.mean(y))
    pts, grid = _km(x, y, lat0), _km(gx.ravel(), gy.ravel(), lat0)
    ok = OrdinaryKriging(pts[:, 0], pts[:, 1], v, variogram_model=variogram,
                         coordinates_type="euclidean", enable_plotting=False, verbose=False)
    est, var = ok.execute("points", grid[:, 0], grid[:, 1])
    return np.asarray(est).reshape(gx.shape), np.clip(np.asarray(var), 0, None).reshape(gx.shape)


def hour_label(time: Any) -> pd.Timestamp:
    """``time`` as a tz-aware Beijing timestamp (naive times are taken as Beijing time)."""
    try:
        t = pd.Timestamp(time)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("time", f"is not a date-time: {time!r}") from exc
    if t is pd.NaT:
        raise InvalidInput("time", "is missing")
    return t.tz_localize(TIMEZONE) if t.tzinfo is None else t.tz_convert(TIMEZONE)


def check_pollutant(pollutant: str) -> str:
    if pollutant not in POLLUTANTS:
        raise InvalidInput("pollutant", f"unknown pollutant {pollutant!r}; one of "
                           f"{', '.join(POLLUTANTS)}")
    return pollutant


def _times(hourly: pd.DataFrame) -> pd.Series:
    t = pd.to_datetime(hourly["time"])
    return t.dt.tz_localize(TIMEZONE) if t.dt.tz is None else t.dt.tz_convert(TIMEZONE)


def station_values(stations: gpd.GeoDataFrame, hourly: pd.DataFrame, time: Any, *,
                   pollutant: str = "pm25") -> gpd.GeoDataFrame:
    """The stations with a valid value at ``time`` (station_id, value, geometry in EPSG:4326).

    Raises NoData naming ``time`` when fewer than 3 stations have a valid value then.
    """
    check_pollutant(pollutant)
    t = hour_label(time)
    rows = hourly[_times(hourly) == t]
    if "flag" in rows:
        rows = rows[rows["flag"] == "N"]
    rows = rows[["station_id", pollutant]].dropna().drop_duplicates("station_id", keep="last")
    st = stations.to_crs(4326)[["station_id", "name", "geometry"]]
    out = st.merge(rows.rename(columns={pollutant: "value"}), on="station_id")
    if len(out) < MIN_STATIONS:
        raise NoData("time", f"{len(out)} station(s) have a valid {pollutant} value at "
                     f"{t.isoformat()}; a surface needs at least {MIN_STATIONS}")
    return out.reset_index(drop=True)


def region_mask(grid: Grid, region: gpd.GeoDataFrame | None) -> np.ndarray:
    """True for pixels whose centre is outside ``region`` (all False without a region)."""
    if region is None:
        return np.zeros((grid.height, grid.width), dtype=bool)
    return geometry_mask(region.to_crs(4326).geometry, out_shape=(grid.height, grid.width),
                         transform=grid.transform)


def interpolate(values: gpd.GeoDataFrame, grid: Grid, *, method: str = "idw",
                power: float = 2.0, outside: np.ndarray | None = None) -> np.ndarray:
    """Station ``values`` (a ``value`` column) on ``grid`` as float32, NaN where ``outside``."""
    if method not in METHODS:
        raise InvalidInput("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    gx, gy = np.meshgrid(*grid.coords())
    x, y, v = values.geometry.x.to_numpy(), values.geometry.y.to_numpy(), values["value"]
    if method == "idw":
        field = idw(x, y, v, gx, gy, power=power)
    else:
        field, _ = ordinary_kriging(x, y, v, gx, gy)
    field = np.clip(field, 0, None).astype("float32")  # kriging may undershoot below zero
    if outside is not None:
        field[outside] = np.nan
    return field


def pm25_surface(stations: gpd.GeoDataFrame, hourly: pd.DataFrame, time: Any, *, grid: Grid,
                 method: str = "idw", power: float = 2.0,
                 region: gpd.GeoDataFrame | None = None,
                 pollutant: str = "pm25") -> xr.DataArray:
    """One hour's surface (PM2.5 by default) as a (y, x) DataArray in EPSG:4326."""
    values = station_values(stations, hourly, time, pollutant=pollutant)
    field = interpolate(values, grid, method=method, power=power,
                        outside=region_mask(grid, region))
    x, y = grid.coords()
    t = hour_label(time)
    da = xr.DataArray(field, dims=("y", "x"), coords={"y": y, "x": x}, name=pollutant, attrs={
        "time": t.isoformat(), "method": method, "n_stations": int(len(values)),
        "unit": UNITS.get(pollutant, "µg/m³"), "pollutant": pollutant,
        "station_min": float(values["value"].min()), "station_max": float(values["value"].max()),
    })
    return da.rio.write_crs("EPSG:4326").rio.write_transform(grid.transform)


def write_surface_cog(da: xr.DataArray, path: Path) -> Path:
    """Write ``da`` as a Cloud-Optimised GeoTIFF (float32, deflate, NaN nodata, overviews)
    at ``path``: written next to it under a temporary name, then renamed."""
    from rio_cogeo.cogeo import cog_translate
    from rio_cogeo.profiles import cog_profiles

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(da.values, dtype="float32")
    transform = da.rio.transform()
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": "float32", "crs": "EPSG:4326", "transform": transform,
               "nodata": float("nan")}
    tags = {k: str(v) for k, v in da.attrs.items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tif")
    os.close(fd)
    try:
        with rasterio.MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(data, 1)
                dst.update_tags(**tags)
                dst.set_band_description(1, str(da.name or "value"))
            with mem.open() as src:
                cog_translate(src, tmp, cog_profiles.get("deflate"), quiet=True,
                              in_memory=True, overview_resampling="average")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
