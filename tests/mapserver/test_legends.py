"""``/api/legends``: every colormap as JSON stops and a PNG ramp drawn from the very table that
colours the tiles, and the WMTS ``LegendURL`` pointing at it."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
import requests
from rasterio.io import MemoryFile

from onemap.styles.colormaps import RASTER_STYLES, rio_colormap

pytestmark = pytest.mark.server


def _png(content: bytes):
    with MemoryFile(content) as mem, mem.open() as img:
        return img.read()


def test_list_has_every_onemap_colormap(live_server: str) -> None:
    doc = requests.get(f"{live_server}/api/legends", timeout=30).json()
    by_name = {d["name"]: d for d in doc["legends"]}
    assert set(by_name) == set(RASTER_STYLES)
    for name, style in RASTER_STYLES.items():
        d = by_name[name]
        assert (d["title"], d["title_en"], d["unit"]) == (style.title, style.title_en, style.unit)
        assert (d["vmin"], d["vmax"]) == (style.vmin, style.vmax)
        assert [(s["value"], s["color"]) for s in d["stops"]] == list(style.stops)
        assert any(link["href"].endswith(f"/api/legends/{name}.png") for link in d["links"])


def test_one_onemap_and_one_builtin_legend(live_server: str) -> None:
    d = requests.get(f"{live_server}/api/legends/onemap_pm25", timeout=30).json()
    assert d["unit"] == "µg/m³" and d["stops"][0] == {"value": 0, "color": "#00E400"}
    v = requests.get(f"{live_server}/api/legends/viridis", timeout=30)
    assert v.status_code == 200
    stops = v.json()["stops"]
    assert len(stops) >= 5 and stops[0]["color"] == "#440154"  # viridis starts dark purple
    assert [s["value"] for s in stops] == sorted(s["value"] for s in stops)


@pytest.mark.parametrize("name", [*sorted(RASTER_STYLES), "viridis"])
def test_png_ramp_matches_the_tile_colormap(live_server: str, name: str) -> None:
    r = requests.get(f"{live_server}/api/legends/{name}.png", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    data = _png(r.content)
    assert data.shape[1:] == (20, 256)
    if name in RASTER_STYLES:
        cmap = rio_colormap(name)
        assert tuple(data[:3, 10, 0]) == cmap[0][:3]
        assert tuple(data[:3, 10, 255]) == cmap[255][:3]
        assert tuple(data[:3, 0, 128]) == cmap[128][:3]
    small = _png(requests.get(f"{live_server}/api/legends/{name}.png",
                              params={"width": 64, "height": 8}, timeout=30).content)
    assert small.shape[1:] == (8, 64)


@pytest.mark.parametrize("name", ["nope", "..%2F..%2Fetc%2Fpasswd", "onemap_ndvi_x"])
def test_unknown_colormap_is_a_json_404(live_server: str, name: str) -> None:
    for tail in (name, f"{name}.png"):
        r = requests.get(f"{live_server}/api/legends/{tail}", timeout=30)
        assert r.status_code == 404, (tail, r.status_code)
        assert "detail" in r.json() and "root:" not in r.text


def test_wmts_style_has_a_legend_url(live_server: str, raster_entries) -> None:
    entry = next(e for e in raster_entries if (e.extra or {}).get("colormap"))
    xml = requests.get(f"{live_server}/raster/{entry.id}/WebMercatorQuad/WMTSCapabilities.xml",
                       timeout=30)
    root = ElementTree.fromstring(xml.content)
    ns = {"w": "http://www.opengis.net/wmts/1.0"}
    legend = root.find(".//w:Layer/w:Style/w:LegendURL", ns)
    assert legend is not None and legend.get("format") == "image/png"
    href = legend.get("{http://www.w3.org/1999/xlink}href")
    assert href == f"{live_server}/api/legends/{entry.extra['colormap']}.png"
    assert requests.get(href, timeout=30).status_code == 200
