"""The system database on PostgreSQL: the same accounts, keys, rules and jobs code as on
SQLite, with only the URL changed (``ONEMAP_SYSTEM_DB``)."""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from onemap import catalog, sysdb
from onemap.access import accounts, policy, rules
from onemap.access.authn import authenticate
from onemap.config import Settings
from tests.postgres import running_postgres


@pytest.fixture(scope="module")
def pg_settings(sample_settings: Settings) -> Iterator[Settings]:
    with running_postgres() as url:
        yield Settings(data_dir=sample_settings.data_dir, system_db=url)


def test_tables_are_made_on_postgres(pg_settings: Settings) -> None:
    with sysdb.engine(pg_settings).connect() as conn:
        assert conn.dialect.name == "postgresql"
        names = set(conn.execute(text(
            "select tablename from pg_tables where schemaname = 'public'")).scalars())
    assert {"jobs", "rules", "users", "api_keys", "oidc_pending"} <= names


def test_accounts_keys_and_rules_on_postgres(pg_settings: Settings) -> None:
    s = pg_settings
    accounts.add(s, "pg_officer", roles=["viewer"], region="340124", password="Lu-Jiang-2026!")
    assert accounts.login(s, "pg_officer", "Lu-Jiang-2026!").region == "340124"
    for _ in range(s.lockout_attempts):
        with pytest.raises(accounts.LoginFailed):
            accounts.login(s, "pg_officer", "nope")
    with pytest.raises(accounts.LoginFailed, match="password"):
        accounts.login(s, "pg_officer", "Lu-Jiang-2026!")
    _, key = accounts.create_key(s, "pg_officer", "ogr2ogr on the GIS PC")
    principal = authenticate(s, {"authorization": f"Bearer {key}"})
    assert principal.user == "pg_officer" and principal.region == "340124"
    sources = catalog.load(s)["pollution_sources"].model_copy(update={"access": "internal"})
    assert policy.limits(principal, sources, s).region == "340124"
    rule = rules.add(s, role="viewer", dataset="pollution_*", allow=False, by="test")
    assert policy.limits(principal, sources, s) is None
    rules.remove(s, rule.id)
    assert policy.limits(principal, sources, s) is not None


def test_concurrent_failures_are_all_counted(pg_settings: Settings) -> None:
    """Ten wrong passwords at once from ten threads: the lockout sees every one."""
    s = pg_settings
    accounts.add(s, "pg_target", roles=["viewer"], password="Target-Pass-77")
    attempts = s.lockout_attempts * 2

    def wrong(_i: int) -> str:
        try:
            accounts.login(s, "pg_target", "wrong")
        except accounts.LoginFailed as exc:
            return exc.reason
        return "accepted"

    with ThreadPoolExecutor(8) as pool:
        reasons = list(pool.map(wrong, range(attempts)))
    assert "accepted" not in reasons
    assert any("locked" in r for r in reasons), reasons
