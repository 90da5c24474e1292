"""Scale-out: one worker against two, the tile cache off against on, raster and vector tiles.

Run with ``make bench-scaleout`` (or ``.venv/bin/python bench/scaleout.py``) after ``onemap
sample``. For each of four servers started in turn on the data dir (``onemap serve --workers
1|2``, ``ONEMAP_TILE_CACHE_MB=0|512``; the tile cache emptied before each), on the sample's NDVI
COG and on a public vector layer, over a fixed set of tiles (zooms 9–13 over the raster, 8–12
over the layer):

1. **cold** — each tile asked once, in turn: drawn (and, cache on, stored);
2. **again** — the same tiles again: drawn again (cache off) or read from the store;
3. **304** — the same tiles with the ETag of 1. (``If-None-Match``): nothing drawn or sent;
4. **throughput** — ``wrk`` (Debian's, C: the clients must not need the cores the server is
   measured on) with 1, 4, 16 and 32 keep-alive connections for ``--seconds`` each, cycling
   over the tiles (``Accept-Encoding: gzip``, as browsers): tiles/s, median and p99;
5. **memory** — each worker's resident set after the run.

The reference, measured in the same run: rio-tiler in-process on the same raster tiles (open,
read, rescale, colormap, PNG), as in bench/tiles.py. Ratios printed: cached / uncached
throughput at 16 clients (one worker), two workers / one at 16 clients (cache off: drawing is
what the second core helps), and a stored tile's median against raw rio-tiler's. The clients run
on the same two cores as the server; the ratios compare servers under the same clients. Nothing
here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import morecantile
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tiles import raw_tiles, stats_ms, tile_set  # noqa: E402
from onemap import catalog  # noqa: E402
from onemap.config import get_settings  # noqa: E402
from onemap.mapserver.rasters import render_params  # noqa: E402
from tests.server import start_server, stop_server, worker_pids  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")
CONFIGS = (("1 worker, no cache", 1, 0), ("2 workers, no cache", 2, 0),
           ("1 worker, cache", 1, 512), ("2 workers, cache", 2, 512))
CLIENTS = (1, 4, 16, 32)


def vector_tiles(bbox: list[float], limit: int) -> list[morecantile.Tile]:
    tiles = [t for z in range(8, 13) for t in TMS.tiles(*bbox, zooms=[z])]
    step = max(1, len(tiles) // limit)
    return tiles[::step][:limit]


def sequential(urls: list[str], etags: dict[str, str] | None = None
               ) -> tuple[list[float], dict[str, str], set[int]]:
    times, tags, codes = [], {}, set()
    with requests.Session() as s:
        for url in urls:
            headers = {"If-None-Match": etags[url]} if etags and url in etags else {}
            start = time.perf_counter()
            r = s.get(url, headers=headers, timeout=60)
            times.append(time.perf_counter() - start)
            codes.add(r.status_code)
            if r.status_code not in (200, 204, 304, 404):
                raise RuntimeError(f"{url}: HTTP {r.status_code} {r.text[:200]}")
            if "ETag" in r.headers:
                tags[url] = r.headers["ETag"]
    return times, tags, codes


LUA = """local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Accept-Encoding"] = "gzip"})
end
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk_rate(base: str, paths: list[str], connections: int, seconds: float
             ) -> tuple[float, float, float]:
    """wrk's requests/s, median and p99 latency (ms) for ``paths`` in turn."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA % ", ".join(f'"{p}"' for p in paths))
    try:
        out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections),
                              "-d", f"{max(1, round(seconds))}s",  # (wrk takes whole seconds)
                              "--latency", "-s", lua.name, base],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua.name)
    if "Non-2xx" in out:
        raise RuntimeError("wrk saw failed requests:\n" + out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # (the distribution's lines: "Stdev 61.50%" elsewhere also holds "50%")
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    return rate, p50, p99


def workers_of(pid: int) -> list[int]:
    """The serving processes: uvicorn's spawned workers, or the server itself when alone."""
    return sorted(worker_pids(pid)) or [pid]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_config(data: Path, workers: int, cache_mb: int, sets: dict[str, list[str]],
               seconds: float) -> dict:
    shutil.rmtree(data / "runtime" / "tiles", ignore_errors=True)
    proc, base = start_server(data, 180, args=("--workers", str(workers)),
                              ONEMAP_TILE_CACHE_MB=str(cache_mb), NO_PROXY="127.0.0.1")
    try:
        deadline = time.monotonic() + 120
        while len(workers_of(proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.5)
        for _ in range(4 * workers):  # every worker has loaded its app and GDAL once
            requests.get(base + "/healthz", timeout=30)
        out: dict = {"sets": {}}
        for name, paths in sets.items():
            urls = [base + p for p in paths]
            sequential(urls[:3])  # GDAL's and the OS's caches warm for both configurations
            shutil.rmtree(data / "runtime" / "tiles", ignore_errors=True)
            cold, tags, _ = sequential(urls)
            again, _, _ = sequential(urls)
            revalidated, _, codes = sequential(urls, tags)
            rates = {c: wrk_rate(base, paths, c, seconds) for c in CLIENTS}
            out["sets"][name] = {"cold": stats_ms(cold), "again": stats_ms(again),
                                 "304": stats_ms(revalidated), "304 codes": codes,
                                 "rates": rates}
        out["rss"] = [rss_mb(p) for p in workers_of(proc.pid)]
        return out
    finally:
        stop_server(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tiles", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=8,
                        help="seconds of wrk per concurrency level")
    parser.add_argument("--layer", default="rivers", help="a public vector layer")
    args = parser.parse_args()
    settings = get_settings()
    entries = catalog.load(settings)
    ndvi = entries["ndvi_2025_07"]
    layer = entries[args.layer]
    rtiles = tile_set(ndvi.bbox, args.max_tiles)
    query = urlencode({k: v for k, v in render_params(ndvi).items() if k != "tile_format"})
    sets = {
        f"raster {ndvi.id}": [f"/raster/{ndvi.id}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png"
                              f"?{query}" for t in rtiles],
        f"vector {layer.id}": [f"/ogc/collections/{layer.id}/tiles/WebMercatorQuad/"
                               f"{t.z}/{t.y}/{t.x}"
                               for t in vector_tiles(layer.bbox, args.max_tiles)],
    }
    raw_tiles(ndvi.file(settings), ndvi, rtiles[:5])
    raw = stats_ms(raw_tiles(ndvi.file(settings), ndvi, rtiles))
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench-scaleout does)")
    results = {label: run_config(settings.data_dir, w, mb, sets, args.seconds)
               for label, w, mb in CONFIGS}
    shutil.rmtree(settings.data_dir / "runtime" / "tiles", ignore_errors=True)

    print(f"\nScale-out on {os.cpu_count()} CPUs; {len(rtiles)} raster tiles, "
          f"{len(sets[f'vector {layer.id}'])} vector tiles; reference rio-tiler in-process "
          f"median {raw[0]:.1f} ms (p95 {raw[1]:.1f})\n")
    print(f"{'server':<22}{'tiles':<24}{'cold med':>9}{'again med':>10}{'again p95':>10}"
          f"{'304 med':>9}" + "".join(f"{f'{c} cl/s':>9}" for c in CLIENTS)
          + f"{'p99@16':>9}")
    for label, res in results.items():
        for name, s in res["sets"].items():
            rates = s["rates"]
            print(f"{label:<22}{name:<24}{s['cold'][0]:>7.1f}ms{s['again'][0]:>8.1f}ms"
                  f"{s['again'][1]:>8.1f}ms{s['304'][0]:>7.1f}ms"
                  + "".join(f"{rates[c][0]:>9.0f}" for c in CLIENTS)
                  + f"{rates[16][2]:>7.1f}ms")
    print("\nmemory per worker (RSS after the run): " + "; ".join(
        f"{label}: {', '.join(f'{m:.0f} MB' for m in res['rss'])}"
        for label, res in results.items()))
    print("\nratios (measured above, same run):")
    for name in sets:
        r = {label: res["sets"][name] for label, res in results.items()}
        cached = r["1 worker, cache"]["rates"][16][0] / r["1 worker, no cache"]["rates"][16][0]
        two = r["2 workers, no cache"]["rates"][16][0] / r["1 worker, no cache"]["rates"][16][0]
        two_c = r["2 workers, cache"]["rates"][16][0] / r["1 worker, cache"]["rates"][16][0]
        print(f"  {name}: cached/uncached @16 clients {cached:.2f}x (goal >= 3); "
              f"2 workers/1 uncached @16 {two:.2f}x (goal >= 1.6); cached {two_c:.2f}x; "
              f"stored tile median {r['1 worker, cache']['again'][0]:.2f} ms (goal <= 2) = "
              f"{r['1 worker, cache']['again'][0] / raw[0]:.2f}x raw rio-tiler's")


if __name__ == "__main__":
    main()
