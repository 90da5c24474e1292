"""The HTTP audit: writes, refused credentials, internal reads and the admin API, recorded
with who, from where and how it ended — over real HTTP on the live server, and through the
real middleware stack (Audit around Authenticate) in-process for what no route does yet."""
from __future__ import annotations

import base64
import secrets
import time

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from onemap import catalog, sysdb
from onemap.access import audit, audit_archive, audit_queue, policy
from onemap.config import Settings
from onemap.mapserver.auditing import Audit, is_write, name_write
from onemap.mapserver.auth import Authenticate, principal_of


def _newest(settings: Settings, **filters) -> dict:
    found = audit.query(settings, limit=1, **filters)
    assert found, f"no audit record for {filters}"
    return found[0]


def _until(settings: Settings, timeout: float = 15, **filters) -> list[dict]:
    """Records queued by the background writer are committed within a fraction of a second;
    poll for them (a bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        found = audit.query(settings, **filters)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_write_is_recorded_before_its_answer(live_server, callers, sample_settings) -> None:
    analyst = callers["analyst"]
    r = requests.delete(f"{live_server}/api/rasters/no_such_raster", headers=analyst.headers,
                        timeout=30)
    assert r.status_code == 404
    rec = _newest(sample_settings, user="analyst", action="remove")  # no wait: committed
    assert (rec["target"], rec["method"], rec["path"], rec["status"], rec["outcome"]) == (
        "no_such_raster", "DELETE", "/api/rasters/no_such_raster", 404, "failed")
    assert (rec["via"], rec["key"], rec["address"]) == ("key", "tests", "127.0.0.1")
    assert "analyst" in rec["roles"].split(",") and "viewer" in rec["roles"].split(",")

    commander = callers["commander"]
    r = requests.delete(f"{live_server}/ogc/jobs/0123abcd", auth=commander.auth, timeout=30)
    assert r.status_code >= 400
    rec = _newest(sample_settings, user="commander", action="job_cancel")
    assert rec["target"] == "0123abcd" and rec["via"] == "basic" and rec["outcome"] != "ok"
    assert audit.verify(sample_settings).ok


def test_address_behind_a_trusted_proxy(live_server, callers, sample_settings) -> None:
    """A reverse proxy on the server machine (uvicorn trusts 127.0.0.1) passes the client's
    address in X-Forwarded-For: that address is recorded, not the proxy's."""
    r = requests.delete(f"{live_server}/api/rasters/behind_proxy", timeout=30,
                        headers={**callers["analyst_a"].headers,
                                 "X-Forwarded-For": "10.20.30.40"})
    assert r.status_code == 404
    rec = _newest(sample_settings, user="analyst_a", action="remove")
    assert rec["target"] == "behind_proxy" and rec["address"] == "10.20.30.40"
    assert rec["region"] == "340181"


def test_refused_credentials_are_failed_logins(live_server, callers, sample_settings) -> None:
    r = requests.get(f"{live_server}/ogc/collections",
                     headers={"Authorization": "Bearer om_abcdefabcdef_" + "x" * 43},
                     timeout=30)
    assert r.status_code == 401 and r.json()["code"] == "Unauthenticated"
    rec = _newest(sample_settings, action="login_failed")
    assert (rec["user"], rec["via"], rec["status"], rec["outcome"]) == ("", "key", 401,
                                                                        "denied")
    assert audit.readable(rec)["detail"]["reason"] == "unknown API key"
    assert rec["path"] == "/ogc/collections" and rec["address"] == "127.0.0.1"

    wrong = base64.b64encode(f"viewer:{callers['analyst'].key}".encode()).decode()
    r = requests.get(f"{live_server}/api/catalog", headers={"Authorization": f"Basic {wrong}"},
                     timeout=30)
    assert r.status_code == 401
    rec = _newest(sample_settings, action="login_failed", user="viewer")
    assert rec["via"] == "basic"
    assert audit.readable(rec)["detail"]["reason"] == "API key of another user"


def test_reads_are_not_recorded_but_posted_searches_are_reads(live_server, callers,
                                                              sample_settings) -> None:
    before = audit.head(sample_settings)["last_id"]
    r = requests.get(f"{live_server}/ogc/collections/air_stations/items?limit=2",
                     headers=callers["viewer"].headers, timeout=30)
    assert r.status_code == 200
    r = requests.post(f"{live_server}/stac/search", json={"limit": 1}, timeout=30)
    assert r.status_code == 200
    time.sleep(0.5)  # the background writer's interval: anything queued would be in by now
    assert audit.head(sample_settings)["last_id"] == before


def test_internal_read_over_http(live_server, callers, sample_settings) -> None:
    since = sysdb.now()  # viewer_a reads internal layers in other tests too
    r = requests.get(f"{live_server}/ogc/collections/pollution_sources/items?limit=3",
                     headers=callers["viewer_a"].headers, timeout=30)
    assert r.status_code == 200
    found = _until(sample_settings, user="viewer_a", action="read_internal", since=since,
                   timeout=5)
    assert found and found[0]["target"] == "pollution_sources"
    assert found[0]["region"] == "340181" and found[0]["status"] == 200


def test_admin_api_is_for_admins_only(live_server, callers, sample_settings) -> None:
    url = f"{live_server}/api/admin/audit"
    r = requests.get(url, timeout=30)
    assert r.status_code == 401 and r.json()["code"] == "Unauthenticated"
    r = requests.get(url, headers=callers["viewer"].headers, timeout=30)
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"
    r = requests.get(url, headers=callers["manager"].headers, timeout=30)
    assert r.status_code == 403
    refused = _newest(sample_settings, action="audit_read", user="manager")
    assert refused["outcome"] == "denied" and refused["status"] == 403

    requests.delete(f"{live_server}/api/rasters/gone_1", headers=callers["analyst"].headers,
                    timeout=30)
    admin = callers["admin"].headers
    r = requests.get(url, params={"user": "analyst", "action": "remove"}, headers=admin,
                     timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["records"] and all(x["user"] == "analyst" and x["action"] == "remove"
                                   for x in body["records"])
    assert body["records"][0]["target"] == "gone_1"
    assert audit.verify(sample_settings, expect=body["head"]).ok  # (then this read was added)
    page1 = requests.get(url, params={"limit": 2}, headers=admin, timeout=30).json()
    assert len(page1["records"]) == 2 and page1["next"]
    page2 = requests.get(page1["next"], headers=admin, timeout=30).json()
    assert page2["records"][0]["id"] < page1["records"][-1]["id"]
    for bad in ({"since": "last tuesday"}, {"limit": 0}, {"outcome": "maybe"},
                {"user": "a\x00b"}, {"before": 2**70}, {"until": "0001-01-01T00:00+14:00"}):
        r = requests.get(url, params=bad, headers=admin, timeout=30)
        assert r.status_code in (400, 422) and {"code", "detail"} <= r.json().keys()
    assert _newest(sample_settings, action="audit_read", user="admin")["outcome"] == "failed"


def test_a_created_account_is_named(live_server, callers, sample_settings) -> None:
    """``POST /api/admin/users`` has no name in its path: the record names the account (as
    the command line's does), also when the server refuses it."""
    name = f"named{secrets.token_hex(3)}"
    for expected in (201, 409):
        r = requests.post(f"{live_server}/api/admin/users", json={"name": name},
                          headers=callers["admin"].headers, timeout=30)
        assert r.status_code == expected
        rec = _newest(sample_settings, action="user_create", user="admin")
        assert (rec["target"], rec["status"]) == (name, expected)


def test_route_names() -> None:
    assert name_write("POST", "/ogc/processes/ecology-change/execution") == (
        "process_run", "ecology-change")
    assert name_write("DELETE", "/api/jobs/abc") == ("job_cancel", "abc")
    assert name_write("POST", "/api/rasters") == ("upload", "")
    assert name_write("POST", "/api/auth/login") == ("login", "")
    assert name_write("DELETE", "/api/admin/users/ann/keys/k1") == ("key_revoke", "k1")
    assert name_write("POST", "/api/admin/rules") == ("rule_change", "")
    assert name_write("PATCH", "/api/something/new") == ("write", "/api/something/new")
    assert not is_write("POST", "/stac/search") and not is_write("GET", "/api/rasters")
    assert not is_write("POST", "/raster/ndvi/feature.png")
    # the app's callbacks change nothing here: the API calls they make are recorded there
    assert not is_write("POST", "/_dash-update-component")
    assert not is_write("POST", "/admin/_dash-update-component")
    assert is_write("POST", "/api/layers")
    assert name_write("DELETE", "/api/layers/x") == ("remove", "x")
    assert is_write("POST", "/ogc/processes/aqi-daily/execution")


@pytest.fixture()
def own_settings(sample_settings: Settings, tmp_path) -> Settings:
    return Settings(data_dir=sample_settings.data_dir, system_db=f"sqlite:///{tmp_path}/s.db")


def _stack(settings: Settings) -> TestClient:
    """The real Audit and Authenticate around routes that do what enforced routes will: read
    through the policy (in a worker thread, as sync routes run), ask for a record, fail."""
    def read(request: Request) -> JSONResponse:
        for name in request.query_params["ids"].split(","):
            policy.read(principal_of(request), catalog.get(name, settings), settings)
        return JSONResponse({"ok": True})

    def login(request: Request) -> JSONResponse:
        request.state.audit = {"user": "ann", "via": "session", "outcome": "failed",
                               "detail": {"reason": "wrong password"}}
        return JSONResponse({"code": "LoginFailed", "detail": "wrong"}, 401)

    def boom(request: Request) -> JSONResponse:
        raise RuntimeError("a bug")

    def upload(request: Request) -> JSONResponse:
        request.state.audit = {"target": "ndvi_new", "detail": {"nodata": float("nan")}}
        return JSONResponse({"id": "j1"}, 202, headers={"Location": "/api/jobs/j1"})

    def odd(request: Request) -> JSONResponse:
        request.state.audit = {"outcome": "perhaps"}
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/read", read), Route("/api/auth/login", login,
                                                        methods=["POST"]),
                            Route("/api/layers", boom, methods=["POST"]),
                            Route("/api/rasters", upload, methods=["POST"]),
                            Route("/odd", odd)])
    return TestClient(Audit(Authenticate(app, settings), settings),
                      raise_server_exceptions=False)


def test_internal_reads_one_record_per_request(own_settings, callers) -> None:
    from onemap.access import accounts

    accounts.add(own_settings, "vera", roles=["viewer"], region="340181")
    _, key = accounts.create_key(own_settings, "vera", "QGIS")
    client = _stack(own_settings)
    ids = "pollution_sources,air_stations,incidents,pollution_sources"
    r = client.get(f"/read?ids={ids}", headers={"X-API-Key": key})
    assert r.status_code == 200
    r = client.get("/read?ids=air_stations", headers={"X-API-Key": key})  # public: no record
    assert r.status_code == 200
    audit_queue.writer(own_settings).flush()
    recs = audit.query(own_settings)
    assert len(recs) == 1
    rec = audit.readable(recs[0])
    assert (rec["action"], rec["user"], rec["region"], rec["key"]) == (
        "read_internal", "vera", "340181", "QGIS")
    assert rec["target"] == "incidents,pollution_sources"
    assert rec["detail"]["datasets"] == ["incidents", "pollution_sources"]
    assert rec["detail"]["query"].startswith("ids=") and rec["path"] == "/read"


def test_hooked_login_and_crashing_write(own_settings) -> None:
    client = _stack(own_settings)
    assert client.post("/api/auth/login", json={}).status_code == 401
    rec = audit.readable(audit.query(own_settings, limit=1)[0])
    assert (rec["action"], rec["user"], rec["via"], rec["outcome"]) == (
        "login_failed", "ann", "session", "failed")
    assert rec["detail"]["reason"] == "wrong password"
    assert client.post("/api/layers", json={}).status_code == 500
    rec = audit.query(own_settings, limit=1)[0]
    assert (rec["action"], rec["status"], rec["outcome"]) == ("import", 500, "failed")
    assert audit.verify(own_settings).count == 2


def test_server_start_rotates_old_records(tmp_path) -> None:
    """With ONEMAP_AUDIT_RETENTION_DAYS, a starting server archives what is older."""
    from datetime import UTC, datetime, timedelta

    from onemap.access.principal import SYSTEM
    from tests.server import run_server

    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    old = (datetime.now(UTC) - timedelta(days=45)).isoformat(timespec="microseconds")
    kept = audit.append(settings, [audit.event(SYSTEM, "import", time=old),
                                   audit.event(SYSTEM, "import")])
    with run_server(data, ONEMAP_AUDIT_RETENTION_DAYS="30"):
        archives = list(settings.audit_dir.glob("audit-*.jsonl"))
    assert len(archives) == 1
    verdict = audit_archive.verify_archive(archives[0])
    assert verdict.ok and verdict.last_hash == kept[0]["hash"]
    top = audit.head(settings)
    assert (top["anchor_id"], top["anchor_hash"]) == (1, kept[0]["hash"])
    assert audit.verify(settings).ok



def test_route_hooks_and_results(own_settings) -> None:
    """A route's hook names the target; the answer's Location is the write's result; a NaN in
    a hook's detail is stored as null; a hook the audit cannot use still leaves a record."""
    client = _stack(own_settings)
    assert client.post("/api/rasters", content=b"x").status_code == 202
    rec = audit.readable(audit.query(own_settings, limit=1)[0])
    assert (rec["action"], rec["target"], rec["status"]) == ("upload", "ndvi_new", 202)
    assert rec["detail"] == {"location": "/api/jobs/j1", "nodata": None}
    assert client.get("/odd").status_code == 200
    rec = audit.readable(audit.query(own_settings, limit=1)[0])
    assert rec["path"] == "/odd" and "perhaps" in rec["detail"]["audit_error"]
    assert audit.verify(own_settings).count == 2
