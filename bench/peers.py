"""OneMap on PostGIS against TiPg on the same PostGIS tables: the national layer's items and
vector tiles.

``make bench-peers`` (= ``.venv/bin/python bench/peers.py [--data-dir var/bench-national]``).
It makes or finds the cluster ``bench/store.py`` uses (``DIR/postgres``), starts OneMap with
``ONEMAP_DATABASE_URL`` (its start loads the read-only layers into schema ``layers``), and starts
TiPg 1.6 (PyPI, installed once into ``var/bench-peers/tipg-venv``, its own virtualenv) on the
same database and schema, so both read the very same table and indexes
(``layers.pollution_sources_national``, 1,000,000 points). Then, ``--repeat`` times each,
median and p95:

- **by key** — one feature by its indexed key (OneMap: ``source_id``; TiPg: the primary key);
- **first page** — ``limit=10`` with ``numberMatched``;
- **deep offset** — ``limit=10&offset=500000``;
- **bbox** — a 0.2° box in Beijing, ``limit=1000``;
- **bbox + filter** — the same with ``so2_t > 5`` (CQL2 text);
- **tiles cold** — 18 tiles at zooms 8, 11 and 13 over Shanghai, each asked once: OneMap
  draws them from the GeoPackage's R-tree (then keeps them), TiPg with ``ST_AsMVT``;
- **tiles z6 / z10 / z14** — the vector tiles over the Beijing box, asked again and again:
  OneMap answers from its tile cache, TiPg draws each time (it has none). OneMap counts
  features in grid cells above ``ONEMAP_TILE_MAX_FEATURES``; TiPg sends up to its
  ``max_features_per_tile``, so the tiles hold different things at low zooms.

and prints OneMap / TiPg per row. Numbers depend on the machine; nothing asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import morecantile
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.store import LAYER, national_postgis  # noqa: E402
from onemap import pgcluster  # noqa: E402
from onemap.layers.store import read_layer  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="var/bench-national")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    venv = tipg_venv(Path("var/bench-peers").resolve())
    data, settings, url = national_postgis(args.data_dir)
    rows = read_layer(LAYER, settings, columns=["source_id"], max_features=50_000,
                      fid_as_index=True)
    picks = rows.iloc[[17, 4_711, 23_456, 42_000]]
    ours_proc, ours = start_server(data, 1800, ONEMAP_DATABASE_URL=url)
    tipg_proc, tipg = start_tipg(venv, url, data / "tipg.log")
    o_items, t_items = f"{ours}/ogc/collections/{LAYER}/items", \
        f"{tipg}/collections/layers.{LAYER}/items"
    box = ",".join(map(str, BOX))
    cases: list[tuple[str, list[str], list[str]]] = [
        ("by key", [f"{o_items}/{k}?f=json" for k in picks["source_id"]],
         [f"{t_items}/{int(fid)}?f=geojson" for fid in picks.index]),
        ("first page", [f"{o_items}?f=json&limit=10"], [f"{t_items}?f=geojson&limit=10"]),
        ("deep offset 500000", [f"{o_items}?f=json&limit=10&offset=500000"],
         [f"{t_items}?f=geojson&limit=10&offset=500000"]),
        ("bbox 0.2°", [f"{o_items}?f=json&limit=1000&bbox={box}"],
         [f"{t_items}?f=geojson&limit=1000&bbox={box}"]),
        ("bbox + filter", [f"{o_items}?f=json&limit=1000&bbox={box}&filter=so2_t%20%3E%205"],
         [f"{t_items}?f=geojson&limit=1000&bbox={box}&filter=so2_t%20%3E%205"
          "&filter-lang=cql2-text"]),
    ]
    for z in (6, 10, 14):
        tiles = list(TMS.tiles(*BOX, zooms=[z]))[:8]
        cases.append((f"tiles z{z} ({len(tiles)})",
                      [f"{ours}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"
                       for t in tiles],
                      [f"{tipg}/collections/layers.{LAYER}/tiles/WebMercatorQuad/"
                       f"{t.z}/{t.x}/{t.y}" for t in tiles]))
    cold = [t for z in (8, 11, 13) for t in list(TMS.tiles(*COLD, zooms=[z]))[:6]]
    results = []
    try:
        with requests.Session() as s:
            for _label, o, t in cases:  # warm both (connections, pools, catalogues)
                timed(s, o[:1], 2)
                timed(s, t[:1], 2)
            # tiles never asked before: OneMap draws them (then keeps them), as TiPg always does
            results.append((f"tiles cold ({len(cold)})", *timed(s, [
                f"{ours}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"
                for t in cold], 1), *timed(s, [
                f"{tipg}/collections/layers.{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
                for t in cold], 1)))
            for label, o, t in cases:
                results.append((label, *timed(s, o, args.repeat), *timed(s, t, args.repeat)))
    finally:
        stop_server(ours_proc)
        tipg_proc.terminate()
        tipg_proc.wait(timeout=30)
        pgcluster.stop(data / "postgres")
    print(f"\n{LAYER} (1,000,000 points) in PostGIS; both servers one process; "
          f"{args.repeat} rounds per query\n")
    print(f"{'query':<22}{'OneMap med':>11}{'p95':>9}{'TiPg med':>10}{'p95':>9}"
          f"{'OneMap/TiPg':>13}")
    for label, om, op, tm, tp in results:
        print(f"{label:<22}{om:>9.1f}ms{op:>7.1f}ms{tm:>8.1f}ms{tp:>7.1f}ms{om / tm:>12.2f}x")


if __name__ == "__main__":
    main()
