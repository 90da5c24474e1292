"""The Dashboard's words in zh-CN and English, and the labels of the classes it counts.

Class names (AQI levels, GB 3838 classes, incident levels, permit classes) come from
:mod:`onemap.styles.symbology`, the one source the map's legends also read, so a bar and the
legend entry of the same class always say the same thing. Numbers are formatted here, once.
"""

from __future__ import annotations

from onemap.app.i18n import add_strings, pick, t
from onemap.app.labels import VALUE_LABELS
from onemap.app.ogcclient import OgcError, explain
from onemap.styles.symbology import AQI_LEVELS, INCIDENT_LEVELS, PERMIT_CLASSES, WATER_CLASSES

add_strings(
    zh={
        "db_intro": "全区域综合指标。点击图表中的柱子，"
                    "在地图上查看对应的站点、断面、事件或污染源。",
        "db_now": "数据截至 {time}（北京时间，以监测数据的最新时刻为准）",
        "db_now_loading": "正在读取监测数据的最新时刻…",
        "db_refresh": "刷新",
        "db_refresh_title": "重新读取数据并计算指标",
        "db_loading": "正在计算…",
        "db_err": "无法读取{what}：{error}",
        "db_bad_data": "服务器的回答中缺少所需的数据。",
        "db_what_now": "监测数据的时间",
        "db_what_air": "每日空气质量指数",
        "db_what_water": "地表水监测断面",
        "db_what_inc": "突发环境事件",
        "db_what_src": "污染源",
        "db_air_title": "空气质量优良天数比例",
        "db_period_recent": "近 30 天",
        "db_period_year": "{year} 年全年",
        "db_period_ytd": "{year} 年初至今",
        "db_period_thisyear": "本年度",
        "db_air_loading": "正在计算 {start} 至 {end} 的每日 AQI…",
        "db_air_year_wait": "全年数据较多，正在计算（可在下方查看进度或取消）…",
        "db_air_year_stopped": "全年指标未算完；重新选择“{period}”可再次计算。",
        "db_year_reading": "计算完成，正在读取全年结果…",
        "db_air_sub": "{start} 至 {end}：优良 {good} 天，有效 {valid} 天（共 {days} 天）",
        "db_air_none": "{start} 至 {end} 没有有效的日 AQI。",
        "db_air_rule": "按 HJ 633-2012 和 HJ 663-2013，以全区域各站日均浓度计算每日 AQI；"
                       "AQI ≤ 100（优、良）为优良天。点击某一天：地图显示当日 12:00 各站实时 AQI。",
        "db_air_axis": "日 AQI",
        "db_air_hover": "{date}　AQI {aqi}（{level}）\n首要污染物：{primary}",
        "db_days": "{n} 天",
        "db_day": "{n} 天",
        "db_water_title": "地表水水质类别",
        "db_water_sub": "Ⅰ–Ⅲ类（优良）断面 {good} 个，已评价 {classed} 个（共 {total} 个）",
        "db_water_missed": "未达到水质目标：{n} 个断面",
        "db_water_missed_title": "在地图上查看未达到水质目标的断面",
        "db_water_rule": "按各断面最近一次采样，依 GB 3838-2002 评价类别。"
                         "点击柱子：地图缩放到该类别的断面。",
        "db_water_axis": "断面数",
        "db_water_hover": "{cls}：{n} 个断面\n其中未达到水质目标 {missed} 个",
        "db_water_none": "暂无断面数据。",
        "db_no_class": "未评价",
        "db_inc_title": "未结突发环境事件",
        "db_inc_sub": "处置中 {responding} 起，已报告 {reported} 起；"
                      "全部 {total} 起中已结束 {closed} 起",
        "db_inc_none": "目前没有未结事件（全部 {total} 起均已结束）。",
        "db_inc_rule": "状态不是“已结束”的事件，按《国家突发环境事件应急预案》分级。"
                       "点击柱子：地图缩放到这些事件。",
        "db_inc_axis": "事件数",
        "db_inc_hover": "{level}：{n} 起",
        "db_inc_other": "其他状态",
        "db_src_title": "排污许可证超期的排污单位",
        "db_src_sub": "截至 {day} 许可证已过期；另有 {soon} 家将在 {until} 前到期"
                      "（持证单位共 {permitted} 家）",
        "db_src_rule": "数据中没有排放监测值和许可排放限值，无法判定排放是否超标；"
                       "这里的“超期”指排污许可证有效期早于数据日期 {day}，"
                       "仍在排污即属无证排污。点击柱子：地图缩放到这些排污单位。",
        "db_src_expired": "已过期",
        "db_src_soon": "{days} 天内到期",
        "db_src_axis": "单位数",
        "db_src_hover": "{cls}，{series}：{n} 家",
        "db_src_none": "没有已过期或即将到期的排污许可证。",
        "db_unit_sections": "个断面",
        "db_unit_incidents": "起",
        "db_unit_sources": "家",
        "db_none": "无",
    },
    en={
        "db_intro": "Key indicators of the whole region. Click a bar of a chart to see its "
                    "stations, sections, incidents or sources on the map.",
        "db_now": "Data up to {time} (Beijing time, the latest monitoring record)",
        "db_now_loading": "Reading the time of the latest monitoring data…",
        "db_refresh": "Refresh",
        "db_refresh_title": "Read the data again and recompute the indicators",
        "db_loading": "Computing…",
        "db_err": "Could not read the {what}: {error}",
        "db_bad_data": "The server's answer lacks the data needed.",
        "db_what_now": "time of the monitoring data",
        "db_what_air": "daily air quality index",
        "db_what_water": "surface-water sections",
        "db_what_inc": "environmental incidents",
        "db_what_src": "pollution sources",
        "db_air_title": "Share of good air-quality days",
        "db_period_recent": "Last 30 days",
        "db_period_year": "Whole of {year}",
        "db_period_ytd": "{year} to date",
        "db_period_thisyear": "This year",
        "db_air_loading": "Computing the daily AQI from {start} to {end}…",
        "db_air_year_wait": "A whole year is a lot of data; computing (progress and cancel "
                            "below)…",
        "db_air_year_stopped": "The yearly figure was not completed; choose “{period}” again "
                               "to compute it.",
        "db_year_reading": "Computed; reading the year's results…",
        "db_air_sub": "{start} to {end}: good {good} / valid {valid} days ({days} in the period)",
        "db_air_none": "No valid daily AQI from {start} to {end}.",
        "db_air_rule": "Daily AQI per HJ 633-2012 and HJ 663-2013 from the region's mean daily "
                       "concentrations; a day with AQI ≤ 100 (excellent or good) is a good day. "
                       "Click a day: the map shows every station's AQI at 12:00 that day.",
        "db_air_axis": "Daily AQI",
        "db_air_hover": "{date}  AQI {aqi} ({level})\nPrimary pollutant: {primary}",
        "db_days": "{n} days",
        "db_day": "{n} day",
        "db_water_title": "Surface-water quality classes",
        "db_water_sub": "{good} sections in classes I–III (good) of {classed} assessed "
                        "({total} in all)",
        "db_water_missed": "Missing their target class: {n} sections",
        "db_water_missed_title": "Show the sections missing their target class on the map",
        "db_water_rule": "Class of each section's latest sample per GB 3838-2002. "
                         "Click a bar: the map zooms to the sections of that class.",
        "db_water_axis": "Sections",
        "db_water_hover": "{cls}: {n} sections\n{missed} of them miss their target class",
        "db_water_none": "No section data yet.",
        "db_no_class": "Not assessed",
        "db_inc_title": "Open environmental incidents",
        "db_inc_sub": "{responding} being handled, {reported} reported; {closed} of all "
                      "{total} closed",
        "db_inc_none": "No open incident (all {total} are closed).",
        "db_inc_rule": "Incidents whose status is not “closed”, by the levels of the National "
                       "Environmental Emergency Plan. Click a bar: the map zooms to them.",
        "db_inc_axis": "Incidents",
        "db_inc_hover": "{level}: {n}",
        "db_inc_other": "Other status",
        "db_src_title": "Sources with an expired discharge permit",
        "db_src_sub": "permit expired by {day}; {soon} more expire by {until} "
                      "({permitted} sources hold a permit)",
        "db_src_rule": "The data hold no measured emissions and no permitted limits, so "
                       "emission exceedances cannot be judged; counted here are sources whose "
                       "discharge permit ended before the data date {day} (discharging on it "
                       "is discharging without a permit). Click a bar: the map zooms to them.",
        "db_src_expired": "Expired",
        "db_src_soon": "Expiring within {days} days",
        "db_src_axis": "Sources",
        "db_src_hover": "{cls}, {series}: {n}",
        "db_src_none": "No discharge permit has expired or expires soon.",
        "db_unit_sections": "sections",
        "db_unit_incidents": "open",
        "db_unit_sources": "sources",
        "db_none": "none",
    },
)

_AQI = {str(lv.level): lv for lv in AQI_LEVELS}
_WATER = {c.value: c for c in WATER_CLASSES}
_INCIDENT = {c.value: c for c in INCIDENT_LEVELS}
_PERMIT = {c.value: c for c in PERMIT_CLASSES}
_STATUS = VALUE_LABELS["incidents"]["status"]
#: Pollutant names as printed (the process answers "PM2.5", "O3", "PM10,O3", …).
_POLLUTANT = {"PM2.5": "PM2.5", "PM10": "PM10", "O3": "O₃", "O3_8H": "O₃", "NO2": "NO₂",
              "SO2": "SO₂", "CO": "CO"}


def number(n: int | float) -> str:
    """A count with thousands separators (the same in both languages)."""
    return f"{int(n):,}"


def days(n: int, lang: str) -> str:
    """"1 day" / "5 days" (one form in Chinese)."""
    return t("db_day" if n == 1 else "db_days", lang, n=number(n))


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal; "—" when undefined (no valid days)."""
    return "—" if share is None else f"{share * 100:.1f}%"


def aqi_label(level: int | str | None, lang: str) -> str:
    lv = _AQI.get(str(level))
    return pick(lv.label, lv.label_en, lang) if lv else t("no_data", lang)


def water_label(code: str, lang: str) -> str:
    c = _WATER.get(code)
    return c.text(lang) if c else t("db_no_class", lang)  # type: ignore[arg-type]


def incident_label(code: str, lang: str) -> str:
    c = _INCIDENT.get(code)
    return c.text(lang) if c else t("db_no_class", lang)  # type: ignore[arg-type]


def permit_label(code: str, lang: str) -> str:
    c = _PERMIT.get(code)
    return c.text(lang) if c else code  # type: ignore[arg-type]


def status_label(code: str, lang: str) -> str:
    pair = _STATUS.get(code)
    return pick(*pair, lang) if pair else t("db_inc_other", lang)


def pollutants(primary: str, lang: str) -> str:
    """"PM10,PM2.5" → "PM10、PM2.5" (zh) / "PM10, PM2.5" (en); "" (AQI ≤ 50) → "none"."""
    names = [_POLLUTANT.get(p.strip().upper(), p.strip()) for p in primary.split(",")
             if p.strip()]
    return ("、" if lang == "zh" else ", ").join(names) if names else t("db_none", lang)


def error_text(what: str, err: dict, lang: str) -> str:
    """A stored failure (see ``dashboard_fetch.failure``) in words, naming what was read."""
    if err.get("code") == "BadData":
        reason = t("db_bad_data", lang)
    else:
        reason = explain(OgcError(int(err.get("status") or 0), str(err.get("code") or ""),
                                  str(err.get("parameter") or ""), str(err.get("detail") or "")),
                         lang)
    return t("db_err", lang, what=t(f"db_what_{what}", lang), error=reason)
