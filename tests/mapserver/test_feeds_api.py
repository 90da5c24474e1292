"""``POST /api/feeds/{table}`` on a real server (the ``guarded`` copy of the sample): who may,
what is refused and how, and that the rows fed show at the next request in the OGC items,
the stations' and sections' latest state and /api/catalog — without a restart."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests

from onemap import catalog
from onemap.access import audit, policy
from onemap.access.principal import Principal, expand
from tests.conftest import Caller, Guarded

pytestmark = pytest.mark.server

#: Later than every hour of the sample (2025), so these rows are each site's latest.
T1 = "2026-06-01T10:00:00+08:00"
T2 = "2026-06-01T11:00:00+08:00"


def _post(g: Guarded, who: Caller | None, table: str, body: object = None, *,
          data: bytes | None = None, ctype: str = "application/json") -> requests.Response:
    headers = {**(who.headers if who else {}), "Content-Type": ctype}
    if body is not None:
        return requests.post(f"{g.base}/api/feeds/{table}", json=body, headers=headers,
                             timeout=120)
    return requests.post(f"{g.base}/api/feeds/{table}", data=data, headers=headers,
                         timeout=120)


def _get(g: Guarded, path: str, **params: object) -> dict:
    r = requests.get(f"{g.base}{path}", params=params, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def _first(g: Guarded, collection: str, key: str) -> str:
    return _get(g, f"/ogc/collections/{collection}/items", limit=1)["features"][0][
        "properties"][key]


def _count(g: Guarded, table: str) -> int:
    listed = _get(g, "/api/catalog")["datasets"]
    return next(d for d in listed if d["id"] == table)["feature_count"]


def _hour(station: str, time: str, pm25: float, flag: str = "N") -> dict:
    return {"station_id": station, "time": time, "pm25": pm25, "pm10": 60, "so2": 8,
            "no2": 30, "co": 0.6, "o3": 40, "flag": flag}


def test_who_may_feed_and_what_is_refused(guarded: Guarded,
                                          callers: dict[str, Caller]) -> None:
    station = _first(guarded, "air_stations", "station_id")
    rows = {"rows": [_hour(station, T1, 35)]}
    before = _count(guarded, "air_hourly")
    assert _post(guarded, None, "air_hourly", rows).status_code == 401
    for who in ("viewer", "analyst", "commander"):
        r = _post(guarded, callers[who], "air_hourly", rows)
        assert r.status_code == 403 and "data_manager" in r.json()["detail"], (who, r.text)
    manager = callers["manager"]
    r = _post(guarded, manager, "no_such_table", rows)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    r = _post(guarded, manager, "air_stations", rows)
    assert r.status_code == 409 and r.json()["code"] == "NotAFeed"
    r = _post(guarded, manager, "air_hourly", data=b"station_id,time\n", ctype="text/plain")
    assert r.status_code == 415 and r.json()["code"] == "UnsupportedMediaType"
    # a county's data manager feeds only tables its county owns (this one is the territory's)
    r = _post(guarded, callers["manager_a"], "air_hourly", rows)
    assert r.status_code == 403, r.text
    r = _post(guarded, manager, "air_hourly", data=b"{not json", ctype="application/json")
    assert r.status_code == 422 and r.json()["code"] == "InvalidData"
    assert _count(guarded, "air_hourly") == before


def test_a_region_bound_manager_feeds_its_own_tables(guarded: Guarded) -> None:
    entry = catalog.get("air_hourly", guarded.settings)
    county = Principal(user="m", roles=expand({"data_manager"}), region="340181", via="key")
    assert policy.may(county, "feed", guarded.settings,
                      entry.model_copy(update={"region": "340181"}))
    assert not policy.may(county, "feed", guarded.settings,
                          entry.model_copy(update={"region": "340124"}))
    assert not policy.may(county, "feed", guarded.settings, entry)  # the whole territory's


def test_fed_rows_show_at_the_next_request(guarded: Guarded,
                                           callers: dict[str, Caller]) -> None:
    manager = callers["manager"]
    station = _first(guarded, "air_stations", "station_id")
    before = _count(guarded, "air_hourly")
    r = _post(guarded, manager, "air_hourly", {"rows": [_hour(station, T1, 300)]})
    assert r.status_code == 200, r.text
    assert r.json() == {"table": "air_hourly", "rows": 1, "inserted": 1, "updated": 0,
                        "unchanged": 0}
    # the table's items, its count and extent, the station's latest state: all at once
    items = _get(guarded, "/ogc/collections/air_hourly/items", station_id=station,
                 datetime=T1)
    assert items["numberMatched"] == 1
    assert items["features"][0]["properties"]["pm25"] == 300
    assert _count(guarded, "air_hourly") == before + 1
    listed = next(d for d in _get(guarded, "/api/catalog")["datasets"]
                  if d["id"] == "air_hourly")
    assert listed["time_extent"][1] == T1
    latest = _get(guarded, f"/ogc/collections/air_stations/items/{station}")["properties"]
    assert latest["pm25"] == 300 and latest["primary_pollutant"] == "PM2.5"
    assert latest["aqi"] > 300 and latest["time"].startswith("2026-06-01T02:00:00")
    # the same batch again changes nothing; a corrected value updates the row and the view
    again = _post(guarded, manager, "air_hourly", [_hour(station, T1, 300)])
    assert again.json()["unchanged"] == 1 and again.json()["inserted"] == 0
    fixed = _post(guarded, manager, "air_hourly", [_hour(station, T1, 20)])
    assert (fixed.json()["updated"], fixed.json()["inserted"]) == (1, 0)
    assert _count(guarded, "air_hourly") == before + 1
    latest = _get(guarded, f"/ogc/collections/air_stations/items/{station}")["properties"]
    assert latest["pm25"] == 20 and latest["aqi"] < 100
    # the other stations kept their state
    other = _get(guarded, "/ogc/collections/air_stations/items", limit=2)["features"][1]
    assert not str(other["properties"]["time"]).startswith("2026")
    # recorded in the audit as feeds of the table
    records = [r for r in audit.query(guarded.settings, user="manager", action="feed",
                                      limit=20) if r["outcome"] == "ok"]
    assert len(records) == 3 and {r["target"] for r in records} == {"air_hourly"}
    assert audit.readable(records[0])["detail"]["updated"] == 1


def test_one_bad_row_refuses_the_batch(guarded: Guarded, callers: dict[str, Caller]) -> None:
    station = _first(guarded, "air_stations", "station_id")
    before = _count(guarded, "air_hourly")
    r = _post(guarded, callers["manager"], "air_hourly", {"rows": [
        _hour(station, T2, 30), _hour(station, "not a time", -1, flag="Z"),
        {**_hour(station, T2, 31), "aqi": 40}]})
    assert r.status_code == 422, r.text
    doc = r.json()
    assert doc["code"] == "InvalidData" and doc["detail"]
    where = {(e["row"], e["field"]) for e in doc["errors"]}
    assert {(2, "time"), (2, "pm25"), (2, "flag"), (None, "aqi")} <= where
    assert all(e["problem"] for e in doc["errors"])
    assert _count(guarded, "air_hourly") == before
    latest = _get(guarded, "/ogc/collections/air_hourly/items", station_id=station,
                  sortby="-time", limit=1)["features"][0]["properties"]
    assert not latest["time"].startswith("2026-06-01T03")  # T2 (UTC) was not written


def test_a_csv_batch(guarded: Guarded, callers: dict[str, Caller]) -> None:
    station = _first(guarded, "air_stations", "station_id")
    csv = f"站点编码,监测时间,PM2.5,数据标识\n{station},2026-06-02 08:00,55,N\n"
    r = _post(guarded, callers["manager"], "air_hourly", data=csv.encode("gb18030"),
              ctype="text/csv")
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    bad = f"站点编码,监测时间,PM2.5,数据标识\n{station},2026-06-02 09:00,abc,N\n"
    r = _post(guarded, callers["manager"], "air_hourly", data=bad.encode(),
              ctype="text/csv; charset=utf-8")
    assert r.status_code == 422
    assert r.json()["errors"] == [{"row": 2, "field": "pm25", "problem": r.json()["errors"][0][
        "problem"]}] and "abc" in r.json()["errors"][0]["problem"]


def test_water_samples_update_the_sections_class(guarded: Guarded,
                                                 callers: dict[str, Caller]) -> None:
    section = _first(guarded, "water_sections", "section_id")
    sample = {"section_id": section, "time": T1, "ph": 7.2, "do": 7.5, "codmn": 2,
              "cod": 10, "bod5": 2, "nh3n": 0.1, "tp": 0.01, "tn": 0.2}
    r = _post(guarded, callers["manager"], "water_samples", {"rows": [sample]})
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    state = _get(guarded, f"/ogc/collections/water_sections/items/{section}")["properties"]
    assert state["water_class"] == "I" and state["sample_time"].startswith("2026-06-01T02")
    history = _get(guarded, "/ogc/collections/water_samples/items", section_id=section,
                   datetime=T1)
    assert history["numberMatched"] == 1
    assert history["features"][0]["properties"]["water_class"] == "I"
    r = _post(guarded, callers["manager"], "water_samples", [{**sample, "nh3n": 2.5}])
    assert r.json()["updated"] == 1
    state = _get(guarded, f"/ogc/collections/water_sections/items/{section}")["properties"]
    assert state["water_class"] == "V+" and "nh3n" in state["exceeding"]


def test_the_body_limit_applies(guarded: Guarded, callers: dict[str, Caller]) -> None:
    """A body over ONEMAP_MAX_BODY_MB is refused from its declared length, unread."""
    url = urlsplit(guarded.base)
    size = (guarded.settings.max_body_mb + 1) * 1024 * 1024
    head = (f"POST /api/feeds/air_hourly HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {callers['manager'].key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n[")
    with socket.create_connection((url.hostname, url.port), timeout=60) as conn:
        conn.sendall(head.encode())
        answer = ""
        while "PayloadTooLarge" not in answer:
            chunk = conn.recv(4096).decode("latin-1")
            if not chunk:
                break
            answer += chunk
    assert answer.startswith("HTTP/1.1 413") and "PayloadTooLarge" in answer
