"""The features a vector tile reads: exactly the points whose R-tree boxes meet the buffered
tile — found from the tile's own run and its buffer's strips — checked against a scan of every
box, on a world layer with poles, the antimeridian and a dense cluster beside empty tiles."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import morecantile
import numpy as np
import pytest
import shapely

from onemap.mapserver import vtiles_data
from onemap.mapserver.vtiles_index import box_index


@pytest.fixture(scope="module")
def world_points(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    edges = np.array([[-180, 90], [180, -90], [179.99999, 85.06], [-179.99999, -85.06]] * 3)
    lon = np.r_[rng.uniform(-180, 180, 20000), edges[:, 0], rng.normal(117.3, 0.002, 20000)]
    lat = np.r_[rng.uniform(-90, 90, 20000), edges[:, 1], rng.normal(31.6, 0.002, 20000)]
    path = tmp_path_factory.mktemp("vtiles") / "world.gpkg"
    gpd.GeoDataFrame({"n": np.arange(len(lon))}, geometry=shapely.points(lon, lat),
                     crs=4326).to_file(path, layer="pts", driver="GPKG")
    return path


@pytest.mark.parametrize("tms_id", vtiles_data.TMS_IDS)
def test_a_tile_reads_every_point_meeting_its_buffer(world_points: Path, tms_id: str) -> None:
    src = vtiles_data.source(world_points, "pts")
    index = box_index(src, tms_id)
    tms = morecantile.tms.get(tms_id)
    rng = np.random.default_rng(3)
    checked = edge_only = 0
    for _ in range(1500):
        i = int(rng.integers(len(index.ids)))
        z = int(rng.integers(0, vtiles_data.MAX_ZOOM + 1))
        # near a point, often just beside its tile: the buffer's strips are what is tested
        lon = float(np.clip(index.minx[i] + rng.uniform(-1, 1) * 360 / 2 ** (z + 1), -180,
                            179.999999))
        lat = float(np.clip(index.miny[i] + rng.uniform(-1, 1) * 180 / 2 ** (z + 1), -85.05,
                            85.05))
        tile = tms.tile(lon, lat, z)
        frame = vtiles_data.tile_frame(tms_id, z, tile.x, tile.y)
        w, s, e, n = frame.buffered(vtiles_data.BUFFER)
        scan = np.flatnonzero((index.maxx >= w) & (index.minx <= e) & (index.maxy >= s)
                              & (index.miny <= n))
        got = np.sort(vtiles_data._around(index, frame))
        assert np.array_equal(got, scan), (tms_id, z, tile, len(got), len(scan))
        (lo,), (hi,) = index.centred(z, [tile.x], [tile.y])
        checked += 1
        edge_only += len(scan) > hi - lo  # some come from the strips around the tile
    assert edge_only > 50, (checked, edge_only)
