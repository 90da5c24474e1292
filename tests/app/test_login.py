"""Logging in and out of the map in a real browser against the real server.

The login form posts from the browser (the cookie is the browser's), the page is built again as
the user — its account corner comes from /api/auth/me asked by the app's server side with the
browser's forwarded cookie — and the Dash callbacks and the page's own scripts carry the CSRF
token the server demands of a logged-in browser's writes.
"""

from __future__ import annotations

import secrets

import pytest

from onemap.access import accounts, sessions
from onemap.app import serverhttp
from onemap.config import Settings
from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

PASSWORD = "Sturdy-Otter-42"
AQI = """async (csrf) => {
    const headers = {"Content-Type": "application/json", "Accept": "application/json"};
    const resp = await fetch("/ogc/processes/aqi-daily/execution", {
        method: "POST", body: JSON.stringify({inputs: {start: "2000-01-01", end: "2000-01-02"}}),
        headers: csrf ? window.onemapCsrf(headers) : headers});
    const body = await resp.json().catch(() => ({}));
    return [resp.status, body.code || ""];
}"""


def _person(settings: Settings, roles=("viewer",)) -> str:
    name = f"web{secrets.token_hex(3)}"
    accounts.add(settings, name, roles=list(roles), region="340181", password=PASSWORD)
    return name


def test_the_app_and_server_agree_on_names() -> None:
    assert serverhttp.SESSION_COOKIE == sessions.COOKIE
    assert serverhttp.CSRF_COOKIE == sessions.CSRF_COOKIE
    assert serverhttp.CSRF_HEADER == sessions.CSRF_HEADER


def test_log_in_and_out(live_server: str, browser, sample_settings: Settings,
                        artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    name = _person(sample_settings)
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.click("#om-login-open")
    page.wait_for_selector("#om-login-user", state="visible")
    page.fill("#om-login-user", name)
    page.fill("#om-login-password", PASSWORD)
    page.click("#om-login-submit")
    # the page reloads, built by the app as the user it learnt from the forwarded cookie
    page.wait_for_selector("#om-account-name")
    assert page.inner_text("#om-account-name") == name
    assert page.get_attribute("#om-account-name", "title") == "viewer · 340181"
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies[sessions.COOKIE]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/"
    assert not session["secure"]  # http here; https: tests/mapserver/test_account_api.py
    assert not cookies[sessions.CSRF_COOKIE]["httpOnly"]
    assert sessions.COOKIE not in page.evaluate("document.cookie")  # no script can read it
    page.screenshot(path=str(artifacts_dir / "login.png"))

    # Dash's callbacks (POSTs of a logged-in browser) carry the CSRF token: switching the
    # language rewrites the layer list through server callbacks without a refused request
    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function("() => document.querySelector('#om-logout')?.innerText === 'Log out'")
    page.wait_for_function("() => document.querySelector('#om-layers-heading')?.innerText"
                           " === 'Layers'")
    assert traffic.failed == [] and traffic.console_errors == [], traffic
    # the page's own scripts add it to their writes; without it the server refuses (a period
    # without data is answered 400 NoData: past the CSRF check)
    status, code = page.evaluate(AQI, True)
    assert status in (200, 400) and code != "CsrfFailed", (status, code)
    assert page.evaluate(AQI, False) == [403, "CsrfFailed"]
    ours = 1 + (status >= 400)  # the browser logs the refused answers above as errors
    assert len(traffic.console_errors) == ours and len(traffic.failed) == ours, traffic

    page.click("#om-logout")
    page.wait_for_selector("#om-login-open")
    assert page.locator("#om-account-name").count() == 0
    assert sessions.COOKIE not in {c["name"] for c in page.context.cookies()}
    me = page.request.get(f"{live_server}/api/auth/me").json()
    assert me["anonymous"] is True
    assert sessions.sessions(sample_settings, name) == []
    assert traffic.console_errors[ours:] == [] and traffic.failed[ours:] == [], traffic
    page.close()


def test_a_failed_login_says_the_same_for_every_cause(live_server: str, browser,
                                                      sample_settings: Settings, artifacts_dir
                                                      ) -> None:  # type: ignore[no-untyped-def]
    name = _person(sample_settings)
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.click("#om-login-open")
    shown = []
    for user, password in ((name, "Wrong-Otter-42"), ("nosuchuser", PASSWORD)):
        page.fill("#om-login-user", user)
        page.fill("#om-login-password", password)
        with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as answer:
            page.click("#om-login-submit")
        assert answer.value.status == 401
        page.wait_for_selector("#om-login-failed", state="visible")
        shown.append(page.inner_text("#om-login-failed"))
        page.evaluate("window.dash_clientside.set_props('om-login-failed', {hidden: true})")
        page.wait_for_selector("#om-login-failed", state="hidden")
    assert shown == ["用户名或密码错误"] * 2
    assert page.locator("#om-login-unavailable").is_hidden()
    assert sessions.COOKIE not in {c["name"] for c in page.context.cookies()}
    page.locator("#om-lang input[value=en]").check()  # in English, the same in English
    page.wait_for_function("() => document.querySelector('#om-login-submit')?.innerText"
                           " === 'Log in'")
    page.click("#om-login-submit")
    page.wait_for_selector("#om-login-failed", state="visible")
    assert page.inner_text("#om-login-failed") == "Wrong user name or password"
    page.screenshot(path=str(artifacts_dir / "login-failed.png"))
    page.close()


def test_login_helper_for_other_tests(live_server: str, browser, login, callers
                                      ) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page.set_default_timeout(60_000)
    doc = login(page, "viewer_a")
    assert doc["user"] == callers["viewer_a"].user and doc["region"] == "340181"
    page.goto(live_server + "/")
    page.wait_for_selector("#om-account-name")
    assert page.inner_text("#om-account-name") == "viewer_a"
    page.close()
