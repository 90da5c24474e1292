"""The Ecology panel: "which red lines lost vegetation this year?"

The user picks the area layer (red lines or protected areas), optionally some areas, and two
NDVI dates; the panel runs the ``ecology-change`` process through :mod:`onemap.app.jobs`
(progress, cancel, errors in words) and shows the ranking by loss, a bar chart, the loss patches
and the affected areas on the map in its own pane, and the pollution sources and incidents inside
the areas. A row or a bar moves the map to that area. Everything shown is rebuilt from the stored
result when the language changes (:mod:`onemap.app.panels.ecology_view`), so a switch never
re-runs the analysis and never leaves a label in the other language.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.app.jobs import job_block
from onemap.app.ogcclient import OgcError, explain, items
from onemap.app.panels import Panel, PanelContext, panel_lang
from onemap.app.panels.ecology_render import note_text, render_outputs
from onemap.app.panels.ecology_text import ID_FIELD, layer_title
from onemap.app.panels.ecology_view import (
    area_meta,
    area_options,
    check_dates,
    date_options,
    default_pair,
    goto_area,
    goto_point,
    ndvi_choices,
    ndvi_step,
    view_model,
)
from onemap.config import Settings

PANEL_ID = "ecology"
PROCESS = "ecology-change"
PANE = "om-eco"
#: Above every data layer (incidents are at 550), under Leaflet's markers and popups.
PANE_Z = 590
JOB_RESULT = {"type": "om-job-result", "panel": PANEL_ID}
JOB_REQUEST = {"type": "om-job-request", "panel": PANEL_ID}
#: What the job line says once a job has ended, by status (re-said on a language switch).
_FN = "dash_clientside.onemap_eco."


def _fn(name: str) -> dict:
    return {"variable": _FN + name}


def _layer_options(lang: str) -> list[dict]:
    return [{"label": layer_title(layer, lang), "value": layer} for layer in ID_FIELD]


def _dropdown_labels(lang: str) -> dict:
    """The multi-select's own words (Dash's defaults are English)."""
    if lang == "en":
        return {"select_all": "Select all", "deselect_all": "Deselect all",
                "selected_count": "{num_selected} selected", "search": "Search",
                "clear_search": "Clear search", "clear_selection": "Clear selection",
                "no_options_found": "No matching area"}
    return {"select_all": "全选", "deselect_all": "全不选",
            "selected_count": "已选 {num_selected} 个", "search": "搜索",
            "clear_search": "清除搜索", "clear_selection": "清除选择",
            "no_options_found": "没有匹配的区域"}


def _date_field(key: str, cid: str, choices: list[dict], value: str | None,
                lang: str) -> html.Div:
    return html.Div([
        text(key, lang, tag=html.Label, className="om-eco-label"),
        dcc.Dropdown(id=cid, options=date_options(choices, lang), value=value, clearable=False,
                     searchable=False, placeholder=t("eco_pick_date", lang),
                     className="om-eco-date"),
    ], className="om-eco-date-field")


def layout(lang: str, context: PanelContext) -> html.Div:
    """The form (layer, areas, two dates, run), the job line and the (empty) result area."""
    choices = ndvi_choices(context.specs)
    before, after = default_pair(choices)
    return html.Div([
        text("eco_intro", lang, tag=html.P, className="om-eco-intro"),
        text("eco_layer", lang, tag=html.Label, className="om-eco-label"),
        dcc.RadioItems(id="eco-layer", options=_layer_options(lang), value="red_lines",
                       inline=True, className="om-eco-layer"),
        text("eco_areas", lang, tag=html.Label, className="om-eco-label"),
        dcc.Dropdown(id="eco-areas", options=[], value=[], multi=True,
                     placeholder=t("eco_areas_all", lang), labels=_dropdown_labels(lang),
                     className="om-eco-areas"),
        html.Div([_date_field("eco_before", "eco-before", choices, before, lang),
                  html.Span("→", className="om-eco-arrow"),
                  _date_field("eco_after", "eco-after", choices, after, lang)],
                 className="om-eco-dates"),
        html.Div(id="eco-msg", className="om-eco-msg"),
        html.Button(text("eco_run", lang), id="eco-run", n_clicks=0,
                    className="om-button om-eco-run"),
        job_block(PANEL_ID, lang),
        dcc.Store(id="eco-note"),
        dcc.Store(id="eco-meta"),
        dcc.Store(id="eco-run-state"),
        dcc.Store(id="eco-view"),
        html.Div(id="eco-results", className="om-eco-results"),
        html.Div(id="eco-chart-box", className="om-eco-chart"),
        html.Button("", id="eco-show-ndvi", n_clicks=0, style={"display": "none"},
                    className="om-button om-button-secondary om-eco-show-ndvi"),
        html.Div(id="eco-encroach", className="om-eco-encroach"),
    ], className="om-panel-body om-eco")


def map_layers() -> list[Any]:
    """The panel's own pane: assessed areas (outlined), loss patches (red), encroachment."""
    common = {"pane": PANE, "data": None, "onEachFeature": _fn("tooltip")}
    return [dl.Pane([
        dl.GeoJSON(id="om-eco-areas", style=_fn("areaStyle"), **common),
        dl.GeoJSON(id="om-eco-loss", style=_fn("lossStyle"), **common),
        dl.GeoJSON(id="om-eco-encroach", pointToLayer=_fn("point"), **common),
    ], id="om-eco-pane", name=PANE, style={"zIndex": PANE_Z})]


def _features(settings: Settings, layer: str) -> list[dict]:
    doc = items(settings, layer, limit=1000, skipGeometry="true")
    return list(doc.get("features") or [])


def register(app: dash.Dash, settings: Settings) -> None:
    """The panel's callbacks (see the module docstring)."""

    @app.callback(
        Output("eco-layer", "options"),
        Output("eco-areas", "options"),
        Output("eco-areas", "value"),
        Output("eco-areas", "placeholder"),
        Output("eco-areas", "labels"),
        Output("eco-before", "options"),
        Output("eco-after", "options"),
        Output("eco-before", "placeholder"),
        Output("eco-after", "placeholder"),
        Output("eco-meta", "data"),
        Output("eco-note", "data", allow_duplicate=True),
        Input("eco-layer", "value"),
        Input("om-lang", "value"),
        Input("om-specs", "data"),
        State("eco-areas", "value"),
        State("eco-meta", "data"),
        prevent_initial_call="initial_duplicate",
    )
    def fill_inputs(layer, lang, specs, chosen, meta):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        note: Any = dash.no_update
        features = (meta or {}).get("features") if (meta or {}).get("layer") == layer else None
        if features is None:
            try:
                features = _features(settings, layer)
                note = None
            except OgcError as err:
                features = []
                note = {"key": "eco_err_areas", "error": explain(err, "zh"),
                        "error_en": explain(err, "en")}
        options = area_options(features, layer, lang)
        valid = {o["value"] for o in options}
        chosen = [v for v in chosen or [] if v in valid]
        choices = ndvi_choices(specs or [])
        dates = date_options(choices, lang)
        return (_layer_options(lang), options, chosen, t("eco_areas_all", lang),
                _dropdown_labels(lang), dates, dates, t("eco_pick_date", lang),
                t("eco_pick_date", lang),
                {"layer": layer, "features": features}, note)

    @app.callback(
        Output(JOB_REQUEST, "data"),
        Output("eco-note", "data"),
        Output("eco-run-state", "data"),
        Output("eco-view", "data", allow_duplicate=True),
        Input("eco-run", "n_clicks"),
        State("eco-layer", "value"),
        State("eco-areas", "value"),
        State("eco-before", "value"),
        State("eco-after", "value"),
        State("om-specs", "data"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def run(n, layer, areas, before, after, specs, lang):  # type: ignore[no-untyped-def]
        if not n:
            raise PreventUpdate
        lang = lang or "zh"
        choices = ndvi_choices(specs or [])
        problem = check_dates(before, after, choices, "zh")
        if problem:
            note = {"key": "dates", "zh": problem,
                    "en": check_dates(before, after, choices, "en")}
            return dash.no_update, note, dash.no_update, None
        inputs: dict[str, Any] = {"layer": layer, "before": before, "after": after}
        if areas:
            inputs["area_ids"] = list(areas)
        labels = {"layer": t("eco_layer", lang), "area_ids": t("eco_areas", lang),
                  "before": t("eco_before", lang), "after": t("eco_after", lang)}
        return ({"process": PROCESS, "inputs": inputs, "labels": labels, "n": n}, None,
                {"layer": layer, "n": n}, None)

    @app.callback(
        Output("eco-view", "data"),
        Input(JOB_RESULT, "data"),
        State("eco-run-state", "data"),
        State("eco-meta", "data"),
        prevent_initial_call=True,
    )
    def on_result(result, run_state, meta):  # type: ignore[no-untyped-def]
        if not result or not isinstance(result, dict) or "ranking" not in result:
            raise PreventUpdate
        layer = (run_state or {}).get("layer") or "red_lines"
        features = (meta or {}).get("features") if (meta or {}).get("layer") == layer else None
        if features is None:
            try:
                features = _features(settings, layer)
            except OgcError:
                features = []  # names come from the ranking; only the kind column stays empty
        return view_model(result, layer, area_meta(features, layer))

    @app.callback(
        Output("eco-results", "children"),
        Output("eco-chart-box", "children"),
        Output("eco-show-ndvi", "children"),
        Output("eco-show-ndvi", "style"),
        Output("eco-encroach", "children"),
        Output("om-eco-areas", "data"),
        Output("om-eco-loss", "data"),
        Output("om-eco-encroach", "data"),
        Input("eco-view", "data"),
        Input(panel_lang(PANEL_ID), "data"),
        State(JOB_RESULT, "data"),
        State("om-specs", "data"),
        prevent_initial_call=True,
    )
    def render(view, lang, result, specs):  # type: ignore[no-untyped-def]
        return render_outputs(view, result, specs or [], lang or "zh")

    @app.callback(
        Output("eco-msg", "children"),
        Output("eco-msg", "className"),
        Input("eco-note", "data"),
        Input("om-lang", "value"),
        Input("om-specs", "data"),
    )
    def message(note, lang, specs):  # type: ignore[no-untyped-def]
        return note_text(note, specs or [], lang or "zh")

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True),
        Input({"type": "eco-row", "area": ALL}, "n_clicks"),
        Input({"type": "eco-enc", "index": ALL}, "n_clicks"),
        State("eco-view", "data"),
        State("om-specs", "data"),
        prevent_initial_call=True,
    )
    def zoom(_rows, _enc, view, specs):  # type: ignore[no-untyped-def]
        trig = ctx.triggered_id
        # Rows are re-created (n_clicks 0) on every render: only a real click moves the map.
        if not view or not isinstance(trig, dict) or not (
                ctx.triggered and ctx.triggered[0].get("value")):
            raise PreventUpdate
        if trig.get("type") == "eco-row":
            target = goto_area(view, trig.get("area"), specs or [])
        else:
            target = goto_point(view, trig.get("index"))
        if target is None:
            raise PreventUpdate
        return target

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True),
        Input("eco-chart", "clickData"),
        State("eco-view", "data"),
        State("om-specs", "data"),
        prevent_initial_call=True,
    )
    def zoom_bar(click, view, specs):  # type: ignore[no-untyped-def]
        points = (click or {}).get("points") or []
        target = goto_area(view or {}, points[0].get("customdata") if points else None,
                           specs or [])
        if target is None:
            raise PreventUpdate
        return target

    @app.callback(
        Output({"type": "om-raster-on", "layer": ALL}, "value", allow_duplicate=True),
        Output({"type": "om-time", "layer": ALL}, "value", allow_duplicate=True),
        Input("eco-show-ndvi", "n_clicks"),
        State("eco-view", "data"),
        State("om-specs", "data"),
        State({"type": "om-raster-on", "layer": ALL}, "value"),
        prevent_initial_call=True,
    )
    def show_ndvi(n, view, specs, on):  # type: ignore[no-untyped-def]
        if not n or not view:
            raise PreventUpdate
        after = (view.get("summary") or {}).get("after")
        step = ndvi_step(specs or [], after)
        if step is None:
            raise PreventUpdate
        lid, index = step
        on_ids = [o["id"]["layer"] for o in ctx.outputs_list[0]]
        time_ids = [o["id"]["layer"] for o in ctx.outputs_list[1]]
        return ([sorted(set(v or []) | {lid}) if i == lid else dash.no_update
                 for i, v in zip(on_ids, on, strict=True)],
                [index if i == lid else dash.no_update for i in time_ids])


PANEL = Panel(PANEL_ID, ("生态", "Ecology"), layout, register, map_layers)
