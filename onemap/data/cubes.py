"""An hourly PM2.5 grid (a week of a January 2025 haze episode) built from the station model.

A real PM2.5 analysis grid blends station observations with a spatial prior (land use,
emissions). The sample does the same with the sample's own data, so the grid agrees with the
stations a user can click: each hour, the station values are divided by their urban weight
(the "background"), interpolated by inverse distance, and multiplied back by an urban weight
field built from the towns — corrected by the stations' residuals so that at a station the
field equals the station's own weight. Station times are Beijing time (UTC+8) as Chinese
networks report them; the cube's time coordinate is UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from onemap.data import stations
from onemap.data.geography import BBOX, KM_PER_DEG_LAT, TOWNS, Geography, km_per_deg_lon

RES = 0.01  # ≈ 1 km
HOURS = 168
#: The episode is searched among January windows ending before the New Year's Eve fireworks.
SEARCH = ("2025-01-01 00:00", "2025-01-27 23:00")
BEIJING = pd.Timedelta(hours=8)


def grid_coords() -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre lon (increasing) and lat (decreasing) of the ≈0.01° grid over BBOX."""
    x0, y0, x1, y1 = BBOX
    w, h = int(round((x1 - x0) / RES)), int(round((y1 - y0) / RES))
    lon = np.round(x0 + (np.arange(w) + 0.5) * RES, 6)
    lat = np.round(y1 - (np.arange(h) + 0.5) * RES, 6)
    return lon, lat


def urban_weight(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Urban fraction 0..1 around the towns (the NDVI land cover's formula without noise)."""
    out = np.zeros(np.broadcast(lon, lat).shape)
    for t in TOWNS:
        r = 0.8 + 0.42 * np.sqrt(t.pop)
        d = np.hypot((lon - t.lon) * km_per_deg_lon(31.5), (lat - t.lat) * KM_PER_DEG_LAT)
        out = np.maximum(out, np.exp(-(d / r) ** 2))
    return np.clip(out * 1.25 - 0.1, 0, 1)


def _idw_weights(glon: np.ndarray, glat: np.ndarray, slon: np.ndarray,
                 slat: np.ndarray) -> np.ndarray:
    """Inverse-distance² weights, (pixels, stations), with a 300 m floor on the distance."""
    dx = (glon.reshape(-1, 1) - slon[None, :]) * km_per_deg_lon(31.5)
    dy = (glat.reshape(-1, 1) - slat[None, :]) * KM_PER_DEG_LAT
    return 1.0 / np.maximum(np.hypot(dx, dy), 0.3) ** 2


def _interpolate(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """IDW of ``values`` (stations, hours) with per-hour gaps (NaN) left out."""
    ok = np.isfinite(values)
    num = w @ np.where(ok, values, 0.0)
    den = w @ ok.astype("float64")
    return num / np.maximum(den, 1e-12)


def episode_window(pivot: pd.DataFrame) -> pd.DatetimeIndex:
    """The 168 Beijing-time hours of January with the highest network-mean PM2.5."""
    jan = pivot.loc[SEARCH[0]:SEARCH[1]].mean(axis=1)
    end = jan.rolling(HOURS).mean().idxmax()
    return pd.date_range(end - pd.Timedelta(hours=HOURS - 1), end, freq="h")


def pm25_cube(geo: Geography) -> xr.Dataset:
    """The hourly PM2.5 cube (time UTC × lat × lon, µg/m³, EPSG:4326)."""
    st = stations.air_stations(geo)
    hourly = stations.air_hourly(st)
    pivot = hourly.pivot(index="time", columns="station_id", values="pm25")
    pivot = pivot.reindex(columns=st.station_id)
    local = episode_window(pivot)
    values = pivot.reindex(local).to_numpy().T  # (stations, hours), NaN where missing
    s_urban = st.urban.to_numpy()
    s_weight = 0.85 + 0.2 * s_urban
    lon, lat = grid_coords()
    glon, glat = np.meshgrid(lon, lat)
    w = _idw_weights(glon, glat, st.lon.to_numpy(), st.lat.to_numpy())
    background = _interpolate(w, values / s_weight[:, None])  # (pixels, hours)
    residual = s_urban - urban_weight(st.lon.to_numpy(), st.lat.to_numpy())
    field = np.clip(urban_weight(glon, glat).reshape(-1) + _interpolate(
        w, residual[:, None])[:, 0], 0, 1)
    pm = background * (0.85 + 0.2 * field)[:, None]
    cube = np.round(pm.T.reshape(len(local), lat.size, lon.size), 1).astype("float32")
    times = (local - BEIJING).to_numpy()
    ds = xr.Dataset({"pm25": (("time", "lat", "lon"), cube,
                              {"long_name": "PM2.5 mass concentration", "units": "µg/m³"})},
                    coords={"time": times, "lat": lat, "lon": lon})
    return ds.rio.write_crs("EPSG:4326")
