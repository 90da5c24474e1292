"""Haze: daily AQI of every station and of the region, and pollution episodes.

An episode (污染过程) is a run of consecutive days whose daily AQI is above a threshold
(default 100, i.e. at least 轻度污染) lasting at least ``min_days``. A missing day (no valid
daily AQI) ends a run: an analyser outage is not evidence that the air stayed polluted.

The regional day is the mean of the stations' daily statistics, as HJ 663-2013 builds a city's
value from its assessment sites; OneMap requires at least ``min_share`` (default 75 %) of the
stations to have the statistic that day, so a day when half the network was down does not
stand for the region.
"""

from __future__ import annotations

import pandas as pd

from onemap.analysis.standards.daily import daily_aqi, daily_statistics

STATISTICS = ("so2", "no2", "co", "pm10", "pm25", "o3_1h", "o3_8h")


def station_daily_aqi(hourly: pd.DataFrame, *, key: str = "station_id") -> pd.DataFrame:
    """HJ 663 daily statistics and HJ 633 daily AQI per station and Beijing day."""
    return daily_aqi(daily_statistics(hourly, key=key))


def regional_daily_aqi(daily: pd.DataFrame, *, key: str = "station_id",
                       min_share: float = 0.75) -> pd.DataFrame:
    """One row per date: the stations' mean statistics (where at least ``min_share`` of the
    stations have a value) and the AQI of those means; ``n_stations`` says how many reported."""
    total = daily[key].nunique()
    present = [s for s in STATISTICS if s in daily]
    grouped = daily.groupby("date")
    means = grouped[present].mean()
    counts = grouped[present].count()
    means = means.where(counts >= min_share * total)
    means["n_stations"] = grouped["aqi"].count() if "aqi" in daily else counts.max(axis=1)
    out = daily_aqi(means.reset_index())
    out.insert(0, "region", "region")
    return out


def episodes(daily: pd.DataFrame, *, threshold: int = 100, min_days: int = 2,
             key: str | None = "station_id") -> pd.DataFrame:
    """Runs of consecutive days with ``aqi > threshold`` lasting ``min_days`` or more.

    Returns ``key`` (when given), ``start``, ``end``, ``days``, ``max_aqi``, ``mean_aqi``,
    ``peak_date`` and ``primary_pollutant`` (the most frequent one over the run).
    """
    rows = []
    groups = daily.groupby(key, sort=True) if key else [(None, daily)]
    for site, group in groups:
        g = group.dropna(subset=["aqi"]).sort_values("date")
        dates = pd.to_datetime(g["date"])
        high = (g["aqi"] > threshold).to_numpy()
        # a new run starts at a high day whose previous row is not the day before and high
        gap = dates.diff().dt.days.ne(1).to_numpy()
        run = pd.Series((high & (gap | ~pd.Series(high).shift(1, fill_value=False).to_numpy()))
                        .cumsum(), index=g.index)
        for _, r in g[high].groupby(run[high]):
            if len(r) < min_days:
                continue
            peak = r.loc[r["aqi"].astype(float).idxmax()]
            primaries = r["primary_pollutant"].str.split(",").explode() \
                if "primary_pollutant" in r else pd.Series(dtype=str)
            row = {"start": r["date"].iloc[0], "end": r["date"].iloc[-1], "days": len(r),
                   "max_aqi": int(r["aqi"].max()), "mean_aqi": float(r["aqi"].mean()),
                   "peak_date": peak["date"],
                   "primary_pollutant": primaries.mode().iloc[0] if len(primaries) else ""}
            rows.append({key: site, **row} if key else row)
    columns = ([key] if key else []) + ["start", "end", "days", "max_aqi", "mean_aqi",
                                        "peak_date", "primary_pollutant"]
    return pd.DataFrame(rows, columns=columns)
