"""Daily air-quality statistics per HJ 663-2013 and the daily AQI per HJ 633-2012.

Validity (HJ 663-2013 §5 and GB 3095-2012 table 4, minimum data for a statistic to exist):

- a 24-hour mean (SO₂, NO₂, CO, PM10, PM2.5) needs at least 20 valid hourly values that day;
- an O₃ 8-hour moving mean needs at least 6 valid hourly values among its 8 hours;
- the O₃ daily maximum 8-hour mean needs at least 14 valid 8-hour means among the 17 windows
  ending at 08:00 … 24:00 of that day (HJ 663 takes the windows ending from 8 o'clock to 24);
- the O₃ daily maximum 1-hour value is the largest valid hour (no minimum is set; a day with
  fewer than 20 valid hours is still flagged ``o3_1h_complete = False``).

A statistic that fails its rule is missing (NaN), never computed from too few values, so a day
with an analyser outage does not get a flattering AQI. "Valid" hours are those whose HJ 212
flag is ``N``.

Hour labels: Chinese monitoring feeds (HJ 212, the national real-time release) stamp an hourly
value with the *end* of its hour, so day D is the hours stamped D 01:00 … D+1 00:00; pass
``hour_label="start"`` for feeds that stamp the start. Days are Beijing days: tz-aware times
are converted to Asia/Shanghai first.

Daily AQI (HJ 633-2012 §5): IAQI of the 24-hour means of SO₂, NO₂, CO, PM10 and PM2.5, of the
O₃ daily maximum 1-hour value (1-hour breakpoints) and of the O₃ daily maximum 8-hour mean
(8-hour breakpoints; above 800 µg/m³ the 1-hour IAQI is reported instead). AQI is the largest
IAQI; the primary pollutant is named only when AQI > 50.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from onemap.analysis.standards.aqi import NAMES, aqi_level, iaqi_array

TIMEZONE = "Asia/Shanghai"
MEAN_24H = ("so2", "no2", "co", "pm10", "pm25")
MIN_HOURS_24H = 20
MIN_HOURS_8H = 6
MIN_WINDOWS_O3_8H = 14
#: Daily IAQI columns and the names they are reported under.
DAILY_IAQI = {"so2": "SO2", "no2": "NO2", "co": "CO", "pm10": "PM10", "pm25": "PM2.5",
              "o3_1h": "O3_1h", "o3_8h": "O3_8h"}


def _local_naive(times: pd.Series) -> pd.Series:
    t = pd.to_datetime(times)
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    return t


def _hourly_grid(group: pd.DataFrame, shift: pd.Timedelta) -> pd.DataFrame:
    """One row per hour (missing hours as NaN) indexed by the hour's *end* time."""
    g = group.set_index(group["time"] + shift).sort_index()
    g = g[~g.index.duplicated(keep="last")]
    second = pd.Timedelta(seconds=1)  # hour ends at D+1 00:00 belong to day D
    first = (g.index.min() - second).floor("D") + pd.Timedelta(hours=1)
    last = (g.index.max() - second).floor("D") + pd.Timedelta(days=1)
    full = pd.date_range(first, last, freq="h")
    return g.reindex(full)


def daily_statistics(hourly: pd.DataFrame, *, key: str = "station_id",
                     hour_label: Literal["end", "start"] = "end") -> pd.DataFrame:
    """Per ``key`` and Beijing day: 24-h means, O₃ max 1-h and max 8-h, with HJ 663 validity.

    ``hourly`` has ``key``, ``time``, any of so2/no2/co/pm10/pm25/o3 and optionally ``flag``
    (HJ 212; only ``N`` rows count). Returns ``key``, ``date``, the statistics, ``n_hours``
    (valid hours per pollutant, as ``n_<pollutant>``) and ``o3_1h_complete``.
    """
    frame = hourly.copy()
    frame["time"] = _local_naive(frame["time"])
    if "flag" in frame:
        frame = frame[frame["flag"].astype(str).str.upper() == "N"]
    present = [p for p in (*MEAN_24H, "o3") if p in frame]
    shift = pd.Timedelta(0) if hour_label == "end" else pd.Timedelta(hours=1)
    out = []
    for site, group in frame.groupby(key, sort=True):
        grid = _hourly_grid(group[["time", *present]], shift)
        # day D = hours ending D 01:00 … D+1 00:00, i.e. the end time minus 1 s floored to D
        day = (grid.index - pd.Timedelta(seconds=1)).floor("D")
        stats = pd.DataFrame(index=pd.Index(sorted(set(day)), name="date"))
        for p in present:
            values = grid[p].astype(float)
            n = values.groupby(day).count()
            mean = values.groupby(day).mean()
            stats[f"n_{p}"] = n
            if p != "o3":
                stats[p] = mean.where(n >= MIN_HOURS_24H)
        if "o3" in present:
            o3 = grid["o3"].astype(float)
            stats["o3_1h"] = o3.groupby(day).max()
            stats["o3_1h_complete"] = stats["n_o3"] >= MIN_HOURS_24H
            rolling = o3.rolling(8, min_periods=MIN_HOURS_8H).mean()
            end_hour = grid.index.hour
            # windows ending at 08:00 … 23:00 of D, plus the one ending at 24:00 (= D+1 00:00)
            in_day = (end_hour >= 8) | (end_hour == 0)
            windows = rolling[in_day]
            wday = day[in_day]
            count = windows.groupby(wday).count()
            stats["o3_8h"] = windows.groupby(wday).max().where(count >= MIN_WINDOWS_O3_8H)
            stats["n_o3_8h_windows"] = count
        stats = stats[[c for c in stats if c.startswith("n_")]].fillna(0).astype(int).join(
            stats[[c for c in stats if not c.startswith("n_")]])
        stats.insert(0, key, site)
        out.append(stats.reset_index())
    if not out:
        return pd.DataFrame(columns=[key, "date"])
    result = pd.concat(out, ignore_index=True)
    result["date"] = pd.to_datetime(result["date"]).dt.date
    return result


def daily_aqi(daily: pd.DataFrame) -> pd.DataFrame:
    """HJ 633 daily IAQI per pollutant, ``aqi``, ``aqi_level`` and ``primary_pollutant`` for the
    rows of :func:`daily_statistics` (a row with no valid statistic gets <NA>)."""
    out = daily.copy()
    n = len(out)
    columns = []
    for p, averaging in (("so2", "24h"), ("no2", "24h"), ("co", "24h"), ("pm10", "24h"),
                         ("pm25", "24h"), ("o3_1h", "1h"), ("o3_8h", "8h")):
        conc = out[p].to_numpy(dtype=float, na_value=np.nan) if p in out else np.full(n, np.nan)
        values = iaqi_array(p.split("_")[0], conc, averaging)
        if p == "o3_8h":  # above 800 µg/m³ the 1-hour O3 IAQI is reported instead
            high = np.isfinite(conc) & (conc > 800)
            if high.any() and "o3_1h" in out:
                values[high] = iaqi_array("o3", out["o3_1h"].to_numpy(float)[high], "1h")
        out[f"iaqi_{p}"] = values
        columns.append(f"iaqi_{p}")
    matrix = out[columns].to_numpy()
    valid = np.isfinite(matrix).any(axis=1)
    filled = np.where(np.isfinite(matrix), matrix, -1)
    aqi = np.where(valid, filled.max(axis=1) if n else np.zeros(0), np.nan)
    out["aqi"] = pd.array(aqi, dtype="Int64") if n else pd.array([], dtype="Int64")
    out["aqi_level"] = pd.array([aqi_level(a) if v else None for a, v in zip(aqi, valid,
                                                                                strict=True)],
                                dtype="Int64")
    names = np.array([DAILY_IAQI[c.removeprefix("iaqi_")] for c in columns])
    # O3 counts once as primary pollutant whichever of its two statistics is the maximum
    pretty = np.array([NAMES["o3"] if n_.startswith("O3") else n_ for n_ in names])
    out["primary_pollutant"] = [
        ",".join(dict.fromkeys(pretty[row == a])) if v and a > 50 else ""
        for row, a, v in zip(filled, aqi, valid, strict=True)]
    return out
