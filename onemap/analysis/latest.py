"""The latest state of each monitoring site: what a map symbol should show "now".

Stations and sections are layers; their measurements are attribute tables (time series).
These functions join the most recent *valid* record to each site and evaluate it with the
standards, so the map colours a station by its latest AQI and a section by its latest class.
"Valid" follows the feed's QC flags: only HJ 212 flag ``N`` rows count.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from onemap.analysis.standards import aqi as aqi_std
from onemap.analysis.standards import water as water_std

AIR_POLLUTANTS = list(aqi_std.POLLUTANTS)
WATER_PARAMETERS = ["do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "ph"]


def _latest(records: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    present = [c for c in columns if c in records]
    rows = records.dropna(subset=present, how="all")
    rows = rows.sort_values([key, "time"]).drop_duplicates(key, keep="last")
    return rows.set_index(key)


def latest_station_aqi(stations: gpd.GeoDataFrame, hourly: pd.DataFrame) -> gpd.GeoDataFrame:
    """Stations with their latest valid hour: ``time``, the six concentrations, ``aqi``,
    ``aqi_level`` and ``primary_pollutant`` (HJ 633 real-time AQI). Stations with no valid
    hour keep null values, which the map draws in the no-data colour.
    """
    valid = hourly[hourly["flag"] == "N"] if "flag" in hourly else hourly
    last = _latest(valid, "station_id", AIR_POLLUTANTS)
    evaluated = aqi_std.hourly_aqi(last)
    last = last[["time", *[p for p in AIR_POLLUTANTS if p in last]]].join(
        evaluated[["aqi", "aqi_level", "primary_pollutant"]])
    drop = [c for c in last.columns if c in stations.columns]
    return stations.drop(columns=drop).join(last, on="station_id")


def latest_section_class(sections: gpd.GeoDataFrame, samples: pd.DataFrame) -> gpd.GeoDataFrame:
    """Sections with their latest sample's GB 3838 class (``water_class``), the parameters
    exceeding the section's target class (``exceeding``, e.g. "tp:0.6,nh3n:0.2") and
    ``sample_time``.
    """
    last = _latest(samples, "section_id", WATER_PARAMETERS)
    lake_ids = set()
    if "water_body_type" in sections:
        lake_ids = set(sections.loc[sections["water_body_type"].isin(["lake", "reservoir"]),
                                    "section_id"])
    targets = sections.set_index("section_id")["target_class"].to_dict()
    classes, exceed = [], []
    for section_id, row in last.iterrows():
        values = {p: row[p] for p in WATER_PARAMETERS if p in row and pd.notna(row[p])}
        lake = section_id in lake_ids
        classes.append(water_std.sample_class(values, lake=lake))
        target = targets.get(section_id) or "III"
        target = "V" if target == "V+" else target
        ex = water_std.exceeding(values, target, lake=lake)
        exceed.append(",".join(f"{p}:{m}" if m is not None else p for p, m in ex.items()))
    result = pd.DataFrame({"water_class": classes, "exceeding": exceed,
                           "sample_time": last["time"]}, index=last.index)
    drop = [c for c in result.columns if c in sections.columns]
    return sections.drop(columns=drop).join(result, on="section_id")
