"""Running an OGC API process from a panel: start, progress, cancel, result — one component.

A panel never talks to the job itself. Its "run" callback writes what to run into the
``om-job-request`` store of its :func:`job_block`::

    {"process": "incident-assessment", "inputs": {...}, "labels": {"lat": "纬度", ...}}

and reads the results from the ``om-job-result`` store when the job has succeeded. In between,
one pattern-matching callback per page (:func:`register_job_callbacks`) starts the job
asynchronously, polls ``/ogc/jobs/{id}`` every :data:`POLL_MS`, moves the progress bar, and on
"cancel" dismisses the job (``DELETE``), which makes the server stop and remove what the run had
written. Errors are shown in words in the page's language (:func:`onemap.app.ogcclient.explain`).

Keeping start, poll and cancel in one callback means a single owner for the job's outputs, so a
late poll can never overwrite a cancel.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import MATCH, Input, Output, State, ctx, dcc, html

from onemap.app.i18n import t
from onemap.app.ogcclient import FINAL, OgcError, cancel, execute, explain, job_results, job_status
from onemap.config import Settings

POLL_MS = 700


def _id(kind: str, panel: str) -> dict[str, str]:
    return {"type": kind, "panel": panel}


def job_block(panel: str, lang: str) -> html.Div:
    """Progress bar, status line and cancel button of ``panel``'s analysis, plus its stores."""
    return html.Div([
        dcc.Store(id=_id("om-job-request", panel)),
        dcc.Store(id=_id("om-job", panel)),
        dcc.Store(id=_id("om-job-result", panel)),
        dcc.Interval(id=_id("om-job-tick", panel), interval=POLL_MS, disabled=True),
        html.Div([
            html.Div(className="om-progress-bar", id=_id("om-job-bar", panel),
                     style={"width": "0%"}),
        ], className="om-progress", id=_id("om-job-track", panel), style={"display": "none"}),
        html.Div([
            html.Span("", id=_id("om-job-text", panel), className="om-job-text"),
            html.Button(t("cancel", lang), id=_id("om-job-cancel", panel), n_clicks=0,
                        className="om-button om-button-secondary", style={"display": "none"}),
        ], className="om-job-line"),
    ], className="om-job", **{"data-panel": panel})


def _view(status: str, progress: int, text: str) -> tuple[dict, dict, str, dict]:
    """(track style, bar style, status text, cancel-button style) for a job state."""
    running = status in ("accepted", "running")
    track = {"display": "block" if running or status == "successful" else "none"}
    bar = {"width": f"{max(3, min(100, progress))}%"}
    return track, bar, text, {"display": "inline-block" if running else "none"}


def step(trigger: str | None, request: dict | None, job: dict | None, lang: str,
         settings: Settings) -> tuple[Any, ...]:
    """One turn of the job state machine; returns the outputs of :func:`register_job_callbacks`.

    ``trigger`` is "om-job-request", "om-job-tick" or "om-job-cancel".
    """
    job = job or {}
    keep = dash.no_update
    if trigger == "om-job-request" and request and request.get("process"):
        if job.get("job") and job.get("status") not in FINAL:
            try:  # a new run replaces one still going: do not leave it computing
                cancel(settings, job["job"])
            except OgcError:
                pass
        try:
            started = execute(settings, request["process"], request.get("inputs") or {})
        except OgcError as err:
            return (*_view("failed", 0, explain(err, lang, request.get("labels"))), True,
                    {"status": "failed"}, keep)
        job = {"job": started["job"], "status": "accepted", "labels": request.get("labels")}
        return (*_view("accepted", 0, t("job_accepted", lang)), False, job, None)
    jid = job.get("job")
    if not jid or job.get("status") in FINAL:
        return (keep, keep, keep, keep, True, keep, keep)
    if trigger == "om-job-cancel":
        try:
            cancel(settings, jid)
        except OgcError as err:
            return (*_view("failed", 0, explain(err, lang)), True, {**job, "status": "failed"},
                    keep)
        return (*_view("dismissed", 0, t("job_cancelled", lang)), True,
                {**job, "status": "dismissed"}, keep)
    try:
        state = job_status(settings, jid)
    except OgcError as err:
        return (*_view("failed", 0, explain(err, lang)), True, {**job, "status": "failed"}, keep)
    status, progress = state["status"], state["progress"]
    if status == "successful":
        try:
            results = job_results(settings, jid)
        except OgcError as err:
            return (*_view("failed", 0, explain(err, lang)), True, {**job, "status": "failed"},
                    keep)
        return (*_view("successful", 100, t("job_done", lang)), True,
                {**job, "status": status}, results)
    if status == "failed":
        return (*_view("failed", 0, t("job_failed", lang)), True, {**job, "status": status},
                keep)
    if status == "dismissed":
        return (*_view("dismissed", 0, t("job_cancelled", lang)), True,
                {**job, "status": status}, keep)
    return (*_view(status, progress, t("job_running", lang, pct=progress)), False,
            {**job, "status": status}, keep)


def register_job_callbacks(app: dash.Dash, settings: Settings) -> None:
    """The one callback that owns every panel's job (pattern-matched on ``panel``)."""

    @app.callback(
        Output(_id("om-job-track", MATCH), "style"),
        Output(_id("om-job-bar", MATCH), "style"),
        Output(_id("om-job-text", MATCH), "children"),
        Output(_id("om-job-cancel", MATCH), "style"),
        Output(_id("om-job-tick", MATCH), "disabled"),
        Output(_id("om-job", MATCH), "data"),
        Output(_id("om-job-result", MATCH), "data"),
        Input(_id("om-job-request", MATCH), "data"),
        Input(_id("om-job-tick", MATCH), "n_intervals"),
        Input(_id("om-job-cancel", MATCH), "n_clicks"),
        State(_id("om-job", MATCH), "data"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def run_job(request, _tick, _cancel, job, lang):  # type: ignore[no-untyped-def]
        trigger = ctx.triggered_id["type"] if isinstance(ctx.triggered_id, dict) else None
        return step(trigger, request, job, lang or "zh", settings)
