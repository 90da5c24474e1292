"""A layer too big to ship whole is drawn from the server's vector tiles, in a real browser.

The sample's 3,000 pollution sources are made "big" by a server started with
``ONEMAP_APP_MAX_FEATURES=1000``, and its tiles hold at most 150 features each
(``ONEMAP_TILE_MAX_FEATURES``), so zoomed out they hold grid counts. The page must ask only
for ``/ogc/collections/pollution_sources/tiles/WebMercatorQuad/{z}/{y}/{x}`` (never the
layer's items), from the page's own server (the plugin too); zoomed out, the count bubbles of
the tiles and the features the tiles hold one by one add up to every feature the viewer may
see (the whole layer is in view: nothing dropped); zoomed in, the features are drawn one by
one and a click opens the source's popup, read whole by its id from the OGC API.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from onemap.config import Settings
from tests.browsing import features, watch
from tests.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

LAYER = "pollution_sources"
TILE = re.compile(rf"/ogc/collections/{LAYER}/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)$")
#: What the layer shows once every tile in view is drawn (assets/tiles.js), else null.
DRAWN = f"""() => {{
    const d = window.onemap && window.onemap.tiles && window.onemap.tiles.drawn('{LAYER}');
    return d && d.tiles > 0 && !d.loading ? d : null;
}}"""


@pytest.fixture(scope="module")
def small_cap_server(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
                     callers):
    """A server on a copy of the sample (its system database too: the callers' accounts and
    keys work there) with small caps; (base URL, settings of the copy)."""
    data = tmp_path_factory.mktemp("viewload") / "data"
    shutil.copytree(sample_settings.data_dir, data,
                    ignore=shutil.ignore_patterns("runtime", "server.log", "uploads"))
    with run_server(data, ONEMAP_APP_MAX_FEATURES="1000",
                    ONEMAP_TILE_MAX_FEATURES="150") as base:
        yield base, Settings(data_dir=data)


def _drawn(page) -> dict:  # type: ignore[no-untyped-def]
    """The layer's drawing once settled: asked twice, 300 ms apart, the same tiles."""
    for _ in range(20):
        first = page.wait_for_function(DRAWN).json_value()
        page.wait_for_timeout(300)
        again = page.evaluate(DRAWN)
        if again and again["tiles"] == first["tiles"] and \
                len(again["bubbles"]) == len(first["bubbles"]):
            return again
    raise AssertionError("the layer's tiles never settled")


def _centred(drawn: dict) -> dict[int, dict]:
    """The features drawn one by one, by id (a tile also draws its neighbours' features near
    its edge: the same feature twice)."""
    return {f["id"]: f for f in drawn["features"]}


def test_big_layer_is_drawn_from_vector_tiles(small_cap_server: tuple[str, Settings],  # type: ignore[no-untyped-def]
                                              browser, artifacts_dir: Path, login,
                                              callers) -> None:
    base, copy = small_cap_server
    viewer = callers["viewer"].headers
    every = features(base, LAYER, headers=viewer)
    assert len(every) > 1000
    lons = [f["geometry"]["coordinates"][0] for f in every]
    lats = [f["geometry"]["coordinates"][1] for f in every]
    page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    login(page, "viewer", base, copy)  # the sources are internal
    traffic = watch(page)
    page.set_default_timeout(30_000)
    # Zoom 7 around the layer, every other layer off: all of it in view.
    lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    page.goto(f"{base}/?z=7&lat={lat0:.5f}&lon={lon0:.5f}&layers=")
    # the page has applied its link once it writes its own (with the language) back
    page.wait_for_function("() => new URLSearchParams(location.search).has('lang')")
    box = page.locator(f"#om-layer-list input[value='{LAYER}']")
    assert not box.is_checked(), "a big layer must not be on when the page opens"
    assert f"{len(every):,}" in page.inner_text("#om-layer-list"), "the list says how many"
    inside = page.evaluate("""() => {
        const m = document.querySelector('#om-map').getBoundingClientRect();
        return [m.width, m.height];
    }""")
    box.check()

    # Zoomed out: counts on a grid, as bubbles; with the drawn features, every feature.
    drawn = _drawn(page)
    assert drawn["bubbles"], "no count bubbles at zoom 7"
    shown = {(round(b["x"]), round(b["y"])) for b in drawn["bubbles"]}
    assert all(0 <= x <= inside[0] and 0 <= y <= inside[1] for x, y in shown), \
        "the whole layer was meant to be in view"
    counted = sum(b["count"] for b in drawn["bubbles"])
    one_by_one = _centred(drawn)
    assert counted + len(one_by_one) == len(every), "a feature was dropped or counted twice"
    bubbles = f".leaflet-om-{LAYER}-pane .om-grid-count"
    titles = page.eval_on_selector_all(bubbles, "els => els.map(e => e.title)")
    assert sorted(int(t.split()[0]) for t in titles) == sorted(b["count"] for b in
                                                               drawn["bubbles"])
    assert all("个要素" in t for t in titles)
    # Each bubble is at its features' mean, inside their extent (the extent it zooms to), to
    # within the tile's grid of 4096 units it was snapped to (two units here).
    snap = 2 * 360 / 2**7 / 4096
    for b in drawn["bubbles"]:
        w, s, e, n = b["bbox"]
        assert w - snap <= b["lng"] <= e + snap and s - snap <= b["lat"] <= n + snap
    page.screenshot(path=str(artifacts_dir / "viewload-counts.png"))

    # Zoom 9: a click on the biggest bubble not under a panel zooms in towards its features.
    page.goto(f"{base}/?z=9&lat={lat0:.5f}&lon={lon0:.5f}&layers={LAYER}")
    drawn = _drawn(page)
    free = []
    for b in drawn["bubbles"]:
        x, y = page.evaluate(f"""() => {{
            const m = document.querySelector('#om-map').getBoundingClientRect();
            return [m.left + {b['x']}, m.top + {b['y']}];
        }}""")
        if page.evaluate(f"() => !!document.elementFromPoint({x}, {y}).closest('.om-grid-count')"):
            free.append((b["count"], x, y))
    assert free, "every bubble is under a panel"
    _, x, y = max(free)
    page.mouse.click(x, y)
    page.wait_for_function("() => new URLSearchParams(location.search).get('z') > 9")

    # Zoomed in (zoom 15 on a source): its features one by one, no bubbles, clickable.
    target = every[len(every) // 2]
    lon, lat = target["geometry"]["coordinates"][:2]
    page.goto(f"{base}/?z=15&lat={lat}&lon={lon}&layers={LAYER}")
    drawn = _drawn(page)
    assert drawn["bubbles"] == [] and page.locator(bubbles).count() == 0
    one_by_one = _centred(drawn)
    key = target["properties"]["source_id"]
    mine = [f for f in one_by_one.values() if f["properties"].get("source_id") == key]
    assert len(mine) == 1, "the source at the centre is not drawn"
    near = [f for f in every if abs(f["geometry"]["coordinates"][0] - lon) < 0.01
            and abs(f["geometry"]["coordinates"][1] - lat) < 0.01]
    assert {f["properties"]["source_id"] for f in near} <= \
        {f["properties"].get("source_id") for f in one_by_one.values()}
    x, y = page.evaluate(f"""() => {{
        const m = document.querySelector('#om-map').getBoundingClientRect();
        return [m.left + {mine[0]['x']}, m.top + {mine[0]['y']}];
    }}""")
    page.mouse.click(x, y)
    popup = page.wait_for_selector(f".leaflet-popup-content .om-popup[data-family={LAYER}]")
    assert popup.get_attribute("data-key") == key
    assert popup.query_selector(".om-popup-title").inner_text() == target["properties"]["name"]
    assert target["properties"]["permit_id"] in popup.inner_text(), "not the whole feature"
    page.screenshot(path=str(artifacts_dir / "viewload-popup.png"))
    # A redraw (what assets/live.js does when a live layer changes) asks for the tiles again.
    asked = len([u for u in traffic.urls if TILE.search(urlsplit(u).path)])
    assert page.evaluate(f"() => window.onemap.tiles.redraw('{LAYER}')")
    again = _drawn(page)
    assert len([u for u in traffic.urls if TILE.search(urlsplit(u).path)]) >= asked + again["tiles"]
    assert set(_centred(again)) == set(one_by_one)

    paths = [urlsplit(u).path for u in traffic.urls if urlsplit(u).netloc == urlsplit(base).netloc]
    assert not [p for p in paths if p.endswith(f"/collections/{LAYER}/items")], \
        "the layer's items were requested: it must be drawn from its tiles"
    assert [p for p in paths if TILE.search(p)], "no vector tile requested"
    assert f"/ogc/collections/{LAYER}/items/{key}" in paths
    assert any(p.endswith("/Leaflet.VectorGrid.bundled.min.js") for p in paths)
    assert traffic.hosts == {urlsplit(base).hostname}, "something came from elsewhere"
    assert traffic.console_errors == []
    assert traffic.failed == []
    # What the page drew is what the server's tiles say for the viewer.
    z, y_, x_ = TILE.search([p for p in paths if TILE.search(p)][-1]).groups()
    tile = requests.get(f"{base}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/{z}/{y_}/{x_}",
                        headers=viewer, timeout=30)
    assert tile.status_code == 200 and tile.headers["OneMap-Tile-Content"] == "features"
    page.close()


def test_big_layer_tiles_need_the_login(small_cap_server: tuple[str, Settings], browser  # type: ignore[no-untyped-def]
                                        ) -> None:
    """Anonymous, the internal layer is not even listed; its tiles answer 404 like an
    unknown collection (what the page's tile requests rely on: the session cookie)."""
    base, _ = small_cap_server
    page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page.goto(base + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    assert page.locator(f"#om-layer-list input[value='{LAYER}']").count() == 0
    page.close()
    tile = requests.get(f"{base}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/7/52/105",
                        timeout=30)
    assert tile.status_code == 404
