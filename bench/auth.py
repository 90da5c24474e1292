"""What authentication, the policy and the audit cost per request, on items and tiles.

Run with ``make bench-auth`` (or ``.venv/bin/python bench/auth.py``) after ``onemap sample``.
The bench starts a real server (``python -m onemap serve`` on a free 127.0.0.1 port) on your
data dir with a *temporary* system database (``ONEMAP_SYSTEM_DB``), where it creates a viewer
account with an API key, so your accounts and audit trail are left alone. Then, in rounds, it
requests the same URLs under each condition in turn (interleaved, so drift of the machine
hits every condition alike) with one keep-alive session per condition:

* **items** — 100 features of a public layer (``air_stations``) and of an internal one
  (``pollution_sources``);
* **tiles** — tiles of zoom 10 of a public raster, cycling over the raster's extent.

Conditions: ``anonymous`` (no credentials: what "auth off" costs — the middleware then only
notes that nobody called) is the reference; ``key`` sends the viewer's API key (the key is
looked up and the principal built); on the internal layer ``key`` also runs the policy and
queues a ``read_internal`` audit record. The internal layer as anonymous is the reference for
that row while the policy does not hide it; once enforcement hides it (404), the row is
compared with the public layer as anonymous instead, and says so.

Printed: median and p95 per condition and the ratio of medians to the reference of the same
run (cost = ratio − 1; the issue's goal is under 5 % on items and tiles). Numbers depend on
the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import morecantile
import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onemap import catalog  # noqa: E402
from onemap.access import accounts  # noqa: E402
from onemap.config import Settings, get_settings  # noqa: E402
from tests.server import start_server, stop_server  # noqa: E402

PUBLIC_LAYER = "air_stations"
INTERNAL_LAYER = "pollution_sources"
ITEMS = "/ogc/collections/{}/items?limit=100&f=json"


def tiles_of(entry: catalog.Entry, zoom: int = 10, most: int = 16) -> list[str]:
    """Tile paths of ``entry`` at ``zoom`` over its bounds (at most ``most``)."""
    bounds = entry.bbox or (entry.extra or {}).get("bounds")
    tms = morecantile.tms.get("WebMercatorQuad")
    found = list(tms.tiles(*bounds, zooms=[zoom]))[:most]
    return [f"/raster/{entry.id}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png" for t in found]


def measure(base: str, cases: dict[str, tuple[list[str], dict[str, str]]], rounds: int
            ) -> dict[str, list[float]]:
    """Seconds per request of each case: (paths cycled through, headers); interleaved."""
    sessions = {name: requests.Session() for name in cases}
    out: dict[str, list[float]] = {name: [] for name in cases}
    statuses: dict[str, set[int]] = {name: set() for name in cases}
    for i in range(rounds):
        for name, (paths, headers) in cases.items():
            r = sessions[name].get(base + paths[i % len(paths)], headers=headers, timeout=120)
            statuses[name].add(r.status_code)
            out[name].append(r.elapsed.total_seconds())
    for name, codes in statuses.items():
        if codes != {200}:
            print(f"  note: {name} answered {sorted(codes)}", file=sys.stderr)
    return out


def stats(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.median(arr)), float(np.percentile(arr, 95))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    settings = get_settings()
    entries = catalog.load(settings)
    rasters = [e for e in entries.values() if e.kind == "raster" and e.access == "public"]
    if PUBLIC_LAYER not in entries or INTERNAL_LAYER not in entries or not rasters:
        print("the catalogue lacks the sample layers: run 'onemap sample' first",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="onemap-bench-auth-") as tmp:
        db = f"sqlite:///{tmp}/system.db"
        own = Settings(data_dir=settings.data_dir, system_db=db)
        accounts.add(own, "bench_viewer", roles=["viewer"])
        _, key = accounts.create_key(own, "bench_viewer", "bench")
        proc, base = start_server(settings.data_dir, ONEMAP_SYSTEM_DB=db)
        try:
            anon: dict[str, str] = {}
            keyed = {"Authorization": f"Bearer {key}"}
            public, internal = ITEMS.format(PUBLIC_LAYER), ITEMS.format(INTERNAL_LAYER)
            hidden = requests.get(base + internal, timeout=120).status_code == 404
            tiles = tiles_of(rasters[0])
            cases = {
                "items public, anonymous": ([public], anon),
                "items public, key": ([public], keyed),
                "items internal, key": ([internal], keyed),
                "tiles public, anonymous": (tiles, anon),
                "tiles public, key": (tiles, keyed),
            }
            if not hidden:
                cases["items internal, anonymous"] = ([internal], anon)
            measure(base, cases, 10)  # warm-up: caches, pools, the first GDAL opens
            got = measure(base, cases, args.rounds)
        finally:
            stop_server(proc)
    refs = {"items public, key": "items public, anonymous",
            "items internal, key": ("items public, anonymous" if hidden
                                    else "items internal, anonymous"),
            "tiles public, key": "tiles public, anonymous"}
    print(f"auth + policy + audit cost, {args.rounds} interleaved rounds, raster "
          f"{rasters[0].id!r}")
    print(f"  {'case':28} {'median ms':>10} {'p95 ms':>8}   ratio to reference")
    for name, samples in got.items():
        med, p95 = stats(samples)
        line = f"  {name:28} {med:10.2f} {p95:8.2f}"
        if name in refs:
            ratio = med / stats(got[refs[name]])[0]
            line += f"   {ratio:.3f} ({(ratio - 1) * 100:+.1f} %) vs {refs[name]}"
        print(line)
    if hidden:
        print("  (the internal layer is hidden from anonymous: its row is compared with the "
              "public layer, a different size of answer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
