"""The page's own scripts and styles as one file each, named by their content.

Dash links every file of ``assets/`` on its own: 25 scripts and 11 style sheets, each a request
that a browser (six connections to a host) queues behind the others before the renderer may
start. Here the page's index is rewritten so that the block of ``assets/*.js`` tags becomes one
``<script>`` and the style sheets one ``<link>``, in the same order, each served at
``_bundle/<kind>-<sha>.<ext>`` — a name that changes with any file's content, so the browser
keeps it a year (and :mod:`~onemap.app.static_memo` answers it from memory, compressed once).
Each script runs inside its own ``try`` as it did in its own tag: one that throws is reported
and the others still run (every file is an IIFE with no top-level names, so wrapping changes
nothing else). Dash's DataTable bundle, which no page of OneMap uses, is left out.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask

SCRIPT = re.compile(r'<script src="(?P<base>[^"]*?)assets/(?P<name>[\w.-]+\.js)\?m=[^"]*">'
                    r'</script>\n?')
STYLE = re.compile(r'<link rel="stylesheet" href="(?P<base>[^"]*?)assets/(?P<name>[\w.-]+\.css)'
                   r'\?m=[^"]*">\n?')
UNUSED = re.compile(r'<script src="[^"]*/dash_table/bundle[^"]*"></script>\n?')
ROUTE = "_bundle"
#: Dash's code-split chunks the map's first screen needs (dcc's sliders: the time bar, the
#: raster list; dash-leaflet's GeoJSON: every vector layer). The renderer asks for them only
#: once it draws the layout; named in the page's head they load with the other scripts.
FIRST_CHUNKS = (("dash", "dcc/async-slider.js"), ("dash_leaflet", "async-GeoJSON.js"))
#: What the renderer fetches first, after its scripts ran: asked for at once by the head.
FIRST_FETCHES = ("_dash-layout", "_dash-dependencies")
IMMUTABLE = "public, max-age=31536000, immutable"
MIME = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


def _script(name: str, text: str) -> str:
    return (f"/* {name} */\ntry {{\n{text}\n}} catch (e) {{ console.error({name!r}, e); }}\n")


def _style(name: str, text: str) -> str:
    return f"/* {name} */\n{text}\n"


class Bundles:
    """Bundles of one assets folder, built when the index first names their files (and
    again when a file changes: its ``?m=`` does)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, tuple[bytes, str]] = {}  # bundle name → (body, mimetype)
        self._made: dict[tuple, str] = {}  # (ext, tags) → bundle name
        self._lock = threading.Lock()

    def _bundle(self, ext: str, names: list[str], tags: tuple[str, ...]) -> str:
        key = (ext, tags)
        with self._lock:
            if key in self._made:
                return self._made[key]
        wrap = _script if ext == "js" else _style
        body = "".join(wrap(n, (self.folder / n).read_text(encoding="utf-8"))
                       for n in names).encode()
        name = f"onemap-{hashlib.sha256(body).hexdigest()[:16]}.{ext}"
        with self._lock:
            self.files[name] = (body, MIME[ext])
            self._made[key] = name
        return name

    def _rewrite(self, html: str, pattern: re.Pattern, ext: str,
                 tag: Callable[[str], str]) -> str:
        found = list(pattern.finditer(html))
        if len(found) < 2:
            return html
        names = [m["name"] for m in found]
        name = self._bundle(ext, names, tuple(m.group(0) for m in found))
        first = found[0]
        out = html[:first.start()] + tag(f'{first["base"]}{ROUTE}/{name}')
        last = first.end()
        for m in found[1:]:
            out += html[last:m.start()]
            last = m.end()
        return out + html[last:]

    def rewrite(self, scripts: str, css: str) -> tuple[str, str]:
        """The index's ``scripts`` and ``css`` with the assets' tags made one each."""
        scripts = UNUSED.sub("", scripts)
        scripts = self._rewrite(scripts, SCRIPT, "js",
                                lambda url: f'<script src="{url}"></script>\n')
        css = self._rewrite(css, STYLE, "css",
                            lambda url: f'<link rel="stylesheet" href="{url}">\n')
        return scripts, css

    def serve(self, name: str) -> flask.Response:
        found = self.files.get(name)
        if found is None:
            return flask.jsonify(code="NotFound", detail=f"no such bundle: {name}"), 404  # type: ignore[return-value]
        body, mime = found
        response = flask.Response(body, mimetype=mime.split(";")[0])
        response.headers["Content-Type"] = mime
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def preloads(prefix: str) -> str:
    """``<link rel=preload>`` tags for :data:`FIRST_CHUNKS` (those installed) and
    :data:`FIRST_FETCHES` under the app's URL ``prefix``. A fetch preload is CORS-mode with
    same-origin credentials (``crossorigin``), which is what the renderer's ``fetch`` asks, so
    the browser hands it the answer already on its way."""
    import importlib.util

    tags = []
    for package, rel in FIRST_CHUNKS:
        spec = importlib.util.find_spec(package)
        if spec and spec.origin and (Path(spec.origin).parent / rel).is_file():
            tags.append(f'<link rel="preload" as="script" '
                        f'href="{prefix}_dash-component-suites/{package}/{rel}">')
    tags += [f'<link rel="preload" as="fetch" crossorigin href="{prefix}{path}">'
             for path in FIRST_FETCHES]
    return "\n".join(tags) + "\n"


def bundle_assets(app: Any, folder: Path, preload: bool = False) -> Bundles:
    """Rewrite ``app``'s index (a ``dash.Dash``) and serve the bundles on its Flask server;
    ``preload``: name what the first screen needs in the head (:func:`preloads`)."""
    bundles = Bundles(folder)
    interpolate = app.interpolate_index
    head = preloads(app.config.requests_pathname_prefix) if preload else ""

    def bundled(**kwargs: Any) -> str:
        kwargs["scripts"], kwargs["css"] = bundles.rewrite(kwargs.get("scripts", ""),
                                                           kwargs.get("css", ""))
        kwargs["css"] = head + kwargs["css"]
        return interpolate(**kwargs)

    app.interpolate_index = bundled
    app.server.add_url_rule(f"{app.config.routes_pathname_prefix}{ROUTE}/<name>",
                            endpoint="onemap_bundle", view_func=bundles.serve)
    return bundles
