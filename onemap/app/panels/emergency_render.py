"""The Emergency panel's result as Dash components, in one language, from the stored model.

Everything the panel shows of a result is built here by :func:`render_outputs` from the model
of :mod:`onemap.app.panels.emergency_view`; the language switch calls it again, so no label of
the other language can stay behind. Rows carry ``data-*`` attributes (codes, kinds) so tests
and scripts can read what is shown without parsing words.
"""

from __future__ import annotations

from typing import Any

from dash import html

from onemap.app.i18n import t
from onemap.app.panels.emergency_csv import available
from onemap.app.panels.emergency_view import (
    SUSPECTS_SHOWN,
    downstream_rows,
    headline,
    legend_items,
    map_data,
    plume_rows,
    receptor_groups,
    summary_lines,
    suspect_rows,
)


def _table(head: list[tuple[str, str]], rows: list[Any], cls: str) -> html.Table:
    """``head``: (label, extra class) per column."""
    return html.Table([
        html.Thead(html.Tr([html.Th(label, className=c) for label, c in head])),
        html.Tbody(rows),
    ], className=f"om-table om-em-table {cls}")


def _heading(key: str, lang: str) -> html.Div:
    return html.Div(t(key, lang), className="om-em-heading")


def _swatch(kind: str, color: str) -> html.Span:
    return html.Span(className=f"om-em-swatch om-em-swatch-{kind}",
                     style={"--om-em-color": color})


def _legend(view: dict, lang: str) -> html.Div:
    return html.Div([
        _heading("em_h_legend", lang),
        html.Div([html.Span([_swatch(kind, color), html.Span(label)], className="om-em-key-item",
                            **{"data-kind": kind})
                  for kind, color, label in legend_items(view, lang)], className="om-em-key"),
    ], className="om-em-legend")


def _plume(view: dict, lang: str) -> list:
    rows = plume_rows(view, lang)
    if not any(r["area"] not in ("0.00", "—") for r in rows):
        return [_heading("em_h_plume", lang), html.P(t("em_none_plume", lang),
                                                      className="om-em-none")]
    body = [html.Tr([html.Td([_swatch("plume", r["color"]), r["level"]]),
                     html.Td(r["threshold"], className="om-num"),
                     html.Td(r["area"], className="om-num"),
                     html.Td(r["reach"], className="om-num")], className="om-em-plume-row")
            for r in rows]
    head = [(t("em_col_level", lang), ""), (t("em_col_threshold", lang), "om-num"),
            (t("em_col_area", lang), "om-num"), (t("em_col_reach", lang), "om-num")]
    return [_heading("em_h_plume", lang), _table(head, body, "om-em-plume-table")]


def _receptors(view: dict, lang: str) -> list:
    groups = receptor_groups(view, lang)
    body: list = []
    for title, rows in groups:
        body.append(html.Tr(html.Td(title, colSpan=4), className="om-em-ring-head"))
        for r in rows:
            flags = [x for f in r["flags"] for x in (" ", html.Span(f, className="om-em-flag"))]
            body.append(html.Tr([
                html.Td([html.Span(r["name"], className="om-em-name"), *flags]),
                html.Td(r["kind"], className="om-em-kind"),
                html.Td(r["people"], className="om-num"),
                html.Td(r["distance"], className="om-num"),
            ], className="om-em-rec-row" + (" om-em-in-plume" if r["in_plume"] else ""),
                **{"data-id": str(r["id"])}))
    if not any(rows for _title, rows in groups):
        return [_heading("em_h_receptors", lang),
                html.P(t("em_none_receptors", lang), className="om-em-none")]
    head = [(t("em_col_name", lang), ""), (t("em_col_kind", lang), ""),
            (t("em_col_people", lang), "om-num"), (t("em_col_distance", lang), "om-num")]
    return [_heading("em_h_receptors", lang), _table(head, body, "om-em-receptors")]


def _downstream(view: dict, lang: str) -> list:
    rows = downstream_rows(view, lang)
    if not rows:
        hours = (view["summary"].get("downstream") or {}).get("max_hours") or 48
        return [_heading("em_h_downstream", lang),
                html.P(t("em_none_downstream", lang, hours=f"{float(hours):g}"),
                       className="om-em-none")]
    body = [html.Tr([
        html.Td(r["kind_label"], className="om-em-kind"),
        html.Td(r["name"], className="om-em-name"),
        html.Td(r["along"], className="om-num"),
        html.Td(r["hours"], className="om-num om-em-ds-hours"),
        html.Td(r["time"], className="om-em-time"),
    ], className=f"om-em-ds-row om-em-ds-{r['kind']}", **{"data-id": str(r["id"]),
                                                          "data-kind": r["kind"]})
        for r in rows]
    head = [(t("em_col_kind", lang), ""), (t("em_col_name", lang), ""),
            (t("em_col_along", lang), "om-num"), (t("em_col_arrival", lang), "om-num"),
            (t("em_col_arrival_time", lang), "")]
    return [_heading("em_h_downstream", lang), _table(head, body, "om-em-downstream")]


def _suspects(view: dict, lang: str) -> list:
    rows = suspect_rows(view, lang)
    total = len(view["tables"].get("suspects") or [])
    if not rows:
        return [_heading("em_h_suspects", lang), html.P(t("em_none_suspects", lang),
                                                         className="om-em-none")]
    zh = lang == "zh"  # English rows name a company by its code: no name column then
    air = (view["summary"].get("incident") or {}).get("medium") != "water"  # upwind: air only
    body = [html.Tr([html.Td(r["rank"], className="om-num"),
                     *([html.Td(r["name"], className="om-em-name")] if zh else []),
                     html.Td(r["code"], className="om-em-code"),
                     html.Td(r["distance"], className="om-num"),
                     *([html.Td(r["upwind"])] if air else []),
                     html.Td(r["score"], className="om-num")],
                    className="om-em-sus-row", **{"data-id": r["code"]}) for r in rows]
    head = [(t("em_col_rank", lang), "om-num"),
            *([(t("em_col_name", lang), "")] if zh else []), (t("em_col_code", lang), ""),
            (t("em_col_distance", lang), "om-num"),
            *([(t("em_col_upwind", lang), "")] if air else []),
            (t("em_col_score", lang), "om-num")]
    out = [_heading("em_h_suspects", lang), _table(head, body, "om-em-suspects")]
    if total > SUSPECTS_SHOWN:
        out.append(html.P(t("em_suspects_more", lang, n=total, k=len(rows)),
                          className="om-em-note"))
    return out


def _export(view: dict, lang: str, base: str) -> html.Div:
    links: list = []
    rid = view.get("report_id")
    if rid:
        links += [html.A(t("em_export_report", lang), href=f"{base}api/reports/{rid}.html",
                         target="_blank", rel="noopener", className="om-em-link",
                         id="em-report-link"),
                  html.A(t("em_export_geojson", lang), href=f"{base}api/reports/{rid}.geojson",
                         download=f"incident-{rid}.geojson", className="om-em-link",
                         id="em-geojson-link"),
                  # the phone's share sheet, or the clipboard (assets/mobile.js: share)
                  html.Button(t("em_share", lang), id="em-share", type="button",
                              className="om-button om-button-secondary om-share", **{
                                  "data-share-url": f"{base}api/reports/{rid}.html",
                                  "data-share-title": t("em_export_report", lang),
                                  "data-copied": t("em_share_copied", lang),
                                  "data-manual": t("em_share_manual", lang)}),
                  html.Div("", className="om-share-said", role="status",
                           **{"aria-live": "polite"})]
    csv = [html.Button(t(f"em_csv_{name}", lang), id={"type": "em-csv", "table": name},
                       n_clicks=0, className="om-em-csv", **{"data-table": name})
           for name in available(view)]
    lang_word = t(f"em_lang_{view.get('report_lang') or 'zh'}", lang)
    return html.Div([
        _heading("em_h_export", lang),
        html.Div(links + [html.Span(t("em_report_lang", lang, language=lang_word),
                                    className="om-em-note")] if rid else [],
                 className="om-em-links"),
        html.Div([html.Span(t("em_export_csv", lang), className="om-em-csv-label"), *csv],
                 className="om-em-csvs"),
    ], className="om-em-export")


def render_results(view: dict | None, lang: str, base: str = "/") -> list:
    """The result section of the panel (empty without a result)."""
    if not view:
        return []
    water = (view["summary"].get("incident") or {}).get("medium") == "water"
    return [
        html.Div(headline(view, lang), className="om-em-headline"),
        html.Ul([html.Li(line) for line in summary_lines(view, lang)],
                className="om-em-summary"),
        _legend(view, lang),
        *(_downstream(view, lang) if water else _plume(view, lang)),
        *_receptors(view, lang),
        *_suspects(view, lang),
        _export(view, lang, base),
    ]


def render_outputs(view: dict | None, lang: str, base: str = "/") -> tuple[Any, ...]:
    """(result children, areas, trace, points) for the panel's render callback."""
    return (render_results(view, lang, base), *map_data(view, lang))
