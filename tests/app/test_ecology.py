"""The Ecology panel's pure helpers: NDVI date choices, input checks, and how an
``ecology-change`` result becomes the ranking, chart, map data and notes in each language.

The result below has the shape the process answers with (``/ogc/processes/ecology-change``: a
ranking row per area, role-tagged features, encroachment rows, a summary naming the approximated
EI indicators); the browser test checks the same path against the real server.
"""

from __future__ import annotations

import json
import re

import pytest
from dash.development.base_component import Component

from onemap.app.i18n import STRINGS
from onemap.app.panels.ecology_render import figure, note_text, render_outputs, table
from onemap.app.panels.ecology_text import area_label, change_label, has_cjk, kind_label
from onemap.app.panels.ecology_view import (
    area_meta,
    area_options,
    bbox,
    check_dates,
    date_options,
    default_pair,
    goto_area,
    goto_point,
    incident_detail,
    map_data,
    ndvi_choices,
    ndvi_step,
    view_model,
)

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def _step(dataset: str, label: str) -> dict:
    return {"datetime": label, "label": label, "dataset": dataset, "url": f"/raster/{dataset}/t",
            "point": ""}


NDVI = {"id": "ndvi", "kind": "raster", "family": "raster", "title": "植被指数 NDVI",
        "title_en": "Vegetation index (NDVI)", "colormap": "onemap_ndvi", "bands": ["ndvi"],
        "expression": "", "datasets": ["ndvi_2024_07", "ndvi_2025_01", "ndvi_2025_07",
                                       "ndvi_2025_10"],
        "steps": [_step("ndvi_2024_07", "2024-07"), _step("ndvi_2025_01", "2025-01"),
                  _step("ndvi_2025_07", "2025-07"), _step("ndvi_2025_10", "2025-10")]}
SCENE = {"id": "gf1", "kind": "raster", "family": "raster", "title": "高分一号", "title_en": "GF-1",
         "colormap": "onemap_ndvi", "bands": ["blue", "green", "red", "nir"],
         "expression": "(b4-b3)/(b4+b3)", "datasets": ["gf1"], "steps": []}
PM25 = {"id": "pm25", "kind": "raster", "family": "raster", "title": "PM2.5", "title_en": "",
        "colormap": "onemap_pm25", "bands": ["pm25"], "expression": "", "datasets": ["pm25"],
        "steps": [_step("pm25", "2025-01-21 00:00"), _step("pm25", "2025-01-21 01:00")]}
RED_LINES = {"id": "red_lines", "kind": "vector", "family": "red_lines"}
SPECS = [RED_LINES, NDVI, SCENE, PM25]


def _square(x: float, y: float, d: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d],
                                                [x, y]]]}


def _row(aid: str, name: str, loss: float, rank: int, grade: str, direction: str,
         label: str) -> dict:
    return {"area_id": aid, "name": name, "ndvi_before": 0.6894, "ndvi_after": 0.6703,
            "ndvi_change": -0.0191, "ei_before": 71.71, "ei_after": 70.52,
            "ei_grade_before": "good", "ei_grade_after": "good", "ei_change": -1.19,
            "ei_change_grade": grade, "ei_change_direction": direction,
            "ei_change_label": label, "loss_km2": loss, "loss_patches": 1 if loss else 0,
            "rank": rank, "approximated": "bi,vi,wdi,lsi,pli", "eri_applied": False}


RESULT = {
    # The ranking is deliberately out of order: the panel sorts by loss itself.
    "ranking": [
        _row("HX-015", "巢湖南岸岸线生态保护区", 0.0, 3, "none", "stable", "无明显变化"),
        _row("HX-008", "浮槎山水土保持区", 1.6113, 1, "slight", "worse", "略微变差"),
        _row("HX-005", "紫蓬山生物多样性维护区", 1.3141, 2, "obvious", "worse", "明显变差"),
    ],
    "features": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _square(117.0, 31.5, 0.1),
         "properties": {"role": "area", "area_id": "HX-008"}},
        {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [
            _square(117.2, 31.7, 0.05)["coordinates"], _square(117.3, 31.8, 0.05)["coordinates"]]},
         "properties": {"role": "area", "area_id": "HX-005"}},
        {"type": "Feature", "geometry": _square(117.6, 31.4, 0.1),
         "properties": {"role": "area", "area_id": "HX-015"}},
        {"type": "Feature", "geometry": _square(117.02, 31.52, 0.01),
         "properties": {"role": "loss", "area_id": "HX-008", "patch": 1, "area_m2": 1611300.0,
                        "mean_change": -0.6012}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [117.21, 31.72]},
         "properties": {"role": "pollution_source", "area_id": "HX-005",
                        "feature_id": "91340103MA4WAD5HGP001P", "name": "合肥鑫达涂料有限公司"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [117.65, 31.45]},
         "properties": {"role": "incident", "area_id": "HX-015", "feature_id": "SJ20250015",
                        "name": "巢湖市河道死鱼事件"}},
    ]},
    "encroachment": [
        {"area_id": "HX-005", "kind": "pollution_source", "feature_id": "91340103MA4WAD5HGP001P",
         "name": "合肥鑫达涂料有限公司", "detail": "涂料制造", "time": None, "lon": 117.21,
         "lat": 31.72},
        {"area_id": "HX-015", "kind": "incident", "feature_id": "SJ20250015",
         "name": "巢湖市河道死鱼事件", "detail": "water IV", "time": "2025-07-10T20:45:00+08:00",
         "lon": 117.65, "lat": 31.45},
    ],
    "summary": {"before": "ndvi_2024_07", "after": "ndvi_2025_07", "loss_threshold": -0.2,
                "min_pixels": 4, "total_loss_km2": 2.9254,
                "approximated": ["bi", "vi", "wdi", "lsi", "pli"], "eri_applied": False},
}
ITEMS = [{"id": "HX-008", "properties": {"redline_id": "HX-008", "name": "浮槎山水土保持区",
                                         "function": "soil_conservation"}},
         {"id": "HX-005", "properties": {"redline_id": "HX-005", "name": "紫蓬山生物多样性维护区",
                                         "function": "biodiversity"}},
         {"id": "HX-015", "properties": {"redline_id": "HX-015", "name": "巢湖南岸岸线生态保护区",
                                         "function": "shoreline"}}]


def _view() -> dict:
    return view_model(RESULT, "red_lines", area_meta(ITEMS, "red_lines"))


def _text(component: object) -> str:
    """All the text a component tree would show (children strings, depth first)."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    if isinstance(component, Component):
        return _text(getattr(component, "children", None) or [])
    return ""


# --- inputs ---------------------------------------------------------------------------------

def test_ndvi_choices_are_single_band_ndvi_steps_by_date() -> None:
    choices = ndvi_choices(SPECS)
    # The 4-band scene (an NDVI expression, refused by the process) and the PM2.5 cube are out.
    assert [c["value"] for c in choices] == ["ndvi_2024_07", "ndvi_2025_01", "ndvi_2025_07",
                                             "ndvi_2025_10"]
    assert date_options(choices, "en")[0] == {"label": "2024-07", "value": "ndvi_2024_07"}


def test_default_pair_is_the_same_month_a_year_apart() -> None:
    assert default_pair(ndvi_choices(SPECS)) == ("ndvi_2024_07", "ndvi_2025_07")
    # Without a year-apart pair: oldest against newest; with fewer than two: nothing.
    spring = {**NDVI, "steps": NDVI["steps"][1:]}
    assert default_pair(ndvi_choices([spring])) == ("ndvi_2025_01", "ndvi_2025_10")
    assert default_pair(ndvi_choices([PM25])) == (None, None)


def test_check_dates_says_what_is_wrong_in_each_language() -> None:
    choices = ndvi_choices(SPECS)
    assert check_dates("ndvi_2024_07", "ndvi_2025_07", choices, "zh") is None
    same = check_dates("ndvi_2025_07", "ndvi_2025_07", choices, "zh")
    assert same and "同一期" in same and "2025-07" in same
    same_en = check_dates("ndvi_2025_07", "ndvi_2025_07", choices, "en")
    assert same_en and "same raster (2025-07)" in same_en and not CJK.search(same_en)
    order = check_dates("ndvi_2025_10", "ndvi_2024_07", choices, "en")
    assert order and "2025-10" in order and "later" in order
    assert "选择" in (check_dates(None, "ndvi_2025_07", choices, "zh") or "")


def test_area_options_name_the_areas_in_either_language() -> None:
    zh = area_options(ITEMS, "red_lines", "zh")
    en = area_options(ITEMS, "red_lines", "en")
    assert {"label": "浮槎山水土保持区", "value": "HX-008"} in zh
    assert {"label": "HX-008 · Soil conservation", "value": "HX-008"} in en
    assert not any(CJK.search(o["label"]) for o in en)


def test_labels() -> None:
    assert area_label("HX-008", "浮槎山水土保持区", "zh") == "浮槎山水土保持区"
    assert area_label("HX-008", "浮槎山水土保持区", "en") == "HX-008"
    assert area_label("PA9", "Fucha Forest Park", "en") == "Fucha Forest Park"
    assert kind_label("protected_areas", "forest_park", "en") == "Forest park"
    assert kind_label("red_lines", "biodiversity", "zh") == "生物多样性维护"
    row = {"ei_change_grade": "slight", "ei_change_direction": "worse",
           "ei_change_label": "略微变差"}
    assert change_label(row, "zh") == "略微变差"  # the process's own phrase
    assert change_label(row, "en") == "slightly worse"
    assert change_label({**row, "ei_change_label": None}, "zh") == "略微变差"
    assert change_label({"ei_change_grade": "none", "ei_change_direction": "stable"},
                        "en") == "no obvious change"
    assert incident_detail("water IV", "zh") == "水污染 · 一般（Ⅳ级）"
    assert incident_detail("water IV", "en") == "Water · General (IV)"


def test_every_panel_string_exists_in_both_languages() -> None:
    keys = {k for k in STRINGS["zh"] if k.startswith("eco_")}
    assert keys and keys == {k for k in STRINGS["en"] if k.startswith("eco_")}
    assert not [k for k in keys if CJK.search(STRINGS["en"][k])]


# --- results --------------------------------------------------------------------------------

def test_view_model_sorts_by_loss_and_keeps_kind_and_bbox() -> None:
    view = _view()
    assert [r["area_id"] for r in view["rows"]] == ["HX-008", "HX-005", "HX-015"]
    first = view["rows"][0]
    assert first["kind"] == "soil_conservation"
    assert first["bbox"] == pytest.approx([117.0, 31.5, 117.1, 31.6])
    assert view["rows"][1]["bbox"] == pytest.approx([117.2, 31.7, 117.35, 31.85])
    assert view["approximated"] == ["bi", "vi", "wdi", "lsi", "pli"]
    # Incidents are listed before sources.
    assert [e["kind"] for e in view["encroachment"]] == ["incident", "pollution_source"]
    assert bbox(None) is None and bbox({"type": "Point", "coordinates": [1, 2]}) == [1, 2, 1, 2]


def test_table_shows_the_ranking_with_labels_and_rounded_loss() -> None:
    zh = _text(table(_view(), "zh"))
    assert zh.index("浮槎山水土保持区") < zh.index("紫蓬山生物多样性维护区")
    for word in ("水土保持", "1.61", "1.31", "0.689 → 0.670", "-0.019", "71.7 → 70.5 (良)",
                 "略微变差", "明显变差", "红线 / 主导功能"):
        assert word in zh, word
    en = _text(table(_view(), "en"))
    assert not CJK.search(en), CJK.findall(en)
    for word in ("HX-008", "Soil conservation", "(good)", "slightly worse", "obviously worse"):
        assert word in en, word


def test_figure_bars_only_the_areas_with_loss_largest_on_top() -> None:
    fig = figure(_view(), "en")
    assert fig is not None
    bar = fig["data"][0]
    assert bar["customdata"] == ["HX-005", "HX-008"]  # plotly draws the last on top
    assert bar["x"] == [1.3141, 1.6113]
    assert fig["layout"]["title"]["text"] == "Vegetation loss per area"
    assert not CJK.search(json.dumps(fig, ensure_ascii=False))
    assert "减少面积" in json.dumps(figure(_view(), "zh"), ensure_ascii=False)
    assert figure({"rows": [{**_view()["rows"][2]}]}, "zh") is None


def test_map_data_carries_tooltips_in_the_language() -> None:
    areas, losses, points = map_data(RESULT, _view(), "en")
    hit = {f["properties"]["area_id"]: f["properties"]["_hit"] for f in areas["features"]}
    assert hit == {"HX-008": True, "HX-005": True, "HX-015": False}
    assert len(losses["features"]) == 1
    assert "1.61 km²" in losses["features"][0]["properties"]["_tip"]
    assert {f["properties"]["kind"] for f in points["features"]} == {"pollution_source",
                                                                      "incident"}
    assert not CJK.search(json.dumps([areas, losses, points], ensure_ascii=False))
    _, losses_zh, _ = map_data(RESULT, _view(), "zh")
    assert "浮槎山水土保持区" in losses_zh["features"][0]["properties"]["_tip"]


def test_render_outputs_in_english_has_no_chinese() -> None:
    out = render_outputs(_view(), RESULT, SPECS, "en")
    text = _text(out[0]) + _text(out[1]) + str(out[2]) + _text(out[4])
    assert not CJK.search(text), CJK.findall(text)
    assert "approximated" in text and "biological abundance BI" in text and "ERI" in text
    assert "2 of 3 areas lost vegetation" in text and "2.93 km²" in text
    assert "Show the after NDVI on the map (2025-07)" in text
    zh = _text(render_outputs(_view(), RESULT, SPECS, "zh")[0])
    assert "近似估算" in zh and "生物丰度指数 BI" in zh and "未计入环境限制指数 ERI" in zh
    # Nothing stored: everything empty, the map layers cleared.
    empty = render_outputs(None, None, SPECS, "zh")
    assert empty[0] == [] and empty[-1]["features"] == []


def test_note_text() -> None:
    assert note_text(None, SPECS, "en") == ("", "om-eco-msg")
    msg, cls = note_text(None, [PM25], "en")
    assert "NDVI" in msg and "om-error" in cls
    msg, _ = note_text({"key": "dates", "zh": "前期…", "en": "Before…"}, SPECS, "en")
    assert msg == "Before…"


def test_goto_frames_the_area_and_switches_its_layer_on() -> None:
    view = _view()
    target = goto_area(view, "HX-008", SPECS)
    assert target is not None and target["layers"] == ["red_lines"]
    minx, miny, maxx, maxy = target["bounds"]
    # Padded around the area, centred on it.
    assert minx < 117.0 and maxx > 117.1 and miny < 31.5 and maxy > 31.6
    assert (minx + maxx) / 2 == pytest.approx(117.05) and (miny + maxy) / 2 == pytest.approx(31.55)
    assert goto_area(view, "nope", SPECS) is None
    assert goto_point(view, 0) == {"center": [31.45, 117.65], "zoom": 15}
    assert goto_point(view, 9) is None


def test_ndvi_step_finds_the_series_row_and_step() -> None:
    assert ndvi_step(SPECS, "ndvi_2025_07") == ("ndvi", 2)
    assert ndvi_step(SPECS, "gf1") == ("gf1", 0)
    assert ndvi_step(SPECS, "missing") is None


def test_has_cjk() -> None:
    assert has_cjk("浮槎山") and has_cjk("（") and not has_cjk("HX-008 · km² ΔNDVI → ≤")
