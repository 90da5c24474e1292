"""Air stations with a year of hourly data, and surface-water sections with their samples.

The hourly series is built the way the real signal is: a regional, seasonal background shared by
every station (winter haze episodes, spring dust, summer ozone), a diurnal cycle, a per-station
urban/rural offset and correlated station noise. The feed is then damaged like a real one:
hours go missing and faulty hours carry HJ 212 flags (D fault, T over range, M maintenance,
C calibration) so quality-control code has something to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from onemap.data.geography import TOWNS, Geography, rng

YEAR_START = pd.Timestamp("2025-01-01 00:00")
HOURS = pd.date_range(YEAR_START, "2025-12-31 23:00", freq="h")

#: Hefei's national-control sites (names and rough positions of the real network).
NATIONAL = (
    ("1270A", "琥珀山庄", 117.255, 31.865), ("1271A", "董铺水库", 117.175, 31.893),
    ("1272A", "长江中路", 117.285, 31.860), ("1273A", "庐阳区", 117.250, 31.900),
    ("1274A", "瑶海区", 117.330, 31.875), ("1275A", "包河区", 117.310, 31.795),
    ("1276A", "滨湖新区", 117.290, 31.745), ("1277A", "高新区", 117.130, 31.830),
    ("1278A", "明珠广场", 117.210, 31.790), ("1279A", "三里街", 117.310, 31.885),
    ("1280A", "兴园", 117.345, 31.915), ("2995A", "巢湖市监测站", 117.870, 31.610),
    ("2996A", "巢湖半汤", 117.905, 31.650),
)
#: Provincial and municipal sites: town, suffix, type.
OTHERS = (
    ("肥西", "县城", "provincial"), ("肥东", "县城", "provincial"), ("长丰", "县城", "provincial"),
    ("庐江", "县城", "provincial"), ("舒城", "县城", "provincial"), ("撮镇", "镇区", "municipal"),
    ("三河", "镇区", "municipal"), ("杭埠", "工业园", "municipal"), ("柘皋", "镇区", "municipal"),
    ("桃花", "工业园", "municipal"), ("双墩", "镇区", "municipal"), ("烔炀", "镇区", "municipal"),
    ("龙桥", "工业园", "municipal"), ("汤池", "镇区", "municipal"), ("中派", "镇区", "municipal"),
    ("店埠", "镇区", "municipal"), ("梁园", "镇区", "municipal"), ("黄麓", "镇区", "municipal"),
    ("槐林", "镇区", "municipal"), ("散兵", "镇区", "municipal"), ("新站", "高新区", "provincial"),
    ("合肥经开区", "管委会", "provincial"), ("滨湖新区", "南", "municipal"),
    ("肥西", "上派", "municipal"), ("庐江", "工业园", "municipal"), ("舒城", "经开区", "municipal"),
    ("巢湖", "经开区", "provincial"),
)


def air_stations(geo: Geography) -> pd.DataFrame:
    """≈40 stations: canonical columns plus an ``urban`` weight used by the hourly model."""
    gen = rng("air_stations")
    towns = {t.name: t for t in TOWNS}
    rows = [dict(station_id=c, name=n, station_type="national", lon=x, lat=y, urban=1.0)
            for c, n, x, y in NATIONAL]
    for i, (town, suffix, kind) in enumerate(OTHERS):
        t = towns[town]
        for _ in range(50):
            x, y = t.lon + gen.normal(0, 0.02), t.lat + gen.normal(0, 0.015)
            if geo.on_land([x], [y])[0]:
                break
        prefix = "34" if kind == "provincial" else "35"
        rows.append(dict(station_id=f"{prefix}{i + 10:02d}A", name=f"{town}{suffix}",
                         station_type=kind, lon=round(x, 5), lat=round(y, 5),
                         urban=min(1.0, 0.25 + t.pop / 60)))
    df = pd.DataFrame(rows)
    df["county_code"] = geo.county_of(df.lon, df.lat)
    df["city"] = np.where(df.county_code == "341523", "六安市", "合肥市")
    return df.sort_values("station_id", ignore_index=True)


def _ar1(gen: np.random.Generator, n: int, phi: float, size: tuple[int, ...] = ()) -> np.ndarray:
    """Unit-variance AR(1) series along the last axis (vectorised over leading axes)."""
    e = gen.normal(size=(*size, n)) * np.sqrt(1 - phi ** 2)
    out = np.empty_like(e)
    out[..., 0] = gen.normal(size=size)
    for i in range(1, n):
        out[..., i] = phi * out[..., i - 1] + e[..., i]
    return out


def _regional(gen: np.random.Generator) -> dict[str, np.ndarray]:
    """Region-wide hourly drivers: seasonal means, synoptic variability and episodes."""
    n = len(HOURS)
    doy = HOURS.day_of_year.to_numpy()
    hour = HOURS.hour.to_numpy()
    winter = np.cos(2 * np.pi * (doy - 15) / 365)  # +1 mid-January, -1 mid-July
    daily = _ar1(gen, 365, 0.75)  # synoptic weather, day by day
    synoptic = np.repeat(daily, 24)[:n]
    haze = np.zeros(n)
    for _ in range(9):  # winter haze episodes of 2–6 days
        day = int(gen.choice(np.r_[0:60, 320:365]))
        length = int(gen.integers(2, 7))
        t = np.arange(n) / 24 - day
        haze += gen.uniform(0.4, 0.9) * np.exp(-0.5 * ((t - length / 2) / (length / 3)) ** 2)
    dust = np.zeros(n)
    for _ in range(3):  # spring dust, PM10 mostly
        day = int(gen.integers(60, 120))
        t = np.arange(n) / 24 - day
        dust += gen.uniform(1.0, 2.0) * np.exp(-0.5 * (t / 0.8) ** 2)
    # New Year's Eve (除夕, 28 Jan 2025): fireworks from 20:00, peaking after midnight
    t = (HOURS - pd.Timestamp("2025-01-29 00:30")) / pd.Timedelta(hours=1)
    fireworks = np.exp(-0.5 * (t.to_numpy() / 2.0) ** 2)
    pm_diurnal = 1 + 0.15 * np.cos(2 * np.pi * (hour - 22) / 24) + 0.06 * np.cos(
        2 * np.pi * (hour - 8) / 12)
    sun = np.clip(np.sin(np.pi * (hour - 6) / 13), 0, None)  # 06–19h
    o3_season = 0.55 + 0.45 * np.clip(np.cos(2 * np.pi * (doy - 175) / 365) * 1.2, -1, 1)
    return dict(winter=winter, synoptic=synoptic, haze=haze, dust=dust, pm_diurnal=pm_diurnal,
                fireworks=fireworks,
                sun=sun, o3_season=o3_season, hour=hour)


def air_hourly(stations: pd.DataFrame) -> pd.DataFrame:
    """One year of hourly data for every station, with gaps and HJ 212 quality flags."""
    gen = rng("air_hourly")
    r = _regional(gen)
    n, s = len(HOURS), len(stations)
    urban = stations.urban.to_numpy()[:, None]
    # spatial gradient: the north-west (upwind in winter) a little dirtier
    grad = (1 + 0.08 * (stations.lat.to_numpy() - 31.6) / 0.5
            - 0.05 * (stations.lon.to_numpy() - 117.4) / 0.6)[:, None]
    noise = _ar1(gen, n, 0.9, (s,))
    noise2 = _ar1(gen, n, 0.8, (s,))
    pm_level = np.exp(0.35 * r["synoptic"] + r["haze"] + 0.12 * noise)
    pm25 = (34 + 16 * r["winter"]) * pm_level * r["pm_diurnal"] * grad * (0.85 + 0.2 * urban)
    pm25 = pm25 + r["fireworks"] * gen.uniform(250, 700, (s, 1))
    pm10 = pm25 * (1.55 + 0.15 * noise2) + 60 * r["dust"] * (0.7 + 0.3 * gen.random((s, 1)))
    rush = 1 + 0.25 * np.exp(-0.5 * ((r["hour"] - 8) / 1.5) ** 2) + 0.35 * np.exp(
        -0.5 * ((r["hour"] - 20) / 2.5) ** 2) - 0.25 * r["sun"]
    no2 = (30 + 12 * r["winter"]) * rush * (0.45 + 0.75 * urban) * np.exp(
        0.25 * r["synoptic"] + 0.15 * noise2)
    so2 = (7 + 3 * r["winter"]) * (1 + 0.3 * r["sun"]) * np.exp(0.3 * noise + 0.2 * r["synoptic"])
    co = (0.75 + 0.3 * r["winter"]) * np.exp(0.25 * r["synoptic"] + 0.6 * r["haze"]
                                              + 0.1 * noise) * (0.85 + 0.2 * urban)
    o3 = (22 + 125 * r["o3_season"] * r["sun"] ** 1.5) * np.exp(0.15 * noise2 - 0.15 *
                                                                  r["synoptic"])
    o3 = o3 * (1.15 - 0.3 * urban) + 15 * (1 - urban)
    values = {k: np.clip(v, 1, None) for k, v in
              dict(pm25=pm25, pm10=pm10, so2=so2, no2=no2, co=co, o3=o3).items()}
    flag = np.full((s, n), "N", dtype=object)
    present = np.ones((s, n), dtype=bool)
    for i in range(s):
        for _ in range(gen.poisson(5)):  # outages: rows absent (power, network)
            a = int(gen.integers(0, n))
            present[i, a:a + int(gen.integers(1, 30))] = False
        for month_start in range(0, n, 730):  # monthly maintenance, values void
            a = month_start + int(gen.integers(200, 600))
            a -= a % 24 - 9
            flag[i, a:a + 4] = "M"
        for a in np.flatnonzero(gen.random(365) < 0.02):  # zero/span calibration at 02:00
            flag[i, a * 24 + 2] = "C"
        for _ in range(gen.poisson(1.5)):  # stuck sensor: repeated value, flagged D
            a = int(gen.integers(0, n - 24))
            length = int(gen.integers(3, 20))
            key = ["pm25", "so2", "no2", "o3"][int(gen.integers(0, 4))]
            values[key][i, a:a + length] = values[key][i, a]
            flag[i, a:a + length] = "D"
        for a in np.flatnonzero(values["pm10"][i] > 1000):  # over the analyser's range
            flag[i, a] = "T"
    rounded = {k: np.round(v, 1 if k == "co" else 0) for k, v in values.items()}
    void = flag == "M"
    for k in rounded:
        rounded[k] = np.where(void, np.nan, rounded[k])
    ws, wd = _wind(stations, r)
    rounded["ws"] = np.where(void, np.nan, np.round(ws, 1))
    rounded["wd"] = np.where(void, np.nan, np.round(wd, 0) % 360)
    idx = np.nonzero(present)
    df = pd.DataFrame({
        "station_id": stations.station_id.to_numpy()[idx[0]],
        "time": HOURS.to_numpy()[idx[1]],
        **{k: v[idx] for k, v in rounded.items()},
        "flag": flag[idx],
    })
    return df


def _wind(stations: pd.DataFrame, r: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hourly wind speed (m/s) and direction (degrees the wind blows *from*) per station.

    Hefei's monsoon: north-easterlies in winter, south-easterlies in summer, synoptic swings
    of a few days, a diurnal cycle (windier afternoons) and stagnation during haze episodes,
    which is why the haze builds up. Its own random stream keeps the pollutant values of
    earlier releases unchanged.
    """
    gen = rng("air_wind")
    n, s = len(HOURS), len(stations)
    doy = HOURS.day_of_year.to_numpy()
    summer = np.cos(2 * np.pi * (doy - 196) / 365)  # +1 mid-July
    veer = 40 * np.repeat(_ar1(gen, 365, 0.6), 24)[:n] + 15 * _ar1(gen, n, 0.95)
    direction = 45 + 52 * (1 + summer) + veer  # 45° NE in winter, ≈150° SSE in summer
    gust = np.exp(0.3 * np.repeat(_ar1(gen, 365, 0.7), 24)[:n])
    diurnal = 1 + 0.3 * np.sin(np.pi * (r["hour"] - 8) / 12).clip(0, None)
    speed = 2.6 * gust * diurnal * np.exp(-1.2 * r["haze"])
    urban = stations.urban.to_numpy()[:, None]
    ws = speed * (1.1 - 0.3 * urban) * np.exp(0.15 * _ar1(gen, n, 0.8, (s,)))
    wd = direction + gen.normal(0, 8, (s, 1)) + 12 * _ar1(gen, n, 0.7, (s,))
    return np.clip(ws, 0.2, None), wd


#: Sections: (code suffix, name, reach id or None for the lake, fraction along the reach,
#: lake lon/lat, target class, level).
SECTIONS = (
    ("NFH", "南淝河董铺出口", "NFH02", 0.1, None, "III", "provincial"),
    ("NFH", "南淝河亳州路桥", "NFH03", 0.5, None, "IV", "provincial"),
    ("NFH", "南淝河新港", "NFH04", 0.3, None, "V", "national"),
    ("NFH", "南淝河施口", "NFH04", 0.95, None, "V", "national"),
    ("SLH", "四里河三里庵", "SLH01", 0.8, None, "V", "municipal"),
    ("DBH", "店埠河大兴集", "DBH02", 0.5, None, "IV", "provincial"),
    ("SWL", "十五里河希望桥", "SWL01", 0.9, None, "IV", "national"),
    ("PAH", "派河上派", "PAH01", 0.7, None, "IV", "provincial"),
    ("PAH", "派河口", "PAH02", 0.95, None, "IV", "national"),
    ("HBH", "杭埠河舒城", "HBH02", 0.9, None, "III", "provincial"),
    ("HBH", "杭埠河杭埠", "HBH03", 0.6, None, "III", "provincial"),
    ("HBH", "杭埠河三河", "HBH04", 0.3, None, "III", "national"),
    ("FLH", "丰乐河桃溪", "FLH02", 0.5, None, "III", "provincial"),
    ("BST", "白石天河石头", "BST01", 0.8, None, "III", "provincial"),
    ("BST", "白石天河入湖口", "BST02", 0.95, None, "III", "national"),
    ("ZHH", "兆河入湖口", "ZHH01", 0.95, None, "III", "national"),
    ("ZGH", "柘皋河柘皋", "ZGH01", 0.5, None, "III", "provincial"),
    ("ZGH", "柘皋河入湖口", "ZGH01", 0.97, None, "III", "national"),
    ("TYH", "烔炀河入湖口", "TYH01", 0.95, None, "III", "municipal"),
    ("YXH", "裕溪河巢湖闸", "YXH01", 0.05, None, "III", "national"),
    ("YXH", "裕溪河散兵", "YXH02", 0.6, None, "III", "provincial"),
    ("CH", "巢湖西半湖湖心", None, 0, (117.42, 31.61), "III", "national"),
    ("CH", "巢湖湖心", None, 0, (117.58, 31.58), "III", "national"),
    ("CH", "巢湖东半湖湖心", None, 0, (117.72, 31.59), "III", "national"),
    ("CH", "巢湖忠庙", None, 0, (117.68, 31.64), "III", "national"),
    ("CH", "巢湖新河入湖区", None, 0, (117.36, 31.66), "III", "national"),
    ("CH", "巢湖塘西河口", None, 0, (117.33, 31.68), "III", "provincial"),
    ("CH", "巢湖兆河入湖区", None, 0, (117.60, 31.50), "III", "national"),
    ("CH", "巢湖黄麓", None, 0, (117.55, 31.645), "III", "provincial"),
    ("CH", "巢湖东湖心", None, 0, (117.80, 31.60), "III", "national"),
)


def water_sections(geo: Geography) -> pd.DataFrame:
    """≈30 sections: river sections sit on their reach, lake sections inside the lake."""
    reaches = {r["reach_id"]: r for r in geo.reaches}
    rows = []
    for i, (_, name, rid, frac, lake_xy, target, level) in enumerate(SECTIONS, start=1):
        if rid:
            p = shapely.line_interpolate_point(reaches[rid]["geometry"], frac, normalized=True)
            x, y, body = p.x, p.y, reaches[rid]["name"]
        else:
            (x, y), body = lake_xy, "巢湖"
        rows.append(dict(section_id=f"AHCH{i:03d}", name=name, water_body=body, reach_id=rid,
                         target_class=target, level=level, lon=round(x, 6), lat=round(y, 6)))
    df = pd.DataFrame(rows)
    df["county_code"] = geo.county_of(df.lon, df.lat)
    return df


#: Pollution level of a section's water (1 clean … 4 very polluted) by water body.
BURDEN = {"南淝河": 3.5, "四里河": 3.8, "十五里河": 3.0, "派河": 2.6, "店埠河": 2.4,
          "杭埠河": 1.2, "丰乐河": 1.4, "白石天河": 1.6, "兆河": 1.7, "柘皋河": 1.8,
          "烔炀河": 1.8, "裕溪河": 1.6, "巢湖": 1.9}


def water_samples(sections: pd.DataFrame) -> pd.DataFrame:
    """Monthly samples at every section, weekly at national lake/inflow sections."""
    gen = rng("water_samples")
    rows = []
    for sec in sections.itertuples():
        weekly = sec.level == "national" and sec.water_body in ("巢湖", "南淝河", "派河")
        if weekly:
            days = pd.date_range("2025-01-06", "2025-12-29", freq="7D")
        else:
            days = pd.DatetimeIndex([pd.Timestamp(2025, m, int(gen.integers(5, 16)))
                                     for m in range(1, 13)])
        burden = BURDEN[sec.water_body] * np.exp(gen.normal(0, 0.15))
        lake = sec.water_body == "巢湖"
        for day in days:
            t = day + pd.Timedelta(minutes=int(gen.integers(8 * 60, 11 * 60 + 30)))
            season = -np.cos(2 * np.pi * (t.day_of_year - 20) / 365)  # +1 in summer
            wt = 17 + 12 * season + gen.normal(0, 1.2)
            bloom = max(0.0, season) * (1.5 if lake else 0.3)
            e = lambda s: float(np.exp(gen.normal(0, s)))  # noqa: E731
            do = max(0.8, (14.6 - 0.3 * wt) * (1.05 - 0.12 * (burden - 1)) * e(0.08)
                     + (1.2 * bloom if lake else 0))
            codmn = (2.2 + 1.3 * burden + 1.0 * bloom) * e(0.15)
            rows.append(dict(
                section_id=sec.section_id, time=t.strftime("%Y-%m-%d %H:%M"),
                wt=round(wt, 1), ph=round(min(9.3, 7.4 + 0.5 * bloom + gen.normal(0, 0.12)), 2),
                do=round(do, 2), codmn=round(codmn, 1), cod=round(codmn * 3.4 * e(0.1), 1),
                bod5=round((0.6 + 0.9 * burden) * e(0.2), 1),
                nh3n=round((0.06 + (0.05 if lake else 0.12) * burden ** 2 * (1.3 - 0.4 * season))
                          * e(0.3), 3),
                tp=round((0.02 + (0.02 if lake else 0.025) * burden ** 1.6 * (1 + 0.4 * bloom))
                         * e(0.25), 3),
                tn=round((0.5 + 0.4 * burden ** (1.5 if lake else 1.8))
                         * (1.15 - 0.2 * season) * e(0.2), 2),
            ))
    return pd.DataFrame(rows)
