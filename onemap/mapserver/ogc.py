"""pygeoapi configuration generated from the catalogue, and the mounted pygeoapi app.

The config is derived, never hand-written: every vector layer and attribute table in the
catalogue becomes one OGC API Features collection backed by :class:`OneMapProvider`, so an
imported layer appears on the next start without anyone editing YAML.

pygeoapi reads ``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI`` when ``pygeoapi.starlette_app`` is
imported, so :func:`load_pygeoapi` writes both files into ``settings.process_dir`` first, then
imports (or, for a second app in the same process, reloads) that module.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import pyogrio
import yaml

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.edits import editable
from onemap.layers.families import FAMILIES
from onemap.mapserver import edr, ogc_access, ogc_describe, ogc_edits, ogc_paging, records
from onemap.mapserver.errors import internal_error
from onemap.mapserver.offline import write_templates
from onemap.mapserver.ogc_crs import provider_crs
from onemap.mapserver.ogc_gate import OGC_PREFIX, RejectUnknownParams
from onemap.mapserver.processing import MANAGER, process_resources
from onemap.mapserver.processing.manager import manager_settings
from onemap.mapserver.views import materialise
from onemap.store import served_from_postgis

PROVIDER = "onemap.mapserver.provider.OneMapProvider"
PG_PROVIDER = "onemap.mapserver.provider_pg.PgProvider"
#: A 1×1 transparent PNG: pygeoapi's HTML map needs a tile URL, and an offline intranet has no
#: public tile server, so the default basemap draws nothing instead of failing requests.
BLANK_TILE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42"
              "mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def _i18n(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en or zh}


def collection(entry: Entry, settings: Settings, data: Path | None = None) -> dict[str, Any]:
    """One pygeoapi ``collection`` resource for a vector layer or attribute table.

    ``data`` replaces the layer's own file with a materialised view of it (see views.py).
    """
    family = FAMILIES.get(entry.family)
    extra = entry.extra or {}
    # A dataset of no family (the live tables) names its key and time in its entry.
    key = family.key if family else extra.get("key")
    # A time series repeats its family key (one row per station and hour): use the row id.
    id_field = key if entry.kind == "vector" and key else "fid"
    time_field = family.time_field if family else extra.get("time_field")
    fields = entry.fields or {}
    if time_field and fields and time_field not in fields:
        time_field = None
    title_field = "name" if "name" in fields else ("title" if "title" in fields else None)
    description = entry.description or (family.title if family else entry.title)
    shape = ogc_describe.geometry_format(entry.geometry_type) if entry.kind == "vector" else None
    res: dict[str, Any] = {
        "type": "collection",
        "title": _i18n(entry.title, entry.title_en),
        "description": _i18n(f"{description}（访问级别：{entry.access}）",
                             f"{entry.title_en or entry.title} (access: {entry.access})"),
        "keywords": [k for k in (entry.family, entry.kind, f"access:{entry.access}") if k],
        "links": [{
            "type": "application/json", "rel": "describedby", "title": "OneMap catalogue",
            "href": f"{settings.public_url}/api/catalog#{entry.id}", "hreflang": "zh-CN",
        }],
        "extents": {"spatial": {
            "bbox": entry.bbox or [-180.0, -90.0, 180.0, 90.0],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }},
        "providers": [{
            "type": "feature", "data": str(data or entry.file(settings)),
            # a layer loaded into PostGIS is read there (a view of one stays a file)
            "name": PG_PROVIDER if data is None and served_from_postgis(entry, settings)
            else PROVIDER,
            "id_field": id_field,
            # Part 4 writes (ogc_edits.py) go to the layer's own file, never to a view of it
            "editable": data is None and editable(entry),
            # the provider asks the access policy, which reads the catalogue and the rules
            "options": {"table": entry.id, "data_dir": str(settings.data_dir),
                        "system_db": settings.system_db, "database_url": settings.database_url},
            # Part 2: the CRSs a layer is served in (ogc_crs.py); a table has none
            **provider_crs(shape is not None),
        }],
        # Carried for the role-based access issue: it filters on this without a migration.
        # ``geometry``: the Part 5 geometry format, None for an attribute table (a pygeoapi
        # config needs a spatial extent; ogc_describe.py keeps the table's out of every answer)
        "onemap": {"access": entry.access, "kind": entry.kind, "family": entry.family,
                   "geometry": shape},
    }
    if entry.kind == "vector":  # vector tiles (onemap.mapserver.vtiles)
        tiles = f"{settings.public_url}{OGC_PREFIX}/collections/{entry.id}/tiles"
        res["links"] += [
            {"type": "application/json", "title": "Vector tilesets (Mapbox Vector Tiles)",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "href": tiles},
            {"type": "application/json", "rel": "describedby", "title": "TileJSON",
             "href": f"{tiles}/WebMercatorQuad/tilejson.json"},
            {"type": "application/vnd.mapbox.style+json", "rel": "stylesheet",
             "title": "MapLibre / Mapbox GL style", "href": f"{tiles}/WebMercatorQuad/style.json"},
        ]
    if time_field:
        res["providers"][0]["time_field"] = time_field
        if entry.time_extent:
            begin, end = (ogc_access.when(t) for t in (entry.time_extent + [None, None])[:2])
            res["extents"]["temporal"] = {"begin": begin, "end": end}
    if title_field:
        res["providers"][0]["title_field"] = title_field
    return res


def build_config(settings: Settings) -> dict[str, Any]:
    """The whole pygeoapi config for ``settings``' catalogue."""
    entries = catalog.load(settings)
    # before the views: an index made in a series table moves its file's time
    series = {e.id: edr.provider_config(e, entries, settings) for e in entries.values()
              if e.kind == "vector" and e.file(settings).exists()}
    views = materialise(entries, settings)
    resources = {e.id: collection(e, settings, views.get(e.id)) for e in entries.values()
                 if e.kind in ("vector", "table") and e.file(settings).exists()}
    for cid, provider in series.items():
        if provider:  # OGC API EDR beside the features (pygeoapi picks providers by type)
            resources[cid]["providers"].append(provider)
    resources[records.RECORDS_ID] = records.resource(settings)  # the 数据资源目录 (Records)
    resources.update(process_resources(settings))  # OGC API Processes (ids have a hyphen)
    return {
        "server": {
            "bind": {"host": settings.host, "port": settings.port},
            "url": settings.public_url + OGC_PREFIX,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["zh-CN", "en-US"],
            "pretty_print": False,
            # the same two numbers are the OpenAPI document's limit (ogc_paging.py)
            "limits": {"default_items": page_items(settings), "max_items": settings.max_items},
            # Our copies of the templates that load CDN assets, rewritten to local ones.
            "templates": {"path": str(settings.process_dir / "templates")},
            "map": {"url": settings.basemap_url or BLANK_TILE,
                    "attribution": settings.basemap_attribution or "OneMap"},
            "manager": {"name": MANAGER, **manager_settings(settings)},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": _i18n("OneMap 生态环境一张图", "OneMap ecological-environment one map"),
                "description": _i18n("生态环境数据的 OGC API 服务",
                                     "OGC API of OneMap's ecological-environment data"),
                "keywords": ["生态环境", "environment", "OGC API"],
                "keywords_type": "theme",
                "terms_of_service": "https://www.apache.org/licenses/LICENSE-2.0",
                "url": settings.public_url,
            },
            "license": {"name": "Apache-2.0",
                        "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "provider": {"name": "OneMap", "url": settings.public_url},
            "contact": {"name": "OneMap", "position": "", "address": "", "city": "",
                        "stateorprovince": "", "postalcode": "", "country": "China",
                        "email": "", "url": settings.public_url, "role": "pointOfContact"},
        },
        "resources": resources,
    }


def page_items(settings: Settings) -> int:
    """The page a client gets without ``limit``: ``page_items``, at most ``max_items``."""
    return max(1, min(settings.page_items, settings.max_items))


def editable_collections(config: dict[str, Any]) -> dict[str, str]:
    """The collections of ``config`` that take Part 4 edits: id → family."""
    return {cid: res["onemap"]["family"] for cid, res in config["resources"].items()
            if res.get("type") == "collection" and res["providers"][0].get("editable")
            and "onemap" in res}


def write_runtime_files(settings: Settings) -> tuple[str, str]:
    """Write the config and its OpenAPI document; return their paths."""
    from pygeoapi.openapi import generate_openapi_document

    runtime = settings.runtime_dir
    (runtime / "jobs").mkdir(parents=True, exist_ok=True)  # pygeoapi does not create it
    write_templates(settings)
    config_path = settings.process_dir / "pygeoapi-config.yml"  # each worker its own
    openapi_path = settings.process_dir / "pygeoapi-openapi.yml"
    config = build_config(settings)
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    catalog.atomic_write_bytes(config_path, text.encode("utf-8"))
    doc = generate_openapi_document(config_path, "yaml", fail_on_invalid_collection=False)
    doc = records.document(ogc_edits.document(yaml.safe_load(doc),
                                              editable_collections(config)))
    doc = ogc_paging.advertise_limit(doc, page_items(settings), settings.max_items)
    doc = ogc_describe.openapi_tables(doc, {cid for cid, res in config["resources"].items()
                               if res.get("type") == "collection"
                               and "onemap" in res and res["onemap"]["geometry"] is None})
    doc = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    catalog.atomic_write_bytes(openapi_path, doc.encode("utf-8"))
    return str(config_path), str(openapi_path)


def _queryables(config: dict[str, Any]) -> dict[str, set[str]]:
    out = {}
    for cid, res in config["resources"].items():
        if res.get("type") != "collection":
            continue
        prov = res["providers"][0]
        if prov["type"] == "record":
            out[cid] = set(records.FIELDS) | set(records.QUERY_ONLY)
            continue
        names = set(pyogrio.read_info(prov["data"], layer=prov["options"]["table"])["fields"])
        out[cid] = {str(n) for n in names} | {prov["id_field"]}
    return out


def load_pygeoapi(settings: Settings) -> Any:
    """The pygeoapi Starlette app configured for ``settings`` (import after the files exist)."""
    config_path, openapi_path = write_runtime_files(settings)
    os.environ["PYGEOAPI_CONFIG"] = config_path
    os.environ["PYGEOAPI_OPENAPI"] = openapi_path
    name = "pygeoapi.starlette_app"
    module = importlib.reload(sys.modules[name]) if name in sys.modules else \
        importlib.import_module(name)
    module.APP.add_exception_handler(Exception, internal_error)  # JSON 500, not text
    queryables = _queryables(module.CONFIG)  # every collection, before access filters them
    providers = {cid: res["providers"][0] for cid, res in module.CONFIG["resources"].items()
                 if res.get("type") == "collection" and res["providers"][0]["type"] == "feature"}
    families = {cid: p["options"]["family"] for cid, res in module.CONFIG["resources"].items()
                if res.get("type") == "collection" for p in res["providers"][1:]
                if p.get("type") == "edr"}  # every EDR collection, before access filters them
    ogc_edits.declare_conformance(bool(editable_collections(module.CONFIG)))
    records.declare_conformance()
    ogc_describe.undeclare_unserved()
    ogc_access.install(module, settings)
    shapes = {cid: res["onemap"]["geometry"] for cid, res in module.CONFIG["resources"].items()
              if res.get("type") == "collection" and "onemap" in res}
    return RejectUnknownParams(module.APP, queryables, module.CONFIG["server"]["languages"],
                               settings, providers, families, shapes)
