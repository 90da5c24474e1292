"""OGC API Features Part 5 (Schemas), class ``core-roles-features``: the schema of each layer
and table at ``/ogc/collections/{id}/schema`` marks the feature's identifier (``x-ogc-role:
id``), its geometry (``primary-geometry``, a layer only) and its time (``primary-instant``,
where the features have one), each role at most once — and the marked properties are the ones
the items really use (the GeoJSON ``id``, the ``geometry``, the property ``datetime``
filters)."""
from __future__ import annotations

from datetime import datetime

import pytest
import requests

from onemap.catalog import Entry
from tests.conftest import Caller


@pytest.fixture(scope="module")
def live_server(store_server: str) -> str:
    """Every test here is asked of the GeoPackage server and of the PostGIS one."""
    return store_server


#: Part 5's roles of a feature property (Features schemas, "Roles for features").
FEATURE_ROLES = {"id", "primary-geometry", "primary-instant", "primary-interval-start",
                 "primary-interval-end", "secondary-geometry", "reference"}


def _get(base: str, path: str, caller: Caller | None = None, **params: str) -> dict:
    got = requests.get(f"{base}/ogc/{path}", params={"f": "json", **params}, timeout=60,
                       headers=caller.headers if caller else None)
    assert got.status_code == 200, (path, got.status_code, got.text[:300])
    return got.json()


def roles(schema: dict) -> dict[str, str]:
    """Property name → its ``x-ogc-role``, for the properties that have one; fails when a
    role is not one of Part 5's or is given to two properties."""
    found = {name: prop["x-ogc-role"] for name, prop in schema["properties"].items()
             if "x-ogc-role" in prop}
    assert set(found.values()) <= FEATURE_ROLES, found
    assert len(set(found.values())) == len(found), f"a role given twice: {found}"
    return found


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_roles_of_a_point_layer_a_polygon_layer_and_a_table(live_server: str) -> None:
    """Exactly the roles Part 5 asks for, each on the property the items use for it."""
    expected = {
        "air_stations": ({"geometry": "primary-geometry", "station_id": "id"},
                         "geometry-point"),
        "protected_areas": ({"geometry": "primary-geometry", "area_id": "id"},
                            "geometry-multipolygon"),
        # a table: no geometry; its row id is the feature id, its hour the instant
        "air_hourly": ({"fid": "id", "time": "primary-instant"}, None),
    }
    for cid, (want, fmt) in expected.items():
        schema = _get(live_server, f"collections/{cid}/schema")
        assert roles(schema) == want, cid
        props = schema["properties"]
        if fmt:
            assert props["geometry"]["format"] == fmt, cid
        else:
            assert "geometry" not in props, cid
        page = _get(live_server, f"collections/{cid}/items", limit="20")["features"]
        assert len(page) >= 10, cid
        key = next(name for name, role in want.items() if role == "id")
        for feature in page:
            assert (feature["geometry"] is None) == (fmt is None), cid
            if key in feature["properties"]:  # a layer's key is also one of its properties
                assert feature["id"] == feature["properties"][key], cid
            else:  # a table's row id is only the GeoJSON id
                assert isinstance(feature["id"], int), cid
    # the station's ``time`` is its latest reading's, not the station's own: no role, and
    # ``datetime`` does not select stations by it
    stations = _get(live_server, "collections/air_stations/schema")["properties"]
    assert "time" in stations and "x-ogc-role" not in stations["time"]
    # the table's instant is what ``datetime`` selects on, and is a date-time
    hour = _get(live_server, "collections/air_hourly/schema")["properties"]["time"]
    assert (hour["type"], hour["format"]) == ("string", "date-time")
    start, end = "2025-03-01T00:00:00Z", "2025-03-01T02:00:00Z"
    rows = _get(live_server, "collections/air_hourly/items", limit="1000",
                datetime=f"{start}/{end}")["features"]
    assert rows
    assert all(_instant(start) <= _instant(f["properties"]["time"]) <= _instant(end)
               for f in rows)


def test_every_collection_declares_its_roles(live_server: str, callers: dict[str, Caller],
                                             entries: dict[str, Entry]) -> None:
    """Every layer and table an administrator sees: one ``id``; ``primary-geometry`` on the
    geometry of each layer and none on a table; ``primary-instant`` exactly where the
    collection has a time extent (where ``datetime`` filters), on a date or date-time."""
    admin = callers["admin"]
    listed = {c["id"]: c for c in _get(live_server, "collections", admin)["collections"]}
    features = [e for e in entries.values() if e.kind in ("vector", "table")]
    assert len(features) > 10 and {e.id for e in features} <= listed.keys()
    for entry in features:
        schema = _get(live_server, f"collections/{entry.id}/schema", admin)
        found = roles(schema)
        by_role = {role: name for name, role in found.items()}
        assert by_role.get("id") in schema["properties"], entry.id
        if entry.kind == "vector":
            assert by_role.get("primary-geometry") == "geometry", entry.id
        else:
            assert "primary-geometry" not in by_role, entry.id
        timed = "temporal" in (listed[entry.id].get("extent") or {})
        assert ("primary-instant" in by_role) == timed, entry.id
        if timed:
            prop = schema["properties"][by_role["primary-instant"]]
            assert prop["type"] == "string" and prop["format"] in ("date", "date-time"), entry.id
