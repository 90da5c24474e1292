"""What the map costs per view on a national layer: the vector tiles a browser loads for it.

The map draws a big layer from ``/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}``
(Leaflet.VectorGrid, ``onemap/app/assets/tiles.js``) at every zoom: each tile holds its
features, or their counts on a grid drawn as bubbles. This bench takes views of a
1200 × 800 px map at several zooms, centred on sources of the national sample (1,000,000
pollution sources: the dense places), and for each view requests every 256 px tile Leaflet
requests (the tiles covering the view, nearest the centre first) the way a browser does: at most
6 connections at once, ``Accept-Encoding: gzip``. Per view:

* **cold** — tiles never asked of this server before (the bench restarts the server when a
  view would reuse a tile an earlier view asked for; the layer's R-tree index is loaded by a
  warm-up request after each start, and its load time printed apart); **warm** — the same
  view again, from the server's tile cache. Time to the last tile, bytes on the wire;
* **the check** — the features drawn (the ids of each features tile's features centred in it)
  plus the features counted in its bubbles (the clusters tiles' ``count``) must equal the
  features whose R-tree box centre lies in the view's tiles, counted by SQLite on the
  GeoPackage's R-tree: nothing dropped, nothing counted twice. A failed check exits 1;
* **the references**, in the same run on the same view: ``items?bbox=<view>&limit=10000``
  (what the map fetched from zoom 13 before the tiles; it stops at the limit, so below
  zoom ~12 it returns a truncated view: ``trunc`` counts those views), and the view's features
  read in-process with pyogrio (every column, no limit: the floor any server on this
  GeoPackage pays to read them at all).

Run: ``.venv/bin/python bench/viewload.py [--data-dir DIR]`` — DIR gets the national sample
(``onemap sample --scale national``, a few minutes) if it does not hold it yet. ``--layer``
measures another point layer of DIR instead (e.g. the regular sample's ``pollution_sources``).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import random
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyogrio
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapview import HEIGHT, TILE, WIDTH, View, fraction, lonlat, view  # noqa: E402
from mvtread import read_tile  # noqa: E402
from tiles import start_server, stats_ms  # noqa: E402

from onemap import catalog  # noqa: E402
from onemap.config import Settings, get_settings  # noqa: E402
from onemap.data.generate import generate  # noqa: E402

LAYER = "pollution_sources_national"
CONNECTIONS = 6  # a browser's connections per host (HTTP/1.1)
ACCEPT = {"Accept-Encoding": "gzip, deflate"}


def centres(settings: Settings, n: int, layer: str = LAYER) -> list[tuple[float, float]]:
    """``n`` source locations, the same every run."""
    entry = catalog.get(layer, settings)
    rng = random.Random(42)
    fids = sorted(rng.sample(range(1, entry.feature_count + 1), n))
    where = f"fid IN ({','.join(map(str, fids))})"
    gdf = pyogrio.read_dataframe(entry.file(settings), layer=layer, columns=[], where=where)
    return [(g.x, g.y) for g in gdf.geometry]


def national(data_dir: Path) -> tuple[Settings, catalog.Entry]:
    """Settings on ``data_dir`` and the national layer's entry, generating it if missing."""
    settings = dataclasses.replace(get_settings(), data_dir=data_dir.resolve())
    if LAYER not in catalog.load(settings):
        generate(settings, scale="national")
    return settings, catalog.get(LAYER, settings)


@dataclasses.dataclass
class Load:
    """One view's tiles as loaded: time to the last tile, bytes, decoded tiles by (col, row)."""

    seconds: float
    wire: int
    tiles: dict[tuple[int, int], bytes]
    counts: dict[tuple[int, int], int]  # the server's OneMap-Tile-Count


class Browser:
    """CONNECTIONS keep-alive connections, each on its own thread: Leaflet's tile queue on a
    browser that opens at most six connections to a host."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(CONNECTIONS)

    def get(self, url: str) -> tuple[float, bytes, bool, int]:
        """When the tile's last byte came, its bytes as sent, whether gzipped, its count."""
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        resp = session.get(url, headers=ACCEPT, stream=True, timeout=600)
        wire = resp.raw.read(decode_content=False)
        done = time.perf_counter()
        resp.close()
        if resp.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status_code} {wire[:200]!r}")
        return done, wire, resp.headers.get("Content-Encoding") == "gzip", \
            int(resp.headers["OneMap-Tile-Count"])

    def load(self, base: str, layer: str, v: View) -> Load:
        url = f"{base}/ogc/collections/{layer}/tiles/WebMercatorQuad/{v.zoom}"
        start = time.perf_counter()
        got = list(self.pool.map(self.get, [f"{url}/{r}/{c}" for c, r in v.tiles]))
        return Load(max(g[0] for g in got) - start, sum(len(g[1]) for g in got),
                    {t: gzip.decompress(g[1]) if g[2] else g[1]
                     for t, g in zip(v.tiles, got, strict=True)},
                    {t: g[3] for t, g in zip(v.tiles, got, strict=True)})

    def close(self) -> None:
        self.pool.shutdown()


class RTree:
    """The layer's GeoPackage R-tree read by SQLite: the truth the tiles are checked against."""

    def __init__(self, path: Path, layer: str) -> None:
        self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        (geom,) = self.con.execute("SELECT column_name FROM gpkg_geometry_columns "
                                   "WHERE table_name = ?", (layer,)).fetchone()
        self.table = f"rtree_{layer}_{geom}"

    def centred(self, v: View) -> dict[tuple[int, int], set[int]]:
        """The ids of the features whose box centre is in each of the view's tiles (a centre
        on a tile's west or north edge is in it)."""
        w, s, e, n = v.tiles_bbox
        rows = self.con.execute(f'SELECT id, (minx + maxx) / 2, (miny + maxy) / 2 FROM '
                                f'"{self.table}" WHERE maxx >= ? AND minx <= ? AND '
                                "maxy >= ? AND miny <= ?", (w, e, s, n)).fetchall()
        out: dict[tuple[int, int], set[int]] = {t: set() for t in v.tiles}
        if not rows:
            return out
        ids, x, y = (np.array(c) for c in zip(*rows, strict=True))
        u, vv = fraction(x, y)
        size = 1 << v.zoom
        cols, rws = np.floor(u * size).astype(int), np.floor(vv * size).astype(int)
        for fid, c, r in zip(ids.tolist(), cols.tolist(), rws.tolist(), strict=True):
            if (c, r) in out:
                out[(c, r)].add(fid)
        return out

    def outside(self, ids: set[int], zoom: int, tile: tuple[int, int]) -> tuple[int, int]:
        """Of ``ids`` (features a tile holds but are not centred in it): how many do not meet
        the tile grown by its buffer (64 of 4096 units, in lon/lat as the server grows it),
        and how many are not in the layer at all."""
        if not ids:
            return 0, 0
        size = 1 << zoom
        w, n = lonlat(tile[0] / size, tile[1] / size)
        e, s = lonlat((tile[0] + 1) / size, (tile[1] + 1) / size)
        # + 1e-5°: the server compares the R-tree's float32 boxes with the buffered tile
        # rounded to float32 (an ulp is 7.6e-6° at 117° E), so it may keep a point that
        # much beyond the buffer
        dx, dy = (e - w) * 64 / 4096 + 1e-5, (n - s) * 64 / 4096 + 1e-5
        rows = self.con.execute(f'SELECT minx, miny, maxx, maxy FROM "{self.table}" WHERE id '
                                f"IN ({','.join(map(str, ids))})").fetchall()
        far = sum(1 for x0, y0, x1, y1 in rows
                  if x1 < w - dx or x0 > e + dx or y1 < s - dy or y0 > n + dy)
        return far, len(ids) - len(rows)


@dataclasses.dataclass
class Check:
    """A view's tiles against the R-tree: what the map draws and counts."""

    drawn: int  # features drawn, each counted in the tile its centre is in
    counted: int  # features counted in the bubbles of the clusters tiles
    expected: int  # features centred in the view's tiles (R-tree)
    clusters: int  # clusters tiles
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and self.drawn + self.counted == self.expected


def check(layer: str, loaded: Load, rtree: RTree, v: View) -> Check:
    """Each clusters tile counts exactly the features centred in it; each features tile
    holds each feature centred in it once, and otherwise only features its buffer meets."""
    truth = rtree.centred(v)
    drawn = counted = clusters = 0
    problems = []
    for tile, data in loaded.tiles.items():
        own = truth[tile]
        try:
            layers = read_tile(data)
        except (ValueError, IndexError, UnicodeDecodeError) as err:
            problems.append(f"tile {v.zoom}/{tile}: not a valid MVT ({err})")
            continue
        if f"{layer}_clusters" in layers:
            clusters += 1
            n = sum(int(p["count"]) for p in layers[f"{layer}_clusters"].properties)
            counted += n
            if n != len(own) or n != loaded.counts[tile]:
                problems.append(f"tile {v.zoom}/{tile}: bubbles count {n}, header "
                                f"{loaded.counts[tile]}, R-tree {len(own)}")
            continue
        ids = layers[layer].ids if layer in layers else []
        held = set(ids)
        missing = own - held
        drawn += len(own) - len(missing)
        far, unknown = rtree.outside(held - own, v.zoom, tile)
        if missing or far or unknown or len(ids) != len(held) or \
                len(ids) != loaded.counts[tile]:
            problems.append(f"tile {v.zoom}/{tile}: {len(missing)} of its {len(own)} "
                            f"features missing, {len(ids) - len(held)} twice, {far} beyond "
                            f"its buffer, {unknown} unknown; holds {len(ids)}, header "
                            f"{loaded.counts[tile]}")
    return Check(drawn, counted, sum(len(s) for s in truth.values()), clusters, problems)


def items(session: requests.Session, base: str, layer: str, v: View,
          limit: int) -> tuple[float, int, int, int]:
    """The previous path: seconds, bytes on the wire, features returned, numberMatched."""
    url = (f"{base}/ogc/collections/{layer}/items?f=json&limit={limit}"
           f"&bbox={','.join(f'{c:.6f}' for c in v.bbox)}")
    t0 = time.perf_counter()
    resp = session.get(url, headers=ACCEPT, stream=True, timeout=600)
    wire = resp.raw.read(decode_content=False)
    seconds = time.perf_counter() - t0
    resp.raise_for_status()
    data = gzip.decompress(wire) if resp.headers.get("Content-Encoding") == "gzip" else wire
    doc = json.loads(data)
    returned = len(doc["features"])
    return seconds, len(wire), returned, int(doc.get("numberMatched", returned))


def raw(path: Path, layer: str, v: View) -> tuple[float, int]:
    """The view's features read in-process by pyogrio (every column): seconds, features."""
    t0 = time.perf_counter()
    frame = pyogrio.read_dataframe(path, layer=layer, bbox=v.bbox)
    return time.perf_counter() - t0, len(frame)


def plan(points: list[tuple[float, float]], zooms: list[int]) -> list[tuple[bool, list[View]]]:
    """Rounds of one view per zoom (a zoom's tiles are never another's), each flagged True
    when the server must restart first: one of its views would ask for a tile already asked."""
    rounds, asked = [], {z: set() for z in zooms}
    for lon, lat in points:
        views = [view(lon, lat, z) for z in zooms]
        restart = any(asked[v.zoom] & set(v.tiles) for v in views)
        if restart:
            asked = {z: set() for z in zooms}
        for v in views:
            asked[v.zoom] |= set(v.tiles)
        rounds.append((restart, views))
    return rounds


def start(settings: Settings, layer: str) -> tuple[subprocess.Popen, str, float, float]:
    """A fresh server: process, base URL, seconds to answer, seconds of the warm-up (tile
    0/0/0 loads the layer's R-tree index; one item warms the OGC API Features path)."""
    t0 = time.perf_counter()
    proc, base = start_server(settings)
    t1 = time.perf_counter()
    tiles = f"{base}/ogc/collections/{layer}/tiles/WebMercatorQuad/0/0/0"
    requests.get(tiles, timeout=600).raise_for_status()
    requests.get(f"{base}/ogc/collections/{layer}/items?f=json&limit=1",
                 timeout=600).raise_for_status()
    return proc, base, t1 - t0, time.perf_counter() - t1


def med(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def report(layer: str, count: int, rows: dict[int, list[dict]], limit: int) -> None:
    print(f"{layer}: {count:,} features; map {WIDTH}×{HEIGHT} px, {TILE} px tiles, "
          f"{CONNECTIONS} connections; medians over views unless p95")
    print(f"{'zoom':>4} {'views':>5} {'tiles':>5} {'clus':>4} {'KB':>7} {'drawn':>7} "
          f"{'bubbles':>9} {'in tiles':>9} {'check':>5} {'cold p50':>9} {'cold p95':>9} "
          f"{'warm p50':>9} {'warm p95':>9}")
    for zoom, rs in rows.items():
        cp, cq = stats_ms([r["cold"] for r in rs])
        wp, wq = stats_ms([r["warm"] for r in rs])
        ok = sum(r["check"].ok for r in rs)
        print(f"{zoom:>4} {len(rs):>5} {med([r['tiles'] for r in rs]):>5.0f} "
              f"{med([r['check'].clusters for r in rs]):>4.0f} "
              f"{med([r['wire'] for r in rs]) / 1024:>7.0f} "
              f"{med([r['check'].drawn for r in rs]):>7,.0f} "
              f"{med([r['check'].counted for r in rs]):>9,.0f} "
              f"{med([r['check'].expected for r in rs]):>9,.0f} {ok:>2}/{len(rs):<2} "
              f"{cp:>7.0f}ms {cq:>7.0f}ms {wp:>7.0f}ms {wq:>7.0f}ms")
    print(f"references, same views: items?bbox=<view>&limit={limit} (trunc: views it cut "
          "at the limit) and pyogrio reading the view's features in-process")
    print(f"{'zoom':>4} {'in view':>9} {'raw p50':>9} {'raw p95':>9} {'items':>6} "
          f"{'matched':>9} {'trunc':>5} {'KB':>7} {'items p50':>9} {'items p95':>9} "
          f"{'items/cold':>10} {'KB items/tiles':>14} {'cold/raw':>8}")
    for zoom, rs in rows.items():
        rp, rq = stats_ms([r["raw"] for r in rs])
        ip, iq = stats_ms([r["items"] for r in rs])
        cp, _ = stats_ms([r["cold"] for r in rs])
        kb = med([r["items_wire"] for r in rs]) / 1024
        print(f"{zoom:>4} {med([r['in_view'] for r in rs]):>9,.0f} {rp:>7.0f}ms "
              f"{rq:>7.0f}ms {med([r['returned'] for r in rs]):>6,.0f} "
              f"{med([r['matched'] for r in rs]):>9,.0f} "
              f"{sum(r['matched'] > r['returned'] for r in rs):>5} {kb:>7.0f} "
              f"{ip:>7.0f}ms {iq:>7.0f}ms {ip / cp:>9.1f}x "
              f"{kb / (med([r['wire'] for r in rs]) / 1024):>13.1f}x {cp / rp:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-national"))
    parser.add_argument("--layer", default=LAYER, help="a point layer of DIR (default: the "
                        "national sample's, generated if missing)")
    parser.add_argument("--views", type=int, default=8, help="views per zoom")
    parser.add_argument("--zooms", default="5,7,9,11,13,15")
    args = parser.parse_args()
    if args.layer == LAYER:
        settings, entry = national(args.data_dir)
    else:
        settings = dataclasses.replace(get_settings(), data_dir=args.data_dir.resolve())
        entry = catalog.get(args.layer, settings)
    path, limit = entry.file(settings), settings.max_items
    zooms = [int(z) for z in args.zooms.split(",")]
    rounds = plan(centres(settings, args.views, args.layer), zooms)
    rows: dict[int, list[dict]] = {z: [] for z in zooms}
    starts, warmups, proc, failed = [], [], None, []
    browser, session, rtree = Browser(), requests.Session(), RTree(path, args.layer)
    try:
        for i, (restart, views) in enumerate(rounds, start=1):
            print(f"view {i}/{len(rounds)} at every zoom", file=sys.stderr, flush=True)
            if proc is None or restart:
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=30)
                proc, base, started, warmup = start(settings, args.layer)
                starts.append(started)
                warmups.append(warmup)
            for v in views:
                cold = browser.load(base, args.layer, v)
                warm = browser.load(base, args.layer, v)
                result = check(args.layer, cold, rtree, v)
                failed += result.problems[:3] + ([] if result.ok or result.problems else [
                    f"zoom {v.zoom}: drawn {result.drawn} + counted {result.counted} != "
                    f"{result.expected}"])
                i_s, i_wire, returned, matched = items(session, base, args.layer, v, limit)
                r_s, in_view = raw(path, args.layer, v)
                rows[v.zoom].append({
                    "tiles": len(v.tiles), "wire": cold.wire, "cold": cold.seconds,
                    "warm": warm.seconds, "check": result, "items": i_s,
                    "items_wire": i_wire, "returned": returned, "matched": matched,
                    "raw": r_s, "in_view": in_view})
    finally:
        browser.close()
        rtree.con.close()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{len(starts)} server starts (a view would reuse an earlier view's tile): "
          f"{med(starts):.1f} s to answer, then {med(warmups):.2f} s warm-up (R-tree index "
          "load, first item); medians")
    report(args.layer, entry.feature_count, rows, limit)
    if failed:
        print("CHECK FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
