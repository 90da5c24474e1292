"""The map on a phone (390×844, touch) and a tablet held upright (820×1180), in Chromium.

The map fills the screen; the layer list, the legend, the analysis panels and "where am I" are
bottom sheets opened from the bar at the bottom, one at a time, never over more than 55 % of the
screen. A commander at an incident locates themselves (the browser's geolocation, granted, at a
place near a known station) and the sheet lists the nearest stations, intakes, receptors with
distance and direction, as computed here from the OGC API; a tap on the nearest station takes
the map there. Refused geolocation is said in words. A commander reports an incident from the
phone (GPS place, photo), updates it, and a viewer at a desktop finds it on the map with both
photos in its popup. Screenshots: ``phone-*.png``, ``tablet-*.png``,
``desktop-report-popup.png``.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from onemap.config import Settings
from tests.browsing import DRAWN_AT, features, watch
from tests.server import run_server, sample_copy

pytestmark = [pytest.mark.browser, pytest.mark.server]

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
BEARINGS = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine on the mean sphere (the page uses the ellipsoid: within 0.5 %)."""
    (lon1, lat1), (lon2, lat2) = a, b
    h = math.sin(math.radians(lat2 - lat1) / 2) ** 2 + math.cos(math.radians(lat1)) * \
        math.cos(math.radians(lat2)) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> str:
    (lon1, lat1), (lon2, lat2) = (tuple(map(math.radians, p)) for p in (a, b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return BEARINGS[round((math.degrees(math.atan2(y, x)) % 360) / 45) % 8]


def _context(browser, viewport: dict, **kw):  # type: ignore[no-untyped-def]
    return browser.new_context(viewport=viewport, is_mobile=True, has_touch=True,
                               device_scale_factor=2, locale="zh-CN", **kw)


def _sheet_box(page, selector: str) -> dict:  # type: ignore[no-untyped-def]
    page.wait_for_selector(selector, state="visible")
    box = page.locator(selector).bounding_box()
    assert box
    return box


def test_phone_map_first_sheets_and_where_am_i(live_server: str, browser, login,  # type: ignore[no-untyped-def]
                                               callers, artifacts_dir: Path) -> None:
    stations = features(live_server, "air_stations")
    station = stations[0]
    s_lon, s_lat = station["geometry"]["coordinates"]
    here = (s_lon + 0.004, s_lat + 0.003)  # ~450 m north-east of a station
    context = _context(browser, PHONE, geolocation={"longitude": here[0], "latitude": here[1],
                                                    "accuracy": 25},
                       permissions=["geolocation"])
    page = context.new_page()
    login(page, "viewer")  # sources and receptors are internal layers
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")

    # -- the map first: no panel over it, a bar of touch-sized buttons at the bottom ------------
    bar = _sheet_box(page, "#om-m-bar")
    assert bar["y"] + bar["height"] == pytest.approx(PHONE["height"], abs=1)
    for tab in page.locator(".om-m-tab").all():
        box = tab.bounding_box()
        assert box and box["width"] >= 44 and box["height"] >= 44, box
    for hidden in ("#om-panel", "#om-dock-root", "#om-where"):
        assert not page.is_visible(hidden), hidden
    page.screenshot(path=str(artifacts_dir / "phone-map.png"))

    # -- layers: a sheet over the lower part; a tap switches a layer on (and the URL says so) ---
    page.tap(".om-m-tab[data-sheet=layers]")
    sheet = _sheet_box(page, "#om-panel")
    assert sheet["height"] <= 0.55 * PHONE["height"] + 1 and sheet["y"] >= 0.3 * PHONE["height"]
    assert page.get_attribute(".om-m-tab[data-sheet=layers]", "aria-expanded") == "true"
    box = page.locator("#om-panel input[value=water_intakes]").bounding_box()
    assert box
    page.locator("#om-panel label:has(input[value=water_intakes])").tap()
    page.wait_for_function("() => /layers=[^&]*water_intakes/.test(location.search)")
    page.screenshot(path=str(artifacts_dir / "phone-layers.png"))

    # -- analysis: the dock in the sheet, the dashboard's figures readable ---------------------
    page.tap(".om-m-tab[data-sheet=panels]")
    assert not page.is_visible("#om-panel")  # one sheet at a time
    dock = _sheet_box(page, "#om-dock-root")
    assert dock["height"] <= 0.55 * PHONE["height"] + 1
    page.wait_for_selector(".db-big-value[data-kpi=water]", state="visible")
    assert re.fullmatch(r"\d+\.\d%", page.inner_text(".db-big-value[data-kpi=water]"))
    page.screenshot(path=str(artifacts_dir / "phone-dashboard.png"))

    # -- where am I: the nearest station first, its distance and direction ----------------------
    page.tap(".om-m-tab[data-sheet=where]")
    first = ".om-where-group[data-family=air_stations] .om-where-item"
    page.wait_for_selector(first)
    assert "当前位置" in page.inner_text(".om-where-state")
    nearest = min(stations, key=lambda f: _metres(here, tuple(f["geometry"]["coordinates"])))
    far = _metres(here, tuple(nearest["geometry"]["coordinates"]))
    item = page.locator(first).first
    assert item.locator(".om-where-name").inner_text() == nearest["properties"]["name"]
    shown = item.locator(".om-where-far").inner_text()
    towards = _bearing(here, tuple(nearest["geometry"]["coordinates"]))
    metres = int(re.search(r"(\d+) 米", shown).group(1))  # type: ignore[union-attr]
    assert abs(metres - far) <= max(3, 0.005 * far) and towards in shown, (shown, far, towards)
    families = page.eval_on_selector_all(".om-where-group", "e => e.map(g => g.dataset.family)")
    assert families == ["air_stations", "pollution_sources", "water_intakes",
                        "sensitive_receptors"]
    intakes = features(live_server, "water_intakes")
    near_intake = min(intakes, key=lambda f: _metres(here, tuple(f["geometry"]["coordinates"])))
    intake_text = page.inner_text(".om-where-group[data-family=water_intakes]")
    assert near_intake["properties"]["name"] in intake_text or "千米内没有" in intake_text
    page.screenshot(path=str(artifacts_dir / "phone-where.png"))
    item.tap()
    assert not page.is_visible("#om-where")  # the sheet gives the map back
    page.wait_for_function("() => new URLSearchParams(location.search).get('z') === '16'")
    q = parse_qs(urlsplit(page.url).query)
    assert abs(float(q["lon"][0]) - s_lon) < 1e-3 and abs(float(q["lat"][0]) - s_lat) < 1e-3
    words = page.evaluate("() => [window.onemap.errorText({code: 'Forbidden', detail: 'x'}, 403,"
                          " 'zh'), window.onemap.errorText({code: 'Nope'}, 418, 'en')]")
    assert words == ["当前账号无权执行此操作（角色或辖区不符）",
                     "The server refused the request (HTTP 418)"]
    page.tap(".om-m-tab[data-sheet=report]")  # a viewer may not report: told, no form
    page.wait_for_selector("#om-report .om-rp-need", state="visible")
    assert not page.is_visible("#om-report .om-rp-form")
    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    context.close()

    # -- refused: said in words -----------------------------------------------------------------
    refused = _context(browser, PHONE)
    page = refused.new_page()
    traffic = watch(page)
    page.goto(live_server + "/")
    page.wait_for_selector("#om-m-bar", state="visible")
    page.tap(".om-m-tab[data-sheet=where]")
    page.wait_for_function("() => document.querySelector('.om-where-state')"
                           "?.innerText.includes('未获准使用位置信息')")
    assert not traffic.console_errors, traffic.console_errors
    refused.close()


def test_tablet_upright_uses_the_sheets(live_server: str, browser, login,  # type: ignore[no-untyped-def]
                                        artifacts_dir: Path) -> None:
    context = _context(browser, TABLET)
    page = context.new_page()
    login(page, "viewer")
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    assert page.is_visible("#om-m-bar") and not page.is_visible("#om-panel")
    page.tap(".om-m-tab[data-sheet=legend]")
    legend = _sheet_box(page, "#om-legend")
    assert legend["width"] == pytest.approx(TABLET["width"], abs=1)
    assert "空气质量监测站" in page.inner_text("#om-legend")
    page.tap(".om-m-tab[data-sheet=panels]")
    page.tap(".om-tab[data-panel=emergency]")  # laid out on first opening
    page.wait_for_selector("#em-incident", state="visible")
    page.screenshot(path=str(artifacts_dir / "tablet-emergency.png"))
    assert not traffic.console_errors, traffic.console_errors
    context.close()


# -- a field report with photos, seen on the desktop map ----------------------------------------
@pytest.fixture(scope="module")
def field(sample_settings, callers, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A server of its own (a copy of the sample: the test adds an incident)."""
    del callers  # their accounts must be in the copy
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("field"))
    with run_server(data) as base:
        yield base, Settings(data_dir=data)


def _photo(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), color).save(out, "JPEG")
    return out.getvalue()


def test_a_field_report_with_photos_reaches_the_desktop_map(field, browser, login, callers,  # type: ignore[no-untyped-def]
                                                            artifacts_dir: Path) -> None:
    base, settings = field
    sections = features(base, "water_sections")
    lon, lat = sections[3]["geometry"]["coordinates"]
    here = (lon + 0.002, lat - 0.001)
    phone = _context(browser, PHONE, geolocation={"longitude": here[0], "latitude": here[1],
                                                  "accuracy": 10}, permissions=["geolocation"])
    page = phone.new_page()
    login(page, "commander", base=base, settings=settings)
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(base + "/")
    page.wait_for_selector("#om-m-bar", state="visible")
    page.tap(".om-m-tab[data-sheet=report]")
    page.wait_for_selector("#om-rp-photos", state="attached")  # the sheet is ready
    assert page.get_attribute("#om-rp-level", "data-default") == "IV"
    page.fill("#om-rp-title", "南淝河入湖口发现油膜")
    page.select_option("#om-rp-type", "water")
    page.select_option("#om-rp-level", "III")
    page.fill("#om-rp-note", "约 200 米长油膜，已通知下游水厂。")
    page.tap("#om-rp-gps")
    page.wait_for_function("() => /\\d+\\.\\d{6}, \\d+\\.\\d{6}/"
                           ".test(document.getElementById('om-rp-where').textContent)")
    page.set_input_files("#om-rp-photos", files=[
        {"name": "油膜.jpg", "mimeType": "image/jpeg", "buffer": _photo((30, 30, 30))}])
    page.tap("#om-rp-send")
    page.wait_for_selector(".om-rp-state.om-rp-done")
    said = page.inner_text(".om-rp-state")
    assert "已上报：南淝河入湖口发现油膜" in said and "照片 1 张" in said, said
    fid = page.get_attribute("#om-report", "data-last")
    assert fid
    page.screenshot(path=str(artifacts_dir / "phone-report.png"))
    made = requests.get(f"{base}/ogc/collections/incidents/items/{fid}", timeout=60,
                        headers=callers["viewer"].headers, params={"f": "json"}).json()
    assert made["properties"]["level"] == "III" and made["properties"]["type"] == "water"
    assert made["properties"]["status"] == "reported"
    assert made["geometry"]["coordinates"] == pytest.approx(list(here), abs=1e-6)

    # -- the same commander updates it from the phone: responding, one more photo ---------------
    page.select_option("#om-rp-target", fid)
    page.wait_for_function("() => document.getElementById('om-rp-title').value === "
                           "'南淝河入湖口发现油膜'")
    page.select_option("#om-rp-status", "responding")
    page.set_input_files("#om-rp-photos", files=[
        {"name": "围油栏.png", "mimeType": "image/png", "buffer": _photo((200, 200, 0))}])
    page.tap("#om-rp-send")
    page.wait_for_function("() => document.querySelector('.om-rp-state')"
                           "?.innerText.includes('已更新')")
    assert "新增照片 1 张" in page.inner_text(".om-rp-state")
    assert not traffic.console_errors, (traffic.console_errors, traffic.failed)
    phone.close()
    now = requests.get(f"{base}/ogc/collections/incidents/items/{fid}", timeout=60,
                       headers=callers["viewer"].headers, params={"f": "json"}).json()
    assert now["properties"]["status"] == "responding"
    photos = requests.get(f"{base}/api/attachments/incidents/{fid}", timeout=60,
                          headers=callers["viewer"].headers).json()["attachments"]
    assert len(photos) == 2

    # -- on the desktop: the incident on the map, its photos in its popup -----------------------
    desk = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    login(page, "viewer", base=base, settings=settings)
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(f"{base}/?z=15&lat={here[1]}&lon={here[0]}&layers=incidents")
    where = """(fid) => {
        let found = null;
        const map = window.onemap && window.onemap.tools && window.onemap.tools.map();
        if (!map) { return null; }
        map.eachLayer(l => {
            if (l.feature && l.feature.properties && l.feature.properties.incident_id === fid
                && l.getElement && l.getElement()) {
                const r = l.getElement().getBoundingClientRect();
                found = [r.x + r.width / 2, r.y + r.height / 2];
            }
        });
        return found;
    }"""
    for attempt in range(4):  # the map may still be moving to the link's view: click again
        page.wait_for_function(where, arg=fid)
        x, y = page.evaluate(where, fid)
        page.mouse.click(x, y)
        try:
            page.wait_for_selector(".leaflet-popup .om-photo img", timeout=10_000)
            break
        except PlaywrightTimeout:
            assert attempt < 3, "the incident's popup with its photos never opened"
    popup = page.inner_text(".leaflet-popup")
    assert "南淝河入湖口发现油膜" in popup and "现场照片 (2)" in popup and "处置中" in popup
    page.wait_for_function("() => [...document.querySelectorAll('.leaflet-popup .om-photo img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator(".leaflet-popup .om-photo img").count() == 2
    page.screenshot(path=str(artifacts_dir / "desktop-report-popup.png"))
    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    desk.close()


def test_phone_emergency_one_handed(live_server: str, browser, login,  # type: ignore[no-untyped-def]
                                    callers, artifacts_dir: Path) -> None:
    """Pick an incident, run, read the trace and the receptors, share the report's link: all by
    taps in the bottom sheet, the map above showing the rings and the trace."""
    commander = callers["commander"].headers
    spill = next(f for f in features(live_server, "incidents", commander)
                 if f["properties"]["pollutant"] == "甲苯")
    x, y = spill["geometry"]["coordinates"]
    context = _context(browser, PHONE, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    login(page, "commander")
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(f"{live_server}/?z=12&lat={y}&lon={x}")
    page.tap(".om-m-tab[data-sheet=panels]")
    page.tap(".om-tab[data-panel=emergency]")
    page.wait_for_function("() => document.querySelector('#em-time')?.value !== ''")
    page.locator("#em-incident").tap()
    page.get_by_role("option", name=re.compile(re.escape(spill["properties"]["title"]))).tap()
    page.wait_for_function(f"() => document.querySelector('#em-lon')?.value == '{x}'")
    page.wait_for_function("() => document.querySelector('#em-pollutant')?.innerText"
                           ".includes('甲苯')")
    page.locator("#em-medium input[value=water]").tap()
    run = page.locator("#em-run")
    run.scroll_into_view_if_needed()
    box = run.bounding_box()
    assert box and box["height"] >= 40 and box["y"] > 0.4 * PHONE["height"]  # thumb's reach
    run.tap()
    page.wait_for_selector(".om-em-ds-row")
    page.wait_for_selector(".leaflet-om-em-pane path.om-em-trace")  # drawn after the rows
    text = page.inner_text(".om-tab-body[data-panel=emergency]")
    assert "缓冲圈内敏感目标" in text and "取水口" in text
    dock = page.locator("#om-dock-root").bounding_box()
    assert dock and dock["height"] <= 0.55 * PHONE["height"] + 1  # the map stays in view
    # Fitted to the map above the sheet, filling it (the desktop's room for panels is not kept)
    page.wait_for_function(f"""() => {{ const d = ({DRAWN_AT})('.leaflet-om-em-pane '
        + 'path.om-em-ring, .leaflet-om-em-pane path.om-em-trace'), b = d.box, m = d.map;
        return b && b[0] >= m[0] - 2 && b[2] <= m[2] + 2 && b[1] >= m[1] - 2 && b[3] <= m[3] + 2
               && Math.max((b[2] - b[0]) / (m[2] - m[0]), (b[3] - b[1]) / (m[3] - m[1])) > 0.6;
    }}""")
    share = page.locator("#em-share")
    share.scroll_into_view_if_needed()
    share.tap()
    page.wait_for_function("() => document.querySelector('.om-share-said')"
                           "?.innerText.includes('链接已复制')")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert re.fullmatch(re.escape(live_server) + r"/api/reports/[0-9a-f]{32}\.html", copied)
    assert requests.get(copied, headers=commander, timeout=60).status_code == 200
    page.screenshot(path=str(artifacts_dir / "phone-emergency.png"))
    assert not traffic.console_errors, traffic.console_errors
    context.close()
