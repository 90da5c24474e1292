"""The panels' job runner against the real server: start, poll, result, cancel, errors in words.

``onemap.app.jobs.step`` is what the page's job callback runs; driving it directly shows each
state the user sees (status line in both languages, progress, results) without a browser.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import dash
import pytest

from onemap.app.jobs import deliver, job_text, step
from onemap.app.ogcclient import execute
from onemap.config import Settings

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def app_settings(live_server: str, sample_settings: Settings) -> Settings:
    """Settings whose internal URL is the live server."""
    port = urlsplit(live_server).port
    return Settings(data_dir=sample_settings.data_dir, port=int(port or 80),
                    public_url=live_server)


def _run(settings: Settings, job: dict, lang: str = "zh", timeout: float = 120) -> tuple:
    """Poll like the page does until the job ends; the last outputs."""
    deadline = time.monotonic() + timeout
    out = None
    while time.monotonic() < deadline:
        out = step("om-job-tick", None, job, lang, settings)
        job = out[5]
        if job.get("status") in ("successful", "failed", "dismissed"):
            return out
        time.sleep(0.3)
    raise AssertionError(f"job did not end: {job}")


def test_a_run_reports_progress_and_results(app_settings: Settings) -> None:
    request = {"process": "aqi-hourly", "inputs": {"time": "2025-01-22T08:00:00+08:00"}}
    out = step("om-job-request", request, None, "zh", app_settings)
    job = out[5]
    assert job["status"] == "accepted" and job["job"]
    assert out[2] == "已提交，等待计算…" and out[4] is False  # polling on
    out = _run(app_settings, job)
    track, bar, text, button, tick_off, job, results = out
    assert job["status"] == "successful" and text == "完成" and tick_off is True
    assert bar == {"width": "100%"} and button == {"display": "none"}
    assert results is dash.no_update  # fetched once by deliver(), never by the timer
    results, _ = deliver(job, "zh", app_settings)
    # The same answer as a synchronous run of the same request.
    direct = execute(app_settings, request["process"], request["inputs"], asynchronous=False)
    assert results == direct["results"], (str(results)[:300], str(direct)[:300])
    assert job_text(job, "en") == "Done"
    # An ended job is not polled again.
    assert step("om-job-tick", None, job, "zh", app_settings)[4] is True


def test_bad_input_is_worded_in_both_languages(app_settings: Settings, as_commander
                                               ) -> None:  # type: ignore[no-untyped-def]
    request = {"process": "incident-assessment",
               "inputs": {"lon": 100.0, "lat": 20.0, "time": "2025-06-01T10:00:00+08:00",
                          "medium": "air", "pollutant": "cl2", "amount_kg": 100},
               "labels": {"zh": {"lon": "经度", "lat": "纬度"},
                          "en": {"lon": "Longitude", "lat": "Latitude"}}}
    out = step("om-job-request", request, None, "zh", app_settings)
    job = out[5]
    assert job["status"] == "failed" and "job" not in job  # refused before any job existed
    assert job["err"]["code"] == "OutOfRegion"
    zh = out[2]
    assert "超出本区域范围" in zh and ("经度" in zh or "纬度" in zh or "位置" in zh), zh
    assert not any("a" <= c.lower() <= "z" for c in zh), zh
    en = job_text(job, "en")
    assert "outside the region" in en, en


def test_cancel_dismisses_a_running_job(app_settings: Settings, as_analyst
                                        ) -> None:  # type: ignore[no-untyped-def]
    request = {"process": "pm25-surface-series",
               "inputs": {"start": "2025-01-01T00:00:00+08:00",
                          "end": "2025-04-30T23:00:00+08:00"}}
    job = step("om-job-request", request, None, "en", app_settings)[5]
    assert job["status"] == "accepted"
    out = step("om-job-cancel", None, job, "en", app_settings)
    assert out[5]["status"] == "dismissed" and out[2] == "Cancelled."
    assert out[4] is True and out[3] == {"display": "none"}
    # The server forgot it: polling again says the job is gone or dismissed, never "running".
    again = step("om-job-tick", None, {**job, "status": "running"}, "en", app_settings)
    assert again[5]["status"] in ("dismissed", "failed")
