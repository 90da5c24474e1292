"""Protection layers and events: protected areas, red lines, drinking-water sources,
sensitive receptors and incidents.

They are placed on the real pattern of the basin — forest parks on the hills (紫蓬山, 大蜀山,
冶父山, the 大别山 foothills south-west of the lake), a shoreline red line around Chaohu,
protection zones around the reservoir and lake intakes, schools and hospitals in the towns — so
that overlay analyses (a source inside a zone, a receptor near a plant) give believable answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from onemap.data.geography import TOWNS, Geography, area_km2, blob, ellipse, rng

#: name, category, level, lon, lat, radius km, established.
PROTECTED = (
    ("安徽巢湖湖滨国家湿地公园", "wetland_park", "national", 117.36, 31.70, 3.0, 2014),
    ("三河国家湿地公园", "wetland_park", "national", 117.27, 31.53, 2.5, 2015),
    ("紫蓬山国家森林公园", "forest_park", "national", 117.02, 31.74, 3.5, 2001),
    ("大蜀山国家森林公园", "forest_park", "national", 117.17, 31.845, 2.0, 1994),
    ("冶父山国家森林公园", "forest_park", "national", 117.22, 31.15, 3.5, 2004),
    ("万佛山自然保护区", "nature_reserve", "provincial", 116.86, 31.08, 6.0, 1996),
    ("万佛湖风景名胜区", "scenic_area", "national", 116.90, 31.24, 5.0, 2002),
    ("巢湖风景名胜区", "scenic_area", "national", 117.62, 31.57, 5.0, 2002),
    ("浮槎山省级森林公园", "forest_park", "provincial", 117.55, 32.02, 3.0, 2006),
    ("银屏山省级森林公园", "forest_park", "provincial", 117.78, 31.45, 3.5, 2008),
    ("半汤温泉地质公园", "geopark", "provincial", 117.93, 31.66, 2.0, 2012),
)
#: Hill red lines (name, function, lon, lat, radius km).
HILL_RED_LINES = (
    ("大别山余脉舒城水源涵养区", "water_conservation", 116.88, 31.15, 9.0),
    ("万佛湖水源涵养区", "water_conservation", 116.86, 31.28, 6.0),
    ("庐江西南山地水土保持区", "soil_conservation", 117.05, 31.08, 7.0),
    ("冶父山生物多样性维护区", "biodiversity", 117.23, 31.13, 4.0),
    ("紫蓬山生物多样性维护区", "biodiversity", 117.01, 31.73, 4.0),
    ("大蜀山生物多样性维护区", "biodiversity", 117.17, 31.845, 2.2),
    ("董铺大房郢水源涵养区", "water_conservation", 117.19, 31.94, 4.5),
    ("浮槎山水土保持区", "soil_conservation", 117.55, 32.02, 4.0),
    ("银屏山水土保持区", "soil_conservation", 117.79, 31.44, 4.5),
    ("散兵山地水土流失防治区", "erosion_control", 117.97, 31.50, 3.5),
)


def protected_areas(geo: Geography) -> pd.DataFrame:
    gen = rng("protected_areas")
    rows = []
    for i, (name, cat, level, x, y, r, year) in enumerate(PROTECTED, start=1):
        g = blob(x, y, r, gen, 0.25)
        if cat != "scenic_area" and cat != "wetland_park":
            g = g.difference(geo.water)  # forest parks stop at the water's edge
        g = g.intersection(geo.outline)
        rows.append(dict(area_id=f"PA{i:03d}", name=name, category=cat, level=level,
                         area_km2=round(area_km2(g), 2), established=year, geometry=g))
    return pd.DataFrame(rows)


def red_lines(geo: Geography) -> pd.DataFrame:
    """Hill red lines plus the Chaohu shoreline belt, cut into sectors around the lake."""
    gen = rng("red_lines")
    rows = []
    for name, func, x, y, r in HILL_RED_LINES:
        g = blob(x, y, r, gen, 0.35).difference(geo.water).intersection(geo.outline)
        rows.append(dict(name=name, function=func, geometry=g))
    belt = geo.lake.exterior.buffer(0.012).difference(geo.lake).intersection(geo.outline)
    cx, cy = geo.lake.centroid.x, geo.lake.centroid.y
    sectors = (("西", 150, 230), ("北", 55, 150), ("东北", 5, 55), ("东南", -60, 5),
               ("南", -130, -60))
    for label, a0, a1 in sectors:
        t = np.radians(np.linspace(a0, a1, 24))
        wedge = shapely.Polygon([(cx, cy), *zip(cx + 2 * np.cos(t), cy + 2 * np.sin(t),
                                                 strict=True)])
        rows.append(dict(name=f"巢湖{label}岸岸线生态保护区", function="shoreline",
                         geometry=belt.intersection(wedge)))
    df = pd.DataFrame(rows)
    df["geometry"] = [shapely.make_valid(g).buffer(0) for g in df.geometry]
    df["redline_id"] = [f"340100-HX-{i:03d}" for i in range(1, len(df) + 1)]
    df["area_km2"] = [round(area_km2(g), 2) for g in df.geometry]
    c = df.geometry.apply(lambda g: g.representative_point())
    df["county_code"] = geo.county_of([p.x for p in c], [p.y for p in c])
    return df[["redline_id", "name", "county_code", "area_km2", "function", "geometry"]]


#: Intakes: id, name, water source, lon, lat, capacity m³/d, population served.
INTAKES = (
    ("QSK01", "董铺水库取水口", "董铺水库饮用水水源地", 117.172, 31.912, 300000, 900000),
    ("QSK02", "大房郢水库取水口", "大房郢水库饮用水水源地", 117.228, 31.948, 200000, 600000),
    ("QSK03", "巢湖西半湖取水口", "巢湖(合肥)饮用水水源地", 117.40, 31.635, 500000, 1800000),
    ("QSK04", "巢湖东半湖取水口", "巢湖(巢湖市)饮用水水源地", 117.80, 31.615, 150000, 450000),
    ("QSK05", "龙河口水库取水口", "龙河口水库饮用水水源地", 116.885, 31.27, 100000, 350000),
    ("QSK06", "黄陂湖取水口", "黄陂湖饮用水水源地", 117.12, 31.205, 60000, 200000),
)


def water_intakes() -> pd.DataFrame:
    rows = [dict(intake_id=i, name=n, source_name=s, capacity_m3d=float(c), population=p,
                 lon=x, lat=y) for i, n, s, x, y, c, p in INTAKES]
    return pd.DataFrame(rows)


def water_source_zones(geo: Geography) -> pd.DataFrame:
    """Primary zone: 1 km around the intake (GB/HJ 338 style); secondary: to 3.5 km; quasi
    (reservoirs only): to 6 km — rings, so zones of one source do not overlap."""
    rows = []
    for iid, _, source, x, y, _, _ in INTAKES:
        c1, c2, c3 = (ellipse(x, y, r, n=64) for r in (1.0, 3.5, 6.0))
        rings = [("primary", c1), ("secondary", c2.difference(c1))]
        if "水库" in source:
            rings.append(("quasi", c3.difference(c2)))
        for grade, g in rings:
            g = g.intersection(geo.outline)
            rows.append(dict(zone_id=f"{iid}-{grade[0].upper()}", source_name=source,
                             grade=grade, intake_id=iid, area_km2=round(area_km2(g), 2),
                             geometry=g))
    return pd.DataFrame(rows)


KINDS = (("school", 0.30), ("kindergarten", 0.20), ("hospital", 0.12), ("elderly_care", 0.08),
         ("residential", 0.30))
ESTATE = ("阳光 金域 翡翠 滨湖 锦绣 书香 幸福 和平 绿地 万科 融创 碧桂园 蓝湖 紫云 琥珀 "
          "天鹅湖").split()


def _receptor_name(gen: np.random.Generator, kind: str, town: str, k: int) -> tuple[str, int]:
    if kind == "school":
        if gen.random() < 0.5:
            return f"{town}第{k}中学", int(gen.integers(1200, 3500))
        return f"{town}{ESTATE[int(gen.integers(0, len(ESTATE)))]}路小学", int(
            gen.integers(600, 2500))
    if kind == "kindergarten":
        return f"{town}{ESTATE[int(gen.integers(0, len(ESTATE)))]}幼儿园", int(
            gen.integers(120, 450))
    if kind == "hospital":
        return f"{town}第{k}人民医院" if k < 4 else f"{town}中医院{k}院区", int(
            gen.integers(300, 3000))
    if kind == "elderly_care":
        return f"{town}颐养中心{k}号", int(gen.integers(60, 400))
    style = ("花园", "小区", "家园", "苑", "新村")[int(gen.integers(0, 5))]
    return f"{town}{ESTATE[int(gen.integers(0, len(ESTATE)))]}{style}", int(
        gen.integers(800, 12000))


def sensitive_receptors(geo: Geography, n: int = 300) -> pd.DataFrame:
    """≈n receptors in the towns (weighted by population), on land."""
    gen = rng("sensitive_receptors")
    w = np.array([t.pop ** 0.8 for t in TOWNS])
    kinds, kp = zip(*KINDS, strict=True)
    counters: dict[tuple[str, str], int] = {}
    rows = []
    while len(rows) < n:
        t = TOWNS[int(gen.choice(len(TOWNS), p=w / w.sum()))]
        spread = 1.0 + 0.6 * np.sqrt(t.pop) ** 0.7
        x = t.lon + gen.normal(0, spread) / 95.0
        y = t.lat + gen.normal(0, spread) / 111.2
        if not geo.on_land([x], [y], margin_km=0.1)[0]:
            continue
        kind = str(gen.choice(kinds, p=kp))
        town = "合肥" if t.name.endswith("区") else t.name
        key = (town, kind)
        counters[key] = counters.get(key, 0) + 1
        name, people = _receptor_name(gen, kind, town, counters[key])
        rows.append(dict(receptor_id=f"MG{len(rows) + 1:04d}", name=name, kind=kind,
                         population=people, lon=round(x, 6), lat=round(y, 6)))
    df = pd.DataFrame(rows)
    df["county_code"] = geo.county_of(df.lon, df.lat)
    return df


INCIDENT_KINDS = (
    ("water", "化工企业废水超标排放", "COD、氨氮"), ("water", "河道死鱼事件", "溶解氧"),
    ("water", "污水管网破裂溢流", "COD、总磷"), ("air", "企业废气异常排放", "SO₂、NOx"),
    ("air", "秸秆焚烧烟雾", "PM2.5"), ("chemical", "危化品运输车辆侧翻泄漏", "甲苯"),
    ("chemical", "化工园区储罐泄漏", "丙烯腈"), ("soil", "危险废物非法倾倒", "重金属"),
    ("other", "蓝藻水华聚集", "藻密度"), ("radiation", "放射源丢失", "Ir-192"),
)


def incidents(geo: Geography, sources: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """≈n incidents over 2025, most at or near a source; algal blooms on the lake in summer."""
    gen = rng("incidents")
    names = {code: name for code, name, _ in geo.counties}
    rows = []
    times = np.sort(gen.integers(0, 365 * 24 * 60, n))
    for i, minute in enumerate(times, start=1):
        t = pd.Timestamp("2025-01-01") + pd.Timedelta(minutes=int(minute))
        kind, what, pollutant = INCIDENT_KINDS[int(gen.integers(0, len(INCIDENT_KINDS)))]
        if kind == "other" and not 5 <= t.month <= 9:
            kind, what, pollutant = INCIDENT_KINDS[0]
        if kind == "other":
            x, y = 117.3 + gen.random() * 0.15, 31.6 + gen.random() * 0.05
            place = "巢湖西半湖"
        else:
            s = sources.iloc[int(gen.integers(0, len(sources)))]
            x, y = s.lon + gen.normal(0, 0.004), s.lat + gen.normal(0, 0.004)
            place = names[str(s.county_code)]
        level = str(gen.choice(["IV", "III", "II"], p=[0.8, 0.16, 0.04]))
        days_ago = (pd.Timestamp("2025-12-31") - t).days
        status = "closed" if days_ago > 20 else ("responding" if days_ago > 5 else "reported")
        rows.append(dict(incident_id=f"SJ2025{i:04d}", title=f"{place}{what}", time=t.strftime(
            "%Y-%m-%d %H:%M"), type=kind, level=level, status=status, pollutant=pollutant,
            description=f"{t.month}月{t.day}日接报:{place}{what},特征污染物{pollutant}。",
            lon=round(float(x), 6), lat=round(float(y), 6)))
    return pd.DataFrame(rows)
