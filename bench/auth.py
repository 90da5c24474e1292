"""What authentication, the policy and the audit cost per request, on items and tiles.

Run with ``make bench-auth`` (or ``.venv/bin/python bench/auth.py``) after ``onemap sample``.
Two real servers (``python -m onemap serve`` on free 127.0.0.1 ports) answer the same
requests, interleaved round by round so that drift of the machine hits both alike, each with
a keep-alive session:

* the **reference**: a copy of your data dir in which every dataset is public, read without
  credentials — the same answers with no key to look up, no region or rule to apply, no audit
  record to queue (what the server costs with access control out of the way);
* the **secured** server: your data dir as it is, with a *temporary* system database
  (``ONEMAP_SYSTEM_DB``) holding a viewer account and its API key, read with that key — the
  key checked, the principal built, the policy asked, and for the internal layer a
  ``read_internal`` audit record queued. Your own accounts and audit trail are left alone.

Requests: **items** — 100 features of a public layer (``air_stations``) and of an internal one
(``pollution_sources``); **tiles** — zoom-10 tiles of a public raster over its extent.

Printed: median and p95 per case and the ratio of the secured median to the reference median
of the same request (cost = ratio − 1; the issue's goal is under 5 % on items and tiles).
Numbers depend on the machine; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import shutil
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


def measure(cases: dict[str, tuple[str, list[str], dict[str, str]]], rounds: int
            ) -> dict[str, list[float]]:
    """Seconds per request of each case: (server, paths cycled through, headers);
    interleaved."""
    sessions = {name: requests.Session() for name in cases}
    out: dict[str, list[float]] = {name: [] for name in cases}
    statuses: dict[str, set[int]] = {name: set() for name in cases}
    for i in range(rounds):
        for name, (base, paths, headers) in cases.items():
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


def _public_copy(data_dir: Path, into: Path) -> Path:
    """A copy of the datasets and the catalogue of ``data_dir`` with every entry public."""
    for name in ("store", "rasters", "cubes"):
        if (data_dir / name).exists():
            shutil.copytree(data_dir / name, into / name)
    settings = Settings(data_dir=into)
    for entry in catalog.load(Settings(data_dir=data_dir)).values():
        catalog.put(entry.model_copy(update={"access": "public"}), settings)
    return into


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
        open_dir = _public_copy(settings.data_dir, Path(tmp) / "open")
        ref_proc, ref = start_server(open_dir)
        proc, base = start_server(settings.data_dir, ONEMAP_SYSTEM_DB=db)
        try:
            keyed = {"Authorization": f"Bearer {key}"}
            public, internal = ITEMS.format(PUBLIC_LAYER), ITEMS.format(INTERNAL_LAYER)
            if requests.get(base + internal, timeout=120).status_code != 404:
                print(f"{INTERNAL_LAYER} is public in this catalogue (a sample made before "
                      "access levels): run 'onemap sample --force'", file=sys.stderr)
                return 2
            tiles = tiles_of(rasters[0])
            cases = {
                "items public, reference": (ref, [public], {}),
                "items public, key": (base, [public], keyed),
                "items internal, reference": (ref, [internal], {}),
                "items internal, key": (base, [internal], keyed),
                "tiles public, reference": (ref, tiles, {}),
                "tiles public, key": (base, tiles, keyed),
            }
            measure(cases, 10)  # warm-up: caches, pools, the first GDAL opens
            got = measure(cases, args.rounds)
        finally:
            stop_server(proc)
            stop_server(ref_proc)
    print(f"auth + policy + audit cost, {args.rounds} interleaved rounds, raster "
          f"{rasters[0].id!r}")
    print(f"  {'case':28} {'median ms':>10} {'p95 ms':>8}   ratio to reference")
    for name, samples in got.items():
        med, p95 = stats(samples)
        line = f"  {name:28} {med:10.2f} {p95:8.2f}"
        if name.endswith(", key"):
            ref_name = name.replace(", key", ", reference")
            ratio = med / stats(got[ref_name])[0]
            line += f"   {ratio:.3f} ({(ratio - 1) * 100:+.1f} %)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
