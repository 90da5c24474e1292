"""OGC API Features Part 2 (CRS) and the description of collections, against the real server:
raw HTTP for the parameters, headers, axis order and refusals; GDAL 3.12 (the venv's pyogrio)
reading in EPSG:4490 as a GIS client does; GDAL 3.6's ogrinfo still reading what it did."""

from __future__ import annotations

import subprocess

import pyogrio
import pyproj
import pytest
import requests

from onemap.catalog import Entry
from tests.conftest import Caller


@pytest.fixture(scope="module")
def live_server(store_server: str) -> str:
    """Every test here is asked of the GeoPackage server and of the PostGIS one."""
    return store_server


pytestmark = pytest.mark.server
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
LAYER = "air_stations"  # public points
TABLE = "air_hourly"  # public attribute table


def _get(base: str, path: str, caller: Caller | None = None, **params: object
         ) -> requests.Response:
    return requests.get(f"{base}/ogc/{path}", params={"f": "json", **params}, timeout=60,
                        headers=caller.headers if caller else None)


def _coords(doc: dict) -> dict[object, tuple[float, float]]:
    return {f["id"]: tuple(f["geometry"]["coordinates"]) for f in doc["features"]}


def test_geometry_collections_declare_their_crs(live_server: str,
                                                feature_entries: list[Entry]) -> None:
    doc = _get(live_server, "collections").json()
    kinds = {e.id: e.kind for e in feature_entries}
    for coll in doc["collections"]:
        if kinds.get(coll["id"]) == "vector":
            assert coll["storageCrs"] == CRS84, coll["id"]  # stored lon/lat, not EPSG:4326
            assert coll["crs"][0] == CRS84
            assert {f"{EPSG}4326", f"{EPSG}4490", f"{EPSG}3857"} <= set(coll["crs"])
    conformance = _get(live_server, "conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance
    # declared by pygeoapi, not served here (no callbacks to a client's URL)
    assert not any(c.endswith("/conf/callback") for c in conformance)


@pytest.mark.parametrize("crs", [CRS84, f"{EPSG}4326", f"{EPSG}4490", f"{EPSG}3857"])
def test_items_in_each_crs(live_server: str, crs: str) -> None:
    """Content-Crs names the CRS; 4326/4490 answer latitude first, 3857 metres, every
    feature the CRS84 one transformed."""
    plain = _get(live_server, f"collections/{LAYER}/items", limit=100)
    asked = _get(live_server, f"collections/{LAYER}/items", limit=100, crs=crs)
    assert asked.status_code == 200, asked.text
    assert asked.headers["Content-Crs"] == f"<{crs}>"
    lonlat, got = _coords(plain.json()), _coords(asked.json())
    assert lonlat.keys() == got.keys() and lonlat
    to = pyproj.Transformer.from_crs("OGC:CRS84", crs.replace(EPSG, "EPSG:"), always_xy=False) \
        if crs != CRS84 else None
    for key, (lon, lat) in lonlat.items():
        expected = (lon, lat) if to is None else to.transform(lon, lat)
        assert got[key] == pytest.approx(expected, abs=1e-6), key
    first = next(iter(got.values()))
    if crs in (f"{EPSG}4326", f"{EPSG}4490"):
        assert 29 < first[0] < 34 and 115 < first[1] < 119  # Anhui: lat, lon
    elif crs.endswith("3857"):
        assert 1.2e7 < first[0] < 1.4e7 and 3e6 < first[1] < 4.5e6  # metres


def test_one_item_in_4490(live_server: str) -> None:
    one = _get(live_server, f"collections/{LAYER}/items", limit=1).json()["features"][0]
    r = _get(live_server, f"collections/{LAYER}/items/{one['id']}", crs=f"{EPSG}4490")
    assert r.status_code == 200 and r.headers["Content-Crs"] == f"<{EPSG}4490>"
    lon, lat = one["geometry"]["coordinates"]
    assert r.json()["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-9)


@pytest.mark.parametrize("bbox_crs", [CRS84, f"{EPSG}4490", f"{EPSG}4326", f"{EPSG}3857"])
def test_bbox_crs(live_server: str, bbox_crs: str) -> None:
    """The same place in each CRS (4326/4490 latitude first) selects the same stations as
    the CRS84 bbox."""
    expected = _coords(_get(live_server, f"collections/{LAYER}/items", limit=1000,
                            bbox="117.2,31.8,117.3,31.9").json())
    to = pyproj.Transformer.from_crs("OGC:CRS84", bbox_crs.replace(EPSG, "EPSG:"),
                                     always_xy=False)
    low, high = to.transform(117.2, 31.8), to.transform(117.3, 31.9)
    bbox = ",".join(str(v) for v in (*low, *high))
    if bbox_crs.endswith(("4490", "4326")):
        assert bbox == "31.8,117.2,31.9,117.3"
    got = _get(live_server, f"collections/{LAYER}/items", limit=1000, bbox=bbox,
               **{"bbox-crs": bbox_crs})
    assert got.status_code == 200, got.text
    assert expected and _coords(got.json()).keys() == expected.keys()


@pytest.mark.parametrize("params,named", [
    ({"crs": "EPSG:4490"}, "crs"),
    ({"crs": f"{EPSG}4214"}, "crs"),
    ({"crs": "urn:ogc:def:crs:EPSG::4490"}, "crs"),
    ({"bbox": "1,2,3,4", "bbox-crs": f"{EPSG}32650"}, "bbox-crs"),
    ({"bbox-crs": f"{EPSG}4490"}, "bbox"),
])
def test_wrong_crs_is_a_400_naming_it(live_server: str, params: dict, named: str) -> None:
    for path in (f"collections/{LAYER}/items", f"collections/{TABLE}/items"):
        r = _get(live_server, path, **params)
        assert r.status_code == 400, (path, r.text)
        body = r.json()
        assert body["code"] == "InvalidParameterValue" and named in body["detail"]
    one = _get(live_server, f"collections/{LAYER}/items", limit=1).json()["features"][0]
    r = _get(live_server, f"collections/{LAYER}/items/{one['id']}", crs=f"{EPSG}2000")
    assert r.status_code == 400 and "crs" in r.json()["detail"]


def test_region_cut_applies_in_every_crs(live_server: str, callers: dict[str, Caller],
                                         feature_entries: list[Entry]) -> None:
    """A county-bound viewer gets its county's features of an internal layer, in 4490 too."""
    county = callers["viewer_a"]
    whole = {e.id: e.feature_count for e in feature_entries}
    plain = _get(live_server, "collections/pollution_sources/items", county, limit=10000)
    asked = _get(live_server, "collections/pollution_sources/items", county, limit=10000,
                 crs=f"{EPSG}4490")
    assert asked.status_code == 200, asked.text
    ids = set(_coords(asked.json()))
    assert ids == set(_coords(plain.json()))
    assert 0 < len(ids) == asked.json()["numberMatched"] < whole["pollution_sources"]


def test_gdal_reads_in_4490(live_server: str) -> None:
    """GDAL 3.12 (pyogrio), asked for EPSG:4490, requests it (crs=, lat/lon on the wire) and
    ends with the CRS84 features, coordinates in its own lon/lat order; a bbox too."""
    url = f"OAPIF:{live_server}/ogc/collections/{LAYER}"
    plain = pyogrio.read_dataframe(url).set_index("station_id")
    cgcs = pyogrio.read_dataframe(url, CRS="EPSG:4490").set_index("station_id")
    assert cgcs.crs.to_epsg() == 4490 and plain.crs.to_epsg() != 4490
    assert sorted(cgcs.index) == sorted(plain.index) and len(plain) > 10
    for key, geom in plain.geometry.items():
        assert cgcs.geometry[key].equals_exact(geom, 1e-9), key
    box = (117.2, 31.8, 117.3, 31.9)
    near = pyogrio.read_dataframe(url, CRS="EPSG:4490", bbox=box)
    assert 0 < len(near) == len(pyogrio.read_dataframe(url, bbox=box)) < len(plain)


@pytest.mark.parametrize("cid", [LAYER, TABLE])
def test_gdal36_ogrinfo_still_reads(live_server: str, cid: str,
                                    feature_entries: list[Entry]) -> None:
    count = {e.id: e.feature_count for e in feature_entries}[cid]
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", "-oo", "PAGE_SIZE=1000",
                          f"OAPIF:{live_server}/ogc/collections/{cid}"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert f"Feature Count: {count}" in out


def test_tables_are_described_as_tables(live_server: str,
                                        feature_entries: list[Entry]) -> None:
    """No whole-world bbox, no CRS list, no geometry in schema or queryables for an
    attribute table; a layer's geometry named by its type (Part 5)."""
    tables = [e for e in feature_entries if e.kind == "table"]
    assert {"air_hourly", "water_samples"} <= {e.id for e in tables}
    listed = {c["id"]: c for c in _get(live_server, "collections").json()["collections"]}
    for entry in tables:
        for coll in (listed[entry.id], _get(live_server, f"collections/{entry.id}").json()):
            assert "spatial" not in (coll.get("extent") or {}), entry.id
            assert "crs" not in coll and "storageCrs" not in coll, entry.id
            assert coll["extent"]["temporal"]["interval"][0][0]  # its time span stays
        for what in ("schema", "queryables"):
            props = _get(live_server, f"collections/{entry.id}/{what}").json()["properties"]
            assert "geometry" not in props and "time" in props and "fid" in props
    formats = {"air_stations": "geometry-point", "rivers": "geometry-multilinestring",
               "admin_boundaries": "geometry-multipolygon"}
    for cid, fmt in formats.items():
        for what in ("schema", "queryables"):
            props = _get(live_server, f"collections/{cid}/{what}").json()["properties"]
            assert props["geometry"]["format"] == fmt
        assert listed[cid]["extent"]["spatial"]["bbox"][0][0] > 100  # a real extent
    paths = _get(live_server, "openapi").json()["paths"]
    crs = {"$ref": "#/components/parameters/crs"}
    assert crs in paths[f"/collections/{LAYER}/items"]["get"]["parameters"]
    for entry in tables:
        items = f"/collections/{entry.id}/items"
        for path in (items, items + "/{featureId}"):
            assert crs not in paths[path]["get"]["parameters"], path
