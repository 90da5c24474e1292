"""What GIS clients do with /wms and /wfs beyond drawing: WFS 2.0 DescribeFeatureType read by
OWSLib (the layer's fields and types, as catalogued; its geometry type; hidden = unknown), and
WMS 1.3.0 GetFeatureInfo and GetLegendGraphic as OWSLib and QGIS 3.22 ask for them (QGIS's
Identify tool and the Layers panel's legend), each against the real server."""
from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest
from owslib.util import ServiceException, openURL
from owslib.wfs import WebFeatureService
from owslib.wms import WebMapService

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from tests.conftest import Caller
from tests.mapserver.test_wms import image, painted

QGIS_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_wms_info.py")
#: The type DescribeFeatureType gives each catalogue field type: XML Schema's, and GML 3.2's
#: time instant for a date or date-time (MapServer 8 writes ``<gml:timePosition>`` in
#: GetFeature).
XSD_TYPES = {"str": "string", "int": "long", "float": "double", "datetime": "TimeInstantType",
             "date": "TimeInstantType"}
#: GML 3.2 property type of each catalogued geometry type.
GML_TYPES = {"Point": "gml:PointPropertyType", "MultiPoint": "gml:MultiPointPropertyType",
             "LineString": "gml:CurvePropertyType",
             "MultiLineString": "gml:MultiCurvePropertyType",
             "Polygon": "gml:SurfacePropertyType",
             "MultiPolygon": "gml:MultiSurfacePropertyType"}
XSD = "{http://www.w3.org/2001/XMLSchema}"
WFS_NS = {"wfs": "http://www.opengis.net/wfs/2.0", "gml": "http://www.opengis.net/gml/3.2",
          "ms": "http://mapserver.gis.umn.edu/mapserver"}


@pytest.fixture(scope="module")
def intake(sample_settings: Settings) -> dict:
    """A known feature: the first water intake, with its attributes as stored."""
    df = pyogrio.read_dataframe(sample_settings.data_dir / "store" / "water_intakes.gpkg")
    row = df.iloc[0]
    return {"lon": row.geometry.x, "lat": row.geometry.y,
            "attributes": {k: row[k].item() if hasattr(row[k], "item") else row[k]
                           for k in df.columns if k != "geometry"}}


def _same(text: str, value: object) -> bool:
    """A value QGIS shows as text equals the stored one (numbers by value: 300000 is
    300000.0)."""
    if isinstance(value, int | float):
        return float(text) == float(value)
    return text == str(value)


def _wfs(base: str, caller: Caller | None = None) -> WebFeatureService:
    """OWSLib's WFS 2.0 client; an account as Basic authentication (user name, API key), the
    way OWSLib passes credentials to every request, DescribeFeatureType included."""
    if caller is None:
        return WebFeatureService(f"{base}/wfs", version="2.0.0")
    return WebFeatureService(f"{base}/wfs", version="2.0.0", username=caller.auth[0],
                             password=caller.auth[1])


def _describe(wfs: WebFeatureService, layer: str) -> dict[str, str]:
    """The raw DescribeFeatureType of ``layer``: element name → type."""
    u = openURL(f"{wfs.url}", {"SERVICE": "WFS", "VERSION": "2.0.0",
                               "REQUEST": "DescribeFeatureType", "TYPENAMES": layer},
                auth=wfs.auth)
    root = ET.fromstring(u.read())
    return {el.get("name"): el.get("type") for el in root.iter(f"{XSD}element")
            if el.get("type") and el.get("name") != layer}


def test_wfs_describefeaturetype_matches_the_catalogue(live_server: str,
                                                       callers: dict[str, Caller],
                                                       entries: dict[str, Entry]) -> None:
    """Every vector layer a caller may see: OWSLib's ``get_schema`` gives exactly the
    catalogued fields with their types, the geometry is the layer's own GML type, and each
    feature's ``gml:id`` is its key."""
    anon, viewer = _wfs(live_server), _wfs(live_server, callers["viewer"])
    vectors = {e.id: e for e in entries.values() if e.kind == "vector"}
    public = {e.id for e in vectors.values() if e.access == "public"}
    seen = {n.split(":")[-1] for n in anon.contents}
    assert seen == public
    assert {n.split(":")[-1] for n in viewer.contents} == set(vectors)
    for layer, entry in vectors.items():
        wfs = anon if layer in public else viewer
        schema = wfs.get_schema(layer)
        # OWSLib 0.35 names no geometry column for a gml:MultiCurvePropertyType (it knows
        # GML 2's line types only) and lists it as a property instead
        column = schema.get("geometry_column", "msGeometry")
        assert column == "msGeometry", layer
        props = {k: v for k, v in schema["properties"].items() if k != column}
        assert props == {k: XSD_TYPES[t] for k, t in entry.fields.items()}, layer
        assert _describe(wfs, layer)[column] == GML_TYPES[entry.geometry_type], layer
        got = wfs.getfeature(typename=[layer], maxfeatures=3)
        members = ET.fromstring(got.read()).findall("wfs:member/*", WFS_NS)
        key = FAMILIES[entry.family].key
        assert len(members) == min(3, entry.feature_count), layer
        for member in members:
            value = member.find(f"ms:{key}", WFS_NS).text
            assert member.get(f"{{{WFS_NS['gml']}}}id") == f"{layer}.{value}", layer
    assert viewer.get_schema("incidents")["properties"]["time"] == "TimeInstantType"
    assert vectors["pollution_sources"].fields["permit_valid_until"] == "date"


def test_wfs_hidden_layer_is_unknown(live_server: str) -> None:
    """An internal layer's DescribeFeatureType to an anonymous caller: the very exception an
    unknown name gets (only the name differs)."""
    anon = _wfs(live_server)
    answers = {}
    for layer in ("pollution_sources", "no_such_layer"):
        with pytest.raises(ServiceException) as err:
            anon.get_schema(layer)
        answers[layer] = str(err.value).replace(layer, "NAME")
    assert answers["pollution_sources"] == answers["no_such_layer"]
    assert "InvalidParameterValue" in answers["no_such_layer"]


def test_owslib_getfeatureinfo_finds_a_known_feature(live_server: str, intake: dict) -> None:
    wms = WebMapService(f"{live_server}/wms", version="1.3.0")
    assert "application/json" in wms.getOperationByName("GetFeatureInfo").formatOptions
    assert wms.contents["water_intakes"].queryable
    lon, lat, d = intake["lon"], intake["lat"], 0.01

    def info(x: int, y: int, fmt: str) -> bytes:
        # OWSLib takes x,y (lon, lat) and sends latitude first for EPSG:4490 in WMS 1.3.0
        return wms.getfeatureinfo(layers=["water_intakes"], srs="EPSG:4490",
                                  bbox=(lon - d, lat - d, lon + d, lat + d), size=(101, 101),
                                  format="image/png", query_layers=["water_intakes"],
                                  info_format=fmt, xy=(x, y), feature_count=5).read()

    found = json.loads(info(50, 50, "application/json"))["features"]
    assert [f["properties"] for f in found] == [intake["attributes"]]
    assert "i=50&j=50" in wms.request.lower()
    assert json.loads(info(0, 0, "application/json"))["features"] == []
    gml = ET.fromstring(info(50, 50, "application/vnd.ogc.gml"))
    assert intake["attributes"]["intake_id"] in {el.text for el in gml.iter("intake_id")}


def test_owslib_legends_from_the_capabilities(live_server: str) -> None:
    """The legend URL each layer's style gives in the capabilities, fetched as OWSLib fetches:
    a PNG of the stated size, a row per class (the multi-class layer is taller)."""
    wms = WebMapService(f"{live_server}/wms", version="1.3.0")
    heights = {}
    for layer in ("water_intakes", "protected_areas", "pm25_hourly"):
        style = wms.contents[layer].styles["default"]
        assert style["legend_format"] == "image/png", layer
        png = openURL(style["legend"], timeout=60).read()
        bands = image(png)
        assert (bands.shape[2], bands.shape[1]) == (int(style["legend_width"]),
                                                    int(style["legend_height"])), layer
        assert painted(png) > 200, layer
        heights[layer] = bands.shape[1]
    assert heights["protected_areas"] > 2 * heights["water_intakes"]


def test_qgis_identifies_and_gets_the_legend(live_server: str, intake: dict) -> None:
    """QGIS 3.22's WMS provider: Identify (as GML features and as text) at the intake finds it
    with its attributes, nothing beside it; the Layers panel's legend is the capabilities'."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([QGIS_PYTHON, str(SCRIPT), f"{live_server}/wms", "water_intakes",
                          str(intake["lon"]), str(intake["lat"])], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["valid"], seen["error"]
    assert {"feature", "text"} <= set(seen["formats"])
    assert seen["feature_valid"]
    assert len(seen["features"]) == 1
    got = seen["features"][0]
    assert got.keys() == intake["attributes"].keys()
    assert all(_same(got[k], v) for k, v in intake["attributes"].items()), got
    assert intake["attributes"]["name"] in seen["text"]
    assert seen["far"] == []
    style = WebMapService(f"{live_server}/wms", version="1.3.0").contents[
        "water_intakes"].styles["default"]
    assert (seen["legend"]["width"], seen["legend"]["height"]) == (
        int(style["legend_width"]), int(style["legend_height"]))
    assert seen["legend"]["painted"] > 200
