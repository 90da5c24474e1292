"""Rasters in a real browser: upload through the panel, NDVI legend and pixel value, a series'
time slider, opacity — against the real server and sample region.

Uploaded rasters are deleted again over the API (the live server's data dir is shared by the
whole session). Screenshots: ``test-artifacts/upload.png``, ``upload-error.png``, ``series.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from onemap.app.i18n import t
from onemap.app.rasters import raster_entries
from tests.browsing import Traffic, wait_for_tile, watch
from tests.conftest import Caller
from tests.raster.makers import scene_ndvi, write_not_a_tiff, write_scene

pytestmark = [pytest.mark.browser, pytest.mark.server]

#: Screen position of the first of ``points`` (lon, lat) that a loaded tile of a layer's pane
#: covers and no feature with a popup, control or panel hides, or null. Only the DOM is used:
#: the test needs no access to the Leaflet map object.
SCREEN_POINT = """([id, points]) => {
    const tiles = [...document.querySelectorAll(
        '.leaflet-om-' + id + '-pane img.leaflet-tile-loaded')];
    for (const [lon, lat] of points) {
        for (const img of tiles) {
            const m = img.src.match(/\\/tiles\\/WebMercatorQuad\\/(\\d+)\\/(\\d+)\\/(\\d+)/);
            if (!m) continue;
            const z = +m[1], x = +m[2], y = +m[3], n = 2 ** z, r = lat * Math.PI / 180;
            const gx = (lon + 180) / 360 * n;
            const gy = (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n;
            if (gx < x || gx >= x + 1 || gy < y || gy >= y + 1) continue;
            const b = img.getBoundingClientRect();
            const px = b.left + (gx - x) * b.width, py = b.top + (gy - y) * b.height;
            const hit = document.elementFromPoint(px, py);
            // Counties (no popup) may lie under the spot; features with popups may not.
            const feature = hit && hit.closest('.leaflet-interactive') &&
                !hit.closest('.leaflet-om-admin_boundaries-pane');
            if (hit && hit.closest('.om-map') && !feature && !hit.closest(
                    '.leaflet-marker-icon, .leaflet-control, .leaflet-popup'))
                return [px, py];
        }
    }
    return null;
}"""


def _left_half_points() -> list[list[float]]:
    """Spots well inside the vegetated left half of :func:`write_scene` (117.0–117.3°E)."""
    return [[117.15 + dx, 31.75 + dy] for dx in (0, -0.06, 0.06, -0.1, 0.1)
            for dy in (0, 0.08, -0.08, 0.16, -0.16)]


#: Records every class the upload message takes, so the test sees the phases it went through.
RECORD_PHASES = """() => {
    window.__phases = [];
    const el = document.querySelector('#om-upload-msg');
    new MutationObserver(() => window.__phases.push(el.className))
        .observe(el, {attributes: true, attributeFilter: ['class']});
}"""


@pytest.fixture
def analyst(callers: dict[str, Caller]) -> dict[str, str]:
    """The analyst's key as a header: the browser that uploads sends it with every request
    (uploading needs the role; the page itself is the same for everyone)."""
    return callers["analyst"].headers


@pytest.fixture
def uploaded(live_server: str, analyst: dict[str, str]) -> Iterator[list[str]]:
    """Dataset ids a test uploaded; deleted afterwards."""
    ids: list[str] = []
    yield ids
    for dataset in ids:
        requests.delete(f"{live_server}/api/rasters/{dataset}", headers=analyst, timeout=30)


def _open(browser, live_server: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN",
                                  extra_http_headers=headers or {})
    page = context.new_page()  # the context goes with the browser, at the session's end
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    return page, traffic


def _fill_upload(page, path: Path, *, title: str, date: str = "", bands: str = "",  # type: ignore[no-untyped-def]
                 ndvi: bool = False) -> None:
    page.click("#om-upload summary")
    page.wait_for_selector("#om-upload-file", state="attached")
    page.set_input_files("#om-upload-file", str(path))
    page.wait_for_function("() => document.querySelector('#om-upload-filename')?.innerText"
                           f".includes({path.name!r})")
    page.fill("#om-upload-title", title)
    if date:
        page.fill("#om-upload-date", date)
    if bands:
        page.fill("#om-upload-bands", bands)
    if ndvi:
        page.locator("#om-upload-render input[value=ndvi]").check()


def _post_response(page):  # type: ignore[no-untyped-def]
    return page.expect_response(lambda r: r.url.endswith("/api/rasters")
                                and r.request.method == "POST")


def _clean(traffic: Traffic) -> None:
    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    assert traffic.hosts == {"127.0.0.1"}, f"requests left 127.0.0.1: {traffic.hosts}"


def test_upload_scene_with_ndvi(live_server: str, browser, artifacts_dir: Path,  # type: ignore[no-untyped-def]
                                tmp_path: Path, uploaded: list[str],
                                analyst: dict[str, str]) -> None:
    scene = write_scene(tmp_path / "gf1_scene.tif")
    page, traffic = _open(browser, live_server, analyst)
    _fill_upload(page, scene, title="测试影像 NDVI", date="2025-06-15",
                 bands="blue, green, red, nir", ndvi=True)
    page.evaluate(RECORD_PHASES)
    with _post_response(page) as info:
        page.click("#om-upload-start")
    resp = info.value
    assert resp.status in (201, 202), resp.text()
    body = resp.json()
    dataset = body.get("dataset") or body.get("id")
    assert dataset
    uploaded.append(dataset)

    # Progress reaches "done" after the upload (and conversion) phases.
    page.wait_for_selector("#om-upload-msg.om-upload-done")
    phases = page.evaluate("() => window.__phases")
    assert {"om-upload-msg om-upload-uploading", "om-upload-msg om-upload-converting"} & \
        set(phases), phases
    assert "测试影像 NDVI" in page.inner_text("#om-upload-msg")
    assert page.eval_on_selector("#om-upload-bar", "e => parseFloat(e.style.width)") == 100

    # The new raster is in the layer list, switched on, without a page reload ...
    box = page.locator(f"#om-rs-list input[value='{dataset}']")
    box.wait_for()
    assert box.is_checked()
    assert page.evaluate("() => window.__phases !== undefined"), "the page was reloaded"
    # ... its tiles load (NDVI band math from the band names, PNG) ...
    tile = wait_for_tile(page, traffic, f"/raster/{dataset}/tiles/")
    query = parse_qs(urlsplit(tile).query)
    assert query["expression"] == ["(b4-b3)/(b4+b3)"], tile
    assert query["colormap_name"] == ["onemap_ndvi"], tile
    # (the map shows the whole new raster; let it settle before reading tile positions)
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(f".leaflet-om-{dataset}-pane img.leaflet-tile-loaded")
    # ... and the legend shows the NDVI ramp.
    ramp = page.wait_for_selector(f"#om-legend [data-layer='{dataset}'] "
                                  ".om-ramp[data-colormap=onemap_ndvi]")
    assert ramp.is_visible()
    assert "NDVI" in page.inner_text(f"#om-legend [data-layer='{dataset}']")

    # A click on the vegetated (left) half of the scene shows its NDVI.
    xy = page.wait_for_function(SCREEN_POINT, arg=[dataset, _left_half_points()],
                                timeout=20_000).json_value()
    page.mouse.click(*xy)
    cell = page.wait_for_selector(f".om-raster-popup .om-pixel[data-dataset='{dataset}'] "
                                  ".om-pixel-value")
    expected = scene_ndvi(True)
    assert abs(float(cell.get_attribute("data-value")) - expected) < 0.005
    row = cell.evaluate("td => td.parentElement.innerText")
    assert re.fullmatch(rf"NDVI\s+{expected:.2f}", row.strip()), row
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "upload.png"))

    _clean(traffic)
    page.close()


def test_upload_not_a_tiff_shows_the_reason(live_server: str, browser, artifacts_dir: Path,  # type: ignore[no-untyped-def]
                                            tmp_path: Path, uploaded: list[str],
                                            analyst: dict[str, str]) -> None:
    bad = write_not_a_tiff(tmp_path / "stations.tif")
    page, traffic = _open(browser, live_server, analyst)
    _fill_upload(page, bad, title="不是影像")
    with _post_response(page) as info:
        page.click("#om-upload-start")
    resp = info.value
    if resp.status < 300:  # would be a server bug; still clean up
        uploaded.append(resp.json().get("dataset") or resp.json().get("id"))
    assert 400 <= resp.status < 500, resp.status
    body = resp.json()
    assert body["code"] == "InvalidRaster"
    msg = page.wait_for_selector("#om-upload-msg.om-upload-error")
    # In Chinese the reason is worded by the error code (the server's sentence is English)…
    assert msg.inner_text() == "上传失败：" + t("upload_err_InvalidRaster", "zh")
    page.screenshot(path=str(artifacts_dir / "upload-error.png"))
    # …and in English the server's own explanation is shown too.
    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function("d => document.querySelector('#om-upload-msg')?.innerText"
                           ".includes(d)", arg=body["detail"])
    assert page.inner_text("#om-upload-msg").startswith("Upload failed: " +
                                                        t("upload_err_InvalidRaster", "en"))
    # The only failure is the refused upload (and the browser's console line about it).
    assert traffic.failed == [f"{resp.status} {resp.url}"], traffic.failed
    assert all(f"status of {resp.status}" in e for e in traffic.console_errors), \
        traffic.console_errors
    assert traffic.hosts == {"127.0.0.1"}
    page.close()


def _series(live_server: str) -> dict:
    entries = raster_entries(requests.get(f"{live_server}/api/rasters", timeout=10).json())
    series = [e for e in entries if len(e["steps"]) >= 2]
    assert series, "the sample region has no raster series"
    return next((e for e in series if e["id"] == "ndvi"), series[0])


def test_series_time_slider_and_opacity(live_server: str, browser,  # type: ignore[no-untyped-def]
                                        artifacts_dir: Path) -> None:
    spec = _series(live_server)
    lid, steps = spec["id"], spec["steps"]
    page, traffic = _open(browser, live_server)
    row = f"#om-rs-list .om-raster[data-layer='{lid}']"
    page.locator(f"{row} input[value='{lid}']").check()
    # The newest step first.
    wait_for_tile(page, traffic, f"/{steps[-1]['dataset']}/tiles/")
    assert steps[-1]["label"] in page.inner_text(f"{row} .om-time-label")

    # Moving the slider to the first date switches the tile URL to that dataset.
    handle = page.locator(f"{row} .om-time [role=slider]")
    handle.focus()
    page.keyboard.press("Home")
    wait_for_tile(page, traffic, f"/{steps[0]['dataset']}/tiles/")
    page.wait_for_function(
        f"() => document.querySelector(\"{row} .om-time-label\").innerText"
        f".startsWith({steps[0]['label']!r})")
    src = page.eval_on_selector(f".leaflet-om-{lid}-pane img.leaflet-tile", "e => e.src")
    assert f"/{steps[0]['dataset']}/" in src
    # The legend stays, now naming the date shown.
    block = f"#om-legend [data-layer='{lid}']"
    page.wait_for_function(f"() => document.querySelector(\"{block}\")?.innerText"
                           f".includes({steps[0]['label']!r})")
    assert page.query_selector(f"{block} .om-ramp")

    # Play advances the steps by itself; pause stops it.
    page.click(f"{row} .om-play")
    page.wait_for_function(
        f"() => !document.querySelector(\"{row} .om-time-label\").innerText"
        f".startsWith({steps[0]['label']!r})", timeout=10_000)
    page.click(f"{row} .om-play")
    page.wait_for_function(f"() => document.querySelector(\"{row} .om-play\").innerText === '▶'")

    # Opacity: the slider drives the tile layer's opacity style.
    layer = f".leaflet-om-{lid}-pane .leaflet-layer"
    assert page.eval_on_selector(layer, "e => e.style.opacity") == "0.85"
    opacity = page.locator(f"{row} .om-opacity [role=slider]")
    opacity.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector({layer!r}).style.opacity === '0.6'")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts_dir / "series.png"))
    _clean(traffic)
    page.close()


def test_cancel_during_conversion_registers_nothing(  # type: ignore[no-untyped-def]
        live_server: str, browser, artifacts_dir: Path, tmp_path: Path, uploaded: list[str],
        sample_settings, analyst: dict[str, str]) -> None:
    """A user cancels a big upload while the server converts it: the page says so at once,
    the server stops the job, and no raster, file or temporary file is left behind."""
    big = write_scene(tmp_path / "big_scene.tif", width=6000, height=5000)  # 240 MB
    page, traffic = _open(browser, live_server, analyst)
    _fill_upload(page, big, title="取消测试")
    page.evaluate(RECORD_PHASES)
    with _post_response(page) as info:
        page.click("#om-upload-start")
    resp = info.value
    assert resp.status == 202, resp.text()
    job_id, dataset = resp.json()["jobID"], resp.json()["dataset"]
    uploaded.append(dataset)  # deleted afterwards should the cancel fail

    page.wait_for_selector("#om-upload-msg.om-upload-converting")
    cancel = page.locator("#om-upload-cancel")
    assert cancel.is_visible()
    with page.expect_response(lambda r: r.url.endswith(f"/api/jobs/{job_id}")
                              and r.request.method == "DELETE") as deleted:
        cancel.click()
    assert deleted.value.status == 200, deleted.value.text()
    assert deleted.value.json()["status"] in ("running", "dismissed"), deleted.value.json()
    msg = page.wait_for_selector("#om-upload-msg.om-upload-cancelled")
    assert msg.inner_text() == t("upload_cancelled", "zh")
    assert not cancel.is_visible()
    page.screenshot(path=str(artifacts_dir / "upload-cancel.png"))

    # The server reports "dismissed" only once the work has stopped and cleaned up.
    status = ""
    for _ in range(240):
        status = requests.get(f"{live_server}/api/jobs/{job_id}", headers=analyst,
                              timeout=10).json()["status"]
        if status not in ("accepted", "running"):
            break
        page.wait_for_timeout(500)
    assert status == "dismissed", status
    listing = requests.get(f"{live_server}/api/rasters", timeout=10).json()
    listed = {r["id"] for r in listing["rasters"]}
    assert dataset not in listed
    assert requests.get(f"{live_server}/raster/{dataset}/info", timeout=10).status_code == 404
    left = [p.name for folder in (sample_settings.raster_dir, sample_settings.upload_dir)
            if folder.exists() for p in folder.iterdir()
            if dataset in p.name or "tmp" in p.name or p.name.startswith(".")]
    assert not left, left
    _clean(traffic)
    page.close()
