"""A layer too big to ship whole is requested per view, in a real browser.

The sample's 3,000 pollution sources are made "big" by a server started with
``ONEMAP_APP_MAX_FEATURES=1000``: at the opening zoom (9) the page must only ask the server to
count the view's features on a grid and draw those counts, and once zoomed in past the minimum
zoom, request only ``items?bbox=<the view>`` and draw what that answers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from onemap.config import Settings
from tests.browsing import watch
from tests.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

LAYER = "pollution_sources"


@pytest.fixture(scope="module")
def small_cap_server(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
                     callers):
    """A server on a copy of the sample (its system database too: the callers' accounts and
    keys work there) with a small cap; (base URL, settings of the copy)."""
    data = tmp_path_factory.mktemp("viewload") / "data"
    shutil.copytree(sample_settings.data_dir, data,
                    ignore=shutil.ignore_patterns("runtime", "server.log", "uploads"))
    with run_server(data, ONEMAP_APP_MAX_FEATURES="1000", ONEMAP_APP_BBOX_MIN_ZOOM="11") as base:
        yield base, Settings(data_dir=data)


def _items_requests(urls: list[str]) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(u).query) for u in urls
            if urlsplit(u).path.endswith(f"/collections/{LAYER}/items")]


def test_big_layer_is_loaded_by_view(small_cap_server: tuple[str, Settings], browser,  # type: ignore[no-untyped-def]
                                     artifacts_dir: Path, login, callers) -> None:
    small_cap_server, copy = small_cap_server
    viewer = callers["viewer"].headers
    page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    login(page, "viewer", small_cap_server, copy)  # the sources are internal
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(small_cap_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    box = page.locator(f"#om-layer-list input[value='{LAYER}']")
    assert not box.is_checked(), "a big layer must not be on when the page opens"
    assert "11" in page.inner_text("#om-layer-list"), "the list says from which zoom it shows"
    box.check()
    # Zoomed out, the view's features are counted on a grid by the server and drawn as bubbles.
    bubbles = f".leaflet-om-{LAYER}-pane .om-grid-count"
    page.wait_for_selector(bubbles)
    page.wait_for_load_state("networkidle")
    assert _items_requests(traffic.urls) == [], "requested the features of a big layer at zoom 9"
    asked = [u for u in traffic.urls if f"/api/clusters/{LAYER}?" in u]
    assert asked and parse_qs(urlsplit(asked[-1]).query)["zoom"] == ["9"]
    doc = requests.get(asked[-1], headers=viewer, timeout=30).json()
    titles = page.eval_on_selector_all(bubbles, "els => els.map(e => e.title)")
    assert len(titles) == len(doc["features"])
    shown = sum(int(t.split()[0].replace(",", "")) for t in titles)
    assert shown == doc["numberMatched"] > 0
    assert all("个要素" in t for t in titles)

    # Zoom in with the wheel over the map, left of the legend and the dock (Hefei, zoom 12).
    box = page.locator("#om-map").bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.4
    assert page.evaluate(f"() => !!document.elementFromPoint({x}, {y}).closest('.leaflet-pane')")
    page.mouse.move(x, y)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        f"() => document.querySelectorAll('.leaflet-om-{LAYER}-pane path').length > 0"
        f" && !document.querySelector('{bubbles}')")
    page.wait_for_load_state("networkidle")

    asked = _items_requests(traffic.urls)
    assert asked, "no items request after zooming in"
    last = asked[-1]
    assert "bbox" in last and "limit" in last
    minx, miny, maxx, maxy = map(float, last["bbox"][0].split(","))
    assert maxx - minx < 1.2 and maxy - miny < 0.8, "the bbox is the view, not the region"
    # What the server answers for that bbox is what the page drew (clusters hold the rest).
    query = {k: v[0] for k, v in last.items()}
    doc = requests.get(f"{small_cap_server}/ogc/collections/{LAYER}/items", params=query,
                       headers=viewer, timeout=30).json()
    assert 0 < len(doc["features"]) < 3000
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"][:2]
        assert minx <= lon <= maxx and miny <= lat <= maxy
    # Each feature of the answer is one symbol (no browser-side clustering of a view's page).
    drawn = page.evaluate(
        f"() => document.querySelectorAll('.leaflet-om-{LAYER}-pane path.leaflet-interactive')"
        ".length")
    assert drawn == len(doc["features"])
    page.screenshot(path=str(artifacts_dir / "viewload.png"))
    assert traffic.console_errors == []
    assert traffic.failed == []
    page.close()
