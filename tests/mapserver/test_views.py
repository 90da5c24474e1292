"""Stations and sections are served with their latest state (AQI, water class)."""

from __future__ import annotations

import pandas as pd
import requests

from onemap.analysis.standards import aqi as aqi_std
from onemap.analysis.standards import water as water_std
from onemap.config import Settings
from onemap.layers.store import read_layer


def _items(base: str, collection: str) -> dict[str, dict]:
    r = requests.get(f"{base}/ogc/collections/{collection}/items",
                     params={"f": "json", "limit": 1000}, timeout=30)
    r.raise_for_status()
    return {f["id"]: f["properties"] for f in r.json()["features"]}


def test_air_stations_carry_the_aqi_of_their_latest_valid_hour(live_server: str,
                                                               sample_settings: Settings):
    served = _items(live_server, "air_stations")
    hourly = read_layer("air_hourly", sample_settings)
    valid = hourly[(hourly["flag"] == "N")
                   & hourly[["pm25", "pm10", "so2", "no2", "co", "o3"]].notna().any(axis=1)]
    last = valid.sort_values("time").groupby("station_id").tail(1).set_index("station_id")
    assert set(served) == set(read_layer("air_stations", sample_settings)["station_id"])
    checked = 0
    for station_id, props in served.items():
        if station_id not in last.index:
            assert props["aqi"] is None
            continue
        row = last.loc[station_id]
        assert pd.Timestamp(props["time"]) == row["time"]
        expected = aqi_std.hourly_aqi(row.to_frame().T.astype(
            {p: float for p in aqi_std.POLLUTANTS}))
        assert props["aqi"] == int(expected["aqi"].iloc[0])
        assert props["aqi_level"] == aqi_std.aqi_level(props["aqi"])
        checked += 1
    assert checked >= 30


def test_water_sections_carry_the_class_of_their_latest_sample(live_server: str,
                                                               sample_settings: Settings):
    served = _items(live_server, "water_sections")
    samples = read_layer("water_samples", sample_settings).sort_values("time")
    sections = read_layer("water_sections", sample_settings).set_index("section_id")
    last = samples.groupby("section_id").tail(1).set_index("section_id")
    assert len(served) == len(sections)
    for section_id, props in served.items():
        values = {k: v for k, v in last.loc[section_id].items() if isinstance(v, float)
                  and pd.notna(v)}
        lake = sections.loc[section_id, "water_body_type"] in ("lake", "reservoir")
        assert props["water_class"] == water_std.sample_class(values, lake=lake)
    # the view is filterable like any layer: the worst sections by CQL
    r = requests.get(f"{live_server}/ogc/collections/water_sections/items",
                     params={"f": "json", "filter": "water_class = 'V+'",
                             "filter-lang": "cql-text"}, timeout=30)
    worst = {f["id"] for f in r.json()["features"]}
    assert worst == {k for k, p in served.items() if p["water_class"] == "V+"}
