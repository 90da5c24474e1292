"""The Air panel's pure helpers, on real answers of the processes from the live server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from onemap.app.panels import haze_view as v
from onemap.styles.symbology import AQI_LEVELS

HOUR = datetime(2025, 1, 22, 0, tzinfo=UTC)  # 08:00 Beijing time, in the sample's haze week


def _run(base: str, process: str, inputs: dict, headers: dict[str, str] | None = None) -> dict:
    resp = requests.post(f"{base}/ogc/processes/{process}/execution", json={"inputs": inputs},
                         headers=headers, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_chosen_hour_is_the_time_bar_or_the_end_of_the_data() -> None:
    extent = {"start": "2025-01-01T00:00:00Z", "end": "2025-12-31T15:00:00Z"}
    assert v.chosen_hour("2025-01-22T00:00:00Z", extent) == (HOUR, False)
    assert v.chosen_hour(None, extent) == (datetime(2025, 12, 31, 15, tzinfo=UTC), True)
    assert v.chosen_hour("not a time", None) == (None, True)
    assert v.beijing(HOUR) == "2025-01-22T08:00:00+08:00"
    assert v.hour_text(HOUR, False, "zh") == "时间：2025-01-22 08:00（北京时间）"
    assert v.hour_text(HOUR, True, "en") == "Time: 2025-01-22 08:00 (Beijing time) (latest)"
    assert v.upwind_window(HOUR, 24) == ("2025-01-21T09:00:00+08:00", "2025-01-22T08:00:00+08:00")
    assert v.week(HOUR) == ("2025-01-16", "2025-01-22")


def test_levels_follow_the_standard_edges() -> None:
    for lv in AQI_LEVELS:
        assert v.level_of(lv.high)[:2] == (lv.color, lv.label)
    assert v.level_of(51)[1] == "良" and v.level_of(None)[1] == "无数据"
    assert v.relative("http://10.0.0.1:8000/x/raster/a/tiles/{z}.png?c=1", "/x/") == \
        "/x/raster/a/tiles/{z}.png?c=1"
    assert v.relative("http://127.0.0.1:8000/raster/a.png", "/") == "/raster/a.png"


@pytest.mark.server
def test_rows_from_real_answers(live_server: str, callers) -> None:  # type: ignore[no-untyped-def]
    hourly = _run(live_server, "aqi-hourly", {"time": v.beijing(HOUR)})
    rows = v.aqi_rows(hourly, "zh")
    aqis = [r["aqi"] for r in rows]
    assert aqis == sorted(aqis, reverse=True) and len(rows) == hourly["summary"]["n_stations"]
    worst = hourly["summary"]["worst_station"]
    assert rows[0]["aqi"] == worst["aqi"] and rows[0]["name"] == worst["name"]
    assert v.aqi_rows(hourly, "en")[0]["name"] == rows[0]["station_id"]  # codes in English
    assert v.summary_text(hourly, "en").startswith(f"{len(rows)} stations valid")

    start, end = v.upwind_window(HOUR, 24)
    upwind = _run(live_server, "upwind-sources",
                  {"station_id": rows[0]["station_id"], "start": start, "end": end},
                  callers["analyst"].headers)  # it ranks the (internal) pollution sources
    top = v.source_rows(upwind, "zh")
    assert top[0]["name"] == upwind["summary"]["top_sources"][0]["name"]
    shares = [r["share"] for r in top]
    assert shares == sorted(shares, reverse=True) and len(top) == 10
    fig = v.rose_figure(upwind, "en")
    assert sum(fig.data[0].r) == sum(s["hours"] for s in upwind["wind_rose"])
    assert "m/s" in v.upwind_text(upwind, "en")

    daily = _run(live_server, "aqi-daily", dict(zip(("start", "end"), v.week(HOUR), strict=True)))
    days = v.daily_rows(daily, "zh")
    assert [d["date"] for d in days] == [f"2025-01-{d}" for d in range(16, 23)]
    regional = [f for f in daily["episodes"]["features"]
                if f["properties"]["role"] == "regional_episode"]
    assert len(v.episode_lines(daily, "zh")) == len(regional)
