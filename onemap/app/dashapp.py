"""``create_dash(settings)``: the Dash application the server mounts at "/".

Only the layout and a few small callbacks run in Python (which layers are on at which time step
and opacity, which language, re-reading the raster list after an upload); the data never passes
through them: the browser fetches GeoJSON from the OGC API and tiles from titiler,
``assets/onemap.js`` styles them, ``assets/upload.js`` sends uploads straight to the server and
``assets/rasters.js`` asks titiler for pixel values on click. Everything is served from this origin
(``serve_locally``) so the page works on an isolated intranet.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import dash
import flask
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from onemap.app import goto, search, serverhttp, statictext, timebar, tools, urlstate
from onemap.app.admin import create_admin
from onemap.app.bundles import bundle_assets
from onemap.app.dock import register_dock_callbacks, tab_titles
from onemap.app.i18n import PAGE_TITLE, group_title, pick, t
from onemap.app.jobs import register_job_callbacks
from onemap.app.layers import data_today, layer_component, pane, raster_component
from onemap.app.layout import group_options, page
from onemap.app.legend import legend_panel
from onemap.app.login import register_admin_link, whoami
from onemap.app.panels import PanelContext, panels
from onemap.app.raster_list import (
    DEFAULT_OPACITY,
    raster_options,
    raster_rows,
    step_text,
    time_title,
)
from onemap.app.rasters import step_of
from onemap.app.sources import base_path, load_rasters, load_sources
from onemap.app.upload import PLACEHOLDERS, register_upload_callbacks, render_options
from onemap.config import Settings, get_settings

ASSETS = Path(__file__).resolve().parent / "assets"

INDEX = """<!DOCTYPE html>
<html lang="zh-CN">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def _child_lang(children: list | None) -> str | None:
    """The language a rendered layer was built for (None for tile layers)."""
    if not children:
        return None
    props = children[0].get("props", {}) if isinstance(children[0], dict) else {}
    return (props.get("hideout") or {}).get("lang")


def _by_layer(entries: list[dict]) -> dict[str, object]:
    """``{layer id: value}`` from a pattern-matching input list (``ctx.inputs_list[i]``)."""
    return {e["id"]["layer"]: e.get("value") for e in entries}


def _same_tiles(children: list | None, url: str, opacity: float) -> bool:
    if not children or not isinstance(children[0], dict):
        return False
    props = children[0].get("props", {})
    return props.get("url") == url and props.get("opacity") == opacity


def update_layers(values: list[list[str] | None], lang: str, specs: list[dict], config: dict,
                  panes: list[tuple[str, list | None]], raster_on: dict[str, object],
                  times: dict[str, object], opacity: dict[str, object],
                  vector_opacity: dict[str, int] | None = None,
                  extent: object = None) -> tuple[list, list, dict]:
    """Pane children per layer (``no_update`` where nothing changed), legend, clickable rasters.

    ``panes`` is (layer id, current children) for every pane in the page; the raster dicts map
    a raster layer id to its checklist value, time step and opacity (0–100); ``extent`` is the
    time bar's store (the data's last day, for the permits in source popups).
    """
    visible = {lid for group in values for lid in (group or [])}
    visible |= {lid for v in raster_on.values() for lid in (v or [])}
    by_id = {s["id"]: s for s in specs}
    out, when, clickable = [], {}, []
    for lid, children in panes:
        spec = by_id.get(lid)
        if spec is None or lid not in visible:
            out.append([] if children else dash.no_update)
            continue
        if spec["kind"] != "raster":
            same = children and _child_lang(children) == lang
            out.append(dash.no_update if same else
                       [layer_component(spec, lang, config.get("tile_basemap", False),
                                        data_today(extent))])
            continue
        step = step_of(spec, times.get(lid))  # type: ignore[arg-type]
        alpha = round(float(opacity.get(lid, DEFAULT_OPACITY) or 0)) / 100  # type: ignore[arg-type]
        out.append(dash.no_update if _same_tiles(children, step["url"], alpha)
                   else [raster_component(spec, step["url"], alpha)])
        if spec.get("steps"):
            when[lid] = step["label"]
        clickable.append({"id": lid, "title": pick(spec["title"], spec["title_en"], lang),
                          "when": step.get("label", ""), "dataset": step["dataset"],
                          "point": step["point"], "bounds": spec.get("bounds"),
                          "bands": spec.get("bands") or [], "unit": spec.get("unit") or "",
                          "value_label": spec.get("value_label") or "", "z": spec["z"]})
    clickable.sort(key=lambda r: -r["z"])
    return (out, legend_panel(specs, visible, lang, when, vector_opacity),
            {"lang": lang, "rasters": clickable})


def register_callbacks(app: dash.Dash, settings: Settings) -> None:
    """Wire the layer toggles, raster sliders, uploads and the language switch."""

    @app.callback(
        Output({"type": "om-pane", "layer": ALL}, "children"),
        Output("om-legend", "children"),
        Output("om-visible-rasters", "data"),
        Input({"type": "om-group", "group": ALL}, "value"),
        Input({"type": "om-raster-on", "layer": ALL}, "value"),
        Input({"type": "om-time", "layer": ALL}, "value"),
        Input({"type": "om-opacity", "layer": ALL}, "value"),
        Input("om-lang", "value"),
        Input("om-specs", "data"),
        State("om-config", "data"),
        State({"type": "om-pane", "layer": ALL}, "children"),
        State("om-vector-opacity", "data"),
        State("om-tb-extent", "data"),
    )
    def toggle_layers(values, _on, _times, _opacity, lang, specs, config, current, vopacity,  # type: ignore[no-untyped-def]
                      extent):
        pane_ids = [o["id"]["layer"] for o in ctx.outputs_list[0]]
        return update_layers(values, lang, specs or [], config or {},
                             list(zip(pane_ids, current, strict=True)),
                             _by_layer(ctx.inputs_list[1]), _by_layer(ctx.inputs_list[2]),
                             _by_layer(ctx.inputs_list[3]), vopacity, extent)

    @app.callback(
        Output({"type": "om-time-label", "layer": MATCH}, "children"),
        Input({"type": "om-time", "layer": MATCH}, "value"),
        Input("om-lang", "value"),
        State("om-specs", "data"),
        prevent_initial_call=True,  # the row is laid out with its label (raster_list)
    )
    def time_label(value, lang, specs):  # type: ignore[no-untyped-def]
        lid = ctx.outputs_list["id"]["layer"]
        spec = next((s for s in specs or [] if s["id"] == lid), None)
        return step_text(spec, int(value or 0), lang) if spec else ""

    @app.callback(
        Output("om-specs", "data"),
        Output("om-rs-list", "children"),
        Output("om-raster-panes", "children"),
        Output("om-map", "viewport"),
        Input("om-uploaded", "data"),
        State("om-specs", "data"),
        State({"type": "om-raster-on", "layer": ALL}, "value"),
        State({"type": "om-time", "layer": ALL}, "value"),
        State({"type": "om-opacity", "layer": ALL}, "value"),
        State("om-raster-panes", "children"),
        State("om-lang", "value"),
        State("om-map-time", "data"),
        prevent_initial_call=True,
    )
    def refresh_rasters(uploaded, specs, _on, _times, _opacity, panes, lang, map_time):  # type: ignore[no-untyped-def]
        if not uploaded:  # {} (as laid out): no upload yet
            raise PreventUpdate
        rasters, errors = load_rasters(settings)
        if errors or not rasters:
            raise PreventUpdate
        new = (uploaded or {}).get("dataset")
        specs, rows, panes = rebuild_rasters(
            specs or [], [asdict(r) for r in rasters], new, panes or [], lang,
            on=_by_layer(ctx.states_list[1]), times=_by_layer(ctx.states_list[2]),
            opacity=_by_layer(ctx.states_list[3]), when=timebar.parse_time(map_time))
        return specs, rows, panes, upload_viewport(specs, new)

    @app.callback(
        Output({"type": "om-group", "group": ALL}, "options"),
        Output({"type": "om-group-title", "group": ALL}, "children"),
        Output({"type": "om-raster-on", "layer": ALL}, "options"),
        Output({"type": "om-play", "layer": ALL}, "title"),
        Output({"type": "om-time-box", "layer": ALL}, "title"),
        Output("om-legend-name", "children"),
        Output("om-title", "children"),
        Output("om-subtitle", "children"),
        Output("om-layers-heading", "children"),
        Output("om-messages", "children"),
        Output("om-upload-render", "options"),
        *[Output(i, "placeholder") for i in PLACEHOLDERS],
        Input("om-lang", "value"),
        State("om-specs", "data"),
        State("om-config", "data"),
        State({"type": "om-play-timer", "layer": ALL}, "disabled"),
        prevent_initial_call=True,
    )
    def switch_language(lang, specs, config, timers_off):  # type: ignore[no-untyped-def]
        groups = [o["id"]["group"] for o in ctx.outputs_list[0]]
        titled = [o["id"]["group"] for o in ctx.outputs_list[1]]
        by_id = {s["id"]: s for s in specs or []}
        rasters = [by_id.get(o["id"]["layer"]) for o in ctx.outputs_list[2]]
        series = [by_id.get(o["id"]["layer"]) for o in ctx.outputs_list[4]]
        errors = (config or {}).get("errors") or []
        return (
            [group_options(specs or [], g, lang) for g in groups],
            [group_title(g, lang) for g in titled],
            [raster_options(s, lang) if s else [] for s in rasters],
            [t("play" if off is not False else "pause", lang) for off in timers_off],
            [time_title(s, lang) if s else "" for s in series], t("legend", lang),
            t("app_title", lang), t("app_subtitle", lang), t("layers", lang),
            [html.Div(t(key, lang, error=err), className="om-error") for key, err in errors],
            render_options(lang),
            *[t(key, lang) for key in PLACEHOLDERS.values()],
        )

    @app.callback(
        Output({"type": "om-tab", "panel": ALL}, "children"),
        Input("om-lang", "value"),
        prevent_initial_call=True,
    )
    def tab_language(lang):  # type: ignore[no-untyped-def]
        by_id = {p.id: p for p in panels()}
        return tab_titles([by_id[o["id"]["panel"]] for o in ctx.outputs_list], lang)

    for module in (goto, search, timebar, tools, urlstate):
        module.register(app, settings)
    statictext.register(app)
    register_job_callbacks(app, settings)
    register_dock_callbacks(app, settings)
    register_admin_link(app)
    for p in panels():
        p.register(app, settings)
    _register_clientside(app)


def _register_clientside(app: dash.Dash) -> None:
    """Browser-side callbacks: play/pause of series, pixel values on click, the upload form."""
    app.clientside_callback(
        ClientsideFunction("onemap_rasters", "togglePlay"),
        Output({"type": "om-play-timer", "layer": MATCH}, "disabled"),
        Output({"type": "om-play", "layer": MATCH}, "children"),
        Output({"type": "om-play", "layer": MATCH}, "title", allow_duplicate=True),
        Input({"type": "om-play", "layer": MATCH}, "n_clicks"),
        State({"type": "om-play-timer", "layer": MATCH}, "disabled"),
        State("om-lang", "value"),
        State("om-strings", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_rasters", "nextStep"),
        Output({"type": "om-time", "layer": MATCH}, "value"),
        Input({"type": "om-play-timer", "layer": MATCH}, "n_intervals"),
        State({"type": "om-time", "layer": MATCH}, "value"),
        State({"type": "om-time", "layer": MATCH}, "max"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_rasters", "setVisible"),
        Output("om-js-sink", "data"),
        Input("om-visible-rasters", "data"),
        State("om-strings", "data"),
    )
    # The big layers' vector tiles follow their (empty) components in the panes.
    app.clientside_callback(
        ClientsideFunction("onemap_tiles", "sync"),
        Output("om-tiles-sink", "data"),
        Input({"type": "om-pane", "layer": ALL}, "children"),
    )
    register_upload_callbacks(app)
    app.clientside_callback(
        ClientsideFunction("onemap_opacity", "vectorOpacity"),
        Output("om-vector-opacity", "data"),
        Input({"type": "om-vopacity", "layer": ALL}, "value"),
        State("om-vector-opacity", "data"),
        prevent_initial_call=True,
    )
    # The browser tab's title follows the language (no mixed-language window).
    # and so do the tooltips Leaflet writes itself (assets/lang.js).
    app.clientside_callback(
        ClientsideFunction("onemap_lang", "apply"),
        Output("om-title-sink", "data"),
        Input("om-lang", "value"),
        State("om-page-strings", "data"),
    )


def upload_viewport(specs: list[dict], dataset: str | None) -> dict | object:
    """Show a freshly uploaded raster: the user wants to see it (no change if unknown).

    Not animated: the view is final before the new tile layer is added, so no tile request of
    an intermediate zoom is started and then cancelled.
    """
    summary = next((s for s in specs if s["kind"] == "raster" and dataset in s["datasets"]),
                   None)
    bounds = (summary or {}).get("bounds")
    if not bounds or len(bounds) != 4:
        return dash.no_update
    minx, miny, maxx, maxy = bounds
    return {"bounds": [[miny, minx], [maxy, maxx]], "transition": "fitBounds",
            "options": {"animate": False, "omUncovered": True}}


def rebuild_rasters(specs: list[dict], rasters: list[dict], new_dataset: str | None,
                    panes: list, lang: str, *, on: dict[str, object], times: dict[str, object],
                    opacity: dict[str, object], when: datetime | None = None,
                    ) -> tuple[list[dict], list, list]:
    """Specs, raster rows and raster panes after an upload, keeping what the user had set.

    The entry holding ``new_dataset`` is switched on at that step; a cube (many steps of one
    dataset) at the step the time bar would pick for map time ``when`` (None: its last), so it
    opens at the map's hour. Existing panes keep their drawn tiles (the toggle callback then
    only adds what is new).
    """
    old = {s["id"]: s for s in specs}
    on_ids = {lid for v in on.values() for lid in (v or [])}
    steps: dict[str, int] = {}
    for spec in rasters:
        prev = old.get(spec["id"])
        if prev and len(prev.get("steps") or []) == len(spec["steps"]) and spec["id"] in times:
            steps[spec["id"]] = int(times[spec["id"]] or 0)  # type: ignore[call-overload]
        if new_dataset and new_dataset in spec["datasets"]:
            on_ids.add(spec["id"])
            mine = [i for i, step in enumerate(spec["steps"]) if step["dataset"] == new_dataset]
            if mine:
                pick = timebar.series_step([spec["steps"][i] for i in mine], when)
                steps[spec["id"]] = mine[pick]
    kept = {}
    for p in panes:
        pid = (p.get("props", {}).get("id") or {}) if isinstance(p, dict) else {}
        if isinstance(pid, dict) and pid.get("layer"):
            kept[pid["layer"]] = p
    new_panes = [kept.get(s["id"]) or pane(s) for s in rasters]
    opac = {k: int(v) for k, v in opacity.items() if v is not None}  # type: ignore[call-overload]
    rows = raster_rows(rasters, lang, on=on_ids, steps=steps, opacity=opac)
    return [s for s in specs if s["kind"] != "raster"] + rasters, rows, new_panes


#: A year: what browsers keep a URL that can never change its content.
IMMUTABLE = "public, max-age=31536000, immutable"


def keep_versioned_assets(app: dash.Dash) -> None:
    """The page links every file of ``assets/`` with its modification time (``?m=…``), so
    such a URL never changes content: the browser keeps it a year instead of asking again on
    every page (a 304 round trip per file, ~30 of them). Dash's own bundles, versioned in their
    names, already are. A URL without ``m`` (typed by hand) is left to revalidate."""

    @app.server.after_request
    def _immutable(response):  # type: ignore[no-untyped-def]
        if response.status_code == 200 and flask.request.args.get("m") and \
                flask.request.path.startswith("/assets/"):
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def create_dash(settings: Settings | None = None) -> dash.Dash:
    """The map application; the server mounts ``app.server`` (Flask, WSGI) at "/"."""
    settings = settings or get_settings()
    app = dash.Dash(
        __name__,
        title=PAGE_TITLE,
        update_title=None,
        serve_locally=True,
        assets_folder=str(ASSETS),
        routes_pathname_prefix="/",
        requests_pathname_prefix=base_path(settings),
        suppress_callback_exceptions=True,
        # The renderer sends the session's CSRF token with every callback request, from the
        # script-readable cookie the login sets (the server checks it: mapserver.auth).
        csrf_token_name=serverhttp.CSRF_COOKIE,
        csrf_header_name=serverhttp.CSRF_HEADER,
    )
    app.index_string = INDEX

    def serve_layout():  # type: ignore[no-untyped-def]
        sources = load_sources(settings)
        return page(sources, settings.basemap_url, settings.basemap_attribution,
                    base_path(settings), panels(), PanelContext(settings, sources.to_store()),
                    me=whoami(settings))

    app.layout = serve_layout
    keep_versioned_assets(app)
    bundle_assets(app, ASSETS, preload=True)
    register_callbacks(app, settings)
    # the admin page, on the same Flask server at <base>admin/ (onemap.app.admin)
    create_admin(settings, app.server, INDEX)
    return app
