"""GIS clients with an API key (issue 12): GDAL's OAPIF driver (``ogrinfo``, the reader QGIS
uses) and OWSLib list and read internal layers with a key — Basic user + key or a Bearer
header — see only their county's features when the key's user is county-bound, and see no
internal layer at all without credentials. Counts are checked against the GeoPackage and the
county polygons, not against the server."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from owslib.ogcapi.features import Features
from owslib.util import Authentication

from onemap.config import Settings
from onemap.data.generate import INTERNAL_LAYERS
from tests.access.truth import county, read_layer
from tests.conftest import Caller

pytestmark = pytest.mark.server

INTERNAL = set(INTERNAL_LAYERS)  # what the sample marks internal


def ogrinfo(*args: str, ok: bool = True, **env: str) -> str:
    """ogrinfo's output; ``ok``: it must succeed (else: it must fail)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GDAL_HTTP")}
    out = subprocess.run(["ogrinfo", "-ro", *args], env={**clean, **env}, capture_output=True,
                         text=True, timeout=300)
    assert (out.returncode == 0) == ok, out.stdout[-500:] + out.stderr[-500:]
    return out.stdout + out.stderr


def layers_of(listing: str) -> set[str]:
    return set(re.findall(r"^\d+: (\w+)", listing, re.M))


@pytest.fixture(scope="module")
def county_a_sources(sample_settings: Settings) -> int:
    sources = read_layer(sample_settings.data_dir, "pollution_sources", "source_id", "internal")
    return len(sources.ids(county(sample_settings.data_dir, "340181")))


def test_ogrinfo_with_a_key(live_server: str, callers: dict[str, Caller],
                            county_a_sources: int) -> None:
    url = f"OAPIF:{live_server}/ogc"
    anonymous = layers_of(ogrinfo("-q", url))
    assert "air_stations" in anonymous and not anonymous & INTERNAL
    viewer, county_viewer = callers["viewer"], callers["viewer_a"]
    basic = {"GDAL_HTTP_USERPWD": f"{viewer.user}:{viewer.key}"}
    bearer = {"GDAL_HTTP_HEADERS": f"Authorization: Bearer {county_viewer.key}"}
    for env in (basic, bearer):
        assert layers_of(ogrinfo("-q", url, **env)) == anonymous | INTERNAL
    whole = ogrinfo("-so", url, "pollution_sources", **basic)
    assert re.search(r"Feature Count: 3000\b", whole), whole[-500:]
    for env in (bearer, {"GDAL_HTTP_USERPWD": f"{county_viewer.user}:{county_viewer.key}"}):
        summary = ogrinfo("-so", url, "pollution_sources", **env)
        assert re.search(rf"Feature Count: {county_a_sources}\b", summary), summary[-500:]
        every = ogrinfo("-al", "-q", url, "pollution_sources", **env)
        assert every.count("OGRFeature(pollution_sources)") == county_a_sources
    # without a key the layer is not there
    missing = ogrinfo("-al", "-q", url, "pollution_sources", ok=False)
    assert "Couldn't fetch requested layer pollution_sources" in missing


def test_owslib_with_a_key(live_server: str, callers: dict[str, Caller],
                           county_a_sources: int) -> None:
    url = f"{live_server}/ogc"
    anonymous = Features(url, timeout=60)
    assert not set(anonymous.feature_collections()) & INTERNAL
    with pytest.raises(RuntimeError, match="Collection not found"):  # OWSLib: the 404's body
        anonymous.collection_items("pollution_sources", limit=1)
    a = callers["viewer_a"]
    for api in (Features(url, timeout=60, auth=Authentication(a.user, a.key)),
                Features(url, timeout=60, headers=dict(a.headers))):
        assert INTERNAL <= set(api.feature_collections())
        items = api.collection_items("pollution_sources", limit=10000)
        assert items["numberMatched"] == len(items["features"]) == county_a_sources
