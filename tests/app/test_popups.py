"""The popups an environment official reads, in a real browser against the real server.

* a water section lists its recent samples (date in Beijing time, GB 3838 class chip, the
  parameters over its target) exactly as the OGC API items of ``water_samples`` say, read here
  independently with ``requests``; its latest chip is the section's class;
* a pollution source shows its permit, marked expired (red) when its end is before the data's
  "today" (the last day of the air data, where the time bar ends) and not otherwise, its
  outlets by kind (DA air, DW wastewater) and its emissions in an air and a water group;
* an incident shows its status and level as coloured badges, its time in Beijing time;
* in English none of them holds a Chinese character outside the data's own values.

Leaves ``test-artifacts/popup-water.png``, ``popup-source.png`` and ``popup-incident.png``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from onemap.app.labels import OUTLET_KINDS, VALUE_LABELS, WATER_PARAMETERS
from onemap.styles.symbology import INCIDENT_LEVELS, WATER_CLASSES
from tests.browsing import features, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

BEIJING = timezone(timedelta(hours=8))
#: Chinese characters and CJK/full-width punctuation.
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
#: Symbol centres of a family, nearest to the map's centre first.
NEAREST = """fam => {
    const sel = `.leaflet-om-${fam}-pane path.leaflet-interactive, ` +
                `.leaflet-om-${fam}-pane .leaflet-marker-icon:not(.om-cluster)`;
    const m = document.querySelector('#om-map').getBoundingClientRect();
    const cx = m.left + m.width / 2, cy = m.top + m.height / 2;
    const out = [];
    for (const el of document.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        if (r.width === 0) continue;
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        out.push([Math.hypot(x - cx, y - cy), x, y]);
    }
    return out.sort((a, b) => a[0] - b[0]).slice(0, 6).map(p => [p[1], p[2]]);
}"""


def _beijing(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(BEIJING)


def _data_today(base: str) -> date:
    """The data's "today", read the way the time bar reads it: the air data's last hour."""
    doc = requests.get(f"{base}/ogc/collections/air_hourly", params={"f": "json"},
                       timeout=30).json()
    end = doc["extent"]["temporal"]["interval"][0][1]
    return datetime.fromisoformat(end.replace("Z", "+00:00")).astimezone(BEIJING).date()


def _open(page, base: str, lang: str, family: str, feature: dict, key: str):  # type: ignore[no-untyped-def]
    """Open the map centred on ``feature`` with only its layer on; click it; the popup."""
    lon, lat = feature["geometry"]["coordinates"][:2]
    value = feature["properties"][key]
    page.goto(f"{base}/?lang={lang}&z=16&lat={lat}&lon={lon}&layers={family}")
    if lang == "en":  # the link's language is applied after the first render: wait for it
        page.wait_for_function("() => document.title.indexOf('Ecological') >= 0")
    page.wait_for_selector(f".leaflet-om-{family}-pane path.leaflet-interactive, "
                           f".leaflet-om-{family}-pane .leaflet-marker-icon", state="attached")
    for _ in range(2):
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")
        page.wait_for_timeout(400)
    selector = f".leaflet-popup-content .om-popup[data-family={family}]"
    for x, y in page.evaluate(NEAREST, family):
        page.mouse.click(x, y)
        popup = page.wait_for_selector(selector)
        layer = popup.query_selector(".om-popup-layer").inner_text()
        assert bool(CJK.search(layer)) == (lang == "zh"), f"popup not in {lang}: {layer}"
        if popup.get_attribute("data-key") == value:
            return popup
        # Closed, a popup fades out and stays in the page for a moment: wait until it is gone,
        # or the next click's wait would find it again.
        page.click(".leaflet-popup-close-button")
        page.wait_for_selector(".leaflet-popup", state="detached")
    raise AssertionError(f"no {family} symbol opens the popup of {value}")


def _no_cjk_but_data(text: str, props: dict) -> None:
    """English popup text: every Chinese character is inside one of the feature's values."""
    rest = text
    for v in sorted((v for v in props.values() if isinstance(v, str)), key=len, reverse=True):
        rest = rest.replace(v, "")
    left = CJK.findall(rest)
    assert not left, f"Chinese outside the data in English: {''.join(left)!r} in {text!r}"


@pytest.fixture()
def page(browser, login):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    login(page, "viewer")  # sources and incidents are internal
    page.set_default_timeout(60_000)
    page.traffic = watch(page)
    yield page
    assert not page.traffic.console_errors, page.traffic.console_errors
    assert not page.traffic.failed, page.traffic.failed
    page.close()


def _section(base: str) -> tuple[dict, list[dict]]:
    """A section whose recent samples differ in class (so the strip shows something)."""
    sections = features(base, "water_sections")
    best = None
    for feature in sections:
        sid = feature["properties"]["section_id"]
        samples = features(base, "water_samples", section_id=sid, sortby="-time", limit=24)
        classes = {s["properties"].get("water_class") for s in samples}
        if best is None or len(classes) > len(best[2]):
            best = (feature, samples, classes)
    assert best is not None
    return best[0], best[1]


def test_water_section_history(live_server: str, page, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    section, samples = _section(live_server)
    props = section["properties"]
    assert samples and all("water_class" in s["properties"] and "exceeding" in s["properties"]
                           for s in samples), "water_samples items lack water_class/exceeding"
    labels = {c.value: c for c in WATER_CLASSES}
    for lang in ("zh", "en"):
        popup = _open(page, live_server, lang, "water_sections", section, "section_id")
        page.wait_for_selector(".leaflet-popup-content .om-wh[data-state=ready]")
        rows = page.eval_on_selector_all(
            ".leaflet-popup-content .om-wh-row",
            "els => els.map(e => [e.dataset.date, e.dataset.class, e.cells[2].innerText])")
        want = [(_beijing(s["properties"]["time"]).strftime("%Y-%m-%d"),
                 s["properties"]["water_class"] or "") for s in samples]
        assert [(d, c) for d, c, _ in rows] == want
        # Exceeding parameters by their names, with their multiples.
        for (_, _, cell), s in zip(rows, samples, strict=True):
            for part in filter(None, (s["properties"]["exceeding"] or "").split(",")):
                code, _, times = part.partition(":")
                name = WATER_PARAMETERS[code][1 if lang == "en" else 0]
                assert f"{name} {times}".strip() in cell, (part, cell)
        # The latest chip is the section's class, named as the legend names it.
        chip = popup.query_selector(".om-water-head .om-chip-class")
        assert chip.get_attribute("data-class") == props["water_class"] == want[0][1]
        assert chip.inner_text() == labels[props["water_class"]].text(lang)
        # The strip: a dot per classified sample and the target line.
        dots = popup.query_selector_all(".om-wh-strip circle")
        assert len(dots) == sum(1 for _, c in want if c)
        assert popup.query_selector(".om-wh-strip .om-wh-target")
        text = popup.inner_text()
        if lang == "zh":
            assert f"近 {len(samples)} 次采样水质类别" in text and "采样日期" in text
            page.locator(".leaflet-popup").screenshot(path=str(artifacts_dir / "popup-water.png"))
        else:
            assert f"Water class of the last {len(samples)} samples" in text
            _no_cjk_but_data(text, props)


def test_pollution_source_permit(live_server: str, page, artifacts_dir: Path, callers) -> None:  # type: ignore[no-untyped-def]
    today = _data_today(live_server)
    assert today == date(2025, 12, 31)
    sources = features(live_server, "pollution_sources", callers["viewer"].headers)

    def until(f: dict) -> date | None:
        text = f["properties"].get("permit_valid_until")
        return date.fromisoformat(text[:10]) if text else None

    expired = next(f for f in sources if until(f) and until(f) < today
                   and "DA" in f["properties"]["outlets"] and "DW" in f["properties"]["outlets"])
    valid = next(f for f in sources if until(f) and until(f) > today + timedelta(days=90))
    for lang in ("zh", "en"):
        for feature, state in ((expired, "expired"), (valid, "valid")):
            props = feature["properties"]
            popup = _open(page, live_server, lang, "pollution_sources", feature, "source_id")
            marks = popup.query_selector_all(".om-validity")
            assert [m.get_attribute("data-state") for m in marks] == [state]
            mark = marks[0].inner_text()
            if state == "expired":
                assert mark == ("已过期" if lang == "zh" else "Expired")
                red = marks[0].evaluate("e => getComputedStyle(e).backgroundColor")
                assert red == "rgb(198, 40, 40)", red
            else:
                assert mark in ("有效", "Valid")
                assert not popup.query_selector(".om-validity-expired")
            text = popup.inner_text()
            assert props["permit_id"] in text and props["permit_valid_until"][:10] in text
            # Outlets, each with its kind.
            outlets = popup.eval_on_selector_all(
                ".om-outlet",
                "els => els.map(e => [e.dataset.outlet, e.dataset.kind, e.innerText])")
            codes = props["outlets"].split(";")
            assert [o[0] for o in outlets] == codes
            for code, kind, item in outlets:
                want, zh, en = OUTLET_KINDS[code[:2]]
                assert kind == want == {"DA": "air", "DW": "water"}[code[:2]]
                assert item == f"{code} {en if lang == 'en' else zh}"
            # Emissions: an air and a water group, every value the API has, nothing else.
            groups = popup.eval_on_selector_all(".om-em-group", "els => els.map(e => e.innerText)")
            assert groups == (["废气", "废水"] if lang == "zh" else ["Air", "Wastewater"])
            values = popup.eval_on_selector_all(
                ".om-em-value", "els => els.map(e => [e.dataset.field, e.dataset.group, "
                                "Number(e.innerText.replace(/,/g, ''))])")
            fields = {"so2_t": "air", "nox_t": "air", "pm_t": "air", "voc_t": "air",
                      "cod_t": "water", "nh3n_t": "water"}
            assert {v[0]: (v[1], v[2]) for v in values} == {
                k: (g, round(props[k], 3)) for k, g in fields.items() if props[k] is not None}
            if lang == "zh" and state == "expired":
                page.locator(".leaflet-popup").screenshot(
                    path=str(artifacts_dir / "popup-source.png"))
            if lang == "en":
                _no_cjk_but_data(text, props)
            page.keyboard.press("Escape")


def test_incident_badges(live_server: str, page, artifacts_dir: Path, callers) -> None:  # type: ignore[no-untyped-def]
    incidents = features(live_server, "incidents", callers["viewer"].headers)
    statuses = {f["properties"]["status"] for f in incidents}
    assert statuses <= set(VALUE_LABELS["incidents"]["status"]), statuses
    # An open one if there is one (the one an official looks for), else the latest.
    incident = max(incidents, key=lambda f: (f["properties"]["status"] != "closed",
                                              f["properties"]["time"]))
    props = incident["properties"]
    level = next(c for c in INCIDENT_LEVELS if c.value == props["level"])
    for lang in ("zh", "en"):
        popup = _open(page, live_server, lang, "incidents", incident, "incident_id")
        i = 1 if lang == "en" else 0
        badge = popup.query_selector(".om-badge-status")
        assert badge.get_attribute("data-status") == props["status"]
        assert badge.inner_text() == VALUE_LABELS["incidents"]["status"][props["status"]][i]
        chip = popup.query_selector(".om-badge-level")
        assert chip.inner_text() == level.text(lang)
        rgb = chip.evaluate("e => getComputedStyle(e).backgroundColor")
        r, g, b = (int(level.color[k:k + 2], 16) for k in (1, 3, 5))
        assert rgb == f"rgb({r}, {g}, {b})", rgb
        text = popup.inner_text()
        assert _beijing(props["time"]).strftime("%Y-%m-%d %H:%M") in text
        assert VALUE_LABELS["incidents"]["type"][props["type"]][i] in text
        assert props["description"] in popup.query_selector(".om-description").inner_text()
        if lang == "zh":
            page.locator(".leaflet-popup").screenshot(
                path=str(artifacts_dir / "popup-incident.png"))
        else:
            _no_cjk_but_data(text, props)
