"""The page's own files are kept by the browser: linked with their version, served immutable,
from memory."""
from __future__ import annotations

import re

import pytest
import requests

from onemap.app.dashapp import ASSETS, IMMUTABLE


def test_the_page_links_one_bundle_of_each_kind_kept_a_year(live_server: str) -> None:
    """onemap.app.bundles: the page's own scripts and styles as one file each, named by their
    content, every asset in it in Dash's order, each script in its own try; no DataTable."""
    html = requests.get(live_server + "/", timeout=60).text
    assert not re.search(r'(src|href)="[^"]*/assets/', html) and "dash_table/bundle" not in html
    scripts = re.findall(r'src="(/_bundle/onemap-[0-9a-f]{16}\.js)"', html)
    styles = re.findall(r'href="(/_bundle/onemap-[0-9a-f]{16}\.css)"', html)
    assert len(scripts) == len(styles) == 1
    body = requests.get(live_server + scripts[0], timeout=60)
    assert body.status_code == 200 and body.headers["Cache-Control"] == IMMUTABLE
    assert body.headers["Content-Type"].startswith("text/javascript")
    names = sorted(p.name for p in ASSETS.glob("*.js"))
    at = [body.text.index(f"/* {n} */\ntry {{\n") for n in names]
    assert at == sorted(at)  # every file, in order
    for n in ("onemap.js", "mobile.js"):
        assert (ASSETS / n).read_text(encoding="utf-8") in body.text
    css = requests.get(live_server + styles[0], timeout=60)
    assert css.headers["Content-Type"].startswith("text/css")
    assert all((ASSETS / n.name).read_text(encoding="utf-8") in css.text
               for n in ASSETS.glob("*.css"))
    assert requests.get(live_server + "/_bundle/onemap-0000000000000000.js",
                        timeout=60).status_code == 404


def test_versioned_assets_are_immutable(live_server: str) -> None:
    for path in ("/assets/onemap.js?m=1", "/assets/onemap.css?m=2"):  # a versioned URL
        r = requests.get(live_server + path, timeout=60)
        assert r.status_code == 200 and r.headers["Cache-Control"] == IMMUTABLE, path
    bare = requests.get(live_server + "/assets/onemap.js", timeout=60)  # typed by hand
    assert bare.status_code == 200 and "immutable" not in bare.headers.get("Cache-Control", "")
    gone = requests.get(live_server + "/assets/nothing.js?m=1", timeout=60)
    assert gone.status_code == 404 and "immutable" not in gone.headers.get("Cache-Control", "")
    html = requests.get(live_server + "/", timeout=60).text
    suites = re.findall(r'src="(/_dash-component-suites/[^"]+)"', html)
    assert suites
    for path in suites:  # Dash's own bundles: versioned in their names, kept a year
        assert "max-age=31536000" in requests.get(live_server + path, timeout=60) \
            .headers.get("Cache-Control", ""), path


def test_static_files_come_compressed_once_from_memory(live_server: str) -> None:
    """Versioned files are answered by onemap.app.static_memo: gzip when asked, the same bytes
    as plain, a weak ETag that revalidates to 304, HEAD without a body; others pass through."""
    import gzip

    html = requests.get(live_server + "/", timeout=60).text
    renderer = re.findall(r'src="(/_dash-component-suites/dash/dash-renderer/[^"]+)"', html)[0]
    bundle = re.findall(r'src="(/_bundle/[^"]+)"', html)[0]
    for path in (renderer, bundle, "/assets/onemap.js?m=1"):
        plain = requests.get(live_server + path, headers={"Accept-Encoding": "identity"},
                             timeout=60)
        packed = requests.get(live_server + path, headers={"Accept-Encoding": "gzip"},
                              timeout=60, stream=True)
        raw = packed.raw.read(decode_content=False)
        assert plain.status_code == packed.status_code == 200, path
        assert packed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in \
            plain.headers, path
        assert gzip.decompress(raw) == plain.content and len(raw) < len(plain.content) / 2
        assert int(packed.headers["Content-Length"]) == len(raw)
        etag = plain.headers["ETag"]
        assert etag.startswith('W/"') and packed.headers["ETag"] == etag
        assert packed.headers["Vary"] == "Accept-Encoding"
        again = requests.get(live_server + path, headers={"If-None-Match": etag}, timeout=60)
        assert again.status_code == 304 and not again.content
        head = requests.head(live_server + path, timeout=60)
        assert head.status_code == 200 and not head.content and head.headers["ETag"] == etag
        assert head.headers["Content-Security-Policy"]  # the edge still adds its headers
    bare = requests.get(live_server + "/assets/onemap.js", timeout=60)  # not versioned
    assert not bare.headers.get("ETag", "").startswith("W/")
    gone = requests.get(live_server + "/assets/nothing.js?m=1", timeout=60)
    assert gone.status_code == 404


@pytest.mark.browser
def test_what_the_first_screen_needs_is_asked_for_by_the_head_once(live_server: str,  # type: ignore[no-untyped-def]
                                                                   browser) -> None:
    """onemap.app.bundles.preloads: the layout, the callbacks' list and the code-split chunks
    of the sliders and GeoJSON are named in the head, each answers, and the browser uses those
    answers (one request each in a whole page load, none made twice)."""
    html = requests.get(live_server + "/", timeout=60).text
    head = html[:html.index("</head>")]
    named = re.findall(r'<link rel="preload" as="(script|fetch)"(?: crossorigin)? href="([^"]+)"',
                       head)
    assert {p for _, p in named} == {
        "/_dash-layout", "/_dash-dependencies",
        "/_dash-component-suites/dash/dcc/async-slider.js",
        "/_dash-component-suites/dash_leaflet/async-GeoJSON.js"}
    for _, path in named:
        assert requests.get(live_server + path, timeout=60).status_code == 200, path
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.removeprefix(live_server).split("?")[0]))
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    page.wait_for_selector(".db-big-value[data-kpi=water]")
    for _, path in named:
        assert asked.count(path) == 1, (path, asked.count(path))
    page.close()
