"""The Ecology panel in a real browser: "which red lines lost vegetation this year?"

A user opens the Ecology tab, keeps the defaults (red lines, NDVI 2024-07 → 2025-07), runs the
analysis and reads the ranking; the test compares it with the same process run over HTTP, checks
the loss patches are drawn in the panel's pane, shows the after-date NDVI, clicks the top row
and checks where the map went (read from the NDVI tiles' positions: no access to the Leaflet
object is needed), then switches to English and finds no Chinese in the panel.
Screenshots: ``test-artifacts/ecology.png``, ``ecology-en.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from onemap.app.panels.ecology_view import LOSS_DECIMALS, bbox
from tests.browsing import wait_for_tile, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
INPUTS = {"layer": "red_lines", "before": "ndvi_2024_07", "after": "ndvi_2025_07"}
BODY = ".om-tab-body[data-panel=ecology]"

#: (lon, lat) at the centre of the map container, from a loaded tile of the NDVI layer that
#: covers it (its z/x/y and its place on screen), or null while none does.
MAP_CENTRE = """() => {
    const m = document.querySelector('#om-map').getBoundingClientRect();
    const px = m.left + m.width / 2, py = m.top + m.height / 2;
    let best = null;
    for (const img of document.querySelectorAll('.leaflet-om-ndvi-pane img.leaflet-tile-loaded')) {
        const t = img.src.match(/\\/tiles\\/WebMercatorQuad\\/(\\d+)\\/(\\d+)\\/(\\d+)/);
        const b = img.getBoundingClientRect();
        if (!t || px < b.left || px >= b.right || py < b.top || py >= b.bottom) continue;
        const z = +t[1], n = 2 ** z;
        if (best && best.z >= z) continue;
        const gx = +t[2] + (px - b.left) / b.width, gy = +t[3] + (py - b.top) / b.height;
        const lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * gy / n))) * 180 / Math.PI;
        best = {z: z, lon: gx / n * 360 - 180, lat: lat};
    }
    return best;
}"""

CENTRE_INSIDE = "(b) => { const c = (" + MAP_CENTRE + ")(); return !!c && c.lon >= b[0] &&" \
                " c.lon <= b[2] && c.lat >= b[1] && c.lat <= b[3] && c.z >= 11; }"


def _expected(live_server: str, headers: dict[str, str]) -> tuple[list[dict], int]:
    """The ranking the process answers over HTTP (largest loss first), and its loss patches."""
    resp = requests.post(f"{live_server}/ogc/processes/ecology-change/execution",
                         json={"inputs": INPUTS}, headers=headers, timeout=120)
    resp.raise_for_status()
    doc = resp.json()
    losses = [f for f in doc["features"]["features"] if f["properties"]["role"] == "loss"]
    return sorted(doc["ranking"], key=lambda r: (-r["loss_km2"], r["rank"])), len(losses)


def _choose(page, dropdown: str, label: str) -> None:  # type: ignore[no-untyped-def]
    page.click(dropdown)
    page.get_by_role("option", name=label, exact=True).click()


def test_ecology_panel(live_server: str, browser, artifacts_dir: Path, login,  # type: ignore[no-untyped-def]
                       callers) -> None:
    ranking, n_loss = _expected(live_server, callers["analyst"].headers)
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    login(page, "analyst")  # ecology-change is the analysts' process
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + "/")
    page.click(".om-tab[data-panel=ecology]")
    page.wait_for_selector(BODY + " #eco-before")

    # Defaults: red lines, the same month a year apart, dates (not raster ids) shown.
    assert page.is_checked("#eco-layer input[value=red_lines]")
    assert page.inner_text("#eco-before").strip() == "2024-07"
    assert page.inner_text("#eco-after").strip() == "2025-07"

    # The same date twice is refused in words before anything runs.
    _choose(page, "#eco-after", "2024-07")
    page.click("#eco-run")
    page.wait_for_selector("#eco-msg.om-error")
    assert "同一期" in page.inner_text("#eco-msg")
    assert page.query_selector_all(".om-eco-row") == []
    _choose(page, "#eco-after", "2025-07")

    page.click("#eco-run")
    page.wait_for_selector(".om-eco-row")
    # the refusal above is cleared by the message's own callback, not by the one drawing rows
    expect(page.locator("#eco-msg")).to_have_text("", timeout=30_000)
    shown = page.eval_on_selector_all(".om-eco-row", """rows => rows.map(r => [
        r.dataset.area, r.querySelector('.om-eco-name').innerText.trim(),
        r.querySelector('.om-eco-loss').innerText.trim()])""")
    assert [s[1] for s in shown[:2]] == ["浮槎山水土保持区", "紫蓬山生物多样性维护区"]
    assert [s[0] for s in shown] == [r["area_id"] for r in ranking]
    assert [s[2] for s in shown] == [f"{r['loss_km2']:.{LOSS_DECIMALS}f}" for r in ranking]
    assert float(shown[0][2]) > 0 and float(shown[1][2]) > 0
    text = page.inner_text(BODY)
    assert "水土保持" in text and "略微变差" in text  # function label, EI change grade
    assert "近似估算" in text and "生物丰度指数 BI" in text  # approximated EI indicators

    # Loss patches in the panel's own pane, a bar per area with loss.
    assert n_loss >= 2
    page.wait_for_function(
        f"() => document.querySelectorAll('.leaflet-om-eco-pane path.om-eco-loss').length"
        f" === {n_loss}")
    expect(page.locator(".leaflet-om-eco-pane path.om-eco-area-hit")).to_have_count(
        sum(r["loss_km2"] > 0 for r in ranking), timeout=30_000)
    page.wait_for_selector("#eco-chart .bars path")
    assert len(page.query_selector_all("#eco-chart .bars path")) == sum(
        r["loss_km2"] > 0 for r in ranking)

    # The after-date NDVI goes on the map at that date.
    page.click("#eco-show-ndvi")
    wait_for_tile(page, traffic, "/raster/ndvi_2025_07/tiles/")
    # the row's date is drawn by a callback of its own, not by the one that asks for the tiles
    expect(page.locator(".om-raster[data-layer=ndvi] .om-time-label")).to_contain_text(
        "2025-07", timeout=30_000)

    # The top row moves the map onto that red line and switches the red lines on.
    first = ranking[0]["area_id"]
    item = requests.get(f"{live_server}/ogc/collections/red_lines/items/{first}?f=json",
                        timeout=30).json()
    box = bbox(item["geometry"])
    page.wait_for_function(MAP_CENTRE)
    assert not page.evaluate(CENTRE_INSIDE, box), "the map already showed that red line"
    page.click(f".om-eco-row[data-area='{first}']")
    page.wait_for_function(CENTRE_INSIDE, arg=box)
    assert page.is_checked("#om-layer-list input[value=red_lines]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts_dir / "ecology.png"))

    # English: everything of the panel re-rendered, no Chinese left.
    page.get_by_text("EN", exact=True).click()
    page.wait_for_function("() => document.querySelector('.om-eco-summary')?.innerText"
                           ".includes('areas lost vegetation')")
    page.wait_for_function("() => !document.querySelector('.om-eco-row .om-eco-name')"
                           ".innerText.match(/[\\u4e00-\\u9fff]/)")
    try:  # the static labels too (then, if they never come, say which are left)
        page.wait_for_function(f"(sel) => !/{CJK.pattern}/.test("
                               "document.querySelector(sel).innerText)", arg=BODY,
                               timeout=15_000)
    except PlaywrightTimeout:
        pass
    text = page.inner_text(BODY)
    assert not CJK.search(text), sorted(set(CJK.findall(text)))
    assert "approximated" in text and "slightly worse" in text
    assert page.inner_text(".om-eco-row .om-eco-name") == first
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "ecology-en.png"))

    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    page.close()
