"""The Dashboard's charts as plain HTML: bars are buttons, sized in per cent, coloured by the
standards' classes.

The four charts are simple bars (days, classes, levels, permit classes), so they need no
charting library: plotly's 4.8 MB took a second of the browser's main thread on every first
load, before the map answered. HTML bars also scale with the page's type (phone, big screen),
follow the page's theme through CSS, and are real buttons: reachable with the keyboard, named
for screen readers (``aria-label``, the same words as the tooltip), clicked the same way with a
finger or a mouse. Each bar's id carries its card and key — ``{"type": "db-bar", "card": …,
"key": JSON list}`` — which the click callback turns into a place on the map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from dash import html

BAR = "db-bar"


@dataclass(frozen=True)
class Part:
    """One coloured piece of a bar (a stacked bar has several)."""

    value: float
    color: str
    pattern: str = ""  # a CSS class drawing a pattern over the colour ("db-hatch", "db-dots")


@dataclass(frozen=True)
class Bar:
    """One bar: what a click on it means (``key``), its label, pieces and words."""

    key: list[str]
    label: str
    parts: list[Part]
    title: str  # the tooltip and the screen reader's name
    text: str = ""  # the value written at the bar's end
    extra: dict[str, str] = field(default_factory=dict)  # data-* attributes

    @property
    def total(self) -> float:
        return sum(p.value for p in self.parts)


def bar_id(card: str, key: list[str]) -> dict[str, str]:
    return {"type": BAR, "card": card, "key": json.dumps(key, ensure_ascii=False)}


def bar_key(bar_id_: dict | None) -> tuple[str, list[str]] | None:
    """(card, key) of a clicked bar's id, or None for anything else."""
    if not isinstance(bar_id_, dict) or bar_id_.get("type") != BAR:
        return None
    try:
        key = json.loads(str(bar_id_.get("key")))
    except ValueError:
        return None
    return (str(bar_id_.get("card")), [str(k) for k in key]) if isinstance(key, list) else None


def _share(value: float, top: float) -> str:
    return f"{100 * max(value, 0) / (top or 1):.2f}%"


def _pieces(bar: Bar, along: str) -> list[html.Span]:
    """The bar's coloured parts, each its share of the bar (``along``: height or width)."""
    total = bar.total or 1
    return [html.Span(className=f"db-part {p.pattern}".strip(),
                      style={along: _share(p.value, total), "background": p.color})
            for p in bar.parts if p.value > 0]


def _button(card: str, bar: Bar, style: dict, along: str, focusable: bool) -> html.Button:
    extra = {f"data-{k}": v for k, v in bar.extra.items()}
    return html.Button(
        [html.Span(_pieces(bar, along), className="db-parts"),
         html.Span(bar.text, className="db-bar-text") if bar.text else None],
        id=bar_id(card, bar.key), n_clicks=0, title=bar.title, className=BAR, style=style,
        tabIndex="0" if focusable else "-1", **{"aria-label": bar.title}, **extra)


def column_chart(card: str, bars: list[Bar | None], top: float, axis: str, *, height: int,
                 rule: tuple[float, str] | None = None, ticks: list[str] | None = None,
                 focusable: bool = True) -> html.Div:
    """Vertical bars from a common base, ``top`` at the plot's top; an optional dashed
    ``rule`` (value, words); under the bars their labels, or ``ticks`` spread evenly when the
    bars are too many to label (days). A None keeps an empty place (a day without data)."""
    columns = [html.Span(className="db-gap") if b is None else
               _button(card, b, {"height": _share(b.total, top)}, "height", focusable)
               for b in bars]
    plot: list = []
    if rule is not None and top:
        plot.append(html.Div(title=rule[1], className="db-rule-line",
                             style={"bottom": _share(rule[0], top)}))
    under = ticks if ticks is not None else [b.label if b else "" for b in bars]
    return html.Div([
        html.Div(axis, className="db-axis-title"),
        html.Div(plot + columns, className="db-plot", style={"height": f"{height}px"}),
        html.Div([html.Span(s, className="db-tick") for s in under],
                 className="db-ticks" + (" db-ticks-spread" if ticks is not None else "")),
    ], className="db-chart db-cols" + (" db-dense" if len(bars) > 60 else ""), role="group",
        **{"aria-label": axis})


def row_chart(card: str, rows: list[tuple[str, list[Bar]]], top: float, axis: str
              ) -> html.Div:
    """Horizontal bars, one row per label (several bars in a row: grouped), ``top`` at the
    track's end; the value written after each bar."""
    body = []
    for label, bars in rows:
        tracks = [html.Div(_button(card, b, {"width": _share(b.total, top)}, "width", True),
                           className="db-track") for b in bars]
        body.append(html.Div([html.Span(label, className="db-row-label"),
                              html.Div(tracks, className="db-tracks")], className="db-row"))
    return html.Div([*body, html.Div(axis, className="db-axis-title db-axis-under")],
                    className="db-chart db-rows", role="group", **{"aria-label": axis})
