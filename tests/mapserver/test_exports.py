"""``GET /api/exports/map.html``: the map's view as a standalone offline HTML map.

Against the real server on the sample region: the page holds exactly the features of the view
(counted independently through the OGC API), coloured by the same rules as the app, worded in
the requested language, loads nothing from the network, and refuses bad requests in words.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from onemap.access.principal import make
from onemap.config import Settings
from onemap.mapserver.export_labels import feature_style, popup_fields, value_text
from onemap.mapserver.exports import export_view
from onemap.styles.symbology import aqi_color
from tests.conftest import Caller

pytestmark = [pytest.mark.server]

URL = "/api/exports/map.html"
LAYERS = ["admin_boundaries", "water_bodies", "rivers", "protected_areas", "pollution_sources",
          "water_sections", "air_stations", "incidents"]
BBOX = (117.0, 31.5, 117.6, 31.95)
HAN = re.compile(r"[\u3400-\u9fff]")
#: These tests export internal layers too, as a viewer of the whole territory (what each role
#: and region may export is tests/access/test_matrix.py's subject).
HTTP = requests.Session()
VIEWER = make("viewer", {"viewer"})


@pytest.fixture(scope="module", autouse=True)
def _as_viewer(callers: dict[str, Caller]) -> None:
    HTTP.headers.update(callers["viewer"].headers)


def _get(base: str, **params: str) -> requests.Response:
    return HTTP.get(base + URL, params=params, timeout=120)


def _meta(page: str) -> dict:
    return json.loads(re.search(r'id="om-export-meta">([^<]+)<', page).group(1))


def _payloads(page: str) -> list[dict]:
    """The data of every drawn layer, in drawing order (``omExport.layer({...})``)."""
    return [json.loads(m) for m in re.findall(r"omExport\.layer\((\{.*?\})\);\n", page)]


def _positions(coords: list) -> list[list[float]]:
    """Every [x, y] of a (Multi)Polygon/LineString coordinate array."""
    if coords and isinstance(coords[0], int | float):
        return [coords]
    return [p for c in coords for p in _positions(c)]


def _block(page: str, element_id: str) -> str:
    return re.search(rf'<div id="{element_id}" class="om-box">(.*?)</div>(?=<div id=|<script)',
                     page, re.S).group(1)


@pytest.fixture(scope="module")
def pages(live_server: str) -> dict[str, str]:
    out = {}
    for lang in ("zh", "en"):
        resp = _get(live_server, layers=",".join(LAYERS), bbox=",".join(map(str, BBOX)),
                    lang=lang)
        assert resp.status_code == 200, resp.text[:300]
        assert resp.headers["content-type"].startswith("text/html")
        assert re.fullmatch(r'attachment; filename="onemap-\d{4}-\d{2}-\d{2}\.html"',
                            resp.headers["content-disposition"])
        out[lang] = resp.text
    return out


def test_export_holds_exactly_the_view(live_server: str, pages: dict[str, str]) -> None:
    page = pages["zh"]
    meta = _meta(page)
    assert meta["bbox"] == list(BBOX)
    # Drawn bottom to top like the app: polygons, then lines, then points.
    assert [m["id"] for m in meta["layers"]] == [
        "admin_boundaries", "water_bodies", "rivers", "protected_areas", "pollution_sources",
        "water_sections", "air_stations", "incidents"]
    data = dict(zip([m["id"] for m in meta["layers"]], _payloads(page), strict=True))
    for layer in meta["layers"]:
        n = HTTP.get(f"{live_server}/ogc/collections/{layer['id']}/items",
                     params={"f": "json", "bbox": ",".join(map(str, BBOX)), "limit": 1},
                     timeout=60).json()["numberMatched"]
        assert layer["count"] == n > 0 and not layer["capped"], (layer, n)
        assert len(data[layer["id"]]["geojson"]["features"]) == n
    minx, miny, maxx, maxy = BBOX
    for lid in ("pollution_sources", "water_sections", "air_stations", "incidents"):
        for f in data[lid]["geojson"]["features"]:
            x, y = f["geometry"]["coordinates"]
            assert minx <= x <= maxx and miny <= y <= maxy
    # Polygons are cut to a margin around the view, not shipped whole.
    ring = [c for f in data["admin_boundaries"]["geojson"]["features"]
            for c in _positions(f["geometry"]["coordinates"])]
    assert min(c[0] for c in ring) >= minx - 0.151 and max(c[1] for c in ring) <= maxy + 0.1126
    # Nothing is loaded from the network: Leaflet is inlined.
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert "L.map(" in page and "omExport" in page


def test_symbols_follow_the_app_styles(live_server: str, pages: dict[str, str]) -> None:
    """A station is coloured by its latest AQI (HJ 633 colours), a section by its class."""
    data = dict(zip([m["id"] for m in _meta(pages["zh"])["layers"]], _payloads(pages["zh"]),
                    strict=True))
    items = HTTP.get(f"{live_server}/ogc/collections/air_stations/items",
                     params={"f": "json", "limit": 1000}, timeout=60).json()["features"]
    aqi = {f["properties"]["name"]: f["properties"]["aqi"] for f in items}
    stations = data["air_stations"]
    for f in stations["geojson"]["features"]:
        style = stations["styles"][f["properties"]["s"]]
        assert style["fillColor"] == aqi_color(aqi[f["properties"]["t"]])
        assert style["radius"] == 8 and style["color"] == "#333333"
    sections = data["water_sections"]
    assert {s["fillColor"] for s in sections["styles"]} <= {
        "#1565C0", "#42A5F5", "#43A047", "#FDD835", "#FB8C00", "#E53935", "#9E9E9E"}
    admin = data["admin_boundaries"]["styles"]
    assert admin == [{"color": "#5D4037", "weight": 1.2, "dashArray": "6 3", "fill": True,
                      "fillColor": "#FAF6EE", "fillOpacity": 1.0}]


def _colours(page: str) -> dict[str, str]:
    """Station name → fill colour in an export of the air stations only."""
    (stations,) = _payloads(page)
    return {f["properties"]["t"]: stations["styles"][f["properties"]["s"]]["fillColor"]
            for f in stations["geojson"]["features"]}


def test_stations_at_the_map_hour(live_server: str) -> None:
    """With the time bar's hour, each station takes the AQI the ``aqi-hourly`` process gives
    for that hour (grey where it has no valid value), and the page says which hour it is."""
    hour = "2025-01-22T00:00:00Z"  # 08:00 Beijing time, in the January haze week
    answer = HTTP.post(f"{live_server}/ogc/processes/aqi-hourly/execution",
                       json={"inputs": {"time": hour}}, timeout=60).json()
    by_name = {f["properties"]["name"]: f["properties"]["aqi"]
               for f in answer["stations"]["features"]}
    resp = _get(live_server, layers="air_stations", bbox="116.5,30.8,118.3,32.3", lang="zh",
                time=hour)
    assert resp.status_code == 200, resp.text[:300]
    colours = _colours(resp.text)
    assert len(colours) >= 10
    for name, fill in colours.items():
        assert fill == aqi_color(by_name.get(name)), (name, fill, by_name.get(name))
    latest = _colours(_get(live_server, layers="air_stations", bbox="116.5,30.8,118.3,32.3",
                           lang="zh").text)
    assert latest.keys() == colours.keys() and latest != colours  # the hour, not the latest
    head = _block(resp.text, "om-head")
    assert "按 2025-01-22 08:00（北京时间）该小时的 AQI" in head, head
    assert _meta(resp.text)["time"] == "2025-01-22T08:00:00+08:00"
    bad = _get(live_server, layers="air_stations", bbox="117,31.5,117.6,31.95",
               time="2025-01-22 08:00")
    assert bad.status_code == 400 and "needs a zone" in bad.json()["detail"]


def test_words_in_the_requested_language(pages: dict[str, str]) -> None:
    zh, en = pages["zh"], pages["en"]
    assert '<html lang="zh-CN">' in zh and "<title>OneMap 生态环境一张图 · 地图导出</title>" in zh
    legend = _block(zh, "om-legend")
    for word in ("空气质量监测站", "优", "良", "Ⅲ类", "劣Ⅴ类", "重点管理", "一般（Ⅳ级）"):
        assert word in legend, word
    assert "最新一小时的 AQI" in _block(zh, "om-head")
    incidents = _payloads(zh)[-1]
    assert [f[0] for f in incidents["fields"]][:3] == ["事件编号", "发生时间", "事件类型"]
    status = incidents["fields"].index(["处置状态", ""])
    assert {f["properties"]["v"][status] for f in incidents["geojson"]["features"]} <= {
        "已报告", "处置中", "已结束"}

    assert '<html lang="en">' in en and "<title>OneMap · Map export</title>" in en
    head, legend = _block(en, "om-head"), _block(en, "om-legend")
    for word in ("Air quality stations", "Excellent", "Class III", "Worse than V",
                 "Key management", "General (IV)"):
        assert word in legend, word
    assert not HAN.search(head + legend), HAN.findall(head + legend)
    for layer in _payloads(en):  # labels in English; Chinese only in data values (names)
        assert not HAN.search(layer["title"] + json.dumps(layer["fields"], ensure_ascii=False))
    incidents = _payloads(en)[-1]
    status = incidents["fields"].index(["Status", ""])
    assert {f["properties"]["v"][status] for f in incidents["geojson"]["features"]} <= {
        "Reported", "Responding", "Closed"}


@pytest.mark.parametrize(("params", "status", "word"), [
    ({"layers": "no_such_layer"}, 404, "no layer 'no_such_layer'"),
    ({"layers": "../store/air_stations"}, 400, "is not a layer id"),
    ({"layers": "ndvi_2025_07"}, 400, "not a vector layer"),
    ({"layers": ""}, 400, "at least one layer"),
    ({"layers": ",".join(["air_stations"] + [f"l{i}" for i in range(40)])}, 400, "at most"),
    ({"bbox": "117,31,116,32"}, 400, "bbox"),
    ({"bbox": "a,b,c,d"}, 400, "4 numbers"),
    ({"bbox": ""}, 400, "bbox"),
    ({"lang": "fr"}, 400, "lang"),
])
def test_bad_requests_are_refused_in_words(live_server: str, params: dict[str, str],
                                           status: int, word: str) -> None:
    query = {"layers": "air_stations", "bbox": "117,31.5,117.6,31.95", "lang": "zh", **params}
    resp = _get(live_server, **query)
    assert resp.status_code == status
    body = resp.json()
    assert body["code"] == ("NotFound" if status == 404 else "InvalidParameterValue")
    assert word in body["detail"]


def test_a_big_view_is_capped_with_a_note(sample_settings: Settings) -> None:
    small = replace(sample_settings, app_max_features=50)
    page = export_view(small, "pollution_sources,air_stations", "116.5,30.8,118.3,32.3", "zh",
                       principal=VIEWER)
    meta = {m["id"]: m for m in _meta(page)["layers"]}
    assert meta["pollution_sources"] == {"id": "pollution_sources", "count": 50, "capped": True}
    assert meta["air_stations"]["capped"] is False
    assert "污染源：视图内要素超过 50 个，只导出了前 50 个" in _block(page, "om-head")
    page = export_view(small, "pollution_sources", "116.5,30.8,118.3,32.3", "en",
                       principal=VIEWER)
    assert "more than 50 features in the view, only the first 50" in _block(page, "om-head")


def test_values_read_like_the_app() -> None:
    assert value_text("air_stations", "aqi_level", 2, "zh") == "良"
    assert value_text("air_stations", "aqi_level", 2, "en") == "Good"
    assert value_text("water_sections", "water_class", "V+", "zh") == "劣Ⅴ类"
    assert value_text("incidents", "status", "responding", "zh") == "处置中"
    assert value_text("incidents", "status", "responding", "en") == "Responding"
    assert value_text("air_stations", "station_type", "national", "zh") == "国控"
    assert value_text("pollution_sources", "so2_t", 12.3456, "en") == "12.346"
    assert value_text("water_sections", "exceeding", "tp:0.29,nh3n:4.99", "en") == \
        "Total phosphorus 0.29; Ammonia nitrogen 4.99"
    assert feature_style("air_stations", {"aqi": 120})["fillColor"] == "#FF7E00"
    assert feature_style("air_stations", {"aqi": None})["fillColor"] == "#9E9E9E"
    assert feature_style("water_sections", {"water_class": "II"})["fillColor"] == "#42A5F5"
    assert feature_style("protected_areas", {"category": "geopark"})["color"] == "#A1887F"
    title, fields = popup_fields("air_stations", ["name", "station_id", "aqi", "time", "pm25"],
                                 "en")
    assert title == "name"
    assert fields == [["aqi", "AQI", ""], ["time", "Time", ""],
                      ["station_id", "Station code", ""], ["pm25", "PM2.5", "µg/m³"]]


@pytest.mark.browser
def test_opens_offline_in_a_browser(pages: dict[str, str], browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """From a file, network cut off: every feature is drawn, popups in English, no errors."""
    from tests.browsing import watch

    path = tmp_path / "view-en.html"
    path.write_text(pages["en"], encoding="utf-8")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    traffic = watch(page)
    blocked: list[str] = []
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
               else (blocked.append(r.request.url), r.abort()))
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
    drawn = page.evaluate("() => document.querySelectorAll('path.leaflet-interactive').length"
                          " + document.querySelectorAll('.leaflet-marker-icon').length")
    assert drawn == sum(m["count"] for m in _meta(pages["en"])["layers"])
    page.evaluate("() => document.querySelector('.leaflet-marker-icon').click()")
    popup = page.wait_for_selector(".leaflet-popup-content .om-popup").inner_text()
    assert "Environmental incidents" in popup and "Status" in popup and "Level" in popup
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("km", "m"))
    assert blocked == [] and traffic.console_errors == []
    page.close()
