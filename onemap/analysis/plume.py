"""Gaussian plume for an accidental release to air, and the pollutant table it is judged by.

Why a Gaussian plume: in the first hour of an incident the commander needs *which way and how
far*, from a wind reading and a release estimate, in well under a second. The steady Gaussian
plume with Pasquill–Gifford stability and Briggs (1973) dispersion coefficients is what the
screening tools of HJ 169-2018 (建设项目环境风险评价技术导则, the "SLAB/AFTOX-like" screening
tier) and US ALOHA/RMP guidance use for a neutrally buoyant release; it is not a dense-gas model
and says so in the result.

Ground-level concentration with total reflection at the ground (the image source)::

    C(x, y, 0) = Q / (π u σy σz) · exp(-y² / 2σy²) · exp(-H² / 2σz²)

with Q the release rate (g/s, = amount / duration), u the wind speed (m/s, at least 1 m/s:
the formula has no meaning in calm air), H the release height (m), x downwind and y crosswind
distances (m). The concentration is the average over the release, i.e. for as long as it lasts.

The footprint of a threshold is computed exactly rather than contoured on a grid: at a
downwind distance x the plume exceeds ``c`` where |y| ≤ σy · sqrt(2 ln(C(x, 0) / c)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.affinity import rotate, translate
from shapely.geometry import Point, Polygon

from onemap.analysis.errors import InvalidInput, NoData
from onemap.analysis.geodesy import GEOGRAPHIC, metric_crs

STABILITY_CLASSES = ("A", "B", "C", "D", "E", "F")
#: Wind-speed class upper bounds (m/s at 10 m) of the Pasquill table.
_SPEED_BOUNDS = (2.0, 3.0, 5.0, 6.0)
#: Pasquill (Turner 1964) classes by insolation and wind speed. Where the table gives two
#: classes ("A–B") the more stable one is used: for ground releases it gives the higher
#: ground concentration nearby, the conservative choice for protective action. At night the
#: clear-sky column (≤ 3/8 cloud) is used for the same reason: we have no cloud observation.
_PASQUILL = {
    "strong": ("A", "B", "B", "C", "C"),
    "moderate": ("B", "B", "C", "D", "D"),
    "slight": ("B", "C", "C", "D", "D"),
    "night": ("F", "F", "E", "D", "D"),
}
#: Briggs (1973) σy, σz for open country: (a, b) in σy = a·x·(1 + b·x)^-0.5, and
#: (c, d, p) in σz = c·x·(1 + d·x)^p.
_RURAL = {
    "A": (0.22, 1e-4, 0.20, 0.0, 0.0),
    "B": (0.16, 1e-4, 0.12, 0.0, 0.0),
    "C": (0.11, 1e-4, 0.08, 2e-4, -0.5),
    "D": (0.08, 1e-4, 0.06, 1.5e-3, -0.5),
    "E": (0.06, 1e-4, 0.03, 3e-4, -1.0),
    "F": (0.04, 1e-4, 0.016, 3e-4, -1.0),
}
#: Briggs (1973) for urban areas (McElroy–Pooler St Louis data): A and B share a curve, so do
#: E and F.
_URBAN = {
    "A": (0.32, 4e-4, 0.24, 1e-3, 0.5),
    "B": (0.32, 4e-4, 0.24, 1e-3, 0.5),
    "C": (0.22, 4e-4, 0.20, 0.0, 0.0),
    "D": (0.16, 4e-4, 0.14, 3e-4, -0.5),
    "E": (0.11, 4e-4, 0.08, 1.5e-3, -0.5),
    "F": (0.11, 4e-4, 0.08, 1.5e-3, -0.5),
}
MIN_WIND_M_S = 1.0
MAX_DISTANCE_M = 50_000.0
TIMEZONE = "Asia/Shanghai"
_MOLAR_VOLUME = 24.45  # L/mol at 25 °C, 101.325 kPa: mg/m³ = ppm · MW / 24.45


@dataclass(frozen=True)
class Level:
    """One threshold a concentration is judged against (mg/m³ in air, mg/L in water)."""

    code: str
    value: float
    zh: str
    en: str


@dataclass(frozen=True)
class Pollutant:
    """What OneMap knows about a pollutant: names, media, thresholds and their source."""

    code: str
    zh: str
    en: str
    media: frozenset[str]
    air_levels: tuple[Level, ...] = ()          # ascending concentration (least severe first)
    water_limit_mg_l: float | None = None       # GB 3838-2002 reference limit
    source_field: str | None = None             # pollution_sources column of its emissions
    occupational_mg_m3: float | None = None     # GBZ 2.1-2019 PC-STEL or MAC, for context
    source: str = ""


def _aegl(mw: float, ppm: Sequence[float | None], kind: str = "AEGL") -> tuple[Level, ...]:
    names = {1: ("轻微不适", "notable discomfort"),
             2: ("严重或不可逆伤害", "serious or irreversible effects"),
             3: ("危及生命", "life-threatening")}
    out = []
    for i, v in enumerate(ppm, start=1):
        if v is not None:
            zh, en = names[i]
            out.append(Level(f"{kind}-{i}", round(v * mw / _MOLAR_VOLUME, 4),
                             f"{kind}-{i} {zh}", f"{kind}-{i} {en}"))
    return tuple(out)


_AEGL_SRC = ("US EPA/NAC AEGL, 60-min values, ppm converted at 25 °C (mg/m³ = ppm·MW/24.45); "
             "occupational value GBZ 2.1-2019")
_ERPG_SRC = "AIHA ERPG (1 h), ppm converted at 25 °C; occupational value GBZ 2.1-2019"
_GB3838 = "GB 3838-2002 class III limit (table 1) or drinking-source limit (table 3)"
_AIR, _WATER, _BOTH = frozenset({"air"}), frozenset({"water"}), frozenset({"air", "water"})

#: code -> pollutant. Air thresholds are emergency (AEGL/ERPG) levels: the footprint of each is
#: where people would be affected that way over the hour; PM2.5 uses the HJ 633-2012 breakpoints.
POLLUTANTS: dict[str, Pollutant] = {p.code: p for p in (
    Pollutant("cl2", "氯气", "chlorine", _AIR, _aegl(70.90, (0.5, 2.0, 20.0)),
              occupational_mg_m3=1.0, source=_AEGL_SRC),
    Pollutant("nh3", "氨", "ammonia", _AIR, _aegl(17.03, (30.0, 160.0, 1100.0)),
              occupational_mg_m3=30.0, source=_AEGL_SRC),
    Pollutant("h2s", "硫化氢", "hydrogen sulfide", _AIR, _aegl(34.08, (0.51, 27.0, 50.0)),
              occupational_mg_m3=10.0, source=_AEGL_SRC),
    Pollutant("so2", "二氧化硫", "sulfur dioxide", _AIR, _aegl(64.07, (0.20, 0.75, 30.0)),
              source_field="so2_t", occupational_mg_m3=10.0, source=_AEGL_SRC),
    Pollutant("no2", "二氧化氮", "nitrogen dioxide", _AIR, _aegl(46.01, (0.50, 12.0, 20.0)),
              source_field="nox_t", occupational_mg_m3=10.0, source=_AEGL_SRC),
    Pollutant("hcl", "氯化氢", "hydrogen chloride", _AIR, _aegl(36.46, (1.8, 22.0, 100.0)),
              occupational_mg_m3=7.5, source=_AEGL_SRC),
    Pollutant("hcn", "氰化氢", "hydrogen cyanide", _AIR, _aegl(27.03, (2.0, 7.1, 15.0)),
              occupational_mg_m3=1.0, source=_AEGL_SRC),
    Pollutant("co", "一氧化碳", "carbon monoxide", _AIR, _aegl(28.01, (None, 83.0, 330.0)),
              occupational_mg_m3=30.0, source=_AEGL_SRC),
    Pollutant("hcho", "甲醛", "formaldehyde", _BOTH, _aegl(30.03, (0.9, 14.0, 56.0)),
              water_limit_mg_l=0.9, source_field="voc_t", occupational_mg_m3=0.5,
              source=_AEGL_SRC + "; " + _GB3838),
    Pollutant("benzene", "苯", "benzene", _BOTH, _aegl(78.11, (52.0, 800.0, 4000.0)),
              water_limit_mg_l=0.01, source_field="voc_t", occupational_mg_m3=10.0,
              source=_AEGL_SRC + "; " + _GB3838),
    Pollutant("toluene", "甲苯", "toluene", _BOTH, _aegl(92.14, (50.0, 300.0, 1000.0), "ERPG"),
              water_limit_mg_l=0.7, source_field="voc_t", occupational_mg_m3=100.0,
              source=_ERPG_SRC + "; " + _GB3838),
    Pollutant("acrylonitrile", "丙烯腈", "acrylonitrile", _BOTH,
              _aegl(53.06, (10.0, 35.0, 75.0), "ERPG"), water_limit_mg_l=0.1,
              source_field="voc_t", occupational_mg_m3=2.0, source=_ERPG_SRC + "; " + _GB3838),
    Pollutant("pm25", "细颗粒物", "PM2.5", _AIR, (
        Level("AQI-100", 0.075, "超过二级标准(轻度污染)", "above grade II (lightly polluted)"),
        Level("AQI-200", 0.150, "重度污染", "heavily polluted"),
        Level("AQI-300", 0.250, "严重污染", "severely polluted")),
        source_field="pm_t",
        source="HJ 633-2012 PM2.5 breakpoints (GB 3095-2012 grade II 75 µg/m³)"),
    Pollutant("cod", "化学需氧量", "chemical oxygen demand", _WATER, water_limit_mg_l=20.0,
              source_field="cod_t", source=_GB3838),
    Pollutant("nh3n", "氨氮", "ammonia nitrogen", _WATER, water_limit_mg_l=1.0,
              source_field="nh3n_t", source=_GB3838),
    Pollutant("tp", "总磷", "total phosphorus", _WATER, water_limit_mg_l=0.2, source=_GB3838),
    Pollutant("oil", "石油类", "petroleum", _WATER, water_limit_mg_l=0.05, source=_GB3838),
    Pollutant("cr6", "六价铬", "hexavalent chromium", _WATER, water_limit_mg_l=0.05,
              source=_GB3838),
    Pollutant("cd", "镉", "cadmium", _WATER, water_limit_mg_l=0.005, source=_GB3838),
    Pollutant("pb", "铅", "lead", _WATER, water_limit_mg_l=0.05, source=_GB3838),
    Pollutant("as", "砷", "arsenic", _WATER, water_limit_mg_l=0.05, source=_GB3838),
    Pollutant("hg", "汞", "mercury", _WATER, water_limit_mg_l=0.0001, source=_GB3838),
    Pollutant("cn", "氰化物", "cyanide", _WATER, water_limit_mg_l=0.2, source=_GB3838),
    Pollutant("phenol", "挥发酚", "volatile phenols", _WATER, water_limit_mg_l=0.005,
              source=_GB3838),
)}


def as_time(value: Any, name: str = "time") -> pd.Timestamp:
    """``value`` as a tz-aware Timestamp (naive times are Beijing time, the data's zone)."""
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidInput(name, f"not a date-time: {value!r}") from None
    if pd.isna(t):
        raise InvalidInput(name, "is missing")
    return t.tz_localize(TIMEZONE) if t.tzinfo is None else t


@dataclass(frozen=True)
class Wind:
    """The wind the plume is carried by: given by the caller or measured at a station."""

    speed_m_s: float
    from_deg: float                 # direction the wind blows from, clockwise from north
    source: str                     # "given" or the station_id it came from
    station_distance_m: float | None = None
    time: pd.Timestamp | None = None


def nearest_wind(stations: gpd.GeoDataFrame, hourly: pd.DataFrame | None, lon: float,
                 lat: float, time: pd.Timestamp, *, max_age_h: float = 3) -> Wind:
    """The wind of the nearest station with a valid hour (flag "N", ws > 0, wd given) within
    ``max_age_h`` of ``time``. Hourly values are hour *ends*, so an hour is compared by its
    centre (end - 30 min); among stations the nearest wins, then the closest hour."""
    t = as_time(time)
    if hourly is None or hourly.empty:
        raise NoData("time", "no hourly wind data was given; give a wind instead")
    h = hourly[(hourly["flag"] == "N") & (hourly["ws"] > 0) & hourly["wd"].notna()]
    age = ((h["time"] - pd.Timedelta(minutes=30)) - t).abs() / pd.Timedelta(hours=1)
    h = h.assign(age=age)[age <= max_age_h]
    if h.empty:
        raise NoData("time", f"no station has a valid wind within {max_age_h:g} h of "
                     f"{t.isoformat()}; give a wind instead")
    best = h.sort_values("age").drop_duplicates("station_id")
    crs = metric_crs(lon)
    st = stations.to_crs(crs).set_index(stations["station_id"].astype(str))
    here = gpd.GeoSeries([Point(lon, lat)], crs=GEOGRAPHIC).to_crs(crs).iloc[0]
    best = best[best["station_id"].astype(str).isin(st.index)]
    if best.empty:
        raise NoData("time", "the hourly wind rows belong to no known air station")
    best = best.assign(dist=st.geometry.loc[best["station_id"].astype(str)].distance(here)
                       .to_numpy()).sort_values(["dist", "age"])
    r = best.iloc[0]
    return Wind(float(r["ws"]), float(r["wd"]) % 360.0, str(r["station_id"]),
                float(r["dist"]), pd.Timestamp(r["time"]))


def solar_elevation_deg(time: pd.Timestamp, lon: float, lat: float) -> float:
    """Approximate solar elevation (±1°: declination by Cooper's formula, no equation of time),
    enough to tell day from night and the insolation class."""
    utc = pd.Timestamp(time).tz_convert("UTC")
    decl = math.radians(23.44) * math.sin(math.radians(360.0 / 365.0 * (284 + utc.day_of_year)))
    solar_hour = utc.hour + utc.minute / 60.0 + lon / 15.0
    hour_angle = math.radians(15.0 * (solar_hour - 12.0))
    phi = math.radians(lat)
    s = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, s))))


def stability_class(speed_m_s: float, time: pd.Timestamp, lon: float, lat: float) -> str:
    """Pasquill class from the 10 m wind speed and the sun's elevation at ``time``
    (Turner: strong insolation above 60°, moderate 35–60°, slight 15–35° and low sun, night
    when the sun is below the horizon)."""
    elev = solar_elevation_deg(time, lon, lat)
    column = ("night" if elev <= 0 else "strong" if elev > 60 else
              "moderate" if elev > 35 else "slight")
    idx = sum(speed_m_s >= b for b in _SPEED_BOUNDS)
    return _PASQUILL[column][idx]


def sigmas(x_m: np.ndarray | float, stability: str, *, urban: bool = False
           ) -> tuple[np.ndarray, np.ndarray]:
    """Briggs σy, σz (m) at downwind distances ``x_m`` (m)."""
    a, b, c, d, p = (_URBAN if urban else _RURAL)[stability]
    x = np.asarray(x_m, dtype=float)
    return a * x * (1 + b * x) ** -0.5, c * x * (1 + d * x) ** p


@dataclass(frozen=True)
class Plume:
    """A steady Gaussian plume: release rate (g/s), wind, stability and height."""

    rate_g_s: float
    speed_m_s: float
    stability: str
    height_m: float = 0.0
    urban: bool = False
    speed_used: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "speed_used", max(self.speed_m_s, MIN_WIND_M_S))

    def concentration(self, x_m: np.ndarray | float, y_m: np.ndarray | float = 0.0
                      ) -> np.ndarray:
        """Ground-level concentration (mg/m³) at downwind ``x_m``, crosswind ``y_m``; 0 upwind."""
        x = np.asarray(x_m, dtype=float)
        y = np.asarray(y_m, dtype=float)
        xs = np.where(x > 0, x, 1.0)
        sy, sz = sigmas(xs, self.stability, urban=self.urban)
        c = (self.rate_g_s / (math.pi * self.speed_used * sy * sz)
             * np.exp(-(y ** 2) / (2 * sy ** 2)) * np.exp(-(self.height_m ** 2) / (2 * sz ** 2)))
        return np.where(x > 0, c * 1000.0, 0.0)

    def footprint(self, threshold: float, *, n: int = 300) -> Polygon | None:
        """Where the ground concentration exceeds ``threshold`` (mg/m³), in plume coordinates
        (x downwind, y to the left), or None if it never does within MAX_DISTANCE_M."""
        x = np.geomspace(0.5, MAX_DISTANCE_M, n)
        c0 = self.concentration(x)
        above = c0 > threshold
        if not above.any():
            return None
        first, last = int(np.argmax(above)), len(x) - 1 - int(np.argmax(above[::-1]))
        lo = self._edge(x[first - 1], x[first], threshold) if first > 0 else 0.0
        hi = self._edge(x[last], x[last + 1], threshold) if last < len(x) - 1 else x[-1]
        xs = np.concatenate([[lo], x[first:last + 1][(x[first:last + 1] > lo)
                                                     & (x[first:last + 1] < hi)], [hi]])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(np.maximum(self.concentration(xs) / threshold, 1.0))
        half = sigmas(xs, self.stability, urban=self.urban)[0] * np.sqrt(2 * ratio)
        half[0] = half[-1] = 0.0
        upper = list(zip(xs, half, strict=True))
        lower = list(zip(xs[::-1], -half[::-1], strict=True))
        poly = Polygon(upper + lower[1:-1])
        return poly if poly.is_valid else poly.buffer(0)

    def _edge(self, a: float, b: float, threshold: float) -> float:
        """The distance between ``a`` and ``b`` where the centreline crosses ``threshold``."""
        fa = float(self.concentration(a)) - threshold
        for _ in range(50):
            m = 0.5 * (a + b)
            fm = float(self.concentration(m)) - threshold
            if (fm > 0) == (fa > 0):
                a, fa = m, fm
            else:
                b = m
        return 0.5 * (a + b)


def to_plume_frame(dx_east: np.ndarray, dy_north: np.ndarray, from_deg: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Metric offsets from the source → (downwind x, crosswind y to the left of the wind).

    The wind blows *from* ``from_deg`` (clockwise from north), so it travels towards
    ``from_deg + 180``."""
    to = math.radians(from_deg + 180.0)
    ux, uy = math.sin(to), math.cos(to)          # unit vector downwind (east, north)
    x = dx_east * ux + dy_north * uy
    y = -dx_east * uy + dy_north * ux
    return x, y


def place(poly: Polygon, from_deg: float, x0: float, y0: float) -> Polygon:
    """A polygon in plume coordinates placed at the source (x0, y0) of a metric CRS."""
    # plume x axis points east before rotation; downwind bearing b (clockwise from north)
    # is the math angle 90 - b (counter-clockwise from east).
    angle = 90.0 - (from_deg + 180.0)
    return translate(rotate(poly, angle, origin=(0, 0)), x0, y0)
