"""The remote-sensing part of the layer list: one row per raster or series, with its controls.

Each row is a one-option checklist (on/off), an opacity slider and, for a series, a time slider
with the step dates and a play/pause button. The rows and the raster panes are rebuilt as a
whole after an upload (``refresh_rasters`` in ``dashapp``), keeping what the user had set, so a
new raster appears without reloading the page. Components carry pattern-matching ids
``{"type": ..., "layer": <layer id>}`` so one callback serves every row.
"""

from __future__ import annotations

from dash import dcc, html

from onemap.app.i18n import pick, t

DEFAULT_OPACITY = 85
#: A play step every this many milliseconds.
PLAY_INTERVAL_MS = 1500


def raster_options(spec: dict, lang: str) -> list[dict]:
    """The single option of a raster row's checklist (the layer title)."""
    return [{"label": pick(spec["title"], spec["title_en"], lang), "value": spec["id"]}]


#: Up to this many steps get a dot each (an hourly cube's 168 would make a solid bar).
MAX_DOTS = 36


def _marks(steps: list[dict]) -> dict:
    """A dot per step; the first and last carry their date (all dates would overlap)."""
    n = len(steps)
    marks: dict = {i: "" for i in range(n)} if n <= MAX_DOTS else {}
    if n:
        marks[0] = {"label": steps[0]["label"][:10], "style": {"whiteSpace": "nowrap"}}
        marks[n - 1] = {"label": steps[-1]["label"][:10], "style": {"whiteSpace": "nowrap"}}
    return marks


def step_text(spec: dict, index: int, lang: str) -> str:
    """The date of step ``index`` as shown under the slider (hours are in Beijing time)."""
    steps = spec.get("steps") or []
    if not steps:
        return ""
    label = steps[max(0, min(index, len(steps) - 1))]["label"]
    if " " not in label:  # a date, no time of day
        return label
    zone = t("beijing_time", lang)
    return f"{label}（{zone}）" if lang == "zh" else f"{label} ({zone})"


def _time_controls(spec: dict, step: int, lang: str) -> html.Div:
    lid = spec["id"]
    n = len(spec["steps"])
    return html.Div([
        html.Div([
            html.Button("▶", id={"type": "om-play", "layer": lid}, n_clicks=0,
                        className="om-play", title=t("play", lang)),
            html.Span(step_text(spec, step, lang), id={"type": "om-time-label", "layer": lid},
                      className="om-time-label"),
        ], className="om-time-head"),
        dcc.Slider(id={"type": "om-time", "layer": lid}, min=0, max=n - 1, step=1, value=step,
                   marks=_marks(spec["steps"]), included=False, updatemode="drag",
                   className="om-time-slider"),
        dcc.Interval(id={"type": "om-play-timer", "layer": lid}, interval=PLAY_INTERVAL_MS,
                     disabled=True, n_intervals=0),
    ], className="om-time", id={"type": "om-time-box", "layer": lid},
        title=time_title(spec, lang))


def time_title(spec: dict, lang: str) -> str:
    """The time slider's name (assets/a11y.js gives it to the slider): the layer's, then "time
    step"."""
    return f"{pick(spec['title'], spec['title_en'], lang)} · {t('series_step', lang)}"


def raster_row(spec: dict, lang: str, *, on: bool, step: int | None = None,
               opacity: int = DEFAULT_OPACITY) -> html.Div:
    """One raster or series: checkbox, (time slider), opacity slider."""
    lid = spec["id"]
    series = len(spec.get("steps") or []) >= 2
    step = spec.get("step", 0) if step is None else step
    children = [
        dcc.Checklist(id={"type": "om-raster-on", "layer": lid},
                      options=raster_options(spec, lang), value=[lid] if on else [],
                      className="om-checklist", inputClassName="om-check",
                      labelClassName="om-check-label"),
    ]
    if series:
        children.append(_time_controls(spec, step, lang))
    children.append(html.Div([
        html.Span(t("opacity", lang), id={"type": "om-text", "key": f"opacity:{lid}"},
                  className="om-opacity-label"),
        dcc.Slider(id={"type": "om-opacity", "layer": lid}, min=0, max=100, step=5,
                   value=opacity, marks=None, updatemode="drag",
                   tooltip={"placement": "right", "always_visible": False},
                   className="om-opacity-slider"),
    ], className="om-opacity"))
    return html.Div(children, className="om-raster" + (" om-series" if series else ""),
                    **{"data-layer": lid})


def raster_rows(specs: list[dict], lang: str, *, on: set[str] | None = None,
                steps: dict[str, int] | None = None,
                opacity: dict[str, int] | None = None) -> list[html.Div]:
    """Rows for every raster spec, keeping the user's on/off, time and opacity settings."""
    on = on or set()
    steps = steps or {}
    opacity = opacity or {}
    return [raster_row(s, lang, on=s["id"] in on or s.get("default_on", False),
                       step=steps.get(s["id"]), opacity=opacity.get(s["id"], DEFAULT_OPACITY))
            for s in specs if s["kind"] == "raster"]
