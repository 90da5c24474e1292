"""The search box in a real browser: a company name → the list of hits → the map goes there."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_search_goes_to_a_source(live_server: str, browser, artifacts_dir: Path, login,
                                 callers) -> None:  # type: ignore[no-untyped-def]
    expected = requests.get(f"{live_server}/ogc/collections/pollution_sources/items",
                            params={"f": "json", "q": "水泥", "limit": 6},
                            headers=callers["viewer"].headers, timeout=30).json()
    first = expected["features"][0]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    login(page, "viewer")  # the companies are internal
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    assert not page.locator("#om-layer-list input[value=pollution_sources]").is_checked()
    page.fill("#om-search-input", "水泥")
    page.wait_for_selector(".om-search-hit")
    hits = page.locator(".om-search-hit")
    assert hits.count() == len(expected["features"])  # no station, section or incident matches
    assert hits.first.inner_text().split("\n")[-1] == \
        f"{first['properties']['name']} · {first['properties']['source_id']}"
    page.screenshot(path=str(artifacts_dir / "search.png"))
    hits.first.click()
    page.wait_for_function("() => location.search.includes('z=15')")
    query = parse_qs(urlsplit(page.url).query)
    lon, lat = first["geometry"]["coordinates"][:2]
    assert abs(float(query["lon"][0]) - lon) < 1e-3 and abs(float(query["lat"][0]) - lat) < 1e-3
    assert page.locator("#om-layer-list input[value=pollution_sources]").is_checked()
    assert page.locator(".om-search-hit").count() == 0  # the list closes
    # Nothing found is said in words; in English the hits show codes.
    page.fill("#om-search-input", "没有这种企业")
    page.wait_for_function("() => document.querySelector('#om-search-hits')?.innerText"
                           ".includes('未找到')")
    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function("() => document.querySelector('#om-search-hits')?.innerText"
                           ".includes('Nothing found')")
    page.fill("#om-search-input", first["properties"]["source_id"][:14])
    page.wait_for_function("() => document.querySelectorAll('.om-search-hit').length > 0")
    assert first["properties"]["source_id"] in page.inner_text("#om-search-hits")
    # the placeholder has a callback of its own (not the hits'): wait for it
    expect(page.locator("#om-search-input")).to_have_attribute(
        "placeholder", re.compile(r"^Search"), timeout=60_000)
    assert traffic.console_errors == [], traffic.console_errors
    assert traffic.failed == [], traffic.failed
    page.close()
