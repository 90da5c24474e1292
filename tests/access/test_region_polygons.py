"""Region limits on polygon layers: a server of its own on a copy of the sample where red lines
and protected areas are internal. A county-bound caller gets the polygons that *intersect* its
county (one crossing the border too) on every route that reads them — OGC items, clusters, the
map export, zonal statistics and the ecology-change process — and anonymous gets none of them.
Expectations come from the GeoPackages and the county polygons (tests/access/truth.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from onemap import catalog
from onemap.access import accounts
from onemap.config import Settings
from tests.access.truth import Layer, county, read_layer
from tests.mapserver.test_exports import _meta
from tests.server import run_server

pytestmark = pytest.mark.server

LAYERS = {"red_lines": "redline_id", "protected_areas": "area_id"}
CODE = "340181"


@pytest.fixture(scope="module")
def copy(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample's layers and rasters with the polygon layers made internal, and accounts."""
    src = sample_settings.data_dir
    dst = tmp_path_factory.mktemp("internal-polygons")
    for part in ("store", "rasters", "cubes"):
        shutil.copytree(src / part, dst / part)
    shutil.copy2(src / "catalog.json", dst / "catalog.json")
    settings = Settings(data_dir=dst)
    for lid in LAYERS:
        entry = catalog.get(lid, settings)
        catalog.put(entry.model_copy(update={"access": "internal"}), settings)
    return settings


@pytest.fixture(scope="module")
def keys(copy: Settings) -> dict[str, dict[str, str]]:
    out = {"anonymous": {}}
    for name, roles, region in (("whole", ["analyst"], None), ("county", ["analyst"], CODE)):
        accounts.add(copy, name, roles=roles, region=region)
        out[name] = {"Authorization": f"Bearer {accounts.create_key(copy, name, 't')[1]}"}
    return out


@pytest.fixture(scope="module")
def server(copy: Settings, keys: dict[str, dict[str, str]]) -> Iterator[str]:
    with run_server(copy.data_dir) as base:
        yield base


@pytest.fixture(scope="module")
def truth(copy: Settings) -> dict[str, tuple[Layer, set[str]]]:
    area = county(Path(copy.data_dir), CODE)
    out = {}
    for lid, key in LAYERS.items():
        layer = read_layer(Path(copy.data_dir), lid, key, "internal")
        out[lid] = (layer, layer.ids(area))
    red, inside = out["red_lines"]
    assert 0 < len(inside) < len(red.frame)
    return out


def expected(truth: dict, lid: str, who: str) -> set[str] | None:
    layer, inside = truth[lid]
    return {"anonymous": None, "whole": layer.ids(), "county": inside}[who]


@pytest.mark.parametrize("who", ["anonymous", "whole", "county"])
def test_every_route_cuts_polygons_by_region(server: str, keys: dict, truth: dict,
                                             who: str) -> None:
    auth = keys[who]
    for lid in LAYERS:
        want = expected(truth, lid, who)
        layer = truth[lid][0]
        minx, miny, maxx, maxy = layer.frame.total_bounds
        box = f"{minx - 0.01},{miny - 0.01},{maxx + 0.01},{maxy + 0.01}"
        items = requests.get(f"{server}/ogc/collections/{lid}/items", headers=auth,
                             params={"f": "json", "limit": 1000, "skipGeometry": "true"},
                             timeout=60)
        zonal = requests.get(f"{server}/raster/ndvi_2025_07/zonal/{lid}", headers=auth,
                             params={"skipGeometry": "true"}, timeout=120)
        clusters = requests.get(f"{server}/api/clusters/{lid}", headers=auth,
                                params={"bbox": box, "zoom": 9}, timeout=60)
        export = requests.get(f"{server}/api/exports/map.html", headers=auth,
                              params={"layers": lid, "bbox": box}, timeout=120)
        if want is None:
            assert [r.status_code for r in (items, zonal, clusters, export)] == [404] * 4
            continue
        assert {str(f["id"]) for f in items.json()["features"]} == want, (who, lid)
        assert items.json()["numberMatched"] == len(want)
        assert {str(f["id"]) for f in zonal.json()["features"]} == want, (who, lid)
        assert clusters.json()["numberMatched"] == len(want), (who, lid)
        assert _meta(export.text)["layers"][0]["count"] == len(want), (who, lid)


def test_ecology_change_ranks_only_the_county_red_lines(server: str, keys: dict,
                                                        truth: dict) -> None:
    inputs = {"layer": "red_lines", "before": "ndvi_2024_07", "after": "ndvi_2025_07"}
    ranked = {}
    for who in ("whole", "county"):
        r = requests.post(f"{server}/ogc/processes/ecology-change/execution",
                          json={"inputs": inputs}, headers=keys[who], timeout=300)
        assert r.status_code == 200, r.text[:300]
        ranked[who] = {str(row["area_id"]) for row in r.json()["ranking"]}
    assert ranked["whole"] == expected(truth, "red_lines", "whole")
    assert ranked["county"] == expected(truth, "red_lines", "county")
    r = requests.post(f"{server}/ogc/processes/ecology-change/execution",
                      json={"inputs": inputs}, timeout=120)
    assert 400 <= r.status_code < 500  # anonymous: the layer is unknown to it
