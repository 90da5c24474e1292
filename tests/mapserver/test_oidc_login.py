"""Single sign-on over HTTP: the real server, a real OpenID Connect provider (pyop, HTTPS),
and a client that follows the redirects as a browser does."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import requests

from onemap.access import audit
from onemap.config import Settings
from tests.access.oidc_issuer import running_issuer
from tests.server import run_server


def _follow(session: requests.Session, url: str, ca_file: str, hops: int = 5
            ) -> requests.Response:
    """GET ``url`` and its redirects one by one (the provider's TLS trusted by ``ca_file``)."""
    for _ in range(hops):
        r = session.get(url, allow_redirects=False, timeout=60, verify=ca_file)
        if r.status_code != 302:
            return r
        url = requests.compat.urljoin(url, r.headers["Location"])
    raise AssertionError("too many redirects")


def test_single_sign_on(sample_settings: Settings, tmp_path: Path) -> None:
    uris: list[str] = []
    with running_issuer(uris, tmp_path) as idp:
        idp.people["zhou"] = {"preferred_username": "zhou", "name": "周", "roles": ["env-gis"],
                              "region": "340124"}
        idp.people["bad"] = {"preferred_username": "bad", "region": "123456"}
        env = {"ONEMAP_OIDC_ISSUER": idp.url, "ONEMAP_OIDC_CLIENT_ID": idp.client_id,
               "ONEMAP_OIDC_CLIENT_SECRET": idp.client_secret,
               "ONEMAP_OIDC_CA_FILE": idp.ca_file, "ONEMAP_OIDC_ROLE_MAP": "env-gis=viewer",
               "ONEMAP_SYSTEM_DB": f"sqlite:///{tmp_path}/system.db"}
        settings = Settings(data_dir=sample_settings.data_dir, system_db=env["ONEMAP_SYSTEM_DB"])
        with run_server(sample_settings.data_dir, **env) as base:
            uris.append(f"{base}/api/auth/oidc/callback")  # registered with the provider
            anon = requests.get(f"{base}/api/auth/me", timeout=30).json()
            assert anon["anonymous"] and anon["sso"] == "/api/auth/oidc/login"

            browser = requests.Session()
            idp.person = "zhou"
            landed = _follow(browser, f"{base}/api/auth/oidc/login?next=/%3Flang%3Den",
                             idp.ca_file)
            assert urlsplit(landed.url).path == "/" and urlsplit(landed.url).query == "lang=en"
            cookie = [c for c in browser.cookies if c.name == "onemap_session"][0]
            assert cookie.has_nonstandard_attr("HttpOnly")
            me = browser.get(f"{base}/api/auth/me", timeout=30).json()
            assert (me["user"], me["via"], me["region"]) == ("zhou", "oidc", "340124")
            assert me["roles"] == ["viewer"]
            # the county officer reads the county's internal sources through the session
            items = browser.get(f"{base}/ogc/collections/pollution_sources/items",
                                params={"f": "json", "limit": 10000}, timeout=60).json()
            counties = {f["properties"]["county_code"] for f in items["features"]}
            assert counties == {"340124"}, counties

            idp.person = "bad"  # a region claim that is no adcode: refused, not province-wide
            refused = _follow(requests.Session(), f"{base}/api/auth/oidc/login", idp.ca_file)
            assert refused.status_code == 401
            assert refused.json()["code"] == "LoginFailed" and "region" in refused.json()["detail"]
            replay = requests.get(f"{base}/api/auth/oidc/callback",
                                  params={"code": "x", "state": "never-issued"}, timeout=30)
            assert replay.status_code == 401 and "state" in replay.json()["detail"]

        logins = audit.query(settings, user="zhou", action="login")
        assert logins and logins[0]["via"] == "oidc" and logins[0]["outcome"] == "ok"
        assert audit.query(settings, action="login_failed", outcome="failed")


def test_sso_is_off_unless_configured(live_server: str) -> None:
    r = requests.get(f"{live_server}/api/auth/oidc/login", timeout=30, allow_redirects=False)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    assert requests.get(f"{live_server}/api/auth/me", timeout=30).json()["sso"] is None
