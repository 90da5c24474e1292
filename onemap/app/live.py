"""Online monitoring on the map: the live layers' popups, the alarm ticker and its strings.

The page is an HTTP client of the HJ 212 side like of everything else: the ``devices`` and
``alarms`` layers are OGC collections the catalogue lists to those who may see them, alarms
arrive as server-sent events (``/api/alarms/events``) read by ``assets/live.js``, which also
refreshes both layers, fills the dashboard's live card from ``/api/live/summary`` and posts
acknowledgements. Python only lays out the ticker (present when the catalogue gave the alarms
layer to this user) and hands the browser its words in both languages.

Pollutant names come with each alarm row (``pollutant_name``, ``unit``, in Chinese); their
English names and the outlet-layer column holding each one's permit limit are listed in
:data:`LIVE_POLLUTANTS` (HJ 212-2017 Appendix B codes), as the app may not import the receiver.
"""

from __future__ import annotations

import json

from dash import html

from onemap.app.dock import text
from onemap.app.i18n import LANGS, STRINGS, add_strings
from onemap.styles.symbology import ALARM_RULES, ALARM_STATUSES, DEVICE_STATUSES, Class

#: Families of the live layers (their catalogue ids are the same).
ALARMS, DEVICES = "alarms", "devices"
#: The role that may acknowledge and close alarms (the server decides; this only shows the
#: buttons to whom they can work for).
HANDLERS = frozenset({"commander", "admin"})

#: HJ 212 pollutant code -> (zh, en, outlet-layer column of its permit limit or "").
LIVE_POLLUTANTS: dict[str, tuple[str, str, str]] = {
    "a21026": ("二氧化硫", "SO₂", "so2_limit"),
    "a21002": ("氮氧化物", "NOx", "nox_limit"),
    "a34013": ("颗粒物（烟尘）", "Particulate matter", "pm_limit"),
    "a24088": ("非甲烷总烃", "Non-methane hydrocarbons", "nmhc_limit"),
    "a21005": ("一氧化碳", "CO", ""),
    "a00000": ("废气流量", "Flue gas flow", ""),
    "a19001": ("氧含量", "Oxygen", ""),
    "w01018": ("化学需氧量", "COD", "cod_limit"),
    "w21003": ("氨氮", "Ammonia nitrogen", "nh3n_limit"),
    "w21011": ("总磷", "Total phosphorus", "tp_limit"),
    "w21001": ("总氮", "Total nitrogen", "tn_limit"),
    "w01001": ("pH值", "pH", ""),
    "w00000": ("废水流量", "Wastewater flow", ""),
    "w01012": ("悬浮物", "Suspended solids", ""),
    "w22001": ("石油类", "Petroleum oils", ""),
}
#: pH is limited by a range (the outlets layer's ph_min / ph_max).
PH = ("w01001", "ph_min", "ph_max")

#: (field, zh, en, unit) of the live layers' popups (the live file's columns).
LIVE_POPUP_FIELDS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    ALARMS: (
        ("rule", "报警类型", "Alarm type", ""),
        ("pollutant_name", "监测因子", "Parameter", ""),
        ("value", "监测值", "Measured", ""),
        ("threshold", "许可限值", "Permit limit", ""),
        ("status", "处理状态", "Status", ""),
        ("source_name", "排污单位名称", "Company", ""),
        ("outlet_code", "排放口编码", "Outlet code", ""),
        ("source_id", "排污单位编码", "Source code (HJ 608)", ""),
        ("mn", "数采仪编码", "Device code (MN)", ""),
        ("start", "开始时间", "Started", ""),
        ("last", "最近数据时间", "Last evidence", ""),
        ("end", "结束时间", "Ended", ""),
        ("readings", "数据条数", "Readings", ""),
        ("acknowledged_by", "确认人", "Acknowledged by", ""),
        ("acknowledged_at", "确认时间", "Acknowledged at", ""),
        ("closed_by", "关闭人", "Closed by", ""),
        ("closed_at", "关闭时间", "Closed at", ""),
        ("note", "处理说明", "Note", ""),
    ),
    DEVICES: (
        ("mn", "数采仪编码", "Device code (MN)", ""),
        ("source_name", "排污单位名称", "Company", ""),
        ("outlet_code", "排放口编码", "Outlet code", ""),
        ("source_id", "排污单位编码", "Source code (HJ 608)", ""),
        ("medium", "排放类型", "Discharge", ""),
        ("status", "设备状态", "Device state", ""),
        ("last_seen", "最近上报", "Last report", ""),
        ("first_seen", "首次上报", "First report", ""),
        ("packets", "数据包数", "Packets", ""),
        ("county_code", "所在区县代码", "County code", ""),
    ),
}
#: Fields an alarm's popup draws in its own block (assets/live.js) rather than the table.
LIVE_BLOCK_FIELDS = {ALARMS: ("rule", "pollutant_name", "value", "threshold", "status")}


def _classes(classes: tuple[Class, ...]) -> dict[str, tuple[str, str]]:
    return {c.value: (c.label, c.label_en) for c in classes}


LIVE_VALUE_LABELS: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    ALARMS: {"rule": _classes(ALARM_RULES), "status": _classes(ALARM_STATUSES)},
    DEVICES: {"status": _classes(DEVICE_STATUSES),
              "medium": {"air": ("废气", "Flue gas"), "water": ("废水", "Wastewater")}},
}

add_strings(
    zh={
        "live_title": "在线监控报警", "live_empty": "暂无报警。",
        "live_lost": "连接中断，正在重连…", "live_limit": "限值", "live_times": "超标 {n} 倍",
        "live_fold": "收起", "live_unfold": "展开",
        "al_ack": "确认", "al_close": "关闭报警", "al_note": "处理说明（可选）",
        "al_busy": "正在提交…", "al_done_acknowledged": "已确认。", "al_done_closed": "已关闭。",
        "al_err_401": "请先登录后再处理报警。",
        "al_err_403": "当前账号无权处理报警（需要指挥调度角色）。",
        "al_err_404": "该报警不存在，或不在您的辖区内。",
        "al_err_409": "该报警的状态已变化（已被确认或已关闭），已刷新。",
        "al_err_400": "处理说明过长或格式不正确。",
        "al_err_other": "操作失败（HTTP {status}）。", "al_err_network": "无法连接到服务器。",
        "al_over": "超标", "al_ongoing": "持续中",
        "rd_title": "近 48 小时在线监测（小时均值）", "rd_time": "时间", "rd_param": "因子",
        "rd_value": "均值", "rd_limit": "限值", "rd_loading": "正在读取在线监测数据…",
        "rd_empty": "近 48 小时无在线监测数据。", "rd_error": "无法读取在线监测数据。",
        "rd_outlet": "排放口",
        "db_live_title": "在线监控", "db_live_online": "在线率",
        "db_live_exceed": "24 小时超标", "db_live_open": "未关闭报警",
        "db_live_devices": "设备 {online} 在线 / {offline} 离线 / {unseen} 未上线",
        "db_live_rule": "在线率 = 在线设备 ÷ 曾上报设备；超标为 24 小时内开始的超标报警；"
                        "随新报警即时更新。",
    },
    en={
        "live_title": "Live alarms", "live_empty": "No alarms.",
        "live_lost": "Connection lost, reconnecting…", "live_limit": "limit",
        "live_times": "{n}× the limit", "live_fold": "Fold", "live_unfold": "Unfold",
        "al_ack": "Acknowledge", "al_close": "Close alarm", "al_note": "Note (optional)",
        "al_busy": "Sending…", "al_done_acknowledged": "Acknowledged.", "al_done_closed": "Closed.",
        "al_err_401": "Log in to handle alarms.",
        "al_err_403": "This account may not handle alarms (it needs the commander role).",
        "al_err_404": "This alarm does not exist or is outside your area.",
        "al_err_409": "This alarm's status changed meanwhile (acknowledged or closed); "
                      "refreshed.",
        "al_err_400": "The note is too long or not valid.",
        "al_err_other": "The action failed (HTTP {status}).",
        "al_err_network": "The server could not be reached.",
        "al_over": "over the limit", "al_ongoing": "ongoing",
        "rd_title": "Online monitoring, last 48 hours (hourly averages)", "rd_time": "Time",
        "rd_param": "Parameter", "rd_value": "Average", "rd_limit": "Limit",
        "rd_loading": "Reading the online monitoring data…",
        "rd_empty": "No online monitoring data in the last 48 hours.",
        "rd_error": "Could not read the online monitoring data.", "rd_outlet": "Outlet",
        "db_live_title": "Online monitoring", "db_live_online": "Online rate",
        "db_live_exceed": "Exceedances, 24 h", "db_live_open": "Open alarms",
        "db_live_devices": "Devices {online} online / {offline} offline / {unseen} never "
                           "reported",
        "db_live_rule": "Online rate = devices online ÷ devices that ever reported; exceedances "
                        "are exceedance alarms begun in the last 24 h; updated as alarms arrive.",
    },
)

#: Strings an alarm's popup and a source's readings table read from ``hideout.strings``.
ALARM_STRINGS = ("al_ack", "al_close", "al_note", "al_busy", "al_done_acknowledged",
                 "al_done_closed", "al_err_401", "al_err_403", "al_err_404", "al_err_409",
                 "al_err_400", "al_err_other", "al_err_network", "al_over", "al_ongoing",
                 "live_limit", "live_times")
READING_STRINGS = ("rd_title", "rd_time", "rd_param", "rd_value", "rd_limit", "rd_loading",
                   "rd_empty", "rd_error", "rd_outlet")
#: Strings of the ticker and the dashboard card (assets/live.js formats them).
TICKER_STRINGS = ("live_title", "live_empty", "live_lost", "live_limit", "live_times",
                  "live_fold", "live_unfold", "db_live_devices")


def pollutant_names(lang: str) -> dict[str, list[str]]:
    """``{code: [name, limit column]}`` in ``lang``, for popups and the ticker."""
    en = lang == "en"
    return {code: [en_name if en else zh, column]
            for code, (zh, en_name, column) in LIVE_POLLUTANTS.items()}


def popup_extra(family: str, lang: str) -> dict:
    """What the alarms' popup block needs besides labels: colours, names, who may act."""
    if family != ALARMS:
        return {}
    return {"rule_colors": {c.value: c.color for c in ALARM_RULES},
            "status_colors": {c.value: c.color for c in ALARM_STATUSES},
            "pollutants": pollutant_names(lang)}


def readings_spec(family: str, base: str, lang: str) -> dict | None:
    """Where an outlet's or a source's popup reads recent readings and limits (None: none)."""
    if family not in ("outlets", "pollution_sources"):
        return None
    return {"series": f"{base}ogc/collections/outlets/locations",  # OGC API EDR
            "outlets": f"{base}ogc/collections/outlets/items", "hours": 48,
            "pollutants": pollutant_names(lang), "ph": list(PH)}


def _strings() -> dict[str, dict[str, str]]:
    return {lang: {k: STRINGS[lang][k] for k in TICKER_STRINGS} for lang in LANGS}


def _labels() -> dict[str, dict]:
    """Rule names and colours and pollutant names per language, for the ticker."""
    return {lang: {"rules": {c.value: c.text(lang) for c in ALARM_RULES},
                   "pollutants": {k: v[0] for k, v in pollutant_names(lang).items()}}
            for lang in LANGS}


def ticker(specs: list[dict], me: dict | None, base: str) -> html.Div | None:
    """The live alarm strip, for a page whose catalogue has the alarms layer (else None).

    ``assets/live.js`` fills it and opens the event stream; its data attributes say where
    (``data-base``), which layers to refresh, whether to show the Acknowledge/Close buttons.
    """
    layers = {s["family"]: {"id": s["id"], "url": s["url"]} for s in specs
              if s["family"] in (ALARMS, DEVICES) and s["kind"] == "vector"}
    if ALARMS not in layers:
        return None
    roles = set((me or {}).get("roles") or [])
    rules = {c.value: c.color for c in ALARM_RULES}
    return html.Div([
        html.Div([html.Span(className="om-live-dot"), html.Span("", className="om-live-title"),
                  html.Span("", className="om-live-count"),
                  html.Button("", type="button", className="om-live-fold")],
                 className="om-live-head"),
        html.Div("", className="om-live-state"),
        html.Ol([], className="om-live-list"),
    ], id="om-live", className="om-live", hidden=True, **{
        "data-base": base, "data-layers": json.dumps(layers),
        "data-handler": "1" if roles & HANDLERS else "",
        "data-strings": json.dumps(_strings(), ensure_ascii=False),
        "data-labels": json.dumps(_labels(), ensure_ascii=False),
        "data-colors": json.dumps(rules)})


def dashboard_card(lang: str) -> html.Section:
    """The dashboard's live card: online rate, exceedances in 24 h, open alarms.

    Hidden until ``assets/live.js`` has read ``/api/live/summary`` and found live layers this
    user may see; it re-reads it on each alarm (debounced) and every 30 s.
    """
    def figure(key: str, label: str) -> html.Div:
        return html.Div([html.Span("—", className="db-big-value", **{"data-kpi": key}),
                         text(label, lang, className="db-live-label")],
                        className="db-live-figure")

    return html.Section([
        text("db_live_title", lang, tag=html.H3, className="db-card-title"),
        html.Div([figure("online_rate", "db_live_online"),
                  figure("exceedances_24h", "db_live_exceed"),
                  figure("open_alarms", "db_live_open")], className="db-live-figures"),
        html.Div("", className="db-live-devices"),
        text("db_live_rule", lang, tag=html.P, className="db-rule"),
    ], id="db-live", className="db-card db-live", hidden=True, **{"data-kpi": "live"})
