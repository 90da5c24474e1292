"""The MapServer mapfiles of ``/wms`` and ``/wfs``, generated from the catalogue and styles/.

MapServer (the engine behind WMS 1.3.0 and WFS 2.0, see :mod:`onemap.mapserver.wms_pool`) draws
only what these files say, and they are written only from the catalogue: every ``CONNECTION``
and ``DATA`` is a catalogued file (or a per-step raster derived from a catalogued cube here),
never anything a request names. Symbology comes from :mod:`onemap.styles` — the web map's
classes and colours for vectors, the titiler defaults' colormap and rescale for rasters — so a
WMS client sees the same map.

Two files: ``wms.map`` (big point layers as a group of a clustered layer at small scales and
the points themselves from :data:`DETAIL_SCALE` down, so no feature is silently dropped; raster
series and cubes with a TIME dimension) and ``wfs.map`` (every vector layer plainly, by id).
They are rewritten (temporary file + rename) when the catalogue's signature changes; the
worker processes reload a file whose modification time changed.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

from onemap.catalog import Entry, atomic_write_bytes
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from onemap.mapserver import wms_time
from onemap.raster.stac import series_title
from onemap.styles.colormaps import RASTER_STYLES
from onemap.styles.symbology import AQI_LEVELS, FAMILY_STYLES, NO_DATA_COLOR

#: The CRSs every layer is offered in (WGS 84, CGCS2000, Web Mercator; CRS:84 lon/lat).
WMS_SRS = "EPSG:4326 EPSG:4490 EPSG:3857 CRS:84"
#: Point layers with more features than this are drawn as clusters at small scales.
CLUSTER_MIN_FEATURES = 1000
#: Scale denominator (≈ Web Mercator zoom 13, where the web map starts drawing big layers
#: feature by feature) from which big point layers are drawn as points.
DETAIL_SCALE = 68_500
#: Font files tried, in order, for labels (Chinese needs a CJK font).
FONT_GLOBS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/**/*CJK*.tt[cf]")
GEOM_TYPES = {"point": "POINT", "multipoint": "POINT", "linestring": "LINE",
              "multilinestring": "LINE", "polygon": "POLYGON", "multipolygon": "POLYGON"}
#: MapServer's GML geometry types by GeoPackage geometry type: WFS DescribeFeatureType then
#: names the layer's own type (gml:PointPropertyType…), not GeometryPropertyType.
GML_TYPES = {"point": "point", "multipoint": "multipoint", "linestring": "line",
             "multilinestring": "multiline", "polygon": "polygon", "multipolygon": "multipolygon"}


def q(text: object) -> str:
    """A mapfile string literal (MapServer strings take backslash escapes)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def rgb(color: str) -> str:
    c = color.lstrip("#")
    return f"{int(c[0:2], 16)} {int(c[2:4], 16)} {int(c[4:6], 16)}"


def wms_dir(settings: Settings) -> Path:
    return settings.runtime_dir / "wms"


def signature(entries: dict[str, Entry]) -> str:
    """What the mapfiles depend on: every entry as catalogued, and this module (an upgraded
    server writes its mapfiles anew rather than serving the old version's)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for entry in sorted(entries.values(), key=lambda e: e.id):
        digest.update(entry.model_dump_json().encode("utf-8"))
    return digest.hexdigest()[:16]


def font_file() -> str | None:
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def gpkg_layer(path: Path, default: str) -> str:
    """The feature table of a layer's GeoPackage (the id, as our import names it)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = "
                               "'features' ORDER BY table_name").fetchall()
    except sqlite3.Error:
        return default
    names = [r[0] for r in rows]
    return default if default in names or not names else names[0]


def metadata(pairs: dict[str, str]) -> str:
    return "METADATA\n" + "".join(f"  {q(k)} {q(v)}\n" for k, v in pairs.items()) + "END"


def _layer_meta(entry: Entry, name: str, extra: dict[str, str] | None = None) -> str:
    pairs = {"ows_title": entry.title or entry.id, "ows_abstract": entry.title_en or entry.title,
             "wms_srs": WMS_SRS, "wfs_srs": WMS_SRS, "ows_include_items": "all",
             "gml_include_items": "all", "gml_featureid": "fid", "wfs_featureid": "fid",
             "gml_types": "auto", "wms_enable_request": "*", "wfs_enable_request": "*",
             "ows_name": name}
    if entry.bbox:
        pairs["wms_extent"] = " ".join(f"{v:.7f}" for v in entry.bbox)
    return metadata({**pairs, **(extra or {})})


def _point_style(style: dict, fill: str) -> str:
    size = 2 * float(style.get("radius", 5))
    opacity = round(100 * float(style.get("fillOpacity", 1.0)))
    outline = style.get("color", "#333333")
    return (f"STYLE SYMBOL \"circle\" SIZE {size:g} COLOR {rgb(fill)} OPACITY {opacity} "
            f"OUTLINECOLOR {rgb(outline)} WIDTH {float(style.get('weight', 1)):g} END")


def _styles(family: str, geometry: str, fill: str) -> str:
    """A class's STYLE blocks for ``family``, filled with ``fill`` (leaflet's path options)."""
    style = FAMILY_STYLES.get(family, {"color": "#3388ff", "weight": 2})
    line = style.get("color", "#3388ff")
    width = float(style.get("weight", 1))
    dash = style.get("dashArray", "")
    pattern = f" PATTERN {dash} END" if dash else ""
    if geometry == "POINT":
        return _point_style(style, fill)
    if geometry == "LINE":
        opacity = round(100 * float(style.get("opacity", 1.0)))
        return f"STYLE COLOR {rgb(line)} WIDTH {width:g} OPACITY {opacity}{pattern} END"
    out = ""
    if style.get("fill", True):
        opacity = round(100 * float(style.get("fillOpacity", 0.2)))
        out += f"STYLE COLOR {rgb(fill)} OPACITY {opacity} END "
    return out + f"STYLE OUTLINECOLOR {rgb(line)} WIDTH {width:g}{pattern} END"


def vector_classes(entry: Entry, geometry: str) -> str:
    """One CLASS per symbology class of the entry's family, as the web map colours it; a
    last class without expression for values outside them (the map's no-data grey)."""
    style = FAMILY_STYLES.get(entry.family, {})
    by, classes = style.get("by"), style.get("classes")
    default_fill = style.get("fillColor") or style.get("color", "#3388ff")
    out = []
    if by and by in entry.fields and entry.family == "air_stations":
        for lv in AQI_LEVELS:
            expr = f"([{by}] >= {lv.low} AND [{by}] <= {lv.high})"
            out.append(f"CLASS NAME {q(lv.label)} EXPRESSION {expr} "
                       f"{_styles(entry.family, geometry, lv.color)} END")
        default_fill = NO_DATA_COLOR
    elif by and classes and by in entry.fields:
        for c in classes:
            out.append(f"CLASS NAME {q(c.label)} EXPRESSION ('[{by}]' eq {q(c.value)}) "
                       f"{_styles(entry.family, geometry, c.color)} END")
        default_fill = NO_DATA_COLOR
    elif by:
        default_fill = NO_DATA_COLOR  # the web map's colour for a feature without its value
    name = "其他" if out else (entry.title or entry.id)
    out.append(f"CLASS NAME {q(name)} {_styles(entry.family, geometry, default_fill)} END")
    return "\n".join(out)


def vector_layer(entry: Entry, settings: Settings, name: str, wms: bool = True,
                 scale: str = "", group: str = "") -> str:
    path = entry.file(settings)
    geometry = GEOM_TYPES.get((entry.geometry_type or "").lower(), "POLYGON")
    extra = {} if wms else {"wms_enable_request": "!*"}
    gml = GML_TYPES.get((entry.geometry_type or "").lower())
    if gml:
        extra.update({"gml_geometries": "msGeometry", "gml_msGeometry_type": gml})
    # a GeoPackage DATE column is text to OGR: say it is a date, as the catalogue does
    extra.update({f"gml_{name}_type": "Date" for name, kind in entry.fields.items()
                  if kind == "date"})
    family = FAMILIES.get(entry.family)
    if family and family.key in entry.fields:  # OGR's row id is no item MapServer can read
        extra.update({"gml_featureid": family.key, "wfs_featureid": family.key})
    return "\n".join([
        "LAYER", f"NAME {q(name)}", f"TYPE {geometry}", "STATUS ON",
        f"GROUP {q(group)}" if group else "",
        "CONNECTIONTYPE OGR", f"CONNECTION {q(path)}", f"DATA {q(gpkg_layer(path, entry.id))}",
        'PROJECTION "init=epsg:4326" END', scale,
        "TEMPLATE \"query\"", "TOLERANCE 6", "TOLERANCEUNITS PIXELS",
        _layer_meta(entry, name, {**extra, **({"wms_group_title": entry.title} if group else {})}),
        vector_classes(entry, geometry), "END"])


def cluster_layer(entry: Entry, settings: Settings, name: str, group: str) -> str:
    """Big point layers at small scales: MapServer's clusters, each labelled with its count
    (the grid counts of the web map, drawn by the engine)."""
    path = entry.file(settings)
    style = FAMILY_STYLES.get(entry.family, {})
    color = style.get("fillColor") or (style.get("classes") or [None])[0]
    fill = color.color if hasattr(color, "color") else (color or "#3388ff")
    return "\n".join([
        "LAYER", f"NAME {q(name)}", "TYPE POINT", "STATUS ON", f"GROUP {q(group)}",
        "CONNECTIONTYPE OGR", f"CONNECTION {q(path)}", f"DATA {q(gpkg_layer(path, entry.id))}",
        'PROJECTION "init=epsg:4326" END', f"MINSCALEDENOM {DETAIL_SCALE}",
        'CLUSTER MAXDISTANCE 48 REGION "ellipse" END', 'LABELITEM "Cluster_FeatureCount"',
        "TEMPLATE \"query\"", "TOLERANCE 6", "TOLERANCEUNITS PIXELS",
        _layer_meta(entry, name, {"wfs_enable_request": "!*",
                                  "ows_title": f"{entry.title}（聚合）",
                                  "wms_group_title": entry.title}),
        f'CLASS NAME "聚合（数量）" STYLE SYMBOL "circle" SIZE 26 COLOR {rgb(fill)} OPACITY 85 '
        'OUTLINECOLOR 255 255 255 WIDTH 1.5 END '
        'LABEL TYPE TRUETYPE FONT "cjk" SIZE 8 COLOR 255 255 255 POSITION CC FORCE TRUE '
        "OUTLINECOLOR 0 0 0 OUTLINEWIDTH 1 END END", "END"])


def raster_classes(style_name: str | None, rescale: list | None) -> tuple[str, str]:
    """(PROCESSING lines, CLASS blocks): a colormap as ramps between its stops (clamped at
    both ends, as titiler's rescale + colormap draw it), else a linear stretch."""
    if style_name in RASTER_STYLES:
        st = RASTER_STYLES[style_name]
        stops = st.stops
        out = [f"CLASS NAME {q(f'< {stops[0][0]:g}')} EXPRESSION ([pixel] < {stops[0][0]}) "
               f"STYLE COLOR {rgb(stops[0][1])} END END"]
        for (v0, c0), (v1, c1) in zip(stops[:-1], stops[1:], strict=True):
            out.append(f"CLASS NAME {q(f'{v0:g} – {v1:g} {st.unit}'.strip())} "
                       f"EXPRESSION ([pixel] >= {v0} AND [pixel] < {v1}) "
                       f"STYLE COLORRANGE {rgb(c0)} {rgb(c1)} DATARANGE {v0} {v1} END END")
        out.append(f"CLASS NAME {q(f'≥ {stops[-1][0]:g}')} EXPRESSION ([pixel] >= "
                   f"{stops[-1][0]}) STYLE COLOR {rgb(stops[-1][1])} END END")
        return "", "\n".join(out)
    if rescale:
        low, high = (rescale[0] if isinstance(rescale[0], list | tuple) else rescale)[:2]
        return f'PROCESSING "SCALE={low},{high}"', ""
    return 'PROCESSING "SCALE=AUTO"', ""


def raster_layer(entry: Entry, name: str, source: str, time: dict[str, str] | None = None,
                 title: str | None = None) -> str:
    """A raster (``source`` a file, or a tile index with a TIME dimension)."""
    extra = entry.extra or {}
    processing, classes = raster_classes(extra.get("colormap"), extra.get("rescale"))
    bidx = extra.get("bidx")
    if bidx:
        processing += f'\nPROCESSING "BANDS={",".join(str(b) for b in bidx)}"'
    if time:
        data = (f"TILEINDEX {q(source)}\nTILEITEM \"location\"\nTILESRS \"src_srs\"\n"
                'PROJECTION "init=epsg:4326" END')
    else:
        data = f'DATA {q(source)}\nPROJECTION "AUTO" END'
    meta = {"ows_title": title or entry.title or entry.id, "wfs_enable_request": "!*",
            "gml_featureid": ""}
    if time:
        meta.update({"wms_timeitem": "time", **time})
    return "\n".join(["LAYER", f"NAME {q(name)}", "TYPE RASTER", "STATUS ON", data,
                      processing, 'PROCESSING "RESAMPLE=BILINEAR"', 'TEMPLATE "query"',
                      _layer_meta(entry, name, meta), classes, "END"])


def header(settings: Settings, entries: list[Entry], service: str, fontset: str | None) -> str:
    boxes = [e.bbox for e in entries if e.bbox] or [[73.0, 3.0, 136.0, 54.0]]
    extent = (min(b[0] for b in boxes), min(b[1] for b in boxes),
              max(b[2] for b in boxes), max(b[3] for b in boxes))
    web = {"ows_enable_request": "*", "ows_title": "OneMap 生态环境一张图",
           "ows_abstract": "OneMap WMS 1.3.0 / WFS 2.0 (MapServer), from the OneMap catalogue",
           "ows_onlineresource": f"{settings.public_url}/{service}?",
           "wms_srs": WMS_SRS, "wfs_srs": WMS_SRS, "ows_encoding": "UTF-8",
           "wms_sld_enabled": "false", "wms_enable_request": "* !GetStyles",
           "wms_getfeatureinfo_formatlist": "text/plain,application/json,"
                                            "application/vnd.ogc.gml,text/xml",
           "wms_feature_info_mime_type": "text/plain",
           "wfs_getfeature_formatlist": "geojson", "wfs_maxfeatures": str(settings.max_items),
           "ows_schemas_location": "http://schemas.opengis.net"}
    return "\n".join([
        "MAP", 'NAME "onemap"', "STATUS ON", "SIZE 256 256", "MAXSIZE 4096", "UNITS DD",
        "EXTENT " + " ".join(f"{v:.7f}" for v in extent),
        f"FONTSET {q(fontset)}" if fontset else "",
        'CONFIG "MS_ERRORFILE" "stderr"', 'CONFIG "ON_MISSING_DATA" "LOG"',
        'PROJECTION "init=epsg:4326" END', "IMAGECOLOR 255 255 255",
        'SYMBOL NAME "circle" TYPE ELLIPSE FILLED TRUE POINTS 1 1 END END',
        'OUTPUTFORMAT NAME "png" DRIVER "AGG/PNG" MIMETYPE "image/png" IMAGEMODE RGBA '
        'TRANSPARENT ON EXTENSION "png" END',
        'OUTPUTFORMAT NAME "jpeg" DRIVER "AGG/JPEG" MIMETYPE "image/jpeg" IMAGEMODE RGB '
        'EXTENSION "jpg" END',
        'OUTPUTFORMAT NAME "geojson" DRIVER "OGR/GEOJSON" MIMETYPE "application/json" '
        'FORMATOPTION "STORAGE=memory" FORMATOPTION "FORM=SIMPLE" '
        'FORMATOPTION "LCO:RFC7946=YES" END',
        "LEGEND KEYSIZE 18 12 LABEL TYPE TRUETYPE FONT \"cjk\" SIZE 9 COLOR 0 0 0 END END"
        if fontset else "",
        "WEB", metadata(web), "END"])


def build(settings: Settings, entries: dict[str, Entry], folder: Path
          ) -> dict[str, str]:
    """Mapfile texts by service, writing the time indexes into ``folder`` (and the cube
    steps it uses, listed in its ``uses.txt``)."""
    font = font_file()
    fontset = None
    if font:
        fontset = str(folder / "fonts.txt")
        (folder / "fonts.txt").write_text(f"cjk {font}\n", encoding="utf-8")
    ordered = sorted(entries.values(), key=lambda e: e.id)
    wms, wfs = [], []
    series: dict[str, list[Entry]] = {}
    for entry in ordered:
        if entry.kind == "vector" and entry.file(settings).exists():
            big = ((entry.geometry_type or "").lower() in ("point", "multipoint")
                   and entry.feature_count > CLUSTER_MIN_FEATURES)
            if big:
                wms.append(cluster_layer(entry, settings, f"{entry.id}_clusters", entry.id))
                wms.append(vector_layer(entry, settings, f"{entry.id}_points",
                                        scale=f"MAXSCALEDENOM {DETAIL_SCALE}", group=entry.id))
            else:
                wms.append(vector_layer(entry, settings, entry.id))
            wfs.append(vector_layer(entry, settings, entry.id, wms=False))
        elif entry.kind == "raster" and entry.file(settings).exists():
            wms.append(raster_layer(entry, entry.id, str(entry.file(settings))))
            collection = (entry.extra or {}).get("collection")
            if collection and (entry.extra or {}).get("date"):
                series.setdefault(collection, []).append(entry)
        elif entry.kind == "cube" and entry.extra.get("times") and entry.file(settings).exists():
            used, steps = wms_time.cube_steps(entry, settings, wms_dir(settings))
            with open(folder / "uses.txt", "a", encoding="utf-8") as fh:
                fh.write(used.name + "\n")
            index = wms_time.time_index(folder, entry.id, steps)
            times = [s[0] for s in steps]
            wms.append(raster_layer(entry, entry.id, str(index), {
                "wms_timeextent": wms_time.extent(times), "wms_timedefault": times[0]}))
    for collection, members in sorted(series.items()):
        if collection in entries or len(members) < 2:
            continue
        members.sort(key=lambda e: str(e.extra["date"]))
        steps = [(str(e.extra["date"]), e.file(settings), e.extra.get("crs") or "EPSG:4326")
                 for e in members]
        index = wms_time.time_index(folder, collection, steps)
        times = [s[0] for s in steps]
        wms.append(raster_layer(members[-1], collection, str(index), {
            "wms_timeextent": ",".join(times), "wms_timedefault": times[-1]},
            title=f"{series_title(collection, members)}（{times[0]} … {times[-1]}）"))
    return {"wms": "\n".join([header(settings, ordered, "wms", fontset), *wms, "END"]),
            "wfs": "\n".join([header(settings, ordered, "wfs", fontset), *wfs, "END"])}


def write(settings: Settings, entries: dict[str, Entry]) -> Path:
    """Write the mapfiles for ``entries`` into a new folder named by their signature (the
    old one stays whole for workers still drawing from it), then point ``current.json`` at it.
    Returns that folder. The folder is named by the signature, so no worker reads it before
    ``current.json`` names it."""
    base = wms_dir(settings)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".build.lock", "w") as lock:  # the server's workers build in turn
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _write(settings, entries, base)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(settings: Settings, entries: dict[str, Entry], base: Path) -> Path:
    sig = signature(entries)
    folder = base / sig
    if not (folder / "wms.map").exists():  # a folder without it is a crashed build: redo
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        texts = build(settings, entries, folder)
        for service in ("wfs", "wms"):  # wms.map last: its presence marks a whole build
            atomic_write_bytes(folder / f"{service}.map", texts[service].encode("utf-8"))
    current = base / "current.json"
    previous = json.loads(current.read_text())["signature"] if current.exists() else ""
    atomic_write_bytes(current, json.dumps({"folder": str(folder), "signature": sig}).encode())
    keep = {sig, previous, "steps"}
    for old in base.iterdir():  # the previous build stays for requests still drawing from it
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    uses = {line for name in (sig, previous) if (base / name / "uses.txt").exists()
            for line in (base / name / "uses.txt").read_text().split()}
    for old in (base / "steps").glob("*") if (base / "steps").exists() else ():
        if old.name not in uses:
            shutil.rmtree(old, ignore_errors=True)
    return folder

