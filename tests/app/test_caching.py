"""The page's own files are kept by the browser: linked with their version, served immutable."""
from __future__ import annotations

import re

import requests

from onemap.app.dashapp import IMMUTABLE


def test_versioned_assets_are_immutable(live_server: str) -> None:
    html = requests.get(live_server + "/", timeout=60).text
    linked = re.findall(r'(?:src|href)="(/assets/[^"?]+\?m=[^"]+)"', html)
    assert any(p.startswith("/assets/onemap.js?") for p in linked), linked
    assert any(".css?" in p for p in linked), linked
    for path in linked:
        r = requests.get(live_server + path, timeout=60)
        assert r.status_code == 200 and r.headers["Cache-Control"] == IMMUTABLE, path
    bare = requests.get(live_server + "/assets/onemap.js", timeout=60)  # typed by hand
    assert bare.status_code == 200 and "immutable" not in bare.headers.get("Cache-Control", "")
    gone = requests.get(live_server + "/assets/nothing.js?m=1", timeout=60)
    assert gone.status_code == 404 and "immutable" not in gone.headers.get("Cache-Control", "")
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
    asset = re.findall(r'src="(/assets/onemap\.js\?m=[^"]+)"', html)[0]
    for path in (renderer, asset):
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
