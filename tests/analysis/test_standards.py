"""HJ 633-2012 and GB 3838-2002 on cases worked by hand from the published tables."""

import math

import pandas as pd
import pytest

from onemap.analysis.standards import aqi, water


@pytest.mark.parametrize(("pollutant", "period", "conc", "expected"), [
    # PM2.5 24 h: 0-35-75-115-150-250-350-500 -> 0-50-100-150-200-300-400-500
    ("pm25", "24h", 0, 0), ("pm25", "24h", 35, 50), ("pm25", "24h", 35.1, 51),
    ("pm25", "24h", 75, 100), ("pm25", "24h", 80, 107), ("pm25", "24h", 115, 150),
    ("pm25", "24h", 150, 200), ("pm25", "24h", 250, 300), ("pm25", "24h", 350, 400),
    ("pm25", "24h", 500, 500), ("pm25", "24h", 620, 500),
    # hourly PM uses the 24-h breakpoints (no 1-h PM breakpoints in table 1)
    ("pm25", "1h", 75, 100), ("pm10", "1h", 150, 100), ("pm10", "24h", 420, 300),
    # SO2 1 h: 150 -> 50, 500 -> 100, 650 -> 150, 800 -> 200, above 800 not indexed hourly
    ("so2", "1h", 150, 50), ("so2", "1h", 500, 100), ("so2", "1h", 650, 150),
    ("so2", "1h", 800, 200), ("so2", "1h", 801, None), ("so2", "24h", 801, 201),
    # NO2 1 h: 100 -> 50, 200 -> 100, 700 -> 150; 24 h: 40 -> 50, 80 -> 100
    ("no2", "1h", 100, 50), ("no2", "1h", 200, 100), ("no2", "1h", 700, 150),
    ("no2", "24h", 40, 50), ("no2", "24h", 80, 100), ("no2", "24h", 60, 75),
    # CO mg/m3, 1 h: 5 -> 50, 10 -> 100; 24 h: 2 -> 50, 4 -> 100, 14 -> 150
    ("co", "1h", 5, 50), ("co", "1h", 10, 100), ("co", "24h", 4, 100), ("co", "24h", 14, 150),
    # O3 1 h: 160 -> 50, 200 -> 100, 300 -> 150; 8 h: 100 -> 50, 160 -> 100, 801 -> use 1 h
    ("o3", "1h", 160, 50), ("o3", "1h", 200, 100), ("o3", "1h", 300, 150),
    ("o3", "8h", 100, 50), ("o3", "8h", 160, 100), ("o3", "8h", 801, None),
    ("pm25", "1h", -1, None), ("pm25", "1h", None, None),
])
def test_iaqi_breakpoints(pollutant, period, conc, expected):
    assert aqi.iaqi(pollutant, conc, period) == expected


@pytest.mark.parametrize(("value", "level"), [(0, 1), (50, 1), (51, 2), (100, 2), (101, 3),
                                              (150, 3), (151, 4), (200, 4), (201, 5), (300, 5),
                                              (301, 6), (500, 6)])
def test_aqi_levels(value, level):
    assert aqi.aqi_level(value) == level


def test_hourly_aqi_primary_pollutant_only_above_50_and_ties_listed():
    frame = pd.DataFrame({
        "pm25": [20, 80, 75, None], "pm10": [30, 100, 150, None], "so2": [5, 5, 5, None],
        "no2": [20, 20, 20, None], "co": [0.5, 0.5, 0.5, None], "o3": [60, 250, 60, None]})
    out = aqi.hourly_aqi(frame)
    assert out["aqi"].tolist()[:3] == [30, 125, 100]
    assert out["primary_pollutant"].tolist()[:3] == ["", "O3", "PM10,PM2.5"]
    assert out["aqi_level"].tolist()[:3] == [1, 3, 2]
    assert out["aqi"].isna().tolist() == [False, False, False, True]


def test_so2_hourly_above_800_falls_back_to_24h_scale():
    frame = pd.DataFrame({"so2": [900.0], "pm25": [10.0]})
    assert aqi.hourly_aqi(frame)["aqi"].iloc[0] == math.ceil(200 + 100 / 800 * 100)


@pytest.mark.parametrize(("param", "value", "lake", "cls"), [
    ("do", 7.5, False, "I"), ("do", 7.4, False, "II"), ("do", 5, False, "III"),
    ("do", 1.9, False, "V+"), ("nh3n", 0.15, False, "I"), ("nh3n", 1.0, False, "III"),
    ("nh3n", 1.01, False, "IV"), ("nh3n", 2.01, False, "V+"), ("tp", 0.2, False, "III"),
    ("tp", 0.2, True, "V"), ("tp", 0.05, True, "III"), ("codmn", 6, False, "III"),
    ("cod", 15, False, "I"), ("bod5", 4, False, "III"), ("ph", 9.2, False, "V+"),
    ("ph", 7, False, "I"), ("tn", 1.2, True, "IV"),
])
def test_gb3838_parameter_class(param, value, lake, cls):
    assert water.parameter_class(param, value, lake=lake) == cls


def test_gb3838_sample_is_its_worst_parameter_and_tn_is_not_counted():
    values = {"do": 6.5, "codmn": 3, "nh3n": 1.2, "tp": 0.08, "tn": 3.0}
    assert water.sample_class(values) == "IV"
    assert water.sample_class(values, lake=True) == "IV"  # TP 0.08 on a lake is IV as well
    assert water.exceeding(values, "III", lake=True) == {"nh3n": 0.2, "tp": 0.6}
    assert water.sample_class({}) is None
