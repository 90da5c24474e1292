"""The HTTP edge of the real server: security headers on every answer, CORS only for configured
origins, a JSON 404 for every path that is not the app's, ``/ogc`` and ``/stac`` with and
without the slash (real ogrinfo and pystac-client), and the request body limit."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pystac_client import Client

from onemap.catalog import Entry
from tests.conftest import Caller
from tests.server import run_server

pytestmark = pytest.mark.server

PORTAL = "http://portal.intranet:8080"
BASEMAP = "http://{s}.tiles.intranet:8090/{z}/{x}/{y}.png"
HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
           "referrer-policy": "same-origin"}


def _csp(resp: requests.Response) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: sources}."""
    text = resp.headers.get("content-security-policy", "")
    return {d.split(" ", 1)[0]: (d.split(" ", 1) + [""])[1]
            for d in (p.strip() for p in text.split(";")) if d}


def _hardened(resp: requests.Response, what: str) -> dict[str, str]:
    for name, value in HEADERS.items():
        assert resp.headers.get(name) == value, (what, name, resp.headers.get(name))
    csp = _csp(resp)
    assert csp.get("frame-ancestors") == "'none'", (what, csp)
    assert "'unsafe-inline'" not in csp.get("script-src", "'unsafe-inline'") \
        or "sandbox" in csp, (what, csp)
    assert "'unsafe-eval'" not in csp.get("script-src", ""), (what, csp)
    return csp


#: Uploading needs the analyst role: the edge server's analyst (set by :func:`edge_server`).
EDGE_AUTH: dict[str, str] = {}


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own (empty catalogue) with a CORS origin, a 1 MB body limit and an
    intranet basemap; its analyst's ``Authorization`` is :data:`EDGE_AUTH`."""
    from onemap.access import accounts
    from onemap.config import Settings

    data = tmp_path_factory.mktemp("edge")
    settings = Settings(data_dir=data)
    accounts.add(settings, "edge", roles=["analyst"])
    EDGE_AUTH["Authorization"] = f"Bearer {accounts.create_key(settings, 'edge', 'tests')[1]}"
    with run_server(data, ONEMAP_CORS_ORIGINS=f" {PORTAL}/ , http://other.intranet",
                    ONEMAP_MAX_BODY_MB="1", ONEMAP_MAX_UPLOAD_MB="5",
                    ONEMAP_BASEMAP_URL=BASEMAP) as base:
        yield base


def test_headers_on_every_kind_of_answer(live_server: str, entries: dict[str, Entry]) -> None:
    raster = sorted(e.id for e in entries.values() if e.kind == "raster")[0]
    urls = ["/", "/_dash-layout", "/assets/onemap.css", "/_favicon.ico", "/api/catalog",
            f"/raster/{raster}/tiles/WebMercatorQuad/10/843/417.png", "/ogc/collections?f=json",
            "/static/vendor/leaflet/leaflet.js", "/stac", "/healthz", "/nope",
            "/raster/nope/info", "/ogc/collections/nope?f=json"]
    for url in urls:
        r = requests.get(live_server + url, timeout=60)
        assert r.status_code < 500, (url, r.status_code)
        csp = _hardened(r, url)
        assert csp["script-src"].startswith("'self'") and csp["object-src"] == "'none'", url
    page = requests.get(live_server + "/", timeout=60)
    hashes = re.findall(r"'sha256-[A-Za-z0-9+/=]+'", _csp(page)["script-src"])
    assert len(hashes) >= 1, "the Dash renderer's inline script is allowed by its hash"

    # A byte range of a COG streams through untouched.
    cog = f"{live_server}/raster/{raster}/cog.tif"
    whole = requests.get(cog, timeout=60).content
    part = requests.get(cog, headers={"Range": "bytes=100-299"}, timeout=60)
    assert part.status_code == 206 and part.content == whole[100:300]
    _hardened(part, "range")


def test_pygeoapi_pages_run_only_their_own_scripts(live_server: str) -> None:
    nonces = []
    for _ in range(2):
        r = requests.get(f"{live_server}/ogc/collections/air_stations/items?f=html", timeout=60)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        script_src = _hardened(r, "ogc html")["script-src"]
        nonce = re.fullmatch(r"'self' 'nonce-([0-9a-f]{32})'", script_src).group(1)
        inline = re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>", r.text)
        assert inline and all(f'nonce="{nonce}"' in tag for tag in inline), inline
        nonces.append(nonce)
    assert nonces[0] != nonces[1], "a nonce is new in every answer"
    # The JSON of the same routes keeps the server-wide policy.
    _hardened(requests.get(f"{live_server}/ogc/collections/air_stations/items?f=json",
                           timeout=60), "ogc json")


def test_offline_documents_are_sandboxed(live_server: str, callers: dict[str, Caller]) -> None:
    r = requests.get(f"{live_server}/api/exports/map.html", headers=callers["viewer"].headers,
                     params={"layers": "incidents", "bbox": "117.0,31.5,117.6,31.95"}, timeout=120)
    assert r.status_code == 200
    csp = _hardened(r, "export")
    assert csp["sandbox"] == "allow-scripts allow-popups allow-downloads"  # no same-origin
    assert csp["default-src"] == "'none'" and "connect-src" not in csp


def test_no_cors_by_default(live_server: str) -> None:
    origin = {"Origin": "http://evil.example"}
    r = requests.get(f"{live_server}/api/catalog", headers=origin, timeout=30)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    pre = requests.options(f"{live_server}/api/rasters/ndvi_2025_07", timeout=30, headers={
        **origin, "Access-Control-Request-Method": "DELETE"})
    assert not any(h.startswith("access-control-") for h in pre.headers), pre.headers
    _hardened(pre, "preflight")


def test_cors_for_configured_origins_only(edge_server: str) -> None:
    r = requests.get(f"{edge_server}/api/catalog", headers={"Origin": PORTAL}, timeout=30)
    assert r.headers.get("access-control-allow-origin") == PORTAL
    assert "Link" in r.headers.get("access-control-expose-headers", "")
    for method in ("GET", "POST"):
        pre = requests.options(f"{edge_server}/ogc/processes", timeout=30, headers={
            "Origin": PORTAL, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, prefer"})
        assert pre.status_code == 200, (method, pre.text)
        assert pre.headers["access-control-allow-origin"] == PORTAL
        _hardened(pre, "preflight")
    # DELETE is offered to no origin, and an unlisted origin gets nothing.
    pre = requests.options(f"{edge_server}/api/rasters/x", timeout=30, headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "DELETE"})
    assert pre.status_code == 400 and "DELETE" not in pre.headers.get(
        "access-control-allow-methods", "")
    r = requests.get(f"{edge_server}/api/catalog", headers={"Origin": "http://evil.example"},
                     timeout=30)
    assert "access-control-allow-origin" not in r.headers


def test_basemap_is_an_allowed_image_source(edge_server: str, live_server: str) -> None:
    page = _csp(requests.get(f"{edge_server}/", timeout=60))
    assert "http://*.tiles.intranet:8090" in page["img-src"].split()
    ogc = _csp(requests.get(f"{edge_server}/ogc/?f=html", timeout=60))
    assert "http://*.tiles.intranet:8090" in ogc["img-src"].split()
    assert _csp(requests.get(f"{live_server}/", timeout=60))["img-src"] == "'self' data: blob:"


@pytest.mark.parametrize("path", ["/nope", "/wcs", "/ogc-nope", "/assets/nope.js", "/a/b/c",
                                  "/static/vendor/leaflet/nope.js", "/_dash-nope", "/index.html"])
def test_unknown_paths_are_a_json_404(live_server: str, path: str) -> None:
    for method in ("GET", "HEAD"):
        r = requests.request(method, live_server + path, timeout=30)
        assert r.status_code == 404, (method, path, r.status_code)
        assert r.headers["content-type"].startswith("application/json"), path
    body = requests.get(live_server + path, timeout=30).json()
    assert body["code"] == "NotFound" and body["detail"], body


def test_the_app_keeps_its_own_routes(live_server: str) -> None:
    page = requests.get(f"{live_server}/?layers=rivers&z=9", timeout=60)
    assert page.status_code == 200 and "_dash-config" in page.text
    for src in re.findall(r'<script src="([^"]+)"', page.text) + \
            re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text):
        assert requests.get(live_server + src, timeout=60).status_code == 200, src
    for path in ("/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/_favicon.ico"):
        assert requests.get(live_server + path, timeout=60).status_code == 200, path


def test_ogc_and_stac_with_and_without_slash(live_server: str, feature_entries: list[Entry],
                                             callers: dict[str, Caller]) -> None:
    """Every collection, internal ones too, for a viewer's key (GDAL sends it as a header)."""
    gdal = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {callers['viewer'].key}"}
    landing = {}
    for path in ("/ogc", "/ogc/"):
        r = requests.get(live_server + path, timeout=60)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        landing[path] = r.json()
        out = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}{path}"], env=gdal,
                             capture_output=True, text=True, timeout=300, check=True).stdout
        layers = set(re.findall(r"^\d+: (\S+)", out, re.M))
        # … and the data-resource catalogue (OGC API Records), which GDAL lists as a layer too
        assert layers == {e.id for e in feature_entries} | {"data-catalog"}, (path, out)
    assert landing["/ogc"] == landing["/ogc/"]
    assert {ln["href"] for ln in landing["/ogc"]["links"] if ln["rel"] == "data"} == {
        f"{live_server}/ogc/collections"}
    for path in ("/stac", "/stac/"):
        client = Client.open(live_server + path)
        assert {"ndvi", "pm25_hourly"} <= {c.id for c in client.get_collections()}, path
        assert client.get_collection("ndvi").get_self_href() == \
            f"{live_server}/stac/collections/ndvi"


def test_body_limit(edge_server: str, tmp_path: Path) -> None:
    big = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    execute = f"{edge_server}/ogc/processes/zonal-statistics/execution"
    for body in (big, iter([big[i:i + 65536] for i in range(0, len(big), 65536)])):
        r = requests.post(execute, data=body, headers={"Content-Type": "application/json"},
                          timeout=60)
        assert r.status_code == 413, (type(body), r.status_code, r.text[:200])
        assert r.json()["code"] == "PayloadTooLarge" and "ONEMAP_MAX_BODY_MB" in r.json()["detail"]
        _hardened(r, "413")
    r = requests.post(f"{edge_server}/_dash-update-component", data=big,
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413
    # Below the limit the route answers for itself.
    small = requests.post(execute, json={"inputs": {}}, timeout=60)
    assert small.status_code != 413 and small.status_code < 500
    # The raster upload keeps its own, larger limit (ONEMAP_MAX_UPLOAD_MB=5).
    path = tmp_path / "not.tif"
    path.write_bytes(b"x" * (2 * 1024 * 1024))
    with open(path, "rb") as fh:
        up = requests.post(f"{edge_server}/api/rasters", files={"file": ("not.tif", fh)},
                           data={"id": "not_a_tif", "wait": "true"}, headers=EDGE_AUTH,
                           timeout=60)
    assert 400 <= up.status_code < 500 and up.status_code not in (401, 413), (up.status_code,
                                                                              up.text)


def test_writes_from_another_site_are_refused(live_server: str, edge_server: str) -> None:
    """A page of another site may not upload, run or delete through a visitor's browser (a form
    post needs no CORS); the map's own pages, listed origins and GIS clients (no Origin) may."""
    evil = {"Origin": "http://evil.example"}
    form = {"file": ("x.tif", b"II*\x00not really a tiff", "image/tiff")}
    r = requests.post(f"{live_server}/api/rasters", files=form, data={"id": "csrf_upload"},
                      headers=evil, timeout=30)
    assert r.status_code == 403 and r.json()["code"] == "CrossOriginWrite", r.text
    _hardened(r, "refused write")
    r = requests.delete(f"{live_server}/api/rasters/ndvi_2025_07", headers=evil, timeout=30)
    assert r.status_code == 403, r.text
    assert requests.get(f"{live_server}/api/rasters/ndvi_2025_07", timeout=30).status_code == 200
    r = requests.post(f"{live_server}/ogc/processes/aqi-hourly/execution", headers=evil,
                      json={"inputs": {"time": "2025-01-24T20:00:00+08:00"}}, timeout=60)
    assert r.status_code == 403, r.text
    for headers in ({"Origin": live_server}, {}):  # the map itself; QGIS, curl, scripts
        r = requests.post(f"{live_server}/api/rasters", files=form, data={"id": "csrf_upload"},
                          headers=headers, timeout=30)
        assert r.status_code not in (403, 500) and 400 <= r.status_code < 500, r.text
    r = requests.post(f"{edge_server}/ogc/processes/nope/execution", json={"inputs": {}},
                      headers={"Origin": PORTAL}, timeout=30)
    assert r.status_code != 403, r.text
