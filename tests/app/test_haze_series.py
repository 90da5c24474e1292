"""The Air panel's surface over a day or a week (``pm25-surface-series``), helpers and browser.

In a real browser at an hour of the sample's January 2025 haze: a 7-day kriging run is cancelled
with the panel's Cancel button while it runs — the user must see it cancelled with nothing left
behind, and the server must have dropped the job and catalogued nothing; then a day run
completes — its cube must appear in the layer list switched on, at the map's hour, with its
tiles loaded, and its value at every station must be that station's PM2.5 of that hour (IDW
reproduces the data at the data points, so a wrong hour, grid or cube fails). Without a browser:
the span windows, the map time kept inside the cube, the words in each language, and a cancel
that still lands when a poll overtakes the click.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dash
import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from onemap.app.jobs import step
from onemap.app.panels import haze_series as s
from onemap.app.panels import haze_view as v
from onemap.config import Settings
from tests.app.test_haze import HOUR
from tests.browsing import wait_for_tile, watch

HAN = re.compile(r"[\u3400-\u9fff]")
JOB = ".om-job[data-panel=haze]"
DAY_CUBE = "pm25_idw_2025012201_2025012300_r10"
WEEK_CUBE = "pm25_kriging_2025011601_2025012300_r10"
EXTENT = {"start": "2025-01-01T00:00:00Z", "end": "2025-12-31T15:00:00Z"}


def test_windows_are_whole_beijing_days() -> None:
    assert s.series_window(HOUR, "day") == ("2025-01-22T01:00:00+08:00",
                                            "2025-01-23T00:00:00+08:00")
    assert s.series_window(HOUR, "week") == ("2025-01-16T01:00:00+08:00",
                                             "2025-01-23T00:00:00+08:00")
    # 23:00 Beijing on the 22nd (15:00 UTC) is still the 22nd, as on the time bar.
    late = datetime(2025, 1, 22, 15, tzinfo=UTC)
    assert s.series_window(late, "day")[0] == "2025-01-22T01:00:00+08:00"
    assert s.surface_job("hour", HOUR, "idw") == (
        "pm25-surface", {"time": "2025-01-22T08:00:00+08:00", "method": "idw"})
    assert s.surface_job("week", HOUR, "kriging")[0] == "pm25-surface-series"


def test_map_time_stays_inside_the_cube() -> None:
    cube = {"cube_id": "c", "stats": {"first_time": "2025-01-21T17:00:00Z",
                                      "last_time": "2025-01-22T16:00:00Z"}}
    assert s.map_time_for(cube, "2025-01-22T00:00:00Z", EXTENT) is dash.no_update  # inside
    assert s.map_time_for(cube, "2025-01-21T16:00:00Z", EXTENT) == "2025-01-21T17:00:00Z"
    # "Latest" (no hour chosen) is the end of the data: outside, so the cube's first hour.
    assert s.map_time_for(cube, None, EXTENT) == "2025-01-21T17:00:00Z"
    assert s.map_time_for(cube, None, {"end": "2025-01-22T10:00:00Z"}) == "2025-01-22T10:00:00Z"


def test_series_words_in_each_language() -> None:
    cube = {"cube_id": "c", "tile_url": "http://h/cube/c/tiles/{z}.png?colormap_name="
            "onemap_pm25&rescale=0.0%2C250.0&sel=time={time}",
            "stats": {"n_hours": 24, "n_valid_hours": 23, "max": 163.0, "method": "kriging",
                      "first_time": "2025-01-21T17:00:00Z", "last_time": "2025-01-22T16:00:00Z"}}
    zh = " ".join(d.children for d in s.series_text(cube, "zh"))
    en = " ".join(d.children for d in s.series_text(cube, "en"))
    assert "2025-01-22 01:00 至 2025-01-23 00:00" in zh and "有效 23 小时" in zh
    assert "最大 163" in zh and "普通克里金" in zh
    assert "24 hours, 23 with valid data, max 163" in en and "kriging" in en
    assert not HAN.search(en)
    assert s.series_style(cube) == {"colormap": "onemap_pm25", "rescale": [0.0, 250.0],
                                    "unit": "μg/m³"}


@pytest.mark.server
def test_a_poll_after_the_click_still_cancels(live_server: str, sample_settings: Settings,
                                              as_analyst) -> None:  # type: ignore[no-untyped-def]
    """The cancel's own answer can be dropped by Dash when a poll overtakes it (a slow DELETE):
    the poll must then cancel too, and say so, not report the vanished job as an error."""
    port = urlsplit(live_server).port
    settings = Settings(data_dir=sample_settings.data_dir, port=int(port or 80),
                        public_url=live_server)
    process, inputs = s.surface_job("week", HOUR, "kriging")
    job = step("om-job-request", {"process": process, "inputs": inputs}, None, "zh", settings,
               cancel_clicks=2)[5]
    assert job["status"] == "accepted" and job["clicks"] == 2
    assert step("om-job-tick", None, job, "zh", settings, cancel_clicks=2)[5]["status"] in (
        "accepted", "running")  # old clicks do not cancel a new job
    out = step("om-job-tick", None, job, "zh", settings, cancel_clicks=3)
    assert out[5]["status"] == "dismissed" and out[2] == "已取消。", out[2]
    assert out[3] == {"display": "none"} and out[0] == {"display": "none"}
    # Both the click's turn and the poll's may reach the server: the second is no error.
    again = step("om-job-cancel", None, job, "zh", settings, cancel_clicks=3)
    assert again[5]["status"] == "dismissed" and again[2] == "已取消。"
    gone = requests.get(f"{live_server}/ogc/jobs/{job['job']}", timeout=30,
                        headers=as_analyst.headers)
    assert gone.status_code == 404 or gone.json().get("status") == "dismissed"


def _wait(page, condition: str, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for a page condition (JS expression); on timeout say what the user saw instead."""
    try:
        page.wait_for_function(f"() => {condition}")
    except PlaywrightTimeout:
        seen = {sel: page.inner_text(sel) for sel in (f"{JOB} .om-job-text", "#hz-hour",
                                                       "#hz-surface-text", "#om-tb-label")}
        raise AssertionError(f"timed out waiting for {what}; the page shows {seen}") from None


def _status_is(text: str) -> str:
    return f"document.querySelector('{JOB} .om-job-text')?.innerText === {text!r}"


def _job_id(response) -> str:  # type: ignore[no-untyped-def]
    """The job id the page's job store received when the run started."""
    for key, value in (response.json().get("response") or {}).items():
        data = (value or {}).get("data")
        if '"om-job"' in key and isinstance(data, dict) and data.get("job"):
            return str(data["job"])
    raise AssertionError(f"no job id in {response.text()[:300]}")


def _starts_job(response) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``response`` answers the job runner's turn triggered by the panel's request."""
    if "_dash-update-component" not in response.url:
        return False
    body = json.loads(response.request.post_data or "{}")
    return any("om-job-request" in c and '"haze"' in c for c in body.get("changedPropIds", []))


def _cubes(base: str) -> set[str]:
    doc = requests.get(f"{base}/api/rasters", timeout=30).json()
    return {r["id"] for r in doc["rasters"]} | {x["id"] for x in doc["series"]}


def _run(page, span: str, method: str) -> str:  # type: ignore[no-untyped-def]
    page.locator(f"#hz-span input[value={span}]").check()
    page.locator(f"#hz-method input[value={method}]").check()
    with page.expect_response(_starts_job) as started:
        page.click("#hz-surface-run")
    return _job_id(started.value)


@pytest.mark.browser
@pytest.mark.server
def test_cancel_a_week_then_run_a_day(live_server: str, browser,  # type: ignore[no-untyped-def]
                                      artifacts_dir: Path, login, callers) -> None:
    hourly = requests.post(f"{live_server}/ogc/processes/aqi-hourly/execution",
                           json={"inputs": {"time": v.beijing(HOUR)}}, timeout=120).json()
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    login(page, "analyst")  # the 7-day surface series is an analyst's analysis
    traffic = watch(page)
    page.set_default_timeout(90_000)
    try:
        page.goto(f"{live_server}/?t=2025-01-22T00:00Z")
        page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
        page.click(".om-tab[data-panel=haze]")
        _wait(page, "document.querySelector('#hz-hour')?.innerText === "
              "'时间：2025-01-22 08:00（北京时间）'", "the link's hour")
        page.wait_for_selector("#hz-span input[value=week]")

        # The week with kriging runs long enough to be cancelled while it computes.
        week_job = _run(page, "week", "kriging")
        _wait(page, f"document.querySelector('{JOB} .om-job-text')?.innerText"
              ".startsWith('计算中')", "the week job running")
        assert page.locator(f"{JOB} .om-progress").is_visible()
        page.locator(f"{JOB} button").click()
        _wait(page, _status_is("已取消。"), "the cancelled status")
        assert page.locator(f"{JOB} .om-progress").is_hidden()
        assert page.locator(f"{JOB} button").is_hidden()
        assert page.locator(f".om-raster[data-layer={WEEK_CUBE}]").count() == 0
        assert page.inner_text("#hz-surface-text") == ""
        page.screenshot(path=str(artifacts_dir / "haze-cancel.png"))
        # The server itself: the job is gone (or dismissed) and no cube was catalogued.
        job = requests.get(f"{live_server}/ogc/jobs/{week_job}", timeout=30,
                           headers=callers["analyst"].headers)  # the job is the analyst's
        assert job.status_code == 404 or job.json().get("status") == "dismissed", job.text
        assert not any(c.startswith("pm25_kriging_2025011601") for c in _cubes(live_server))

        # The day with IDW completes: the cube is in the layer list, on, at the map's hour.
        _run(page, "day", "idw")
        _wait(page, f"!!document.querySelector('.om-raster[data-layer={DAY_CUBE}] input:checked')",
              "the day cube switched on in the layer list")
        _wait(page, _status_is("完成"), "the day job done")
        tile = unquote(wait_for_tile(page, traffic, f"/cube/{DAY_CUBE}/tiles/"))
        assert "sel=time=2025-01-22T00:00:00Z" in tile, tile
        assert page.inner_text("#om-tb-label").startswith("2025年1月22日 08:00")
        row = page.inner_text(f".om-raster[data-layer={DAY_CUBE}]")
        assert "2025-01-22 08:00" in row, row
        # The panel's summary is drawn by a callback of its own (on the job's result), not by
        # the ones that put the cube in the layer list: wait for it.
        _wait(page, "document.querySelector('#hz-surface-text')?.innerText"
              ".includes('2025-01-22 01:00 至 2025-01-23 00:00')", "the day's summary")
        words = page.inner_text("#hz-surface-text")
        assert "2025-01-22 01:00 至 2025-01-23 00:00" in words and "共 24 小时" in words
        assert "反距离加权" in words
        assert page.locator("#hz-surface-legend .om-ramp[data-colormap=onemap_pm25]").count() == 1
        assert page.locator("#hz-opacity-box").is_hidden()
        page.screenshot(path=str(artifacts_dir / "haze-day.png"))

        # IDW passes through the data: at each station the cube's hour is that station's value.
        features = hourly["stations"]["features"]
        assert len(features) > 20
        gaps = []
        for f in features:
            lon, lat = f["geometry"]["coordinates"][:2]
            got = requests.get(f"{live_server}/cube/{DAY_CUBE}/point/{lon},{lat}",
                               params={"variable": "pm25", "sel": "time=2025-01-22T00:00:00Z"},
                               timeout=30).json()["values"][0]
            want = f["properties"]["pm25"]
            gaps.append(abs(got - want))
            assert abs(got - want) <= max(3.0, 0.05 * want), (f["properties"]["station_id"],
                                                               got, want)
        assert sorted(gaps)[len(gaps) // 2] < 1.0, gaps

        page.locator("#om-lang input[value=en]").check()
        _wait(page, "document.querySelector('#hz-surface-text')?.innerText"
              ".includes('Hourly surfaces from')", "the summary in English")
        words = page.inner_text("#hz-surface-text")
        assert "24 hours" in words and "IDW" in words and not HAN.search(words), words
        # The job line is drawn by a callback of its own, which may answer after the summary's.
        _wait(page, _status_is("Done"), "the job line in English")
        assert traffic.console_errors == [], traffic.console_errors
        assert traffic.failed == [], traffic.failed
    finally:
        page.close()
        # The cubes this test made must not change what other tests see.
        for cube in (DAY_CUBE, WEEK_CUBE):
            requests.delete(f"{live_server}/api/rasters/{cube}", timeout=30,
                            headers=callers["analyst"].headers)
