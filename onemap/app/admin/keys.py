"""The API keys section: every key (or one user's), creating a key for a user, revoking one.

A new key's secret is in the server's answer to its creation and nowhere else (the server
keeps only its digest): the page shows it once, in the result of that click, with a copy
button and the warning that it will not be shown again; it is not kept in any store, so a
reload or the next action forgets it.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html

from onemap.app.admin import api
from onemap.app.admin.fmt import DASH, beijing, message, table
from onemap.app.admin.forms import button, entry, field, reread, row_click
from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.config import Settings

COLUMNS = ("adm_col_id", "adm_col_user", "adm_col_key_name", "adm_col_created",
           "adm_col_last_used", "adm_col_revoked", "adm_actions")


def key_cells(key: dict, lang: str) -> list[str]:
    """A key's row as text, in :data:`COLUMNS` order (without the actions)."""
    return [key.get("id", ""), key.get("user", ""), key.get("name", ""),
            beijing(key.get("created")),
            beijing(key.get("last_used")) if key.get("last_used") else DASH,
            beijing(key["revoked"]) if key.get("revoked") else t("adm_key_live", lang)]


def keys_table(keys: list[dict], lang: str) -> Any:
    rows = [[*key_cells(k, lang),
             "" if k.get("revoked") else html.Button(
                 t("adm_key_revoke", lang), id={"type": "adm-key-revoke", "key": k["id"]},
                 n_clicks=0, type="button", className="adm-button adm-small adm-danger")]
            for k in keys]
    return table("adm-keys-table", [t(c, lang) for c in COLUMNS], rows, lang,
                 keys=[k["id"] for k in keys])


def secret_box(doc: dict, lang: str) -> html.Div:
    """The new key, once: the secret, a copy button, the warning."""
    return html.Div([
        html.Div([text("adm_key_secret_heading", lang),
                  f" · {doc.get('user', '')} · {doc.get('name', '')}"],
                 className="adm-secret-head"),
        html.Div([html.Code(doc.get("key", ""), id="adm-key-secret-value"),
                  dcc.Clipboard(target_id="adm-key-secret-value", title=t("adm_key_copy", lang),
                                className="adm-copy")], className="adm-secret-row"),
        html.Div(text("adm_key_secret_warning", lang), className="adm-warning"),
    ], id="adm-key-secret-box", className="adm-secret", role="status")


def section(lang: str) -> html.Div:
    return html.Div([
        dcc.Store(id="adm-keys", data=[]),
        html.Div([
            html.H3(text("adm_key_create_heading", lang)),
            html.Div([
                field("adm_key_user", entry("adm-key-user", list="adm-user-names"), lang),
                field("adm_key_name", entry("adm-key-name", maxLength=100), lang),
                button("adm_key_create", "adm-key-create", lang, "adm-primary"),
            ], className="adm-fields"),
            html.Div(id="adm-key-msg", className="adm-msgbox"),
            html.Div(id="adm-key-secret"),
        ], className="adm-form"),
        html.Div(field("adm_key_filter", entry("adm-key-filter", list="adm-user-names",
                                               debounce=True), lang),
                 className="adm-fields"),
        html.Div(id="adm-keys-table-box", className="adm-table-box"),
    ])


def register(app: dash.Dash, settings: Settings) -> None:
    @app.callback(
        Output("adm-keys", "data"),
        Output("adm-key-msg", "children"),
        Output("adm-key-secret", "children"),
        Output("adm-key-name", "value"),
        Input("adm-key-create", "n_clicks"),
        Input({"type": "adm-key-revoke", "key": ALL}, "n_clicks"),
        Input("adm-key-filter", "value"),
        State("adm-key-user", "value"),
        State("adm-key-name", "value"),
        State("om-lang", "value"),
    )
    def write(_create_n, _revoke_n, only, user, name, lang):  # type: ignore[no-untyped-def]
        """Create or revoke (then list again), or just list (page load, the filter)."""
        keep = dash.no_update
        msg, secret, name_out = keep, keep, keep
        revoke = row_click()
        if revoke is not None:
            answer = api.call(settings, "DELETE", api.path("keys", revoke["key"]))
            msg = message(answer, lang, "adm_key_revoked_done", revoke["key"])
        elif ctx.triggered_id == "adm-key-create":
            answer = api.call(settings, "POST", api.path("users", (user or "").strip(), "keys"),
                              body={"name": (name or "").strip()})
            msg = message(answer, lang, "adm_key_created", answer.doc.get("id", "")
                          if answer.ok else "")
            secret = secret_box(answer.doc, lang) if answer.ok else []
            name_out = "" if answer.ok else keep
        listed = reread(settings, api.path("keys"), "keys", {"user": (only or "").strip()})
        return listed, msg, secret, name_out

    @app.callback(
        Output("adm-keys-table-box", "children"),
        Input("adm-keys", "data"),
        Input("om-lang", "value"),
    )
    def render(keys, lang):  # type: ignore[no-untyped-def]
        return keys_table(keys or [], lang)
