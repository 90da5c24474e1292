"""OGC API Features Part 9 text search (``q``) on the real server, checked against the store."""

from __future__ import annotations

import geopandas as gpd
import pytest
import requests

from onemap import catalog
from onemap.config import Settings
from tests.conftest import Caller


@pytest.fixture(scope="module")
def live_server(store_server: str) -> str:
    """Every test here is asked of the GeoPackage server and of the PostGIS one."""
    return store_server


pytestmark = pytest.mark.server

LAYER = "pollution_sources"
#: These tests read the internal pollution sources as a viewer of the whole territory (what
#: each role and region may read is tests/access/test_matrix.py's subject).
HTTP = requests.Session()


@pytest.fixture(scope="module", autouse=True)
def _as_viewer(callers: dict[str, Caller]) -> None:
    HTTP.headers.update(callers["viewer"].headers)


def _items(base: str, **params: object) -> dict:
    resp = HTTP.get(f"{base}/ogc/collections/{LAYER}/items",
                    params={"f": "json", "limit": 10000, **params}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def frame(sample_settings: Settings) -> gpd.GeoDataFrame:
    entry = catalog.get(LAYER, sample_settings)
    return gpd.read_file(entry.file(sample_settings), layer=LAYER)


def _expected(frame: gpd.GeoDataFrame, *terms: str) -> set[str]:
    """Ids of the features with any term in any text property (ASCII case ignored)."""
    cols = [c for c in frame.columns
            if c != "geometry" and frame[c].map(lambda v: isinstance(v, str)).any()]
    out = set()
    for row in frame[["source_id", *cols]].itertuples(index=False):
        values = [str(v).lower() for v in row[1:] if isinstance(v, str)]
        if any(t.lower() in v for t in terms for v in values):
            out.add(row[0])
    return out


def test_q_matches_any_text_property(live_server: str, frame: gpd.GeoDataFrame) -> None:
    doc = _items(live_server, q="水泥")
    got = {f["id"] for f in doc["features"]}
    assert got == _expected(frame, "水泥") and 0 < doc["numberMatched"] == len(got) < len(frame)
    # Several terms: any of them.
    both = {f["id"] for f in _items(live_server, q="水泥,热电")["features"]}
    assert both == _expected(frame, "水泥", "热电") and both > got
    # A source code, in either ASCII case.
    code = frame["source_id"].iloc[7]
    for q in (code, code.lower(), code[:12].lower()):
        assert code in {f["id"] for f in _items(live_server, q=q)["features"]}


def test_q_is_text_not_sql(live_server: str, frame: gpd.GeoDataFrame) -> None:
    for q in ("%", "_", "' OR 1=1 --", '"'):
        doc = _items(live_server, q=q)
        assert {f["id"] for f in doc["features"]} == _expected(frame, q)
    assert _items(live_server, q="")["numberMatched"] == len(frame)  # no term: no filter


def test_q_combines_with_bbox_and_paging(live_server: str, frame: gpd.GeoDataFrame) -> None:
    minx, miny, maxx, maxy = frame.total_bounds
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    doc = _items(live_server, q="水泥", bbox=",".join(map(str, box)))
    inside = frame.cx[box[0]:box[2], box[1]:box[3]]
    assert {f["id"] for f in doc["features"]} == _expected(frame, "水泥") & set(inside.source_id)
    page = _items(live_server, q="水泥", limit=5, offset=5)
    assert page["numberMatched"] == len(_expected(frame, "水泥")) and page["numberReturned"] == 5
