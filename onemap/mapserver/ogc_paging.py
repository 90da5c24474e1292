"""Paging of OGC API Features items for GIS clients: one page size everybody agrees on, and
``next`` links that cost the same at row 300,000 as at row 0.

- The page size: pygeoapi's ``limits`` (``default_items``/``max_items``) are what the server
  does; QGIS reads its page size only from the OpenAPI document's *global*
  ``components.parameters.limit`` (pygeoapi writes ``limit`` inline per path), and without it
  falls back to 100 features a request. :func:`advertise_limit` states the same two numbers
  there and points every items path at it.
- Keyset ``next`` links: ``LIMIT n OFFSET k`` makes SQLite step over k rows, so the last pages
  of a 347,000-row table cost far more than the first. Without ``sortby`` the provider orders by
  ``fid`` and links to ``…&after=<last fid>`` (``WHERE fid > after``: one index seek at any
  depth); a page reached that way skips the ``COUNT(*)`` too (``numberMatched`` is optional).
  ``offset`` keeps working for Part 1 clients; with ``sortby`` pygeoapi's offset links remain.

pygeoapi never hands a parameter it does not know to the provider and the provider never sees
the request, so the gate (:class:`onemap.mapserver.ogc_gate.RejectUnknownParams`) puts the items
request's parameters in a context variable (:func:`requested`), which pygeoapi's executor
threads inherit as they inherit the principal.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

#: The cursor parameter of keyset pages: features whose fid is greater than it.
AFTER = "after"
_LARGEST = 2**63


@dataclass(frozen=True)
class ItemsRequest:
    """One ``/collections/{collection}/items`` request as the gate saw it."""

    collection: str
    pairs: tuple[tuple[str, str], ...]
    items_url: str

    @property
    def after(self) -> int | None:
        value = dict(self.pairs).get(AFTER)
        return None if value is None else int(value)

    def next_href(self, last_fid: int) -> str:
        """This request's URL for the page after ``last_fid`` (offset and cursor replaced)."""
        kept = [(k, v) for k, v in self.pairs if k not in ("offset", AFTER)]
        return f"{self.items_url}?{urlencode(kept + [(AFTER, str(last_fid))])}"


_CURRENT: contextvars.ContextVar[ItemsRequest | None] = contextvars.ContextVar(
    "onemap_items_request", default=None)


@contextlib.contextmanager
def requested(collection: str, pairs: list[tuple[str, str]], items_url: str
              ) -> Iterator[None]:
    """Make this items request known to the provider while pygeoapi answers it."""
    token = _CURRENT.set(ItemsRequest(collection, tuple(pairs), items_url))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current(collection: str) -> ItemsRequest | None:
    """The items request being answered for ``collection``, if any (None for other callers
    of the provider, e.g. the Part 4 edits reading a feature back)."""
    request = _CURRENT.get()
    return request if request is not None and request.collection == collection else None


def after_problem(pairs: list[tuple[str, str]]) -> str | None:
    """What is wrong with an items request's cursor, else None."""
    names = dict(pairs)
    if AFTER not in names:
        return None
    value = names[AFTER].strip()
    if not value.isdigit() or int(value) >= _LARGEST:
        return f"{AFTER}: {names[AFTER]!r} — the feature number (fid) a page starts after, " \
               "as given by a next link"
    if names.get("sortby"):
        return f"{AFTER} pages in feature-number order; with sortby follow the next links " \
               "(they use offset)"
    return None


def keyset_links(request: ItemsRequest | None, has_more: bool, last_fid: int | None
                 ) -> list[dict[str, Any]]:
    """The provider's ``links`` for a page in fid order: a keyset ``next`` when more follow.
    Empty when the page is not one (another caller), so pygeoapi adds its own links."""
    if request is None or not has_more or last_fid is None:
        return []
    return [{"type": "application/geo+json", "rel": "next", "title": "Items (next)",
             "href": request.next_href(last_fid)}]


def advertise_limit(doc: dict[str, Any], default: int, maximum: int) -> dict[str, Any]:
    """pygeoapi's OpenAPI document with ``limit`` as one global parameter (where QGIS looks for
    the page size) stating the server's real default and maximum, used by every items path."""
    limit = {"name": "limit", "in": "query", "required": False, "style": "form",
             "explode": False,
             "description": "The number of features in a page; without it the server sends "
                            f"{default}, and at most {maximum}.",
             "schema": {"type": "integer", "minimum": 1, "default": default,
                        "maximum": maximum}}
    doc.setdefault("components", {}).setdefault("parameters", {})["limit"] = limit
    ref = {"$ref": "#/components/parameters/limit"}
    cursor = {"name": AFTER, "in": "query", "required": False, "style": "form",
              "explode": False,
              "description": "Keyset paging: the features after this feature number (fid), "
                             "as the next links give it; not with sortby.",
              "schema": {"type": "integer", "minimum": 0}}
    for path, ops in (doc.get("paths") or {}).items():
        if not path.endswith("/items"):
            continue
        get = ops.get("get") or {}
        params = get.get("parameters") or []
        if any(isinstance(p, dict) and p.get("name") == "limit" for p in params):
            get["parameters"] = [ref if isinstance(p, dict) and p.get("name") == "limit"
                                 else p for p in params] + [cursor]
    return doc
