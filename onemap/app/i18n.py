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
#: The browser tab's title per language (the page switches it with the language).
PAGE_TITLES: dict[str, str] = {"zh": PAGE_TITLE, "en": "OneMap · Ecological Environment One Map"}

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
        "upload_heading": "遥感影像上传",
        "upload_choose": "选择 GeoTIFF 文件…",
        "upload_title": "标题",
        "upload_title_ph": "例如：巢湖 GF-1 影像",
        "upload_date": "日期",
        "upload_date_ph": "YYYY-MM-DD",
        "upload_bands": "波段名称（可选）",
        "upload_bands_ph": "如 blue,green,red,nir",
        "upload_series": "所属时间序列（可选）",
        "upload_series_ph": "如 ndvi",
        "upload_render": "显示方式",
        "render_default": "默认",
        "render_ndvi": "NDVI 波段运算",
        "upload_start": "上传",
        "upload_cancel": "取消",
        "upload_uploading": "上传中 {pct}%（{done} / {total}）",
        "upload_converting": "正在转换为 COG… {pct}%",
        "upload_done": "完成：“{title}”已加入图层列表。",
        "upload_failed": "上传失败：{detail}",
        "upload_cancelled": "已取消上传。",
        "upload_need_file": "请先选择一个 GeoTIFF 文件（.tif / .tiff）。",
        "upload_need_login": "上传影像需要登录（分析员及以上角色）：请登录后重新上传。",
        "upload_need_role": "当前账号没有上传影像的权限（需要分析员角色）。",
        "upload_ndvi_bands": "NDVI 需要在波段名称中给出 red 和 nir，例如 blue,green,red,nir。",
        "upload_network": "网络错误，未能连接到服务器。",
        "upload_http": "服务器返回 HTTP {status}。",
        "upload_show_detail": "",
        "upload_err_InvalidRaster": "文件不是可读的 GeoTIFF（或缺少坐标系、地理变换，或不完整）",
        "upload_err_InvalidParameter": "填写的参数有误（波段名称、显示方式、编号或日期），请检查",
        "upload_err_MissingFile": "上传内容中没有文件",
        "upload_err_PayloadTooLarge": "文件超过服务器允许的上传大小",
        "upload_err_RasterTooLarge": "影像的像元数或波段数超过服务器上限",
        "upload_err_AlreadyExists": "已有同编号的数据集，请更换标题或日期",
        "upload_err_UnsupportedMediaType": "服务器无法读取这种上传格式",
        "upload_err_UnsupportedFormat": "只接受自包含的 GeoTIFF/COG 文件"
                                        "（不接受 VRT 等引用其他文件的格式）",
        "upload_err_NotFound": "上传任务已不存在",
        "upload_err_ConversionFailed": "转换为 COG 时出错",
        "opacity": "不透明度",
        "play": "播放",
        "series_step": "时间步",
        "pause": "暂停",
        "beijing_time": "北京时间",
        "bands": "波段",
        "rgb": "RGB 合成（红 / 绿 / 蓝）",
        "pixel_loading": "正在读取像元值…",
        "pixel_value": "值",
        "pixel_error": "无法读取像元值",
        "cancel": "取消",
        "run": "运行",
        "job_accepted": "已提交，等待计算…",
        "job_running": "计算中 {pct}%",
        "job_done": "完成",
        "job_failed": "计算失败，请检查输入后重试。",
        "job_cancelled": "已取消。",
        "err_invalid": "输入“{field}”的值无效。",
        "err_missing": "缺少输入“{field}”。",
        "err_out_of_region": "“{field}”超出本区域范围，请选择区域内的位置。",
        "err_no_data": "所选“{field}”没有可用数据，请换一个时间。",
        "err_no_job": "该任务已不存在。",
        "err_unreachable": "无法连接到服务器。",
        "err_server": "服务器内部错误（HTTP {status}），请稍后重试。",
        "err_refused": "服务器拒绝了请求（HTTP {status}）。",
        "view_layer_note": "共 {count} 个：密集处按网格计数，放大后逐个显示",
        "tiles_missing": "无法加载矢量瓦片组件，大图层无法显示。",
        "view_cluster_title": "{count} 个要素，点击放大",
        "chart_title": "近 7 天 PM2.5 小时浓度",
        "chart_loading": "正在读取监测数据…",
        "chart_empty": "近 7 天无有效 PM2.5 数据。",
        "chart_error": "无法读取监测数据。",
        "zoom_in": "放大",
        "zoom_out": "缩小",
        "leaflet_title": "Leaflet 网页地图库",
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
        "upload_heading": "Upload imagery",
        "upload_choose": "Choose a GeoTIFF file…",
        "upload_title": "Title",
        "upload_title_ph": "e.g. Chaohu GF-1 scene",
        "upload_date": "Date",
        "upload_date_ph": "YYYY-MM-DD",
        "upload_bands": "Band names (optional)",
        "upload_bands_ph": "e.g. blue,green,red,nir",
        "upload_series": "Time series (optional)",
        "upload_series_ph": "e.g. ndvi",
        "upload_render": "Rendering",
        "render_default": "Default",
        "render_ndvi": "NDVI band math",
        "upload_start": "Upload",
        "upload_cancel": "Cancel",
        "upload_uploading": "Uploading {pct}% ({done} of {total})",
        "upload_converting": "Converting to COG… {pct}%",
        "upload_done": "Done: “{title}” was added to the layer list.",
        "upload_failed": "Upload failed: {detail}",
        "upload_cancelled": "Upload cancelled.",
        "upload_need_file": "Choose a GeoTIFF file (.tif / .tiff) first.",
        "upload_need_login": "Uploading imagery needs a login (analyst role or above): log in "
                             "and upload again.",
        "upload_need_role": "This account may not upload imagery (it needs the analyst role).",
        "upload_ndvi_bands": "NDVI needs band names that include red and nir, e.g. "
                             "blue,green,red,nir.",
        "upload_network": "Network error: the server could not be reached.",
        "upload_http": "The server answered HTTP {status}.",
        "upload_show_detail": "1",
        "upload_err_InvalidRaster": "The file is not a readable GeoTIFF",
        "upload_err_InvalidParameter": "A field is not valid",
        "upload_err_MissingFile": "The upload holds no file",
        "upload_err_PayloadTooLarge": "The file is larger than this server accepts",
        "upload_err_RasterTooLarge": "The raster has more pixels or bands than this server accepts",
        "upload_err_AlreadyExists": "A dataset with this id exists already",
        "upload_err_UnsupportedMediaType": "The server cannot read this kind of upload",
        "upload_err_UnsupportedFormat": "Only self-contained GeoTIFF/COG files are accepted "
                                        "(no VRT or other formats that reference other files)",
        "upload_err_NotFound": "The upload job no longer exists",
        "upload_err_ConversionFailed": "The conversion to COG failed",
        "opacity": "Opacity",
        "play": "Play",
        "series_step": "time step",
        "pause": "Pause",
        "beijing_time": "Beijing time",
        "bands": "Bands",
        "rgb": "RGB composite (R / G / B)",
        "pixel_loading": "Reading pixel values…",
        "pixel_value": "Value",
        "pixel_error": "Could not read the value",
        "cancel": "Cancel",
        "run": "Run",
        "job_accepted": "Submitted, waiting…",
        "job_running": "Computing {pct}%",
        "job_done": "Done",
        "job_failed": "The analysis failed; check the inputs and try again.",
        "job_cancelled": "Cancelled.",
        "err_invalid": "The value of “{field}” is not valid.",
        "err_missing": "“{field}” is missing.",
        "err_out_of_region": "“{field}” is outside the region; choose a place inside it.",
        "err_no_data": "There is no data for the chosen “{field}”; try another time.",
        "err_no_job": "The job no longer exists.",
        "err_unreachable": "The server could not be reached.",
        "err_server": "Server error (HTTP {status}); try again later.",
        "err_refused": "The server refused the request (HTTP {status}).",
        "view_layer_note": "{count} features: counted on a grid where dense, drawn one by "
                           "one when zoomed in",
        "tiles_missing": "The vector tile library could not be loaded: big layers cannot be "
                         "drawn.",
        "view_cluster_title": "{count} features, click to zoom in",
        "chart_title": "PM2.5, hourly, last 7 days",
        "chart_loading": "Reading the measurements…",
        "chart_empty": "No valid PM2.5 in the last 7 days.",
        "chart_error": "Could not read the measurements.",
        "zoom_in": "Zoom in",
        "zoom_out": "Zoom out",
        "leaflet_title": "A JavaScript library for interactive maps",
    },
}

#: Layer-list groups in display order: key -> (zh, en).
GROUPS: dict[str, tuple[str, str]] = {
    "monitoring": ("监测", "Monitoring"),
    "live": ("在线监控", "Online monitoring"),
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
    "outlets": "pollution",
    "alarms": "live",
    "devices": "live",
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


def add_strings(zh: dict[str, str], en: dict[str, str]) -> None:
    """Add a panel's strings to :data:`STRINGS` (both languages, same keys, no overrides)."""
    if set(zh) != set(en):
        raise ValueError(f"zh/en keys differ: {sorted(set(zh) ^ set(en))}")
    clash = set(zh) & set(STRINGS["zh"])
    if clash:
        raise ValueError(f"strings already defined: {sorted(clash)}")
    STRINGS["zh"].update(zh)
    STRINGS["en"].update(en)


def t(key: str, lang: str = DEFAULT_LANG, **kw: object) -> str:
    """The UI string ``key`` in ``lang`` (falling back to zh-CN), formatted with ``kw``."""
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANG])
    text = table.get(key, STRINGS[DEFAULT_LANG][key])
    return text.format(**kw) if kw else text


def group_title(group: str, lang: str = DEFAULT_LANG) -> str:
    """The heading of a layer-list group."""
    zh, en = GROUPS.get(group, GROUPS["other"])
    return zh if lang == "zh" else en


#: Upload error codes of the server (onemap/mapserver/uploads.py) the page words itself.
UPLOAD_ERRORS = tuple(f"upload_err_{c}" for c in (
    "InvalidRaster", "InvalidParameter", "MissingFile", "PayloadTooLarge", "RasterTooLarge",
    "AlreadyExists", "UnsupportedMediaType", "UnsupportedFormat", "NotFound",
    "ConversionFailed"))

#: Strings the browser scripts format themselves (upload progress, pixel-value popups).
JS_KEYS = ("upload_uploading", "upload_converting", "upload_done", "upload_failed",
           "upload_cancelled", "upload_need_file", "upload_need_login", "upload_need_role",
           "upload_ndvi_bands",
           "upload_network", "upload_http", "upload_show_detail", *UPLOAD_ERRORS, "no_data",
           "pixel_loading", "pixel_value", "pixel_error", "play", "pause")


def js_strings() -> dict[str, dict[str, str]]:
    """The :data:`JS_KEYS` strings in both languages, for a ``dcc.Store`` the scripts read."""
    return {lang: {k: STRINGS[lang][k] for k in JS_KEYS} for lang in LANGS}


def page_strings() -> dict[str, dict[str, str]]:
    """What ``assets/lang.js`` sets outside Dash: the tab title and Leaflet's own tooltips."""
    return {"page_title": PAGE_TITLES,
            **{k: {lang: STRINGS[lang][k] for lang in LANGS}
               for k in ("zoom_in", "zoom_out", "leaflet_title")}}


def pick(zh: str, en: str, lang: str) -> str:
    """The zh-CN or English variant of a pair, falling back to zh when English is missing."""
    return en if lang == "en" and en else zh
