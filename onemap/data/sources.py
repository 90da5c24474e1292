"""Fixed pollution sources (排污单位) with permit data, clustered where industry really is.

Codes follow HJ 608-2017 (a GB 32100 unified social credit code with a correct check character,
then a 3-digit sequence and ``P``), industries GB/T 4754-2017, outlets HJ 608 (DA### air,
DW### water). Emissions are heavy-tailed (log-normal by industry and permit class): a few plants
dominate, as in any real inventory. The same row builder serves the 3,000-source region and the
national million, which is generated chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from onemap.data.geography import KM_PER_DEG_LAT, TOWNS, Geography, km_per_deg_lon, rng
from onemap.layers.codes import USCC_CHARSET, uscc_check_char

#: GB/T 4754-2017 code, name, word used in company names, relative frequency, and median
#: annual emissions (t/a) of a key-managed plant: so2, nox, pm, voc, cod, nh3n.
INDUSTRIES = (
    ("D4411", "火力发电", "热电", 0.6, (300, 600, 80, 10, 5, 0.5)),
    ("D4430", "热力生产和供应", "热力", 1.2, (40, 80, 15, 2, 2, 0.2)),
    ("C3011", "水泥制造", "水泥", 1.0, (60, 400, 90, 5, 0, 0)),
    ("C3041", "平板玻璃制造", "玻璃", 0.4, (150, 500, 40, 8, 1, 0.1)),
    ("C3130", "钢压延加工", "钢材", 1.2, (10, 25, 30, 15, 3, 0.3)),
    ("C2614", "有机化学原料制造", "化工", 2.0, (20, 30, 10, 60, 40, 4)),
    ("C2631", "化学农药制造", "农化", 0.5, (5, 8, 4, 40, 50, 6)),
    ("C2641", "涂料制造", "涂料", 1.0, (0, 1, 2, 50, 4, 0.3)),
    ("C2710", "化学药品原料药制造", "制药", 1.0, (3, 6, 2, 35, 60, 8)),
    ("C2211", "木竹浆制造", "浆纸", 0.3, (30, 60, 20, 5, 300, 20)),
    ("C2221", "机制纸及纸板制造", "纸业", 1.2, (15, 30, 8, 3, 120, 8)),
    ("C1713", "棉印染精加工", "印染", 1.5, (5, 10, 4, 8, 90, 10)),
    ("C1351", "牲畜屠宰", "肉类加工", 1.0, (0, 1, 1, 0, 40, 6)),
    ("C1391", "淀粉及淀粉制品制造", "淀粉", 0.6, (5, 10, 6, 1, 70, 7)),
    ("C1511", "酒精制造", "酒业", 0.4, (10, 15, 5, 3, 90, 9)),
    ("C3360", "金属表面处理及热处理加工", "电镀", 2.0, (0, 1, 1, 4, 8, 1)),
    ("C3670", "汽车零部件及配件制造", "汽车零部件", 4.0, (0, 2, 5, 25, 2, 0.2)),
    ("C3612", "新能源车整车制造", "新能源汽车", 0.3, (1, 8, 10, 150, 10, 1)),
    ("C3974", "显示器件制造", "光电", 0.6, (0, 3, 2, 60, 40, 6)),
    ("C3825", "光伏设备及元器件制造", "光伏", 1.0, (0, 3, 4, 20, 15, 2)),
    ("C3841", "锂离子电池制造", "新能源", 1.2, (0, 2, 4, 30, 8, 1)),
    ("C2921", "塑料薄膜制造", "塑业", 2.0, (0, 1, 2, 15, 1, 0.1)),
    ("C3311", "金属结构制造", "钢构", 3.0, (0, 1, 8, 12, 1, 0.1)),
    ("C2231", "纸和纸板容器制造", "包装", 2.0, (0, 1, 2, 8, 2, 0.2)),
    ("C1495", "食品及饲料添加剂制造", "生物科技", 0.8, (2, 4, 3, 5, 30, 3)),
    ("D4620", "污水处理及其再生利用", "污水处理", 1.0, (0, 0, 0, 1, 150, 15)),
    ("N7820", "环境卫生管理", "环境", 0.5, (15, 60, 5, 2, 5, 1)),
    ("A0313", "猪的饲养", "牧业", 1.5, (0, 0, 0, 0, 60, 10)),
)
BRANDS = tuple(
    "恒达 华源 金鼎 新宇 长城 瑞丰 天成 宏图 永安 鑫达 海诚 江淮 皖江 徽源 巢湖 国祯 丰乐 "
    "荣盛 中联 东方 万和 安泰 建华 德润 康宁 联发 科创 力源 泰和 顺昌 兴业 协和 同创 大成 "
    "宝丰 鼎盛 佳和 润泽 新锐 星火 旭日 华星 远东 浩然 弘毅 正泰 晶科 明远 润丰 嘉禾".split())
SUFFIXES = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
POLLUTANTS = ("so2_t", "nox_t", "pm_t", "voc_t", "cod_t", "nh3n_t")
CLASS_SCALE = {"key": 1.0, "simplified": 0.08, "registration": 0.01}
_BODY_CHARS = np.array(list(USCC_CHARSET))


def hj608_codes(gen: np.random.Generator, adcodes: np.ndarray) -> np.ndarray:
    """Valid HJ 608 codes: "91" (enterprise registered with market regulation) + the area code
    + a GB 11714 organisation code (new-style "MA" prefix for most) + check char + "001P"."""
    n = len(adcodes)
    body = _BODY_CHARS[gen.integers(0, len(_BODY_CHARS), (n, 9))]
    old = gen.random(n) < 0.3  # pre-2015 organisation codes: digits only
    body[old] = _BODY_CHARS[gen.integers(0, 10, (int(old.sum()), 9))]
    body[~old, 0], body[~old, 1] = "M", "A"
    out = np.empty(n, dtype=object)
    for i in range(n):
        first17 = "91" + adcodes[i] + "".join(body[i])
        out[i] = first17 + uscc_check_char(first17) + "001P"
    return out


def _names(gen: np.random.Generator, places: np.ndarray, words: np.ndarray) -> np.ndarray:
    brand = np.array(BRANDS)[gen.integers(0, len(BRANDS), len(places))]
    suffix = np.array(SUFFIXES)[gen.integers(0, len(SUFFIXES), len(places))]
    prov = gen.random(len(places)) < 0.25
    place = np.where(prov, "安徽", places)
    return np.array([f"{p}{b}{w}{s}" for p, b, w, s in zip(place, brand, words, suffix,
                                                            strict=True)], dtype=object)


def source_rows(gen: np.random.Generator, lon: np.ndarray, lat: np.ndarray, county: np.ndarray,
                places: np.ndarray) -> pd.DataFrame:
    """Attributes for sources at the given points (canonical field names, lon/lat columns)."""
    n = len(lon)
    weights = np.array([x[3] for x in INDUSTRIES])
    ind = gen.choice(len(INDUSTRIES), n, p=weights / weights.sum())
    codes = np.array([x[0] for x in INDUSTRIES])[ind]
    profile = np.array([x[4] for x in INDUSTRIES], dtype=float)[ind]
    heavy = profile.max(axis=1)
    p_key = np.clip(0.15 + heavy / 600, 0.15, 0.85)
    u = gen.random(n)
    cls = np.where(u < p_key, "key", np.where(u < p_key + 0.45 * (1 - p_key), "simplified",
                                               "registration"))
    scale = np.vectorize(CLASS_SCALE.get)(cls)
    emis = profile * scale[:, None] * np.exp(gen.normal(0, 1.1, (n, 6)))
    emis = np.round(np.where(profile > 0, emis, 0.0), 3)
    ids = hj608_codes(gen, county)
    issued = pd.Timestamp("2020-06-30") + pd.to_timedelta(gen.integers(0, 5 * 365, n), unit="D")
    valid_until = (issued + pd.DateOffset(years=5)).strftime("%Y-%m-%d")
    n_air = np.where(profile[:, :4].sum(axis=1) > 0, gen.integers(1, 5, n), 0)
    n_water = np.where(profile[:, 4:].sum(axis=1) > 0, gen.integers(1, 3, n), 0)
    n_air = np.where(n_air + n_water == 0, 1, n_air)
    outlets = [";".join([f"DA{k:03d}" for k in range(1, a + 1)]
                        + [f"DW{k:03d}" for k in range(1, w + 1)])
               for a, w in zip(n_air, n_water, strict=True)]
    permitted = cls != "registration"
    df = pd.DataFrame({
        "source_id": ids,
        "name": _names(gen, places, np.array([x[2] for x in INDUSTRIES])[ind]),
        "industry_code": codes,
        "industry": np.array([x[1] for x in INDUSTRIES])[ind],
        "permit_id": np.where(permitted, ids, None),
        "permit_class": cls,
        "permit_valid_until": np.where(permitted, valid_until, None),
        "outlets": outlets,
        "county_code": county,
        **{p: emis[:, k] for k, p in enumerate(POLLUTANTS)},
        "lon": np.round(lon, 6), "lat": np.round(lat, 6),
    })
    return df


def region_sources(geo: Geography, n: int = 3000) -> pd.DataFrame:
    """≈n sources around the region's towns, industrial parks weighted up, all on land."""
    gen = rng("pollution_sources")
    w = np.array([t.pop ** 0.7 * (2.5 if t.industrial else 1.0) for t in TOWNS])
    lon, lat, place = [], [], []
    while sum(len(x) for x in lon) < n:
        m = 2 * n
        k = gen.choice(len(TOWNS), m, p=w / w.sum())
        spread = np.array([2.0 + 1.2 * np.sqrt(t.pop) ** 0.5 for t in TOWNS])[k]
        x = np.array([t.lon for t in TOWNS])[k] + gen.normal(0, 1, m) * spread / km_per_deg_lon(
            31.6)
        y = np.array([t.lat for t in TOWNS])[k] + gen.normal(0, 1, m) * spread / KM_PER_DEG_LAT
        ok = geo.on_land(x, y, margin_km=0.2)
        lon.append(x[ok])
        lat.append(y[ok])
        place.append(np.array([t.name for t in TOWNS])[k][ok])
    lon, lat = np.concatenate(lon)[:n], np.concatenate(lat)[:n]
    place = np.concatenate(place)[:n]
    place = np.where(np.char.endswith(place.astype(str), "区"), "合肥", place)
    county = geo.county_of(lon, lat)
    df = source_rows(gen, lon, lat, county.astype(str), place)
    return df.sort_values("source_id", ignore_index=True)


#: Population centres for the national sample: city, lon, lat, weight, city adcode prefix.
CITIES = (
    ("北京", 116.40, 39.90, 22, "1101"), ("天津", 117.20, 39.13, 14, "1201"),
    ("石家庄", 114.51, 38.04, 9, "1301"), ("唐山", 118.18, 39.63, 7, "1302"),
    ("太原", 112.55, 37.87, 6, "1401"), ("呼和浩特", 111.75, 40.84, 3, "1501"),
    ("沈阳", 123.43, 41.80, 9, "2101"), ("大连", 121.61, 38.91, 7, "2102"),
    ("长春", 125.32, 43.82, 7, "2201"), ("哈尔滨", 126.53, 45.80, 8, "2301"),
    ("上海", 121.47, 31.23, 25, "3101"), ("南京", 118.80, 32.06, 10, "3201"),
    ("苏州", 120.58, 31.30, 13, "3205"), ("无锡", 120.30, 31.57, 8, "3202"),
    ("杭州", 120.16, 30.27, 12, "3301"), ("宁波", 121.55, 29.87, 9, "3302"),
    ("合肥", 117.23, 31.82, 9, "3401"), ("芜湖", 118.38, 31.33, 4, "3402"),
    ("福州", 119.30, 26.08, 8, "3501"), ("厦门", 118.09, 24.48, 5, "3502"),
    ("南昌", 115.86, 28.68, 6, "3601"), ("济南", 117.00, 36.67, 9, "3701"),
    ("青岛", 120.38, 36.07, 10, "3702"), ("郑州", 113.63, 34.75, 12, "4101"),
    ("洛阳", 112.45, 34.62, 6, "4103"), ("武汉", 114.31, 30.59, 12, "4201"),
    ("长沙", 112.94, 28.23, 10, "4301"), ("广州", 113.26, 23.13, 18, "4401"),
    ("深圳", 114.06, 22.54, 17, "4403"), ("佛山", 113.12, 23.02, 10, "4406"),
    ("东莞", 113.75, 23.02, 10, "4419"), ("南宁", 108.37, 22.82, 7, "4501"),
    ("海口", 110.35, 20.02, 3, "4601"), ("重庆", 106.55, 29.56, 18, "5001"),
    ("成都", 104.07, 30.67, 18, "5101"), ("贵阳", 106.63, 26.65, 6, "5201"),
    ("昆明", 102.83, 24.88, 8, "5301"), ("拉萨", 91.13, 29.65, 1, "5401"),
    ("西安", 108.94, 34.34, 12, "6101"), ("兰州", 103.83, 36.06, 4, "6201"),
    ("西宁", 101.78, 36.62, 2, "6301"), ("银川", 106.23, 38.49, 3, "6401"),
    ("乌鲁木齐", 87.62, 43.83, 4, "6501"), ("徐州", 117.28, 34.20, 8, "3203"),
    ("临沂", 118.36, 35.10, 9, "3713"), ("保定", 115.46, 38.87, 8, "1306"),
    ("南阳", 112.53, 33.00, 8, "4113"), ("赣州", 114.93, 25.83, 7, "3607"),
    ("柳州", 109.41, 24.33, 4, "4502"), ("包头", 109.84, 40.66, 3, "1502"),
)


def national_points(gen: np.random.Generator, n: int, spread_km: float = 25.0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n points clustered on the centres, with a long tail into the countryside."""
    w = np.array([c[3] for c in CITIES], dtype=float)
    k = gen.choice(len(CITIES), n, p=w / w.sum())
    r = spread_km * np.where(gen.random(n) < 0.75, 0.4, 2.5) * np.sqrt(w[k] / 8)
    lat0 = np.array([c[2] for c in CITIES])[k]
    lon = np.array([c[1] for c in CITIES])[k] + gen.normal(0, 1, n) * r / (
        KM_PER_DEG_LAT * np.cos(np.radians(lat0)))
    lat = lat0 + gen.normal(0, 1, n) * r / KM_PER_DEG_LAT
    lon, lat = np.clip(lon, 73.5, 134.8), np.clip(lat, 18.2, 52.8)
    county = np.array([c[4] for c in CITIES])[k].astype(object) + np.char.zfill(
        gen.integers(1, 13, n).astype(str), 2).astype(object)
    return lon, lat, county.astype(str), np.array([c[0] for c in CITIES])[k]


def national_source_chunks(n: int, chunk: int = 100_000) -> Iterator[pd.DataFrame]:
    """The national inventory, ``chunk`` rows at a time (never all of it in memory)."""
    for start in range(0, n, chunk):
        gen = rng(f"national_sources_{start}")
        m = min(chunk, n - start)
        lon, lat, county, places = national_points(gen, m)
        yield source_rows(gen, lon, lat, county, places)
