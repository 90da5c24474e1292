"""The Dashboard in a real browser: the first thing an official sees.

The page opens with the Dashboard tab; the test waits for the KPIs and compares what the cards
say with values computed here, independently, from the OGC API over HTTP (the same ``aqi-daily``
run for the latest 30 complete days of the data, the water sections' classes, the open
incidents, the sources' permit dates). It then switches the water-sections layer off, clicks the
bar of the largest water class and checks that the layer came back on and the map moved onto
those sections (read from the URL the page keeps); clicks the worst day of the AQI chart and
checks the map's time went to noon that day; finally switches to English and finds no Chinese in
the panel's text or charts. Screenshots: ``dashboard.png``, ``dashboard-en.png``.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browsing import UNCOVERED, features, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
BODY = ".om-tab-body[data-panel=dashboard]"
CLASSES = ("I", "II", "III", "IV", "V", "V+")
#: Every text the dashboard shows: text nodes, SVG text of the charts, titles and labels.
PANEL_TEXT = """(sel) => {
    const root = document.querySelector(sel), out = [];
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) { const s = walk.currentNode.textContent.trim(); if (s) out.push(s); }
    for (const el of root.querySelectorAll('[title],[aria-label]')) {
        for (const a of ['title', 'aria-label']) {
            const v = el.getAttribute(a); if (v && v.trim()) out.push(v.trim());
        }
    }
    return out;
}"""


def _expected_air(base: str, year: bool = False
                  ) -> tuple[str, str, int, int, list[tuple[str, int]]]:
    """(start, end, good days, valid days, (date, AQI) of each valid day) of the latest 30
    complete days (``year``: of the year to the last complete day), from HTTP only."""
    latest = features(base, "air_hourly", limit=1, sortby="-time", skipGeometry="true")
    when = datetime.fromisoformat(latest[0]["properties"]["time"].replace("Z", "+00:00"))
    local = when.astimezone(timezone(timedelta(hours=8)))
    end = local.date() if local.hour == 23 else local.date() - timedelta(days=1)
    start = date(end.year, 1, 1) if year else end - timedelta(days=29)
    resp = requests.post(f"{base}/ogc/processes/aqi-daily/execution",
                         json={"inputs": {"start": start.isoformat(), "end": end.isoformat()}},
                         timeout=180)
    resp.raise_for_status()
    days = sorted((r["date"], r["aqi"]) for r in resp.json()["regional_daily"]
                  if r["aqi"] is not None)
    good = sum(1 for _, a in days if a <= 100)
    return start.isoformat(), end.isoformat(), good, len(days), days


def _view(page) -> tuple[int, float, float, list[str]]:  # type: ignore[no-untyped-def]
    """(zoom, lat, lon, layers) of the map as the page's URL states it."""
    q = parse_qs(urlsplit(page.url).query)
    return (int(q["z"][0]), float(q["lat"][0]), float(q["lon"][0]),
            q.get("layers", [""])[0].split(","))


def test_dashboard_panel(live_server: str, browser, artifacts_dir: Path, login,
                         callers) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(1) as pool:  # the reference run, while the page loads
        air_future = pool.submit(_expected_air, live_server)
        sections = features(live_server, "water_sections")
        classes = Counter(f["properties"].get("water_class") for f in sections)
        incidents = features(live_server, "incidents", callers["viewer"].headers,
                             skipGeometry="true")
        n_open = sum(1 for f in incidents if f["properties"]["status"] != "closed")

        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        login(page, "viewer")  # its incident and source cards read internal layers
        traffic = watch(page)
        page.set_default_timeout(30_000)
        page.goto(live_server + "/")
        page.wait_for_selector(".om-tab-body", state="attached")
        assert page.is_visible(BODY)  # the dashboard is the tab open on arrival
        start, end, good, valid, days = air_future.result()
    assert date.fromisoformat(end) - date.fromisoformat(start) == timedelta(days=29)

    # -- the KPIs, as computed independently ----------------------------------------------------
    page.wait_for_selector(".db-big-value[data-kpi=air]", timeout=60_000)
    share = f"{100 * good / valid:.1f}%"
    assert page.inner_text(".db-big-value[data-kpi=air]") == share
    sub = page.inner_text(".db-card[data-kpi=air] .db-big-sub")
    assert sub == f"{start} 至 {end}：优良 {good} 天，有效 {valid} 天（共 30 天）", sub
    page.wait_for_selector(".db-water-key [data-class=V\\+]")
    for cls in CLASSES:
        shown = page.inner_text(f".db-water-key [data-class='{cls}'] .db-key-count")
        assert int(shown) == classes.get(cls, 0), (cls, shown, classes)
    good_water = sum(classes.get(c, 0) for c in ("I", "II", "III"))
    assert page.inner_text(".db-big-value[data-kpi=water]") == \
        f"{100 * good_water / sum(v for k, v in classes.items() if k):.1f}%"
    page.wait_for_selector(".db-big-value[data-kpi=inc]")
    assert page.inner_text(".db-big-value[data-kpi=inc]") == str(n_open)
    page.wait_for_selector(".db-big-value[data-kpi=src]")
    # Every card has drawn its chart: a bar per class, per day, per level, per group.
    page.wait_for_function("() => document.querySelectorAll("
                           "'#db-water-graph .db-bar').length === 6")
    assert page.locator("#db-air-graph .db-bar").count() == valid
    assert page.locator("#db-inc-graph .db-bar").count() >= 1
    assert page.locator("#db-src-graph .db-bar").count() >= 2
    assert not page.locator(".db-error").count()
    page.screenshot(path=str(artifacts_dir / "dashboard.png"))

    # -- a bar leads to the map -----------------------------------------------------------------
    layer = page.locator("#om-panel input[value=water_sections]")
    layer.uncheck()
    page.wait_for_function("() => !location.search.includes('water_sections')")
    z0 = _view(page)[0]
    top = max(CLASSES, key=lambda c: classes.get(c, 0))
    pts = [f["geometry"]["coordinates"] for f in sections
           if f["properties"].get("water_class") == top]
    bar = page.locator(f"#db-water-graph .db-bar[data-class='{top}']")
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box and box["height"] > 5
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => location.search.includes('water_sections')")
    assert layer.is_checked()
    # every section of that class shown where no panel covers it (assets/fit.js)
    page.wait_for_function(UNCOVERED, arg=[[y, x] for x, y in pts])
    # the URL follows the map a moment after it moved (debounced): read it once it has
    page.wait_for_function("() => Number(new URLSearchParams(location.search).get('z')) === "
                           "Math.round(window.onemap.tools.map().getZoom() * 100) / 100")
    assert _view(page)[0] >= z0

    # A day of the AQI chart: the map's time goes to noon that day, the stations come on.
    worst = max(range(len(days)), key=lambda i: days[i][1])
    day_bar = page.locator(f"#db-air-graph .db-bar[data-date='{days[worst][0]}']")
    day_bar.scroll_into_view_if_needed()
    box = day_bar.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    page.wait_for_function(f"() => location.search.includes('t={days[worst][0]}T04:00Z')")
    assert "air_stations" in _view(page)[3]
    # The bar's label is drawn by a server callback of its own, queued behind the hour's others.
    noon = date.fromisoformat(days[worst][0])
    page.wait_for_function("s => document.querySelector('#om-tb-label')?.innerText.includes(s)",
                           arg=f"{noon.year}年{noon.month}月{noon.day}日 12:00")

    # -- English: every word of the panel and its charts ------------------------------------------
    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function(
        "() => document.querySelector('.db-card[data-kpi=air] .db-big-sub')"
        ".textContent.includes('valid')")
    page.wait_for_function("() => document.querySelector('#db-water-graph .db-tick')"
                           "?.textContent === 'Class I'")
    assert page.inner_text(".db-big-value[data-kpi=air]") == share  # same numbers
    assert page.inner_text(".db-card[data-kpi=air] .db-big-sub") == \
        f"{start} to {end}: good {good} / valid {valid} days (30 in the period)"
    # The static labels are rewritten by another callback than the cards: wait for it, then
    # report what is still Chinese if it never comes.
    try:
        page.wait_for_function(f"(sel) => !({PANEL_TEXT})(sel).some(s => /{CJK.pattern}/.test(s))",
                               arg=BODY, timeout=15_000)
    except PlaywrightTimeout:
        pass
    texts = page.evaluate(PANEL_TEXT, BODY)
    chinese = [s for s in texts if CJK.search(s)]
    assert not chinese, chinese
    assert "Share of good air-quality days" in texts and "Sources" in texts  # axis title
    page.eval_on_selector(".om-dock-bodies", "e => { e.scrollTop = 0; }")
    page.screenshot(path=str(artifacts_dir / "dashboard-en.png"))

    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    page.close()


def test_whole_year_runs_as_a_job_and_shows_the_year(live_server: str, browser  # type: ignore[no-untyped-def]
                                                     ) -> None:
    """"全年": the year's daily AQI is a job of its own (progress, cancel), asked for only when
    chosen; its share of good days is the aqi-daily process's over the same days."""
    with ThreadPoolExecutor(1) as pool:
        air_future = pool.submit(_expected_air, live_server, True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        traffic = watch(page)
        page.set_default_timeout(60_000)
        page.goto(live_server + "/")
        page.wait_for_selector(".db-big-value[data-kpi=air]")
        start, end, good, valid, _ = air_future.result()
    page.locator("#db-period label:has(input[value=year])").click()
    page.wait_for_function("(s) => document.querySelector('.db-card[data-kpi=air] .db-big-sub')"
                           "?.innerText.startsWith(s)", arg=f"{start} 至 {end}", timeout=180_000)
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    assert page.inner_text(".db-card[data-kpi=air] .db-big-sub") == \
        f"{start} 至 {end}：优良 {good} 天，有效 {valid} 天（共 {days} 天）"
    assert page.inner_text(".db-big-value[data-kpi=air]") == f"{100 * good / valid:.1f}%"
    assert page.locator("#db-air-graph .db-bar").count() == valid
    # back to 30 days: no second job, the card as before
    page.locator("#db-period label:has(input[value=recent])").click()
    page.wait_for_function("() => document.querySelector('.db-card[data-kpi=air] .db-big-sub')"
                           "?.innerText.includes('（共 30 天）')")
    assert not traffic.console_errors, traffic.console_errors
