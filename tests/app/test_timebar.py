"""The global time bar in a real browser, against the real server and sample region.

A user picks an hour of the January 2025 haze week with the day and hour sliders; every air
station must then show the HJ 633 AQI level colour of that hour — compared, station by station,
with an ``aqi-hourly`` answer the test asks the server for itself — and the PM2.5 hourly cube
must show that very hour. The chosen hour survives switching the layer off and on and switching
the language; play advances it, pause stops it, "latest" goes back to each station's latest AQI.
Screenshot: ``test-artifacts/timebar.png``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from onemap.app.rasters import raster_entries
from onemap.styles.symbology import AQI_LEVELS, NO_DATA_COLOR, aqi_color
from tests.browsing import Traffic, wait_for_tile, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

STATIONS = ".leaflet-om-air_stations-pane path"
#: Fill colour of every station symbol, in drawing (= feature) order.
FILLS = f"""() => [...document.querySelectorAll({STATIONS!r})]
    .map(p => (p.getAttribute('fill') || '').toUpperCase())"""
#: Screen centre of station symbols no other symbol, control or panel covers: [[i, x, y]].
FREE = f"""() => [...document.querySelectorAll({STATIONS!r})].map((p, i) => {{
    const r = p.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    return r.width > 0 && document.elementFromPoint(x, y) === p ? [i, x, y] : null;
}}).filter(Boolean)"""

HAZE_HOUR = datetime(2025, 1, 22, 0, tzinfo=UTC)  # 22 Jan 2025 08:00 Beijing time


def _stations(live_server: str) -> list[dict]:
    """The air_stations features in the order the layer draws them (same items URL)."""
    url = f"{live_server}/ogc/collections/air_stations/items?f=json&limit=10000"
    return requests.get(url, timeout=30).json()["features"]


def _aqi_hourly(live_server: str, when: datetime) -> dict[str, dict]:
    """station_id → properties of the server's own aqi-hourly answer for ``when``."""
    resp = requests.post(f"{live_server}/ogc/processes/aqi-hourly/execution",
                         json={"inputs": {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}},
                         timeout=60)
    resp.raise_for_status()
    return {f["properties"]["station_id"]: f["properties"]
            for f in resp.json()["stations"]["features"]}


def _expected(stations: list[dict], answer: dict[str, dict]) -> list[str]:
    """The level colour of each station at that hour; grey where it has no valid value."""
    out = []
    for f in stations:
        hit = answer.get(f["properties"]["station_id"])
        level = hit and hit.get("aqi_level")
        out.append(AQI_LEVELS[level - 1].color if level else NO_DATA_COLOR)
    return [c.upper() for c in out]


def _wait_fills(page, colours: list[str]) -> None:  # type: ignore[no-untyped-def]
    want = json.dumps(json.dumps(colours, separators=(",", ":")))
    page.wait_for_function(f"() => JSON.stringify(({FILLS})()) === {want}", timeout=30_000)


def _clean(traffic: Traffic) -> None:
    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    assert traffic.hosts == {"127.0.0.1"}, traffic.hosts


def _hourly_series(live_server: str) -> dict:
    entries = raster_entries(requests.get(f"{live_server}/api/rasters", timeout=30).json())
    want = HAZE_HOUR.strftime("%Y-%m-%dT%H:%M:%SZ")
    return next(e for e in entries if any(s["datetime"] == want for s in e["steps"]))


#: The UTC hour ("2025-01-22T01:00Z", as in the link) an English bar label names, in JS.
LABEL_HOUR = """(text) => {
    const m = /(\\d+) Jan 2025, (\\d\\d):00/.exec(text);
    if (!m) { return null; }
    const d = new Date(Date.UTC(2025, 0, +m[1], +m[2]) - 8 * 3600 * 1000);
    return d.toISOString().slice(0, 13) + ':00Z';
}"""


def _label_hour(text: str) -> datetime:
    """The hour a zh or en bar label names, in UTC."""
    m = re.search(r"(\d+) Jan 2025, (\d\d):00", text) or re.search(r"2025年1月(\d+)日 (\d\d):00",
                                                                     text)
    assert m, text
    return datetime(2025, 1, int(m[1]), int(m[2]), tzinfo=UTC) - timedelta(hours=8)


def test_time_bar_drives_stations_and_series(live_server: str, browser,  # type: ignore[no-untyped-def]
                                             artifacts_dir: Path) -> None:
    stations = _stations(live_server)
    latest = [aqi_color(f["properties"].get("aqi")).upper() for f in stations]
    answer = _aqi_hourly(live_server, HAZE_HOUR)
    expected = _expected(stations, answer)
    assert expected != latest, "the haze hour must look different from the latest hour"
    assert NO_DATA_COLOR.upper() in expected, "the sample has a station without data then"
    series = _hourly_series(live_server)

    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + "/")
    page.wait_for_selector(f"{STATIONS}.leaflet-interactive")
    # Opens on the last hour of the data (not the wall clock): each station's latest AQI.
    assert page.inner_text("#om-tb-label") == "2025年12月31日 23:00（北京时间） · 最新"
    _wait_fills(page, latest)

    # Day slider to 22 January (day 21), hour slider to 08.
    page.locator("#om-tb-day [role=slider]").focus()
    page.keyboard.press("Home")
    for key in ["PageUp"] * 2 + ["ArrowRight"]:
        page.keyboard.press(key)
    page.locator("#om-tb-hour [role=slider]").focus()
    page.keyboard.press("Home")
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#om-tb-label')?.innerText"
                           " === '2025年1月22日 08:00（北京时间）'")
    _wait_fills(page, expected)

    # Popups say the same as the colours: that hour's AQI, or "no data".
    free = page.evaluate(FREE)
    grey = [p for p in free if expected[p[0]] == NO_DATA_COLOR.upper()]
    picks = (grey[:1] + [p for p in free if p not in grey])[:3]
    assert len(picks) == 3, "not enough clickable stations"
    for i, _, _ in picks:
        props = stations[i]["properties"]
        # A popup pans the map when it opens near an edge: find the symbol where it is now.
        spot = next(((x, y) for j, x, y in page.evaluate(FREE) if j == i), None)
        assert spot, f"station {props['name']} is covered after a popup panned the map"
        x, y = spot
        page.mouse.click(x, y)
        popup = page.wait_for_selector(".leaflet-popup-content .om-popup")
        assert popup.query_selector(".om-popup-title").inner_text() == props["name"]
        hit = answer.get(props["station_id"])
        badge = popup.query_selector(".om-aqi-badge").inner_text()
        text = popup.inner_text()
        if hit:
            assert badge == str(hit["aqi"]), (props["name"], badge, hit["aqi"])
            assert AQI_LEVELS[hit["aqi_level"] - 1].label in text
        else:
            assert badge == "—" and "无数据" in text
        assert "2025-01-22 08:00" in text
        page.click(".leaflet-popup-close-button")
        page.wait_for_selector(".leaflet-popup", state="detached")

    # The raster series follow: the PM2.5 cube at that very hour, NDVI at its January image.
    row = f"#om-rs-list .om-raster[data-layer='{series['id']}'] .om-time-label"
    page.wait_for_function(f"() => document.querySelector(\"{row}\").innerText"
                           ".startsWith('2025-01-22 08:00')")
    ndvi = "#om-rs-list .om-raster[data-layer='ndvi'] .om-time-label"
    if page.query_selector(ndvi):  # each row's label is its own callback: wait for this one's
        expect(page.locator(ndvi)).to_have_text("2025-01", timeout=30_000)

    # Switched on, the cube draws the tiles of that hour.
    page.locator(f"#om-rs-list input[value='{series['id']}']").check()
    step = next(s for s in series["steps"] if s["datetime"] == "2025-01-22T00:00:00Z")
    wait_for_tile(page, traffic, "sel=" + step["url"].split("sel=")[1].split("&")[0])

    # Off and on again: still that hour.
    box = page.locator("#om-layer-list input[value='air_stations']")
    box.uncheck()
    page.wait_for_selector(STATIONS, state="detached")
    box.check()
    _wait_fills(page, expected)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts_dir / "timebar.png"))

    # English: the same hour, said in English; the layer is rebuilt and keeps it.
    page.get_by_text("EN", exact=True).click()
    page.wait_for_function("() => document.querySelector('#om-tb-label')?.innerText"
                           " === '22 Jan 2025, 08:00 (Beijing time)'")
    assert page.get_attribute("#om-tb-play", "title") == "Play"
    assert page.inner_text("#om-tb-latest") == "Latest"
    _wait_fills(page, expected)

    # Play advances hour by hour; pause stops.
    page.click("#om-tb-play")
    page.wait_for_function("() => document.querySelector('#om-tb-play').title === 'Pause'")
    page.wait_for_function("() => !document.querySelector('#om-tb-label')?.innerText"
                           ".includes(', 08:00')", timeout=10_000)
    page.click("#om-tb-play")
    page.wait_for_function("() => document.querySelector('#om-tb-play').title === 'Play'")
    # The label is drawn by the server from the map's time (in the link): let it catch up. A
    # tick fired just before the click may still land, so the hour is the one both settle on
    # and keep for 1.5 s; a clock still running would move them every second.
    for _ in range(10):
        page.wait_for_function(f"() => {{ const t = new URLSearchParams(location.search)"
                               f".get('t'); return t && ({LABEL_HOUR})(document.querySelector("
                               f"'#om-tb-label').innerText) === t; }}")
        shown, link = page.inner_text("#om-tb-label"), page.evaluate("location.search")
        page.wait_for_timeout(1500)
        if (page.evaluate("location.search"), page.inner_text("#om-tb-label")) == (link, shown):
            break
    else:
        raise AssertionError(f"pause did not stop the clock: {link} {shown}")
    hour = _label_hour(shown)
    assert hour > HAZE_HOUR
    _wait_fills(page, _expected(stations, _aqi_hourly(live_server, hour)))
    local = (hour + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page.wait_for_function(f"() => document.querySelector(\"{row}\").innerText"
                           f".startsWith({local!r})")
    # The emergency panel's incident time is the map's hour too.
    page.click(".om-tab[data-panel=emergency]")
    page.wait_for_function(f"() => document.querySelector('#em-time')?.value === {local!r}")

    # Latest: back to each station's latest AQI.
    page.click("#om-tb-latest")
    page.wait_for_function("() => document.querySelector('#om-tb-label')?.innerText"
                           ".endsWith('· latest')")
    _wait_fills(page, latest)
    end = (datetime(2025, 12, 31, 15, tzinfo=UTC) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page.wait_for_function(f"() => document.querySelector('#em-time')?.value === {end!r}")
    page.wait_for_load_state("networkidle")
    _clean(traffic)
    page.close()
