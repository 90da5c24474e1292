"""pygeoapi's HTML pages work on an intranet with no internet (Debian chromium, real server).

Every request a page makes goes to 127.0.0.1 and succeeds, nothing logs an error, the pages are
styled by Bootstrap and the items page draws its Leaflet map with markers. Leaves
``test-artifacts/ogc-items.png`` for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from onemap.config import Settings
from onemap.mapserver import offline
from tests.browsing import Traffic, watch

#: pygeoapi pages OneMap never serves (no EDR, vector-tile or STAC resources), which keep
#: libraries that no PyPI package ships.
UNSERVED = {"collections/edr/query.html", "collections/tiles/index.html"}


def _open(browser, url: str) -> tuple[object, Traffic]:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    t = watch(page)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page, t


def _clean(t: Traffic) -> None:
    assert t.hosts == {"127.0.0.1"}, f"requests off this machine: {t.hosts}"
    assert not t.failed, t.failed
    assert not t.console_errors, t.console_errors


def _styled(page) -> None:  # type: ignore[no-untyped-def]
    """Bootstrap's stylesheet applied (its body font stack starts with system-ui)."""
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font.startswith("system-ui"), f"Bootstrap not applied, body font {font!r}"


def test_generated_templates_load_nothing_from_cdns(live_server: str,
                                                    sample_settings: Settings) -> None:
    # what the server's process wrote at start (tests' own in-process apps write theirs too)
    folder = max((p for p in sample_settings.runtime_dir.glob("proc/*/templates")
                  if p.parent.name != str(os.getpid())), key=lambda p: p.stat().st_mtime)
    written = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.html")}
    assert {"_base.html", "collections/items/index.html", "collections/items/item.html",
            "collections/collection.html", "openapi/swagger.html",
            "openapi/redoc.html"} <= set(written)
    local = set()
    for name, text in written.items():
        left = offline.external_assets(text, live_server)
        assert not left or name in UNSERVED, f"{name} still loads {left}"
        local |= set(re.findall(re.escape(live_server + offline.VENDOR_PREFIX) + r"/[^\"' ]+",
                                text))
    # every rewritten URL, on every page (also unserved ones), names a file the app serves
    assert len(local) >= 10
    for url in sorted(local):
        r = requests.head(url, timeout=10)
        assert r.status_code == 200, url


@pytest.mark.browser
@pytest.mark.server
def test_ogc_html_pages_work_offline(live_server: str, browser,  # type: ignore[no-untyped-def]
                                     artifacts_dir: Path) -> None:
    ogc = live_server + "/ogc"
    for url in (f"{ogc}/?f=html", f"{ogc}/collections?f=html",
                f"{ogc}/collections/air_stations?f=html"):
        page, t = _open(browser, url)
        _styled(page)
        _clean(t)
        page.close()

    page, t = _open(browser, f"{ogc}/collections/air_stations/items?f=html&limit=50")
    page.wait_for_selector("#items-map.leaflet-container .leaflet-marker-icon")
    page.wait_for_load_state("networkidle")
    _styled(page)
    drawn = page.eval_on_selector_all("#items-map .leaflet-marker-icon", "els => els.length")
    assert drawn > 0
    assert any("/static/vendor/leaflet/" in u for u in t.urls)
    assert any("/static/vendor/leaflet-markercluster/" in u for u in t.urls)
    page.screenshot(path=str(artifacts_dir / "ogc-items.png"))
    rows = page.eval_on_selector_all("#items-table-table tbody tr a[href*='/items/']",
                                     "els => els.map(e => e.href)")
    _clean(t)
    page.close()

    features = requests.get(f"{ogc}/collections/air_stations/items",
                            params={"f": "json", "limit": 1}, timeout=30).json()["features"]
    item = rows[0] if rows else f"{ogc}/collections/air_stations/items/{features[0]['id']}"
    page, t = _open(browser, item.split("?")[0] + "?f=html")
    page.wait_for_selector(".leaflet-container .leaflet-marker-icon")
    _styled(page)
    _clean(t)
    page.close()


@pytest.mark.browser
@pytest.mark.server
def test_swagger_ui_works_offline(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page, t = _open(browser, f"{live_server}/ogc/openapi?f=html")
    page.wait_for_selector(".swagger-ui .info .title")
    _clean(t)
    page.close()


@pytest.mark.browser
@pytest.mark.server
def test_redoc_loads_its_assets_locally(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    assets = []
    page.on("request", lambda r: r.resource_type in ("script", "stylesheet", "font", "image")
            and not r.url.startswith(("data:", "blob:")) and assets.append(r.url))
    page.goto(f"{live_server}/ogc/openapi?f=html&ui=redoc")
    page.wait_for_load_state("networkidle")
    assert assets and all(urlsplit(u).hostname == "127.0.0.1" for u in assets), assets
    page.close()


@pytest.mark.browser
@pytest.mark.server
@pytest.mark.xfail(strict=True, reason="pygeoapi's OpenAPI document $refs schemas.opengis.net "
                   "and geojson.org; ReDoc resolves them all before drawing anything")
def test_redoc_renders_offline(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page, t = _open(browser, f"{live_server}/ogc/openapi?f=html&ui=redoc")
    try:
        _clean(t)
        page.wait_for_selector(".api-info h1", timeout=5_000)
    finally:
        page.close()
