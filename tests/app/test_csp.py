"""The pages work under the server's Content-Security-Policy in real chromium: the map, a
pygeoapi page and an offline export served over HTTP draw what they should with no CSP violation
and no console error (see onemap/mapserver/edge.py for the policies)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from onemap.config import Settings
from tests.browsing import watch
from tests.server import run_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

#: Records every CSP violation of the page, before any of the page's own scripts run.
LISTEN = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
    window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


def _open(browser, url: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page.set_default_timeout(60_000)
    page.add_init_script(LISTEN)
    return page, watch(page)


def _clean(page, traffic) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("window.__csp") == []
    assert traffic.console_errors == [] and traffic.failed == [], (traffic.console_errors,
                                                                   traffic.failed)


def test_map_page_under_csp(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page, traffic = _open(browser, live_server)
    resp = page.goto(live_server + "/")
    assert "script-src 'self' 'sha256-" in resp.headers["content-security-policy"]
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    page.eval_on_selector(".leaflet-om-air_stations-pane path.leaflet-interactive",
                          "p => p.dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    page.wait_for_selector(".leaflet-popup-content .om-popup")
    page.wait_for_load_state("networkidle")
    _clean(page, traffic)
    # The watch itself works: a script injected into the page is refused and recorded.
    page.evaluate("document.body.appendChild(Object.assign(document.createElement('script'),"
                  " {textContent: 'window.__ran = 1'}))")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__ran") is None
    page.close()


def test_pygeoapi_page_under_csp(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page, traffic = _open(browser, live_server)
    page.goto(f"{live_server}/ogc/collections/air_stations?f=html")
    page.wait_for_selector("#collection-map path.leaflet-interactive")  # the extent, drawn
    page.wait_for_load_state("networkidle")
    # _base.html's inline script fetched the JSON-LD and embedded it.
    page.wait_for_selector("script[type='application/ld+json']", state="attached")
    _clean(page, traffic)
    page.close()


def test_export_under_its_sandbox(live_server: str, browser, login) -> None:  # type: ignore[no-untyped-def]
    """The export is a download; shown in a tab it runs sandboxed and still draws."""
    page, traffic = _open(browser, live_server)
    login(page, "viewer")  # the export holds the (internal) incidents

    def inline(route) -> None:  # type: ignore[no-untyped-def]
        resp = route.fetch()  # the server's real answer and CSP, shown instead of saved
        headers = {k: v for k, v in resp.headers.items() if k != "content-disposition"}
        route.fulfill(response=resp, headers=headers)

    page.route("**/api/exports/**", inline)
    resp = page.goto(f"{live_server}/api/exports/map.html?layers=incidents,rivers"
                     "&bbox=117.0,31.5,117.6,31.95")
    assert resp.headers["content-security-policy"].startswith("sandbox allow-scripts")
    page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
    assert page.locator(".leaflet-marker-icon").count() > 0
    assert page.evaluate("window.origin") == "null"  # sandboxed: not this server's origin
    _clean(page, traffic)
    page.close()


def test_api_docs_under_csp(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """/api/docs: Swagger UI from our vendor folder (no CDN), its inline script by nonce."""
    page, traffic = _open(browser, live_server)
    page.goto(f"{live_server}/api/docs")
    page.wait_for_selector(".opblock-summary-path")  # the operations, read from openapi.json
    page.wait_for_load_state("networkidle")
    assert traffic.hosts == {"127.0.0.1"}, traffic.hosts
    _clean(page, traffic)
    page.close()


#: A feature property that closes pygeoapi's inline script and opens one of its own.
PAYLOAD = "</script><script>window.__pwned = 1</script>"


@pytest.fixture(scope="module")
def smuggling_server(sample_settings: Settings,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose only layer (imported with the real CLI) has a script in a title."""
    data = tmp_path_factory.mktemp("smuggle")
    doc = json.loads((sample_settings.sample_dir / "incidents.geojson").read_text("utf-8"))
    doc["features"][0]["properties"]["title"] = PAYLOAD
    src = data / "incidents.geojson"
    src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "onemap", "import", "--family", "incidents", str(src)],
                   env={**os.environ, "ONEMAP_DATA_DIR": str(data / "d")}, check=True,
                   capture_output=True, timeout=300)
    with run_server(data / "d") as base:
        yield base


def test_a_smuggled_script_does_not_run(smuggling_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """pygeoapi writes features into its inline map script as JSON: "<" is escaped there, so
    the page draws every feature and the title is text; and a script that still got into the
    page could not run without the nonce."""
    page, traffic = _open(browser, smuggling_server)
    resp = page.goto(f"{smuggling_server}/ogc/collections/incidents/items?f=html")
    assert PAYLOAD not in resp.text() and "\\u003c/script>" in resp.text()
    page.wait_for_selector("#items-map .leaflet-marker-icon")  # the page's own script ran
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__pwned") is None
    _clean(page, traffic)
    # The same document with the escaping undone: the smuggled script is refused by the CSP.
    raw = resp.text().replace("\\u003c", "<")
    page.route("**/items?f=html", lambda route: route.fulfill(
        response=route.fetch(), body=raw))  # the server's headers (its CSP), the raw body
    page.goto(f"{smuggling_server}/ogc/collections/incidents/items?f=html")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__pwned") is None
    assert set(page.evaluate("window.__csp")) == {"script-src-elem inline"}
    page.close()
