"""The Air panel's surface over a day or a week: ``pm25-surface-series`` as a time-bar layer.

One hour answers "where is it worst now"; a day or the week up to it (the episode) answers "how
did the haze build up and move". The series is a zarr cube that the server catalogues, so rather
than drawing its tiles itself, the panel hands the cube to the layer list through
``om-uploaded`` — exactly what an upload does. The cube then gets what every series has (on/off,
time slider, play, opacity, legend, pixel value on click) and follows the global time bar like
the shipped hourly cube, with no second, competing copy of it on the map.

Days are Beijing days read as the air-quality standards read them (and as ``aqi-daily`` does for
the week table of this same panel): the hours ending 01:00 … 24:00. The map's hour is kept when
the cube holds it, else the map moves to the cube's first hour, so the map always shows a step
of the cube the user asked for.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import dash
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.app.legend import ramp
from onemap.app.panels import haze_view as v
from onemap.config import Settings

#: The span choices, in the order shown: one hour (a COG), one day, the 7 days to that day.
SPANS = ("hour", "day", "week")
DAYS = {"day": 1, "week": 7}
UNIT = "μg/m³"
#: The panel's surface job (the one progress bar / cancel button of the surface section).
PANEL_ID = "haze"


def span_picker(lang: str) -> html.Div:
    """The span radio; its options are set (and translated) by :func:`register`."""
    return html.Div([text("hz_span", lang, className="om-hz-label"),
                     dcc.RadioItems(id="hz-span", value="hour", inline=True,
                                    className="om-hz-radio")])


def span_options(lang: str) -> list[dict[str, str]]:
    return [{"label": t(f"hz_span_{s}", lang), "value": s} for s in SPANS]


def day_of(when: datetime) -> date:
    """The Beijing calendar day of ``when`` (as the time bar's day slider and ``week`` read it)."""
    return (when + v.BEIJING).date()


def series_window(when: datetime, span: str) -> tuple[str, str]:
    """(start, end) hour labels of the ``span`` ending with ``when``'s day, Beijing time.

    A day is its hours ending 01:00 … 24:00 (HJ 633/663 daily values, ``aqi-daily``), so the
    7-day cube holds exactly the hours behind the panel's 7-day AQI table.
    """
    last = day_of(when)
    first = last - timedelta(days=DAYS[span] - 1)
    return (f"{first.isoformat()}T01:00:00+08:00",
            f"{(last + timedelta(days=1)).isoformat()}T00:00:00+08:00")


def surface_job(span: str | None, when: datetime, method: str) -> tuple[str, dict[str, str]]:
    """(process, inputs) of the surface the user asked for: one hour, or a cube of hours."""
    if span in DAYS:
        start, end = series_window(when, span)  # type: ignore[arg-type]
        return "pm25-surface-series", {"start": start, "end": end, "method": method}
    return "pm25-surface", {"time": v.beijing(when), "method": method}


def is_series(result: dict[str, Any] | None) -> bool:
    return bool(result and result.get("cube_id"))


def _utc_iso(when: datetime) -> str:
    """``2025-01-22T00:00:00Z``: the form of the ``om-map-time`` store."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def map_time_for(result: dict[str, Any] | None, map_time: object, extent: object) -> Any:
    """The ``om-map-time`` that shows ``result``'s cube: the map's hour (the latest hour when
    none is chosen) if the cube holds it, else the cube's first hour; ``no_update`` when the
    store already says so."""
    stats = (result or {}).get("stats") or {}
    first, last = v.parse_utc(stats.get("first_time")), v.parse_utc(stats.get("last_time"))
    if first is None or last is None:
        return dash.no_update
    when, _ = v.chosen_hour(map_time, extent)
    target = when if when is not None and first <= when <= last else first
    return dash.no_update if v.parse_utc(map_time) == target else _utc_iso(target)


def _local(text: object) -> str:
    when = v.parse_utc(text)
    return f"{when + v.BEIJING:%Y-%m-%d %H:00}" if when else "—"


def series_text(result: dict[str, Any] | None, lang: str) -> list[html.Div]:
    """What the cube holds, in words: its hours, how many had data, its maximum, the method."""
    stats = (result or {}).get("stats") or {}
    if not stats:
        return []
    method = t("hz_kriging" if stats.get("method") == "kriging" else "hz_idw", lang)
    top = stats.get("max")
    summary = t("hz_series_done", lang, start=_local(stats.get("first_time")),
                end=_local(stats.get("last_time")), n=stats.get("n_hours", "—"),
                valid=stats.get("n_valid_hours", "—"), method=method,
                max=f"{top:.0f}" if isinstance(top, int | float) else "—")
    return [html.Div(summary), html.Div(t("hz_series_note", lang), className="om-hz-note")]


def series_style(result: dict[str, Any] | None) -> dict[str, Any]:
    """Colormap and rescale of the cube, read from its tile URL (the series' stats leave them
    out), so the panel's legend is the one its tiles are drawn with."""
    query = dict(parse_qsl(urlsplit((result or {}).get("tile_url") or "").query))
    try:
        rescale = [float(x) for x in query.get("rescale", "").split(",")][:2]
    except ValueError:
        rescale = []
    return {"colormap": query.get("colormap_name") or "onemap_pm25",
            "rescale": rescale if len(rescale) == 2 else None, "unit": UNIT}


def series_legend(result: dict[str, Any] | None, lang: str) -> html.Div | list:
    return ramp(series_style(result), lang) if is_series(result) else []


def register(app: dash.Dash, settings: Settings) -> None:
    """The span options, and handing a finished cube to the layer list and the time bar."""
    job_result = {"type": "om-job-result", "panel": PANEL_ID}

    @app.callback(Output("hz-span", "options"), Input("om-lang", "value"))
    def options(lang):  # type: ignore[no-untyped-def]
        return span_options(lang or "zh")

    @app.callback(
        Output("om-uploaded", "data", allow_duplicate=True),
        Output("om-map-time", "data", allow_duplicate=True),
        Input(job_result, "data"), State("om-map-time", "data"), State("om-tb-extent", "data"),
        prevent_initial_call=True)
    def show_cube(result, map_time, extent):  # type: ignore[no-untyped-def]
        # Both in one answer: the layer list reads the map's time when it adds the cube, so it
        # opens the cube at the very hour the time bar is moved to.
        if not is_series(result):
            raise PreventUpdate
        return ({"dataset": result["cube_id"], "at": int(time.time() * 1000)},
                map_time_for(result, map_time, extent))
