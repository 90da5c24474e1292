"""The STAC API, read by a real STAC client (pystac-client) from the running server."""

from __future__ import annotations

import pytest
import requests
from pystac_client import Client

NDVI = ["ndvi_2024_07", "ndvi_2025_01", "ndvi_2025_04", "ndvi_2025_07", "ndvi_2025_10"]


@pytest.fixture(scope="module")
def client(live_server: str) -> Client:
    return Client.open(f"{live_server}/stac")


def _ids(search) -> list[str]:
    return [i.id for i in search.items()]


def test_landing_and_collections(client: Client, live_server: str) -> None:
    assert client.conforms_to("ITEM_SEARCH") and client.conforms_to("COLLECTIONS")
    ids = {c.id for c in client.get_collections()}
    assert {"ndvi", "gf1_wfv", "pm25_hourly"} <= ids
    ndvi = client.get_collection("ndvi")
    assert sorted(i.id for i in ndvi.get_items()) == NDVI
    assert ndvi.get_self_href() == f"{live_server}/stac/collections/ndvi"


def test_search_by_datetime(client: Client) -> None:
    july_2025 = client.search(datetime="2025-07-01T00:00:00Z/2025-07-31T23:59:59Z")
    assert sorted(_ids(july_2025)) == ["gf1_wfv_2025_07_20", "ndvi_2025_07"]
    # an instant inside the July composite and the scene's own acquisition instant
    assert sorted(_ids(client.search(datetime="2025-07-20T02:36:18Z"))) == [
        "gf1_wfv_2025_07_20", "ndvi_2025_07"]
    # open-ended intervals
    assert sorted(_ids(client.search(collections=["ndvi"], datetime="2025-06-01T00:00:00Z/.."))) \
        == ["ndvi_2025_07", "ndvi_2025_10"]
    assert _ids(client.search(collections=["ndvi"], datetime="../2024-12-31T23:59:59Z")) == [
        "ndvi_2024_07"]
    hour = client.search(collections=["pm25_hourly"], datetime="2025-01-21T08:00:00Z")
    assert _ids(hour) == ["pm25_hourly_20250121T0800"]
    day = client.search(collections=["pm25_hourly"],
                        datetime="2025-01-21T00:00:00Z/2025-01-21T23:59:59Z", limit=5)
    assert len(_ids(day)) == 24  # paged through next links, 5 at a time


def test_search_by_bbox_intersects_ids(client: Client) -> None:
    # east of the GF-1 scene (it covers 117.0–117.6 E): only region-wide rasters match
    east = client.search(bbox=[117.8, 31.5, 117.9, 31.6], collections=["ndvi", "gf1_wfv"])
    assert sorted(_ids(east)) == NDVI
    west = client.search(bbox=[117.2, 31.8, 117.3, 31.9], datetime="2025-07-20T00:00:00Z/"
                         "2025-07-20T23:59:59Z")
    assert sorted(_ids(west)) == ["gf1_wfv_2025_07_20", "ndvi_2025_07"]
    far = client.search(bbox=[100, 20, 101, 21])
    assert _ids(far) == []
    poly = {"type": "Polygon", "coordinates": [[[117.3, 31.7], [117.4, 31.7], [117.4, 31.8],
                                                [117.3, 31.8], [117.3, 31.7]]]}
    hit = client.search(intersects=poly, collections=["gf1_wfv"])
    assert _ids(hit) == ["gf1_wfv_2025_07_20"]
    assert _ids(client.search(ids=["ndvi_2025_04", "nope"])) == ["ndvi_2025_04"]


def test_post_search_pages_with_body(live_server: str) -> None:
    body = {"collections": ["pm25_hourly"], "limit": 100}
    first = requests.post(f"{live_server}/stac/search", json=body, timeout=30).json()
    assert first["numberMatched"] == 168 and first["numberReturned"] == 100
    nxt = next(link for link in first["links"] if link["rel"] == "next")
    assert nxt["method"] == "POST"
    second = requests.post(nxt["href"], json=nxt["body"], timeout=30).json()
    assert second["numberReturned"] == 68
    assert not any(link["rel"] == "next" for link in second["links"])
    ids = [f["id"] for f in first["features"] + second["features"]]
    assert len(set(ids)) == 168 and ids == sorted(ids)


@pytest.mark.parametrize("query, words", [
    ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "a,b,c,d"}, "bbox"), ({"bbox": "10,10,0,0"}, "bbox"),
    ({"datetime": "2025-13-01"}, "datetime"), ({"datetime": "../.."}, "datetime"),
    ({"datetime": "2025-07-01T00:00:00Z/2025-01-01T00:00:00Z"}, "start is after"),
    ({"limit": "0"}, "limit"), ({"limit": "ten"}, "limit"), ({"intersects": "{"}, "intersects"),
    ({"token": "-1"}, "token"), ({"colections": "ndvi"}, "colections"),
])
def test_invalid_search_parameters_are_400_in_words(live_server: str, query: dict,
                                                     words: str) -> None:
    r = requests.get(f"{live_server}/stac/search", params=query, timeout=30)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and words in body["detail"]


def test_items_endpoint_and_unknown_ids(live_server: str) -> None:
    r = requests.get(f"{live_server}/stac/collections/ndvi/items",
                     params={"limit": 2, "datetime": "2025-01-01T00:00:00Z/.."}, timeout=30)
    doc = r.json()
    assert r.headers["content-type"].startswith("application/geo+json")
    assert doc["numberMatched"] == 4 and [f["id"] for f in doc["features"]] == [
        "ndvi_2025_01", "ndvi_2025_04"]
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert [f["id"] for f in requests.get(nxt, timeout=30).json()["features"]] == [
        "ndvi_2025_07", "ndvi_2025_10"]
    for path in ("/stac/collections/nope", "/stac/collections/ndvi/items/nope",
                 "/stac/collections/air_stations"):
        r = requests.get(f"{live_server}{path}", timeout=30)
        assert r.status_code == 404 and r.json()["code"] == "NotFound"


def test_item_assets_resolve(client: Client) -> None:
    for item_id in ("ndvi_2025_04", "gf1_wfv_2025_07_20", "pm25_hourly_20250121T0800"):
        item = next(client.search(ids=[item_id]).items())
        assert {"self", "root", "parent", "collection"} <= {link.rel for link in item.links}
        for key, asset in item.assets.items():
            if key == "data":  # cog.tif is served by helper "serving"'s endpoint
                continue
            r = requests.get(asset.href, timeout=60)
            assert r.status_code == 200, (item_id, key, r.text[:200])
            if key == "thumbnail":
                assert r.headers["content-type"] == "image/png"
            if key == "tilejson":
                assert r.json()["tiles"]
