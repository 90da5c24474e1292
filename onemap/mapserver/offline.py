"""pygeoapi's HTML pages without the internet: its browser assets served from our own app.

pygeoapi's templates load Bootstrap, Leaflet, Leaflet.markercluster, Swagger UI and ReDoc from
public CDNs, which a government intranet cannot reach. The same files ship in PyPI packages
pinned in pyproject.toml; :func:`mount_vendor` serves each package's folder at
``/static/vendor/<name>/``, and :func:`write_templates` writes, at every start, the templates
that name a CDN into ``settings.process_dir/templates`` with those URLs rewritten to ours.
pygeoapi's ``server.templates.path`` points there; it looks there first and falls back to its own
templates, so only rewritten files are written, and nothing generated is committed. The
templates' own inline scripts get a nonce slot that edge.NonceScripts fills per answer, so the
pages run under a Content-Security-Policy without 'unsafe-inline'; :func:`docs_page` does the
same for FastAPI's ``/api/docs``.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import secrets
import shutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from onemap import catalog
from onemap.config import Settings
from onemap.mapserver.edge import NONCE_SLOT, policies

LOGGER = logging.getLogger(__name__)

#: Where the vendored assets are served in our app.
VENDOR_PREFIX = "/static/vendor"

#: name under VENDOR_PREFIX → (package that ships the files, folder inside it).
VENDORS: dict[str, tuple[str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "data"),  # Leaflet 1.9.3 (pygeoapi asks for 1.3.1)
    "leaflet-markercluster": ("xstatic.pkg.leaflet_markercluster", "data"),  # 1.4.1
    "bootstrap": ("flask_bootstrap", "static/bootstrap5"),  # Bootstrap 5.3.8 (asks 5.1.3)
    "swagger-ui": ("swagger_ui_bundle", "vendor/swagger-ui-*"),  # Swagger UI 4.15.5
    "redoc": ("fastapi_standalone_docs", "static/redoc"),  # ReDoc 2.5.4
    # Swagger UI 5 for /api/docs: FastAPI's document is OpenAPI 3.1, which 4.x cannot read.
    "swagger-ui-5": ("fastapi_standalone_docs", "static/swagger"),
}

#: name under VENDOR_PREFIX → folder under the repository's node_modules: browser libraries of
#: the map itself that ship in no Python package, installed from package-lock.json by
#: ``make node`` (Leaflet.VectorGrid 1.3.0: the map's big layers from the vector tiles).
NODE_VENDORS: dict[str, str] = {"leaflet.vectorgrid": "leaflet.vectorgrid/dist"}
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

#: CDN URL prefix in pygeoapi's templates → vendor folder (under VENDOR_PREFIX) with the same
#: file names.
REWRITES: dict[str, str] = {
    "https://unpkg.com/leaflet@1.3.1/dist/": "leaflet/",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/": "leaflet/",
    "https://unpkg.com/leaflet.markercluster/dist/": "leaflet-markercluster/",
    "https://unpkg.com/bootstrap@5.1.3/dist/css/": "bootstrap/css/",
    "https://unpkg.com/swagger-ui-dist/": "swagger-ui/",
    "https://cdn.jsdelivr.net/npm/redoc@next/bundles/": "redoc/",
}

#: Elements removed outright: html5shiv is only for Internet Explorer < 9 (which Bootstrap 5
#: does not support anyway), and ReDoc falls back to system fonts without Google Fonts.
DROPS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[ \t]*<!--\[if lt IE 9\]>.*?<!\[endif\]-->[ \t]*\n?", re.S),
    re.compile(r"[ \t]*<link [^>]*https://fonts\.googleapis\.com/[^>]*>[ \t]*\n?"),
)

#: An inline <script> tag (no src) of a template: pygeoapi's own code, given the nonce slot.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)([^>]*)>", re.I)

#: pygeoapi writes data into its inline scripts with ``to_json | safe``, so a "</script>" in a
#: feature property ends the script (and starts the next); "<" as \u003c is the same JSON and
#: ends nothing.
SCRIPT_JSON = ("| to_json | safe }}", r'| to_json | replace("<", "\\u003c") | safe }}')

#: A <script src> or <link href> that still points off-site after rewriting.
EXTERNAL_ASSET = re.compile(
    r"<(?:script|link)\b[^>]*?\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)[\"']", re.I)


def package_dir(name: str) -> Path:
    """The folder of vendor ``name``'s files in its installed package."""
    module, sub = VENDORS[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {module} (assets of {name}) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob(sub))
    if not found or not found[-1].is_dir():
        raise RuntimeError(f"{module} has no {sub}/ folder for {name}")
    return found[-1]


def mount_vendor(app: FastAPI) -> None:
    """Serve every vendor folder at ``VENDOR_PREFIX/<name>`` (call before mounting "/")."""
    for name in VENDORS:
        app.mount(f"{VENDOR_PREFIX}/{name}", StaticFiles(directory=package_dir(name)),
                  name=f"vendor-{name}")
    for name, sub in NODE_VENDORS.items():
        folder = NODE_MODULES / sub
        if not folder.is_dir():  # the map then says its big layers cannot be drawn
            LOGGER.warning("%s is missing (run `make node`): the map cannot draw big layers",
                           folder)
        app.mount(f"{VENDOR_PREFIX}/{name}", StaticFiles(directory=folder, check_dir=False),
                  name=f"vendor-{name}")


def pygeoapi_templates() -> Path:
    """The installed pygeoapi's own templates."""
    spec = importlib.util.find_spec("pygeoapi")
    assert spec is not None and spec.origin
    return Path(spec.origin).parent / "templates"


def rewrite(text: str, base: str) -> str:
    """``text`` with every known CDN URL replaced by ours under ``base`` (the public URL)."""
    for pattern in DROPS:
        text = pattern.sub("", text)
    for cdn, local in REWRITES.items():
        text = text.replace(cdn, f"{base}{VENDOR_PREFIX}/{local}")
    text = text.replace(*SCRIPT_JSON)
    # Only the template's own scripts run: edge.NonceScripts fills the slot per answer.
    return INLINE_SCRIPT.sub(rf'<script nonce="{NONCE_SLOT}"\1>', text)


def external_assets(text: str, base: str) -> list[str]:
    """The scripts and stylesheets ``text`` loads from elsewhere than ``base`` (our URL)."""
    return [u for u in EXTERNAL_ASSET.findall(text) if not u.startswith(base + "/")]


def write_templates(settings: Settings) -> Path:
    """Write pygeoapi's templates that name a CDN or run an inline script, rewritten, into a fresh
    ``process_dir/templates`` (this process's: the scripts' nonce slot is its own); return
    that folder (pygeoapi's ``server.templates.path``)."""
    source = pygeoapi_templates()
    target = settings.process_dir / "templates"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(source.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, settings.public_url)
        if new == text:
            continue
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        catalog.atomic_write_bytes(out, new.encode("utf-8"))
        # EDR, vector-tile and STAC pages keep libraries no package ships; OneMap serves none.
        if left := external_assets(new, settings.public_url):
            LOGGER.info("%s still loads %s", out.relative_to(target), ", ".join(left))
    return target


def docs_page(settings: Settings, openapi_path: str, title: str) -> HTMLResponse:
    """FastAPI's Swagger UI page (``/api/docs``) with Swagger UI from our vendor folder, not a
    CDN, and its one inline script allowed by a nonce new in every answer."""
    swagger = f"{settings.public_url}{VENDOR_PREFIX}/swagger-ui-5"
    page = get_swagger_ui_html(
        openapi_url=settings.public_url + openapi_path, title=f"{title} – API",
        swagger_js_url=f"{swagger}/swagger-ui-bundle.js",
        swagger_css_url=f"{swagger}/swagger-ui.css",
        swagger_favicon_url=f"{settings.public_url}{VENDOR_PREFIX}/swagger-ui/favicon-32x32.png")
    nonce = secrets.token_hex(16)
    text = INLINE_SCRIPT.sub(rf'<script nonce="{nonce}"\1>', bytes(page.body).decode("utf-8"))
    policy = policies(settings, [])["nonced"].replace("{nonce}", nonce)
    return HTMLResponse(text, headers={"Content-Security-Policy": policy})
