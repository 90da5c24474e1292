"""The issue-5 analyses as OGC API Processes on the real server and sample region.

Listing, descriptions and executions go through OWSLib's Processes client, as a GIS client
would; error cases use plain requests to see the status and the JSON body. Results are checked
as layers the map can draw (FeatureCollections with roles and geometry types, a catalogued COG
or cube whose tiles are PNGs) and against the analysis functions called directly.
"""

from __future__ import annotations

import time
from typing import Any

import morecantile
import pandas as pd
import pytest
import requests
from owslib.ogcapi.processes import Processes

from onemap import catalog
from onemap.analysis import haze
from onemap.analysis.standards import aqi
from onemap.config import Settings
from onemap.layers.store import read_layer
from tests.conftest import Caller

pytestmark = pytest.mark.server
TMS = morecantile.tms.get("WebMercatorQuad")
IDS = {"aqi-hourly", "aqi-daily", "upwind-sources", "incident-assessment", "ecology-change",
       "pm25-surface", "pm25-surface-series"}
HOUR = "2025-01-24T20:00:00+08:00"
INSIDE = {"lon": 117.25, "lat": 31.85}


#: The admin account's ``Authorization``: it may run every process and see every job (who may
#: do what is tested in test_access_writes.py; here, what the processes compute).
AUTH: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _as_admin(callers: dict[str, Caller]) -> None:
    AUTH.update(callers["admin"].headers)


def client(live_server: str) -> Processes:
    p = Processes(f"{live_server}/ogc", timeout=120)
    # OWSLib shares one module-level header dict; keep ours apart
    p.headers = {**p.headers, **AUTH}
    return p


def run_sync(live_server: str, process_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return client(live_server).execute(process_id, inputs, response="raw")


def run_async(live_server: str, process_id: str, inputs: dict[str, Any],
              timeout: float = 180) -> tuple[dict[str, Any], list[int]]:
    """Execute with Prefer: respond-async, poll the job to the end; results and progress seen."""
    p = client(live_server)
    # raw: the results document is the outputs object itself (as in sync mode)
    assert p.execute(process_id, inputs, async_=True, response="raw") in (None, {})
    job_url = p.response_headers["Location"]
    assert p.response_headers["Preference-Applied"] == "respond-async"
    seen, deadline = [], time.monotonic() + timeout
    while True:
        job = requests.get(job_url, params={"f": "json"}, headers=AUTH, timeout=30).json()
        seen.append(job["progress"])
        if job["status"] in ("successful", "failed", "dismissed"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "successful", job
    assert job["processID"] == process_id
    r = requests.get(f"{job_url}/results", params={"f": "json"}, headers=AUTH, timeout=60)
    assert r.status_code == 200
    return r.json(), seen


def n_jobs(live_server: str) -> int:
    return len(requests.get(f"{live_server}/ogc/jobs", params={"f": "json", "limit": 10000},
                            headers=AUTH, timeout=30).json()["jobs"])


def roles(fc: dict[str, Any]) -> dict[str, set[str]]:
    """role -> geometry types of a FeatureCollection."""
    assert fc["type"] == "FeatureCollection"
    out: dict[str, set[str]] = {}
    for f in fc["features"]:
        assert f["type"] == "Feature"
        out.setdefault(f["properties"]["role"], set()).add(
            f["geometry"]["type"] if f["geometry"] else None)
    return out


def tile_png(url: str) -> requests.Response:
    t = TMS.tile(117.25, 31.85, 9)
    r = requests.get(url.replace("{z}", "9").replace("{x}", str(t.x)).replace("{y}", str(t.y)),
                     headers=AUTH, timeout=60)
    return r


def test_processes_listed_and_described(live_server: str) -> None:
    p = client(live_server)
    listed = {d["id"]: d for d in p.processes()}
    assert set(listed) == IDS
    for pid in IDS:
        d = p.process(pid)
        assert d["id"] == pid and d["jobControlOptions"] == ["sync-execute", "async-execute"]
        assert d["inputs"] and d["outputs"] and d["example"]["inputs"]
        for name, spec in d["inputs"].items():
            assert spec["schema"]["type"] in ("string", "number", "integer", "array"), name
            assert spec["minOccurs"] in (0, 1) and spec["title"]
    surface = p.process("pm25-surface")
    assert surface["inputs"]["method"]["schema"] == {"type": "string", "enum": ["idw", "kriging"],
                                                     "default": "idw"}
    assert surface["inputs"]["res_deg"]["schema"]["minimum"] == 0.005
    assert surface["inputs"]["time"]["minOccurs"] == 1
    # bilingual: Chinese by default, English on request
    zh = requests.get(f"{live_server}/ogc/processes/aqi-daily", params={"f": "json"},
                      headers=AUTH, timeout=30).json()
    en = requests.get(f"{live_server}/ogc/processes/aqi-daily",
                      params={"f": "json", "lang": "en"}, headers=AUTH, timeout=30).json()
    assert zh["title"] == "日空气质量指数与污染过程"
    assert en["title"] == "Daily AQI and pollution episodes"
    assert en["inputs"]["threshold"]["schema"]["default"] == 100


def test_aqi_hourly_is_hj633_of_the_valid_hour(live_server: str,
                                               sample_settings: Settings) -> None:
    out = run_sync(live_server, "aqi-hourly", {"time": HOUR})
    assert roles(out["stations"]) == {"station_hour": {"Point"}}
    props = {f["properties"]["station_id"]: f["properties"] for f in out["stations"]["features"]}
    hourly = read_layer("air_hourly", sample_settings,
                        where="time >= '2025-01-24T12:00:00' AND time < '2025-01-24T12:00:01'")
    valid = hourly[hourly["flag"] == "N"].reset_index(drop=True)
    assert set(props) == set(valid["station_id"])
    direct = valid.join(aqi.hourly_aqi(valid)).set_index("station_id")
    for sid, p in props.items():
        assert p["aqi"] == direct.loc[sid, "aqi"] and p["aqi_level"] == direct.loc[sid,
                                                                                  "aqi_level"]
        assert p["primary_pollutant"] == direct.loc[sid, "primary_pollutant"]
    assert out["summary"]["max_aqi"] == max(p["aqi"] for p in props.values())
    assert sum(out["summary"]["stations_by_level"].values()) == len(props)


def test_aqi_daily_sync_matches_the_analysis(live_server: str,
                                             sample_settings: Settings) -> None:
    out = run_sync(live_server, "aqi-daily", {"start": "2025-01-20", "end": "2025-01-27"})
    assert roles(out["station_daily"]) == {"station_day": {"Point"}}
    assert roles(out["episodes"]) == {"station_episode": {"Point"},
                                      "regional_episode": {"Polygon"}}
    days = sorted({r["date"] for r in out["regional_daily"]})
    assert days[0] == "2025-01-20" and days[-1] == "2025-01-27" and len(days) == 8
    # the same station-day computed directly from the layer
    hourly = read_layer("air_hourly", sample_settings,
                        where="station_id = '1270A' AND time >= '2025-01-22T16:00:00' "
                              "AND time < '2025-01-23T16:00:01'")
    direct = haze.station_daily_aqi(hourly)
    direct = direct[pd.to_datetime(direct["date"]) == pd.Timestamp("2025-01-23")].iloc[0]
    served = next(f["properties"] for f in out["station_daily"]["features"]
                  if f["properties"]["station_id"] == "1270A"
                  and f["properties"]["date"] == "2025-01-23")
    assert served["aqi"] == direct["aqi"] and served["pm25"] == pytest.approx(direct["pm25"])
    for f in out["episodes"]["features"]:
        e = f["properties"]
        assert e["days"] >= 2 and e["max_aqi"] > 100
    assert out["summary"]["n_stations"] == 40


def test_aqi_daily_station_subset(live_server: str) -> None:
    out = run_sync(live_server, "aqi-daily", {"start": "2025-01-24", "end": "2025-01-24",
                                              "station_ids": ["1270A", "1271A"],
                                              "threshold": 150, "min_days": 1})
    ids = {f["properties"]["station_id"] for f in out["station_daily"]["features"]}
    assert ids == {"1270A", "1271A"}
    assert all(f["properties"]["max_aqi"] > 150 for f in out["episodes"]["features"])


def test_incident_air_sync_with_report(live_server: str) -> None:
    out = run_sync(live_server, "incident-assessment", {
        **INSIDE, "time": HOUR, "medium": "air", "pollutant": "cl2", "amount_kg": 500,
        "duration_min": 30, "rings_m": [1000, 3000], "lang": "en"})
    found = roles(out["features"])
    assert found["incident"] == {"Point"} and "plume" in found and "ring" in found
    assert len([f for f in out["features"]["features"]
                if f["properties"]["role"] == "ring"]) == 2
    assert {"rings", "receptors", "suspects", "plume"} <= set(out["tables"])
    assert out["summary"]["wind"]["source"] != "given"  # the nearest station's wind
    html = requests.get(out["report_url"], headers=AUTH, timeout=30)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text and "leaflet" in html.text.lower()
    gj = requests.get(out["report_geojson_url"], headers=AUTH, timeout=30).json()
    assert len(gj["features"]) == len(out["features"]["features"])


@pytest.mark.parametrize("report", ["0" * 31, "G" * 32, "..%2F..%2Fcatalog", "A" * 32])
def test_reports_unknown_or_malformed_ids_are_404(live_server: str, report: str) -> None:
    for suffix in ("html", "geojson"):
        r = requests.get(f"{live_server}/api/reports/{report}.{suffix}", timeout=30)
        assert r.status_code == 404 and r.json()["code"] == "NotFound"
    r = requests.get(f"{live_server}/api/reports/{'a' * 32}.html", timeout=30)
    assert r.status_code == 404


def test_incident_water_async(live_server: str) -> None:
    out, progress = run_async(live_server, "incident-assessment", {
        "lon": 117.3, "lat": 31.7, "time": "2025-06-01T10:00:00", "medium": "water",
        "pollutant": "cod", "amount_kg": 2000, "flow_speed_m_s": 0.8})
    found = roles(out["features"])
    assert found["trace"] <= {"LineString", "MultiLineString"}
    assert "downstream" in out["tables"] and out["tables"]["rings"]
    assert progress[-1] == 100
    assert requests.get(out["report_url"], headers=AUTH, timeout=30).status_code == 200


def test_ecology_change_ranks_the_generated_losses(live_server: str) -> None:
    out = run_sync(live_server, "ecology-change", {"layer": "red_lines", "before": "ndvi_2024_07",
                                                   "after": "ndvi_2025_07"})
    found = roles(out["features"])
    assert found["area"] <= {"Polygon", "MultiPolygon"}
    assert found["loss"] <= {"Polygon", "MultiPolygon"}
    top = {r["name"] for r in out["ranking"] if r["rank"] <= 2}
    assert any("浮槎山" in n for n in top) and any("紫蓬山" in n for n in top)
    assert out["summary"]["before"] == "ndvi_2024_07"  # ids, never file paths
    assert "/" not in str(out["summary"]["after"])
    one = run_sync(live_server, "ecology-change", {
        "layer": "red_lines", "area_ids": [out["ranking"][0]["area_id"]],
        "before": "ndvi_2024_07", "after": "ndvi_2025_07", "min_pixels": 8})
    assert [r["rank"] for r in one["ranking"]] == [1]


def test_ecology_change_lists_only_incidents_between_the_images(live_server: str) -> None:
    """An incident after the second image cannot explain the change: only those from the first
    day of 2024-07 to the end of 2025-07 (Beijing time) are listed."""
    out = run_sync(live_server, "ecology-change", {"layer": "red_lines", "before": "ndvi_2024_07",
                                                   "after": "ndvi_2025_07"})
    s = out["summary"]
    assert (s["incidents_from"], s["incidents_until"]) == ("2024-06-30T16:00:00Z",
                                                           "2025-07-31T16:00:00Z")
    listed = [e for e in out["encroachment"] if e["kind"] == "incident"]
    for e in listed:
        assert "2024-06-30T16:00" <= pd.Timestamp(e["time"]).tz_convert("UTC").isoformat() \
            < "2025-07-31T16:00"
    # Every incident of the layer inside a red line and inside that period is there.
    inside = requests.get(f"{live_server}/ogc/collections/incidents/items",
                          params={"f": "json", "limit": 1000,
                                  "datetime": "2024-06-30T16:00:00Z/2025-07-31T15:59:59Z"},
                          headers=AUTH, timeout=30).json()["features"]
    listed_ids = {e["feature_id"] for e in listed}
    assert listed_ids <= {f["properties"]["incident_id"] for f in inside}


def test_pm25_surface_registers_a_tiled_cog(live_server: str, sample_settings: Settings) -> None:
    out = run_sync(live_server, "pm25-surface", {"time": HOUR, "method": "idw", "res_deg": 0.02})
    entry = catalog.get(out["raster_id"], sample_settings)
    assert entry.kind == "raster" and entry.extra["count"] == 1
    tiles = f"{live_server}/raster/{out['raster_id']}/tiles/WebMercatorQuad"
    assert out["tile_url"].startswith(tiles + "/{z}/{x}/{y}.png")
    r = tile_png(out["tile_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    values = [f["properties"]["value"] for f in out["stations"]["features"]]
    assert roles(out["stations"]) == {"station": {"Point"}}
    # IDW never leaves the range of the station values
    assert min(values) - 1e-3 <= out["stats"]["min"] <= out["stats"]["max"] <= max(values) + 1e-3
    assert out["stats"]["n_stations"] == len(values) >= 3
    kriged = run_sync(live_server, "pm25-surface", {"time": HOUR, "method": "kriging",
                                                    "res_deg": 0.02})
    assert kriged["raster_id"] != out["raster_id"]
    assert tile_png(kriged["tile_url"]).status_code == 200


def test_pm25_surface_series_async_registers_a_cube(live_server: str,
                                                    sample_settings: Settings) -> None:
    out, progress = run_async(live_server, "pm25-surface-series", {
        "start": "2025-01-24T01:00:00+08:00", "end": "2025-01-24T12:00:00+08:00",
        "res_deg": 0.02})
    assert progress == sorted(progress) and progress[-1] == 100
    entry = catalog.get(out["cube_id"], sample_settings)
    assert entry.kind == "cube" and len(entry.extra["times"]) == 12
    assert out["stats"]["n_hours"] == 12 and out["stats"]["first_time"] == "2025-01-23T17:00:00Z"
    r = tile_png(out["tile_url"].replace("{time}", out["stats"]["first_time"]))
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert not list((sample_settings.runtime_dir / "work").glob(f"*{out['cube_id']}*"))


def test_upwind_sources_sync(live_server: str) -> None:
    out = run_sync(live_server, "upwind-sources", {"station_id": "1272A", "start": "2025-01-21",
                                                   "end": "2025-01-25", "max_km": 30})
    assert roles(out["features"]) == {"station": {"Point"}, "source": {"Point"}}
    sources = [f["properties"] for f in out["features"]["features"]
               if f["properties"]["role"] == "source"]
    assert [s["rank"] for s in sources] == list(range(1, len(sources) + 1))
    assert all(s["distance_km"] <= 30 for s in sources)
    assert sum(s["contribution_share"] for s in sources) == pytest.approx(1.0)
    assert len(out["wind_rose"]) == 16 and out["summary"]["valid_hours"] > 0


BAD = [
    ("pm25-surface", {"time": HOUR, "pollutant": "pm1"}, "InvalidParameterValue", "pollutant"),
    ("incident-assessment", {"lon": 100.0, "lat": 40.0, "time": HOUR, "medium": "air",
                             "pollutant": "cl2", "amount_kg": 10}, "OutOfRegion", "lon"),
    ("incident-assessment", {**INSIDE, "time": HOUR, "medium": "water", "pollutant": "cl2",
                             "amount_kg": 10}, "InvalidParameterValue", "pollutant"),
    ("aqi-daily", {"start": "2024-03-01", "end": "2024-03-02"}, "NoData", "start"),
    ("aqi-hourly", {"time": "2024-03-01T10:00:00+08:00"}, "NoData", "time"),
    ("aqi-hourly", {"time": "2025-01-24T20:30:00+08:00"}, "InvalidParameterValue", "time"),
    ("pm25-surface", {"time": "2026-05-01T10:00:00+08:00"}, "NoData", "time"),
    ("incident-assessment", {**INSIDE, "time": HOUR, "medium": "air", "pollutant": "cl2"},
     "MissingParameterValue", "amount_kg"),
    ("aqi-daily", {"start": "2025-01-20", "end": "2025-01-21", "threshold": "high"},
     "InvalidParameterValue", "threshold"),
    ("aqi-daily", {"start": "2025-01-20", "end": "2025-01-21", "station_ids": ["nope"]},
     "InvalidParameterValue", "station_ids"),
    ("ecology-change", {"before": "/etc/passwd", "after": "ndvi_2025_07"},
     "InvalidParameterValue", "before"),
    ("ecology-change", {"before": "gf1_wfv_2025_07_20", "after": "ndvi_2025_07"},
     "InvalidParameterValue", "before"),
    ("pm25-surface", {"time": {"href": "file:///etc/passwd"}}, "InvalidParameterValue", "time"),
    ("pm25-surface-series", {"start": HOUR, "end": "2025-01-24T10:00:00+08:00"},
     "InvalidParameterValue", "end"),
    ("upwind-sources", {"station_id": "1272A", "start": "2025-01-21", "end": "2025-01-22",
                        "pollutant": "co"}, "InvalidParameterValue", "pollutant"),
    ("upwind-sources", {"station_id": "1272A", "start": "2025-01-21", "end": "2025-01-22",
                        "path": "/tmp"}, "InvalidParameterValue", "path"),
    # found by schemathesis (were 500s): a huge integer, year 0000
    ("incident-assessment", {**INSIDE, "time": HOUR, "medium": "air", "pollutant": "cl2",
                             "amount_kg": 10 ** 400}, "InvalidParameterValue", "amount_kg"),
    ("aqi-daily", {"start": "0000-01-01", "end": "2025-01-21"}, "InvalidParameterValue",
     "start"),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("process_id", "inputs", "code", "parameter"), BAD,
                         ids=[f"{b[0]}-{b[2]}-{b[3]}" for b in BAD])
def test_invalid_input_is_400_naming_it_before_any_job(
        live_server: str, mode: str, process_id: str, inputs: dict[str, Any], code: str,
        parameter: str) -> None:
    before = n_jobs(live_server)
    headers = {"Prefer": "respond-async", **AUTH} if mode == "async" else AUTH
    r = requests.post(f"{live_server}/ogc/processes/{process_id}/execution",
                      json={"inputs": inputs}, headers=headers, timeout=60)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == code, body
    assert body["description"].startswith(f"{parameter}"), body
    assert n_jobs(live_server) == before  # validated before a job was created


def test_delete_cancels_a_running_series(live_server: str, sample_settings: Settings) -> None:
    inputs = {"start": "2025-02-01T01:00:00+08:00", "end": "2025-05-31T00:00:00+08:00",
              "res_deg": 0.01}
    r = requests.post(f"{live_server}/ogc/processes/pm25-surface-series/execution",
                      json={"inputs": inputs}, headers={"Prefer": "respond-async", **AUTH},
                      timeout=60)
    assert r.status_code == 201
    job_url = r.headers["Location"]
    cube_id = "pm25_idw_2025020101_2025053100_r10"
    work = sample_settings.runtime_dir / "work"
    deadline = time.monotonic() + 120
    while True:  # wait until it is computing hours (its temporary store exists)
        job = requests.get(job_url, params={"f": "json"}, headers=AUTH, timeout=30).json()
        assert job["status"] in ("accepted", "running"), job
        if job["progress"] > 5 and list(work.glob(f".{cube_id}*")):
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    d = requests.delete(job_url, headers=AUTH, timeout=30)
    assert d.status_code == 200 and d.json()["status"] == "dismissed"
    assert requests.get(job_url, params={"f": "json"}, headers=AUTH,
                        timeout=30).status_code == 404
    deadline = time.monotonic() + 60
    while list(work.glob(f"*{cube_id}*")):  # the run notices and removes its store
        assert time.monotonic() < deadline, list(work.iterdir())
        time.sleep(0.2)
    time.sleep(1.0)
    assert cube_id not in catalog.load(sample_settings)
    assert not list(sample_settings.cube_dir.glob(f"*{cube_id}*"))
    assert not list((sample_settings.runtime_dir / "jobs").glob(f"*{job_url.rsplit('/', 1)[1]}*"))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("body", ["[null, null]", '"inputs"', "null", '{"inputs": [1]}',
                                  b"u\xff\xfeG", b'{"inputs": {"x": "\xe9"}}',
                                  '{"inputs": {}, "subscriber": 1}',
                                  '{"inputs": {}, "response": 5}'])
def test_execute_body_that_is_not_an_object_is_400(live_server: str, mode: str,
                                                   body: str | bytes) -> None:
    """pygeoapi calls ``.get`` on whatever JSON it parsed: a list, a string or null was a 500
    (found by schemathesis); our gate answers 400 before pygeoapi or a job sees it."""
    before = n_jobs(live_server)
    headers = {"Content-Type": "application/json", **AUTH,
               **({"Prefer": "respond-async"} if mode == "async" else {})}
    r = requests.post(f"{live_server}/ogc/processes/aqi-daily/execution", data=body,
                      headers=headers, timeout=60)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidParameterValue" and r.json()["detail"], r.text
    assert n_jobs(live_server) == before
