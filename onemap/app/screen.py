"""The big screen (大屏, 领导驾驶舱): ``/?mode=screen`` on a wall at 1920×1080 or 3840×2160.

The same page, laid out by ``assets/screen.css`` when the URL says ``mode=screen``: a dark
theme, type scaled to the screen's width (the same picture at 1080p and 4K), the map in the
middle and the Dashboard's cards around it, no scroll bars, nothing to click. A header carries
the title, the clock (Beijing time), the data's time and the layer being shown.

``assets/screen.js`` keeps it going without a person:

* **tour** — every :attr:`~onemap.config.Settings.screen_rotate_s` seconds the map moves to the
  next theme (air stations, water sections, incidents, pollution sources: those the page has)
  and the matching card is lit;
* **refresh** — every :attr:`~onemap.config.Settings.screen_refresh_s` seconds it asks
  ``/api/versions``; when a dataset changed, the cards are computed again (only the changed
  KPIs: :func:`~onemap.app.panels.dashboard_fetch.load_all`) and the tour's layers re-read,
  without a reload;
* **restart** — when the server stops answering, the header says so; once ``/healthz`` answers
  again the page reloads itself (a new server may have new code).

``&rotate=N`` and ``&refresh=N`` in the URL override the two periods for one screen.
"""

from __future__ import annotations

import json

from dash import html

from onemap.app.dock import text
from onemap.app.i18n import LANGS, STRINGS, add_strings, pick
from onemap.config import Settings

#: The tour: layer family → the Dashboard card that speaks of it.
TOUR = {"air_stations": "air", "water_sections": "water", "incidents": "inc",
        "pollution_sources": "src"}

add_strings(
    {"sc_title": "生态环境综合展示一张图", "sc_showing": "当前图层：{layer}",
     "sc_lost": "与服务器的连接中断，正在重试……", "sc_back": "服务器已恢复，正在重新载入……",
     "sc_clock": "{time}（北京时间）"},
    {"sc_title": "Ecological environment — one map", "sc_showing": "Showing: {layer}",
     "sc_lost": "Connection to the server lost, retrying…",
     "sc_back": "The server is back, reloading…", "sc_clock": "{time} (Beijing time)"})

_JS_KEYS = ("sc_showing", "sc_lost", "sc_back", "sc_clock")


def screen_head(specs: list[dict], settings: Settings, base: str, lang: str) -> html.Header:
    """The big screen's header (hidden elsewhere) with what ``assets/screen.js`` needs."""
    tour = [{"id": s["id"], "card": TOUR[s["family"]], "bounds": s.get("bounds"),
             "url": s.get("url") if not s.get("tiles_url") else "",
             "title": {"zh": pick(s["title"], s["title_en"], "zh"),
                       "en": pick(s["title"], s["title_en"], "en")}}
            for family in TOUR for s in specs
            if s["family"] == family and s["kind"] == "vector" and s.get("bounds")]
    strings = {lg: {k: STRINGS[lg][k] for k in _JS_KEYS} for lg in LANGS}
    return html.Header([
        text("sc_title", lang, tag=html.H1, className="om-sc-title"),
        html.Div([html.Span("", className="om-sc-showing"),
                  html.Span("", className="om-sc-data"),
                  html.Span("", className="om-sc-clock"),
                  html.Span("", className="om-sc-state", role="status",
                            **{"aria-live": "polite"})], className="om-sc-side"),
    ], id="om-screen", className="om-sc-head", **{
        "data-base": base, "data-tour": json.dumps(tour, ensure_ascii=False),
        "data-rotate": f"{settings.screen_rotate_s:g}",
        "data-refresh": f"{settings.screen_refresh_s:g}",
        "data-strings": json.dumps(strings, ensure_ascii=False)})
