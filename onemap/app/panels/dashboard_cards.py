"""What each Dashboard card shows for its stored state, in one language (pure functions).

A card's store is ``None`` while its data is being read (the card says so), ``{"error": …}``
when reading failed (said in words, the chart hidden) or ``{"kpi": …}``. The callbacks in
:mod:`onemap.app.panels.dashboard` only call these, so every state and both languages are
covered by unit tests without a browser.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dash import html

from onemap.app.i18n import t
from onemap.app.panels.dashboard_kpis import (
    NONE,
    air_kpi,
    day_click_time,
    goto,
    recent_period,
    year_period,
)
from onemap.app.panels.dashboard_text import error_text, number, percent
from onemap.app.panels.dashboard_view import (
    air_chart,
    big_number,
    incident_chart,
    incident_key,
    level_strip,
    source_chart,
    source_classes,
    source_key,
    water_chart,
    water_table,
)

HIDDEN = {"display": "none"}
#: Which layer each chart's clicks switch on (collection ids of the sample's families).
LAYERS = {"air": "air_stations", "water": "water_sections", "inc": "incidents",
          "src": "pollution_sources"}
#: A chart's place while there is nothing to draw.
NO_CHART: list = []


def shown(card: str) -> dict:
    del card  # every chart sizes itself
    return {"display": "block"}


def _note(text: str, cls: str = "db-note") -> html.Div:
    return html.Div(text, className=cls)


def _error(what: str, err: dict, lang: str) -> html.Div:
    return _note(error_text(what, err, lang), "db-error om-error")


def _now(now_store: dict | None) -> dict | None:
    return (now_store or {}).get("now")


# -- header -------------------------------------------------------------------------------------
def head_text(now_store: dict | None, lang: str) -> html.Div | str:
    if not now_store:
        return t("db_now_loading", lang)
    if now_store.get("error"):
        return _error("now", now_store["error"], lang)
    return t("db_now", lang, time=now_store["now"]["local"])


def period_options(now_store: dict | None, lang: str) -> list[dict]:
    """"Last 30 days" and the data's year ("whole of 2025", or "2025 to date")."""
    now = _now(now_store)
    if now:
        start, end = year_period(now)
        year = date.fromisoformat(start).year
        key = "db_period_year" if end.endswith("-12-31") else "db_period_ytd"
        year_label = t(key, lang, year=year)
    else:
        year_label = t("db_period_thisyear", lang)
    return [{"label": t("db_period_recent", lang), "value": "recent"},
            {"label": year_label, "value": "year"}]


# -- air ----------------------------------------------------------------------------------------
def air_source(period: str, now_store: dict | None, air_store: dict | None,
               year_store: dict | None) -> dict | None:
    """The stored rows the air card shows for ``period`` (None: not there yet; for the year,
    the store may also be ``{"error": …}`` for this period)."""
    now = _now(now_store)
    if period == "year":
        if not now or not year_store:
            return None
        start, end = year_period(now)
        ok = year_store.get("start") == start and year_store.get("end") == end and \
            year_store.get("version") == [now["time"], now["count"]]
        return year_store if ok else None
    return (air_store or {}).get("rows")


def air_card(period: str, now_store: dict | None, air_store: dict | None,
             year_store: dict | None, job_status: str | None, lang: str
             ) -> tuple[list, Any, dict, list[dict]]:
    """(body, chart, chart style, period options) of the good-air card."""
    options = period_options(now_store, lang)
    if now_store and now_store.get("error"):
        return [_error("now", now_store["error"], lang)], NO_CHART, HIDDEN, options
    failed = air_store if period != "year" else air_source(period, now_store, None, year_store)
    if failed and failed.get("error"):
        return [_error("air", failed["error"], lang)], NO_CHART, HIDDEN, options
    rows = air_source(period, now_store, air_store, year_store)
    if rows is None or "rows" not in rows:
        now = _now(now_store)
        if period == "year":
            stopped = job_status in ("failed", "dismissed")
            text = (t("db_air_year_stopped", lang, period=options[1]["label"]) if stopped
                    else t("db_air_year_wait", lang))
        elif now:
            start, end = recent_period(now)
            text = t("db_air_loading", lang, start=start, end=end)
        else:
            text = t("db_loading", lang)
        return [_note(text, "db-note db-loading")], NO_CHART, HIDDEN, options
    kpi = air_kpi(rows)
    if not kpi["valid"]:
        return ([_note(t("db_air_none", lang, start=kpi["start"], end=kpi["end"]))],
                NO_CHART, HIDDEN, options)
    sub = t("db_air_sub", lang, start=kpi["start"], end=kpi["end"], good=number(kpi["good"]),
            valid=number(kpi["valid"]), days=number(kpi["days"]))
    body = [big_number(percent(kpi["share"]), "", sub, "air"), level_strip(kpi, lang)]
    return body, air_chart(kpi, lang), shown("air"), options


# -- water --------------------------------------------------------------------------------------
def water_card(store: dict | None, lang: str) -> tuple[list, Any, dict, list, str, dict]:
    """(body, chart, chart style, class table, "missed" button text and style)."""
    if not store:
        return [_note(t("db_loading", lang), "db-note db-loading")], NO_CHART, HIDDEN, \
            [], "", HIDDEN
    if store.get("error"):
        return [_error("water", store["error"], lang)], NO_CHART, HIDDEN, [], "", HIDDEN
    kpi = store["kpi"]
    if not kpi["total"]:
        return [_note(t("db_water_none", lang))], NO_CHART, HIDDEN, [], "", HIDDEN
    sub = t("db_water_sub", lang, good=number(kpi["good"]), classed=number(kpi["classed"]),
            total=number(kpi["total"]))
    body = [big_number(percent(kpi["good_share"]), "", sub, "water")]
    missed = t("db_water_missed", lang, n=number(kpi["missed"]))
    button_style = {"display": "inline-block"} if kpi["missed"] else HIDDEN
    return (body, water_chart(kpi, lang), shown("water"), [water_table(kpi, lang)], missed,
            button_style)


# -- incidents ----------------------------------------------------------------------------------
def incident_card(store: dict | None, lang: str) -> tuple[list, Any, dict]:
    if not store:
        return [_note(t("db_loading", lang), "db-note db-loading")], NO_CHART, HIDDEN
    if store.get("error"):
        return [_error("inc", store["error"], lang)], NO_CHART, HIDDEN
    kpi = store["kpi"]
    if not kpi["open"]:
        return ([big_number("0", t("db_unit_incidents", lang),
                            t("db_inc_none", lang, total=number(kpi["total"])), "inc")],
                NO_CHART, HIDDEN)
    sub = t("db_inc_sub", lang, responding=number(kpi["by_status"]["responding"]),
            reported=number(kpi["by_status"]["reported"]), total=number(kpi["total"]),
            closed=number(kpi["total"] - kpi["open"]))
    return ([big_number(number(kpi["open"]), t("db_unit_incidents", lang), sub, "inc"),
             incident_key(kpi, lang)], incident_chart(kpi, lang), shown("inc"))


# -- sources ------------------------------------------------------------------------------------
def source_card(store: dict | None, now_store: dict | None, lang: str
                ) -> tuple[list, Any, dict, str]:
    """(body, chart, chart style, the definition of "expired" with the data date)."""
    now = _now(now_store)
    rule = t("db_src_rule", lang, day=now["day"]) if now else ""
    if not store:
        return [_note(t("db_loading", lang), "db-note db-loading")], NO_CHART, HIDDEN, rule
    if store.get("error"):
        return [_error("src", store["error"], lang)], NO_CHART, HIDDEN, rule
    kpi = store["kpi"]
    rule = t("db_src_rule", lang, day=kpi["day"])
    sub = t("db_src_sub", lang, day=kpi["day"], soon=number(kpi["n_soon"]), until=kpi["until"],
            permitted=number(kpi["permitted"]))
    body = [big_number(number(kpi["n_expired"]), t("db_unit_sources", lang), sub, "src")]
    if not source_classes(kpi):
        return body + [_note(t("db_src_none", lang))], NO_CHART, HIDDEN, rule
    return body + [source_key(kpi, lang)], source_chart(kpi, lang), shown("src"), rule


# -- clicks -------------------------------------------------------------------------------------
def click_error(note: dict | None, lang: str) -> html.Div | None:
    """A click whose targets could not be read, in words (None: nothing to say)."""
    return _error("src", note, lang) if note else None


def air_click(data: list | None, rows: dict | None) -> tuple[dict | None, str | None]:
    """(``om-goto``, ``om-map-time``) for a click on a day (its key: ``[date]``): the
    stations at 12:00 that day."""
    if not data or not rows:
        return None, None
    target = goto(rows.get("bbox"), LAYERS["air"]) or {"layers": [LAYERS["air"]]}
    return target, day_click_time(str(data[0]))


def water_click(data: list | None, store: dict | None) -> dict | None:
    """Where the sections of a clicked class (key ``[class]``) are."""
    kpi = (store or {}).get("kpi")
    if not data or not kpi:
        return None
    return goto(kpi["bbox"].get(str(data[0])), LAYERS["water"])


def water_missed(store: dict | None) -> dict | None:
    kpi = (store or {}).get("kpi")
    return goto(kpi["missed_bbox"], LAYERS["water"]) if kpi else None


def incident_click(data: list | None, store: dict | None) -> dict | None:
    """Where the open incidents of a clicked level (key ``[level]``) are."""
    kpi = (store or {}).get("kpi")
    if not data or not kpi:
        return None
    key = str(data[0])
    return goto(kpi["bbox"].get(key if key in kpi["bbox"] else NONE), LAYERS["inc"])
