"""OGC API Records for the 数据资源目录: pygeoapi's TinyDB catalogue, searched safely.

The records (:mod:`onemap.mapserver.record_docs`) are written to a TinyDB file in the runtime
dir — temporary file and rename — when pygeoapi loads and again whenever the catalogue file
changed since (a raster added by an upload or a process does not reload pygeoapi, so the
provider looks at each request: one ``stat``).

:class:`OneMapRecordsProvider` keeps pygeoapi's Records API (paging, links, HTML, the
conformance classes) but replaces ``TinyDBCatalogueProvider.query``/``get``, which build
Python source from the request and ``eval`` it (a quote in ``q`` broke it; its terms were live
regular expressions): here ``q`` is plain case-folded substring matching, comma = any of the
terms, spaces = all of the words; ``bbox`` intersects the record's box; ``datetime`` overlaps
the resource's temporal extent (not its update time); property filters compare strings;
``sortby`` takes every key. Access is the datasets' own: a record whose datasets the caller
may not see is absent (404 by id, as an unknown one), a series shows its visible members only,
a region-bound caller sees an internal layer's extent within the region, and links to hidden
datasets are dropped — before counting and paging, so ``numberMatched`` tells nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from pygeoapi.provider.tinydb_ import TinyDBCatalogueProvider
from tinydb import TinyDB

from onemap import catalog
from onemap.access import context, policy, scope
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.mapserver import record_docs
from onemap.raster.stac import iso, time_range

#: The records collection's id: a hyphen, so no catalogue id (``[a-z][a-z0-9_]*``) can take it.
RECORDS_ID = "data-catalog"
PROVIDER = "onemap.mapserver.records.OneMapRecordsProvider"
#: Searchable (``name=value``) and sortable record properties; ``q`` is pygeoapi's full text.
FIELDS = {"type": "string", "title": "string", "description": "string",
          "publisher": "string", "updateFrequency": "string", "sharingType": "string",
          "openType": "string", "created": "string", "updated": "string"}
#: Query parameters that are not record properties: the record ids to return (comma-separated,
#: Records core ``ids``).
QUERY_ONLY = {"ids": "string"}
#: pygeoapi declares OpenSearch for every record provider; nothing here serves an OpenSearch
#: description document, so the class is not declared (see :func:`declare_conformance`).
OPENSEARCH = "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/opensearch"
#: Localised by ``lang`` from the record's ``_i18n``.
TEXTS = ("title", "description", "publisher", "updateFrequency", "sharingType", "openType")
MAX_Q = 256
_LOCK = threading.Lock()
#: The request's language for the records ("zh" or "en"), set by the gate in front of pygeoapi
#: (onemap.mapserver.ogc): pygeoapi 0.21 hands a provider its default language whatever the
#: request asks (l10n.get_plugin_locale passes the raw string where a list is expected), and a
#: provider ``languages: [zh-CN, …]`` is a babel error (no zh_CN locale without a script).
LANGUAGE: ContextVar[str] = ContextVar("onemap_records_language", default="zh")
_WRITTEN: dict[str, int] = {}  # records file → catalogue mtime it was written from


def language_of(scope: dict) -> str:
    """"en" when the request's ``lang`` parameter (else its Accept-Language) is English; "zh"
    otherwise — the precedence pygeoapi uses for its own Content-Language."""
    for part in scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name == "lang" and value:
            return "en" if value.lower().startswith("en") else "zh"
    for name, value in scope.get("headers", []):
        if name == b"accept-language" and value:
            return "en" if value.lower().startswith(b"en") else "zh"
    return "zh"


def records_path(settings: Settings) -> Path:
    return settings.runtime_dir / "records.tinydb.json"


def served_ids(entries: dict[str, Entry], settings: Settings) -> set[str]:
    """The ids pygeoapi serves as OGC API Features collections (see ogc.build_config)."""
    return {e.id for e in entries.values()
            if e.kind in ("vector", "table") and e.file(settings).exists()}


def refresh(settings: Settings, force: bool = False) -> Path:
    """The records file, written anew when the catalogue changed since it was written."""
    path = records_path(settings)
    try:
        stamp = settings.catalog_path.stat().st_mtime_ns
    except FileNotFoundError:
        stamp = 0
    with _LOCK:
        if not force and _WRITTEN.get(str(path)) == stamp and path.exists():
            return path
        entries = catalog.load(settings)
        docs = record_docs.build(entries, settings, served_ids(entries, settings))
        table = {str(i): doc for i, doc in enumerate(docs, start=1)}
        text = catalog.strict_json({"_default": table}, ensure_ascii=False)
        catalog.atomic_write_bytes(path, text.encode("utf-8"))
        _WRITTEN[str(path)] = stamp
    return path


def resource(settings: Settings) -> dict[str, Any]:
    """The pygeoapi collection of the records (writes the records file)."""
    path = refresh(settings, force=True)
    entries = catalog.load(settings)
    public = record_docs.union([e.bbox for e in entries.values() if e.access == "public"])
    return {
        "type": "collection",
        "title": {"zh": "数据资源目录", "en": "Data resource catalogue"},
        "description": {"zh": "OneMap 全部数据资源的目录（矢量、数据表、栅格、序列、立方体）",
                        "en": "Catalogue of every OneMap data resource (vector layers, tables, "
                              "rasters, series, cubes)"},
        "keywords": ["数据资源目录", "catalogue", "OGC API Records"],
        "links": [{"type": "application/json", "rel": "describedby",
                   "title": "OneMap catalogue", "href": f"{settings.public_url}/api/catalog"}],
        "extents": {"spatial": {"bbox": public or [-180.0, -90.0, 180.0, 90.0],
                                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "providers": [{
            "type": "record", "name": PROVIDER, "data": str(path), "id_field": "id",
            "title_field": "title",
            "options": {"settings": _settings_options(settings)},
        }],
    }


def _settings_options(settings: Settings) -> dict[str, str]:
    names = ("data_dir", "system_db", "public_url", "catalog_publisher", "catalog_publisher_en",
             "catalog_contact", "catalog_email", "catalog_unshared")
    return {n: str(getattr(settings, n)) for n in names}


def settings_of(options: dict[str, str]) -> Settings:
    values = dict(options)
    return dataclasses.replace(Settings(data_dir=Path(values.pop("data_dir"))), **values)


# -- searching (pure functions of the records, so they are tested without a server) -----------
def _interval(text: str) -> tuple[str | None, str | None]:
    """A ``datetime`` value as [start, end] RFC 3339 UTC (``..`` or empty = open); a date or
    month stands for its whole period."""
    try:
        if "/" not in text:
            whole = time_range(text)
            return (iso(whole[0]), iso(whole[1])) if whole else (None, None)
        lo, hi = (p.strip() for p in text.split("/", 1))
        start = time_range(lo) if lo not in ("", "..") else None
        end = time_range(hi) if hi not in ("", "..") else None
    except (ValueError, TypeError) as exc:
        raise ProviderInvalidQueryError(user_msg=f"datetime: {text!r} is not an RFC 3339 "
                                                 "instant or interval") from exc
    return (iso(start[0]) if start else None), (iso(end[1]) if end else None)


def _terms(q: str) -> list[list[str]]:
    if len(q) > MAX_Q:
        raise ProviderInvalidQueryError(user_msg=f"q: at most {MAX_Q} characters")
    groups = [[w.casefold() for w in term.split()] for term in q.split(",")]
    return [g for g in groups if g]


def matches(rec: dict[str, Any], q_terms: list[list[str]], bbox: list[float] | None,
            when: tuple[str | None, str | None] | None,
            props: list[tuple[str, str]]) -> bool:
    """Whether ``rec`` passes every filter (records without geometry or time fail a bbox or
    datetime filter: nothing says they are there or then)."""
    p = rec["properties"]
    for name, value in props:
        wanted = {v.strip() for v in str(value).split(",")}
        if name == "ids":
            if rec["id"] not in wanted:
                return False
            continue
        have = {str(p.get(name))} | {str(t.get(name)) for t in p["_i18n"].values()}
        if not wanted & have:
            return False
    if q_terms:
        text = p["_metadata-anytext"]
        if not any(all(w in text for w in group) for group in q_terms):
            return False
    if bbox:
        box = p.get("bbox")
        if not box or box[0] > bbox[2] or box[2] < bbox[0] or box[1] > bbox[3] \
                or box[3] < bbox[1]:
            return False
    if when:
        te = p.get("temporalExtent") or [None, None]
        if not te[0] and not te[1]:
            return False
        if when[1] and te[0] and te[0] > when[1] or when[0] and te[1] and te[1] < when[0]:
            return False
    return True


def declare_conformance() -> None:
    """pygeoapi's Records conformance classes without OpenSearch (module-level lists that its
    ``conformance`` extends in place: both are cut at each load)."""
    from pygeoapi import api
    from pygeoapi.api import itemtypes

    for classes in (itemtypes.CONFORMANCE_CLASSES_RECORDS, api.CONFORMANCE_CLASSES):
        classes[:] = [c for c in classes if c != OPENSEARCH]


def sortables(ogc_url: str) -> dict[str, Any]:
    """The catalogue's sortables (Records sorting: ``/collections/{catalogId}/sortables``),
    the properties ``sortby`` takes."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{ogc_url}/collections/{RECORDS_ID}/sortables", "type": "object",
            "title": "数据资源目录 sortables",
            "properties": {k: {"title": k, "type": v} for k, v in FIELDS.items()}}


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """pygeoapi's OpenAPI document with the sortables path of the records collection."""
    paths = doc.get("paths") or {}
    if f"/collections/{RECORDS_ID}" in paths:
        paths[f"/collections/{RECORDS_ID}/sortables"] = {"get": {
            "summary": "Sortable properties of the data-resource catalogue",
            "operationId": "getDataCatalogSortables", "tags": [RECORDS_ID],
            "responses": {"200": {"description": "JSON Schema of the sortable properties",
                                  "content": {"application/schema+json": {}}}}}}
    return doc


def sort(records: list[dict], sortby: list[dict]) -> list[dict]:
    """Stable sort by every ``sortby`` key (last key first); missing values last."""
    out = list(records)
    for key in reversed(sortby):
        name = key["property"]
        present = [r for r in out if r["properties"].get(name) not in (None, "")]
        missing = [r for r in out if r["properties"].get(name) in (None, "")]
        present.sort(key=lambda r, n=name: str(r["properties"][n]).casefold(),
                     reverse=key["order"] == "-")
        out = present + missing
    return out


def _relabel(p: dict[str, Any], seen: list[Entry]) -> None:
    """Sharing and openness as the members the caller sees say (a series whose internal step
    is hidden from the caller must not tell that it has one)."""
    i18n = p["_i18n"]
    if i18n["en"]["sharingType"] != "none":
        sharing = "unconditional" if all(e.access == "public" for e in seen) else "conditional"
        i18n["en"]["sharingType"], i18n["zh"]["sharingType"] = \
            sharing, record_docs.SHARING[sharing]
    opened = "open" if all(e.access == "public" for e in seen) else "closed"
    i18n["en"]["openType"], i18n["zh"]["openType"] = opened, record_docs.OPENNESS[opened]
    p["zh"]["共享属性"], p["zh"]["开放属性"] = i18n["zh"]["sharingType"], i18n["zh"]["openType"]
    p["keywords"] = [k for k in p["keywords"] if k not in record_docs.SHARING.values()
                     and k not in record_docs.OPENNESS.values()] + [
        i18n["zh"]["sharingType"], i18n["zh"]["openType"]]


class OneMapRecordsProvider(TinyDBCatalogueProvider):
    """pygeoapi's TinyDB catalogue with safe searches and the access policy (module doc)."""

    def __init__(self, provider_def: dict) -> None:
        options = provider_def.get("options") or {}
        self.settings = settings_of(options["settings"])
        refresh(self.settings)
        # not TinyDBProvider.__init__: it opens the file for writing; records are only read
        BaseProvider.__init__(self, provider_def)
        self._excludes = []
        self._fields = self.get_fields()
        with TinyDB(self.data, access_mode="r") as db:
            self._all = [json.loads(json.dumps(dict(d))) for d in db.all()]

    def get_fields(self) -> dict[str, dict[str, str]]:
        return {k: {"type": v} for k, v in (FIELDS | QUERY_ONLY).items()} | {
            "q": {"type": "string"}}

    def get_domains(self, properties: list | None = None, current: bool = False
                    ) -> tuple[dict, bool]:
        """Values of the properties among the records the caller sees (queryables'
        ``profile=actual-domain``); pygeoapi's looks at the first page only."""
        found = self.query(limit=max(1, len(self._all)))["features"]
        keys = properties or list(FIELDS)
        domains = {}
        for key in keys:
            values = {f["properties"].get(key) for f in found}
            values = sorted(str(v) for v in values if isinstance(v, str | int | float))
            if values:
                domains[key] = values
        return domains, True

    def _visible(self, rec: dict[str, Any]) -> dict[str, Any] | None:
        """``rec`` as the request's principal may see it, or None when it is hidden."""
        principal = context.current()
        entries = scope.entries(self.settings)
        members = rec["properties"]["_members"]
        seen: dict[str, dict] = {}
        for mid, info in members.items():
            entry = entries.get(mid)
            limits = None if entry is None else policy.limits(principal, entry, self.settings)
            if limits is None:
                continue
            info = dict(info)
            if not limits.whole:
                info["bbox"] = scope.extent(entry, limits, self.settings)[1]
            seen[mid] = info
        if not seen:
            return None
        rec = copy.deepcopy(rec)
        p = rec["properties"]
        if len(seen) < len(members) or any(seen[m]["bbox"] != members[m]["bbox"] for m in seen):
            bbox = record_docs.union([i["bbox"] for i in seen.values()])
            starts = [i["start"] for i in seen.values() if i["start"]]
            ends = [i["end"] for i in seen.values() if i["end"]]
            te = [min(starts, default=None), max(ends, default=None)]
            p["bbox"], rec["geometry"] = bbox, record_docs.polygon(bbox)
            p["temporalExtent"] = p["zh"]["时间范围"] = te if any(te) else None
            p["zh"]["空间范围"] = bbox
            rec["time"] = {"interval": [te[0] or "..", te[1] or ".."]} if any(te) else None
            _relabel(p, [entries[m] for m in seen])
        rec["links"] = [lk for lk in rec["links"] if not lk.get("_dataset")
                        or lk["_dataset"] in seen or lk["_dataset"] not in members]
        return rec

    @staticmethod
    def _public(rec: dict[str, Any]) -> dict[str, Any]:
        """The record as it leaves the server: texts in the asked language, no ``_`` keys."""
        lang = LANGUAGE.get()
        p = rec["properties"]
        texts = p["_i18n"].get(lang) or p["_i18n"]["zh"]
        p.update({k: texts[k] for k in TEXTS})
        p["language"] = {"code": "en-US" if lang == "en" else "zh-CN"}
        rec["properties"] = {k: v for k, v in p.items() if not k.startswith("_")}
        rec["links"] = [{k: v for k, v in lk.items() if not k.startswith("_")}
                        for lk in rec["links"]]
        return rec

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list | None = None, datetime_: str | None = None,
              properties: list | None = None, sortby: list | None = None,
              select_properties: list | None = None, skip_geometry: bool = False,
              q: str | None = None, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("filterq") is not None:
            raise ProviderInvalidQueryError(
                user_msg="filter: the catalogue is searched with q, bbox, datetime and "
                         "property=value (e.g. type=raster), not CQL")
        box = [float(v) for v in bbox] if bbox else None
        if box and len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
        when = _interval(datetime_) if datetime_ else None
        terms = _terms(q) if q else []
        found = [r for r in (self._visible(r) for r in self._all) if r is not None
                 and matches(r, terms, box, when, properties or [])]
        found = [self._public(r) for r in found]
        found = sort(found, sortby or [])  # else the catalogue's order (by id)
        page = [] if resulttype == "hits" else found[offset:offset + limit]
        for rec in page:
            if select_properties:
                rec["properties"] = {k: v for k, v in rec["properties"].items()
                                     if k in select_properties}
            if skip_geometry:
                rec["geometry"] = None
        return {"type": "FeatureCollection", "features": page, "numberMatched": len(found),
                "numberReturned": len(page)}

    def get(self, identifier: str, **kwargs: Any) -> dict[str, Any]:
        for rec in self._all:
            if rec["id"] == identifier:
                seen = self._visible(rec)
                if seen is not None:
                    return self._public(seen)
        raise ProviderItemNotFoundError(user_msg="record not found")
