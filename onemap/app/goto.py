"""``om-goto``: a request from anywhere in the page to move the map and show some layers.

The search box, the dashboard's cards and the analysis panels write ``{bounds | center, zoom,
layers}`` into the ``om-goto`` store; one callback here turns it into the map's viewport and the
layer checklists, so every "show me on the map" behaves alike.
"""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from onemap.config import Settings


def goto_outputs(target: dict | None, groups: list[str], values: list[list[str] | None],
                 specs: list[dict]) -> tuple[object, list]:
    """The map viewport and layer-checklist values for an ``om-goto`` request.

    Layers named in ``target["layers"]`` are switched on (so what the user was sent to see is
    drawn; raster rows are switched on by the caller); nothing else changes. The move is not
    animated, so no tile of an intermediate zoom is requested and then cancelled.
    """
    if not target:
        raise PreventUpdate
    viewport: object = dash.no_update
    if target.get("bounds") and len(target["bounds"]) == 4:
        minx, miny, maxx, maxy = target["bounds"]
        if maxx - minx < 1e-9 and maxy - miny < 1e-9:  # a point: centre on it instead
            viewport = {"center": [miny, minx], "zoom": int(target.get("zoom") or 14),
                        "transition": "setView", "options": {"animate": False}}
        else:
            # fitted into the part of the map no panel covers (assets/fit.js measures it)
            viewport = {"bounds": [[miny, minx], [maxy, maxx]], "transition": "fitBounds",
                        "options": {"animate": False, "omUncovered": True,
                                    "maxZoom": int(target.get("zoom") or 15)}}
    elif target.get("center"):
        viewport = {"center": list(target["center"]), "zoom": int(target.get("zoom") or 12),
                    "transition": "setView", "options": {"animate": False}}
    on = set(target.get("layers") or [])
    group_of = {s["id"]: s["group"] for s in specs}
    out = []
    for group, value in zip(groups, values, strict=True):
        add = [lid for lid in on if group_of.get(lid) == group and lid not in (value or [])]
        out.append((value or []) + sorted(add) if add else dash.no_update)
    return viewport, out


def register(app: dash.Dash, settings: Settings) -> None:
    """The one callback that carries out ``om-goto`` (``settings``: the signature of the other
    page modules, unused here)."""

    @app.callback(
        Output("om-map", "viewport", allow_duplicate=True),
        Output({"type": "om-group", "group": ALL}, "value", allow_duplicate=True),
        Output({"type": "om-raster-on", "layer": ALL}, "value", allow_duplicate=True),
        Input("om-goto", "data"),
        State({"type": "om-group", "group": ALL}, "value"),
        State({"type": "om-raster-on", "layer": ALL}, "value"),
        State("om-specs", "data"),
        prevent_initial_call=True,
    )
    def goto(target, values, raster_on, specs):  # type: ignore[no-untyped-def]
        groups = [o["id"]["group"] for o in ctx.outputs_list[1]]
        viewport, group_values = goto_outputs(target, groups, values, specs or [])
        on = set((target or {}).get("layers") or [])
        rasters = [[o["id"]["layer"]] if o["id"]["layer"] in on and not v else dash.no_update
                   for o, v in zip(ctx.outputs_list[2], raster_on, strict=True)]
        return viewport, group_values, rasters
