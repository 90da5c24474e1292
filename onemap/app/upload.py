"""The "upload imagery" section of the left panel and its browser-side wiring.

The file never passes through Dash: ``assets/upload.js`` sends it with XMLHttpRequest as
multipart/form-data straight to ``POST /api/rasters`` (so the progress bar shows the real upload
progress and the browser streams the file from disk), then polls ``/api/jobs/{id}``. Python only
lays out the form and registers clientside callbacks; the script reports its state into the
``om-upload-state`` store (rendered by another clientside callback) and, on success, writes the
new dataset id into ``om-uploaded``, which makes ``dashapp`` re-read ``/api/rasters`` and rebuild
the raster rows without a page reload. Dash's ``dcc.Upload`` is not used: it base64-encodes the
whole file in browser memory and posts it through a callback.
"""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html

from onemap.app.i18n import js_strings, t

#: Ids of the form fields whose values the upload script receives.
FIELDS = ("om-upload-title", "om-upload-date", "om-upload-bands", "om-upload-series",
          "om-upload-render")
#: Text inputs and the UI string of their placeholder (rewritten by the language switch).
PLACEHOLDERS = {"om-upload-title": "upload_title_ph", "om-upload-date": "upload_date_ph",
                "om-upload-bands": "upload_bands_ph", "om-upload-series": "upload_series_ph"}


def text(key: str, lang: str, tag: type = html.Span, **kw: object) -> html.Span:
    """A static label that the language switch rewrites (id ``{"type": "om-text", "key"}``)."""
    return tag(t(key, lang), id={"type": "om-text", "key": key}, **kw)


def _field(key: str, input_id: str, lang: str) -> html.Div:
    placeholder = PLACEHOLDERS.get(input_id, "")
    return html.Div([
        text(key, lang, html.Label, htmlFor=input_id, className="om-field-label"),
        dcc.Input(id=input_id, type="text", value="", debounce=False,
                  placeholder=t(placeholder, lang) if placeholder else "",
                  className="om-field-input", autoComplete="off"),
    ], className="om-field")


def render_options(lang: str) -> list[dict]:
    """Default rendering (the server's) or NDVI band math from the red and nir bands."""
    return [{"label": t("render_default", lang), "value": "default"},
            {"label": t("render_ndvi", lang), "value": "ndvi"}]


def upload_panel(lang: str) -> html.Details:
    """The collapsible upload form, progress bar and message line."""
    return html.Details([
        html.Summary(t("upload_heading", lang), id={"type": "om-text", "key": "upload_heading"},
                     className="om-heading om-upload-summary"),
        html.Div([
            # assets/upload.js puts <input type=file id=om-upload-file> in this slot: Dash has
            # no file input that leaves the file on disk.
            html.Div(id="om-upload-file-slot", className="om-file-slot"),
            text("upload_choose", lang, html.Label, htmlFor="om-upload-file",
                 className="om-file-button"),
            html.Span("", id="om-upload-filename", className="om-file-name"),
        ], className="om-field om-file"),
        _field("upload_title", "om-upload-title", lang),
        _field("upload_date", "om-upload-date", lang),
        _field("upload_bands", "om-upload-bands", lang),
        _field("upload_series", "om-upload-series", lang),
        html.Div([
            text("upload_render", lang, html.Label, className="om-field-label"),
            dcc.RadioItems(id="om-upload-render", options=render_options(lang),
                           value="default", inline=True, className="om-render"),
        ], className="om-field"),
        html.Div([
            html.Button(text("upload_start", lang), id="om-upload-start", n_clicks=0,
                        className="om-button om-button-primary"),
            html.Button(text("upload_cancel", lang), id="om-upload-cancel", n_clicks=0,
                        className="om-button", style={"display": "none"}),
        ], className="om-upload-buttons"),
        html.Div(html.Div(id="om-upload-bar", className="om-progress-bar",
                          style={"width": "0%"}),
                 id="om-upload-progress", className="om-progress", style={"display": "none"}),
        html.Div(id="om-upload-msg", className="om-upload-msg", role="status"),
        dcc.Store(id="om-upload-state", data={"phase": "idle"}),
        # not None: a Store mounting with None "changes" to undefined, which ran the raster
        # list's refresh at every page load, ahead of the layer callback
        dcc.Store(id="om-uploaded", data={}),
        dcc.Store(id="om-strings", data=js_strings()),
    ], id="om-upload", className="om-upload")


def register_upload_callbacks(app: dash.Dash) -> None:
    """Clientside: start/cancel the upload, render its state, localise the buttons."""
    app.clientside_callback(
        ClientsideFunction("onemap_upload", "start"),
        Output("om-upload-state", "data", allow_duplicate=True),
        Input("om-upload-start", "n_clicks"),
        *[State(f, "value") for f in FIELDS],
        State("om-config", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_upload", "cancel"),
        Output("om-upload-state", "data", allow_duplicate=True),
        Input("om-upload-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_upload", "render"),
        Output("om-upload-progress", "style"),
        Output("om-upload-bar", "style"),
        Output("om-upload-msg", "children"),
        Output("om-upload-msg", "className"),
        Output("om-upload-cancel", "style"),
        Output("om-upload-start", "disabled"),
        Output("om-upload-bar", "className"),
        Input("om-upload-state", "data"),
        Input("om-lang", "value"),
        State("om-strings", "data"),
    )
