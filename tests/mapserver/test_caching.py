"""HTTP caching on the real server: ETags derived from the dataset's version, 304 on
revalidation, Cache-Control by who may see the data, immutable versioned URLs, the shared tile
store (hit after miss, dropped when the dataset changes), and access decided before any cached
answer. The edit test runs on a server of its own (a copy of the sample)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from onemap.config import Settings
from onemap.mapserver.caching import TileStore, etag_matches, route
from tests.conftest import Caller
from tests.server import run_server, sample_copy

pytestmark = pytest.mark.server

VTILE = "/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}"
#: Tiles over the sample region (Chaohu, about 117.3 E 31.6 N)
STATIONS = VTILE.format(id="air_stations", z=8, y=104, x=211)
SOURCES = VTILE.format(id="pollution_sources", z=8, y=104, x=211)
NDVI = "/raster/ndvi_2025_07/tiles/WebMercatorQuad/9/423/208.png?colormap_name=onemap_ndvi"


def _get(base: str, path: str, caller: Caller | None = None, **headers: str
         ) -> requests.Response:
    hdrs = {**(caller.headers if caller else {}), **headers}
    return requests.get(base + path, headers=hdrs, timeout=60)


def test_routes_and_weak_comparison() -> None:
    assert route("/raster/ndvi_2025_07/tiles/WebMercatorQuad/9/423/208.png") == \
        ("tile", "ndvi_2025_07")
    assert route(STATIONS) == ("tile", "air_stations")
    assert route("/ogc/collections/rivers/items/12") == ("doc", "rivers")
    assert route("/raster/ndvi_2025_07/cog.tif") == ("file", "ndvi_2025_07")
    assert route("/api/legends/onemap_pm25") == ("code", None)
    assert route("/api/catalog") is None and route("/raster/../etc/tiles/x/1/2/3") is None
    assert etag_matches('"a", W/"b"', 'W/"b"') and etag_matches("*", 'W/"x"')
    assert not etag_matches('W/"c"', 'W/"b"') and not etag_matches(None, 'W/"b"')


@pytest.mark.parametrize("path", [STATIONS, NDVI])
def test_a_tile_is_stored_then_revalidated(live_server: str, path: str) -> None:
    first = _get(live_server, path)
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert "Last-Modified" in first.headers
    again = _get(live_server, path)
    assert again.headers["X-Tile-Cache"] == "hit"
    assert again.content == first.content and again.headers["ETag"] == etag
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    same = _get(live_server, path, **{"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["ETag"] == etag
    other = _get(live_server, path, **{"If-None-Match": 'W/"someone-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_a_client_without_gzip_never_gets_a_stored_gzip_tile(live_server: str) -> None:
    path = VTILE.format(id="rivers", z=8, y=104, x=211)
    zipped = _get(live_server, path)  # requests accepts gzip: stored gzipped
    assert zipped.headers.get("Content-Encoding") == "gzip"
    assert _get(live_server, path).headers["X-Tile-Cache"] == "hit"
    plain = _get(live_server, path, **{"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.content == zipped.content  # requests decoded the gzipped one
    assert plain.headers["ETag"] != zipped.headers["ETag"]


def test_rendering_parameters_are_in_the_key(live_server: str) -> None:
    plain = _get(live_server, NDVI)
    other = _get(live_server, NDVI.replace("onemap_ndvi", "viridis"))
    assert plain.status_code == other.status_code == 200
    assert plain.headers["ETag"] != other.headers["ETag"]
    assert plain.content != other.content


def test_a_versioned_url_is_immutable(live_server: str) -> None:
    version = requests.get(live_server + "/api/versions", timeout=30).json()["versions"]
    fresh = _get(live_server, NDVI + "&v=" + version["ndvi_2025_07"])
    assert fresh.status_code == 200
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert fresh.content == _get(live_server, NDVI).content  # `v` chooses nothing else
    stale = _get(live_server, NDVI + "&v=0123456789abcdef")
    assert stale.headers["Cache-Control"] == "public, no-cache"


def test_listed_and_tilejson_tile_urls_name_the_version(live_server: str) -> None:
    version = requests.get(live_server + "/api/versions", timeout=30).json()["versions"]
    listed = requests.get(live_server + "/api/rasters/ndvi_2025_07", timeout=30).json()
    assert f"v={version['ndvi_2025_07']}" in listed["tiles"]
    tile = _get(live_server, listed["tiles"].removeprefix(live_server).format(z=9, x=423, y=208))
    assert tile.status_code == 200 and "immutable" in tile.headers["Cache-Control"]
    tj = _get(live_server, "/ogc/collections/rivers/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tiles"][0].endswith(f"?v={version['rivers']}")
    tile = _get(live_server, tj["tiles"][0].removeprefix(live_server).format(z=8, y=104, x=211))
    assert tile.status_code == 200 and "immutable" in tile.headers["Cache-Control"]
    catalogue = requests.get(live_server + "/api/catalog", timeout=30).json()["datasets"]
    assert {d["id"]: d["version"] for d in catalogue} == version  # what the web map's URLs use


def test_documents_and_legends_revalidate(live_server: str) -> None:
    for path in ("/ogc/collections/rivers/items?limit=5",
                 "/ogc/collections/rivers/tiles/WebMercatorQuad/tilejson.json",
                 "/raster/ndvi_2025_07/WebMercatorQuad/tilejson.json",
                 "/api/legends/onemap_pm25"):
        first = _get(live_server, path)
        assert first.status_code == 200, (path, first.text)
        again = _get(live_server, path, **{"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, path
    html = _get(live_server, "/ogc/collections/rivers/items?limit=5", Accept="text/html")
    json_ = _get(live_server, "/ogc/collections/rivers/items?limit=5")
    assert html.headers["ETag"] != json_.headers["ETag"]  # negotiated: not the same answer


def test_the_cog_answers_304_to_its_own_tag(live_server: str) -> None:
    first = requests.head(live_server + "/raster/ndvi_2025_07/cog.tif", timeout=30)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, no-cache"
    again = _get(live_server, "/raster/ndvi_2025_07/cog.tif",
                 **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    part = _get(live_server, "/raster/ndvi_2025_07/cog.tif", Range="bytes=0-15")
    assert part.status_code == 206 and len(part.content) == 16


def test_internal_data_is_private_and_checked_before_the_cache(
        live_server: str, callers: dict[str, Caller]) -> None:
    viewer, county = callers["viewer"], callers["viewer_a"]
    whole = _get(live_server, SOURCES, viewer)
    assert whole.status_code == 200
    assert whole.headers["Cache-Control"] == "private, no-cache"
    assert {"Authorization", "Cookie"} <= {v.strip() for v in
                                           whole.headers["Vary"].split(",")}
    assert _get(live_server, SOURCES, viewer).headers["X-Tile-Cache"] == "hit"
    # the stored tile and its tag are not anyone's: anonymous is refused, tag or no tag
    for headers in ({}, {"If-None-Match": whole.headers["ETag"]}):
        hidden = _get(live_server, SOURCES, **headers)
        assert hidden.status_code == 404, hidden.status_code
        assert hidden.headers["Cache-Control"] == "no-store"
    # a county's officer sees the county's part: another tag, not the whole layer's tile
    part = _get(live_server, SOURCES, county)
    assert part.status_code in (200, 204)
    assert part.headers.get("ETag") != whole.headers["ETag"]
    assert _get(live_server, SOURCES, county,
                **{"If-None-Match": whole.headers["ETag"]}).status_code != 304


def test_errors_are_never_stored(live_server: str) -> None:
    bad = _get(live_server, NDVI.replace("onemap_ndvi", "no_such_map"))
    assert 400 <= bad.status_code < 500
    assert bad.headers["Cache-Control"] == "no-store"
    assert "ETag" not in bad.headers


@dataclass(frozen=True)
class Own:
    base: str
    settings: Settings


@pytest.fixture(scope="module")
def own(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Own]:
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("caching"))
    with run_server(data) as base:
        yield Own(base, Settings(data_dir=data))


def test_an_edit_changes_tags_and_drops_stored_tiles(own: Own, callers: dict[str, Caller]
                                                     ) -> None:
    from onemap.access import accounts

    if accounts.get(own.settings, "commander") is None:
        accounts.add(own.settings, "commander", roles=["commander"])
    _, key = accounts.create_key(own.settings, "commander", "tests")
    commander = {"Authorization": f"Bearer {key}"}
    tile = VTILE.format(id="incidents", z=8, y=104, x=211)
    items = "/ogc/collections/incidents/items?limit=100"
    before = requests.get(own.base + tile, headers=commander, timeout=60)
    listed = requests.get(own.base + items, headers=commander, timeout=60)
    assert before.status_code == listed.status_code == 200
    assert requests.get(own.base + tile, headers=commander,
                        timeout=60).headers["X-Tile-Cache"] == "hit"
    stored = own.settings.runtime_dir / "tiles" / "incidents"
    [old_version] = [p.name for p in stored.iterdir()]

    made = requests.post(own.base + "/ogc/collections/incidents/items", headers={
        **commander, "Content-Type": "application/geo+json"}, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [117.5, 31.6]},
        "properties": {"title": "缓存测试", "time": "2026-12-05T08:00:00+08:00",
                       "type": "水污染", "level": "较大", "status": "reported"}}, timeout=60)
    assert made.status_code == 201, made.text

    after = requests.get(own.base + tile, headers={
        **commander, "If-None-Match": before.headers["ETag"]}, timeout=60)
    assert after.status_code == 200 and after.headers["X-Tile-Cache"] == "miss"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.content != before.content  # the new incident is drawn
    relisted = requests.get(own.base + items, headers={
        **commander, "If-None-Match": listed.headers["ETag"]}, timeout=60)
    assert relisted.status_code == 200
    assert "缓存测试" in [f["properties"]["title"] for f in relisted.json()["features"]]
    assert old_version not in [p.name for p in stored.iterdir()]


def test_the_store_keeps_within_its_limit(tmp_path: Path) -> None:
    store = TileStore(tmp_path, limit=100_000)
    headers = [(b"content-type", b"image/png"), (b"x-other", b"dropped")]
    for i in range(60):
        store.put("layer", "v1", f"{i:032x}", 200, headers, bytes(4000))
    total = sum(size for _t, size, _p in store.files())
    assert total <= 100_000
    newest = store.get("layer", "v1", f"{59:032x}")
    assert newest == (200, [(b"content-type", b"image/png")], bytes(4000))
    assert store.get("layer", "v1", f"{0:032x}") is None  # the oldest went first
    store.put("layer", "v2", "f" * 32, 200, headers, b"new")
    assert [p.name for p in (tmp_path / "layer").iterdir()] == ["v2"]
    # a file cut short (a crash before the OS wrote it whole) is a miss, never a short tile
    path = tmp_path / "layer" / "v2" / "ff" / ("f" * 32)
    path.write_bytes(path.read_bytes()[:-1])
    assert store.get("layer", "v2", "f" * 32) is None
