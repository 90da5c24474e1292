"""``create_dash(settings)``: the Dash application the server mounts at "/".

Only the layout and two small callbacks run in Python (which layers are on, which language);
the data never passes through them: the browser fetches GeoJSON from the OGC API and tiles from
titiler, and ``assets/onemap.js`` styles them. Everything is served from this origin
(``serve_locally``) so the page works on an isolated intranet.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import ALL, Input, Output, State, ctx, html

from onemap.app.i18n import PAGE_TITLE, group_title, t
from onemap.app.layers import layer_component
from onemap.app.layout import group_options, page
from onemap.app.legend import legend_panel
from onemap.app.sources import base_path, load_sources
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


def _update_layers(values: list[list[str] | None], lang: str, specs: list[dict], config: dict,
                   current: list[list | None]) -> tuple[list, list]:
    """Pane children for every layer (``no_update`` where nothing changed) and the legend."""
    visible = {lid for group in values for lid in (group or [])}
    by_id = {s["id"]: s for s in specs}
    panes = []
    for out, children in zip(ctx.outputs_list[0], current, strict=True):
        spec = by_id.get(out["id"]["layer"])
        want = spec is not None and spec["id"] in visible
        if not want:
            panes.append([] if children else dash.no_update)
        elif children and (spec["kind"] == "raster" or _child_lang(children) == lang):
            panes.append(dash.no_update)
        else:
            panes.append([layer_component(spec, lang, config.get("tile_basemap", False))])
    return panes, legend_panel(specs, visible, lang)


def register_callbacks(app: dash.Dash) -> None:
    """Wire the layer toggles and the language switch."""

    @app.callback(
        Output({"type": "om-pane", "layer": ALL}, "children"),
        Output("om-legend", "children"),
        Input({"type": "om-group", "group": ALL}, "value"),
        Input("om-lang", "value"),
        State("om-specs", "data"),
        State("om-config", "data"),
        State({"type": "om-pane", "layer": ALL}, "children"),
    )
    def toggle_layers(values, lang, specs, config, current):  # type: ignore[no-untyped-def]
        return _update_layers(values, lang, specs or [], config or {}, current)

    @app.callback(
        Output({"type": "om-group", "group": ALL}, "options"),
        Output({"type": "om-group-title", "group": ALL}, "children"),
        Output("om-title", "children"),
        Output("om-subtitle", "children"),
        Output("om-layers-heading", "children"),
        Output("om-messages", "children"),
        Input("om-lang", "value"),
        State("om-specs", "data"),
        State("om-config", "data"),
        prevent_initial_call=True,
    )
    def switch_language(lang, specs, config):  # type: ignore[no-untyped-def]
        groups = [o["id"]["group"] for o in ctx.outputs_list[0]]
        errors = (config or {}).get("errors") or []
        return (
            [group_options(specs or [], g, lang) for g in groups],
            [group_title(g, lang) for g in groups],
            t("app_title", lang), t("app_subtitle", lang), t("layers", lang),
            [html.Div(t(key, lang, error=err), className="om-error") for key, err in errors],
        )


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
    )
    app.index_string = INDEX

    def serve_layout():  # type: ignore[no-untyped-def]
        return page(load_sources(settings), settings.basemap_url, settings.basemap_attribution)

    app.layout = serve_layout
    register_callbacks(app)
    return app
