"""``onemap audit`` as an admin runs it on the server: filters, verify's exit codes, rotation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onemap import sysdb
from onemap.access import audit
from onemap.access.principal import ANONYMOUS, make
from onemap.config import Settings


def _run(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "ONEMAP_DATA_DIR": str(data), **env}
    full.pop("ONEMAP_SYSTEM_DB", None)
    return subprocess.run([sys.executable, "-m", "onemap", "audit", *args], env=full,
                          capture_output=True, text=True, timeout=120)


def _fill(data: Path) -> tuple[Settings, list[dict]]:
    settings = Settings(data_dir=data)
    vera = make("vera", {"viewer"}, "340181", via="key", key="QGIS")
    old = (datetime.now(UTC) - timedelta(days=60)).isoformat(timespec="microseconds")
    recs = audit.append(settings, [
        audit.event(vera, "read_internal", target="pollution_sources", method="GET",
                    path="/ogc/collections/pollution_sources/items", status=200,
                    address="10.1.2.3", time=old),
        audit.event(ANONYMOUS, "login_failed", user="mallory", via="session", method="POST",
                    path="/api/auth/login", status=401, address="10.9.9.9",
                    detail={"reason": "wrong password"}),
        audit.event(vera, "upload", target="ndvi_2025", method="POST", path="/api/rasters",
                    status=202, address="10.1.2.3"),
    ])
    return settings, recs


def test_list_with_filters(tmp_path: Path) -> None:
    _fill(tmp_path)
    r = _run(tmp_path, "--user", "vera", "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["action"] for x in lines] == ["upload", "read_internal"]
    assert lines[1]["detail"] == {} and lines[1]["roles"] == ["viewer"]
    r = _run(tmp_path, "--outcome", "denied")
    assert r.returncode == 0 and "mallory" in r.stdout and "10.9.9.9" in r.stdout
    assert "vera" not in r.stdout
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    r = _run(tmp_path, "--since", since, "--action", "upload", "--limit", "5")
    assert r.returncode == 0 and "ndvi_2025" in r.stdout and len(r.stdout.splitlines()) == 1
    r = _run(tmp_path, "--since", "last week")
    assert r.returncode == 2 and "invalid time" in r.stderr


def test_verify_exit_codes(tmp_path: Path) -> None:
    settings, recs = _fill(tmp_path)
    r = _run(tmp_path, "verify")
    assert r.returncode == 0, r.stderr
    assert "3 records verify" in r.stdout and recs[-1]["hash"] in r.stdout
    assert _run(tmp_path, "verify", "--expect", recs[1]["hash"]).returncode == 0
    assert _run(tmp_path, "verify", "--expect", "ab" * 32).returncode == 1
    with sysdb.engine(settings).begin() as conn:
        conn.exec_driver_sql("UPDATE audit SET address = '127.0.0.1' WHERE id = 2")
    r = _run(tmp_path, "verify")
    assert r.returncode == 1 and "BROKEN at record 2" in r.stderr


def test_rotate_then_everything_verifies(tmp_path: Path) -> None:
    settings, recs = _fill(tmp_path)
    r = _run(tmp_path, "rotate")
    assert r.returncode == 2 and "ONEMAP_AUDIT_RETENTION_DAYS" in r.stderr
    r = _run(tmp_path, "rotate", ONEMAP_AUDIT_RETENTION_DAYS="30")
    assert r.returncode == 0, r.stderr
    assert "archived 1 audit records" in r.stdout
    archive = next(settings.audit_dir.glob("audit-*.jsonl"))
    r = _run(tmp_path, "verify", "--archive", str(archive))
    assert r.returncode == 0 and "1 records verify" in r.stdout and recs[0]["hash"] in r.stdout
    r = _run(tmp_path, "verify")
    assert r.returncode == 0 and "3 records verify" in r.stdout  # two left and the rotation's
    r = _run(tmp_path, "--action", "audit_rotate", "--json")
    rotation = json.loads(r.stdout)
    assert rotation["user"] == "system" and rotation["via"] == "cli"
    assert rotation["detail"]["archived"] == 1 and rotation["target"] == str(archive)


def test_cli_changes_are_recorded(tmp_path: Path) -> None:
    """A CLI import and a failed removal are in the trail as the system, with the command;
    a listing is not."""
    data = tmp_path / "data"
    csv = tmp_path / "stations.csv"
    csv.write_text("站点编码,名称,站点类型,经度,纬度\n1001A,测试站,国控,117.2,31.8\n",
                   encoding="utf-8")
    env = {**os.environ, "ONEMAP_DATA_DIR": str(data)}
    env.pop("ONEMAP_SYSTEM_DB", None)

    def onemap(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "onemap", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    assert onemap("import", str(csv), "--family", "air_stations").returncode == 0
    assert onemap("remove", "no_such_layer").returncode == 2
    assert onemap("layers").returncode == 0
    recs = [audit.readable(r) for r in audit.query(Settings(data_dir=data))]
    assert [(r["action"], r["target"], r["outcome"]) for r in recs] == [
        ("remove", "no_such_layer", "failed"), ("import", "air_stations", "ok")]
    assert all(r["user"] == "system" and r["via"] == "cli" for r in recs)
    assert recs[0]["detail"]["command"] == "remove" and "no_such_layer" in \
        recs[0]["detail"]["error"]
    assert _run(data, "verify").returncode == 0
