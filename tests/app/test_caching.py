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
