"""HJ 663-2013 validity and HJ 633-2012 daily AQI on hand-made days (values worked by hand)."""

import math

import numpy as np
import pandas as pd
import pytest

from onemap.analysis.standards.daily import daily_aqi, daily_statistics

DAY = pd.Timestamp("2025-01-10")


def _day(hours: dict[str, np.ndarray] | None = None, *, label: str = "end",
         keep: np.ndarray | None = None, flag: str = "N") -> pd.DataFrame:
    """24 hourly rows of one station for DAY; hour i (1..24) ends at DAY + i h."""
    end = DAY + pd.to_timedelta(np.arange(1, 25), unit="h")
    times = end if label == "end" else end - pd.Timedelta(hours=1)
    base = {"so2": np.full(24, 10.0), "no2": np.full(24, 30.0), "co": np.full(24, 0.8),
            "pm10": np.full(24, 60.0), "pm25": np.full(24, 80.0), "o3": np.full(24, 100.0)}
    base.update(hours or {})
    frame = pd.DataFrame({"station_id": "1001A", "time": times, **base, "flag": flag})
    return frame if keep is None else frame[keep]


def test_full_day_aqi_by_hand():
    daily = daily_aqi(daily_statistics(_day()))
    row = daily.iloc[0]
    assert row["date"] == DAY.date() and row["n_pm25"] == 24
    assert row["pm25"] == pytest.approx(80.0)
    # PM2.5 80: 100 + (150-100)/(115-75) * (80-75) = 106.25 -> 107
    assert row["iaqi_pm25"] == 107 and row["aqi"] == 107 and row["aqi_level"] == 3
    assert row["primary_pollutant"] == "PM2.5"
    # PM10 60: 50 + 50/100 * 10 = 55; NO2 30: 37.5 -> 38; O3 8 h 100 -> 50; O3 1 h 100 -> 32
    assert (row["iaqi_pm10"], row["iaqi_no2"], row["iaqi_o3_8h"]) == (55, 38, 50)
    assert row["iaqi_o3_1h"] == math.ceil(50 / 160 * 100)


def test_start_labels_give_the_same_day():
    end = daily_statistics(_day())
    start = daily_statistics(_day(label="start"), hour_label="start")
    pd.testing.assert_frame_equal(end, start)


def test_twenty_valid_hours_are_needed_for_a_24h_mean():
    keep = np.arange(24) < 20
    assert daily_statistics(_day(keep=keep)).iloc[0]["pm25"] == pytest.approx(80.0)
    keep = np.arange(24) < 19
    row = daily_statistics(_day(keep=keep)).iloc[0]
    assert row["n_pm25"] == 19 and math.isnan(row["pm25"])


def test_flagged_hours_do_not_count():
    day = _day()
    day.loc[day.index[:5], "flag"] = "F"  # 5 hours of analyser stop: 19 valid
    assert math.isnan(daily_statistics(day).iloc[0]["pm25"])


def test_o3_max_8h_window_by_hand():
    o3 = np.full(24, 100.0)
    o3[12:20] = 200.0  # hours ending 13:00 … 20:00
    row = daily_aqi(daily_statistics(_day({"o3": o3}))).iloc[0]
    assert row["o3_8h"] == pytest.approx(200.0) and row["o3_1h"] == 200.0
    # O3 8 h 200: 100 + 50/55 * 40 = 136.4 -> 137 ; O3 1 h 200 -> 100
    assert row["iaqi_o3_8h"] == 137 and row["iaqi_o3_1h"] == 100
    assert row["aqi"] == 137 and row["primary_pollutant"] == "O3"


def test_o3_8h_needs_14_valid_windows():
    # hours ending 09:00 … 16:00 missing: only the windows ending 8, 9, 10, 22, 23, 24 keep
    # 6 of 8 hours -> 6 valid windows < 14 -> no daily max 8 h; PM2.5 has 16 hours -> none
    keep = ~np.isin(np.arange(1, 25), np.arange(9, 17))
    row = daily_statistics(_day(keep=keep)).iloc[0]
    assert row["n_o3_8h_windows"] == 6
    assert math.isnan(row["o3_8h"]) and math.isnan(row["pm25"])
    assert row["o3_1h"] == 100.0 and not row["o3_1h_complete"]


def test_o3_8h_above_800_reports_the_1h_iaqi():
    row = daily_aqi(daily_statistics(_day({"o3": np.full(24, 900.0)}))).iloc[0]
    # 1 h O3 900: 300 + 100/200 * 100 = 350
    assert row["iaqi_o3_8h"] == 350 and row["aqi"] == 350 and row["aqi_level"] == 6


def test_on_the_sample_year(sample_settings):
    from onemap.layers.store import read_layer

    hourly = read_layer("air_hourly", sample_settings)
    daily = daily_aqi(daily_statistics(hourly))
    assert daily["station_id"].nunique() == hourly["station_id"].nunique()
    per_station = daily.groupby("station_id")["date"].nunique()
    assert per_station.min() >= 360  # a year of Beijing days (first/last partial days too)
    valid = daily["aqi"].notna()
    assert valid.mean() > 0.9
    # winter haze makes January worse than July on average (the generator's seasonal model)
    months = pd.to_datetime(daily["date"]).dt.month
    assert daily.loc[months == 1, "pm25"].mean() > 1.5 * daily.loc[months == 7, "pm25"].mean()
