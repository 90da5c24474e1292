"""Layers served from PostGIS answer exactly as from their GeoPackages.

A server on a copy of the sample with ``ONEMAP_DATABASE_URL`` (PostgreSQL 15 + PostGIS 3 from
Debian, started on a free port) loads every read-only vector layer at start; the same OGC API
Features requests — pages, offsets and keyset cursors, bbox, properties, sorting (with NULLs),
CQL2 (comparison, LIKE, IN, BETWEEN, IS NULL, spatial), ``q``, a feature by its key, a county
officer's view, counts — are asked of it and of the GeoPackage server, and must get the same
features. Then an import replaces a layer: PostGIS follows, and a layer whose table is stale is
read from its file meanwhile. (The feature suites of tests/mapserver — test_features*,
test_search, test_ids — also run whole against a PostGIS server: tests/conftest.py
``store_server``.)
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import requests

from onemap import catalog
from onemap.config import Settings
from onemap.layers.importer import import_frame
from onemap.layers.store import read_layer
from onemap.store import pg_load, served_from_postgis
from tests.conftest import Caller
from tests.store.conftest import Pg

pytestmark = pytest.mark.server


QUERIES = [
    ("pollution_sources", {"limit": 50}),
    ("pollution_sources", {"limit": 30, "offset": 2900}),
    ("pollution_sources", {"bbox": "117.2,31.5,117.6,31.8", "limit": 500}),
    ("pollution_sources", {"permit_class": "key", "limit": 100}),
    ("pollution_sources", {"sortby": "-so2_t", "limit": 40}),
    ("pollution_sources", {"sortby": "name,source_id", "limit": 40, "offset": 17}),
    ("pollution_sources", {"filter": "so2_t > 5 AND industry LIKE '%化学%'", "limit": 200}),
    ("pollution_sources", {"filter": "county_code IN ('340181','340124') AND "
                                     "nox_t BETWEEN 1 AND 3", "limit": 200}),
    ("pollution_sources", {"filter": "INTERSECTS(geometry, POLYGON((117.3 31.6, 117.5 31.6,"
                                     " 117.5 31.8, 117.3 31.8, 117.3 31.6)))", "limit": 500}),
    ("pollution_sources", {"filter": "permit_valid_until < '2026-06-01'", "limit": 100}),
    ("pollution_sources", {"q": "制药,化工", "limit": 100}),
    ("pollution_sources", {"resulttype": "hits"}),
    ("rivers", {"limit": 100}),
    ("rivers", {"bbox": "117.2,31.4,117.5,31.7"}),
    ("rivers", {"filter": "downstream_id IS NULL"}),
    ("rivers", {"sortby": "downstream_id", "limit": 37}),
    ("protected_areas", {"filter": "INTERSECTS(geometry, POINT (117.55 31.55)) OR "
                                   "established >= 2000"}),
    ("water_intakes", {"filter": "capacity_m3d > 0 AND population IS NOT NULL"}),
    ("air_hourly", {"limit": 300}),
    ("air_hourly", {"station_id": "1270A", "datetime": "2025-11-20T00:00:00Z/"
                                                      "2025-11-21T12:00:00+08:00", "limit": 500}),
    ("air_hourly", {"filter": "pm25 > 75 AND time < TIMESTAMP('2025-02-25T00:00:00Z')",
                    "sortby": "-time,station_id", "limit": 200}),
    ("water_samples", {"sortby": "section_id,-time", "limit": 100, "offset": 40}),
]


def _items(base: str, layer: str, params: dict, caller: Caller) -> dict:
    r = requests.get(f"{base}/ogc/collections/{layer}/items",
                     params={"f": "json", **params}, headers=caller.headers, timeout=60)
    assert r.status_code == 200, (layer, params, r.text)
    doc = r.json()
    return {k: doc.get(k) for k in ("features", "numberMatched", "numberReturned", "type")}


def test_the_read_only_layers_are_in_postgis(pg: Pg) -> None:
    entries = catalog.load(pg.settings)
    served = {e.id for e in entries.values() if served_from_postgis(e, pg.settings)}
    assert {"pollution_sources", "rivers", "protected_areas", "water_intakes"} <= served
    assert "incidents" in served  # edited feature by feature: each edit follows
    assert {"air_hourly", "water_samples"} <= served  # series (tests/store/test_pg_series.py)
    with psycopg.connect(pg.url) as conn:
        for layer_id in served:
            n = conn.execute(f'SELECT count(*) FROM layers."{layer_id}"').fetchone()[0]
            assert n == entries[layer_id].feature_count, layer_id
            assert pg_load.is_current(entries[layer_id], pg.settings)
        indexes = {r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'pollution_sources'")}
    assert any("gist (geom)" in d for d in indexes)
    assert any("(source_id)" in d for d in indexes)


@pytest.mark.parametrize(("layer", "params"), QUERIES,
                         ids=[f"{q[0]}-{i}" for i, q in enumerate(QUERIES)])
def test_the_same_answers_as_the_geopackage(pg: Pg, live_server: str,
                                            callers: dict[str, Caller], layer: str,
                                            params: dict) -> None:
    viewer = callers["viewer"]
    ours, theirs = _items(pg.base, layer, params, viewer), _items(live_server, layer, params,
                                                                  viewer)
    assert ours == theirs
    if params.get("resulttype") != "hits":
        assert ours["numberReturned"] > 0 or layer == "rivers"


def test_keyset_pages_a_key_and_a_county_alike(pg: Pg, live_server: str,
                                               callers: dict[str, Caller]) -> None:
    viewer, county = callers["viewer"], callers["viewer_a"]
    for caller in (viewer, county):
        pages = []
        for base in (pg.base, live_server):
            url = f"{base}/ogc/collections/pollution_sources/items?f=json&limit=700"
            ids = []
            while url:
                doc = requests.get(url, headers=caller.headers, timeout=60).json()
                ids += [f["id"] for f in doc["features"]]
                url = next((link["href"] for link in doc.get("links", [])
                            if link["rel"] == "next"), None)
            pages.append(ids)
        assert pages[0] == pages[1] and len(pages[0]) == len(set(pages[0]))
        if caller is county:
            assert 0 < len(pages[0]) < 3000
    one = read_layer("pollution_sources", pg.settings).iloc[123]
    for base in (pg.base, live_server):
        r = requests.get(f"{base}/ogc/collections/pollution_sources/items/{one.source_id}",
                         headers=viewer.headers, params={"f": "json"}, timeout=60)
        assert r.status_code == 200 and r.json()["properties"]["name"] == one["name"]
    missing = requests.get(f"{pg.base}/ogc/collections/pollution_sources/items/nope",
                           headers=viewer.headers, params={"f": "json"}, timeout=60)
    assert missing.status_code == 404


def test_a_bad_filter_is_a_400_naming_it(pg: Pg, callers: dict[str, Caller]) -> None:
    r = requests.get(f"{pg.base}/ogc/collections/pollution_sources/items",
                     params={"filter": "nobody > 3"}, headers=callers["viewer"].headers,
                     timeout=60)
    assert r.status_code == 400 and "nobody" in r.text


def test_a_replaced_layer_is_loaded_again(pg: Pg, callers: dict[str, Caller],
                                          tmp_path: Path) -> None:
    frame = read_layer("water_intakes", pg.settings).iloc[:4]
    stale = catalog.get("water_intakes", pg.settings)
    # the file replaced without PostGIS hearing of it (a load that failed): served from the file
    import_frame(frame, "water_intakes", source="fewer.geojson", layer_id="water_intakes",
                 settings=Settings(data_dir=pg.settings.data_dir,
                                   system_db=pg.settings.system_db))
    entry = catalog.get("water_intakes", pg.settings)
    assert entry.feature_count == 4 and not pg_load.is_current(entry, pg.settings)
    viewer = callers["viewer"]
    assert _items(pg.base, "water_intakes", {}, viewer)["numberMatched"] == 4
    # an import through the server's settings loads it again
    import_frame(frame.iloc[:3], "water_intakes", source="three.geojson",
                 layer_id="water_intakes", settings=pg.settings)
    entry = catalog.get("water_intakes", pg.settings)
    assert pg_load.is_current(entry, pg.settings)
    with psycopg.connect(pg.url) as conn:
        assert conn.execute('SELECT count(*) FROM layers."water_intakes"').fetchone()[0] == 3
    assert _items(pg.base, "water_intakes", {}, viewer)["numberMatched"] == 3
    assert stale.feature_count == 6
