"""Pure helpers of the Air panel: which hour, rows and figures from the processes' answers.

Kept apart from the callbacks so each can be tested with real process answers and no browser.
Names of stations and companies are data in Chinese; an English screen shows their codes
instead (as the other panels do), so no screen mixes languages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import plotly.graph_objects as go

from onemap.app.i18n import t
from onemap.app.panels.haze_text import SECTORS_ZH
from onemap.styles.symbology import AQI_LEVELS, NO_DATA_COLOR

BEIJING = timedelta(hours=8)


def parse_utc(text: object) -> datetime | None:
    """An ISO time (``…Z`` or with an offset) as an aware UTC datetime; None if not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def chosen_hour(map_time: object, extent: object) -> tuple[datetime | None, bool]:
    """(the hour the panel shows, whether it is the latest): the time bar's hour, else the end of
    the data (never the wall clock)."""
    when = parse_utc(map_time)
    if when is not None:
        return when, False
    end = parse_utc((extent or {}).get("end")) if isinstance(extent, dict) else None
    return end, True


def beijing(when: datetime) -> str:
    """``2025-01-22T08:00:00+08:00``: how the processes take a time."""
    return (when + BEIJING).replace(tzinfo=None).isoformat(timespec="seconds") + "+08:00"


def hour_text(when: datetime | None, latest: bool, lang: str) -> str:
    if when is None:
        return "—"
    local = when + BEIJING
    text = (f"{local:%Y-%m-%d %H:00}（北京时间）" if lang == "zh"
            else f"{local:%Y-%m-%d %H:00} (Beijing time)")
    return t("hz_hour", lang, when=text) + (t("hz_latest", lang) if latest else "")


def level_of(aqi: object) -> tuple[str, str, str]:
    """(colour, zh label, en label) of an AQI value (no data: grey)."""
    try:
        value = float(aqi)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NO_DATA_COLOR, "无数据", "No data"
    for lv in AQI_LEVELS:
        if value <= lv.high:
            return lv.color, lv.label, lv.label_en
    last = AQI_LEVELS[-1]
    return last.color, last.label, last.label_en


def named(name: object, code: object, lang: str) -> str:
    """A station's or company's name in Chinese; its code on an English screen."""
    return str(name or code or "—") if lang == "zh" else str(code or "—")


def aqi_rows(result: dict[str, Any] | None, lang: str) -> list[dict[str, Any]]:
    """The stations of an ``aqi-hourly`` answer, worst first, ready for the table."""
    features = ((result or {}).get("stations") or {}).get("features") or []
    rows = []
    for f in features:
        p = f.get("properties") or {}
        color, zh, en = level_of(p.get("aqi"))
        lon, lat = (f.get("geometry") or {}).get("coordinates", [None, None])[:2]
        rows.append({"station_id": p.get("station_id"), "name": named(p.get("name"),
                                                                    p.get("station_id"), lang),
                     "aqi": p.get("aqi"), "color": color, "level": zh if lang == "zh" else en,
                     "primary": p.get("primary_pollutant") or "—", "lon": lon, "lat": lat})
    rows.sort(key=lambda r: -(r["aqi"] if isinstance(r["aqi"], int | float) else -1))
    return rows


def summary_text(result: dict[str, Any] | None, lang: str) -> str:
    s = (result or {}).get("summary") or {}
    worst = s.get("worst_station") or {}
    if not s.get("n_stations"):
        return t("hz_aqi_empty", lang)
    return t("hz_summary", lang, n=s["n_stations"],
             worst=named(worst.get("name"), worst.get("station_id"), lang),
             aqi=worst.get("aqi", "—"))


def relative(url: str, base: str) -> str:
    """A server URL as the page's relative URL (``base`` is the app's path, "/" or "/x/")."""
    parts = urlsplit(url)
    path = parts.path
    prefix = base.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]
    return f"{base}{path.lstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def surface_text(result: dict[str, Any] | None, lang: str) -> str:
    stats = (result or {}).get("stats") or {}
    if not stats:
        return ""
    method = t("hz_kriging" if stats.get("method") == "kriging" else "hz_idw", lang)
    return t("hz_surface_done", lang, method=method, n=stats.get("n_stations", "—"),
             mean=f"{stats.get('mean', 0):.0f}", min=f"{stats.get('min', 0):.0f}",
             max=f"{stats.get('max', 0):.0f}")


def top_sources(result: dict[str, Any] | None, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` first-ranked sources of an ``upwind-sources`` answer (with their points)."""
    features = ((result or {}).get("features") or {}).get("features") or []
    sources = [f for f in features if (f.get("properties") or {}).get("role") == "source"
               and (f["properties"].get("contribution_share") or 0) > 0]
    sources.sort(key=lambda f: f["properties"].get("rank") or 1e9)
    return sources[:n]


def source_rows(result: dict[str, Any] | None, lang: str, n: int = 10) -> list[dict[str, Any]]:
    rows = []
    for f in top_sources(result, n):
        p = f["properties"]
        rows.append({"rank": p.get("rank"), "name": named(p.get("name"), p.get("source_id"), lang),
                     "industry": p.get("industry") if lang == "zh" else "",
                     "km": p.get("distance_km"),
                     "share": round(100 * float(p.get("contribution_share") or 0), 1)})
    return rows


def sector_name(sector: str, lang: str) -> str:
    return SECTORS_ZH.get(sector, sector) if lang == "zh" else sector


def upwind_text(result: dict[str, Any] | None, lang: str) -> str:
    s = (result or {}).get("summary") or {}
    if not s:
        return ""
    wind = (sector_name(s["prevailing_from"], lang) if s.get("prevailing_from")
            else t("hz_upwind_calm", lang))
    start, end = (parse_utc(s.get(k)) for k in ("start", "end"))
    fmt = (lambda d: f"{d + BEIJING:%m-%d %H:00}" if d else "—")  # noqa: E731
    speed = s.get("mean_wind_m_s")
    return t("hz_upwind_summary", lang, start=fmt(start), end=fmt(end), wind=wind,
             speed=f"{speed:.1f}" if isinstance(speed, int | float) else "—",
             n=s.get("n_upwind_sources", "—"))


def rose_figure(result: dict[str, Any] | None, lang: str) -> go.Figure:
    """The wind rose of an ``upwind-sources`` answer (hours per sector the wind came from)."""
    rose = (result or {}).get("wind_rose") or []
    fig = go.Figure(go.Barpolar(
        r=[s.get("hours", 0) for s in rose],
        theta=[sector_name(s["sector"], lang) for s in rose],
        marker_color="#1565C0", hovertemplate="%{theta}: %{r} h<extra></extra>"))
    fig.update_layout(
        title={"text": t("hz_rose_title", lang), "font": {"size": 12}},
        margin={"l": 20, "r": 20, "t": 36, "b": 20}, height=240, showlegend=False,
        polar={"angularaxis": {"direction": "clockwise", "rotation": 90,
                               "tickfont": {"size": 10}},
               "radialaxis": {"showticklabels": False, "ticks": ""}},
        paper_bgcolor="rgba(0,0,0,0)")
    return fig


def daily_rows(result: dict[str, Any] | None, lang: str) -> list[dict[str, Any]]:
    rows = []
    for d in (result or {}).get("regional_daily") or []:
        color, zh, en = level_of(d.get("aqi"))
        rows.append({"date": d.get("date"), "aqi": d.get("aqi"), "color": color,
                     "level": zh if lang == "zh" else en,
                     "primary": d.get("primary_pollutant") or "—"})
    return rows


def episode_lines(result: dict[str, Any] | None, lang: str) -> list[str]:
    """The regional episodes of an ``aqi-daily`` answer in words (stations' are counted)."""
    features = ((result or {}).get("episodes") or {}).get("features") or []
    lines = []
    for f in features:
        p = f.get("properties") or {}
        if p.get("role") == "regional_episode":
            lines.append(t("hz_episode_row", lang, start=p.get("start"), end=p.get("end"),
                           days=p.get("days"), max=p.get("max_aqi")))
    return lines


def upwind_window(when: datetime, hours: int) -> tuple[str, str]:
    """(start, end) of the look-back ending at ``when``, in Beijing time for the process."""
    return beijing(when - timedelta(hours=hours - 1)), beijing(when)


def week(when: datetime) -> tuple[str, str]:
    """The 7 Beijing-time days ending with ``when``'s day."""
    day = (when + BEIJING).date()
    return (day - timedelta(days=6)).isoformat(), day.isoformat()
