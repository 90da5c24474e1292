"""Legends for the visible layers, generated from the same symbology the map draws with.

Rows come from ``onemap.styles.legend`` (classes) and ``legend_stops`` (raster ramps), so a legend
can never disagree with the colours on the map or in titiler's tiles.
"""

from __future__ import annotations

from dash import dcc, html

from onemap.app.i18n import pick, t
from onemap.styles.colormaps import RASTER_STYLES, legend_stops
from onemap.styles.symbology import NO_DATA_COLOR, leaflet_style, legend

POINT_FAMILIES = frozenset({"air_stations", "water_sections", "pollution_sources", "outlets",
                            "incidents", "sensitive_receptors", "water_intakes", "devices",
                            "alarms"})
LINE_FAMILIES = frozenset({"rivers"})


def _swatch(family: str, color: str) -> html.Span:
    shape = ("point" if family in POINT_FAMILIES else "line" if family in LINE_FAMILIES
             else "area")
    if family == "incidents":
        shape = "triangle"
    style = ({"borderBottomColor": color} if shape == "triangle" else {"background": color})
    if family == "admin_boundaries":  # the land fill with its dashed boundary, as drawn
        line = leaflet_style(family)
        style["border"] = f"1px dashed {line.get('color', '#5D4037')}"
    return html.Span(className=f"om-swatch om-swatch-{shape}", style=style)


def _rows(family: str, title: str, lang: str) -> list[html.Div]:
    rows = legend(family, lang)  # type: ignore[arg-type]
    if family == "water_sections":  # sections without a recent sample are drawn grey
        rows = [*rows, (t("no_data", lang), NO_DATA_COLOR)]
    return [html.Div([_swatch(family, color), html.Span(label or title)],
                     className="om-legend-row") for label, color in rows]


def ramp(spec: dict, lang: str) -> html.Div:
    """A colour ramp between the rescale bounds, with the unit and what the value is."""
    style = RASTER_STYLES.get(spec.get("colormap") or "")
    if style is None:  # no colormap: the bands are drawn as they are (grey or RGB)
        bands = spec.get("bands") or []
        shown = [bands[i - 1] if 0 < i <= len(bands) else f"b{i}"
                 for i in spec.get("bidx") or []] or bands
        if len(shown) == 3:
            return html.Div(f"{t('rgb', lang)}: {' / '.join(shown)}", className="om-legend-bands")
        if not shown:
            return html.Div()
        return html.Div(f"{t('bands', lang)}: {', '.join(shown)}", className="om-legend-bands")
    stops = legend_stops(style.name)
    lo, hi = stops[0][0], stops[-1][0]
    css = ", ".join(f"{c} {100 * (v - lo) / (hi - lo):.0f}%" for v, c in stops)
    vmin, vmax = (spec.get("rescale") or [style.vmin, style.vmax])[:2]
    unit = spec.get("unit") or style.unit
    what = spec.get("value_label") or pick(style.title, style.title_en, lang)
    return html.Div([
        html.Div(what, className="om-ramp-name"),
        html.Div(className="om-ramp", style={"background": f"linear-gradient(to right, {css})"},
                 **{"data-colormap": style.name}),
        html.Div([html.Span(f"{vmin:g}"), html.Span(f"{vmax:g}{f' {unit}' if unit else ''}")],
                 className="om-ramp-labels"),
    ])


def _opacity(layer_id: str, value: int, lang: str) -> html.Div:
    """A vector layer's opacity (0–100 %), next to its symbols; rasters have theirs in the list."""
    return html.Div(dcc.Input(id={"type": "om-vopacity", "layer": layer_id}, type="range",
                              min=0, max=100, step=5, value=value, debounce=False,
                              className="om-legend-opacity"), title=t("opacity", lang),
                    className="om-legend-opacity-box")


def legend_panel(specs: list[dict], visible: set[str], lang: str,
                 when: dict[str, str] | None = None,
                 opacity: dict[str, int] | None = None) -> list:
    """The legend box content: one block per visible layer with a legend, topmost first.

    ``when`` gives the date shown by a series (layer id → label), appended to its title;
    ``opacity`` the vector layers' opacities (%) the user set, kept when the legend is redrawn.
    """
    when = when or {}
    opacity = opacity or {}
    blocks = []
    for spec in sorted(specs, key=lambda s: -s["z"]):
        if spec["id"] not in visible:
            continue
        title = pick(spec["title"], spec["title_en"], lang)
        if when.get(spec["id"]):
            title = f"{title} · {when[spec['id']]}"
        body = ([ramp(spec, lang)] if spec["kind"] == "raster"
                else [*_rows(spec["family"], title, lang),
                      _opacity(spec["id"], int(opacity.get(spec["id"], 100)), lang)])
        blocks.append(html.Div([html.Div(title, className="om-legend-title"), *body],
                               className="om-legend-block",
                               **{"data-layer": spec["id"]}))
    if not blocks:
        return []
    return [html.Div(t("legend", lang), className="om-legend-heading"), *blocks]
