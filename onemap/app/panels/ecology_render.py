"""The Ecology panel's result components for one language: ranking table, bar chart, notes,
encroachment list, map key, and the message line.

Built from the language-free view model of :mod:`onemap.app.panels.ecology_view`, so the same
stored result renders in either language (the language switch calls :func:`render_outputs`
again) and unit tests can read the words and numbers without a browser.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from onemap.app.i18n import t
from onemap.app.panels.ecology_text import (
    area_label,
    change_label,
    grade_label,
    kind_label,
)
from onemap.app.panels.ecology_view import (
    LOSS_COLOR,
    LOSS_DECIMALS,
    approx_text,
    encroach_counts,
    encroach_items,
    fmt,
    map_data,
    ndvi_choices,
    ndvi_step,
    num,
    rule_text,
    summary_text,
)

EMPTY_FC = {"type": "FeatureCollection", "features": []}
HIDDEN = {"display": "none"}
#: No mode bar: its tooltips are plotly's English, and zoom/pan have no use on a short ranking.
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def _direction_class(row: dict) -> str:
    return {"worse": "om-eco-worse", "better": "om-eco-better"}.get(
        str(row.get("ei_change_direction") or ""), "om-eco-stable")


def _ei_text(row: dict, lang: str) -> str:
    """"71.7 → 70.5 (良)" when the grade stays, "71.7 (良) → 52.0 (一般)" when it changes."""
    gb, ga = grade_label(row.get("ei_grade_before"), lang), grade_label(
        row.get("ei_grade_after"), lang)
    b, a = fmt(row.get("ei_before"), 1), fmt(row.get("ei_after"), 1)
    if gb == ga:
        return f"{b} → {a} ({ga})" if ga else f"{b} → {a}"
    return f"{b} ({gb}) → {a} ({ga})"


def table(view: dict, lang: str) -> html.Table:
    """The ranking: one clickable row per area, largest loss first."""
    layer = view.get("layer") or "red_lines"
    head = html.Tr([
        html.Th(t("eco_col_rank", lang), className="om-num"),
        html.Th(t(f"eco_col_area_{layer}", lang)),
        html.Th(t("eco_col_ndvi", lang)),
        html.Th(t("eco_col_ei", lang)),
        html.Th(t("eco_col_loss", lang), className="om-num"),
    ])
    body = []
    for i, r in enumerate(view.get("rows") or [], start=1):
        loss = num(r.get("loss_km2"))
        name = area_label(r["area_id"], r.get("name"), lang)
        body.append(html.Tr([
            html.Td(str(i), className="om-num"),
            html.Td([html.Div(name, className="om-eco-name" + (
                         " om-eco-code" if name == r["area_id"] else "")),
                     html.Div(kind_label(layer, r.get("kind"), lang), className="om-eco-kind")]),
            html.Td([html.Div(f"{fmt(r.get('ndvi_before'), 3)} → {fmt(r.get('ndvi_after'), 3)}",
                              className="om-eco-nowrap"),
                     html.Div(fmt(r.get("ndvi_change"), 3, sign=True), className="om-eco-sub")]),
            html.Td([html.Div(_ei_text(r, lang), className="om-eco-nowrap"),
                     html.Div(f"{fmt(r.get('ei_change'), 2, sign=True)} {change_label(r, lang)}",
                              className=f"om-eco-sub {_direction_class(r)}")]),
            html.Td(fmt(loss, LOSS_DECIMALS), className="om-num om-eco-loss"),
        ], id={"type": "eco-row", "area": r["area_id"]}, n_clicks=0,
            className="om-eco-row" + (" om-eco-row-loss" if loss > 0 else ""),
            **{"data-area": r["area_id"]}))
    return html.Table([html.Thead(head), html.Tbody(body)], className="om-table om-eco-table")


def figure(view: dict, lang: str) -> dict | None:
    """A horizontal bar per area that lost vegetation (largest on top); None when none did.

    Every word comes from the panel's strings (title, axis, hover); the mode bar, whose
    tooltips plotly would write in English, is switched off by the graph's config.
    """
    rows = [r for r in view.get("rows") or [] if num(r.get("loss_km2")) > 0]
    if not rows:
        return None
    rows = rows[::-1]  # plotly draws the first category at the bottom
    return {
        "data": [{
            "type": "bar", "orientation": "h", "x": [num(r["loss_km2"]) for r in rows],
            "y": [area_label(r["area_id"], r.get("name"), lang) for r in rows],
            "customdata": [r["area_id"] for r in rows],
            "marker": {"color": LOSS_COLOR},
            "text": [fmt(r["loss_km2"], LOSS_DECIMALS) for r in rows], "textposition": "auto",
            "hovertemplate": f"%{{y}}<br>{t('eco_chart_hover', lang)}: "
                             "%{x:.2f} km²<extra></extra>",
        }],
        "layout": {
            "title": {"text": t("eco_chart_title", lang), "font": {"size": 13}},
            "xaxis": {"title": {"text": t("eco_chart_x", lang)}, "rangemode": "tozero",
                      "fixedrange": True},
            "yaxis": {"automargin": True, "fixedrange": True},
            "margin": {"l": 10, "r": 10, "t": 32, "b": 36},
            "height": 90 + 28 * len(rows), "bargap": 0.35,
            "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


def map_key(lang: str) -> html.Div:
    """What the panel's symbols on the map mean (the page legend lists only data layers)."""
    def entry(cls: str, key: str) -> html.Span:
        return html.Span([html.Span(className=f"om-eco-swatch {cls}"),
                          html.Span(t(key, lang))], className="om-eco-key-item")
    return html.Div([entry("om-eco-swatch-loss", "eco_key_loss"),
                     entry("om-eco-swatch-hit", "eco_key_hit"),
                     entry("om-eco-swatch-source", "eco_kind_pollution_source"),
                     entry("om-eco-swatch-incident", "eco_kind_incident")],
                    className="om-eco-key")


def encroach_block(view: dict, lang: str) -> list:
    """The encroachment section: counts, then the first sources/incidents (each clickable)."""
    head = html.Div(t("eco_encroach", lang), className="om-eco-heading")
    if not view.get("encroachment"):
        return [head, html.Div(t("eco_encroach_none", lang), className="om-eco-note")]
    listed, more = encroach_items(view, lang)
    rows = [html.Li([html.Span(i["kind"], className="om-eco-enc-kind"), " ",
                     html.Span(i["title"], className="om-eco-enc-title"), " ",
                     html.Span(" · ".join(x for x in (i["extra"], i["where"]) if x),
                               className="om-eco-enc-where")],
                    id={"type": "eco-enc", "index": i["index"]}, n_clicks=0,
                    className="om-eco-enc")
            for i in listed]
    out = [head, html.Div(encroach_counts(view, lang), className="om-eco-note"),
           html.Ul(rows, className="om-eco-enc-list")]
    if more:
        out.append(html.Div(t("eco_more", lang, n=more), className="om-eco-note"))
    return out


def note_text(note: dict | None, specs: list[dict], lang: str) -> tuple[str, str]:
    """The message line: an input problem, a failed area list, or "no NDVI to compare"."""
    base = "om-eco-msg"
    if note and note.get("key") == "dates":
        return str(note.get("en" if lang == "en" else "zh") or ""), f"{base} om-error"
    if note and note.get("key") == "eco_err_areas":
        error = note.get("error_en" if lang == "en" else "error") or ""
        return t("eco_err_areas", lang, error=error), f"{base} om-error"
    if len(ndvi_choices(specs)) < 2:
        return t("eco_no_ndvi", lang), f"{base} om-error"
    return "", base


def render_outputs(view: dict | None, result: dict | None, specs: list[dict],
                   lang: str) -> tuple[Any, ...]:
    """Every output of the panel's render callback for a stored result (or none) in ``lang``:
    results, chart, NDVI-button text and style, encroachment, 3 × GeoJSON.

    The chart is created here rather than shown/hidden: a graph drawn while hidden keeps a
    wrong size when it appears.
    """
    if not view or not result:
        return ([], [], "", HIDDEN, [], EMPTY_FC, EMPTY_FC, EMPTY_FC)
    choices = ndvi_choices(specs)
    fig = figure(view, lang)
    results = [
        html.Div(summary_text(view, choices, lang), className="om-eco-summary"),
        html.Div(rule_text(view, lang), className="om-eco-rule"),
        html.Div(approx_text(view, lang), className="om-eco-approx"),
        map_key(lang),
        html.Div(t("eco_hint", lang), className="om-eco-hint"),
        html.Div(table(view, lang), className="om-eco-table-wrap"),
    ]
    after = (view.get("summary") or {}).get("after")
    after_label = next((c[f"label_{'en' if lang == 'en' else 'zh'}"] for c in choices
                        if c["value"] == after), after)
    areas, losses, points = map_data(result, view, lang)
    chart = [dcc.Graph(id="eco-chart", figure=fig, config=GRAPH_CONFIG,
                       style={"height": f"{fig['layout']['height']}px"})] if fig else []
    return (results, chart, t("eco_show_ndvi", lang, date=after_label),
            {"display": "inline-block"} if ndvi_step(specs, after) else HIDDEN,
            encroach_block(view, lang), areas, losses, points)
