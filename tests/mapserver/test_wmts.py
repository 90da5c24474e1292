"""WMTS for the whole catalogue (/wmts, /wmts/1.0.0/…, /cube/{id}/{tms}/WMTSCapabilities.xml)
over real HTTP: the capabilities read by OWSLib, tiles in both encodings equal to the web
map's tiles of the same step, time steps, the errors clients parse, and hidden datasets."""

from __future__ import annotations

import morecantile
import numpy as np
import pytest
import requests
from lxml import etree
from owslib.wmts import WebMapTileService
from rasterio.io import MemoryFile

from onemap import catalog
from onemap.catalog import Entry
from tests.conftest import Caller, Guarded

pytestmark = pytest.mark.server

NS = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1",
      "xlink": "http://www.w3.org/1999/xlink"}
REST = "/wmts/1.0.0/WMTSCapabilities.xml"
#: The order of a <Layer>'s children in the WMTS 1.0.0 schema (wmtsGetCapabilities_response).
LAYER_ORDER = ["Title", "Abstract", "WGS84BoundingBox", "Identifier", "Style", "Format",
               "Dimension", "TileMatrixSetLink", "ResourceURL"]


def _rgba(png: bytes) -> np.ndarray:
    with MemoryFile(png) as mem, mem.open() as img:
        return img.read()


def _tile_at(entry: Entry, z: int = 9, tms: str = "WebMercatorQuad") -> morecantile.Tile:
    w, s, e, n = entry.bbox
    return morecantile.tms.get(tms).tile((w + e) / 2, (s + n) / 2, z)


def _web_map_tile(base: str, dataset: str, tile: morecantile.Tile, step: str | None = None
                  ) -> bytes:
    """The web map's tile of ``dataset`` (at cube ``step``), from its /api/rasters URL."""
    doc = requests.get(f"{base}/api/rasters", timeout=30).json()
    if step is None:
        url = next(r["tiles"] for r in doc["rasters"] if r["id"] == dataset)
    else:
        steps = next(s["steps"] for s in doc["series"] if s["id"] == dataset)
        url = next(s["tiles"] for s in steps if s["datetime"] == step)
    got = requests.get(url.replace("{z}/{x}/{y}", f"{tile.z}/{tile.x}/{tile.y}"), timeout=60)
    assert got.status_code == 200, got.text
    return got.content


def _report(r: requests.Response) -> tuple[str, str | None]:
    """(exceptionCode, locator) of an OWS ExceptionReport."""
    assert r.headers["content-type"].startswith("application/xml"), r.text
    exc = etree.fromstring(r.content).find("ows:Exception", NS)
    return exc.get("exceptionCode"), exc.get("locator")


@pytest.fixture(scope="module")
def caps(live_server: str) -> WebMapTileService:
    return WebMapTileService(f"{live_server}/wmts")


def test_owslib_reads_every_raster_series_and_cube(live_server: str, caps: WebMapTileService,
                                                   entries: dict[str, Entry]) -> None:
    rasters = [e for e in entries.values() if e.kind == "raster"]
    assert {"ndvi", "gf1_wfv", "pm25_hourly"} | {e.id for e in rasters} <= set(caps.contents)
    ndvi = caps["ndvi"]
    dates = sorted(e.extra["date"] for e in rasters if e.extra.get("collection") == "ndvi")
    assert ndvi.dimensions["Time"]["values"] == dates and len(dates) >= 2
    assert ndvi.dimensions["Time"]["default"] == dates[-1]  # the web map's slider starts there
    cube = caps["pm25_hourly"]
    times = entries["pm25_hourly"].extra["times"]
    assert cube.dimensions["Time"]["values"] == times
    assert cube.dimensions["Time"]["default"] == times[0]  # /cube/…/tiles without sel
    assert not caps["ndvi_2025_07"].dimensions  # a single raster: no dimension
    for layer in (ndvi, cube, caps["ndvi_2025_07"]):
        assert set(layer.tilematrixsetlinks) == {"WebMercatorQuad", "WorldCRS84Quad"}
        assert layer.styles["default"]["isDefault"]
        assert layer.styles["default"]["legend"].endswith(".png")
    assert "{Time}" in cube.resourceURLs[0]["template"]
    assert caps.tilematrixsets["WorldCRS84Quad"].crs == "urn:ogc:def:crs:OGC::CRS84"
    assert caps.tilematrixsets["WebMercatorQuad"].crs == "urn:ogc:def:crs:EPSG::3857"
    encodings = {op.name: {c.values[0] for m in op.methods for c in m["constraints"]}
                 for op in caps.operations}
    assert encodings == {"GetCapabilities": {"RESTful", "KVP"}, "GetTile": {"RESTful", "KVP"}}
    assert not caps.restonly
    # the RESTful document is the same one; every <Layer> in the schema's order
    root = etree.fromstring(requests.get(f"{live_server}{REST}", timeout=30).content)
    layers = root.findall("w:Contents/w:Layer", NS)
    assert len(layers) == len(caps.contents)
    for layer in layers:
        names = [etree.QName(c).localname for c in layer]
        assert names == sorted(names, key=LAYER_ORDER.index), names


def test_gettile_kvp_and_rest_are_the_web_maps_tiles(live_server: str, caps: WebMapTileService,
                                                     entries: dict[str, Entry]) -> None:
    times = entries["pm25_hourly"].extra["times"]
    tile = _tile_at(entries["pm25_hourly"])
    pngs = []
    for when in (times[10], times[100]):
        kvp = caps.gettile(layer="pm25_hourly", tilematrixset="WebMercatorQuad",
                           tilematrix=str(tile.z), row=tile.y, column=tile.x, TIME=when).read()
        rest = requests.get(caps.buildTileResource(
            layer="pm25_hourly", tilematrixset="WebMercatorQuad", tilematrix=str(tile.z),
            row=tile.y, column=tile.x, Time=when), timeout=60)
        assert rest.status_code == 200 and rest.headers["content-type"] == "image/png"
        assert kvp == rest.content == _web_map_tile(live_server, "pm25_hourly", tile, when)
        pngs.append(_rgba(kvp))
    assert (pngs[0] != pngs[1]).any(axis=0).mean() > 0.2  # two hours, two fields
    # two NDVI months: the members' own tiles, and different
    ndvi = entries["ndvi_2025_07"]
    tile = _tile_at(ndvi)
    months = []
    for dataset in ("ndvi_2025_01", "ndvi_2025_07"):
        date = entries[dataset].extra["date"]
        got = caps.gettile(layer="ndvi", tilematrixset="WebMercatorQuad", tilematrix=str(tile.z),
                           row=tile.y, column=tile.x, TIME=date).read()
        assert got == _web_map_tile(live_server, dataset, tile)
        months.append(_rgba(got))
    assert (months[0] != months[1]).any(axis=0).mean() > 0.2


def test_literal_time_and_no_time_are_the_default(live_server: str,
                                                  entries: dict[str, Entry]) -> None:
    """QGIS 3.22 sends the template's ``{Time}`` when no step was chosen."""
    for layer, dataset, step in (("ndvi", "ndvi_2025_10", None),
                                 ("pm25_hourly", "pm25_hourly",
                                  entries["pm25_hourly"].extra["times"][0])):
        tile = _tile_at(entries[dataset], tms="WorldCRS84Quad")
        rest = requests.get(f"{live_server}/wmts/1.0.0/{layer}/default/%7BTime%7D/"
                            f"WorldCRS84Quad/{tile.z}/{tile.y}/{tile.x}.png", timeout=60)
        kvp = requests.get(f"{live_server}/wmts", timeout=60, params={
            "service": "WMTS", "Request": "GetTile", "LAYER": layer, "tilematrixset":
            "WorldCRS84Quad", "TileMatrix": tile.z, "TILEROW": tile.y, "tilecol": tile.x})
        ref = requests.get(f"{live_server}/wmts/1.0.0/{layer}/default/"
                           f"{step or entries[dataset].extra['date']}/WorldCRS84Quad/"
                           f"{tile.z}/{tile.y}/{tile.x}.png", timeout=60)
        assert rest.status_code == kvp.status_code == ref.status_code == 200, rest.text
        assert rest.content == kvp.content == ref.content
        assert (_rgba(rest.content)[3] > 0).mean() > 0.5
    # a tile of the matrix beside the data is transparent, not an error
    far = requests.get(f"{live_server}/wmts/1.0.0/ndvi/default/2025-07/WebMercatorQuad/9/0/0.png",
                       timeout=60)
    assert far.status_code == 200 and (_rgba(far.content)[-1] == 0).all()


def test_capabilities_at_a_time_set_the_default(live_server: str,
                                                entries: dict[str, Entry]) -> None:
    when = entries["pm25_hourly"].extra["times"][30]
    for url in (f"{live_server}{REST}?time={when}",
                f"{live_server}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities&TIME={when}",
                f"{live_server}/cube/pm25_hourly/WebMercatorQuad/WMTSCapabilities.xml"
                f"?time={when}"):
        caps = WebMapTileService(url.split("?")[0], xml=requests.get(url, timeout=30).content)
        assert caps["pm25_hourly"].dimensions["Time"]["default"] == when, url
    bad = requests.get(f"{live_server}{REST}?time=1999-01-01", timeout=30)
    assert bad.status_code == 400 and _report(bad) == ("InvalidParameterValue", "time")


#: A GetTile request inside the NDVI series; each case below changes it, or replaces it (None).
GET_TILE = {"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": "ndvi",
            "TILEMATRIXSET": "WebMercatorQuad", "TILEMATRIX": "9", "TILEROW": "200",
            "TILECOL": "420", "FORMAT": "image/png", "STYLE": "default"}


@pytest.mark.parametrize("query, status, code, locator", [
    ({"SERVICE": "WMTS", "REQUEST": None}, 400, "MissingParameterValue", "request"),
    ({"REQUEST": "GetFeatureInfo"}, 400, "OperationNotSupported", "request"),
    ({"SERVICE": "WFS"}, 400, "InvalidParameterValue", "service"),
    ({"VERSION": "2.0.0"}, 400, "InvalidParameterValue", "version"),
    ({"TILEMATRIXSET": None, "TILECOL": None}, 400, "MissingParameterValue", "tilematrixset"),
    ({"TILEMATRIX": "x"}, 400, "InvalidParameterValue", "tilematrix"),
    ({"TILEMATRIX": "30"}, 400, "InvalidParameterValue", "tilematrix"),
    ({"TILEROW": "9999"}, 400, "TileOutOfRange", "tilerow"),
    ({"TILEMATRIXSET": "NoSuchQuad"}, 400, "InvalidParameterValue", "tilematrixset"),
    ({"FORMAT": "image/jpeg"}, 400, "InvalidParameterValue", "format"),
    ({"STYLE": "fancy"}, 400, "InvalidParameterValue", "style"),
    ({"TIME": "2023-01"}, 400, "InvalidParameterValue", "time"),
    ({"TIME": "yesterday"}, 400, "InvalidParameterValue", "time"),
    ({"LAYER": "no_such_layer"}, 404, "InvalidParameterValue", "layer"),
])
def test_kvp_errors_are_exception_reports(live_server: str, query: dict, status: int,
                                          code: str, locator: str) -> None:
    params = {k: v for k, v in {**GET_TILE, **query}.items() if v is not None}
    r = requests.get(f"{live_server}/wmts", params=params, timeout=60)
    assert r.status_code == status, r.text
    assert _report(r) == (code, locator)
    ok = requests.get(f"{live_server}/wmts", timeout=60,  # keys in any case
                      params={k.lower() if i % 2 else k: v for i, (k, v)
                              in enumerate(GET_TILE.items())})
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"


def test_rest_errors(live_server: str) -> None:
    base = f"{live_server}/wmts/1.0.0"
    for path, status, code in (
            ("/ndvi/default/2023-01/WebMercatorQuad/9/200/420.png", 400, "InvalidParameterValue"),
            ("/ndvi/default/2025-07/WebMercatorQuad/9/200/99999.png", 400, "TileOutOfRange"),
            ("/ndvi_2025_07/default/2025-07/WebMercatorQuad/9/200/420.png", 400,
             "InvalidParameterValue"),  # a single raster has no Time
            ("/nope/default/WebMercatorQuad/9/200/420.png", 404, "InvalidParameterValue"),
            ("/ndvi/default/WebMercatorQuad/9/200", 404, "InvalidParameterValue")):
        r = requests.get(base + path, timeout=60)
        assert r.status_code == status and _report(r)[0] == code, (path, r.text)


def _layers(g: Guarded, who: Caller | None) -> dict[str, list[str]]:
    headers = who.headers if who else {}
    root = etree.fromstring(requests.get(f"{g.base}{REST}", headers=headers, timeout=60).content)
    return {layer.findtext("ows:Identifier", namespaces=NS):
            [v.text for v in layer.findall("w:Dimension/w:Value", NS)]
            for layer in root.findall("w:Contents/w:Layer", NS)}


def test_hidden_datasets_are_absent(guarded: Guarded, callers: dict[str, Caller]) -> None:
    hidden = {guarded.alone, guarded.cube, guarded.member}
    secret_month = "2026-01"  # the internal member's date in the public ndvi series
    for who in (None, callers["viewer_a"]):
        seen = _layers(guarded, who)
        assert not set(seen) & hidden and secret_month not in seen["ndvi"]
        assert "pm25_hourly" in seen
    mine = _layers(guarded, callers["viewer"])
    assert hidden <= set(mine) and mine["ndvi"][-1] == secret_month
    # tiles: a hidden layer answers as an unknown one; a hidden step is no step
    tile = _tile_at(catalog.get("pm25_hourly", guarded.settings))
    path = "/wmts/1.0.0/{layer}/default/{time}/WebMercatorQuad/" + \
        f"{tile.z}/{tile.y}/{tile.x}.png"
    for layer in (guarded.cube, guarded.alone):
        secret = requests.get(guarded.base + path.format(layer=layer, time="%7BTime%7D"),
                              timeout=60)
        unknown = requests.get(guarded.base + path.format(layer="no_such", time="%7BTime%7D"),
                               timeout=60)
        assert secret.status_code == unknown.status_code == 404
        assert secret.text == unknown.text.replace("no_such", layer)
        own = requests.get(guarded.base + path.format(layer=layer, time="%7BTime%7D"),
                           headers=callers["viewer"].headers, timeout=60)
        assert own.status_code == 200 and own.headers["content-type"] == "image/png"
    step = path.format(layer="ndvi", time=secret_month)
    assert requests.get(guarded.base + step, timeout=60).status_code == 400
    assert requests.get(guarded.base + step, headers=callers["viewer_a"].headers,
                        timeout=60).status_code == 400
    assert requests.get(guarded.base + step, headers=callers["viewer"].headers,
                        timeout=60).status_code == 200
