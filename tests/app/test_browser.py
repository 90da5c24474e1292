"""The map in a real browser (Debian's chromium) against the real server and sample region.

Checks what a user would notice: the page loads cleanly and entirely from 127.0.0.1, every layer
in the list draws something when ticked, a station popup shows its AQI, the legend explains the
colours. Leaves ``test-artifacts/map.png`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from onemap.app.rasters import raster_entries
from onemap.styles.symbology import AQI_LEVELS
from tests.browsing import watch as _watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

#: Layers the sample region must offer (each family of the one map, plus a raster).
EXPECTED = {"admin_boundaries", "water_bodies", "rivers", "protected_areas", "red_lines",
            "water_source_zones", "water_intakes", "air_stations", "water_sections",
            "pollution_sources", "outlets", "incidents", "sensitive_receptors"}

# Something drawn in a layer's own pane: SVG paths, marker/cluster icons or loaded tiles.
COUNT_DRAWN = """id => {
    const pane = document.querySelector('.leaflet-om-' + id + '-pane');
    if (!pane) return -1;
    return pane.querySelectorAll('path, .leaflet-marker-icon, img.leaflet-tile-loaded').length;
}"""

# Centre of an air-station circle that is not covered by another layer's symbol.
FREE_STATION = """() => {
    const sel = '.leaflet-om-air_stations-pane path.leaflet-interactive';
    for (const p of document.querySelectorAll(sel)) {
        const r = p.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (r.width > 0 && document.elementFromPoint(x, y) === p) return [x, y];
    }
    return null;
}"""


def test_map_page(live_server: str, browser, artifacts_dir: Path, login) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    login(page, "viewer")  # incidents (on by default) are internal
    traffic = _watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    assert page.title() == "OneMap 生态环境一张图"
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    page.wait_for_load_state("networkidle")

    # The layer list comes from the server's catalogue, grouped, in Chinese.
    panel = page.inner_text("#om-panel")
    for heading in ("监测", "污染源", "生态", "事件", "遥感", "基础"):
        assert heading in panel
    ids = page.eval_on_selector_all("#om-layer-list input[type=checkbox]",
                                    "els => els.map(e => e.value)")
    assert EXPECTED <= set(ids), f"missing from the layer list: {EXPECTED - set(ids)}"
    rasters = [i for i in ids if i not in EXPECTED]
    assert rasters, "no raster (NDVI) in the layer list"

    # A station popup shows the AQI block.
    xy = page.evaluate(FREE_STATION)
    assert xy, "no clickable air station on the map"
    page.mouse.click(*xy)
    popup = page.wait_for_selector(".leaflet-popup-content .om-popup[data-family=air_stations]")
    text = popup.inner_text()
    assert "空气质量指数 AQI" in text and "首要污染物" in text and "监测时间" in text
    assert any(lv.label in text for lv in AQI_LEVELS) or "无数据" in text
    # The API's times are UTC; the popup says them in Beijing time like the rest of the map.
    latest = {f["properties"]["time"] for f in requests.get(
        f"{live_server}/ogc/collections/air_stations/items",
        params={"f": "json", "limit": 1000}, timeout=30).json()["features"]}
    assert latest == {"2025-12-31T15:00:00Z"}
    assert "2025-12-31 23:00" in text, text
    # …and charts the station's last 7 days of valid hourly PM2.5 from its EDR series
    # (counted here from the items endpoint).
    chart = page.wait_for_selector(".leaflet-popup-content .om-chart[data-points]")
    station = chart.get_attribute("data-station")
    hours = requests.get(f"{live_server}/ogc/collections/air_hourly/items", timeout=30, params={
        "f": "json", "limit": 1000, "station_id": station, "properties": "pm25,flag",
        "datetime": "2025-12-24T16:00:00Z/2025-12-31T15:00:00Z"},  # 7 days to the latest hour
    ).json()["features"]
    valid = [f for f in hours if f["properties"]["flag"] == "N"
             and f["properties"]["pm25"] is not None]
    assert 100 < len(valid) <= 168
    assert int(chart.get_attribute("data-points")) == len(valid)
    assert chart.query_selector("svg polyline") and "近 7 天 PM2.5" in chart.inner_text()
    page.keyboard.press("Escape")

    # Every layer toggles on and draws something into its pane.
    for lid in ids:
        page.locator(f"#om-layer-list input[value='{lid}']").check()
        page.wait_for_function(f"() => ({COUNT_DRAWN})({lid!r}) > 0")
    page.wait_for_load_state("networkidle")
    # A series' entry draws the tiles of the step it shows (e.g. /raster/ndvi_2025_10/tiles/).
    tiles = {e["id"]: e["url"].split("{z}")[0]
             for e in raster_entries(requests.get(live_server + "/api/rasters", timeout=10).json())}
    for lid in rasters:
        assert any(tiles[lid] in u for u in traffic.ok_tiles), f"no tile of {lid}"
        assert page.evaluate(f"() => ({COUNT_DRAWN})({lid!r})") > 0

    # The legend explains the AQI colours (and the others that are on).
    legend = page.inner_text("#om-legend")
    for lv in AQI_LEVELS:
        assert lv.label in legend
    assert "Ⅲ类" in legend

    # And toggles off and on again.
    box = page.locator("#om-layer-list input[value='pollution_sources']")
    box.uncheck()
    page.wait_for_function(f"() => ({COUNT_DRAWN})('pollution_sources') === 0")
    box.check()
    page.wait_for_function(f"() => ({COUNT_DRAWN})('pollution_sources') > 0")

    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "map.png"))

    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    assert traffic.hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {traffic.hosts}"
    page.close()


def test_language_switch(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    traffic = _watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    page.get_by_text("EN", exact=True).click()
    page.wait_for_function("() => document.querySelector('#om-title')?.innerText"
                           ".startsWith('Ecological')")
    page.wait_for_function("() => document.querySelector('#om-legend')?.innerText"
                           ".includes('Excellent')")
    assert "Monitoring" in page.inner_text("#om-panel")
    assert not traffic.console_errors and not traffic.failed
    page.close()
