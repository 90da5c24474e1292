"""The year of daily AQI for the Dashboard: an OGC job with progress and cancel, reduced on
the server side.

Why not :mod:`onemap.app.jobs`: that block hands the job's whole result to the browser, and a
year of ``aqi-daily`` is ~20 MB of station-days (14,600 of them) of which the dashboard needs
365 regional rows. Fetching it also takes longer than one poll interval, and a poll callback
still running when the next tick fires is superseded by it, so its answer would never land.
Here the poll only reads the job's status (fast); when the job has succeeded the poll stops
and a separate callback, triggered once by that state change, reads the results server-side,
keeps the regional rows (cached per data version like the 30 days) and deletes the job so its
20 MB do not pile up in the job store. The look (progress bar, status line, cancel button) is
the shared one of the other panels.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.i18n import t
from onemap.app.ogcclient import FINAL, OgcError, cancel, execute, job_results, job_status
from onemap.app.panels import dashboard_fetch as fetch
from onemap.app.panels.dashboard_kpis import DataError, air_rows, year_period
from onemap.app.panels.dashboard_text import error_text
from onemap.config import Settings

PROCESS = "aqi-daily"
POLL_MS = 800
HIDDEN = {"display": "none"}
RUNNING = ("accepted", "running")
#: Final states in which the rows are to be read: from the job, or from the cache.
READY = ("successful", "cached")


def job_line(lang: str) -> html.Div:
    """Stores, timer, progress bar, status line and cancel button of the year's job."""
    return html.Div([
        dcc.Store(id="db-year-job"),
        dcc.Store(id="db-year-status"),
        # the year asked for (written in the browser only when "whole year" is chosen, so a
        # page load, on the last 30 days, asks nothing of the server here)
        dcc.Store(id="db-year-want", data={}),
        dcc.Interval(id="db-year-tick", interval=POLL_MS, disabled=True),
        html.Div(html.Div(className="om-progress-bar", id="db-year-bar", style={"width": "0%"}),
                 className="om-progress", id="db-year-track", style=HIDDEN),
        html.Div([
            html.Span("", id="db-year-text", className="om-job-text"),
            html.Button(t("cancel", lang), id="db-year-cancel", n_clicks=0, style=HIDDEN,
                        className="om-button om-button-secondary"),
        ], className="om-job-line", id="db-year-line", style=HIDDEN),
    ], className="om-job db-year-job")


def _failed(job: dict, exc: Exception) -> dict:
    return {**job, "status": "failed", "err": fetch.failure(exc)}


def matches(store: dict | None, now: dict[str, Any]) -> bool:
    """Whether a job or rows store is for the data's current year period and version."""
    start, end = year_period(now)
    return bool(store) and store.get("start") == start and store.get("end") == end and \
        store.get("version") == [now["time"], now["count"]]


def start(settings: Settings, now: dict[str, Any]) -> dict:
    """Start the year (or take it from the cache): the new job store."""
    begin, end = year_period(now)
    job = {"job": None, "status": "accepted", "progress": 0, "start": begin, "end": end,
           "version": [now["time"], now["count"]], "err": None}
    if fetch.cached(fetch.air_key(settings, now, begin, end)) is not None:
        return {**job, "status": "cached", "progress": 100}
    try:
        started = execute(settings, PROCESS, {"start": begin, "end": end})
    except OgcError as exc:
        return _failed(job, exc)
    return {**job, "job": started["job"]}


def poll(settings: Settings, job: dict) -> dict:
    """One look at the job's status (never its results: see the module docstring)."""
    if not job.get("job") or job.get("status") not in RUNNING:
        return job
    try:
        state = job_status(settings, job["job"])
    except OgcError as exc:
        return _failed(job, exc)
    status = state["status"] if state["status"] in (*RUNNING, *FINAL) else "running"
    return {**job, "status": status, "progress": state["progress"]}


def stop(settings: Settings, job: dict) -> dict:
    """Cancel: the server stops the run and removes what it wrote."""
    if job.get("job") and job.get("status") in RUNNING:
        try:
            cancel(settings, job["job"])
        except OgcError as exc:
            return _failed(job, exc)
        return {**job, "status": "dismissed"}
    return job


def rows(settings: Settings, job: dict, now: dict[str, Any]) -> dict:
    """The year's regional rows for a finished job, or ``{"error": …}`` (with its period)."""
    key = fetch.air_key(settings, now, job["start"], job["end"])
    period = {"start": job["start"], "end": job["end"], "version": job["version"]}
    hit = fetch.cached(key)
    if hit is not None:
        return {**hit, **period}
    try:
        result = air_rows(job_results(settings, job["job"]), job["start"], job["end"])
    except (OgcError, DataError) as exc:
        return {**period, "error": fetch.failure(exc)}
    try:  # the 20 MB result is read; do not keep it in the job store
        cancel(settings, job["job"])
    except OgcError:
        pass
    return {**fetch.remember(key, result), **period}


def line_view(job: dict | None, year: dict | None, lang: str
              ) -> tuple[dict, dict, str, dict, str, dict]:
    """(track style, bar style, status text, cancel style, cancel label, line style) for the
    job line; the line takes no room when it has nothing to say."""
    job = job or {}
    status = job.get("status")
    running = status in RUNNING
    fetching = status in READY and not (year and year.get("start") == job.get("start"))
    progress = 100 if fetching else int(job.get("progress") or 0)
    track = {"display": "block"} if running or fetching else HIDDEN
    bar = {"width": f"{max(3, min(100, progress))}%"}
    if job.get("err"):
        text = error_text("air", job["err"], lang)
    elif running:
        text = t("job_running", lang, pct=progress) if status == "running" else t(
            "job_accepted", lang)
    elif fetching:
        text = t("db_year_reading", lang)
    elif status == "dismissed":
        text = t("job_cancelled", lang)
    else:
        text = ""
    cancel_style = {"display": "inline-block"} if running else HIDDEN
    line = {"display": "flex"} if text or running else HIDDEN
    return track, bar, text, cancel_style, t("cancel", lang), line


def register(app: dash.Dash, settings: Settings) -> None:
    """Start/poll/cancel (one owner of the job store), read the rows, draw the job line."""

    app.clientside_callback(
        """(period, now) => (period === "year" && now && now.now)
            ? {now: now.now, at: Date.now()} : window.dash_clientside.no_update""",
        Output("db-year-want", "data"), Input("db-period", "value"), Input("db-now", "data"),
        prevent_initial_call=True)

    @app.callback(
        Output("db-year-job", "data"), Output("db-year-tick", "disabled"),
        Output("db-year-status", "data"),
        Input("db-year-want", "data"),
        Input("db-year-tick", "n_intervals"), Input("db-year-cancel", "n_clicks"),
        State("db-period", "value"), State("db-now", "data"),
        State("db-year-job", "data"), State("db-air-year", "data"),
        prevent_initial_call=True)
    def control(_want, _tick, _cancel, period, now_store, job, year):  # type: ignore[no-untyped-def]
        now = (now_store or {}).get("now")
        trigger = ctx.triggered_id
        before = (job or {}).get("status")
        if trigger == "db-year-tick":
            job = poll(settings, job or {})
        elif trigger == "db-year-cancel":
            if not _cancel:
                raise PreventUpdate
            job = stop(settings, job or {})
        else:
            if period != "year" or not now:
                raise PreventUpdate
            failed = matches(year, now) and bool((year or {}).get("error"))
            if matches(year, now) and not failed:
                raise PreventUpdate  # this very year is shown already
            status = (job or {}).get("status")
            if matches(job, now) and (status in RUNNING or (status in READY and not failed)):
                raise PreventUpdate  # already computing it, or its rows are being read
            job = start(settings, now)
        status = job.get("status")
        # The status alone, written only when it changes: the air card listens to this, not to
        # every progress tick (a tick re-triggering it would supersede a pending render).
        return job, status not in RUNNING, status if status != before else dash.no_update

    @app.callback(
        Output("db-air-year", "data"),
        Input("db-year-job", "data"),
        State("db-air-year", "data"), State("db-now", "data"),
        prevent_initial_call=True)
    def read_rows(job, year, now_store):  # type: ignore[no-untyped-def]
        now = (now_store or {}).get("now")
        if not job or job.get("status") not in READY or not now or not matches(job, now):
            raise PreventUpdate
        if matches(year, now) and not (year or {}).get("error"):
            raise PreventUpdate
        return rows(settings, job, now)

    @app.callback(
        Output("db-year-track", "style"), Output("db-year-bar", "style"),
        Output("db-year-text", "children"), Output("db-year-cancel", "style"),
        Output("db-year-cancel", "children"), Output("db-year-line", "style"),
        Input("db-year-job", "data"), Input("db-air-year", "data"), Input("om-lang", "value"),
        prevent_initial_call=True)
    def draw_line(job, year, lang):  # type: ignore[no-untyped-def]
        return line_view(job, year, lang or "zh")
