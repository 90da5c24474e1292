"""Tile latency of our endpoint vs raw rio-tiler in-process, and throughput under concurrency.

Run with ``make bench`` (or ``.venv/bin/python bench/tiles.py``) after ``onemap sample``. On the
sample's NDVI COG and on a 4-band scene rendered through the NDVI expression, for a fixed
deterministic tile set (tiles of zooms 9–13 over the raster, evenly thinned to --max-tiles):

(a) raw rio-tiler in-process: open Reader, tile, rescale, colormap, PNG — median/p95 per tile;
(b) our HTTP endpoint on a real server (``python -m onemap serve`` on a free 127.0.0.1 port),
    sequential: median/p95 and the ratio ours/raw;
(c) throughput (tiles/s) and p95 latency at 1, 4 and 16 concurrent clients.

Everything goes to 127.0.0.1. Numbers depend on the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import morecantile
import numpy as np
import rasterio
import requests
from rasterio.transform import from_origin
from rio_tiler.io import Reader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onemap import catalog  # noqa: E402
from onemap.catalog import Entry  # noqa: E402
from onemap.config import Settings, get_settings  # noqa: E402
from onemap.mapserver.rasters import COLORMAPS, render_params  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")
ZOOMS = range(9, 14)
NDVI = "(b4-b3)/(b4+b3)"


def tile_set(bounds: list[float], max_tiles: int) -> list[morecantile.Tile]:
    """All tiles of ZOOMS over ``bounds`` (lon/lat), evenly thinned to ``max_tiles``, in a fixed
    order so every run and both measurements use the same tiles."""
    tiles = [t for z in ZOOMS for t in TMS.tiles(*bounds, zooms=[z])]
    if len(tiles) > max_tiles:
        step = len(tiles) / max_tiles
        tiles = [tiles[int(i * step)] for i in range(max_tiles)]
    return tiles


def stats_ms(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.median(arr)), float(np.percentile(arr, 95))


def raw_tiles(path: Path, entry: Entry, tiles: list[morecantile.Tile]) -> list[float]:
    """rio-tiler alone, as titiler would do per request: open, tile, rescale, colour, PNG."""
    params = render_params(entry)
    lo, hi = (float(v) for v in params["rescale"].split(","))
    cmap = COLORMAPS.get(params["colormap_name"]) if "colormap_name" in params else None
    kw = ({"expression": params["expression"]} if "expression" in params else
          {"indexes": [int(b) for b in params["bidx"].split(",")]} if "bidx" in params else {})
    times = []
    for t in tiles:
        start = time.perf_counter()
        with Reader(str(path)) as src:
            img = src.tile(t.x, t.y, t.z, tilesize=256, **kw)
        img.rescale(in_range=((lo, hi),))
        img.render(img_format="PNG", colormap=cmap)
        times.append(time.perf_counter() - start)
    return times


def tile_urls(base: str, entry: Entry, tiles: list[morecantile.Tile]) -> list[str]:
    query = urlencode({k: v for k, v in render_params(entry).items() if k != "tile_format"})
    return [f"{base}/raster/{entry.id}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png?{query}"
            for t in tiles]


def sequential(urls: list[str]) -> list[float]:
    times = []
    with requests.Session() as s:
        for url in urls:
            start = time.perf_counter()
            r = s.get(url, timeout=60)
            times.append(time.perf_counter() - start)
            if r.status_code not in (200, 204, 404):
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:200]}")
    return times


def concurrent(urls: list[str], clients: int, total: int) -> tuple[float, float, float]:
    """``total`` requests spread over ``clients`` threads (one Session each): tiles/s, median
    and p95 latency in ms."""
    jobs = [urls[i % len(urls)] for i in range(total)]
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker(k: int) -> None:
        with requests.Session() as s:
            for url in jobs[k::clients]:
                start = time.perf_counter()
                r = s.get(url, timeout=120)
                dt = time.perf_counter() - start
                with lock:
                    latencies.append(dt)
                    if r.status_code not in (200, 204, 404):
                        errors.append(f"{r.status_code} {url}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    med, p95 = stats_ms(latencies)
    return len(jobs) / wall, med, p95


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(settings: Settings) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir), "ONEMAP_PORT": str(port),
           "ONEMAP_PUBLIC_URL": base, "NO_PROXY": "127.0.0.1"}
    proc = subprocess.Popen([sys.executable, "-m", "onemap", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited; run it by hand to see why")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except (requests.ConnectionError, requests.Timeout):  # still starting
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the server did not answer within 120 s")


def write_scene(path: Path, bounds: list[float], size: int = 2048) -> Path:
    """A 4-band uint16 scene (blue, green, red, nir) over ``bounds``: vegetation where a smooth
    field is high, water elsewhere, so the NDVI tiles are not constant."""
    w, s, e, n = bounds
    y, x = np.mgrid[0:size, 0:size] / size
    field = 0.5 + 0.5 * np.sin(6 * x) * np.cos(5 * y)
    red = (400 + 500 * (1 - field)).astype("uint16")
    nir = (300 + 2500 * field).astype("uint16")
    bands = {"blue": red // 2 + 200, "green": red // 2 + 400, "red": red, "nir": nir}
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=4,
                       dtype="uint16", crs="EPSG:4490", nodata=0,
                       transform=from_origin(w, n, (e - w) / size, (n - s) / size)) as dst:
        for i, (name, data) in enumerate(bands.items(), start=1):
            dst.write(data.astype("uint16"), i)
            dst.set_band_description(i, name)
    return path


def pick_rasters(settings: Settings, tmp: Path) -> tuple[Settings, Entry, Entry]:
    """The sample's NDVI COG and a 4-band scene with an expression; when the catalogue has no
    such scene, a copy of the NDVI and a generated scene go into a temporary data dir."""
    from onemap.raster.ingest import add_raster

    entries = catalog.load(settings)
    ndvi = next((e for e in sorted(entries.values(), key=lambda e: e.id) if e.kind == "raster"
                 and (e.extra or {}).get("colormap") == "onemap_ndvi"
                 and not (e.extra or {}).get("expression")), None)
    if ndvi is None:
        raise SystemExit("no NDVI raster in the catalogue: run `onemap sample` first")
    scene = next((e for e in entries.values() if e.kind == "raster"
                  and (e.extra or {}).get("expression")
                  and len((e.extra or {}).get("bands") or []) >= 4), None)
    if scene is not None:
        return settings, ndvi, scene
    local = Settings(data_dir=tmp / "data")
    ndvi = add_raster(ndvi.file(settings), dataset_id=ndvi.id, title=ndvi.title,
                      colormap="onemap_ndvi", rescale=ndvi.extra.get("rescale"),
                      settings=local)
    scene = add_raster(write_scene(tmp / "scene.tif", ndvi.bbox), dataset_id="bench_scene",
                       title="bench scene", expression=NDVI, colormap="onemap_ndvi",
                       rescale=[-0.2, 1.0], settings=local)
    return local, ndvi, scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tiles", type=int, default=150)
    parser.add_argument("--requests", type=int, default=120,
                        help="requests per concurrency level")
    args = parser.parse_args()
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="onemap-bench-") as tmp:
        data, ndvi, scene = pick_rasters(settings, Path(tmp))
        proc, base = start_server(data)
        try:
            rows, conc = [], []
            for entry in (ndvi, scene):
                tiles = tile_set(entry.bbox, args.max_tiles)
                urls = tile_urls(base, entry, tiles)
                label = entry.id + (" (expr)" if (entry.extra or {}).get("expression") else "")
                raw_tiles(entry.file(data), entry, tiles[:5])  # warm GDAL caches
                sequential(urls[:5])
                raw = stats_ms(raw_tiles(entry.file(data), entry, tiles))
                ours = stats_ms(sequential(urls))
                rows.append((label, len(tiles), raw, ours))
                for clients in (1, 4, 16):
                    conc.append((label, clients, *concurrent(urls, clients, args.requests)))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    print(f"\nTiles: zooms {ZOOMS.start}-{ZOOMS.stop - 1} over each raster, 256 px PNG with "
          f"colormap; {os.cpu_count()} CPUs\n")
    print(f"{'raster':<26}{'tiles':>6}{'raw med':>9}{'raw p95':>9}{'http med':>10}"
          f"{'http p95':>10}{'ratio med':>11}{'ratio p95':>11}")
    for label, n, (rm, rp), (hm, hp) in rows:
        print(f"{label:<26}{n:>6}{rm:>8.1f}ms{rp:>7.1f}ms{hm:>8.1f}ms{hp:>8.1f}ms"
              f"{hm / rm:>10.2f}x{hp / rp:>10.2f}x")
    print(f"\n{'raster':<26}{'clients':>8}{'tiles/s':>9}{'med':>10}{'p95':>10}")
    for label, clients, rate, med, p95 in conc:
        print(f"{label:<26}{clients:>8}{rate:>9.1f}{med:>8.1f}ms{p95:>8.1f}ms")


if __name__ == "__main__":
    main()
