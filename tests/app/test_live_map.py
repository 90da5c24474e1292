"""Live alarms in the browser, end to end on the real stack (``onemap hj212`` and ``onemap
serve`` on one copy of the sample): an exceeding hourly average sent over TCP appears in a
commander's alarm ticker and on the alarms layer without a reload; the commander opens it from
the ticker, acknowledges it in its popup (checked through the API and the audit), and a change
made meanwhile by someone else is told in the page's language; the dashboard's online rate is
the summary's; a viewer of another county never sees the alarm, only their county's."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from onemap.live.registry import Device, Registry
from tests.browsing import watch
from tests.conftest import Caller, LiveStack
from tests.mapserver.test_live_api import _device, hourly, send

pytestmark = [pytest.mark.browser, pytest.mark.server]

#: Open the popup of the outlet marker whose outlet_code is the argument, once it is drawn.
OPEN_OUTLET = """(code) => {
    let found = null;
    window.onemap.tools.map().eachLayer(l => {
        const p = l.feature && l.feature.properties;
        if (p && p.outlet_code === code && !p.alarm_id && l.getPopup && l.getPopup()) found = l;
    });
    if (found && !found.isPopupOpen()) found.openPopup();
    return !!found;
}"""
CARD_RATE = "() => (document.querySelector('#db-live [data-kpi=online_rate]') || {}).textContent"


def _other_device(stack: LiveStack, county: str) -> Device:
    """A wastewater device of ``county`` with a COD limit, not the one the API tests use (a
    session runs both: their alarms stay apart)."""
    taken = _device(stack, county).mn
    return next(d for d in Registry(stack.settings).devices().values()
                if d.medium == "water" and d.county_code == county and "w01018" in d.limits
                and d.mn != taken)


def _summary(stack: LiveStack, caller: Caller) -> dict:
    resp = requests.get(f"{stack.base}/api/live/summary", headers=caller.headers, timeout=30)
    resp.raise_for_status()
    return resp.json()


def _rate_text(summary: dict) -> str:
    rate = summary["devices"]["online_rate"]
    return "—" if rate is None else f"{100 * rate:.1f}%"


def _open_page(browser, login, stack: LiveStack, who: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1500, "height": 920}, locale="zh-CN")
    page.set_default_timeout(60_000)
    login(page, who, base=stack.base, settings=stack.settings)
    page.goto(stack.base + "/")
    page.wait_for_selector("#om-live[data-state=open][data-loaded='1']")
    return page


def test_live_alarm_ticker_map_popup_and_dashboard(live_stack: LiveStack, browser, login,  # type: ignore[no-untyped-def]
                                                   callers: dict[str, Caller],
                                                   artifacts_dir) -> None:
    base = live_stack.base
    device = _other_device(live_stack, "340181")
    limit = device.limits["w01018"][1]
    over = int(limit * 2) + 1
    page = _open_page(browser, login, live_stack, "commander")
    traffic = watch(page)
    other = _open_page(browser, login, live_stack, "viewer_b")  # a viewer of county B
    assert page.locator("#om-layer-list input[value=alarms]").is_checked()

    assert send(live_stack.port, hourly(device, over, "w01018", "20261203120000101")).cn == "9014"
    # the ticker: the outlet, the pollutant, the value against the limit, the rule
    item = page.locator(f"#om-live .om-live-item[data-rule=exceedance]:has(code:text-is("
                        f"'{device.outlet_code}'))")
    item.wait_for()
    text = item.inner_text()
    assert f"{over:,}" in text and "化学需氧量" in text and "超标" in text, text
    assert "限值" in text, text
    alarm_id = item.get_attribute("data-alarm")
    assert alarm_id and alarm_id.startswith(f"{device.outlet_code}-exceedance-w01018-")
    # county B's viewer: an alarm of B arrives, A's never did (the stream is in order)
    b = _other_device(live_stack, "340124")
    send(live_stack.port, hourly(b, int(b.limits["w01018"][1] * 3) + 1, "w01018",
                                 "20261203120000102"))
    other.locator(f"#om-live .om-live-item:has(code:text-is('{b.outlet_code}'))").first.wait_for()
    assert other.locator(f"#om-live [data-alarm='{alarm_id}']").count() == 0
    assert other.locator(f"#om-live code:text-is('{device.outlet_code}')").count() == 0
    assert other.locator("#om-live").get_attribute("data-handler") == ""
    other.close()
    # … and on the map, without a reload: the layer was fetched again
    page.wait_for_selector(f".leaflet-om-alarms-pane .om-alarm-icon[title='{device.outlet_code}']")

    # from the ticker to the alarm's popup
    item.click()
    # the last popup: one closed a moment ago may still be fading out (more so under load)
    popup = page.locator(f".leaflet-popup .om-popup[data-key='{alarm_id}']").last
    popup.wait_for()
    # (waited for, not counted: the layer is fetched again as alarms come, and the popup
    # opened again on the new marker)
    popup.locator(".om-badge-rule[data-rule=exceedance]").wait_for()
    popup.locator(".om-badge-status[data-status=new]").wait_for()
    assert float(popup.locator(".om-alarm-measured").get_attribute("data-value") or 0) == over
    page.screenshot(path=str(artifacts_dir / "live-alarm.png"))

    popup.locator(".om-alarm-note").fill("现场核查中")
    popup.locator("button[data-act=acknowledge]").click()
    popup.locator(".om-badge-status[data-status=acknowledged]").wait_for()
    got = requests.get(f"{base}/ogc/collections/alarms/items/{alarm_id}", params={"f": "json"},
                       headers=callers["commander"].headers, timeout=30).json()["properties"]
    assert (got["status"], got["acknowledged_by"], got["note"]) == (
        "acknowledged", "commander", "现场核查中")
    audit = requests.get(f"{base}/api/admin/audit", params={"action": "alarm_change"},
                         headers=callers["admin"].headers, timeout=30).json()
    records = audit.get("records", audit.get("items", []))
    assert ("commander", alarm_id, "ok") in {(r["user"], r["target"], r["outcome"])
                                             for r in records}

    # someone else closes it meanwhile: the page's Close gets a 409, said in Chinese
    closed = requests.post(f"{base}/api/alarms/{alarm_id}/close",
                           headers=live_stack.commander_a.headers, timeout=30)
    assert closed.status_code == 200, closed.text
    popup.locator("button[data-act=close]").click()
    page.locator(".leaflet-popup .om-alarm-msg",
                 has_text="该报警的状态已变化").first.wait_for()
    page.locator(".leaflet-popup .om-badge-status[data-status=closed]").last.wait_for()
    assert "Conflict" not in page.locator(".leaflet-popup-pane").inner_text()

    # the dashboard's live card shows the summary's online rate (devices come and go: the
    # card follows each alarm, so it settles on what the server says)
    page.wait_for_selector("#db-live:not([hidden])")
    for _ in range(3):
        want = _rate_text(_summary(live_stack, callers["commander"]))
        try:
            page.wait_for_function(f"() => ({CARD_RATE})() === {want!r}", timeout=40_000)
            break
        except PlaywrightTimeout:
            continue
    else:
        raise AssertionError(f"the card shows {page.evaluate(CARD_RATE)!r}, the server {want!r}")
    assert want != "—"  # a device reported: the rate is a number
    page.screenshot(path=str(artifacts_dir / "live-dashboard.png"))
    # in English: the ticker's rule and pollutant, the card's labels
    page.locator("#om-lang input[value=en]").check()
    item.filter(has_text="Exceedance").filter(has_text="COD").wait_for()
    page.locator("#db-live", has_text="Online rate").wait_for()
    page.locator("#om-lang input[value=zh]").check()
    # an outlet's popup: its recent hourly averages against its permit limit, the excess marked
    page.locator("#om-layer-list input[value=outlets]").check(force=True)
    page.evaluate("([lat, lon]) => window.onemap.tools.map().setView([lat, lon], 16)",
                  [device.lat, device.lon])
    page.wait_for_function(OPEN_OUTLET, arg=device.outlet_code, timeout=60_000)
    row = page.locator(f".leaflet-popup .om-popup[data-key='{device.outlet_code}'] "
                       ".om-rd-row[data-pollutant=w01018]").last
    row.wait_for()
    assert row.get_attribute("data-over") == "1"
    assert row.locator(".om-rd-value.om-over").inner_text() == f"{over:,}"
    assert row.locator(".om-rd-limit").inner_text() == f"{limit:g}"
    page.screenshot(path=str(artifacts_dir / "live-outlet-readings.png"))

    # the one refused request is the Close that came too late (the browser logs it)
    assert [e for e in traffic.console_errors if "409" not in e] == [], traffic.console_errors
    assert [f.split()[0] for f in traffic.failed] == ["409"], traffic.failed
    page.close()


def test_simulated_device_alarm_reaches_the_page(live_stack: LiveStack, browser, login,  # type: ignore[no-untyped-def]
                                                 callers: dict[str, Caller]) -> None:
    """The chain the demo runs: ``onemap simulate``'s device (an exceedance episode, over
    TCP) → ``onemap hj212`` → the live store → the alarm → the event stream → the commander's
    page, who acknowledges it there."""
    import threading

    from onemap.live.sim_device import device_of
    from onemap.live.simulate import Options, load_outlets, simulate
    from tests.loops import run as _run

    used = {_device(live_stack, "340181").mn, _other_device(live_stack, "340181").mn}
    county = {d.mn for d in Registry(live_stack.settings).devices().values()
              if d.county_code == "340181" and d.medium == "water" and "w01018" in d.limits}
    rows = load_outlets(live_stack.settings)
    row = next(r for r in rows.to_dict("records") if r["mn"] in county - used)
    device = device_of(row, 3, "exceedance")
    page = _open_page(browser, login, live_stack, "commander")
    run = threading.Thread(target=_run, args=(simulate(
        [device], Options("127.0.0.1", live_stack.port, "123456", interval=1.0,
                          backfill_hours=4, answer_timeout=5.0), duration=6.0),), daemon=True)
    run.start()
    item = page.locator(f"#om-live .om-live-item[data-rule=exceedance]:has(code:text-is("
                        f"'{device.outlet_code}'))").first
    item.wait_for()
    alarm_id = item.get_attribute("data-alarm")
    item.click()
    popup = page.locator(f".leaflet-popup .om-popup[data-key='{alarm_id}']").last
    popup.locator("button[data-act=acknowledge]").click()
    popup.locator(".om-badge-status[data-status=acknowledged]").wait_for()
    run.join(60)
    got = requests.get(f"{live_stack.base}/ogc/collections/alarms/items/{alarm_id}",
                       params={"f": "json"}, headers=callers["commander"].headers,
                       timeout=30).json()["properties"]
    assert (got["status"], got["acknowledged_by"], got["pollutant"]) == (
        "acknowledged", "commander", device.target)
    page.close()
