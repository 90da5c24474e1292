"""The Emergency panel in a real browser: "what does a chemical spill at this point threaten
downstream?"

A user opens the map on 南淝河, opens the Emergency tab, picks a reported toluene spill (which
fills place, time and pollutant), then clicks the river instead, chooses water and toluene and
runs the assessment; the test reads the downstream table and compares every intake
and section, and its arrival hours, with the same process run over HTTP at the clicked point.
The CSV of that table downloads as UTF-8 with a BOM. Then, in English (no Chinese left in the
panel), a chlorine release to air draws its plume footprints in the panel's pane (counted as
SVG paths) and fills the receptors table; back in Chinese a point outside the region is refused
in words and nothing is drawn. Screenshots: ``test-artifacts/emergency.png``,
``emergency-en.png``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browsing import DRAWN_AT, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
BODY = ".om-tab-body[data-panel=emergency]"
PANE = ".leaflet-om-em-pane"
JOB_TEXT = ".om-job[data-panel=emergency] .om-job-text"
NO_CJK_IN_BODY = ("() => { const b = document.querySelector(\"" + BODY + "\");"
                  " return !/[\\u4e00-\\u9fff]/.test(b.innerText); }")


def _river_point(base: str, reach: str = "NFH02") -> tuple[float, float]:
    """A vertex in the middle of a reach of 南淝河, read from the rivers layer."""
    doc = requests.get(f"{base}/ogc/collections/rivers/items/{reach}?f=json", timeout=30).json()
    assert doc["properties"]["name"] == "南淝河"
    geom = doc["geometry"]
    line = geom["coordinates"][0] if geom["type"] == "MultiLineString" else geom["coordinates"]
    lon, lat = line[len(line) // 2][:2]
    return lon, lat


def _assess(base: str, headers: dict[str, str], **inputs: object) -> dict:
    resp = requests.post(f"{base}/ogc/processes/incident-assessment/execution",
                         json={"inputs": inputs}, headers=headers, timeout=120)
    resp.raise_for_status()
    return resp.json()


def _iso(beijing_text: str) -> str:
    """The time field's "YYYY-MM-DD HH:MM" (Beijing time) as the process reads it."""
    return beijing_text.strip().replace(" ", "T") + ":00+08:00"


def _choose(page, dropdown: str, label: str) -> None:  # type: ignore[no-untyped-def]
    page.click(dropdown)
    page.get_by_role("option", name=label, exact=True).click()


def _type(page, selector: str, value: str) -> None:  # type: ignore[no-untyped-def]
    page.fill(selector, value)
    page.press(selector, "Tab")  # the inputs are debounced: the value counts on blur


def test_emergency_panel(live_server: str, browser, artifacts_dir: Path, login,
                         callers) -> None:  # type: ignore[no-untyped-def]
    commander = callers["commander"].headers  # incidents and their assessment need the role
    lon0, lat0 = _river_point(live_server)
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN",
                            accept_downloads=True)
    login(page, "commander")
    traffic = watch(page)
    page.set_default_timeout(30_000)
    page.goto(f"{live_server}/?z=13&lat={lat0}&lon={lon0}")
    page.click(".om-tab[data-panel=emergency]")
    page.wait_for_function("() => document.querySelector('#em-time')?.value !== ''")
    page.wait_for_load_state("networkidle")

    # Picking a reported incident fills its place, time and pollutant (its report says 甲苯).
    spill = next(f for f in requests.get(f"{live_server}/ogc/collections/incidents/items"
                                         "?f=json&limit=1000", headers=commander,
                                         timeout=30).json()["features"]
                 if f["properties"]["pollutant"] == "甲苯")
    page.click("#em-incident")
    page.get_by_role("option", name=re.compile(re.escape(spill["properties"]["title"]))).click()
    x, y = spill["geometry"]["coordinates"]
    page.wait_for_function(f"() => document.querySelector('#em-lon')?.value == '{x}'")
    assert float(page.input_value("#em-lat")) == pytest.approx(y)
    utc = datetime.fromisoformat(spill["properties"]["time"].replace("Z", "+00:00"))
    assert page.input_value("#em-time") == (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page.wait_for_function("() => document.querySelector('#em-pollutant')?.innerText"
                           ".includes('甲苯')")

    # A click on the river (the map is centred on it) places the incident and its marker.
    box = page.query_selector("#om-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # The field holds the picked incident's place until the click's callback answers.
    page.wait_for_function(f"() => !['', '{x}'].includes(document.querySelector('#em-lon')?.value)")
    lon, lat = float(page.input_value("#em-lon")), float(page.input_value("#em-lat"))
    assert abs(lon - lon0) < 0.003 and abs(lat - lat0) < 0.003, (lon, lat, lon0, lat0)
    page.wait_for_selector(f"{PANE} path.om-em-location")

    page.click("#em-medium input[value=water]")
    _choose(page, "#em-pollutant", "甲苯 C₇H₈")
    _type(page, "#em-time", when := "2025-06-01 10:20")
    page.click("#em-run")
    page.wait_for_selector(".om-em-ds-row")

    # The downstream table is the process's answer at the clicked point, in arrival order.
    expected = _assess(live_server, commander, lon=lon, lat=lat, time=_iso(when), medium="water",
                       pollutant="toluene", amount_kg=1000)["tables"]["downstream"]
    intakes = [r for r in expected if r["kind"] == "intake"]
    assert intakes, "the trace from 南淝河 reaches no intake"
    shown = page.eval_on_selector_all(".om-em-ds-row", """rows => rows.map(r => [
        r.dataset.kind, r.dataset.id, r.querySelector('.om-em-name').innerText.trim(),
        r.querySelector('.om-em-ds-hours').innerText.trim()])""")
    order = sorted(expected, key=lambda r: r["arrival_h"])
    assert shown == [[r["kind"], r["id"], r["name"], f"{r['arrival_h']:.1f}"] for r in order]
    text = page.inner_text(BODY)
    first = intakes[0]
    assert f"下游 {first['arrival_h']:.1f} 小时后到达首个取水口 {first['name']}" in text
    assert "取水口" in text and "沿程 km" in text and "缓冲圈内敏感目标" in text
    # the table and the map's shapes come from one answer; Leaflet draws the shapes after it
    page.wait_for_selector(f"{PANE} path.om-em-trace")
    expect(page.locator(f"{PANE} path.om-em-intake")).to_have_count(len(intakes),
                                                                     timeout=30_000)
    # Fitted between the layer list and the dock, above the time bar: not under a panel.
    page.wait_for_function(f"""() => {{ const d = ({DRAWN_AT})('{PANE} path.om-em-ring,'
        + '{PANE} path.om-em-trace'); const c = d.covers, b = d.box;
        return b && b[0] >= c['om-panel'][2] && b[2] <= c['om-dock-root'][0]
               && b[3] <= c['om-timebar'][1]; }}""")

    # The table as CSV: UTF-8 with a BOM (Excel), one row per intake/section.
    with page.expect_download() as download:
        page.click(".om-em-csv[data-table=downstream]")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["类别", "编码", "名称"] and len(rows) == 1 + len(expected)
    report = page.get_attribute("#em-report-link", "href")
    assert re.fullmatch(r"/api/reports/[0-9a-f]{32}\.html", report or "")
    assert requests.get(live_server + report, headers=commander,
                        timeout=30).status_code == 200
    page.eval_on_selector(".om-em-headline", "e => e.scrollIntoView()")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "emergency.png"))

    # English: the whole panel re-rendered (form, tables, legend), names shown as codes.
    page.get_by_text("EN", exact=True).click()
    page.wait_for_function(NO_CJK_IN_BODY)
    text = page.inner_text(BODY)
    assert not CJK.search(text), sorted(set(CJK.findall(text)))
    assert f"reached in {first['arrival_h']:.1f} h" in text and "Along river km" in text
    assert page.inner_text(".om-em-ds-intake .om-em-name") == first["id"]

    # A chlorine release to air: plume footprints on the map, receptors per ring.
    _type(page, "#em-lon", "117.28")
    _type(page, "#em-lat", "31.86")
    page.click("#em-medium input[value=air]")
    _choose(page, "#em-pollutant", "Chlorine Cl₂")
    _type(page, "#em-amount", "5000")
    page.click("#em-run")
    page.wait_for_selector(".om-em-plume-row")
    air = _assess(live_server, commander, lon=117.28, lat=31.86, time=_iso(when), medium="air",
                  pollutant="cl2", amount_kg=5000)
    plumes = [f for f in air["features"]["features"] if f["properties"]["role"] == "plume"]
    assert plumes
    page.wait_for_function(f"() => document.querySelectorAll('{PANE} path.om-em-plume')"
                           f".length === {len(plumes)}")
    assert page.eval_on_selector_all(".om-em-rec-row", "e => e.length") == len(
        air["tables"]["receptors"]) > 0
    wind = air["summary"]["wind"]
    text = page.inner_text(BODY)
    assert f"Wind: {wind['speed_m_s']:.1f} m/s from {wind['from_deg']:.0f}°" in text
    assert f"nearest station {wind['source']}" in text
    assert not CJK.search(text), sorted(set(CJK.findall(text)))
    page.eval_on_selector(".om-em-headline", "e => e.scrollIntoView()")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "emergency-en.png"))

    # Back to Chinese: the key labels are Chinese again.
    page.get_by_text("中文", exact=True).click()
    labels = ["事故位置", "污染物", "泄漏量（kg）", "开始评估", "烟羽影响范围（按阈值）",
              "缓冲圈内敏感目标", "疑似污染源", "氯气 Cl₂", "完成"]
    page.wait_for_function("labels => { const t = document.querySelector(\"" + BODY + "\")"
                           ".innerText; return labels.every(l => t.includes(l)); }",
                           arg=labels)
    text = page.inner_text(BODY)
    assert "影响范围" in page.inner_text(".om-em-headline")
    assert "Incident" not in text and "Receptors" not in text

    # A point outside the region: refused in words, nothing drawn.
    _type(page, "#em-lon", "120.5")
    page.click("#em-run")
    page.wait_for_function(f"() => document.querySelector('{JOB_TEXT}')?.innerText"
                           ".includes('超出本区域范围')")
    assert page.inner_text(JOB_TEXT).strip() == "“经度、纬度”超出本区域范围，请选择区域内的位置。"
    page.wait_for_function("() => document.querySelector('#em-results')?.innerText.trim() === ''"
                           f" && !document.querySelector('{PANE} path.om-em-plume')")

    assert not traffic.console_errors, traffic.console_errors
    assert not traffic.failed, traffic.failed
    page.close()
