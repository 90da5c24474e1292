"""Map tools: coordinates under the cursor, measuring distance and area, exporting the view.

Everything that follows the mouse (coordinates, the rubber band of a measurement) runs in the
browser (``assets/tools.js``): a Dash round trip per mouse move would lag. Python only lays out
the tool buttons (inside the map, under the zoom buttons), hands the browser its strings in both
languages and wires the buttons to clientside functions:

* measuring is geodesic on the WGS84 ellipsoid (``tools.js``), whatever the map projection, so
  a distance is the one a surveyor would give, not a Web-Mercator length;
* "export PNG" draws what the map shows into a canvas in the browser (``tools_export.js``): the
  server cannot know the symbols, labels and opacity the user has on screen;
* "export HTML" asks the server (``GET /api/exports/map.html``) for a standalone folium map of
  the ticked vector layers in the current view, the air stations at the time bar's hour: a
  file that opens on an offline laptop.

Strings are registered here (keys ``tool_*``); the language switch re-titles the buttons and
tells the scripts, which redraw their texts.
"""

from __future__ import annotations

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html

from onemap.app.i18n import LANGS, STRINGS, add_strings, t
from onemap.config import Settings

#: (button id, title key, CSS modifier) of the tool bar, top to bottom.
BUTTONS: tuple[tuple[str, str, str], ...] = (
    ("om-tool-distance", "tool_distance", "om-tool-ruler"),
    ("om-tool-area", "tool_area", "om-tool-polygon"),
    ("om-tool-png", "tool_png", "om-tool-image"),
    ("om-tool-html", "tool_html", "om-tool-map"),
)

_ZH = {
    "tool_distance": "测量距离",
    "tool_area": "测量面积",
    "tool_png": "导出当前视图为 PNG 图片",
    "tool_html": "导出当前视图为离线 HTML 地图",
    "tool_hint_line": "单击地图添加点，双击或按 Enter 结束，Esc 取消",
    "tool_hint_area": "单击地图添加顶点（至少 3 个），双击或按 Enter 结束，Esc 取消",
    "tool_hint_area_more": "再添加 {n} 个顶点即可计算面积",
    "tool_distance_label": "距离",
    "tool_area_label": "面积",
    "tool_perimeter": "周长",
    "tool_points": "{n} 个点",
    "tool_finish": "完成",
    "tool_clear": "清除",
    "tool_coords": "{ew} {x}°，{ns} {y}°",
    "tool_east": "东经",
    "tool_west": "西经",
    "tool_north": "北纬",
    "tool_south": "南纬",
    "tool_png_busy": "正在生成 PNG 图片…",
    "tool_html_busy": "正在生成离线 HTML 地图…",
    "tool_saved": "已导出 {file}",
    "tool_saved_vector_only": "已导出 {file}（HTML 地图只含矢量图层，打开的遥感影像未导出）",
    "tool_png_skipped": "已导出 {file}；{n} 张来自其他服务器的瓦片按浏览器安全规则无法导出，已略去",
    "tool_no_layers": "没有勾选任何矢量图层：请先在左侧图层列表中勾选要导出的图层",
    "tool_err_png": "导出 PNG 失败：浏览器无法绘制地图图像",
    "tool_err_notfound": "导出失败：所选图层在服务器上已不存在，请刷新页面后重试",
    "tool_err_bad": "导出失败：地图范围或图层参数无效",
    "tool_err_http": "导出失败：服务器返回 HTTP {status}",
    "tool_err_network": "导出失败：无法连接服务器",
}
_EN = {
    "tool_distance": "Measure distance",
    "tool_area": "Measure area",
    "tool_png": "Export the view as a PNG image",
    "tool_html": "Export the view as an offline HTML map",
    "tool_hint_line": "Click the map to add points; double-click or press Enter to finish, "
                      "Esc to cancel",
    "tool_hint_area": "Click the map to add corners (at least 3); double-click or press Enter "
                      "to finish, Esc to cancel",
    "tool_hint_area_more": "Add {n} more corner(s) to get an area",
    "tool_distance_label": "Distance",
    "tool_area_label": "Area",
    "tool_perimeter": "Perimeter",
    "tool_points": "{n} points",
    "tool_finish": "Finish",
    "tool_clear": "Clear",
    "tool_coords": "{x}°{ew}, {y}°{ns}",
    "tool_east": "E",
    "tool_west": "W",
    "tool_north": "N",
    "tool_south": "S",
    "tool_png_busy": "Rendering the PNG image…",
    "tool_html_busy": "Building the offline HTML map…",
    "tool_saved": "Saved {file}",
    "tool_saved_vector_only": "Saved {file} (the HTML map holds the vector layers only; the "
                              "imagery shown was not exported)",
    "tool_png_skipped": "Saved {file}; {n} tile(s) from another server were left out (the "
                        "browser does not allow exporting them)",
    "tool_no_layers": "No vector layer is ticked: tick the layers to export in the layer list "
                      "first",
    "tool_err_png": "PNG export failed: the browser could not draw the map image",
    "tool_err_notfound": "Export failed: a chosen layer no longer exists on the server; reload "
                         "the page and try again",
    "tool_err_bad": "Export failed: the map view or the layer list is not valid",
    "tool_err_http": "Export failed: the server answered HTTP {status}",
    "tool_err_network": "Export failed: the server could not be reached",
}
add_strings(zh=_ZH, en=_EN)



def js_strings() -> dict:
    """What the scripts need: every tool string per language (they format them themselves)
    and the buttons' title keys in :data:`BUTTONS` order (re-titled on a language switch)."""
    return {"strings": {lang: {k: STRINGS[lang][k] for k in _ZH} for lang in LANGS},
            "buttons": [key for _, key, _ in BUTTONS]}


def map_controls(lang: str) -> list:
    """The tool bar (inside the map, under the zoom buttons) and the scripts' stores."""
    buttons = [html.Button(id=bid, n_clicks=0, title=t(key, lang), type="button",
                           className=f"om-tool-btn {cls}")
               for bid, key, cls in BUTTONS]
    return [
        html.Div(buttons, id="om-tools", className="om-tools leaflet-bar"),
        dcc.Store(id="om-tool-strings", data=js_strings()),
        # What the scripts did last ({"kind", "ok", "file" | "error"}); tests read it too.
        dcc.Store(id="om-tool-result"),
        dcc.Store(id="om-tool-lang"),
    ]


def register(app: dash.Dash, settings: Settings) -> None:
    """Language switch, measure buttons and the two exports (all clientside)."""
    app.clientside_callback(
        ClientsideFunction("onemap_tools", "setLang"),
        Output("om-tool-lang", "data"),
        *[Output(bid, "title") for bid, _, _ in BUTTONS],
        Input("om-lang", "value"),
        State("om-tool-strings", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("onemap_tools", "measure"),
        Output("om-tool-result", "data"),
        Input("om-tool-distance", "n_clicks"),
        Input("om-tool-area", "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_tools", "exportPng"),
        Output("om-tool-result", "data", allow_duplicate=True),
        Input("om-tool-png", "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("onemap_tools", "exportHtml"),
        Output("om-tool-result", "data", allow_duplicate=True),
        Input("om-tool-html", "n_clicks"),
        State({"type": "om-group", "group": ALL}, "value"),
        State({"type": "om-raster-on", "layer": ALL}, "value"),
        State("om-lang", "value"),
        State("om-config", "data"),
        State("om-map-time", "data"),
        prevent_initial_call=True,
    )
