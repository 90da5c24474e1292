"""Emergency assessment: rings, plume, receptors, suspects and errors on a hand-made layout
with known distances, and an air and a water incident on the sample region."""

import json
import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from onemap.analysis.emergency import (
    POLLUTANTS,
    EmergencyLayers,
    Incident,
    Wind,
    assess_incident,
    load_layers,
    nearest_wind,
)
from onemap.analysis.errors import InvalidInput, NoData, OutOfRegion
from onemap.analysis.geodesy import metric_crs

CRS = metric_crs(117.0)
X0, Y0 = 500_000.0, 3_500_000.0
T0 = pd.Timestamp("2025-06-01 10:20", tz="Asia/Shanghai")


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    for r in rows:
        r["geometry"] = _shift(r["geometry"])
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4326")


def _shift(g):
    from shapely.affinity import translate
    return translate(g, X0, Y0)


def origin() -> tuple[float, float]:
    p = gpd.GeoSeries([Point(X0, Y0)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    return p.x, p.y


def synthetic_layers(hourly: bool = True) -> EmergencyLayers:
    """A 40 km square region around the incident point (metric offsets in the comments)."""
    receptors = _frame([
        {"receptor_id": "S", "name": "南校", "kind": "school", "population": 100,
         "geometry": Point(0, -800)},
        {"receptor_id": "N", "name": "北院", "kind": "hospital", "population": 200,
         "geometry": Point(0, 800)},
        {"receptor_id": "E2", "name": "东区", "kind": "residential", "population": 400,
         "geometry": Point(2000, 0)},
        {"receptor_id": "W4", "name": "西区", "kind": "residential", "population": 800,
         "geometry": Point(-4000, 0)},
        {"receptor_id": "S7", "name": "南远村", "kind": "residential", "population": 1600,
         "geometry": Point(0, -7000)},
        {"receptor_id": "E7", "name": "东远村", "kind": "residential", "population": 3200,
         "geometry": Point(7000, 0)},
    ])
    protected = _frame([{"area_id": "PA", "name": "保护区", "category": "forest_park",
                         "geometry": box(2500, -500, 3500, 500)}])
    zones = _frame([{"zone_id": "Z-P", "source_name": "远水源", "grade": "primary",
                     "intake_id": "I1", "geometry": box(12_000, -500, 13_000, 500)}])
    sources = _frame([
        {"source_id": "UP", "name": "北厂", "industry": "化工", "outlets": "DA001",
         "so2_t": 1.0, "geometry": Point(0, 3000)},
        {"source_id": "DOWN", "name": "南厂", "industry": "化工", "outlets": "DA001",
         "so2_t": 1.0, "geometry": Point(0, -1000)},
        {"source_id": "SIDE", "name": "东北厂", "industry": "化工", "outlets": "DA001",
         "so2_t": 0.0, "geometry": Point(2000, 2100)},      # bearing 43.6°: upwind
        {"source_id": "SIDE2", "name": "东北二厂", "industry": "化工", "outlets": "DW001",
         "so2_t": 0.0, "geometry": Point(2000, 1900)},      # bearing 46.5°: not upwind
        {"source_id": "FAR", "name": "远厂", "industry": "化工", "outlets": "DA001",
         "so2_t": 1.0, "geometry": Point(0, 15_000)},
    ])
    rivers = _frame([{"reach_id": "R1", "name": "甲河", "downstream_id": None,
                      "geometry": LineString([(-5000, 500), (15_000, 500)])}])
    intakes = _frame([{"intake_id": "I1", "name": "甲取水口", "population": 5000,
                       "geometry": Point(4000, 700)}])
    sections = _frame([{"section_id": "SEC", "name": "甲断面", "geometry": Point(-2000, 500)}])
    stations = _frame([{"station_id": "A1", "name": "近站", "geometry": Point(1000, 0)},
                       {"station_id": "A2", "name": "远站", "geometry": Point(3000, 0)}])
    rows = [("A1", T0.ceil("h"), 2.0, 10.0, "M"),           # nearest, but flagged invalid
            ("A1", T0.ceil("h") - pd.Timedelta(hours=5), 2.0, 10.0, "N"),   # too old
            ("A2", T0.ceil("h"), 3.0, 200.0, "N")]
    air = pd.DataFrame(rows, columns=["station_id", "time", "ws", "wd", "flag"])
    region = _frame([{"adcode": "1", "name": "某县", "geometry": box(-20_000, -20_000,
                                                                   20_000, 20_000)}])
    return EmergencyLayers(rivers=rivers, water_intakes=intakes, water_sections=sections,
                           sensitive_receptors=receptors, protected_areas=protected,
                           water_source_zones=zones, pollution_sources=sources,
                           air_stations=stations, region=region,
                           air_hourly=air if hourly else None)


def air_incident(**kw) -> Incident:
    lon, lat = origin()
    args = dict(lon=lon, lat=lat, time=T0, medium="air", pollutant="cl2", amount_kg=5000.0)
    args.update(kw)
    return Incident(**args)


NORTH_WIND = Wind(2.0, 0.0, "given")


def test_rings_receptors_and_plume_by_hand():
    res = assess_incident(air_incident(), synthetic_layers(), wind=NORTH_WIND, stability="D")
    rec = res.tables["receptors"].set_index("id")
    # ring = smallest ring containing the receptor; E7 is outside every ring and the plume
    assert rec.loc["S", "ring_m"] == 1000 and rec.loc["N", "ring_m"] == 1000
    assert rec.loc["E2", "ring_m"] == 3000 and rec.loc["W4", "ring_m"] == 5000
    assert rec.loc["PA", "ring_m"] == 3000 and rec.loc["PA", "distance_m"] == pytest.approx(2500)
    assert "E7" not in rec.index and "Z-P" not in rec.index
    assert rec.loc["S", "distance_m"] == pytest.approx(800, abs=0.01)
    assert rec.loc["S", "bearing_deg"] == pytest.approx(180, abs=0.01)
    # the wind is from the north: the plume covers the south, not the north
    assert rec.loc["S", "in_plume"] and not rec.loc["N", "in_plume"]
    assert rec.loc["N", "concentration_mg_m3"] == 0.0
    # S7 (7 km south) is outside the rings but inside the AEGL-1 footprint:
    # Q = 5e6 g / 3600 s, D: σy = 0.08·7000/√1.7, σz = 0.06·7000/√11.5
    q = 5_000_000 / 3600
    c7 = q / (math.pi * 2.0 * (560 / math.sqrt(1.7)) * (420 / math.sqrt(11.5))) * 1000
    assert rec.loc["S7", "ring_m"] is None or math.isnan(rec.loc["S7", "ring_m"])
    assert rec.loc["S7", "concentration_mg_m3"] == pytest.approx(c7, rel=1e-3)
    levels = POLLUTANTS["cl2"].air_levels
    assert levels[0].value < c7 < levels[1].value
    assert rec.loc["S7", "plume_level"] == "AEGL-1"
    # population per ring (band) and cumulative
    rings = res.tables["rings"].set_index("ring_m")
    assert rings["population"].tolist() == [300, 400, 800]
    assert rings["population_cumulative"].tolist() == [300, 700, 1500]
    assert rings.loc[3000, "n_protected_areas"] == 1
    assert res.summary["population_in_rings"] == {"1000": 300, "3000": 400, "5000": 800}
    # the footprint lies south of the source
    feats = res.features
    plume = feats[feats["role"] == "plume"]
    assert plume["level"].tolist() == ["AEGL-1", "AEGL-2", "AEGL-3"]
    lon, lat = origin()
    for g in plume.geometry:
        assert g.centroid.y < lat and abs(g.centroid.x - lon) < 1e-3
    assert res.summary["plume"]["stability"] == "D"
    assert res.tables["downstream"].empty


def test_suspects_upwind_rank_first_with_documented_score():
    res = assess_incident(air_incident(), synthetic_layers(), wind=NORTH_WIND, stability="D")
    sus = res.tables["suspects"].set_index("source_id")
    assert res.tables["suspects"]["source_id"].tolist() == ["SIDE", "UP", "DOWN", "SIDE2"]
    # score = (1 - d/R) + upwind + 0.5·emits; cl2 has no emission column: DA outlet = emits
    assert sus.loc["UP", "score"] == pytest.approx(1 - 3000 / 10_000 + 1 + 0.5)
    assert sus.loc["SIDE", "score"] == pytest.approx(1 - 2900 / 10_000 + 1 + 0.5)
    assert sus.loc["DOWN", "score"] == pytest.approx(1 - 1000 / 10_000 + 0 + 0.5)
    assert sus.loc["SIDE2", "score"] == pytest.approx(1 - math.hypot(2000, 1900) / 10_000)
    assert bool(sus.loc["SIDE", "upwind"]) and not bool(sus.loc["SIDE2", "upwind"])
    # so2 has an emission column: a source emitting none does not count as an emitter
    res = assess_incident(air_incident(pollutant="so2"), synthetic_layers(), wind=NORTH_WIND)
    sus = res.tables["suspects"].set_index("source_id")
    assert not sus.loc["SIDE", "emits"] and sus.loc["UP", "emits"]
    assert res.tables["suspects"]["source_id"].tolist()[0] == "UP"


def test_suspects_of_a_water_release_are_judged_by_their_outlets():
    lon, lat = origin()
    # toluene has a VOC (air) emission column: for a spill into water, DW outlets count
    res = assess_incident(Incident(lon, lat, T0, "water", "toluene", 100.0), synthetic_layers())
    sus = res.tables["suspects"].set_index("source_id")
    assert bool(sus.loc["SIDE2", "emits"]) and not bool(sus.loc["UP", "emits"])
    assert sus["upwind"].isna().all()
    assert sus.loc["SIDE2", "score"] == pytest.approx(1 - math.hypot(2000, 1900) / 10_000 + 0.5)


def test_wind_from_the_nearest_valid_station():
    layers = synthetic_layers()
    lon, lat = origin()
    w = nearest_wind(layers.air_stations, layers.air_hourly, lon, lat, T0)
    assert (w.source, w.speed_m_s, w.from_deg) == ("A2", 3.0, 200.0)
    assert w.station_distance_m == pytest.approx(3000, abs=0.5)
    res = assess_incident(air_incident(), layers)
    assert res.wind == w and res.summary["wind"]["source"] == "A2"
    # wind from 200° (SSW): the footprint is north-north-east of the source
    plume = res.features[res.features["role"] == "plume"].geometry.iloc[0].centroid
    assert plume.y > lat and plume.x > lon
    with pytest.raises(NoData) as err:
        nearest_wind(layers.air_stations, layers.air_hourly, lon, lat,
                     T0 + pd.Timedelta(hours=12))
    assert err.value.parameter == "time"


def test_water_release_traces_to_the_intake():
    lon, lat = origin()
    inc = Incident(lon, lat, T0, "water", "cod", 2000.0)
    res = assess_incident(inc, synthetic_layers(), flow_speed_m_s=0.5, max_hours=10)
    down = res.tables["downstream"]
    assert down["id"].tolist() == ["I1"]              # the section is upstream
    assert down.iloc[0]["along_m"] == pytest.approx(4000, abs=1)
    assert down.iloc[0]["arrival_h"] == pytest.approx(4000 / 0.5 / 3600, abs=1e-3)
    first = res.summary["first_intake"]
    assert first["id"] == "I1"
    assert first["arrival_time"] == (T0 + pd.Timedelta(seconds=8000)).isoformat()
    assert res.wind is None and "plume" not in res.tables
    roles = set(res.features["role"])
    assert {"incident", "ring", "trace", "intake", "receptor", "suspect"} <= roles


def test_geojson_is_json_safe():
    res = assess_incident(air_incident(), synthetic_layers(), wind=NORTH_WIND)
    gj = res.to_geojson()
    text = json.dumps(gj, allow_nan=False, ensure_ascii=False)
    assert gj["type"] == "FeatureCollection" and "NaN" not in text
    roles = {f["properties"]["role"] for f in gj["features"]}
    assert {"incident", "ring", "plume", "receptor", "protected_area", "suspect"} <= roles
    lon, lat = gj["features"][0]["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx(origin())


@pytest.mark.parametrize(("change", "kwargs", "parameter", "words"), [
    ({"pollutant": "unobtainium"}, {}, "pollutant", "cl2"),
    ({"pollutant": "cod"}, {}, "pollutant", "so2"),       # not assessed in air
    ({"amount_kg": 0.0}, {}, "amount_kg", "positive"),
    ({"amount_kg": float("nan")}, {}, "amount_kg", "positive"),
    ({"duration_min": -5.0}, {}, "duration_min", "positive"),
    ({"medium": "soil"}, {}, "medium", "air"),
    ({}, {"rings_m": []}, "rings_m", "distinct"),
    ({}, {"rings_m": [1000, -1]}, "rings_m", "> 0"),
    ({}, {"rings_m": [1000, 1000]}, "rings_m", "distinct"),
    ({}, {"wind": Wind(0.0, 90.0, "given")}, "wind_speed_m_s", "positive"),
    ({}, {"stability": "G"}, "stability", "A–F"),
    ({}, {"suspects_radius_m": 0}, "suspects_radius_m", "positive"),
])
def test_invalid_input_names_the_parameter(change, kwargs, parameter, words):
    with pytest.raises(InvalidInput) as err:
        assess_incident(air_incident(**change), synthetic_layers(), **kwargs)
    assert err.value.parameter == parameter and words in err.value.message


def test_outside_region_and_no_wind():
    lon, lat = origin()
    with pytest.raises(OutOfRegion) as err:
        assess_incident(air_incident(lon=lon + 1.0), synthetic_layers(), wind=NORTH_WIND)
    assert err.value.parameter == "location"
    with pytest.raises(NoData):
        assess_incident(air_incident(), synthetic_layers(hourly=False))
    # a water release far from any river is refused, not answered with an empty trace
    far = Incident(lon, lat + 0.1, T0, "water", "cod", 10.0)
    with pytest.raises(OutOfRegion):
        assess_incident(far, synthetic_layers())


def test_sample_chemical_spill_upstream_of_an_intake(sample_settings, artifacts_dir):
    t = pd.Timestamp("2025-07-24 20:10", tz="Asia/Shanghai")
    layers = load_layers(sample_settings, time=t)
    # toluene into 南淝河 at 亳州路桥, upstream of 巢湖西半湖取水口 (QSK03)
    res = assess_incident(Incident(117.3366, 31.8091, t, "water", "toluene", 8000.0), layers)
    down = res.tables["downstream"].set_index("id")
    assert "QSK03" in down.index and "AHCH001" not in down.index
    first = res.summary["first_intake"]
    assert first["id"] == "QSK03"
    assert 10 < first["arrival_h"] < 20          # ≈ 29 km at 0.5 m/s
    assert pd.Timestamp(first["arrival_time"]) == (t + pd.Timedelta(hours=first["arrival_h"])
                                                   ).round("s")
    assert res.summary["downstream"]["reaches"][:3] == ["NFH03", "NFH04", "NFHL"]
    json.dumps(res.to_geojson(), allow_nan=False)
    page = res.to_html()
    assert "巢湖西半湖取水口" in page and "下游取水口与断面" in page
    (artifacts_dir / "emergency-sample-water.html").write_text(page, encoding="utf-8")


def test_sample_air_release_in_hefei(sample_settings, artifacts_dir):
    t = pd.Timestamp("2025-03-24 20:25", tz="Asia/Shanghai")
    layers = load_layers(sample_settings, time=t)
    assert layers.air_hourly is not None and 0 < len(layers.air_hourly) < 2000
    res = assess_incident(Incident(117.28, 31.86, t, "air", "cl2", 1000.0), layers)
    assert res.wind is not None and res.wind.source in set(layers.air_stations["station_id"])
    assert abs((res.wind.time - t) / pd.Timedelta(hours=1)) <= 3
    rec = res.tables["receptors"]
    assert (rec["role"] == "receptor").sum() > 5
    assert rec["ring_m"].dropna().isin([1000, 3000, 5000]).all()
    assert res.summary["population_in_rings"]["5000"] > 0
    sus = res.tables["suspects"]
    assert len(sus) > 10 and sus["score"].is_monotonic_decreasing
    up = sus[sus["upwind"] == True]  # noqa: E712
    assert len(up) and sus.iloc[0]["upwind"]
    assert res.summary["plume"]["levels"][0]["area_km2"] > 0
    (artifacts_dir / "emergency-sample-air.html").write_text(res.to_html(), encoding="utf-8")
