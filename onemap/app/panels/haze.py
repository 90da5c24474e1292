"""The Air panel: "where is the air worst now, and why?"

The hour is the map's (the time bar, or the latest hour of data), so the station symbols, the
table and the surface always agree. For that hour the panel lists every station's HJ 633 AQI
worst first (``aqi-hourly``, synchronous: under a second); interpolates the PM2.5 surface
(``pm25-surface`` through :mod:`onemap.app.jobs`: progress, cancel) and draws its tiles in its
own pane, or over that hour's day or the 7 days to it (``pm25-surface-series``: a cube the
layer list shows and the time bar steps, :mod:`~onemap.app.panels.haze_series`); ranks the
sources upwind of a station over the last hours (``upwind-sources``) with a wind rose and the
sources on the map; and sums up the last 7 days (``aqi-daily``: regional daily
AQI and pollution episodes). Everything shown is rebuilt from the stored answers when the
language changes, never re-run.
"""

from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.app.jobs import job_block
from onemap.app.legend import ramp
from onemap.app.ogcclient import OgcError, execute, explain
from onemap.app.panels import Panel, PanelContext, panel_lang
from onemap.app.panels import haze_series as s
from onemap.app.panels import haze_view as v
from onemap.app.sources import base_path
from onemap.config import Settings
from onemap.styles.contrast import ink

PANEL_ID = "haze"
UPWIND_ID = "haze-upwind"
PANE, PANE_Z = "om-hz", 405  # the surface above the base layers, under the data symbols
POINTS_PANE, POINTS_Z = "om-hz-points", 595
GRAPH = {"displayModeBar": False, "responsive": True}
LABELS = {"zh": {"time": "时间", "station_id": "站点", "start": "开始", "end": "结束",
                 "method": "插值方法"},
          "en": {"time": "Time", "station_id": "Station", "start": "Start", "end": "End",
                 "method": "Method"}}
HIDDEN = {"display": "none"}


def _id(kind: str, panel: str = PANEL_ID) -> dict[str, str]:
    return {"type": kind, "panel": panel}


def _section(key: str, lang: str, *children: object) -> html.Div:
    return html.Div([text(key, lang, tag=html.Div, className="om-hz-heading"), *children],
                    className="om-hz-section")


def layout(lang: str, context: PanelContext) -> html.Div:
    return html.Div([
        dcc.Store(id="hz-aqi"), dcc.Store(id="hz-daily"),
        text("hz_intro", lang, tag=html.P, className="om-hz-intro"),
        html.Div(id="hz-hour", className="om-hz-hour"),
        _section("hz_aqi_heading", lang,
                 html.Div(id="hz-summary", className="om-hz-summary"),
                 text("hz_aqi_note", lang, tag=html.Div, className="om-hz-note"),
                 html.Div(id="hz-aqi-table", className="om-hz-scroll")),
        _section("hz_surface_heading", lang,
                 s.span_picker(lang),
                 html.Div([text("hz_method", lang, className="om-hz-label"),
                           dcc.RadioItems(id="hz-method", value="idw", inline=True,
                                          className="om-hz-radio")]),
                 html.Button(t("hz_surface_run", lang), id="hz-surface-run", n_clicks=0,
                             className="om-button"),
                 job_block(PANEL_ID, lang),
                 html.Div(id="hz-surface-text", className="om-hz-summary"),
                 html.Div(id="hz-surface-legend", className="om-hz-legend"),
                 html.Div([text("hz_opacity", lang, className="om-hz-label"),
                           dcc.Slider(id="hz-opacity", min=0, max=100, step=5, value=70,
                                      marks=None, tooltip=None)],
                          id="hz-opacity-box", className="om-hz-opacity")),
        _section("hz_upwind_heading", lang,
                 html.Div([text("hz_upwind_station", lang, className="om-hz-label"),
                           dcc.Dropdown(id="hz-station", clearable=False, searchable=True)]),
                 html.Div([text("hz_upwind_hours", lang, className="om-hz-label"),
                           dcc.RadioItems(id="hz-hours", value=24, inline=True,
                                          className="om-hz-radio")]),
                 html.Button(t("hz_upwind_run", lang), id="hz-upwind-run", n_clicks=0,
                             className="om-button"),
                 job_block(UPWIND_ID, lang),
                 html.Div(id="hz-upwind", className="om-hz-results")),
        _section("hz_daily_heading", lang,
                 html.Button(t("hz_daily_run", lang), id="hz-daily-run", n_clicks=0,
                             className="om-button om-button-secondary"),
                 dcc.Loading(html.Div(id="hz-daily-out", className="om-hz-results"),
                             type="dot")),
    ], className="om-panel-body om-hz")


def map_layers() -> list:
    return [
        dl.Pane(dl.LayerGroup(id="hz-surface-layer", children=[]), name=PANE,
                style={"zIndex": PANE_Z}),
        dl.Pane(dl.GeoJSON(id="hz-sources", data=None, pane=POINTS_PANE,
                           pointToLayer={"variable": "dash_clientside.onemap_haze.source"},
                           onEachFeature={"variable": "dash_clientside.onemap_haze.tooltip"}),
                name=POINTS_PANE, style={"zIndex": POINTS_Z}),
    ]


def _table(head: list[str], rows: list[list[object]], row_ids: list[dict] | None = None,
           numeric: frozenset[int] = frozenset()) -> html.Table:
    cells = [html.Tr([html.Th(h, className="om-num" if i in numeric else "")
                      for i, h in enumerate(head)])]
    for n, row in enumerate(rows):
        # a row is picked by click, or by Tab then Enter (assets/a11y.js, data-om-activate)
        kw = ({"id": row_ids[n], "n_clicks": 0, "className": "om-hz-row", "tabIndex": "0",
               "data-om-activate": ""} if row_ids else {})
        cells.append(html.Tr([html.Td(c, className="om-num" if i in numeric else "")
                              for i, c in enumerate(row)], **kw))
    return html.Table(cells, className="om-table")


def _badge(value: object, color: str) -> html.Span:
    return html.Span("—" if value is None else str(value), className="om-hz-badge",
                     style={"background": color, "color": ink(color)})


def aqi_table(result: dict | None, lang: str) -> html.Div | html.Table:
    rows = v.aqi_rows(result, lang)
    if not rows:
        return html.Div(t("hz_aqi_empty", lang), className="om-note")
    head = [t(k, lang) for k in ("hz_col_rank", "hz_col_station", "hz_col_aqi", "hz_col_level",
                                 "hz_col_primary")]
    body = [[i + 1, r["name"], _badge(r["aqi"], r["color"]), r["level"], r["primary"]]
            for i, r in enumerate(rows)]
    ids = [{"type": "hz-row", "station": str(r["station_id"])} for r in rows]
    return _table(head, body, ids, numeric=frozenset({0}))


def upwind_view(result: dict | None, lang: str) -> list:
    if not result:
        return []
    rows = v.source_rows(result, lang)
    head = [t(k, lang) for k in ("hz_col_rank", "hz_col_source", "hz_col_industry",
                                 "hz_col_km", "hz_col_share")]
    body = [[r["rank"], r["name"], r["industry"], r["km"], f"{r['share']}%"] for r in rows]
    return [html.Div(v.upwind_text(result, lang), className="om-hz-summary"),
            _table(head, body, numeric=frozenset({0, 3, 4})),
            dcc.Graph(figure=v.rose_figure(result, lang), config=GRAPH, className="om-hz-rose"),
            html.Div(t("hz_upwind_note", lang), className="om-hz-note")]


def daily_view(result: dict | None, lang: str) -> list:
    if not result:
        return []
    rows = v.daily_rows(result, lang)
    head = [t(k, lang) for k in ("hz_col_date", "hz_col_aqi", "hz_col_level", "hz_col_primary")]
    body = [[r["date"], _badge(r["aqi"], r["color"]), r["level"], r["primary"]] for r in rows]
    s = result.get("summary") or {}
    lines = v.episode_lines(result, lang) or [t("hz_no_episode", lang)]
    return [_table(head, body),
            html.Div(t("hz_episodes", lang, threshold=s.get("threshold", 100),
                       days=s.get("min_days", 2)), className="om-hz-label"),
            html.Ul([html.Li(x) for x in lines]),
            html.Div(t("hz_station_episodes", lang, n=s.get("n_station_episodes", 0)),
                     className="om-hz-note")]


def _run(settings: Settings, process: str, inputs: dict, lang: str) -> tuple[dict | None, str]:
    try:
        return execute(settings, process, inputs, asynchronous=False)["results"], ""
    except OgcError as err:
        return None, explain(err, lang, LABELS[lang])


def register(app: dash.Dash, settings: Settings) -> None:
    base = base_path(settings)

    @app.callback(
        Output("hz-hour", "children"), Output("hz-aqi", "data"),
        Input("om-map-time", "data"), Input("om-lang", "value"), State("om-tb-extent", "data"))
    def hour_and_aqi(map_time, lang, extent):  # type: ignore[no-untyped-def]
        when, latest = v.chosen_hour(map_time, extent)
        if when is None:
            return "—", None
        result, error = _run(settings, "aqi-hourly", {"time": v.beijing(when)}, lang or "zh")
        return v.hour_text(when, latest, lang or "zh"), result or {"error": error}

    @app.callback(
        Output("hz-summary", "children"), Output("hz-aqi-table", "children"),
        Output("hz-station", "options"), Output("hz-station", "value"),
        Input("hz-aqi", "data"), Input("om-lang", "value"), State("hz-station", "value"))
    def show_aqi(result, lang, station):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        if result and result.get("error"):
            return html.Div(result["error"], className="om-error"), [], [], None
        rows = v.aqi_rows(result, lang)
        options = [{"label": r["name"], "value": r["station_id"]} for r in rows]
        # A new hour proposes its worst station; a language switch keeps the user's choice.
        known = {r["station_id"] for r in rows}
        keep = ctx.triggered_id == "om-lang" and station in known
        value = station if keep else (rows[0]["station_id"] if rows else None)
        return v.summary_text(result, lang), aqi_table(result, lang), options, value

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True), Output("hz-station", "value",
                                                                allow_duplicate=True),
        Input({"type": "hz-row", "station": ALL}, "n_clicks"), State("hz-aqi", "data"),
        prevent_initial_call=True)
    def row_click(clicks, result):  # type: ignore[no-untyped-def]
        trig = ctx.triggered_id
        if not isinstance(trig, dict) or not any(clicks or []):
            raise PreventUpdate
        row = next((r for r in v.aqi_rows(result, "zh") if r["station_id"] == trig["station"]),
                   None)
        if row is None or row["lon"] is None:
            raise PreventUpdate
        return ({"center": [row["lat"], row["lon"]], "zoom": 13, "layers": ["air_stations"]},
                row["station_id"])

    @app.callback(
        Output(_id("om-job-request"), "data"),
        Input("hz-surface-run", "n_clicks"), State("om-map-time", "data"),
        State("om-tb-extent", "data"), State("hz-method", "value"), State("hz-span", "value"),
        prevent_initial_call=True)
    def run_surface(n, map_time, extent, method, span):  # type: ignore[no-untyped-def]
        when, _ = v.chosen_hour(map_time, extent)
        if not n or when is None:
            raise PreventUpdate
        process, inputs = s.surface_job(span, when, method or "idw")
        return {"process": process, "labels": LABELS, "n": n, "inputs": inputs}

    @app.callback(
        Output("hz-surface-layer", "children"), Output("hz-surface-text", "children"),
        Output("hz-surface-legend", "children"), Output("hz-opacity-box", "style"),
        Input(_id("om-job-result"), "data"), Input("hz-opacity", "value"),
        Input(panel_lang(PANEL_ID), "data"), prevent_initial_call=True)
    def show_surface(result, opacity, lang):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        if s.is_series(result):  # drawn by the layer list (with its own opacity), not here
            return [], s.series_text(result, lang), s.series_legend(result, lang), HIDDEN
        if not result or not result.get("tile_url"):
            return [], "", [], {}
        url = v.relative(result["tile_url"], base)
        bounds = _bounds(result)  # titiler answers 404 outside the raster: never ask there
        layer = dl.TileLayer(id="hz-surface-tiles", url=url, pane=PANE, maxZoom=18,
                             opacity=(opacity if opacity is not None else 70) / 100,
                             **({"bounds": bounds} if bounds else {}))
        stats = result.get("stats") or {}
        key = ramp({"colormap": stats.get("colormap"), "rescale": stats.get("rescale"),
                    "unit": "μg/m³"}, lang)
        return [layer], v.surface_text(result, lang), key, {}

    @app.callback(
        Output(_id("om-job-request", UPWIND_ID), "data"), Output("hz-upwind", "children",
                                                                 allow_duplicate=True),
        Input("hz-upwind-run", "n_clicks"), State("hz-station", "value"),
        State("hz-hours", "value"), State("om-map-time", "data"), State("om-tb-extent", "data"),
        State("om-lang", "value"), prevent_initial_call=True)
    def run_upwind(n, station, hours, map_time, extent, lang):  # type: ignore[no-untyped-def]
        when, _ = v.chosen_hour(map_time, extent)
        if not n or when is None:
            raise PreventUpdate
        if not station:
            return dash.no_update, html.Div(t("hz_need_station", lang or "zh"),
                                            className="om-error")
        start, end = v.upwind_window(when, int(hours or 24))
        return ({"process": "upwind-sources", "labels": LABELS, "n": n,
                 "inputs": {"station_id": station, "start": start, "end": end}}, [])

    @app.callback(
        Output("hz-upwind", "children"), Output("hz-sources", "data"),
        Input(_id("om-job-result", UPWIND_ID), "data"), Input(panel_lang(PANEL_ID), "data"),
        prevent_initial_call=True)
    def show_upwind(result, lang):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        points = {"type": "FeatureCollection", "features": [
            {**f, "properties": {**f["properties"], "_tip": _tip(f["properties"], lang)}}
            for f in v.top_sources(result, 20)]}
        return upwind_view(result, lang), points if result else None

    @app.callback(
        Output("hz-daily", "data"), Input("hz-daily-run", "n_clicks"),
        State("om-map-time", "data"), State("om-tb-extent", "data"), State("om-lang", "value"),
        prevent_initial_call=True)
    def run_daily(n, map_time, extent, lang):  # type: ignore[no-untyped-def]
        when, _ = v.chosen_hour(map_time, extent)
        if not n or when is None:
            raise PreventUpdate
        start, end = v.week(when)
        result, error = _run(settings, "aqi-daily", {"start": start, "end": end}, lang or "zh")
        return result or {"error": error}

    @app.callback(
        Output("hz-daily-out", "children"), Input("hz-daily", "data"),
        Input("om-lang", "value"))
    def show_daily(result, lang):  # type: ignore[no-untyped-def]
        if result and result.get("error"):
            return html.Div(result["error"], className="om-error")
        return daily_view(result, lang or "zh")

    @app.callback(
        Output("hz-method", "options"), Output("hz-hours", "options"),
        Output("hz-surface-run", "children"), Output("hz-upwind-run", "children"),
        Output("hz-daily-run", "children"), Input("om-lang", "value"))
    def labels(lang):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        return ([{"label": t("hz_idw", lang), "value": "idw"},
                 {"label": t("hz_kriging", lang), "value": "kriging"}],
                [{"label": t(f"hz_hours_{h}", lang), "value": h} for h in (24, 72, 168)],
                t("hz_surface_run", lang), t("hz_upwind_run", lang), t("hz_daily_run", lang))

    s.register(app, settings)


def _tip(p: dict, lang: str) -> str:
    share = round(100 * float(p.get("contribution_share") or 0), 1)
    return f"{p.get('rank')}. {v.named(p.get('name'), p.get('source_id'), lang)} · {share}%"


def _bounds(result: dict) -> list[list[float]] | None:
    b = (result.get("stats") or {}).get("bounds")
    return [[b[1], b[0]], [b[3], b[2]]] if b and len(b) == 4 else None


PANEL = Panel(PANEL_ID, ("大气", "Air"), layout, register, map_layers)
