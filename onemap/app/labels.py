"""What a popup shows for each family: which fields, in which order, with which labels.

The app is an HTTP client of the server and must not import ``onemap.layers``, so the human
labels of the fields it shows are listed here. They are copied from the family schemas
(``onemap/layers/families.py``) and ``tests/app/test_labels.py`` fails if the two drift apart;
moving the labels into ``onemap.styles`` would remove the copy. Coded values reuse the class
labels of ``onemap.styles.symbology`` where one exists.
"""

from __future__ import annotations

from onemap.app.i18n import add_strings
from onemap.app.live import (
    ALARM_STRINGS,
    LIVE_BLOCK_FIELDS,
    LIVE_POPUP_FIELDS,
    LIVE_VALUE_LABELS,
    READING_STRINGS,
    popup_extra,
)
from onemap.styles.symbology import (
    INCIDENT_LEVELS,
    PERMIT_CLASSES,
    PROTECTED_CATEGORIES,
    RECEPTOR_KINDS,
    WATER_CLASSES,
    WATER_SOURCE_GRADES,
    Class,
)

#: (field, zh label, en label, unit)
Field = tuple[str, str, str, str]

_NAME: Field = ("name", "名称", "Name", "")
_COUNTY: Field = ("county_code", "所在区县代码", "County code", "")
_LEVEL: Field = ("level", "级别", "Level", "")
_AREA: Field = ("area_km2", "面积", "Area", "km²")

#: Popup rows per family (the title row, usually ``name``, is not repeated here).
POPUP_FIELDS: dict[str, tuple[Field, ...]] = {
    "air_stations": (
        ("station_id", "站点编码", "Station code", ""),
        ("station_type", "站点类型", "Station type", ""),
        ("city", "城市", "City", ""),
        _COUNTY,
    ),
    "water_sections": (
        ("section_id", "断面编码", "Section code", ""),
        ("water_class", "水质类别", "Water class", ""),
        ("target_class", "水质目标", "Target class", ""),
        ("water_body", "所在水体", "Water body", ""),
        _LEVEL,
        _COUNTY,
    ),
    "pollution_sources": (
        ("source_id", "排污单位编码", "Source code (HJ 608)", ""),
        ("industry", "行业类别", "Industry", ""),
        ("industry_code", "行业代码", "Industry code", ""),
        ("permit_id", "排污许可证编号", "Permit number", ""),
        ("permit_class", "许可管理类别", "Permit class", ""),
        ("permit_valid_until", "许可证有效期至", "Permit valid until", ""),
        ("outlets", "排放口", "Outlets", ""),
        ("so2_t", "二氧化硫排放量", "SO₂ emission", "t/a"),
        ("nox_t", "氮氧化物排放量", "NOx emission", "t/a"),
        ("pm_t", "颗粒物排放量", "PM emission", "t/a"),
        ("voc_t", "挥发性有机物排放量", "VOC emission", "t/a"),
        ("cod_t", "化学需氧量排放量", "COD discharge", "t/a"),
        ("nh3n_t", "氨氮排放量", "NH₃-N discharge", "t/a"),
        _COUNTY,
    ),
    "outlets": (
        ("outlet_code", "排放口编码", "Outlet code", ""),
        ("source_id", "排污单位编码", "Source code (HJ 608)", ""),
        ("medium", "排放类型", "Discharge", ""),
        ("mn", "数采仪编码", "Device code (MN)", ""),
        ("standard", "执行标准", "Emission standard", ""),
        ("so2_limit", "二氧化硫许可浓度", "SO₂ limit", "mg/m³"),
        ("nox_limit", "氮氧化物许可浓度", "NOx limit", "mg/m³"),
        ("pm_limit", "颗粒物许可浓度", "Particulate limit", "mg/m³"),
        ("nmhc_limit", "非甲烷总烃许可浓度", "NMHC limit", "mg/m³"),
        ("cod_limit", "化学需氧量许可浓度", "COD limit", "mg/L"),
        ("nh3n_limit", "氨氮许可浓度", "NH₃-N limit", "mg/L"),
        ("tp_limit", "总磷许可浓度", "TP limit", "mg/L"),
        ("tn_limit", "总氮许可浓度", "TN limit", "mg/L"),
        _COUNTY,
    ),
    "protected_areas": (
        ("area_id", "保护地编码", "Area code", ""),
        ("category", "类型", "Category", ""),
        _LEVEL,
        _AREA,
        ("established", "设立年份", "Established", ""),
    ),
    "red_lines": (
        ("redline_id", "红线编码", "Red-line code", ""),
        ("function", "主导功能", "Main function", ""),
        _AREA,
        _COUNTY,
    ),
    "incidents": (
        ("incident_id", "事件编号", "Incident id", ""),
        ("time", "发生时间", "Time", ""),
        ("type", "事件类型", "Type", ""),
        ("level", "事件级别", "Level", ""),
        ("status", "处置状态", "Status", ""),
        ("pollutant", "特征污染物", "Pollutant", ""),
        ("description", "事件描述", "Description", ""),
    ),
    "rivers": (
        ("reach_id", "河段编码", "Reach id", ""),
        ("stream_order", "河流等级", "Stream order", ""),
        ("length_km", "长度", "Length", "km"),
    ),
    "water_bodies": (
        ("water_body_id", "水体编码", "Water-body id", ""),
        ("kind", "类型", "Kind", ""),
        _AREA,
    ),
    "water_source_zones": (
        ("zone_id", "保护区编码", "Zone id", ""),
        ("source_name", "水源地名称", "Source", ""),
        ("grade", "保护区级别", "Zone grade", ""),
        ("intake_id", "取水口编码", "Intake id", ""),
        _AREA,
    ),
    "water_intakes": (
        ("intake_id", "取水口编码", "Intake id", ""),
        ("source_name", "水源地名称", "Source", ""),
        ("capacity_m3d", "取水规模", "Capacity", "m³/d"),
        ("population", "服务人口", "Population served", ""),
    ),
    "sensitive_receptors": (
        ("receptor_id", "敏感点编码", "Receptor id", ""),
        ("kind", "类型", "Kind", ""),
        ("population", "人数", "People", ""),
        _COUNTY,
    ),
    "admin_boundaries": (
        ("adcode", "行政区划代码", "Admin code", ""),
        ("admin_level", "层级", "Admin level", ""),
    ),
}

#: The field that titles a popup, when it is not ``name``.
TITLE_FIELD: dict[str, str] = {"incidents": "title", "water_source_zones": "source_name",
                               "outlets": "outlet_code", "alarms": "outlet_code",
                               "devices": "outlet_code"}

_ADMIN_LEVELS = {"national": ("国家级", "National"), "provincial": ("省级", "Provincial"),
                 "municipal": ("市级", "Municipal"), "county": ("县级", "County")}


def _classes(classes: tuple[Class, ...]) -> dict[str, tuple[str, str]]:
    return {c.value: (c.label, c.label_en) for c in classes}


#: Labels of coded values per family and field: code -> (zh, en).
VALUE_LABELS: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    "air_stations": {"station_type": {"national": ("国控", "National"),
                                      "provincial": ("省控", "Provincial"),
                                      "municipal": ("市控", "Municipal")}},
    "water_sections": {"water_class": _classes(WATER_CLASSES),
                       "target_class": _classes(WATER_CLASSES), "level": _ADMIN_LEVELS},
    "pollution_sources": {"permit_class": _classes(PERMIT_CLASSES)},
    "outlets": {"medium": {"air": ("废气", "Flue gas"), "water": ("废水", "Wastewater")}},
    "protected_areas": {"category": _classes(PROTECTED_CATEGORIES), "level": _ADMIN_LEVELS},
    "red_lines": {"function": {
        "water_conservation": ("水源涵养", "Water conservation"),
        "biodiversity": ("生物多样性维护", "Biodiversity"),
        "soil_conservation": ("水土保持", "Soil conservation"),
        "windbreak": ("防风固沙", "Windbreak and sand fixation"),
        "erosion_control": ("水土流失", "Erosion control"),
        "shoreline": ("岸线生态稳定", "Shoreline stability")}},
    "incidents": {
        "level": _classes(INCIDENT_LEVELS),
        "type": {"water": ("水污染", "Water"), "air": ("大气污染", "Air"),
                 "soil": ("土壤污染", "Soil"), "chemical": ("危险化学品", "Chemical"),
                 "radiation": ("辐射", "Radiation"), "other": ("其他", "Other")},
        "status": {"reported": ("已报告", "Reported"), "responding": ("处置中", "Responding"),
                   "closed": ("已结束", "Closed")}},
    "water_bodies": {"kind": {"lake": ("湖泊", "Lake"), "reservoir": ("水库", "Reservoir")}},
    "water_source_zones": {"grade": _classes(WATER_SOURCE_GRADES)},
    "sensitive_receptors": {"kind": _classes(RECEPTOR_KINDS)},
    "admin_boundaries": {"admin_level": {"province": ("省", "Province"), "city": ("市", "City"),
                                         "county": ("县（区）", "County")}},
}

#: Display names of pollutant codes a station's ``primary_pollutant`` may hold.
POLLUTANTS: dict[str, str] = {"pm25": "PM2.5", "pm2_5": "PM2.5", "pm10": "PM10", "so2": "SO₂",
                              "no2": "NO₂", "co": "CO", "o3": "O₃", "o3_8h": "O₃-8h"}


#: The identifying field of a family's features (``data-key`` of the popup, for tests and links).
KEY_FIELD: dict[str, str] = {"water_sections": "section_id", "pollution_sources": "source_id",
                             "incidents": "incident_id", "air_stations": "station_id",
                             "outlets": "outlet_code", "alarms": "alarm_id", "devices": "mn",
                             # the OGC feature id of the other families (a vector tile's
                             # feature is read whole by it when clicked: assets/tiles.js)
                             "protected_areas": "area_id", "red_lines": "redline_id",
                             "rivers": "reach_id", "water_bodies": "water_body_id",
                             "water_intakes": "intake_id", "sensitive_receptors": "receptor_id",
                             "water_source_zones": "zone_id", "admin_boundaries": "adcode"}

# --- Richer popups (assets/popups.js, assets/water_history.js) -------------------------------
# Fields a family's popup draws in its own block instead of the plain field table.
BLOCK_FIELDS: dict[str, tuple[str, ...]] = {
    "water_sections": ("water_class", "target_class"),
    "pollution_sources": ("permit_id", "permit_class", "permit_valid_until", "outlets",
                          "so2_t", "nox_t", "pm_t", "voc_t", "cod_t", "nh3n_t"),
    "incidents": ("level", "status", "description"),
}

#: GB 3838-2002 parameters as ``exceeding`` names them: code -> (zh, en).
WATER_PARAMETERS: dict[str, tuple[str, str]] = {
    "ph": ("pH", "pH"), "do": ("溶解氧", "DO"), "codmn": ("高锰酸盐指数", "CODMn"),
    "cod": ("化学需氧量", "COD"), "bod5": ("五日生化需氧量", "BOD₅"), "nh3n": ("氨氮", "NH₃-N"),
    "tp": ("总磷", "TP"), "tn": ("总氮", "TN"),
}
#: Short class names for chips and the history strip's axis: value -> (zh, en).
WATER_CLASS_SHORT: dict[str, tuple[str, str]] = {
    "I": ("Ⅰ类", "I"), "II": ("Ⅱ类", "II"), "III": ("Ⅲ类", "III"), "IV": ("Ⅳ类", "IV"),
    "V": ("Ⅴ类", "V"), "V+": ("劣Ⅴ类", "V+"),
}
#: Outlet kinds by the prefix of the outlet code (HJ 608-2017 / permit numbering):
#: prefix -> (kind, zh, en).
OUTLET_KINDS: dict[str, tuple[str, str, str]] = {
    "DA": ("air", "废气排放口", "Air outlet"), "DW": ("water", "废水排放口", "Wastewater outlet"),
}
#: Emission groups of a pollution source: (group, zh, en, ((field, zh, en), ...)); all t/a.
EMISSION_GROUPS: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("air", "废气", "Air", (("so2_t", "二氧化硫", "SO₂"), ("nox_t", "氮氧化物", "NOx"),
                            ("pm_t", "颗粒物", "PM"), ("voc_t", "挥发性有机物", "VOCs"))),
    ("water", "废水", "Wastewater", (("cod_t", "化学需氧量", "COD"), ("nh3n_t", "氨氮", "NH₃-N"))),
)
#: A permit this close to its end is flagged: renewal is due 60 days before it
#: (《排污许可管理条例》第十四条).
PERMIT_RENEWAL_DAYS = 60
#: Badge colours of an incident's handling status.
INCIDENT_STATUS_COLORS: dict[str, str] = {"reported": "#C62828", "responding": "#EF6C00",
                                          "closed": "#2E7D32"}

add_strings(
    zh={
        "pp_latest": "最新水质", "pp_target": "目标", "pp_meets": "达标", "pp_misses": "不达标",
        "pp_sampled": "采样时间", "pp_exceeding": "超标项目（倍数）", "pp_none": "无",
        "wh_title": "近 {n} 次采样水质类别", "wh_date": "采样日期", "wh_class": "类别",
        "wh_loading": "正在读取历史监测数据…", "wh_empty": "该断面暂无监测记录。",
        "wh_error": "无法读取历史监测数据。",
        "ps_permit": "排污许可", "ps_expired": "已过期", "ps_expiring": "即将到期",
        "ps_valid": "有效", "ps_as_of": "按数据日期 {date} 判断",
        "ps_registration": "排污登记管理，不核发排污许可证",
        "ps_emissions": "年排放量（t/a）", "ps_outlet_other": "排放口",
        "ph_title": "现场照片", "ph_loading": "正在读取现场照片…", "ph_error": "无法读取现场照片。",
        "ph_open": "查看原图",
    },
    en={
        "pp_latest": "Latest class", "pp_target": "Target", "pp_meets": "Meets target",
        "pp_misses": "Misses target", "pp_sampled": "Sampled",
        "pp_exceeding": "Exceeding (times over)", "pp_none": "none",
        "wh_title": "Water class of the last {n} samples", "wh_date": "Date", "wh_class": "Class",
        "wh_loading": "Reading the sample history…", "wh_empty": "No samples at this section.",
        "wh_error": "Could not read the sample history.",
        "ps_permit": "Discharge permit", "ps_expired": "Expired", "ps_expiring": "Expires soon",
        "ps_valid": "Valid", "ps_as_of": "judged on the data date {date}",
        "ps_registration": "Registration only; no discharge permit is issued",
        "ps_emissions": "Annual emissions (t/a)", "ps_outlet_other": "Outlet",
        "ph_title": "Photos from the site", "ph_loading": "Reading the photos…",
        "ph_error": "Could not read the photos.", "ph_open": "Open the photo",
    },
)
#: The strings each family's popup reads from ``hideout.strings``.
POPUP_STRINGS: dict[str, tuple[str, ...]] = {
    "water_sections": ("pp_latest", "pp_target", "pp_meets", "pp_misses", "pp_sampled",
                       "pp_exceeding", "pp_none", "wh_title", "wh_date", "wh_class",
                       "wh_loading", "wh_empty", "wh_error"),
    "pollution_sources": ("ps_permit", "ps_expired", "ps_expiring", "ps_valid", "ps_as_of",
                          "ps_registration", "ps_emissions", "ps_outlet_other",
                          *READING_STRINGS),
    "outlets": READING_STRINGS,
    "alarms": ALARM_STRINGS,
    "incidents": ("ph_title", "ph_loading", "ph_error", "ph_open"),
}


def _pick(pair: tuple[str, str], en: bool) -> str:
    return pair[1] if en else pair[0]


def _extra(family: str, en: bool) -> dict:
    """What a family's own popup block needs besides labels: class colours, names, groups."""
    if family == "water_sections":
        return {"classes": [[c.value, c.color, _pick(WATER_CLASS_SHORT[c.value], en),
                             c.label_en if en else c.label] for c in WATER_CLASSES],
                "parameters": {k: _pick(v, en) for k, v in WATER_PARAMETERS.items()}}
    if family == "pollution_sources":
        return {"permit_colors": {c.value: c.color for c in PERMIT_CLASSES},
                "outlet_kinds": {k: [v[0], _pick(v[1:], en)] for k, v in OUTLET_KINDS.items()},
                "emissions": [[key, en_name if en else zh, [[f, e if en else z, "t/a"]
                                                            for f, z, e in rows]]
                              for key, zh, en_name, rows in EMISSION_GROUPS],
                "renewal_days": PERMIT_RENEWAL_DAYS}
    if family == "incidents":
        return {"level_colors": {c.value: c.color for c in INCIDENT_LEVELS},
                "status_colors": INCIDENT_STATUS_COLORS}
    return popup_extra(family, "en" if en else "zh")


def popup_spec(family: str, lang: str) -> dict:
    """The JSON a popup needs for one family in one language (sent to the JS via ``hideout``)."""
    en = lang == "en"
    fields = [[name, en_label if en else zh, unit]
              for name, zh, en_label, unit in POPUP_FIELDS.get(family)
              or LIVE_POPUP_FIELDS.get(family, ())]
    values = {f: {code: (pair[1] if en else pair[0]) for code, pair in codes.items()}
              for f, codes in (VALUE_LABELS.get(family) or LIVE_VALUE_LABELS.get(family, {})
                               ).items()}
    return {"fields": fields, "values": values, "title_field": TITLE_FIELD.get(family, "name"),
            "key_field": KEY_FIELD.get(family, ""),
            "block": list(BLOCK_FIELDS.get(family) or LIVE_BLOCK_FIELDS.get(family, ())),
            "extra": _extra(family, en)}
