"""NDVI / EI change of red lines: hand-made rasters with known loss patches (exact pixel counts
and areas, other grids and CRSs, clouds), bad input, and the generated sample's two losses."""

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from onemap.analysis.ecology import EcologyContext, EcologyResult, assess_change
from onemap.analysis.errors import InvalidInput, NoData

GK = "EPSG:4548"  # CGCS2000 3° Gauss-Krüger CM 117°E, the zone geodesy.metric_crs picks
X0, Y0, RES = 500_000.0, 3_500_000.0, 10.0  # ≈ 117.0°E 31.6°N
H, W = 40, 60


def _write(path: Path, data: np.ndarray, crs: str, transform, nodata: float = -9999.0) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype="float32", crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def _box(c0: int, r0: int, c1: int, r1: int) -> shapely.Polygon:
    """Box over pixel columns c0..c1-1 and rows r0..r1-1 of the GK grid."""
    return shapely.box(X0 + c0 * RES, Y0 - r1 * RES, X0 + c1 * RES, Y0 - r0 * RES)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": ["A", "B"], "name": ["西区", "东区"]},
                            geometry=[_box(1, 1, 29, 39), _box(31, 1, 59, 39)], crs=GK)


def _context(**layers: gpd.GeoDataFrame) -> EcologyContext:
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return EcologyContext(**{k: layers.get(k, empty) for k in
                             ("rivers", "water_bodies", "pollution_sources", "incidents")})


def _before() -> np.ndarray:
    gen = np.random.default_rng(5)
    return 0.8 + gen.uniform(-0.05, 0.05, (H, W))


#: Loss pixels (row, col): a 5×6 block and an L of 7 in A; 3 in a row and a lone one in B.
BLOCK = [(r, c) for r in range(10, 15) for c in range(5, 11)]
ELL = [(r, 20) for r in range(25, 29)] + [(28, c) for c in range(21, 24)]
TRIPLE = [(5, c) for c in range(40, 43)]
LONE = [(30, 50)]


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    before = _before()
    after = before + np.random.default_rng(6).uniform(-0.05, 0.05, (H, W))
    for r, c in BLOCK + ELL + TRIPLE + LONE:
        after[r, c] = 0.1
    t = from_origin(X0, Y0, RES, RES)
    b = _write(tmp_path / "b.tif", before, GK, t)
    return b, _write(tmp_path / "a.tif", after, GK, t), after


def test_known_patches_exact_count_and_area(pair):
    before, after, _ = pair
    res = assess_change(_areas(), id_field="code", before=before, after=after,
                        context=_context())
    assert isinstance(res, EcologyResult)
    a, b = (res.areas.set_index("area_id").loc[k] for k in ("A", "B"))
    assert a["loss_pixels"] == 37 and a["loss_patches"] == 2
    assert a["loss_km2"] == pytest.approx(37 * 100 / 1e6, rel=1e-6)
    assert a["loss_share"] == pytest.approx(37 * 100 / (28 * 38 * 100), rel=1e-3)
    assert b["loss_pixels"] == 0 and b["loss_km2"] == 0  # 3 and 1 pixels < min_pixels
    assert a["valid_pixels"] == 28 * 38 and b["valid_pixels"] == 28 * 38
    assert list(res.areas["area_id"]) == ["A", "B"] and list(res.areas["rank"]) == [1, 2]
    losses = res.losses.sort_values("pixels")
    assert losses["pixels"].tolist() == [7, 30]
    assert losses["area_m2"].tolist() == pytest.approx([700, 3000], rel=1e-6)
    assert (losses["mean_change"] < -0.6).all()
    # the block polygon is the block itself, in EPSG:4326
    block = gpd.GeoSeries([_box(5, 10, 11, 15)], crs=GK).to_crs("EPSG:4326").iloc[0]
    got = losses.iloc[1].geometry
    assert res.losses.crs.to_epsg() == 4326
    assert got.symmetric_difference(block).area < 1e-4 * block.area
    # EI fell: forest pixels (0.35) became bare (0.04)
    assert a["ei_after"] < a["ei_before"] and a["bi_after"] < a["bi_before"]
    assert a["approximated"] == "bi,vi,wdi,lsi,pli" and res.summary["eri_applied"] is False


def test_min_pixels_keeps_small_patches(pair):
    before, after, _ = pair
    res = assess_change(_areas(), id_field="code", before=before, after=after,
                        context=_context(), min_pixels=1)
    b = res.areas.set_index("area_id").loc["B"]
    assert b["loss_pixels"] == 4 and b["loss_patches"] == 2
    strict = assess_change(_areas(), id_field="code", before=before, after=after,
                           context=_context(), loss_threshold=-0.75)
    assert strict.areas["loss_pixels"].sum() == 0


def test_ranking_ties_go_by_mean_change(pair):
    before, after, _ = pair
    res = assess_change(_areas(), id_field="code", before=before, after=after,
                        context=_context(), loss_threshold=-0.75)  # no loss anywhere
    tie = res.areas.sort_values("rank")
    assert tie["ndvi_change"].is_monotonic_increasing  # the larger drop ranks first


def test_clouds_are_not_change(pair, tmp_path):
    before, _, after = pair
    cloudy = after.copy()
    cloudy[10:13, 5:11] = -9999.0  # 18 pixels of the block, and nothing else, under a cloud
    path = _write(tmp_path / "cloudy.tif", cloudy, GK, from_origin(X0, Y0, RES, RES))
    res = assess_change(_areas(), id_field="code", before=before, after=path,
                        context=_context())
    a = res.areas.set_index("area_id").loc["A"]
    assert a["valid_pixels"] == 28 * 38 - 18
    assert a["loss_pixels"] == 37 - 18


def test_after_on_a_coarser_grid_is_resampled(tmp_path):
    before = np.full((H, W), 0.8)
    coarse = np.full((H // 2, W // 2), 0.8)
    coarse[2:4, 3:5] = 0.05  # 2×2 coarse cells = fine rows 4..7, cols 6..9
    b = _write(tmp_path / "b.tif", before, GK, from_origin(X0, Y0, RES, RES))
    a = _write(tmp_path / "a.tif", coarse, GK, from_origin(X0, Y0, 2 * RES, 2 * RES))
    res = assess_change(_areas(), id_field="code", before=b, after=a, context=_context())
    row = res.areas.set_index("area_id").loc["A"]
    assert row["loss_pixels"] == 16 and row["loss_km2"] == pytest.approx(1600 / 1e6, rel=1e-6)
    assert res.summary["resampled"] is True


def test_wgs84_before_cgcs2000_after(tmp_path):
    t = from_origin(117.30, 31.62, 0.001, 0.001)
    before = np.full((30, 30), 0.75)
    after = before.copy()
    after[10:13, 12:16] = 0.1  # 12 pixels
    b = _write(tmp_path / "b.tif", before, "EPSG:4326", t)
    a = _write(tmp_path / "a.tif", after, "EPSG:4490", t)
    area = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(117.301, 31.591, 117.329, 31.619)],
                            crs="EPSG:4490")
    res = assess_change(area, id_field="id", before=b, after=a, context=_context())
    assert res.summary["resampled"] is True and res.summary["after_crs"] == "EPSG:4490"
    assert res.areas.iloc[0]["loss_pixels"] == 12
    assert res.losses.iloc[0].geometry.within(area.geometry.iloc[0].buffer(1e-9))


def test_indicators_and_encroachment(pair):
    before, after, _ = pair
    def to_ll(g):
        return gpd.GeoSeries([g], crs=GK).to_crs("EPSG:4326").iloc[0]

    sources = gpd.GeoDataFrame(
        {"source_id": ["S1", "S2"], "name": ["甲厂", "乙厂"], "industry": ["水泥", "电镀"],
         "so2_t": [0.02, 5.0], "nox_t": [0.0, 0.0], "pm_t": [0.0, 0.0], "cod_t": [0.0, 0.0],
         "nh3n_t": [0.0, 0.0]},
        geometry=[to_ll(shapely.Point(X0 + 55, Y0 - 55)), to_ll(shapely.Point(X0 + 900, Y0))],
        crs="EPSG:4326")
    incidents = gpd.GeoDataFrame(
        {"incident_id": ["I1"], "title": ["倾倒"], "type": ["soil"], "level": ["IV"],
         "time": [pd.Timestamp("2025-03-01 10:00", tz="Asia/Shanghai")]},
        geometry=[to_ll(shapely.Point(X0 + 405, Y0 - 205))], crs="EPSG:4326")
    river = gpd.GeoDataFrame({"reach_id": ["R"]}, crs=GK, geometry=[
        shapely.LineString([(X0 - 50, Y0 - 200), (X0 + 60, Y0 - 200)])]).to_crs("EPSG:4326")
    res = assess_change(_areas(), id_field="code", before=before, after=after,
                        context=_context(pollution_sources=sources, incidents=incidents,
                                         rivers=river))
    a, b = (res.areas.set_index("area_id").loc[k] for k in ("A", "B"))
    assert a["river_km"] == pytest.approx(0.05, rel=1e-3)  # from x = 10 m to 60 m
    area_km2 = 0.28 * 0.38  # river 0.47 km/km² of the 1.0 reference, no water body
    assert a["wdi"] == pytest.approx(round(100 * 0.05 / area_km2 / 2, 2), abs=0.01)
    # SO2 0.02 t over 0.1064 km² against 20 t/km²: 0.2 × 100 × 0.0094 / 0.8
    assert a["pli"] == pytest.approx(round(0.2 * 100 * 0.02 / area_km2 / 20 / 0.8, 2), abs=0.01)
    assert b["pli"] == 0 and b["wdi"] == 0
    enc = res.encroachment
    assert enc[["area_id", "kind", "feature_id"]].values.tolist() == [
        ["A", "pollution_source", "S1"], ["B", "incident", "I1"]]
    assert enc.iloc[1]["time"].startswith("2025-03-01T10:00:00+08:00")
    assert (a["n_pollution_sources"], b["n_incidents"]) == (1, 1)
    doc = res.to_geojson()
    json.dumps(doc, allow_nan=False)
    roles = [f["properties"]["role"] for f in doc["features"]]
    assert roles.count("area") == 2 and roles.count("loss") == 2
    assert "pollution_source" in roles and "incident" in roles


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"id_field": "nope"}, "id_field"),
    ({"loss_threshold": 0.0}, "loss_threshold"),
    ({"loss_threshold": 0.2}, "loss_threshold"),
    ({"loss_threshold": math.nan}, "loss_threshold"),
    ({"min_pixels": 0}, "min_pixels"),
    ({"same": True}, "after"),
    ({"empty": True}, "areas"),
])
def test_invalid_input(pair, kwargs, parameter):
    before, after, _ = pair
    areas = _areas().iloc[:0] if kwargs.pop("empty", False) else _areas()
    if kwargs.pop("same", False):
        after = before
    args = dict(id_field="code", before=before, after=after, context=_context()) | kwargs
    with pytest.raises(InvalidInput) as err:
        assess_change(areas, **args)
    assert err.value.parameter == parameter


def test_unreadable_and_disjoint_rasters(pair, tmp_path):
    before, after, _ = pair
    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    with pytest.raises(InvalidInput) as err:
        assess_change(_areas(), id_field="code", before=junk, after=after, context=_context())
    assert err.value.parameter == "before"
    far = _areas()
    far["geometry"] = far.translate(xoff=100_000)
    with pytest.raises(NoData):
        assess_change(far, id_field="code", before=before, after=after, context=_context())


def test_sample_red_lines_rank_the_generated_losses(sample_settings):
    from onemap import catalog
    from onemap.data.rasters import LOSSES
    from onemap.layers.store import read_layer

    def raster(i: str) -> Path:
        return catalog.get(i, sample_settings).file(sample_settings)

    ctx = EcologyContext(*(read_layer(name, sample_settings) for name in
                           ("rivers", "water_bodies", "pollution_sources", "incidents")))
    red = read_layer("red_lines", sample_settings)
    res = assess_change(red, id_field="redline_id", before=raster("ndvi_2024_07"),
                        after=raster("ndvi_2025_07"), context=ctx)
    areas = res.areas.sort_values("rank")
    assert len(areas) == len(red)
    top = areas.head(2)
    assert top["name"].str[:3].tolist() == ["浮槎山", "紫蓬山"]
    for (_, lon, lat, radius_km, _), (_, row) in zip(LOSSES, top.iterrows(), strict=True):
        patches = res.losses[res.losses["area_id"] == row["area_id"]]
        assert len(patches) >= 1
        assert patches.geometry.within(row.geometry.buffer(1e-9)).all()
        centre = shapely.Point(lon, lat)
        assert patches.union_all().centroid.distance(centre) < 0.005  # ≈ 500 m
        assert row["loss_km2"] == pytest.approx(math.pi * radius_km**2, rel=0.4)
        assert row["ei_change"] < 0 and row["ei_change_direction"] == "worse"
    rest = areas.iloc[2:]
    assert (rest["loss_km2"] < 0.05).all(), rest[["name", "loss_km2"]]
    assert res.summary["largest_loss"]["name"].startswith("浮槎山")
    json.dumps(res.to_geojson(), allow_nan=False)


def test_sample_across_crs_and_clouds(sample_settings):
    from onemap import catalog
    from onemap.layers.store import read_layer

    ctx = EcologyContext(*(read_layer(name, sample_settings) for name in
                           ("rivers", "water_bodies", "pollution_sources", "incidents")))
    pa = read_layer("protected_areas", sample_settings)
    before = catalog.get("ndvi_2025_04", sample_settings).file(sample_settings)  # EPSG:4490
    after = catalog.get("ndvi_2025_07", sample_settings).file(sample_settings)  # EPSG:4326
    res = assess_change(pa, id_field="area_id", before=before, after=after, context=ctx)
    assert res.summary["resampled"] is True
    assert res.areas["loss_km2"].sum() < 0.05  # spring → summer greens up; no loss
    assert (res.areas["ndvi_change"].dropna() > 0).mean() > 0.8


def test_a_pixel_counts_when_its_centre_is_inside(pair):
    before, after, _ = pair
    # edges 1.6 m into the first and last pixels of each side: their centres are outside
    area = gpd.GeoDataFrame({"code": ["C"]}, crs=GK, geometry=[shapely.box(
        X0 + 16, Y0 - 384, X0 + 284, Y0 - 16)])
    res = assess_change(area, id_field="code", before=before, after=after, context=_context())
    row = res.areas.iloc[0]
    assert row["valid_pixels"] == 26 * 36
    assert row["loss_pixels"] == 37  # both patches lie well inside
