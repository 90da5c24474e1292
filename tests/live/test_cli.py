"""``onemap hj212 password | devices | rules`` as a bureau's operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from onemap.config import Settings
from onemap.live import rules
from onemap.live.registry import Registry


def _run(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "onemap", "hj212", *args], input=stdin,
                          env=env, capture_output=True, text=True, timeout=120)


def test_password_devices_and_rules(live_settings: Settings) -> None:
    mn = next(iter(Registry(live_settings).devices()))
    done = _run(live_settings, "password", mn, "--stdin", stdin="field-7x\n")
    assert done.returncode == 0, done.stderr
    registry = Registry(live_settings)
    assert registry.password_ok(mn, "field-7x") and not registry.password_ok(mn, "123456")
    other = next(m for m in registry.devices() if m != mn)
    assert registry.password_ok(other, "123456")  # the others keep the default
    bad = _run(live_settings, "password", mn, "--stdin", stdin="a;b\n")
    assert bad.returncode == 2 and "without ; & , or =" in bad.stderr
    unknown = _run(live_settings, "password", "NOSUCHDEVICE", "--stdin", stdin="x\n")
    assert unknown.returncode == 2 and "no outlet carries" in unknown.stderr
    assert _run(live_settings, "password", mn, "--default").returncode == 0
    assert Registry(live_settings).password_ok(mn, "123456")
    audit = subprocess.run([sys.executable, "-m", "onemap", "audit", "--action",
                            "device_change", "--json"], capture_output=True, text=True,
                           env={**os.environ, "ONEMAP_DATA_DIR": str(live_settings.data_dir)},
                           timeout=120)
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    assert {(r["target"], r["outcome"]) for r in records} >= {(mn, "ok"), ("NOSUCHDEVICE",
                                                                            "failed")}

    listed = _run(live_settings, "devices")
    assert listed.returncode == 0 and "devices" in listed.stderr  # before the first start
    (live_settings.data_dir / rules.FILE).write_text(json.dumps(
        {"continuous_hours": 4, "pollutants": {"w01001": {"rules": ["exceedance"]}}}))
    shown = json.loads(_run(live_settings, "rules").stdout)
    assert shown["continuous_hours"] == 4 and shown["offline_minutes"] == 10
    (live_settings.data_dir / rules.FILE).write_text(json.dumps(
        {"pollutants": {"w01001": {"rules": ["exceed"]}}}))
    wrong = _run(live_settings, "rules")
    assert wrong.returncode == 2 and "unknown rules exceed" in wrong.stderr
