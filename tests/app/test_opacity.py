"""The legend of every visible layer, and vector layers' opacity set in it, in a real browser."""

from __future__ import annotations

import pytest

from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

PANE_OPACITY = ("id => getComputedStyle(document.querySelector('.leaflet-om-' + id + '-pane'))"
                ".opacity")


def test_vector_layer_opacity(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    # Every visible layer has a legend block, base layers included.
    page.wait_for_load_state("networkidle")
    on = page.eval_on_selector_all("#om-layer-list input[type=checkbox]:checked",
                                   "els => els.map(e => e.value)")
    blocks = page.eval_on_selector_all("#om-legend [data-layer]",
                                       "els => els.map(e => e.dataset.layer)")
    assert "admin_boundaries" in on and set(on) == set(blocks)
    slider = page.locator("#om-legend [data-layer=air_stations] input[type=range]")
    assert slider.input_value() == "100"
    assert page.evaluate(PANE_OPACITY, "air_stations") == "1"
    slider.fill("40")
    page.wait_for_function(f"() => ({PANE_OPACITY})('air_stations') === '0.4'")
    # Another layer switched on redraws the legend: the value and the fading stay.
    page.locator("#om-layer-list input[value=red_lines]").check()
    page.wait_for_selector("#om-legend [data-layer=red_lines] input[type=range]")
    assert page.locator("#om-legend [data-layer=air_stations] input[type=range]") \
        .input_value() == "40"
    assert page.evaluate(PANE_OPACITY, "air_stations") == "0.4"
    assert page.evaluate(PANE_OPACITY, "red_lines") == "1"
    # Off and on again: the layer comes back as faded as it was left.
    box = page.locator("#om-layer-list input[value=air_stations]")
    box.uncheck()
    page.wait_for_selector(".leaflet-om-air_stations-pane path", state="detached")
    box.check()
    page.wait_for_selector(".leaflet-om-air_stations-pane path.leaflet-interactive")
    assert page.evaluate(PANE_OPACITY, "air_stations") == "0.4"
    assert traffic.console_errors == [] and traffic.failed == []
    page.close()
