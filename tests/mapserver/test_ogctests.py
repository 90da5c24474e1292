"""The ``ogctests`` black-box suite (OGC API Features Part 1 Core) against the real server.

ogctests is itself a pytest suite; it runs here in a child pytest process pointed at the live
server (``INSTANCE_URL``), because nesting ``pytest.main`` inside this session would mix the two
suites' fixtures. Its results are read back from a JUnit XML report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import ogctests
import pytest

pytestmark = pytest.mark.server

#: Failures that are the checker's or the standard's business, not ours; each one explained.
EXPECTED_FAILURES: dict[str, str] = {
    # Fetches a JSON schema from schemas.opengis.net: this machine (and an intranet install)
    # has no internet access, so the request cannot resolve. Not a server behaviour.
    "test_features::test_ast18": "needs internet (remote schema)",
    # Attribute tables (e.g. air_hourly) are collections of features with "geometry": null,
    # which GeoJSON (RFC 7946 §3.2) allows; ogctests' bundled schema requires a geometry
    # object. Every spatial collection passes these checks.
    "test_features::test_ast22": "null geometry of attribute tables",
    "test_feature::test_ast28": "null geometry of attribute tables",
}


def test_ogctests_features_core(live_server: str, tmp_path: Path) -> None:
    root = Path(ogctests.__file__).parent
    report = tmp_path / "ogctests.xml"
    env = {**os.environ, "INSTANCE_URL": f"{live_server}/ogc"}
    env.pop("CLIENT_OVERRIDDEN", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(root / "features" / "core"), "--rootdir", str(root),
         "-p", "no:cacheprovider", "-q", "--tb=line", f"--junit-xml={report}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-4000:])
    cases = ET.parse(report).getroot().iter("testcase")
    failed, passed = {}, []
    for case in cases:
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        if problem is not None:
            failed[name] = (problem.get("message") or "")[:300]
        elif case.find("skipped") is None:
            passed.append(name)
    print("ogctests passed:", len(passed), "failed:", failed)
    assert passed, proc.stdout[-2000:]
    unexplained = {k: v for k, v in failed.items() if k not in EXPECTED_FAILURES}
    assert not unexplained, unexplained
