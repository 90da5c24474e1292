"""The Dashboard's KPIs, cards and charts from fetched JSON (no browser), and its reads of the
real server (the fetches, the year's job).

The pure part feeds hand-made answers of the OGC API to the helpers and checks each number
against a count done here by hand, every card state (loading, error, data) in both languages,
and that nothing English shows Chinese (or the reverse for labels). The server part checks the
small queries the panel sends (CQL2 filters, ``numberMatched``) against plain requests, and the
year's job path (start, poll, read the rows, delete the job, cancel) on a short synthetic year.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
import requests
from dash.development.base_component import Component

from onemap.app.panels import dashboard_fetch as fetch
from onemap.app.panels import dashboard_year as year
from onemap.app.panels.dashboard_cards import (
    air_card,
    air_click,
    click_error,
    head_text,
    incident_card,
    incident_click,
    period_options,
    source_card,
    water_card,
    water_click,
    water_missed,
)
from onemap.app.panels.dashboard_kpis import (
    DataError,
    air_kpi,
    air_rows,
    bbox,
    data_now,
    day_click_time,
    group_filter,
    incident_kpi,
    misses_target,
    permit_filters,
    recent_period,
    source_kpi,
    water_kpi,
    year_period,
)
from onemap.app.panels.dashboard_text import error_text, incident_label, number, percent, pollutants
from onemap.app.panels.dashboard_view import air_chart, source_chart
from onemap.config import Settings

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def _pt(x: float, y: float, **props: object) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": props}


def _plain(node: object) -> object:
    if isinstance(node, Component):
        return _plain(node.to_plotly_json())
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    return node


def _text(node: object) -> str:
    """Every string in a rendered Dash tree (what the page could show)."""
    return json.dumps(_plain(node), ensure_ascii=False)


def _find(node: object, cls: str) -> list[dict]:
    """The props of every component in ``node`` whose className holds ``cls``."""
    out: list[dict] = []

    def walk(n: object) -> None:
        if isinstance(n, dict):
            props = n.get("props") if "props" in n and "type" in n else None
            if props is not None:
                if cls in str(props.get("className") or "").split():
                    out.append(props)
                walk(props.get("children"))
                return
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(_plain(node))
    return out


def _bars(chart: object) -> list[dict]:
    """Each bar of a chart: its key, card, tooltip, value text and coloured parts."""
    out = []
    for props in _find(chart, "db-bar"):
        texts = [c.get("props", {}).get("children") for c in props["children"]
                 if isinstance(c, dict)]
        parts = _find(props, "db-part")
        out.append({"card": props["id"]["card"], "key": json.loads(props["id"]["key"]),
                    "title": props["title"], "aria": props["aria-label"],
                    "text": texts[1] if len(texts) > 1 else "",
                    "colors": [p["style"]["background"] for p in parts]})
    return out


def _labels(chart: object, cls: str = "db-tick") -> list[str]:
    return [p["children"] for p in _find(chart, cls)]


NOW_DOC = {"features": [{"properties": {"time": "2025-12-31T15:00:00Z"}}],
           "numberMatched": 1234}
NOW = data_now(NOW_DOC)
NOW_STORE = {"now": NOW}


# -- the data's clock ---------------------------------------------------------------------------
def test_now_is_the_datas_latest_hour_in_beijing_time() -> None:
    assert NOW["local"] == "2025-12-31 23:00" and NOW["day"] == "2025-12-31"
    assert NOW["complete_day"] == "2025-12-31" and NOW["count"] == 1234
    assert recent_period(NOW) == ("2025-12-02", "2025-12-31")
    assert year_period(NOW) == ("2025-01-01", "2025-12-31")
    # 22:00 local: the day is not complete, the periods end the day before.
    part = data_now({"features": [{"properties": {"time": "2025-06-10T14:00:00Z"}}]})
    assert part["day"] == "2025-06-10" and part["complete_day"] == "2025-06-09"
    assert recent_period(part) == ("2025-05-11", "2025-06-09")
    assert year_period(part) == ("2025-01-01", "2025-06-09")
    # 00:xx local of 1 January: the last complete day is in the year before.
    jan = data_now({"features": [{"properties": {"time": "2024-12-31T16:00:00Z"}}]})
    assert jan["day"] == "2025-01-01" and year_period(jan) == ("2024-01-01", "2024-12-31")
    with pytest.raises(DataError):
        data_now({"features": []})
    with pytest.raises(DataError):
        data_now({"features": [{"properties": {"time": "yesterday"}}]})


def test_a_clicked_day_shows_noon_beijing_time() -> None:
    assert day_click_time("2025-12-12") == "2025-12-12T04:00:00Z"


# -- air ----------------------------------------------------------------------------------------
def _air(rows: list[tuple[str, int | None, int | None]], start: str, end: str) -> dict:
    answer = {"regional_daily": [{"date": d, "aqi": a, "aqi_level": lv,
                                  "primary_pollutant": "PM2.5" if a and a > 50 else ""}
                                 for d, a, lv in rows],
              "station_daily": {"features": [_pt(117.0, 31.5), _pt(117.5, 31.9)]}}
    return air_rows(answer, start, end)


def test_good_air_share_counts_valid_days_only() -> None:
    rows = [("2025-12-01", 180, 4),  # outside the period
            ("2025-12-02", 40, 1), ("2025-12-03", 100, 2), ("2025-12-04", 101, 3),
            ("2025-12-05", None, None), ("2025-12-06", 75, 2)]  # 12-07 missing entirely
    kpi = air_kpi(_air(rows, "2025-12-02", "2025-12-07"))
    assert kpi["days"] == 6 and kpi["valid"] == 4 and kpi["good"] == 3  # 100 is still good
    assert kpi["share"] == pytest.approx(0.75)
    assert kpi["levels"] == {"1": 1, "2": 2, "3": 1, "4": 0, "5": 0, "6": 0}
    assert [r["date"] for r in kpi["series"]][0] == "2025-12-02"
    assert kpi["bbox"] == [117.0, 31.5, 117.5, 31.9]
    assert air_kpi(_air([("2025-12-02", None, None)], "2025-12-02", "2025-12-02"))[
        "share"] is None
    with pytest.raises(DataError):
        air_rows({"summary": {}}, "2025-12-02", "2025-12-03")


def test_air_card_states_in_both_languages() -> None:
    rows = {"rows": _air([("2025-12-30", 40, 1), ("2025-12-31", 130, 3)], "2025-12-02",
                         "2025-12-31")}
    body, fig, style, options = air_card("recent", NOW_STORE, rows, None, None, "zh")
    assert "50.0%" in _text(body) and "优良 1 天，有效 2 天（共 30 天）" in _text(body)
    assert style["display"] == "block" and options[1]["label"] == "2025 年全年"
    body, fig, style, options = air_card("recent", NOW_STORE, rows, None, None, "en")
    assert not CJK.search(_text(body) + _text(fig) + _text(options)), _text(fig)[:500]
    assert "good 1 / valid 2 days (30 in the period)" in _text(body)
    assert "Excellent 1 day" in _text(body) and "Lightly polluted 1 day" in _text(body)
    assert options == [{"label": "Last 30 days", "value": "recent"},
                       {"label": "Whole of 2025", "value": "year"}]
    # Loading, a failure in words, the year waiting / stopped.
    body, _, style, _ = air_card("recent", NOW_STORE, None, None, None, "zh")
    assert "2025-12-02 至 2025-12-31" in _text(body) and style == {"display": "none"}
    err = {"error": fetch.failure(fetch.OgcError(500, "NoApplicableCode", "", "boom"))}
    body, _, style, _ = air_card("recent", NOW_STORE, err, None, None, "zh")
    assert "无法读取每日空气质量指数" in _text(body) and "HTTP 500" in _text(body)
    body, _, _, _ = air_card("year", NOW_STORE, rows, None, "running", "en")
    assert "computing" in _text(body)
    body, _, _, _ = air_card("year", NOW_STORE, rows, None, "dismissed", "en")
    assert "choose “Whole of 2025” again" in _text(body)
    # The year's rows only count when they are for this very year and data version.
    whole = {**_air([("2025-06-01", 40, 1)], "2025-01-01", "2025-12-31"),
             "version": [NOW["time"], NOW["count"]]}
    body, _, style, _ = air_card("year", NOW_STORE, rows, whole, "successful", "zh")
    assert "100.0%" in _text(body) and "2025-01-01 至 2025-12-31" in _text(body)
    stale = {**whole, "version": ["2025-12-30T15:00:00Z", 1]}
    body, _, style, _ = air_card("year", NOW_STORE, rows, stale, "successful", "zh")
    assert style == {"display": "none"}
    # No data time at all: said in words.
    body, _, _, _ = air_card("recent", {"error": err["error"]}, None, None, None, "en")
    assert "Could not read the time of the monitoring data" in _text(body)


def test_air_chart_axis_and_hover_are_localised() -> None:
    kpi = air_kpi(_air([("2025-12-30", 40, 1), ("2025-12-31", 130, 3)], "2025-12-02",
                       "2025-12-31"))
    zh, en = air_chart(kpi, "zh"), air_chart(kpi, "en")
    assert _labels(zh) == ["12月2日", "12月17日", "12月31日"]  # first, middle, last day
    assert _labels(en) == ["Dec 2", "Dec 17", "Dec 31"]
    bars = _bars(zh)  # one per valid day; the 28 days without data keep their places empty
    assert [b["key"] for b in bars] == [["2025-12-30"], ["2025-12-31"]]
    assert len(_find(zh, "db-gap")) == 28
    assert "轻度污染" in bars[1]["title"] and "首要污染物：PM2.5" in bars[1]["title"]
    assert _bars(en)[1]["aria"] == _bars(en)[1]["title"] == \
        "2025-12-31  AQI 130 (Lightly polluted)\nPrimary pollutant: PM2.5"
    assert [b["colors"] for b in _bars(en)] == [["#00E400"], ["#FF7E00"]]
    assert _find(zh, "db-rule-line")[0]["title"] == "AQI 100"


# -- water --------------------------------------------------------------------------------------
WATER = {"features": [
    _pt(117.1, 31.5, water_class="II", target_class="III"),
    _pt(117.2, 31.6, water_class="III", target_class="III"),
    _pt(117.3, 31.7, water_class="IV", target_class="III"),  # misses
    _pt(117.4, 31.8, water_class="V+", target_class="V"),  # misses
    _pt(117.5, 31.9, water_class="V+", target_class="V+"),
    _pt(117.6, 32.0, water_class=None, target_class="III"),
]}


def test_water_classes_and_missed_targets() -> None:
    kpi = water_kpi(WATER)
    assert kpi["counts"] == {"I": 0, "II": 1, "III": 1, "IV": 1, "V": 0, "V+": 2, "none": 1}
    assert kpi["total"] == 6 and kpi["classed"] == 5 and kpi["good"] == 2
    assert kpi["good_share"] == pytest.approx(0.4)
    assert kpi["missed"] == 2 and kpi["missed_by_class"]["V+"] == 1
    assert kpi["bbox"]["V+"] == [117.4, 31.8, 117.5, 31.9] and kpi["bbox"]["I"] is None
    assert kpi["missed_bbox"] == [117.3, 31.7, 117.4, 31.8]
    assert misses_target("IV", "III") and not misses_target("III", "III")
    assert not misses_target(None, "III") and not misses_target("IV", "X")


def test_water_card_chart_and_clicks() -> None:
    store = {"kpi": water_kpi(WATER)}
    body, fig, style, table, missed, missed_style = water_card(store, "zh")
    assert "40.0%" in _text(body) and missed == "未达到水质目标：2 个断面"
    assert _labels(fig) == ["Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类", "未评价"]
    assert [b["text"] for b in _bars(fig)] == ["0", "1", "1", "1", "0", "2", "1"]
    assert _bars(fig)[5]["key"] == ["V+"] and "2 个断面" in _bars(fig)[5]["title"]
    assert '"data-class": "V+"' in _text(table)
    body, fig, style, table, missed, _ = water_card(store, "en")
    assert not CJK.search(_text(body) + _text(fig) + _text(table) + missed)
    assert "Worse than V" in _labels(fig)
    assert water_click(["V+"], store) == {"bounds": [117.4, 31.8, 117.5, 31.9],
                                          "layers": ["water_sections"]}
    assert water_click(["I"], store) is None  # no section
    assert water_missed(store) == {"bounds": [117.3, 31.7, 117.4, 31.8],
                                   "layers": ["water_sections"]}
    assert water_card(None, "en")[0][0].children == "Computing…"


# -- incidents ----------------------------------------------------------------------------------
def test_open_incidents_by_level_and_status() -> None:
    open_ = {"features": [_pt(117.1, 31.5, level="III", status="responding"),
                          _pt(117.2, 31.6, level="III", status="reported"),
                          _pt(117.3, 31.7, level="I", status="reported"),
                          _pt(117.4, 31.8, level="?", status="reported")]}
    kpi = incident_kpi(open_, total=10)
    assert kpi["open"] == 4 and kpi["total"] == 10
    assert kpi["by_level"]["III"] == {"reported": 1, "responding": 1, "other": 0}
    assert kpi["by_level"]["none"]["reported"] == 1
    assert kpi["by_status"] == {"reported": 3, "responding": 1, "other": 0}
    store = {"kpi": kpi}
    body, fig, style = incident_card(store, "zh")
    assert "处置中 1 起，已报告 3 起；全部 10 起中已结束 6 起" in _text(body)
    assert _labels(fig, "db-row-label") == [incident_label(k, "zh")
                                            for k in ("I", "II", "III", "IV", "none")]
    level3 = next(b for b in _bars(fig) if b["key"] == ["III"])
    assert level3["text"] == "2" and "已报告 1" in level3["title"] and \
        "处置中 1" in level3["title"]
    assert len(_find(fig, "db-hatch")) >= 1  # reported: hatched
    body, fig, style = incident_card(store, "en")
    assert not CJK.search(_text(body) + _text(fig))
    assert incident_click(["III"], store) == {
        "bounds": [117.1, 31.5, 117.2, 31.6], "layers": ["incidents"]}
    none = incident_card({"kpi": incident_kpi({"features": []}, total=3)}, "zh")
    assert "目前没有未结事件（全部 3 起均已结束）" in _text(none[0])
    assert none[2]["display"] == "none"


# -- sources ------------------------------------------------------------------------------------
def test_permit_groups_and_source_card() -> None:
    filters = permit_filters("2025-12-31")
    assert filters["expired"] == "permit_valid_until < '2025-12-31'"
    assert filters["soon"] == ("permit_valid_until >= '2025-12-31' AND "
                               "permit_valid_until <= '2026-03-31'")
    assert group_filter("2025-12-31", "expired", "key") == \
        "(permit_valid_until < '2025-12-31') AND permit_class = 'key'"
    with pytest.raises(DataError):
        group_filter("2025-12-31", "expired", "key'; DROP")
    kpi = source_kpi("2025-12-31", {"expired": {"key": 3, "simplified": 1},
                                    "soon": {"key": 2}}, permitted=50)
    assert kpi["n_expired"] == 4 and kpi["n_soon"] == 2 and kpi["until"] == "2026-03-31"
    body, fig, style, rule = source_card({"kpi": kpi}, NOW_STORE, "zh")
    assert "截至 2025-12-31 许可证已过期；另有 2 家将在 2026-03-31 前到期" in _text(body)
    assert "无法判定排放是否超标" in rule
    assert _labels(fig, "db-row-label") == ["重点管理", "简化管理"]  # registration: no permit
    assert [b["key"] for b in _bars(fig)] == [["expired", "key"], ["soon", "key"],
                                             ["expired", "simplified"], ["soon", "simplified"]]
    assert [b["text"] for b in _bars(fig)] == ["3", "2", "1", "0"]
    assert "已过期" in _bars(fig)[0]["title"] and "90 天内到期" in _bars(fig)[1]["title"]
    body, fig, style, rule = source_card({"kpi": kpi}, NOW_STORE, "en")
    assert not CJK.search(_text(body) + _text(fig) + rule)
    empty = source_kpi("2025-12-31", {}, permitted=0)
    assert source_card({"kpi": empty}, NOW_STORE, "en")[2] == {"display": "none"}
    assert len(_find(source_chart(kpi, "en"), "db-track")) == 4  # two bars a row: grouped


# -- words and numbers --------------------------------------------------------------------------
def test_numbers_pollutants_and_errors() -> None:
    assert number(1738) == "1,738" and percent(0.9666) == "96.7%" and percent(None) == "—"
    assert pollutants("PM10,PM2.5", "zh") == "PM10、PM2.5"
    assert pollutants("PM10,O3", "en") == "PM10, O₃" and pollutants("", "en") == "none"
    bad = fetch.failure(DataError("no features"))
    assert error_text("water", bad, "en") == \
        "Could not read the surface-water sections: The server's answer lacks the data needed."
    down = fetch.failure(fetch.OgcError(0, "Unreachable", "", "ConnectionError"))
    assert error_text("src", down, "zh") == "无法读取污染源：无法连接到服务器。"
    assert head_text({"now": NOW}, "en") == \
        "Data up to 2025-12-31 23:00 (Beijing time, the latest monitoring record)"
    assert period_options(None, "zh")[1]["label"] == "本年度"
    assert bbox([{"geometry": None}]) is None


def test_air_click_moves_time_and_switches_stations_on() -> None:
    rows = _air([("2025-12-30", 40, 1)], "2025-12-02", "2025-12-31")
    target, when = air_click(["2025-12-30"], rows)
    assert target == {"bounds": [117.0, 31.5, 117.5, 31.9], "layers": ["air_stations"]}
    assert when == "2025-12-30T04:00:00Z"
    assert air_click(None, rows) == (None, None)


def test_year_job_line() -> None:
    running = {"status": "running", "progress": 41, "start": "2025-01-01"}
    track, bar, text, cancel, label, line = year.line_view(running, None, "zh")
    assert track == {"display": "block"} and bar == {"width": "41%"} and text == "计算中 41%"
    assert cancel == {"display": "inline-block"} and label == "取消"
    assert line == {"display": "flex"}
    reading = year.line_view({"status": "successful", "start": "2025-01-01"}, None, "en")
    assert reading[2] == "Computed; reading the year's results…" and reading[3]["display"] == \
        "none"
    done = year.line_view({"status": "successful", "start": "2025-01-01"},
                          {"start": "2025-01-01"}, "en")
    assert done[0] == {"display": "none"} and done[2] == "" and done[5] == {"display": "none"}
    failed = year.line_view({"status": "failed", "err": fetch.failure(
        fetch.OgcError(400, "InvalidParameterValue", "end", "bad"))}, None, "zh")
    assert failed[2].startswith("无法读取每日空气质量指数：输入“end”的值无效")
    assert year.line_view({"status": "dismissed"}, None, "en")[2] == "Cancelled."


# -- against the real server --------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_settings(live_server: str, sample_settings: Settings) -> Settings:
    port = urlsplit(live_server).port
    return Settings(data_dir=sample_settings.data_dir, port=int(port or 80),
                    public_url=live_server)


def _get(base: str, collection: str, headers: dict[str, str] | None = None,
         **params: object) -> dict:
    resp = requests.get(f"{base}/ogc/collections/{collection}/items", headers=headers,
                        params={"f": "json", "limit": 10000, **params}, timeout=60)
    resp.raise_for_status()
    return resp.json()


@pytest.mark.server
def test_fetches_match_plain_requests(app_settings: Settings, live_server: str,
                                      as_viewer) -> None:  # type: ignore[no-untyped-def]
    now = fetch.fetch_now(app_settings)
    hours = [f["properties"]["time"] for f in _get(live_server, "air_hourly", limit=1,
                                                   sortby="-time")["features"]]
    assert now["time"] == hours[0].replace("+00:00", "Z")
    water = fetch.fetch_water(app_settings)
    classes = Counter(f["properties"].get("water_class")
                      for f in _get(live_server, "water_sections")["features"])
    assert {k: v for k, v in water["counts"].items() if v} == \
        {("none" if k is None else k): v for k, v in classes.items()}
    incidents = _get(live_server, "incidents", as_viewer.headers)["features"]
    inc = fetch.fetch_incidents(app_settings)
    assert inc["total"] == len(incidents)
    assert inc["open"] == sum(1 for f in incidents if f["properties"]["status"] != "closed")
    sources = [f["properties"] for f in _get(live_server, "pollution_sources",
                                             as_viewer.headers, skipGeometry="true")["features"]]
    src = fetch.fetch_sources(app_settings, now)
    day = now["day"]
    assert src["n_expired"] == sum(1 for p in sources if p.get("permit_valid_until")
                                   and p["permit_valid_until"] < day) > 0
    assert src["permitted"] == sum(1 for p in sources if p.get("permit_id"))
    box = fetch.fetch_source_bbox(app_settings, day, "expired", "key")
    assert box is not None and box[0] < box[2] and box[1] < box[3]


@pytest.mark.server
def test_all_items_pages_through_everything(app_settings: Settings, live_server: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "PAGE", 7)  # 30 sections: five pages, the last one short
    ids = [f["properties"]["section_id"] for f in fetch.all_items(
        app_settings, "water_sections", properties="section_id")]
    expected = [f["properties"]["section_id"] for f in _get(live_server, "water_sections")[
        "features"]]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids)) == 30


@pytest.mark.server
def test_year_job_reads_rows_then_deletes_the_job(app_settings: Settings,
                                                  live_server: str) -> None:
    # A short "year" (data up to 10 January) so the job path runs in seconds.
    short = {**fetch.fetch_now(app_settings), "complete_day": "2025-01-10"}
    job = year.start(app_settings, short)
    assert job["status"] == "accepted" and job["job"] and job["end"] == "2025-01-10"
    deadline = time.monotonic() + 120
    while job["status"] in year.RUNNING and time.monotonic() < deadline:
        time.sleep(0.3)
        job = year.poll(app_settings, job)
    assert job["status"] == "successful", job
    rows = year.rows(app_settings, job, short)
    assert year.matches(rows, short) and len(rows["rows"]) == 10 and "error" not in rows
    direct = requests.post(f"{live_server}/ogc/processes/aqi-daily/execution",
                           json={"inputs": {"start": "2025-01-01", "end": "2025-01-10"}},
                           timeout=120).json()["regional_daily"]
    assert [r["aqi"] for r in rows["rows"]] == [r["aqi"] for r in direct]
    gone = requests.get(f"{live_server}/ogc/jobs/{job['job']}?f=json", timeout=30)
    assert gone.status_code == 404  # its 20 MB-a-year result does not pile up
    # Asked again: served from the cache, no second job.
    assert year.start(app_settings, short)["status"] == "cached"
    # Cancel: a fresh period, stopped at once.
    other = {**short, "complete_day": "2025-01-05"}
    job = year.stop(app_settings, year.start(app_settings, other))
    assert job["status"] in ("dismissed", "failed") and year.line_view(job, None, "en")[2]


def test_a_failed_click_is_said_in_words() -> None:
    assert click_error(None, "zh") is None
    note = fetch.failure(fetch.OgcError(503, "NoApplicableCode", "", "busy"))
    assert _text(click_error(note, "en")).count("Could not read the pollution sources") == 1
