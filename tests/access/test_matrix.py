"""The route × role matrix (issue 12) on the real server: anonymous, a viewer of county A
(340181), one of county B (340124), an analyst and an admin, against every route that returns
features of a vector layer, for every internal layer and every public one.

Expectations come from the data (tests/access/truth.py): a county viewer must reach exactly
the internal features that intersect its county's polygons, by any route (items, counts, one
feature, text search, bbox + sort + paging, CQL, clusters, the map export, process results);
anonymous must not learn that an internal layer exists; public layers are whole for everyone.
The number of (caller, route, dataset) checks is printed and written to
test-artifacts/access-matrix.json.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import requests

from onemap import catalog
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from tests.access.truth import MATRIX, Layer, Ledger, county, get, headers, read_layer
from tests.conftest import Caller
from tests.mapserver.test_exports import _meta, _payloads

pytestmark = pytest.mark.server

COUNTIES = {"viewer_a": "340181", "viewer_b": "340124", "analyst_a": "340181"}
LEDGER = Ledger("access-matrix")
TERM = "有限公司"  # in most source names (a q= search with many hits in both counties)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if LEDGER.checked:
        LEDGER.write()


@pytest.fixture(scope="module")
def layers(sample_settings: Settings) -> dict[str, Layer]:
    out = {}
    for e in catalog.load(sample_settings).values():
        if e.kind == "vector":
            out[e.id] = read_layer(sample_settings.data_dir, e.id, FAMILIES[e.family].key,
                                   e.access)
    assert {i for i, lay in out.items() if lay.access == "internal"} == {
        "pollution_sources", "outlets", "incidents", "sensitive_receptors"}
    return out


@pytest.fixture(scope="module")
def areas(sample_settings: Settings) -> dict[str, object]:
    return {code: county(sample_settings.data_dir, code) for code in set(COUNTIES.values())}


def expected(layer: Layer, caller: str, areas: dict[str, object]) -> set[str] | None:
    """The keys ``caller`` must reach in ``layer`` (None: the layer must be absent)."""
    if layer.access == "public":
        return layer.ids()
    if caller == "anonymous":
        return None
    return layer.ids(areas[COUNTIES[caller]]) if caller in COUNTIES else layer.ids()


def test_the_counties_split_the_internal_features(layers: dict[str, Layer],
                                                  areas: dict[str, object]) -> None:
    """The truth itself: both counties hold internal features, neither holds all, none is
    in both, and the geometry agrees with the sample's county_code attribute."""
    for lid in ("pollution_sources", "sensitive_receptors"):
        lay = layers[lid]
        a, b = lay.ids(areas["340181"]), lay.ids(areas["340124"])
        assert a and b and not a & b and len(a | b) < len(lay.frame), lid
        by_code = set(lay.frame.loc[lay.frame["county_code"] == "340181", lay.key])
        assert a == by_code, lid


def _all_items(base: str, cid: str, callers: dict[str, Caller], who: str,
               **params: object) -> tuple[int, list[dict]]:
    r = get(base, f"/ogc/collections/{cid}/items", callers, who, f="json", limit=10000,
            **params)
    assert r.status_code == 200, (who, cid, r.status_code, r.text[:200])
    doc = r.json()
    return doc["numberMatched"], doc["features"]


@pytest.mark.parametrize("who", MATRIX)
def test_ogc_features(live_server: str, callers: dict[str, Caller], layers: dict[str, Layer],
                      areas: dict[str, object], who: str) -> None:
    listed = {c["id"] for c in get(live_server, "/ogc/collections", callers, who,
                                   f="json").json()["collections"]}
    html = get(live_server, "/ogc/collections", callers, who, f="html").text
    paths = get(live_server, "/ogc/openapi", callers, who, f="json").json()["paths"]
    unknown = get(live_server, "/ogc/collections/no_such_layer/items", callers, who, f="json")
    assert unknown.status_code == 404 and {"code", "detail"} <= set(unknown.json())
    for lid, lay in layers.items():
        want = expected(lay, who, areas)
        base = f"/ogc/collections/{lid}"
        assert (lid in listed) == (want is not None), (who, lid)
        assert (f'/collections/{lid}"' in html) == (want is not None), (who, lid)
        assert (f"/collections/{lid}" in paths) == (want is not None), (who, lid)
        for route in ("collections", "collections.html", "openapi"):
            LEDGER.add(who, route, lid)
        if want is None:  # absent: every path answers as for an unknown id
            for sub in ("", "/items", "/queryables", "/schema",
                        f"/items/{next(iter(lay.ids()))}"):
                for fmt in ("json", "html"):
                    r = get(live_server, base + sub, callers, who, f=fmt)
                    assert r.status_code == 404 and r.json() == unknown.json(), (who, lid, sub)
            LEDGER.add(who, "collection/items/item/queryables/schema → 404", lid)
            continue
        matched, feats = _all_items(live_server, lid, callers, who)
        assert matched == len(feats) == len(want) and {str(f["id"]) for f in feats} == want
        hits = get(live_server, base + "/items", callers, who, f="json", resulttype="hits")
        assert hits.json()["numberMatched"] == len(want)
        LEDGER.add(who, "items", lid)
        LEDGER.add(who, "numberMatched", lid)
        others = lay.ids() - want
        for fid, code in ([(sorted(want)[0], 200)] if want else []) + \
                [(f, 404) for f in sorted(others)[:3]]:
            r = get(live_server, f"{base}/items/{fid}", callers, who, f="json")
            assert r.status_code == code, (who, lid, fid, r.status_code)
        LEDGER.add(who, "items/{id}", lid)
        # bbox over the whole layer, sorted descending, in pages: the same set, in order
        box = ",".join(str(v) for v in lay.frame.total_bounds)
        pages, offset = [], 0
        while True:
            r = get(live_server, base + "/items", callers, who, f="json", bbox=box, limit=97,
                    offset=offset, sortby=f"-{lay.key}", skipGeometry="true")
            page = r.json()
            assert page["numberMatched"] == len(want)
            pages += [str(f["id"]) for f in page["features"]]
            offset += 97
            if offset >= page["numberMatched"]:
                break
        assert pages == sorted(want, reverse=True), (who, lid)
        LEDGER.add(who, "bbox+sortby+paging", lid)
        if "county_code" in lay.frame.columns:  # an attribute filter cannot escape the region
            for code in ("340181", "340124"):
                n, _ = _all_items(live_server, lid, callers, who, filter=f"county_code='{code}'")
                by_code = set(lay.frame.loc[lay.frame["county_code"] == code, lay.key])
                assert n == len(by_code & want), (who, lid, code)
            LEDGER.add(who, "CQL filter", lid)


@pytest.mark.parametrize("who", MATRIX)
def test_text_search(live_server: str, callers: dict[str, Caller], layers: dict[str, Layer],
                     areas: dict[str, object], who: str) -> None:
    lay = layers["pollution_sources"]
    want = expected(lay, who, areas)
    r = get(live_server, "/ogc/collections/pollution_sources/items", callers, who, f="json",
            q=TERM, limit=10000)
    if want is None:
        assert r.status_code == 404
    else:
        named = set(lay.frame.loc[lay.frame["name"].str.contains(TERM), lay.key])
        got = {str(f["id"]) for f in r.json()["features"]}
        assert got == named & want and r.json()["numberMatched"] == len(got) > 0
    LEDGER.add(who, "q= search", "pollution_sources")


@pytest.mark.parametrize("who", MATRIX)
def test_clusters_and_export(live_server: str, callers: dict[str, Caller],
                             layers: dict[str, Layer], areas: dict[str, object],
                             who: str) -> None:
    for lid in ("pollution_sources", "sensitive_receptors", "incidents", "air_stations",
                "water_sections"):
        lay = layers[lid]
        want = expected(lay, who, areas)
        minx, miny, maxx, maxy = lay.frame.total_bounds
        box = f"{minx - 0.01},{miny - 0.01},{maxx + 0.01},{maxy + 0.01}"
        r = get(live_server, f"/api/clusters/{lid}", callers, who, bbox=box, zoom=9)
        page = get(live_server, "/api/exports/map.html", callers, who, layers=lid, bbox=box)
        if want is None:
            assert r.status_code == 404 and r.json()["code"] == "NotFound"
            assert page.status_code == 404 and page.json()["code"] == "NotFound"
        else:
            assert r.status_code == 200 and r.json()["numberMatched"] == len(want), (who, lid)
            assert page.status_code == 200, page.text[:200]
            (data,) = _payloads(page.text)
            drawn = np.array([f["geometry"]["coordinates"]
                              for f in data["geojson"]["features"]]).reshape(-1, 2)
            wanted = lay.frame[lay.frame[lay.key].astype(str).isin(want)].geometry
            xy = np.column_stack([wanted.x.values, wanted.y.values])
            # the export names no key: each drawn point is one of the wanted features
            nearest = np.abs(drawn[:, None, :] - xy[None, :, :]).max(axis=2).min(axis=1)
            assert len(drawn) == len(want) and (nearest < 2e-6).all(), (who, lid)
            assert _meta(page.text)["layers"][0]["id"] == lid
        LEDGER.add(who, "clusters", lid)
        LEDGER.add(who, "export map.html", lid)


@pytest.mark.parametrize("who", MATRIX)
def test_zonal_polygons_and_hidden_layers(live_server: str, callers: dict[str, Caller],
                                          layers: dict[str, Layer], who: str) -> None:
    for lid in ("red_lines", "protected_areas", "pollution_sources"):
        lay = layers[lid]
        r = get(live_server, f"/raster/ndvi_2025_07/zonal/{lid}", callers, who,
                skipGeometry="true")
        if lay.access == "internal":  # points: refused, but only to those who may see it
            assert r.status_code == (404 if who == "anonymous" else 400), (who, lid)
        else:
            ids = {str(f["id"]) for f in r.json()["features"]}
            assert r.status_code == 200 and ids == lay.ids(), (who, lid)
        LEDGER.add(who, "zonal", lid)


UPWIND = {"station_id": "1272A", "start": "2025-01-21", "end": "2025-01-25", "max_km": 80}


@pytest.mark.parametrize("who", [*MATRIX, "analyst_a"])
def test_process_results_hold_only_visible_features(
        live_server: str, callers: dict[str, Caller], layers: dict[str, Layer],
        areas: dict[str, object], who: str) -> None:
    """upwind-sources ranks pollution sources: a region-bound caller's ranking names only
    sources of its region; one who may not see sources gets no result naming any (refused
    with a 4xx, never a 5xx)."""
    r = requests.post(f"{live_server}/ogc/processes/upwind-sources/execution",
                      json={"inputs": UPWIND}, headers=headers(callers, who), timeout=300)
    lay = layers["pollution_sources"]
    want = expected(lay, who, areas)
    if r.status_code != 200:
        assert 400 <= r.status_code < 500, r.text[:300]
        assert want is None or who.startswith("viewer"), (who, r.status_code)  # role refusal
    else:
        assert want is not None, (who, "anonymous ran a process over internal sources")
        found = {str(f["properties"]["source_id"]) for f in r.json()["features"]["features"]
                 if f["properties"]["role"] == "source"}
        assert found and found <= want, (who, found - want)
        if who not in COUNTIES:  # the whole territory: sources of other counties too
            assert found - lay.ids(areas["340181"])
    LEDGER.add(who, "process upwind-sources", "pollution_sources")


def test_public_layers_whole_for_everyone(live_server: str, callers: dict[str, Caller],
                                          sample_settings: Settings) -> None:
    """Tables too: every public collection's count is the GeoPackage's, for every caller."""
    for e in catalog.load(sample_settings).values():
        if e.kind not in ("vector", "table") or e.access != "public":
            continue
        stored = pyogrio.read_info(Path(e.file(sample_settings)), layer=e.id)["features"]
        for who in MATRIX:
            r = get(live_server, f"/ogc/collections/{e.id}/items", callers, who, f="json",
                    resulttype="hits")
            assert r.json()["numberMatched"] == stored, (who, e.id)
            LEDGER.add(who, "numberMatched (public)", e.id)


def test_async_job_reads_as_its_starter(live_server: str, callers: dict[str, Caller],
                                        layers: dict[str, Layer],
                                        areas: dict[str, object]) -> None:
    """An async job runs later in a pool thread that has no request: it still reads as the
    county analyst who started it."""
    who = "analyst_a"
    auth = headers(callers, who)
    r = requests.post(f"{live_server}/ogc/processes/upwind-sources/execution",
                      json={"inputs": UPWIND}, headers={**auth, "Prefer": "respond-async"},
                      timeout=60)
    assert r.status_code == 201, r.text[:300]
    job_url = r.headers["Location"]
    deadline = time.monotonic() + 300
    while (job := requests.get(job_url, params={"f": "json"}, headers=auth,
                               timeout=30).json())["status"] in ("accepted", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    assert job["status"] == "successful", job
    out = requests.get(f"{job_url}/results", params={"f": "json"}, headers=auth, timeout=60)
    found = {str(f["properties"]["source_id"]) for f in out.json()["features"]["features"]
             if f["properties"]["role"] == "source"}
    want = expected(layers["pollution_sources"], who, areas)
    assert found and found <= want, found - want
    LEDGER.add(who, "process upwind-sources (async job)", "pollution_sources")


@pytest.mark.parametrize("who", MATRIX)
def test_catalog_and_stac_listings(live_server: str, callers: dict[str, Caller],
                                   layers: dict[str, Layer], areas: dict[str, object],
                                   who: str) -> None:
    """The dataset listings name an internal layer only to those who may read it; STAC (the
    rasters and cubes) names no vector layer at all."""
    listed = {d["id"] for d in get(live_server, "/api/catalog", callers, who).json()["datasets"]}
    stac = get(live_server, "/stac/collections", callers, who).text
    for lid, lay in layers.items():
        visible = expected(lay, who, areas) is not None
        assert (lid in listed) == visible, (who, lid)
        assert f'"{lid}"' not in stac or lay.access == "public", (who, lid)
        LEDGER.add(who, "/api/catalog", lid)
        LEDGER.add(who, "STAC collections", lid)
