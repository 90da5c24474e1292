"""Running an OGC API process from a panel: start, progress, cancel, result — one component.

A panel never talks to the job itself. Its "run" callback writes what to run into the
``om-job-request`` store of its :func:`job_block`::

    {"process": "incident-assessment", "inputs": {...},
     "labels": {"zh": {"lat": "纬度", ...}, "en": {"lat": "Latitude", ...}}}

(``labels``, the panel's names for the inputs, may also be given for the current language only)

and reads the results from the ``om-job-result`` store when the job has succeeded. In between,
one pattern-matching callback per page (:func:`register_job_callbacks`) starts the job
asynchronously, polls ``/ogc/jobs/{id}`` every :data:`POLL_MS`, moves the progress bar, and on
"cancel" dismisses the job (``DELETE``), which makes the server stop and remove what the run had
written. Errors are shown in words in the page's language (:func:`onemap.app.ogcclient.explain`).

Keeping start, poll and cancel in one callback means a single owner for the job's state, so a
late poll can never overwrite a cancel; the results are fetched once by a second callback when
the state becomes "successful" (:func:`deliver`), never by the timer.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import MATCH, Input, Output, State, ctx, dcc, html

from onemap.app.i18n import t
from onemap.app.ogcclient import FINAL, OgcError, cancel, execute, explain, job_results, job_status
from onemap.config import Settings

POLL_MS = 1000


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


def _view(status: str, progress: int) -> tuple[dict, dict, dict]:
    """(track style, bar style, cancel-button style) for a job state."""
    running = status in ("accepted", "running")
    track = {"display": "block" if running or status == "successful" else "none"}
    bar = {"width": f"{max(3, min(100, progress))}%"}
    return track, bar, {"display": "inline-block" if running else "none"}


def _labels(labels: dict | None, lang: str) -> dict[str, str]:
    """A panel's input labels in ``lang``: given per language ({"zh": …, "en": …}) or flat."""
    labels = labels or {}
    if set(labels) <= {"zh", "en"} and all(isinstance(v, dict) for v in labels.values()):
        return labels.get(lang) or labels.get("zh") or {}
    return labels


def job_text(job: dict | None, lang: str) -> str:
    """The status line of a job in ``lang``, rebuilt from what the job store keeps (a string
    key and its values, or the error), so a language switch can say it again."""
    job = job or {}
    if job.get("err"):
        return explain(OgcError(**job["err"]), lang, _labels(job.get("labels"), lang))
    msg = job.get("msg") or {}
    return t(msg["key"], lang, **(msg.get("kw") or {})) if msg.get("key") else ""


def _out(job: dict, lang: str, progress: int = 0, result: Any = dash.no_update
         ) -> tuple[Any, ...]:
    track, bar, button = _view(job.get("status", ""), progress)
    ticking = job.get("status") in ("accepted", "running")
    return track, bar, job_text(job, lang), button, not ticking, job, result


def _failed(job: dict, err: OgcError) -> dict:
    return {**job, "status": "failed", "msg": None,
            "err": {"status": err.status, "code": err.code, "parameter": err.parameter,
                    "detail": err.detail}}


def step(trigger: str | None, request: dict | None, job: dict | None, lang: str,
         settings: Settings, cancel_clicks: int | None = None) -> tuple[Any, ...]:
    """One turn of the job state machine; returns the outputs of :func:`register_job_callbacks`.

    ``trigger`` is "om-job-request", "om-job-tick" or "om-job-cancel". ``cancel_clicks`` is the
    cancel button's click count: a click made after the job started cancels it whichever turn
    runs, because Dash drops the answer of a turn that a newer turn of the same callback
    overtakes — a poll due while a slow cancel is under way would otherwise replace "cancelled"
    with "job not found".
    """
    job = job or {}
    keep = dash.no_update
    if trigger == "om-job-request" and request and request.get("process"):
        if job.get("job") and job.get("status") not in FINAL:
            try:  # a new run replaces one still going: do not leave it computing
                cancel(settings, job["job"])
            except OgcError:
                pass
        fresh = {"labels": request.get("labels")}
        try:
            started = execute(settings, request["process"], request.get("inputs") or {})
        except OgcError as err:
            return _out(_failed(fresh, err), lang)
        job = {**fresh, "job": started["job"], "status": "accepted",
               "msg": {"key": "job_accepted"}, "clicks": cancel_clicks or 0}
        return _out(job, lang, result=None)
    jid = job.get("job")
    if not jid or job.get("status") in FINAL:
        return (keep, keep, keep, keep, True, keep, keep)
    seen = job.get("clicks")
    if trigger == "om-job-cancel" or (seen is not None and (cancel_clicks or 0) > seen):
        try:
            cancel(settings, jid)
        except OgcError as err:
            return _out(_failed(job, err), lang)
        return _out({**job, "status": "dismissed", "msg": {"key": "job_cancelled"}}, lang)
    try:
        state = job_status(settings, jid)
    except OgcError as err:
        return _out(_failed(job, err), lang)
    status, progress = state["status"], state["progress"]
    if status == "successful":  # the results are fetched once, by :func:`deliver`
        return _out({**job, "status": status, "msg": {"key": "job_done"}}, lang, 100)
    key = {"failed": "job_failed", "dismissed": "job_cancelled"}.get(status, "job_running")
    return _out({**job, "status": status, "msg": {"key": key, "kw": {"pct": progress}}}, lang,
                progress)


def deliver(job: dict | None, lang: str, settings: Settings) -> tuple[Any, Any]:
    """(results, status line) once a job has succeeded; ``no_update`` otherwise.

    A callback of its own, triggered by the job's state rather than by the poll timer: fetching
    a big result can take longer than one poll interval, and Dash drops the answer of a callback
    that is triggered again before it returns.
    """
    job = job or {}
    if job.get("status") != "successful" or not job.get("job"):
        return dash.no_update, dash.no_update
    try:
        return job_results(settings, job["job"]), dash.no_update
    except OgcError as err:
        return dash.no_update, job_text(_failed(job, err), lang)


def register_job_callbacks(app: dash.Dash, settings: Settings) -> None:
    """The one callback that owns every panel's job (pattern-matched on ``panel``)."""

    @app.callback(
        Output(_id("om-job-track", MATCH), "style"),
        Output(_id("om-job-bar", MATCH), "style"),
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
    def run_job(request, _tick, clicks, job, lang):  # type: ignore[no-untyped-def]
        trigger = ctx.triggered_id["type"] if isinstance(ctx.triggered_id, dict) else None
        out = step(trigger, request, job, lang or "zh", settings, clicks)
        return out[:2] + out[3:]

    @app.callback(
        Output(_id("om-job-text", MATCH), "children"),
        Output(_id("om-job-cancel", MATCH), "children"),
        Input(_id("om-job", MATCH), "data"),
        Input("om-lang", "value"),
        prevent_initial_call=True,
    )
    def job_words(job, lang):  # type: ignore[no-untyped-def]
        # The status line is said from the job's state and the page's language at the time it
        # is drawn, so a poll answered after a language switch cannot leave the old language.
        return job_text(job, lang or "zh"), t("cancel", lang or "zh")

    @app.callback(
        Output(_id("om-job-result", MATCH), "data", allow_duplicate=True),
        Output(_id("om-job-text", MATCH), "children", allow_duplicate=True),
        Input(_id("om-job", MATCH), "data"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def deliver_results(job, lang):  # type: ignore[no-untyped-def]
        return deliver(job, lang or "zh", settings)
