"""What the browser tests watch on a page: console errors, failed requests, hosts, tiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests


def features(base: str, collection: str, headers: dict[str, str] | None = None,
             **params: object) -> list[dict]:
    """A collection's features as the server answers ``items`` (what a test compares with),
    to the caller of ``headers`` (a test caller's ``.headers``; internal layers need one)."""
    resp = requests.get(f"{base}/ogc/collections/{collection}/items", headers=headers,
                        params={"f": "json", "limit": 10000, **params}, timeout=60)
    resp.raise_for_status()
    return resp.json()["features"]


@dataclass
class Traffic:
    """Everything the page did that a test may object to."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    #: Every requested URL, in order.
    urls: list[str] = field(default_factory=list)
    ok_tiles: list[str] = field(default_factory=list)
    #: Tile requests the page itself cancelled (Leaflet aborts pending tiles
    #: when a layer's URL changes or it is removed); not a failure.
    aborted_tiles: list[str] = field(default_factory=list)
    #: (url, content type) of every successful tile response, in order.
    tile_types: list[tuple[str, str]] = field(default_factory=list)
    #: Requests of a page left for another (``page.goto`` again): the browser drops what the
    #: old page had in flight (its favicon, a popup's fetch); not a failure either.
    left_behind: list[str] = field(default_factory=list)


def watch(page) -> Traffic:  # type: ignore[no-untyped-def]
    """Start recording ``page``'s console errors and network traffic."""
    t = Traffic()
    page.on("console", lambda m: m.type == "error" and t.console_errors.append(m.text))
    page.on("pageerror", lambda e: t.console_errors.append(str(e)))

    # Which page load each request belongs to. A main-frame navigation starts a new one; until
    # its response arrives, requests still come from the old page (e.g. its favicon).
    loads: dict = {"n": 0, "pending": None}
    load_of: dict = {}

    def on_failed(r) -> None:  # type: ignore[no-untyped-def]
        if r is loads["pending"]:
            loads["pending"] = None
        aborted = r.failure == "net::ERR_ABORTED"
        if aborted and "/tiles/" in r.url:
            t.aborted_tiles.append(r.url)
        elif aborted and load_of.get(r, loads["n"]) < loads["n"]:
            t.left_behind.append(r.url)
        else:
            t.failed.append(f"{r.url} {r.failure}")

    page.on("requestfailed", on_failed)

    def on_response(r) -> None:  # type: ignore[no-untyped-def]
        if r.request is loads["pending"]:
            loads["pending"] = None
        if r.status >= 400:
            t.failed.append(f"{r.status} {r.url}")
        elif "/tiles/" in r.url:
            t.ok_tiles.append(r.url)
            t.tile_types.append((r.url, r.headers.get("content-type", "")))

    page.on("response", on_response)

    def on_request(r) -> None:  # type: ignore[no-untyped-def]
        if r.is_navigation_request() and r.frame == page.main_frame:
            loads["n"] += 1
            loads["pending"] = r
        load_of[r] = loads["n"] - (loads["pending"] is not None and loads["pending"] is not r)
        t.urls.append(r.url)
        parts = urlsplit(r.url)
        if parts.scheme not in ("data", "blob"):
            t.hosts.add(parts.hostname or "")

    page.on("request", on_request)
    return t


def wait_for_tile(page, traffic: Traffic, fragment: str, timeout_ms: int = 30_000) -> str:  # type: ignore[no-untyped-def]
    """The first PNG tile (status 200) whose URL contains ``fragment``, waiting for it."""
    for _ in range(timeout_ms // 100):
        for url, ctype in traffic.tile_types:
            if fragment in url and ctype.startswith("image/png"):
                return url
        page.wait_for_timeout(100)
    raise AssertionError(f"no PNG tile containing {fragment!r}; tiles seen: "
                         f"{[u for u, _ in traffic.tile_types][-5:]}")


#: ``sel`` → where the map shows it: ``{box, map, covers}`` with ``box`` the union of the
#: client rectangles of what ``sel`` matches, ``map`` the map's, ``covers`` those of the panels
#: floating over the map and shown (layer list, dock, time bar), each ``[left, top, right,
#: bottom]`` (``box`` null when nothing matches).
DRAWN_AT = """(sel) => {
    const r = e => {
        const b = e.getBoundingClientRect();
        return [b.left, b.top, b.right, b.bottom];
    };
    let box = null;
    for (const e of document.querySelectorAll(sel)) {
        const b = r(e);
        box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]),
                     Math.max(box[3], b[3])] : b;
    }
    const covers = {};
    for (const id of ['om-panel', 'om-dock-root', 'om-timebar']) {
        const e = document.getElementById(id);
        if (e && e.offsetParent !== null) covers[id] = r(e);
    }
    return {box: box, map: r(document.getElementById('om-map')), covers: covers};
}"""


#: ``[[lat, lon], …]`` → true when every point is drawn on the map where no panel covers it:
#: right of the layer list, left of the dock, above the time bar (the map as tools.js exposes it).
UNCOVERED = """(lls) => {
    const m = window.onemap.tools.map(), box = id => {
        const e = document.getElementById(id);
        return e && e.offsetParent !== null ? e.getBoundingClientRect() : null; };
    const panel = box('om-panel'), dock = box('om-dock-root'), bar = box('om-timebar');
    const map = m.getContainer().getBoundingClientRect();
    return lls.every(ll => {
        const p = m.latLngToContainerPoint(ll), x = map.left + p.x, y = map.top + p.y;
        return x >= (panel ? panel.right : map.left) && x <= (dock ? dock.left : map.right)
               && y >= map.top && y <= (bar ? bar.top : map.bottom);
    });
}"""
