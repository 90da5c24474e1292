"""The Emergency panel: "what does a chemical spill at this point threaten downstream?"

The user places the incident — a click on the map while the panel is open, typed coordinates,
or a reported incident picked from the incidents layer (which also fills time, medium and
pollutant when its report names them) — sets pollutant, amount and optionally the wind or the
flow, and runs ``incident-assessment`` through :mod:`onemap.app.jobs` (progress, cancel,
errors in words: a point outside the region reads as the OutOfRegion message naming the
location field). The result is drawn in the panel's own pane (rings, plume footprints by
threshold, the downstream trace with the intakes and sections it reaches, receptors, suspects),
the map moves onto it, and the panel lists the summary, receptors per ring, the downstream
arrival table and the suspects, with the server's HTML report, GeoJSON and CSV files to take
away. A language switch re-renders all of it from the stored result, never re-running it.
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
from onemap.app.panels import Panel, PanelContext, panel_lang
from onemap.app.panels.emergency_csv import TABLES, csv_bytes, filename
from onemap.app.panels.emergency_fetch import load_meta, station_name
from onemap.app.panels.emergency_form import (
    DEFAULT_RINGS_KM,
    PROCESS,
    FormError,
    beijing,
    build_inputs,
    incident_fill,
    incident_options,
    input_labels,
    medium_options,
)
from onemap.app.panels.emergency_render import render_outputs
from onemap.app.panels.emergency_text import (
    STABILITY,
    dropdown_labels,
    pollutant_options,
    stability_name,
)
from onemap.app.panels.emergency_view import location_feature, view_model
from onemap.app.sources import base_path
from onemap.config import Settings

PANEL_ID = "emergency"
PANE = "om-em"
#: Above the data layers (incidents 550) and the Ecology results (590), under markers/popups.
PANE_Z = 600
JOB_RESULT = {"type": "om-job-result", "panel": PANEL_ID}
JOB_REQUEST = {"type": "om-job-request", "panel": PANEL_ID}
_FN = "dash_clientside.onemap_em."
#: Layers worth seeing under a water result (switched on when the map moves to it).
WATER_LAYERS = ("rivers", "water_intakes", "water_sections")


def _fn(name: str) -> dict:
    return {"variable": _FN + name}


def _field(key: str, control: Any, lang: str, cls: str = "") -> html.Div:
    """A label and its control; the label names the control (``for``) when its id is plain."""
    cid = getattr(control, "id", None)
    kw = {"htmlFor": cid} if isinstance(cid, str) else {}
    return html.Div([text(key, lang, tag=html.Label, className="om-em-label", **kw), control],
                    className=f"om-em-field {cls}".strip())


def _number(cid: str, value: float | None = None, step: str = "any") -> dcc.Input:
    return dcc.Input(id=cid, type="number", value=value, step=step, debounce=True,
                     className="om-em-input")


def layout(lang: str, context: PanelContext) -> html.Div:
    """The form (incident, place, time, what and how much, wind or flow), the job line and the
    (empty) result area."""
    return html.Div([
        text("em_intro", lang, tag=html.P, className="om-em-intro"),
        _field("em_incident", dcc.Dropdown(id="em-incident", options=[], value=None,
                                           placeholder=t("em_incident_ph", lang),
                                           labels=dropdown_labels(lang),
                                           className="om-em-incident"), lang),
        html.Div([text("em_location", lang, tag=html.Label, className="om-em-label"),
                  html.Div([
                      _field("em_lon", _number("em-lon"), lang, "om-em-half"),
                      _field("em_lat", _number("em-lat"), lang, "om-em-half"),
                  ], className="om-em-row"),
                  text("em_click_hint", lang, tag=html.Div, className="om-em-hint")],
                 className="om-em-location"),
        _field("em_time", dcc.Input(id="em-time", type="text", debounce=True,
                                    placeholder="YYYY-MM-DD HH:MM", className="om-em-input"),
               lang),
        _field("em_medium", dcc.RadioItems(id="em-medium", options=medium_options(lang),
                                           value="air", inline=True,
                                           className="om-em-medium"), lang),
        _field("em_pollutant", dcc.Dropdown(id="em-pollutant", options=[], value="cl2",
                                            clearable=False, labels=dropdown_labels(lang),
                                            placeholder=t("em_pollutant_ph", lang),
                                            className="om-em-pollutant"), lang),
        html.Div([_field("em_amount", _number("em-amount", 1000), lang, "om-em-half"),
                  _field("em_duration", _number("em-duration", 60), lang, "om-em-half")],
                 className="om-em-row"),
        html.Div([
            html.Div([_field("em_wind_speed", _number("em-wind-speed"), lang, "om-em-half"),
                      _field("em_wind_from", _number("em-wind-from"), lang, "om-em-half")],
                     className="om-em-row"),
            text("em_wind_hint", lang, tag=html.Div, className="om-em-hint"),
            _field("em_stability", dcc.Dropdown(id="em-stability", options=[], value=None,
                                                placeholder=t("em_stability_auto", lang),
                                                labels=dropdown_labels(lang),
                                                className="om-em-stability"), lang),
        ], id="em-air-box"),
        html.Div([_field("em_flow", _number("em-flow", 0.5), lang, "om-em-half"),
                  _field("em_hours", _number("em-hours", 48), lang, "om-em-half")],
                 id="em-water-box", className="om-em-row", style={"display": "none"}),
        _field("em_rings", dcc.Input(id="em-rings", type="text", value=DEFAULT_RINGS_KM,
                                     debounce=True, className="om-em-input"), lang),
        html.Div(id="em-msg", className="om-em-msg"),
        html.Button(text("em_run", lang), id="em-run", n_clicks=0,
                    className="om-button om-em-run"),
        job_block(PANEL_ID, lang),
        dcc.Store(id="em-meta"),
        dcc.Store(id="em-click"),  # map clicks while the tab is open (assets/emergency.js)
        dcc.Store(id="em-note"),
        dcc.Store(id="em-view"),
        dcc.Store(id="em-run-state"),
        dcc.Download(id="em-download"),
        html.Div(id="em-results", className="om-em-results"),
    ], className="om-panel-body om-em")


def map_layers() -> list[Any]:
    """The panel's pane: rings and footprints, the trace, the points, the chosen location."""
    common = {"pane": PANE, "data": None, "onEachFeature": _fn("tooltip")}
    return [dl.Pane([
        dl.GeoJSON(id="om-em-areas", style=_fn("areaStyle"), **common),
        dl.GeoJSON(id="om-em-trace", style=_fn("traceStyle"), **common),
        dl.GeoJSON(id="om-em-points", pointToLayer=_fn("point"), **common),
        dl.GeoJSON(id="om-em-point", pointToLayer=_fn("location"), **common),
    ], id="om-em-pane", name=PANE, style={"zIndex": PANE_Z})]


def register(app: dash.Dash, settings: Settings) -> None:
    """The panel's callbacks (see the module docstring)."""
    _register_form(app, settings)
    _register_run(app, settings)


def _register_form(app: dash.Dash, settings: Settings) -> None:
    @app.callback(Output("em-meta", "data"), Input("om-lang", "value"),
                  State("em-meta", "data"))
    def meta(_lang, current):  # type: ignore[no-untyped-def]
        if current and not current.get("error"):
            raise PreventUpdate  # read once per page; a failed read is retried on a switch
        return load_meta(settings)

    @app.callback(
        Output("em-pollutant", "options"),
        Output("em-pollutant", "value", allow_duplicate=True),
        Output("em-pollutant", "placeholder"),
        Output("em-medium", "options"),
        Output("em-incident", "options"),
        Output("em-incident", "placeholder"),
        Output("em-stability", "options"),
        Output("em-stability", "placeholder"),
        Output("em-wind-speed", "placeholder"),
        Output("em-wind-from", "placeholder"),
        Output("em-air-box", "style"),
        Output("em-water-box", "style"),
        Output("em-incident", "labels"),
        Output("em-pollutant", "labels"),
        Output("em-stability", "labels"),
        Input("om-lang", "value"),
        Input("em-medium", "value"),
        Input("em-meta", "data"),
        State("em-pollutant", "value"),
        prevent_initial_call="initial_duplicate",
    )
    def options(lang, medium, meta, chosen):  # type: ignore[no-untyped-def]
        lang, medium = lang or "zh", medium or "air"
        meta = meta or {}
        pollutants = pollutant_options(meta.get("enum"), medium, lang)
        keep = chosen if chosen in {o["value"] for o in pollutants} else None
        stability = [{"label": f"{c} · {stability_name(c, lang)}", "value": c}
                     for c in STABILITY]
        return (pollutants, keep, t("em_pollutant_ph", lang), medium_options(lang),
                incident_options(meta.get("incidents") or [], lang), t("em_incident_ph", lang),
                stability, t("em_stability_auto", lang), t("em_auto", lang), t("em_auto", lang),
                {"display": "block" if medium == "air" else "none"},
                {"display": "flex" if medium == "water" else "none"},
                *[dropdown_labels(lang)] * 3)

    @app.callback(
        Output("em-lon", "value"),
        Output("em-lat", "value"),
        Output("em-time", "value"),
        Output("em-medium", "value"),
        Output("em-pollutant", "value", allow_duplicate=True),
        Output("em-incident", "value"),
        Output("em-note", "data", allow_duplicate=True),
        Input("om-map", "clickData"),
        Input("em-click", "data"),
        Input("em-incident", "value"),
        Input("em-meta", "data"),
        Input("om-map-time", "data"),
        State("om-dock", "data"),
        State("em-medium", "value"),
        State("em-time", "value"),
        State("em-incident", "value"),
        prevent_initial_call=True,
    )
    def form(click, preclick, picked, meta, map_time, dock, medium,  # type: ignore[no-untyped-def]
             when, current):
        keep = dash.no_update
        trig = ctx.triggered_id
        if trig == "om-map-time":  # the time bar moved: the incident is at the map's hour
            latest = (meta or {}).get("end")
            return keep, keep, beijing(map_time) if map_time else latest or keep, keep, keep, \
                keep, keep
        if trig in ("om-map", "em-click"):
            latlng = ((click or {}).get("latlng") if trig == "om-map" else preclick) or {}
            if (dock or {}).get("open") != PANEL_ID or "lat" not in latlng:
                raise PreventUpdate  # a click meant for another panel or a popup
            return (round(float(latlng["lng"]), 6), round(float(latlng["lat"]), 6), keep, keep,
                    keep, None if current else keep, None)
        if trig == "em-incident":
            feature = next((f for f in (meta or {}).get("incidents") or []
                            if str((f.get("properties") or {}).get("incident_id")) == picked),
                           None)
            if not picked or feature is None:
                raise PreventUpdate
            fill = incident_fill(feature, medium or "air", (meta or {}).get("enum"))
            note = {"key": fill["note"]} if fill["note"] else None
            # An unreadable pollutant clears the field: the note asks for a conscious choice.
            return (fill["lon"], fill["lat"], fill["time"] or keep, fill["medium"],
                    fill["pollutant"], keep, note)
        if not when and (map_time or (meta or {}).get("end")):
            return keep, keep, beijing(map_time) if map_time else meta["end"], keep, keep, \
                keep, keep
        raise PreventUpdate

    @app.callback(Output("om-em-point", "data"), Input("em-lon", "value"),
                  Input("em-lat", "value"), Input(panel_lang(PANEL_ID), "data"),
                  prevent_initial_call=True)
    def marker(lon, lat, lang):  # type: ignore[no-untyped-def]
        return location_feature(lon, lat, lang or "zh")

    @app.callback(
        Output("em-msg", "children"),
        Output("em-msg", "className"),
        Input("em-note", "data"),
        Input("em-meta", "data"),
        Input("om-lang", "value"),
    )
    def message(note, meta, lang):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        texts = []
        if (meta or {}).get("error"):
            texts.append(t("em_err_incidents", lang, error=meta["error"].get(lang, "")))
        if note and note.get("key"):
            texts.append(t(note["key"], lang))
        error = bool(texts) and ((note or {}).get("key", "").startswith("em_err")
                                 or bool((meta or {}).get("error")))
        return ([html.Div(x) for x in texts],
                "om-em-msg" + (" om-error" if error else " om-em-info" if texts else ""))


def _register_run(app: dash.Dash, settings: Settings) -> None:
    base = base_path(settings)

    @app.callback(
        Output(JOB_REQUEST, "data"),
        Output("em-note", "data"),
        Output("em-view", "data", allow_duplicate=True),
        Output("em-run-state", "data"),
        Input("em-run", "n_clicks"),
        State("em-lon", "value"), State("em-lat", "value"), State("em-time", "value"),
        State("em-medium", "value"), State("em-pollutant", "value"),
        State("em-amount", "value"), State("em-duration", "value"),
        State("em-wind-speed", "value"), State("em-wind-from", "value"),
        State("em-stability", "value"), State("em-flow", "value"), State("em-hours", "value"),
        State("em-rings", "value"), State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def run(n, lon, lat, when, medium, pollutant, amount, duration, wind_speed,  # type: ignore[no-untyped-def]
            wind_from, stability, flow, hours, rings, lang):
        if not n:
            raise PreventUpdate
        lang = lang or "zh"
        form = {"lon": lon, "lat": lat, "time": when, "medium": medium, "pollutant": pollutant,
                "amount_kg": amount, "duration_min": duration, "wind_speed": wind_speed,
                "wind_from": wind_from, "stability": stability, "flow_speed": flow,
                "max_hours": hours, "rings": rings}
        try:
            inputs = build_inputs(form, lang)
        except FormError as err:
            return dash.no_update, {"key": err.key}, dash.no_update, dash.no_update
        request = {"process": PROCESS, "inputs": inputs, "labels": input_labels(), "n": n}
        return request, None, None, {"lang": lang, "n": n}

    @app.callback(
        Output("em-view", "data"),
        Input(JOB_RESULT, "data"),
        State("em-run-state", "data"),
        prevent_initial_call=True,
    )
    def on_result(result, run_state):  # type: ignore[no-untyped-def]
        if not result or not isinstance(result, dict) or "tables" not in result:
            raise PreventUpdate
        return view_model(result, report_lang=(run_state or {}).get("lang") or "zh",
                          station_name=station_name(settings, result))

    @app.callback(
        Output("em-results", "children"),
        Output("om-em-areas", "data"),
        Output("om-em-trace", "data"),
        Output("om-em-points", "data"),
        Input("em-view", "data"),
        Input(panel_lang(PANEL_ID), "data"),
        prevent_initial_call=True,
    )
    def render(view, lang):  # type: ignore[no-untyped-def]
        return render_outputs(view, lang or "zh", base)

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True),
        Input("em-view", "data"),
        State("om-specs", "data"),
        prevent_initial_call=True,
    )
    def zoom(view, specs):  # type: ignore[no-untyped-def]
        if not view or not view.get("bounds"):
            raise PreventUpdate
        target: dict[str, Any] = {"bounds": view["bounds"], "zoom": 14}
        if (view["summary"].get("incident") or {}).get("medium") == "water":
            ids = {s.get("id") for s in specs or []}
            target["layers"] = [lid for lid in WATER_LAYERS if lid in ids]
        return target

    @app.callback(
        Output("em-download", "data"),
        Input({"type": "em-csv", "table": ALL}, "n_clicks"),
        State("em-view", "data"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def download(_clicks, view, lang):  # type: ignore[no-untyped-def]
        trig = ctx.triggered_id
        # Buttons are re-created (n_clicks 0) on every render: only a real click downloads.
        if (not view or not isinstance(trig, dict) or trig.get("table") not in TABLES
                or not (ctx.triggered and ctx.triggered[0].get("value"))):
            raise PreventUpdate
        table = trig["table"]
        return dcc.send_bytes(csv_bytes(view, table, lang or "zh"), filename(view, table),
                              type="text/csv")


PANEL = Panel(PANEL_ID, ("应急", "Emergency"), layout, register, map_layers)
