"""OGC API Tiles (Mapbox Vector Tiles) on the real server, read back with GDAL's MVT driver
(pyogrio), compared with the GeoPackage R-tree and with OGC API Features answers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import morecantile
import pyogrio
import pytest
import requests
from pyproj import Transformer

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.styles.symbology import PERMIT_CLASSES, WATER_CLASSES
from tests.conftest import Caller
from tests.server import run_server

pytestmark = pytest.mark.server

MVT = "application/vnd.mapbox-vector-tile"
WM = morecantile.tms.get("WebMercatorQuad")
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
HTTP = requests.Session()
QGIS_PYTHON = "/usr/bin/python3"


def QColor(text: str) -> tuple[int, int, int]:  # noqa: N802 (QGIS's name for the same)
    """``#rrggbb`` → (r, g, b)."""
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


@pytest.fixture(scope="module", params=["index", "postgis"])
def tiles_by(request: pytest.FixtureRequest) -> dict[str, str]:
    """Who draws the tiles: the GeoPackage's R-tree index (the default), or PostGIS's
    ``ST_AsMVT`` (``ONEMAP_VECTOR_TILES=postgis``, on the session's PostGIS copy of the
    sample): every test here holds for both; the environment of the servers to start."""
    if request.param == "index":
        return {}
    pg = request.getfixturevalue("pg_server")
    return {"data": str(pg.settings.data_dir), "ONEMAP_DATABASE_URL": pg.url,
            "ONEMAP_SYSTEM_DB": pg.settings.system_db, "ONEMAP_VECTOR_TILES": "postgis"}


@pytest.fixture(scope="module")
def live_server(tiles_by: dict[str, str], gpkg_server: str) -> Iterator[str]:
    if not tiles_by:
        yield gpkg_server
        return
    env = {k: v for k, v in tiles_by.items() if k != "data"}
    with run_server(Path(tiles_by["data"]), **env) as base:
        yield base


@pytest.fixture(scope="module")
def dense_server(sample_settings: Settings, tiles_by: dict[str, str],
                 live_server: str) -> Iterator[str]:
    """A second server on the same data whose tiles aggregate above 50 features, so a county
    viewer's tiles are grids too."""
    env = {k: v for k, v in tiles_by.items() if k != "data"}
    with run_server(Path(tiles_by.get("data", sample_settings.data_dir)),
                    ONEMAP_TILE_MAX_FEATURES="50", **env) as base:
        yield base


@pytest.fixture(scope="module", autouse=True)
def _as_viewer(callers: dict[str, Caller]) -> None:
    HTTP.headers.update(callers["viewer"].headers)


def tiles_url(base: str, layer: str, tms: str = "WebMercatorQuad") -> str:
    return f"{base}/ogc/collections/{layer}/tiles/{tms}"


def get_tile(base: str, layer: str, tile: morecantile.Tile, session: requests.Session = HTTP,
             tms: str = "WebMercatorQuad", **params: str) -> requests.Response:
    resp = session.get(f"{tiles_url(base, layer, tms)}/{tile.z}/{tile.y}/{tile.x}",
                       params=params, timeout=60)
    return resp


def decode(data: bytes, tile: morecantile.Tile, layer: str, folder: Path):
    """The tile's layer as a GeoDataFrame in lon/lat, read by GDAL's MVT driver (a z/x/y.pbf
    path georeferences it in Web Mercator; CLIP=NO keeps the buffer's features)."""
    path = folder / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    names = [n for n, _ in pyogrio.list_layers(path)] if data else []
    if layer not in names:
        return None
    frame = pyogrio.read_dataframe(path, layer=layer, CLIP="NO")
    return frame.set_crs(3857, allow_override=True).to_crs(4326)


def rtree_count(settings: Settings, entry: Entry, tile: morecantile.Tile,
                fids: set[int] | None = None) -> int:
    """Features whose R-tree box centre is in ``tile`` (a centre on the tile's west/north edge
    is in, on its east/south edge out), counted by SQLite."""
    w, s, e, n = WM.bounds(tile)
    con = sqlite3.connect(entry.file(settings))
    try:
        rows = con.execute(
            f'SELECT id FROM "rtree_{entry.id}_geom" WHERE (minx + maxx) / 2 >= ? AND '
            "(minx + maxx) / 2 < ? AND (miny + maxy) / 2 > ? AND (miny + maxy) / 2 <= ?",
            (w, e, s, n)).fetchall()
    finally:
        con.close()
    return len([r for r in rows if fids is None or r[0] in fids])


def items(base: str, layer: str, session: requests.Session = HTTP, **params: object) -> dict:
    return session.get(f"{base}/ogc/collections/{layer}/items",
                       params={"f": "json", "limit": 10000, **params}, timeout=60).json()


def test_big_tiles_count_every_feature_in_grid_cells(
        live_server: str, entries: dict[str, Entry], sample_settings: Settings,
        tmp_path: Path, tiles_by: dict[str, str]) -> None:
    entry = entries["pollution_sources"]  # 3,000 sources > ONEMAP_TILE_MAX_FEATURES (1,000)
    w, s, e, n = entry.bbox
    whole = next(t for z in range(12) if len(t := list(WM.tiles(w, s, e, n, [z]))) == 1)[0]
    resp = get_tile(live_server, entry.id, whole)
    assert resp.headers["OneMap-Tile-Content"] == "clusters"
    assert resp.headers["OneMap-Tile-Source"] == tiles_by.get("ONEMAP_VECTOR_TILES", "index")
    cells = decode(resp.content, whole, f"{entry.id}_clusters", tmp_path / "whole")
    assert int(cells["count"].sum()) == entry.feature_count  # none dropped
    assert int(resp.headers["OneMap-Tile-Count"]) == entry.feature_count
    partition, clustered = 0, 0
    for tile in WM.tiles(w, s, e, n, [whole.z + 3]):
        resp = get_tile(live_server, entry.id, tile)
        assert resp.status_code == 200 and resp.headers["content-type"] == MVT
        expected = rtree_count(sample_settings, entry, tile)
        partition += expected
        if resp.headers["OneMap-Tile-Content"] != "clusters":
            assert expected <= 1000
            continue
        cells = decode(resp.content, tile, f"{entry.id}_clusters", tmp_path)
        assert int(cells["count"].sum()) == expected == int(resp.headers["OneMap-Tile-Count"])
        clustered += 1
        for row in cells.itertuples():
            z, r, c = (int(v) for v in row.cell.split("/"))
            assert z == tile.z + 4 and (r >> 4, c >> 4) == (tile.y, tile.x)
            x, y = row.geometry.x, row.geometry.y  # the bubble is within what it counts
            assert row.minx - 1e-3 <= x <= row.maxx + 1e-3
            assert row.miny - 1e-3 <= y <= row.maxy + 1e-3
    assert partition == entry.feature_count  # each feature counted in exactly one tile
    assert clustered >= 1


def test_small_tiles_hold_the_features_themselves(
        live_server: str, entries: dict[str, Entry], tmp_path: Path,
        tiles_by: dict[str, str]) -> None:
    entry = entries["pollution_sources"]
    lon, lat = items(live_server, entry.id, limit=1)["features"][0]["geometry"]["coordinates"]
    tile = WM.tile(lon, lat, 11)
    resp = get_tile(live_server, entry.id, tile)
    assert resp.headers["OneMap-Tile-Content"] == "features"
    assert resp.headers["OneMap-Tile-Source"] == tiles_by.get("ONEMAP_VECTOR_TILES", "index")
    got = decode(resp.content, tile, entry.id, tmp_path)
    w, s, e, n = WM.bounds(tile)
    truth = {f["properties"]["source_id"]: f for f in
             items(live_server, entry.id, bbox=f"{w},{s},{e},{n}")["features"]}
    assert len(truth) > 5
    assert set(truth) <= set(got["source_id"])  # every feature of the tile
    margin = (e - w) * 65 / 4096  # and those of its 64-unit buffer, no more
    assert got.geometry.x.between(w - margin, e + margin).all()
    assert got.geometry.y.between(s - margin, n + margin).all()
    unit = (e - w) / 4096 * 1.5  # coordinates snapped to the 4096-unit grid
    for row in got[got["source_id"].isin(list(truth))].itertuples():
        feat = truth[row.source_id]
        assert row.name == feat["properties"]["name"]
        assert row.permit_class == feat["properties"]["permit_class"]
        x, y = feat["geometry"]["coordinates"]
        assert abs(row.geometry.x - x) < unit and abs(row.geometry.y - y) < unit
    # properties= chooses the columns; the default carries key, name and class only
    assert set(got.columns) >= {"source_id", "name", "permit_class"}
    assert "so2_t" not in got.columns
    chosen = decode(get_tile(live_server, entry.id, tile, properties="so2_t").content, tile,
                    entry.id, tmp_path / "chosen")
    assert "so2_t" in chosen.columns and "name" not in chosen.columns


def test_polygons_and_lines_are_clipped_and_simplified_per_zoom(
        live_server: str, entries: dict[str, Entry], tmp_path: Path) -> None:
    import shapely

    boundaries = items(live_server, "admin_boundaries")["features"]
    whole = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in boundaries])
    for zoom in (8, 11):
        tile = WM.tile(whole.centroid.x, whole.centroid.y, zoom)
        resp = get_tile(live_server, "admin_boundaries", tile)
        got = decode(resp.content, tile, "admin_boundaries", tmp_path / str(zoom))
        box = shapely.box(*WM.bounds(tile))
        expected = {f["properties"]["adcode"] for f in boundaries
                    if shapely.geometry.shape(f["geometry"]).intersects(box)}
        assert set(got["adcode"]) == expected
        drawn = shapely.union_all(got.geometry.values).intersection(box)
        truth = whole.intersection(box)
        assert abs(drawn.area - truth.area) / truth.area < 0.02  # clipped to the tile
        assert all(g.is_valid for g in got.geometry)
    rivers = get_tile(live_server, "rivers", WM.tile(whole.centroid.x, whole.centroid.y, 9))
    assert decode(rivers.content, WM.tile(whole.centroid.x, whole.centroid.y, 9), "rivers",
                  tmp_path / "r").geom_type.str.contains("LineString").all()


def test_world_crs84_quad_counts_too(live_server: str, entries: dict[str, Entry]) -> None:
    crs84 = morecantile.tms.get("WorldCRS84Quad")
    entry = entries["pollution_sources"]
    w, s, e, n = entry.bbox
    counted = 0
    for tile in crs84.tiles(w, s, e, n, [5]):
        resp = get_tile(live_server, entry.id, tile, tms="WorldCRS84Quad")
        assert resp.status_code == 200
        counted += int(resp.headers["OneMap-Tile-Count"])
    assert counted == entry.feature_count
    doc = HTTP.get(tiles_url(live_server, entry.id, "WorldCRS84Quad"), timeout=30).json()
    assert doc["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def test_conformance_declares_the_tiles_served(live_server: str) -> None:
    """/ogc/conformance names the Tiles classes our routes serve, each once, and not oas30
    (the tile routes are described in /api/openapi.json, not in /ogc/openapi)."""
    declared = HTTP.get(f"{live_server}/ogc/conformance", params={"f": "json"},
                        timeout=30).json()["conformsTo"]
    tiles = [c for c in declared if "/ogcapi-tiles-1/" in c]
    assert sorted(c.rsplit("/", 1)[1] for c in tiles) == \
        ["core", "geodata-tilesets", "mvt", "tileset", "tilesets-list"]


def test_dense_tiles_of_high_zooms_count_too(
        dense_server: str, entries: dict[str, Entry], sample_settings: Settings,
        tmp_path: Path) -> None:
    """The densest tiles at zooms 12 and 13 hold more than 50 sources: grids whose cells are
    numbered past 2**31 (and past a smallint in each part of the number)."""
    from collections import Counter

    entry = entries["pollution_sources"]
    points = pyogrio.read_dataframe(entry.file(sample_settings), layer=entry.id, columns=[])
    for z in (12, 13):
        tile, n = Counter(WM.tile(p.x, p.y, z) for p in points.geometry).most_common(1)[0]
        resp = get_tile(dense_server, entry.id, tile)
        assert resp.status_code == 200, resp.text
        assert resp.headers["OneMap-Tile-Content"] == "clusters", (tile, n)
        cells = decode(resp.content, tile, f"{entry.id}_clusters", tmp_path / str(z))
        assert int(cells["count"].sum()) == rtree_count(sample_settings, entry, tile)
        assert {int(c.split("/")[0]) for c in cells["cell"]} == {z + 4}


def test_hidden_is_unknown_and_a_county_sees_its_county(
        live_server: str, dense_server: str, entries: dict[str, Entry],
        callers: dict[str, Caller], sample_settings: Settings, tmp_path: Path) -> None:
    entry = entries["pollution_sources"]  # internal
    anonymous = requests.Session()
    tile = WM.tile((entry.bbox[0] + entry.bbox[2]) / 2, (entry.bbox[1] + entry.bbox[3]) / 2, 6)
    for suffix in ("", "/tilejson.json", "/style.json", f"/{tile.z}/{tile.y}/{tile.x}"):
        hidden = anonymous.get(tiles_url(live_server, entry.id) + suffix, timeout=30)
        unknown = anonymous.get(tiles_url(live_server, "no_such_layer") + suffix, timeout=30)
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json() == unknown.json()
    county = requests.Session()
    county.headers.update(callers["viewer_a"].headers)
    theirs = items(live_server, entry.id, county)
    ids = {f["id"] for f in theirs["features"]}
    assert 0 < theirs["numberMatched"] < entry.feature_count
    resp = get_tile(live_server, entry.id, tile, county)  # fewer than 1,000: features
    assert resp.headers["OneMap-Tile-Content"] == "features"
    assert int(resp.headers["OneMap-Tile-Count"]) == theirs["numberMatched"]
    got = decode(resp.content, tile, entry.id, tmp_path / "f")
    assert set(got["source_id"]) == ids
    resp = get_tile(dense_server, entry.id, tile, county)  # more than 50: the county's counts
    assert resp.headers["OneMap-Tile-Content"] == "clusters"
    con = sqlite3.connect(entry.file(sample_settings))
    fids = {fid for (fid,) in con.execute(
        f'SELECT fid FROM "{entry.id}" WHERE source_id IN ({",".join("?" * len(ids))})',
        sorted(ids))}
    con.close()
    cells = decode(resp.content, tile, f"{entry.id}_clusters", tmp_path)
    assert int(cells["count"].sum()) == rtree_count(sample_settings, entry, tile, fids)
    assert int(cells["count"].sum()) == theirs["numberMatched"]


def test_tileset_tilejson_and_style(live_server: str, entries: dict[str, Entry]) -> None:
    entry = entries["pollution_sources"]
    tileset = HTTP.get(tiles_url(live_server, entry.id), timeout=30).json()
    assert tileset["dataType"] == "vector" and tileset["crs"].endswith("/EPSG/0/3857")
    assert [lyr["id"] for lyr in tileset["layers"]] == [entry.id, f"{entry.id}_clusters"]
    limits = {int(lim["tileMatrix"]): lim for lim in tileset["tileMatrixSetLimits"]}
    t = WM.tile(entry.bbox[0] + 1e-6, entry.bbox[3] - 1e-6, 12)
    assert (limits[12]["minTileRow"], limits[12]["minTileCol"]) == (t.y, t.x)
    item = next(lk for lk in tileset["links"] if lk["rel"] == "item")["href"]
    assert HTTP.get(item.format(tileMatrix=6, tileRow=26, tileCol=52),
                    timeout=30).headers["content-type"] == MVT
    listing = HTTP.get(f"{live_server}/ogc/collections/{entry.id}/tiles", timeout=30).json()
    assert {ts["tileMatrixSetURI"].rsplit("/", 1)[1] for ts in listing["tilesets"]} == {
        "WebMercatorQuad", "WorldCRS84Quad"}
    collection = HTTP.get(f"{live_server}/ogc/collections/{entry.id}", params={"f": "json"},
                          timeout=30).json()
    assert any(lk["rel"].endswith("tilesets-vector") for lk in collection["links"])

    tj = HTTP.get(f"{tiles_url(live_server, entry.id)}/tilejson.json", timeout=30).json()
    assert tj["tilejson"] == "3.0.0" and tj["bounds"] == entry.bbox
    assert {v["id"] for v in tj["vector_layers"]} == {entry.id, f"{entry.id}_clusters"}
    url = tj["tiles"][0].format(z=6, y=26, x=52)
    assert HTTP.get(url, timeout=30).status_code == 200

    style = HTTP.get(f"{tiles_url(live_server, entry.id)}/style.json", timeout=30).json()
    assert style["version"] == 8 and style["sources"][entry.id]["tiles"] == tj["tiles"]
    layers = {lyr["id"]: lyr for lyr in style["layers"]}
    assert {lyr["source-layer"] for lyr in style["layers"]} == {
        v["id"] for v in tj["vector_layers"]}
    for cls in PERMIT_CLASSES:  # a circle layer per permit class, in its colour
        layer = layers[f"{entry.id}-{cls.value}"]
        assert layer["filter"] == ["==", "permit_class", cls.value]
        assert layer["paint"]["circle-color"] == cls.color
    assert layers[f"{entry.id}-other"]["filter"] == [
        "!in", "permit_class", *(c.value for c in PERMIT_CLASSES)]
    polygons = HTTP.get(f"{tiles_url(live_server, 'protected_areas')}/style.json",
                        timeout=30).json()
    assert [lyr["type"] for lyr in polygons["layers"]] == ["fill", "line", "circle"]


def test_refusals_are_words(live_server: str) -> None:
    base = tiles_url(live_server, "air_stations")
    cases = [
        (f"{base}/3/2/6?bbox=1,2,3,4", 400, "InvalidParameterValue"),
        (f"{base}/3/2/6?properties=nope", 400, "InvalidParameterValue"),
        (f"{base}/3/9/6", 404, "NotFound"),
        (f"{base}/30/0/0", 404, "NotFound"),
        (f"{base}/-1/0/0", 404, "NotFound"),
        (f"{base}/3/x/6", 422, "InvalidParameter"),
        (f"{live_server}/ogc/collections/air_stations/tiles/GoogleCRS84Quad/3/2/6", 404,
         "NotFound"),
        (f"{live_server}/ogc/collections/air_hourly/tiles/WebMercatorQuad/3/2/6", 404,
         "NotFound"),
    ]
    for url, status, code in cases:
        resp = HTTP.get(url, timeout=30)
        assert resp.status_code == status, (url, resp.text)
        assert resp.json()["code"] == code and resp.json()["detail"]


def qgis_render(base: str, collections: list[str]) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([QGIS_PYTHON, str(Path(__file__).with_name("qgis_vtiles.py")), base,
                          *collections], env=env, capture_output=True, text=True, timeout=600,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_qgis_draws_the_tiles_with_our_style(live_server: str) -> None:
    seen = qgis_render(live_server, ["admin_boundaries", "water_sections", "protected_areas",
                                     "rivers"])
    for name, got in seen.items():
        assert got["valid"] and got["crs"] == "EPSG:3857", (name, got)
        assert got["converted"] and got["warnings"] == [], (name, got["warnings"])
        assert got["drawn"] > got["sampled"] // 200, (name, got)  # not blank
    # the sections are drawn in their GB 3838 class colours (as on the web map)
    drawn = [QColor(c) for c, _ in seen["water_sections"]["colours"]]
    near = {cls.value for cls in WATER_CLASSES for c in drawn
            if max(abs(a - b) for a, b in zip(QColor(cls.color), c, strict=True)) < 40}
    assert len(near) >= 3, seen["water_sections"]["colours"]

