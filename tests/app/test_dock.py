"""The dock lays out a panel only when its tab first opens: the callbacks must allow for it.

While a panel is not laid out its components are missing from the page. Dash drops a callback
all of whose outputs are missing, but one that writes to the map (always there) and reads a
missing component fails in the browser ("A nonexistent object was used in an Input"): such a
callback must not run at page load, and nothing outside the panel may trigger it (its language
comes from :func:`onemap.app.panels.panel_lang`, inside the panel).
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from dash.development.base_component import Component

from onemap.app.dashapp import create_dash
from onemap.app.layout import page
from onemap.app.panels import PanelContext, panels
from onemap.app.sources import load_sources
from onemap.config import Settings


def _key(cid: Any) -> str:
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) \
        else str(cid)


def _ids(component: Any, out: set[str]) -> set[str]:
    if isinstance(component, Component):
        if getattr(component, "id", None) is not None:
            out.add(_key(component.id))
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list | tuple) else [children]:
            _ids(child, out)
    return out


def _wildcard(cid: Any) -> bool:
    """A pattern id with ALL or MATCH (matching no component is not an error)."""
    if isinstance(cid, str) and cid.startswith("{"):
        cid = json.loads(cid)
    return isinstance(cid, dict) and any(isinstance(v, list) for v in cid.values())


def test_callbacks_allow_for_panels_laid_out_late(live_server: str,
                                                  sample_settings: Settings) -> None:
    settings = Settings(data_dir=sample_settings.data_dir,
                        port=int(urlsplit(live_server).port or 80), public_url=live_server)
    app = create_dash(settings)
    sources = load_sources(settings)  # the sample's layers, as a page load reads them
    assert sources.layers and not sources.errors
    # what a page load lays out (the first panel's body included, the others' not): any other
    # component is one of a late panel's, or drawn into one
    present = _ids(page(sources, "", "", "/", panels(),
                        PanelContext(settings, sources.to_store())), set())
    assert "om-map" in present and "db-now" in present and "em-view" not in present
    lazy = {_key(d["id"]) for cb in app._callback_list for d in cb["inputs"] + cb["state"]
            if _key(d["id"]) not in present and not _wildcard(d["id"])}
    assert "em-view" in lazy and "eco-chart" in lazy
    checked, wrong = 0, []
    for cb in app._callback_list:
        outputs = [o.rsplit(".", 1)[0].split("@")[0] for o in cb["output"].strip(".").split("...")]
        outputs = [o for o in outputs if not _wildcard(o)]
        reads = [_key(d["id"]) for d in cb["inputs"] + cb["state"]]
        if all(o not in present for o in outputs) or not any(r in lazy for r in reads):
            continue  # dropped while the panel is missing, or not about a panel at all
        checked += 1
        triggers = [_key(d["id"]) for d in cb["inputs"]
                    if _key(d["id"]) not in lazy and not _wildcard(d["id"])]
        if not cb.get("prevent_initial_call") or triggers:
            wrong.append((cb["output"][:80], triggers))
    assert checked >= 5
    assert not wrong, wrong
