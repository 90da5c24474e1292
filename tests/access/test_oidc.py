"""Single sign-on against a real OpenID Connect provider (pyop) started by the test."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sqlalchemy import update

from onemap import sysdb
from onemap.access import accounts, oidc
from onemap.config import Settings
from tests.access.oidc_issuer import running_issuer

PUBLIC = "http://127.0.0.1:8999"


@pytest.fixture()
def settings(sample_settings: Settings, tmp_path) -> Settings:
    return Settings(data_dir=sample_settings.data_dir, public_url=PUBLIC,
                    system_db=f"sqlite:///{tmp_path}/s.db")


def _login(settings: Settings, next_url: str = "/") -> dict[str, str]:
    """Follow the browser's way: our start URL → the provider → the callback's query."""
    url = oidc.start(settings, next_url)
    answer = requests.get(url, allow_redirects=False, timeout=10, verify=settings.oidc_ca_file)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == PUBLIC + oidc.CALLBACK_PATH
    return dict(parse_qsl(back.query))


def test_login_maps_claims_and_keeps_them_in_step(settings: Settings, tmp_path) -> None:
    with running_issuer([PUBLIC + oidc.CALLBACK_PATH], tmp_path) as idp:
        settings = replace(settings, oidc_issuer=idp.url, oidc_client_id=idp.client_id,
                           oidc_client_secret=idp.client_secret, oidc_ca_file=idp.ca_file,
                           oidc_role_map="env-gis=analyst")
        idp.people["wang"] = {"preferred_username": "Wang", "name": "王工",
                              "roles": ["env-gis", "unknown-role"], "region": "340181"}
        idp.person = "wang"
        user, next_url = oidc.finish(settings, _login(settings, "/?lang=en"))
        assert (user.name, user.display, user.roles, user.region, user.source) == (
            "wang", "王工", ("analyst",), "340181", "oidc")
        assert next_url == "/?lang=en"
        p = user.principal("oidc")
        assert p.has("analyst") and p.has("viewer") and p.region == "340181"
        # the provider moves the person: the next login follows it
        idp.people["wang"] = {"preferred_username": "wang", "roles": "viewer", "region": ""}
        user, _ = oidc.finish(settings, _login(settings))
        assert (user.roles, user.region) == (("viewer",), None)


def test_refusals(settings: Settings, tmp_path) -> None:
    with running_issuer([PUBLIC + oidc.CALLBACK_PATH], tmp_path) as idp:
        good = replace(settings, oidc_issuer=idp.url, oidc_client_id=idp.client_id,
                       oidc_client_secret=idp.client_secret, oidc_ca_file=idp.ca_file)
        idp.people.update({"li": {"preferred_username": "li", "region": "999999"},
                           "admin": {"preferred_username": "admin", "roles": ["admin"]},
                           "zhao": {"preferred_username": "zhao", "roles": ["viewer"]}})
        idp.person = "li"
        with pytest.raises(oidc.OidcError, match="region"):  # never the whole territory
            oidc.finish(good, _login(good))
        accounts.add(good, "admin", roles=["admin"], password="Local-Root-Pw-19x")
        idp.person = "admin"
        with pytest.raises(oidc.OidcError, match="local account"):
            oidc.finish(good, _login(good))
        idp.person = "zhao"
        params = _login(good)
        oidc.finish(good, params)
        with pytest.raises(oidc.OidcError, match="state"):  # a state is good once
            oidc.finish(good, params)
        wrong_secret = replace(good, oidc_client_secret="not-it")
        with pytest.raises(oidc.OidcError, match="code exchange"):
            oidc.finish(wrong_secret, _login(wrong_secret))
        params = _login(good)  # an answer replayed into another login: the nonce differs
        with sysdb.engine(good).begin() as conn:
            conn.execute(update(sysdb.OIDC_PENDING).values(nonce="another-login"))
        with pytest.raises(oidc.OidcError, match="nonce"):
            oidc.finish(good, params)
        assert oidc.safe_next("https://evil.example/") == "/"
        assert oidc.safe_next("//evil.example/x") == "/"
        assert oidc.safe_next("/?lang=en#x") == "/?lang=en#x"
