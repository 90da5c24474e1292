"""Episodes and the regional day, on series worked by hand and on the sample year."""

import pandas as pd
import pytest

from onemap.analysis.haze import episodes, regional_daily_aqi, station_daily_aqi


def _series(aqi: list[int | None], start: str = "2025-01-01", station: str = "1001A",
            skip: tuple[int, ...] = ()) -> pd.DataFrame:
    dates = [d.date() for i, d in enumerate(pd.date_range(start, periods=len(aqi) + len(skip)))
             if i not in skip]
    return pd.DataFrame({"station_id": station, "date": dates[: len(aqi)],
                         "aqi": pd.array(aqi, dtype="Int64"),
                         "primary_pollutant": ["PM2.5" if (a or 0) > 50 else "" for a in aqi]})


def test_runs_over_the_threshold():
    daily = _series([50, 120, 130, 40, 160, 170, 180, 90, 101])
    ep = episodes(daily, threshold=100, min_days=2)
    assert ep[["days", "max_aqi"]].values.tolist() == [[2, 130], [3, 180]]
    assert str(ep.iloc[1]["start"]) == "2025-01-05" and str(ep.iloc[1]["peak_date"]) == "2025-01-07"
    assert ep.iloc[0]["primary_pollutant"] == "PM2.5"
    assert len(episodes(daily, threshold=100, min_days=1)) == 3  # the lone 101 counts too
    assert len(episodes(daily, threshold=150, min_days=2)) == 1


def test_a_missing_day_ends_a_run():
    # 2025-01-03 has no valid AQI (row absent) and 01-05 is NA: no run of two remains
    daily = _series([150, 160, 170, None, 180], skip=(2,))
    assert episodes(daily, threshold=100, min_days=3).empty
    assert episodes(daily, threshold=100, min_days=2)["days"].tolist() == [2]


def test_regional_day_needs_most_stations():
    a = _series([0, 0], station="A").assign(pm25=[80.0, 80.0])
    b = _series([0, 0], station="B").assign(pm25=[40.0, None])
    c = _series([0, 0], station="C").assign(pm25=[60.0, None])
    region = regional_daily_aqi(pd.concat([a, b, c]))
    assert region.iloc[0]["pm25"] == pytest.approx(60.0)  # 3 of 3 stations
    # PM2.5 60: 50 + 50/40 * 25 = 81.25 -> 82
    assert region.iloc[0]["aqi"] == 82
    assert pd.isna(region.iloc[1]["pm25"])  # 1 of 3 stations < 75 %


def test_sample_year_has_winter_episodes(sample_settings):
    from onemap.layers.store import read_layer

    daily = station_daily_aqi(read_layer("air_hourly", sample_settings))
    region = regional_daily_aqi(daily)
    ep = episodes(region, key=None, threshold=100, min_days=2)
    assert not ep.empty
    months = pd.to_datetime(ep["start"]).dt.month
    assert months.isin([1, 2, 11, 12]).mean() > 0.5, ep  # the generator's winter haze
    assert (ep["primary_pollutant"] == "PM2.5").any()
