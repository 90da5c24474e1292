"""Load: 32 connections for 60 s on a mix of items, tiles, collections and the map page, and one
interactive client asking meanwhile — errors, throughput, p50/p99 of both.

Run with ``make bench-load`` (or ``.venv/bin/python bench/load.py``) after ``onemap sample``. The
bench starts a real server (``python -m onemap serve``) on the data dir, on a
free 127.0.0.1 port; it only reads. Every answer that is not 200 counts as an error (the mix
holds no request that should fail). The interactive client asks for one page of stations once a
second, as a person clicking would, and its latencies are printed apart: what a user feels while
the server is loaded. Numbers depend on the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import morecantile
import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onemap import catalog  # noqa: E402
from onemap.config import get_settings  # noqa: E402
from tests.server import start_server, stop_server  # noqa: E402

TMS = morecantile.tms.get("WebMercatorQuad")


def url_mix(settings) -> list[str]:
    """A fixed, deterministic mix: OGC items (pages, bbox, one feature), tiles of every raster
    at zooms 8–12, the collections list, the catalogue and the map page."""
    entries = catalog.load(settings)
    paths = ["/", "/ogc/collections?f=json", "/api/catalog", "/ogc/?f=json"]
    for e in entries.values():
        if e.kind in ("vector", "table"):
            paths.append(f"/ogc/collections/{e.id}/items?f=json&limit=50")
            if e.bbox and e.kind == "vector":
                w, s, east, n = e.bbox
                cx, cy = (w + east) / 2, (s + n) / 2
                paths.append(f"/ogc/collections/{e.id}/items?f=json&limit=100&bbox="
                             f"{cx - 0.1},{cy - 0.1},{cx + 0.1},{cy + 0.1}")
        elif e.kind == "raster" and e.bbox:
            tiles = [t for z in range(8, 13) for t in TMS.tiles(*e.bbox, zooms=[z])][:12]
            paths += [f"/raster/{e.id}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png"
                      for t in tiles]
    return paths


def run(base: str, paths: list[str], clients: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    counter = itertools.count()

    def client(offset: int) -> None:
        session = requests.Session()
        mine, codes = [], Counter()
        while time.monotonic() < stop:
            path = paths[(next(counter) + offset) % len(paths)]
            t0 = time.perf_counter()
            try:
                r = session.get(base + path, timeout=60)
                codes[r.status_code] += 1
            except requests.RequestException as exc:
                codes[type(exc).__name__] += 1
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    probe: list[float] = []
    probe_codes: Counter = Counter()

    def interactive() -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                r = session.get(f"{base}/ogc/collections/air_stations/items",
                                params={"f": "json", "limit": 10}, timeout=60)
                probe_codes[r.status_code] += 1
            except requests.RequestException as exc:
                probe_codes[type(exc).__name__] += 1
            probe.append(time.perf_counter() - t0)
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))

    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(clients)]
    threads.append(threading.Thread(target=interactive))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    return {"wall": wall, "latencies": latencies, "statuses": statuses, "probe": probe,
            "probe_codes": probe_codes}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    settings = get_settings()
    paths = url_mix(settings)
    if len(paths) < 5:
        print("the catalogue is nearly empty: run 'onemap sample' first", file=sys.stderr)
        return 2
    proc, base = start_server(settings.data_dir)
    try:
        for p in paths:  # warm every route once and check the mix is all 200
            r = requests.get(base + p, timeout=120)
            if r.status_code != 200:
                print(f"warm-up: {p} answered {r.status_code}", file=sys.stderr)
        out = run(base, paths, args.clients, args.seconds)
    finally:
        stop_server(proc)
    total = sum(out["statuses"].values())
    errors = total - out["statuses"].get(200, 0)
    print(f"load: {args.clients} connections, {out['wall']:.0f} s, {len(paths)} distinct URLs")
    print(f"  requests {total}, errors {errors} {dict(out['statuses'])}")
    print(f"  throughput {total / out['wall']:.1f} req/s, p50 {pct(out['latencies'], 50):.0f} ms,"
          f" p99 {pct(out['latencies'], 99):.0f} ms")
    probe_errors = sum(out["probe_codes"].values()) - out["probe_codes"].get(200, 0)
    print(f"interactive (one page of stations per second): {len(out['probe'])} requests, "
          f"errors {probe_errors}, p50 {pct(out['probe'], 50):.0f} ms, "
          f"p99 {pct(out['probe'], 99):.0f} ms")
    return 1 if errors or probe_errors else 0


if __name__ == "__main__":
    sys.exit(main())
