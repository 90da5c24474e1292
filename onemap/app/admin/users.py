"""The Users section: every account; adding one; changing one's roles and region (a grant),
disabling or enabling it, setting a new password.

Each write is one call of ``/api/admin/users…`` as the browser's user; the list is then read
again from the server, so the table shows what the server now holds, not what the form sent.
A refusal (weak password, unknown region, a name taken) is shown with the server's reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.admin import api
from onemap.app.admin.fmt import (
    DASH,
    beijing,
    message,
    region_label,
    role_options,
    roles_text,
    table,
)
from onemap.app.admin.forms import button, entry, field, group, reread, row_click
from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.config import Settings

COLUMNS = ("adm_col_name", "adm_col_display", "adm_col_roles", "adm_col_region",
           "adm_col_state", "adm_col_password", "adm_col_sessions", "adm_col_created",
           "adm_actions")


def state_text(user: dict, lang: str, now: datetime | None = None) -> str:
    """Active, disabled, or locked until a time (after repeated failed logins)."""
    if user.get("disabled"):
        return t("adm_state_disabled", lang)
    until = user.get("locked_until")
    if until:
        try:
            stamp = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        except ValueError:
            stamp = None
        if stamp is None or stamp > (now or datetime.now(UTC)):
            return t("adm_state_locked", lang, until=beijing(until))
    return t("adm_state_active", lang)


def user_cells(user: dict, names: dict[str, str], lang: str,
               now: datetime | None = None) -> list[str]:
    """A user's row as text, in :data:`COLUMNS` order (without the actions)."""
    return [user.get("name", ""), user.get("display") or DASH,
            roles_text(user.get("roles") or [], lang),
            region_label(user.get("region"), names, lang), state_text(user, lang, now),
            t("adm_password_yes" if user.get("has_password") else "adm_password_no", lang),
            str(user.get("sessions", 0)), beijing(user.get("created"))]


def users_table(users: list[dict], names: dict[str, str], lang: str) -> Any:
    rows = [[*user_cells(u, names, lang),
             html.Button(t("adm_user_edit", lang), id={"type": "adm-user-edit", "name": u["name"]},
                         n_clicks=0, type="button", className="adm-button adm-small")]
            for u in users]
    return table("adm-users-table", [t(k, lang) for k in COLUMNS], rows, lang,
                 keys=[u["name"] for u in users])


def _roles(control_id: str, roles: list[str], lang: str, value: list[str]) -> dcc.Checklist:
    return dcc.Checklist(id=control_id, options=role_options(roles, lang), value=value,
                         inline=True, className="adm-checks", inputClassName="adm-check")


def section(lang: str, users: list[dict], roles: list[str]) -> html.Div:
    """The section's layout; ``users`` and ``roles`` as the server listed them."""
    add = html.Div([
        html.H3(text("adm_user_add_heading", lang)),
        html.Div([
            field("adm_user_name", entry("adm-user-name", maxLength=64), lang),
            field("adm_user_display", entry("adm-user-display", maxLength=200), lang),
            field("adm_user_password", entry("adm-user-password", "password",
                                              autoComplete="new-password"), lang),
            field("adm_user_region", entry("adm-user-region", list="adm-regions",
                                           maxLength=6), lang),
        ], className="adm-fields"),
        group("adm_user_roles", _roles("adm-user-roles", roles, lang, ["viewer"]), lang),
        button("adm_user_add", "adm-user-add", lang, "adm-primary"),
        html.Div(id="adm-user-add-msg", className="adm-msgbox"),
    ], className="adm-form")
    edit = html.Div([
        html.H3(text("adm_user_edit_heading", lang)),
        html.Div(text("adm_user_edit_hint", lang), id="adm-edit-hint", className="adm-hint"),
        html.Div([
            html.Div([text("adm_user_editing", lang), " ",
                      html.Strong(id="adm-edit-who")], className="adm-editing"),
            group("adm_user_roles", _roles("adm-edit-roles", roles, lang, []), lang),
            html.Div([
                field("adm_user_region", entry("adm-edit-region", list="adm-regions",
                                               maxLength=6), lang),
                button("adm_user_grant", "adm-edit-grant", lang, "adm-primary"),
            ], className="adm-fields"),
            html.Div([
                field("adm_user_new_password", entry("adm-edit-password", "password",
                                                     autoComplete="new-password"), lang),
                button("adm_user_set_password", "adm-edit-setpw", lang),
            ], className="adm-fields"),
            html.Div([button("adm_user_disable", "adm-edit-disable", lang, "adm-danger"),
                      button("adm_user_enable", "adm-edit-enable", lang)],
                     className="adm-fields"),
        ], id="adm-edit-panel", hidden=True),
        html.Div(id="adm-user-edit-msg", className="adm-msgbox"),
    ], className="adm-form")
    return html.Div([
        dcc.Store(id="adm-users", data=users),
        dcc.Store(id="adm-roles", data=roles),
        dcc.Store(id="adm-edit-target"),
        html.Datalist(id="adm-user-names"),
        add, edit,
        html.Div(id="adm-users-table-box", className="adm-table-box"),
    ])


def _add(settings: Settings, name: str, display: str, password: str, roles: list[str],
         region: str) -> api.Answer:
    return api.call(settings, "POST", api.path("users"), body={
        "name": name.strip(), "display": display.strip(), "roles": roles or [],
        "region": region.strip() or None, "password": password or None})


def _edit(settings: Settings, action: str, target: str, roles: list[str], region: str,
          password: str) -> tuple[api.Answer, str]:
    """One change of ``target``: the server's answer and the words for it being done."""
    if action == "adm-edit-grant":
        return api.call(settings, "PUT", api.path("users", target, "grant"), body={
            "roles": roles or [], "region": region.strip() or None}), "adm_user_granted"
    if action == "adm-edit-setpw":
        return api.call(settings, "PATCH", api.path("users", target),
                        body={"password": password}), "adm_user_password_set"
    disable = action == "adm-edit-disable"
    return (api.call(settings, "PATCH", api.path("users", target), body={"disabled": disable}),
            "adm_user_disabled_done" if disable else "adm_user_enabled_done")


def register(app: dash.Dash, settings: Settings) -> None:
    @app.callback(
        Output("adm-users", "data"),
        Output("adm-user-add-msg", "children"),
        Output("adm-user-edit-msg", "children"),
        Output("adm-user-name", "value"),
        Output("adm-user-password", "value"),
        Output("adm-edit-password", "value"),
        Input("adm-user-add", "n_clicks"),
        Input("adm-edit-grant", "n_clicks"),
        Input("adm-edit-setpw", "n_clicks"),
        Input("adm-edit-disable", "n_clicks"),
        Input("adm-edit-enable", "n_clicks"),
        State("adm-user-name", "value"),
        State("adm-user-display", "value"),
        State("adm-user-password", "value"),
        State("adm-user-roles", "value"),
        State("adm-user-region", "value"),
        State("adm-edit-target", "data"),
        State("adm-edit-roles", "value"),
        State("adm-edit-region", "value"),
        State("adm-edit-password", "value"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def write(_add_n, _grant_n, _pw_n, _off_n, _on_n, name, display, password, roles,  # type: ignore[no-untyped-def]
              region, target, edit_roles, edit_region, edit_password, lang):
        keep = dash.no_update
        action = ctx.triggered_id
        if action == "adm-user-add":
            answer = _add(settings, name or "", display or "", password or "", roles,
                          region or "")
            done = answer.ok
            return (reread(settings, api.path("users"), "users") if done else keep,
                    message(answer, lang, "adm_user_added", (name or "").strip()), keep,
                    "" if done else keep, "" if done else keep, keep)
        if not target:
            raise PreventUpdate
        answer, done_key = _edit(settings, str(action), target, edit_roles, edit_region or "",
                                 edit_password or "")
        return (reread(settings, api.path("users"), "users") if answer.ok else keep, keep,
                message(answer, lang, done_key, target), keep, keep,
                "" if answer.ok and action == "adm-edit-setpw" else keep)

    @app.callback(
        Output("adm-edit-target", "data"),
        Input({"type": "adm-user-edit", "name": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose(_clicks):  # type: ignore[no-untyped-def]
        clicked = row_click()
        if clicked is None:
            raise PreventUpdate
        return clicked["name"]

    @app.callback(
        Output("adm-edit-who", "children"),
        Output("adm-edit-roles", "value"),
        Output("adm-edit-region", "value"),
        Output("adm-edit-panel", "hidden"),
        Output("adm-edit-hint", "hidden"),
        Output("adm-edit-disable", "hidden"),
        Output("adm-edit-enable", "hidden"),
        Input("adm-edit-target", "data"),
        Input("adm-users", "data"),
        prevent_initial_call=True,
    )
    def fill(target, users):  # type: ignore[no-untyped-def]
        """The form starts from what the server holds for the chosen user (and follows it
        after each change)."""
        user = next((u for u in users or [] if u.get("name") == target), None)
        if user is None:
            return "", [], "", True, False, True, True
        off = bool(user.get("disabled"))
        return (user["name"], list(user.get("roles") or []), user.get("region") or "", False,
                True, off, not off)

    @app.callback(
        Output("adm-users-table-box", "children"),
        Output("adm-user-names", "children"),
        Output("adm-user-roles", "options"),
        Output("adm-edit-roles", "options"),
        Input("adm-users", "data"),
        Input("om-lang", "value"),
        State("adm-roles", "data"),
    )
    def render(users, lang, roles):  # type: ignore[no-untyped-def]
        users = users or []
        options = role_options(roles or [], lang)
        return (users_table(users, api.region_names(settings), lang),
                [html.Option(value=u["name"], label=u.get("display") or u["name"])
                 for u in users], options, options)
