"""Cost of one page of OGC API Features items at depth: ``offset`` vs keyset (``after``).

``.venv/bin/python bench/paging.py [--url BASE | --data-dir DIR] [--collection air_hourly]
[--limit 1000] [--repeat 5]``: against a running server (``--url``) or one the bench starts on
the data dir (default: the settings' data dir, after ``onemap sample``). For pages at depths
0, 10 %, 50 % and 99 % of the collection it times the page asked by ``offset=<depth>`` and the
same page asked by ``after=<fid before it>`` (what the next links give), median of
``--repeat`` requests each, and prints ms per page, each method's ratio deep/first page, and
offset/keyset at each depth. Both ask the same rows (checked). Numbers depend on the machine;
nothing asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onemap.config import get_settings  # noqa: E402
from tests.server import start_server, stop_server  # noqa: E402

DEPTHS = (0.0, 0.1, 0.5, 0.99)


def timed(url: str, params: dict, repeat: int) -> tuple[float, list]:
    """Median seconds of ``repeat`` GETs, and the ids of the page."""
    times, ids = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        r = requests.get(url, params={"f": "json", **params}, timeout=300)
        times.append(time.perf_counter() - start)
        r.raise_for_status()
        ids = [f["id"] for f in r.json()["features"]]
    return statistics.median(times), ids


def fid_before(url: str, offset: int) -> int:
    """The fid of the feature just before ``offset`` in fid order (the cursor of that page)."""
    r = requests.get(url, params={"f": "json", "limit": 1, "offset": offset - 1,
                                  "properties": "fid", "skipGeometry": "true"}, timeout=300)
    r.raise_for_status()
    return int(r.json()["features"][0]["properties"].get("fid", r.json()["features"][0]["id"]))


def run(base: str, collection: str, limit: int, repeat: int) -> None:
    url = f"{base}/ogc/collections/{collection}/items"
    total = requests.get(url, params={"f": "json", "limit": 1, "skipGeometry": "true"},
                         timeout=300).json()["numberMatched"]
    print(f"{collection}: {total} features, pages of {limit}, median of {repeat}")
    print(f"{'depth':>8} {'offset ms':>10} {'keyset ms':>10} {'offset/keyset':>14}")
    rows = []
    for depth in DEPTHS:
        offset = min(int(total * depth), max(0, total - limit))
        common = {"limit": limit, "skipGeometry": "true"}
        by_offset, ids_o = timed(url, {**common, "offset": offset}, repeat)
        cursor = {"after": fid_before(url, offset)} if offset else {}
        by_key, ids_k = timed(url, {**common, **cursor}, repeat)
        assert ids_o == ids_k, f"offset and keyset disagree at {offset}"
        rows.append((by_offset, by_key))
        print(f"{offset:>8} {by_offset * 1000:>10.1f} {by_key * 1000:>10.1f} "
              f"{by_offset / by_key:>14.2f}")
    (o0, k0), (o9, k9) = rows[0], rows[-1]
    print(f"deepest / first page: offset {o9 / o0:.2f}×, keyset {k9 / k0:.2f}×")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running server's base URL (else one is started)")
    parser.add_argument("--data-dir", type=Path, help="data dir for the started server")
    parser.add_argument("--collection", default="air_hourly")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.url:
        run(args.url.rstrip("/"), args.collection, args.limit, args.repeat)
        return 0
    proc, base = start_server(args.data_dir or get_settings().data_dir)
    try:
        run(base, args.collection, args.limit, args.repeat)
    finally:
        stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
