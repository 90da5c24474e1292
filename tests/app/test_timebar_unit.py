"""The time bar's and the URL state's pure helpers: hours, labels, series steps, link parsing.

No browser and no server: these are the rules the browser tests rely on (which hour a slider
position is, which raster step follows an hour, what a link may and may not change).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash

from onemap.app.timebar import (
    Extent,
    day_hour,
    day_marks,
    iso,
    parse_extent,
    parse_time,
    series_step,
    step_time,
    time_text,
)
from onemap.app.urlstate import UrlState, layer_values, parse_search, viewport

#: The sample year: 2025-01-01 00:00 … 2025-12-31 23:00 Beijing time.
YEAR = Extent(datetime(2024, 12, 31, 16, tzinfo=UTC), datetime(2025, 12, 31, 15, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_parse_time_reads_zones_and_floors_to_the_hour() -> None:
    assert parse_time("2025-01-22T00:00:00Z") == utc(2025, 1, 22, 0)
    assert parse_time("2025-01-22T00:00Z") == utc(2025, 1, 22, 0)
    assert parse_time("2025-01-22T08:00:00+08:00") == utc(2025, 1, 22, 0)
    assert parse_time("2025-01-22T08:59:59+08:00") == utc(2025, 1, 22, 0)
    # No zone: what a person types, Beijing time.
    assert parse_time("2025-01-22T08:00") == utc(2025, 1, 22, 0)
    assert parse_time("2025-01-22T08Z") == utc(2025, 1, 22, 8)
    for bad in (None, "", "garbage", "2025-13-01T00:00Z", "2025-01-22", "22/01/2025 08:00",
                "2025-01-22T25:00Z"):
        assert parse_time(bad) is None, bad
    assert iso(utc(2025, 1, 22, 0)) == "2025-01-22T00:00:00Z"


def test_extent_from_the_collection_document() -> None:
    doc = {"extent": {"temporal": {"interval": [["2025-01-01T00:00:00+08:00",
                                                 "2025-12-31T23:00:00+08:00"]]}}}
    ext = parse_extent(doc)
    assert ext == YEAR
    assert ext.days == 365
    assert ext.day0 == utc(2024, 12, 31, 16)
    assert Extent.from_store(ext.to_store()) == ext
    assert ext.to_store()["end"] == "2025-12-31T15:00:00Z"
    def doc_of(interval: list) -> dict:
        return {"extent": {"temporal": {"interval": interval}}}

    for bad in ({}, None, doc_of([]), doc_of([["2025-02-01T00:00Z", "2025-01-01T00:00Z"]]),
                doc_of([[None, "2025-01-01T00:00Z"]])):
        assert parse_extent(bad) is None
    assert Extent.from_store({"start": "x", "end": "2025-01-01T00:00Z"}) is None


def test_day_and_hour_of_the_sliders_are_beijing_calendar() -> None:
    assert day_hour(YEAR, None) == (364, 23)  # latest: 31 Dec 23:00
    assert day_hour(YEAR, utc(2025, 1, 22, 0)) == (21, 8)  # 22 Jan 08:00 Beijing
    assert day_hour(YEAR, utc(2024, 12, 31, 16)) == (0, 0)
    # Outside the data: clamped to its ends.
    assert day_hour(YEAR, utc(2020, 1, 1, 0)) == (0, 0)
    assert day_hour(YEAR, utc(2030, 1, 1, 0)) == (364, 23)
    # An extent starting mid-day still counts Beijing days from that day's midnight.
    ext = Extent(utc(2025, 1, 20, 16), utc(2025, 1, 27, 15))
    assert ext.days == 7 and day_hour(ext, utc(2025, 1, 21, 0)) == (0, 8)


def test_time_text_in_both_languages() -> None:
    when = utc(2025, 1, 22, 0)
    assert time_text(when, YEAR, "zh") == "2025年1月22日 08:00（北京时间）"
    assert time_text(when, YEAR, "en") == "22 Jan 2025, 08:00 (Beijing time)"
    assert time_text(None, YEAR, "zh") == "2025年12月31日 23:00（北京时间） · 最新"
    assert time_text(None, YEAR, "en") == "31 Dec 2025, 23:00 (Beijing time) · latest"
    assert time_text(None, None, "en") == ""


def test_day_marks_name_months_without_overlap() -> None:
    zh, en = day_marks(YEAR, "zh"), day_marks(YEAR, "en")
    assert sorted(zh) == sorted(en) and len(zh) == 12  # a tick per month
    assert zh[0] == "1月" and en[0] == "Jan" and zh[31] == "" and zh[59] == "3月"
    assert en[334] == "" and en[304] == "Nov"
    week = Extent(utc(2025, 1, 20, 16), utc(2025, 1, 27, 15))
    assert day_marks(week, "zh") == {0: "1月21日"} and day_marks(week, "en") == {0: "21 Jan"}


def test_step_time_of_months_dates_and_hours() -> None:
    assert step_time("2025-01") == utc(2024, 12, 31, 16)
    assert step_time("2025-07-20") == utc(2025, 7, 19, 16)
    assert step_time("2025-01-20T16:00:00Z") == utc(2025, 1, 20, 16)
    assert step_time("2025-07-20T02:36:18") == datetime(2025, 7, 20, 2, 36, 18, tzinfo=UTC)
    assert step_time("soon") is None and step_time(None) is None


def test_series_follow_the_map_time() -> None:
    ndvi = [{"datetime": d} for d in ("2024-07", "2025-01", "2025-04", "2025-07", "2025-10")]
    cube = [{"datetime": iso(utc(2025, 1, 20, 16) + timedelta(hours=h))} for h in range(168)]
    when = utc(2025, 1, 22, 0)  # 22 Jan 08:00 Beijing
    assert series_step(ndvi, when) == 1  # 2025-01
    assert series_step(cube, when) == 32  # exactly that hour
    assert cube[32]["datetime"] == "2025-01-22T00:00:00Z"
    assert series_step(ndvi, utc(2025, 5, 1, 0)) == 2
    assert series_step(cube, utc(2025, 6, 1, 0)) == 167  # after the span: its last hour
    assert series_step(cube, utc(2025, 1, 1, 0)) == 0  # before: its first
    assert series_step(ndvi, None) == 4  # "latest"
    assert series_step([], when) == 0


LAYERS = {"air_stations", "rivers", "pm25_hourly", "protected_areas"}


def test_parse_search_takes_what_is_valid() -> None:
    state = parse_search("?lang=en&z=11&lat=31.71234&lon=117.30123"
                         "&layers=air_stations,pm25_hourly&t=2025-01-22T00:00Z", LAYERS, YEAR)
    assert state == UrlState(lang="en", zoom=11, center=(31.71234, 117.30123),
                             layers=["air_stations", "pm25_hourly"], time="2025-01-22T00:00:00Z")
    assert parse_search("", LAYERS, YEAR) == UrlState()
    assert parse_search(None, LAYERS, YEAR) == UrlState()


def test_parse_search_ignores_what_is_not() -> None:
    state = parse_search("lang=fr&z=abc&lat=999&lon=117&layers=nope,,other&t=garbage",
                         LAYERS, YEAR)
    assert state == UrlState()
    # Each part on its own: zoom out of range, half a centre, NaN, a time outside the data.
    assert parse_search("z=30", LAYERS, YEAR).zoom is None
    assert parse_search("z=3", LAYERS, YEAR).zoom is None
    assert parse_search("z=12.4", LAYERS, YEAR).zoom == 12
    assert parse_search("lat=31.7", LAYERS, YEAR).center is None
    assert parse_search("lat=nan&lon=117", LAYERS, YEAR).center is None
    assert parse_search("lat=inf&lon=117", LAYERS, YEAR).center is None
    assert parse_search("t=2030-01-01T00:00Z", LAYERS, YEAR).time is None
    assert parse_search("t=2025-01-22T00:00Z", LAYERS, None).time is None
    # Known layers are kept (once), unknown ones dropped; an empty list means all off.
    assert parse_search("layers=nope,rivers,rivers", LAYERS, YEAR).layers == ["rivers"]
    assert parse_search("layers=", LAYERS, YEAR).layers == []


SPECS = [{"id": "air_stations", "group": "monitoring"}, {"id": "rivers", "group": "base"},
         {"id": "protected_areas", "group": "ecology"},
         {"id": "pm25_hourly", "group": "remote_sensing"},
         {"id": "ndvi", "group": "remote_sensing"}]


def test_layer_values_per_group_and_raster_row() -> None:
    state = UrlState(layers=["rivers", "pm25_hourly"])
    groups, rasters = layer_values(state, SPECS, ["monitoring", "ecology", "base"],
                                   ["ndvi", "pm25_hourly"])
    assert groups == [[], [], ["rivers"]]
    assert rasters == [[], ["pm25_hourly"]]
    keep = layer_values(UrlState(), SPECS, ["monitoring"], ["ndvi"])
    assert keep == ([dash.no_update], [dash.no_update])


def test_viewport_of_a_link() -> None:
    assert viewport(UrlState(), [31.6, 117.45], 9) is None
    full = viewport(UrlState(zoom=11, center=(31.7, 117.3)), [31.6, 117.45], 9)
    assert full == {"center": [31.7, 117.3], "zoom": 11, "transition": "setView",
                    "options": {"animate": False}}
    # A zoom alone keeps the map's centre, whichever form dash-leaflet reports it in.
    assert viewport(UrlState(zoom=12), [31.6, 117.45], 9)["center"] == [31.6, 117.45]
    assert viewport(UrlState(zoom=12), {"lat": 31.6, "lng": 117.45}, 9)["center"] == [31.6, 117.45]
    assert viewport(UrlState(center=(31.7, 117.3)), None, 10)["zoom"] == 10
    assert viewport(UrlState(zoom=12), None, 9) is None
