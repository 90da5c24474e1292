"""Vector symbology: one source for the map, the legends and folium exports.

Colours follow the published conventions where one exists: the six AQI levels and colours of
HJ 633-2012 (table 2), the red/orange/yellow/blue warning colours for incident levels I–IV,
and a blue→red ramp for GB 3838-2002 water classes. Everything else is chosen to read well on
the offline basemap. Labels come in zh-CN and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class Class:
    """One legend class: the value it stands for, its colour and labels."""

    value: str
    color: str
    label: str
    label_en: str

    def text(self, lang: Lang = "zh") -> str:
        return self.label if lang == "zh" else self.label_en


@dataclass(frozen=True)
class AqiLevel:
    """An AQI level of HJ 633-2012: AQI range [low, high], colour and names."""

    level: int
    low: int
    high: int
    color: str
    label: str
    label_en: str


AQI_LEVELS: tuple[AqiLevel, ...] = (
    AqiLevel(1, 0, 50, "#00E400", "优", "Excellent"),
    AqiLevel(2, 51, 100, "#FFFF00", "良", "Good"),
    AqiLevel(3, 101, 150, "#FF7E00", "轻度污染", "Lightly polluted"),
    AqiLevel(4, 151, 200, "#FF0000", "中度污染", "Moderately polluted"),
    AqiLevel(5, 201, 300, "#99004C", "重度污染", "Heavily polluted"),
    AqiLevel(6, 301, 10**6, "#7E0023", "严重污染", "Severely polluted"),
)
NO_DATA_COLOR = "#9E9E9E"


def aqi_level(aqi: float | None) -> AqiLevel | None:
    """The level an AQI value falls in (AQI values are integers, rounded up per HJ 633)."""
    if aqi is None or aqi != aqi or aqi < 0:
        return None
    return next(lv for lv in AQI_LEVELS if aqi <= lv.high)


def aqi_color(aqi: float | None) -> str:
    level = aqi_level(aqi)
    return level.color if level else NO_DATA_COLOR


WATER_CLASSES: tuple[Class, ...] = (
    Class("I", "#1565C0", "Ⅰ类", "Class I"),
    Class("II", "#42A5F5", "Ⅱ类", "Class II"),
    Class("III", "#43A047", "Ⅲ类", "Class III"),
    Class("IV", "#FDD835", "Ⅳ类", "Class IV"),
    Class("V", "#FB8C00", "Ⅴ类", "Class V"),
    Class("V+", "#E53935", "劣Ⅴ类", "Worse than V"),
)

INCIDENT_LEVELS: tuple[Class, ...] = (
    Class("I", "#D50000", "特别重大（Ⅰ级）", "Extraordinarily serious (I)"),
    Class("II", "#FF6D00", "重大（Ⅱ级）", "Serious (II)"),
    Class("III", "#FFD600", "较大（Ⅲ级）", "Relatively serious (III)"),
    Class("IV", "#2962FF", "一般（Ⅳ级）", "General (IV)"),
)

PROTECTED_CATEGORIES: tuple[Class, ...] = (
    Class("nature_reserve", "#2E7D32", "自然保护区", "Nature reserve"),
    Class("forest_park", "#66BB6A", "森林公园", "Forest park"),
    Class("wetland_park", "#26A69A", "湿地公园", "Wetland park"),
    Class("scenic_area", "#9CCC65", "风景名胜区", "Scenic area"),
    Class("geopark", "#A1887F", "地质公园", "Geopark"),
)

PERMIT_CLASSES: tuple[Class, ...] = (
    Class("key", "#C62828", "重点管理", "Key management"),
    Class("simplified", "#EF6C00", "简化管理", "Simplified management"),
    Class("registration", "#757575", "登记管理", "Registration"),
)

RECEPTOR_KINDS: tuple[Class, ...] = (
    Class("school", "#6A1B9A", "学校", "School"),
    Class("kindergarten", "#AB47BC", "幼儿园", "Kindergarten"),
    Class("hospital", "#D81B60", "医院", "Hospital"),
    Class("elderly_care", "#8D6E63", "养老院", "Elderly care"),
    Class("residential", "#546E7A", "居民区", "Residential area"),
)

#: Outlets by what they discharge (HJ 608: DA flue gas, DW wastewater).
OUTLET_MEDIA: tuple[Class, ...] = (
    Class("air", "#6D4C41", "废气排放口", "Flue gas outlet"),
    Class("water", "#00838F", "废水排放口", "Wastewater outlet"),
)

#: Online-monitoring devices (HJ 212) by their state: reporting, silent past the offline time
#: (断线), registered but never heard from.
DEVICE_STATUSES: tuple[Class, ...] = (
    Class("online", "#2E7D32", "在线", "Online"),
    Class("offline", "#616161", "离线（断线）", "Offline"),
    Class("unseen", "#B0BEC5", "未上线", "Never reported"),
)

#: Alarm rules (onemap/live/rules.py RULES): exceedances red, data-quality alarms apart.
ALARM_RULES: tuple[Class, ...] = (
    Class("exceedance", "#D50000", "超标", "Exceedance"),
    Class("continuous_exceedance", "#8E0000", "连续超标", "Continuous exceedance"),
    Class("offline", "#455A64", "断线", "Device offline"),
    Class("constant", "#FF6D00", "数据恒值", "Constant value"),
    Class("zero_flow", "#1565C0", "零流量", "Zero flow while producing"),
    Class("abnormal_flag", "#F9A825", "异常标记", "Abnormal data flag"),
)

#: An alarm's handling status (new: nobody has acted yet).
ALARM_STATUSES: tuple[Class, ...] = (
    Class("new", "#D50000", "新告警", "New"),
    Class("acknowledged", "#EF6C00", "已确认", "Acknowledged"),
    Class("closed", "#2E7D32", "已关闭", "Closed"),
)

WATER_SOURCE_GRADES: tuple[Class, ...] = (
    Class("primary", "#0D47A1", "一级保护区", "Primary zone"),
    Class("secondary", "#1E88E5", "二级保护区", "Secondary zone"),
    Class("quasi", "#90CAF9", "准保护区", "Quasi-protection zone"),
)

#: Leaflet path options per family. ``by``/``classes`` colour a feature by an attribute.
FAMILY_STYLES: dict[str, dict] = {
    "admin_boundaries": {"color": "#5D4037", "weight": 1.2, "dashArray": "6 3", "fill": True,
                         "fillColor": "#FAF6EE", "fillOpacity": 1.0},
    "water_bodies": {"color": "#4A90C2", "weight": 1, "fillColor": "#A9D3F0", "fillOpacity": 1.0},
    "rivers": {"color": "#4A90C2", "weight": 2, "opacity": 0.9},
    "protected_areas": {"weight": 1.5, "fillOpacity": 0.35, "by": "category",
                        "classes": PROTECTED_CATEGORIES},
    "red_lines": {"color": "#C62828", "weight": 1.5, "fillColor": "#EF5350", "fillOpacity": 0.25,
                  "dashArray": "4 2"},
    "water_source_zones": {"weight": 1, "fillOpacity": 0.3, "by": "grade",
                           "classes": WATER_SOURCE_GRADES},
    "air_stations": {"radius": 8, "weight": 1, "color": "#333333", "fillOpacity": 0.95,
                     "by": "aqi", "classes": None},
    "water_sections": {"radius": 7, "weight": 1, "color": "#333333", "fillOpacity": 0.95,
                       "by": "water_class", "classes": WATER_CLASSES},
    "pollution_sources": {"radius": 4, "weight": 0.5, "color": "#ffffff", "fillOpacity": 0.9,
                          "by": "permit_class", "classes": PERMIT_CLASSES},
    "outlets": {"radius": 3, "weight": 0.5, "color": "#ffffff", "fillOpacity": 0.95,
                "by": "medium", "classes": OUTLET_MEDIA},
    "incidents": {"radius": 9, "weight": 2, "color": "#000000", "fillOpacity": 0.9,
                  "by": "level", "classes": INCIDENT_LEVELS},
    "sensitive_receptors": {"radius": 5, "weight": 1, "color": "#ffffff", "fillOpacity": 0.9,
                            "by": "kind", "classes": RECEPTOR_KINDS},
    "devices": {"radius": 5, "weight": 1, "color": "#ffffff", "fillOpacity": 0.95,
                "by": "status", "classes": DEVICE_STATUSES},
    "alarms": {"radius": 9, "weight": 2, "color": "#ffffff", "fillOpacity": 0.95,
               "by": "rule", "classes": ALARM_RULES},
    "water_intakes": {"radius": 6, "weight": 2, "color": "#0D47A1", "fillColor": "#ffffff",
                      "fillOpacity": 1.0},
}


def legend(family: str, lang: Lang = "zh") -> list[tuple[str, str]]:
    """(label, colour) rows for a family's legend."""
    style = FAMILY_STYLES.get(family, {})
    if family == "air_stations":
        rows = [(lv.label if lang == "zh" else lv.label_en, lv.color) for lv in AQI_LEVELS]
        return rows + [("无数据" if lang == "zh" else "No data", NO_DATA_COLOR)]
    if style.get("classes"):
        return [(c.text(lang), c.color) for c in style["classes"]]
    return [("", style.get("fillColor") or style.get("color", "#3388ff"))]


def leaflet_style(family: str) -> dict:
    """The style a client sends to its renderer: colours by class value, JSON-serialisable."""
    style = dict(FAMILY_STYLES.get(family, {"color": "#3388ff", "weight": 2}))
    classes = style.pop("classes", None)
    if family == "air_stations":
        style["breaks"] = [[lv.high, lv.color] for lv in AQI_LEVELS]
        style["nodata"] = NO_DATA_COLOR
    elif classes:
        style["colors"] = {c.value: c.color for c in classes}
        style["nodata"] = NO_DATA_COLOR
    return style
