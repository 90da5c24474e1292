"""The Dashboard (驾驶舱): what an official sees first — four regional KPIs, each a chart whose
bars lead to the map.

* share of good-air days (AQI ≤ 100) over the latest 30 complete days, or the data's year;
* surface-water sections per GB 3838 class, and those missing their target class;
* open environmental incidents per level and status;
* pollution sources whose discharge permit has expired (the data hold no measured emissions or
  permitted limits, so that is the "exceedance" the data can support, and the card says so).

Each card reads its own data in its own callback, so the quick ones show at once while the
daily AQI (a few seconds) is computed, and one failure does not blank the others. The year of
AQI (~12 s) runs as an OGC job with progress and cancel
(:mod:`~onemap.app.panels.dashboard_year`), its 20 MB of station-days reduced to the regional
rows on the server. "Now" is the data's latest hour, never the wall clock. Fetching is in
:mod:`~onemap.app.panels.dashboard_fetch`, numbers in ``dashboard_kpis``, cards and charts in
``dashboard_cards`` / ``dashboard_view``: this module is the page and its wiring.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.app.live import dashboard_card
from onemap.app.ogcclient import OgcError
from onemap.app.panels import Panel, PanelContext, dashboard_year
from onemap.app.panels import dashboard_fetch as fetch
from onemap.app.panels.dashboard_cards import (
    HIDDEN,
    LAYERS,
    air_card,
    air_click,
    air_source,
    click_error,
    clicked,
    head_text,
    incident_card,
    incident_click,
    period_options,
    source_card,
    water_card,
    water_click,
    water_missed,
)
from onemap.app.panels.dashboard_kpis import DataError, goto
from onemap.app.panels.dashboard_view import GRAPH_CONFIG, empty_figure
from onemap.config import Settings

PANEL_ID = "dashboard"


def _graph(card: str) -> dcc.Graph:
    return dcc.Graph(id=f"db-{card}-graph", figure=empty_figure(), config=GRAPH_CONFIG,
                     responsive=True, style=HIDDEN, className="db-graph",
                     clear_on_unhover=True)


def _card(key: str, title: str, lang: str, *, before: list | None = None,
          inside: list | None = None, after: list | None = None) -> html.Section:
    """A card: title, controls, the loading area (its store, body and chart), its rule."""
    store = f"db-{key}"
    loading = dcc.Loading(
        [dcc.Store(id=store), html.Div(id=f"db-{key}-body", className="db-body"), _graph(key),
         *(inside or [])],
        target_components={store: "data"}, type="dot", delay_show=150,
        overlay_style={"visibility": "visible", "opacity": 0.45}, color="#2E7D32")
    return html.Section([text(title, lang, tag=html.H3, className="db-card-title"),
                         *(before or []), loading, *(after or [])],
                        className="db-card", **{"data-kpi": key})


def layout(lang: str, context: PanelContext) -> html.Div:
    """Header (data time, refresh) and the four cards, empty until their callbacks fill them."""
    del context  # the dashboard reads everything over HTTP when the page opens
    return html.Div([
        text("db_intro", lang, tag=html.P, className="db-intro"),
        html.Div([
            html.Div(t("db_now_loading", lang), id="db-now-text", className="db-now"),
            html.Button(t("db_refresh", lang), id="db-refresh", n_clicks=0,
                        title=t("db_refresh_title", lang),
                        className="om-button om-button-secondary db-refresh"),
        ], className="db-head"),
        dcc.Store(id="db-now"),
        dcc.Store(id="db-air-year"),
        dashboard_card(lang),
        _card("air", "db_air_title", lang, before=[
            dcc.RadioItems(id="db-period", options=period_options(None, lang), value="recent",
                           inline=True, className="db-period"),
            dashboard_year.job_line(lang),
        ], after=[text("db_air_rule", lang, tag=html.P, className="db-rule")]),
        _card("water", "db_water_title", lang, inside=[
            html.Div(id="db-water-key"),
            html.Button("", id="db-water-missed", n_clicks=0, style=HIDDEN,
                        title=t("db_water_missed_title", lang),
                        className="om-button om-button-secondary db-link"),
        ], after=[text("db_water_rule", lang, tag=html.P, className="db-rule")]),
        _card("inc", "db_inc_title", lang,
              after=[text("db_inc_rule", lang, tag=html.P, className="db-rule")]),
        _card("src", "db_src_title", lang,
              inside=[dcc.Store(id="db-src-note"), html.Div(id="db-src-msg")],
              after=[html.P("", id="db-src-rule", className="db-rule")]),
    ], className="om-panel-body om-db")


def _read(what: str, reader: Any, *args: Any) -> dict:
    """``{"kpi": …}`` or ``{"error": …}``: a failed read is kept to be said in words."""
    try:
        return {what: reader(*args)}
    except (OgcError, DataError) as exc:
        return {"error": fetch.failure(exc)}


def _now_of(now_store: dict | None) -> dict:
    now = (now_store or {}).get("now")
    if not now:
        raise PreventUpdate
    return now


def register(app: dash.Dash, settings: Settings) -> None:
    """Loading (one callback per card), rendering (per card and language), clicks → map."""

    @app.callback(Output("db-now", "data"), Input("db-refresh", "n_clicks"))
    def load_now(n):  # type: ignore[no-untyped-def]
        if n:
            fetch.clear_cache()
        return _read("now", fetch.fetch_now, settings)

    @app.callback(Output("db-air", "data"), Input("db-now", "data"), prevent_initial_call=True)
    def load_air(now_store):  # type: ignore[no-untyped-def]
        if (now_store or {}).get("error"):
            return None  # the card says why from the now store
        return _read("rows", fetch.fetch_air, settings, _now_of(now_store))

    @app.callback(Output("db-water", "data"), Input("db-refresh", "n_clicks"))
    def load_water(_n):  # type: ignore[no-untyped-def]
        return _read("kpi", fetch.fetch_water, settings)

    @app.callback(Output("db-inc", "data"), Input("db-refresh", "n_clicks"))
    def load_incidents(_n):  # type: ignore[no-untyped-def]
        return _read("kpi", fetch.fetch_incidents, settings)

    @app.callback(Output("db-src", "data"), Input("db-now", "data"), prevent_initial_call=True)
    def load_sources(now_store):  # type: ignore[no-untyped-def]
        if (now_store or {}).get("error"):
            return {"error": now_store["error"]}
        return _read("kpi", fetch.fetch_sources, settings, _now_of(now_store))

    @app.callback(
        Output("db-now-text", "children"), Output("db-refresh", "children"),
        Output("db-refresh", "title"), Output("db-water-missed", "title"),
        Input("db-now", "data"), Input("om-lang", "value"))
    def render_head(now_store, lang):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        return (head_text(now_store, lang), t("db_refresh", lang), t("db_refresh_title", lang),
                t("db_water_missed_title", lang))

    @app.callback(
        Output("db-air-body", "children"), Output("db-air-graph", "figure"),
        Output("db-air-graph", "style"), Output("db-period", "options"),
        Input("db-air", "data"), Input("db-air-year", "data"), Input("db-period", "value"),
        Input("db-now", "data"), Input("db-year-status", "data"), Input("om-lang", "value"))
    def render_air(air, year, period, now_store, status, lang):  # type: ignore[no-untyped-def]
        return air_card(period or "recent", now_store, air, year, status, lang or "zh")

    @app.callback(
        Output("db-water-body", "children"), Output("db-water-graph", "figure"),
        Output("db-water-graph", "style"), Output("db-water-key", "children"),
        Output("db-water-missed", "children"), Output("db-water-missed", "style"),
        Input("db-water", "data"), Input("om-lang", "value"))
    def render_water(store, lang):  # type: ignore[no-untyped-def]
        return water_card(store, lang or "zh")

    @app.callback(
        Output("db-inc-body", "children"), Output("db-inc-graph", "figure"),
        Output("db-inc-graph", "style"),
        Input("db-inc", "data"), Input("om-lang", "value"))
    def render_incidents(store, lang):  # type: ignore[no-untyped-def]
        return incident_card(store, lang or "zh")

    @app.callback(
        Output("db-src-body", "children"), Output("db-src-graph", "figure"),
        Output("db-src-graph", "style"), Output("db-src-rule", "children"),
        Input("db-src", "data"), Input("db-now", "data"), Input("om-lang", "value"))
    def render_sources(store, now_store, lang):  # type: ignore[no-untyped-def]
        return source_card(store, now_store, lang or "zh")

    dashboard_year.register(app, settings)

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True),
        Output("om-map-time", "data", allow_duplicate=True),
        Output("db-src-note", "data"),
        Input("db-air-graph", "clickData"), Input("db-water-graph", "clickData"),
        Input("db-water-missed", "n_clicks"), Input("db-inc-graph", "clickData"),
        Input("db-src-graph", "clickData"),
        State("db-period", "value"), State("db-now", "data"), State("db-air", "data"),
        State("db-air-year", "data"), State("db-water", "data"), State("db-inc", "data"),
        State("db-src", "data"),
        prevent_initial_call=True)
    def to_map(air_c, water_c, _missed, inc_c, src_c, period, now_store, air, year, water,  # type: ignore[no-untyped-def]
               inc, src):
        trigger = ctx.triggered_id
        time: Any = dash.no_update
        note: Any = dash.no_update
        if trigger == "db-air-graph":
            target, when = air_click(air_c, air_source(period or "recent", now_store, air, year))
            time = when or dash.no_update
        elif trigger == "db-water-graph":
            target = water_click(water_c, water)
        elif trigger == "db-water-missed":
            target = water_missed(water) if _missed else None
        elif trigger == "db-inc-graph":
            target = incident_click(inc_c, inc)
        elif trigger == "db-src-graph":
            target, note = _source_target(settings, src_c, src)
            if target is None and note is not None:
                return dash.no_update, time, note
        else:
            target = None
        if target is None:
            raise PreventUpdate
        return target, time, note

    @app.callback(Output("db-src-msg", "children"),
                  Input("db-src-note", "data"), Input("om-lang", "value"))
    def source_message(note, lang):  # type: ignore[no-untyped-def]
        return click_error(note, lang or "zh")


def _source_target(settings: Settings, click: dict | None, store: dict | None
                   ) -> tuple[dict | None, dict | None]:
    """Where the clicked sources are (their points are read now, ids only, never at load),
    and the failure to say if they could not be read (``None`` once they were)."""
    data = clicked(click)
    kpi = (store or {}).get("kpi")
    if not data or not kpi or len(data) < 2:
        return None, None
    try:
        box = fetch.fetch_source_bbox(settings, kpi["day"], str(data[0]), str(data[1]))
    except (OgcError, DataError) as exc:
        return None, fetch.failure(exc)
    return goto(box, LAYERS["src"]), None


PANEL = Panel(PANEL_ID, ("驾驶舱", "Dashboard"), layout, register)
