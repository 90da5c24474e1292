"""The two stores side by side on the national layer: GeoPackage files against PostGIS.

``make bench-store`` (= ``.venv/bin/python bench/store.py [--data-dir DIR]``; DIR defaults to
``var/bench-national`` and gets the national sample, 1,000,000 pollution sources, if it lacks
it). It makes (or finds) a PostgreSQL 15 + PostGIS 3 cluster in ``DIR/postgres`` on a free port
(``onemap postgis``'s code), starts two servers on the same data dir — one without a database
URL (GeoPackage), one with it (it loads the layers and the series by COPY, in the background; the
load time is printed) — and asks both, ``--repeat`` times each (median and p95), on the
1,000,000-point layer:

- **by id** — ``items/{source_id}`` of random sources (the key's index);
- **count** — ``resulttype=hits`` of the whole layer;
- **count, filtered** — ``resulttype=hits`` with a property filter;
- **first page / deep offset / deep keyset** — ``limit=10`` at offset 0, at offset 500,000,
  and the same page by the ``after`` cursor the next links use;
- **bbox** — a 0.2° box in a dense place, ``limit=1000``;
- **bbox + filter** — the same with a CQL2 filter on a number;
- **EDR** (when ``onemap sample --scale national --years N`` made ``air_hourly_national``):
  one station's whole N-year hourly series (one parameter; all eight), a month of it, and a
  day of the stations in a 2° box (``cube``) — read from the partitioned table, or from the
  GeoPackage by its (station, time) index.

Both answer the same features (checked on each query); the ratio PostGIS / GeoPackage is
printed per row.

Then **vector tiles** of the layer, drawn by the R-tree index (the default, on both servers)
and by PostGIS's ``ST_AsMVT`` (a third server, ``ONEMAP_VECTOR_TILES=postgis``): ``--tiles``
tiles per zoom of 4, 6, 8, 10, 12 and 14 around random sources, each asked once of each
server (a tile never asked: no tile cache answers it), checking that all say the same
content and count (the count to within a point or two: one lying within a float32 step of a
tile's edge may be counted on the other side by the index, which reads the R-tree's float32
boxes, than by PostGIS, which reads the coordinates). Numbers depend on the machine;
nothing asserts a time.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onemap import pgcluster  # noqa: E402
from onemap.config import Settings  # noqa: E402
from onemap.layers.store import read_layer  # noqa: E402
from tests.server import free_port, start_server, stop_server  # noqa: E402

LAYER = "pollution_sources_national"


def timed(session: requests.Session, url: str, params: dict, repeat: int
          ) -> tuple[float, float, dict]:
    times, doc = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        r = session.get(url, params={"f": "json", **params}, timeout=300)
        times.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{url} {params}: HTTP {r.status_code} {r.text[:300]}")
        doc = r.json()
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], doc


def same(a: dict, b: dict) -> bool:
    if "coverages" in a or "ranges" in a:  # EDR: the same times and values
        return a == b
    if "features" in a:
        return [f["id"] for f in a["features"]] == [f["id"] for f in b["features"]]
    if "numberMatched" in a:
        return a.get("numberMatched") == b.get("numberMatched")
    return a.get("id") == b.get("id")


def national_postgis(data_dir: str) -> tuple[Path, Settings, str]:
    """The national sample in ``data_dir`` (generated if missing) and the URL of its PostGIS
    cluster in ``data_dir/postgres`` (made or started, on a free port)."""
    data = Path(data_dir).resolve()
    settings = Settings(data_dir=data)
    if not (data / "store" / f"{LAYER}.gpkg").exists():
        from onemap.data.generate import generate

        generate(settings, scale="national")
    url = pgcluster.ensure(data / "postgres", port=free_port(), database="onemap_bench")
    return data, settings, url


def wait_loaded(data: Path, url: str, timeout: float = 7200) -> float:
    """Seconds until PostGIS holds every layer and series of ``data`` (a server started on
    it loads them in the background, answering from the files meanwhile)."""
    from onemap.store import pending

    settings, t0 = Settings(data_dir=data, database_url=url), time.perf_counter()
    while pending(settings):
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"PostGIS still lacks {pending(settings)}")
        time.sleep(1)
    return time.perf_counter() - t0


def tile_rows(bases: dict[str, str], centres: list[tuple[float, float]]
              ) -> list[tuple[int, str, dict[str, tuple[float, float]]]]:
    """Per zoom: the tiles' content and, per server, median and p95 ms of each tile's first
    request (the same tiles of every server; their content and count must agree)."""
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    out = []
    with requests.Session() as s:
        for z in (4, 6, 8, 10, 12, 14):
            tiles = list(dict.fromkeys(tms.tile(lon, lat, z) for lon, lat in centres))
            times: dict[str, list[float]] = {name: [] for name in bases}
            content = set()
            for t in tiles:
                seen = set()
                for name, base in bases.items():
                    start = time.perf_counter()
                    r = s.get(f"{base}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/"
                              f"{t.z}/{t.y}/{t.x}", timeout=300)
                    times[name].append((time.perf_counter() - start) * 1000)
                    if r.status_code != 200:
                        raise RuntimeError(f"tile {t}: HTTP {r.status_code} {r.text[:200]}")
                    seen.add((r.headers["OneMap-Tile-Content"], r.headers["OneMap-Tile-Count"]))
                    content.add(r.headers["OneMap-Tile-Content"])
                # the same content; the same count but for points within a float32 step
                # (~1e-5°) of the tile's edge, which the index (the R-tree's float32 boxes)
                # and PostGIS (the coordinates) may put on either side of it
                counts = [int(c) for _, c in seen]
                if len({k for k, _ in seen}) != 1 or max(counts) - min(counts) > max(
                        2, max(counts) // 10_000):
                    raise RuntimeError(f"tile {t}: the drawers disagree: {seen}")
            out.append((z, "/".join(sorted(content)), {
                n: (statistics.median(v), sorted(v)[math.ceil(0.95 * (len(v) - 1))])
                for n, v in times.items()}))
    return out


def hourly_years(settings: Settings) -> int:
    """How many years of national hourly data the data dir holds (0: none)."""
    from onemap import catalog

    entry = catalog.load(settings).get("air_hourly_national")
    if entry is None or not entry.time_extent:
        return 0
    first, last = (int(t[:4]) for t in entry.time_extent)
    return last - first + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="var/bench-national")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--tiles", type=int, default=12, help="vector tiles per zoom")
    parser.add_argument("--tiles-only", action="store_true", help="only the vector tiles")
    args = parser.parse_args()
    data, settings, url = national_postgis(args.data_dir)
    ids = read_layer(LAYER, settings, columns=["source_id"], max_features=200_000)
    rng = random.Random(7)
    keys = [str(k) for k in rng.sample(list(ids["source_id"]), 5)]
    centres = [(p.x, p.y) for p in rng.sample(list(ids.geometry), args.tiles)]
    t0 = time.perf_counter()
    cold = {"ONEMAP_TILE_CACHE_MB": "0"}  # every tile drawn: no disk cache shared between them
    pg_proc, pg_base = start_server(data, 1800, ONEMAP_DATABASE_URL=url, **cold)
    load_s = time.perf_counter() - t0 + wait_loaded(data, url)
    gp_proc, gp_base = start_server(data, 300, **cold)
    mvt_proc, mvt_base = start_server(data, 300, ONEMAP_DATABASE_URL=url,
                                      ONEMAP_VECTOR_TILES="postgis", **cold)
    items = f"/ogc/collections/{LAYER}/items"
    box = "116.3,39.8,116.5,40.0"  # Beijing: among the densest cells of the national sample
    queries = [
        ("by id", lambda k=keys: [(f"{items}/{key}", {}) for key in k]),
        ("count", lambda: [(items, {"resulttype": "hits"})]),
        ("count, filtered", lambda: [(items, {"resulttype": "hits", "filter": "so2_t > 20"})]),
        ("first page", lambda: [(items, {"limit": 10})]),
        ("deep offset 500000", lambda: [(items, {"limit": 10, "offset": 500_000})]),
        ("deep keyset 500000", lambda: [(items, {"limit": 10, "after": 500_000})]),
        ("bbox 0.2°", lambda: [(items, {"bbox": box, "limit": 1000})]),
        ("bbox + filter", lambda: [(items, {"bbox": box, "limit": 1000,
                                            "filter": "so2_t > 5"})]),
    ]
    years = hourly_years(settings)
    if years:  # `onemap sample --scale national --years N`: one station's N-year series
        edr = "/ogc/collections/air_stations_national/locations/1001A"
        queries += [
            (f"EDR {years} y, pm25", lambda: [(edr, {"parameter-name": "pm25"})]),
            (f"EDR {years} y, 8 params", lambda: [(edr, {})]),
            ("EDR 1 month, 8 params", lambda: [(edr, {"datetime": "2025-06-01/2025-06-30"})]),
            ("EDR cube 1 day", lambda: [("/ogc/collections/air_stations_national/cube",
                                         {"bbox": "115.5,39.4,117.5,41", "datetime":
                                          "2025-06-01T00:00:00Z/2025-06-01T23:00:00Z"})]),
        ]
    rows, tiles = [], []
    if args.tiles_only:
        queries = []
    try:
        with requests.Session() as s:
            for base in (pg_base, gp_base, mvt_base):  # warm: schema, pools, the R-tree index
                timed(s, base + items, {"limit": 1}, 3)
                s.get(f"{base}/ogc/collections/{LAYER}/tiles/WebMercatorQuad/0/0/0", timeout=300)
            for label, make in queries:
                pg_t, gp_t = [], []
                for path, params in make():
                    pm, pp, pdoc = timed(s, pg_base + path, params, args.repeat)
                    gm, gpp, gdoc = timed(s, gp_base + path, params, args.repeat)
                    if not same(pdoc, gdoc):
                        raise RuntimeError(f"{label}: the stores answer differently")
                    pg_t.append((pm, pp))
                    gp_t.append((gm, gpp))
                rows.append((label, statistics.median(m for m, _ in pg_t),
                             max(p for _, p in pg_t), statistics.median(m for m, _ in gp_t),
                             max(p for _, p in gp_t)))
        tiles = tile_rows({"GPKG index": gp_base, "PG index": pg_base,
                           "PG ST_AsMVT": mvt_base}, centres)
    finally:
        for proc in (pg_proc, gp_proc, mvt_proc):
            stop_server(proc)
        pgcluster.stop(data / "postgres")
    print(f"\n{LAYER}: 1,000,000 points; {years} years of hourly data; PostGIS server start "
          f"incl. loading by COPY {load_s:.0f} s; {args.repeat} requests per query\n")
    print(f"{'query':<22}{'PostGIS med':>12}{'p95':>9}{'GPKG med':>10}{'p95':>9}"
          f"{'PG/GPKG':>9}")
    for label, pm, pp, gm, gp in rows:
        print(f"{label:<22}{pm:>10.1f}ms{pp:>7.1f}ms{gm:>8.1f}ms{gp:>7.1f}ms{pm / gm:>8.2f}x")
    print(f"\nvector tiles never asked, {args.tiles} per zoom (median ms, p95): who draws")
    names = list(tiles[0][2]) if tiles else []
    print(f"{'zoom':<6}{'content':<20}" + "".join(f"{n:>20}" for n in names)
          + f"{'ST_AsMVT/index':>16}")
    for z, content, by in tiles:
        cells = "".join(f"{by[n][0]:>11.1f} ({by[n][1]:>6.1f})" for n in names)
        print(f"{z:<6}{content:<20}{cells}{by['PG ST_AsMVT'][0] / by['PG index'][0]:>15.2f}x")


if __name__ == "__main__":
    main()
