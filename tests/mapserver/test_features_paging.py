"""Paging of OGC API Features items for GIS clients, against the real server: the page size the
OpenAPI document advertises is the one the server uses and the one QGIS 3.22 picks up; keyset
``next`` links (``after``) give every feature exactly once, with filters and region cuts;
``offset`` keeps working. (How the cost per page grows with depth: bench/paging.py.)"""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from onemap.catalog import Entry
from tests.conftest import Caller
from tests.mapserver.test_qgis import qgis_open


@pytest.fixture(scope="module")
def live_server(store_server: str) -> str:
    """Every test here is asked of the GeoPackage server and of the PostGIS one."""
    return store_server


pytestmark = pytest.mark.server
PAGING_SCRIPT = Path(__file__).with_name("qgis_paging.py")


def _page(url: str, caller: Caller | None = None, **params: object) -> dict:
    r = requests.get(url, params={"f": "json", **params} if params else None, timeout=120,
                     headers=caller.headers if caller else None)
    assert r.status_code == 200, r.text
    return r.json()


def _next(doc: dict) -> str | None:
    return next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)


def _walk(url: str, caller: Caller | None = None, **params: object) -> tuple[list, list[str]]:
    """Every feature id reached from the first page by following ``next``, and the URLs."""
    doc, urls = _page(url, caller, **params), [url]
    ids = [f["id"] for f in doc["features"]]
    while (href := _next(doc)) is not None:
        assert len(urls) < 10_000, "next links do not end"
        urls.append(href)
        doc = _page(href, caller)
        ids += [f["id"] for f in doc["features"]]
    return ids, urls


def test_advertised_page_is_the_servers(live_server: str) -> None:
    """components.parameters.limit (where QGIS looks) states the default and maximum the
    server really applies."""
    doc = requests.get(f"{live_server}/ogc/openapi", params={"f": "json"}, timeout=60).json()
    schema = doc["components"]["parameters"]["limit"]["schema"]
    default, maximum = schema["default"], schema["maximum"]
    assert 100 < default <= maximum
    items = doc["paths"]["/collections/air_hourly/items"]["get"]["parameters"]
    assert {"$ref": "#/components/parameters/limit"} in items
    assert any(p.get("name") == "after" for p in items)
    url = f"{live_server}/ogc/collections/air_hourly/items"
    assert len(_page(url)["features"]) == default
    assert len(_page(url, limit=maximum + 5, skipGeometry="true")["features"]) == maximum


def test_keyset_pages_give_every_row_once(live_server: str,
                                          feature_entries: list[Entry]) -> None:
    """A walk by next links gives each feature once, in fid order; the links are keyset ones
    (after=, no offset); a page reached by them carries no numberMatched (no COUNT at depth).
    When the last page is exactly full pygeoapi's own rule (a full page has a next) adds one
    link to an empty page, and the walk ends there."""
    count = {e.id: e.feature_count for e in feature_entries}["water_samples"]
    url = f"{live_server}/ogc/collections/water_samples/items"
    # a page size that divides the count, so the last page is exactly full
    limit = next((n for n in range(60, 400) if count % n == 0), 100)
    ids, urls = _walk(url, limit=limit, skipGeometry="true")
    assert len(ids) == len(set(ids)) == count and ids == sorted(ids)
    pages = math.ceil(count / limit)
    assert pages <= len(urls) <= pages + 1
    for href in urls[1:pages]:
        query = parse_qs(urlsplit(href).query)
        assert "after" in query and "offset" not in query and query["limit"] == [str(limit)]
    second = _page(urls[1])
    assert "numberMatched" not in second and len(second["features"]) == limit


def test_keyset_keeps_filters_and_region_cuts(live_server: str,
                                              callers: dict[str, Caller]) -> None:
    """A county viewer walking an internal layer with a filter gets exactly what one big
    page of the same query gives."""
    county = callers["viewer_a"]
    url = f"{live_server}/ogc/collections/pollution_sources/items"
    whole = _page(url, county, limit=10000, skipGeometry="true", sortby="source_id")
    ids, urls = _walk(url, county, limit=37, skipGeometry="true")
    assert sorted(ids) == sorted(f["id"] for f in whole["features"]) and len(urls) > 3
    assert len(ids) == len(set(ids)) == whole["numberMatched"]
    industry = whole["features"][0]["properties"]["industry"]
    filtered = _page(url, county, limit=10000, skipGeometry="true", industry=industry)
    ids, _ = _walk(url, county, limit=3, skipGeometry="true", industry=industry)
    assert sorted(ids) == sorted(f["id"] for f in filtered["features"]) and ids
    assert len(ids) < len(whole["features"])


def test_offset_still_pages(live_server: str) -> None:
    """Part 1 offset paging agrees with keyset paging; with sortby the next links use offset."""
    url = f"{live_server}/ogc/collections/water_samples/items"
    by_offset = [f["id"] for o in range(0, 300, 50)
                 for f in _page(url, limit=50, offset=o, skipGeometry="true")["features"]]
    by_key, _ = _walk(url, limit=50, skipGeometry="true")
    assert by_offset == by_key[:300]
    middle = _page(url, limit=50, offset=100, skipGeometry="true")
    assert parse_qs(urlsplit(_next(middle)).query)["after"] == [str(by_key[149])]
    sorted_page = _page(url, limit=50, offset=100, sortby="-time", skipGeometry="true")
    query = parse_qs(urlsplit(_next(sorted_page)).query)
    assert query["offset"] == ["150"] and "after" not in query
    for bad in ({"after": "x"}, {"after": "-1"}, {"after": "3", "sortby": "time"}):
        r = requests.get(url, params=bad, timeout=60)
        assert r.status_code == 400 and "after" in r.json()["detail"], bad


def test_qgis_uses_the_advertised_page(live_server: str, callers: dict[str, Caller],
                                       feature_entries: list[Entry]) -> None:
    """QGIS 3.22 opening a layer WITHOUT pageSize reads it in pages of the advertised default
    (1,000, not its fallback of 100), following the keyset links, every feature once."""
    doc = requests.get(f"{live_server}/ogc/openapi", params={"f": "json"}, timeout=60).json()
    default = doc["components"]["parameters"]["limit"]["schema"]["default"]
    count = {e.id: e.feature_count for e in feature_entries}["outlets"]
    assert count > 2 * default
    seen = qgis_open(f"{live_server}/ogc", ["outlets"], callers["viewer"],
                     script=PAGING_SCRIPT)
    assert seen["valid"], seen["error"]
    assert seen["features"] == seen["distinct"] == seen["count"] == count
    pages = [u for u in seen["requests"] if f"limit={default}" in u]
    assert len(pages) == math.ceil(count / default), seen["requests"]
    assert sum("after=" in u for u in pages) == len(pages) - 1
    assert len(seen["requests"]) <= len(pages) + 2  # plus QGIS's first probe of the layer
