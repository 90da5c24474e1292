"""``/raster/{id}/zonal/{layer_id}`` on the real server: per-feature statistics as GeoJSON and
CSV, equal to the library function, and refusals in words for layers that are not polygons."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from onemap.config import Settings
from onemap.layers.store import read_layer
from onemap.raster.zonal import zonal_stats

pytestmark = pytest.mark.server
RASTER = "ndvi_2025_07"


def test_geojson_per_red_line_equals_the_function(live_server: str,
                                                  sample_settings: Settings) -> None:
    r = requests.get(f"{live_server}/raster/{RASTER}/zonal/red_lines", timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    layer = read_layer("red_lines", sample_settings)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == len(layer)
    expected = zonal_stats(sample_settings.raster_dir / f"{RASTER}.tif", layer)
    by_id = {f["id"]: f for f in doc["features"]}
    for idx, row in layer.iterrows():
        feat = by_id[row["redline_id"]]
        props = feat["properties"]
        assert props["name"] == row["name"] and props["county_code"] == row["county_code"]
        assert feat["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert props["count"] == expected.loc[idx, "count"]
        for col in ("mean", "min", "max", "p10", "p50", "p90", "median", "std"):
            assert props[col] == pytest.approx(expected.loc[idx, col], rel=1e-9), col
        assert -0.2 <= props["mean"] <= 1.0


def test_csv_ids_percentiles_and_skip_geometry(live_server: str) -> None:
    base = f"{live_server}/raster/{RASTER}/zonal/admin_boundaries"
    r = requests.get(base, params={"f": "csv", "percentiles": "5,95", "ids": "340102,340103"},
                     timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["id"] for row in rows] == ["340102", "340103"]
    assert {"name", "adcode", "count", "mean", "p5", "p95"} <= set(rows[0])
    assert float(rows[0]["p5"]) <= float(rows[0]["mean"]) <= float(rows[0]["p95"])
    doc = requests.get(base, params={"skipGeometry": "true", "ids": "340102"}, timeout=60).json()
    assert len(doc["features"]) == 1 and doc["features"][0]["geometry"] is None


@pytest.mark.parametrize(("layer", "status", "words"), [
    ("air_stations", 400, "polygons"), ("air_hourly", 400, "not a vector"),
    ("ndvi_2025_04", 400, "raster"), ("no_such_layer", 404, "unknown layer"),
])
def test_layers_that_are_not_polygons_are_refused(live_server: str, layer: str, status: int,
                                                  words: str) -> None:
    r = requests.get(f"{live_server}/raster/{RASTER}/zonal/{layer}", timeout=60)
    assert r.status_code == status, r.text
    body = r.json()
    assert words in body["detail"] and body["code"]


@pytest.mark.parametrize("params", [{"expression": "b2"}, {"bidx": "2"}, {"percentiles": "x"},
                                    {"percentiles": "150"}, {"f": "xml"}])
def test_bad_parameters_are_400_in_words(live_server: str, params: dict) -> None:
    r = requests.get(f"{live_server}/raster/{RASTER}/zonal/red_lines", params=params,
                     timeout=60)
    assert r.status_code == 400, r.text
    assert r.json()["code"] and len(r.json()["detail"]) > 10
