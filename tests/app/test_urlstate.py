"""The map state in the URL, in a real browser: a link reproduces what its sender saw.

A user zooms and pans, switches layers, steps the time bar and switches to English; the page's
URL then opened in a fresh page must show the same view (the same station symbols at the same
screen positions, so centre and zoom agree), the same layers, hour and language. A link with
invalid values opens the default map without an error. Screenshot: ``test-artifacts/url-state.png``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browsing import Traffic, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

STATIONS = ".leaflet-om-air_stations-pane path"
#: Screen centres and fills of the station symbols, in feature order.
SYMBOLS = f"""() => [...document.querySelectorAll({STATIONS!r})].map(p => {{
    const r = p.getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2, p.getAttribute('fill')];
}})"""
#: Leaflet leaves symbols outside the view undrawn (no position): compare those inside it.
SAME_SYMBOLS = f"""(want) => {{
    const got = ({SYMBOLS})();
    const inView = w => w[0] > 0 && w[0] < innerWidth && w[1] > 0 && w[1] < innerHeight;
    return got.length === want.length && got.every((g, i) => g[2] === want[i][2] &&
        (!inView(want[i]) || (Math.abs(g[0] - want[i][0]) < 2 && Math.abs(g[1] - want[i][1]) < 2)));
}}"""
CHECKED = """() => Object.fromEntries([...document.querySelectorAll(
    '#om-layer-list input[type=checkbox]')].map(e => [e.value, e.checked]))"""
DEFAULT_ON = {"admin_boundaries", "water_bodies", "rivers", "air_stations", "water_sections",
              "incidents"}


def _open(browser, url: str, login):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    login(page, "viewer")  # incidents, on by default, are internal
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector(f"{STATIONS}.leaflet-interactive")
    return page, traffic


def _query(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query,
                                         keep_blank_values=True).items()}


def _settled(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The URL once it stops changing (it is written a moment after the last change).

    The page writes it first once the layers and the legend are drawn: until then it is still
    the link as opened (which may lack ``lang`` or hold an invalid one).
    """
    page.wait_for_function("() => ['zh', 'en'].includes("
                           "new URLSearchParams(location.search).get('lang'))")
    last = None
    for _ in range(50):
        page.wait_for_timeout(400)
        if page.url == last:
            return _query(page)
        last = page.url
    raise AssertionError(f"the URL keeps changing: {page.url}")


def _clean(traffic: Traffic) -> None:
    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    assert traffic.hosts == {"127.0.0.1"}, traffic.hosts


def test_link_reproduces_the_view(live_server: str, browser,  # type: ignore[no-untyped-def]
                                  artifacts_dir: Path, login) -> None:
    page, traffic = _open(browser, live_server + "/", login)
    first = _settled(page)
    assert first["lang"] == "zh" and first["z"] == "9" and "t" not in first
    assert set(first["layers"].split(",")) == {k for k, v in page.evaluate(CHECKED).items() if v}

    # Zoom in twice, pan, switch layers, go back two hours, switch to English.
    page.click(".leaflet-control-zoom-in")
    page.wait_for_function("() => location.search.includes('z=10')")
    page.click(".leaflet-control-zoom-in")
    page.wait_for_function("() => location.search.includes('z=11')")
    page.mouse.move(760, 520)
    page.mouse.down()
    page.mouse.move(700, 470, steps=6)
    page.mouse.up()
    page.locator("#om-layer-list input[value='protected_areas']").check()
    page.locator("#om-layer-list input[value='rivers']").uncheck()
    page.locator("#om-layer-list input[value='ndvi']").check()
    page.click("#om-tb-prev")
    page.click("#om-tb-prev")
    page.get_by_text("EN", exact=True).click()
    page.wait_for_function("() => document.querySelector('#om-tb-label')?.innerText"
                           " === '31 Dec 2025, 21:00 (Beijing time)'")
    state = _settled(page)
    assert state["lang"] == "en" and state["z"] == "11"
    assert state["t"] == "2025-12-31T13:00Z"
    layers = set(state["layers"].split(","))
    assert {"protected_areas", "ndvi", "air_stations"} <= layers and "rivers" not in layers
    assert (state["lat"], state["lon"]) != (first["lat"], first["lon"]), "the pan is not in it"
    # The stations show that hour before we look at them.
    page.wait_for_function("() => document.querySelector('.leaflet-om-ndvi-pane img')")
    page.wait_for_load_state("networkidle")
    # The hour's station data may still be being drawn under load: wait for the symbols.
    page.wait_for_function(f"() => ({SYMBOLS})().filter(([x, y]) => x > 0 && x < 1400 && "
                           "y > 0 && y < 900).length >= 5")
    # Under load the layer may still be redrawn (language, hour), and is empty for a moment while
    # it is: take the symbols once two looks a second apart agree and show the stations in view.
    def in_view(looked: list) -> int:
        return sum(0 < x < 1400 and 0 < y < 900 for x, y, _ in looked)

    symbols: list | None = None
    for _ in range(30):
        page.wait_for_timeout(1000)
        now = page.evaluate(SYMBOLS)
        if now == symbols and in_view(now) >= 5:
            break
        symbols = now
    assert symbols is not None and in_view(symbols) >= 5, "too few in view"
    checked = page.evaluate(CHECKED)
    ndvi_step = page.inner_text("#om-rs-list .om-raster[data-layer='ndvi'] .om-time-label")
    link = page.url
    _clean(traffic)
    page.close()

    # The link, in a new page: the same view, layers, hour and language.
    page, traffic = _open(browser, link, login)
    page.wait_for_function("() => document.querySelector('#om-title')?.innerText"
                           ".startsWith('Ecological')")
    assert page.is_checked("#om-lang input[value=en]")
    page.wait_for_function("() => document.querySelector('#om-tb-label')?.innerText"
                           " === '31 Dec 2025, 21:00 (Beijing time)'")
    page.wait_for_function(SAME_SYMBOLS, arg=symbols)
    assert page.evaluate(CHECKED) == checked
    assert page.inner_text("#om-rs-list .om-raster[data-layer='ndvi'] .om-time-label") == ndvi_step
    page.wait_for_selector(".leaflet-om-protected_areas-pane path", state="attached")
    page.wait_for_selector(".leaflet-om-ndvi-pane img", state="attached")
    assert not page.query_selector(".leaflet-om-rivers-pane path")
    again = _settled(page)
    assert again["z"] == state["z"] and again["t"] == state["t"] and again["lang"] == "en"
    assert abs(float(again["lat"]) - float(state["lat"])) < 1e-4
    assert abs(float(again["lon"]) - float(state["lon"])) < 1e-4
    assert set(again["layers"].split(",")) == layers
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts_dir / "url-state.png"))
    _clean(traffic)
    page.close()


def test_invalid_link_values_are_ignored(live_server: str, browser, login) -> None:  # type: ignore[no-untyped-def]
    page, traffic = _open(browser, live_server + "/?lang=xx&z=abc&lat=999&lon=117.3"
                          "&layers=nope&t=2031-01-01T00:00Z&panel=haze", login)
    assert page.inner_text("#om-title") == "生态环境一张图"
    assert page.inner_text("#om-tb-label").endswith("· 最新")
    on = {k for k, v in page.evaluate(CHECKED).items() if v}
    assert on == DEFAULT_ON
    state = _settled(page)
    # The defaults were used, written back; a parameter we do not own is kept.
    assert (state["lang"], state["z"], state["lat"], state["lon"]) == ("zh", "9", "31.60000",
                                                                      "117.45000")
    assert "t" not in state and state["panel"] == "haze"
    assert set(state["layers"].split(",")) == DEFAULT_ON
    _clean(traffic)
    page.close()
