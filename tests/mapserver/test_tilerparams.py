"""The image routes' parameters (onemap/mapserver/tilerparams.py): each value that was a 500
(found by schemathesis) is a 4xx ``{"code", "detail"}`` naming it, and images are bounded by
``ONEMAP_MAX_IMAGE_PIXELS``."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import requests

from onemap.catalog import Entry

pytestmark = pytest.mark.server

NDVI_TILE = "tiles/WebMercatorQuad/9/422/211.png"
INSIDE = {"type": "Polygon", "coordinates": [[[117.2, 31.5], [117.6, 31.5], [117.6, 31.9],
                                              [117.2, 31.9], [117.2, 31.5]]]}


def _ndvi(raster_entries: list[Entry]) -> str:
    return next(e.id for e in raster_entries if e.id.startswith("ndvi_"))


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _refused(r: requests.Response, status: int, words: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert body["code"] and words in body["detail"], body
    return body


@pytest.mark.parametrize(("tail", "params", "words"), [
    ("preview.png", {"rescale": "AAA"}, "rescale"),
    ("preview.png", {"rescale": "null"}, "rescale"),
    ("preview.png", {"rescale": "0,inf"}, "finite"),
    ("preview.png", {"rescale": "0,1,2"}, "rescale"),
    ("preview.png", {"color_formula": "x"}, "color_formula"),
    ("preview.png", {"algorithm": "hillshade", "algorithm_params": "null"}, "algorithm_params"),
    ("preview.png", {"algorithm": "hillshade", "algorithm_params": "[1]"}, "algorithm_params"),
    ("preview.png", {"algorithm": "hillshade", "algorithm_params": '{"nope": 1}'},
     "algorithm_params"),
    ("preview.png", {"colormap": "[1]"}, "colormap"),
    ("preview.png", {"colormap": "5"}, "colormap"),
    ("preview.png", {"bidx": "nan"}, "bidx"),
    ("preview.png", {"width": "0", "height": "10"}, "width"),
    ("statistics", {"p": "198"}, "percentile"),
    ("statistics", {"histogram_bins": "99999999"}, "histogram_bins"),
    ("statistics", {"histogram_range": "22455.55,-86477.564"}, "histogram_range"),
    ("statistics", {"histogram_bins": "3,2,1"}, "histogram_bins"),
    ("WebMercatorQuad/tilejson.json", {"minzoom": "-59243"}, "minzoom"),
    ("WorldCRS84Quad/tilejson.json", {"padding": "2152353357117203415040"}, "padding"),
    (NDVI_TILE, {"buffer": "1e300"}, "buffer"),
    ("tiles/CDB1GlobalGrid", {"maxzoom": "328"}, "maxzoom"),
    ("bbox/116.99,-1.7976931348623157e+308,-1e16,5e16.png", {}, "WGS84"),
    ("bbox/118,31,117,32.png", {}, "min below max"),
    ("bbox/117,31,nan,32.png", {}, "finite"),
    ("bbox/117,31,118,91.png", {}, "maxy"),
    ("point/117.30151655,1.9354844939387144e+16", {}, "lat"),
    ("point/-181,31", {}, "lon"),
    ("bbox/117,31,118,32.xyz", {}, "format"),
])
def test_raster_parameters_are_400(live_server: str, raster_entries: list[Entry], tail: str,
                                   params: dict, words: str) -> None:
    r = requests.get(f"{live_server}/raster/{_ndvi(raster_entries)}/{tail}", params=params,
                     timeout=60)
    _refused(r, 400, words)


def test_tilejson_with_titiler_tile_options(live_server: str,
                                            raster_entries: list[Entry]) -> None:
    """titiler's TileParams has no ``__post_init__``: checked() once called it anyway (a 500
    on every tilejson, found by schemathesis)."""
    r = requests.get(f"{live_server}/raster/{_ndvi(raster_entries)}/WorldCRS84Quad/tilejson.json",
                     params={"colormap_name": "viridis", "padding": "2", "buffer": "0.5"},
                     timeout=60)
    assert r.status_code == 200 and r.json()["tiles"], r.text


@pytest.mark.parametrize("tail", [
    "tiles/WebMercatorQuad/99/1/1.png", "tiles/WebMercatorQuad/9/422/99999999999.png",
    "tiles/WebMercatorQuad/9/-1/211.png", "tiles/WorldCRS84Quad/8/-590897397/105.jpeg",
    "tiles/CDB1GlobalGrid/22/0/0.png",
])
def test_tiles_outside_the_matrix_are_404(live_server: str, raster_entries: list[Entry],
                                          tail: str) -> None:
    r = requests.get(f"{live_server}/raster/{_ndvi(raster_entries)}/{tail}", timeout=60)
    _refused(r, 404, "")


def test_a_point_beside_the_raster_is_404(live_server: str, raster_entries: list[Entry]) -> None:
    r = requests.get(f"{live_server}/raster/{_ndvi(raster_entries)}/point/0.0,0.0", timeout=60)
    _refused(r, 404, "outside")
    r = requests.get(f"{live_server}/raster/{_ndvi(raster_entries)}/point/1e400,0", timeout=60)
    assert r.status_code in (400, 422), r.text


@pytest.mark.parametrize("tail", ["preview/10000x10000.png", "preview.png?width=5000&height=5000",
                                  "preview.png?max_size=100000",
                                  "bbox/117,31,118,32/10000x10000.png",
                                  "bbox/117,31,118,32.png?max_size=9000",
                                  f"{NDVI_TILE}?tilesize=100000"])
def test_images_beyond_the_limit_are_413(live_server: str, raster_entries: list[Entry],
                                         tail: str) -> None:
    r = requests.get(f"{live_server}/raster/{_ndvi(raster_entries)}/{tail}", timeout=60)
    _refused(r, 413, "ONEMAP_MAX_IMAGE_PIXELS")


def test_images_within_the_limit_render(live_server: str, raster_entries: list[Entry]) -> None:
    base = f"{live_server}/raster/{_ndvi(raster_entries)}"
    r = requests.get(f"{base}/preview/300x200.png", timeout=60)
    assert r.status_code == 200 and _png_size(r.content) == (300, 200)
    # a bbox with no size of its own is read onto at most 1024 px, not its native resolution
    r = requests.get(f"{base}/bbox/100,20,130,40.png", timeout=60)
    assert r.status_code == 200, r.text
    assert max(_png_size(r.content)) <= 1024


@pytest.mark.parametrize("body", [
    {"type": "Feature", "properties": None, "geometry": None},
    {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon",
                                                       "coordinates": []}},
    {"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                       "coordinates": [117, 31]}},
    {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                       "coordinates": [[[1, 2]]]}},
    {"type": "FeatureCollection", "features": []},
    [1], None,
])
@pytest.mark.parametrize("route", ["raster", "cube"])
@pytest.mark.parametrize("tail", ["feature.png", "statistics"])
def test_invalid_geometries_are_400(live_server: str, raster_entries: list[Entry],
                                    entries: dict[str, Entry], body: object, route: str,
                                    tail: str) -> None:
    dataset = _ndvi(raster_entries) if route == "raster" else \
        next(e.id for e in entries.values() if e.kind == "cube")
    r = requests.post(f"{live_server}/{route}/{dataset}/{tail}", json=body, timeout=60)
    assert r.status_code in (400, 422), r.text
    assert r.json()["code"], r.text


def test_a_valid_feature_is_served(live_server: str, raster_entries: list[Entry]) -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": INSIDE}
    base = f"{live_server}/raster/{_ndvi(raster_entries)}"
    r = requests.post(f"{base}/statistics", json=feature, timeout=60)
    assert r.status_code == 200, r.text
    assert np.isfinite(r.json()["properties"]["statistics"]["b1"]["mean"])
    assert requests.post(f"{base}/feature.png", json=feature, timeout=60).status_code == 200


@pytest.mark.parametrize(("tail", "params", "words"), [
    ("WebMercatorQuad/tilejson.json", {"nodata": "null"}, "nodata"),
    ("WebMercatorQuad/tilejson.json", {"rescale": "[]"}, "rescale"),
    ("bbox/117,31.5,117.6,32.webp", {"bidx": ["1", "2"]}, "bidx"),
    ("bbox/117,31.5,117.6,32.png", {"algorithm_params": "null", "algorithm": "hillshade"},
     "algorithm_params"),
    ("tiles/WebMercatorQuad/9/422/211.png", {"colormap": "{\"a\": 1}"}, "colormap"),
])
def test_cube_parameters_are_400(live_server: str, entries: dict[str, Entry], tail: str,
                                 params: dict, words: str) -> None:
    cube = next(e.id for e in entries.values() if e.kind == "cube")
    r = requests.get(f"{live_server}/cube/{cube}/{tail}", params=params, timeout=60)
    _refused(r, 400, words)


def test_cube_point_beside_is_404(live_server: str, entries: dict[str, Entry]) -> None:
    cube = next(e.id for e in entries.values() if e.kind == "cube")
    r = requests.get(f"{live_server}/cube/{cube}/point/4.2e16,2.5e16", timeout=60)
    assert r.status_code in (400, 404), r.text
