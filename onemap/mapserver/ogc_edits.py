"""The HTTP side of OGC API Features Part 4 under ``/ogc``: create (POST a GeoJSON Feature to
``…/items``), replace (PUT), update (PATCH, a JSON merge patch) and delete (DELETE
``…/items/{featureId}``) of single features in editable collections.

Why in front of pygeoapi rather than through its transaction route: pygeoapi 0.21 routes no
PATCH, creates only for exactly ``Content-Type: application/geo+json`` (not with a charset),
answers a read-only collection with 400 instead of 405, and its error bodies have no
``detail``. The gate (:class:`onemap.mapserver.ogc_gate.RejectUnknownParams`) hands these requests
here after its 404 for hidden collections; the provider's write methods
(:mod:`onemap.mapserver.provider_edits`) ask the policy and do the work, this module speaks
HTTP: the body, the status (201 with ``Location``; 200 with the feature as stored; 204 after a
delete), ``{"code", "detail"}`` errors with a challenge on 401 and ``Allow`` on 405, and the
audit record (``feature_create``/``_replace``/``_update``/``_delete``, target
``collection/featureId``).

It also keeps the declarations true: the Part 4 conformance classes are listed only when some
collection is editable (pygeoapi lists create-replace-delete for every feature provider), and
the OpenAPI document describes the four operations of editable collections with their errors.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any
from urllib.parse import quote

from pygeoapi.provider.base import ProviderGenericError

from onemap.layers import edits
from onemap.layers.families import FAMILIES, Family

PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
#: What works here: create/replace/delete, update (PATCH), both for features (GeoJSON).
CONFORMANCE = [PART4 + c for c in ("create-replace-delete", "update", "features")]
OPS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
CHALLENGE = b'Basic realm="OneMap", charset="UTF-8"'
CRS84 = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84")


def edit_of(method: str, parts: list[str], headers: list[tuple[bytes, bytes]]) -> str | None:
    """The edit a request to ``/collections/…`` asks for, or None (a read, a CQL2 search)."""
    if len(parts) >= 4 and parts[0] == "collections" and parts[2] == "items" and parts[3] \
            and method in ("PUT", "PATCH", "DELETE"):
        return OPS[method]  # (an id holding "/" too: pygeoapi's route takes it as one id)
    if len(parts) == 3 and parts[0] == "collections" and parts[2] == "items" \
            and method == "POST":
        ctype = next((v for k, v in headers if k == b"content-type"), b"")
        if ctype.split(b";")[0].strip().lower() == b"application/geo+json":
            return "create"
    return None


async def _read(receive: Any) -> bytes:
    """The body, stopping past :data:`edits.MAX_BODY` (the provider then answers 413)."""
    chunks, size, more = [], 0, True
    while more and size <= edits.MAX_BODY:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _named(body: bytes) -> list[str]:
    """The property names a body sets (what an edit changed, for the audit)."""
    try:
        props = json.loads(body.decode("utf-8")).get("properties")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return []
    return sorted(str(k) for k in props)[:50] if isinstance(props, dict) else []


async def _answer(send: Any, status: int, body: dict | None = None,
                  headers: list[tuple[bytes, bytes]] | None = None,
                  ctype: bytes = b"application/json") -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else b""
    head = list(headers or [])
    if body is not None:
        head.append((b"content-type", ctype))
    head.append((b"content-length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


def _problem_headers(status: int, parts: list[str]) -> list[tuple[bytes, bytes]]:
    if status == 401:
        return [(b"www-authenticate", CHALLENGE)]
    if status == 405:
        return [(b"allow", b"GET, HEAD" if len(parts) >= 4 else b"GET, HEAD, POST")]
    return []


async def handle(op: str, parts: list[str], scope: dict, receive: Any, send: Any,
                 provider_def: dict, ogc_url: str) -> None:
    """Answer the edit ``op`` of ``/collections/{cid}/items[/{featureId}]``."""
    from onemap.mapserver.provider import OneMapProvider

    cid = parts[1]
    fid = "/".join(parts[3:])
    hook: dict[str, Any] = {"action": f"feature_{op}", "target": f"{cid}/{fid}",
                            "detail": {"collection": cid, "feature": fid}}
    scope.setdefault("state", {})["audit"] = hook
    crs = next((v for k, v in scope.get("headers", []) if k == b"content-crs"), None)
    if crs is not None and crs.decode("latin-1").strip("<> ") not in CRS84:
        return await _answer(send, 400, {
            "code": "InvalidParameterValue",
            "detail": "Content-Crs: features are written in CRS84 (longitude, latitude); "
                      f"send <{CRS84[0]}> or no Content-Crs"})
    body = await _read(receive) if op != "delete" else b""
    hook["detail"]["properties"] = _named(body)
    loop = asyncio.get_running_loop()

    def run(method: str, *args: Any) -> Any:
        provider = OneMapProvider(provider_def)
        out = getattr(provider, method)(*args)
        return out, provider

    try:
        if op == "create":
            key, provider = await loop.run_in_executor(None, functools.partial(
                run, "create", body))
            fid = str(key)
        elif op == "delete":
            await loop.run_in_executor(None, functools.partial(run, "delete", fid))
        else:
            method = "update" if op == "replace" else "patch"
            _, provider = await loop.run_in_executor(None, functools.partial(
                run, method, fid, body))
    except ProviderGenericError as exc:
        status = int(exc.http_status_code)
        status = status if 400 <= status < 500 else 500
        hook["detail"]["reason"] = exc.message
        return await _answer(send, status, {"code": str(exc.ogc_exception_code),
                                            "detail": exc.message},
                             _problem_headers(status, parts))
    hook["target"] = f"{cid}/{fid}"
    hook["detail"]["feature"] = fid
    if op == "delete":
        return await _answer(send, 204)
    feature = await loop.run_in_executor(None, provider.get, fid)
    location = f"{ogc_url}/collections/{cid}/items/{quote(fid, safe='')}"
    headers = [(b"location", location.encode("utf-8"))] if op == "create" else []
    await _answer(send, 201 if op == "create" else 200, feature, headers,
                  b"application/geo+json")


def declare_conformance(any_editable: bool) -> None:
    """Make pygeoapi's conformance page list Part 4 exactly when it works here. pygeoapi
    lists ``create-replace-delete`` for every feature provider, and its ``conformance``
    extends a module-level list in place, so both lists are set afresh at each load."""
    from pygeoapi import api
    from pygeoapi.api import itemtypes

    kept = [c for c in itemtypes.CONFORMANCE_CLASSES_FEATURES if not c.startswith(PART4)]
    itemtypes.CONFORMANCE_CLASSES_FEATURES[:] = kept + (CONFORMANCE if any_editable else [])
    api.CONFORMANCE_CLASSES[:] = [c for c in api.CONFORMANCE_CLASSES
                                  if not c.startswith(PART4)]


_ERRORS = {"400": "The body is not a GeoJSON Feature in JSON (or a bad Content-Crs)",
           "401": "Not logged in: editing needs a commander's or data manager's account",
           "403": "Not allowed: the role lacks edit_features, or the feature lies outside the "
                  "account's region",
           "404": "No such feature (or collection) visible to the caller",
           "409": "A feature with this key exists already",
           "413": "The body is larger than a feature may be",
           "422": "Invalid values; `detail` names each field and what is wrong"}


def _schema(family: Family, partial: bool) -> dict[str, Any]:
    """A GeoJSON Feature of ``family`` (property types from the family schema)."""
    kinds = {"str": "string", "int": "integer", "float": "number", "datetime": "string",
             "date": "string"}
    props = {}
    for spec in family.fields:
        prop: dict[str, Any] = {"type": kinds[spec.type], "description": spec.label_en}
        if spec.type == "datetime":
            prop["format"] = "date-time"
        if spec.choices:
            prop["description"] += f" (one of {', '.join(spec.choices)})"
        props[spec.name] = {**prop, "nullable": True} if partial else prop
    required = [] if partial else [f.name for f in family.fields
                                   if f.required and f.name != family.key]
    geometry = {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": [family.geometry]},
        "coordinates": {"type": "array", "items": {"type": "number"}}}}
    return {"type": "object", "required": [] if partial else ["type", "geometry", "properties"],
            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                           "geometry": geometry,
                           "properties": {"type": "object", "required": required,
                                          "properties": props}}}


def _operation(cid: str, op: str, family: Family, with_id: bool) -> dict[str, Any]:
    error = {"application/json": {"schema": {
        "type": "object", "required": ["code", "detail"],
        "properties": {"code": {"type": "string"}, "detail": {"type": "string"}}}}}
    ok = {"create": ("201", "Created; Location names the new feature, the body is it as "
                            "stored (its key made when none was given)"),
          "replace": ("200", "Replaced; the body is the feature as stored"),
          "update": ("200", "Changed; the body is the feature as stored"),
          "delete": ("204", "Deleted")}[op]
    codes = ("401", "403", "404") if op == "delete" else tuple(_ERRORS)
    out: dict[str, Any] = {
        "summary": f"{op.capitalize()} a feature of {cid} (OGC API Features Part 4)",
        "description": "Needs the commander or data_manager role; a region-bound account only "
                       "inside its region. Audited.",
        "tags": [cid], "operationId": f"{op}{cid.title().replace('_', '')}Feature",
        "responses": {ok[0]: {"description": ok[1]},
                      **{c: {"description": _ERRORS[c], "content": error} for c in codes}}}
    if with_id:
        out["parameters"] = [{"name": "featureId", "in": "path", "required": True,
                              "schema": {"type": "string"},
                              "description": f"the feature's {family.key}"}]
    if op != "delete":
        media = "application/merge-patch+json" if op == "update" else "application/geo+json"
        out["requestBody"] = {"required": True, "content": {
            media: {"schema": _schema(family, op == "update")}}}
    return out


def document(doc: dict[str, Any], editable: dict[str, str]) -> dict[str, Any]:
    """pygeoapi's OpenAPI document with the four edits of each editable collection
    (``editable``: collection id → family) described as they work here, and none elsewhere."""
    paths = doc.get("paths") or {}
    for path, ops in paths.items():
        if path.startswith("/collections/") and path.endswith(("/items", "/items/{featureId}")):
            for method in ("post", "put", "patch", "delete"):
                ops.pop(method, None)
    for cid, family_name in editable.items():
        family = FAMILIES[family_name]
        items, item = f"/collections/{cid}/items", f"/collections/{cid}/items/{{featureId}}"
        if items in paths:
            paths[items]["post"] = _operation(cid, "create", family, False)
        if item in paths:
            for method, op in (("put", "replace"), ("patch", "update"), ("delete", "delete")):
                paths[item][method] = _operation(cid, op, family, True)
    return doc
