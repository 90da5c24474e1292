"""The map's global time bar: one hour of the air data drives the stations and the raster series.

The hours come from the data, never from the wall clock: the temporal extent of the
``air_hourly`` collection (``/ogc/collections/air_hourly``) bounds the bar, so a sample year
(2025) is browsed as it is. A year has 8,760 hours, far too many for one slider to hit a given
hour with a mouse, so the bar has a slider over the days and one over the hours of the day
(Beijing time, as people here read clocks), step buttons of one hour, play/pause (one hour a
second) and "latest".

The chosen hour is the Store ``om-map-time`` (ISO 8601 in UTC, ``None`` = "latest": each
station shows its own latest AQI as the stations layer always did). What follows it:

* the air-station symbols: ``assets/timebar.js`` runs ``aqi-hourly`` for that hour (POST to
  the OGC API, relative URL) and hands the stations layer the result merged into its features;
  a station without a valid value that hour is drawn grey "no data";
* every raster series in the layer list jumps to its latest step at or before that hour
  (:func:`series_step`), the PM2.5 hourly cube to that very hour inside its span.

The sliders, buttons and timer are wired in the browser (no round trip per tick); labels,
month marks and the raster steps are Python callbacks so the language switch re-renders them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import dash
import requests
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app import serverhttp
from onemap.app.i18n import add_strings, t
from onemap.app.sources import internal_url
from onemap.config import Settings, get_settings

#: Clocks here read Beijing time (UTC+8, no daylight saving).
BEIJING = timezone(timedelta(hours=8))
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: Play speed: one hour of data per this many milliseconds.
PLAY_MS = 1000
#: The collection whose temporal extent bounds the bar.
COLLECTION = "air_hourly"
TIMEOUT_S = 5.0

add_strings(
    zh={
        "tb_prev": "前一小时", "tb_next": "后一小时", "tb_latest": "最新",
        "tb_latest_title": "回到最新时刻（各站最新 AQI）", "tb_latest_tag": "最新",
        "tb_day": "日期", "tb_hour": "时",
        "tb_unavailable": "无法读取空气质量数据的时间范围，时间轴不可用。",
        "tb_no_data": "{time} 没有有效的站点监测值，站点显示为“无数据”。",
        "tb_failed": "无法读取 {time} 的 AQI（{detail}）。",
        "tb_label": "{date} {hm}（北京时间）",
    },
    en={
        "tb_prev": "Previous hour", "tb_next": "Next hour", "tb_latest": "Latest",
        "tb_latest_title": "Back to the latest hour (each station's latest AQI)",
        "tb_latest_tag": "latest",
        "tb_day": "Date", "tb_hour": "Hour",
        "tb_unavailable": "The time range of the air-quality data could not be read; "
                          "the time bar is unavailable.",
        "tb_no_data": "No valid station value at {time}; stations are shown as “no data”.",
        "tb_failed": "Could not read the AQI at {time} ({detail}).",
        "tb_label": "{date} {hm} (Beijing time)",
    },
)

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Strings the browser formats itself (status lines of the AQI requests).
JS_KEYS = ("tb_no_data", "tb_failed", "play", "pause")


@dataclass(frozen=True)
class Extent:
    """The hours the bar covers, both ends on the hour, in UTC."""

    start: datetime
    end: datetime

    @property
    def day0(self) -> datetime:
        """Midnight (Beijing) of the first day, in UTC: day slider value 0."""
        local = self.start.astimezone(BEIJING)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)

    @property
    def days(self) -> int:
        """How many Beijing calendar days the extent touches."""
        return (self.end - self.day0) // DAY + 1

    def clamp(self, when: datetime) -> datetime:
        return min(max(when, self.start), self.end)

    def to_store(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end), "day0": iso(self.day0)}

    @classmethod
    def from_store(cls, data: object) -> Extent | None:
        if not isinstance(data, dict):
            return None
        start, end = parse_time(data.get("start")), parse_time(data.get("end"))
        return cls(start, end) if start and end and start <= end else None


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC datetime floored to the hour, or None if invalid.

    A time without a zone is read as Beijing time: that is what a person editing a link types.
    """
    text = str(value or "").strip()
    if not text or not re.match(r"^\d{4}-\d\d-\d\d[T ]\d\d(:\d\d){0,2}", text):
        return None
    text = text.replace("z", "Z").replace("Z", "+00:00")
    if re.match(r"^\d{4}-\d\d-\d\d[T ]\d\d(?:[+-]|$)", text):  # hour only: "2025-01-22T08Z"
        text = text[:13] + ":00" + text[13:]
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=BEIJING)
    return stamp.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def iso(when: datetime) -> str:
    """``2025-01-22T00:00:00Z``: the form of ``om-map-time``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_extent(doc: object) -> Extent | None:
    """The extent of an OGC API collection document (``extent.temporal.interval[0]``)."""
    try:
        start, end = doc["extent"]["temporal"]["interval"][0]  # type: ignore[index]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None or last < first:
        return None
    return Extent(first, last)


def read_extent(settings: Settings) -> Extent | None:
    """Ask the server for the hours of the air data (None when it cannot say)."""
    url = f"{internal_url(settings)}/ogc/collections/{COLLECTION}"
    try:
        return parse_extent(serverhttp.get_json(url, params={"f": "json"}, timeout=TIMEOUT_S))
    except (requests.RequestException, ValueError):
        return None


def day_hour(extent: Extent, when: datetime | None) -> tuple[int, int]:
    """Slider values (day index, hour of the Beijing day) of ``when`` (None: the last hour)."""
    when = extent.clamp(when or extent.end)
    offset = when - extent.day0
    return offset // DAY, (offset % DAY) // HOUR


def time_text(when: datetime | None, extent: Extent | None, lang: str) -> str:
    """The bar's label: the hour in Beijing time, in the reader's format; "latest" when None."""
    shown = when or (extent.end if extent else None)
    if shown is None:
        return ""
    local = shown.astimezone(BEIJING)
    if lang == "en":
        date = f"{local.day} {MONTHS_EN[local.month - 1]} {local.year},"
    else:
        date = f"{local.year}年{local.month}月{local.day}日"
    text = t("tb_label", lang, date=date, hm=local.strftime("%H:%M"))
    return f"{text} · {t('tb_latest_tag', lang)}" if when is None else text


def day_marks(extent: Extent, lang: str) -> dict[int, str]:
    """A tick on the first day of each month, named ``1月`` / ``Jan`` (every other month when
    there are more than six, so the names never overlap on a narrow bar); the year is in the
    bar's label. A short extent without a month start gets its first day named instead."""
    starts = []
    for day in range(extent.days):
        local = (extent.day0 + day * DAY).astimezone(BEIJING)
        if local.day == 1:
            starts.append((day, local.month))
    every = 1 if len(starts) <= 6 else 2
    marks: dict[int, str] = {}
    for i, (day, month) in enumerate(starts):
        name = f"{month}月" if lang == "zh" else MONTHS_EN[month - 1]
        marks[day] = name if i % every == 0 else ""
    if not starts:
        local = extent.day0.astimezone(BEIJING)
        marks[0] = (f"{local.month}月{local.day}日" if lang == "zh"
                    else f"{local.day} {MONTHS_EN[local.month - 1]}")
    return marks


HOUR_MARKS = {0: "0", 6: "6", 12: "12", 18: "18", 23: "23"}


def step_time(value: object) -> datetime | None:
    """When a series step starts: ``2025-07`` and ``2025-07-01`` at Beijing midnight, a
    date-time as given (UTC when it names no zone, like the server's catalogue)."""
    text = str(value or "").strip()
    month = re.fullmatch(r"(\d{4})-(\d\d)", text)
    try:
        if month:
            return datetime(int(month[1]), int(month[2]), 1, tzinfo=BEIJING).astimezone(UTC)
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return datetime.fromisoformat(text).replace(tzinfo=BEIJING).astimezone(UTC)
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)


def series_step(steps: list[dict], when: datetime | None) -> int:
    """The step a series shows at map time ``when``: the latest one starting at or before it.

    Before the first step: the first; no time chosen ("latest"): the last.
    """
    if not steps:
        return 0
    if when is None:
        return len(steps) - 1
    best = 0
    for i, step in enumerate(steps):
        start = step_time(step.get("datetime"))
        if start is not None and start <= when:
            best = i
    return best


def _button(text: str, ident: str, title: str) -> html.Button:
    return html.Button(text, id=ident, n_clicks=0, title=title, className="om-tb-button")


def page_extent() -> Extent | None:
    """The hours of the air data for one page load (read anew, so freshly imported hours
    show), or None."""
    return read_extent(app_settings())


def timebar(lang: str, specs: list[dict], extent: Extent | None = None) -> html.Div:
    """The bar for one page load (``extent``: :func:`page_extent`, read here when not given)."""
    extent = extent or read_extent(app_settings())
    stores = [
        dcc.Store(id="om-map-time"),
        dcc.Store(id="om-tb-extent", data=extent.to_store() if extent else None),
        dcc.Store(id="om-tb-strings",
                  data={lg: {k: t(k, lg) for k in JS_KEYS} for lg in ("zh", "en")}),
        dcc.Store(id="om-tb-sink"),
        dcc.Interval(id="om-tb-timer", interval=PLAY_MS, disabled=True, n_intervals=0),
    ]
    if extent is None:
        return html.Div([*stores, html.Div(t("tb_unavailable", lang), id="om-tb-label",
                                           className="om-tb-unavailable")],
                        id="om-timebar", className="om-timebar")
    day, hour = day_hour(extent, None)
    head = html.Div([
        _button("‹", "om-tb-prev", t("tb_prev", lang)),
        _button("▶", "om-tb-play", t("play", lang)),
        _button("›", "om-tb-next", t("tb_next", lang)),
        html.Span(time_text(None, extent, lang), id="om-tb-label", className="om-tb-label"),
        html.Button(t("tb_latest", lang), id="om-tb-latest", n_clicks=0,
                    title=t("tb_latest_title", lang), className="om-tb-button om-tb-latest"),
    ], className="om-tb-head")
    sliders = html.Div([
        html.Div(dcc.Slider(id="om-tb-day", min=0, max=extent.days - 1, step=1, value=day,
                            marks=day_marks(extent, lang), included=False,
                            allow_direct_input=False, className="om-tb-slider"),
                 className="om-tb-day", title=t("tb_day", lang), id="om-tb-day-box"),
        html.Div(dcc.Slider(id="om-tb-hour", min=0, max=23, step=1, value=hour,
                            marks=HOUR_MARKS, included=False, allow_direct_input=False,
                            className="om-tb-slider"),
                 className="om-tb-hour", title=t("tb_hour", lang), id="om-tb-hour-box"),
    ], className="om-tb-sliders")
    status = html.Div(id="om-tb-status", className="om-tb-status")
    return html.Div([*stores, head, sliders, status], id="om-timebar", className="om-timebar")


_SETTINGS: list[Settings] = []


def app_settings() -> Settings:
    """The settings the app was created with (``register`` runs before any page is served)."""
    return _SETTINGS[-1] if _SETTINGS else get_settings()


def register(app: dash.Dash, settings: Settings) -> None:
    """Wire the bar: browser-side sync and stations, Python-side labels and raster steps."""
    _SETTINGS.append(settings)
    app.clientside_callback(
        ClientsideFunction("onemap_timebar", "sync"),
        Output("om-map-time", "data"),
        Output("om-tb-day", "value"),
        Output("om-tb-hour", "value"),
        Output("om-tb-timer", "disabled"),
        Output("om-tb-play", "children"),
        Output("om-tb-play", "title"),
        Input("om-tb-day", "value"),
        Input("om-tb-hour", "value"),
        Input("om-tb-prev", "n_clicks"),
        Input("om-tb-next", "n_clicks"),
        Input("om-tb-latest", "n_clicks"),
        Input("om-tb-play", "n_clicks"),
        Input("om-tb-timer", "n_intervals"),
        Input("om-map-time", "data"),
        State("om-tb-extent", "data"),
        State("om-tb-timer", "disabled"),
        State("om-lang", "value"),
        State("om-tb-strings", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_timebar", "stations"),
        Output("om-tb-sink", "data"),
        Input("om-map-time", "data"),
        Input({"type": "om-pane", "layer": ALL}, "children"),
        Input("om-lang", "value"),
        State("om-specs", "data"),
        State("om-config", "data"),
        State("om-tb-strings", "data"),
    )

    @app.callback(
        Output("om-tb-label", "children"),
        Output("om-tb-day", "marks"),
        Output("om-tb-prev", "title"),
        Output("om-tb-next", "title"),
        Output("om-tb-latest", "children"),
        Output("om-tb-latest", "title"),
        Output("om-tb-play", "title", allow_duplicate=True),
        Output("om-tb-day-box", "title"),
        Output("om-tb-hour-box", "title"),
        Input("om-map-time", "data"),
        Input("om-lang", "value"),
        State("om-tb-extent", "data"),
        State("om-tb-timer", "disabled"),
        prevent_initial_call=True,
    )
    def texts(time, lang, extent_data, timer_off):  # type: ignore[no-untyped-def]
        extent = Extent.from_store(extent_data)
        if extent is None:
            raise PreventUpdate
        label = time_text(parse_time(time), extent, lang)
        if ctx.triggered_id == "om-map-time":
            return (label, *[dash.no_update] * 8)
        return (label, day_marks(extent, lang), t("tb_prev", lang), t("tb_next", lang),
                t("tb_latest", lang), t("tb_latest_title", lang),
                t("play" if timer_off is not False else "pause", lang),
                t("tb_day", lang), t("tb_hour", lang))

    @app.callback(
        Output({"type": "om-time", "layer": ALL}, "value", allow_duplicate=True),
        Input("om-map-time", "data"),
        State("om-specs", "data"),
        State({"type": "om-time", "layer": ALL}, "value"),
        prevent_initial_call=True,
    )
    def follow_series(time, specs, current):  # type: ignore[no-untyped-def]
        by_id = {s["id"]: s for s in specs or []}
        when = parse_time(time)
        out = []
        for o, value in zip(ctx.outputs_list, current, strict=True):
            spec = by_id.get(o["id"]["layer"])
            step = series_step(spec.get("steps") or [], when) if spec else None
            out.append(dash.no_update if step is None or step == value else step)
        return out
