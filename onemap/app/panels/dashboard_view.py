"""The Dashboard's cards and charts for one language, built from the stored KPIs.

Every chart is HTML (:mod:`~onemap.app.panels.dashboard_charts`) whose words (axis, labels,
tooltips) are written here in the page's language, with numbers preformatted and dates spelled
per language. Each bar's id carries the key the click callback needs to move the map.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dash import html

from onemap.app.i18n import t
from onemap.app.panels.dashboard_charts import Bar, Part, column_chart, row_chart
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

EXPIRED_COLOR = "#C62828"
SOON_COLOR = "#FFA000"
#: Pattern over the level's colour per open status: reported is hatched (dotted: other).
PATTERNS = {"reported": "db-hatch", "responding": "", "other": "db-dots"}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec")
_COLORS = {"water": {c.value: c.color for c in WATER_CLASSES},
           "incident": {c.value: c.color for c in INCIDENT_LEVELS},
           "aqi": {lv.level: lv.color for lv in AQI_LEVELS}}


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


def day_label(day: str, lang: str, month_only: bool = False) -> str:
    """A date under the AQI chart: "7月3日" / "Jul 3" (or the month alone)."""
    month, dom = int(day[5:7]), int(day[8:10])
    if lang == "zh":
        return f"{month}月" if month_only else f"{month}月{dom}日"
    return MONTHS_EN[month - 1] if month_only else f"{MONTHS_EN[month - 1]} {dom}"


def _dates(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def air_chart(kpi: dict[str, Any], lang: str) -> html.Div:
    """One place per day of the period, its bar the regional AQI coloured by level, a dashed
    line at AQI 100; a day without a valid AQI keeps its place, empty."""
    by_day = {r["date"]: r for r in kpi["series"] if r["aqi"] is not None}
    days_ = _dates(kpi["start"], kpi["end"])
    bars: list[Bar | None] = []
    for day in days_:
        r = by_day.get(day)
        if r is None:
            bars.append(None)
            continue
        title = t("db_air_hover", lang, date=day, aqi=r["aqi"],
                  level=aqi_label(r["level"], lang), primary=pollutants(r["primary"], lang))
        bars.append(Bar([day], day, [Part(r["aqi"], _COLORS["aqi"].get(r["level"],
                                                                       NO_DATA_COLOR))],
                        title, extra={"date": day}))
    top = max([r["aqi"] for r in by_day.values()] + [GOOD_AQI]) * 1.08
    long = kpi["days"] > 62
    picks = sorted({0, len(days_) // 2, len(days_) - 1})
    ticks = [day_label(days_[i], lang, long) for i in picks]
    return column_chart("air", bars, top, t("db_air_axis", lang), height=120,
                        rule=(GOOD_AQI, f"AQI {GOOD_AQI}"), ticks=ticks, focusable=False)


# -- water --------------------------------------------------------------------------------------
def water_keys(kpi: dict[str, Any]) -> list[str]:
    """The classes drawn: I … worse than V, plus "not assessed" when a section has no class."""
    keys = [c.value for c in WATER_CLASSES]
    return keys + [NONE] if kpi["counts"].get(NONE) else keys


def water_chart(kpi: dict[str, Any], lang: str) -> html.Div:
    """Sections per class, I … worse than V (and "not assessed"), the count on each bar."""
    bars = []
    for k in water_keys(kpi):
        n = kpi["counts"].get(k, 0)
        label = water_label(k, lang)
        title = t("db_water_hover", lang, cls=label, n=number(n),
                  missed=number(kpi["missed_by_class"].get(k, 0)))
        bars.append(Bar([k], label, [Part(n, _COLORS["water"].get(k, NO_DATA_COLOR))],
                        title, text=number(n), extra={"class": k}))
    top = max([b.total for b in bars] + [1]) * 1.2
    return column_chart("water", bars, top, t("db_water_axis", lang), height=110)


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
def incident_chart(kpi: dict[str, Any], lang: str) -> html.Div:
    """Open incidents per level (one row each, the names are long), pieces per status."""
    levels = list(INCIDENT_ORDER) + ([NONE] if sum(kpi["by_level"][NONE].values()) else [])
    statuses = list(OPEN_STATUSES) + (["other"] if kpi["by_status"].get("other") else [])
    rows = []
    for k in levels:
        label = incident_label(k, lang)
        color = _COLORS["incident"].get(k, NO_DATA_COLOR)
        counts = {s: kpi["by_level"][k].get(s, 0) for s in statuses}
        total = sum(counts.values())
        split = "、" if lang == "zh" else ", "
        detail = split.join(f"{status_label(s, lang)} {number(n)}"
                            for s, n in counts.items() if n)
        title = t("db_inc_hover", lang, level=label, n=number(total)) + (
            (f"（{detail}）" if lang == "zh" else f" ({detail})") if detail else "")
        rows.append((label, [Bar([k], label,
                                 [Part(counts[s], color, PATTERNS[s]) for s in statuses],
                                 title, text=number(total), extra={"level": k})]))
    top = max([sum(kpi["by_level"][k].values()) for k in levels] + [1]) * 1.1
    return row_chart("inc", rows, top, t("db_inc_axis", lang))


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


def source_chart(kpi: dict[str, Any], lang: str) -> html.Div:
    """Per permit class with any: the expired and the soon-expiring bars side by side."""
    rows = []
    for c in source_classes(kpi):
        label = permit_label(c, lang)
        bars = []
        for series, color in (("expired", EXPIRED_COLOR), ("soon", SOON_COLOR)):
            name = t(f"db_src_{series}", lang, days=kpi["soon_days"])
            n = kpi[series].get(c, 0)
            bars.append(Bar([series, c], label, [Part(n, color)],
                            t("db_src_hover", lang, cls=label, series=name, n=number(n)),
                            text=number(n), extra={"series": series, "class": c}))
        rows.append((label, bars))
    top = max([kpi[s].get(c, 0) for s in ("expired", "soon") for c in source_classes(kpi)]
              + [1]) * 1.15
    return row_chart("src", rows, top, t("db_src_axis", lang))
