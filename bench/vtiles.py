"""Vector tiles of a national layer (1,000,000 pollution sources): latency per zoom.

For each zoom, ``--tiles`` tiles (default 40) holding sources (the tile of a random source,
so the dense places are measured), requested from a real server
(``/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{row}/{col}``, one client, sequential):

* **cold** — each tile's first request: read, cut, encode (nothing cached but the layer's
  R-tree index, loaded by one warm-up request before timing; its load time is printed);
* **warm** — the same tile again: the server's tile cache (keyed by the file's version).

The **reference**, measured in the same run on the same tiles (``--ref-tiles`` per zoom,
default 5): GDAL's own MVT writer (the GDAL 3.x bundled with pyogrio), in-process — the
buffered tile's features read from the GeoPackage with pyogrio, written by the ``MVT`` driver
for that one zoom (``MINZOOM=MAXZOOM=z``, same three properties). TiPg on PostGIS is the
reference the issue suggests; it needs a PostgreSQL + PostGIS server, which this bench does
not start. GDAL's writer has per-tile limits (``MAX_FEATURES=200000``, ``MAX_SIZE=500000``)
above which it drops or simplifies features silently; the columns ``ref feats`` vs ``feats``
show what each tile holds (ours: features, or grid cells counting every feature).

Run: ``.venv/bin/python bench/vtiles.py [--data-dir DIR]`` — DIR gets the national sample
(``onemap sample --scale national``, a few minutes) if it lacks it. Prints p50/p95 per zoom and
the ratio reference / ours (cold), the median of per-tile ratios over the reference tiles.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import morecantile
import numpy as np
import pyogrio
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tiles import start_server, stats_ms  # noqa: E402
from viewload import LAYER, centres, national  # noqa: E402

COLUMNS = ["source_id", "name", "permit_class"]
WM = morecantile.tms.get("WebMercatorQuad")


def gdal_tile(path: Path, tile: morecantile.Tile, folder: Path) -> tuple[float, int]:
    """GDAL's MVT writer on the tile's (buffered) features: seconds, features written."""
    w, s, e, n = WM.bounds(tile)
    pad_x, pad_y = (e - w) * 64 / 4096, (n - s) * 64 / 4096
    out = folder / f"{tile.z}-{tile.x}-{tile.y}"
    t0 = time.perf_counter()
    frame = pyogrio.read_dataframe(path, layer=LAYER, columns=COLUMNS,
                                   bbox=(w - pad_x, s - pad_y, e + pad_x, n + pad_y))
    if len(frame):
        pyogrio.write_dataframe(frame, out, driver="MVT",
                                dataset_options={"MINZOOM": tile.z, "MAXZOOM": tile.z,
                                                 "COMPRESS": "NO", "FORMAT": "DIRECTORY"})
    seconds = time.perf_counter() - t0
    written = 0
    target = out / str(tile.z) / str(tile.x) / f"{tile.y}.pbf"
    if target.exists():
        written = len(pyogrio.read_dataframe(target, CLIP="NO"))
    shutil.rmtree(out, ignore_errors=True)
    return seconds, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/bench-national"))
    parser.add_argument("--zooms", default="0,2,4,6,8,10,11,12,13,14,16")
    parser.add_argument("--tiles", type=int, default=40, help="tiles per zoom")
    parser.add_argument("--ref-tiles", type=int, default=5, help="reference tiles per zoom")
    args = parser.parse_args()
    settings, entry = national(args.data_dir)
    path = entry.file(settings)
    points = centres(settings, args.tiles * 4)
    proc, base = start_server(settings)
    session = requests.Session()
    url = f"{base}/ogc/collections/{LAYER}/tiles/WebMercatorQuad"
    scratch = Path(tempfile.mkdtemp(prefix="vtiles-bench-"))
    try:
        t0 = time.perf_counter()
        session.get(f"{url}/1/0/1", timeout=600).raise_for_status()  # loads the index
        print(f"{LAYER}: {entry.feature_count:,} features; first tile (R-tree index load) "
              f"{time.perf_counter() - t0:.2f} s; max features per tile "
              f"{settings.tile_max_features}")
        print(f"{'zoom':>4} {'tiles':>5} {'kind':>9} {'feats':>7} {'KB':>6} "
              f"{'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} "
              f"{'ref p50':>9} {'ref p95':>9} {'ref feats':>9} {'ref/ours':>8}")
        for zoom in (int(z) for z in args.zooms.split(",")):
            tiles = list(dict.fromkeys(WM.tile(x, y, zoom) for x, y in points))[:args.tiles]
            cold, warm, kinds, counts, sizes = [], [], [], [], []
            for timing in (cold, warm):
                for tile in tiles:
                    t0 = time.perf_counter()
                    resp = session.get(f"{url}/{tile.z}/{tile.y}/{tile.x}", timeout=600)
                    timing.append(time.perf_counter() - t0)
                    resp.raise_for_status()
                    if timing is cold:
                        kinds.append(resp.headers["OneMap-Tile-Content"])
                        counts.append(int(resp.headers["OneMap-Tile-Count"]))
                        sizes.append(len(resp.content) / 1024)
            ref, ref_feats, ratios = [], [], []
            for i, tile in enumerate(tiles[:args.ref_tiles]):
                seconds, written = gdal_tile(path, tile, scratch)
                ref.append(seconds)
                ref_feats.append(written)
                ratios.append(seconds / cold[i])  # the same tile, ours cold
            cm, cp = stats_ms(cold)
            wm, wp = stats_ms(warm)
            rm, rp = stats_ms(ref)
            kind = "/".join(sorted(set(kinds)))
            print(f"{zoom:>4} {len(tiles):>5} {kind:>9} {int(np.median(counts)):>7} "
                  f"{np.median(sizes):>6.0f} {cm:>7.1f}ms {cp:>7.1f}ms {wm:>7.1f}ms "
                  f"{wp:>7.1f}ms {rm:>7.0f}ms {rp:>7.0f}ms {int(np.median(ref_feats)):>9} "
                  f"{np.median(ratios):>7.1f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
