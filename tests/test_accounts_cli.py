"""``onemap users|keys|grant|rules`` as an administrator runs them on the server machine."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from onemap.access import accounts, rules
from onemap.access.authn import authenticate
from onemap.config import Settings


@pytest.fixture()
def settings(sample_settings: Settings, tmp_path: Path) -> Settings:
    """The sample's boundaries (so regions are checked) and a system database of our own."""
    return Settings(data_dir=sample_settings.data_dir, system_db=f"sqlite:///{tmp_path}/s.db")


def _run(settings: Settings, *args: str, stdin: str | None = None
         ) -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir),
           "ONEMAP_SYSTEM_DB": settings.system_db}
    return subprocess.run([sys.executable, "-m", "onemap", *args], env=env, input=stdin or "",
                          capture_output=True, text=True, timeout=120)


def test_users_add_list_disable_and_password(settings: Settings) -> None:
    r = _run(settings, "users", "add", "chen", "--role", "viewer", "--role", "analyst",
             "--region", "340181", "--password-stdin", stdin="Sturdy-Otter-42\n")
    assert r.returncode == 0, r.stderr
    assert "added user 'chen' (viewer, analyst) in region 340181" in r.stdout
    assert "password:" not in r.stdout
    assert accounts.login(settings, "chen", "Sturdy-Otter-42").region == "340181"
    # no terminal and no --password-stdin: a generated password, printed once
    r = _run(settings, "users", "add", "li")
    assert r.returncode == 0, r.stderr
    password = re.search(r"password: (\S+)  \(shown once\)", r.stdout).group(1)
    assert accounts.login(settings, "li", password).roles == ("viewer",)
    r = _run(settings, "users", "add", "gis", "--no-password", "--role", "analyst")
    assert r.returncode == 0 and not accounts.get(settings, "gis").has_password

    listing = _run(settings, "users", "list").stdout
    assert re.search(r"chen\s+viewer,analyst\s+340181\s+active\s+password", listing)
    assert re.search(r"gis\s+analyst\s+-\s+active\s+keys only", listing)

    for bad, words in ((["users", "add", "chen"], "exists already"),
                       (["users", "add", "wang", "--region", "999999"], "unknown region"),
                       (["users", "add", "Wang Wu"], "invalid user name"),
                       (["users", "disable", "nobody"], "no user 'nobody'"),
                       (["users", "password", "nobody"], "no user 'nobody'")):
        r = _run(settings, *bad, stdin="Sturdy-Otter-42\n")
        assert r.returncode == 2 and words in r.stderr, (bad, r.stderr)
    r = _run(settings, "users", "add", "wang", "--password-stdin", stdin="weak\n")
    assert r.returncode == 2 and "password too short" in r.stderr
    assert accounts.get(settings, "wang") is None
    r = _run(settings, "users", "add", "wang", "--role", "king")
    assert r.returncode == 2 and "invalid choice" in r.stderr

    assert _run(settings, "users", "disable", "chen").returncode == 0
    assert accounts.get(settings, "chen").disabled
    with pytest.raises(accounts.LoginFailed):
        accounts.login(settings, "chen", "Sturdy-Otter-42")
    assert _run(settings, "users", "enable", "chen").returncode == 0
    r = _run(settings, "users", "password", "chen", "--password-stdin",
             stdin="Another-Otter-43\n")
    assert r.returncode == 0, r.stderr
    assert accounts.login(settings, "chen", "Another-Otter-43").name == "chen"


def test_keys_create_list_revoke(settings: Settings) -> None:
    accounts.add(settings, "gis", roles=["analyst"])
    r = _run(settings, "keys", "create", "gis", "QGIS desktop")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    user = authenticate(settings, {"authorization": f"Bearer {key}"})
    assert user.user == "gis" and user.key == "QGIS desktop"
    key_id = accounts.keys(settings, "gis")[0].id
    listing = _run(settings, "keys", "list", "gis").stdout
    assert key_id in listing and "QGIS desktop" in listing and key not in listing
    assert _run(settings, "keys", "list", "nobody").returncode == 2
    r = _run(settings, "keys", "revoke", key_id)
    assert r.returncode == 0 and "revoked key" in r.stdout
    assert "revoked" in _run(settings, "keys", "list").stdout
    r = _run(settings, "keys", "revoke", key_id)
    assert r.returncode == 2 and "no live key" in r.stderr
    r = _run(settings, "keys", "create", "nobody", "x")
    assert r.returncode == 2 and "no user 'nobody'" in r.stderr


def test_grant_roles_and_region(settings: Settings) -> None:
    accounts.add(settings, "zhao", roles=["viewer"])
    r = _run(settings, "grant", "zhao", "--role", "data_manager", "--region", "340124")
    assert r.returncode == 0, r.stderr
    assert "zhao: data_manager, region 340124" in r.stdout
    user = accounts.get(settings, "zhao")
    assert user.roles == ("data_manager",) and user.region == "340124"
    r = _run(settings, "grant", "zhao", "--no-region")
    assert r.returncode == 0 and accounts.get(settings, "zhao").region is None
    assert accounts.get(settings, "zhao").roles == ("data_manager",)  # roles kept
    for bad, words in ((["grant", "zhao"], "give --role"),
                       (["grant", "zhao", "--region", "12"], "region"),
                       (["grant", "nobody", "--role", "viewer"], "no user")):
        r = _run(settings, *bad)
        assert r.returncode == 2 and words in r.stderr, (bad, r.stderr)
    r = _run(settings, "grant", "zhao", "--region", "340124", "--no-region")
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_rules_add_list_remove(settings: Settings) -> None:
    r = _run(settings, "rules", "add", "--role", "anonymous", "--dataset", "incidents",
             "--allow", "--priority", "10")
    assert r.returncode == 0, r.stderr
    rule = rules.load(settings, fresh=True)[0]
    assert (rule.role, rule.dataset, rule.allow, rule.priority) == ("anonymous", "incidents",
                                                                     True, 10)
    listing = _run(settings, "rules", "list").stdout
    assert re.search(rf"{rule.id}\s+priority 10\s+anonymous\s+incidents\s+allow", listing)
    r = _run(settings, "rules", "add", "--role", "king", "--dataset", "x", "--deny")
    assert r.returncode == 2 and "unknown role 'king'" in r.stderr
    r = _run(settings, "rules", "add", "--role", "viewer", "--dataset", "x")
    assert r.returncode == 2  # --allow or --deny is required
    assert _run(settings, "rules", "remove", str(rule.id)).returncode == 0
    assert rules.load(settings, fresh=True) == []
    r = _run(settings, "rules", "remove", str(rule.id))
    assert r.returncode == 2 and f"no rule {rule.id}" in r.stderr
