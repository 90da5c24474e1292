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


def _target(value: object) -> str:
    """The class a section's exceedances are counted against: its target, default III (the
    national default for a section without one), and V for a "V+" target (nothing is worse)."""
    if value == water_std.WORSE_THAN_V:
        return "V"
    return value if value in water_std.CLASSES else "III"


def sample_classes(sections: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """The GB 3838 class of every sample (``water_class``) and its parameters above the
    section's target class (``exceeding``, e.g. "tp:0.6,nh3n:0.2", or ""), indexed like
    ``samples``.

    Each sample is judged with its own section's rules: lake and reservoir sections use the
    lake TP limits, and exceedances count against the section's ``target_class``. A sample
    with no evaluable parameter gets a null class. This is the one place a sample is
    evaluated, so a section's history and its latest state on the map cannot disagree.
    """
    lake_ids: set[str] = set()
    if "water_body_type" in sections:
        lake_ids = set(sections.loc[sections["water_body_type"].isin(["lake", "reservoir"]),
                                    "section_id"])
    targets = (sections.drop_duplicates("section_id").set_index("section_id")["target_class"]
               .to_dict() if "target_class" in sections else {})
    present = [p for p in WATER_PARAMETERS if p in samples]
    classes: list[str | None] = []
    exceed: list[str] = []
    for section_id, row in zip(samples["section_id"], samples[present].to_dict("records"),
                               strict=True):
        values = {p: float(v) for p, v in row.items() if pd.notna(v)}
        lake = section_id in lake_ids
        classes.append(water_std.sample_class(values, lake=lake))
        ex = water_std.exceeding(values, _target(targets.get(section_id)), lake=lake)
        exceed.append(",".join(f"{p}:{m}" if m is not None else p for p, m in ex.items()))
    return pd.DataFrame({"water_class": pd.Series(classes, index=samples.index, dtype=object),
                         "exceeding": pd.Series(exceed, index=samples.index, dtype=object)})


def with_sample_classes(sections: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """``samples`` with :func:`sample_classes`' two columns added (replacing any of that
    name), for serving a section's history with the class of each sample."""
    evaluated = sample_classes(sections, samples)
    return samples.drop(columns=list(evaluated.columns), errors="ignore").join(evaluated)


def latest_section_class(sections: gpd.GeoDataFrame, samples: pd.DataFrame) -> gpd.GeoDataFrame:
    """Sections with their latest sample's GB 3838 class (``water_class``), the parameters
    exceeding the section's target class (``exceeding``, e.g. "tp:0.6,nh3n:0.2") and
    ``sample_time``; the latest sample is evaluated by :func:`sample_classes`, exactly as the
    served sample history is.
    """
    last = _latest(samples, "section_id", WATER_PARAMETERS)
    evaluated = sample_classes(sections, last.reset_index())
    result = pd.DataFrame({"water_class": evaluated["water_class"].to_numpy(),
                           "exceeding": evaluated["exceeding"].to_numpy(),
                           "sample_time": last["time"]}, index=last.index)
    drop = [c for c in result.columns if c in sections.columns]
    return sections.drop(columns=drop).join(result, on="section_id")
