"""The Dashboard (驾驶舱): what an official sees first — four regional KPIs, each a chart whose
bars lead to the map.

* share of good-air days (AQI ≤ 100) over the latest 30 complete days, or the data's year;
* surface-water sections per GB 3838 class, and those missing their target class;
* open environmental incidents per level and status;
* pollution sources whose discharge permit has expired (the data hold no measured emissions or
  permitted limits, so that is the "exceedance" the data can support, and the card says so).

One callback reads every card's data and draws them (one round trip per page load, the reads
in parallel on the server side, each KPI computed again only when its datasets changed: see
:func:`~onemap.app.panels.dashboard_fetch.load_all`); one failure does not blank the others.
The year of AQI (~12 s) runs as an OGC job with progress and cancel
(:mod:`~onemap.app.panels.dashboard_year`), its 20 MB of station-days reduced to the regional
rows on the server. "Now" is the data's latest hour, never the wall clock. Fetching is in
:mod:`~onemap.app.panels.dashboard_fetch`, numbers in ``dashboard_kpis``, cards and charts in
``dashboard_cards`` / ``dashboard_view``: this module is the page and its wiring.
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
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
    head_text,
    incident_card,
    incident_click,
    period_options,
    source_card,
    water_card,
    water_click,
    water_missed,
)
from onemap.app.panels.dashboard_charts import BAR, bar_key
from onemap.app.panels.dashboard_kpis import DataError, goto
from onemap.config import Settings

PANEL_ID = "dashboard"
#: Which bar (its id, as Dash writes it) or button was clicked, with the time: a bar drawn
#: anew fires its n_clicks input with 0, which is not a click.
CLICKED = """function (_bars, _missed) {
    var cc = window.dash_clientside, hit = (cc.callback_context.triggered || [])[0];
    if (!hit || !hit.value) { return cc.no_update; }
    return {id: hit.prop_id.slice(0, hit.prop_id.lastIndexOf(".")), at: Date.now()};
}"""


def _graph(card: str) -> html.Div:
    """Where the card's chart goes (HTML bars: :mod:`~onemap.app.panels.dashboard_charts`)."""
    return html.Div(id=f"db-{card}-graph", style=HIDDEN, className="db-graph")


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
        # (not None: a Store mounting with None "changes" to undefined, a callback's trigger)
        dcc.Store(id="db-click", data={}),
        dcc.Store(id="db-reload", data=0),  # written by assets/screen.js when data changed
        # the language the loader drew in, and a nudge to draw again when the page's language
        # changed while the loader was out (its answer, drawn in the old one, came last)
        dcc.Store(id="db-drawn-lang"), dcc.Store(id="db-relang", data=0),
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


#: The cards as the loader draws them, then again when the language (or the period) changes.
HEAD = [Output("db-now-text", "children")]
AIR = [Output("db-air-body", "children"), Output("db-air-graph", "children"),
       Output("db-air-graph", "style"), Output("db-period", "options")]
WATER = [Output("db-water-body", "children"), Output("db-water-graph", "children"),
         Output("db-water-graph", "style"), Output("db-water-key", "children"),
         Output("db-water-missed", "children"), Output("db-water-missed", "style")]
INC = [Output("db-inc-body", "children"), Output("db-inc-graph", "children"),
       Output("db-inc-graph", "style")]
SRC = [Output("db-src-body", "children"), Output("db-src-graph", "children"),
       Output("db-src-graph", "style"), Output("db-src-rule", "children")]
STORES = ("now", "air", "water", "inc", "src")


def _again(outputs: list[Output]) -> list[Output]:
    """The same outputs, written a second time (by the loader)."""
    return [Output(o.component_id, o.component_property, allow_duplicate=True) for o in outputs]


def register(app: dash.Dash, settings: Settings) -> None:
    """Loading (one callback: every card's data and drawing in one round trip), drawing again
    per language, period and year, clicks → map."""

    @app.callback(
        *[Output(f"db-{name}", "data") for name in STORES],
        *_again(HEAD), *_again(AIR), *_again(WATER), *_again(INC), *_again(SRC),
        Output("db-drawn-lang", "data"),
        Input("db-refresh", "n_clicks"), Input("db-reload", "data"),
        State("om-lang", "value"), State("db-period", "value"), State("db-air-year", "data"),
        State("db-year-status", "data"),
        prevent_initial_call="initial_duplicate")
    def load(n, _reload, lang, period, year, status):  # type: ignore[no-untyped-def]
        # the button computes everything again; a reload (the big screen saw a dataset change)
        # only what changed
        lang = lang or "zh"
        got = fetch.load_all(settings, refresh=bool(n) and ctx.triggered_id == "db-refresh")
        now = got["now"]
        return (*[got[name] for name in STORES], head_text(now, lang),
                *air_card(period or "recent", now, got["air"], year, status, lang),
                *water_card(got["water"], lang), *incident_card(got["inc"], lang),
                *source_card(got["src"], now, lang), lang)

    app.clientside_callback(
        """(drawn, lang) => (drawn && lang && drawn !== lang) ? Date.now()
                                                              : window.dash_clientside.no_update""",
        Output("db-relang", "data"), Input("db-drawn-lang", "data"), State("om-lang", "value"),
        prevent_initial_call=True)

    @app.callback(
        *HEAD, Output("db-refresh", "children"),
        Output("db-refresh", "title"), Output("db-water-missed", "title"),
        Input("om-lang", "value"), Input("db-relang", "data"), State("db-now", "data"),
        prevent_initial_call=True)
    def render_head(lang, _relang, now_store):  # type: ignore[no-untyped-def]
        lang = lang or "zh"
        return (head_text(now_store, lang), t("db_refresh", lang), t("db_refresh_title", lang),
                t("db_water_missed_title", lang))

    @app.callback(
        *AIR, Input("db-air-year", "data"), Input("db-period", "value"),
        Input("db-year-status", "data"), Input("om-lang", "value"), Input("db-relang", "data"),
        State("db-air", "data"), State("db-now", "data"), prevent_initial_call=True)
    def render_air(year, period, status, lang, _relang, air, now_store):  # type: ignore[no-untyped-def]
        return air_card(period or "recent", now_store, air, year, status, lang or "zh")

    @app.callback(*WATER, Input("om-lang", "value"), Input("db-relang", "data"),
                  State("db-water", "data"), prevent_initial_call=True)
    def render_water(lang, _relang, store):  # type: ignore[no-untyped-def]
        return water_card(store, lang or "zh")

    @app.callback(*INC, Input("om-lang", "value"), Input("db-relang", "data"),
                  State("db-inc", "data"), prevent_initial_call=True)
    def render_incidents(lang, _relang, store):  # type: ignore[no-untyped-def]
        return incident_card(store, lang or "zh")

    @app.callback(*SRC, Input("om-lang", "value"), Input("db-relang", "data"),
                  State("db-src", "data"), State("db-now", "data"), prevent_initial_call=True)
    def render_sources(lang, _relang, store, now_store):  # type: ignore[no-untyped-def]
        return source_card(store, now_store, lang or "zh")

    dashboard_year.register(app, settings)

    # A bar or the "missed" button clicked (in the browser: bars drawn anew, with no click,
    # ask nothing of the server).
    app.clientside_callback(
        CLICKED,
        Output("db-click", "data"),
        Input({"type": BAR, "card": ALL, "key": ALL}, "n_clicks"),
        Input("db-water-missed", "n_clicks"),
        prevent_initial_call=True)

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True),
        Output("om-map-time", "data", allow_duplicate=True),
        Output("db-src-note", "data"),
        Input("db-click", "data"),
        State("db-period", "value"), State("db-now", "data"), State("db-air", "data"),
        State("db-air-year", "data"), State("db-water", "data"), State("db-inc", "data"),
        State("db-src", "data"),
        prevent_initial_call=True)
    def to_map(click, period, now_store, air, year, water, inc, src):  # type: ignore[no-untyped-def]
        time: Any = dash.no_update
        note: Any = dash.no_update
        clicked = str((click or {}).get("id") or "")
        if clicked == "db-water-missed":
            target = water_missed(water)
        else:
            try:
                which = json.loads(clicked)
            except ValueError:
                raise PreventUpdate from None
            card, key = bar_key(which) or ("", [])
            target = None
            if card == "air":
                target, when = air_click(key, air_source(period or "recent", now_store, air,
                                                         year))
                time = when or dash.no_update
            elif card == "water":
                target = water_click(key, water)
            elif card == "inc":
                target = incident_click(key, inc)
            elif card == "src":
                target, note = _source_target(settings, key, src)
                if target is None and note is not None:
                    return dash.no_update, time, note
        if target is None:
            raise PreventUpdate
        return target, time, note

    @app.callback(Output("db-src-msg", "children"),
                  Input("db-src-note", "data"), Input("om-lang", "value"),
                  prevent_initial_call=True)
    def source_message(note, lang):  # type: ignore[no-untyped-def]
        return click_error(note, lang or "zh")


def _source_target(settings: Settings, data: list | None, store: dict | None
                   ) -> tuple[dict | None, dict | None]:
    """Where the clicked sources (key ``[series, permit class]``) are (their points are read
    now, ids only, never at load), and the failure to say if they could not be read (``None``
    once they were)."""
    kpi = (store or {}).get("kpi")
    if not data or not kpi or len(data) < 2:
        return None, None
    try:
        box = fetch.fetch_source_bbox(settings, kpi["day"], str(data[0]), str(data[1]))
    except (OgcError, DataError) as exc:
        return None, fetch.failure(exc)
    return goto(box, LAYERS["src"]), None


PANEL = Panel(PANEL_ID, ("驾驶舱", "Dashboard"), layout, register)
