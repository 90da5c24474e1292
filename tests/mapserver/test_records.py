"""The 数据资源目录 (OGC API Records at /ogc/collections/data-catalog) on a real server, read
with OWSLib's Records client: search by q, bbox, datetime and type; the fields and links of a
vector layer's, a raster series' and the cube's records; records following the catalogue
(an import, a removal, a raster added while the server runs); hostile ``q``; and access (the
``guarded`` server: internal rasters and a cube, an internal step of the public NDVI series).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from owslib.ogcapi.records import Records
from owslib.util import Authentication

from onemap import catalog
from onemap.layers.store import read_layer
from tests.conftest import Caller, Guarded

pytestmark = pytest.mark.server

CAT = "data-catalog"
#: Links whose routes are not plain GETs to check here (none since all of issue 14's exist).
PENDING: tuple[str, ...] = ()


def _client(g: Guarded, who: Caller | None = None) -> Records:
    # basic auth with the API key: OWSLib merges ``headers`` into a module-level dict, which
    # would carry one caller's token into every later client
    auth = Authentication(*who.auth) if who else None
    return Records(f"{g.base}/ogc", auth=auth, timeout=60)


def _ids(g: Guarded, who: Caller | None = None, **query: object) -> set[str]:
    found = _client(g, who).collection_items(CAT, limit=500, **query)
    assert found["numberMatched"] == len(found["features"]), found
    return {f["id"] for f in found["features"]}


def _get(g: Guarded, path: str, who: Caller | None = None, **params: object
         ) -> requests.Response:
    return requests.get(f"{g.base}/ogc/collections/{CAT}{path}", params=params, timeout=60,
                        headers=who.headers if who else {})


def test_owslib_finds_the_catalogue_and_searches_it(guarded: Guarded) -> None:
    client = _client(guarded)
    assert CAT in client.records()
    everything = _ids(guarded)
    assert {"rivers", "air_hourly", "ndvi", "gf1_wfv", "pm25_hourly"} <= everything
    # q: case-folded substrings of the Chinese and English texts; comma = any, space = all
    assert _ids(guarded, q="植被") == {"ndvi"} == _ids(guarded, q="VEGETATION index")
    assert _ids(guarded, q="空气质量") == {"air_stations", "air_hourly"}
    assert _ids(guarded, q="air quality hourly") == {"air_hourly"}
    assert _ids(guarded, q="河流,gf-1") == {"rivers", "gf1_wfv"}
    assert _ids(guarded, q="no such words anywhere") == set()
    # bbox: records whose box intersects; the tables have no geometry and never match
    inside = _ids(guarded, bbox=[117.4, 31.5, 117.45, 31.55])
    assert {"admin_boundaries", "ndvi", "pm25_hourly"} <= inside
    assert not inside & {"air_hourly", "water_samples"}
    assert _ids(guarded, bbox=[10, 10, 11, 11]) == set()
    # datetime: the resource's temporal extent overlaps (not the record's update time)
    haze = _ids(guarded, datetime_="2025-01-22T00:00:00Z/2025-01-22T06:00:00Z")
    assert {"pm25_hourly", "air_hourly", "water_samples", "ndvi"} <= haze
    assert not haze & {"gf1_wfv", "rivers"}
    assert _ids(guarded, datetime_="2025-07-20") >= {"gf1_wfv"}
    assert "pm25_hourly" not in _ids(guarded, datetime_="2025-07-20")
    assert _ids(guarded, datetime_="2030-01-01/..") == set()
    # type, and several types at once
    assert _ids(guarded, type="cube") == {"pm25_hourly"}
    assert _ids(guarded, type="raster-series") == {"ndvi", "gf1_wfv"}
    assert _ids(guarded, type="table,cube") == {"air_hourly", "water_samples", "pm25_hourly"}
    assert _ids(guarded, q="植被", type="vector") == set()


def test_sorting_paging_and_the_declared_classes(guarded: Guarded) -> None:
    conf = requests.get(f"{guarded.base}/ogc/conformance?f=json", timeout=30).json()
    records = {c.rsplit("/", 1)[1] for c in conf["conformsTo"] if "ogcapi-records" in c}
    assert records == {"core", "sorting", "json", "html"}  # no OpenSearch document is served
    sortables = _get(guarded, "/sortables").json()["properties"]
    assert {"type", "title", "updated"} <= set(sortables)
    found = _get(guarded, "/items", f="json", limit=500, sortby="-type,title").json()["features"]
    keys = [(f["properties"]["type"], f["properties"]["title"].casefold()) for f in found]
    for (type_a, title_a), (type_b, title_b) in zip(keys, keys[1:], strict=False):
        assert type_a > type_b or type_a == type_b and title_a <= title_b, keys
    assert len({t for t, _ in keys}) == 4  # the public sample has no raster on its own
    page = _get(guarded, "/items", f="json", limit=3, offset=2, sortby="title").json()
    titles = sorted(f["properties"]["title"] for f in found)
    assert [f["properties"]["title"] for f in page["features"]] == titles[2:5]
    assert page["numberMatched"] == len(found) and page["numberReturned"] == 3
    assert _get(guarded, "/items", f="json", sortby="nonsense").status_code == 400
    assert _get(guarded, "/items", f="json", filter="type='cube'").status_code == 400
    assert _get(guarded, "/items", f="json", ids="rivers,ndvi").json()["numberMatched"] == 2
    html = _get(guarded, "/items", f="html", q="植被")
    assert html.status_code == 200 and "植被指数" in html.content.decode("utf-8")
    assert requests.delete(f"{guarded.base}/ogc/collections/{CAT}/items/rivers",
                           timeout=30).status_code == 405


def _check_links(record: dict) -> list[str]:
    """Every link of ``record`` whose route exists answers 200; the hrefs."""
    hrefs = [lk["href"] for lk in record["links"]]
    for href in hrefs:
        if any(p in href for p in PENDING) or "#" in href:
            continue
        r = requests.get(href, timeout=120, stream=True)
        assert r.status_code == 200, (href, r.status_code, r.text[:300])
        r.close()
    return hrefs


def test_a_vector_layers_record(guarded: Guarded) -> None:
    rec = _client(guarded).collection_item(CAT, "rivers")
    p = rec["properties"]
    assert p["type"] == "vector" and p["title"] == "河流水系"
    zh = p["zh"]
    assert zh["资源名称"] == "河流水系" and zh["提供单位"] == "OneMap"
    assert zh["共享属性"] == "无条件共享" and zh["开放属性"] == "无条件开放"
    assert zh["更新周期"] == "不定期" and "联系方式" in zh and "摘要" in zh
    assert zh["空间范围"] == catalog.get("rivers", guarded.settings).bbox
    assert "name" in zh["信息项"] and zh["时间范围"] is None and rec["time"] is None
    assert rec["geometry"]["type"] == "Polygon"
    assert not any(k.startswith("_") for k in p)
    hrefs = _check_links(rec)
    base = f"{guarded.base}/ogc/collections/rivers"
    assert f"{base}/items?f=json" in hrefs and f"{base}/tiles" in hrefs
    assert any(h.startswith(f"{guarded.base}/wms?") for h in hrefs)
    en = _get(guarded, "/items/rivers", f="json", lang="en").json()["properties"]
    assert en["title"] == "Rivers" and en["sharingType"] == "unconditional"
    assert en["zh"]["资源名称"] == "河流水系"  # the Chinese catalogue fields stay Chinese
    edr = _client(guarded).collection_item(CAT, "air_stations")
    assert f"{guarded.base}/ogc/collections/air_stations/locations" in _check_links(edr)
    table = _client(guarded).collection_item(CAT, "air_hourly")
    assert table["geometry"] is None and table["properties"]["zh"]["更新周期"] == "每小时"


def test_a_raster_series_record(guarded: Guarded, callers: dict[str, Caller]) -> None:
    rec = _client(guarded).collection_item(CAT, "ndvi")
    p = rec["properties"]
    assert p["type"] == "raster-series" and p["title"] == "植被指数 NDVI"
    assert p["zh"]["更新周期"] == "每季度"  # 2024-07, 2025-01, -04, -07, -10
    assert rec["time"]["interval"] == ["2024-07-01T00:00:00Z", "2025-10-31T23:59:59Z"]
    hrefs = _check_links(rec)
    assert f"{guarded.base}/stac/collections/ndvi" in hrefs
    assert f"{guarded.base}/wmts/1.0.0/WMTSCapabilities.xml" in hrefs
    for month in ("2024_07", "2025_10"):
        raster = f"{guarded.base}/raster/ndvi_{month}"
        assert {f"{raster}/WebMercatorQuad/WMTSCapabilities.xml",
                f"{raster}/WorldCRS84Quad/WMTSCapabilities.xml", f"{raster}/cog.tif"} <= set(hrefs)
    # the internal step is neither linked nor counted in the extent for the public …
    assert not any(guarded.member in h for h in hrefs)
    # … and is for a viewer, who sees it
    mine = _client(guarded, callers["viewer"]).collection_item(CAT, "ndvi")
    assert any(guarded.member in lk["href"] for lk in mine["links"])
    assert mine["time"]["interval"][1] == "2026-01-31T23:59:59Z"
    assert "ndvi" in _ids(guarded, callers["viewer"], datetime_="2026-01-15")
    assert "ndvi" not in _ids(guarded, datetime_="2026-01-15")


def test_the_cubes_record(guarded: Guarded) -> None:
    rec = _client(guarded).collection_item(CAT, "pm25_hourly")
    p = rec["properties"]
    assert p["type"] == "cube" and p["zh"]["更新周期"] == "每小时"
    assert p["zh"]["信息项"] == ["pm25"]
    assert rec["time"]["interval"] == ["2025-01-20T16:00:00Z", "2025-01-27T15:00:00Z"]
    hrefs = _check_links(rec)
    cube = f"{guarded.base}/cube/pm25_hourly"
    assert f"{cube}/WebMercatorQuad/WMTSCapabilities.xml" in hrefs
    assert f"{cube}/WebMercatorQuad/tilejson.json" in hrefs
    assert f"{guarded.base}/stac/collections/pm25_hourly" in hrefs


def test_hidden_datasets_have_no_record(guarded: Guarded, callers: dict[str, Caller]) -> None:
    secret = {guarded.alone, guarded.cube}
    internal_layers = {"incidents", "outlets", "pollution_sources", "sensitive_receptors"}
    anon = _ids(guarded)
    assert not anon & (secret | internal_layers)
    county = _ids(guarded, callers["viewer_a"])
    assert not county & secret and internal_layers <= county  # layers cut to the county
    assert secret | internal_layers <= _ids(guarded, callers["viewer"])
    for who in (None, callers["viewer_a"]):
        for rid in secret:
            got, unknown = _get(guarded, f"/items/{rid}", who), \
                _get(guarded, "/items/no_such_record", who)
            assert got.status_code == unknown.status_code == 404
            assert got.json() == unknown.json()
        assert not secret & _ids(guarded, who, q="secret")
    assert _get(guarded, "/items/outlets").status_code == 404
    # the queryables' actual domains are taken from the records the caller sees
    domain = _get(guarded, "/queryables", f="json", profile="actual-domain").json()
    assert domain["properties"]["sharingType"]["enum"] == ["无条件共享"]
    assert "cube" in domain["properties"]["type"]["enum"]
    assert _ids(guarded, q="有条件共享") == set()
    assert _client(guarded).collection_item(CAT, "ndvi")["properties"]["zh"]["共享属性"] == \
        "无条件共享"  # its internal step is hidden: nothing says there is one
    assert "outlets" in _ids(guarded, callers["viewer_a"], sharingType="有条件共享")
    # a county officer's record of an internal layer has the county's extent, not the layer's
    whole = catalog.get("outlets", guarded.settings).bbox
    mine = _get(guarded, "/items/outlets", callers["viewer_a"]).json()["properties"]["bbox"]
    assert mine != whole and whole[0] <= mine[0] <= mine[2] <= whole[2]


def test_records_follow_the_catalogue(guarded: Guarded, tmp_path: Path,
                                      callers: dict[str, Caller]) -> None:
    manager, viewer = callers["manager"], callers["viewer"]
    src = tmp_path / "intakes.geojson"
    src.write_text(read_layer("water_intakes", guarded.settings).to_json(), encoding="utf-8")
    with open(src, "rb") as fh:
        r = requests.post(f"{guarded.base}/api/layers", headers=manager.headers, timeout=120,
                          files={"file": (src.name, fh)},
                          data={"family": "water_intakes", "id": "intakes_records",
                                "title": "取水口目录测试"})
    assert r.status_code == 201, r.text
    try:
        assert _ids(guarded, viewer, q="取水口目录测试") == {"intakes_records"}
        rec = _client(guarded, viewer).collection_item(CAT, "intakes_records")
        assert rec["properties"]["type"] == "vector"
        assert f"{guarded.base}/ogc/collections/intakes_records/items?f=json" in \
            _check_links(rec)
    finally:
        gone = requests.delete(f"{guarded.base}/api/layers/intakes_records",
                               headers=manager.headers, timeout=60)
    assert gone.status_code == 204
    assert _ids(guarded, viewer, q="取水口目录测试") == set()
    assert _get(guarded, "/items/intakes_records", viewer).status_code == 404
    # a raster catalogued while the server runs (as a process keeps its result) is listed
    # at once, without pygeoapi reloading
    scene = catalog.get("gf1_wfv_2025_07_20", guarded.settings)
    catalog.put(scene.model_copy(update={
        "id": "kept_scene", "title": "保留的处理结果", "title_en": "Kept result",
        "extra": {**scene.extra, "collection": "kept_scene"}}), guarded.settings)
    try:
        assert _ids(guarded, q="kept result") == {"kept_scene"}
        assert _client(guarded).collection_item(CAT, "kept_scene")["properties"]["type"] \
            == "raster"
    finally:
        catalog.remove("kept_scene", guarded.settings)
    assert _ids(guarded, q="kept result") == set()


HOSTILE = ['"', "'", "\\", '")', "') or (1==1", '"]; __import__("os").system("id") #',
           ".*", "(a+)+$", "(a|aa)*b" * 20, "[", "*", "%", "\u0000", "{}", "${x}",
           "植被\"", "a" * 300, ("x" * 50 + ",") * 40, " , ,, ", "\ufffd\U0001f600"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_q_is_a_search_or_a_400(guarded: Guarded, q: str) -> None:
    r = _get(guarded, "/items", f="json", q=q)
    assert r.status_code in (200, 400), (q, r.status_code, r.text[:300])
    if r.status_code == 200:
        assert r.json()["numberReturned"] == len(r.json()["features"])
    else:
        assert r.json()["description"]
    for name in ("type", "sharingType"):
        r = _get(guarded, "/items", f="json", **{name: q})
        assert r.status_code in (200, 400) and (r.status_code == 400 or
                                                r.json()["numberMatched"] == 0), (name, q)
