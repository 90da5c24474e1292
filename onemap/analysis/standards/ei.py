"""Ecological index (生态环境状况指数, EI) per HJ 192-2015 《生态环境状况评价技术规范》.

    EI = 0.35×BI + 0.25×VI + 0.15×WDI + 0.15×(100 − LSI) + 0.10×(100 − PLI) + ERI

BI 生物丰度指数, VI 植被覆盖指数, WDI 水网密度指数, LSI 土地胁迫指数, PLI 污染负荷指数 (each
0–100) and ERI 环境限制指数, a *constraint* (约束性指标: serious environmental events, ecological
damage, pollution problems lower the grade). Grades: 优 EI ≥ 75, 良 55 ≤ EI < 75, 一般 35 ≤ EI < 55,
较差 20 ≤ EI < 35, 差 EI < 20. Change ΔEI: |ΔEI| < 1 无明显变化, 1 ≤ |ΔEI| < 3 略微变化,
3 ≤ |ΔEI| < 8 明显变化, |ΔEI| ≥ 8 显著变化, with its sign 变好 / 变差.

What was checked and what is recollection (searched public copies of the standard and of
bulletins that apply it, 2026-11):

- verified: the five grades and their bounds, and the four change grades and their bounds (the
  footnotes of a provincial environment bulletin quote them verbatim); the scope of HJ 192-2015
  (counties, provinces and eco-regions incl. nature reserves; issued 2015-03-13, replacing HJ/T
  192-2006); the habitat-quality weights forest 0.35, grassland 0.21, water/wetland 0.28; that the
  normalisation coefficients A_x are relative (100 / the largest value in a reference set of
  counties), so they change with the reference set.
- from recollection (the text found did not reach section 5): the EI weights 0.35/0.25/0.15/0.15/
  0.10 and the form of each index; cropland 0.11, built-up 0.04, unused land 0.01; the PLI
  weights SO2 0.20, NOx 0.20, 烟(粉)尘 0.20, COD 0.10, NH3-N 0.10 (the standard also has solid
  waste, which we lack); the LSI weights (severe erosion 0.4, moderate 0.2, built-up 0.2, other
  stress 0.2); the ERI constraint table (e.g. a major environmental event lowers the grade).

HJ 1172-2021 (全国生态状况调查评估技术规范——生态系统质量评估, in force 2021-08-01) is the newer
national method: it rates vegetation-dominated natural ecosystems of the nation or a province by
LAI, fractional cover and GPP relative to the best ecosystem of the same type in the same eco-region
(recollection). We compute HJ 192's EI instead because it is the index county-level supervision
(and red-line / reserve reporting) is phrased in, it combines pressure (land stress, pollution)
with state, and most of its inputs can be derived from what OneMap holds — an NDVI series and the
vector layers — whereas HJ 1172 needs LAI/GPP products, an ecosystem-type map and regional
reference conditions we do not have.

Every indicator below is **approximated** (none can be computed exactly from OneMap's data): the
formulas used are in :data:`APPROXIMATIONS`, and results carry the list :data:`APPROXIMATED`.
Fixed references replace the standard's relative A_x coefficients, so values are comparable
across areas and dates without a national reference set (but are not the official numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from onemap.analysis.errors import InvalidInput

WEIGHTS: dict[str, float] = {"bi": 0.35, "vi": 0.25, "wdi": 0.15, "lsi": 0.15, "pli": 0.10}
#: Lower bound of each grade, best first (HJ 192-2015).
GRADE_BOUNDS: tuple[tuple[str, float], ...] = (
    ("excellent", 75.0), ("good", 55.0), ("fair", 35.0), ("poor", 20.0), ("bad", -math.inf))
GRADES = tuple(code for code, _ in GRADE_BOUNDS)
GRADE_NAMES: dict[str, tuple[str, str]] = {
    "excellent": ("优", "excellent"), "good": ("良", "good"), "fair": ("一般", "fair"),
    "poor": ("较差", "poor"), "bad": ("差", "bad")}
#: Lower bound of |ΔEI| of each change grade, largest first.
CHANGE_BOUNDS: tuple[tuple[str, float], ...] = (
    ("significant", 8.0), ("obvious", 3.0), ("slight", 1.0), ("none", 0.0))
CHANGE_NAMES: dict[str, tuple[str, str]] = {
    "none": ("无明显变化", "no obvious change"), "slight": ("略微变化", "slight change"),
    "obvious": ("明显变化", "obvious change"), "significant": ("显著变化", "significant change")}
DIRECTION_NAMES: dict[str, tuple[str, str]] = {
    "better": ("变好", "better"), "worse": ("变差", "worse"), "stable": ("", "")}

#: NDVI classes standing in for the land-cover classes of the habitat-quality index: code,
#: lower bound (inclusive), upper bound (exclusive), habitat weight, meaning.
NDVI_CLASSES: tuple[tuple[str, float, float, float, str], ...] = (
    ("water", -math.inf, 0.0, 0.28, "水域 (NDVI < 0)"),
    ("bare", 0.0, 0.2, 0.04, "建设用地/裸地 (0 ≤ NDVI < 0.2)"),
    ("sparse", 0.2, 0.45, 0.11, "稀疏植被/耕地 (0.2 ≤ NDVI < 0.45)"),
    ("moderate", 0.45, 0.7, 0.21, "中覆盖植被/草地 (0.45 ≤ NDVI < 0.7)"),
    ("dense", 0.7, math.inf, 0.35, "高覆盖植被/林地 (NDVI ≥ 0.7)"),
)
#: Emission intensity (t/km²/a) at which a PLI term reaches 100: about the most industrial
#: urban districts (Hefei's central districts in the sample; the top of Chinese county statistics).
PLI_REFERENCE: dict[str, float] = {"so2_t": 20.0, "nox_t": 50.0, "pm_t": 20.0, "cod_t": 40.0,
                                   "nh3n_t": 4.0}
PLI_WEIGHTS: dict[str, float] = {"so2_t": 0.20, "nox_t": 0.20, "pm_t": 0.20, "cod_t": 0.10,
                                 "nh3n_t": 0.10}
#: River length per area (km/km²) and water-surface share at which a WDI term reaches 100.
RIVER_DENSITY_REFERENCE = 1.0
WATER_SHARE_REFERENCE = 0.2

APPROXIMATED = ("bi", "vi", "wdi", "lsi", "pli")
APPROXIMATIONS: dict[str, str] = {
    "bi": "habitat quality only (no species data): 100/0.35 × Σ w_c × share_c over NDVI classes "
          "water 0.28, bare/built 0.04, sparse 0.11, moderate 0.21, dense 0.35 (all-forest = 100)",
    "vi": "100 × mean of NDVI clipped to 0..1 over the valid pixels",
    "wdi": "mean of 100×min(1, river km per km² / 1.0) and 100×min(1, water-body share / 0.2); "
           "the water-resources term is missing and left out",
    "lsi": "100 × share of bare/built pixels (0 ≤ NDVI < 0.2); erosion terms missing",
    "pli": "Σ w_p × 100×min(1, (t/a per km²)/ref_p) / Σ w_p over permitted sources inside the "
           "area: SO2 0.2/20, NOx 0.2/50, dust 0.2/20, COD 0.1/40, NH3-N 0.1/4 (weight/ref)",
    "eri": "not applied unless given (a constraint from environmental events)",
}


def _index(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or not 0 <= v <= 100:
        raise InvalidInput(name, f"must be a number from 0 to 100, got {value!r}")
    return v


def ecological_index(bi: float, vi: float, wdi: float, lsi: float, pli: float,
                     eri: float = 0.0) -> float:
    """EI from its five indices (each 0–100) plus the environmental-restriction term ``eri``
    (added as given, ≤ 0 to penalise; the grade constraint is ``ei_grade(..., downgrade=)``)."""
    bi, vi, wdi = _index("bi", bi), _index("vi", vi), _index("wdi", wdi)
    lsi, pli = _index("lsi", lsi), _index("pli", pli)
    if not math.isfinite(float(eri)):
        raise InvalidInput("eri", f"must be a finite number, got {eri!r}")
    return (WEIGHTS["bi"] * bi + WEIGHTS["vi"] * vi + WEIGHTS["wdi"] * wdi
            + WEIGHTS["lsi"] * (100 - lsi) + WEIGHTS["pli"] * (100 - pli) + float(eri))


def ei_grade(value: float, *, downgrade: int = 0) -> str:
    """Grade code of an EI value; ``downgrade`` lowers it that many levels (the ERI constraint,
    e.g. 1 for an area with a major environmental event), never below "bad"."""
    v = float(value)
    if math.isnan(v):
        raise InvalidInput("ei", "is not a number")
    if downgrade < 0:
        raise InvalidInput("downgrade", f"must be 0 or more, got {downgrade}")
    for i, (_code, lower) in enumerate(GRADE_BOUNDS):
        if v >= lower:
            return GRADES[min(i + downgrade, len(GRADES) - 1)]
    raise AssertionError("unreachable: the last bound is -inf")


def ei_change_grade(delta: float) -> str:
    """Change grade code of ΔEI (its sign is :func:`ei_change_direction`)."""
    d = float(delta)
    if math.isnan(d):
        raise InvalidInput("delta", "is not a number")
    for code, lower in CHANGE_BOUNDS:
        if abs(d) >= lower:
            return code
    raise AssertionError("unreachable: the last bound is 0")


def ei_change_direction(delta: float) -> str:
    """"better" / "worse" when the change is at least slight, else "stable"."""
    if ei_change_grade(delta) == "none":
        return "stable"
    return "better" if delta > 0 else "worse"


def ei_change_label(delta: float, lang: str = "zh") -> str:
    """Bulletin wording: 无明显变化, 略微变好, 明显变差, 显著变好… (or English)."""
    grade, direction = ei_change_grade(delta), ei_change_direction(delta)
    k = 0 if lang == "zh" else 1
    if grade == "none":
        return CHANGE_NAMES[grade][k]
    if k == 0:
        return CHANGE_NAMES[grade][0].removesuffix("变化") + DIRECTION_NAMES[direction][0]
    return f"{CHANGE_NAMES[grade][1]}, {DIRECTION_NAMES[direction][1]}"


# --- the approximated indicators -------------------------------------------------------------

def ndvi_class_shares(ndvi: np.ndarray) -> dict[str, float]:
    """Share of the finite NDVI values in each of :data:`NDVI_CLASSES` (empty → all 0)."""
    values = np.asarray(ndvi, dtype="float64").ravel()
    values = values[np.isfinite(values)]
    n = values.size
    shares = {}
    for code, lo, hi, _, _ in NDVI_CLASSES:
        shares[code] = float(((values >= lo) & (values < hi)).sum() / n) if n else 0.0
    return shares


def biological_abundance(shares: Mapping[str, float]) -> float:
    """BI approximated as the habitat-quality index of the NDVI classes (see APPROXIMATIONS)."""
    top = max(w for *_, w, _ in NDVI_CLASSES)
    hq = sum(w * shares.get(code, 0.0) for code, _, _, w, _ in NDVI_CLASSES)
    return min(100.0, 100.0 * hq / top)


def vegetation_cover(ndvi: np.ndarray) -> float:
    """VI approximated as 100 × mean NDVI (clipped to 0..1); NaN when no valid pixel."""
    values = np.asarray(ndvi, dtype="float64")
    values = values[np.isfinite(values)]
    return float(100.0 * np.clip(values, 0.0, 1.0).mean()) if values.size else math.nan


def water_network_density(river_km: float, water_km2: float, area_km2: float) -> float:
    """WDI approximated from river length and water-body area per area (see APPROXIMATIONS)."""
    if not area_km2 > 0:
        raise InvalidInput("area_km2", f"must be positive, got {area_km2!r}")
    river = 100.0 * min(1.0, river_km / area_km2 / RIVER_DENSITY_REFERENCE)
    water = 100.0 * min(1.0, water_km2 / area_km2 / WATER_SHARE_REFERENCE)
    return (river + water) / 2


def land_stress(shares: Mapping[str, float]) -> float:
    """LSI approximated as 100 × the bare/built share."""
    return 100.0 * shares.get("bare", 0.0)


def pollution_load(emissions_t: Mapping[str, float], area_km2: float) -> float:
    """PLI approximated from annual emissions (t/a, keys of PLI_WEIGHTS) inside ``area_km2``."""
    if not area_km2 > 0:
        raise InvalidInput("area_km2", f"must be positive, got {area_km2!r}")
    total = sum(PLI_WEIGHTS.values())
    load = 0.0
    for key, w in PLI_WEIGHTS.items():
        t = float(emissions_t.get(key, 0.0) or 0.0)
        if t < 0 or not math.isfinite(t):
            raise InvalidInput(key, f"must be a non-negative emission in t/a, got {t!r}")
        load += w * 100.0 * min(1.0, t / area_km2 / PLI_REFERENCE[key])
    return load / total
