"""Every UI string of the map, keyed by language, plus the layer groups of the layer list.

All user-visible text lives here (zh-CN first, English second) so that switching language is a
lookup, not a hunt through the layout code; a test checks that both languages have the same keys.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

PAGE_TITLE = "OneMap 生态环境一张图"

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "app_title": "生态环境一张图",
        "app_subtitle": "OneMap · 巢湖流域",
        "layers": "图层",
        "legend": "图例",
        "catalog_error": "无法读取图层目录（{error}），请检查服务是否运行。",
        "rasters_error": "无法读取遥感影像列表（{error}）。",
        "no_layers": "目录中暂无图层。",
        "aqi": "空气质量指数 AQI",
        "aqi_level": "级别",
        "primary_pollutant": "首要污染物",
        "time": "监测时间",
        "no_data": "无数据",
        "features": "要素",
        "basemap": "在线底图",
    },
    "en": {
        "app_title": "Ecological Environment One Map",
        "app_subtitle": "OneMap · Chaohu basin",
        "layers": "Layers",
        "legend": "Legend",
        "catalog_error": "Could not read the layer catalogue ({error}); is the server running?",
        "rasters_error": "Could not read the list of rasters ({error}).",
        "no_layers": "The catalogue has no layers yet.",
        "aqi": "Air quality index (AQI)",
        "aqi_level": "Level",
        "primary_pollutant": "Primary pollutant",
        "time": "Time",
        "no_data": "No data",
        "features": "features",
        "basemap": "Online basemap",
    },
}

#: Layer-list groups in display order: key -> (zh, en).
GROUPS: dict[str, tuple[str, str]] = {
    "monitoring": ("监测", "Monitoring"),
    "pollution": ("污染源", "Pollution sources"),
    "ecology": ("生态", "Ecology"),
    "incidents": ("事件", "Incidents"),
    "remote_sensing": ("遥感", "Remote sensing"),
    "base": ("基础", "Base"),
    "other": ("其他", "Other"),
}

#: Which group a layer family belongs to; unknown families land in "other".
FAMILY_GROUP: dict[str, str] = {
    "air_stations": "monitoring",
    "water_sections": "monitoring",
    "pollution_sources": "pollution",
    "protected_areas": "ecology",
    "red_lines": "ecology",
    "water_source_zones": "ecology",
    "water_intakes": "ecology",
    "incidents": "incidents",
    "sensitive_receptors": "incidents",
    "admin_boundaries": "base",
    "water_bodies": "base",
    "rivers": "base",
}


def t(key: str, lang: str = DEFAULT_LANG, **kw: object) -> str:
    """The UI string ``key`` in ``lang`` (falling back to zh-CN), formatted with ``kw``."""
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANG])
    text = table.get(key, STRINGS[DEFAULT_LANG][key])
    return text.format(**kw) if kw else text


def group_title(group: str, lang: str = DEFAULT_LANG) -> str:
    """The heading of a layer-list group."""
    zh, en = GROUPS.get(group, GROUPS["other"])
    return zh if lang == "zh" else en


def pick(zh: str, en: str, lang: str) -> str:
    """The zh-CN or English variant of a pair, falling back to zh when English is missing."""
    return en if lang == "en" and en else zh
