"""Static labels follow the language switch in the browser, at once.

A label made by :func:`onemap.app.dock.text` (or the upload form) has the id
``{"type": "om-text", "key": "<string key>[:n]"}``. Both languages' strings travel with the page
once, and a clientside callback rewrites every such label when the language changes. Done on the
server, the rewrite waited behind the other callbacks a switch sets off (panels, layers,
legends): under load the labels stayed in the old language for a second or more, a mixed screen.
"""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, dcc

from onemap.app.i18n import LANGS, STRINGS

STORE = "om-text-strings"

_REWRITE = """function (lang, strings) {
    var cc = window.dash_clientside, table = (strings || {})[lang] || {};
    var zh = (strings || {}).zh || {};
    return cc.callback_context.outputs_list.map(function (o) {
        var key = String(o.id.key).split(":")[0];
        var text = table[key] !== undefined ? table[key] : zh[key];
        return text !== undefined ? text : cc.no_update;
    });
}"""


def store() -> dcc.Store:
    """Every UI string in both languages (read when the page is built, after the panels added
    theirs); placeholders stay unformatted, as a static label has none."""
    return dcc.Store(id=STORE, data={lang: dict(STRINGS[lang]) for lang in LANGS})


def register(app: dash.Dash) -> None:
    app.clientside_callback(
        _REWRITE,
        Output({"type": "om-text", "key": ALL}, "children"),
        Input("om-lang", "value"),
        State(STORE, "data"),
        prevent_initial_call=True,
    )
