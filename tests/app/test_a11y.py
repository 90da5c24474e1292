"""WCAG 2.1 AA on every screen of the map, checked in Chromium, and the whole page by keyboard.

axe-core (Deque's engine, pinned in package.json, run inside the page) checks each screen a user
reaches: the desktop map with every dock panel opened, in Chinese and in English; a phone with
each bottom sheet open, in English; the big screen; the admin page's tabs. It checks names,
roles and states of controls, contrast of text (4.5:1, 3:1 for large text), document language
and title. The AQI and water-class fills themselves are the standards' (HJ 633, GB 3838) and
are not text; the text written on them is ours and is checked like any other.

By keyboard alone (no mouse), from the top of the page: Tab reaches the language switch, every
layer's checkbox, the time bar, the dock's tabs and the legend's sliders, each showing where the
focus is (an outline of at least 2 px, or a ring); Space switches a layer off and the map drops
it; Enter opens a dock tab and, in the haze panel, picks a station row.

A phone switched to English shows no sentence of the Chinese string tables in any sheet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browsing import features, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PANELS = ("dashboard", "emergency", "ecology", "haze")
SHEETS = {"layers": "#om-panel", "legend": "#om-legend", "panels": "#om-dock-root",
          "where": "#om-where", "report": "#om-report"}
HAN = re.compile(r"[\u4e00-\u9fff]")

#: What the focused element shows: its outline or ring, and whether it is on the screen.
FOCUS = """() => { const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const cs = getComputedStyle(e), r = e.getBoundingClientRect();
  return {tag: e.tagName, id: e.id, cls: String(e.className || ''),
          value: e.value || '', name: e.getAttribute('aria-label') || '',
          text: (e.innerText || '').slice(0, 40), style: cs.outlineStyle,
          width: parseFloat(cs.outlineWidth) || 0, color: cs.outlineColor,
          ring: cs.boxShadow, x: r.x, y: r.y, w: r.width, h: r.height}; }"""


def _axe(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """WCAG A/AA violations axe finds now (the engine injected once per document)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (tags) => {
        await new Promise(r => requestIdleCallback(r, {timeout: 1000}));  // after a11y.js's
        const res = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return res.violations.map(v => ({id: v.id, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' +
                                           n.failureSummary.replace(/\\s+/g, ' '))}));
    }""", TAGS)


def _assert_clean(page, where: str) -> None:  # type: ignore[no-untyped-def]
    """No violation on this screen. A Dash component drawn while axe ran may not have had the
    page's fixes (assets/a11y.js, applied when the page is idle) yet: a violation must still be
    there a moment later to count."""
    found = _axe(page)
    if found:
        page.wait_for_timeout(1000)
        found = _axe(page)
    assert not found, f"{where}: " + "\n".join(f"{v['id']} ({v['help']}): {v['nodes']}"
                                               for v in found)


def _open_panel(page, panel: str) -> None:  # type: ignore[no-untyped-def]
    body = f".om-tab-body[data-panel={panel}]"
    if "om-tab-active" not in (page.get_attribute(f".om-tab[data-panel={panel}]", "class") or ""):
        page.click(f".om-tab[data-panel={panel}]")
    # laid out (a lazy panel asks the server the first time) and not loading any more
    page.wait_for_function(f"""() => {{ const b = document.querySelector('{body}');
        return b && b.style.display !== 'none' && b.querySelector('button, input, select')
               && !b.querySelector('[data-dash-is-loading=true]'); }}""")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_desktop_map_and_every_panel_pass_wcag_aa(live_server: str, browser, login,  # type: ignore[no-untyped-def]
                                                  lang: str) -> None:
    page = browser.new_page(bypass_csp=True, viewport=DESKTOP,
                            locale="zh-CN" if lang == "zh" else "en-GB")
    login(page, "admin")  # every control: upload form, internal layers, the admin's links
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + ("/?lang=en" if lang == "en" else "/"))
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    page.wait_for_selector(".db-big-value[data-kpi=water]")
    # the page is laid out in Chinese; a link's ?lang=en is applied by a callback after that
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN",
                                                   timeout=30_000)
    _assert_clean(page, f"map ({lang})")
    for panel in PANELS[1:]:
        _open_panel(page, panel)
        _assert_clean(page, f"{panel} panel ({lang})")
    page.click("summary.om-upload-summary")  # the upload form, opened
    page.wait_for_selector("#om-upload", state="visible")
    _assert_clean(page, f"upload form ({lang})")
    assert not traffic.console_errors, traffic.console_errors


def _chinese_left(page, selector: str, chinese: list[str]) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    """The strings of ``chinese`` the sheet ``selector`` shows, and its text."""
    shown = page.inner_text(selector)
    if page.is_visible("#om-lang"):  # the switch names each language in its own
        shown = shown.replace(page.inner_text("#om-lang"), "")
    for own in page.eval_on_selector_all(f"{selector} .om-where-name",
                                         "e => e.map(n => n.innerText)"):
        shown = shown.replace(own, "")  # the data's own names (a station, an intake)
    return [s for s in chinese if s in shown], shown


def test_phone_in_english_every_sheet_passes_and_says_no_chinese(  # type: ignore[no-untyped-def]
        live_server: str, browser, login) -> None:
    from onemap.app import dashapp  # noqa: F401  (every panel's strings registered)
    from onemap.app.i18n import STRINGS

    chinese = sorted({zh for key, zh in STRINGS["zh"].items()
                      if HAN.search(zh) and len(zh) >= 2 and STRINGS["en"][key] != zh},
                     key=len, reverse=True)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="zh-CN", bypass_csp=True,
                                  geolocation={"longitude": 117.3, "latitude": 31.8,
                                               "accuracy": 30}, permissions=["geolocation"])
    page = context.new_page()
    login(page, "commander")  # may report: the report sheet shows its form
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + "/")
    page.wait_for_selector("#om-m-bar", state="visible")
    # the language switch is at the top of the layers sheet: by touch
    page.tap(".om-m-tab[data-sheet=layers]")
    page.locator("#om-lang label:has(input[value=en])").tap()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.tap(".om-m-tab[data-sheet=layers]")
    page.wait_for_function("() => !document.documentElement.dataset.sheet")
    page.wait_for_function("() => document.querySelector('.om-m-tab[data-sheet=layers]')"
                           ".innerText.includes('Layers')")
    for name, selector in SHEETS.items():
        page.tap(f".om-m-tab[data-sheet={name}]")
        page.wait_for_selector(selector, state="visible")
        if name == "where":  # wait for the answer, not the question
            page.wait_for_selector(".om-where-group .om-where-item, .om-where-none")
        if name == "report":
            page.wait_for_selector("#om-rp-title", state="visible")
        if name == "panels":
            page.wait_for_selector(".db-big-value[data-kpi=water]", state="visible")
        # Much of a sheet is re-worded by server callbacks of the switch (layer list, legend,
        # dashboard cards), not by the browser at once: wait for them, then say what is left.
        for _ in range(40):
            left, shown = _chinese_left(page, selector, chinese)
            if not left:
                break
            page.wait_for_timeout(500)
        assert not left, f"{name} sheet in English still says {left[:5]}: {shown}"
        _assert_clean(page, f"phone sheet {name} (en)")
        page.tap(f".om-m-tab[data-sheet={name}]")  # closed again
        page.wait_for_function(f"() => document.documentElement.dataset.sheet !== '{name}'")
    assert not traffic.console_errors, traffic.console_errors
    context.close()


def test_big_screen_and_admin_page_pass_wcag_aa(live_server: str, browser, login) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(bypass_csp=True, viewport={"width": 1920, "height": 1080})
    login(page, "admin")
    page.set_default_timeout(30_000)
    page.goto(live_server + "/?mode=screen")
    page.wait_for_selector(".db-big-value[data-kpi=water]", state="visible")
    _assert_clean(page, "big screen")
    page.goto(live_server + "/admin/")
    page.wait_for_selector(".adm-tab")
    for tab in page.eval_on_selector_all(".adm-tab", "e => e.map(b => b.dataset.tab)"):
        page.click(f".adm-tab[data-tab={tab}]")
        page.wait_for_selector(f".adm-tab-on[data-tab={tab}]")
        section = page.locator(f".adm-section[data-tab={tab}]")
        section.locator("button, input, select").first.wait_for(state="visible")
        _assert_clean(page, f"admin tab {tab}")


def _tab_until(page, want, limit: int = 200) -> list[dict]:  # type: ignore[no-untyped-def]
    """Press Tab until ``want(focused)`` is true; every element passed on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUS)
        if f is None:
            continue
        seen.append(f)
        if want(f):
            return seen
    passed = [s["id"] or s["cls"] for s in seen]
    raise AssertionError(f"Tab never reached it; went through {passed}")


def _visible_focus(f: dict, viewport: dict) -> bool:
    ring = f["style"] not in ("none", "") and f["width"] >= 2 or f["ring"] not in ("none", "")
    on_screen = (f["w"] > 0 and f["h"] > 0 and f["x"] < viewport["width"] and f["y"] <
                 viewport["height"] and f["x"] + f["w"] > 0 and f["y"] + f["h"] > 0)
    return ring and on_screen


def test_the_whole_page_by_keyboard_with_visible_focus(live_server: str, browser, login  # type: ignore[no-untyped-def]
                                                       ) -> None:
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    login(page, "viewer")
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(live_server + "/")
    stations = ".leaflet-om-air_stations-pane path.leaflet-interactive"
    page.wait_for_selector(stations)
    page.wait_for_selector(".db-big-value[data-kpi=water]")

    # One round of Tab through the page: back to where it started, nothing trapped on the way.
    first = _tab_until(page, lambda f: True)[0]
    round_ = _tab_until(page, lambda f: (f["id"], f["cls"], f["value"]) ==
                        (first["id"], first["cls"], first["value"]))
    hidden = [f for f in round_ if not _visible_focus(f, DESKTOP)]
    assert not hidden, f"focus not visible on {hidden[:5]}"
    reached = {(f["id"] or f["value"] or f["cls"]) for f in round_}
    layers = page.eval_on_selector_all("#om-layer-list input[type=checkbox]",
                                       "e => e.map(i => i.value)")
    assert layers and set(layers) <= reached, set(layers) - reached
    for control in ("om-tb-prev", "om-tb-play", "om-tb-next", "om-tb-latest", "om-search-input"):
        assert control in reached, control
    assert "en" in reached or "zh" in reached  # the language switch
    tabs = [f for f in round_ if "om-tab" in f["cls"].split()]
    assert [t["text"] for t in tabs] == page.eval_on_selector_all(
        ".om-tab", "e => e.map(b => b.innerText)")
    sliders = [f for f in round_ if f["name"] in ("日期", "时")]
    assert len(sliders) == 2, "the time bar's day and hour sliders"
    assert sum(1 for f in round_ if "om-vopacity" in f["id"]) >= 1  # the legend's opacity

    # Space on the stations' checkbox: the map drops them (and the link says so).
    _tab_until(page, lambda f: f["value"] == "air_stations")
    page.keyboard.press("Space")
    page.wait_for_function("() => !/layers=[^&]*air_stations/.test(location.search)")
    page.wait_for_selector(stations, state="detached")

    # Enter on the haze tab opens it; Tab to a station row, Enter picks it: the map goes there.
    _tab_until(page, lambda f: "om-tab" in f["cls"].split() and f["text"] == "大气")
    page.keyboard.press("Enter")
    # wait for the tab's own answer: reading it at once and clicking again would close it
    page.wait_for_selector(".om-tab.om-tab-active[data-panel=haze]")
    _open_panel(page, "haze")
    page.wait_for_selector(".om-hz-row")
    row = _tab_until(page, lambda f: "om-hz-row" in f["cls"])[-1]
    station = re.search(r'"station":"([^"]+)"', row["id"])
    assert station, row
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const q = new URLSearchParams(location.search);"
                           " return q.get('z') === '13' && /air_stations/.test(q.get('layers')); }")
    where = next(f for f in features(live_server, "air_stations")
                 if f["properties"]["station_id"] == station.group(1))["geometry"]["coordinates"]
    q = page.evaluate("() => Object.fromEntries(new URLSearchParams(location.search))")
    assert abs(float(q["lon"]) - where[0]) < 1e-3 and abs(float(q["lat"]) - where[1]) < 1e-3
    assert not traffic.console_errors, traffic.console_errors
