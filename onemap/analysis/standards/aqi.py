"""Air quality index per HJ 633-2012 (环境空气质量指数（AQI）技术规定（试行）).

Breakpoints are table 1 of the standard. Concentrations are µg/m³ except CO in mg/m³.
IAQI is the linear interpolation of formula (1) between the bracketing breakpoints, rounded up
to an integer (the standard's 进位取整). AQI is the largest IAQI; the primary pollutant is named
only when AQI > 50, and every pollutant with IAQI > 100 is an exceeding pollutant.

Two averaging periods matter: the real-time (hourly) report uses the 1-hour breakpoints for
SO₂, NO₂, CO and O₃ and — as the standard has no 1-hour PM breakpoints — the 24-hour ones for
PM10 and PM2.5; the daily report uses 24-hour values (and O₃ 8-hour). Special rules:
SO₂ 1-hour above 800 µg/m³ is not indexed on the 1-hour scale (report its 24-hour IAQI);
O₃ 8-hour above 800 µg/m³ is indexed on the 1-hour scale instead.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

Period = Literal["1h", "24h"]
POLLUTANTS = ("so2", "no2", "pm10", "co", "o3", "pm25")
IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)

#: Table 1 of HJ 633-2012. Keys: (pollutant, averaging) -> concentration breakpoints matching
#: IAQI_STEPS (shorter tuples end where the standard stops indexing that series).
BREAKPOINTS: dict[tuple[str, str], tuple[float, ...]] = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}
LEVEL_UPPER = (50, 100, 150, 200, 300)  # level n covers AQI up to LEVEL_UPPER[n-1]; level 6 above
NAMES = {"so2": "SO2", "no2": "NO2", "pm10": "PM10", "co": "CO", "o3": "O3", "pm25": "PM2.5"}


def _table(pollutant: str, averaging: str) -> tuple[float, ...]:
    if (pollutant, averaging) in BREAKPOINTS:
        return BREAKPOINTS[(pollutant, averaging)]
    if pollutant in ("pm10", "pm25"):  # no 1-hour PM breakpoints: the 24-hour ones apply
        return BREAKPOINTS[(pollutant, "24h")]
    raise ValueError(f"no HJ 633 breakpoints for {pollutant!r} averaged over {averaging!r}")


def iaqi(pollutant: str, concentration: float | None, averaging: str = "1h") -> int | None:
    """Individual AQI of one concentration; None for a missing or negative value.

    Concentrations above the last breakpoint are capped at IAQI 500, the top of the scale.
    """
    values = iaqi_array(pollutant, np.asarray([np.nan if concentration is None
                                               else concentration], dtype=float), averaging)
    v = values[0]
    return None if math.isnan(v) else int(v)


def iaqi_array(pollutant: str, conc: np.ndarray, averaging: str = "1h") -> np.ndarray:
    """Vectorised :func:`iaqi`: float array with NaN where not indexable."""
    conc = np.asarray(conc, dtype=float)
    bp = np.asarray(_table(pollutant, averaging), dtype=float)
    steps = np.asarray(IAQI_STEPS[: len(bp)], dtype=float)
    out = np.full(conc.shape, np.nan)
    ok = np.isfinite(conc) & (conc >= 0)
    c = conc[ok]
    # index of the upper breakpoint of the bracket: BP_lo <= C <= BP_hi (a value on a breakpoint
    # belongs to the lower bracket, which gives the same IAQI as the upper one).
    hi = np.clip(np.searchsorted(bp, c, side="left"), 1, len(bp) - 1)
    lo = hi - 1
    raw = (steps[hi] - steps[lo]) / (bp[hi] - bp[lo]) * (c - bp[lo]) + steps[lo]
    # round up to an integer; guard against 50.00000000001 from floating point
    vals = np.ceil(np.round(raw, 6))
    over = c > bp[-1]
    if over.any():
        if (pollutant, averaging) == ("so2", "1h"):
            vals[over] = np.nan  # not indexed hourly above 800 µg/m³: caller uses 24-h value
        elif (pollutant, averaging) == ("o3", "8h"):
            vals[over] = np.nan  # above 800 µg/m³ the 1-hour O3 IAQI is reported instead
        else:
            vals[over] = 500
    out[ok] = vals
    return out


def aqi_level(aqi: float | None) -> int | None:
    """Level 1–6 of an AQI value (优, 良, 轻度, 中度, 重度, 严重污染)."""
    if aqi is None or (isinstance(aqi, float) and math.isnan(aqi)):
        return None
    return next((i + 1 for i, up in enumerate(LEVEL_UPPER) if aqi <= up), 6)


def hourly_aqi(frame: pd.DataFrame) -> pd.DataFrame:
    """Real-time (hourly) AQI for rows of pm25, pm10, so2, no2, co, o3 concentrations.

    Returns a frame aligned with ``frame`` with one ``iaqi_<pollutant>`` column each and
    ``aqi`` (Int64), ``aqi_level`` (Int64) and ``primary_pollutant`` (e.g. "PM2.5", "" when
    AQI <= 50, several joined with "," on ties). Rows with no valid concentration get <NA>.
    """
    out = pd.DataFrame(index=frame.index)
    for p in POLLUTANTS:
        conc = frame[p].to_numpy(dtype=float, na_value=np.nan) if p in frame else np.full(
            len(frame), np.nan)
        values = iaqi_array(p, conc, "1h")
        if p == "so2":  # SO2 1h > 800: report with the 24-h scale as the standard says
            high = np.isfinite(conc) & (conc > 800)
            values[high] = iaqi_array("so2", conc[high], "24h")
        out[f"iaqi_{p}"] = values
    matrix = out[[f"iaqi_{p}" for p in POLLUTANTS]].to_numpy()
    valid = np.isfinite(matrix).any(axis=1)
    aqi = np.where(valid, np.nanmax(np.where(np.isfinite(matrix), matrix, -1), axis=1), np.nan)
    out["aqi"] = pd.array(np.where(valid, aqi, np.nan), dtype="Int64") if len(out) else pd.array(
        [], dtype="Int64")
    out["aqi_level"] = pd.array([aqi_level(a) if v else None for a, v in zip(aqi, valid,
                                                                                strict=True)],
                                dtype="Int64")
    names = np.array([NAMES[p] for p in POLLUTANTS])
    primary = []
    for row, a, v in zip(matrix, aqi, valid, strict=True):
        primary.append(",".join(names[row == a]) if v and a > 50 else "")
    out["primary_pollutant"] = primary
    return out
