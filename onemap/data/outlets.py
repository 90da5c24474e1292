"""The sources' outlets (排放口) with their permits' concentration limits and, for key-managed
sources (重点排污单位, which must monitor online), the HJ 212 device that reports them.

An outlet stands a few tens of metres from its source's point. Limits are the direct-discharge
limits of the national standard of the source's industry (a permit may set stricter ones):
GB 13223-2011 thermal power (ultra-low emission values), GB 13271-2014 boilers, GB 4915-2013
cement, GB 26453-2011 flat glass, GB 28665-2012 steel rolling, GB 37822-2019 / GB 31571-2015
VOCs, GB 16297-1996 otherwise; GB 18918-2002 class 1A for wastewater plants, GB 3544-2008
paper, GB 4287-2012 dyeing, GB 21904-2008 pharmaceuticals, GB 8978-1996 class 1 otherwise.
"""

from __future__ import annotations

import pandas as pd

from onemap.data.geography import KM_PER_DEG_LAT, km_per_deg_lon, rng

#: Air limits (mg/m³): standard, SO₂, NOx, particulates, NMHC (None: not limited there).
AIR_LIMITS: dict[str, tuple[str, float | None, float | None, float | None, float | None]] = {
    "D4411": ("GB 13223-2011", 35, 50, 10, None),
    "D4430": ("GB 13271-2014", 200, 200, 30, None),
    "N7820": ("GB 13271-2014", 200, 200, 30, None),
    "C3011": ("GB 4915-2013", 200, 400, 30, None),
    "C3041": ("GB 26453-2011", 400, 700, 50, None),
    "C3130": ("GB 28665-2012", 150, 300, 20, None),
    "C2614": ("GB 31571-2015", 100, 150, 20, 120),
    "C2641": ("GB 37822-2019", None, None, 30, 60),
    "C3670": ("GB 37822-2019", None, None, 30, 60),
    "C3612": ("GB 37822-2019", None, None, 30, 60),
}
AIR_DEFAULT = ("GB 16297-1996", 550, 240, 120, 120)
#: Water limits (mg/L): standard, COD, NH₃-N, TP, TN.
WATER_LIMITS: dict[str, tuple[str, float, float, float | None, float | None]] = {
    "D4620": ("GB 18918-2002", 50, 5, 0.5, 15),
    "C2211": ("GB 3544-2008", 100, 12, 0.8, 15),
    "C2221": ("GB 3544-2008", 80, 8, 0.8, 12),
    "C1713": ("GB 4287-2012", 80, 10, 0.5, 15),
    "C2710": ("GB 21904-2008", 120, 25, 1.0, 35),
}
WATER_DEFAULT = ("GB 8978-1996", 100, 15, 0.5, None)
#: How far an outlet stands from its source's point (km).
SPREAD_KM = 0.06


def outlet_rows(sources: pd.DataFrame) -> pd.DataFrame:
    """One row per outlet of every permitted source (key and simplified management), with
    lon/lat; ``sources`` as :func:`onemap.data.sources.source_rows` makes them."""
    gen = rng("outlets")
    permitted = sources[sources["permit_class"].isin(("key", "simplified"))]
    rows = []
    for src in permitted.itertuples(index=False):
        for outlet in str(src.outlets).split(";"):
            air = outlet.startswith("DA")
            std, *limits = (AIR_LIMITS.get(src.industry_code, AIR_DEFAULT) if air
                            else WATER_LIMITS.get(src.industry_code, WATER_DEFAULT))
            names = (("so2_limit", "nox_limit", "pm_limit", "nmhc_limit") if air
                     else ("cod_limit", "nh3n_limit", "tp_limit", "tn_limit"))
            dx, dy = gen.normal(0, SPREAD_KM, 2)
            rows.append({
                "outlet_code": src.source_id + outlet, "source_id": src.source_id,
                "outlet_id": outlet, "medium": "air" if air else "water",
                "mn": "".join(gen.choice(list("0123456789ABCDEF"), 24))
                if src.permit_class == "key" else None,
                "standard": std, **dict(zip(names, limits, strict=True)),
                **({} if air else {"ph_min": 6.0, "ph_max": 9.0}),
                "county_code": src.county_code,
                "lon": round(src.lon + dx / km_per_deg_lon(src.lat), 6),
                "lat": round(src.lat + dy / KM_PER_DEG_LAT, 6)})
    return pd.DataFrame(rows)
