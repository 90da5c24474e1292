"""Accounts, keys, rules and the policy's defaults on a real system database and catalogue."""
from __future__ import annotations

import base64

import pytest

from onemap import catalog
from onemap.access import accounts, policy, regions, rules
from onemap.access.authn import BadCredentials, authenticate
from onemap.access.principal import ANONYMOUS, make
from onemap.config import Settings


@pytest.fixture()
def settings(sample_settings: Settings, tmp_path) -> Settings:
    """The sample's catalogue and boundaries with a system database of this test's own."""
    return Settings(data_dir=sample_settings.data_dir, system_db=f"sqlite:///{tmp_path}/s.db")


def test_password_policy_and_lockout(settings: Settings) -> None:
    with pytest.raises(accounts.AccountError, match="too short"):
        accounts.add(settings, "ann", password="Ab1!")
    with pytest.raises(accounts.AccountError, match="too simple"):
        accounts.add(settings, "ann", password="alllowercaseletters")
    accounts.add(settings, "ann", roles=["viewer"], password="Correct-Horse-9")
    assert accounts.login(settings, "ann", "Correct-Horse-9").name == "ann"
    for _ in range(settings.lockout_attempts):
        with pytest.raises(accounts.LoginFailed):
            accounts.login(settings, "ann", "wrong")
    with pytest.raises(accounts.LoginFailed) as locked:
        accounts.login(settings, "ann", "Correct-Horse-9")
    assert "locked" in locked.value.reason and str(locked.value) == "wrong user name or password"


def test_keys_by_every_header(settings: Settings) -> None:
    accounts.add(settings, "gis", roles=["analyst"], region="340181")
    rec, key = accounts.create_key(settings, "gis", "QGIS desktop")
    basic = base64.b64encode(f"gis:{key}".encode()).decode()
    for headers in ({"authorization": f"Bearer {key}"}, {"x-api-key": key},
                    {"authorization": f"Basic {basic}"}):
        p = authenticate(settings, headers)
        assert (p.user, p.region, p.key) == ("gis", "340181", "QGIS desktop")
        assert p.has("viewer") and p.has("analyst") and not p.has("admin")
    assert authenticate(settings, {}) is ANONYMOUS
    other = base64.b64encode(f"ann:{key}".encode()).decode()
    for headers in ({"authorization": f"Basic {other}"}, {"authorization": "Bearer om_x"},
                    {"authorization": "Digest abc"}):
        with pytest.raises(BadCredentials):
            authenticate(settings, headers)
    accounts.revoke_key(settings, rec.id)
    with pytest.raises(BadCredentials) as revoked:
        authenticate(settings, {"x-api-key": key})
    assert "revoked" in revoked.value.reason
    assert all(key not in str(v) for k in accounts.keys(settings) for v in vars(k).values())


def test_a_change_made_by_another_process_is_seen_within_the_trust_time(
        settings: Settings) -> None:
    """Checked keys are trusted for KEY_TRUST_S: a change in this process is seen at once
    (above), one written to the database by another server process within that time."""
    import time

    from sqlalchemy import update

    from onemap import sysdb

    accounts.add(settings, "tiles", roles=["viewer"])
    rec, key = accounts.create_key(settings, "tiles", "tiles")
    for disable in (False, True):
        if disable:  # the key again (it was revoked), then the account disabled elsewhere
            rec, key = accounts.create_key(settings, "tiles", "tiles 2")
        assert authenticate(settings, {"x-api-key": key}).user == "tiles"
        with sysdb.engine(settings).begin() as conn:  # as another process would
            if disable:
                conn.execute(update(sysdb.USERS).where(sysdb.USERS.c.name == "tiles")
                             .values(disabled=True))
            else:
                conn.execute(update(sysdb.KEYS).where(sysdb.KEYS.c.id == rec.id)
                             .values(revoked=sysdb.now()))
        deadline = time.monotonic() + accounts.KEY_TRUST_S + 1.0
        while True:
            try:
                authenticate(settings, {"x-api-key": key})
            except BadCredentials as exc:
                assert ("disabled" if disable else "revoked") in exc.reason
                break
            assert time.monotonic() < deadline, "a revoked key still accepted"
            time.sleep(0.1)


def test_policy_defaults_and_rules(settings: Settings) -> None:
    entries = catalog.load(settings)
    public = entries["air_stations"]
    internal = entries["pollution_sources"].model_copy(update={"access": "internal"})
    table = entries["air_hourly"].model_copy(update={"access": "internal"})
    viewer = make("v", {"viewer"})
    county = make("c", {"viewer"}, region="340181")
    assert policy.limits(ANONYMOUS, public, settings) is policy.WHOLE
    assert policy.limits(ANONYMOUS, internal, settings) is None
    assert policy.limits(viewer, internal, settings) is policy.WHOLE
    lim = policy.limits(county, internal, settings)
    assert lim.region == "340181" and lim.area is not None and lim.area.area > 0
    assert policy.limits(county, table, settings) is None
    with pytest.raises(policy.Hidden):
        policy.require(ANONYMOUS, "remove_raster", settings, internal)
    with pytest.raises(policy.Unauthenticated):
        policy.require(ANONYMOUS, "upload_raster", settings)
    with pytest.raises(policy.Forbidden):
        policy.require(viewer, "upload_raster", settings)
    rules.add(settings, role="anonymous", dataset="pollution_*", allow=True)
    assert policy.limits(ANONYMOUS, internal, settings) is policy.WHOLE
    rules.add(settings, role="viewer", dataset="air_*", allow=False, priority=10)
    assert policy.limits(viewer, public, settings) is None
    assert regions.within("340181", "340100") and not regions.within("341523", "340100")
