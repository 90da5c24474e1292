"""The limits → filters helper (onemap/access/scope.py) on the sample's real GeoPackages:
the fid filter and the in-memory mask agree with geopandas on the county polygons, in any CRS,
and follow a re-written file."""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pytest

from onemap import catalog
from onemap.access import policy, scope
from onemap.access.principal import ANONYMOUS, make
from onemap.config import Settings
from tests.access.truth import county


@pytest.fixture(scope="module")
def settings(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample's catalogue and boundaries with a system database of this module's own."""
    db = tmp_path_factory.mktemp("scope") / "s.db"
    return Settings(data_dir=sample_settings.data_dir, system_db=f"sqlite:///{db}")


def test_fids_and_mask_are_the_county_features(settings: Settings) -> None:
    county_viewer = make("c", {"viewer"}, region="340124")
    limits = scope.limits_of("pollution_sources", settings, county_viewer)
    path = catalog.get("pollution_sources", settings).file(settings)
    frame = gpd.read_file(path, fid_as_index=True)
    truth = set(frame.index[frame.intersects(county(settings.data_dir, "340124"))])
    fids = scope.visible_fids(path, "pollution_sources", limits)
    assert set(fids.tolist()) == truth and 0 < len(truth) < len(frame)
    assert scope.ids_sql('"fid"', fids).startswith('("fid" IN (')
    # the mask agrees, also on a frame in a projected CRS
    projected = frame.to_crs(32650)
    assert set(scope.mask(projected, limits).index) == truth
    # whole limits filter nothing; an empty area shows nothing
    assert scope.visible_fids(path, "pollution_sources", policy.WHOLE) is None
    assert scope.ids_sql('"fid"', None) is None
    nowhere = policy.Limits(region="349999", area=None)
    assert len(scope.visible_fids(path, "pollution_sources", nowhere)) == 0
    assert scope.ids_sql('"fid"', np.empty(0, dtype=np.int64)) == "(1=0)"
    assert scope.mask(frame, nowhere).empty
    # attribute-only frames have nothing in an area
    assert scope.mask(frame.drop(columns="geometry").copy(), limits).empty


def test_hidden_and_unknown_layers(settings: Settings) -> None:
    with pytest.raises(policy.Hidden):
        scope.limits_of("pollution_sources", settings, ANONYMOUS)
    with pytest.raises(policy.Hidden):
        scope.read("incidents", settings, ANONYMOUS)
    with pytest.raises(catalog.UnknownDataset):
        scope.limits_of("no_such_layer", settings, ANONYMOUS)
    assert len(scope.read("air_stations", settings, ANONYMOUS)) == \
        catalog.get("air_stations", settings).feature_count


def test_fids_follow_a_rewritten_file(settings: Settings, tmp_path) -> None:  # noqa: ANN001
    """The cache is keyed on the file's version: a replaced layer is filtered anew."""
    src = catalog.get("pollution_sources", settings).file(settings)
    path = tmp_path / "copy.gpkg"
    shutil.copy2(src, path)
    limits = scope.limits_of("pollution_sources", settings, make("c", {"viewer"},
                                                                  region="340181"))
    before = scope.visible_fids(path, "pollution_sources", limits)
    frame = gpd.read_file(path, fid_as_index=True)
    kept = frame[~frame.index.isin(before[:5])]
    tmp = tmp_path / "new.gpkg"
    kept.to_file(tmp, layer="pollution_sources", driver="GPKG")
    tmp.replace(path)  # write then rename, as the store does
    after = scope.visible_fids(path, "pollution_sources", limits)
    assert len(after) == len(before) - 5


def test_extent_is_that_of_the_visible_features(settings: Settings) -> None:
    """A county officer is told the count and box of the county's features, never the whole
    layer's (which would say how much lies elsewhere)."""
    entry = catalog.get("pollution_sources", settings)
    frame = gpd.read_file(entry.file(settings))
    inside = frame[frame.intersects(county(settings.data_dir, "340124"))]
    limits = scope.limits_of("pollution_sources", settings, make("c", {"viewer"},
                                                                  region="340124"))
    count, bbox = scope.extent(entry, limits, settings)
    assert count == len(inside) < entry.feature_count
    # the R-tree's float32 envelopes are rounded outward: within a metre or so of the truth
    assert np.allclose(bbox, inside.total_bounds, atol=1e-5)
    assert bbox[0] <= inside.total_bounds[0] and bbox[2] >= inside.total_bounds[2]
    assert scope.extent(entry, policy.WHOLE, settings) == (entry.feature_count, entry.bbox)
    nowhere = policy.Limits(region="349999", area=None)
    assert scope.extent(entry, nowhere, settings) == (0, None)
