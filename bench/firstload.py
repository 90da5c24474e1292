"""The map's first load in a real browser: time to interactive, time to settled, requests.

A real server on the sample region (``make run``'s data dir, generated if missing) and Debian's
Chromium (Playwright), a 1440×900 window. Each load opens ``/`` and records:

* **interactive** — the Leaflet map is drawn with its first vector layer (the air stations'
  markers are on the map: a user can pan, zoom and click them);
* **settled** — nothing left to do: no Dash component is loading, the dashboard says when its
  data is from (``#db-now-text`` no longer "loading"), and no request has been in flight for
  ``QUIET`` seconds; the time is that of the last response before the quiet;
* **requests** and **KB** — every request the page made until settled (bytes as received).

``--loads`` cold loads (default 7), each in a new browser context (an empty HTTP cache), then
as many **warm** loads in one context (its cache filled by a first load). ``--busy N`` keeps N
processes spinning on the CPU meanwhile (the issue's "while the machine is busy": 2 on this
machine's two cores). Prints median and p95 of each, per kind, and the slowest requests of the
median cold load.

Run: ``.venv/bin/python bench/firstload.py [--loads 7] [--busy 0]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402
from tiles import start_server  # noqa: E402

from onemap import catalog  # noqa: E402
from onemap.config import get_settings  # noqa: E402
from onemap.data.generate import generate  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
QUIET = 0.5  # seconds without a request in flight
DRAWN = ".leaflet-om-air_stations-pane path.leaflet-interactive"
LOADING_TEXTS = ("正在读取监测数据", "Reading the time of the latest")  # db_now_loading


@dataclass
class Load:
    """One load: seconds to interactive and to settled, its requests (count, KB, by kind)
    and its slowest requests."""

    interactive: float = 0.0
    settled: float = 0.0
    requests: int = 0
    cached: int = 0  # of them answered by the browser's cache (no round trip)
    kb: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)


def _label(req) -> str:  # type: ignore[no-untyped-def]
    """The request's path, or for a Dash callback the outputs it computes."""
    path = req.url.split("//", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
    if path.endswith("_dash-update-component"):
        try:
            body = json.loads(req.post_data or "{}")
        except ValueError:
            return path
        why = ",".join(body.get("changedPropIds") or []) or "page load"
        return f"callback ← {why[:60]} → {body.get('output', '?')}"
    return "/" + path


def _kind(label: str) -> str:
    """What a request was for: a callback, an asset, Dash's bundles, data, tiles…"""
    if label.startswith("callback"):
        return "callbacks"
    parts = label.strip("/").split("/")
    first = parts[0] if parts and parts[0] else "page"
    if first in ("ogc", "api", "raster", "cube", "stac") and "tiles" in parts:
        return f"{first} tiles"
    return first


def one_load(context, base: str) -> Load:  # type: ignore[no-untyped-def]
    """Open the map in a new page of ``context``; time it until settled."""
    page = context.new_page()
    inflight: dict[object, float] = {}
    done: list[tuple[float, float, str, int]] = []  # start, end, url, bytes
    last = [0.0]
    t0 = time.perf_counter()

    def started(req) -> None:  # type: ignore[no-untyped-def]
        inflight[req] = time.perf_counter() - t0

    def finished(req) -> None:  # type: ignore[no-untyped-def]
        end = time.perf_counter() - t0
        size = 0
        try:
            size = req.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 (a request that got no body)
            size = 0
        done.append((inflight.pop(req, end), end, _label(req), size))
        last[0] = end

    cdp = context.new_cdp_session(page)  # which requests the cache answered
    cdp.send("Network.enable")
    cached: set[str] = set()
    cdp.on("Network.requestServedFromCache", lambda e: cached.add(e["requestId"]))
    cdp.on("Network.responseReceived", lambda e: cached.add(e["requestId"])
           if e["response"].get("fromDiskCache") or e["response"].get("fromMemoryCache")
           else None)
    page.on("request", started)
    page.on("requestfinished", finished)
    page.on("requestfailed", finished)
    page.goto(base + "/", wait_until="commit")
    page.wait_for_selector(DRAWN, timeout=120_000)
    out = Load(interactive=time.perf_counter() - t0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = page.evaluate("""() => ({
            loading: document.querySelectorAll('[data-dash-is-loading="true"]').length,
            now: (document.querySelector('#db-now-text') || {}).innerText || ''})""")
        quiet = not inflight and time.perf_counter() - t0 - last[0] >= QUIET
        if quiet and not state["loading"] and state["now"] and \
                not any(s in state["now"] for s in LOADING_TEXTS):
            break
        page.wait_for_timeout(50)
    else:
        raise RuntimeError("the page did not settle within 120 s")
    out.settled = max(last[0], out.interactive)
    out.requests = len(done)
    out.cached = len(cached)
    out.kb = sum(d[3] for d in done) / 1024
    out.slowest = sorted(((d[1] - d[0], d[2]) for d in done), reverse=True)[:10]
    out.timeline = sorted((d[0], d[1], d[2]) for d in done)
    for d in done:
        kind = _kind(d[2])
        out.kinds[kind] = out.kinds.get(kind, 0) + 1
    page.close()
    return out


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(values):7.2f} {p95:7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--timeline", action="store_true",
                        help="print every request of the median cold load (start, end)")
    parser.add_argument("--busy", type=int, default=0, help="CPU-spinning processes meanwhile")
    args = parser.parse_args()
    settings = get_settings()
    if not catalog.load(settings):
        generate(settings)
    proc, base = start_server(settings)
    spinners: list[subprocess.Popen] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            viewport = {"width": 1440, "height": 900}
            warmup = browser.new_context(viewport=viewport)  # the server's own first-use costs
            one_load(warmup, base)
            warmup.close()
            spinners += [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                         for _ in range(args.busy)]
            cold = []
            for _ in range(args.loads):
                context = browser.new_context(viewport=viewport)
                cold.append(one_load(context, base))
                context.close()
            context = browser.new_context(viewport=viewport)
            one_load(context, base)  # fills the cache
            warm = [one_load(context, base) for _ in range(args.loads)]
            context.close()
            browser.close()
    finally:
        for spinner in spinners:
            spinner.kill()
        proc.terminate()
        proc.wait(timeout=30)
    print(f"first load of {base}/ at 1440×900, {args.loads} loads each, {args.busy} busy "
          f"processes; seconds (median, p95); requests, of them from the browser's cache, "
          f"and KB (median)")
    print(f"{'kind':>5} {'interactive':>15} {'settled':>15} {'requests':>9} {'cached':>7} "
          f"{'KB':>7}")
    for kind, loads in (("cold", cold), ("warm", warm)):
        print(f"{kind:>5} {stats([x.interactive for x in loads]):>15} "
              f"{stats([x.settled for x in loads]):>15} "
              f"{statistics.median(x.requests for x in loads):>9.0f} "
              f"{statistics.median(x.cached for x in loads):>7.0f} "
              f"{statistics.median(x.kb for x in loads):>7.0f}")
    for kind, loads in (("cold", cold), ("warm", warm)):
        middle = sorted(loads, key=lambda x: x.settled)[len(loads) // 2]
        print(f"requests of the median {kind} load: " + ", ".join(
            f"{k} {v}" for k, v in sorted(middle.kinds.items(), key=lambda kv: -kv[1])))
    middle = sorted(cold, key=lambda x: x.settled)[len(cold) // 2]
    print("slowest requests of the median cold load (seconds, path):")
    for seconds, path in middle.slowest:
        print(f"  {seconds:6.2f}  {path[:110]}")
    if args.timeline:
        print("every request of the median cold load (start, end in seconds, path):")
        for start, end, path in middle.timeline:
            print(f"  {start:6.2f} {end:6.2f}  {path[:110]}")


if __name__ == "__main__":
    main()
