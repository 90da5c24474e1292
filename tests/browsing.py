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
