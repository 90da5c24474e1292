"""The layer list the app builds from the server's ``/api`` listings (over real HTTP)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from onemap.app import create_dash
from onemap.app.layers import data_today, hideout, layer_component
from onemap.app.legend import legend_panel
from onemap.app.sources import base_path, internal_url, load_sources
from onemap.config import Settings
from onemap.styles.symbology import AQI_LEVELS

CATALOG = {"datasets": [
    {"id": "air_stations", "kind": "vector", "family": "air_stations", "title": "空气质量监测站",
     "title_en": "Air quality stations", "feature_count": 12, "bbox": [117, 31, 118, 32]},
    {"id": "pollution_sources", "kind": "vector", "family": "pollution_sources",
     "title": "污染源", "title_en": "Pollution sources", "feature_count": 3000,
     "version": "0a1b2c3d4e5f6789"},
    {"id": "air_hourly", "kind": "table", "family": "air_hourly", "title": "小时数据"},
]}
RASTERS = {"rasters": [
    {"id": "ndvi_2024", "title": "植被指数 NDVI", "title_en": "NDVI", "date": "2024-07",
     "bounds": [117.0, 31.2, 118.0, 32.0],
     "tilejson": "http://public.example/onemap/raster/ndvi_2024/WebMercatorQuad/tilejson.json"
                 "?tilesize=256&tile_format=png&colormap_name=onemap_ndvi&rescale=-0.2,1"},
]}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        doc = {"/api/catalog": CATALOG, "/api/rasters": RASTERS}.get(self.path)
        body = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(200 if doc else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def stub_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _settings(port: int, **kw: object) -> Settings:
    return Settings(data_dir=Path("."), port=port, **kw)  # type: ignore[arg-type]


def test_layers_come_from_the_catalogue(stub_port: int) -> None:
    src = load_sources(_settings(stub_port, public_url="https://gis.example/onemap"))
    assert not src.errors
    by_id = {layer.id: layer for layer in src.layers}
    assert set(by_id) == {"air_stations", "pollution_sources", "ndvi_2024"}  # no tables
    air = by_id["air_stations"]
    assert air.group == "monitoring" and air.default_on
    # relative to the public path, so a proxied deployment works
    assert air.url.startswith("/onemap/ogc/collections/air_stations/items?f=json&limit=")
    assert by_id["pollution_sources"].clustered
    ndvi = by_id["ndvi_2024"]
    assert ndvi.group == "remote_sensing" and "2024-07" in ndvi.title
    assert ndvi.url.startswith("/onemap/raster/ndvi_2024/tiles/WebMercatorQuad/{z}/{x}/{y}.png?")
    assert "colormap_name=onemap_ndvi" in ndvi.url and "rescale=-0.2,1" in ndvi.url
    assert "tile_format" not in ndvi.url
    assert ndvi.rescale == [-0.2, 1.0]


def test_unreachable_server_gives_a_message_not_a_crash() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    src = load_sources(_settings(port))
    assert not src.layers
    assert [key for key, _ in src.errors] == ["catalog_error", "rasters_error"]
    app = create_dash(_settings(port))
    text = json.dumps(app.layout().to_plotly_json(), default=str, ensure_ascii=False)
    assert "无法读取图层目录" in text


def test_page_embeds_no_geojson(stub_port: int) -> None:
    app = create_dash(_settings(stub_port))
    layout = json.dumps(app.layout().to_plotly_json(), default=str, ensure_ascii=False)
    assert "FeatureCollection" not in layout and '"coordinates"' not in layout
    assert "生态环境一张图" in layout


def test_styling_travels_in_the_hideout(stub_port: int) -> None:
    specs = load_sources(_settings(stub_port)).to_store()
    air = next(s for s in specs if s["family"] == "air_stations")
    h = hideout(air, "zh", tile_basemap=False)
    assert h["style"]["by"] == "aqi"
    assert [b[1] for b in h["style"]["breaks"]] == [lv.color for lv in AQI_LEVELS]
    assert h["popup"]["fields"][0][1] == "站点编码"
    comp = layer_component(air, "en", tile_basemap=False).to_plotly_json()
    assert comp["props"]["url"] == air["url"] and "data" not in comp["props"]
    assert comp["props"]["pointToLayer"] == {"variable": "onemap.pointToLayer"}
    admin = {**air, "id": "admin", "family": "admin_boundaries"}
    assert hideout(admin, "zh", tile_basemap=True)["style"]["fill"] is False


def test_permits_are_judged_on_the_data_s_last_beijing_day(stub_port: int) -> None:
    """A source popup's "today" is the time bar's last hour, as a Beijing date (not UTC)."""
    late = {"start": "2025-01-01T00:00:00Z", "end": "2025-12-31T16:00:00Z"}  # 00:00 next day
    assert data_today(late) == "2026-01-01"
    assert data_today({**late, "end": "2025-12-31T15:00:00Z"}) == "2025-12-31"
    assert data_today(None) is None and data_today({"start": "x", "end": "y"}) is None
    specs = load_sources(_settings(stub_port)).to_store()
    sources = next(s for s in specs if s["family"] == "pollution_sources")
    assert hideout(sources, "zh", False, data_today(late))["today"] == "2026-01-01"
    assert hideout(sources, "zh", False)["today"] is None


def test_legend_lists_aqi_levels(stub_port: int) -> None:
    specs = load_sources(_settings(stub_port)).to_store()
    text = json.dumps([c.to_plotly_json() for c in legend_panel(specs, {"air_stations",
                                                                        "ndvi_2024"}, "zh")],
                      default=str, ensure_ascii=False)
    for lv in AQI_LEVELS:
        assert lv.label in text
    assert "linear-gradient" in text  # the NDVI ramp


def test_addresses() -> None:
    assert internal_url(Settings(data_dir=Path("."), host="0.0.0.0", port=9)) == \
        "http://127.0.0.1:9"
    assert base_path(Settings(data_dir=Path("."), public_url="http://h:1")) == "/"
    assert base_path(Settings(data_dir=Path("."), public_url="https://h/a/b/")) == "/a/b/"


def test_a_big_layer_is_drawn_from_its_vector_tiles(stub_port: int) -> None:
    """Over ``app_max_features``: the OGC vector tiles (tileMatrix/tileRow/tileCol, relative
    to the public path), an empty component carrying them, the plugin served by our server."""
    settings = _settings(stub_port, public_url="https://gis.example/onemap",
                         app_max_features=1000)
    by_id = {layer.id: layer for layer in load_sources(settings).layers}
    big, small = by_id["pollution_sources"], by_id["air_stations"]
    assert big.tiles_url == "/onemap/ogc/collections/pollution_sources/tiles/WebMercatorQuad/" \
        "{z}/{y}/{x}?v=0a1b2c3d4e5f6789"  # the data version: cached as immutable
    assert not big.clustered and not big.default_on and small.tiles_url == ""
    spec = load_sources(settings).to_store()
    comp = layer_component(next(s for s in spec if s["id"] == "pollution_sources"), "en", False)
    assert comp.id == {"type": "om-tile-layer", "layer": "pollution_sources"}
    assert comp.data == {"type": "FeatureCollection", "features": []}
    assert getattr(comp, "url", None) is None
    tiles = comp.hideout["tiles"]
    assert tiles["url"] == big.tiles_url and tiles["pane"] == "om-pollution_sources"
    assert tiles["item"] == "/onemap/ogc/collections/pollution_sources/items/"
    assert tiles["script"] == ("/onemap/static/vendor/leaflet.vectorgrid/"
                               "Leaflet.VectorGrid.bundled.min.js")
    assert tiles["title"] == "{count} features, click to zoom in" and not tiles["live"]
    assert comp.hideout["popup"]["key_field"] == "source_id"  # the OGC id a click reads
