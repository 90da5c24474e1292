"""OGC API Features against the real server: every catalogued collection, read by GDAL and OWSLib,
and each query feature (bbox, properties, CQL, paging, sorting, datetime) checked against
geopandas reading the same GeoPackage directly."""

from __future__ import annotations

import os
import re
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
import requests
import shapely
from owslib.ogcapi.features import Features

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from tests.conftest import Caller


@pytest.fixture(scope="module")
def live_server(store_server: str) -> str:
    """Every test here is asked of the GeoPackage server and of the PostGIS one."""
    return store_server


pytestmark = pytest.mark.server
BIG = 200_000
#: These tests read every collection, internal ones too, as a viewer of the whole territory
#: (what each role and region may read is tests/access/test_matrix.py's subject).
HTTP = requests.Session()
AUTH: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _as_viewer(callers: dict[str, Caller]) -> None:
    HTTP.headers.update(callers["viewer"].headers)
    AUTH.update(callers["viewer"].headers)


def _items(base: str, cid: str, **params: object) -> dict:
    r = HTTP.get(f"{base}/ogc/collections/{cid}/items", params={"f": "json", **params},
                 timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _frame(entry: Entry, settings: Settings) -> gpd.GeoDataFrame:
    return gpd.read_file(entry.file(settings), layer=entry.id)


def _key(entry: Entry) -> str:
    family = FAMILIES.get(entry.family)
    return family.key if family and entry.kind == "vector" else "fid"


def _pick(entries: list[Entry], geometry: str) -> Entry:
    found = [e for e in entries if e.kind == "vector" and (e.geometry_type or "")
             .endswith(geometry) and 0 < e.feature_count < BIG]
    if not found:
        pytest.skip(f"no {geometry} layer in the catalogue")
    return max(found, key=lambda e: e.feature_count)


def test_every_collection_is_listed(live_server: str, feature_entries: list[Entry]) -> None:
    doc = HTTP.get(f"{live_server}/ogc/collections?f=json", timeout=30).json()
    ids = {c["id"] for c in doc["collections"]}
    assert {e.id for e in feature_entries} <= ids
    for coll in doc["collections"]:
        for link in coll["links"]:
            if link["href"].startswith("http"):
                assert link["href"].startswith(live_server), link


@pytest.mark.parametrize("tool", ["ogrinfo", "owslib"])
def test_clients_read_catalogued_counts(live_server: str, feature_entries: list[Entry],
                                        tool: str) -> None:
    """GDAL's OAPIF driver and OWSLib both see each collection with the catalogue's count."""
    assert feature_entries
    counts = {}
    for entry in feature_entries:
        if tool == "ogrinfo":
            # a table has no extent to tell, and GDAL would read every row for one
            extent = ["-noextent"] if entry.kind == "table" else []
            out = subprocess.run(
                ["ogrinfo", "-ro", "-so", "-al", *extent,
                 f"OAPIF:{live_server}/ogc/collections/{entry.id}"],
                capture_output=True, text=True, timeout=300, check=True,
                env={**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: {AUTH['Authorization']}"}
            ).stdout
            m = re.search(r"Feature Count: (\d+)", out)
            assert m, out
            counts[entry.id] = int(m.group(1))
        else:
            api = Features(f"{live_server}/ogc", headers=dict(AUTH))
            assert entry.id in {c["id"] for c in api.collections()["collections"]}
            hits = api.collection_items(entry.id, resulttype="hits")
            counts[entry.id] = hits["numberMatched"]
            page = api.collection_items(entry.id, limit=5)
            assert page["numberReturned"] == min(5, entry.feature_count)
    print(tool, counts)
    assert counts == {e.id: e.feature_count for e in feature_entries}


def test_bbox_matches_geopandas(live_server: str, feature_entries: list[Entry],
                                sample_settings: Settings) -> None:
    for geom in ("Point", "Polygon"):
        entry = _pick(feature_entries, geom)
        gdf = _frame(entry, sample_settings)
        minx, miny, maxx, maxy = gdf.total_bounds
        box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
        expected = gdf[gdf.intersects(shapely.box(*box))]
        doc = _items(live_server, entry.id, bbox=",".join(map(str, box)), limit=10000)
        key = _key(entry)
        assert doc["numberMatched"] == len(expected) == doc["numberReturned"]
        assert {f["id"] for f in doc["features"]} == set(expected[key])


def test_bbox_edges_of_points_are_exact(live_server: str, feature_entries: list[Entry],
                                        sample_settings: Settings) -> None:
    """A bbox edge a hair (1e-7°) past a point excludes it, though the GeoPackage R-tree's
    float32 box (rounded outwards) still contains it; an edge on the point includes it."""
    entry = _pick(feature_entries, "Point")
    gdf = _frame(entry, sample_settings)
    key = _key(entry)
    for _, row in gdf.head(5).iterrows():
        x, y = row.geometry.x, row.geometry.y
        outside = _items(live_server, entry.id, bbox=f"{x + 1e-7},{y - 0.01},{x + 0.01},{y + 0.01}",
                         limit=10000)
        assert row[key] not in {f["id"] for f in outside["features"]}
        on_edge = _items(live_server, entry.id, bbox=f"{x!r},{y!r},{x + 0.01},{y + 0.01}",
                         limit=10000)
        assert row[key] in {f["id"] for f in on_edge["features"]}
        assert on_edge["numberMatched"] == on_edge["numberReturned"]


def test_properties_filter_and_injection(live_server: str, feature_entries: list[Entry],
                                         sample_settings: Settings) -> None:
    entry = _pick(feature_entries, "Point")
    gdf = _frame(entry, sample_settings)
    col = next(c for c in gdf.columns if c != "geometry" and pd.api.types.is_string_dtype(gdf[c])
               and 1 < gdf[c].nunique() < len(gdf))
    value = gdf[col].iloc[0]
    doc = _items(live_server, entry.id, **{col: value}, limit=10000)
    assert doc["numberMatched"] == int((gdf[col] == value).sum())
    assert all(f["properties"][col] == value for f in doc["features"])
    # Quotes are data, never SQL: a classic injection matches nothing and errors nothing.
    for evil in ("x' OR '1'='1", 'x" OR 1=1 --', "'; DROP TABLE x; --"):
        assert _items(live_server, entry.id, **{col: evil})["numberMatched"] == 0


def test_cql_filters(live_server: str, feature_entries: list[Entry],
                     sample_settings: Settings) -> None:
    entry = _pick(feature_entries, "Point")
    gdf = _frame(entry, sample_settings)
    key = _key(entry)
    ids = sorted(gdf[key].astype(str))
    lo, hi = ids[len(ids) // 4], ids[3 * len(ids) // 4]
    cases = {
        f"{key} >= '{lo}' AND {key} <= '{hi}'": (gdf[key] >= lo) & (gdf[key] <= hi),
        f"{key} IN ('{ids[0]}','{ids[-1]}')": gdf[key].isin([ids[0], ids[-1]]),
        f"(NOT {key} = '{ids[0]}') OR {key} = '{ids[1]}'": gdf[key] != ids[0],
        f"{key} LIKE '{ids[0][:2]}%'": gdf[key].str.startswith(ids[0][:2]),
    }
    minx, miny, maxx, maxy = gdf.total_bounds
    mx, my = (minx + maxx) / 2, (miny + maxy) / 2
    poly = shapely.Polygon([(minx, miny), (mx, miny), (mx, my), (minx, my)])
    cases[f"INTERSECTS(geometry, {poly.wkt})"] = gdf.intersects(poly)
    cases[f"BBOX(geometry, {mx}, {my}, {maxx}, {maxy}) AND {key} >= '{lo}'"] = \
        gdf.intersects(shapely.box(mx, my, maxx, maxy)) & (gdf[key] >= lo)
    for text, mask in cases.items():
        doc = _items(live_server, entry.id, filter=text, **{"filter-lang": "cql-text"},
                     limit=10000)
        assert doc["numberMatched"] == int(mask.sum()), text
        assert {f["id"] for f in doc["features"]} == set(gdf.loc[mask, key]), text
    r = HTTP.get(f"{live_server}/ogc/collections/{entry.id}/items",
                 params={"filter": "no_such_field = 1"}, timeout=30)
    assert r.status_code == 400 and r.json()["code"]


def test_paging_and_sorting(live_server: str, feature_entries: list[Entry],
                            sample_settings: Settings) -> None:
    entry = _pick(feature_entries, "Point")
    gdf = _frame(entry, sample_settings)
    key = _key(entry)
    seen: list[str] = []
    url: str | None = f"{live_server}/ogc/collections/{entry.id}/items?f=json&limit=7"
    while url:
        doc = HTTP.get(url, timeout=30).json()
        # the first page counts; the keyset pages its next links lead to need not (Part 1)
        assert doc["numberMatched" if not seen else "numberReturned"] is not None
        assert doc.get("numberMatched", len(gdf)) == len(gdf)
        seen += [f["id"] for f in doc["features"]]
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
        if url:
            assert url.startswith(live_server)
    assert len(seen) == len(set(seen)) == len(gdf)
    doc = _items(live_server, entry.id, sortby=f"-{key}", limit=5, offset=2)
    assert [f["id"] for f in doc["features"]] == \
        list(gdf.sort_values(key, ascending=False)[key].iloc[2:7])
    doc = _items(live_server, entry.id, properties=key, skipGeometry="true", limit=3)
    assert all(f["geometry"] is None and set(f["properties"]) == {key}
               for f in doc["features"])


def test_time_series_table(live_server: str, feature_entries: list[Entry],
                           sample_settings: Settings) -> None:
    tables = [e for e in feature_entries if e.kind == "table" and e.time_extent
              and e.feature_count < BIG]
    if not tables:
        pytest.skip("no time-series table")
    entry = tables[0]
    family = FAMILIES[entry.family]
    frame = pd.DataFrame(_frame(entry, sample_settings).drop(columns="geometry",
                                                              errors="ignore"))
    tcol, key = family.time_field, family.key
    times = pd.to_datetime(frame[tcol], utc=True)
    station = frame[key].iloc[0]
    start, end = times.sort_values().iloc[[len(times) // 4, len(times) // 2]]
    interval = f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{end.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    doc = _items(live_server, entry.id, **{key: station}, datetime=interval,
                 sortby=tcol, limit=10000)
    mask = (frame[key] == station) & (times >= start) & (times <= end)
    assert doc["numberMatched"] == int(mask.sum()) > 0
    got = [f["properties"][tcol] for f in doc["features"]]
    assert got == sorted(got)
    assert all(f["geometry"] is None for f in doc["features"])


def test_item_and_not_found(live_server: str, feature_entries: list[Entry]) -> None:
    entry = feature_entries[0]
    first = _items(live_server, entry.id, limit=1)["features"][0]
    r = HTTP.get(f"{live_server}/ogc/collections/{entry.id}/items/{first['id']}?f=json",
                 timeout=30)
    assert r.status_code == 200 and r.json()["id"] == first["id"]
    for path in (f"collections/{entry.id}/items/no-such-item", "collections/no_such_layer",
                 "collections/no_such_layer/items"):
        r = HTTP.get(f"{live_server}/ogc/{path}?f=json", timeout=30)
        assert r.status_code == 404, path
        assert r.json()["code"] == "NotFound"


def test_html_renders(live_server: str, feature_entries: list[Entry]) -> None:
    entry = feature_entries[0]
    first = _items(live_server, entry.id, limit=1)["features"][0]
    for path in ("", "collections", f"collections/{entry.id}", f"collections/{entry.id}/items",
                 f"collections/{entry.id}/items/{first['id']}", "conformance"):
        r = HTTP.get(f"{live_server}/ogc/{path}", params={"f": "html"}, timeout=30)
        assert r.status_code == 200, path
        assert "text/html" in r.headers["content-type"]
    landing = HTTP.get(f"{live_server}/ogc/?f=json", timeout=30).json()
    assert landing["title"] and all(lk["href"].startswith(live_server)
                                    for lk in landing["links"] if lk["href"].startswith("http")
                                    and lk["rel"] not in ("license",))


def test_api_catalog(live_server: str, entries: dict[str, Entry]) -> None:
    doc = HTTP.get(f"{live_server}/api/catalog", timeout=30).json()
    by_id = {d["id"]: d for d in doc["datasets"]}
    assert set(by_id) == set(entries)
    for e in entries.values():
        d = by_id[e.id]
        assert (d["kind"], d["access"], d["feature_count"]) == (e.kind, e.access, e.feature_count)
        for link in d["links"]:
            assert link["href"].startswith(live_server)
            assert HTTP.get(link["href"], timeout=60).status_code == 200, link


def test_web_app_does_not_shadow_endpoints(live_server: str) -> None:
    """The web app is mounted last at "/": /ogc, /raster and /api still answer as JSON."""
    root = HTTP.get(f"{live_server}/", timeout=30)
    assert root.status_code == 200
    assert HTTP.get(f"{live_server}/ogc/?f=json", timeout=30).json()["links"]
    r = HTTP.get(f"{live_server}/api/no-such-endpoint", timeout=30)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    r = HTTP.get(f"{live_server}/raster/no_such_raster/info", timeout=30)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"


# -- client mistakes pygeoapi answered with a 500 (found by schemathesis) -------------------

@pytest.mark.parametrize(("where", "value"), [
    (where, value) for where in ("lang", "Accept-Language")
    for value in ("zh", "zh-TW", "zh_Hant", "de", "ja", "*", "null", "", "en-GB;q=0.8, de")])
@pytest.mark.parametrize("path", ["", "collections", "collections/{cid}",
                                  "collections/{cid}/items", "collections/{cid}/queryables",
                                  "collections/{cid}/schema", "processes", "conformance"])
def test_any_language_falls_back_never_500(live_server: str, feature_entries: list[Entry],
                                           where: str, value: str, path: str) -> None:
    """babel cannot build every tag pygeoapi derives (``zh`` with territory CN, any language
    we lack): the gate hands pygeoapi a language it serves, or none (its default)."""
    cid = feature_entries[0].id
    url = f"{live_server}/ogc/{path.format(cid=cid)}"
    params, headers = {"f": "json"}, {}
    if where == "lang":
        params["lang"] = value
    else:
        headers["Accept-Language"] = value
    r = HTTP.get(url, params=params, headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    r.json()


def test_language_choice_is_kept(live_server: str, feature_entries: list[Entry]) -> None:
    entry = next(e for e in feature_entries if e.title_en and e.title_en != e.title)
    url = f"{live_server}/ogc/collections/{entry.id}?f=json"
    for value, title in (("en", entry.title_en), ("en-GB", entry.title_en),
                         ("zh-TW", entry.title), ("de", entry.title)):
        assert HTTP.get(url, params={"lang": value}, timeout=30).json()["title"] == title
        assert HTTP.get(url, headers={"Accept-Language": value},
                        timeout=30).json()["title"] == title


@pytest.mark.parametrize(("params", "words"), [
    ({"sortby": ""}, "sortby"), ({"sortby": ",,,"}, "sortby"), ({"sortby": "-"}, "sortby"),
    ({"sortby": "no_such_property"}, "no_such_property"),
    ({"bbox": "nan,31,118,32"}, "finite"), ({"bbox": "116,31,inf,32"}, "finite"),
    ({"offset": "99999999999999999999"}, "offset"), ({"limit": "99999999999999999999"}, "limit"),
])
def test_items_parameters_are_400_in_words(live_server: str, feature_entries: list[Entry],
                                           params: dict, words: str) -> None:
    r = HTTP.get(f"{live_server}/ogc/collections/{feature_entries[0].id}/items",
                 params={"f": "json", **params}, timeout=30)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and words in body["description"], body


def test_offset_past_the_end_is_an_empty_page(live_server: str,
                                               feature_entries: list[Entry]) -> None:
    entry = feature_entries[0]
    doc = _items(live_server, entry.id, offset=10 ** 15)
    assert doc["features"] == [] and doc["numberMatched"] == entry.feature_count


@pytest.mark.parametrize("item", ["%00", "a%00b", "99999999999999999999999", "-1e400"])
def test_odd_item_ids_are_404(live_server: str, feature_entries: list[Entry],
                              item: str) -> None:
    for entry in feature_entries[:3]:
        r = HTTP.get(f"{live_server}/ogc/collections/{entry.id}/items/{item}?f=json",
                     timeout=30)
        assert r.status_code == 404, (entry.id, r.text)
        assert r.json()["code"] == "NotFound"


def test_items_options_and_post(live_server: str, feature_entries: list[Entry]) -> None:
    url = f"{live_server}/ogc/collections/{feature_entries[0].id}/items"
    assert HTTP.options(url, timeout=30).status_code < 500
    r = HTTP.post(url, timeout=30)  # no content type: pygeoapi returned no response
    assert r.status_code == 400 and "Content-Type" in r.json()["description"], r.text
    r = HTTP.post(url, data="{}", headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400, r.text
