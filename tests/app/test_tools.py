"""Map tools in a real browser: the coordinates under the cursor, in both languages."""

from __future__ import annotations

import re

import pytest

from onemap.app.layout import CENTER
from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_coordinates_under_the_cursor(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    assert not page.is_visible("#om-coords")
    box = page.locator("#om-map").bounding_box()
    # The map's centre is the opening view's centre (zoom 9: about 0.0027° per pixel).
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#om-coords", state="visible")
    text = page.inner_text("#om-coords")
    m = re.fullmatch(r"东经 (\d+\.\d{5})°，北纬 (\d+\.\d{5})°", text)
    assert m, text
    assert abs(float(m.group(1)) - CENTER[1]) < 0.003 and abs(float(m.group(2)) - CENTER[0]) < 0.003
    page.locator("#om-lang input[value=en]").check()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.mouse.move(box["x"] + box["width"] / 2 + 100, box["y"] + box["height"] / 2)
    page.wait_for_function("() => /°E, .*°N$/.test(document.querySelector('#om-coords')"
                           ".textContent)")
    lon = float(page.inner_text("#om-coords").split("°")[0])
    assert lon > CENTER[1] + 0.2  # 100 px east at zoom 9 is about 0.27°
    assert traffic.console_errors == [] and traffic.failed == []
    page.close()
