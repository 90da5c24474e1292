"""The access rules section: the stored read rules in the order the server tries them, adding
one (a role — '*' for everyone, 'anonymous' for visitors — a dataset id or glob, allow or deny,
a priority) and removing one.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html

from onemap.app.admin import api
from onemap.app.admin.fmt import beijing, message, table
from onemap.app.admin.forms import button, entry, field, group, reread, row_click
from onemap.app.admin.text import role_label
from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.config import Settings

COLUMNS = ("adm_col_order", "adm_col_priority", "adm_col_roles", "adm_col_dataset",
           "adm_col_effect", "adm_col_created", "adm_col_created_by", "adm_actions")
#: Who a rule may be about besides the roles: everyone, and visitors who are not logged in.
SPECIAL = ("*", "anonymous")
DEFAULT_PRIORITY = 100


def rule_role_options(roles: list[str], lang: str) -> list[dict[str, str]]:
    return [{"label": role_label(r, lang), "value": r} for r in (*SPECIAL, *roles)]


def effect_options(lang: str) -> list[dict[str, Any]]:
    return [{"label": t("adm_rule_allow", lang), "value": "allow"},
            {"label": t("adm_rule_deny", lang), "value": "deny"}]


def rule_cells(order: int, rule: dict, lang: str) -> list[str]:
    """A rule's row as text, in :data:`COLUMNS` order (without the actions); the role's code
    too, as the server matches it."""
    role = str(rule.get("role", ""))
    who = role_label(role, lang)
    return [str(order), str(rule.get("priority", "")),
            who if role in who else f"{who} ({role})", str(rule.get("dataset", "")),
            t("adm_rule_allow" if rule.get("allow") else "adm_rule_deny", lang),
            beijing(rule.get("created")), str(rule.get("created_by") or "")]


def rules_table(rules: list[dict], lang: str) -> Any:
    rows = [[*rule_cells(i, r, lang),
             html.Button(t("adm_rule_remove", lang), id={"type": "adm-rule-remove",
                                                          "rule": r["id"]},
                         n_clicks=0, type="button", className="adm-button adm-small adm-danger")]
            for i, r in enumerate(rules, 1)]
    return table("adm-rules-table", [t(c, lang) for c in COLUMNS], rows, lang,
                 keys=[str(r["id"]) for r in rules])


def section(lang: str, roles: list[str]) -> html.Div:
    return html.Div([
        dcc.Store(id="adm-rules", data=[]),
        html.Div([
            html.H3(text("adm_rule_add_heading", lang)),
            html.P(text("adm_rule_hint", lang), className="adm-hint"),
            group("adm_rule_role", dcc.RadioItems(
                id="adm-rule-role", options=rule_role_options(roles, lang), value="*",
                inline=True, className="adm-checks"), lang),
            html.Div([
                field("adm_rule_dataset", entry("adm-rule-dataset", maxLength=128), lang),
                field("adm_rule_priority", entry("adm-rule-priority", "number",
                                                 value=DEFAULT_PRIORITY, min=0, step=1), lang),
            ], className="adm-fields"),
            group("adm_rule_effect", dcc.RadioItems(
                id="adm-rule-effect", options=effect_options(lang), value="deny", inline=True,
                className="adm-checks"), lang),
            button("adm_rule_add", "adm-rule-add", lang, "adm-primary"),
            html.Div(id="adm-rule-msg", className="adm-msgbox"),
        ], className="adm-form"),
        html.Div(id="adm-rules-table-box", className="adm-table-box"),
    ])


def _priority(value: object) -> int | object:
    """The priority as typed; what is not a whole number is sent as it is, for the server to
    name what is wrong with it."""
    try:
        return int(str(value))
    except ValueError:
        return value


def register(app: dash.Dash, settings: Settings) -> None:
    @app.callback(
        Output("adm-rules", "data"),
        Output("adm-rule-msg", "children"),
        Input("adm-rule-add", "n_clicks"),
        Input({"type": "adm-rule-remove", "rule": ALL}, "n_clicks"),
        State("adm-rule-role", "value"),
        State("adm-rule-dataset", "value"),
        State("adm-rule-effect", "value"),
        State("adm-rule-priority", "value"),
        State("om-lang", "value"),
    )
    def write(_add_n, _remove_n, role, dataset, effect, priority, lang):  # type: ignore[no-untyped-def]
        """Add or remove (then list again), or just list (page load)."""
        msg = dash.no_update
        remove = row_click()
        if remove is not None:
            answer = api.call(settings, "DELETE", api.path("rules", remove["rule"]))
            msg = message(answer, lang, "adm_rule_removed", f"#{remove['rule']}")
        elif ctx.triggered_id == "adm-rule-add":
            answer = api.call(settings, "POST", api.path("rules"), body={
                "role": role, "dataset": (dataset or "").strip(), "allow": effect == "allow",
                "priority": _priority(priority if priority not in (None, "")
                                      else DEFAULT_PRIORITY)})
            done = f"#{answer.doc.get('id')} {role} {answer.doc.get('dataset')}" \
                if answer.ok else ""
            msg = message(answer, lang, "adm_rule_added", done)
        return reread(settings, api.path("rules"), "rules"), msg

    @app.callback(
        Output("adm-rules-table-box", "children"),
        Output("adm-rule-role", "options"),
        Output("adm-rule-effect", "options"),
        Input("adm-rules", "data"),
        Input("om-lang", "value"),
        State("adm-roles", "data"),
    )
    def render(rules, lang, roles):  # type: ignore[no-untyped-def]
        return (rules_table(rules or [], lang), rule_role_options(roles or [], lang),
                effect_options(lang))
