"""OGC API EDR against a real server: OWSLib's EDR client reads the station collections and
queries them; CoverageJSON and GeoJSON checked value by value against SQL on the same
GeoPackages; filters, errors, and what a hidden or region-bound caller gets."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest
import requests
import shapely
from owslib.ogcapi.edr import EnvironmentalDataRetrieval

from onemap.access import regions
from onemap.config import Settings
from onemap.live import livestore, readings
from tests.conftest import Caller
from tests.server import run_server

pytestmark = pytest.mark.server
DAY = "2025-01-10T00:00:00Z/2025-01-10T23:00:00Z"
REGION = "340181"  # viewer_a's county


@dataclass(frozen=True)
class Edr:
    base: str
    settings: Settings
    inside: str  # an outlet with readings inside viewer_a's county
    outside: str  # one outside it


def _outlets(settings: Settings) -> list[tuple[str, str, shapely.Geometry]]:
    frame = pyogrio.read_dataframe(settings.data_dir / "store/outlets.gpkg",
                                   columns=["outlet_code", "mn"])
    frame = frame[frame["mn"].notna() & (frame["mn"] != "")]
    return list(zip(frame["outlet_code"], frame["mn"], frame.geometry, strict=True))


@pytest.fixture(scope="module")
def edr(sample_settings: Settings, callers: dict[str, Caller],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edr]:
    """A server on a copy of the sample whose live store holds a day of hourly readings of
    an outlet inside viewer_a's county and one outside (as the HJ 212 receiver writes them)."""
    data = tmp_path_factory.mktemp("onemap-edr") / "data"
    shutil.copytree(sample_settings.data_dir, data,
                    ignore=shutil.ignore_patterns("runtime", "server.log"))
    settings = Settings(data_dir=data)
    livestore.catalogue(settings)
    area = regions.area(REGION, settings)
    outlets = _outlets(settings)
    inside = next(o for o in outlets if area.intersects(o[2]))
    outside = next(o for o in outlets if not area.intersects(o[2]))
    rows = [readings.Reading(mn, code, pollutant, interval, f"2026-12-01T{h:02d}:00:00.000Z",
                             value=round(k * 7.5 + h * 1.25, 2),
                             received="2026-12-02T00:00:00.000Z")
            for k, (code, mn, _) in enumerate((inside, outside))
            for h in range(24) for pollutant in ("a21026", "a21002")
            for interval in ("hour", "minute")]
    conn = livestore.connect(livestore.path(settings))
    try:
        readings.append(conn, rows)
    finally:
        conn.close()
    with run_server(data) as base:
        yield Edr(base, settings, inside[0], outside[0])


def _get(e: Edr, path: str, who: Caller | None = None, **params: object) -> requests.Response:
    return requests.get(f"{e.base}/ogc/collections/{path}", params=params, timeout=60,
                        headers=who.headers if who else {})


@contextlib.contextmanager
def _sql(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _air_rows(e: Edr, station: str, start: str, end: str) -> list[tuple]:
    with _sql(e.settings.data_dir / "store/air_hourly.gpkg") as conn:
        return conn.execute(
            "SELECT substr(time, 1, 19) || 'Z', pm25, no2, flag FROM air_hourly "
            "WHERE station_id = ? AND julianday(time) BETWEEN julianday(?) AND julianday(?) "
            "ORDER BY time", (station, start, end)).fetchall()


def _stations(e: Edr, table: str, key: str) -> dict[str, shapely.Point]:
    frame = pyogrio.read_dataframe(e.settings.data_dir / f"store/{table}.gpkg", columns=[key])
    return dict(zip(frame[key], frame.geometry, strict=True))


def test_owslib_reads_and_queries(edr: Edr) -> None:
    client = EnvironmentalDataRetrieval(f"{edr.base}/ogc")
    assert {"air_stations", "water_sections"} <= set(client.data())
    assert "outlets" not in client.data()  # internal: hidden from anonymous
    meta = client.collection("air_stations")
    pm25 = meta["parameter_names"]["pm25"]
    assert pm25["unit"]["symbol"]["value"] == "µg/m³"
    assert pm25["observedProperty"]["label"]["zh"] == "PM2.5"
    assert "HJ 633-2012" in pm25["description"]["en"] and "75" in pm25["description"]["zh"]
    assert "GB 3838-2002" in client.collection("water_sections")[
        "parameter_names"]["nh3n"]["description"]["zh"]
    stations = _stations(edr, "air_stations", "station_id")
    listed = client.query_data("air_stations", "locations")
    assert {f["id"] for f in listed["features"]} == set(stations)
    sid = sorted(stations)[0]
    # OWSLib 0.35 sends parameter_names=…; the gate reads it as parameter-name
    cov = client.query_data("air_stations", f"locations/{sid}", datetime_=DAY,
                            parameter_names=["pm25"])
    assert cov["type"] == "Coverage" and list(cov["ranges"]) == ["pm25"]
    assert cov["ranges"]["pm25"]["shape"] == [len(_air_rows(edr, sid, *DAY.split("/")))]
    point = stations[sid]
    near = client.query_data("air_stations", "position", datetime_=DAY,
                             coords=f"POINT({point.x + 1e-4} {point.y})")
    assert [c["id"] for c in near["coverages"]] == [sid]
    box = shapely.box(point.x - 0.1, point.y - 0.1, point.x + 0.1, point.y + 0.1)
    inside = client.query_data("air_stations", "area", datetime_=DAY, coords=box.wkt)
    assert {c["id"] for c in inside["coverages"]} == {
        k for k, p in stations.items() if box.intersects(p)}


def test_coverage_is_the_table(edr: Edr) -> None:
    """Every value and time of a station's day equals a SQL read of air_hourly (hours whose
    HJ 212 flag is not N are null, as HJ 633 evaluates only valid hours)."""
    stations = sorted(_stations(edr, "air_stations", "station_id"))
    with _sql(edr.settings.data_dir / "store/air_hourly.gpkg") as conn:
        flagged = conn.execute("SELECT station_id, substr(time, 1, 10) FROM air_hourly "
                               "WHERE flag != 'N' ORDER BY fid LIMIT 1").fetchone()
    for sid, day in [(stations[1], DAY), (flagged[0], f"{flagged[1]}T00:00Z/{flagged[1]}T23:59Z")]:
        r = _get(edr, f"air_stations/locations/{sid}", datetime=day,
                 **{"parameter-name": "pm25,no2"})
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/prs.coverage+json"), r.text
        cov = r.json()
        rows = _air_rows(edr, sid, *day.split("/"))
        assert rows and cov["domain"]["axes"]["t"]["values"] == [row[0] for row in rows]
        for i, name in ((1, "pm25"), (2, "no2")):
            want = [row[i] if row[3] == "N" else None for row in rows]
            assert cov["ranges"][name]["values"] == want
            assert cov["ranges"][name]["axisNames"] == ["t"]
        assert cov["domain"]["domainType"] == "PointSeries"
        assert cov["parameters"]["pm25"]["unit"]["symbol"] == "µg/m³"
    assert None in cov["ranges"]["pm25"]["values"]  # the flagged day has its gap


def test_datetime_and_parameter_name(edr: Edr) -> None:
    sid = sorted(_stations(edr, "air_stations", "station_id"))[2]
    one = _get(edr, f"air_stations/locations/{sid}", datetime="2025-01-10T05:00:00Z").json()
    assert one["domain"]["axes"]["t"]["values"] == ["2025-01-10T05:00:00Z"]
    assert set(one["ranges"]) == {"pm25", "pm10", "so2", "no2", "co", "o3", "ws", "wd"}
    beijing = _get(edr, f"air_stations/locations/{sid}", datetime="2025-01-10T13:00:00+08:00",
                   **{"parameter-name": "o3"}).json()
    assert beijing["domain"]["axes"]["t"]["values"] == ["2025-01-10T05:00:00Z"]
    assert list(beijing["ranges"]) == ["o3"] and list(beijing["parameters"]) == ["o3"]
    with _sql(edr.settings.data_dir / "store/air_hourly.gpkg") as conn:
        last = conn.execute("SELECT MAX(time) FROM air_hourly WHERE station_id = ?",
                            (sid,)).fetchone()[0]
    tail = _get(edr, f"air_stations/locations/{sid}", datetime=f"{last[:19]}Z/..",
                **{"parameter-name": "co"}).json()
    assert tail["domain"]["axes"]["t"]["values"] == [last[:19] + "Z"]


def test_water_cube_and_geojson(edr: Edr) -> None:
    sections = _stations(edr, "water_sections", "section_id")
    box = (117.0, 31.5, 117.6, 32.0)
    r = _get(edr, "water_sections/cube", bbox=",".join(map(str, box)),
             **{"parameter-name": "nh3n,tp"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["type"] == "CoverageCollection"
    assert {c["id"] for c in doc["coverages"]} == {
        k for k, p in sections.items() if shapely.box(*box).covers(p)}
    with _sql(edr.settings.data_dir / "store/water_samples.gpkg") as conn:
        rows = conn.execute("SELECT section_id, substr(time, 1, 19) || 'Z', nh3n, tp "
                            "FROM water_samples ORDER BY section_id, time").fetchall()
    for cov in doc["coverages"]:
        mine = [row for row in rows if row[0] == cov["id"]]
        assert cov["domain"]["axes"]["t"]["values"] == [row[1] for row in mine]
        assert cov["ranges"]["tp"]["values"] == [row[3] for row in mine]
    geo = _get(edr, "water_sections/cube", bbox=",".join(map(str, box)), f="geojson",
               **{"parameter-name": "nh3n"})
    assert geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    assert len(features) == sum(len(c["domain"]["axes"]["t"]["values"])
                                for c in doc["coverages"])
    first = features[0]["properties"]
    assert set(first) == {"section_id", "name", "time", "nh3n"}
    assert first["nh3n"] == next(row[2] for row in rows if row[0] == first["section_id"]
                                 and row[1] == first["time"])


@pytest.mark.parametrize(("path", "params", "status"), [
    ("air_stations/position", {"coords": "POINT(117 a)"}, 400),
    ("air_stations/position", {"coords": "POLYGON((117 31,118 31,118 32,117 31))"}, 400),
    ("air_stations/position", {}, 400),
    ("air_stations/position", {"coords": "POINT(200 31)"}, 400),
    ("air_stations/area", {"coords": "POINT(117 31)"}, 400),
    ("air_stations/area", {"coords": "POLYGON((0 0,1 1,1 0,0 1,0 0))"}, 400),
    ("air_stations/cube", {}, 400),
    ("air_stations/cube", {"bbox": "117,31,nan,32"}, 400),
    ("air_stations/locations", {"limit": "5"}, 400),
    ("air_stations/locations/1270A", {"parameter-name": "pm25,nope"}, 400),
    ("air_stations/locations/1270A", {"datetime": "yesterday-ish"}, 400),
    ("air_stations/locations/1270A", {"f": "html"}, 400),
    ("air_stations/locations/1270A", {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
     400),
    ("air_stations/locations/1270A", {"z": "10"}, 400),
    ("air_stations/locations/NOPE", {}, 404),
    ("rivers/position", {"coords": "POINT(117 31)"}, 400),
    ("no_such/position", {"coords": "POINT(117 31)"}, 404),
])
def test_errors_are_4xx_json(edr: Edr, path: str, params: dict, status: int) -> None:
    r = _get(edr, path, **params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] and body["detail"], body


def test_outlets_hidden_and_cut(edr: Edr, callers: dict[str, Caller]) -> None:
    """Anonymous: the internal outlets are absent (404 as an unknown collection). A viewer of
    the whole territory: the series as the live table holds them. viewer_a: only the county's
    outlets (the layer's limits), and no series (a region-bound viewer may not read the
    internal readings table, policy.limits)."""
    path = f"outlets/locations/{edr.inside}"
    unknown = _get(edr, path.replace("outlets", "no_such_layer"))
    hidden = _get(edr, path)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
    viewer, viewer_a = callers["viewer"], callers["viewer_a"]
    r = _get(edr, path, viewer, datetime="2026-12-01T00:00Z/2026-12-01T05:00Z")
    assert r.status_code == 200, r.text
    cov = r.json()
    assert set(cov["ranges"]) == {"a21026", "a21002"}  # only parameters with readings
    assert cov["parameters"]["a21026"]["observedProperty"]["label"]["zh"] == "二氧化硫"
    with _sql(livestore.path(edr.settings)) as conn:
        want = [v for (v,) in conn.execute(
            "SELECT value FROM outlet_readings WHERE outlet_code = ? AND pollutant = 'a21026' "
            "AND interval = 'hour' AND time <= '2026-12-01T05:00:00.000Z' ORDER BY time",
            (edr.inside,))]
    assert cov["ranges"]["a21026"]["values"] == want and len(want) == 6
    area = regions.area(REGION, edr.settings)
    everyone = _get(edr, "outlets/locations", viewer).json()["features"]
    mine = _get(edr, "outlets/locations", viewer_a).json()["features"]
    expected = {f["id"] for f in everyone
                if area.intersects(shapely.Point(f["geometry"]["coordinates"]))}
    assert {f["id"] for f in mine} == expected and 0 < len(expected) < len(everyone)
    assert edr.inside in expected and edr.outside not in expected
    assert _get(edr, f"outlets/locations/{edr.outside}", viewer_a).status_code == 404
    assert _get(edr, path, viewer_a).status_code == 404
    near = _get(edr, "outlets/position", viewer,
                coords=f"POINT({everyone[0]['geometry']['coordinates'][0]} "
                       f"{everyone[0]['geometry']['coordinates'][1]})")
    assert near.status_code == 200 and near.json()["coverages"][0]["id"] == everyone[0]["id"]


def test_national_stations_get_the_national_series(tmp_path: Path) -> None:
    from onemap import catalog
    from onemap.mapserver.edr import provider_config

    settings = Settings(data_dir=tmp_path)

    def entry(layer_id: str, kind: str, family: str) -> catalog.Entry:
        (tmp_path / f"{layer_id}.gpkg").touch()
        return catalog.Entry(id=layer_id, kind=kind, family=family, title=layer_id,
                             path=f"{layer_id}.gpkg")

    entries = {e.id: e for e in (entry("air_hourly", "table", "air_hourly"),
                                 entry("air_hourly_national", "table", "air_hourly"),
                                 entry("air_stations", "vector", "air_stations"),
                                 entry("air_stations_national", "vector", "air_stations"))}
    tables = {sid: provider_config(entries[sid], entries, settings)["options"]["table"]
              for sid in ("air_stations", "air_stations_national")}
    assert tables == {"air_stations": "air_hourly",
                      "air_stations_national": "air_hourly_national"}
    del entries["air_hourly_national"]  # no series of the same name: the family's table
    assert provider_config(entries["air_stations_national"], entries, settings
                           )["options"]["table"] == "air_hourly"
