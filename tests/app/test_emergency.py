"""The Emergency panel's pure helpers: reading the form, filling it from an incident, and how an
``incident-assessment`` result becomes words, tables, map features and CSV in each language.

The results are the real process's answers (two runs over HTTP against the session's server on
the generated sample: a toluene spill into 南淝河 and a chlorine release to air), so the helpers
are tested on the shape the panel really receives; the browser test drives the same path.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from dash.development.base_component import Component

from onemap.analysis.plume import POLLUTANTS as PROCESS_POLLUTANTS
from onemap.app.i18n import STRINGS
from onemap.app.ogcclient import OgcError, execute, explain
from onemap.app.panels.emergency_csv import TABLES, available, csv_bytes, filename
from onemap.app.panels.emergency_fetch import load_meta, station_name
from onemap.app.panels.emergency_form import (
    FormError,
    beijing,
    build_inputs,
    incident_fill,
    incident_options,
    input_labels,
    parse_rings,
    parse_time,
)
from onemap.app.panels.emergency_render import render_outputs
from onemap.app.panels.emergency_text import (
    POLLUTANTS,
    compass,
    dropdown_labels,
    kind_label,
    match_pollutant,
    name_or_code,
    pollutant_label,
    pollutant_options,
)
from onemap.app.panels.emergency_view import (
    PLUME_COLORS,
    downstream_rows,
    headline,
    hours,
    legend_items,
    location_feature,
    map_data,
    receptor_groups,
    summary_lines,
    suspect_rows,
    view_model,
)
from onemap.config import Settings
from tests.server import free_port

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
#: On 南淝河 (reach NFH02), upstream of the sections and of Chaohu's intakes.
WATER = {"lon": 117.185757, "lat": 31.915818, "time": "2025-06-01T10:20:00+08:00",
         "medium": "water", "pollutant": "toluene", "amount_kg": 5000}
AIR = {"lon": 117.28, "lat": 31.86, "time": "2025-06-01T10:20:00+08:00", "medium": "air",
       "pollutant": "cl2", "amount_kg": 5000}
FORM = {"lon": 117.28, "lat": 31.86, "time": "2025-06-01 10:20", "medium": "air",
        "pollutant": "cl2", "amount_kg": 5000, "duration_min": 60, "wind_speed": None,
        "wind_from": None, "stability": None, "flow_speed": 0.5, "max_hours": 48,
        "rings": "1, 3, 5"}


def _text(node: Any) -> str:
    """Every string a component tree shows."""
    if node is None:
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list | tuple):
        return " ".join(_text(n) for n in node)
    if isinstance(node, Component):
        return _text(getattr(node, "children", None))
    return ""


def _run(base: str, inputs: dict, headers: dict[str, str]) -> dict:
    resp = requests.post(f"{base}/ogc/processes/incident-assessment/execution",
                         json={"inputs": inputs}, headers=headers, timeout=120)
    resp.raise_for_status()
    return resp.json()


@pytest.fixture(scope="module")
def water(live_server: str, callers) -> dict:  # type: ignore[no-untyped-def]
    return _run(live_server, WATER, callers["commander"].headers)


@pytest.fixture(scope="module")
def air(live_server: str, callers) -> dict:  # type: ignore[no-untyped-def]
    return _run(live_server, AIR, callers["commander"].headers)


# --- the pollutant table and the form ------------------------------------------------------

def test_pollutant_table_matches_the_process() -> None:
    assert set(POLLUTANTS) == set(PROCESS_POLLUTANTS)
    for code, p in POLLUTANTS.items():
        assert p.zh == PROCESS_POLLUTANTS[code].zh, code
        assert set(p.media) == set(PROCESS_POLLUTANTS[code].media), code


def test_pollutant_labels_and_options() -> None:
    assert pollutant_label("cl2", "zh") == "氯气 Cl₂"
    assert pollutant_label("cl2", "en") == "Chlorine Cl₂"
    assert pollutant_label("oil", "en") == "Petroleum"
    air = [o["value"] for o in pollutant_options(None, "air", "en")]
    water = [o["value"] for o in pollutant_options(None, "water", "zh")]
    assert "cl2" in air and "toluene" in air and "cod" not in air
    assert "toluene" in water and "cod" in water and "cl2" not in water
    # The server's enum decides: a code it lacks is not offered, one we lack is, by its code.
    only = pollutant_options(["cl2", "xyz"], "air", "en")
    assert [o["value"] for o in only] == ["cl2", "xyz"] and only[1]["label"] == "xyz"
    assert not any(CJK.search(o["label"]) for o in pollutant_options(None, "water", "en"))


@pytest.mark.parametrize(("text", "code"), [
    ("SO₂、NOx", "so2"), ("COD、氨氮", "cod"), ("氨氮", "nh3n"), ("甲苯", "toluene"),
    ("苯泄漏", "benzene"), ("丙烯腈", "acrylonitrile"), ("PM2.5", "pm25"), ("氯气泄漏", "cl2"),
    ("重金属", None), ("溶解氧", None), ("Ir-192", None), ("", None), (None, None)])
def test_match_pollutant(text: str | None, code: str | None) -> None:
    assert match_pollutant(text) == code


def test_parse_time() -> None:
    assert parse_time("2025-06-01 10:20").isoformat() == "2025-06-01T10:20:00+08:00"
    assert parse_time("2025-06-01T10:20:05Z").isoformat() == "2025-06-01T10:20:05+00:00"
    assert parse_time("2025-6-1").isoformat() == "2025-06-01T00:00:00+08:00"
    for bad in ("", None, "yesterday", "2025-13-01 10:00", "2025-06-01 25:00"):
        assert parse_time(bad) is None, bad
    assert beijing("2025-03-24T12:25:00Z") == "2025-03-24 20:25"
    assert beijing("2025-06-01T14:40:40+08:00", seconds=True) == "2025-06-01 14:40:40"


def test_build_inputs_air_and_water() -> None:
    air = build_inputs(FORM, "zh")
    assert air == {"lon": 117.28, "lat": 31.86, "time": "2025-06-01T10:20:00+08:00",
                   "medium": "air", "pollutant": "cl2", "amount_kg": 5000.0,
                   "rings_m": [1000.0, 3000.0, 5000.0], "lang": "zh", "duration_min": 60.0}
    given = build_inputs({**FORM, "wind_speed": 3, "wind_from": 0, "stability": "D"}, "en")
    assert (given["wind_speed_m_s"], given["wind_from_deg"], given["stability"],
            given["lang"]) == (3.0, 0.0, "D", "en")
    water = build_inputs({**FORM, "medium": "water", "pollutant": "toluene", "wind_speed": 3,
                          "wind_from": 90, "flow_speed": 0.8, "max_hours": 24}, "zh")
    assert water["flow_speed_m_s"] == 0.8 and water["max_hours"] == 24.0
    assert "wind_speed_m_s" not in water  # the other medium's fields are not sent


@pytest.mark.parametrize(("change", "key"), [
    ({"lon": None}, "em_err_point"), ({"lat": ""}, "em_err_point"),
    ({"lat": 95}, "em_err_lonlat"), ({"time": "tomorrow"}, "em_err_time"),
    ({"pollutant": None}, "em_err_pollutant"), ({"amount_kg": 0}, "em_err_amount"),
    ({"amount_kg": None}, "em_err_amount"), ({"amount_kg": "x"}, "em_err_amount"),
    ({"wind_speed": 2}, "em_err_wind_pair"), ({"wind_from": 90}, "em_err_wind_pair"),
    ({"wind_speed": 0, "wind_from": 90}, "em_err_wind"),
    ({"wind_speed": 2, "wind_from": 400}, "em_err_wind"), ({"duration_min": -5},
                                                           "em_err_duration"),
    ({"medium": "water", "flow_speed": 0}, "em_err_flow"),
    ({"medium": "water", "max_hours": 1000}, "em_err_hours"),
    ({"rings": "1, 1"}, "em_err_rings"), ({"rings": "a"}, "em_err_rings"),
    ({"rings": "60"}, "em_err_rings")])
def test_build_inputs_refuses(change: dict, key: str) -> None:
    with pytest.raises(FormError) as exc:
        build_inputs({**FORM, **change}, "zh")
    assert exc.value.key == key
    assert STRINGS["zh"][key] and STRINGS["en"][key] and not CJK.search(STRINGS["en"][key])


def test_parse_rings() -> None:
    assert parse_rings("5，1；3") == [1000.0, 3000.0, 5000.0]
    assert parse_rings("0.5") == [500.0]


def _settings(live_server: str, tmp_path: Path) -> Settings:
    """Settings through which the app's client reaches the session's server."""
    port = int(urlsplit(live_server).port or 80)
    return Settings(data_dir=tmp_path, port=port, public_url=live_server)


def test_out_of_region_error_names_the_location(live_server: str, tmp_path: Path,
                                                as_commander) -> None:  # type: ignore[no-untyped-def]
    # The server refuses a point outside the region before any job exists; the job block words
    # it with the panel's labels (the refusal names "lon, lat" together).
    with pytest.raises(OgcError) as exc:
        execute(_settings(live_server, tmp_path), "incident-assessment",
                {**AIR, "lon": 120.5})
    err = exc.value
    assert (err.status, err.code, err.parameter) == (400, "OutOfRegion", "lon, lat")
    labels = input_labels()
    assert explain(err, "zh", labels["zh"]) == "“经度、纬度”超出本区域范围，请选择区域内的位置。"
    assert explain(err, "en", labels["en"]).startswith("“Longitude, Latitude” is outside")


def test_load_meta_and_station_name(live_server: str, tmp_path: Path, air: dict,
                                   as_commander) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(live_server, tmp_path)
    meta = load_meta(settings)
    assert meta["error"] is None
    incidents = requests.get(f"{live_server}/ogc/collections/incidents/items?f=json&limit=1000",
                             headers=as_commander.headers, timeout=30).json()["features"]
    assert {f["properties"]["incident_id"] for f in meta["incidents"]} == {
        f["properties"]["incident_id"] for f in incidents}
    desc = requests.get(f"{live_server}/ogc/processes/incident-assessment?f=json",
                        headers=as_commander.headers, timeout=30).json()
    assert meta["enum"] == desc["inputs"]["pollutant"]["schema"]["enum"]
    ext = requests.get(f"{live_server}/ogc/collections/air_hourly?f=json", timeout=30).json()
    assert meta["end"] == beijing(ext["extent"]["temporal"]["interval"][0][1])
    code = air["summary"]["wind"]["source"]
    station = requests.get(f"{live_server}/ogc/collections/air_stations/items/{code}?f=json",
                           timeout=30).json()
    assert station_name(settings, air) == station["properties"]["name"]
    assert station_name(settings, {"summary": {"wind": None}}) is None
    # Without a server every read fails softly, the incidents one in words.
    gone = load_meta(Settings(data_dir=tmp_path, port=free_port()))
    assert gone["incidents"] == [] and gone["enum"] is None and gone["end"] is None
    assert gone["error"]["zh"] == "无法连接到服务器。"


def _incident(kind: str, pollutant: str, time: str = "2025-07-24T12:10:00Z") -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [117.1, 31.7]},
            "properties": {"incident_id": f"SJ-{kind}", "title": "肥西县危化品运输车辆侧翻泄漏",
                           "time": time, "type": kind, "level": "IV", "status": "closed",
                           "pollutant": pollutant}}


def test_incident_fill() -> None:
    water = incident_fill(_incident("water", "COD、氨氮"), "air", None)
    assert (water["medium"], water["pollutant"], water["note"]) == ("water", "cod", None)
    assert (water["lon"], water["lat"], water["time"]) == (117.1, 31.7, "2025-07-24 20:10")
    air = incident_fill(_incident("air", "SO₂、NOx"), "water", None)
    assert (air["medium"], air["pollutant"]) == ("air", "so2")
    # A chemical spill of a substance assessed in both media keeps the chosen medium…
    assert incident_fill(_incident("chemical", "甲苯"), "water", None)["medium"] == "water"
    assert incident_fill(_incident("chemical", "甲苯"), "air", None)["medium"] == "air"
    # …and one assessed only in water switches to it.
    assert incident_fill(_incident("chemical", "六价铬"), "air", None)["medium"] == "water"
    unknown = incident_fill(_incident("water", "溶解氧"), "air", None)
    assert (unknown["medium"], unknown["pollutant"], unknown["note"]) == (
        "water", None, "em_note_no_pollutant")
    # A pollutant the server does not offer counts as unknown.
    assert incident_fill(_incident("air", "SO₂"), "air", ["cl2"])["pollutant"] is None


def test_incident_options() -> None:
    feats = [_incident("water", "COD", "2025-02-01T00:00:00Z"),
             _incident("air", "SO₂", "2025-09-01T00:00:00Z")]
    zh = incident_options(feats, "zh")
    assert [o["value"] for o in zh] == ["SJ-air", "SJ-water"]  # newest first
    assert zh[0]["label"] == "肥西县危化品运输车辆侧翻泄漏 · 2025-09-01 08:00 · 已结束"
    en = incident_options(feats, "en")
    assert en[0]["label"] == "SJ-air · Air · 2025-09-01 08:00 · Closed"


def test_small_labels() -> None:
    assert name_or_code("巢湖西半湖取水口", "QSK03", "zh") == "巢湖西半湖取水口"
    assert name_or_code("巢湖西半湖取水口", "QSK03", "en") == "QSK03"
    assert kind_label("receptor", "school", "en") == "School"
    assert kind_label("water_source_zone", "primary", "zh") == "一级保护区"
    assert kind_label("protected_area", "wetland_park", "en") == "Wetland park"
    assert compass(151, "en") == "SSE" and compass(351, "zh") == "北" and compass(90, "en") == "E"
    marker = location_feature("117.2", 31.8, "en")["features"][0]
    assert marker["geometry"]["coordinates"] == [117.2, 31.8]
    assert marker["properties"]["_tip"] == "Incident location 117.20000, 31.80000"
    assert location_feature(None, 31.8, "zh") is None
    assert location_feature(200, 31.8, "zh") is None


# --- a real water result ------------------------------------------------------------------

def test_water_view(water: dict) -> None:
    view = view_model(water, report_lang="en")
    assert view is not None and view["report_id"] == water["report_id"]
    assert view["report_lang"] == "en"
    assert {f["properties"]["role"] for f in view["features"]} >= {"ring", "trace", "intake",
                                                                   "section"}
    minx, miny, maxx, maxy = view["bounds"]
    assert minx < WATER["lon"] < maxx and miny < WATER["lat"] < maxy
    assert view_model({"error": 1}) is None
    assert view_model({**water, "report_id": "../x"})["report_id"] is None

    table = water["tables"]["downstream"]
    assert any(r["kind"] == "intake" for r in table)
    rows = downstream_rows(view, "en")
    assert [r["id"] for r in rows] == [r["id"] for r in sorted(table,
                                                               key=lambda r: r["arrival_h"])]
    by_id = {r["id"]: r for r in table}
    for r in rows:
        assert r["hours"] == f"{by_id[r['id']]['arrival_h']:.1f}" == hours(
            by_id[r["id"]]["arrival_h"])
        assert r["name"] == r["id"] and r["kind_label"] in ("Intake", "Section")
    zh = downstream_rows(view, "zh")
    assert {r["name"] for r in zh} == {r["name"] for r in table}
    assert {r["kind_label"] for r in zh} <= {"取水口", "断面"}

    first = water["summary"]["first_intake"]
    assert f"{first['arrival_h']:.1f}" in headline(view, "zh")
    assert first["name"] in headline(view, "zh")
    assert first["id"] in headline(view, "en") and not CJK.search(headline(view, "en"))
    lines = summary_lines(view, "en")
    assert lines[0].startswith("Toluene C₇H₈ 5,000 kg · Water · 2025-06-01 10:20")
    assert any("Traced" in line for line in lines)

    trace_kinds = [k for k, _c, _l in legend_items(view, "zh")]
    assert "trace" in trace_kinds and "intake" in trace_kinds and "plume" not in trace_kinds


def test_water_receptors_and_suspects(water: dict) -> None:
    view = view_model(water)
    groups = receptor_groups(view, "zh")
    rings = water["tables"]["rings"]
    assert len(groups) >= len(rings)
    for (title, rows), ring in zip(groups, rings, strict=False):
        assert f"{ring['population']:,.0f}" in title
        assert {r["id"] for r in rows} == {r["id"] for r in water["tables"]["receptors"]
                                           if r["ring_m"] == ring["ring_m"]}
    sus = suspect_rows(view, "en")
    assert len(sus) == min(10, len(water["tables"]["suspects"]))
    assert sus[0]["rank"] == "1" and sus[0]["code"] == water["tables"]["suspects"][0][
        "source_id"]


def test_render_in_both_languages(water: dict, air: dict) -> None:
    for result in (water, air):
        view = view_model(result)
        out = render_outputs(view, "en", "/")
        text = _text(out[0]) + json.dumps(out[1:], ensure_ascii=False)
        assert not CJK.search(text), sorted(set(CJK.findall(text)))
        zh = _text(render_outputs(view, "zh", "/")[0])
        assert "缓冲圈内敏感目标" in zh and "疑似污染源" in zh and "导出" in zh
    zh = _text(render_outputs(view_model(water), "zh", "/")[0])
    assert "下游取水口与断面" in zh and "沿程 km" in zh
    assert "上风向" not in zh  # upwind means nothing for a release to water…
    assert "上风向" in _text(render_outputs(view_model(air), "zh", "/")[0])  # …it does in air
    assert render_outputs(None, "zh", "/") == ([], None, None, None)


def test_air_plume_map_and_legend(air: dict) -> None:
    view = view_model(air)
    areas, trace, points = map_data(view, "en")
    assert trace is None
    plumes = [f for f in areas["features"] if f["properties"]["role"] == "plume"]
    expected = [f for f in air["features"]["features"] if f["properties"]["role"] == "plume"]
    assert len(plumes) == len(expected) > 0
    levels = [r["level"] for r in air["tables"]["plume"]]
    colours = dict(zip(levels, PLUME_COLORS[-len(levels):], strict=True))
    for f in plumes:  # the map's colour is the legend's colour
        assert f["properties"]["_color"] == colours[f["properties"]["level"]]
    legend = {label: colour for kind, colour, label in legend_items(view, "en") if kind == "plume"}
    assert len(legend) == len(plumes)
    assert set(legend.values()) == {f["properties"]["_color"] for f in plumes}
    assert {f["properties"]["_kind"] for f in points["features"]} <= {"receptor", "suspect"}
    lines = summary_lines(view, "en")
    wind = air["summary"]["wind"]
    assert any(f"{wind['speed_m_s']:.1f} m/s from {wind['from_deg']:.0f}°" in x and
               wind["source"] in x for x in lines)
    assert any(x.startswith("Stability class ") for x in lines)


def test_csv(water: dict, air: dict) -> None:
    view = view_model(water)
    assert available(view) == [n for n in TABLES if water["tables"].get(n)]
    data = csv_bytes(view, "downstream", "zh")
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["类别", "编码", "名称"]
    assert len(rows) == 1 + len(water["tables"]["downstream"])
    first = water["tables"]["downstream"][0]
    assert rows[1][1] == first["id"] and rows[1][2] == first["name"]
    assert rows[1][0] in ("取水口", "断面") and float(rows[1][6]) == pytest.approx(
        first["arrival_h"], abs=0.01)
    en = list(csv.reader(io.StringIO(csv_bytes(view, "receptors", "en").decode("utf-8-sig"))))
    assert en[0][0] == "Category" and not CJK.search("".join(en[0]))
    assert len(en) == 1 + len(water["tables"]["receptors"])
    sus = csv_bytes(view_model(air), "suspects", "en").decode("utf-8-sig").splitlines()
    assert len(sus) == 1 + len(air["tables"]["suspects"])  # all of them, not the 10 shown
    assert filename(view, "downstream") == "incident-20250601-1020-downstream.csv"
    with pytest.raises(KeyError):
        csv_bytes(view, "nope", "zh")


def test_strings_complete() -> None:
    keys = [k for k in STRINGS["zh"] if k.startswith("em_")]
    assert keys and all(k in STRINGS["en"] for k in keys)
    assert not [k for k in keys if CJK.search(STRINGS["en"][k])]
    en, zh = dropdown_labels("en"), dropdown_labels("zh")
    assert en["search"] == "Search" and zh["search"] == "搜索" and set(en) == set(zh)
