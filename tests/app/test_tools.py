"""Map tools in a real browser: coordinates under the cursor, measuring distance and area, and
exporting the view as PNG and as offline HTML, in both languages.

Expected numbers are computed here independently: distances and areas with pyproj's geodesics
(GeographicLib, WGS84), feature counts from the OGC API, pixel colours from Playwright's own
screenshot of the same page.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests
from pyproj import Geod

from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

GEOD = Geod(ellps="WGS84")
VIEW = {"width": 1800, "height": 1000}
#: Known points (lat, lon) near Hefei: a three-point line, and a four-corner area.
LINE = [(31.800, 117.200), (31.720, 117.300), (31.780, 117.360)]
AREA = [(31.800, 117.200), (31.730, 117.210), (31.720, 117.330), (31.790, 117.350)]
#: Container pixels of lat/lngs on the Leaflet map (tools.js exposes the map).
PIXELS = """lls => { const m = window.onemap.tools.map();
    return lls.map(ll => { const p = m.latLngToContainerPoint(ll); return [p.x, p.y]; }); }"""
#: Leaflet's map element under a page pixel (null if a panel covers the map there).
ON_MAP = """([x, y]) => { const e = document.elementFromPoint(x, y);
    return !!e && !!e.closest('#om-map') && !e.closest('.leaflet-control, .om-tools'); }"""


def _open(browser, login):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=VIEW, locale="zh-CN", accept_downloads=True)
    login(page, "viewer")  # incidents, on by default, are internal
    traffic = watch(page)
    page.set_default_timeout(30_000)
    return page, traffic


def _load(page, base: str) -> dict:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    page.wait_for_function("() => window.onemap && window.onemap.tools"
                           " && window.onemap.tools.map()")
    return page.locator("#om-map").bounding_box()


def _centre_on(page, points: list[tuple[float, float]], zoom: int, at: tuple[int, int]) -> None:
    """Put the points' centre at container pixel ``at`` (clear of the panels) at ``zoom``."""
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    page.evaluate("""([ll, z, at]) => { const m = window.onemap.tools.map();
        const size = m.getSize();
        const c = m.project(ll, z).add([size.x / 2 - at[0], size.y / 2 - at[1]]);
        m.setView(m.unproject(c, z), z, {animate: false}); }""", [[lat, lon], zoom, list(at)])


def _click_points(page, box: dict, points: list[tuple[float, float]]) -> list[list[float]]:
    xy = page.evaluate(PIXELS, [list(p) for p in points])
    out = []
    for x, y in xy:
        px, py = round(box["x"] + x), round(box["y"] + y)
        assert page.evaluate(ON_MAP, [px, py]), f"({px}, {py}) is covered by a panel"
        out.append([px, py])
    return out


def _number(text: str) -> tuple[float, str]:
    m = re.fullmatch(r"([\d,]+(?:\.\d+)?) (m|km|m²|km²)", text.strip())
    assert m, f"not a measurement: {text!r}"
    return float(m.group(1).replace(",", "")), m.group(2)


def _metres(text: str) -> float:
    value, unit = _number(text)
    return value * {"m": 1, "km": 1000, "m²": 1, "km²": 1e6}[unit]


def _coordinates(page, box: dict, base: str) -> None:  # type: ignore[no-untyped-def]
    """Over a known station, the control says its lon/lat; it goes when the mouse leaves."""
    assert not page.is_visible("#om-coords")
    station = requests.get(f"{base}/ogc/collections/air_stations/items",
                           params={"f": "json", "limit": 1}, timeout=30).json()["features"][0]
    lon, lat = station["geometry"]["coordinates"]
    _centre_on(page, [(lat, lon)], 13, (700, 450))  # ~19 m a pixel
    (x, y), = _click_points(page, box, [(lat, lon)])
    page.mouse.move(x, y)
    page.wait_for_selector("#om-coords", state="visible")
    text = page.inner_text("#om-coords")
    m = re.fullmatch(r"东经 (\d+\.\d{5})°，北纬 (\d+\.\d{5})°", text)
    assert m, text
    assert abs(float(m.group(1)) - lon) < 2e-4 and abs(float(m.group(2)) - lat) < 2e-4, text
    page.mouse.move(box["x"] + 150, box["y"] + 300)  # onto the layer panel: off the map
    page.wait_for_selector("#om-coords", state="hidden")
    page.mouse.move(x, y)
    page.wait_for_selector("#om-coords", state="visible")


def test_coordinates_and_measuring(live_server: str, browser, artifacts_dir: Path,  # type: ignore[no-untyped-def]
                                   login) -> None:
    page, traffic = _open(browser, login)
    box = _load(page, live_server)
    _coordinates(page, box, live_server)
    assert page.get_attribute("#om-tool-distance", "title") == "测量距离"
    _centre_on(page, LINE + AREA, 12, (760, 470))
    zoom = page.evaluate("() => window.onemap.tools.map().getZoom()")

    # A line through three points: two clicks, a double-click on the last one ends it.
    page.click("#om-tool-distance")
    page.wait_for_selector("#om-measure", state="visible")
    assert "单击地图添加点" in page.inner_text("#om-measure-hint")
    (x1, y1), (x2, y2), (x3, y3) = _click_points(page, box, LINE)
    page.mouse.click(x1, y1)
    page.mouse.click(x2, y2)
    page.mouse.move(x3, y3)  # the rubber band follows the mouse before the last click
    page.mouse.dblclick(x3, y3)
    page.wait_for_selector("#om-measure-hint", state="hidden")
    expected = sum(GEOD.inv(a[1], a[0], b[1], b[0])[2]
                   for a, b in zip(LINE, LINE[1:], strict=False))
    shown = page.inner_text("#om-measure-value")
    assert _number(shown)[1] == "km"
    assert abs(_metres(shown) - expected) / expected < 0.005, (shown, expected)
    assert page.inner_text("#om-measure-label") == "距离"
    assert "3 个点" in page.inner_text("#om-measure-detail")
    # The clicks measured and did nothing else: no zoom on the double-click, no popup.
    assert page.evaluate("() => window.onemap.tools.map().getZoom()") == zoom
    assert page.locator(".leaflet-popup").count() == 0
    assert page.inner_text(".om-measure-tip") == shown  # the total, labelled on the map

    # An area of four corners, finished with Enter; then the read-out in English.
    page.click("#om-tool-area")
    # the button starts the tool through a (clientside) callback: until it has, clicks on the
    # map are not measured and the finished line's hidden hint would pass for the area's
    page.wait_for_selector("#om-tool-area.om-tool-active")
    for x, y in _click_points(page, box, AREA):
        page.mouse.click(x, y)
    page.keyboard.press("Enter")
    page.wait_for_selector("#om-measure-hint", state="hidden")
    lons, lats = [p[1] for p in AREA], [p[0] for p in AREA]
    area, perimeter = GEOD.polygon_area_perimeter(lons, lats)
    shown = page.inner_text("#om-measure-value")
    assert _number(shown)[1] == "km²"
    assert abs(_metres(shown) - abs(area)) / abs(area) < 0.005, (shown, area)
    detail = page.inner_text("#om-measure-detail")
    ha = re.search(r"([\d,.]+) ha", detail)
    assert ha and abs(float(ha.group(1).replace(",", "")) * 1e4 - abs(area)) / abs(area) < 0.005
    per = re.search(r"周长 ([\d,.]+ k?m)", detail)
    assert per and abs(_metres(per.group(1)) - perimeter) / perimeter < 0.005, detail
    page.screenshot(path=str(artifacts_dir / "measure.png"))

    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function("() => document.querySelector('#om-measure-label')?.textContent"
                           " === 'Area'")
    # The coordinates are re-worded at once (the mouse left the map for the switch).
    assert re.fullmatch(r"\d+\.\d{5}°E, \d+\.\d{5}°N", page.text_content("#om-coords"))
    assert re.search(r"Perimeter [\d,.]+ k?m", page.inner_text("#om-measure-detail"))
    assert page.inner_text("#om-measure-clear") == "Clear"
    page.wait_for_function("() => document.querySelector('#om-tool-area').title"
                           " === 'Measure area'")
    assert page.get_attribute("#om-tool-png", "title") == "Export the view as a PNG image"
    page.keyboard.press("Escape")  # clears the measurement
    page.wait_for_selector("#om-measure", state="hidden")
    assert page.locator(".leaflet-om-measure-pane path").count() == 0
    assert traffic.console_errors == [] and traffic.failed == []
    page.close()


def _png(path: Path) -> np.ndarray:
    """An RGB(A) PNG as a (rows, cols, bands) array (GDAL's PNG driver; no georeference)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NotGeoreferencedWarning
        with rasterio.open(path) as src:
            return np.moveaxis(src.read(), 0, -1)


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


#: Centres of visible symbols of a pane with their fill colour: top-most, and under no place
#: label (labels let the mouse through, so elementFromPoint does not see them).
SYMBOLS = """pane => {
    const out = [], labels = [...document.querySelectorAll('.leaflet-tooltip')]
        .map(t => t.getBoundingClientRect());
    const sel = '.leaflet-' + pane + '-pane path.leaflet-interactive';
    for (const p of document.querySelectorAll(sel)) {
        const r = p.getBoundingClientRect();
        const x = Math.round(r.left + r.width / 2), y = Math.round(r.top + r.height / 2);
        const under = labels.some(l => x > l.left - 3 && x < l.right + 3 && y > l.top - 3
                                       && y < l.bottom + 3);
        if (r.width > 6 && !under && document.elementFromPoint(x, y) === p) {
            out.push([x, y, p.getAttribute('fill')]);
        }
    }
    return out;
}"""


#: Page rectangles (CSS px) of everything drawn over the map that is not the map: panels,
#: legend, time bar, dock, Leaflet controls, the tool bar and its messages.
OVERLAYS = """() => [...document.querySelectorAll(
    '#om-panel, #om-legend, #om-dock-root, .om-timebar, .leaflet-control, .om-tools,'
    + ' .om-tool-panel > *')].map(e => e.getBoundingClientRect())
    .filter(r => r.width && r.height).map(r => [r.left, r.top, r.right, r.bottom])"""


def _export_png(page, box: dict, tmp: Path, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The PNG is the map as the screen shows it: same size, same pixels outside the panels
    (tiles, vector symbols, icons, labels), the land fill and each station in its colour."""
    with page.expect_download() as info:
        page.click("#om-tool-png")
    download = info.value
    assert re.fullmatch(r"onemap-\d{4}-\d{2}-\d{2}\.png", download.suggested_filename)
    out = tmp / "view.png"
    download.save_as(out)
    page.wait_for_selector("#om-tool-msg.om-tool-msg-ok")
    assert download.suggested_filename in page.inner_text("#om-tool-msg")
    page.screenshot(path=str(tmp / "screen.png"))
    stations = page.evaluate(SYMBOLS, "om-air_stations")
    sections = page.evaluate(SYMBOLS, "om-water_sections")
    overlays = page.evaluate(OVERLAYS)
    dpr = page.evaluate("window.devicePixelRatio")
    assert dpr == 1  # the screenshot and the export then share one pixel grid

    img = _png(out)[..., :3].astype(int)
    assert img.shape[:2] == (round(box["height"]), round(box["width"]))
    # The administrative land fill (#FAF6EE, the offline basemap) covers a good part of it…
    land = np.all(np.abs(img - _hex("#FAF6EE")) <= 2, axis=-1).mean()
    assert land > 0.05, f"admin fill on {land:.1%} of the image"
    # …every station and section symbol is where the page shows it, in its colour…
    x0, y0 = round(box["x"]), round(box["y"])
    screen = _png(tmp / "screen.png")[y0:y0 + img.shape[0], x0:x0 + img.shape[1], :3].astype(int)
    assert stations and sections
    for x, y, fill in stations + sections:
        got, seen = img[y - y0, x - x0], screen[y - y0, x - x0]
        assert np.abs(got - seen).max() <= 12, (fill, got, seen)
        assert np.abs(got - _hex(fill)).max() <= 16, (fill, got)  # fillOpacity 0.95
    # …and the whole map outside the panels matches the screen (text rendering aside).
    free = np.ones(img.shape[:2], bool)
    for left, top, right, bottom in overlays:
        free[max(0, int(top) - y0 - 1):max(0, int(bottom) - y0 + 2),
             max(0, int(left) - x0 - 1):max(0, int(right) - x0 + 2)] = False
    same = (np.abs(img - screen).max(axis=-1) <= 16)[free].mean()
    assert free.mean() > 0.3 and same > 0.97, f"{same:.1%} of {free.mean():.0%} free pixels"
    # The legend is drawn too (what each colour means), and a caption with the map's time.
    drawn = page.evaluate("() => window.onemap.tools.last")
    lx, ly, lw, lh = (round(v) for v in drawn["legend"])
    legend = img[ly:ly + lh, lx:lx + lw]
    swatches = page.eval_on_selector_all(
        "#om-legend [data-layer=air_stations] .om-swatch",
        "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(swatches) == 7  # six AQI levels and no data
    for css in swatches:
        rgb = np.array([int(v) for v in re.findall(r"\d+", css)[:3]])
        assert np.all(np.abs(legend - rgb) <= 3, axis=-1).sum() > 20, (css, "not in the legend")
    cx, cy, cw, ch = (round(v) for v in drawn["caption"])
    assert img[cy:cy + ch, cx:cx + cw].mean() > 200  # a light box with dark text on it
    assert np.any(img[cy:cy + ch, cx:cx + cw].max(axis=-1) < 100)
    (artifacts_dir / "export.png").write_bytes(out.read_bytes())


def _export_html(page, base: str, tmp: Path, browser,  # type: ignore[no-untyped-def]
                 headers: dict[str, str]) -> None:
    """The HTML holds the ticked vector layers' features of the view, in Chinese, and draws
    them from a file with the network cut off."""
    ticked = page.eval_on_selector_all(  # vector layers (rasters have their own rows)
        "#om-layer-list .om-group:not([data-group=remote_sensing]) input:checked",
        "els => els.map(e => e.value)")
    assert {"admin_boundaries", "air_stations", "incidents"} <= set(ticked)
    with page.expect_download() as info:
        page.click("#om-tool-html")
    download = info.value
    assert re.fullmatch(r"onemap-\d{4}-\d{2}-\d{2}\.html", download.suggested_filename)
    html = Path(download.path()).read_text(encoding="utf-8")
    page.wait_for_function(  # the GF-1 scene is on: the message says it is not in the file
        "() => /\\.html（HTML 地图只含矢量图层/.test(document.querySelector('#om-tool-msg')"
        ".textContent)")
    bounds = page.evaluate("() => { const b = window.onemap.tools.map().getBounds();"
                           " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
    meta = json.loads(re.search(r'id="om-export-meta">([^<]+)<', html).group(1))
    assert meta["lang"] == "zh" and {m["id"] for m in meta["layers"]} == set(ticked)
    assert all(abs(a - b) < 1e-5 for a, b in zip(meta["bbox"], bounds, strict=True))
    bbox = ",".join(str(v) for v in meta["bbox"])
    for layer in meta["layers"]:  # every feature of the view, as the OGC API counts them
        n = requests.get(f"{base}/ogc/collections/{layer['id']}/items",
                         params={"f": "json", "bbox": bbox, "limit": 1}, headers=headers,
                         timeout=30
                         ).json()["numberMatched"]
        assert layer["count"] == n and not layer["capped"], (layer, n)
    assert "<title>OneMap 生态环境一张图 · 地图导出</title>" in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", html)

    path = tmp / download.suggested_filename
    path.write_text(html, encoding="utf-8")
    offline = browser.new_page(viewport={"width": 1200, "height": 800})
    errors = watch(offline).console_errors
    blocked: list[str] = []
    offline.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                  else (blocked.append(r.request.url), r.abort()))
    offline.goto(path.as_uri())
    offline.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
    drawn = offline.evaluate("() => document.querySelectorAll('path.leaflet-interactive').length"
                             " + document.querySelectorAll('.leaflet-marker-icon').length")
    assert drawn == sum(m["count"] for m in meta["layers"])
    legend = offline.inner_text("#om-legend")
    assert "空气质量监测站" in legend and "良" in legend and "行政区划" in legend
    assert blocked == [] and errors == []
    offline.close()


def test_export_png_and_html(live_server: str, browser, artifacts_dir: Path,  # type: ignore[no-untyped-def]
                             tmp_path: Path, login, callers) -> None:
    page, traffic = _open(browser, login)
    box = _load(page, live_server)
    # A raster on too, so the PNG has tiles to draw: the GF-1 scene, which covers only part of
    # the region (the land fill stays visible around it).
    page.locator(".om-group[data-group=remote_sensing] input[value^=gf1_]").first.check()
    page.wait_for_selector("#om-map img.leaflet-tile-loaded")
    page.wait_for_load_state("networkidle")
    # "networkidle" may have fired before the raster was ticked: wait for its tiles themselves,
    # loaded (or failed) and faded in, so the export and the screenshot see the same tiles.
    page.wait_for_function("() => [...document.querySelectorAll('#om-map img.leaflet-tile')]"
                           ".every(i => i.complete && getComputedStyle(i).opacity === '1')")
    _export_png(page, box, tmp_path, artifacts_dir)
    _export_html(page, live_server, tmp_path, browser, callers["viewer"].headers)
    # Nothing to export: said in words, nothing asked of the server.
    ticked = page.eval_on_selector_all(
        "#om-layer-list .om-group:not([data-group=remote_sensing]) input:checked",
        "els => els.map(e => e.value)")
    for lid in ticked:
        page.locator(f"#om-layer-list input[value={lid}]").uncheck()
    asked = len(traffic.urls)
    page.click("#om-tool-html")
    page.wait_for_selector("#om-tool-msg.om-tool-msg-error")
    assert page.inner_text("#om-tool-msg").startswith("没有勾选任何矢量图层：请先在左侧图层列表")
    assert not any("/api/exports/" in u for u in traffic.urls[asked:])
    assert traffic.console_errors == [] and traffic.failed == []
    page.close()
