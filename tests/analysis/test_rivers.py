"""Downstream trace on a small hand-made network with known lengths, and on the sample region."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from onemap.analysis.errors import InvalidInput, OutOfRegion
from onemap.analysis.geodesy import metric_crs
from onemap.analysis.rivers import downstream_trace

CRS = metric_crs(117.0)          # CGCS2000 GK zone with CM 117°E
X0, Y0 = 500_000.0, 3_500_000.0  # a point of that zone near 117°E, 31.6°N
T0 = pd.Timestamp("2025-06-01 08:00", tz="Asia/Shanghai")


def _frame(rows: list[dict], crs=CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs("EPSG:4326")


def _xy(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def network() -> gpd.GeoDataFrame:
    """A 10 km reach north, then 5 km east, then a 10 km lake centre-line north; a tributary
    joins at the first confluence."""
    def line(*pts):
        return LineString([(X0 + x, Y0 + y) for x, y in pts])
    return _frame([
        {"reach_id": "A", "name": "甲河", "downstream_id": "B",
         "geometry": line((0, 0), (0, 10_000))},
        {"reach_id": "T", "name": "支流", "downstream_id": "B",
         "geometry": line((-3000, 10_000), (0, 10_000))},
        {"reach_id": "B", "name": "甲河", "downstream_id": "L",
         "geometry": line((0, 10_000), (5000, 10_000))},
        {"reach_id": "L", "name": "某湖湖区", "downstream_id": None,
         "geometry": line((5000, 10_000), (5000, 20_000))},
    ])


def targets() -> list:
    intakes = _frame([
        {"intake_id": "I1", "name": "湖区取水口", "geometry": _xy(8000, 12_000)},   # 3 km off L
        {"intake_id": "I2", "name": "支流取水口", "geometry": _xy(-2000, 10_000)},  # on T
    ])
    sections = _frame([
        {"section_id": "S0", "name": "上游", "geometry": _xy(0, 1000)},       # upstream
        {"section_id": "S1", "name": "乙桥", "geometry": _xy(2500, 10_100)},  # on B
        {"section_id": "S2", "name": "河心", "geometry": _xy(6200, 10_500)},  # 1.2 km off L
    ])
    return [("intake", intakes, "intake_id"), ("section", sections, "section_id")]


def test_trace_lengths_and_arrival_times():
    tr = downstream_trace(network(), _xy(30, 2000), T0, crs=CRS, flow_speed_m_s=1.0,
                          max_hours=10, tolerance_m=1000, lake_tolerance_m=5000,
                          targets=targets())
    assert tr.reach_id == "A" and tr.snap_distance_m == pytest.approx(30, abs=0.01)
    p = tr.pieces
    assert p["reach_id"].tolist() == ["A", "B", "L"]
    assert p["from_m"].tolist() == pytest.approx([0, 8000, 13_000], abs=0.5)
    assert p["to_m"].tolist() == pytest.approx([8000, 13_000, 23_000], abs=0.5)
    assert p.iloc[-1]["to_h"] == pytest.approx(23_000 / 3600, abs=1e-3)
    hits = tr.hits.set_index("id")
    # S0 is upstream of the release; I2 is on the tributary: neither is reached
    assert hits.index.tolist() == ["S1", "S2", "I1"]
    assert hits.loc["S1", "along_m"] == pytest.approx(10_500, abs=0.5)
    assert hits.loc["S2", "along_m"] == pytest.approx(13_500, abs=0.5)
    assert hits.loc["S2", "offset_m"] == pytest.approx(1200, abs=0.5)  # lake tolerance applies
    assert hits.loc["I1", "along_m"] == pytest.approx(15_000, abs=0.5)
    assert hits.loc["I1", "arrival_h"] == pytest.approx(15_000 / 3600, abs=1e-4)
    assert hits.loc["I1", "arrival_time"] == T0 + pd.Timedelta(seconds=15_000)


def test_lake_tolerance_and_river_tolerance():
    tr = downstream_trace(network(), _xy(0, 2000), T0, crs=CRS, flow_speed_m_s=1.0,
                          max_hours=10, tolerance_m=1000, lake_tolerance_m=1000,
                          targets=targets())
    assert tr.hits["id"].tolist() == ["S1"]  # the lake points are now too far off


def test_trace_is_cut_at_max_hours():
    tr = downstream_trace(network(), _xy(0, 2000), T0, crs=CRS, flow_speed_m_s=0.5,
                          max_hours=5, targets=targets())
    # 0.5 m/s × 5 h = 9 km: 8 km of A and 1 km of B; S1 (10.5 km) is not reached in time
    assert tr.pieces["reach_id"].tolist() == ["A", "B"]
    assert tr.pieces["to_m"].iloc[-1] == pytest.approx(9000, abs=0.5)
    assert tr.pieces["to_h"].iloc[-1] == pytest.approx(5.0, abs=1e-6)
    assert tr.hits.empty


def test_release_far_from_any_river_is_refused():
    with pytest.raises(OutOfRegion) as err:
        downstream_trace(network(), _xy(20_000, 0), T0, crs=CRS, snap_max_m=2000)
    assert err.value.parameter == "location" and "2000 m" in err.value.message
    with pytest.raises(InvalidInput) as err:
        downstream_trace(network(), _xy(0, 0), T0, crs=CRS, flow_speed_m_s=0)
    assert err.value.parameter == "flow_speed_m_s"


def test_sample_nanfei_river_reaches_the_west_lake_intake(sample_settings):
    from onemap.layers.store import read_layer

    rivers = read_layer("rivers", sample_settings)
    intakes = read_layer("water_intakes", sample_settings)
    sections = read_layer("water_sections", sample_settings)
    crs = metric_crs(117.3)
    here = gpd.GeoSeries([Point(117.3366, 31.8091)], crs="EPSG:4326").to_crs(crs).iloc[0]
    tr = downstream_trace(rivers, here, T0, crs=crs, flow_speed_m_s=0.5, max_hours=24,
                          targets=[("intake", intakes, "intake_id"),
                                   ("section", sections, "section_id")])
    assert tr.reach_id == "NFH03"
    assert tr.pieces["reach_id"].tolist()[:4] == ["NFH03", "NFH04", "NFHL", "CHL01"]
    ids = tr.hits["id"].tolist()
    assert "AHCH001" not in ids                      # 董铺出口 is upstream
    assert ids.index("AHCH003") < ids.index("AHCH004") < ids.index("QSK03")
    qsk03 = tr.hits.set_index("id").loc["QSK03"]
    # NFH03 rest + NFH04 + NFHL + part of CHL01: 20–35 km, i.e. 11–20 h at 0.5 m/s
    assert 20_000 < qsk03["along_m"] < 35_000
    assert qsk03["arrival_h"] == pytest.approx(qsk03["along_m"] / 1800, rel=1e-9)
