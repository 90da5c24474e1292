"""Every word of the Ecology panel in both languages, and the labels of the codes it shows.

The ``ecology-change`` process answers with codes (EI grades "good", change grades "slight",
directions "worse", indicator keys "bi"…) plus a Chinese bulletin phrase; the panel turns the
codes into words here so the English page never shows a Chinese phrase and the Chinese page uses
the process's own wording. Area names are Chinese proper nouns with no English form in the data,
so English rows name an area by its code (see :func:`area_label`): no mixed-language screen.
"""

from __future__ import annotations

import re

from onemap.app.i18n import add_strings, pick, t
from onemap.app.labels import VALUE_LABELS

#: The process's area layers and the field holding each one's id and kind (function/category).
ID_FIELD = {"red_lines": "redline_id", "protected_areas": "area_id"}
KIND_FIELD = {"red_lines": "function", "protected_areas": "category"}

#: HJ 192-2015 grade and change words: code -> (zh, en).
GRADES = {"excellent": ("优", "excellent"), "good": ("良", "good"), "fair": ("一般", "fair"),
          "poor": ("较差", "poor"), "bad": ("差", "bad")}
CHANGE_GRADES = {"none": ("无明显变化", "no obvious change"), "slight": ("略微", "slightly"),
                 "obvious": ("明显", "obviously"), "significant": ("显著", "significantly")}
DIRECTIONS = {"better": ("变好", "better"), "worse": ("变差", "worse"), "stable": ("", "")}

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

_ZH = {
    "eco_intro": "比较两期 NDVI，找出植被减少的生态保护红线或自然保护地。",
    "eco_layer": "区域图层",
    "eco_layer_red_lines": "生态保护红线",
    "eco_layer_protected_areas": "自然保护地",
    "eco_areas": "区域（可多选，不选即全部）",
    "eco_areas_all": "全部区域",
    "eco_before": "前期 NDVI",
    "eco_after": "后期 NDVI",
    "eco_pick_date": "选择日期",
    "eco_run": "分析变化",
    "eco_no_ndvi": "目录中没有两期以上的单波段 NDVI 影像，无法比较。",
    "eco_err_pick": "请选择前期和后期 NDVI 影像。",
    "eco_err_same": "前期和后期选了同一期影像（{date}），请选择两个不同的日期。",
    "eco_err_order": "前期日期（{before}）晚于后期日期（{after}），请交换两者。",
    "eco_err_areas": "无法读取区域列表：{error}",
    "eco_summary": "{before} → {after}：{n} 个区域中有 {k} 个植被显著减少，共 {km2} km²。",
    "eco_summary_none": "{before} → {after}：{n} 个区域均未出现植被显著减少。",
    "eco_rule": "显著减少：像元 ΔNDVI ≤ {thr}，且连片不少于 {px} 个像元。",
    "eco_col_rank": "序号",
    "eco_col_area_red_lines": "红线 / 主导功能",
    "eco_col_area_protected_areas": "保护地 / 类型",
    "eco_col_ndvi": "NDVI 前→后（变化）",
    "eco_col_ei": "EI 前→后（变化等级）",
    "eco_col_loss": "减少面积 km²",
    "eco_hint": "点击表格行或柱条，地图定位到该区域。",
    "eco_chart_title": "各区域植被减少面积",
    "eco_chart_x": "减少面积（km²）",
    "eco_chart_hover": "减少面积",
    "eco_approx": "EI 按 HJ 192-2015 计算，但以下指标为近似估算（据 NDVI 与矢量图层，"
                  "非官方数值）：{names}。",
    "eco_eri_off": "未计入环境限制指数 ERI。",
    "eco_eri_on": "已计入环境限制指数 ERI。",
    "eco_ind_bi": "生物丰度指数 BI（无物种数据，仅以 NDVI 分级的生境质量代替）",
    "eco_ind_vi": "植被覆盖指数 VI（NDVI 均值）",
    "eco_ind_wdi": "水网密度指数 WDI（河长与水面占比，缺水资源量）",
    "eco_ind_lsi": "土地胁迫指数 LSI（裸地/建设用地占比，缺侵蚀项）",
    "eco_ind_pli": "污染负荷指数 PLI（区内许可排放量）",
    "eco_ind_eri": "环境限制指数 ERI",
    "eco_encroach": "区内污染源与事件（侵占）",
    "eco_encroach_none": "所选区域内没有污染源或事件。",
    "eco_encroach_counts": "{areas} 个区域内共有 {sources} 个污染源、{incidents} 起事件。",
    "eco_kind_pollution_source": "污染源",
    "eco_kind_incident": "事件",
    "eco_more": "另有 {n} 项未列出（均已标在地图上）。",
    "eco_in_area": "位于 {area}",
    "eco_show_ndvi": "在地图上显示后期 NDVI（{date}）",
    "eco_loss_tip": "植被减少图斑 {km2} km²，平均 ΔNDVI {mean}",
    "eco_area_tip": "减少 {km2} km²",
    "eco_key_loss": "植被减少图斑",
    "eco_key_hit": "有减少的区域",
}

_EN = {
    "eco_intro": "Compare two NDVI dates to find the red lines or protected areas that lost "
                 "vegetation.",
    "eco_layer": "Area layer",
    "eco_layer_red_lines": "Ecological red lines",
    "eco_layer_protected_areas": "Protected areas",
    "eco_areas": "Areas (several allowed; none = all)",
    "eco_areas_all": "All areas",
    "eco_before": "Before (NDVI)",
    "eco_after": "After (NDVI)",
    "eco_pick_date": "Choose a date",
    "eco_run": "Analyse change",
    "eco_no_ndvi": "The catalogue has fewer than two single-band NDVI rasters: nothing to "
                   "compare.",
    "eco_err_pick": "Choose both the before and the after NDVI raster.",
    "eco_err_same": "Before and after are the same raster ({date}); choose two different "
                    "dates.",
    "eco_err_order": "The before date ({before}) is later than the after date ({after}); swap "
                     "them.",
    "eco_err_areas": "Could not read the list of areas: {error}",
    "eco_summary": "{before} → {after}: {k} of {n} areas lost vegetation significantly, "
                   "{km2} km² in all.",
    "eco_summary_none": "{before} → {after}: none of the {n} areas lost vegetation "
                        "significantly.",
    "eco_rule": "Significant loss: pixel ΔNDVI ≤ {thr} in patches of at least {px} pixels.",
    "eco_col_rank": "#",
    "eco_col_area_red_lines": "Red line / main function",
    "eco_col_area_protected_areas": "Protected area / category",
    "eco_col_ndvi": "NDVI before→after (change)",
    "eco_col_ei": "EI before→after (change grade)",
    "eco_col_loss": "Loss km²",
    "eco_hint": "Click a table row or a bar to show that area on the map.",
    "eco_chart_title": "Vegetation loss per area",
    "eco_chart_x": "Loss (km²)",
    "eco_chart_hover": "Loss",
    "eco_approx": "EI follows HJ 192-2015, but these indicators are approximated (from NDVI "
                  "and the vector layers; not official values): {names}.",
    "eco_eri_off": "The environmental restriction index ERI is not applied.",
    "eco_eri_on": "The environmental restriction index ERI is applied.",
    "eco_ind_bi": "biological abundance BI (no species data: habitat quality from NDVI "
                  "classes)",
    "eco_ind_vi": "vegetation cover VI (mean NDVI)",
    "eco_ind_wdi": "water network density WDI (river length and water share; no water "
                   "resources term)",
    "eco_ind_lsi": "land stress LSI (bare/built share; no erosion terms)",
    "eco_ind_pli": "pollution load PLI (permitted emissions inside)",
    "eco_ind_eri": "environmental restriction ERI",
    "eco_encroach": "Pollution sources and incidents inside (encroachment)",
    "eco_encroach_none": "No pollution source or incident lies inside the chosen areas.",
    "eco_encroach_counts": "Inside {areas} of the areas: {sources} pollution sources, "
                           "{incidents} incidents.",
    "eco_kind_pollution_source": "Pollution source",
    "eco_kind_incident": "Incident",
    "eco_more": "{n} more not listed (all are marked on the map).",
    "eco_in_area": "in {area}",
    "eco_show_ndvi": "Show the after NDVI on the map ({date})",
    "eco_loss_tip": "Vegetation loss patch {km2} km², mean ΔNDVI {mean}",
    "eco_area_tip": "loss {km2} km²",
    "eco_key_loss": "Vegetation loss patch",
    "eco_key_hit": "Area with loss",
}

add_strings(_ZH, _EN)


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese characters or full-width punctuation."""
    return bool(_CJK.search(text or ""))


def area_label(area_id: str, name: str | None, lang: str) -> str:
    """An area as the reader of ``lang`` can read it: its name, or in English its code when
    the name is Chinese (the data has no English names; a code is better than mixed text)."""
    name = (name or "").strip()
    if lang == "en" and (not name or has_cjk(name)):
        return area_id
    return name or area_id


def kind_label(layer: str, code: str | None, lang: str) -> str:
    """The human label of a red line's function or a protected area's category."""
    if not code:
        return ""
    pair = VALUE_LABELS.get(layer, {}).get(KIND_FIELD.get(layer, ""), {}).get(code)
    if pair:
        return pick(pair[0], pair[1], lang)
    return code if lang == "zh" or not has_cjk(code) else ""


def grade_label(code: str | None, lang: str) -> str:
    """An HJ 192 EI grade (优/良/… or excellent/good/…); unknown codes as given."""
    pair = GRADES.get(code or "")
    return pick(*pair, lang) if pair else str(code or "")


def change_label(row: dict, lang: str) -> str:
    """The EI change grade as the process gave it: its own phrase in Chinese, the same grade
    and direction in words in English ("slightly worse", "no obvious change")."""
    grade = str(row.get("ei_change_grade") or "")
    direction = str(row.get("ei_change_direction") or "")
    if lang == "zh" and row.get("ei_change_label"):
        return str(row["ei_change_label"])
    if grade not in CHANGE_GRADES:
        return "—"
    k = 0 if lang == "zh" else 1
    if grade == "none" or direction not in ("better", "worse"):
        return CHANGE_GRADES["none"][k]
    if k == 0:
        return CHANGE_GRADES[grade][0] + DIRECTIONS[direction][0]
    return f"{CHANGE_GRADES[grade][1]} {DIRECTIONS[direction][1]}"


def indicator_names(keys: list[str], lang: str) -> str:
    """The approximated indicators (process keys "bi", "vi"…) in words, joined."""
    sep = "；" if lang == "zh" else "; "
    words = [t(f"eco_ind_{k}", lang) if f"eco_ind_{k}" in _ZH else k.upper() for k in keys]
    return sep.join(words)


def layer_title(layer: str, lang: str) -> str:
    """What the chosen area layer is called."""
    key = f"eco_layer_{layer}"
    return t(key, lang) if key in _ZH else layer
