"""The app's HTTP client of the OGC API: processes, jobs and feature items.

The panels run analyses exactly as QGIS or a script would: ``POST /ogc/processes/{id}/execution``
with ``Prefer: respond-async``, then ``/ogc/jobs/{id}`` until the job ends, then its results.
Calls go to the server's internal address (:func:`~onemap.app.sources.internal_url`); only
relative URLs are ever handed to the browser.

A refused request becomes :class:`OgcError` carrying the OGC exception code and the input it
names, so the page can say what went wrong in the user's language (:func:`explain`) instead of
showing the server's English sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from onemap.app import serverhttp
from onemap.app.errorwords import WORDS, words
from onemap.app.i18n import t
from onemap.app.sources import internal_url
from onemap.config import Settings

TIMEOUT_S = 30.0
#: Job states after which nothing changes any more (OGC API Processes statusCode).
FINAL = frozenset({"successful", "failed", "dismissed"})
#: "name: detail" — one input, or several joined by ", " (OutOfRegion names "lon, lat").
_PARAM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:, [A-Za-z_][A-Za-z0-9_]*)*):\s*(.*)$", re.S)


@dataclass
class OgcError(Exception):
    """A refused or failed request: HTTP status, OGC code, the input named, the server's text."""

    status: int
    code: str
    parameter: str = ""
    detail: str = ""

    def __str__(self) -> str:  # for logs; the page uses :func:`explain`
        return f"{self.status} {self.code} {self.parameter}: {self.detail}"


def _error(resp: requests.Response) -> OgcError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or body.get("type") or f"HTTP{resp.status_code}")
    text = str(body.get("description") or body.get("detail") or "")
    match = _PARAM.match(text)
    param, detail = (match.group(1), match.group(2)) if match else ("", text)
    return OgcError(resp.status_code, code, param, detail)


def _request(method: str, url: str, **kw: Any) -> requests.Response:
    try:
        resp = serverhttp.call(method, url, timeout=TIMEOUT_S, **kw)
    except requests.RequestException as exc:
        raise OgcError(0, "Unreachable", "", type(exc).__name__) from exc
    if resp.status_code >= 400:
        raise _error(resp)
    return resp


def execute(settings: Settings, process: str, inputs: dict[str, Any],
            *, asynchronous: bool = True) -> dict[str, Any]:
    """Start ``process``; async: ``{"job": id}``, sync: ``{"results": …}``.

    Bad inputs are refused by the server before a job exists (HTTP 400 → :class:`OgcError`).
    """
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if asynchronous:
        headers["Prefer"] = "respond-async"
    url = f"{internal_url(settings)}/ogc/processes/{quote(process)}/execution"
    resp = _request("POST", url, json={"inputs": inputs}, headers=headers)
    if asynchronous:
        location = resp.headers.get("Location", "")
        job = location.rstrip("/").rsplit("/", 1)[-1] if location else ""
        if not job:
            job = str((resp.json() or {}).get("jobID", ""))
        if not job:
            raise OgcError(resp.status_code, "NoJob", "", "no job id in the answer")
        return {"job": job}
    return {"results": resp.json()}


def job_status(settings: Settings, job: str) -> dict[str, Any]:
    """``{"status", "progress" (0–100), "message"}`` of a job (404 → code ``NoSuchJob``)."""
    url = f"{internal_url(settings)}/ogc/jobs/{quote(job)}?f=json"
    doc = _request("GET", url, headers={"Accept": "application/json"}).json()
    return {"status": str(doc.get("status", "")), "progress": int(doc.get("progress") or 0),
            "message": str(doc.get("message") or "")}


def job_results(settings: Settings, job: str) -> Any:
    """The results document of a successful job."""
    url = f"{internal_url(settings)}/ogc/jobs/{quote(job)}/results?f=json"
    return _request("GET", url, headers={"Accept": "application/json"}).json()


def cancel(settings: Settings, job: str) -> None:
    """Dismiss a job (``DELETE /ogc/jobs/{id}``); an already finished job is not an error."""
    try:
        _request("DELETE", f"{internal_url(settings)}/ogc/jobs/{quote(job)}")
    except OgcError as err:
        if err.status != 404:
            raise


def items(settings: Settings, collection: str, **params: Any) -> dict[str, Any]:
    """A page of ``/ogc/collections/{id}/items`` as a GeoJSON FeatureCollection."""
    query = {"f": "json", **{k: v for k, v in params.items() if v is not None}}
    url = f"{internal_url(settings)}/ogc/collections/{quote(collection)}/items"
    return _request("GET", url, params=query, headers={"Accept": "application/geo+json"}).json()


def explain(err: OgcError, lang: str, labels: dict[str, str] | None = None) -> str:
    """The error in words, in ``lang``: what kind of problem, and which input (by its label).

    ``labels`` maps input names to the panel's own field labels, so the user reads "纬度" rather
    than "lat". The server's detail is shown only in English, where it cannot mix languages.
    """
    names = [n for n in err.parameter.split(", ") if n]
    field = ("、" if lang == "zh" else ", ").join((labels or {}).get(n, n) for n in names)
    key = {"InvalidParameterValue": "err_invalid", "MissingParameterValue": "err_missing",
           "OutOfRegion": "err_out_of_region", "NoData": "err_no_data",
           "NoSuchJob": "err_no_job", "Unreachable": "err_unreachable"}.get(err.code)
    if key is None and err.code in WORDS:  # the server's other codes, worded by the page
        return words(err.code, err.status, lang, err.detail)
    if key is None:
        key = "err_server" if err.status >= 500 or err.status == 0 else "err_refused"
    text = t(key, lang, field=field or "—", status=err.status)
    if lang == "en" and err.detail and key not in ("err_unreachable",):
        text = f"{text} ({err.detail})"
    return text
