"""/api/auth and /api/admin against the real server: cookies, CSRF, the same answer for every
failed login, the admin API's answers for each kind of caller, the first admin of a fresh
install."""
from __future__ import annotations

import re
import secrets

import pytest
import requests
from starlette.responses import Response

from onemap.access import accounts, sessions
from onemap.config import Settings
from onemap.mapserver.auth_api import set_cookies
from tests.server import run_server

PASSWORD = "Sturdy-Otter-42"


def _person(settings: Settings, roles=("viewer",), region=None) -> str:
    """A new account with PASSWORD (its own name: lockouts and sessions stay this test's)."""
    name = f"p{secrets.token_hex(4)}"
    accounts.add(settings, name, roles=list(roles), region=region, password=PASSWORD)
    return name


def _login(base: str, user: str, password: str = PASSWORD) -> tuple[requests.Session, dict]:
    s = requests.Session()
    r = s.post(f"{base}/api/auth/login", json={"user": user, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return s, r.json()


def test_login_sets_session_and_csrf_cookies(live_server: str, sample_settings: Settings
                                             ) -> None:
    name = _person(sample_settings, roles=("analyst",), region="340181")
    r = requests.post(f"{live_server}/api/auth/login", data={"user": name, "password": PASSWORD},
                      timeout=30)  # a plain form works as well as JSON
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["user"] == name and doc["region"] == "340181"
    assert doc["roles"] == ["analyst", "viewer"] and doc["csrf"]
    cookies = {c.split("=", 1)[0]: c for c in re.split(r",\s*(?=\w+=)",
                                                      r.headers["set-cookie"])}
    session = cookies[sessions.COOKIE].lower()
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session
    assert "secure" not in session  # served over http here
    csrf = cookies[sessions.CSRF_COOKIE].lower()
    assert "httponly" not in csrf and "samesite=strict" in csrf
    assert f"{sessions.CSRF_COOKIE}={doc['csrf']}".lower() in csrf
    token = r.cookies[sessions.COOKIE]
    me = requests.get(f"{live_server}/api/auth/me", cookies={sessions.COOKIE: token}, timeout=30)
    assert me.json() == {**doc, "sso": None}  # single sign-on is off on this server
    anonymous = requests.get(f"{live_server}/api/auth/me", timeout=30).json()
    assert anonymous["anonymous"] is True and "csrf" not in anonymous


def test_cookies_are_secure_behind_https(sample_settings: Settings) -> None:
    from dataclasses import replace

    response = Response()
    name = _person(sample_settings)
    token, session = sessions.start(sample_settings, name)
    set_cookies(response, replace(sample_settings, public_url="https://map.example.gov.cn"),
                token, session)
    for header in response.headers.getlist("set-cookie"):
        assert "; secure" in header.lower()


def test_every_failed_login_reads_the_same(live_server: str, sample_settings: Settings
                                           ) -> None:
    name = _person(sample_settings)
    disabled = _person(sample_settings)
    accounts.change(sample_settings, disabled, disabled=True)
    keyonly = f"k{secrets.token_hex(4)}"
    accounts.add(sample_settings, keyonly)
    answers = []
    for user, password in ((name, "Wrong-Otter-42"), (f"nobody{secrets.token_hex(3)}", PASSWORD),
                           (disabled, PASSWORD), (keyonly, PASSWORD)):
        r = requests.post(f"{live_server}/api/auth/login",
                          json={"user": user, "password": password}, timeout=30)
        assert r.status_code == 401 and sessions.COOKIE not in r.cookies
        answers.append(r.json())
    assert all(a == {"code": "LoginFailed", "detail": "wrong user name or password"}
               for a in answers)
    for body in ({"user": name}, {"user": name, "password": 5}, [1], "x"):
        r = requests.post(f"{live_server}/api/auth/login", json=body, timeout=30)
        assert r.status_code == 400 and r.json()["code"] == "InvalidParameter"
    r = requests.post(f"{live_server}/api/auth/login", data=b"{not json",
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400


def test_cookie_writes_need_the_csrf_token(live_server: str, sample_settings: Settings) -> None:
    name = _person(sample_settings)
    s, doc = _login(live_server, name)
    # ours, pygeoapi's and the Dash callbacks' writes are all checked in one place
    for path in ("/api/auth/keys", "/ogc/processes/aqi-daily/execution",
                 "/_dash-update-component"):
        r = s.post(f"{live_server}{path}", json={"name": "x"}, timeout=30)
        assert r.status_code == 403 and r.json()["code"] == "CsrfFailed", path
        r = s.post(f"{live_server}{path}", json={"name": "x"}, timeout=30,
                   headers={sessions.CSRF_HEADER: doc["csrf"] + "x"})
        assert r.status_code == 403 and r.json()["code"] == "CsrfFailed", path
    r = s.post(f"{live_server}/api/auth/keys", json={"name": "laptop"}, timeout=30,
               headers={sessions.CSRF_HEADER: doc["csrf"]})
    assert r.status_code == 201 and r.json()["key"].startswith("om_")
    # the key works on its own, and a request with it needs no CSRF token
    key = r.json()["key"]
    r = requests.post(f"{live_server}/api/auth/keys", json={"name": "script"}, timeout=30,
                      headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201
    listed = s.get(f"{live_server}/api/auth/keys", timeout=30).json()["keys"]
    assert {k["name"] for k in listed} == {"laptop", "script"}
    assert all("key" not in k for k in listed)
    r = s.delete(f"{live_server}/api/auth/keys/{listed[0]['id']}", timeout=30,
                 headers={sessions.CSRF_HEADER: doc["csrf"]})
    assert r.status_code == 200 and r.json()["revoked"]
    r = s.delete(f"{live_server}/api/auth/keys/{listed[0]['id']}", timeout=30,
                 headers={sessions.CSRF_HEADER: doc["csrf"]})
    assert r.status_code == 404


def test_logout_ends_the_session(live_server: str, sample_settings: Settings) -> None:
    name = _person(sample_settings)
    s, doc = _login(live_server, name)
    token = s.cookies[sessions.COOKIE]
    assert s.post(f"{live_server}/api/auth/logout", timeout=30).status_code == 403  # no CSRF
    r = s.post(f"{live_server}/api/auth/logout", headers={sessions.CSRF_HEADER: doc["csrf"]},
               timeout=30)
    assert r.status_code == 200 and r.json() == {"logged_out": True}
    assert sessions.COOKIE not in s.cookies  # the browser is told to forget it
    me = requests.get(f"{live_server}/api/auth/me", cookies={sessions.COOKIE: token}, timeout=30)
    assert me.json()["anonymous"] is True  # the old cookie opens nothing any more
    r = requests.get(f"{live_server}/api/auth/keys", cookies={sessions.COOKIE: token},
                     timeout=30)
    assert r.status_code == 401


def test_password_change(live_server: str, sample_settings: Settings) -> None:
    name = _person(sample_settings)
    s, doc = _login(live_server, name)
    other, _ = _login(live_server, name)  # a second browser of the same user
    csrf = {sessions.CSRF_HEADER: doc["csrf"]}
    r = s.post(f"{live_server}/api/auth/password", headers=csrf, timeout=30,
               json={"current": "Wrong-Otter-42", "new": "Brand-New-Otter-7"})
    assert r.status_code == 403 and r.json()["code"] == "LoginFailed"
    r = s.post(f"{live_server}/api/auth/password", headers=csrf, timeout=30,
               json={"current": PASSWORD, "new": "short"})
    assert r.status_code == 422 and "too short" in r.json()["detail"]
    r = s.post(f"{live_server}/api/auth/password", headers=csrf, timeout=30,
               json={"current": PASSWORD, "new": "Brand-New-Otter-7"})
    assert r.status_code == 200 and r.json()["csrf"] != doc["csrf"]
    assert s.get(f"{live_server}/api/auth/me", timeout=30).json()["user"] == name  # this one
    assert other.get(f"{live_server}/api/auth/me", timeout=30).json()["anonymous"]  # not that
    _login(live_server, name, "Brand-New-Otter-7")
    r = requests.post(f"{live_server}/api/auth/password", timeout=30,
                      json={"current": PASSWORD, "new": "Brand-New-Otter-8"})
    assert r.status_code == 401


def test_admin_api_is_for_admins(live_server: str, callers) -> None:
    base = f"{live_server}/api/admin"
    assert requests.get(f"{base}/users", timeout=30).status_code == 401
    for who in ("viewer", "analyst", "manager"):
        r = requests.get(f"{base}/users", headers=callers[who].headers, timeout=30)
        assert r.status_code == 403 and r.json()["code"] == "Forbidden", who
        r = requests.post(f"{base}/rules", headers=callers[who].headers, timeout=30,
                          json={"role": "*", "dataset": "x", "allow": True})
        assert r.status_code == 403, who


def test_admin_manages_users_keys_grants_and_rules(live_server: str, callers,
                                                   sample_settings: Settings) -> None:
    base = f"{live_server}/api/admin"
    h = callers["admin"].headers
    name = f"u{secrets.token_hex(4)}"
    r = requests.post(f"{base}/users", headers=h, timeout=30,
                      json={"name": name, "roles": ["viewer"], "region": "340124",
                            "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["region"] == "340124" and r.json()["has_password"]
    assert "password" not in r.json()
    r = requests.post(f"{base}/users", headers=h, timeout=30, json={"name": name})
    assert r.status_code == 409 and r.json()["code"] == "AccountExists"
    for bad in ({"name": "x" + name, "roles": ["king"]}, {"name": "x" + name, "region": "999999"},
                {"name": "Bad Name"}, {"name": "x" + name, "password": "weak"}, {"roles": []}):
        r = requests.post(f"{base}/users", headers=h, timeout=30, json=bad)
        assert r.status_code == 422 and r.json()["code"] == "InvalidParameter", bad
    assert requests.get(f"{base}/users/nobody", headers=h, timeout=30).status_code == 404
    assert name in {u["name"] for u in requests.get(f"{base}/users", headers=h,
                                                    timeout=30).json()["users"]}
    r = requests.put(f"{base}/users/{name}/grant", headers=h, timeout=30,
                     json={"roles": ["commander"], "region": None})
    assert r.json()["roles"] == ["commander"] and r.json()["region"] is None
    # a key made by the admin works for the user, once
    r = requests.post(f"{base}/users/{name}/keys", headers=h, timeout=30, json={"name": "ops"})
    assert r.status_code == 201
    key, key_id = r.json()["key"], r.json()["id"]
    me = requests.get(f"{live_server}/api/auth/me", headers={"X-API-Key": key}, timeout=30)
    assert me.json()["user"] == name and "commander" in me.json()["roles"]
    listed = requests.get(f"{base}/keys", params={"user": name}, headers=h, timeout=30).json()
    assert [k["id"] for k in listed["keys"]] == [key_id]
    assert requests.delete(f"{base}/keys/{key_id}", headers=h, timeout=30).status_code == 200
    assert requests.get(f"{live_server}/api/auth/me", headers={"X-API-Key": key},
                        timeout=30).status_code == 401
    # disabling ends the user's browser session at once
    s, _ = _login(live_server, name)
    r = requests.patch(f"{base}/users/{name}", headers=h, timeout=30, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] and r.json()["sessions"] == 0
    assert s.get(f"{live_server}/api/auth/me", timeout=30).json()["anonymous"]
    r = requests.patch(f"{base}/users/admin", headers=h, timeout=30, json={"disabled": True})
    assert r.status_code == 422  # not oneself
    r = requests.patch(f"{base}/users/{name}", headers=h, timeout=30, json={"region": "340181"})
    assert r.json()["region"] == "340181" and r.json()["roles"] == ["commander"]
    # rules
    r = requests.post(f"{base}/rules", headers=h, timeout=30,
                      json={"role": "anonymous", "dataset": "incidents", "allow": True,
                            "priority": 5})
    assert r.status_code == 201 and r.json()["created_by"] == "admin"
    rule_id = r.json()["id"]
    assert rule_id in [x["id"] for x in requests.get(f"{base}/rules", headers=h,
                                                     timeout=30).json()["rules"]]
    r = requests.post(f"{base}/rules", headers=h, timeout=30,
                      json={"role": "king", "dataset": "incidents", "allow": True})
    assert r.status_code == 422
    assert requests.delete(f"{base}/rules/{rule_id}", headers=h, timeout=30).status_code == 200
    assert requests.delete(f"{base}/rules/{rule_id}", headers=h, timeout=30).status_code == 404
    assert requests.delete(f"{base}/rules/99999999999999999999", headers=h,
                           timeout=30).status_code == 422


@pytest.mark.parametrize("chosen", ["", "Chosen-Root-Pass-1"])
def test_first_run_creates_an_admin(tmp_path, chosen: str) -> None:
    env = {"ONEMAP_ADMIN_PASSWORD": chosen} if chosen else {}
    with run_server(tmp_path, **env) as base:
        log = (tmp_path / "server.log").read_text()
        if chosen:
            assert "ONEMAP_ADMIN_PASSWORD" in log and chosen not in log
            password = chosen
        else:
            found = re.search(r"created admin account 'admin' with password (\S+)", log)
            assert found, log
            password = found.group(1)
        _, doc = _login(base, "admin", password)
        assert "admin" in doc["roles"]
    with run_server(tmp_path) as base:  # the next start leaves it alone
        assert (tmp_path / "server.log").read_text().count("created admin") == 1
