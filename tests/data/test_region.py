"""The generated sample region: imported through the real import path, with the counts, the
topology and the codes the rest of OneMap relies on."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest
import shapely

from onemap import catalog
from onemap.config import Settings
from onemap.data.generate import RASTERS, REGION_LAYERS, generate
from onemap.layers.codes import is_valid_hj608, is_valid_outlets

EXPECTED_COUNTS = {
    "admin_boundaries": 11, "rivers": 37, "water_bodies": 6, "air_stations": 40,
    "water_sections": 30, "water_samples": 760, "pollution_sources": 3000, "outlets": 6703,
    "protected_areas": 11, "red_lines": 15, "water_source_zones": 15, "water_intakes": 6,
    "sensitive_receptors": 300, "incidents": 25,
}


def _read(settings: Settings, layer_id: str):
    return pyogrio.read_dataframe(catalog.get(layer_id, settings).file(settings))


def test_every_layer_is_catalogued_with_expected_counts(sample_settings: Settings) -> None:
    entries = catalog.load(sample_settings)
    assert set(REGION_LAYERS) | set(RASTERS) <= set(entries)
    counts = {k: entries[k].feature_count for k in EXPECTED_COUNTS}
    assert counts == EXPECTED_COUNTS
    # a year of hourly data for 40 stations, minus the outages a real feed has
    assert 0.97 * 40 * 8760 < entries["air_hourly"].feature_count < 40 * 8760
    assert entries["air_hourly"].time_extent[0].startswith("2025-01-01T00:00:00+08:00")
    for layer_id in REGION_LAYERS:
        assert entries[layer_id].family == layer_id


def test_rivers_form_one_network_draining_to_the_outlet(sample_settings: Settings) -> None:
    rivers = _read(sample_settings, "rivers").set_index("reach_id")
    down = {r: d if isinstance(d, str) and d else None
            for r, d in rivers["downstream_id"].items()}
    outlets = [r for r, d in down.items() if d is None]
    assert outlets == ["YXH02"]
    for start in down:
        seen, reach = set(), start
        while down[reach] is not None:
            assert reach not in seen, f"cycle through {reach}"
            seen.add(reach)
            assert down[reach] in down, f"{reach} drains into unknown reach {down[reach]}"
            reach = down[reach]
        assert reach == "YXH02"
    # digitised downstream: each reach ends where its downstream reach starts
    for reach, nxt in down.items():
        if nxt is not None:
            end = shapely.get_coordinates(rivers.geometry[reach])[-1]
            start = shapely.get_coordinates(rivers.geometry[nxt])[0]
            assert abs(end - start).max() < 1e-6, (reach, nxt)
    assert rivers.loc["YXH02", "stream_order"] == rivers["stream_order"].max() >= 3


def test_sections_sit_on_their_reach_or_in_the_lake(sample_settings: Settings) -> None:
    sections = _read(sample_settings, "water_sections")
    rivers = _read(sample_settings, "rivers").set_index("reach_id")
    bodies = _read(sample_settings, "water_bodies").set_index("name")
    lake = bodies.geometry["巢湖"]
    for row in sections.itertuples():
        if row.water_body_type == "lake":
            assert lake.contains(row.geometry), row.name
        else:
            assert shapely.distance(rivers.geometry[row.reach_id], row.geometry) < 1e-5, row.name
            assert rivers.loc[row.reach_id, "name"] == row.water_body
    assert set(sections.target_class) <= {"II", "III", "IV", "V"}


def test_source_codes_pass_the_hj608_check(sample_settings: Settings) -> None:
    src = _read(sample_settings, "pollution_sources")
    assert src.source_id.is_unique
    assert all(is_valid_hj608(c) for c in src.source_id)
    permits = src.permit_id.dropna()
    assert len(permits) > 1000 and all(is_valid_hj608(c) for c in permits)
    assert src.loc[src.permit_class == "registration", "permit_id"].isna().all()
    assert all(is_valid_outlets(o) for o in src.outlets)
    counties = set(_read(sample_settings, "admin_boundaries").adcode)
    assert set(src.county_code) <= counties
    # heavy tails: the biggest tenth of emitters carries most of the NOx
    nox = src.nox_t.sort_values(ascending=False)
    assert nox.head(len(nox) // 10).sum() > 0.8 * nox.sum()


def test_polygons_are_valid_and_inside_the_region(sample_settings: Settings) -> None:
    admin = _read(sample_settings, "admin_boundaries")
    counties = admin[admin.admin_level == "county"]
    region = shapely.union_all(counties.geometry.values)
    assert region.geom_type == "Polygon"
    area = sum(g.area for g in counties.geometry)
    assert abs(area - region.area) < 1e-9 * area + 1e-9  # a tiling: no overlaps
    assert len(counties) == 10 and set(counties.parent_adcode) == {"340100", "341500"}
    assert {"340102", "340103", "340104", "340111", "340181"} <= set(counties.adcode)
    grown = region.buffer(1e-6)
    for layer_id in ("admin_boundaries", "water_bodies", "protected_areas", "red_lines",
                     "water_source_zones"):
        frame = _read(sample_settings, layer_id)
        assert frame.geometry.is_valid.all(), layer_id
        assert (~frame.geometry.is_empty).all(), layer_id
        assert frame.geometry.within(grown).all(), layer_id
    for layer_id in ("air_stations", "pollution_sources", "sensitive_receptors", "incidents",
                     "water_intakes"):
        assert _read(sample_settings, layer_id).geometry.within(grown).all(), layer_id


def test_land_features_avoid_water(sample_settings: Settings) -> None:
    water = shapely.union_all(_read(sample_settings, "water_bodies").geometry.values)
    for layer_id in ("pollution_sources", "sensitive_receptors", "air_stations"):
        pts = _read(sample_settings, layer_id).geometry
        assert not pts.intersects(water).any(), layer_id


def test_air_feed_has_seasons_and_quality_flags(sample_settings: Settings) -> None:
    hourly = _read(sample_settings, "air_hourly")
    assert set(hourly.flag) == {"N", "M", "C", "D", "T"}
    assert hourly.loc[hourly.flag == "M", ["pm25", "o3"]].isna().all().all()
    assert hourly.loc[hourly.flag == "N", "pm25"].notna().all()
    t = pd.to_datetime(hourly.time, utc=True).dt.tz_convert("Asia/Shanghai")
    month, hour = t.dt.month, t.dt.hour
    assert hourly.pm25[month == 1].mean() > 2 * hourly.pm25[month == 7].mean()
    summer_noon = hourly.o3[(month == 7) & (hour == 15)].mean()
    assert summer_noon > 2 * hourly.o3[(month == 7) & (hour == 5)].mean()
    assert summer_noon > 2 * hourly.o3[(month == 1) & (hour == 15)].mean()
    assert hourly.co.max() < 10 and hourly.pm25.min() >= 0


def test_lake_is_more_eutrophic_than_its_clean_inflows(sample_settings: Settings) -> None:
    samples = _read(sample_settings, "water_samples")
    sections = _read(sample_settings, "water_sections")[["section_id", "water_body"]]
    mean = samples.merge(sections, on="section_id").groupby("water_body")[["tn", "nh3n"]].mean()
    assert mean.loc["南淝河", "nh3n"] > 2 * mean.loc["杭埠河", "nh3n"]
    assert 1.0 < mean.loc["巢湖", "tn"] < 3.0


def test_generate_is_a_quick_no_op_when_the_sample_exists(
        sample_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    before = sample_settings.catalog_path.read_bytes()
    generate(sample_settings)
    assert "already" in capsys.readouterr().out
    assert sample_settings.catalog_path.read_bytes() == before


def test_outlets_belong_to_their_sources(sample_settings: Settings) -> None:
    """Every outlet of a permitted source is there, with its source's code, the limits of its
    kind only, and — for key-managed sources, which must monitor online — a unique HJ 212
    device code."""
    src = _read(sample_settings, "pollution_sources").set_index("source_id")
    out = _read(sample_settings, "outlets")
    permitted = src[src.permit_class.isin(("key", "simplified"))]
    expected = {sid + o for sid, outlets in permitted.outlets.items() for o in outlets.split(";")}
    assert set(out.outlet_code) == expected
    assert (out.outlet_code == out.source_id + out.outlet_id).all()
    assert ((out.medium == "air") == out.outlet_id.str.startswith("DA")).all()
    air, water = out[out.medium == "air"], out[out.medium == "water"]
    assert air[["cod_limit", "nh3n_limit"]].isna().all().all() and air.pm_limit.notna().all()
    assert water[["so2_limit", "pm_limit"]].isna().all().all() and water.cod_limit.notna().all()
    assert (water.ph_min == 6).all() and (water.ph_max == 9).all()
    thermal = air[air.source_id.map(src.industry_code) == "D4411"]
    assert len(thermal) and (thermal.so2_limit == 35).all()  # GB 13223-2011 ultra-low
    key = out.source_id.map(src.permit_class) == "key"
    assert out.mn[key].str.fullmatch(r"[0-9A-F]{24}").all() and out.mn[~key].isna().all()
    assert out.mn[key].is_unique
    assert (out.county_code == out.source_id.map(src.county_code)).all()
    assert catalog.get("outlets", sample_settings).access == "internal"
