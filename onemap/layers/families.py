"""The schema of every layer family: the fields OneMap expects, their types, ranges and codes.

A family is what a layer *is* (air stations, pollution sources, red lines…). Its schema says which
fields a file must provide (under any of the usual Chinese or English column names, listed as
aliases), what values are valid, and which geometry type it has. Imports of user files and of the
generated sample data are checked against these same schemas, so the server, the app and later
analyses can rely on the field names below.

Coded values are stored as stable English codes (``national``, ``school``…) so that both the zh-CN
and the English UI can label them; ``value_aliases`` maps the Chinese words found in real files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["str", "int", "float", "datetime", "date"]
GeometryKind = Literal["Point", "LineString", "Polygon"] | None

#: GB 32100-2015 unified social credit code (18 chars, no I O Z S V) + 3 digits + "P" (HJ 608-2017).
HJ608_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}\d{3}P$"
OUTLETS_PATTERN = r"^(D[AW]\d{3})(;D[AW]\d{3})*$"
#: An outlet's code: its source's HJ 608 code followed by the outlet number (DA001, DW002).
OUTLET_CODE_PATTERN = HJ608_PATTERN[:-1] + r"D[AW]\d{3}$"
#: An HJ 212 data-acquisition device (数采仪) code: 24 hex digits in HJ 212-2017, shorter
#: alphanumeric codes on older devices.
MN_PATTERN = r"^[0-9A-Za-z_-]{1,24}$"
ADCODE_PATTERN = r"^\d{6}$"

LEVELS = {"国家级": "national", "国家": "national", "省级": "provincial", "省": "provincial",
          "市级": "municipal", "市": "municipal", "县级": "county", "县": "county"}
WATER_CLASSES = ("I", "II", "III", "IV", "V", "V+")
CLASS_ALIASES = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅴ": "V", "劣V": "V+", "劣Ⅴ": "V+",
                 "1": "I", "2": "II", "3": "III", "4": "IV", "5": "V", "6": "V+"}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a family schema."""

    name: str
    type: FieldType
    label: str
    label_en: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    value_aliases: dict[str, str] = field(default_factory=dict)
    pattern: str | None = None
    unit: str = ""


@dataclass(frozen=True)
class Family:
    """A layer family: its schema, geometry and the key that identifies a feature."""

    name: str
    title: str
    title_en: str
    geometry: GeometryKind
    key: str
    fields: tuple[FieldSpec, ...]
    #: The family's time field, if its records are a time series or events.
    time_field: str | None = None
    #: Whether its layers take features edited one by one (OGC API Features Part 4) by
    #: default; a catalogue entry may say otherwise (:attr:`onemap.catalog.Entry.editable`).
    editable: bool = False
    #: Prefix of the keys made for features created without one: prefix, year, a 4-digit
    #: number (SJ20250001); "" means a created feature must bring its key.
    key_prefix: str = ""

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


def F(name: str, type: FieldType, label: str, label_en: str, *aliases: str, **kw) -> FieldSpec:  # noqa: N802
    return FieldSpec(name, type, label, label_en, aliases=aliases, **kw)


def _conc(name: str, label: str, label_en: str, unit: str, *aliases: str, maximum: float = 10000
          ) -> FieldSpec:
    return F(name, "float", label, label_en, *aliases, minimum=0, maximum=maximum, unit=unit)


NAME = F("name", "str", "名称", "Name", "名称", "站点名称", "监测点名称", "断面名称", "单位名称",
         "NAME", "Name", required=True)
COUNTY = F("county_code", "str", "所在区县代码", "County code", "区县代码", "行政区划代码",
           "adcode", pattern=ADCODE_PATTERN)
LEVEL = F("level", "str", "级别", "Level", "级别", "等级", choices=tuple(dict.fromkeys(
    LEVELS.values())), value_aliases=LEVELS)
AREA = F("area_km2", "float", "面积", "Area", "面积", "面积_km2", "area", minimum=0, unit="km²")

FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family("air_stations", "空气质量监测站", "Air quality stations", "Point", "station_id", (
        F("station_id", "str", "站点编码", "Station code", "站点编码", "监测点编码", "站号", "code",
          "station_code", required=True, pattern=r"^\d{4}[A-Z]$"),
        NAME, COUNTY,
        F("station_type", "str", "站点类型", "Station type", "站点类型", "类型", "type",
          required=True, choices=("national", "provincial", "municipal"),
          value_aliases={"国控": "national", "省控": "provincial", "市控": "municipal"}),
        F("city", "str", "城市", "City", "城市", "所在城市"),
    )),
    Family("air_hourly", "空气质量小时数据", "Air quality hourly data", None, "station_id", (
        F("station_id", "str", "站点编码", "Station code", "站点编码", "监测点编码", "code",
          required=True, pattern=r"^\d{4}[A-Z]$"),
        F("time", "datetime", "监测时间", "Time", "监测时间", "时间", "datetime", required=True),
        _conc("pm25", "PM2.5", "PM2.5", "µg/m³", "PM2.5", "PM25", "pm2_5"),
        _conc("pm10", "PM10", "PM10", "µg/m³", "PM10"),
        _conc("so2", "SO₂", "SO₂", "µg/m³", "SO2"),
        _conc("no2", "NO₂", "NO₂", "µg/m³", "NO2"),
        _conc("co", "CO", "CO", "mg/m³", "CO", maximum=200),
        _conc("o3", "O₃", "O₃", "µg/m³", "O3"),
        # Meteorology reported with the pollutants (气象参数): speed and the direction the
        # wind blows from, degrees clockwise from north.
        F("ws", "float", "风速", "Wind speed", "风速", "WS", "wind_speed", minimum=0, maximum=75,
          unit="m/s"),
        F("wd", "float", "风向", "Wind direction", "风向", "WD", "wind_direction", minimum=0,
          maximum=360, unit="°"),
        # HJ 212-2017 data flags: N normal, F stopped, M maintenance, S manual, D fault,
        # C calibration, T over range, B communication failure.
        F("flag", "str", "数据标识", "QC flag", "数据标识", "标记", "qc_flag", required=True,
          choices=("N", "F", "M", "S", "D", "C", "T", "B")),
    ), time_field="time"),
    Family("water_sections", "地表水监测断面", "Surface-water sections", "Point", "section_id", (
        F("section_id", "str", "断面编码", "Section code", "断面编码", "断面代码", "code",
          required=True),
        NAME, COUNTY,
        F("water_body", "str", "所在水体", "Water body", "河流名称", "所在水体", "河流", "river"),
        F("reach_id", "str", "河段编码", "Reach id", "河段编码"),
        # GB 3838 uses stricter TP limits on lakes and reservoirs, so the class needs this.
        F("water_body_type", "str", "水体类型", "Water-body type", "水体类型",
          choices=("river", "lake", "reservoir"),
          value_aliases={"河流": "river", "湖泊": "lake", "湖库": "lake", "水库": "reservoir"}),
        F("target_class", "str", "水质目标", "Target class", "水质目标", "目标类别", required=True,
          choices=WATER_CLASSES, value_aliases=CLASS_ALIASES),
        LEVEL,
    )),
    Family("water_samples", "地表水监测数据", "Surface-water samples", None, "section_id", (
        F("section_id", "str", "断面编码", "Section code", "断面编码", "code", required=True),
        F("time", "datetime", "采样时间", "Sampling time", "采样时间", "监测时间", "时间",
          required=True),
        F("wt", "float", "水温", "Water temperature", "水温", minimum=-5, maximum=45, unit="°C"),
        F("ph", "float", "pH", "pH", "pH", "PH", minimum=0, maximum=14),
        _conc("do", "溶解氧", "Dissolved oxygen", "mg/L", "溶解氧", "DO", maximum=30),
        _conc("codmn", "高锰酸盐指数", "Permanganate index", "mg/L", "高锰酸盐指数", "CODMn"),
        _conc("cod", "化学需氧量", "COD", "mg/L", "化学需氧量", "COD"),
        _conc("bod5", "五日生化需氧量", "BOD₅", "mg/L", "五日生化需氧量", "BOD5"),
        _conc("nh3n", "氨氮", "Ammonia nitrogen", "mg/L", "氨氮", "NH3-N", "NH3N"),
        _conc("tp", "总磷", "Total phosphorus", "mg/L", "总磷", "TP"),
        _conc("tn", "总氮", "Total nitrogen", "mg/L", "总氮", "TN"),
    ), time_field="time"),
    Family("pollution_sources", "污染源", "Pollution sources", "Point", "source_id", (
        F("source_id", "str", "排污单位编码", "Source code (HJ 608)", "排污单位编码",
          "污染源编码", "code", required=True, pattern=HJ608_PATTERN),
        F("name", "str", "单位名称", "Company", "单位名称", "企业名称", "name", required=True),
        F("industry_code", "str", "行业代码", "Industry code", "行业代码", "行业类别代码",
          required=True, pattern=r"^[A-T]\d{2,4}$"),
        F("industry", "str", "行业类别", "Industry", "行业类别", "行业名称"),
        F("permit_id", "str", "排污许可证编号", "Permit number", "排污许可证编号", "许可证编号",
          pattern=HJ608_PATTERN),
        F("permit_class", "str", "许可管理类别", "Permit class", "管理类别", "许可管理类别",
          choices=("key", "simplified", "registration"),
          value_aliases={"重点管理": "key", "简化管理": "simplified", "登记管理": "registration"}),
        F("permit_valid_until", "date", "许可证有效期至", "Permit valid until", "有效期至"),
        F("outlets", "str", "排放口", "Outlets", "排放口", "排放口编号", pattern=OUTLETS_PATTERN),
        COUNTY,
        F("so2_t", "float", "二氧化硫排放量", "SO₂ emission", "二氧化硫", minimum=0, unit="t/a"),
        F("nox_t", "float", "氮氧化物排放量", "NOx emission", "氮氧化物", minimum=0, unit="t/a"),
        F("pm_t", "float", "颗粒物排放量", "PM emission", "颗粒物", minimum=0, unit="t/a"),
        F("voc_t", "float", "挥发性有机物排放量", "VOC emission", "挥发性有机物", "VOCs",
          minimum=0, unit="t/a"),
        F("cod_t", "float", "化学需氧量排放量", "COD discharge", "化学需氧量", minimum=0,
          unit="t/a"),
        F("nh3n_t", "float", "氨氮排放量", "NH₃-N discharge", "氨氮", minimum=0, unit="t/a"),
    )),
    # Outlets with their permit's concentration limits (排污许可证载明的许可排放浓度) and, when
    # monitored online, the HJ 212 device (MN) that reports their readings.
    Family("outlets", "排放口", "Outlets", "Point", "outlet_code", (
        F("outlet_code", "str", "排放口编码", "Outlet code", "排放口编码", "code",
          required=True, pattern=OUTLET_CODE_PATTERN),
        F("source_id", "str", "排污单位编码", "Source code (HJ 608)", "排污单位编码",
          required=True, pattern=HJ608_PATTERN),
        F("outlet_id", "str", "排放口编号", "Outlet number", "排放口编号", required=True,
          pattern=r"^D[AW]\d{3}$"),
        F("medium", "str", "排放类型", "Discharge", "排放类型", "类型", required=True,
          choices=("air", "water"), value_aliases={"废气": "air", "废水": "water"}),
        F("mn", "str", "数采仪编码", "Device code (MN)", "数采仪编码", "MN", pattern=MN_PATTERN),
        F("standard", "str", "执行标准", "Emission standard", "执行标准", "排放标准"),
        _conc("so2_limit", "二氧化硫许可浓度", "SO₂ limit", "mg/m³", "二氧化硫限值"),
        _conc("nox_limit", "氮氧化物许可浓度", "NOx limit", "mg/m³", "氮氧化物限值"),
        _conc("pm_limit", "颗粒物许可浓度", "Particulate limit", "mg/m³", "颗粒物限值"),
        _conc("nmhc_limit", "非甲烷总烃许可浓度", "NMHC limit", "mg/m³", "非甲烷总烃限值"),
        _conc("cod_limit", "化学需氧量许可浓度", "COD limit", "mg/L", "化学需氧量限值"),
        _conc("nh3n_limit", "氨氮许可浓度", "NH₃-N limit", "mg/L", "氨氮限值"),
        _conc("tp_limit", "总磷许可浓度", "TP limit", "mg/L", "总磷限值"),
        _conc("tn_limit", "总氮许可浓度", "TN limit", "mg/L", "总氮限值"),
        F("ph_min", "float", "pH下限", "pH lower limit", "pH下限", minimum=0, maximum=14),
        F("ph_max", "float", "pH上限", "pH upper limit", "pH上限", minimum=0, maximum=14),
        COUNTY,
    )),
    Family("protected_areas", "自然保护地", "Protected areas", "Polygon", "area_id", (
        F("area_id", "str", "保护地编码", "Area code", "保护地编码", "编码", "code", required=True),
        NAME,
        F("category", "str", "类型", "Category", "类型", "保护地类型", required=True,
          choices=("nature_reserve", "forest_park", "wetland_park", "scenic_area", "geopark"),
          value_aliases={"自然保护区": "nature_reserve", "森林公园": "forest_park",
                         "湿地公园": "wetland_park", "风景名胜区": "scenic_area",
                         "地质公园": "geopark"}),
        LEVEL, AREA,
        F("established", "int", "设立年份", "Established", "设立年份", "建立时间", minimum=1950,
          maximum=2100),
    )),
    Family("red_lines", "生态保护红线", "Ecological red lines", "Polygon", "redline_id", (
        F("redline_id", "str", "红线编码", "Red-line code", "红线编码", "编码", "code",
          required=True),
        NAME, COUNTY, AREA,
        F("function", "str", "主导功能", "Main function", "主导功能", "功能类型", required=True,
          choices=("water_conservation", "biodiversity", "soil_conservation", "windbreak",
                   "erosion_control", "shoreline"),
          value_aliases={"水源涵养": "water_conservation", "生物多样性维护": "biodiversity",
                         "水土保持": "soil_conservation", "防风固沙": "windbreak",
                         "水土流失": "erosion_control", "岸线生态稳定": "shoreline"}),
    )),
    Family("incidents", "突发环境事件", "Environmental incidents", "Point", "incident_id", (
        F("incident_id", "str", "事件编号", "Incident id", "事件编号", "编号", "id",
          required=True),
        F("title", "str", "事件名称", "Title", "事件名称", "标题", required=True),
        F("time", "datetime", "发生时间", "Time", "发生时间", "时间", required=True),
        F("type", "str", "事件类型", "Type", "事件类型", "类型", required=True,
          choices=("water", "air", "soil", "chemical", "radiation", "other"),
          value_aliases={"水污染": "water", "大气污染": "air", "土壤污染": "soil",
                         "危险化学品": "chemical", "辐射": "radiation", "其他": "other"}),
        # 《国家突发环境事件应急预案》: 特别重大 I, 重大 II, 较大 III, 一般 IV.
        F("level", "str", "事件级别", "Level", "事件级别", "级别", required=True,
          choices=("I", "II", "III", "IV"),
          value_aliases={"特别重大": "I", "重大": "II", "较大": "III", "一般": "IV",
                         **{k: v for k, v in CLASS_ALIASES.items() if v in ("I", "II", "III",
                                                                           "IV")}}),
        F("status", "str", "处置状态", "Status", "处置状态", "状态", required=True,
          choices=("reported", "responding", "closed"),
          value_aliases={"已报告": "reported", "处置中": "responding", "已结束": "closed"}),
        F("pollutant", "str", "特征污染物", "Pollutant", "特征污染物", "污染物"),
        F("description", "str", "事件描述", "Description", "事件描述", "描述"),
    ), time_field="time", editable=True, key_prefix="SJ"),
    Family("rivers", "河流水系", "Rivers", "LineString", "reach_id", (
        F("reach_id", "str", "河段编码", "Reach id", "河段编码", "编码", required=True),
        NAME,
        # Reaches are digitised downstream; downstream_id links the network (empty at an outlet).
        F("downstream_id", "str", "下游河段", "Downstream reach", "下游河段"),
        F("stream_order", "int", "河流等级", "Stream order", "河流等级", minimum=1, maximum=12),
        F("length_km", "float", "长度", "Length", "长度", minimum=0, unit="km"),
    )),
    Family("water_bodies", "湖库水面", "Lakes and reservoirs", "Polygon", "water_body_id", (
        F("water_body_id", "str", "水体编码", "Water-body id", "水体编码", "编码", required=True),
        NAME,
        F("kind", "str", "类型", "Kind", "类型", choices=("lake", "reservoir"),
          value_aliases={"湖泊": "lake", "水库": "reservoir"}),
        AREA,
    )),
    Family("water_source_zones", "饮用水水源保护区", "Drinking-water source protection zones",
           "Polygon", "zone_id", (
        F("zone_id", "str", "保护区编码", "Zone id", "保护区编码", "编码", required=True),
        F("source_name", "str", "水源地名称", "Source", "水源地名称", required=True),
        F("grade", "str", "保护区级别", "Zone grade", "保护区级别", "级别", required=True,
          choices=("primary", "secondary", "quasi"),
          value_aliases={"一级": "primary", "一级保护区": "primary", "二级": "secondary",
                         "二级保护区": "secondary", "准保护区": "quasi"}),
        F("intake_id", "str", "取水口编码", "Intake id", "取水口编码"),
        AREA,
    )),
    Family("water_intakes", "饮用水取水口", "Drinking-water intakes", "Point", "intake_id", (
        F("intake_id", "str", "取水口编码", "Intake id", "取水口编码", "编码", required=True),
        NAME,
        F("source_name", "str", "水源地名称", "Source", "水源地名称"),
        F("capacity_m3d", "float", "取水规模", "Capacity", "取水规模", minimum=0, unit="m³/d"),
        F("population", "int", "服务人口", "Population served", "服务人口", minimum=0),
    )),
    Family("sensitive_receptors", "环境敏感点", "Sensitive receptors", "Point", "receptor_id", (
        F("receptor_id", "str", "敏感点编码", "Receptor id", "敏感点编码", "编码", required=True),
        NAME, COUNTY,
        F("kind", "str", "类型", "Kind", "类型", required=True,
          choices=("school", "kindergarten", "hospital", "elderly_care", "residential"),
          value_aliases={"学校": "school", "幼儿园": "kindergarten", "医院": "hospital",
                         "养老院": "elderly_care", "居民区": "residential"}),
        F("population", "int", "人数", "People", "人数", "人口", minimum=0),
    )),
    Family("admin_boundaries", "行政区划", "Administrative boundaries", "Polygon", "adcode", (
        F("adcode", "str", "行政区划代码", "Admin code", "行政区划代码", "代码", "code",
          required=True, pattern=ADCODE_PATTERN),
        NAME,
        F("admin_level", "str", "层级", "Admin level", "层级", required=True,
          choices=("province", "city", "county"),
          value_aliases={"省": "province", "市": "city", "县": "county", "区": "county"}),
        F("parent_adcode", "str", "上级代码", "Parent code", "上级代码", pattern=ADCODE_PATTERN),
    )),
]}


def get_family(name: str) -> Family:
    """The family called ``name``; a ValueError listing the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}") from None
