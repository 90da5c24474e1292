"""Report from the field (现场上报): a sheet to create or update an incident, with photos.

A commander or inspector at the scene reports a new incident (the place from the phone's
position or a tap on the map; type, level, status, a note) or updates an open one (its status,
level and note), and adds photos taken there. The browser (``assets/report.js``) sends the
incident through OGC API Features Part 4 — ``POST``/``PATCH`` on
``/ogc/collections/incidents/items`` — and each photo to ``/api/attachments``, as the user: the
server's policy decides (the ``commander`` or ``data_manager`` role, within the account's
region) exactly as it does for QGIS or a script. The incident then shows on every map that
reads the layer, with its photos in the popup.

The sheet is opened from the phone's bottom bar (:mod:`onemap.app.mobile`); on a wide screen
a desktop user reports through the Emergency panel or any Part 4 client.
"""

from __future__ import annotations

import json

from dash import dcc, html

from onemap.app.dock import text
from onemap.app.i18n import LANGS, STRINGS, add_strings
from onemap.app.labels import VALUE_LABELS

FAMILY = "incidents"
#: Who may report (the policy's ``edit_features``): the sheet tells others to log in.
REPORTERS = {"commander", "data_manager", "admin"}

add_strings(
    {"rp_title": "现场上报", "rp_need": "上报需要指挥调度或数据管理角色的账号：请先登录。",
     "rp_target": "上报对象", "rp_new": "新事件",
     "rp_name": "事件名称", "rp_type": "事件类型", "rp_level": "事件级别",
     "rp_status": "处置状态", "rp_note": "情况说明", "rp_place": "位置",
     "rp_gps": "使用我的位置", "rp_tap": "在地图上点选", "rp_photos": "现场照片",
     "rp_send": "提交",
     "rp_no_place": "请先确定位置：使用我的位置，或在地图上点选。",
     "rp_no_title": "请填写事件名称。",
     "rp_tap_now": "请在地图上点击事件位置……",
     "rp_at": "{lon}, {lat}",
     "rp_sending": "正在提交……", "rp_photo_sending": "正在上传照片 {i}/{n}……",
     "rp_done_new": "已上报：{title}（编号 {id}），照片 {n} 张。",
     "rp_done_update": "已更新：{title}（编号 {id}），新增照片 {n} 张。",
     "rp_failed": "提交失败：{error}", "rp_photo_failed": "照片 {name} 未能上传：{error}",
     "rp_gps_failed": "无法获取位置：{error}"},
    {"rp_title": "Report from the field",
     "rp_need": "Reporting needs a commander or data manager account: please log in.",
     "rp_target": "Report on", "rp_new": "A new incident",
     "rp_name": "Title", "rp_type": "Type", "rp_level": "Level", "rp_status": "Status",
     "rp_note": "What is seen", "rp_place": "Place", "rp_gps": "Use my position",
     "rp_tap": "Tap the map", "rp_photos": "Photos", "rp_send": "Send",
     "rp_no_place": "Set the place first: use your position or tap the map.",
     "rp_no_title": "Give the incident a title.",
     "rp_tap_now": "Tap the incident's place on the map…",
     "rp_at": "{lon}, {lat}",
     "rp_sending": "Sending…", "rp_photo_sending": "Uploading photo {i} of {n}…",
     "rp_done_new": "Reported: {title} (id {id}), {n} photo(s).",
     "rp_done_update": "Updated: {title} (id {id}), {n} new photo(s).",
     "rp_failed": "Could not send: {error}",
     "rp_photo_failed": "Photo {name} not uploaded: {error}",
     "rp_gps_failed": "Could not find your position: {error}"})

_JS_KEYS = ("rp_new", "rp_no_place", "rp_no_title", "rp_tap_now", "rp_at", "rp_sending",
            "rp_photo_sending", "rp_done_new", "rp_done_update", "rp_failed", "rp_photo_failed",
            "rp_gps_failed", "m_where_insecure", "m_where_denied")


def _select(ident: str, field: str, lang: str, default: str) -> html.Select:
    """A select of the family's coded values, labelled in both languages (report.js shows
    the page's)."""
    codes = VALUE_LABELS[FAMILY][field]
    return html.Select([html.Option(pair[1] if lang == "en" else pair[0], value=code,
                                    **{"data-zh": pair[0], "data-en": pair[1]})
                        for code, pair in codes.items()],
                       id=ident, className="om-field-input", **{"data-default": default})


def _field(key: str, lang: str, control: html.Div) -> html.Label:
    return html.Label([text(key, lang, className="om-field-label"), control],
                      className="om-field")


def report_sheet(specs: list[dict], me: dict | None, base: str, lang: str) -> html.Section | None:
    """The sheet, for a page whose catalogue has the incidents layer (else None)."""
    layer = next((s for s in specs if s["family"] == FAMILY and s["kind"] == "vector"), None)
    if layer is None:
        return None
    may = bool(REPORTERS & set((me or {}).get("roles") or []))
    strings = {lg: {k: STRINGS[lg][k] for k in _JS_KEYS} for lg in LANGS}
    form = html.Div([
        _field("rp_target", lang, html.Select(
            [html.Option(STRINGS[lang]["rp_new"], value="")], id="om-rp-target",
            className="om-field-input")),
        _field("rp_name", lang, dcc.Input(id="om-rp-title", type="text", maxLength=200,
                                          value="", className="om-field-input",
                                          autoComplete="off")),
        _field("rp_type", lang, _select("om-rp-type", "type", lang, "water")),
        _field("rp_level", lang, _select("om-rp-level", "level", lang, "IV")),
        _field("rp_status", lang, _select("om-rp-status", "status", lang, "reported")),
        _field("rp_note", lang, html.Textarea(id="om-rp-note", rows=3, maxLength=2000,
                                              className="om-field-input")),
        html.Div([text("rp_place", lang, className="om-field-label"),
                  html.Span("—", id="om-rp-where", className="om-rp-where"),
                  html.Div([html.Button(text("rp_gps", lang), id="om-rp-gps", type="button",
                                        className="om-button om-button-secondary"),
                            html.Button(text("rp_tap", lang), id="om-rp-tap", type="button",
                                        className="om-button om-button-secondary")],
                           className="om-rp-place-buttons")], className="om-field"),
        # assets/report.js puts <input type=file accept=image/* capture multiple> here (Dash
        # has no file input that leaves the files in the browser)
        _field("rp_photos", lang, html.Div(id="om-rp-photos-slot")),
        html.Button(text("rp_send", lang), id="om-rp-send", type="button",
                    className="om-button om-button-primary om-rp-send"),
        html.Div("", className="om-rp-state", role="status", **{"aria-live": "polite"}),
    ], className="om-rp-form", hidden=not may)
    return html.Section([
        text("rp_title", lang, tag=html.H3, className="om-rp-title"),
        text("rp_need", lang, tag=html.P, className="om-rp-need", hidden=may),
        form,
    ], id="om-report", className="om-report", **{
        "data-base": base, "data-layer": layer["id"], "data-url": layer.get("url") or "",
        "data-strings": json.dumps(strings, ensure_ascii=False)})
