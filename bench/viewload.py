"""What the map costs on a national layer: per-view loading against shipping the whole layer.

The map loads a layer with more than ``ONEMAP_APP_MAX_FEATURES`` features per view
(``/ogc/collections/{id}/items?bbox=<view>&limit=<max>``, from ``ONEMAP_APP_BBOX_MIN_ZOOM``).
This bench measures that request on the national sample (1,000,000 pollution sources) for views
of a 1200 × 800 px map at several zooms, centred on sources (where the map is dense), against:

* **raw** — the same bbox read in-process with pyogrio from the GeoPackage (the floor any server
  on this store pays), so the ratio is the cost of HTTP, pygeoapi and GeoJSON encoding;
* **clusters** — below the drawing zoom, the view's features counted on a grid
  (``/api/clusters/{id}``): cells, features counted, size and time per view;
* **whole** — shipping the whole layer the way a small layer is shipped (pages of
  ``max_items``): the first ``--pages`` pages are timed and the total extrapolated.

Run: ``.venv/bin/python bench/viewload.py [--data-dir DIR]`` — DIR gets the national sample
(``onemap sample --scale national``, a few minutes) if it does not hold it yet.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import sys
import time
from pathlib import Path

import pyogrio
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tiles import start_server, stats_ms  # noqa: E402

from onemap import catalog  # noqa: E402
from onemap.config import Settings, get_settings  # noqa: E402
from onemap.data.generate import generate  # noqa: E402

LAYER = "pollution_sources_national"
WIDTH, HEIGHT = 1200, 800


def view_bbox(lon: float, lat: float, zoom: int) -> tuple[float, float, float, float]:
    """The lon/lat box a WIDTH × HEIGHT Web Mercator map at ``zoom`` shows around a point."""
    deg_per_px = 360 / (256 * 2 ** zoom)
    half_w = WIDTH / 2 * deg_per_px
    half_h = HEIGHT / 2 * deg_per_px * math.cos(math.radians(lat))
    return lon - half_w, lat - half_h, lon + half_w, lat + half_h


def centres(settings: Settings, n: int) -> list[tuple[float, float]]:
    """``n`` source locations, the same every run."""
    path = catalog.get(LAYER, settings).file(settings)
    count = catalog.get(LAYER, settings).feature_count
    rng = random.Random(42)
    fids = sorted(rng.sample(range(1, count + 1), n))
    where = f"fid IN ({','.join(map(str, fids))})"
    gdf = pyogrio.read_dataframe(path, layer=LAYER, columns=[], where=where)
    return [(g.x, g.y) for g in gdf.geometry]


def national(data_dir: Path) -> tuple[Settings, catalog.Entry]:
    """Settings on ``data_dir`` and the national layer's entry, generating it if missing."""
    settings = dataclasses.replace(get_settings(), data_dir=data_dir.resolve())
    if LAYER not in catalog.load(settings):
        generate(settings, scale="national")
    return settings, catalog.get(LAYER, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-national"))
    parser.add_argument("--views", type=int, default=25, help="views per zoom")
    parser.add_argument("--zooms", default="13,14,16", help="zooms drawn feature by feature")
    parser.add_argument("--pages", type=int, default=3, help="whole-layer pages to time")
    parser.add_argument("--cluster-zooms", default="4,7,10,12")
    args = parser.parse_args()
    settings, entry = national(args.data_dir)
    path = entry.file(settings)
    limit = settings.max_items
    points = centres(settings, args.views)
    proc, base = start_server(settings)
    session = requests.Session()
    try:
        print(f"{LAYER}: {entry.feature_count:,} features; map {WIDTH}×{HEIGHT} px; "
              f"limit {limit}")
        print(f"{'zoom':>4} {'views':>5} {'feat med':>8} {'feat max':>8} {'KB med':>7} "
              f"{'http med':>9} {'http p95':>9} {'raw med':>8} {'ratio':>6}")
        for zoom in (int(z) for z in args.zooms.split(",")):
            http, raw, feats, sizes = [], [], [], []
            for lon, lat in points:
                box = view_bbox(lon, lat, zoom)
                t0 = time.perf_counter()
                gdf = pyogrio.read_dataframe(path, layer=LAYER, bbox=box, max_features=limit)
                raw.append(time.perf_counter() - t0)
                url = (f"{base}/ogc/collections/{LAYER}/items?f=json&limit={limit}"
                       f"&bbox={','.join(f'{v:.3f}' for v in box)}")
                t0 = time.perf_counter()
                resp = session.get(url, timeout=300)
                http.append(time.perf_counter() - t0)
                resp.raise_for_status()
                feats.append(len(resp.json()["features"]))
                sizes.append(len(resp.content) / 1024)
                del gdf
            hm, hp = stats_ms(http)
            rm, _ = stats_ms(raw)
            feats.sort()
            sizes.sort()
            print(f"{zoom:>4} {len(points):>5} {feats[len(feats) // 2]:>8} {feats[-1]:>8} "
                  f"{sizes[len(sizes) // 2]:>7.0f} {hm:>7.0f}ms {hp:>7.0f}ms {rm:>6.0f}ms "
                  f"{hm / rm:>5.1f}x")
        print(f"{'zoom':>4} {'views':>5} {'cells med':>9} {'counted med':>11} {'KB med':>7} "
              f"{'clusters med':>12} {'p95':>8}   (grid counts below the drawing zoom)")
        for zoom in (int(z) for z in args.cluster_zooms.split(",")):
            times, cells, counted, sizes = [], [], [], []
            for lon, lat in points:
                box = view_bbox(lon, lat, zoom)
                box = (max(box[0], -180), max(box[1], -90), min(box[2], 180), min(box[3], 90))
                t0 = time.perf_counter()
                resp = session.get(f"{base}/api/clusters/{LAYER}", timeout=300, params={
                    "bbox": ",".join(f"{v:.3f}" for v in box), "zoom": zoom})
                times.append(time.perf_counter() - t0)
                resp.raise_for_status()
                doc = resp.json()
                cells.append(len(doc["features"]))
                counted.append(doc["numberMatched"])
                sizes.append(len(resp.content) / 1024)
            cm, cp = stats_ms(times)
            for v in (cells, counted, sizes):
                v.sort()
            mid = len(points) // 2
            print(f"{zoom:>4} {len(points):>5} {cells[mid]:>9} {counted[mid]:>11,} "
                  f"{sizes[mid]:>7.0f} {cm:>10.0f}ms {cp:>6.0f}ms")
        t_pages, kb = [], 0.0
        for page in range(args.pages):
            t0 = time.perf_counter()
            resp = session.get(f"{base}/ogc/collections/{LAYER}/items?f=json&limit={limit}"
                               f"&offset={page * limit}", timeout=600)
            t_pages.append(time.perf_counter() - t0)
            resp.raise_for_status()
            kb += len(resp.content) / 1024
        pages = math.ceil(entry.feature_count / limit)
        per_page = sum(t_pages) / len(t_pages)
        print(f"whole layer: {args.pages} of {pages} pages timed, {per_page:.2f} s and "
              f"{kb / args.pages / 1024:.1f} MB per page → about {per_page * pages / 60:.0f} min "
              f"and {kb / args.pages * pages / 1024 ** 2:.1f} GB to ship it whole")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
