"""OneMap on PostGIS against TiPg and MapServer 8 on the same PostGIS table (and COG).

``make bench-peers`` (= ``.venv/bin/python bench/peers.py [--data-dir var/bench-national]``;
the target installs Debian's ``lighttpd`` and ``wrk``). It makes or finds the cluster
``bench/store.py`` uses (``DIR/postgres``), starts OneMap with ``ONEMAP_DATABASE_URL`` (it
loads the layers and series into schema ``layers``; the bench waits until it has), TiPg 1.6
(PyPI, installed once into ``var/bench-peers/tipg-venv``, its own virtualenv) on the same
database and schema, and MapServer 8 (Debian's ``mapserv`` as two FastCGI processes under
lighttpd: :mod:`bench.mapserver_peer`), a ``CONNECTIONTYPE POSTGIS`` layer on the same table and
the NDVI COG as a raster layer — so all three read the very same table and indexes
(``layers.pollution_sources_national``, 1,000,000 points). Then, ``--repeat`` times each,
median and p95:

- **by key** — one feature by its indexed key (OneMap: ``source_id``; TiPg and MapServer: the
  primary key ``fid``);
- **first page** — ``limit=10`` with ``numberMatched``;
- **deep offset** — ``limit=10&offset=500000``;
- **bbox** — a 0.2° box in Beijing, ``limit=1000``;
- **bbox + filter** — the same with ``so2_t > 5`` (CQL2 text; MapServer 8.0 has no filter);
- **raster tiles** — 24 NDVI tiles at zooms 10 and 12: OneMap's (titiler, then its tile
  cache) against MapServer's WMS GetMap of the same 256-pixel EPSG:3857 boxes;
- **tiles cold** — 18 vector tiles at zooms 8, 11 and 13 over Shanghai, each asked once:
  OneMap draws them from the GeoPackage's R-tree (then keeps them), TiPg with ``ST_AsMVT``,
  MapServer with its MVT output (``mode=tile``);
- **tiles z6 / z10 / z14** — the vector tiles over the Beijing box, asked again and again:
  OneMap answers from its tile cache, the others draw each time (they have none). OneMap
  counts features in grid cells above ``ONEMAP_TILE_MAX_FEATURES``; TiPg sends up to its
  ``max_features_per_tile``, MapServer every feature, so the tiles hold different things at
  low zooms;
- **zoomed-out view** — the whole country on a 1280×800 screen: the zoom-4 vector tiles that
  cover it, one after the other, against one MapServer WMS image of the same box;

then **throughput** with ``wrk`` at 1/4/16/32 connections (``--seconds`` each) on the bbox
query (all three) and the raster tiles (OneMap, MapServer). It prints OneMap / TiPg and
OneMap / MapServer per row. Numbers depend on the machine; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import morecantile
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import mapserver_peer  # noqa: E402
from bench.scaleout import wrk_rate  # noqa: E402
from bench.store import LAYER, national_postgis, wait_loaded  # noqa: E402
from onemap import catalog, pgcluster  # noqa: E402
from onemap.layers.store import read_layer  # noqa: E402
from onemap.mapserver.rasters import render_params  # noqa: E402
from tests.server import free_port, start_server, stop_server  # noqa: E402

BOX = (116.3, 39.8, 116.5, 40.0)
COLD = (121.3, 31.0, 121.7, 31.4)  # Shanghai: tiles no other query asks
TMS = morecantile.tms.get("WebMercatorQuad")


def tipg_venv(folder: Path) -> Path:
    """TiPg's own virtualenv (installed from PyPI the first time)."""
    venv = folder / "tipg-venv"
    if not (venv / "bin" / "uvicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "tipg==1.6.1",
                        "uvicorn"], check=True)
    return venv


def start_tipg(venv: Path, url: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["layers"]',
           "TIPG_DB_EXCLUDE_TABLES": '["layers._loaded"]'}
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(venv / "bin" / "uvicorn"), "tipg.main:app", "--port",
                                 str(port), "--log-level", "warning"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/collections/layers.{LAYER}", timeout=5).status_code == 200:
                return proc, base
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("TiPg exited:\n" + log.read_text())
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("TiPg did not answer:\n" + log.read_text())


def timed(s: requests.Session, urls: list[str], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        for url in urls:
            start = time.perf_counter()
            r = s.get(url, timeout=300)
            times.append((time.perf_counter() - start) * 1000)
            if r.status_code not in (200, 204):
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:300]}")
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def view_tiles(z: int, box: tuple[float, float, float, float]) -> list[morecantile.Tile]:
    return list(TMS.tiles(*box, zooms=[z]))


def tile_box(t: morecantile.Tile) -> str:
    b = TMS.xy_bounds(t)
    return f"{b.left},{b.bottom},{b.right},{b.top}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="var/bench-national")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="seconds of wrk per concurrency level")
    args = parser.parse_args()
    if shutil.which("lighttpd") is None or shutil.which("wrk") is None:
        raise SystemExit("lighttpd and wrk are needed: make bench-peers installs them")
    venv = tipg_venv(Path("var/bench-peers").resolve())
    data, settings, url = national_postgis(args.data_dir)
    rows = read_layer(LAYER, settings, columns=["source_id"], max_features=50_000,
                      fid_as_index=True)
    picks = rows.iloc[[17, 4_711, 23_456, 42_000]]
    ndvi = catalog.get("ndvi_2025_07", settings)
    ours_proc, ours = start_server(data, 1800, ONEMAP_DATABASE_URL=url)
    wait_loaded(data, url)
    tipg_proc, tipg = start_tipg(venv, url, data / "tipg.log")
    ms_proc, ms = mapserver_peer.start(Path("var/bench-peers/mapserver").resolve(), free_port(),
                                       url, LAYER, ndvi.file(settings))
    o_items, t_items = f"{ours}/ogc/collections/{LAYER}/items", \
        f"{tipg}/collections/layers.{LAYER}/items"
    m_items = f"{ms}/mapserv/peer/ogcapi/collections/sources/items"
    box = ",".join(map(str, BOX))

    def o_tile(t: morecantile.Tile) -> str:
        return f"{ours}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"

    def t_tile(t: morecantile.Tile) -> str:
        return f"{tipg}/collections/layers.{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"

    def m_tile(t: morecantile.Tile) -> str:
        return f"{ms}/mapserv?mode=tile&tilemode=gmap&tile={t.x}+{t.y}+{t.z}&layers=sources" \
               "&map.imagetype=mvt"

    query = urlencode({k: v for k, v in render_params(ndvi).items() if k != "tile_format"})
    rtiles = [t for z in (10, 12) for t in list(TMS.tiles(*ndvi.bbox, zooms=[z]))[:12]]
    Case = tuple[str, list[str], list[str] | None, list[str] | None]
    cases: list[Case] = [
        ("by key", [f"{o_items}/{k}?f=json" for k in picks["source_id"]],
         [f"{t_items}/{int(fid)}?f=geojson" for fid in picks.index],
         [f"{m_items}/{int(fid)}?f=json" for fid in picks.index]),
        ("first page", [f"{o_items}?f=json&limit=10"], [f"{t_items}?f=geojson&limit=10"],
         [f"{m_items}?f=json&limit=10"]),
        ("deep offset 500000", [f"{o_items}?f=json&limit=10&offset=500000"],
         [f"{t_items}?f=geojson&limit=10&offset=500000"],
         [f"{m_items}?f=json&limit=10&offset=500000"]),
        ("bbox 0.2°", [f"{o_items}?f=json&limit=1000&bbox={box}"],
         [f"{t_items}?f=geojson&limit=1000&bbox={box}"],
         [f"{m_items}?f=json&limit=1000&bbox={box}"]),
        ("bbox + filter", [f"{o_items}?f=json&limit=1000&bbox={box}&filter=so2_t%20%3E%205"],
         [f"{t_items}?f=geojson&limit=1000&bbox={box}&filter=so2_t%20%3E%205"
          "&filter-lang=cql2-text"], None),  # MapServer 8.0's OGC API has no filter
        (f"raster tiles ({len(rtiles)})",
         [f"{ours}/raster/{ndvi.id}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png?{query}"
          for t in rtiles], None,
         [f"{ms}/mapserv?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=ndvi&STYLES="
          f"&CRS=EPSG:3857&BBOX={tile_box(t)}&WIDTH=256&HEIGHT=256&FORMAT=image/png"
          for t in rtiles]),
    ]
    for z in (6, 10, 14):
        tiles = list(TMS.tiles(*BOX, zooms=[z]))[:8]
        cases.append((f"tiles z{z} ({len(tiles)})", [o_tile(t) for t in tiles],
                      [t_tile(t) for t in tiles], [m_tile(t) for t in tiles]))
    cold = [t for z in (8, 11, 13) for t in list(TMS.tiles(*COLD, zooms=[z]))[:6]]
    # the whole country on a 1280×800 screen: zoom 4's tiles, or one WMS image of it
    china = (73.0, 18.0, 135.0, 54.0)
    view = view_tiles(4, china)
    whole = TMS.xy_bounds(view[0])
    last = TMS.xy_bounds(view[-1])
    wms_box = f"{whole.left},{last.bottom},{last.right},{whole.top}"
    views = (
        [o_tile(t) for t in view], [t_tile(t) for t in view],
        [f"{ms}/mapserv?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=sources&STYLES="
         f"&CRS=EPSG:3857&BBOX={wms_box}&WIDTH=1280&HEIGHT=800&FORMAT=image/png"])
    results: list[tuple[str, tuple | None, tuple | None, tuple | None]] = []
    rates: list[tuple[str, int, tuple, tuple | None, tuple | None]] = []
    try:
        with requests.Session() as s:
            for _label, o, t, m in cases:  # warm all (connections, pools, catalogues)
                for urls in (o, t, m):
                    if urls:
                        timed(s, urls[:1], 2)
            # tiles never asked before: OneMap draws them (then keeps them), as the others
            # always do
            results.append((f"tiles cold ({len(cold)})", timed(s, [o_tile(t) for t in cold], 1),
                            timed(s, [t_tile(t) for t in cold], 1),
                            timed(s, [m_tile(t) for t in cold], 1)))
            for label, o, t, m in cases:
                results.append((label, timed(s, o, args.repeat),
                                timed(s, t, args.repeat) if t else None,
                                timed(s, m, args.repeat) if m else None))
            results.append((f"zoomed-out view ({len(view)} tiles | 1 WMS)",
                            *(round_trip(s, urls, args.repeat) for urls in views)))
        print(f"\n{LAYER} (1,000,000 points) in PostGIS; OneMap and TiPg one process each, "
              f"MapServer 8 two FastCGI processes; {args.repeat} rounds per query\n")
        print(f"{'query':<40}{'OneMap':>16}{'TiPg':>16}{'MapServer':>16}{'/TiPg':>8}{'/MapS':>8}")
        for label, om, tp, mp in results:
            print(f"{label:<40}{_cell(om)}{_cell(tp)}{_cell(mp)}{_ratio(om, tp)}{_ratio(om, mp)}",
                  flush=True)
        for label, (o, t, m) in {
                "bbox 0.2°": (f"/ogc/collections/{LAYER}/items?f=json&limit=1000&bbox={box}",
                              f"/collections/layers.{LAYER}/items?f=geojson&limit=1000&bbox={box}",
                              f"/mapserv/peer/ogcapi/collections/sources/items?f=json&limit=1000"
                              f"&bbox={box}"),
                "raster tile": (cases[5][1], None, cases[5][3])}.items():
            for c in CLIENTS:
                rates.append((label, c, _rate(ours, o, c, args.seconds),
                              _rate(tipg, t, c, args.seconds),
                              _rate(ms, m, c, args.seconds)))
    finally:
        stop_server(ours_proc)
        tipg_proc.terminate()
        tipg_proc.wait(timeout=30)
        mapserver_peer.stop(ms_proc)
        pgcluster.stop(data / "postgres")
    print(f"\nthroughput (wrk, {args.seconds:.0f} s per level): requests/s (p99 ms)\n")
    print(f"{'query':<16}{'clients':>8}{'OneMap':>18}{'TiPg':>18}{'MapServer':>18}"
          f"{'/TiPg':>8}{'/MapS':>8}")
    for label, c, o, t, m in rates:
        print(f"{label:<16}{c:>8}" + "".join(
            f"{r[0]:>10.0f} ({r[2]:>5.0f})" if r else f"{'—':>18}" for r in (o, t, m))
            + "".join(f"{o[0] / r[0]:>7.2f}x" if r else f"{'—':>8}" for r in (t, m)))


CLIENTS = (1, 4, 16, 32)


def _rate(base: str, path: str | list[str] | None, clients: int, seconds: float
          ) -> tuple[float, float, float] | None:
    if not path:
        return None
    paths = [path] if isinstance(path, str) else [p.split(base, 1)[1] for p in path]
    return wrk_rate(base, paths, clients, seconds)


def round_trip(s: requests.Session, urls: list[str], repeat: int) -> tuple[float, float]:
    """Median and p95 of the time to fetch all of ``urls`` one after the other."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for url in urls:
            r = s.get(url, timeout=300)
            if r.status_code not in (200, 204):
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:300]}")
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def _cell(t: tuple | None) -> str:
    return f"{t[0]:>8.1f} ({t[1]:>5.0f})" if t else f"{'—':>16}"


def _ratio(ours: tuple | None, other: tuple | None) -> str:
    return f"{ours[0] / other[0]:>7.2f}x" if ours and other else f"{'—':>8}"


if __name__ == "__main__":
    main()
