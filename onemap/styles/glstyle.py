"""Mapbox GL / MapLibre style layers from the one symbology source (:data:`FAMILY_STYLES`).

The web map draws a family with Leaflet path options; vector-tile clients (MapLibre, QGIS's
vector tile layer) need the same look as style-spec layers. The translation is mechanical:
``radius`` → ``circle-radius``, ``fillColor``/``fillOpacity`` → ``circle-color``/``fill-color``
and their opacities, ``color``/``weight`` → the stroke, ``dashArray`` (pixels) →
``line-dasharray`` (in line widths). A colour by class (``by`` + ``classes``) is a ``match``
expression and the AQI levels a ``case`` of ``<=`` tests — the two forms QGIS 3.22's
``QgsMapBoxGlStyleConverter`` converts (it skips ``step``). No text layers: labels need a glyph
server, which an offline intranet does not have.

Grid aggregates of a big layer (source layer ``<id>_clusters``, see
:mod:`onemap.mapserver.vtiles_data`) are circles growing with their ``count`` (by its
``magnitude``, the number of digits less one).
"""

from __future__ import annotations

from typing import Any

from onemap.styles.symbology import AQI_LEVELS, FAMILY_STYLES, NO_DATA_COLOR

DEFAULT = {"color": "#3388ff", "weight": 2}
CLUSTER_COLOR = "#3949AB"


def color_expression(family: str, fields: set[str], fallback: str) -> Any:
    """The fill colour of a family's feature: by class or AQI level when the layer has the
    field, else the family's one colour (a layer without its class field is no data)."""
    style = FAMILY_STYLES.get(family, DEFAULT)
    by = style.get("by")
    if by and by not in fields and family != "air_stations":
        return NO_DATA_COLOR
    if family == "air_stations":  # the level the station view computed (HJ 633)
        if "aqi_level" not in fields:
            return NO_DATA_COLOR
        return match("aqi_level", [(lv.level, lv.color) for lv in AQI_LEVELS], NO_DATA_COLOR)
    if by and style.get("classes"):
        return match(by, [(c.value, c.color) for c in style["classes"]], NO_DATA_COLOR)
    return fallback


def match(field: str, pairs: list[tuple[Any, Any]], default: Any) -> list[Any]:
    """``["match", ["get", field], [v1], out1, …, default]``: each label as a one-value array
    (the style spec allows both; QGIS 3.22 reads only arrays and makes ``IN ()`` of a bare
    value)."""
    expr: list[Any] = ["match", ["get", field]]
    for value, out in pairs:
        expr += [[value], out]
    return expr + [default]


def style_fields(family: str) -> list[str]:
    """The properties a family's style reads (tiles carry them by default)."""
    if family == "air_stations":
        return ["aqi", "aqi_level"]
    by = FAMILY_STYLES.get(family, {}).get("by")
    return [by] if by else []


def _dashes(style: dict) -> list[float] | None:
    text = style.get("dashArray")
    if not text:
        return None
    weight = float(style.get("weight") or 1)
    return [round(float(v) / weight, 3) for v in str(text).replace(",", " ").split()]


def feature_layers(family: str, layer_id: str, source: str, dimension: int,
                   fields: set[str]) -> list[dict[str, Any]]:
    """Style layers drawing source layer ``layer_id`` (0 points, 1 lines, 2 polygons)."""
    style = FAMILY_STYLES.get(family, DEFAULT)
    stroke = style.get("color", DEFAULT["color"])
    fill = color_expression(family, fields, style.get("fillColor", stroke))
    base = {"source": source, "source-layer": layer_id}
    if dimension == 0:
        paint = {"circle-radius": style.get("radius", 5),
                 "circle-opacity": style.get("fillOpacity", 0.9),
                 "circle-stroke-color": stroke,
                 "circle-stroke-width": style.get("weight", 1)}
        if not (isinstance(fill, list) and fill[0] == "match"):
            return [{"id": layer_id, "type": "circle", **base,
                     "paint": {**paint, "circle-color": fill}}]
        # one layer per class: QGIS 3.22 takes a circle's colour from a match's default only
        field, pairs = fill[1][1], list(zip(fill[2:-1:2], fill[3:-1:2], strict=True))
        layers = [{"id": f"{layer_id}-{values[0]}", "type": "circle", **base,
                   "filter": ["==", field, values[0]], "paint": {**paint, "circle-color": color}}
                  for values, color in pairs]
        return [{"id": f"{layer_id}-other", "type": "circle", **base,
                 "filter": ["!in", field, *[v[0] for v, _ in pairs]],
                 "paint": {**paint, "circle-color": fill[-1]}}, *layers]
    by_class = fill if style.get("by") else None
    line = {"id": f"{layer_id}-line", "type": "line", **base, "paint": {
        "line-color": by_class or stroke,
        "line-width": style.get("weight", 1),
        "line-opacity": style.get("opacity", 1.0)}}
    dashes = _dashes(style)
    if dashes:
        line["paint"]["line-dasharray"] = dashes
    if dimension == 1:
        return [line]
    layers = []
    if style.get("fill", True) and (style.get("fillColor") or by_class):
        layers.append({"id": f"{layer_id}-fill", "type": "fill", **base, "paint": {
            "fill-color": fill, "fill-opacity": style.get("fillOpacity", 0.2)}})
    return layers + [line]


def cluster_layer(layer_id: str, source: str) -> dict[str, Any]:
    """Grid aggregates: a circle per cell, its radius by the features it counts."""
    return {"id": f"{layer_id}_clusters", "type": "circle", "source": source,
            "source-layer": f"{layer_id}_clusters", "paint": {
                # by the count's order of magnitude (QGIS 3.22 interpolates by zoom only)
                "circle-radius": match("magnitude", [(m, 4 + 3 * m) for m in range(7)], 24),
                "circle-color": CLUSTER_COLOR,
                "circle-opacity": 0.6,
                "circle-stroke-color": "#ffffff",
                "circle-stroke-width": 1}}


def style_document(name: str, source: str, tilejson: dict[str, Any], family: str,
                   dimension: int, fields: set[str]) -> dict[str, Any]:
    """A whole style (version 8) for one collection's tiles; the source is inlined from
    ``tilejson`` so a client needs no second request."""
    bounds = tilejson.get("bounds") or [-180, -85, 180, 85]
    return {
        "version": 8, "name": name,
        "metadata": {"onemap:family": family},
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2],
        "zoom": tilejson.get("center", [0, 0, 2])[2],
        "sources": {source: {"type": "vector", "scheme": "xyz",
                             **{k: tilejson[k] for k in ("tiles", "minzoom", "maxzoom",
                                                         "bounds", "attribution")
                                if k in tilejson}}},
        "layers": [*feature_layers(family, source, source, dimension, fields),
                   cluster_layer(source, source)],
    }
