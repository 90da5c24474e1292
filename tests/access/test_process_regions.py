"""An incident assessment as a county commander names only its county's internal features.

The incident sits near the border of 巢湖市 (340181) and 庐江县 (340124), with rings and a
suspect radius (50 km) that reach both: a commander of the whole territory gets receptors and
suspect sources of both counties; a commander bound to 340181 gets those of 340181 only.
Expectations come from the GeoPackages and the county polygons (tests/access/truth.py)."""

from __future__ import annotations

import pytest
import requests

from onemap.access import accounts
from onemap.config import Settings
from tests.access.truth import county, read_layer
from tests.conftest import Caller

pytestmark = pytest.mark.server

BORDER = {"lon": 117.45, "lat": 31.45}
INPUTS = {**BORDER, "time": "2025-01-24T20:00:00+08:00", "medium": "air", "pollutant": "cl2",
          "amount_kg": 5000, "duration_min": 60, "rings_m": [5000, 20000, 50000],
          "suspects_radius_m": 50000, "wind_speed_m_s": 2.0, "wind_from_deg": 90}


@pytest.fixture(scope="module")
def county_commander(sample_settings: Settings) -> dict[str, str]:
    name = "commander_a"
    if accounts.get(sample_settings, name) is None:
        accounts.add(sample_settings, name, roles=["commander"], region="340181")
    return {"Authorization": f"Bearer {accounts.create_key(sample_settings, name, 't')[1]}"}


def _named(doc: dict) -> tuple[set[str], set[str]]:
    """The receptors (rings table) and suspect sources (ranked table) a result names, and
    every feature id of those roles on its map."""
    tables = doc["tables"]
    receptors = {str(r["id"]) for r in tables["receptors"] if r["role"] == "receptor"}
    suspects = {str(r["source_id"]) for r in tables["suspects"]}
    for f in doc["features"]["features"]:
        role, fid = f["properties"].get("role"), f["properties"].get("id", f.get("id"))
        if role == "receptor":
            assert str(fid) in receptors
        elif role == "suspect":
            assert str(fid) in suspects
    return receptors, suspects


def test_incident_assessment_inputs_follow_the_region(
        live_server: str, sample_settings: Settings, callers: dict[str, Caller],
        county_commander: dict[str, str]) -> None:
    data = sample_settings.data_dir
    a, b = county(data, "340181"), county(data, "340124")
    receptors = read_layer(data, "sensitive_receptors", "receptor_id", "internal")
    sources = read_layer(data, "pollution_sources", "source_id", "internal")
    named = {}
    for who, auth in (("whole", callers["commander"].headers), ("county", county_commander)):
        r = requests.post(f"{live_server}/ogc/processes/incident-assessment/execution",
                          json={"inputs": INPUTS}, headers=auth, timeout=300)
        assert r.status_code == 200, r.text[:300]
        named[who] = _named(r.json())
    (whole_receptors, whole_suspects), (county_receptors, county_suspects) = \
        named["whole"], named["county"]
    # the whole territory's answer reaches into both counties (else this test proves nothing)
    assert whole_receptors & receptors.ids(a) and whole_receptors & receptors.ids(b)
    assert whole_suspects & sources.ids(a) and whole_suspects & sources.ids(b)
    assert county_receptors == whole_receptors & receptors.ids(a)
    assert county_suspects == whole_suspects & sources.ids(a)
