"""Raster entries of the layer list: series folding, URLs, time labels, and what the layer
callback draws and rebuilds (pure functions over the ``/api/rasters`` contract's JSON)."""

from __future__ import annotations

import json

import dash

from onemap.app.dashapp import rebuild_rasters, update_layers
from onemap.app.legend import legend_panel
from onemap.app.raster_list import raster_rows
from onemap.app.rasters import named_expression, raster_entries, relative, step_of, time_label

PUB = "https://gis.example/onemap"


def _tiles(dataset: str, extra: str = "") -> str:
    return (f"{PUB}/raster/{dataset}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?"
            f"colormap_name=onemap_ndvi&rescale=-0.2%2C1.0{extra}")


def _raster(dataset: str, date: str, collection: str, **kw: object) -> dict:
    return {"id": dataset, "kind": "raster", "title": f"植被指数 NDVI {date}",
            "title_en": f"NDVI {date}", "date": date, "collection": collection,
            "bounds": [117.0, 31.0, 118.0, 32.0], "bands": [{"index": 1, "name": "ndvi"}],
            "colormap": "onemap_ndvi", "rescale": [-0.2, 1.0], "expression": None,
            "unit": None, "tiles": _tiles(dataset),
            "point": f"{PUB}/raster/{dataset}/point/{{lon}},{{lat}}",
            "legend": f"{PUB}/api/legends/onemap_ndvi", **kw}


def _step(dataset: str, when: str) -> dict:
    return {"datetime": when, "dataset": dataset, "tiles": _tiles(dataset),
            "point": f"{PUB}/raster/{dataset}/point/{{lon}},{{lat}}"}


SCENE = _raster("scene_1", "2025-06-15", "scene_1", title="测试影像",
                bands=[{"index": i, "name": n} for i, n in
                       enumerate(["blue", "green", "red", "nir"], start=1)],
                expression="(b4-b3)/(b4+b3)", tiles=_tiles("scene_1", "&expression=x"))
CUBE_TIMES = ["2025-01-10T00:00:00Z", "2025-01-10T01:00:00Z", "2025-01-10T02:00:00Z"]
DOC = {
    "rasters": [_raster("ndvi_2025_10", "2025-10", "ndvi"), _raster("ndvi_2025_07", "2025-07",
                                                                   "ndvi"),
                SCENE,
                {**_raster("pm25", "", "pm25"), "kind": "cube", "colormap": "onemap_pm25",
                 "rescale": [0, 250], "unit": "µg/m³", "bands": []}],
    "series": [
        {"id": "ndvi", "title": "植被指数 NDVI", "title_en": "NDVI", "kind": "raster",
         "colormap": "onemap_ndvi", "rescale": [-0.2, 1.0], "unit": None,
         "steps": [_step("ndvi_2025_10", "2025-10"), _step("ndvi_2025_07", "2025-07")]},
        {"id": "scene_1", "title": "测试影像", "kind": "raster", "steps": [
            _step("scene_1", "2025-06-15")]},
        {"id": "pm25", "title": "PM2.5", "title_en": "PM2.5", "kind": "cube",
         "colormap": "onemap_pm25", "rescale": [0, 250], "unit": "µg/m³",
         "steps": [_step("pm25", t) for t in CUBE_TIMES]},
    ],
}


def _json(obj: object) -> str:
    """Components (nested) as JSON text, to look for ids and values in."""
    def enc(o: object) -> object:
        return o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o)
    return json.dumps(obj, default=enc, ensure_ascii=False)


def _specs(doc: dict = DOC) -> list[dict]:
    return [{**e, "kind": "raster", "family": "raster", "group": "remote_sensing",
             "z": 300 + i, "default_on": False} for i, e in enumerate(raster_entries(doc))]


def test_series_are_one_entry_with_sorted_steps() -> None:
    by_id = {e["id"]: e for e in raster_entries(DOC)}
    assert set(by_id) == {"ndvi", "pm25", "scene_1"}  # members are not listed again
    ndvi = by_id["ndvi"]
    assert [s["dataset"] for s in ndvi["steps"]] == ["ndvi_2025_07", "ndvi_2025_10"]
    assert ndvi["step"] == 1 and ndvi["url"] == ndvi["steps"][1]["url"]
    assert ndvi["datasets"] == ["ndvi_2025_07", "ndvi_2025_10"]
    assert ndvi["value_label"] == "NDVI" and ndvi["rescale"] == [-0.2, 1.0]
    # Relative to the page's origin, keeping the public path prefix.
    assert ndvi["url"].startswith("/onemap/raster/ndvi_2025_10/tiles/WebMercatorQuad/{z}/")
    pm = by_id["pm25"]
    assert pm["unit"] == "µg/m³" and pm["value_label"] == "PM2.5"
    assert [s["label"] for s in pm["steps"]] == ["2025-01-10 08:00", "2025-01-10 09:00",
                                                 "2025-01-10 10:00"]  # Beijing time
    scene = by_id["scene_1"]  # a one-step series is just the raster
    assert scene["steps"] == [] and scene["bands"] == ["blue", "green", "red", "nir"]
    assert scene["title"] == "测试影像（2025-06-15）"
    assert scene["point"] == "/onemap/raster/scene_1/point/{lon},{lat}"


def test_series_id_never_shadows_a_raster_outside_it() -> None:
    doc = {"rasters": [_raster("ndvi", "2024-01", "other"), _raster("a", "2025-01", "ndvi"),
                       _raster("b", "2025-02", "ndvi")],
           "series": [{"id": "ndvi", "steps": [_step("a", "2025-01"), _step("b", "2025-02")]}]}
    ids = [e["id"] for e in raster_entries(doc)]
    assert sorted(ids) == ["ndvi", "ndvi-series"]


def test_helpers() -> None:
    assert relative("http://h:1/a/b?x=1") == "/a/b?x=1" and relative("/a") == "/a"
    assert time_label("2025-07") == "2025-07"
    assert time_label("2025-01-10T16:00:00Z") == "2025-01-11 00:00"
    assert named_expression("(b4-b3)/(b4+b3)", ["blue", "green", "red", "nir"]) == \
        "(nir-red)/(nir+red)"
    spec = raster_entries(DOC)[0]
    assert step_of(spec, 0)["dataset"] == "ndvi_2025_07"
    assert step_of(spec, 99)["dataset"] == "ndvi_2025_10"  # clamped


def test_layers_follow_time_and_opacity() -> None:
    specs = _specs()
    panes = [(s["id"], []) for s in specs]
    out, legend, click = update_layers([], "zh", specs, {}, panes, {"ndvi": ["ndvi"]},
                                       {"ndvi": 0}, {"ndvi": 40})
    by_pane = dict(zip([p[0] for p in panes], out, strict=True))
    layer = by_pane["ndvi"][0].to_plotly_json()["props"]
    assert "/raster/ndvi_2025_07/tiles/" in layer["url"] and layer["opacity"] == 0.4
    assert by_pane["pm25"] is dash.no_update  # off and empty: untouched
    assert click["rasters"][0]["dataset"] == "ndvi_2025_07"
    assert click["rasters"][0]["point"].endswith("/raster/ndvi_2025_07/point/{lon},{lat}")
    text = _json(legend)
    assert "植被指数 NDVI · 2025-07" in text and "onemap_ndvi" in text
    # Same step and opacity again: nothing redrawn; another step: a new URL.
    drawn = [(s["id"], [by_pane[s["id"]][0].to_plotly_json()] if s["id"] == "ndvi" else [])
             for s in specs]
    again, _, _ = update_layers([], "zh", specs, {}, drawn, {"ndvi": ["ndvi"]}, {"ndvi": 0},
                                {"ndvi": 40})
    assert again[[p[0] for p in drawn].index("ndvi")] is dash.no_update
    moved, _, _ = update_layers([], "zh", specs, {}, drawn, {"ndvi": ["ndvi"]}, {"ndvi": 1},
                                {"ndvi": 40})
    url = moved[[p[0] for p in drawn].index("ndvi")][0].to_plotly_json()["props"]["url"]
    assert "/raster/ndvi_2025_10/tiles/" in url


def test_pm25_legend_has_its_unit() -> None:
    text = _json(legend_panel(_specs(), {"pm25"}, "en"))
    assert "250 µg/m³" in text and "PM2.5" in text


def test_rows_have_sliders_and_rebuild_keeps_settings() -> None:
    specs = _specs()
    rows = _json(raster_rows(specs, "en"))
    assert rows.count('"type": "om-opacity"') == 3 and rows.count('"type": "om-time"') == 2
    assert "Opacity" in rows and "2025-10" in rows
    # An upload adds a third NDVI date: the series switches on at that date; the user's
    # opacity for it is kept; the drawn pane of another layer is kept as it was.
    doc = json.loads(json.dumps(DOC))
    doc["rasters"].append(_raster("ndvi_2025_08", "2025-08", "ndvi"))
    doc["series"][0]["steps"].append(_step("ndvi_2025_08", "2025-08"))
    new = _specs(doc)
    old_pane = {"type": "Pane", "namespace": "dash_leaflet",
                "props": {"id": {"type": "om-pane", "layer": "pm25"}, "children": ["drawn"]}}
    vector = {"id": "rivers", "kind": "vector"}
    specs_out, rows_out, panes_out = rebuild_rasters(
        [vector, *specs], new, "ndvi_2025_08", [old_pane], "zh", on={"pm25": ["pm25"]},
        times={"ndvi": 1}, opacity={"ndvi": 30})
    assert specs_out[0] == vector and len(specs_out) == 1 + len(new)
    assert old_pane in panes_out and len(panes_out) == len(new)
    text = _json(rows_out)
    ndvi_row = next(r for r in rows_out if r.to_plotly_json()["props"]["data-layer"] == "ndvi")
    ndvi = _json(ndvi_row)
    assert '"value": ["ndvi"]' in ndvi and '"value": 30' in ndvi
    assert '"value": 1' in ndvi  # 2025-08 is the middle one of 07, 08, 10
    assert '"value": ["pm25"]' in text


def test_true_colour_legend_names_the_bands() -> None:
    tiles = f"{PUB}/raster/gf1/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?bidx=3%2C2%2C1"
    doc = {"rasters": [_raster("gf1", "2025-07-20", "gf1", colormap=None, rescale=[0, 2000],
                               bidx=None, tiles=tiles, bands=[{"index": i, "name": n} for i, n in
                                                      enumerate(["blue", "green", "red", "nir"],
                                                                start=1)])]}
    text = _json(legend_panel(_specs(doc), {"gf1"}, "zh"))
    assert "RGB 合成（红 / 绿 / 蓝）: red / green / blue" in text
