"""The language switch leaves no label untranslated, in a real browser.

After switching to English, every piece of text on the page (layer list, legend with every layer
on, every dock panel, the time bar, map controls, popups of each family, the tab title) may hold
Chinese only where it shows a *data value* — a station or company name, a red line's name —
never a label. Data values are read independently from the OGC API, so a Chinese word that is
not one of them is an untranslated label. Switching back to Chinese must not leave English words
behind either (units, codes and names of standards excepted).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
HAN = re.compile(r"[\u3400-\u9fff]")
#: Latin words allowed on a Chinese screen: units, codes, standards, formats, product names.
LATIN_OK = {
    "aqi", "pm2", "pm10", "pm", "so", "no", "co", "o", "nox", "voc", "vocs", "cod", "bod", "nh",
    "tp", "tn", "ph", "ndvi", "ei", "hj", "gb", "gf", "wfv", "cog", "geotiff", "tif", "tiff",
    "geojson", "csv", "png", "html", "json", "km", "m", "ha", "kg", "t", "a", "mg", "h", "s",
    "onemap", "en", "utc", "rgb", "nir", "id", "idw", "iaqi", "ogc", "api", "yyyy", "mm", "dd",
    "blue", "green", "red", "e", "n", "w", "x", "b", "leaflet", "folium", "cl", "nh3", "h2s",
    "dem", "zarr", "stac", "wmts", "qgis", "gdal", "cgcs", "epsg", "max", "min", "wgs",
}
#: Every text node of the page that a user sees (hidden ones excluded). The language selector
#: is left out: it names each language in that language ("中文", "EN"), as selectors should.
VISIBLE_TEXT = """() => {
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
        const node = walk.currentNode, el = node.parentElement;
        const text = node.textContent.trim();
        if (!text || !el || el.closest('script,style,noscript,#om-lang')) continue;
        const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
        if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden') continue;
        out.push(text);
    }
    for (const el of document.querySelectorAll('[placeholder],[title],[aria-label]')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        for (const a of ['placeholder', 'title', 'aria-label']) {
            const v = el.getAttribute(a); if (v && v.trim()) out.push(v.trim());
        }
    }
    return out;
}"""
POPUP_FAMILIES = ("air_stations", "water_sections", "pollution_sources", "incidents")


def _settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the language switch's callbacks have all landed (a switch fires a few dozen,
    in batches, so one quiet moment on the network is not enough under load)."""
    for _ in range(2):
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")
        page.wait_for_timeout(500)


def _texts(page, bad_of) -> list[str]:  # type: ignore[no-untyped-def]
    """The visible texts once ``bad_of`` finds nothing wrong in them, or as they are after 20 s
    (they are then asserted on): under load, the last of a switch's callbacks can land seconds
    after the network first falls quiet."""
    _settle(page)
    texts = page.evaluate(VISIBLE_TEXT)
    for _ in range(20):
        if not bad_of(texts):
            break
        page.wait_for_timeout(1000)
        texts = page.evaluate(VISIBLE_TEXT)
    return texts


def _data_values(base: str, headers: dict[str, str]) -> set[str]:
    """Every string the data holds: feature attributes of every layer (names, codes), and
    catalogue titles without an English title."""
    values: set[str] = set()
    catalog = requests.get(f"{base}/api/catalog", headers=headers, timeout=30).json()
    for item in catalog.get("datasets", catalog) if isinstance(catalog, dict) else catalog:
        if not item.get("title_en"):
            values.add(str(item.get("title", "")))
        if item.get("kind") != "vector":
            continue
        doc = requests.get(f"{base}/ogc/collections/{item['id']}/items",
                           params={"f": "json", "limit": 10000, "skipGeometry": "true"},
                           headers=headers, timeout=60).json()
        for f in doc.get("features", []):
            for v in (f.get("properties") or {}).values():
                if isinstance(v, str):
                    values.add(v)
    return {v for v in values if v}


def _untranslated(texts: list[str], data: set[str]) -> set[str]:
    """Chinese runs in ``texts`` that are not part of any data value."""
    blob = "\n".join(v for v in data if HAN.search(v))
    bad = set()
    for text in texts:
        for run in CJK.findall(text):
            if HAN.search(run) and run not in blob:
                bad.add(f"{run!r} in {text[:80]!r}")
    return bad


def _latin_words(texts: list[str], data: set[str]) -> set[str]:
    """English words on the Chinese screen that are neither allowed tokens nor data."""
    blob = "\n".join(data).lower()
    bad = set()
    for text in texts:
        for word in re.findall(r"[A-Za-z]{2,}", text):
            w = word.lower()
            if w not in LATIN_OK and w not in blob:
                bad.add(f"{word!r} in {text[:80]!r}")
    return bad


def _open_popups(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Open one popup per family (layers switched on first) and return their texts."""
    texts = []
    for family in POPUP_FAMILIES:
        selector = (f".leaflet-om-{family}-pane path.leaflet-interactive, "
                    f".leaflet-om-{family}-pane .leaflet-marker-icon:not(.om-cluster)")
        popup = None
        for _attempt in range(3):
            page.wait_for_selector(selector, state="attached")
            opened = page.evaluate(f"""() => {{
                for (const el of document.querySelectorAll({selector!r})) {{
                    const r = el.getBoundingClientRect();
                    const x = r.left + r.width / 2, y = r.top + r.height / 2;
                    // A marker's hit is its own SVG inside: contains, not ===.
                    if (r.width > 0 && el.contains(document.elementFromPoint(x, y)))
                        return [x, y];
                }}
                return null;
            }}""")
            if not opened:
                break
            page.mouse.click(*opened)
            try:  # a layer redrawn between finding the marker and the click: find it again
                popup = page.wait_for_selector(
                    f".leaflet-popup-content .om-popup[data-family={family}]", timeout=15_000)
                break
            except PlaywrightTimeout:
                continue
        if popup is None:
            continue
        # A station's chart and a section's history are fetched once the popup opens.
        page.wait_for_function("""() => [...document.querySelectorAll(
            '.leaflet-popup-content .om-chart, .leaflet-popup-content .om-wh')].every(
            e => ['ready', 'empty', 'error'].includes(e.getAttribute('data-state')))""")
        texts.append(popup.inner_text())
        page.keyboard.press("Escape")
    assert len(texts) == len(POPUP_FAMILIES), \
        "a family had no clickable feature, or its popup did not open in three clicks"
    return texts


def test_no_untranslated_label(live_server: str, browser, artifacts_dir: Path, login,
                               callers) -> None:  # type: ignore[no-untyped-def]
    data = _data_values(live_server, callers["viewer"].headers) | {callers["viewer"].user}
    page = browser.new_page(viewport={"width": 1500, "height": 950}, locale="zh-CN")
    login(page, "viewer")  # every layer, internal ones included, is read in both languages
    # (the user's name in the header is data, like the features' names)
    traffic = watch(page)
    page.set_default_timeout(45_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    for box in page.locator("#om-layer-list input[type=checkbox]").all():
        if not box.is_checked():
            box.check()
    page.wait_for_load_state("networkidle")

    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function("() => document.title.indexOf('Ecological') >= 0")
    page.wait_for_function("() => document.querySelector('#om-layers-heading')?.innerText"
                           " === 'Layers'")
    english = partial(_untranslated, data=data)
    texts = _texts(page, english)
    for tab in page.locator(".om-tab").all():
        if "om-tab-active" not in (tab.get_attribute("class") or ""):
            tab.click()
        texts += _texts(page, english)
    texts += _open_popups(page)
    texts.append(page.title())
    page.screenshot(path=str(artifacts_dir / "language-en.png"))
    bad = _untranslated(texts, data)
    assert not bad, "untranslated in English:\n" + "\n".join(sorted(bad))

    page.locator("#om-lang input[value=zh]").check()
    page.wait_for_function("() => document.title.indexOf('生态环境') >= 0")
    page.wait_for_function("() => document.querySelector('#om-layers-heading')?.innerText"
                           " === '图层'")
    zh_texts = (_texts(page, partial(_latin_words, data=data)) + _open_popups(page)
                + [page.title()])
    bad = _latin_words(zh_texts, data)
    assert not bad, "English left on the Chinese screen:\n" + "\n".join(sorted(bad))
    assert traffic.console_errors == []
    assert traffic.failed == []
    page.close()
