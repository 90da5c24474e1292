"""docs/standards.md kept true: every conformance class the real server declares
(``/ogc/conformance``, ``/stac/conformance``) has its row there and no row names a class no
longer declared, the OGC web service versions are the capabilities' own, and every test the
page cites as proof (``tests/….py::name``) exists — so the page cannot fall behind the server
or the suite."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "standards.md"
README = ROOT / "README.md"
#: How the page shortens class URIs (the prefix each section states).
PREFIXES = ("http://www.opengis.net/spec/", "https://api.stacspec.org/")
CLASS_ROW = re.compile(r"^\| `([^`]+)` \|(.*)$", re.MULTILINE)
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
README_LINK = re.compile(r"\(\.\./README\.md#([^)]+)\)")


def _section(title: str) -> str:
    """The text of the ``## title`` section (up to the next ``## `` heading)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def _rows(title: str) -> dict[str, str]:
    """Class (short form) → the rest of its table row, in section ``title``."""
    rows = CLASS_ROW.findall(_section(title))
    classes = [c for c, _ in rows]
    assert len(classes) == len(set(classes)), f"a class listed twice in {title!r}"
    return dict(rows)


def _short(uri: str) -> str:
    for prefix in PREFIXES:
        if uri.startswith(prefix):
            return uri.removeprefix(prefix)
    raise AssertionError(f"{uri}: a prefix docs/standards.md does not state")


def _declared(url: str) -> set[str]:
    r = requests.get(url, params={"f": "json"}, timeout=60)
    assert r.status_code == 200, r.text
    return {_short(uri) for uri in r.json()["conformsTo"]}


def _check_rows(rows: dict[str, str]) -> None:
    """Each class row cites a test, or says plainly that none proves it."""
    for cls, rest in rows.items():
        assert TEST_REF.search(rest) or "no test" in rest, f"{cls}: no test named"


@pytest.mark.server
@pytest.mark.parametrize("path, title", [("/ogc/conformance", "OGC API at /ogc"),
                                         ("/stac/conformance", "STAC API at /stac")])
def test_the_page_lists_exactly_the_declared_classes(live_server: str, path: str,
                                                     title: str) -> None:
    rows = _rows(title)
    declared = _declared(live_server + path)
    assert declared - rows.keys() == set(), "declared but not in docs/standards.md"
    assert rows.keys() - declared == set(), "in docs/standards.md but no longer declared"
    _check_rows(rows)


@pytest.mark.server
@pytest.mark.parametrize("name, url", [
    ("WMTS", "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities"),
    ("WMS", "/wms?SERVICE=WMS&REQUEST=GetCapabilities"),
    ("WFS", "/wfs?SERVICE=WFS&REQUEST=GetCapabilities")])
def test_service_versions_are_the_capabilities(live_server: str, name: str, url: str) -> None:
    """The version the page's heading names is the one the capabilities state (a client that
    asks for none gets the newest)."""
    r = requests.get(live_server + url, timeout=120)
    assert r.status_code == 200, r.text[:500]
    version = ET.fromstring(r.content).get("version")
    heading = next(line for line in DOC.read_text(encoding="utf-8").splitlines()
                   if line.startswith("## OGC web services:"))
    assert version and f"{name} {version}" in heading, heading


@cache
def _tests_in(path: str) -> frozenset[str]:
    """The top-level test functions of ``path`` (parsed, not imported)."""
    file = ROOT / path
    assert file.is_file(), f"{path} does not exist"
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=path)
    return frozenset(node.name for node in tree.body
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


def test_every_cited_test_exists() -> None:
    refs = TEST_REF.findall(DOC.read_text(encoding="utf-8"))
    assert len(refs) > 50  # the page cites its proofs; an empty match would prove nothing
    missing = sorted(f"{path}::{name}" for path, name in set(refs)
                     if not name.startswith("test_") or name not in _tests_in(path))
    assert missing == []


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to
    hyphens (so ``Analyses (OGC API – Processes)`` is ``analyses-ogc-api--processes``)."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def test_readme_links_resolve_and_the_readme_links_back() -> None:
    readme = README.read_text(encoding="utf-8")
    anchors = {_slug(line.lstrip("#")) for line in readme.splitlines()
               if re.match(r"#{1,6} ", line)}
    links = set(README_LINK.findall(DOC.read_text(encoding="utf-8")))
    assert links and links <= anchors, links - anchors
    assert "(docs/standards.md)" in readme
