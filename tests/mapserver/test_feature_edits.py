"""OGC API Features Part 4 on the real server: incidents created, replaced, patched and
deleted over HTTP (and with OWSLib as a client), seen at once by items, bbox queries and the
catalogue; who may (roles, regions), what is refused (4xx naming the field), read-only
collections (405), the conformance declaration and the audit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest
import requests
import shapely

from onemap import catalog
from onemap.access import accounts, audit
from onemap.config import Settings
from tests.conftest import STORES, Caller
from tests.postgres import postgis_server
from tests.server import run_server, sample_copy

pytestmark = pytest.mark.server

GEOJSON = {"Content-Type": "application/geo+json"}
PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"


@dataclass(frozen=True)
class Editing:
    """A server of its own on a copy of the sample (edits must not change what other tests
    read), with a commander bound to county 340181 and a point inside it and outside it."""

    base: str
    settings: Settings
    commander_a: Caller
    inside_a: tuple[float, float]
    outside_a: tuple[float, float]

    @property
    def items(self) -> str:
        return f"{self.base}/ogc/collections/incidents/items"


def _point_in(data: Path, adcode: str) -> tuple[float, float]:
    frame = pyogrio.read_dataframe(data / "store" / "admin_boundaries.gpkg",
                                   where=f"adcode = '{adcode}'")
    point = shapely.union_all(frame.geometry.values).representative_point()
    return round(point.x, 6), round(point.y, 6)


@pytest.fixture(scope="module", params=STORES)
def editing(request: pytest.FixtureRequest, sample_settings: Settings,
            callers: dict[str, Caller], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Editing]:
    """Once on the GeoPackage, once with PostGIS serving the incidents (each edit followed
    there)."""
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("edits"))
    settings = Settings(data_dir=data)
    if accounts.get(settings, "commander_a") is None:  # another module may have made it
        accounts.add(settings, "commander_a", roles=["commander"], region="340181")
    _, key = accounts.create_key(settings, "commander_a", "tests")
    who = Caller("commander_a", key, ("commander",), "340181")
    places = _point_in(data, "340181"), _point_in(data, "340124")
    if request.param == "postgis":
        with postgis_server(data, settings.system_db_url) as pg:
            yield Editing(pg.base, pg.settings, who, *places)
        return
    with run_server(data) as base:
        yield Editing(base, settings, who, *places)


def _incident(lon: float, lat: float, **props: object) -> dict:
    base = {"title": "巢湖市某化工厂废水外溢", "time": "2026-12-03T09:30:00+08:00",
            "type": "水污染", "level": "较大", "status": "reported"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {**base, **props}}


def _create(ed: Editing, who: Caller, feature: dict) -> requests.Response:
    return requests.post(ed.items, json=feature, headers={**who.headers, **GEOJSON},
                         timeout=60)


def _bbox_ids(ed: Editing, who: Caller, lon: float, lat: float) -> list[str]:
    box = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    got = requests.get(ed.items, params={"f": "json", "bbox": box, "limit": 100},
                       headers=who.headers, timeout=60)
    assert got.status_code == 200, got.text
    return [f["id"] for f in got.json()["features"]]


def _count(ed: Editing, who: Caller) -> int:
    got = requests.get(ed.items, params={"f": "json", "limit": 1}, headers=who.headers,
                       timeout=60)
    return got.json()["numberMatched"]


def test_conformance_declares_part4(editing: Editing) -> None:
    classes = requests.get(f"{editing.base}/ogc/conformance", params={"f": "json"},
                           timeout=60).json()["conformsTo"]
    for name in ("create-replace-delete", "update", "features"):
        assert PART4 + name in classes


def test_create_replace_patch_delete(editing: Editing, callers: dict[str, Caller]) -> None:
    ed, who = editing, callers["commander"]
    before = _count(ed, who)
    lon, lat = ed.inside_a
    made = _create(ed, who, _incident(lon, lat))
    assert made.status_code == 201, made.text
    key = made.json()["id"]
    assert re.fullmatch(r"SJ2026\d{4}", key)
    assert made.headers["Location"] == f"{ed.items}/{key}"
    stored = made.json()["properties"]
    assert (stored["type"], stored["level"], stored["status"]) == ("water", "III", "reported")
    assert stored["time"] == "2026-12-03T01:30:00Z"  # Beijing time, stored in UTC
    assert _count(ed, who) == before + 1
    assert key in _bbox_ids(ed, who, lon, lat)
    entry = catalog.get("incidents", ed.settings)
    assert entry.feature_count == before + 1
    assert entry.bbox[0] <= lon <= entry.bbox[2] and entry.bbox[1] <= lat <= entry.bbox[3]
    assert entry.time_extent[1] == "2026-12-03T09:30:00+08:00"

    moved = (lon + 0.01, lat + 0.01)
    put = requests.put(f"{ed.items}/{key}", headers={**who.headers, **GEOJSON}, timeout=60,
                       json=_incident(*moved, title="更正位置", status="responding"))
    assert put.status_code == 200, put.text
    assert put.json()["properties"]["title"] == "更正位置"
    assert key not in _bbox_ids(ed, who, lon, lat)  # the R-tree moved with the point
    assert key in _bbox_ids(ed, who, *moved)

    patch = requests.patch(f"{ed.items}/{key}", json={"properties": {"status": "已结束"}},
                           headers={**who.headers,
                                    "Content-Type": "application/merge-patch+json"},
                           timeout=60)
    assert patch.status_code == 200, patch.text
    now = requests.get(f"{ed.items}/{key}", params={"f": "json"}, headers=who.headers,
                       timeout=60).json()
    assert now["properties"]["status"] == "closed"
    assert now["properties"]["title"] == "更正位置"  # untouched by the patch
    assert now["geometry"]["coordinates"] == list(moved)

    gone = requests.delete(f"{ed.items}/{key}", headers=who.headers, timeout=60)
    assert gone.status_code == 204, gone.text
    assert requests.get(f"{ed.items}/{key}", params={"f": "json"}, headers=who.headers,
                        timeout=60).status_code == 404
    assert key not in _bbox_ids(ed, who, *moved)
    assert _count(ed, who) == before
    assert catalog.get("incidents", ed.settings).feature_count == before
    # GDAL reads the file as a GeoPackage whose spatial index holds every row, once
    path = catalog.get("incidents", ed.settings).file(ed.settings)
    everything = pyogrio.read_dataframe(path, layer="incidents")
    boxed = pyogrio.read_dataframe(path, layer="incidents", bbox=tuple(everything.total_bounds))
    assert len(boxed) == len(everything) == before


def test_writes_are_audited(editing: Editing, callers: dict[str, Caller]) -> None:
    made = _create(editing, callers["manager"], _incident(*editing.inside_a, title="审计"))
    assert made.status_code == 201, made.text
    key = made.json()["id"]
    assert requests.patch(f"{editing.items}/{key}", json={"properties": {"level": "I"}},
                          headers=callers["manager"].headers, timeout=60).status_code == 200
    assert requests.delete(f"{editing.items}/{key}", headers=callers["manager"].headers,
                           timeout=60).status_code == 204
    records = audit.query(editing.settings, user="manager", limit=20)
    seen = {(r["action"], r["target"], r["status"]) for r in records}
    assert ("feature_create", f"incidents/{key}", 201) in seen
    assert ("feature_update", f"incidents/{key}", 200) in seen
    assert ("feature_delete", f"incidents/{key}", 204) in seen
    update = next(r for r in records if r["action"] == "feature_update")
    assert json.loads(update["detail"])["properties"] == ["level"]


def test_who_may_edit(editing: Editing, callers: dict[str, Caller]) -> None:
    ed = editing
    feature = _incident(*ed.inside_a)
    # incidents are internal: hidden from anonymous callers, as an unknown collection
    anon = requests.post(ed.items, json=feature, headers=GEOJSON, timeout=60)
    assert anon.status_code == 404, anon.text
    # on a public collection anonymous is asked to log in, before anything else is said
    public = requests.put(f"{ed.base}/ogc/collections/rivers/items/x", json=feature,
                          headers=GEOJSON, timeout=60)
    assert public.status_code == 401 and "WWW-Authenticate" in public.headers, public.text
    viewer = _create(ed, callers["viewer"], feature)
    assert viewer.status_code == 403 and viewer.json()["code"] == "Forbidden", viewer.text
    analyst = requests.delete(f"{ed.items}/SJ20250001", headers=callers["analyst"].headers,
                              timeout=60)
    assert analyst.status_code == 403, analyst.text


def test_region_bound_commander(editing: Editing, callers: dict[str, Caller]) -> None:
    ed, who = editing, editing.commander_a
    inside = _create(ed, who, _incident(*ed.inside_a))
    assert inside.status_code == 201, inside.text
    key = inside.json()["id"]
    outside = _create(ed, who, _incident(*ed.outside_a))
    assert outside.status_code == 403 and "340181" in outside.json()["detail"], outside.text
    moved = requests.put(f"{ed.items}/{key}", json=_incident(*ed.outside_a),
                         headers={**who.headers, **GEOJSON}, timeout=60)
    assert moved.status_code == 403, moved.text
    # an incident outside the county is one this commander cannot see: 404, as unknown
    other = _create(ed, callers["commander"], _incident(*ed.outside_a, title="庐江县事件"))
    assert other.status_code == 201, other.text
    theirs = other.json()["id"]
    for method in ("PATCH", "DELETE"):
        got = requests.request(method, f"{ed.items}/{theirs}", headers=who.headers,
                               json={"properties": {"status": "closed"}}, timeout=60)
        assert got.status_code == 404, (method, got.text)
    assert requests.delete(f"{ed.items}/{key}", headers=who.headers,
                           timeout=60).status_code == 204
    assert requests.delete(f"{ed.items}/{theirs}", headers=callers["commander"].headers,
                           timeout=60).status_code == 204


@pytest.mark.parametrize(("change", "status", "named"), [
    ({"properties": {"type": "flood"}}, 422, "type"),
    ({"properties": {"level": "V"}}, 422, "level"),
    ({"properties": {"status": None}}, 422, "status"),
    ({"properties": {"time": "yesterday"}}, 422, "time"),
    ({"properties": {"colour": "red"}}, 422, "colour"),
    ({"geometry": {"type": "LineString", "coordinates": [[117.3, 31.6], [117.4, 31.7]]}},
     422, "geometry"),
    ({"geometry": {"type": "Point", "coordinates": [31.6, 117.3]}}, 422, "geometry"),
    ({"geometry": None}, 422, "geometry"),
    ({"type": "FeatureCollection"}, 400, "Feature"),
    ({"properties": {"incident_id": "SJ20250001"}}, 409, "SJ20250001"),
])
def test_bad_features_are_refused(editing: Editing, callers: dict[str, Caller],
                                  change: dict, status: int, named: str) -> None:
    feature = _incident(*editing.inside_a)
    for part, value in change.items():
        if part == "properties":
            feature["properties"] = {k: v for k, v in {**feature["properties"], **value}.items()
                                     if v is not None}
        else:
            feature[part] = value
    got = _create(editing, callers["commander"], feature)
    assert got.status_code == status, got.text
    body = got.json()
    assert set(body) == {"code", "detail"} and named in body["detail"], body


def test_not_json_is_400(editing: Editing, callers: dict[str, Caller]) -> None:
    for body in (b"{not json", b"\xff\xfe", b"[]"):
        got = requests.post(editing.items, data=body, timeout=60,
                            headers={**callers["commander"].headers, **GEOJSON})
        assert got.status_code == 400 and got.json()["code"], got.text


def test_read_only_collections_answer_405(editing: Editing, callers: dict[str, Caller]
                                          ) -> None:
    who = callers["commander"]
    rivers = f"{editing.base}/ogc/collections/rivers/items"
    feature = _incident(*editing.inside_a)
    for method, url, allow in (("POST", rivers, "POST"), ("PUT", f"{rivers}/1", "GET"),
                               ("PATCH", f"{rivers}/1", "GET"),
                               ("DELETE", f"{rivers}/1", "GET")):
        got = requests.request(method, url, json=feature, timeout=60,
                               headers={**who.headers, **GEOJSON})
        assert got.status_code == 405, (method, got.text)
        assert got.json()["code"] == "MethodNotAllowed" and "rivers" in got.json()["detail"]
        assert allow in got.headers["Allow"]


def test_openapi_describes_the_edits(editing: Editing, callers: dict[str, Caller]) -> None:
    doc = requests.get(f"{editing.base}/ogc/openapi", params={"f": "json"},
                       headers=callers["commander"].headers, timeout=60).json()
    items = doc["paths"]["/collections/incidents/items"]
    item = doc["paths"]["/collections/incidents/items/{featureId}"]
    assert "201" in items["post"]["responses"] and "422" in items["post"]["responses"]
    assert {"put", "patch", "delete"} <= set(item)
    assert not {"post", "put", "patch", "delete"} & set(
        doc["paths"]["/collections/rivers/items/{featureId}"])


def test_owslib_edits_incidents(editing: Editing, callers: dict[str, Caller]) -> None:
    """OWSLib's OGC API Features client (create, update, delete) as a real client."""
    from owslib.ogcapi.features import Features

    client = Features(f"{editing.base}/ogc", headers=callers["commander"].headers)
    assert client.collection_item_create("incidents", _incident(*editing.inside_a,
                                                                title="OWSLib 上报"))
    key = client.response_headers["Location"].rsplit("/", 1)[1]
    feature = _incident(*editing.inside_a, title="OWSLib 上报", status="responding")
    feature["properties"]["incident_id"] = key
    assert client.collection_item_update("incidents", key, feature)
    assert client.collection_item("incidents", key)["properties"]["status"] == "responding"
    assert client.collection_item_delete("incidents", key)
    with pytest.raises(RuntimeError):
        client.collection_item("incidents", key)


def test_reports_at_once_get_distinct_keys(editing: Editing, callers: dict[str, Caller]
                                           ) -> None:
    """Eight commanders report at the same moment while others read the layer: eight
    incidents, eight keys, none lost, and every read answered (never a half-written file)."""
    from concurrent.futures import ThreadPoolExecutor

    who = callers["commander"]
    before = _count(editing, who)
    lon, lat = editing.inside_a

    def read(_: int) -> int:
        return requests.get(editing.items, params={"f": "json", "limit": 50},
                            headers=callers["viewer"].headers, timeout=60).status_code

    with ThreadPoolExecutor(12) as pool:
        creating, reading = [], []
        for i in range(8):  # interleaved: reads run while the reports are written
            creating.append(pool.submit(_create, editing, who, _incident(
                lon + i * 0.001, lat, title=f"同时上报 {i}")))
            reading += [pool.submit(read, j) for j in range(3)]
        made = [f.result() for f in creating]
        assert {f.result() for f in reading} == {200}
    assert [m.status_code for m in made] == [201] * 8, [m.text for m in made]
    keys = {m.json()["id"] for m in made}
    assert len(keys) == 8
    assert _count(editing, who) == before + 8
    assert catalog.get("incidents", editing.settings).feature_count == before + 8
    for key in keys:
        assert requests.delete(f"{editing.items}/{key}", headers=who.headers,
                               timeout=60).status_code == 204


def test_features_are_written_in_crs84(editing: Editing, callers: dict[str, Caller]) -> None:
    got = requests.post(editing.items, json=_incident(*editing.inside_a), timeout=60,
                        headers={**callers["commander"].headers, **GEOJSON,
                                 "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4490>"})
    assert got.status_code == 400 and "CRS84" in got.json()["detail"], got.text


def test_versions_change_with_an_edit_and_only_for_its_dataset(
        editing: Editing, callers: dict[str, Caller]) -> None:
    """/api/versions: one tag per dataset the caller may see (an anonymous caller is not told of
    internal ones); an edit changes its dataset's tag and no other."""
    def versions(who: Caller | None) -> dict[str, str]:
        got = requests.get(f"{editing.base}/api/versions",
                           headers=who.headers if who else {}, timeout=60)
        assert got.status_code == 200, got.text
        return got.json()["versions"]

    who = callers["commander"]
    before = versions(who)
    assert {"incidents", "rivers", "air_hourly", "pm25_hourly"} <= set(before)
    anonymous = versions(None)
    assert "rivers" in anonymous and "incidents" not in anonymous  # internal: not even named
    assert versions(who) == before  # reading changes nothing
    lon, lat = editing.inside_a
    made = _create(editing, who, _incident(lon, lat, title="版本测试"))
    assert made.status_code == 201, made.text
    after = versions(who)
    assert after["incidents"] != before["incidents"]
    assert {k: v for k, v in after.items() if k != "incidents"} == \
        {k: v for k, v in before.items() if k != "incidents"}


def test_postgis_follows_each_edit(editing: Editing, callers: dict[str, Caller]) -> None:
    if not editing.settings.database_url:
        pytest.skip("the GeoPackage server: no PostGIS to follow")
    import psycopg

    from onemap.store import pg_load

    made = _create(editing, callers["commander"], _incident(*editing.inside_a, title="跟随"))
    assert made.status_code == 201, made.text
    key = made.json()["id"]

    def in_postgis() -> list[tuple]:
        with psycopg.connect(editing.settings.database_url) as conn:
            return conn.execute("SELECT title, ST_X(geom) FROM layers.incidents "
                                "WHERE incident_id = %s", [key]).fetchall()

    entry = catalog.get("incidents", editing.settings)
    assert pg_load.is_current(entry, editing.settings)  # followed: nothing to reload
    assert in_postgis() == [("跟随", editing.inside_a[0])]
    patched = requests.patch(f"{editing.items}/{key}", json={"properties": {"title": "改"}},
                             headers={**callers["commander"].headers,
                                      "Content-Type": "application/merge-patch+json"},
                             timeout=60)
    assert patched.status_code == 200, patched.text
    assert in_postgis() == [("改", editing.inside_a[0])]
    gone = requests.delete(f"{editing.items}/{key}", headers=callers["commander"].headers,
                           timeout=60)
    assert gone.status_code == 204 and in_postgis() == []
    assert pg_load.is_current(catalog.get("incidents", editing.settings), editing.settings)
