"""The Dashboard's cards and charts for one language, built from the stored KPIs.

Every chart is a plotly figure whose words (axes, legend, hover) are written here in the page's
language and whose numbers are preformatted, so plotly's own (English) formatting never shows:
dates on the axis use numeric or explicitly translated formats, the mode bar is hidden and the
axes are fixed (no zoom UI to translate). Each bar carries in ``customdata`` the key the click
callback needs to move the map.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import html

from onemap.app.i18n import t
from onemap.app.panels.dashboard_kpis import (
    GOOD_AQI,
    INCIDENT_ORDER,
    NONE,
    OPEN_STATUSES,
    PERMIT_ORDER,
)
from onemap.app.panels.dashboard_text import (
    aqi_label,
    days,
    incident_label,
    number,
    permit_label,
    pollutants,
    status_label,
    water_label,
)
from onemap.styles.symbology import AQI_LEVELS, INCIDENT_LEVELS, NO_DATA_COLOR, WATER_CLASSES

FONT = "system-ui, -apple-system, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"
#: Plotly options of every chart: no mode bar (its tooltips are English), no logo.
GRAPH_CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True,
                "scrollZoom": False, "doubleClick": False}
EXPIRED_COLOR = "#C62828"
SOON_COLOR = "#FFA000"
#: Fill pattern per open status (the colour is the level's): reported is hatched.
PATTERNS = {"reported": "/", "responding": "", "other": "."}
_COLORS = {"water": {c.value: c.color for c in WATER_CLASSES},
           "incident": {c.value: c.color for c in INCIDENT_LEVELS},
           "aqi": {lv.level: lv.color for lv in AQI_LEVELS}}


def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 8, "r": 8, "t": 6, "b": 6}, font={"family": FONT, "size": 11},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", dragmode=False,
        hoverlabel={"font": {"family": FONT, "size": 12}}, **{"bargap": 0.25, **kw})
    fig.update_xaxes(fixedrange=True, automargin=True, gridcolor="#ECEFF1")
    fig.update_yaxes(fixedrange=True, automargin=True, gridcolor="#ECEFF1")
    return fig


def big_number(value: str, unit: str, sub: str, key: str) -> html.Div:
    """The card's headline: one large figure, its unit, and the sentence that defines it."""
    return html.Div([
        html.Span(value, className="db-big-value", **{"data-kpi": key}),
        html.Span(unit, className="db-big-unit") if unit else None,
        html.Div(sub, className="db-big-sub"),
    ], className="db-big")


# -- air ----------------------------------------------------------------------------------------
def level_strip(kpi: dict[str, Any], lang: str) -> html.Div:
    """Days per AQI level as one proportional bar with a count per level (HTML, no chart)."""
    valid = kpi["valid"] or 1
    parts, keys = [], []
    for lv in AQI_LEVELS:
        n = kpi["levels"].get(str(lv.level), 0)
        if not n:
            continue
        label = aqi_label(lv.level, lang)
        parts.append(html.Span(style={"width": f"{100 * n / valid:.2f}%", "background": lv.color},
                               title=f"{label} {days(n, lang)}",
                               className="db-strip-part"))
        keys.append(html.Span([html.Span(className="db-swatch", style={"background": lv.color}),
                               f"{label} {days(n, lang)}"],
                              className="db-key-item", **{"data-level": str(lv.level)}))
    return html.Div([html.Div(parts, className="db-strip"), html.Div(keys, className="db-key")])


def air_figure(kpi: dict[str, Any], lang: str) -> go.Figure:
    """One bar per day, its height the regional AQI, coloured by level; a line at AQI 100."""
    rows = [r for r in kpi["series"] if r["aqi"] is not None]
    hover = [t("db_air_hover", lang, date=r["date"], aqi=r["aqi"],
               level=aqi_label(r["level"], lang), primary=pollutants(r["primary"], lang))
             for r in rows]
    fig = go.Figure(go.Bar(
        x=[r["date"] for r in rows], y=[r["aqi"] for r in rows],
        marker={"color": [_COLORS["aqi"].get(r["level"], NO_DATA_COLOR) for r in rows],
                "line": {"width": 0}},
        customdata=[[r["date"], h] for r, h in zip(rows, hover, strict=True)],
        hovertemplate="%{customdata[1]}<extra></extra>"))
    fig.add_hline(y=GOOD_AQI, line={"color": "#546E7A", "width": 1, "dash": "dash"})
    long = kpi["days"] > 62
    fmt = ("%-m月" if long else "%-m月%-d日") if lang == "zh" else ("%b" if long else "%b %-d")
    _layout(fig, 170, showlegend=False, bargap=0.1)
    fig.update_xaxes(type="date", tickformat=fmt, hoverformat="%Y-%m-%d", showgrid=False)
    fig.update_yaxes(title={"text": t("db_air_axis", lang), "font": {"size": 11}},
                     rangemode="tozero")
    return fig


# -- water --------------------------------------------------------------------------------------
def water_keys(kpi: dict[str, Any]) -> list[str]:
    """The classes drawn: I … worse than V, plus "not assessed" when a section has no class."""
    keys = [c.value for c in WATER_CLASSES]
    return keys + [NONE] if kpi["counts"].get(NONE) else keys


def water_figure(kpi: dict[str, Any], lang: str) -> go.Figure:
    keys = water_keys(kpi)
    labels = [water_label(k, lang) for k in keys]
    counts = [kpi["counts"].get(k, 0) for k in keys]
    hover = [t("db_water_hover", lang, cls=lab, n=number(n),
               missed=number(kpi["missed_by_class"].get(k, 0)))
             for k, lab, n in zip(keys, labels, counts, strict=True)]
    fig = go.Figure(go.Bar(
        x=labels, y=counts, text=[number(n) for n in counts], textposition="outside",
        cliponaxis=False, marker={"color": [_COLORS["water"].get(k, NO_DATA_COLOR) for k in keys],
                                  "line": {"color": "#37474F", "width": 0.5}},
        customdata=[[k, h] for k, h in zip(keys, hover, strict=True)],
        hovertemplate="%{customdata[1]}<extra></extra>"))
    _layout(fig, 170, showlegend=False)
    fig.update_xaxes(type="category", showgrid=False)
    fig.update_yaxes(title={"text": t("db_water_axis", lang), "font": {"size": 11}},
                     rangemode="tozero", range=[0, max(counts + [1]) * 1.25], tickformat=",d")
    return fig


def water_table(kpi: dict[str, Any], lang: str) -> html.Div:
    """The counts as text too (readable without hovering, and by a screen reader)."""
    return html.Div([
        html.Span([html.Span(className="db-swatch",
                             style={"background": _COLORS["water"].get(k, NO_DATA_COLOR)}),
                   html.Span(water_label(k, lang), className="db-key-label"),
                   html.Span(number(kpi["counts"].get(k, 0)), className="db-key-count")],
                  className="db-key-item", **{"data-class": k})
        for k in water_keys(kpi)], className="db-key db-water-key")


# -- incidents ----------------------------------------------------------------------------------
def incident_figure(kpi: dict[str, Any], lang: str) -> go.Figure:
    """Open incidents per level (horizontal: the level names are long), stacked by status."""
    levels = list(INCIDENT_ORDER) + ([NONE] if sum(kpi["by_level"][NONE].values()) else [])
    labels = [incident_label(k, lang) for k in levels]
    colors = [_COLORS["incident"].get(k, NO_DATA_COLOR) for k in levels]
    statuses = list(OPEN_STATUSES) + (["other"] if kpi["by_status"].get("other") else [])
    fig = go.Figure()
    for status in statuses:
        counts = [kpi["by_level"][k].get(status, 0) for k in levels]
        name = status_label(status, lang)
        suffix = f"（{name}）" if lang == "zh" else f" ({name})"
        fig.add_trace(go.Bar(
            y=labels, x=counts, orientation="h", name=name,
            marker={"color": colors, "line": {"color": "#37474F", "width": 0.5},
                    "pattern": {"shape": PATTERNS[status], "fgcolor": "#263238", "size": 6}},
            customdata=[[k, t("db_inc_hover", lang, level=lab, n=number(n)) + suffix]
                        for k, lab, n in zip(levels, labels, counts, strict=True)],
            hovertemplate="%{customdata[1]}<extra></extra>"))
    top = max([sum(kpi["by_level"][k].values()) for k in levels] + [1])
    _layout(fig, 140, barmode="stack", showlegend=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title={"text": t("db_inc_axis", lang), "font": {"size": 11}},
                     range=[0, top * 1.1], tickformat=",d", dtick=max(1, round(top / 4)))
    return fig


#: Legend swatches of the open statuses: grey, hatched like the bars' pattern for "reported".
_STATUS_SWATCH = {
    "responding": {"background": "#9E9E9E"},
    "reported": {"background": "repeating-linear-gradient(45deg, #9E9E9E 0 2px, #263238 2px 3px)"},
    "other": {"background": "radial-gradient(#263238 30%, #9E9E9E 35%)",
              "backgroundSize": "4px 4px"},
}


def _key(items: list[tuple[dict, str, str]], kind: str) -> html.Div:
    """A legend row under a chart: (swatch style, label, data key) per entry."""
    return html.Div([html.Span([html.Span(className="db-swatch", style=style), label],
                               className="db-key-item", **{f"data-{kind}": key})
                     for style, label, key in items], className="db-key")


def incident_key(kpi: dict[str, Any], lang: str) -> html.Div:
    """What solid and hatched bars mean (the colours are the levels, named on the axis)."""
    statuses = list(OPEN_STATUSES) + (["other"] if kpi["by_status"].get("other") else [])
    return _key([(_STATUS_SWATCH[s], status_label(s, lang), s) for s in statuses], "status")


def source_key(kpi: dict[str, Any], lang: str) -> html.Div:
    return _key([({"background": EXPIRED_COLOR}, t("db_src_expired", lang), "expired"),
                 ({"background": SOON_COLOR}, t("db_src_soon", lang, days=kpi["soon_days"]),
                  "soon")], "series")


# -- sources ------------------------------------------------------------------------------------
def source_classes(kpi: dict[str, Any]) -> list[str]:
    """Permit classes with any expired or soon-expiring permit (registration holds none)."""
    return [c for c in PERMIT_ORDER if kpi["expired"].get(c) or kpi["soon"].get(c)]


def source_figure(kpi: dict[str, Any], lang: str) -> go.Figure:
    classes = source_classes(kpi)
    labels = [permit_label(c, lang) for c in classes]
    fig = go.Figure()
    for series, color in (("expired", EXPIRED_COLOR), ("soon", SOON_COLOR)):
        name = t(f"db_src_{series}", lang, days=kpi["soon_days"])
        counts = [kpi[series].get(c, 0) for c in classes]
        fig.add_trace(go.Bar(
            y=labels, x=counts, orientation="h", name=name, marker={"color": color},
            text=[number(n) for n in counts], textposition="outside", cliponaxis=False,
            customdata=[[series, c, t("db_src_hover", lang, cls=lab, series=name, n=number(n))]
                        for c, lab, n in zip(classes, labels, counts, strict=True)],
            hovertemplate="%{customdata[2]}<extra></extra>"))
    top = max([kpi[s].get(c, 0) for s in ("expired", "soon") for c in classes] + [1])
    _layout(fig, 130, barmode="group", showlegend=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title={"text": t("db_src_axis", lang), "font": {"size": 11}},
                     range=[0, top * 1.2], tickformat=",d")
    return fig


def empty_figure() -> dict:
    """What a chart holds before its data arrives (it is hidden then)."""
    return {"data": [], "layout": {"height": 10}}
