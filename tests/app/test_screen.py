"""The big screen (``/?mode=screen``) in Chromium at 1920×1080 and 3840×2160.

On its own server (a copy of the sample: the test adds an incident and restarts the server),
with a 3 s tour and a 3 s look at the data's versions. At both sizes: the map in the middle and
the KPI cards around it with the figures the OGC API gives, no scroll bar, the same picture at
4K as at 1080p (type scaled with the width), text on the cards at WCAG AA contrast, the tour
moving the map and lighting each card. Then, without a reload, a new incident shows in the open
incidents card; the server is stopped (the header says so) and started again, and the page
reloads itself and shows the figures again. Screenshots: ``screen-1920.png``,
``screen-3840.png``, ``screen-restarted.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from urllib.parse import urlsplit

import pytest
import requests

from onemap.config import Settings
from onemap.styles.contrast import contrast
from tests.browsing import features, watch
from tests.conftest import Caller
from tests.server import sample_copy, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

KPIS = ("air", "water", "inc", "src")
RGB = re.compile(r"rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)")


@dataclass
class Wall:
    """The screen's own server: its data dir, port, process and base URL."""

    data: Path
    port: int
    proc: Popen
    base: str


@pytest.fixture(scope="module")
def wall(sample_settings: Settings, callers: dict[str, Caller],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wall]:
    del callers  # their accounts must be in the copy
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("screen"))
    env = {"ONEMAP_SCREEN_ROTATE_S": "3", "ONEMAP_SCREEN_REFRESH_S": "3"}
    proc, base = start_server(data, **env)
    w = Wall(data, int(urlsplit(base).port or 0), proc, base)
    yield w
    stop_server(w.proc)


def _over(top: str, under: tuple[float, float, float]) -> tuple[float, float, float]:
    """A CSS colour (maybe translucent) over an opaque one."""
    m = RGB.fullmatch(top)
    assert m, top
    r, g, b = (float(x) for x in m.groups()[:3])
    a = float(m.group(4)) if m.group(4) is not None else 1.0
    return tuple(a * c + (1 - a) * u for c, u in zip((r, g, b), under, strict=True))  # type: ignore[return-value]


def _open(browser, wall: Wall, login, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    login(page, "viewer", base=wall.base, settings=Settings(data_dir=wall.data))  # internal layers
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(wall.base + "/?mode=screen")
    for kpi in KPIS:
        page.wait_for_selector(f".db-big-value[data-kpi={kpi}]", state="visible")
    return page, traffic


def test_the_wall_at_1080p_and_4k(wall: Wall, browser, login, callers,  # type: ignore[no-untyped-def]
                                  artifacts_dir: Path) -> None:
    incidents = features(wall.base, "incidents", callers["viewer"].headers, skipGeometry="true")
    n_open = sum(1 for f in incidents if f["properties"]["status"] != "closed")
    sizes = {}
    for size in ((1920, 1080), (3840, 2160)):
        page, traffic = _open(browser, wall, login, size)
        assert page.inner_text(".db-big-value[data-kpi=inc]") == str(n_open)
        assert not page.locator(".db-error").count()
        assert not page.is_visible("#om-panel") and not page.is_visible(".om-dock .om-tabs")
        dims = page.evaluate("""() => ({sw: document.documentElement.scrollWidth,
            sh: document.documentElement.scrollHeight, w: innerWidth, h: innerHeight})""")
        assert dims["sw"] <= dims["w"] and dims["sh"] <= dims["h"], dims  # no scroll bars
        map_box = page.locator("#om-map").bounding_box()
        assert map_box
        centre = map_box["x"] + map_box["width"] / 2
        assert abs(centre - size[0] / 2) < 0.02 * size[0]
        assert map_box["width"] > 0.4 * size[0] and map_box["height"] > 0.8 * size[1]
        for kpi in KPIS:  # each card beside the map, whole on the screen
            card = page.locator(f".db-card[data-kpi={kpi}]").bounding_box()
            assert card and card["y"] + card["height"] <= size[1] + 1
            assert card["x"] + card["width"] <= map_box["x"] + 1 or \
                card["x"] >= map_box["x"] + map_box["width"] - 1, (kpi, card, map_box)
        big = page.eval_on_selector(".db-big-value[data-kpi=water]",
                                    "e => parseFloat(getComputedStyle(e).fontSize)")
        sizes[size[0]] = big / size[0]
        assert big >= 48 * size[0] / 1920  # readable across a room
        # WCAG AA: the cards' words against the card (over the page's background)
        page_bg = _over(page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor"),
                        (255, 255, 255))
        card_bg = _over(page.eval_on_selector(".db-card[data-kpi=water]",
                                              "e => getComputedStyle(e).backgroundColor"),
                        page_bg)
        for sel in (".db-card-title", ".db-big-value", ".db-big-sub", ".db-key-item",
                    ".db-axis-title", ".db-tick", ".db-bar-text"):
            fg = _over(page.eval_on_selector(f".db-card[data-kpi=water] {sel}",
                                             "e => getComputedStyle(e).color"), card_bg)
            assert contrast(fg, card_bg) >= 4.5, (sel, fg, card_bg)
        # the tour: the map moves to each theme in turn and lights its card
        seen = set()
        for _ in range(3):
            showing = page.get_attribute("#om-screen", "data-showing")
            page.wait_for_function("(s) => document.getElementById('om-screen')"
                                   ".dataset.showing !== s", arg=showing or "", timeout=15_000)
            now = page.get_attribute("#om-screen", "data-showing")
            seen.add(now)
            lit = page.get_attribute(".db-card.om-sc-focus", "data-kpi")
            assert lit == {"air_stations": "air", "water_sections": "water",
                           "incidents": "inc", "pollution_sources": "src"}[now or ""]
            page.wait_for_function(f"() => location.search.includes('{now}')")
        assert len(seen) == 3
        assert "当前图层" in page.inner_text("#om-screen .om-sc-showing")
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", page.inner_text(".om-sc-clock"))
        page.screenshot(path=str(artifacts_dir / f"screen-{size[0]}.png"))
        assert not traffic.console_errors, traffic.console_errors
        page.close()
    assert sizes[3840] == pytest.approx(sizes[1920], rel=0.05)  # the same picture at 4K


def test_the_wall_keeps_itself_current_and_survives_a_restart(  # type: ignore[no-untyped-def]
        wall: Wall, browser, login, callers, artifacts_dir: Path) -> None:
    page, traffic = _open(browser, wall, login, (1920, 1080))
    before = int(page.inner_text(".db-big-value[data-kpi=inc]"))
    page.evaluate("() => { window.__sameLoad = 1; }")
    point = features(wall.base, "incidents", callers["viewer"].headers)[0]
    lon, lat = point["geometry"]["coordinates"]
    made = requests.post(
        f"{wall.base}/ogc/collections/incidents/items", timeout=60,
        headers={**callers["commander"].headers, "Content-Type": "application/geo+json"},
        json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
              "properties": {"title": "大屏测试事件", "time": "2026-12-04T09:30:00+08:00",
                             "type": "水污染", "level": "较大", "status": "reported"}})
    assert made.status_code == 201, made.text
    page.wait_for_function(f"() => document.querySelector('.db-big-value[data-kpi=inc]')"
                           f"?.innerText === '{before + 1}'", timeout=30_000)
    assert page.evaluate("() => window.__sameLoad") == 1  # redrawn, not reloaded

    stop_server(wall.proc)
    page.wait_for_function("() => document.documentElement.hasAttribute('data-lost')",
                           timeout=30_000)
    assert "连接中断" in page.inner_text("#om-screen .om-sc-state")
    wall.proc, _ = start_server(wall.data, port=wall.port, ONEMAP_SCREEN_ROTATE_S="3",
                                ONEMAP_SCREEN_REFRESH_S="3")
    page.wait_for_function("() => window.__sameLoad === undefined", timeout=60_000)  # reloaded
    errors_before = len(traffic.console_errors)  # the refused requests while it was down
    page.wait_for_selector(".db-big-value[data-kpi=inc]", state="visible")
    page.wait_for_function(f"() => document.querySelector('.db-big-value[data-kpi=inc]')"
                           f"?.innerText === '{before + 1}'")
    assert not page.get_attribute("html", "data-lost")
    page.wait_for_selector("#om-screen[data-showing]")
    page.screenshot(path=str(artifacts_dir / "screen-restarted.png"))
    assert traffic.console_errors[errors_before:] == []
    page.close()
