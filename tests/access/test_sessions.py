"""Sessions and the first admin on a real system database (SQLite in the test's own dir)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from onemap import sysdb
from onemap.access import accounts, bootstrap, sessions
from onemap.access.authn import authenticate
from onemap.config import Settings

PASSWORD = "Sturdy-Otter-42"


@pytest.fixture()
def settings(sample_settings: Settings, tmp_path) -> Settings:
    """The sample's boundaries with a system database of this test's own."""
    return Settings(data_dir=sample_settings.data_dir, system_db=f"sqlite:///{tmp_path}/s.db")


def _age(settings: Settings, token: str, *, created: timedelta = timedelta(0),
         seen: timedelta = timedelta(0)) -> None:
    """Move a session's times into the past (what waiting would do, without waiting)."""
    now = datetime.now(UTC)
    with sysdb.engine(settings).begin() as conn:
        conn.execute(update(sysdb.SESSIONS).where(sysdb.SESSIONS.c.id == sessions.digest(token))
                     .values(created=(now - created).isoformat(timespec="microseconds"),
                             last_seen=(now - seen).isoformat(timespec="microseconds")))


def test_a_session_acts_as_its_user_with_current_grants(settings: Settings) -> None:
    accounts.add(settings, "ann", roles=["viewer"], region="340181", password=PASSWORD)
    token, session = sessions.start(settings, "ann", "10.0.0.7")
    assert session.principal.user == "ann" and session.principal.region == "340181"
    assert session.principal.via == "session" and session.source == "10.0.0.7"
    with sysdb.engine(settings).connect() as conn:  # the token itself is stored nowhere
        ids = conn.execute(select(sysdb.SESSIONS.c.id)).scalars().all()
    assert ids == [sessions.digest(token)] and token not in ids
    found = authenticate(settings, {"cookie": f"a=b; {sessions.COOKIE}={token}"},
                         session=lambda: sessions.resolve(settings, token).principal)
    assert found.user == "ann"
    accounts.change(settings, "ann", roles=["analyst"], region=None)  # takes effect at once
    again = sessions.resolve(settings, token)
    assert again is not None and again.principal.has("analyst") and again.principal.region is None
    assert sessions.token_of(f"x=1; {sessions.COOKIE}={token}; y=2") == token
    assert sessions.token_of("x=1") is None


def test_csrf_token_is_checked_exactly(settings: Settings) -> None:
    accounts.add(settings, "ann", password=PASSWORD)
    _, session = sessions.start(settings, "ann")
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok(None) and not session.csrf_ok("")
    assert not session.csrf_ok(session.csrf[:-1]) and not session.csrf_ok(session.csrf + "x")


def test_idle_and_absolute_timeouts(settings: Settings) -> None:
    accounts.add(settings, "ann", password=PASSWORD)
    idle, _ = sessions.start(settings, "ann")
    old, _ = sessions.start(settings, "ann")
    fresh, _ = sessions.start(settings, "ann")
    _age(settings, idle, created=timedelta(minutes=40), seen=timedelta(minutes=31))
    _age(settings, old, created=timedelta(hours=12, minutes=1), seen=timedelta(minutes=1))
    _age(settings, fresh, created=timedelta(hours=11), seen=timedelta(minutes=29))
    assert sessions.resolve(settings, idle) is None
    assert sessions.resolve(settings, old) is None
    live = sessions.resolve(settings, fresh)
    assert live is not None
    # a request counts as activity: the idle clock starts again
    assert datetime.now(UTC) - datetime.fromisoformat(live.last_seen) < timedelta(minutes=1)
    assert len(sessions.sessions(settings, "ann")) == 1  # the expired rows are gone
    longer = replace(settings, session_idle_minutes=120)
    kept, _ = sessions.start(longer, "ann")
    _age(longer, kept, seen=timedelta(minutes=60))
    assert sessions.resolve(longer, kept) is not None


def test_purge_forgets_timed_out_sessions(settings: Settings) -> None:
    accounts.add(settings, "ann", password=PASSWORD)
    stale, _ = sessions.start(settings, "ann")
    sessions.start(settings, "ann")
    _age(settings, stale, seen=timedelta(hours=1))
    assert sessions.purge(settings) == 1
    assert len(sessions.sessions(settings)) == 1


def test_logout_disable_and_password_change_end_sessions(settings: Settings) -> None:
    accounts.add(settings, "ann", password=PASSWORD)
    accounts.add(settings, "bob", password=PASSWORD)
    a1, _ = sessions.start(settings, "ann")
    a2, _ = sessions.start(settings, "ann")
    b1, _ = sessions.start(settings, "bob")
    assert sessions.end(settings, a1) and not sessions.end(settings, a1)
    assert sessions.resolve(settings, a1) is None and sessions.resolve(settings, a2) is not None
    accounts.change(settings, "ann", password="Another-Otter-43")
    assert sessions.resolve(settings, a2) is None
    assert sessions.resolve(settings, b1) is not None  # other users keep theirs
    accounts.change(settings, "bob", display="Bob")  # a change of name only: kept
    assert sessions.resolve(settings, b1) is not None
    accounts.change(settings, "bob", disabled=True)
    assert sessions.resolve(settings, b1) is None and sessions.sessions(settings) == []


def test_first_admin_generated_once(settings: Settings) -> None:
    password = bootstrap.first_admin(settings)
    assert password and len(password) >= 20
    accounts.check_password(password, settings, "admin")
    assert accounts.login(settings, "admin", password).roles == ("admin",)
    assert bootstrap.first_admin(settings) is None  # users exist: nothing happens


def test_first_admin_from_the_environment(settings: Settings) -> None:
    with pytest.raises(accounts.AccountError, match="ONEMAP_ADMIN_PASSWORD: password too short"):
        bootstrap.first_admin(replace(settings, admin_password="short"))
    assert accounts.users(settings) == []
    chosen = replace(settings, admin_password="Chosen-Root-Pass-1")
    assert bootstrap.first_admin(chosen) == ""
    assert accounts.login(settings, "admin", "Chosen-Root-Pass-1").name == "admin"
