"""The audit section: the newest records of the server's audit trail, filtered by what
``GET /api/admin/audit`` supports (user, action, outcome, a range of Beijing days), a page of
:data:`PAGE` at a time with "older records" to go on. Each row says who, when (Beijing
time), from which address, what (action, target), how it ended.

The trail is read when the tab is opened and on each search, so it includes what was just
done on the other tabs. Reading it is itself recorded by the server (``audit_read``).
"""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.admin import api
from onemap.app.admin.fmt import DASH, beijing, day_bounds, message, outcome_label, table
from onemap.app.admin.forms import button, entry, field, group
from onemap.app.i18n import t
from onemap.config import Settings

#: Records per page (every callback of the app's pages is a recorded write: pages fill fast).
PAGE = 100
COLUMNS = ("adm_col_time", "adm_col_user", "adm_col_via", "adm_col_address",
           "adm_col_action", "adm_col_target", "adm_col_outcome")
#: Actions the server records (onemap.access.audit), offered as suggestions for the filter.
ACTIONS = ("login", "login_failed", "logout", "password_change", "key_create", "key_revoke",
           "user_create", "user_change", "user_grant", "user_remove", "rule_change", "upload",
           "import", "feed", "remove", "write", "process_run", "job_cancel", "read_internal",
           "audit_read", "audit_rotate", "request")
OUTCOMES = ("ok", "denied", "failed")


def record_cells(rec: dict, lang: str) -> list[str]:
    """A record's row as text, in :data:`COLUMNS` order."""
    via = str(rec.get("via") or "")
    if rec.get("key"):
        via = f"{via}: {rec['key']}"
    status = f" ({rec['status']})" if rec.get("status") else ""
    return [beijing(rec.get("time")), str(rec.get("user") or t("adm_anonymous", lang)),
            via or DASH, str(rec.get("address") or DASH), str(rec.get("action", "")),
            str(rec.get("target") or rec.get("path") or DASH),
            outcome_label(str(rec.get("outcome", "")), lang) + status]


def records_table(records: list[dict], lang: str) -> Any:
    """The records, with each one's detail (strict JSON) as the row's tooltip."""
    return table("adm-audit-table", [t(c, lang) for c in COLUMNS],
                 [record_cells(r, lang) for r in records], lang,
                 keys=[str(r.get("id", "")) for r in records],
                 titles=[json.dumps(r["detail"], ensure_ascii=False)[:500] if r.get("detail")
                         else "" for r in records])


def query(user: str | None, action: str | None, outcome: str | None, since: str | None,
          until: str | None) -> dict[str, Any]:
    """The API's filters from the form's values (empty ones left out)."""
    start, end = day_bounds(since, until)
    params = {"user": (user or "").strip(), "action": (action or "").strip(),
              "outcome": outcome or "", "since": start, "until": end, "limit": PAGE}
    return {k: v for k, v in params.items() if v not in (None, "")}


def outcome_options(lang: str) -> list[dict[str, str]]:
    return [{"label": t("adm_audit_all", lang), "value": ""},
            *({"label": outcome_label(o, lang), "value": o} for o in OUTCOMES)]


def section(lang: str) -> html.Div:
    return html.Div([
        dcc.Store(id="adm-audit", data={"records": [], "before": None, "query": {}}),
        html.Datalist([html.Option(value=a) for a in ACTIONS], id="adm-audit-actions"),
        html.Div([
            html.Div([
                field("adm_audit_user", entry("adm-audit-user", list="adm-user-names"), lang),
                field("adm_audit_action", entry("adm-audit-action", list="adm-audit-actions"),
                      lang),
                field("adm_audit_since", entry("adm-audit-since", "date"), lang),
                field("adm_audit_until", entry("adm-audit-until", "date"), lang),
            ], className="adm-fields"),
            group("adm_audit_outcome", dcc.RadioItems(
                id="adm-audit-outcome", options=outcome_options(lang), value="", inline=True,
                className="adm-checks"), lang),
            html.Div([button("adm_audit_apply", "adm-audit-apply", lang, "adm-primary"),
                      button("adm_audit_older", "adm-audit-older", lang)],
                     className="adm-fields"),
            html.Div(id="adm-audit-msg", className="adm-msgbox"),
        ], className="adm-form"),
        html.Div(id="adm-audit-count", className="adm-hint"),
        html.Div(id="adm-audit-table-box", className="adm-table-box"),
    ])


def register(app: dash.Dash, settings: Settings) -> None:
    @app.callback(
        Output("adm-audit", "data"),
        Output("adm-audit-msg", "children"),
        Input("adm-audit-apply", "n_clicks"),
        Input("adm-audit-older", "n_clicks"),
        Input("adm-tab", "data"),
        State("adm-audit-user", "value"),
        State("adm-audit-action", "value"),
        State("adm-audit-outcome", "value"),
        State("adm-audit-since", "value"),
        State("adm-audit-until", "value"),
        State("adm-audit", "data"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def load(_apply_n, _older_n, tab, user, action, outcome, since, until, shown, lang):  # type: ignore[no-untyped-def]
        """A search (button, or opening the tab), or the page after the one shown."""
        if ctx.triggered_id == "adm-tab" and tab != "audit":
            raise PreventUpdate
        shown = shown or {}
        if ctx.triggered_id == "adm-audit-older":
            if not shown.get("before"):
                raise PreventUpdate
            params = {**shown.get("query", {}), "before": shown["before"]}
        else:
            params = query(user, action, outcome, since, until)
        answer = api.call(settings, "GET", api.path("audit"), params=params)
        if not answer.ok:
            return dash.no_update, message(answer, lang, "adm_done")
        records = api.listed(answer, "records")
        more = answer.doc.get("next") and records
        return ({"records": records, "before": records[-1]["id"] if more else None,
                 "query": {k: v for k, v in params.items() if k != "before"}}, [])

    @app.callback(
        Output("adm-audit-table-box", "children"),
        Output("adm-audit-count", "children"),
        Output("adm-audit-older", "disabled"),
        Output("adm-audit-outcome", "options"),
        Input("adm-audit", "data"),
        Input("om-lang", "value"),
    )
    def render(shown, lang):  # type: ignore[no-untyped-def]
        records = (shown or {}).get("records") or []
        return (records_table(records, lang), t("adm_audit_count", lang, count=len(records)),
                not (shown or {}).get("before"), outcome_options(lang))
