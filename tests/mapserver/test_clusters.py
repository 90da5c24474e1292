"""``/api/clusters/{layer_id}``: a big layer's features counted on a grid, on the real server."""

from __future__ import annotations

import pytest
import requests

from onemap.mapserver.clusters import cell_degrees
from tests.conftest import Caller

pytestmark = pytest.mark.server

LAYER = "pollution_sources"
#: These tests read the internal pollution sources as a viewer of the whole territory (what
#: each role and region may read is tests/access/test_matrix.py's subject).
HTTP = requests.Session()


@pytest.fixture(scope="module", autouse=True)
def _as_viewer(callers: dict[str, Caller]) -> None:
    HTTP.headers.update(callers["viewer"].headers)


def _get(base: str, layer: str = LAYER, **params: object) -> requests.Response:
    return HTTP.get(f"{base}/api/clusters/{layer}", params=params, timeout=30)


def _count(base: str, bbox: str) -> int:
    doc = HTTP.get(f"{base}/ogc/collections/{LAYER}/items",
                   params={"f": "json", "bbox": bbox, "limit": 1}, timeout=30).json()
    return int(doc["numberMatched"])


def test_counts_add_up_to_the_features_of_the_view(live_server: str) -> None:
    whole = HTTP.get(f"{live_server}/api/catalog", timeout=30).json()
    entry = next(d for d in whole["datasets"] if d["id"] == LAYER)
    minx, miny, maxx, maxy = entry["bbox"]
    bbox = f"{minx - 0.01},{miny - 0.01},{maxx + 0.01},{maxy + 0.01}"
    resp = _get(live_server, bbox=bbox, zoom=8)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/geo+json")
    doc = resp.json()
    counts = [f["properties"]["count"] for f in doc["features"]]
    assert sum(counts) == doc["numberMatched"] == entry["feature_count"] == _count(live_server,
                                                                                   bbox)
    assert 1 < len(counts) < entry["feature_count"]
    # Each bubble sits inside its features' extent, in a cell of the global grid.
    cell = cell_degrees(8)
    for f in doc["features"]:
        x, y = f["geometry"]["coordinates"]
        x0, y0, x1, y1 = f["properties"]["bbox"]
        assert x0 - 1e-5 <= x <= x1 + 1e-5 and y0 - 1e-5 <= y <= y1 + 1e-5
        assert int((x0 + 180) // cell) == int((x1 + 180 - 1e-9) // cell) or x1 - x0 < cell
    # A finer zoom splits the same features into more cells; a sub-view holds fewer.
    finer = _get(live_server, bbox=bbox, zoom=11).json()
    assert finer["numberMatched"] == entry["feature_count"]
    assert len(finer["features"]) > len(doc["features"])
    part = f"{minx},{miny},{(minx + maxx) / 2},{(miny + maxy) / 2}"
    sub = _get(live_server, bbox=part, zoom=10).json()
    assert abs(sub["numberMatched"] - _count(live_server, part)) <= 2  # R-tree float32 edges


def test_refusals_are_words(live_server: str) -> None:
    cases = [
        (_get(live_server, "no_such_layer", bbox="117,31,118,32", zoom=9), 404, "NotFound"),
        (_get(live_server, "ndvi_2025_07", bbox="117,31,118,32", zoom=9), 404, "NotFound"),
        (_get(live_server, bbox="117,31,118", zoom=9), 400, "InvalidParameterValue"),
        (_get(live_server, bbox="118,31,117,32", zoom=9), 400, "InvalidParameterValue"),
        (_get(live_server, bbox="-180,-90,180,90", zoom=16), 400, "InvalidParameterValue"),
        (_get(live_server, bbox="117,31,118,32", zoom=40), 422, "InvalidParameter"),
        (_get(live_server, bbox="117,31,118,32"), 422, "InvalidParameter"),
    ]
    for resp, status, code in cases:
        assert resp.status_code == status, (resp.url, resp.text)
        body = resp.json()
        assert body["code"] == code and body["detail"], body
    for path in ("/etc/passwd", "../store/pollution_sources"):
        resp = HTTP.get(f"{live_server}/api/clusters/{path}",
                        params={"bbox": "117,31,118,32", "zoom": 9}, timeout=30)
        assert resp.status_code == 404
